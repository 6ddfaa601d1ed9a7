//! `FimWatcher` on real temporary trees: changes made while it runs must be reported from
//! inotify events (periodic full checks are off unless a test is about them), including
//! after a watched directory, and the watched tree itself, is deleted and re-created.
//! Waits are bounded by a generous number of rounds, never asserted on.

use std::time::Duration;

use allclear_fim::{ChangeKind, FimWatcher, Trigger, WatchBatch, WatchOptions};

use crate::Setup;

/// One round of waiting; a change shows up within a round or two on an idle machine.
const ROUND: Duration = Duration::from_secs(1);
/// Rounds before giving up (two minutes: a loaded 2-core CI machine is slow, not broken).
const ROUNDS: usize = 120;

/// One watcher at a time in this process: with several watchers starting and stopping on
/// parallel test threads, one test saw the kernel's queue-overflow signal meant for none of
/// its own changes (a watcher's file descriptor reused by the next, it seems).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn events_only() -> WatchOptions {
    WatchOptions {
        debounce: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        full_check_every: None,
    }
}

fn populated() -> Setup {
    let s = Setup::new();
    s.write("etc/a.conf", "a = 1\n");
    s.write("etc/b.conf", "b = 1\n");
    s.write("sub/x.txt", "x\n");
    s
}

/// Collects batches until every `(path, kind)` in `want` was reported; returns them all.
fn wait_for(w: &mut FimWatcher, s: &Setup, want: &[(&str, ChangeKind)]) -> Vec<WatchBatch> {
    let mut batches = Vec::new();
    let mut missing: Vec<(Vec<u8>, ChangeKind)> =
        want.iter().map(|(p, k)| (s.logical(p), *k)).collect();
    for _ in 0..ROUNDS {
        if let Some(batch) = w.next_batch(ROUND).unwrap() {
            missing.retain(|(path, kind)| {
                !batch
                    .changes
                    .iter()
                    .any(|c| c.path.as_ref() == path.as_slice() && c.kind == *kind)
            });
            batches.push(batch);
        }
        if missing.is_empty() {
            return batches;
        }
    }
    let seen: Vec<(String, ChangeKind)> = batches
        .iter()
        .flat_map(|b| b.changes.iter().map(|c| (c.display_path(), c.kind)))
        .collect();
    panic!(
        "not reported: {:?}; reported: {seen:?}",
        missing
            .iter()
            .map(|(p, k)| (String::from_utf8_lossy(p).into_owned(), *k))
            .collect::<Vec<_>>()
    );
}

fn start(s: &Setup, options: WatchOptions) -> FimWatcher {
    let config = s.config("\"static\"");
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    let mut w = FimWatcher::new(config, &s.baseline(), options).unwrap();
    let first = w.next_batch(ROUND).unwrap().unwrap();
    assert_eq!(first.trigger, Trigger::Start);
    assert!(first.changes.is_empty(), "{:?}", first.changes);
    assert!(first.entries >= 6, "{}", first.entries);
    w
}

#[test]
fn reports_edits_additions_and_removals_from_events() {
    let _serial = serial();
    let s = populated();
    let mut w = start(&s, events_only());

    s.write("etc/a.conf", "a = 2, longer\n");
    let batches = wait_for(&mut w, &s, &[("etc/a.conf", ChangeKind::Changed)]);
    // Full checks are off after the start: the events found it.
    assert!(
        batches.iter().all(|b| !b.trigger.is_full()),
        "{:?}",
        batches
            .iter()
            .map(|b| (b.trigger, &b.warnings))
            .collect::<Vec<_>>()
    );
    let edit = batches
        .iter()
        .flat_map(|b| &b.changes)
        .find(|c| c.path.as_ref() == s.logical("etc/a.conf").as_slice())
        .unwrap();
    let names: Vec<&str> = edit.attrs.iter().map(|a| a.attr.name()).collect();
    assert!(names.contains(&"size"), "{names:?}");
    assert!(names.contains(&"blake3"), "{names:?}");

    s.write("etc/new.conf", "new\n");
    std::fs::remove_file(s.path("etc/b.conf")).unwrap();
    let batches = wait_for(
        &mut w,
        &s,
        &[
            ("etc/new.conf", ChangeKind::Added),
            ("etc/b.conf", ChangeKind::Removed),
        ],
    );
    // a.conf was reported already and did not change again: not repeated.
    assert!(
        batches
            .iter()
            .flat_map(|b| &b.changes)
            .all(|c| c.path.as_ref() != s.logical("etc/a.conf").as_slice())
    );
    // A burst is checked together: a hundred writes are not a hundred checks.
    for i in 0..100 {
        s.write("etc/burst.conf", &format!("write {i}\n"));
    }
    let batches = wait_for(&mut w, &s, &[("etc/burst.conf", ChangeKind::Added)]);
    assert!(batches.len() < 50, "{} batches", batches.len());
}

