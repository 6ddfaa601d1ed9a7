//! `pnpm-lock.yaml`: v5 (`/name/1.0.0_peer@2`), v6 (`/name@1.0.0(peer@2)`) and v9
//! (`name@1.0.0` in `packages`, peer variants in `snapshots`, no `dev` flags).

use std::collections::{HashMap, HashSet, VecDeque};

use allclear_core::Ecosystem;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::text::{LineIndex, Pairs, Scalar, yaml, yaml_line};
use crate::{Lockfile, Package, Problem, Source};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PnpmLock {
    lockfile_version: Option<Scalar>,
    importers: Option<Pairs<String, Option<Importer>>>,
    // Before workspaces (and in v5/v6 single projects) the root importer is inline.
    dependencies: Option<Pairs<String, DepRef>>,
    dev_dependencies: Option<Pairs<String, DepRef>>,
    optional_dependencies: Option<Pairs<String, DepRef>>,
    packages: Option<Pairs<Spanned<String>, Option<Entry>>>,
    snapshots: Option<Pairs<String, Option<Snapshot>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Importer {
    dependencies: Option<Pairs<String, DepRef>>,
    dev_dependencies: Option<Pairs<String, DepRef>>,
    optional_dependencies: Option<Pairs<String, DepRef>>,
}

/// v5 writes the resolved version as a string, v6+ as `{specifier, version}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum DepRef {
    Plain(Scalar),
    Full { version: Scalar },
}

