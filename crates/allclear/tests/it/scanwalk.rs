//! What `allclear scan` reads and writes: tracked files that `.gitignore` lists, the staged
//! and history sources, baselines, and `-o` files that are not plain files.

use std::path::Path;
use std::process::Command as Process;

use crate::secrets::{TOKEN, git, paths, repo, scan};
use crate::{allclear, text};

#[test]
fn tracked_files_that_gitignore_lists_are_scanned() {
    let dir = repo();
    let root = dir.path();
    std::fs::write(root.join(".gitignore"), "config/\n.env\n").unwrap();
    std::fs::create_dir(root.join("config")).unwrap();
    std::fs::write(root.join("config/master.env"), format!("T={TOKEN}\n")).unwrap();
    std::fs::write(root.join(".env"), format!("T={TOKEN}\n")).unwrap();
    git(
        root,
        &["add", "-f", ".gitignore", ".env", "config/master.env"],
    );
    git(
        root,
        &["commit", "-q", "-m", "committed despite .gitignore"],
    );
    // Ignored and untracked: stays out, as does what the policy excludes.
    std::fs::write(root.join("config/local.env"), format!("T={TOKEN}\n")).unwrap();
    std::fs::create_dir(root.join("vendor")).unwrap();
    std::fs::write(root.join("vendor/.env"), format!("T={TOKEN}\n")).unwrap();
    git(root, &["add", "-f", "vendor/.env"]);
    std::fs::write(
        root.join("allclear.toml"),
        "[scan]\nexclude = [\"vendor/\"]\n",
    )
    .unwrap();

    let (code, json, out) = scan(root, &["--only", "secrets"]);
    assert_eq!(code, 1, "{out}");
    let mut found = paths(&json);
    found.sort();
    assert_eq!(found, [".env", "config/master.env"], "{out}");

    // From a subdirectory of the work tree, paths stay relative to the scanned root.
    let (_, json, out) = scan(&root.join("config"), &["--only", "secrets"]);
    assert!(paths(&json).contains(&"master.env".to_owned()), "{out}");

    // --no-ignore reads everything except what the policy excludes.
    let (_, json, out) = scan(root, &["--no-ignore", "--only", "secrets"]);
    let mut found = paths(&json);
    found.sort();
    assert_eq!(
        found,
        [".env", "config/local.env", "config/master.env"],
        "{out}"
    );
}

/// A FIFO at `path`, opened for reading without blocking (so a writer can open it, and a
/// read after the writer is gone ends instead of waiting).
#[cfg(unix)]
fn fifo(path: &Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    let made = Process::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success());
    const O_NONBLOCK: i32 = 0o4000; // Linux
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .unwrap()
}

/// What a writer put in the FIFO, once it has closed it.
#[cfg(unix)]
fn drain(mut reader: std::fs::File) -> String {
    use std::io::Read;
    let mut out = Vec::new();
    let mut buf = [0; 65536];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // The writer has exited, so nothing more can come: an empty pipe is the end.
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(err) => panic!("{err}"),
        }
    }
    String::from_utf8(out).unwrap()
}

#[cfg(unix)]
fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .file_type()
        .is_fifo()
}

/// `-o` onto a FIFO (as onto /dev/null) writes through it: the FIFO stays a FIFO.
#[cfg(unix)]
#[test]
fn output_onto_a_fifo_writes_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a.txt"), "hello\n").unwrap();
    let pipe = dir.path().join("report.pipe");
    let reader = fifo(&pipe);
    let output = allclear()
        .args(["scan", "--format", "json", "--only", "secrets"])
        .arg("-o")
        .arg(&pipe)
        .arg(&tree)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(is_fifo(&pipe), "the FIFO was replaced by a file");
    let report = drain(reader);
    assert!(report.contains("\"schema\""), "{report:?}");

    // `host logs digest -o` goes the same way.
    let pipe = dir.path().join("digest.pipe");
    let reader = fifo(&pipe);
    std::fs::write(dir.path().join("syslog"), "").unwrap();
    let output = allclear()
        .args([
            "host",
            "logs",
            "digest",
            "--no-disk",
            "--format",
            "json",
            "-o",
        ])
        .arg(&pipe)
        .arg("--log")
        .arg(dir.path().join("syslog"))
        .output()
        .unwrap();
    assert!(
        output.status.code().is_some_and(|c| c < 2),
        "{}",
        text(&output)
    );
    assert!(is_fifo(&pipe), "the FIFO was replaced by a file");
    assert!(drain(reader).starts_with('{'));
}

