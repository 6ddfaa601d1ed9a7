//! Integration tests of allclear-fim: real trees in temporary directories.

mod aide_compare;
mod aide_config;
mod bad_input;
mod baseline_file;
mod check;
mod packages;
mod props;
mod watch;

use std::path::{Path, PathBuf};

use allclear_fim::{Change, ChangeKind, CheckOptions, CheckOutcome, FimConfig};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A tree to watch and a place for the baseline.
pub struct Setup {
    pub tree: tempfile::TempDir,
    pub state: tempfile::TempDir,
}

impl Default for Setup {
    fn default() -> Self {
        Setup::new()
    }
}

impl Setup {
    pub fn new() -> Setup {
        Setup {
            tree: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tree.path().join(rel)
    }

    pub fn baseline(&self) -> PathBuf {
        self.state.path().join("fim.baseline")
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// One group over the whole tree with the given attributes (TOML array items).
    pub fn config(&self, attributes: &str) -> FimConfig {
        self.config_with(attributes, "")
    }

    pub fn config_with(&self, attributes: &str, extra_group_lines: &str) -> FimConfig {
        let toml = format!(
            "[fim]\ndefaults = false\ndpkg-dir = \"\"\n[fim.groups.tree]\npaths = [{:?}]\nattributes = [{attributes}]\n{extra_group_lines}\n",
            self.tree.path().display().to_string()
        );
        FimConfig::from_toml_str(&toml, "test.toml").unwrap()
    }

    /// The logical path of a tree entry, as changes name it.
    pub fn logical(&self, rel: &str) -> Vec<u8> {
        use std::os::unix::ffi::OsStrExt;
        self.path(rel).as_os_str().as_bytes().to_vec()
    }
}

pub fn check(config: &FimConfig, baseline: &Path) -> CheckOutcome {
    allclear_fim::check(config, baseline, &CheckOptions::default()).unwrap()
}

/// The change at `path`, if any.
pub fn change_at<'a>(outcome: &'a CheckOutcome, path: &[u8]) -> Option<&'a Change> {
    outcome.changes.iter().find(|c| c.path.as_ref() == path)
}

/// `(kind, attribute names)` of the change at `path`.
pub fn summary(outcome: &CheckOutcome, path: &[u8]) -> Option<(ChangeKind, Vec<&'static str>)> {
    change_at(outcome, path).map(|c| (c.kind, c.attrs.iter().map(|a| a.attr.name()).collect()))
}

pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file we just created is our effective user id.
    let dir = tempfile::tempdir().unwrap();
    std::fs::metadata(dir.path()).unwrap().uid() == 0
}