#[test]
fn survives_a_watched_directory_deleted_and_recreated() {
    let _serial = serial();
    let s = populated();
    let mut w = start(&s, events_only());

    std::fs::remove_dir_all(s.path("sub")).unwrap();
    wait_for(
        &mut w,
        &s,
        &[
            ("sub", ChangeKind::Removed),
            ("sub/x.txt", ChangeKind::Removed),
        ],
    );
    std::fs::create_dir(s.path("sub")).unwrap();
    s.write("sub/y.txt", "y\n");
    wait_for(&mut w, &s, &[("sub/y.txt", ChangeKind::Added)]);
    // The new directory is watched: a later change inside it is seen.
    s.write("sub/deeper/z.txt", "z\n");
    let batches = wait_for(&mut w, &s, &[("sub/deeper/z.txt", ChangeKind::Added)]);
    assert!(batches.iter().all(|b| !b.trigger.is_full()));
}

#[test]
fn survives_the_watched_tree_itself_deleted_and_recreated() {
    let _serial = serial();
    let s = populated();
    let mut w = start(&s, events_only());

    std::fs::remove_dir_all(s.tree.path()).unwrap();
    wait_for(
        &mut w,
        &s,
        &[
            ("etc/a.conf", ChangeKind::Removed),
            ("sub/x.txt", ChangeKind::Removed),
        ],
    );
    s.write("etc/a.conf", "a = 1\n");
    wait_for(&mut w, &s, &[("etc/a.conf", ChangeKind::Changed)]);
    // The watch is on the new directory now.
    s.write("late.txt", "late\n");
    let batches = wait_for(&mut w, &s, &[("late.txt", ChangeKind::Added)]);
    assert!(batches.iter().all(|b| !b.trigger.is_full()));
}

#[test]
fn full_checks_report_what_happened_before_and_repeat_nothing() {
    let _serial = serial();
    let s = populated();
    let config = s.config("\"static\"");
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    // Changed before the watch started: only a full check can see it.
    s.write("etc/a.conf", "changed while nobody watched\n");
    let mut w = FimWatcher::new(
        config,
        &s.baseline(),
        WatchOptions {
            full_check_every: Some(Duration::from_millis(200)),
            ..events_only()
        },
    )
    .unwrap();
    let first = w.next_batch(ROUND).unwrap().unwrap();
    assert_eq!(first.trigger, Trigger::Start);
    assert_eq!(first.changes.len(), 1, "{:?}", first.changes);
    assert_eq!(first.changes[0].path.as_ref(), s.logical("etc/a.conf"));

    // The next full check still finds the difference but does not report it again.
    let periodic = (0..ROUNDS)
        .find_map(|_| w.next_batch(ROUND).unwrap().filter(|b| b.trigger.is_full()))
        .expect("a periodic full check");
    assert!(periodic.changes.is_empty(), "{:?}", periodic.changes);
    assert_eq!(periodic.outstanding, 1);

    // Put back as it was recorded (same content, but the inode and times differ): still a
    // difference, with new values, so reported once more.
    s.write("etc/a.conf", "a = 1\n");
    wait_for(&mut w, &s, &[("etc/a.conf", ChangeKind::Changed)]);
}

#[test]
fn a_damaged_baseline_stops_the_watch() {
    let s = populated();
    let config = s.config("\"static\"");
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    let mut bytes = std::fs::read(s.baseline()).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(s.baseline(), &bytes).unwrap();
    assert!(matches!(
        FimWatcher::new(config, &s.baseline(), events_only()),
        Err(allclear_fim::WatchError::Check(_))
    ));
}

