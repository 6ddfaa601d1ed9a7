//! Which files are lockfiles or manifests, by name.

use allclear_core::Ecosystem;

/// The kinds of file this crate recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// `Gemfile.lock` or `gems.locked`.
    GemfileLock,
    /// `.ruby-version`.
    RubyVersion,
    /// asdf/mise `.tool-versions` (only its `ruby` line is read).
    ToolVersions,
    /// `composer.lock`.
    ComposerLock,
    /// `package-lock.json` or `npm-shrinkwrap.json`.
    NpmLock,
    /// `yarn.lock`, classic (v1) or berry.
    YarnLock,
    /// `pnpm-lock.yaml`.
    PnpmLock,
    /// `Cargo.lock`.
    CargoLock,
    /// `poetry.lock`.
    PoetryLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// `uv.lock`.
    UvLock,
    /// `requirements*.txt` (only `==` pins are read).
    Requirements,
    /// `go.mod`.
    GoMod,
    /// Manifest: `Gemfile` or `gems.rb`.
    Gemfile,
    /// Manifest: `composer.json`.
    ComposerJson,
    /// Manifest: `package.json`.
    PackageJson,
    /// Manifest: `Cargo.toml`.
    CargoToml,
    /// Manifest: `pyproject.toml`.
    Pyproject,
    /// Manifest: `Pipfile`.
    Pipfile,
}

/// The kind of a file from its name.
///
/// Pass the file name, or a path relative to the scan root with `/` separators: only the
/// last component counts, except that `*.txt` directly inside a `requirements/` directory
/// (`requirements/prod.txt`) is a requirements file too. `requirements*.txt` covers
/// `requirements.txt`, `requirements-dev.txt`, `requirements_test.txt` and the like;
/// `requirements.in` is not a lockfile (it is pip-compile's unpinned input).
pub fn detect(file_name: &str) -> Option<FileKind> {
    let mut parts = file_name.rsplit(['/', '\\']);
    let name = parts.next().unwrap_or(file_name);
    let parent = parts.next();
    let kind = match name {
        "Gemfile.lock" | "gems.locked" => FileKind::GemfileLock,
        ".ruby-version" => FileKind::RubyVersion,
        ".tool-versions" => FileKind::ToolVersions,
        "composer.lock" => FileKind::ComposerLock,
        "package-lock.json" | "npm-shrinkwrap.json" => FileKind::NpmLock,
        "yarn.lock" => FileKind::YarnLock,
        "pnpm-lock.yaml" => FileKind::PnpmLock,
        "Cargo.lock" => FileKind::CargoLock,
        "poetry.lock" => FileKind::PoetryLock,
        "Pipfile.lock" => FileKind::PipfileLock,
        "uv.lock" => FileKind::UvLock,
        "go.mod" => FileKind::GoMod,
        "Gemfile" | "gems.rb" => FileKind::Gemfile,
        "composer.json" => FileKind::ComposerJson,
        "package.json" => FileKind::PackageJson,
        "Cargo.toml" => FileKind::CargoToml,
        "pyproject.toml" => FileKind::Pyproject,
        "Pipfile" => FileKind::Pipfile,
        _ if name.starts_with("requirements") && name.ends_with(".txt") => FileKind::Requirements,
        _ if parent == Some("requirements") && name.ends_with(".txt") => FileKind::Requirements,
        _ => return None,
    };
    Some(kind)
}

impl FileKind {
    /// Whether this is a manifest (read only to notice a missing lockfile).
    pub fn is_manifest(self) -> bool {
        matches!(
            self,
            FileKind::Gemfile
                | FileKind::ComposerJson
                | FileKind::PackageJson
                | FileKind::CargoToml
                | FileKind::Pyproject
                | FileKind::Pipfile
        )
    }

    /// The ecosystem of the packages this kind of file lists.
    pub fn ecosystem(self) -> Option<Ecosystem> {
        Some(match self {
            FileKind::GemfileLock | FileKind::Gemfile => Ecosystem::RubyGems,
            FileKind::RubyVersion | FileKind::ToolVersions => Ecosystem::Ruby,
            FileKind::ComposerLock | FileKind::ComposerJson => Ecosystem::Packagist,
            FileKind::NpmLock | FileKind::YarnLock | FileKind::PnpmLock | FileKind::PackageJson => {
                Ecosystem::Npm
            }
            FileKind::CargoLock | FileKind::CargoToml => Ecosystem::CratesIo,
            FileKind::PoetryLock
            | FileKind::PipfileLock
            | FileKind::UvLock
            | FileKind::Requirements
            | FileKind::Pyproject
            | FileKind::Pipfile => Ecosystem::PyPI,
            FileKind::GoMod => Ecosystem::Go,
        })
    }

    /// For a manifest, the lockfile names (in the same directory) any one of which locks it;
    /// empty for lockfiles. `package.json` counts bun's lockfiles too, which this crate does
    /// not read, because their presence means the manifest is locked. A manifest inside a
    /// workspace is locked by the workspace root's lockfile: the caller decides that.
    pub fn lockfile_names(self) -> &'static [&'static str] {
        match self {
            FileKind::Gemfile => &["Gemfile.lock", "gems.locked"],
            FileKind::ComposerJson => &["composer.lock"],
            FileKind::PackageJson => &[
                "package-lock.json",
                "npm-shrinkwrap.json",
                "yarn.lock",
                "pnpm-lock.yaml",
                "bun.lock",
                "bun.lockb",
            ],
            FileKind::CargoToml => &["Cargo.lock"],
            FileKind::Pyproject => &["poetry.lock", "uv.lock", "pdm.lock", "pylock.toml"],
            FileKind::Pipfile => &["Pipfile.lock"],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_name_and_path() {
        assert_eq!(detect("Gemfile.lock"), Some(FileKind::GemfileLock));
        assert_eq!(detect("app/gems.locked"), Some(FileKind::GemfileLock));
        assert_eq!(detect("gems.rb"), Some(FileKind::Gemfile));
        assert_eq!(detect("requirements-dev.txt"), Some(FileKind::Requirements));
        assert_eq!(
            detect("requirements/prod.txt"),
            Some(FileKind::Requirements)
        );
        assert_eq!(detect("docs/prod.txt"), None);
        assert_eq!(detect("requirements.in"), None);
        assert_eq!(detect("npm-shrinkwrap.json"), Some(FileKind::NpmLock));
        assert_eq!(detect("x/Gemfile.lock.bak"), None);
    }

    #[test]
    fn manifests_name_their_lockfiles() {
        assert!(FileKind::Gemfile.is_manifest());
        assert!(!FileKind::GemfileLock.is_manifest());
        assert!(FileKind::Gemfile.lockfile_names().contains(&"Gemfile.lock"));
        assert!(FileKind::CargoLock.lockfile_names().is_empty());
        assert_eq!(FileKind::RubyVersion.ecosystem(), Some(Ecosystem::Ruby));
        // Every manifest names at least one lockfile, and each of those is detected
        // (bun's aside, which this crate does not read).
        for kind in [
            FileKind::Gemfile,
            FileKind::ComposerJson,
            FileKind::PackageJson,
            FileKind::CargoToml,
            FileKind::Pipfile,
        ] {
            for name in kind.lockfile_names() {
                if !name.starts_with("bun.") {
                    assert!(detect(name).is_some(), "{name}");
                }
            }
        }
    }
}