impl DepRef {
    fn version(&self) -> &str {
        match self {
            DepRef::Plain(s) | DepRef::Full { version: s } => &s.0,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: Option<String>,
    version: Option<Scalar>,
    dev: Option<bool>,
    resolution: Option<Resolution>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    dependencies: Option<Pairs<String, Scalar>>,
    optional_dependencies: Option<Pairs<String, Scalar>>,
}

#[derive(Deserialize, Default)]
struct Resolution {
    tarball: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    repo: Option<String>,
    commit: Option<String>,
    directory: Option<String>,
}

pub(crate) fn parse(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let lines = LineIndex::new(text);
    let mut file: PnpmLock = yaml(text, &lines)?;
    let root = Importer {
        dependencies: file.dependencies.take(),
        dev_dependencies: file.dev_dependencies.take(),
        optional_dependencies: file.optional_dependencies.take(),
    };
    let major = file
        .lockfile_version
        .as_ref()
        .and_then(|v| {
            v.0.trim_matches('\'')
                .split('.')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .unwrap_or(9);

    let mut importers: Vec<&Importer> = vec![&root];
    if let Some(list) = &file.importers {
        importers.extend(list.0.iter().filter_map(|(_, i)| i.as_ref()));
    }
    // (name, version) the project asks for.
    let mut direct: HashSet<(String, String)> = HashSet::new();
    for importer in &importers {
        for deps in [
            &importer.dependencies,
            &importer.dev_dependencies,
            &importer.optional_dependencies,
        ]
        .into_iter()
        .flatten()
        {
            for (name, dep) in &deps.0 {
                direct.insert((name.clone(), strip_peers(dep.version(), major).to_owned()));
            }
        }
    }
    let reach = (major >= 9).then(|| Reach::compute(&file, &importers));

    let Some(packages) = &file.packages else {
        return Ok(());
    };
    for (key, entry) in &packages.0 {
        let line = yaml_line(key, &lines);
        let entry = entry.as_ref();
        let from_key = key_identity(&key.value, major);
        let name = entry
            .and_then(|e| e.name.clone())
            .or_else(|| from_key.map(|(n, _)| n.to_owned()));
        let version = entry
            .and_then(|e| e.version.as_ref().map(|v| v.0.clone()))
            .or_else(|| from_key.map(|(_, v)| v.to_owned()));
        let (Some(name), Some(version)) = (name, version) else {
            return Err(Problem::at(
                line,
                format!("cannot tell name and version of `{}`", key.value),
            ));
        };
        let dev = match &reach {
            Some(reach) => reach.dev(key.value.trim_start_matches('/')),
            // v5/v6: `dev: true` only for development, `false` only for production,
            // absent when both need it.
            None => Some(entry.and_then(|e| e.dev).unwrap_or(false)),
        };
        let is_direct = direct.contains(&(name.clone(), version.clone()));
        lock.packages.push(Package {
            ecosystem: Ecosystem::Npm,
            source: source(entry.and_then(|e| e.resolution.as_ref())),
            name,
            version,
            line,
            direct: Some(is_direct),
            dev,
        });
    }
    Ok(())
}

/// Drops the peer-dependency suffix: `1.0.0(react@18.2.0)` (v6+), `1.0.0_react@18.2.0` (v5).
fn strip_peers(version: &str, major: u32) -> &str {
    let cut = if major >= 6 {
        version.find('(')
    } else {
        version.find('_')
    };
    cut.and_then(|i| version.get(..i)).unwrap_or(version)
}

/// Name and version from a `packages` key.
fn key_identity(key: &str, major: u32) -> Option<(&str, &str)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    if major >= 6 {
        let key = strip_peers(key, major);
        let at = key.get(1..)?.find('@')? + 1;
        return Some((key.get(..at)?, key.get(at + 1..)?));
    }
    // v5: `name/version` or `@scope/name/version`, possibly after a registry host.
    let key = strip_peers(key, major);
    let (rest, version) = key.rsplit_once('/')?;
    let name = match rest.rsplit_once('/') {
        Some((before, last)) if before.rsplit('/').next()?.starts_with('@') => {
            let scope_start = rest.len() - last.len() - 1 - before.rsplit('/').next()?.len();
            rest.get(scope_start..)?
        }
        Some((_, last)) => last,
        None => rest,
    };
    Some((name, version))
}

fn source(resolution: Option<&Resolution>) -> Source {
    let Some(r) = resolution else {
        return Source::registry();
    };
    if let (Some(repo), Some("git")) = (&r.repo, r.kind.as_deref()) {
        return Source::Git {
            url: repo.clone(),
            reference: None,
            commit: r.commit.clone(),
        };
    }
    if let Some(dir) = &r.directory {
        return Source::Path { path: dir.clone() };
    }
    if let Some(tarball) = &r.tarball {
        if let Some(path) = tarball.strip_prefix("file:") {
            return Source::Path {
                path: path.to_owned(),
            };
        }
        return Source::Url {
            url: tarball.clone(),
        };
    }
    Source::registry()
}

/// v9 has no `dev` flags: a package is for development when only `devDependencies`
/// reach it through the snapshot graph.
struct Reach {
    prod: HashSet<String>,
    dev: HashSet<String>,
}

impl Reach {
    fn compute(file: &PnpmLock, importers: &[&Importer]) -> Reach {
        let mut edges: HashMap<&str, Vec<String>> = HashMap::new();
        if let Some(snapshots) = &file.snapshots {
            for (key, snap) in &snapshots.0 {
                let targets = edges.entry(key.as_str()).or_default();
                let Some(snap) = snap else { continue };
                for deps in [&snap.dependencies, &snap.optional_dependencies]
                    .into_iter()
                    .flatten()
                {
                    for (name, version) in &deps.0 {
                        targets.extend(target(name, &version.0));
                    }
                }
            }
        }
        let roots = |prod: bool| {
            let mut out = Vec::new();
            for importer in importers {
                let lists = if prod {
                    [&importer.dependencies, &importer.optional_dependencies]
                } else {
                    [&importer.dev_dependencies, &None]
                };
                for deps in lists.into_iter().flatten() {
                    for (name, dep) in &deps.0 {
                        out.extend(target(name, dep.version()));
                    }
                }
            }
            out
        };
        // Both walks mark peer variants (snapshot keys); `dev` strips them back to the
        // `packages` key.
        let walk = |start: Vec<String>| {
            let mut seen: HashSet<String> = HashSet::new();
            let mut queue: VecDeque<String> = start.into();
            while let Some(key) = queue.pop_front() {
                if !seen.insert(key.clone()) {
                    continue;
                }
                if let Some(next) = edges.get(key.as_str()) {
                    queue.extend(next.iter().filter(|k| !seen.contains(*k)).cloned());
                }
            }
            seen.into_iter()
                .map(|k| strip_peers(&k, 9).to_owned())
                .collect::<HashSet<_>>()
        };
        Reach {
            prod: walk(roots(true)),
            dev: walk(roots(false)),
        }
    }

    fn dev(&self, package_key: &str) -> Option<bool> {
        if self.prod.contains(package_key) {
            Some(false)
        } else if self.dev.contains(package_key) {
            Some(true)
        } else {
            None
        }
    }
}

/// The snapshot key a dependency points at: `name@version(peers)`, or for an alias the
/// full `real@version` it names; links point into the workspace.
fn target(name: &str, version: &str) -> Option<String> {
    if version.starts_with("link:") {
        return None;
    }
    if !version.starts_with(|c: char| c.is_ascii_digit()) && version.get(1..)?.contains('@') {
        return Some(version.to_owned());
    }
    Some(format!("{name}@{version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(
            key_identity("/lodash/4.17.4", 5),
            Some(("lodash", "4.17.4"))
        );
        assert_eq!(
            key_identity("/@babel/core/7.0.0_react@16.0.0", 5),
            Some(("@babel/core", "7.0.0"))
        );
        assert_eq!(
            key_identity("registry.example.com/@a/b/1.0.0", 5),
            Some(("@a/b", "1.0.0"))
        );
        assert_eq!(key_identity("/jquery@3.3.9", 6), Some(("jquery", "3.3.9")));
        assert_eq!(
            key_identity("@a/b@1.0.0(react@18.0.0)", 9),
            Some(("@a/b", "1.0.0"))
        );
    }
}
