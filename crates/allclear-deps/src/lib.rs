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

use allclear_core::{RuleDoc, Severity};

/// Every rule this crate reports, documented. The policy check uses the ids, so that a policy
/// naming a rule that does not exist (`deps.vulnerabel`) is an error; the test below keeps
/// the list complete.
pub const RULES: &[RuleDoc] = &[
    RuleDoc {
        id: "deps.vulnerable",
        severity: Severity::Medium,
        severity_note: "the advisory's; medium when it gives none",
        title: "Dependency with a known vulnerability",
        what: "A package version in a lockfile that an advisory (GitHub, OSV, RustSec, rubysec, \
            FriendsOfPHP) says is vulnerable. Each advisory is one finding, with its ids, CVSS \
            score and the first version that fixes it.",
        why: "Published vulnerabilities come with published exploits; scanners find \
            vulnerable versions of popular packages within days of disclosure.",
        example: "Gemfile.lock:42  rack 2.0.1: Possible shell escape sequence injection \
            (CVE-2022-30123)",
        fix: "Upgrade to the fixed version the finding names (the report's `upgrade with:` \
            section gives the command, e.g. `bundle update rack`). When no fix exists, read the \
            advisory for a workaround, or accept the risk with a dated `[[ignore]]` and a reason.",
    },
    RuleDoc {
        id: "deps.unsupported",
        severity: Severity::Low,
        severity_note: "",
        title: "Dependency its maintainers no longer support",
        what: "A package an advisory marks as unmaintained (RustSec's `informational = \
            \"unmaintained\"` and the like).",
        why: "Nobody will fix its next vulnerability: when one is found, there will be no \
            version to upgrade to.",
        example: "Cargo.lock:120  ansi_term 0.12.1: ansi_term is Unmaintained (unmaintained)",
        fix: "Replace it with a maintained alternative (the advisory usually suggests one).",
    },
    RuleDoc {
        id: "deps.ruby-interpreter",
        severity: Severity::Medium,
        severity_note: "the advisory's",
        title: "Ruby interpreter with known advisories",
        what: "The Ruby version a project pins (`.ruby-version`, `RUBY VERSION` in \
            Gemfile.lock) has advisories in rubysec's ruby database.",
        why: "The interpreter runs every line of the application; its vulnerabilities are \
            reachable from any request.",
        example: "ruby 2.7.1: Potential HTTP request smuggling in WEBrick (CVE-2020-25613)",
        fix: "Upgrade Ruby to a patched release of its series, or to a supported series.",
    },
    RuleDoc {
        id: "deps.no-advisory-data",
        severity: Severity::High,
        severity_note: "",
        title: "Lockfile not checked: no advisories for its ecosystem",
        what: "A lockfile whose ecosystem has no advisories in the local database, so none of \
            its packages could be checked.",
        why: "An unchecked lockfile is not a clean one: without this finding, a scan would \
            say all clear about packages it never looked up.",
        example: "package-lock.json  no npm advisories in the database: 812 packages in \
            package-lock.json were not checked",
        fix: "Run `allclear db update --ecosystem ECOSYSTEM` (or `allclear db import DIR`) \
            and scan again; or exclude the lockfile in `[scan] exclude` if it is not yours.",
    },
    RuleDoc {
        id: "deps.prerelease",
        severity: Severity::Low,
        severity_note: "",
        title: "Pre-release dependency",
        what: "A locked version that is an alpha, beta, release candidate or other \
            pre-release.",
        why: "Pre-releases are outside what security teams cover: advisories are rarely issued \
            for them and fixes are not backported.",
        example: "Gemfile.lock:12  rails 7.1.0.rc1 is a pre-release",
        fix: "Depend on a stable release.",
    },
    RuleDoc {
        id: "deps.unpinned-git",
        severity: Severity::Medium,
        severity_note: "",
        title: "Git dependency without a pinned commit",
        what: "A dependency fetched from git whose lockfile entry does not record the exact \
            commit (a branch or tag only).",
        why: "Two installs of the same lockfile can get different code, and a compromised \
            branch reaches production unreviewed.",
        example: "Gemfile.lock:7  devise 4.9.0 comes from git without a pinned commit",
        fix: "Pin the dependency to a commit (or a released version) and regenerate the \
            lockfile.",
    },
    RuleDoc {
        id: "deps.missing-lockfile",
        severity: Severity::Medium,
        severity_note: "",
        title: "Manifest without a lockfile",
        what: "A dependency manifest (Gemfile, composer.json, package.json, Cargo.toml …) \
            with no lockfile beside it.",
        why: "Without a lockfile the versions installed are whatever is newest on the day, \
            nobody reviewed them, and no audit can say which versions run.",
        example: "app/Gemfile has no Gemfile.lock",
        fix: "Generate the lockfile (`bundle lock`, `composer update --lock`, `npm install \
            --package-lock-only` …) and commit it.",
    },
];

/// The documentation of every rule this crate reports (see [`RuleDoc`]).
pub fn rule_docs() -> impl Iterator<Item = RuleDoc> {
    RULES.iter().copied()
}

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
                if closed && !super::RULES.iter().any(|rule| rule.id == id) {
                    unlisted.push(id);
                }
            }
        }
        assert!(unlisted.is_empty(), "add to RULES: {unlisted:?}");
    }
}
