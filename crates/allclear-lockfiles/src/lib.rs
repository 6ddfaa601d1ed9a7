//! Lockfile and manifest parsers that list every package with its file and line.
//!
//! The `allclear` binary walks the tree once; for every file whose name [`detect`] recognises
//! it hands the bytes to [`parse`], which returns the locked [`Package`]s (and, for Ruby, the
//! interpreter versions) with the 1-based line of each entry, so findings can point at it.
//! Nothing here touches the filesystem.
//!
//! Formats: `Gemfile.lock`/`gems.locked`, `.ruby-version`, `.tool-versions`, `composer.lock`,
//! `package-lock.json`/`npm-shrinkwrap.json` (v1–v3), `yarn.lock` (classic and berry),
//! `pnpm-lock.yaml` (v5, v6, v9), `Cargo.lock`, `poetry.lock`, `Pipfile.lock`, `uv.lock`,
//! `requirements*.txt` and `go.mod`. Manifests (`Gemfile`, `package.json`, …) are only
//! recognised, so the caller can report a manifest whose lockfile is missing.
//!
//! What each format can tell (a lockfile alone; manifests are not read):
//!
//! | format | line of | `direct` | `dev` | left out |
//! |---|---|---|---|---|
//! | Gemfile.lock | the spec line | from DEPENDENCIES | `None` | platform duplicates |
//! | composer.lock | the entry's `{` | `None` | `packages-dev` | |
//! | package-lock v1 | the `"name": {` key | `None` | `dev` | |
//! | package-lock v2/v3 | the `"node_modules/…": {` key | root/workspace deps | `dev` | root, workspaces, links |
//! | yarn.lock | the entry header | `None` | `None` | berry workspaces |
//! | pnpm-lock.yaml | the `packages` key | importers | `dev` (v5/v6), graph (v9) | links |
//! | Cargo.lock | `[[package]]` | deps of sourceless crates | `None` | sourceless (workspace, path) crates |
//! | poetry.lock | `[[package]]` | `None` | `category` / `groups` | |
//! | Pipfile.lock | the `"name": {` key | `None` | `develop` | entries without a version |
//! | uv.lock | `[[package]]` | deps of the project | graph from dev groups | editable/virtual (the project) |
//! | requirements*.txt | the first physical line | `None` | `None` | anything not pinned with `==` |
//! | go.mod | the require (or replace) line | `// indirect` | `None` | the main module, `go` |
//!
//! Lines are 1-based and count `\n` in every format. Versions are as written, except a
//! Gemfile.lock platform suffix (dropped), Drupal `8.x-1.2` (→ `1.2.0`, as the Drupal OSV
//! advisories write it) and Pipfile.lock's `==` (dropped). Go versions keep their `v`.
//!
//! ```
//! use allclear_lockfiles::{FileKind, Source, detect, parse};
//! use allclear_core::Ecosystem;
//!
//! let text = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (2.0.1)\n\n\
//!             DEPENDENCIES\n  rack\n\nRUBY VERSION\n   ruby 3.2.2p53\n";
//! let kind = detect("Gemfile.lock").unwrap();
//! assert_eq!(kind, FileKind::GemfileLock);
//! let lock = parse(kind, "Gemfile.lock", text.as_bytes()).unwrap();
//! let rack = &lock.packages[0];
//! assert_eq!((rack.name.as_str(), rack.version.as_str(), rack.line), ("rack", "2.0.1", 4));
//! assert_eq!(rack.direct, Some(true));
//! assert_eq!(rack.source, Source::Registry { url: Some("https://rubygems.org/".into()) });
//! assert_eq!(lock.interpreters[0].ecosystem, Ecosystem::Ruby);
//! assert_eq!(lock.interpreters[0].version, "3.2.2");
//! ```

mod cargo;
mod composer;
mod gomod;
mod kind;
mod npm;
mod pnpm;
mod python;
mod ruby;
mod text;
mod yarn;

use std::fmt;

pub use allclear_core::Ecosystem;
pub use kind::{FileKind, detect};

/// Files larger than this are refused: real lockfiles are far smaller, and a huge file named
/// like a lockfile must not exhaust memory.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// What one lockfile locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockfile {
    /// The format the file was parsed as.
    pub kind: FileKind,
    /// Every locked third-party package, in file order. The project's own packages
    /// (workspace members, the root project) are not included.
    pub packages: Vec<Package>,
    /// Ruby interpreter versions (`RUBY VERSION`, `.ruby-version`, `.tool-versions`), with
    /// [`Ecosystem::Ruby`] and the engine (`ruby`, `jruby`, `truffleruby`) as the name.
    pub interpreters: Vec<Package>,
    /// The platforms the lockfile is resolved for, as it writes them (a Gemfile.lock's
    /// `PLATFORMS`, plus the platform of any platform-specific gem such as
    /// `nokogiri (1.13.10-java)`); empty when the format does not say (every platform).
    pub platforms: Vec<String>,
}

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The ecosystem whose advisories apply.
    pub ecosystem: Ecosystem,
    /// The name as the ecosystem's registry spells it (`drupal/views`, `@babel/core`).
    pub name: String,
    /// The locked version, made comparable with the ecosystem's advisories (a Gemfile.lock
    /// platform suffix is dropped; a Drupal `8.x-1.2` becomes `1.2.0`).
    pub version: String,
    /// 1-based line of the entry in the file.
    pub line: u32,
    /// Whether the project asks for the package itself; `None` when the file does not say.
    pub direct: Option<bool>,
    /// Whether only development needs the package; `None` when the file does not say.
    pub dev: Option<bool>,
    /// Where the package comes from.
    pub source: Source,
}

