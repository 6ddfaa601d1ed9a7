//! Turning findings into the few commands that fix them: one per lockfile directory and
//! package manager, with every package that needs upgrading there.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use allclear_core::{Ecosystem, Finding};

use crate::text::one_line;

/// The package manager that owns a lockfile, which decides the command's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tool {
    Bundler,
    Composer,
    Npm,
    Yarn,
    Pnpm,
    Bun,
    Cargo,
    Pip,
    Poetry,
    Uv,
    Pipenv,
    Pdm,
    Go,
}

impl Tool {
    fn for_lockfile(ecosystem: Ecosystem, file_name: &str) -> Option<Tool> {
        Some(match ecosystem {
            // The interpreter is upgraded by hand (or by an image), never by a command here.
            Ecosystem::Ruby => return None,
            Ecosystem::RubyGems => Tool::Bundler,
            Ecosystem::Packagist => Tool::Composer,
            Ecosystem::Npm => match file_name {
                "yarn.lock" => Tool::Yarn,
                "pnpm-lock.yaml" => Tool::Pnpm,
                "bun.lock" | "bun.lockb" => Tool::Bun,
                _ => Tool::Npm,
            },
            Ecosystem::CratesIo => Tool::Cargo,
            Ecosystem::PyPI => match file_name {
                "poetry.lock" => Tool::Poetry,
                "uv.lock" => Tool::Uv,
                "Pipfile.lock" => Tool::Pipenv,
                "pdm.lock" => Tool::Pdm,
                _ => Tool::Pip,
            },
            Ecosystem::Go => Tool::Go,
        })
    }
}

/// One package to upgrade in one place.
#[derive(Debug, Default)]
struct Upgrade {
    installed: BTreeSet<String>,
    /// The highest fix version any finding asks for.
    fix: String,
}

/// The commands that apply every fix version the findings name, one per lockfile directory
/// and package manager, packages merged and sorted, directories in path order:
///
/// | lockfile | command |
/// |---|---|
/// | `Gemfile.lock` | `bundle update nokogiri rack` |
/// | `composer.lock` | `composer update drupal/core drupal/views --with-dependencies` |
/// | `package-lock.json` | `npm install a@1.2.3 b@2.0.0` (`yarn up`, `pnpm update`, `bun update` for theirs) |
/// | `Cargo.lock` | `cargo update -p a -p b` (`-p a@0.1.0` when two versions of `a` are affected) |
/// | `requirements.txt` | `pip install 'a>=1.2.3'` (`poetry update a`, `uv lock --upgrade-package a`, `pipenv update a`, `pdm update a` for theirs) |
/// | `go.mod` | `go get a@v1.2.3` |
///
/// A lockfile outside the scanned root gets `(cd DIR && …)`. The Ruby interpreter is no
/// package: it gets a `# upgrade the Ruby interpreter …` comment line, after the commands.
///
/// Names and versions come from lockfiles, so every argument is shell-quoted, and a package
/// whose name starts with `-` or whose name or version holds a space or control character is
/// left out rather than risk a command that does something else.
pub fn upgrade_commands(findings: &[Finding]) -> Vec<String> {
    let mut groups: BTreeMap<(String, Tool), BTreeMap<String, Upgrade>> = BTreeMap::new();
    let mut interpreters: BTreeMap<(String, String), String> = BTreeMap::new();
    for finding in findings {
        let (Some(package), Some(fix)) = (&finding.package, &finding.fix) else {
            continue;
        };
        let Some(fix_version) = target(finding, fix) else {
            continue;
        };
        if !is_plain(&package.name) || !is_plain(&package.version) || !is_plain(fix_version) {
            continue;
        }
        let path = finding.location.path.as_str();
        let (dir, file_name) = match path.rsplit_once('/') {
            Some((dir, name)) => (dir, name),
            None => ("", path),
        };
        let Some(tool) = Tool::for_lockfile(package.ecosystem, file_name) else {
            let key = (package.name.clone(), package.version.clone());
            let current = interpreters.entry(key).or_default();
            if current.is_empty() || newer(package.ecosystem, fix_version, current) {
                *current = fix_version.to_owned();
            }
            continue;
        };
        let upgrade = groups
            .entry((dir.to_owned(), tool))
            .or_default()
            .entry(package.name.clone())
            .or_default();
        upgrade.installed.insert(package.version.clone());
        if upgrade.fix.is_empty() || newer(package.ecosystem, fix_version, &upgrade.fix) {
            upgrade.fix = fix_version.to_owned();
        }
    }

    let mut commands: Vec<String> = groups
        .iter()
        .filter_map(|((dir, tool), packages)| command(dir, *tool, packages))
        .collect();
    for ((name, installed), fix) in &interpreters {
        commands.push(format!(
            "# upgrade the Ruby interpreter ({} {}) to {} or later",
            one_line(name),
            one_line(installed),
            one_line(fix)
        ));
    }
    commands
}

/// The version to move a finding's package to: the one that fixes every advisory of the
/// package or of its release train (`upgrade_to`, from the audit), else the finding's own
/// fix.
fn target<'a>(finding: &'a Finding, fix: &'a allclear_core::Fix) -> Option<&'a str> {
    finding
        .details
        .get("upgrade_to")
        .and_then(|v| v.as_str())
        .or(fix.version.as_deref())
        .map(str::trim)
}

