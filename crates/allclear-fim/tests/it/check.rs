//! init → scripted changes → check → update, on a temporary tree.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use allclear_core::Severity;
use allclear_fim::{Category, ChangeKind, CheckOptions};

use crate::{Setup, change_at, check, is_root, summary};

fn static_attrs() -> &'static str {
    "\"static\""
}

fn populated() -> Setup {
    let s = Setup::new();
    s.write("bin/tool", "#!/bin/sh\necho tool\n");
    s.write("bin/other", "other\n");
    s.write("etc/app.conf", "listen 80\n");
    s.write("etc/keep.conf", "keep\n");
    s.write("etc/old.conf", "old\n");
    s.write("etc/touched.conf", "touched\n");
    s.write("etc/renamed-from.conf", "renamed\n");
    std::os::unix::fs::symlink("tool", s.path("bin/link")).unwrap();
    s
}

#[test]
fn scripted_changes_are_each_reported_with_their_attributes() {
    let s = populated();
    let config = s.config(static_attrs());
    let init = allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    // tree dir + bin, etc + 2 files + link in bin + 5 files in etc.
    assert_eq!(init.entries, 1 + 2 + 3 + 5);
    assert!(init.issues.is_empty(), "{:?}", init.issues);

    let nothing = check(&config, &s.baseline());
    assert!(nothing.changes.is_empty(), "{:?}", nothing.changes);
    assert_eq!(
        nothing.stats.hashed_files, 0,
        "an unchanged tree is not read again"
    );
    assert_eq!(nothing.stats.reused_hashes, 7);

    // Content edit (same size, so only the hash and times tell).
    s.write("etc/app.conf", "listen 81\n");
    // chmod.
    std::fs::set_permissions(
        s.path("etc/keep.conf"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    // Replaced binary: a new file renamed over the old one.
    s.write("bin/tool.new", "#!/bin/sh\necho evil!!\n");
    std::fs::rename(s.path("bin/tool.new"), s.path("bin/tool")).unwrap();
    // New file, deleted file, renamed file.
    s.write("etc/new.conf", "new\n");
    std::fs::remove_file(s.path("etc/old.conf")).unwrap();
    std::fs::rename(
        s.path("etc/renamed-from.conf"),
        s.path("etc/renamed-to.conf"),
    )
    .unwrap();
    // mtime only.
    let file = std::fs::File::options()
        .write(true)
        .open(s.path("etc/touched.conf"))
        .unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(86_400))
        .unwrap();
    // Symlink retargeted.
    std::fs::remove_file(s.path("bin/link")).unwrap();
    std::os::unix::fs::symlink("other", s.path("bin/link")).unwrap();

    let outcome = check(&config, &s.baseline());
    let l = |rel: &str| s.logical(rel);

    let (kind, attrs) = summary(&outcome, &l("etc/app.conf")).unwrap();
    assert_eq!(kind, ChangeKind::Changed);
    assert!(
        attrs.contains(&"blake3") && attrs.contains(&"mtime"),
        "{attrs:?}"
    );
    assert!(!attrs.contains(&"size") && !attrs.contains(&"inode"));

    let (_, attrs) = summary(&outcome, &l("etc/keep.conf")).unwrap();
    assert!(attrs.contains(&"perms"));
    assert!(!attrs.contains(&"blake3"));
    let perms = change_at(&outcome, &l("etc/keep.conf")).unwrap();
    let p = perms
        .attrs
        .iter()
        .find(|a| a.attr.name() == "perms")
        .unwrap();
    assert_eq!((p.old.as_str(), p.new.as_str()), ("0644", "4755"));

    let (_, attrs) = summary(&outcome, &l("bin/tool")).unwrap();
    for a in ["inode", "size", "blake3"] {
        assert!(
            attrs.contains(&a),
            "replaced binary: {a} missing from {attrs:?}"
        );
    }

    assert_eq!(
        summary(&outcome, &l("etc/new.conf")).unwrap().0,
        ChangeKind::Added
    );
    assert_eq!(
        summary(&outcome, &l("etc/old.conf")).unwrap().0,
        ChangeKind::Removed
    );
    let to = change_at(&outcome, &l("etc/renamed-to.conf")).unwrap();
    assert_eq!(to.kind, ChangeKind::Added);
    assert!(to.renamed.as_deref().unwrap().contains("renamed-from.conf"));
    assert_eq!(
        summary(&outcome, &l("etc/renamed-from.conf")).unwrap().0,
        ChangeKind::Removed
    );

    let (_, attrs) = summary(&outcome, &l("etc/touched.conf")).unwrap();
    assert_eq!(
        attrs,
        vec!["mtime", "ctime"],
        "content was re-read and found equal"
    );

    let (_, attrs) = summary(&outcome, &l("bin/link")).unwrap();
    assert!(attrs.contains(&"target"), "{attrs:?}");
    let t = change_at(&outcome, &l("bin/link"))
        .unwrap()
        .attrs
        .iter()
        .find(|a| a.attr.name() == "target")
        .unwrap();
    assert_eq!((t.old.as_str(), t.new.as_str()), ("tool", "other"));

    // etc/ and bin/ changed only because entries came and went: not reported.
    assert!(change_at(&outcome, &l("etc")).is_none());
    assert!(outcome.stats.explained_dirs >= 1);
    // Nothing else.
    let paths: Vec<String> = outcome.changes.iter().map(|c| c.display_path()).collect();
    assert_eq!(outcome.changes.len(), 9, "{paths:#?}");

    // As findings.
    let findings = outcome.findings();
    let edit = findings
        .iter()
        .find(|f| f.location.path.ends_with("etc/app.conf"))
        .unwrap();
    assert_eq!(edit.rule, "fim.changed");
    assert_eq!(edit.severity, Severity::High);
    assert_eq!(edit.details["category"], "tampering");
    assert!(edit.details["attributes"]["blake3"]["old"].is_string());
    assert!(edit.description.as_deref().unwrap().contains("blake3: "));
    assert!(findings.iter().any(|f| f.rule == "fim.added"));
    assert!(findings.iter().any(|f| f.rule == "fim.removed"));
}

#[test]
fn in_place_edit_with_mtime_restored_and_full_rehash() {
    let s = Setup::new();
    s.write("f", "aaaa\n");
    let config = s.config(static_attrs());
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    let before = std::fs::metadata(s.path("f")).unwrap();
    // Rewrite in place with the same size and put mtime back: ctime still moves, so the
    // default check re-reads the file. (Keeping ctime too needs clock tricks as root.)
    std::fs::write(s.path("f"), "bbbb\n").unwrap();
    let file = std::fs::File::options()
        .write(true)
        .open(s.path("f"))
        .unwrap();
    file.set_modified(before.modified().unwrap()).unwrap();
    drop(file);

    let outcome = check(&config, &s.baseline());
    let (_, attrs) = summary(&outcome, &s.logical("f")).unwrap();
    assert!(
        attrs.contains(&"ctime") && attrs.contains(&"blake3"),
        "{attrs:?}"
    );

    let full = allclear_fim::check(
        &config,
        &s.baseline(),
        &CheckOptions {
            full: true,
            progress: None,
        },
    )
    .unwrap();
    assert_eq!(full.stats.hashed_files, 1);
    assert_eq!(full.stats.reused_hashes, 0);
    assert!(
        summary(&full, &s.logical("f"))
            .unwrap()
            .1
            .contains(&"blake3")
    );
}

#[test]
fn update_accepts_all_or_only_named_paths() {
    let s = populated();
    let config = s.config(static_attrs());
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    s.write("etc/app.conf", "listen 8080\n");
    s.write("bin/tool", "changed\n");
    s.write("etc/added.conf", "x\n");

    let only = vec![s.logical("etc")];
    let accepted =
        allclear_fim::update(&config, &s.baseline(), &only, &CheckOptions::default()).unwrap();
    let accepted_paths: Vec<String> = accepted.changes.iter().map(|c| c.display_path()).collect();
    assert!(
        accepted_paths.iter().all(|p| p.contains("/etc")),
        "{accepted_paths:?}"
    );
    assert!(accepted_paths.iter().any(|p| p.ends_with("added.conf")));

    let after = check(&config, &s.baseline());
    let left: Vec<String> = after.changes.iter().map(|c| c.display_path()).collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].ends_with("bin/tool"));

    // Accepting one new file also accepts what its creation did to the directory.
    s.write("bin/extra", "x");
    allclear_fim::update(
        &config,
        &s.baseline(),
        &[s.logical("bin/extra")],
        &CheckOptions::default(),
    )
    .unwrap();
    let left: Vec<String> = check(&config, &s.baseline())
        .changes
        .iter()
        .map(|c| c.display_path())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");

    let warn = allclear_fim::update(
        &config,
        &s.baseline(),
        &[s.logical("nowhere")],
        &CheckOptions::default(),
    )
    .unwrap();
    assert!(
        warn.warnings.iter().any(|w| w.contains("nothing changed")),
        "{:?}",
        warn.warnings
    );
    let err = allclear_fim::update(
        &config,
        &s.baseline(),
        &[b"relative".to_vec()],
        &CheckOptions::default(),
    );
    assert!(err.is_err());

    allclear_fim::update(&config, &s.baseline(), &[], &CheckOptions::default()).unwrap();
    assert!(check(&config, &s.baseline()).changes.is_empty());
}

