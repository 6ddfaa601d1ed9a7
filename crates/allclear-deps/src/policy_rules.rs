//! The rules that need no advisory database: prereleases, unpinned git dependencies,
//! manifests without lockfiles.

use std::collections::BTreeSet;

use allclear_core::{Finding, Fix, Location, PackageRef, Severity};
use allclear_lockfiles::{FileKind, Lockfile, Package, Source};
use allclear_versions::Version;

/// A file the walk saw that matters to the dependency audit.
#[derive(Debug, Clone)]
pub struct DependencyFile {
    /// Relative to the scan root, `/`-separated.
    pub path: String,
    /// `None` for lockfiles allclear does not read but whose presence counts (`bun.lockb`).
    pub kind: Option<FileKind>,
}

/// `deps.prerelease` and `deps.unpinned-git` for every package of one lockfile.
pub fn package_rules(path: &str, lockfile: &Lockfile) -> Vec<Finding> {
    let mut findings = Vec::new();
    for package in &lockfile.packages {
        if let Some(finding) = prerelease(path, package) {
            findings.push(finding);
        }
        if let Some(finding) = unpinned_git(path, package) {
            findings.push(finding);
        }
    }
    findings
}

fn package_ref(package: &Package) -> PackageRef {
    PackageRef {
        ecosystem: package.ecosystem,
        name: package.name.clone(),
        version: package.version.clone(),
    }
}

fn prerelease(path: &str, package: &Package) -> Option<Finding> {
    // Git and path dependencies have no release to judge; unpinned-git covers git ones.
    if !matches!(package.source, Source::Registry { .. }) {
        return None;
    }
    let version = Version::parse(package.ecosystem, &package.version).ok()?;
    // Go pseudo-versions (v0.0.0-20230101…-abcdef) are commits, not pre-releases anyone chose.
    if !version.is_prerelease() || version.is_go_pseudo_version() {
        return None;
    }
    Some(
        Finding::new(
            "deps.prerelease",
            Severity::Low,
            format!("{} {} is a pre-release", package.name, package.version),
        )
        .with_location(Location::new(path).with_line(package.line))
        .with_key(format!(
            "{}/{}@{}",
            package.ecosystem, package.name, package.version
        ))
        .with_package(package_ref(package))
        .with_description(
            "Alpha, beta and release-candidate versions are outside what security teams \
             cover: advisories are rarely issued for them and fixes are not backported. \
             Depend on a stable release.",
        )
        .with_fix(Fix {
            advice: Some("upgrade to a stable release".to_owned()),
            ..Fix::default()
        }),
    )
}

