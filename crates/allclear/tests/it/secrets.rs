//! Secrets, restricted files and personal data through `allclear scan`: the working tree, the
//! staged changes, the history, baselines and the pre-commit hook — with real git
//! repositories.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use serde_json::Value;

use crate::{allclear, copy_tree, stdout, text};

/// A GitHub token of the documented shape; made up.
pub const TOKEN: &str = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnlyAbCd12"; // allclear:allow made up
const OTHER_TOKEN: &str = "ghp_An0th3rT0k3nV4lu3F0rT3st1ngOnlyXy9876"; // allclear:allow made up

/// The secrets crate's fixtures: a Rails app, a Drupal site, an unsanitized dump and its
/// sanitized twin, restricted files.
fn secrets_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../allclear-secrets/tests/fixtures")
}

pub fn git(dir: &Path, args: &[&str]) {
    let output = Process::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main", "."]);
    git(dir.path(), &["config", "user.email", "dev@example.org"]);
    git(dir.path(), &["config", "user.name", "Dev"]);
    git(dir.path(), &["config", "commit.gpgsign", "false"]);
    std::fs::write(dir.path().join("README.md"), "# app\n").unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "init"]);
    dir
}

pub fn scan(dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let output = allclear()
        .current_dir(dir)
        .args(["scan", ".", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&output)));
    (output.status.code().unwrap_or(-1), json, text(&output))
}

fn rules(json: &Value) -> Vec<String> {
    let mut rules: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    rules.sort();
    rules
}

