//! Side by side with Debian's `aide` on the same tree and the same aide.conf: after a
//! scripted set of changes both must find the same added, removed and changed files.
//! Runs when `aide` is installed (`apt-get install aide`); says so and passes otherwise.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use allclear_fim::aide::{AideOptions, parse_aide_config};
use allclear_fim::{ChangeKind, FileKind};

use crate::{Setup, is_root};

fn aide_available() -> bool {
    Command::new("aide")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs aide with `conf`; returns its JSON report (for `--check`).
fn aide(conf: &Path, mode: &str) -> serde_json::Value {
    let out = Command::new("aide")
        .arg(mode)
        .arg("-c")
        .arg(conf)
        .output()
        .unwrap();
    // --check exits 1..=7 (a bit each for added, removed, changed); 14 and up are errors.
    let code = out.status.code().unwrap_or(255);
    assert!(
        code < 14,
        "aide {mode} failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if mode == "--check" {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "aide's JSON report: {e}\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    } else {
        serde_json::Value::Null
    }
}

/// Paths in one section of aide's JSON report; directories are left out of `changed`
/// because allclear does not report a directory whose times changed only because entries
/// inside it came and went (those entries are reported).
fn aide_section(report: &serde_json::Value, section: &str) -> BTreeSet<String> {
    report[section]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, summary)| {
                    section != "changed" || !summary.as_str().unwrap_or("").starts_with('d')
                })
                .map(|(path, _)| path.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn same_changes_as_aide() {
    if !aide_available() {
        eprintln!("skipped: aide is not installed (apt-get install aide)");
        return;
    }
    let s = Setup::new();
    for name in [
        "content", "perms", "owner", "touched", "deleted", "renamed", "same",
    ] {
        s.write(&format!("etc/{name}.conf"), &format!("{name} = 1\n"));
    }
    s.write("bin/tool", "#!/bin/sh\necho tool\n");
    std::os::unix::fs::symlink("tool", s.path("bin/link")).unwrap();

    let db = s.state.path();
    let conf = db.join("aide.conf");
    std::fs::write(
        &conf,
        format!(
            "# the same file drives aide and allclear\n\
             @@define DB {db}\n\
             database_in=file:@@{{DB}}/aide.db\n\
             database_out=file:@@{{DB}}/aide.db.new\n\
             report_format=json\n\
             report_url=stdout\n\
             Full = p+ftype+i+l+n+u+g+s+m+c+sha256\n\
             {tree} Full\n",
            tree = s.tree.path().display(),
            db = db.display()
        ),
    )
    .unwrap();
    aide(&conf, "--init");
    std::fs::rename(db.join("aide.db.new"), db.join("aide.db")).unwrap();
    let config = parse_aide_config(&conf, &AideOptions::default()).unwrap();
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();

    // AIDE compares times in whole seconds: let the clock move on first.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(s.path("etc/content.conf"), "content = 2\n").unwrap();
    std::fs::set_permissions(
        s.path("etc/perms.conf"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    if is_root() {
        std::os::unix::fs::chown(s.path("etc/owner.conf"), Some(65534), None).unwrap();
    } else {
        eprintln!("note: not changing an owner (needs root); the rest is compared");
        std::fs::write(s.path("etc/owner.conf"), "owner = 2\n").unwrap();
    }
    s.write("bin/tool.new", "#!/bin/sh\necho replaced\n");
    std::fs::rename(s.path("bin/tool.new"), s.path("bin/tool")).unwrap();
    s.write("etc/new.conf", "new\n");
    std::fs::remove_file(s.path("etc/deleted.conf")).unwrap();
    std::fs::rename(s.path("etc/renamed.conf"), s.path("etc/renamed-now.conf")).unwrap();
    let touched = std::fs::File::options()
        .write(true)
        .open(s.path("etc/touched.conf"))
        .unwrap();
    touched
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    drop(touched);

    let theirs = aide(&conf, "--check");
    let ours = crate::check(&config, &s.baseline());
    let ours_of = |kind: ChangeKind| -> BTreeSet<String> {
        ours.changes
            .iter()
            .filter(|c| {
                c.kind == kind && !(kind == ChangeKind::Changed && c.file_kind == FileKind::Dir)
            })
            .map(|c| c.display_path())
            .collect()
    };
    let added = aide_section(&theirs, "added");
    let removed = aide_section(&theirs, "removed");
    let changed = aide_section(&theirs, "changed");
    assert_eq!(ours_of(ChangeKind::Added), added);
    assert_eq!(ours_of(ChangeKind::Removed), removed);
    assert_eq!(ours_of(ChangeKind::Changed), changed);
    // And the scripted changes are all there (so agreeing on nothing cannot pass).
    assert_eq!(added.len(), 2, "{added:?}");
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert_eq!(changed.len(), 5, "{changed:?}");
}
