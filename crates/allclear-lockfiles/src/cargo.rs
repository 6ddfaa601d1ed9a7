//! `Cargo.lock`, format versions 1 to 4.

use std::borrow::Cow;
use std::collections::HashSet;

use allclear_core::Ecosystem;
use serde::Deserialize;
use toml::Spanned;

use crate::text::{LineIndex, toml};
use crate::{Lockfile, Package, Problem, Source};

// Strings are borrowed from the text where they have no escapes: a big Cargo.lock has
// thousands of them, and copying each was a tenth of the parse.
#[derive(Deserialize)]
struct CargoLock<'a> {
    #[serde(default, borrow)]
    package: Vec<Spanned<CargoPackage<'a>>>,
}

#[derive(Deserialize)]
struct CargoPackage<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    version: Cow<'a, str>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    dependencies: Vec<Cow<'a, str>>,
}

pub(crate) fn parse(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let lines = LineIndex::new(text);
    let file: CargoLock = toml(text, &lines)?;
    // Packages without a source are the workspace's own crates (and path dependencies):
    // what they depend on is direct.
    let mut direct_names: HashSet<&str> = HashSet::new();
    let mut direct_exact: HashSet<(&str, &str)> = HashSet::new();
    for package in &file.package {
        let package = package.get_ref();
        if package.source.is_some() {
            continue;
        }
        for dep in &package.dependencies {
            // `name`, `name version` or `name version (source)`.
            let mut words = dep.split(' ');
            let name = words.next().unwrap_or(dep);
            match words.next() {
                Some(version) => direct_exact.insert((name, version)),
                None => direct_names.insert(name),
            };
        }
    }
    for spanned in &file.package {
        let package = spanned.get_ref();
        let Some(source) = &package.source else {
            continue;
        };
        let direct = direct_names.contains(&*package.name)
            || direct_exact.contains(&(&*package.name, &*package.version));
        lock.packages.push(Package {
            ecosystem: Ecosystem::CratesIo,
            name: package.name.clone().into_owned(),
            version: package.version.clone().into_owned(),
            line: lines.line(spanned.span().start),
            direct: Some(direct),
            // Cargo.lock does not separate dev-dependencies.
            dev: None,
            source: parse_source(source),
        });
    }
    Ok(())
}

/// `registry+URL`, `sparse+URL`, `git+URL?branch=b#commit`, `path+…`.
fn parse_source(source: &str) -> Source {
    if let Some(url) = source.strip_prefix("registry+") {
        return Source::Registry {
            url: Some(url.to_owned()),
        };
    }
    if source.starts_with("sparse+") {
        return Source::Registry {
            url: Some(source.to_owned()),
        };
    }
    if let Some(rest) = source.strip_prefix("git+") {
        let (rest, commit) = match rest.split_once('#') {
            Some((r, c)) => (r, Some(c.to_owned())),
            None => (rest, None),
        };
        let (url, reference) = match rest.split_once('?') {
            Some((url, query)) => (
                url,
                query.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    matches!(k, "branch" | "tag" | "rev").then(|| v.to_owned())
                }),
            ),
            None => (rest, None),
        };
        return Source::Git {
            url: url.to_owned(),
            reference,
            commit,
        };
    }
    if let Some(path) = source.strip_prefix("path+") {
        return Source::Path {
            path: path.to_owned(),
        };
    }
    Source::Url {
        url: source.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_source() {
        assert_eq!(
            parse_source("git+https://github.com/a/b?branch=main#0123"),
            Source::Git {
                url: "https://github.com/a/b".into(),
                reference: Some("main".into()),
                commit: Some("0123".into())
            }
        );
    }
}