pub fn paths(json: &Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_tree_scan_finds_stack_secrets_restricted_files_and_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&secrets_fixtures(), dir.path());
    let (code, json, out) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{out}");
    let found = rules(&json);
    for rule in [
        "secrets.rails-secret-key-base",
        "secrets.drupal-hash-salt",
        "secrets.drupal-database-password",
        "personal.unsanitized-data",
    ] {
        assert!(
            found.iter().any(|r| r == rule),
            "{rule} missing in {found:?}"
        );
    }
    assert!(
        found.iter().any(|r| r.starts_with("restricted.")),
        "no restricted file in {found:?}"
    );
    // The sanitized twin of the dump is not personal data; the real dump is.
    let personal: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "personal.unsanitized-data")
        .map(|f| f["location"]["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(personal, ["personal/patients_dump.sql"], "{out}");
    // The same scan also ran the dependency side (no lockfiles here, so no database needed).
    assert!(json["summary"]["findings"].as_u64().unwrap() >= 5);

    // The human report never prints a secret in full: the Rails key base in the fixture.
    let secrets_yml = std::fs::read_to_string(dir.path().join("rails/config/secrets.yml")).unwrap();
    let human = allclear()
        .current_dir(dir.path())
        .args(["scan", "."])
        .output()
        .unwrap();
    let human = stdout(&human);
    for line in secrets_yml.lines() {
        if let Some((_, value)) = line.split_once("secret_key_base:") {
            let value = value.trim().trim_matches('"');
            if value.len() > 20 && !value.starts_with('<') {
                assert!(!human.contains(value), "secret printed in full:\n{human}");
            }
        }
    }
}

#[test]
fn staged_scans_only_what_is_staged() {
    let dir = repo();
    std::fs::write(
        dir.path().join("staged.py"),
        format!("token = \"{TOKEN}\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("unstaged.py"),
        format!("token = \"{OTHER_TOKEN}\"\n"),
    )
    .unwrap();
    git(dir.path(), &["add", "staged.py"]);
    let (code, json, out) = scan(dir.path(), &["--staged"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(paths(&json), ["staged.py"], "{out}");
    assert!(!out.contains(TOKEN), "secret printed in full: {out}");

    // Once committed, nothing is staged any more.
    git(dir.path(), &["commit", "-q", "--no-verify", "-m", "oops"]);
    let (code, json, out) = scan(dir.path(), &["--staged"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json["summary"]["findings"], 0);
}

#[test]
fn history_finds_a_secret_removed_from_the_tree_with_its_commit() {
    let dir = repo();
    std::fs::write(dir.path().join("deploy.sh"), format!("TOKEN={TOKEN}\n")).unwrap();
    git(dir.path(), &["add", "deploy.sh"]);
    git(dir.path(), &["commit", "-q", "-m", "add deploy"]);
    let introduced = String::from_utf8(
        Process::new("git")
            .current_dir(dir.path())
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    git(dir.path(), &["rm", "-q", "deploy.sh"]);
    git(dir.path(), &["commit", "-q", "-m", "remove it"]);

    let (code, _, out) = scan(dir.path(), &[]);
    assert_eq!(code, 0, "the working tree is clean: {out}");
    let (code, json, out) = scan(dir.path(), &["--history"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(paths(&json), ["deploy.sh"]);
    let finding = &json["findings"][0];
    assert_eq!(finding["rule"], "secrets.github-token");
    assert_eq!(
        finding["details"]["introduced"][0]["commit"],
        introduced.trim(),
        "{out}"
    );
}

#[test]
fn a_baseline_accepts_todays_findings_and_survives_moved_lines() {
    let dir = repo();
    let config = dir.path().join("config.py");
    std::fs::write(&config, format!("token = \"{TOKEN}\"\n")).unwrap();
    let (code, _, out) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{out}");

    let output = allclear()
        .current_dir(dir.path())
        .args(["baseline", "."])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let baseline = std::fs::read_to_string(dir.path().join("allclear-baseline.json")).unwrap();
    assert!(
        !baseline.contains(TOKEN),
        "secret in the baseline: {baseline}"
    );

    // Accepted, even after the line moves.
    std::fs::write(&config, format!("import os\n\n\ntoken = \"{TOKEN}\"\n")).unwrap();
    let (code, json, out) = scan(dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json["summary"]["ignored"], 1);

    // A new secret is new.
    std::fs::write(
        &config,
        format!("token = \"{TOKEN}\"\nother = \"{OTHER_TOKEN}\"\n"),
    )
    .unwrap();
    let (code, json, out) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(json["summary"]["findings"], 1);
    assert_eq!(json["findings"][0]["location"]["line"], 2);
}

#[test]
fn inline_allow_and_policy_ignores_quiet_a_finding() {
    let dir = repo();
    std::fs::write(
        dir.path().join("a.py"),
        format!("token = \"{TOKEN}\"  # allclear:allow test token\n"),
    )
    .unwrap();
    let (code, _, out) = scan(dir.path(), &[]);
    assert_eq!(code, 0, "{out}");

    std::fs::write(dir.path().join("b.py"), format!("token = \"{TOKEN}\"\n")).unwrap();
    std::fs::write(
        dir.path().join("allclear.toml"),
        "[[ignore]]\nid = \"secrets.github-token\"\npath = \"b.py\"\nreason = \"revoked, kept for the tutorial\"\n",
    )
    .unwrap();
    let (code, json, out) = scan(dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json["summary"]["ignored"], 1);
}

#[test]
fn the_pre_commit_hook_blocks_a_secret() {
    let dir = repo();
    // Someone else's hook is not replaced without --force.
    let hooks = dir.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\nexit 0\n").unwrap();
    let output = allclear()
        .current_dir(dir.path())
        .args(["hook", "install"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(crate::stderr(&output).contains("--force"));

    let output = allclear()
        .current_dir(dir.path())
        .args(["hook", "install", "--force"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(hooks.join("pre-commit.allclear-backup").exists());

    std::fs::write(dir.path().join("leak.py"), format!("token = \"{TOKEN}\"\n")).unwrap();
    git(dir.path(), &["add", "leak.py"]);
    let commit = Process::new("git")
        .current_dir(dir.path())
        .args(["commit", "-q", "-m", "leak"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!commit.status.success(), "the hook let a secret through");
    // git hands a hook's output to the user on stderr.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&commit.stdout),
        String::from_utf8_lossy(&commit.stderr)
    );
    assert!(said.contains("leak.py"), "{said}");
    assert!(!said.contains(TOKEN), "{said}");

    // A clean change goes through.
    git(dir.path(), &["rm", "-q", "--cached", "leak.py"]);
    std::fs::write(dir.path().join("ok.py"), "print('hello')\n").unwrap();
    git(dir.path(), &["add", "ok.py"]);
    git(dir.path(), &["commit", "-q", "-m", "fine"]);

    let output = allclear()
        .current_dir(dir.path())
        .args(["hook", "uninstall"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(!hooks.join("pre-commit").exists());
}

#[test]
fn a_secret_past_the_file_limit_is_found_and_a_test_sample_is_lowered_not_hidden() {
    let dir = tempfile::tempdir().unwrap();
    // 256 KiB held at a time; the key sits after 1 MiB of text.
    std::fs::write(
        dir.path().join("allclear.toml"),
        "[secrets]\nmax-file-bytes = 262144\n",
    )
    .unwrap();
    let filler = "the quick brown fox jumps over the lazy dog\n".repeat(25_000);
    std::fs::write(
        dir.path().join("notes.txt"),
        format!("{filler}token = \"{TOKEN}\"\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    std::fs::write(
        dir.path().join("tests/test_login.py"),
        "password = \"Zq8vN3xTw1\"\n", // allclear:allow a made-up sample, scanned in a temp dir
    )
    .unwrap();
    let (code, json, out) = scan(dir.path(), &["--only", "secrets"]);
    assert_eq!(code, 1, "{out}");
    let findings = json["findings"].as_array().unwrap();
    let notes = findings
        .iter()
        .find(|f| f["location"]["path"] == "notes.txt")
        .unwrap_or_else(|| panic!("the key past the limit was not found: {out}"));
    assert_eq!(notes["location"]["line"], 25_001);
    let sample = findings
        .iter()
        .find(|f| f["location"]["path"] == "tests/test_login.py")
        .unwrap_or_else(|| panic!("the test sample was hidden: {out}"));
    assert_eq!(sample["severity"], "low", "{out}");
    assert_eq!(sample["details"]["context"], "test", "{out}");
}

#[test]
fn an_archive_past_the_zip_bomb_guard_is_said_not_fully_checked_without_failing_the_run() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("allclear.toml"),
        "[secrets]\narchive-max-bytes = 1048576\n",
    )
    .unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("a.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(&vec![b'a'; 3 << 20]).unwrap();
    std::fs::write(
        dir.path().join("bomb.zip"),
        zip.finish().unwrap().into_inner(),
    )
    .unwrap();

    let (code, json, out) = scan(dir.path(), &["--only", "secrets"]);
    // Not an error of the run: exit 0, but the report says what was not checked.
    assert_eq!(code, 0, "{out}");
    assert!(json.get("errors").is_none(), "{out}");
    let skipped = json["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{out}");
    assert_eq!(skipped[0]["path"], "bomb.zip");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("archive-max-bytes"),
        "{out}"
    );

    let human = allclear()
        .current_dir(dir.path())
        .args(["scan", ".", "--only", "secrets"])
        .output()
        .unwrap();
    let human_text = text(&human);
    assert_eq!(human.status.code(), Some(0), "{human_text}");
    assert!(
        human_text.contains("not fully checked: bomb.zip: archive expands beyond 1 MiB"),
        "{human_text}"
    );
    assert!(
        human_text.contains("1 input NOT fully checked"),
        "{human_text}"
    );
}