/// `-o` onto a symlink replaces the file it points to and keeps the link.
#[cfg(unix)]
#[test]
fn output_onto_a_symlink_replaces_its_target_and_keeps_the_link() {
    let dir = repo();
    let root = dir.path();
    let reports = tempfile::tempdir().unwrap();
    let target = reports.path().join("report.json");
    std::fs::write(&target, "old").unwrap();
    let link = reports.path().join("latest.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let output = allclear()
        .args(["scan", "--format", "json", "--only", "secrets"])
        .arg("-o")
        .arg(&link)
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("\"schema\"")
    );

    // The baseline command writes the same way.
    let baseline = reports.path().join("baseline.json");
    std::os::unix::fs::symlink(&target, &baseline).unwrap();
    let output = allclear()
        .args(["baseline", "-o"])
        .arg(&baseline)
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(std::fs::symlink_metadata(&baseline).unwrap().is_symlink());
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("\"findings\"")
    );

    // A directory is refused with a hint, not replaced.
    let output = allclear()
        .args(["scan", "--only", "secrets"])
        .arg("-o")
        .arg(reports.path())
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        crate::stderr(&output).contains("is a directory"),
        "{}",
        text(&output)
    );
}

#[test]
fn unknown_names_in_the_policy_are_errors_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let policy = root.join("allclear.toml");
    let run = |text: &str| {
        std::fs::write(&policy, text).unwrap();
        let output = allclear()
            .args(["scan", "--only", "secrets"])
            .arg(root)
            .output()
            .unwrap();
        (output.status.code(), crate::stderr(&output))
    };
    let (code, err) = run("[scan]\nfail-on = \"high\"\n\n[scna]\nexclude = [\"vendor/**\"]\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("allclear.toml:4: unknown section `scna`"),
        "{err}"
    );
    assert!(err.contains("hint: did you mean `scan`?"), "{err}");

    let (code, err) = run("[rules]\n\"deps.vulnerabel\" = \"off\"\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("allclear.toml:2: unknown rule id `deps.vulnerabel`"),
        "{err}"
    );
    assert!(
        err.contains("hint: did you mean `deps.vulnerable`?"),
        "{err}"
    );

    // A capability's section: its keys too.
    let (code, err) = run("[scan]\n[restricted]\npaterns = [\"exports/**\"]\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("allclear.toml:3: unknown field `paterns`"),
        "{err}"
    );
    assert!(err.contains("hint: did you mean `patterns`?"), "{err}");

    let (code, err) = run("[[ignore]]\nid = \"restricted.database-dumps\"\nreason = \"r\"\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("did you mean `restricted.database-dump`?"),
        "{err}"
    );

    // Every capability's rules and sections are known; advisory ids are not rule ids.
    let (code, err) = run(
        "[rules]\n\"deps.vulnerable\" = \"critical\"\n\"secrets.github-token\" = \"off\"\n\
         \"personal.unsanitized-data\" = \"low\"\n\"restricted.keystore\" = \"off\"\n\
         [restricted]\n[personal-data]\n[secrets]\n[fim]\n\
         [[ignore]]\nid = \"CVE-2022-32224\"\nreason = \"r\"\n\
         [[ignore]]\nid = \"RUSTSEC-2019-0019\"\nreason = \"r\"\n",
    );
    assert_eq!(code, Some(0), "{err}");

    // The policy `allclear init` writes passes.
    std::fs::remove_file(&policy).unwrap();
    let output = allclear().arg("init").arg(&policy).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let (code, err) = run(&std::fs::read_to_string(&policy).unwrap());
    assert_eq!(code, Some(0), "{err}");
}

