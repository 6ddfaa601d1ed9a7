//! `package-lock.json` and `npm-shrinkwrap.json`: lockfile v1 (the nested `dependencies`
//! tree) and v2/v3 (the flat `packages` map keyed by `node_modules/…` paths).

use std::collections::{HashMap, HashSet};

use allclear_core::Ecosystem;
use serde::Deserialize;

use crate::text::{LineIndex, Pairs, Raw, json, json_at};
use crate::{Lockfile, Package, Problem, Source};

/// Deeper v1 nesting than this is refused: real trees are a few levels deep, and each
/// level re-reads its subtree.
const MAX_V1_DEPTH: usize = 64;

#[derive(Deserialize)]
struct NpmLock<'a> {
    #[serde(borrow, default)]
    packages: Option<Pairs<String, Raw<'a>>>,
    #[serde(borrow, default)]
    dependencies: Option<Pairs<String, Raw<'a>>>,
}

/// An entry of v2/v3 `packages`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    dependencies: Option<HashMap<String, serde::de::IgnoredAny>>,
    #[serde(default)]
    dev_dependencies: Option<HashMap<String, serde::de::IgnoredAny>>,
    #[serde(default)]
    optional_dependencies: Option<HashMap<String, serde::de::IgnoredAny>>,
    #[serde(default)]
    peer_dependencies: Option<HashMap<String, serde::de::IgnoredAny>>,
}

/// An entry of the v1 `dependencies` tree.
#[derive(Deserialize)]
struct V1Entry<'a> {
    version: Option<String>,
    resolved: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(borrow, default)]
    dependencies: Option<Pairs<String, Raw<'a>>>,
}

pub(crate) fn parse(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let lines = LineIndex::new(text);
    let file: NpmLock<'_> = json(text)?;
    // v2 carries both; `packages` is the complete one.
    if let Some(packages) = file.packages {
        parse_packages(&packages, &lines, lock)
    } else if let Some(deps) = file.dependencies {
        parse_v1(&deps, &lines, lock, 0)
    } else {
        Ok(())
    }
}

fn parse_packages(
    packages: &Pairs<String, Raw<'_>>,
    lines: &LineIndex<'_>,
    lock: &mut Lockfile,
) -> Result<(), Problem> {
    let mut entries = Vec::with_capacity(packages.0.len());
    // Names each project folder ("" is the root, others are workspaces) asks for itself.
    let mut wanted: HashMap<&str, HashSet<String>> = HashMap::new();
    for (path, raw) in &packages.0 {
        let entry: Entry = json_at(raw, lines, &format!("package `{path}`"))?;
        if !path.contains("node_modules/") {
            let names = wanted.entry(path.as_str()).or_default();
            for deps in [
                &entry.dependencies,
                &entry.dev_dependencies,
                &entry.optional_dependencies,
                &entry.peer_dependencies,
            ]
            .into_iter()
            .flatten()
            {
                names.extend(deps.keys().cloned());
            }
        }
        entries.push((path, raw, entry));
    }
    let wanted_anywhere: HashSet<&str> = wanted.values().flatten().map(String::as_str).collect();

    for (path, raw, entry) in entries {
        // The root and workspace folders are the project itself; links point at them.
        let Some(cut) = path.rfind("node_modules/") else {
            continue;
        };
        if entry.link {
            continue;
        }
        let Some(version) = entry.version else {
            continue;
        };
        let folder_name = path.get(cut + "node_modules/".len()..).unwrap_or_default();
        let owner = path.get(..cut).unwrap_or_default().trim_end_matches('/');
        // The owner of a nested path is itself a package, so only a project folder's own
        // node_modules holds its direct dependencies; npm hoists workspace dependencies to
        // the root's.
        let direct = if owner.contains("node_modules") {
            false
        } else {
            wanted.get(owner).is_some_and(|n| n.contains(folder_name))
                || (owner.is_empty() && wanted_anywhere.contains(folder_name))
        };
        let name = entry.name.unwrap_or_else(|| folder_name.to_owned());
        lock.packages.push(Package {
            ecosystem: Ecosystem::Npm,
            name,
            version,
            line: lines.line_of(raw.get()),
            direct: Some(direct),
            dev: Some(entry.dev),
            source: source(entry.resolved.as_deref()),
        });
    }
    Ok(())
}

