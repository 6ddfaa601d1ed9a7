//! The dependency audit: turns parsed lockfiles into findings.
//!
//! - `deps.vulnerable`: a package with a known vulnerability (one finding per vulnerability,
//!   with every id the sources give it and that advisory's own fixed version; the detail
//!   `upgrade_to` is the smallest version fixing every advisory on the package, or on its
//!   whole release train, see [`release_train`]);
//! - `deps.no-advisory-data`: a lockfile whose ecosystem the advisory database does not
//!   cover, so its packages were not checked (high: unknown is not clean);
//! - `deps.unsupported`: a package its maintainers no longer support (RustSec informational);
//! - `deps.ruby-interpreter`: a Ruby interpreter with known advisories (ruby-audit's job);
//! - `deps.prerelease`: a dependency on an alpha, beta or RC release;
//! - `deps.unpinned-git`: a git dependency the lockfile does not pin to a commit;
//! - `deps.missing-lockfile`: a manifest without its lockfile.
//!
//! [`RULES`] lists them for `allclear rules list` and the policy's rule-id check.
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
mod families;
mod policy_rules;

pub use audit::{Audit, AuditError, AuditInput, audit};
pub use families::release_train;
pub use policy_rules::{DependencyFile, missing_lockfiles, package_rules};

/// Every rule this crate reports: id, default severity, what it means. The policy check uses
/// the ids, so that a policy naming a rule that does not exist (`deps.vulnerabel`) is an
/// error; the test below keeps the list complete.
pub const RULES: &[(&str, allclear_core::Severity, &str)] = &[
    (
        "deps.vulnerable",
        allclear_core::Severity::Medium,
        "Dependency with a known vulnerability (severity from the advisory)",
    ),
    (
        "deps.unsupported",
        allclear_core::Severity::Low,
        "Dependency its maintainers no longer support",
    ),
    (
        "deps.ruby-interpreter",
        allclear_core::Severity::Medium,
        "Ruby interpreter with known advisories",
    ),
    (
        "deps.no-advisory-data",
        allclear_core::Severity::High,
        "Lockfile whose ecosystem the advisory database does not cover",
    ),
    (
        "deps.prerelease",
        allclear_core::Severity::Low,
        "Pre-release dependency",
    ),
    (
        "deps.unpinned-git",
        allclear_core::Severity::Medium,
        "Git dependency without a pinned commit",
    ),
    (
        "deps.missing-lockfile",
        allclear_core::Severity::Medium,
        "Manifest without a lockfile",
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_id_in_the_source_is_listed() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut unlisted = Vec::new();
        for entry in std::fs::read_dir(&src).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for piece in text.split("\"deps.").skip(1) {
                let name: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                    .collect();
                let id = format!("deps.{name}");
                let closed = !name.is_empty() && piece[name.len()..].starts_with('"');
                if closed && !super::RULES.iter().any(|(listed, _, _)| *listed == id) {
                    unlisted.push(id);
                }
            }
        }
        assert!(unlisted.is_empty(), "add to RULES: {unlisted:?}");
    }
}
