//! OSV records (<https://ossf.github.io/osv-schema/>), as JSON or as YAML (PyPA).

use allclear_core::{Ecosystem, Severity};
use serde::Deserialize;

use super::{Parsed, clean, non_empty};
use crate::model::{Advisory, Affected, AffectedVersions, Event, Range, best_cvss};

/// Why an OSV record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OsvError {
    /// The text is not JSON of the OSV shape (the message names line and column).
    #[error("not an OSV JSON record")]
    Json(#[source] serde_json::Error),
    /// The text is not YAML of the OSV shape (the message names line and column).
    #[error("not an OSV YAML record")]
    Yaml(#[source] serde_saphyr::Error),
    /// The record has an empty `id`.
    #[error("the record has no id")]
    NoId,
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    id: String,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    severity: Option<Vec<SeverityEntry>>,
    #[serde(default)]
    affected: Option<Vec<AffectedEntry>>,
    #[serde(default)]
    references: Option<Vec<Reference>>,
    /// Read only for a rating (GHSA's `severity`); never for matching.
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct SeverityEntry {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    score: String,
}

#[derive(Deserialize)]
struct AffectedEntry {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    ranges: Option<Vec<RawRange>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Vec<SeverityEntry>>,
}

#[derive(Deserialize)]
struct Package {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    events: Vec<RawEvent>,
}

/// Events are objects with exactly one of these keys.
#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    url: String,
}

/// Parses one OSV record written as JSON.
pub fn parse_json(text: &[u8]) -> Result<Parsed, OsvError> {
    let record: Record = serde_json::from_slice(text).map_err(OsvError::Json)?;
    convert(record)
}

/// Parses one OSV record written as YAML (the PyPA advisory database's layout).
pub fn parse_yaml(text: &str) -> Result<Parsed, OsvError> {
    let record: Record = serde_saphyr::from_str(text).map_err(OsvError::Yaml)?;
    convert(record)
}

fn convert(r: Record) -> Result<Parsed, OsvError> {
    let id = r.id.trim().to_owned();
    if id.is_empty() {
        return Err(OsvError::NoId);
    }
    let mut aliases: Vec<String> = r
        .aliases
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty() && *a != id)
        .collect();
    aliases.sort();
    aliases.dedup();

    let mut unsupported = Vec::new();
    let mut affected = Vec::new();
    let mut affected_vectors = Vec::new();
    for entry in r.affected.unwrap_or_default() {
        let Some(package) = entry.package else {
            continue;
        };
        let Some(ecosystem) = Ecosystem::from_osv(package.ecosystem.trim()) else {
            unsupported.push(package.ecosystem.trim().to_owned());
            continue;
        };
        let name = package.name.trim().to_owned();
        if name.is_empty() {
            continue;
        }
        for s in entry.severity.unwrap_or_default() {
            if s.kind.starts_with("CVSS_") {
                affected_vectors.push(s.score);
            }
        }
        let raw_ranges = entry.ranges.unwrap_or_default();
        let versions: Vec<String> = entry
            .versions
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        let had_ranges = !raw_ranges.is_empty();
        let ranges: Vec<Range> = raw_ranges
            .into_iter()
            .filter_map(|range| {
                let semver = match range.kind.as_str() {
                    "SEMVER" => true,
                    "ECOSYSTEM" => false,
                    // GIT ranges name commits; OSV lists the releases they cover in
                    // `versions`, which is what can be matched against a lockfile.
                    _ => return None,
                };
                let events: Vec<Event> = range.events.into_iter().filter_map(event).collect();
                (!events.is_empty()).then_some(Range { semver, events })
            })
            .collect();
        if !ranges.is_empty() {
            affected.push(Affected {
                ecosystem,
                package: name.clone(),
                how: AffectedVersions::Ranges { ranges },
            });
        }
        if !versions.is_empty() {
            affected.push(Affected {
                ecosystem,
                package: name.clone(),
                how: AffectedVersions::Versions { versions },
            });
        } else if !had_ranges {
            // OSV: an entry with neither ranges nor versions affects every version.
            affected.push(Affected {
                ecosystem,
                package: name,
                how: AffectedVersions::All,
            });
        }
    }

    let mut vectors: Vec<String> = r
        .severity
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.kind.starts_with("CVSS_"))
        .map(|s| s.score)
        .collect();
    if vectors.is_empty() {
        vectors = affected_vectors;
    }
    let cvss = best_cvss(vectors.iter().map(String::as_str));
    let severity = match &cvss {
        Some(c) => Some(Severity::from_cvss_score(c.score)),
        None => r
            .database_specific
            .as_ref()
            .and_then(|d| d.get("severity"))
            .and_then(|s| s.as_str())
            .and_then(|s| s.parse::<Severity>().ok()),
    };

    let references: Vec<Reference> = r.references.unwrap_or_default();
    let url = references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .or_else(|| references.iter().find(|r| r.kind == "WEB"))
        .or(references.first())
        .map(|r| r.url.trim().to_owned())
        .filter(|u| !u.is_empty());
    let references = references
        .into_iter()
        .map(|r| r.url.trim().to_owned())
        .filter(|u| !u.is_empty() && Some(u) != url.as_ref())
        .collect();

    Ok(Parsed {
        advisory: Advisory {
            id,
            aliases,
            summary: non_empty(r.summary.map(|s| clean(&s))),
            details: non_empty(r.details),
            published: non_empty(r.published),
            modified: non_empty(r.modified),
            withdrawn: non_empty(r.withdrawn),
            severity,
            cvss,
            url,
            references,
            source: "osv".to_owned(),
            informational: None,
            platform: None,
            affected,
        },
        unsupported,
    })
}

