//! End-to-end tests of the `allclear` binary: real files, a real advisory database built by
//! `db import`, and a real HTTP server on loopback for `db update`.

mod audit;
mod cli;
mod db;
mod digest;
mod fim;
mod logs;
mod realworld;
mod rules;
mod sast;
mod scan;
mod scanwalk;
mod schemas;
mod secrets;
mod serve;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `WHAT` inside the shared test data (`$ALLCLEAR_SHARED`, else `../shared` beside the
/// workspace), or `None` with a notice when it is absent, so the calling test can skip.
pub fn shared(what: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ALLCLEAR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = root.join(what);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: no shared test data at {} (set ALLCLEAR_SHARED)",
            path.display()
        );
        None
    }
}

/// The `allclear` binary with a clean environment: no colour, no inherited database.
pub fn allclear() -> Command {
    let mut cmd = Command::cargo_bin("allclear").expect("the allclear binary is built");
    cmd.env_remove("ALLCLEAR_DB")
        .env_remove("ALLCLEAR_OSV_URL")
        .env("NO_COLOR", "1")
        // Keep the user's real cache out of tests.
        .env("XDG_CACHE_HOME", "/nonexistent/allclear-test-cache");
    cmd
}

/// A database built from our own OSV fixtures, in a temporary directory.
pub fn fixture_db() -> tempfile::TempDir {
    let db = tempfile::tempdir().unwrap();
    let output = allclear()
        .args(["db", "--db"])
        .arg(db.path())
        .args(["import"])
        .arg(fixtures().join("osv"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    db
}

/// stdout and stderr, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Copies a fixture tree so a test can add files (allclear.toml) to it.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir(from) {
        let rel = entry.strip_prefix(from).unwrap();
        let target = to.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&entry, &target).unwrap();
        }
    }
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut index = 0;
    while index < out.len() {
        let path = out[index].clone();
        if path.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            children.sort();
            out.extend(children);
        }
        index += 1;
    }
    out
}

/// A fail2ban configuration of ours: the demo filter and one jail over the fixture log.
pub fn fail2ban_config(dir: &Path) -> PathBuf {
    let config = dir.join("fail2ban");
    std::fs::create_dir_all(config.join("filter.d")).unwrap();
    std::fs::copy(
        fixtures().join("cli/fail2ban/filter.d/demo-sshd.conf"),
        config.join("filter.d/demo-sshd.conf"),
    )
    .unwrap();
    std::fs::write(
        config.join("jail.local"),
        format!(
            "[demo-sshd]\nenabled = true\nfilter = demo-sshd\nlogpath = {}\nmaxretry = 3\n",
            fixtures().join("cli/auth.log").display()
        ),
    )
    .unwrap();
    config
}