/// Where a package comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A package registry; `url` when the lockfile names it.
    Registry {
        /// The registry's URL, when known.
        url: Option<String>,
    },
    /// A git repository.
    Git {
        /// The repository URL.
        url: String,
        /// The branch, tag or ref asked for.
        reference: Option<String>,
        /// The full commit the lockfile pins, if any.
        commit: Option<String>,
    },
    /// A local directory or file.
    Path {
        /// The path as written in the lockfile.
        path: String,
    },
    /// A tarball or other direct URL.
    Url {
        /// The URL as written in the lockfile.
        url: String,
    },
}

impl Source {
    /// The default registry, unnamed.
    pub(crate) fn registry() -> Source {
        Source::Registry { url: None }
    }
}

/// A lockfile that cannot be read: the path, the line when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.display())]
pub struct ParseError {
    /// The path the caller gave.
    pub path: String,
    /// 1-based line of the problem, when known.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    fn display(&self) -> DisplayError<'_> {
        DisplayError(self)
    }
}

struct DisplayError<'a>(&'a ParseError);

impl fmt::Display for DisplayError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.line {
            Some(line) => write!(f, "{}:{}: {}", self.0.path, line, self.0.message),
            None => write!(f, "{}: {}", self.0.path, self.0.message),
        }
    }
}

/// An error inside a format parser, before the path is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub line: Option<u32>,
    pub message: String,
}

impl Problem {
    pub(crate) fn at(line: u32, message: impl Into<String>) -> Problem {
        Problem {
            line: Some(line),
            message: message.into(),
        }
    }

    pub(crate) fn whole(message: impl Into<String>) -> Problem {
        Problem {
            line: None,
            message: message.into(),
        }
    }
}

/// Parses `content` as `kind`. `path` only appears in errors.
///
/// Input over [`MAX_INPUT_BYTES`], with NUL bytes, or not UTF-8 is refused with an error;
/// a manifest kind gives an empty [`Lockfile`] (manifests are only detected, not read).
pub fn parse(kind: FileKind, path: &str, content: &[u8]) -> Result<Lockfile, ParseError> {
    let error = |p: Problem| ParseError {
        path: path.to_owned(),
        line: p.line,
        message: p.message,
    };
    let text = text::decode(content).map_err(error)?;
    let mut lock = Lockfile {
        kind,
        packages: Vec::new(),
        interpreters: Vec::new(),
        platforms: Vec::new(),
    };
    let result = match kind {
        FileKind::GemfileLock => ruby::parse_gemfile_lock(text, &mut lock),
        FileKind::RubyVersion => ruby::parse_ruby_version(text, &mut lock),
        FileKind::ToolVersions => ruby::parse_tool_versions(text, &mut lock),
        FileKind::ComposerLock => composer::parse(text, &mut lock),
        FileKind::NpmLock => npm::parse(text, &mut lock),
        FileKind::YarnLock => yarn::parse(text, &mut lock),
        FileKind::PnpmLock => pnpm::parse(text, &mut lock),
        FileKind::CargoLock => cargo::parse(text, &mut lock),
        FileKind::PoetryLock => python::parse_poetry(text, &mut lock),
        FileKind::PipfileLock => python::parse_pipfile_lock(text, &mut lock),
        FileKind::UvLock => python::parse_uv(text, &mut lock),
        FileKind::Requirements => python::parse_requirements(text, &mut lock),
        FileKind::GoMod => gomod::parse(text, &mut lock),
        FileKind::Gemfile
        | FileKind::ComposerJson
        | FileKind::PackageJson
        | FileKind::CargoToml
        | FileKind::Pyproject
        | FileKind::Pipfile => Ok(()),
    };
    result.map_err(error)?;
    // File order, whatever order the format's maps came back in.
    lock.packages
        .sort_by(|a, b| (a.line, &a.name, &a.version).cmp(&(b.line, &b.name, &b.version)));
    Ok(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_display_has_path_and_line() {
        let with_line = ParseError {
            path: "a/Gemfile.lock".into(),
            line: Some(3),
            message: "bad".into(),
        };
        assert_eq!(with_line.to_string(), "a/Gemfile.lock:3: bad");
        let without = ParseError {
            line: None,
            ..with_line
        };
        assert_eq!(without.to_string(), "a/Gemfile.lock: bad");
    }

    #[test]
    fn manifests_parse_to_nothing() {
        let lock = parse(FileKind::PackageJson, "package.json", b"{}").unwrap();
        assert!(lock.packages.is_empty());
    }
}
