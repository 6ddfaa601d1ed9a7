//! `composer.lock`: `packages` (runtime) and `packages-dev`.

use allclear_core::Ecosystem;
use serde::Deserialize;

use crate::text::{LineIndex, Raw, json, json_at};
use crate::{Lockfile, Package, Problem, Source};

#[derive(Deserialize)]
struct ComposerLock<'a> {
    #[serde(borrow, default)]
    packages: Option<Vec<Raw<'a>>>,
    #[serde(borrow, default, rename = "packages-dev")]
    packages_dev: Option<Vec<Raw<'a>>>,
}

#[derive(Deserialize)]
struct ComposerPackage {
    name: String,
    version: String,
    source: Option<Origin>,
    dist: Option<Origin>,
    #[serde(rename = "notification-url")]
    notification_url: Option<String>,
}

#[derive(Deserialize)]
struct Origin {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    url: String,
    reference: Option<String>,
}

pub(crate) fn parse(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let lines = LineIndex::new(text);
    let file: ComposerLock<'_> = json(text)?;
    let runtime = file.packages.unwrap_or_default();
    let dev = file.packages_dev.unwrap_or_default();
    for (raws, is_dev) in [(&runtime, false), (&dev, true)] {
        for raw in raws {
            let entry: ComposerPackage = json_at(raw, &lines, "package")?;
            lock.packages
                .push(package(entry, lines.line_of(raw.get()), is_dev));
        }
    }
    Ok(())
}

fn package(entry: ComposerPackage, line: u32, dev: bool) -> Package {
    let version = if entry.name.starts_with("drupal/") {
        drupal_version(&entry.version).unwrap_or_else(|| entry.version.clone())
    } else {
        entry.version.clone()
    };
    Package {
        ecosystem: Ecosystem::Packagist,
        source: source(&entry),
        name: entry.name,
        version,
        line,
        direct: None,
        dev: Some(dev),
    }
}

/// Composer names a branch `dev-main` or `1.x-dev`; the branch is what was asked for.
fn branch(version: &str) -> Option<&str> {
    version
        .strip_prefix("dev-")
        .or_else(|| version.strip_suffix("-dev"))
}

fn source(entry: &ComposerPackage) -> Source {
    if let Some(dist) = &entry.dist
        && dist.kind == "path"
    {
        return Source::Path {
            path: dist.url.clone(),
        };
    }
    let git = entry
        .source
        .as_ref()
        .filter(|s| s.kind == "git" && !s.url.is_empty());
    let branch = branch(&entry.version);
    // A branch checkout, or a package from a VCS repository rather than a registry (those
    // have no notification URL), is pinned by its commit.
    if let Some(git) = git
        && (branch.is_some() || entry.notification_url.is_none())
    {
        return Source::Git {
            url: git.url.clone(),
            reference: Some(branch.unwrap_or(&entry.version).to_owned()),
            commit: git.reference.clone(),
        };
    }
    // `https://packagist.org/downloads/` → `https://packagist.org`,
    // `https://packages.drupal.org/8/downloads` → `https://packages.drupal.org/8`: the
    // registry names the OSV ecosystem suffix uses.
    let url = entry.notification_url.as_ref().map(|url| {
        let url = url.trim_end_matches('/');
        url.strip_suffix("/downloads").unwrap_or(url).to_owned()
    });
    Source::Registry { url }
}

/// Drupal contrib versions as drupal.org writes them (`8.x-1.2`, `7.x-2.0-beta3`) to the
/// semver that packages.drupal.org and the Drupal OSV advisories use (`1.2.0`,
/// `2.0.0-beta3`). `None` when the version is not of that form (already semver).
pub(crate) fn drupal_version(version: &str) -> Option<String> {
    let (core, rest) = version.split_once(".x-")?;
    if core.is_empty() || !core.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (numbers, pre) = match rest.split_once('-') {
        Some((n, p)) => (n, Some(p)),
        None => (rest, None),
    };
    let mut parts = numbers.split('.');
    let major = parts.next().filter(|p| is_number(p))?;
    let minor = parts.next().filter(|p| is_number(p))?;
    if parts.next().is_some() {
        return None;
    }
    // `8.x-1.x-dev` is a branch, not a release.
    if pre == Some("dev") {
        return None;
    }
    Some(match pre {
        Some(pre) => format!("{major}.{minor}.0-{pre}"),
        None => format!("{major}.{minor}.0"),
    })
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drupal_versions_become_semver() {
        assert_eq!(drupal_version("8.x-1.2").as_deref(), Some("1.2.0"));
        assert_eq!(
            drupal_version("7.x-2.0-beta3").as_deref(),
            Some("2.0.0-beta3")
        );
        assert_eq!(drupal_version("8.x-1.x-dev"), None);
        assert_eq!(drupal_version("1.2.0"), None);
        assert_eq!(drupal_version("10.1.4"), None);
    }
}
