//! `yarn.lock`: classic (v1, a text format of yarn's own, parsed here line by line) and
//! berry (v2+, YAML with a `__metadata` entry).

use allclear_core::Ecosystem;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::npm;
use crate::text::{LineIndex, Pairs, Scalar, check_conflict_markers, to_u32, yaml, yaml_line};
use crate::{Lockfile, Package, Problem, Source};

pub(crate) fn parse(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    check_conflict_markers(text)?;
    if text.lines().any(|l| l.starts_with("__metadata:")) {
        parse_berry(text, lock)
    } else {
        parse_classic(text, lock)
    }
}

/// The entry being read in a classic lockfile.
struct Pending {
    header_line: u32,
    name: String,
    version: Option<String>,
    resolved: Option<String>,
}

fn parse_classic(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let mut pending: Option<Pending> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = to_u32(i + 1);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            finish(pending.take(), lock)?;
            let Some(header) = line.strip_suffix(':') else {
                return Err(Problem::at(
                    line_no,
                    format!("expected `name@range:`, found `{}`", shorten(line)),
                ));
            };
            let first = header.split(", ").next().unwrap_or(header);
            let name = spec_name(unquote(first.trim())).ok_or_else(|| {
                Problem::at(line_no, format!("no package name in `{}`", shorten(header)))
            })?;
            pending = Some(Pending {
                header_line: line_no,
                name,
                version: None,
                resolved: None,
            });
            continue;
        }
        // Only the entry's own fields (two spaces); deeper lines are its dependencies.
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent != 2 {
            continue;
        }
        let Some(entry) = pending.as_mut() else {
            return Err(Problem::at(line_no, "indented line before any entry"));
        };
        let body = line.trim_start();
        let (key, value) = match body.split_once(' ') {
            Some((k, v)) => (k.trim_end_matches(':'), v.trim()),
            None => continue,
        };
        // A quote opened and never closed is a file cut short (a truncated download or
        // commit): the value is not what yarn wrote, so the entry cannot be checked.
        if value.starts_with('"') && (value.len() < 2 || !value.ends_with('"')) {
            return Err(Problem::at(
                line_no,
                format!(
                    "`{key}` of entry `{}` has an unterminated quote: the file looks truncated",
                    entry.name
                ),
            ));
        }
        let value = unquote(value);
        match key {
            "version" => entry.version = Some(value.to_owned()),
            "resolved" => entry.resolved = Some(value.to_owned()),
            _ => {}
        }
    }
    finish(pending, lock)
}

fn finish(pending: Option<Pending>, lock: &mut Lockfile) -> Result<(), Problem> {
    let Some(entry) = pending else {
        return Ok(());
    };
    let Some(version) = entry.version else {
        return Err(Problem::at(
            entry.header_line,
            format!("entry `{}` has no version", entry.name),
        ));
    };
    lock.packages.push(Package {
        ecosystem: Ecosystem::Npm,
        name: entry.name,
        version,
        line: entry.header_line,
        // Which entries the project asks for, and for development or not, is in
        // package.json, not in yarn.lock.
        direct: None,
        dev: None,
        source: classic_source(entry.resolved.as_deref()),
    });
    Ok(())
}

