//! RubySec advisories (`ruby-advisory-db`): `gems/NAME/*.yml` for gems and
//! `rubies/ENGINE/*.yml` for the Ruby interpreters.

use std::fmt;

use allclear_core::{Ecosystem, Severity};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, de::IgnoredAny};

use super::{Parsed, clean, non_empty};
use crate::model::{Advisory, Affected, AffectedVersions, CvssScore};

/// Why a RubySec record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RubySecError {
    /// The text is not YAML of the RubySec shape (the message names line and column).
    #[error("not a RubySec advisory")]
    Yaml(#[source] serde_saphyr::Error),
    /// Neither `gem` nor `engine` says what the advisory is about.
    #[error("the advisory names neither a `gem` nor an `engine`")]
    NoPackage,
    /// There is no `cve`, `ghsa` or `osvdb` id and no file name to fall back on.
    #[error("the advisory has no id (cve, ghsa or osvdb)")]
    NoId,
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    gem: Option<String>,
    #[serde(default)]
    engine: Option<String>,
    /// `jruby` on advisories about a gem's JRuby build only.
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    cve: Option<Scalar>,
    #[serde(default)]
    ghsa: Option<Scalar>,
    #[serde(default)]
    osvdb: Option<Scalar>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    date: Option<Scalar>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    cvss_v2: Option<f64>,
    #[serde(default)]
    cvss_v3: Option<f64>,
    #[serde(default)]
    cvss_v4: Option<f64>,
    #[serde(default)]
    criticality: Option<String>,
    #[serde(default)]
    patched_versions: Option<Vec<Scalar>>,
    #[serde(default)]
    unaffected_versions: Option<Vec<Scalar>>,
    #[serde(default)]
    related: Option<Related>,
    #[serde(default)]
    #[allow(dead_code)]
    notes: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Related {
    #[serde(default)]
    url: Option<Vec<String>>,
}

/// A YAML scalar kept as text: RubySec writes `cve: 2011-5036`, `osvdb: 78121` and
/// `- 1.2` unquoted, so the same field is a string, an integer or a float.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        // Ask for a string: serde-saphyr then hands over the scalar's text as written
        // (`1.10` stays `1.10`), and falls back to the typed visits for other inputs.
        d.deserialize_str(V)
    }
}

