//! The normalized advisory every importer produces and the store keeps.

use std::fmt;
use std::str::FromStr;

use allclear_core::{Ecosystem, Severity};
use serde::{Deserialize, Serialize};

/// One advisory, whatever its source format, with only what matching and reporting need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The source's own id (`GHSA-…`, `RUSTSEC-…`, `PYSEC-…`, `CVE-…`, `DRUPAL-CONTRIB-…`).
    pub id: String,
    /// Other ids naming the same problem (never contains `id`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// One line: OSV `summary`, RubySec/FriendsOfPHP `title`, RustSec's `# heading`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The longer description (Markdown or plain text, as the source wrote it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// When it was published, as the source wrote it (RFC 3339 or a plain date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When it was last modified, as the source wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// When it was withdrawn. Importers skip withdrawn records, so stored ones have `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// The rating: from the CVSS score when there is one, else the source's own word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The CVSS base score the severity came from, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<CvssScore>,
    /// The page to read first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Every other link the source gives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// The importer that produced it (`osv`, `rubysec`, `friendsofphp`, `rustsec`).
    pub source: String,
    /// Set for RustSec's informational advisories: not a vulnerability but an
    /// "unsupported dependency" finding (unmaintained, unsound, notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub informational: Option<Informational>,
    /// The one platform the advisory is about, when the source says it is limited to one
    /// (RubySec's `platform: jruby`); `None` for every platform. See
    /// [`crate::platform_applies`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The packages and versions it affects (only ecosystems allclear knows).
    pub affected: Vec<Affected>,
}

impl Advisory {
    /// The id followed by the aliases.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// A CVSS base score and the vector it was computed from (RubySec gives bare scores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// 0.0 to 10.0.
    pub score: f64,
    /// `CVSS:3.1/AV:N/…`, when the source gave a vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
}

/// Kinds of RustSec informational advisories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Informational {
    /// The crate is no longer maintained.
    Unmaintained,
    /// The crate has an unsound API (undefined behaviour reachable from safe code).
    Unsound,
    /// Anything else worth knowing (RustSec `notice` and kinds added later).
    Notice,
}

impl Informational {
    pub fn as_str(self) -> &'static str {
        match self {
            Informational::Unmaintained => "unmaintained",
            Informational::Unsound => "unsound",
            Informational::Notice => "notice",
        }
    }
}

impl fmt::Display for Informational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Informational {
    type Err = std::convert::Infallible;

    /// Unknown kinds become `Notice` so a new RustSec category still yields a finding.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "unmaintained" => Informational::Unmaintained,
            "unsound" => Informational::Unsound,
            _ => Informational::Notice,
        })
    }
}

/// One affected package and how its affected versions are described.
///
/// An advisory can list the same package several times (an OSV record with both `ranges`
/// and `versions` gives two entries); a version is affected when any entry says so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub ecosystem: Ecosystem,
    /// The package name as the source spells it (see [`crate::normalize_name`] for lookups).
    pub package: String,
    pub how: AffectedVersions,
}

/// How an advisory says which versions are affected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AffectedVersions {
    /// OSV `SEMVER`/`ECOSYSTEM` ranges; affected when any range contains the version.
    /// (`GIT` ranges are dropped at import: they name commits, not releases.)
    Ranges { ranges: Vec<Range> },
    /// An explicit list (OSV `versions`): affected when equal to one of them.
    Versions { versions: Vec<String> },
    /// RubySec and RustSec: affected unless a `patched` or `unaffected` requirement matches.
    /// With both lists empty, every version is affected (unmaintained crates, say).
    Requirements {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        patched: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unaffected: Vec<String>,
    },
    /// FriendsOfPHP: affected when, for any branch, every constraint of it matches.
    Branches { branches: Vec<Vec<String>> },
    /// Every version (an OSV entry naming a package with neither ranges nor versions).
    All,
}

/// An OSV range: events in the order the source gave them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// `SEMVER` ranges use SemVer precedence, `ECOSYSTEM` ranges the ecosystem's own; both
    /// are compared here with the ecosystem's ordering, which for the SemVer ecosystems is
    /// SemVer's.
    pub semver: bool,
    pub events: Vec<Event>,
}

/// An OSV range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// From this version on (`"0"`: from the first).
    Introduced(String),
    /// Not from this version on.
    Fixed(String),
    /// Up to and including this version.
    LastAffected(String),
    /// Nothing at or above this version is in the range (`"*"`: no limit).
    Limit(String),
}

/// Picks the CVSS score to report from the vectors a source gives: the newest CVSS version
/// wins (4.0 over 3.x over 2.0) because that is the rating the source maintains now.
/// Vectors that do not parse are ignored.
pub fn best_cvss<'a>(vectors: impl IntoIterator<Item = &'a str>) -> Option<CvssScore> {
    vectors
        .into_iter()
        .filter_map(|v| {
            let v = v.trim();
            let parsed: cvss::Cvss = v.parse().ok()?;
            let rank = match parsed {
                cvss::Cvss::CvssV20(_) => 2,
                cvss::Cvss::CvssV30(_) => 3,
                cvss::Cvss::CvssV31(_) => 4,
                cvss::Cvss::CvssV40(_) => 5,
                _ => 1,
            };
            let score = parsed.score();
            score.is_finite().then(|| {
                (
                    rank,
                    CvssScore {
                        score: score.clamp(0.0, 10.0),
                        vector: Some(v.to_owned()),
                    },
                )
            })
        })
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_v31_base_score() {
        let s = best_cvss(["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"]).unwrap();
        assert_eq!(s.score, 9.8);
        assert_eq!(Severity::from_cvss_score(s.score), Severity::Critical);
    }

    #[test]
    fn newest_cvss_version_wins_and_garbage_is_ignored() {
        let s = best_cvss([
            "not a vector",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        ])
        .unwrap();
        assert!(s.vector.unwrap().starts_with("CVSS:4.0"));
        assert!(s.score < 9.8);
        assert!(best_cvss(["CVSS:9.9/AV:N"]).is_none());
    }

    #[test]
    fn affected_versions_round_trip_as_json() {
        let a = Affected {
            ecosystem: Ecosystem::PyPI,
            package: "Django".into(),
            how: AffectedVersions::Ranges {
                ranges: vec![Range {
                    semver: false,
                    events: vec![
                        Event::Introduced("0".into()),
                        Event::Fixed("1.2".into()),
                        Event::LastAffected("2.0".into()),
                    ],
                }],
            },
        };
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#"{"introduced":"0"}"#), "{json}");
        assert_eq!(serde_json::from_str::<Affected>(&json).unwrap(), a);
    }

    #[test]
    fn informational_kinds() {
        assert_eq!(
            "unmaintained".parse::<Informational>().unwrap(),
            Informational::Unmaintained
        );
        assert_eq!(
            "something-new".parse::<Informational>().unwrap(),
            Informational::Notice
        );
    }
}