/// yarn classic appends the tarball's sha1 as a fragment (`…/a-1.0.0.tgz#0123…`), which
/// is not a git commit; git sources are `git+…` or codeload tarballs.
fn classic_source(resolved: Option<&str>) -> Source {
    match resolved {
        Some(url) if url.starts_with("https://codeload.github.com/") => Source::Url {
            url: url.to_owned(),
        },
        Some(url) if url.starts_with("http") => {
            npm::source(Some(url.split('#').next().unwrap_or(url)))
        }
        other => npm::source(other),
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The package name of a descriptor (`@scope/name@^1.0.0`, `name@npm:real@^1`).
fn spec_name(spec: &str) -> Option<String> {
    let (name, range) = split_descriptor(spec)?;
    // An alias installs the package after `npm:`.
    if let Some(real) = range.strip_prefix("npm:")
        && let Some((real_name, _)) = split_descriptor(real)
    {
        return Some(real_name.to_owned());
    }
    Some(name.to_owned())
}

/// Splits at the `@` that ends the name (a scope's leading `@` is part of it).
fn split_descriptor(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    let (name, range) = (spec.get(..at)?, spec.get(at + 1..)?);
    (!name.is_empty()).then_some((name, range))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BerryEntry {
    version: Option<Scalar>,
    resolution: Option<String>,
    link_type: Option<String>,
}

fn parse_berry(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let lines = LineIndex::new(text);
    let entries: Pairs<Spanned<String>, Option<BerryEntry>> = yaml(text, &lines)?;
    for (key, entry) in entries.0 {
        if key.value == "__metadata" {
            continue;
        }
        let line = yaml_line(&key, &lines);
        let entry = entry.unwrap_or_default();
        let Some(resolution) = entry.resolution else {
            return Err(Problem::at(
                line,
                format!("entry `{}` has no resolution", shorten(&key.value)),
            ));
        };
        let Some((name, reference)) = split_descriptor(&resolution) else {
            return Err(Problem::at(
                line,
                format!("unreadable resolution `{}`", shorten(&resolution)),
            ));
        };
        // The project's own workspaces.
        if reference.starts_with("workspace:") || entry.link_type.as_deref() == Some("soft") {
            continue;
        }
        let Some(Scalar(version)) = entry.version else {
            return Err(Problem::at(line, format!("entry `{name}` has no version")));
        };
        lock.packages.push(Package {
            ecosystem: Ecosystem::Npm,
            name: name.to_owned(),
            version,
            line,
            direct: None,
            dev: None,
            source: berry_source(reference),
        });
    }
    Ok(())
}

/// The protocol of a berry resolution (`npm:1.0.0`, `patch:…`, `https://…#commit=…`).
fn berry_source(reference: &str) -> Source {
    // A patch changes a package from another source; the package is still that one.
    if let Some(inner) = reference.strip_prefix("patch:") {
        let inner = inner.split('#').next().unwrap_or(inner).replace("%3A", ":");
        return match split_descriptor(&inner) {
            Some((_, r)) => berry_source(r),
            None => Source::registry(),
        };
    }
    if reference.starts_with("npm:") {
        return Source::registry();
    }
    for prefix in ["file:", "link:", "portal:"] {
        if let Some(path) = reference.strip_prefix(prefix) {
            return Source::Path {
                path: path.split("::").next().unwrap_or(path).to_owned(),
            };
        }
    }
    if let Some((url, fragment)) = reference.split_once('#') {
        let mut commit = None;
        let mut wanted = None;
        for part in fragment.split('&') {
            match part.split_once('=') {
                Some(("commit", c)) => commit = Some(c.to_owned()),
                Some(("head" | "tag" | "semver", r)) => wanted = Some(r.to_owned()),
                None if !part.is_empty() => wanted = Some(part.to_owned()),
                _ => {}
            }
        }
        return Source::Git {
            url: url.to_owned(),
            reference: wanted,
            commit,
        };
    }
    if reference.starts_with("http") {
        return Source::Url {
            url: reference.to_owned(),
        };
    }
    Source::registry()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_names() {
        assert_eq!(
            spec_name("@babel/core@^7.0.0").as_deref(),
            Some("@babel/core")
        );
        assert_eq!(spec_name("jquery@^3.2.1").as_deref(), Some("jquery"));
        assert_eq!(
            spec_name("foo@npm:@scope/bar@^1").as_deref(),
            Some("@scope/bar")
        );
        assert_eq!(spec_name("nothing"), None);
    }

    #[test]
    fn berry_sources() {
        assert_eq!(berry_source("npm:1.0.0"), Source::registry());
        assert_eq!(
            berry_source("patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>::version=1.22.1"),
            Source::registry()
        );
        assert_eq!(
            berry_source("https://github.com/a/b.git#commit=abc"),
            Source::Git {
                url: "https://github.com/a/b.git".into(),
                reference: None,
                commit: Some("abc".into())
            }
        );
    }
}
