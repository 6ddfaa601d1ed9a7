//! The baseline on disk: damage is reported by kind and nothing damaged is overwritten.

use std::io::Write;

use allclear_fim::{BaselineError, CheckError, CheckOptions};

use crate::{Setup, is_root};

fn recorded() -> (Setup, allclear_fim::FimConfig) {
    let s = Setup::new();
    for i in 0..50 {
        s.write(&format!("d{}/f{i}", i % 5), &format!("content {i}\n"));
    }
    let config = s.config("\"static\"");
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    (s, config)
}

fn baseline_error(result: Result<allclear_fim::CheckOutcome, CheckError>) -> BaselineError {
    match result {
        Err(CheckError::Baseline(e)) => e,
        other => panic!("expected a baseline error, got {other:?}"),
    }
}

#[test]
fn tampered_truncated_newer_and_foreign_files_are_distinct_errors() {
    let (s, config) = recorded();
    let good = std::fs::read(s.baseline()).unwrap();
    let run = || allclear_fim::check(&config, &s.baseline(), &CheckOptions::default());

    let mut tampered = good.clone();
    let at = tampered.len() - 40;
    tampered[at] ^= 0x20;
    std::fs::write(s.baseline(), &tampered).unwrap();
    assert!(matches!(
        baseline_error(run()),
        BaselineError::ChecksumMismatch { .. }
    ));

    std::fs::write(s.baseline(), &good[..good.len() / 2]).unwrap();
    let err = baseline_error(run());
    assert!(matches!(err, BaselineError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("truncated"));

    std::fs::write(s.baseline(), b"").unwrap();
    assert!(matches!(
        baseline_error(run()),
        BaselineError::Truncated { .. }
    ));

    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(s.baseline(), &newer).unwrap();
    let err = baseline_error(run());
    assert!(
        matches!(err, BaselineError::NewerVersion { found: 7, .. }),
        "{err}"
    );

    std::fs::write(s.baseline(), b"# an aide.db, say\n").unwrap();
    assert!(matches!(
        baseline_error(run()),
        BaselineError::NotABaseline { .. }
    ));

    std::fs::remove_file(s.baseline()).unwrap();
    assert!(matches!(baseline_error(run()), BaselineError::Io { .. }));
}

#[test]
fn damaged_baseline_is_never_overwritten() {
    let (s, config) = recorded();
    let mut bytes = std::fs::read(s.baseline()).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(s.baseline(), &bytes).unwrap();

    let err = allclear_fim::update(&config, &s.baseline(), &[], &CheckOptions::default());
    assert!(matches!(
        err,
        Err(CheckError::Baseline(BaselineError::ChecksumMismatch { .. }))
    ));
    let err = allclear_fim::init(&config, &s.baseline(), false, None);
    assert!(matches!(
        err,
        Err(CheckError::Baseline(BaselineError::AlreadyExists { .. }))
    ));
    assert_eq!(
        std::fs::read(s.baseline()).unwrap(),
        bytes,
        "the damaged file is kept as evidence"
    );

    // Only an explicit replace records a new one.
    allclear_fim::init(&config, &s.baseline(), true, None).unwrap();
    assert!(
        allclear_fim::check(&config, &s.baseline(), &CheckOptions::default())
            .unwrap()
            .changes
            .is_empty()
    );
}

#[test]
fn baseline_is_compact() {
    let (s, _) = recorded();
    let baseline = allclear_fim::Baseline::read(&s.baseline()).unwrap();
    assert_eq!(baseline.header.entries, 56);
    let size = std::fs::metadata(s.baseline()).unwrap().len();
    // 56 entries with a 32-byte hash each for the files; well under 100 bytes an entry.
    assert!(size < 56 * 100, "{size} bytes");
}

/// A real full disk: a 64 KiB tmpfs (needs root and mount). The old baseline survives and
/// no temporary file is left behind.
#[test]
fn full_disk_while_writing_leaves_old_baseline() {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let mount_point = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(mount_point.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(mount_point.path());

    let s = Setup::new();
    s.write("small", "x");
    let config = s.config("\"static\"");
    let baseline = mount_point.path().join("fim.baseline");
    allclear_fim::init(&config, &baseline, false, None).unwrap();
    let old = std::fs::read(&baseline).unwrap();
    // Fill the disk to the last byte; the next baseline cannot be written.
    let mut filler = std::fs::File::create(mount_point.path().join("filler")).unwrap();
    let filled = filler.write_all(&vec![0u8; 1 << 20]);
    assert!(filled.is_err(), "a 64 KiB tmpfs took 1 MiB");
    drop(filler);
    s.write("another", "y");
    let err = allclear_fim::update(&config, &baseline, &[], &CheckOptions::default()).unwrap_err();
    assert!(
        matches!(err, CheckError::Baseline(BaselineError::Io { .. })),
        "{err}"
    );
    assert_eq!(std::fs::read(&baseline).unwrap(), old);
    let left: Vec<_> = std::fs::read_dir(mount_point.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}