/// A full commit id: 40 (SHA-1) or 64 (SHA-256) hex digits.
fn is_full_commit(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn unpinned_git(path: &str, package: &Package) -> Option<Finding> {
    let Source::Git {
        url,
        reference,
        commit,
    } = &package.source
    else {
        return None;
    };
    if commit.as_deref().is_some_and(is_full_commit) {
        return None;
    }
    let asked = reference
        .as_deref()
        .map(|r| format!(" (follows `{r}`)"))
        .unwrap_or_default();
    Some(
        Finding::new(
            "deps.unpinned-git",
            Severity::Medium,
            format!(
                "{} {} comes from git without a pinned commit{asked}",
                package.name, package.version
            ),
        )
        .with_location(Location::new(path).with_line(package.line))
        .with_key(format!("{}/{}", package.ecosystem, package.name))
        .with_package(package_ref(package))
        .with_description(format!(
            "The lockfile does not record the exact commit of {url}, so two installs of the \
             same lockfile can get different code, and a compromised branch reaches \
             production unreviewed."
        ))
        .with_fix(Fix {
            advice: Some(
                "pin the dependency to a commit (or a released version) and regenerate the lockfile"
                    .to_owned(),
            ),
            ..Fix::default()
        }),
    )
}

/// `deps.missing-lockfile`: a Gemfile, composer.json, package.json or Pipfile with no lockfile
/// beside it or in a directory above it (a workspace root's lockfile locks its members).
///
/// `Cargo.toml` and `pyproject.toml` are not judged: libraries in those ecosystems
/// conventionally leave their lockfile out, and flagging every one would be noise.
pub fn missing_lockfiles(files: &[DependencyFile]) -> Vec<Finding> {
    let present: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut findings = Vec::new();
    for file in files {
        let Some(kind) = file.kind else { continue };
        if !matches!(
            kind,
            FileKind::Gemfile | FileKind::ComposerJson | FileKind::PackageJson | FileKind::Pipfile
        ) {
            continue;
        }
        let locked = ancestors(&file.path).any(|dir| {
            kind.lockfile_names().iter().any(|name| {
                let candidate = if dir.is_empty() {
                    (*name).to_owned()
                } else {
                    format!("{dir}/{name}")
                };
                present.contains(candidate.as_str())
            })
        });
        if locked {
            continue;
        }
        let manifest = file.path.rsplit('/').next().unwrap_or(&file.path);
        let wanted = kind
            .lockfile_names()
            .first()
            .copied()
            .unwrap_or("a lockfile");
        let command = match kind {
            FileKind::Gemfile => "bundle lock",
            FileKind::ComposerJson => "composer update --lock",
            FileKind::PackageJson => "npm install --package-lock-only",
            _ => "pipenv lock",
        };
        findings.push(
            Finding::new(
                "deps.missing-lockfile",
                Severity::Medium,
                format!("{manifest} has no {wanted}"),
            )
            .with_location(Location::new(file.path.clone()))
            .with_key(manifest)
            .with_description(
                "Without a lockfile the versions installed are whatever is newest on the day, \
                 nobody reviewed them, and no audit can say which versions run. Commit the \
                 lockfile.",
            )
            .with_fix(Fix {
                command: Some(command.to_owned()),
                advice: Some(format!("generate {wanted} and commit it")),
                ..Fix::default()
            }),
        );
    }
    findings
}

/// The directories containing `path`, innermost first, ending with the root (`""`).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut current = Some(path);
    std::iter::from_fn(move || {
        let path = current?;
        match path.rfind('/') {
            Some(index) => {
                current = Some(&path[..index]);
                Some(&path[..index])
            }
            None => {
                current = None;
                Some("")
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use allclear_core::Ecosystem;

    fn file(path: &str) -> DependencyFile {
        let name = path.rsplit('/').next().unwrap();
        DependencyFile {
            path: path.to_owned(),
            kind: allclear_lockfiles::detect(name),
        }
    }

    #[test]
    fn ancestors_walk_up_to_the_root() {
        let dirs: Vec<&str> = ancestors("a/b/Gemfile").collect();
        assert_eq!(dirs, ["a/b", "a", ""]);
        assert_eq!(ancestors("Gemfile").collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn manifest_without_lockfile_is_found() {
        let files = [
            file("Gemfile"),
            file("Gemfile.lock"),
            file("web/composer.json"),
            file("packages/ui/package.json"),
            file("yarn.lock"),
            file("lib/Cargo.toml"),
        ];
        let findings = missing_lockfiles(&files);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].location.path, "web/composer.json");
        assert_eq!(findings[0].title, "composer.json has no composer.lock");
    }

    fn package(version: &str, source: Source) -> Package {
        Package {
            ecosystem: Ecosystem::RubyGems,
            name: "rails".to_owned(),
            version: version.to_owned(),
            line: 7,
            direct: Some(true),
            dev: Some(false),
            source,
        }
    }

    fn lockfile(packages: Vec<Package>) -> Lockfile {
        Lockfile {
            kind: FileKind::GemfileLock,
            packages,
            interpreters: Vec::new(),
            platforms: Vec::new(),
        }
    }

    #[test]
    fn prereleases_are_found_and_stable_releases_are_not() {
        let lock = lockfile(vec![
            package("7.1.0.rc1", Source::Registry { url: None }),
            package("7.1.0", Source::Registry { url: None }),
        ]);
        let findings = package_rules("Gemfile.lock", &lock);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "deps.prerelease");
        assert_eq!(findings[0].location.line, Some(7));
    }

    #[test]
    fn git_dependencies_need_a_full_commit() {
        let git = |commit: Option<&str>| Source::Git {
            url: "https://github.com/rails/rails".to_owned(),
            reference: Some("main".to_owned()),
            commit: commit.map(str::to_owned),
        };
        let lock = lockfile(vec![
            package("7.2.0", git(None)),
            package("7.2.0", git(Some("abc123"))),
            package(
                "7.2.0",
                git(Some("0123456789abcdef0123456789abcdef01234567")),
            ),
        ]);
        let findings = package_rules("Gemfile.lock", &lock);
        let unpinned: Vec<_> = findings
            .iter()
            .filter(|f| f.rule == "deps.unpinned-git")
            .collect();
        assert_eq!(unpinned.len(), 2, "{findings:#?}");
        assert!(unpinned[0].title.contains("follows `main`"));
    }
}
