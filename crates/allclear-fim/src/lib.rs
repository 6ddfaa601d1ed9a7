//! File integrity monitoring: `allclear host fim` (the job AIDE does, fast and quiet).
//!
//! - **Rules** ([`FimConfig`]) come from the `[fim]` section of `allclear.toml` (built-in
//!   groups for a Debian/Ubuntu web server, see [`rules::default_groups`]) or from an AIDE
//!   configuration ([`aide::parse_aide_config`]).
//! - **[`init`]** walks the selected paths in parallel (never following symlinks) and
//!   writes a [`Baseline`] atomically, with its own checksum and format version.
//! - **[`check`]** compares the tree with the baseline and reports added, removed and
//!   changed entries with exactly which attributes changed, as [`Change`]s that turn into
//!   `allclear_core::Finding`s (`fim.changed`, `fim.added`, `fim.removed`,
//!   `fim.package-update`, `fim.rotated`).
//! - **[`update`]** accepts the current state, all of it or only named paths.
//! - **[`FimWatcher`]** (`watch`) reports differences as they happen, from inotify
//!   events, with periodic full checks for what events miss.
//! - **Package awareness**: a changed file whose new content matches dpkg's MD5 record is
//!   a package update (low severity), not tampering; [`dpkg::verify_packages`] checks
//!   installed files against those records with no baseline (what `debsums` does).
//!
//! # Re-hashing only what changed (and `full`)
//!
//! `check` reads a file's content again only when its size, mtime, ctime, inode or device
//! differs from the baseline; otherwise it keeps the recorded hashes. That makes a check
//! of an unchanged tree cost one `lstat` per file instead of reading every byte. The
//! trade-off: content changed while all five stay the same goes unseen. Setting mtime
//! back is easy (`touch -r`) but ctime cannot be set from user space, so this takes
//! changing the system clock around the write, or writing to the block device beneath the
//! file system, both of which need root and leave other traces. [`CheckOptions::full`]
//! re-hashes every file, as AIDE always does; run it now and then (weekly, say) to close
//! that gap.
//!
//! # Example
//!
//! ```
//! use allclear_fim::{CheckOptions, FimConfig};
//!
//! let tree = tempfile::tempdir()?;
//! std::fs::write(tree.path().join("app.conf"), "listen 80\n")?;
//! let toml = format!(
//!     "[fim]\ndefaults = false\n[fim.groups.app]\npaths = [{:?}]\nattributes = \"static\"\n",
//!     tree.path().display().to_string()
//! );
//! let config = FimConfig::from_toml_str(&toml, "allclear.toml")?;
//! let state = tempfile::tempdir()?;
//! let baseline = state.path().join("fim.baseline");
//!
//! allclear_fim::init(&config, &baseline, false, None)?;
//! std::fs::write(tree.path().join("app.conf"), "listen 8080\n")?;
//! let outcome = allclear_fim::check(&config, &baseline, &CheckOptions::default())?;
//! let findings = outcome.findings();
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].rule, "fim.changed");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod aide;
pub mod attrs;
pub mod baseline;
pub mod check;
pub mod dpkg;
pub mod entry;
pub mod rules;
pub mod walk;
pub mod watch;

pub use attrs::{Attr, AttrSet, HashAlgo};
pub use baseline::{Baseline, BaselineError, BaselineHeader, VerifiedBaseline};
pub use check::{
    AttrChange, Category, Change, ChangeKind, CheckError, CheckOptions, CheckOutcome, CheckStats,
    InitOutcome, RULES, check, check_scoped, check_verified, init, record, update,
};
pub use dpkg::{DpkgError, VerifyOptions, VerifyOutcome, verify_packages};
pub use entry::{Entry, FileKind, display_path};
pub use rules::{ConfigError, FimConfig, Rule, RuleKind};
pub use walk::{Issue, IssueKind, Progress};
pub use watch::{FimWatcher, Trigger, WatchBatch, WatchError, WatchOptions};

/// The documentation of every rule this crate reports (`check`, `update`, `verify_packages`).
pub fn rule_docs() -> impl Iterator<Item = allclear_core::RuleDoc> {
    RULES.iter().copied()
}
