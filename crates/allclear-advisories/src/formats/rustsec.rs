//! RustSec advisories (`advisory-db`): `crates/NAME/*.md` and `rust/COMPONENT/*.md`, each
//! a Markdown file whose TOML front matter sits in a leading ```` ```toml ```` fence.

use allclear_core::{Ecosystem, Severity};
use serde::Deserialize;

use super::{Parsed, clean, non_empty};
use crate::model::{Advisory, Affected, AffectedVersions, Informational, best_cvss};

/// Package-name prefix for advisories about the Rust toolchain itself (`rust/std/…` is
/// stored as crates.io package `rust:std`). The colon cannot occur in a crate name, so a
/// lockfile can never match these by accident; a check of the toolchain version asks for
/// them by this name.
pub const TOOLCHAIN_PACKAGE_PREFIX: &str = "rust:";

/// Why a RustSec record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RustSecError {
    /// The file does not start with a ```` ```toml ```` fence closed by ```` ``` ````.
    #[error("no ```toml front matter at the start of the file")]
    NoFrontMatter,
    /// The front matter is not TOML of the RustSec shape (the message names the line).
    #[error("front matter is not a RustSec advisory")]
    Toml(#[source] toml::de::Error),
    /// `id` or `package` is empty.
    #[error("the advisory has no {0}")]
    Missing(&'static str),
}

#[derive(Deserialize)]
struct FrontMatter {
    advisory: Meta,
    #[serde(default)]
    versions: Versions,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    id: String,
    #[serde(default)]
    package: String,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    references: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// Splits the Markdown file into the TOML front matter and the Markdown body.
fn split(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let rest = text.strip_prefix("```toml")?;
    let rest = rest.strip_prefix('\r').unwrap_or(rest).strip_prefix('\n')?;
    // The closing fence is the first line that is exactly ``` (TOML strings could contain
    // backticks, but never a line of only three of them at the start).
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "```" {
            let body = rest.get(offset + line.len()..).unwrap_or("");
            return Some((rest.get(..offset).unwrap_or(""), body));
        }
        offset += line.len();
    }
    None
}

/// Parses one RustSec advisory. `toolchain` is true for files under `rust/` (advisories
/// about `std`, `cargo`, `rustdoc`), whose package is stored with
/// [`TOOLCHAIN_PACKAGE_PREFIX`].
pub fn parse(text: &str, toolchain: bool) -> Result<Parsed, RustSecError> {
    let (front, body) = split(text).ok_or(RustSecError::NoFrontMatter)?;
    let fm: FrontMatter = toml::from_str(front).map_err(RustSecError::Toml)?;
    let m = fm.advisory;
    let id = m.id.trim().to_owned();
    if id.is_empty() {
        return Err(RustSecError::Missing("id"));
    }
    let name = m.package.trim();
    if name.is_empty() {
        return Err(RustSecError::Missing("package"));
    }
    let package = if toolchain {
        format!("{TOOLCHAIN_PACKAGE_PREFIX}{name}")
    } else {
        name.to_owned()
    };

    let (summary, details) = markdown(body);
    let cvss = m.cvss.as_deref().and_then(|v| best_cvss([v]));
    let severity = cvss.as_ref().map(|c| Severity::from_cvss_score(c.score));
    let mut aliases: Vec<String> = m
        .aliases
        .into_iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty() && *a != id)
        .collect();
    aliases.sort();
    aliases.dedup();
    let url = if id.starts_with("RUSTSEC-") {
        Some(format!("https://rustsec.org/advisories/{id}.html"))
    } else {
        non_empty(m.url.clone())
    };
    let references = m
        .url
        .into_iter()
        .chain(m.references)
        .chain(m.related)
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty() && Some(u) != url.as_ref())
        .collect();
    let trim_all = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };

    Ok(Parsed {
        advisory: Advisory {
            id,
            aliases,
            summary,
            details,
            published: non_empty(m.date),
            modified: None,
            withdrawn: non_empty(m.withdrawn),
            severity,
            cvss,
            url,
            references,
            source: "rustsec".to_owned(),
            informational: m
                .informational
                .filter(|i| !i.trim().is_empty())
                .map(|i| i.parse().unwrap_or(Informational::Notice)),
            platform: None,
            affected: vec![Affected {
                ecosystem: Ecosystem::CratesIo,
                package,
                how: AffectedVersions::Requirements {
                    patched: trim_all(fm.versions.patched),
                    unaffected: trim_all(fm.versions.unaffected),
                },
            }],
        },
        unsupported: Vec::new(),
    })
}

/// The `# Title` line is the summary; everything after it is the description.
fn markdown(body: &str) -> (Option<String>, Option<String>) {
    let body = body.trim();
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let t = line.trim();
        if t.is_empty() {
            offset += line.len();
            continue;
        }
        if let Some(title) = t.strip_prefix("# ") {
            let details = body.get(offset + line.len()..).unwrap_or("").trim();
            let summary = clean(title);
            return (
                (!summary.is_empty()).then_some(summary),
                (!details.is_empty()).then(|| details.to_owned()),
            );
        }
        break;
    }
    (None, (!body.is_empty()).then(|| body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "```toml\n[advisory]\nid = \"RUSTSEC-2020-0105\"\npackage = \"abi_stable\"\n\
        aliases = [\"CVE-2020-36212\", \"GHSA-vq23-5h4f-vwpv\"]\ncvss = \"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H\"\n\
        date = \"2020-12-21\"\nurl = \"https://github.com/x/issues/44\"\n\n[versions]\npatched = [\">= 0.9.1\"]\n```\n\n\
        # Update unsound DrainFilter\n\nAffected versions contained bugs.\n\nMore.\n";

    #[test]
    fn crate_advisory() {
        let a = parse(TEXT, false).unwrap().advisory;
        assert_eq!(a.id, "RUSTSEC-2020-0105");
        assert_eq!(a.aliases.len(), 2);
        assert_eq!(a.summary.as_deref(), Some("Update unsound DrainFilter"));
        assert_eq!(
            a.details.as_deref(),
            Some("Affected versions contained bugs.\n\nMore.")
        );
        assert_eq!(a.severity, Some(Severity::High));
        assert_eq!(
            a.url.as_deref(),
            Some("https://rustsec.org/advisories/RUSTSEC-2020-0105.html")
        );
        assert_eq!(a.references, vec!["https://github.com/x/issues/44"]);
        assert_eq!(a.affected[0].package, "abi_stable");
        assert_eq!(a.informational, None);
    }

    #[test]
    fn toolchain_informational_withdrawn() {
        let text = TEXT.replace(
            "package = \"abi_stable\"",
            "package = \"std\"\ninformational = \"unmaintained\"\nwithdrawn = \"2022-08-14\" # why",
        );
        let a = parse(&text, true).unwrap().advisory;
        assert_eq!(a.affected[0].package, "rust:std");
        assert_eq!(a.informational, Some(Informational::Unmaintained));
        assert_eq!(a.withdrawn.as_deref(), Some("2022-08-14"));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse("# no front matter", false),
            Err(RustSecError::NoFrontMatter)
        ));
        assert!(matches!(
            parse("```toml\n[advisory]\n", false),
            Err(RustSecError::NoFrontMatter)
        ));
        assert!(matches!(
            parse("```toml\n[advisory\n```\n", false),
            Err(RustSecError::Toml(_))
        ));
        assert!(matches!(
            parse("```toml\n[advisory]\nid = \"X\"\n```\n", false),
            Err(RustSecError::Missing("package"))
        ));
    }
}
