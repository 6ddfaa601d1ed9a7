//! The documentation of every rule this crate reports, in allclear-core's [`RuleDoc`] shape:
//! content rules, file rules, restricted files and personal data. The words are the rules'
//! own (`description`, `remedy`, `examples`); this module adds only what every rule of a
//! family shares (why a secret in a repository matters).

use allclear_core::{RuleDoc, Severity};

use crate::files::file_rules;
use crate::restricted::restricted_kinds;
use crate::rules::rules;

const SECRET_WHY: &str = "Whoever can read the repository (every clone, fork, CI log, backup \
    and, once pushed, every future reader of its history) can use the secret as its owner \
    until it is revoked. Deleting the line does not help: the secret stays in git history.";

const RESTRICTED_WHY: &str = "Files like this hold data or credentials that must stay on the \
    systems they belong to. In a repository or on a laptop they are copied into every clone, \
    backup and CI run, beyond the controls that protect the original.";

const PERSONAL_WHY: &str = "Real people's data copied out of production falls outside the \
    protections the policy promises for it (access control, retention, breach notification): \
    a lost laptop or a public repository becomes a reportable breach.";

/// Every rule this crate reports, documented.
pub fn rule_docs() -> impl Iterator<Item = RuleDoc> {
    let content = rules().iter().map(|rule| RuleDoc {
        id: rule.id,
        severity: rule.severity,
        severity_note: "",
        title: rule.name,
        what: rule.description,
        why: SECRET_WHY,
        example: rule.examples.first().copied().unwrap_or(""),
        fix: rule.remedy,
    });
    let files = file_rules().iter().map(|rule| RuleDoc {
        id: rule.id,
        severity: rule.severity,
        severity_note: "",
        title: rule.name,
        what: rule.description,
        why: SECRET_WHY,
        example: rule.examples.first().map_or("", |(path, _)| *path),
        fix: rule.remedy,
    });
    let restricted = restricted_kinds().iter().map(|kind| RuleDoc {
        id: kind.id,
        severity: kind.severity,
        severity_note: "",
        title: kind.name,
        what: kind.description,
        why: RESTRICTED_WHY,
        example: restricted_example(kind.id),
        fix: kind.remedy,
    });
    let personal = std::iter::once(RuleDoc {
        id: crate::PERSONAL_DATA_RULE,
        severity: Severity::High,
        severity_note: "high when the file holds social security, card or IBAN numbers or \
            password hashes; medium for contact data only",
        title: "Unsanitized personal data",
        what: "Many distinct real-looking values that identify people (email addresses, \
            phone numbers, social security numbers, card numbers, IBANs, dates of birth) or \
            their password hashes in one file: a copy of production data that was not \
            sanitized. Test-looking values (example.com, 555-01xx, documented test card \
            numbers and IBANs, numbered sequences) are not counted.",
        why: PERSONAL_WHY,
        example: "exports/customers.csv  Personal data: 1204 emails, 1187 phone numbers",
        fix: "Delete the file (and purge it from git history); use a sanitized dump or \
            generated fixtures. If the data is synthetic, allow the path in `[personal-data] \
            allow`.",
    });
    content.chain(files).chain(restricted).chain(personal)
}

/// A file each restricted kind reports.
fn restricted_example(id: &str) -> &'static str {
    match id {
        "restricted.database-dump" => {
            "backups/production-2026-11-30.sql (CREATE TABLE and INSERT rows)"
        }
        "restricted.sqlite-database" => "db/production.sqlite3",
        "restricted.keystore" => "android/release.jks",
        "restricted.ssh-private-key" => "deploy/id_ed25519",
        "restricted.htpasswd" => "admin/.htpasswd",
        "restricted.terraform-state" => "infra/terraform.tfstate",
        "restricted.shell-history" => ".bash_history",
        "restricted.config-backup" => "sites/default/settings.php.bak",
        "restricted.custom" => "a path matching `[restricted] patterns = [\"exports/**\"]`",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_documented_once_with_every_section() {
        let docs: Vec<RuleDoc> = rule_docs().collect();
        let problems = allclear_core::check_rule_docs(&docs);
        assert!(problems.is_empty(), "{problems:#?}");
        let expected = rules().len() + file_rules().len() + restricted_kinds().len() + 1;
        assert_eq!(docs.len(), expected);
    }

    #[test]
    fn every_restricted_kind_has_an_example() {
        for kind in restricted_kinds() {
            assert!(!restricted_example(kind.id).is_empty(), "{}", kind.id);
        }
    }
}
