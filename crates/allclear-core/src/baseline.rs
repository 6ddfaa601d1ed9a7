//! Baselines: the findings a team has accepted for now, so that only new ones fail CI.
//!
//! A baseline holds fingerprints, which are built from rule + path + key (for a secret, a hash
//! of the secret), never from line numbers or commits: moving a line or rebasing does not
//! make a baselined finding new again. The file also keeps each finding's rule, path and a
//! redacted title so a reviewer can read what was accepted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Finding;

/// The `schema` value this version writes and reads.
pub const BASELINE_SCHEMA: u32 = 1;

/// Why a baseline file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file is not a baseline: bad JSON or missing fields.
    #[error("{path}:{line}: not an allclear baseline: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
    /// The file was written by a newer allclear.
    #[error(
        "{path}: baseline schema {found} is newer than this allclear reads ({BASELINE_SCHEMA})"
    )]
    Schema { path: String, found: u32 },
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub rule: String,
    pub path: String,
    /// The finding's title: already redacted, as every title is.
    pub title: String,
}

/// Accepted findings by fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema: u32,
    /// When the baseline was recorded (RFC 3339), for people reading the file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub created: Option<String>,
    pub findings: BTreeMap<String, BaselineEntry>,
}

impl Baseline {
    /// A baseline that accepts exactly these findings.
    pub fn from_findings<'a>(
        findings: impl IntoIterator<Item = &'a Finding>,
        created: Option<String>,
    ) -> Baseline {
        let findings = findings
            .into_iter()
            .map(|finding| {
                (
                    finding.fingerprint.clone(),
                    BaselineEntry {
                        rule: finding.rule.clone(),
                        path: finding.location.path.clone(),
                        title: finding.title.clone(),
                    },
                )
            })
            .collect();
        Baseline {
            schema: BASELINE_SCHEMA,
            created,
            findings,
        }
    }

    /// Parses a baseline file's text; `path` is for error messages.
    pub fn from_json(text: &str, path: &str) -> Result<Baseline, BaselineError> {
        let baseline: Baseline =
            serde_json::from_str(text).map_err(|err| BaselineError::Invalid {
                path: path.to_owned(),
                line: err.line(),
                message: err.to_string(),
            })?;
        if baseline.schema > BASELINE_SCHEMA {
            return Err(BaselineError::Schema {
                path: path.to_owned(),
                found: baseline.schema,
            });
        }
        Ok(baseline)
    }

    /// The file's text: pretty JSON, sorted by fingerprint so it diffs well in review.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    pub fn contains(&self, finding: &Finding) -> bool {
        self.findings.contains_key(&finding.fingerprint)
    }

    pub fn len(&self) -> usize {
        self.findings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Severity};

    fn finding(path: &str, line: u32, key: &str) -> Finding {
        Finding::new(
            "secrets.github-token",
            Severity::High,
            "GitHub token ghp_…Cd12",
        )
        .with_location(Location::new(path).with_line(line))
        .with_key(key)
    }

    #[test]
    fn survives_a_moved_line_but_not_a_new_secret() {
        let old = finding("app/config.rb", 3, "hash-of-secret-a");
        let baseline = Baseline::from_findings([&old], None);
        let text = baseline.to_json();
        let read = Baseline::from_json(&text, "allclear-baseline.json").unwrap();
        assert_eq!(read, baseline);
        assert!(read.contains(&finding("app/config.rb", 40, "hash-of-secret-a")));
        assert!(!read.contains(&finding("app/config.rb", 3, "hash-of-secret-b")));
        assert!(!read.contains(&finding("app/other.rb", 3, "hash-of-secret-a")));
    }

    #[test]
    fn bad_files_name_the_line() {
        let err = Baseline::from_json("{\n  \"schema\": 1,\n  \"findings\": [\n", "b.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.json:"), "{err}");
        let err = Baseline::from_json(r#"{"schema": 9, "findings": {}}"#, "b.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("schema 9"), "{err}");
    }
}