fn parse_v1(
    deps: &Pairs<String, Raw<'_>>,
    lines: &LineIndex<'_>,
    lock: &mut Lockfile,
    depth: usize,
) -> Result<(), Problem> {
    for (name, raw) in &deps.0 {
        let line = lines.line_of(raw.get());
        if depth >= MAX_V1_DEPTH {
            return Err(Problem::at(line, "dependencies nested too deeply"));
        }
        let entry: V1Entry<'_> = json_at(raw, lines, &format!("dependency `{name}`"))?;
        if let Some(version) = &entry.version {
            let (name, version, source) = v1_identity(name, version, entry.resolved.as_deref());
            lock.packages.push(Package {
                ecosystem: Ecosystem::Npm,
                name,
                version,
                line,
                // v1 lists hoisted transitive dependencies beside direct ones and keeps no
                // list of what the project asked for.
                direct: None,
                dev: Some(entry.dev),
                source,
            });
        }
        if let Some(children) = &entry.dependencies {
            parse_v1(children, lines, lock, depth + 1)?;
        }
    }
    Ok(())
}

/// v1 writes aliases as `npm:real@1.2.3` and git dependencies as the git URL in `version`.
fn v1_identity(name: &str, version: &str, resolved: Option<&str>) -> (String, String, Source) {
    if let Some(alias) = version.strip_prefix("npm:")
        && let Some(at) = alias.get(1..).and_then(|s| s.rfind('@'))
    {
        let (real, v) = alias.split_at(at + 1);
        return (
            real.to_owned(),
            v.get(1..).unwrap_or_default().to_owned(),
            source(resolved),
        );
    }
    let from_version = source(Some(version));
    if !matches!(from_version, Source::Registry { .. }) {
        return (name.to_owned(), version.to_owned(), from_version);
    }
    (name.to_owned(), version.to_owned(), source(resolved))
}

/// Where `resolved` (or a v1 `version` that is not a version) points.
pub(crate) fn source(resolved: Option<&str>) -> Source {
    let Some(resolved) = resolved else {
        return Source::registry();
    };
    if let Some(path) = resolved
        .strip_prefix("file:")
        .or_else(|| resolved.strip_prefix("link:"))
    {
        return Source::Path {
            path: path.to_owned(),
        };
    }
    let is_git = resolved.starts_with("git+")
        || resolved.starts_with("git://")
        || resolved.starts_with("github:")
        || resolved.starts_with("gitlab:")
        || resolved.starts_with("bitbucket:");
    if is_git {
        let (url, commit) = match resolved.split_once('#') {
            Some((url, commit)) => (url, Some(commit.to_owned())),
            None => (resolved, None),
        };
        return Source::Git {
            url: url.to_owned(),
            reference: None,
            commit,
        };
    }
    if resolved.starts_with("http://") || resolved.starts_with("https://") {
        // Registry tarballs live at `…/NAME/-/NAME-VERSION.tgz`.
        if resolved.contains("/-/") {
            return Source::Registry {
                url: registry_of(resolved),
            };
        }
        return Source::Url {
            url: resolved.to_owned(),
        };
    }
    if !resolved.starts_with(|c: char| c.is_ascii_digit()) && resolved.contains('/') {
        return Source::Path {
            path: resolved.to_owned(),
        };
    }
    Source::registry()
}

/// The registry's origin, or `None` for the public npm registry (under either name).
fn registry_of(url: &str) -> Option<String> {
    let after_scheme = url.find("://").map(|i| i + 3)?;
    let host_end = url
        .get(after_scheme..)
        .and_then(|rest| rest.find('/'))
        .map_or(url.len(), |i| after_scheme + i);
    let origin = url.get(..host_end)?;
    let host = origin.get(after_scheme..)?;
    if host == "registry.npmjs.org" || host == "registry.yarnpkg.com" {
        None
    } else {
        Some(origin.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(
            source(Some("https://registry.npmjs.org/a/-/a-1.0.0.tgz")),
            Source::registry()
        );
        assert_eq!(
            source(Some("https://npm.example.com/a/-/a-1.0.0.tgz")),
            Source::Registry {
                url: Some("https://npm.example.com".into())
            }
        );
        assert_eq!(
            source(Some("git+ssh://git@github.com/a/b.git#0123abc")),
            Source::Git {
                url: "git+ssh://git@github.com/a/b.git".into(),
                reference: None,
                commit: Some("0123abc".into())
            }
        );
        assert_eq!(
            source(Some("file:../x")),
            Source::Path {
                path: "../x".into()
            }
        );
    }

    #[test]
    fn v1_alias() {
        let (name, version, _) = v1_identity("foo", "npm:@scope/bar@1.2.3", None);
        assert_eq!((name.as_str(), version.as_str()), ("@scope/bar", "1.2.3"));
    }
}