fn event(e: RawEvent) -> Option<Event> {
    let trim = |s: String| {
        let s = s.trim().to_owned();
        (!s.is_empty()).then_some(s)
    };
    if let Some(v) = e.introduced.and_then(trim) {
        Some(Event::Introduced(v))
    } else if let Some(v) = e.fixed.and_then(trim) {
        Some(Event::Fixed(v))
    } else if let Some(v) = e.last_affected.and_then(trim) {
        Some(Event::LastAffected(v))
    } else {
        e.limit.and_then(trim).map(Event::Limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GHSA: &str = r#"{
      "id": "GHSA-aaaa-bbbb-cccc",
      "aliases": ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"],
      "summary": "  Bad thing\n in foo ",
      "affected": [
        {"package": {"ecosystem": "PyPI", "name": "Foo"},
         "ranges": [
           {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"last_affected": "2.3"}]},
           {"type": "GIT", "repo": "https://x", "events": [{"introduced": "abc"}]}
         ],
         "versions": ["1.0", "1.1"],
         "database_specific": {"whatever": true}},
        {"package": {"ecosystem": "Maven", "name": "org.x:y"}, "ranges": []},
        {"package": {"ecosystem": "npm", "name": "bar"}}
      ],
      "database_specific": {"severity": "MODERATE"},
      "references": [{"type": "WEB", "url": "https://w"}, {"type": "ADVISORY", "url": "https://a"}]
    }"#;

    #[test]
    fn json_record() {
        let p = parse_json(GHSA.as_bytes()).unwrap();
        let a = p.advisory;
        assert_eq!(a.id, "GHSA-aaaa-bbbb-cccc");
        assert_eq!(a.aliases, vec!["CVE-2024-0001"]);
        assert_eq!(a.summary.as_deref(), Some("Bad thing in foo"));
        assert_eq!(a.severity, Some(Severity::Medium));
        assert_eq!(a.url.as_deref(), Some("https://a"));
        assert_eq!(a.references, vec!["https://w"]);
        assert_eq!(p.unsupported, vec!["Maven"]);
        assert_eq!(a.affected.len(), 3);
        let AffectedVersions::Ranges { ranges } = &a.affected[0].how else {
            panic!("{:?}", a.affected[0]);
        };
        assert_eq!(ranges.len(), 1, "GIT range dropped");
        assert_eq!(ranges[0].events.len(), 4);
        assert!(matches!(
            a.affected[1].how,
            AffectedVersions::Versions { .. }
        ));
        assert_eq!(a.affected[2].ecosystem, Ecosystem::Npm);
        assert_eq!(a.affected[2].how, AffectedVersions::All);
    }

    #[test]
    fn yaml_record_with_cvss() {
        let text = "id: PYSEC-1\nmodified: 2023-11-07T20:24:23.946863Z\naliases:\n- CVE-1\n\
            affected:\n- package:\n    ecosystem: PyPI\n    name: x\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: \"0\"\n    - fixed: 1.0.1\n\
            severity:\n- type: CVSS_V3\n  score: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n";
        let a = parse_yaml(text).unwrap().advisory;
        assert_eq!(a.severity, Some(Severity::Critical));
        assert_eq!(a.cvss.unwrap().score, 9.8);
        assert_eq!(a.modified.as_deref(), Some("2023-11-07T20:24:23.946863Z"));
        assert_eq!(
            a.affected[0].how,
            AffectedVersions::Ranges {
                ranges: vec![Range {
                    semver: false,
                    events: vec![Event::Introduced("0".into()), Event::Fixed("1.0.1".into())]
                }]
            }
        );
    }

    #[test]
    fn yaml_numbers_stay_as_written() {
        // Unquoted `1.10` and `2.0` are floats to YAML; as versions they must keep their text.
        let text = "id: X\naffected:\n- package: {ecosystem: PyPI, name: x}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 1.10\n  versions:\n  - 2.0\n  - 1\n";
        let a = parse_yaml(text).unwrap().advisory;
        let AffectedVersions::Ranges { ranges } = &a.affected[0].how else {
            panic!("{:?}", a.affected);
        };
        assert_eq!(
            ranges[0].events,
            vec![Event::Introduced("0".into()), Event::Fixed("1.10".into())]
        );
        assert_eq!(
            a.affected[1].how,
            AffectedVersions::Versions {
                versions: vec!["2.0".into(), "1".into()]
            }
        );
    }

    #[test]
    fn errors_are_errors() {
        assert!(matches!(parse_json(b"{}"), Err(OsvError::NoId)));
        assert!(matches!(parse_json(b"[1,"), Err(OsvError::Json(_))));
        assert!(matches!(parse_yaml("id: [x"), Err(OsvError::Yaml(_))));
        assert!(matches!(
            parse_json(br#"{"id": "X", "affected": 3}"#),
            Err(OsvError::Json(_))
        ));
    }
}
