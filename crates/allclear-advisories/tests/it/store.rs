//! The store file: missing and foreign files, replacing sources, and atomic replacement
//! when an import fails half-way.

use std::path::Path;

use allclear_advisories::*;
use allclear_core::Ecosystem;

use crate::fixtures::fixture;

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != DB_FILE_NAME)
        .collect()
}

#[test]
fn missing_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(err.to_string().contains(DB_FILE_NAME));
}

#[test]
fn foreign_file_is_incompatible_and_an_import_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(DB_FILE_NAME),
        b"not sqlite at all, just text",
    )
    .unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Incompatible { .. }), "{err}");
    let s = import(dir.path(), &[fixture("rustsec")], &|_| {}).unwrap();
    assert_eq!(s.notes.len(), 1, "says the old file was not merged");
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.status().sources.len(), 1);
}

#[test]
fn reimporting_a_source_replaces_it_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &[fixture("rustsec"), fixture("pypa")], &|_| {}).unwrap();
    let s = import(dir.path(), &[fixture("rustsec")], &|_| {}).unwrap();
    assert_eq!(s.kept.len(), 1);
    assert!(s.kept[0].ends_with("pypa"));
    let store = Store::open(dir.path()).unwrap();
    let status = store.status();
    assert_eq!(status.sources.len(), 2);
    assert_eq!(
        status.ecosystems[&Ecosystem::CratesIo].advisories,
        3,
        "not doubled"
    );
    assert_eq!(status.ecosystems[&Ecosystem::PyPI].advisories, 1, "kept");
    // The carried-over source still matches.
    let m = check_package(&store, Ecosystem::PyPI, "test-pkg", "1.0").unwrap();
    assert_eq!(m.vulnerabilities.len(), 1);
    drop(store);

    // Without keeping: only the new source remains.
    let opts = ImportOptions {
        keep_other_sources: false,
        ..ImportOptions::default()
    };
    import_with(
        dir.path(),
        &[SourceInput::new(fixture("rustsec"))],
        &opts,
        &|_| {},
    )
    .unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.status().sources.len(), 1);
    assert!(!store.status().ecosystems.contains_key(&Ecosystem::PyPI));
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn failed_import_leaves_the_old_store_intact() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &[fixture("pypa")], &|_| {}).unwrap();
    let before = std::fs::read(dir.path().join(DB_FILE_NAME)).unwrap();

    // The second source is a broken archive: the first is already written to the new
    // file when the import fails.
    let other = tempfile::tempdir().unwrap();
    let bad_zip = other.path().join("all.zip");
    std::fs::write(&bad_zip, b"PK\x03\x04 this is not really a zip").unwrap();
    let err = import(dir.path(), &[fixture("rustsec"), bad_zip], &|_| {}).unwrap_err();
    assert!(matches!(err, ImportError::Archive { .. }), "{err}");

    assert_eq!(
        std::fs::read(dir.path().join(DB_FILE_NAME)).unwrap(),
        before
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.status().sources.len(), 1);
    assert!(!store.status().ecosystems.contains_key(&Ecosystem::CratesIo));
}

#[test]
fn crash_mid_import_leaves_the_old_store_intact() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &[fixture("pypa")], &|_| {}).unwrap();
    let before = std::fs::read(dir.path().join(DB_FILE_NAME)).unwrap();
    // A panic in the middle of writing records stands for the process dying there.
    let result = std::panic::catch_unwind(|| {
        let _ = import(dir.path(), &[fixture("rustsec")], &|e| {
            if matches!(e, ImportEvent::Records { .. }) {
                panic!("simulated crash");
            }
        });
    });
    assert!(result.is_err());
    assert_eq!(
        std::fs::read(dir.path().join(DB_FILE_NAME)).unwrap(),
        before
    );
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.status().ecosystems.contains_key(&Ecosystem::CratesIo));
}

#[test]
fn open_store_keeps_reading_while_an_import_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &[fixture("pypa")], &|_| {}).unwrap();
    let old = Store::open(dir.path()).unwrap();
    import(dir.path(), &[fixture("rustsec")], &|_| {}).unwrap();
    // The open handle still sees the file it opened (the rename does not disturb it)…
    assert_eq!(old.status().sources.len(), 1);
    assert_eq!(
        old.advisories_for(Ecosystem::PyPI, "test-pkg")
            .unwrap()
            .len(),
        1
    );
    // …and a new handle sees the new one.
    let new = Store::open(dir.path()).unwrap();
    assert_eq!(new.status().sources.len(), 2);
}

#[test]
fn no_sources_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        import(dir.path(), &[], &|_| {}),
        Err(ImportError::NoSources)
    ));
}

#[test]
fn leftovers_of_killed_imports_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join(".advisories-killed.db.tmp");
    let recent = dir.path().join(".download-running.zip");
    let unrelated = dir.path().join("notes.txt");
    for p in [&old, &recent, &unrelated] {
        std::fs::write(p, b"x").unwrap();
    }
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(48 * 3600);
    for p in [&old, &unrelated] {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
    }
    import(dir.path(), &[fixture("pypa")], &|_| {}).unwrap();
    assert!(!old.exists(), "stale temporary removed");
    assert!(
        recent.exists(),
        "a recent one may belong to a running import"
    );
    assert!(unrelated.exists(), "other files are never touched");
}

#[test]
fn an_import_through_a_symlinked_store_file_replaces_the_linked_file_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    // The real database lives on another disk; the store directory links to it.
    import(elsewhere.path(), &[fixture("rustsec")], &|_| {}).unwrap();
    let real = elsewhere.path().join(DB_FILE_NAME);
    let link = dir.path().join(DB_FILE_NAME);
    std::os::unix::fs::symlink(&real, &link).unwrap();

    import(dir.path(), &[fixture("pypa")], &|_| {}).unwrap();

    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the import replaced the link with a plain file"
    );
    // The linked file holds the new import (the old source kept beside it).
    let store = Store::open(elsewhere.path()).unwrap();
    let status = store.status();
    assert_eq!(status.sources.len(), 2, "{:?}", status.sources);
    assert_eq!(status.ecosystems[&Ecosystem::PyPI].advisories, 1);
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
    assert!(
        leftovers(elsewhere.path()).is_empty(),
        "{:?}",
        leftovers(elsewhere.path())
    );
}
