//! The dependency audit: turns parsed lockfiles into findings.
//!
//! - `deps.vulnerable`: a package with a known vulnerability (one finding per vulnerability,
//!   with every id the sources give it and the smallest version that fixes every advisory on
//!   the package);
//! - `deps.unsupported`: a package its maintainers no longer support (RustSec informational);
//! - `deps.ruby-interpreter`: a Ruby interpreter with known advisories (ruby-audit's job);
//! - `deps.prerelease`: a dependency on an alpha, beta or RC release;
//! - `deps.unpinned-git`: a git dependency the lockfile does not pin to a commit;
//! - `deps.missing-lockfile`: a manifest without its lockfile.
//!
//! The walk of the tree and the advisory store belong to the caller; this crate only reads
//! what it is given.
//!
//! ```
//! use allclear_deps::{missing_lockfiles, DependencyFile};
//! use allclear_lockfiles::FileKind;
//!
//! let files = [DependencyFile { path: "app/Gemfile".into(), kind: Some(FileKind::Gemfile) }];
//! let findings = missing_lockfiles(&files);
//! assert_eq!(findings[0].rule, "deps.missing-lockfile");
//! ```

mod audit;
mod policy_rules;

pub use audit::{AuditError, AuditInput, audit};
pub use policy_rules::{DependencyFile, missing_lockfiles, package_rules};
