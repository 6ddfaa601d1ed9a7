//! FriendsOfPHP security advisories (`VENDOR/PACKAGE/*.yaml`), the Composer database that
//! also carries Drupal core.

use std::collections::BTreeMap;

use allclear_core::{Ecosystem, Severity};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{Parsed, clean, non_empty};
use crate::model::{Advisory, Affected, AffectedVersions};

/// Why a FriendsOfPHP record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FriendsOfPhpError {
    /// The text is not YAML of the FriendsOfPHP shape (the message names line and column).
    #[error("not a FriendsOfPHP advisory")]
    Yaml(#[source] serde_saphyr::Error),
    /// `reference` is not `composer://VENDOR/PACKAGE`.
    #[error("`reference` is `{0}`, expected composer://VENDOR/PACKAGE")]
    BadReference(String),
    /// No branch lists any version constraint, so nothing could ever match.
    #[error("no branch lists affected versions")]
    NoBranches,
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    cve: Option<String>,
    #[serde(default)]
    branches: BTreeMap<String, Branch>,
    #[serde(default)]
    reference: String,
}

#[derive(Deserialize)]
struct Branch {
    #[serde(default)]
    #[allow(dead_code)]
    time: Option<IgnoredAny>,
    #[serde(default)]
    versions: Vec<String>,
}

/// Parses one FriendsOfPHP advisory. The records have no id of their own: the CVE is used
/// when there is one, else `fallback_id` (the importer passes
/// `friendsofphp:VENDOR/PACKAGE/FILE`).
pub fn parse(text: &str, fallback_id: &str) -> Result<Parsed, FriendsOfPhpError> {
    let r: Record = serde_saphyr::from_str(text).map_err(FriendsOfPhpError::Yaml)?;
    let reference = r.reference.trim();
    let package = reference
        .strip_prefix("composer://")
        .map(str::trim)
        .filter(|p| p.contains('/') && !p.starts_with('/') && !p.ends_with('/'))
        .ok_or_else(|| FriendsOfPhpError::BadReference(reference.to_owned()))?
        .to_owned();
    let branches: Vec<Vec<String>> = r
        .branches
        .into_values()
        .map(|b| {
            b.versions
                .into_iter()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|b| !b.is_empty())
        .collect();
    if branches.is_empty() {
        return Err(FriendsOfPhpError::NoBranches);
    }
    let cve = r
        .cve
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty() && c != "~");
    let id = cve.unwrap_or_else(|| fallback_id.to_owned());
    let summary = non_empty(r.title.map(|t| clean(&t)));
    let severity = if package.starts_with("drupal/") {
        summary.as_deref().and_then(drupal_risk)
    } else {
        None
    };
    Ok(Parsed {
        advisory: Advisory {
            id,
            aliases: Vec::new(),
            summary,
            details: None,
            published: None,
            modified: None,
            withdrawn: None,
            severity,
            cvss: None,
            url: non_empty(r.link.map(|l| l.trim().to_owned())),
            references: Vec::new(),
            source: "friendsofphp".to_owned(),
            informational: None,
            platform: None,
            affected: vec![Affected {
                ecosystem: Ecosystem::Packagist,
                package,
                how: AffectedVersions::Branches { branches },
            }],
        },
        unsupported: Vec::new(),
    })
}

/// Drupal security advisories carry the Drupal security team's risk level in the title
/// (`Content moderation - Moderately critical - Access bypass`): the source's own rating.
fn drupal_risk(title: &str) -> Option<Severity> {
    let t = title.to_ascii_lowercase();
    // Longest phrases first: "highly critical" also contains "critical".
    [
        ("highly critical", Severity::High),
        ("moderately critical", Severity::Medium),
        ("less critical", Severity::Low),
        ("not critical", Severity::Info),
        ("critical", Severity::Critical),
    ]
    .into_iter()
    .find(|(word, _)| t.contains(word))
    .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drupal_core_record() {
        let text = "title: Content moderation - Moderately critical - Access bypass\n\
            link: https://www.drupal.org/sa-core-2018-006\ncve: ~\nbranches:\n    8.5.x:\n        time: 2018-10-17 22:19:00\n        versions: ['>=8.5.0','<8.5.8']\n\
            \x20   8.6.x:\n        time: ~\n        versions: ['>=8.6.0','<8.6.2']\nreference: composer://drupal/core\n";
        let p = parse(text, "friendsofphp:drupal/core/2018-10-17-1").unwrap();
        let a = p.advisory;
        assert_eq!(a.id, "friendsofphp:drupal/core/2018-10-17-1");
        assert_eq!(a.severity, Some(Severity::Medium));
        assert_eq!(
            a.url.as_deref(),
            Some("https://www.drupal.org/sa-core-2018-006")
        );
        assert_eq!(a.affected[0].package, "drupal/core");
        assert_eq!(
            a.affected[0].how,
            AffectedVersions::Branches {
                branches: vec![
                    vec![">=8.5.0".into(), "<8.5.8".into()],
                    vec![">=8.6.0".into(), "<8.6.2".into()]
                ]
            }
        );
    }

    #[test]
    fn cve_is_the_id_and_bad_records_fail() {
        let ok = "cve: CVE-2015-1\nbranches:\n  master:\n    time: ~\n    versions: [<6.0.0]\nreference: composer://a/b\n";
        assert_eq!(parse(ok, "f").unwrap().advisory.id, "CVE-2015-1");
        assert!(matches!(
            parse("branches: {}\nreference: composer://a/b\n", "f"),
            Err(FriendsOfPhpError::NoBranches)
        ));
        assert!(matches!(
            parse(&ok.replace("composer://a/b", "npm://x"), "f"),
            Err(FriendsOfPhpError::BadReference(_))
        ));
        assert!(matches!(parse("[", "f"), Err(FriendsOfPhpError::Yaml(_))));
    }

    #[test]
    fn risk_words() {
        assert_eq!(drupal_risk("X - Highly critical - y"), Some(Severity::High));
        assert_eq!(drupal_risk("X - Critical - y"), Some(Severity::Critical));
        assert_eq!(drupal_risk("X - Not critical"), Some(Severity::Info));
        assert_eq!(drupal_risk("nothing"), None);
    }
}