#[test]
fn a_burst_of_many_files_is_reported_whole() {
    let _serial = serial();
    let s = populated();
    let mut w = start(&s, events_only());
    // More paths than a scoped check takes: the burst is compared with the whole tree.
    let names: Vec<String> = (0..700).map(|i| format!("etc/many-{i:03}.conf")).collect();
    for name in &names {
        s.write(name, "x\n");
    }
    let want: Vec<(&str, ChangeKind)> = names
        .iter()
        .map(|n| (n.as_str(), ChangeKind::Added))
        .collect();
    let batches = wait_for(&mut w, &s, &want);
    let reported: usize = batches.iter().map(|b| b.changes.len()).sum();
    // Each once (etc itself may be reported as changed too).
    assert!((700..=701).contains(&reported), "{reported}");
}

#[test]
fn a_new_file_reported_once_is_reported_again_when_it_changes() {
    let _serial = serial();
    let s = populated();
    let mut w = start(&s, events_only());
    s.write("etc/new.conf", "first\n");
    wait_for(&mut w, &s, &[("etc/new.conf", ChangeKind::Added)]);
    // Still new (the baseline has not accepted it), and now different: reported again.
    s.write("etc/new.conf", "second, and longer\n");
    let batches = wait_for(&mut w, &s, &[("etc/new.conf", ChangeKind::Added)]);
    assert!(batches.iter().all(|b| !b.trigger.is_full()));
}

#[test]
fn the_watched_tree_replaced_at_once_is_still_watched() {
    let _serial = serial();
    let s = populated();
    let mut w = start(&s, events_only());
    // Deleted and re-created before the watcher looks (a deploy's `rm -rf && cp -a`): on
    // ext4 the new directory often gets the old one's inode number.
    std::fs::remove_dir_all(s.tree.path()).unwrap();
    std::fs::create_dir(s.tree.path()).unwrap();
    s.write("etc/a.conf", "a = 1\n");
    wait_for(&mut w, &s, &[("sub/x.txt", ChangeKind::Removed)]);
    // The watch is on the new directory: a later change is an event, not a full check.
    s.write("late.txt", "late\n");
    let batches = wait_for(&mut w, &s, &[("late.txt", ChangeKind::Added)]);
    assert!(batches.iter().all(|b| !b.trigger.is_full()));
}

#[test]
fn entries_beside_a_tree_that_a_rule_selects_are_seen_from_events() {
    let _serial = serial();
    // A directory name with no regex metacharacters (a tempdir's leading `.` is one).
    let s = Setup {
        tree: tempfile::Builder::new()
            .prefix("fimbeside")
            .tempdir()
            .unwrap(),
        state: tempfile::tempdir().unwrap(),
    };
    s.write("etc/a.conf", "a = 1\n");
    // An AIDE rule is a regex: `DIR/etc` also selects `DIR/etc.bak`, outside the watched
    // directory `DIR/etc`.
    let aide = s.state.path().join("aide.conf");
    std::fs::write(&aide, format!("{}/etc R\n", s.tree.path().display())).unwrap();
    let options = allclear_fim::aide::AideOptions::default();
    let config = allclear_fim::aide::parse_aide_config(&aide, &options).unwrap();
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    let mut w = FimWatcher::new(config, &s.baseline(), events_only()).unwrap();
    assert_eq!(
        w.next_batch(ROUND).unwrap().unwrap().trigger,
        Trigger::Start
    );
    assert_eq!(w.watched_roots(), [s.path("etc")]);
    s.write("etc.bak", "copy\n");
    // Not selected by the rule: its events are ignored (and it is never reported).
    s.write("other.txt", "x\n");
    let batches = wait_for(&mut w, &s, &[("etc.bak", ChangeKind::Added)]);
    assert!(batches.iter().all(|b| !b.trigger.is_full()));
    assert!(
        batches
            .iter()
            .flat_map(|b| &b.changes)
            .all(|c| c.path.as_ref() != s.logical("other.txt").as_slice())
    );
}