/// Parses one RubySec advisory. `file_stem` (the file name without `.yml`, usually the
/// id) is the id of last resort.
pub fn parse(text: &str, file_stem: &str) -> Result<Parsed, RubySecError> {
    let r: Record = serde_saphyr::from_str(text).map_err(RubySecError::Yaml)?;
    let text_of = |s: Option<Scalar>| {
        s.map(|s| s.0.trim().to_owned())
            .filter(|s| !s.is_empty() && s != "~")
    };
    let (ecosystem, package) = match (text_of_str(r.gem), text_of_str(r.engine)) {
        (Some(gem), _) => (Ecosystem::RubyGems, gem),
        (None, Some(engine)) => (Ecosystem::Ruby, engine),
        (None, None) => return Err(RubySecError::NoPackage),
    };

    let cve = text_of(r.cve).map(|c| prefixed("CVE-", &c));
    let ghsa = text_of(r.ghsa).map(|g| prefixed("GHSA-", &g));
    let osvdb = text_of(r.osvdb).map(|o| prefixed("OSVDB-", &o));
    // OSV publishes RubySec's advisories under their GHSA or CVE id; prefer those.
    let mut ids: Vec<String> = [ghsa, cve, osvdb].into_iter().flatten().collect();
    let stem = file_stem.trim();
    if ids.is_empty() {
        if stem.is_empty() {
            return Err(RubySecError::NoId);
        }
        ids.push(stem.to_owned());
    }
    let id = ids.remove(0);
    let mut aliases = ids;
    if !stem.is_empty() && stem != id && !aliases.iter().any(|a| a == stem) {
        // The file name is the id bundler-audit prints (`CVE-…`, `OSVDB-…`, `GHSA-…`).
        aliases.push(stem.to_owned());
    }

    let score = [r.cvss_v4, r.cvss_v3, r.cvss_v2]
        .into_iter()
        .flatten()
        .find(|s| s.is_finite());
    let severity = match r
        .criticality
        .as_deref()
        .and_then(|c| c.parse::<Severity>().ok())
    {
        Some(s) => Some(s),
        None => score.map(Severity::from_cvss_score),
    };
    let cvss = score.map(|score| CvssScore {
        score: score.clamp(0.0, 10.0),
        vector: None,
    });

    let reqs = |v: Option<Vec<Scalar>>| -> Vec<String> {
        v.unwrap_or_default()
            .into_iter()
            .map(|s| s.0.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let how = AffectedVersions::Requirements {
        patched: reqs(r.patched_versions),
        unaffected: reqs(r.unaffected_versions),
    };

    let url = non_empty(r.url.map(|u| u.trim().to_owned()));
    let references = r
        .related
        .and_then(|r| r.url)
        .unwrap_or_default()
        .into_iter()
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty() && Some(u) != url.as_ref())
        .collect();

    Ok(Parsed {
        advisory: Advisory {
            id,
            aliases,
            summary: non_empty(r.title.map(|t| clean(&t))),
            details: non_empty(r.description),
            published: r.date.map(|d| d.0),
            modified: None,
            withdrawn: None,
            severity,
            cvss,
            url,
            references,
            source: "rubysec".to_owned(),
            informational: None,
            platform: non_empty(r.platform.map(|p| p.trim().to_owned())),
            affected: vec![Affected {
                ecosystem,
                package,
                how,
            }],
        },
        unsupported: Vec::new(),
    })
}

fn text_of_str(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// RubySec writes `cve: 2011-5036` and `ghsa: v6j3-…` without their prefixes.
fn prefixed(prefix: &str, id: &str) -> String {
    if id
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    {
        id.to_owned()
    } else {
        format!("{prefix}{id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gem_advisory() {
        let text = "---\ngem: rack\ncve: 2011-5036\nosvdb: 78121\nghsa: v6j3-7jrw-hq2p\n\
            url: https://nvd.nist.gov/x\ntitle: \"Hash\n  collisions\"\ndate: 2011-12-28\n\
            description: |\n  Long.\ncvss_v2: 5.0\ncvss_v3: 7.5\npatched_versions:\n  - \"~> 1.1.3\"\n  - \">= 1.4.0\"\n\
            unaffected_versions:\n  - < 1.0\nrelated:\n  url:\n    - https://a\n";
        let p = parse(text, "CVE-2011-5036").unwrap();
        let a = p.advisory;
        assert_eq!(a.id, "GHSA-v6j3-7jrw-hq2p");
        assert_eq!(a.aliases, vec!["CVE-2011-5036", "OSVDB-78121"]);
        assert_eq!(a.summary.as_deref(), Some("Hash collisions"));
        assert_eq!(a.published.as_deref(), Some("2011-12-28"));
        assert_eq!(a.severity, Some(Severity::High), "v3 wins over v2");
        assert_eq!(a.references, vec!["https://a"]);
        assert_eq!(a.affected[0].ecosystem, Ecosystem::RubyGems);
        assert_eq!(
            a.affected[0].how,
            AffectedVersions::Requirements {
                patched: vec!["~> 1.1.3".into(), ">= 1.4.0".into()],
                unaffected: vec!["< 1.0".into()],
            }
        );
    }

    #[test]
    fn ruby_engine_and_criticality() {
        let text = "engine: ruby\ncve: 2005-1992\ntitle: t\ncriticality: critical\n\
            patched_versions:\n  - 1.10\n";
        let a = parse(text, "CVE-2005-1992").unwrap().advisory;
        assert_eq!(a.id, "CVE-2005-1992");
        assert!(a.aliases.is_empty());
        assert_eq!(a.affected[0].ecosystem, Ecosystem::Ruby);
        assert_eq!(a.affected[0].package, "ruby");
        assert_eq!(a.severity, Some(Severity::Critical));
        assert_eq!(
            a.affected[0].how,
            AffectedVersions::Requirements {
                patched: vec!["1.10".into()],
                unaffected: vec![]
            }
        );
    }

    #[test]
    fn platform_is_kept() {
        let text = "gem: nokogiri\nplatform: jruby\ncve: 2022-24839\ntitle: t\npatched_versions:\n  - \">= 1.13.4\"\n";
        let a = parse(text, "CVE-2022-24839").unwrap().advisory;
        assert_eq!(a.platform.as_deref(), Some("jruby"));
        let a = parse("gem: rack\ncve: 2011-5036\n", "x").unwrap().advisory;
        assert_eq!(a.platform, None);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse("title: x\n", "x"),
            Err(RubySecError::NoPackage)
        ));
        assert!(matches!(parse("gem: x\n", ""), Err(RubySecError::NoId)));
        assert!(matches!(
            parse("gem: [x\n", "x"),
            Err(RubySecError::Yaml(_))
        ));
        assert_eq!(parse("gem: x\n", "OSVDB-1").unwrap().advisory.id, "OSVDB-1");
    }
}
