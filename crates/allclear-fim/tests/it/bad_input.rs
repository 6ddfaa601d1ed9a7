//! Awkward trees: names that are not UTF-8, sockets, FIFOs, devices, symlink loops,
//! unreadable files. Each gets a clear message and the run goes on.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

use allclear_fim::{ChangeKind, FileKind, IssueKind};

use crate::{Setup, change_at, check, is_root, summary};

#[test]
fn non_utf8_names_are_recorded_and_compared() {
    let s = Setup::new();
    let name = OsStr::from_bytes(b"caf\xe9-\xff.conf");
    std::fs::write(s.tree.path().join(name), "v1").unwrap();
    let config = s.config("\"static\"");
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    std::fs::write(s.tree.path().join(name), "v2").unwrap();
    let outcome = check(&config, &s.baseline());
    let mut expected = s.logical("");
    assert!(expected.ends_with(b"/"));
    expected.extend_from_slice(b"caf\xe9-\xff.conf");
    let change = change_at(&outcome, &expected).expect("the change is found under its raw name");
    assert_eq!(change.kind, ChangeKind::Changed);
    let shown = change.display_path();
    assert!(shown.ends_with("caf\\xe9-\\xff.conf"), "{shown}");
    assert_eq!(change.to_finding().location.path, shown);
}

#[test]
fn sockets_fifos_and_devices_are_recorded_not_read() {
    let s = Setup::new();
    let _listener = std::os::unix::net::UnixListener::bind(s.path("sock")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(s.path("fifo"))
        .status()
        .unwrap();
    assert!(fifo.success());
    let device = is_root()
        && std::process::Command::new("mknod")
            .arg(s.path("null"))
            .args(["c", "1", "3"])
            .status()
            .is_ok_and(|st| st.success());
    if !device {
        eprintln!("note: not testing a device node (mknod needs root)");
    }
    let config = s.config("\"static\"");
    // Opening the FIFO would block forever; this returning at all is part of the test.
    let (baseline, issues) = allclear_fim::record(&config, None);
    assert!(issues.is_empty(), "{issues:?}");
    let kind_of = |name: &str| {
        baseline
            .entries
            .iter()
            .find(|e| e.path.ends_with(name.as_bytes()))
            .map(|e| (e.kind, e.hashes.is_empty()))
    };
    assert_eq!(kind_of("/sock"), Some((FileKind::Socket, true)));
    assert_eq!(kind_of("/fifo"), Some((FileKind::Fifo, true)));
    if device {
        assert_eq!(kind_of("/null"), Some((FileKind::CharDevice, true)));
    }
    // A FIFO replaced by a file, and a file replaced by a FIFO, are type changes.
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    std::fs::remove_file(s.path("fifo")).unwrap();
    s.write("fifo", "now a file");
    let (kind, attrs) = summary(&check(&config, &s.baseline()), &s.logical("fifo")).unwrap();
    assert_eq!(kind, ChangeKind::Changed);
    assert!(attrs.contains(&"type"), "{attrs:?}");
}

#[test]
fn symlink_loops_and_symlinked_directories_are_not_followed() {
    let s = Setup::new();
    s.write("real/file", "x");
    std::os::unix::fs::symlink("b", s.path("a")).unwrap();
    std::os::unix::fs::symlink("a", s.path("b")).unwrap();
    std::os::unix::fs::symlink(".", s.path("self")).unwrap();
    std::os::unix::fs::symlink("real", s.path("dirlink")).unwrap();
    let config = s.config("\"static\"");
    let (baseline, issues) = allclear_fim::record(&config, None);
    assert!(issues.is_empty(), "{issues:?}");
    let names: Vec<String> = baseline.entries.iter().map(|e| e.display_path()).collect();
    assert!(names.iter().any(|n| n.ends_with("/a")));
    assert!(
        !names
            .iter()
            .any(|n| n.contains("/dirlink/") || n.contains("/self/")),
        "{names:?}"
    );
    let a = baseline
        .entries
        .iter()
        .find(|e| e.path.ends_with(b"/a"))
        .unwrap();
    assert_eq!(a.kind, FileKind::Symlink);
    assert_eq!(a.target.as_deref(), Some(&b"b"[..]));
}

/// The walk root itself being a symlink: recorded as a link, never entered.
#[test]
fn symlinked_root_is_not_entered() {
    let s = Setup::new();
    s.write("target/secret", "x");
    let link_parent = tempfile::tempdir().unwrap();
    let link = link_parent.path().join("watched");
    std::os::unix::fs::symlink(s.path("target"), &link).unwrap();
    let toml = format!(
        "[fim]\ndefaults = false\n[fim.groups.g]\npaths = [{:?}]\n",
        link.display().to_string()
    );
    let config = allclear_fim::FimConfig::from_toml_str(&toml, "t").unwrap();
    let (baseline, _) = allclear_fim::record(&config, None);
    assert_eq!(baseline.entries.len(), 1);
    assert_eq!(baseline.entries[0].kind, FileKind::Symlink);
}

fn unreadable_scenario() {
    let s = Setup::new();
    s.write("open/readable", "x");
    s.write("closed/hidden", "y");
    s.write("secret", "z");
    let config = s.config("\"static\"");
    std::fs::set_permissions(s.path("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(s.path("secret"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let init = allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    let kinds: Vec<(String, IssueKind)> = init
        .issues
        .iter()
        .map(|i| (i.path.clone(), i.kind))
        .collect();
    assert!(
        kinds
            .iter()
            .any(|(p, k)| p.ends_with("/closed") && *k == IssueKind::Unreadable),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|(p, k)| p.ends_with("/secret") && *k == IssueKind::Unreadable),
        "{kinds:?}"
    );
    assert!(init.issues.iter().all(|i| i.is_error()));
    assert!(
        init.issues
            .iter()
            .any(|i| i.message.contains("Permission denied")),
        "{:?}",
        init.issues
    );
    // The rest was recorded; a check goes on and finds the readable change.
    s.write("open/readable", "changed");
    let outcome = check(&config, &s.baseline());
    assert!(change_at(&outcome, &s.logical("open/readable")).is_some());
    assert!(
        change_at(&outcome, &s.logical("secret")).is_none(),
        "unreadable content is not compared"
    );
    assert!(!outcome.issues.is_empty());
    std::fs::set_permissions(s.path("closed"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Run as an unprivileged user by `permission_denied_is_an_issue_not_a_failure`.
#[test]
#[ignore = "run as an unprivileged user by permission_denied_is_an_issue_not_a_failure"]
fn unreadable_as_unprivileged_user() {
    if is_root() {
        eprintln!("skipped: root can read everything");
        return;
    }
    unreadable_scenario();
}

#[test]
fn permission_denied_is_an_issue_not_a_failure() {
    if !is_root() {
        unreadable_scenario();
        return;
    }
    // Root reads everything, so run the scenario again as `nobody`.
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args([
            "--exact",
            "bad_input::unreadable_as_unprivileged_user",
            "--ignored",
            "--nocapture",
        ])
        .env("TMPDIR", "/tmp")
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("1 passed"), "{text}");
        }
        Ok(out) => panic!(
            "the unprivileged run failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("skipped: cannot run setpriv ({e})"),
    }
}