/// The baseline counts what it accepts the way the next scan counts what it ignores.
#[test]
fn baseline_and_the_next_scan_agree_on_counts() {
    let dir = repo();
    let root = dir.path();
    // One token at two lines: one fingerprint (fingerprints ignore lines), two findings.
    std::fs::write(
        root.join("a.py"),
        format!("t = \"{TOKEN}\"\nu = \"{TOKEN}\"\n"),
    )
    .unwrap();
    std::fs::write(root.join("b.py"), format!("t = \"{TOKEN}\"\n")).unwrap();
    std::fs::write(
        root.join("allclear.toml"),
        "[[ignore]]\nid = \"secrets.github-token\"\npath = \"b.py\"\nreason = \"revoked\"\n",
    )
    .unwrap();
    let output = allclear()
        .current_dir(root)
        .args(["baseline", "."])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let said = crate::stderr(&output);
    assert!(said.starts_with("recorded 2 findings in "), "{said}");
    assert!(said.contains("the next scan lists 3 as ignored"), "{said}");
    let (code, json, out) = scan(root, &["--only", "secrets"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json["summary"]["ignored"], 3, "{out}");
}

#[test]
fn history_of_a_shallow_clone_says_it_is_partial() {
    let origin = repo();
    for i in 0..3 {
        std::fs::write(origin.path().join("n.txt"), format!("{i}\n")).unwrap();
        git(origin.path(), &["add", "n.txt"]);
        git(origin.path(), &["commit", "-q", "-m", "more"]);
    }
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    git(
        clones.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = clones.path().join("shallow");
    let (code, json, out) = scan(&shallow, &["--history", "--only", "secrets"]);
    assert_eq!(code, 0, "{out}");
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("shallow clone"), "{out}");
    assert!(warnings.contains("git fetch --unshallow"), "{out}");
    // The boundary commit is named.
    let head = std::fs::read_to_string(shallow.join(".git/shallow")).unwrap();
    assert!(warnings.contains(&head.trim()[..12]), "{out}");

    // A full clone says nothing of the kind.
    let (_, json, out) = scan(origin.path(), &["--history", "--only", "secrets"]);
    assert!(!json["warnings"].to_string().contains("shallow"), "{out}");
}

#[test]
fn staged_says_how_many_staged_files_it_checked() {
    let dir = repo();
    for name in ["a.txt", "b.txt", "c.txt"] {
        std::fs::write(dir.path().join(name), format!("{name}\n")).unwrap();
    }
    std::fs::write(dir.path().join("unstaged.txt"), "not staged\n").unwrap();
    git(dir.path(), &["add", "a.txt", "b.txt", "c.txt"]);
    let output = allclear()
        .current_dir(dir.path())
        .args(["scan", "--staged", "."])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        crate::stdout(&output).contains("all clear: no findings in 3 staged files"),
        "{}",
        text(&output)
    );
}

/// The README's policy example shows the default `fail-on` and passes the policy check,
/// and the README says how to put `allclear` on PATH.
#[test]
fn the_readme_policy_example_matches_the_defaults() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    assert!(readme.contains("cargo install --path crates/allclear"));
    let section = readme.split("## The policy file").nth(1).unwrap();
    let example = section
        .split("```toml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let policy = allclear_core::Policy::from_toml(example, "README.md").unwrap();
    assert_eq!(
        policy.scan.fail_on,
        allclear_core::Policy::default().scan.fail_on
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("allclear.toml"), example).unwrap();
    let output = allclear()
        .args(["scan", "--only", "secrets"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}
