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

/// Every rule this crate reports, so that a policy naming a rule that does not exist
/// (`deps.vulnerabel`) is an error. The test below keeps it complete: every `"deps.…"` id
/// in this crate's source must be listed here.
pub const RULES: &[&str] = &[
    "deps.vulnerable",
    "deps.unsupported",
    "deps.ruby-interpreter",
    "deps.prerelease",
    "deps.unpinned-git",
    "deps.missing-lockfile",
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
                if closed && !super::RULES.contains(&id.as_str()) {
                    unlisted.push(id);
                }
            }
        }
        assert!(unlisted.is_empty(), "add to RULES: {unlisted:?}");
    }
}