#[test]
fn attributes_not_watched_are_not_reported() {
    let s = Setup::new();
    s.write("f", "content\n");
    let config = s.config("\"permissions\"");
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    s.write("f", "other content\n");
    assert!(check(&config, &s.baseline()).changes.is_empty());
    std::fs::set_permissions(s.path("f"), std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        summary(&check(&config, &s.baseline()), &s.logical("f"))
            .unwrap()
            .1,
        vec!["perms"]
    );
}

#[test]
fn sha256_and_sha512_rules() {
    let s = Setup::new();
    s.write("f", "abc");
    let config = s.config("\"static\", \"-blake3\", \"sha256\", \"sha512\"");
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    let baseline = allclear_fim::Baseline::read(&s.baseline()).unwrap();
    let entry = baseline
        .entries
        .iter()
        .find(|e| e.path.ends_with(b"/f"))
        .unwrap();
    assert_eq!(
        hex::encode(entry.hashes.sha256.unwrap()),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(entry.hashes.sha512.is_some() && entry.hashes.blake3.is_none());
    s.write("f", "abd");
    let (_, attrs) = summary(&check(&config, &s.baseline()), &s.logical("f")).unwrap();
    assert!(
        attrs.contains(&"sha256") && attrs.contains(&"sha512"),
        "{attrs:?}"
    );
}

#[test]
fn growing_logs_and_rotation() {
    let s = Setup::new();
    s.write("app.log", "line 1\n");
    s.write("wiped.log", "line 1\nline 2\n");
    s.write("rotated.log", "line 1\nline 2\n");
    let config = s.config("\"growing\", \"blake3\"");
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    // Growing: fine, as long as the old content is still the beginning.
    std::fs::write(s.path("app.log"), "line 1\nline 2\n").unwrap();
    // Truncated in place: someone wiped it.
    std::fs::write(s.path("wiped.log"), "").unwrap();
    // Rotated: a new, smaller file in its place.
    std::fs::rename(s.path("rotated.log"), s.path("rotated.log.moved")).unwrap();
    s.write("rotated.log", "");
    let outcome = check(&config, &s.baseline());
    assert!(
        change_at(&outcome, &s.logical("app.log")).is_none(),
        "{:?}",
        outcome.changes
    );
    let wiped = change_at(&outcome, &s.logical("wiped.log")).unwrap();
    assert_eq!(wiped.category, Category::Tampering);
    assert!(wiped.attrs.iter().any(|a| a.attr.name() == "size"));
    let rotated = change_at(&outcome, &s.logical("rotated.log")).unwrap();
    assert_eq!(rotated.category, Category::Expected);
    assert_eq!(rotated.severity, Severity::Info);
    assert_eq!(rotated.to_finding().rule, "fim.rotated");

    // Rewriting the beginning of a growing file is a change even though it grew.
    std::fs::write(s.path("app.log"), "LINE 1\nline 2\nline 3\n").unwrap();
    let outcome = check(&config, &s.baseline());
    let edited = change_at(&outcome, &s.logical("app.log")).unwrap();
    assert!(
        edited.attrs.iter().any(|a| a.attr.name() == "blake3"),
        "{edited:?}"
    );
}

#[test]
fn chown_is_reported_when_root() {
    if !is_root() {
        eprintln!("skipped: changing a file's owner needs root");
        return;
    }
    let s = Setup::new();
    s.write("f", "x");
    let config = s.config(static_attrs());
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    std::os::unix::fs::chown(s.path("f"), Some(65534), Some(65534)).unwrap();
    let (_, attrs) = summary(&check(&config, &s.baseline()), &s.logical("f")).unwrap();
    assert!(
        attrs.contains(&"owner") && attrs.contains(&"group"),
        "{attrs:?}"
    );
}

#[test]
fn exclusions_and_progress() {
    let s = Setup::new();
    s.write("keep/a", "a");
    s.write("cache/b", "b");
    s.write("keep/c.tmp", "c");
    let config = s.config_with(static_attrs(), "exclude = [\"cache\", \"*.tmp\"]");
    let walked = std::sync::atomic::AtomicU64::new(0);
    let progress = |p: allclear_fim::Progress| {
        if let allclear_fim::Progress::Walked(n) = p {
            walked.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let (baseline, _) = allclear_fim::record(&config, Some(&progress));
    let names: Vec<String> = baseline.entries.iter().map(|e| e.display_path()).collect();
    assert!(names.iter().any(|n| n.ends_with("keep/a")));
    assert!(
        !names
            .iter()
            .any(|n| n.contains("cache") || n.ends_with(".tmp")),
        "{names:?}"
    );
    assert!(walked.load(std::sync::atomic::Ordering::Relaxed) >= 3);
}