/// The versions to move to, one line per package or release train and lockfile, in path
/// order: `Gemfile.lock: rails 6.0.3.7 → 7.2.3.2 (actionpack, activerecord, activestorage)`,
/// `Gemfile.lock: rack 2.2.3 → 2.2.23`. Packages of one release train get one version
/// (see `allclear_deps::release_train`).
pub fn upgrade_plan(findings: &[Finding]) -> Vec<String> {
    // (path, train or package name, installed) → (target, member names).
    let mut plan: BTreeMap<(&str, &str, &str), (String, BTreeSet<&str>)> = BTreeMap::new();
    for finding in findings {
        let (Some(package), Some(fix)) = (&finding.package, &finding.fix) else {
            continue;
        };
        let Some(version) = target(finding, fix) else {
            continue;
        };
        let train = finding
            .details
            .get("release_train")
            .and_then(|v| v.as_str());
        let key = (
            finding.location.path.as_str(),
            train.unwrap_or(package.name.as_str()),
            package.version.as_str(),
        );
        let entry = plan.entry(key).or_default();
        if entry.0.is_empty() || newer(package.ecosystem, version, &entry.0) {
            entry.0 = version.to_owned();
        }
        if train.is_some() {
            entry.1.insert(package.name.as_str());
        }
    }
    plan.into_iter()
        .map(|((path, name, installed), (version, members))| {
            let mut line = format!(
                "{}: {} {} → {}",
                one_line(path),
                one_line(name),
                one_line(installed),
                one_line(&version)
            );
            if !members.is_empty() {
                let names: Vec<String> = members.iter().map(|m| one_line(m).into_owned()).collect();
                line.push_str(&format!(" ({})", names.join(", ")));
            }
            line
        })
        .collect()
}

/// Text that can become a shell argument without surprises once quoted.
fn is_plain(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text
            .chars()
            .any(|c| c.is_whitespace() || crate::text::is_hidden(c))
}

/// Whether fix version `a` is newer than `b`, by the ecosystem's own ordering (text order
/// when either does not parse, which still keeps the choice deterministic).
fn newer(ecosystem: Ecosystem, a: &str, b: &str) -> bool {
    allclear_versions::compare(ecosystem, a, b).unwrap_or_else(|_| a.cmp(b)) == Ordering::Greater
}

/// `text` as one shell word.
fn quote(text: &str) -> Option<String> {
    shlex::try_quote(text).ok().map(|q| q.into_owned())
}

fn command(dir: &str, tool: Tool, packages: &BTreeMap<String, Upgrade>) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    for (name, upgrade) in packages {
        let fix = &upgrade.fix;
        match tool {
            Tool::Bundler
            | Tool::Composer
            | Tool::Poetry
            | Tool::Pipenv
            | Tool::Pdm
            | Tool::Bun => words.push(quote(name)?),
            Tool::Npm | Tool::Yarn | Tool::Pnpm => words.push(quote(&format!("{name}@{fix}"))?),
            Tool::Cargo => {
                // `-p name` is ambiguous when the lockfile has two versions of the crate.
                if upgrade.installed.len() > 1 {
                    for installed in &upgrade.installed {
                        words.push("-p".to_owned());
                        words.push(quote(&format!("{name}@{installed}"))?);
                    }
                } else {
                    words.push("-p".to_owned());
                    words.push(quote(name)?);
                }
            }
            Tool::Pip => words.push(quote(&format!("{name}>={fix}"))?),
            Tool::Uv => {
                words.push("--upgrade-package".to_owned());
                words.push(quote(name)?);
            }
            Tool::Go => {
                let version = if fix.starts_with('v') {
                    fix.clone()
                } else {
                    format!("v{fix}")
                };
                words.push(quote(&format!("{name}@{version}"))?);
            }
        }
    }
    if words.is_empty() {
        return None;
    }
    let args = words.join(" ");
    let command = match tool {
        Tool::Bundler => format!("bundle update {args}"),
        Tool::Composer => format!("composer update {args} --with-dependencies"),
        Tool::Npm => format!("npm install {args}"),
        Tool::Yarn => format!("yarn up {args}"),
        Tool::Pnpm => format!("pnpm update {args}"),
        Tool::Bun => format!("bun update {args}"),
        Tool::Cargo => format!("cargo update {args}"),
        Tool::Pip => format!("pip install {args}"),
        Tool::Poetry => format!("poetry update {args}"),
        Tool::Uv => format!("uv lock {args}"),
        Tool::Pipenv => format!("pipenv update {args}"),
        Tool::Pdm => format!("pdm update {args}"),
        Tool::Go => format!("go get {args}"),
    };
    if dir.is_empty() {
        return Some(command);
    }
    // Spaces are fine once quoted; a line break would end the command early.
    if dir.chars().any(crate::text::is_hidden) {
        return None;
    }
    // A directory named `-x` would read as an option of `cd`.
    let dir = if dir.starts_with('-') {
        format!("./{dir}")
    } else {
        dir.to_owned()
    };
    Some(format!("(cd {} && {command})", quote(&dir)?))
}
