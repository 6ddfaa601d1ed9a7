//! What a person reads, as snapshots: `--help` of every command, every error with its hint,
//! and the human output of each command on our small fixtures. A change in any of them shows
//! up in review as a changed `.snap` file (`cargo insta review`, or `INSTA_UPDATE=always`).
//!
//! [`allclear_snapshot!`] runs the binary and snapshots its exit code, stdout and stderr,
//! with temporary paths, fixture paths, times and the version replaced by placeholders.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

use crate::{allclear, fail2ban_config, fixture_db, fixtures};

/// Placeholders for what changes from run to run: (text or pattern, replacement). Literal
/// paths first (longest first, so a temp dir inside another is replaced whole), then patterns.
pub struct Filters {
    paths: Vec<(String, &'static str)>,
}

impl Filters {
    /// The fixture directory, the workspace and the temporary directories given.
    pub fn new(temps: &[(&Path, &'static str)]) -> Filters {
        let mut paths: Vec<(String, &'static str)> = temps
            .iter()
            .map(|(path, name)| (path.display().to_string(), *name))
            .collect();
        paths.push((fixtures().display().to_string(), "[FIXTURES]"));
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        if let Ok(workspace) = workspace.canonicalize() {
            paths.push((workspace.display().to_string(), "[WORKSPACE]"));
        }
        paths.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
        Filters { paths }
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (path, name) in &self.paths {
            out = out.replace(path.as_str(), name);
        }
        let patterns: [(&str, &str); 6] = [
            // When a live ban started, and the time it has left.
            (r"since [^,\n]+, [^:\n]+ left", "since [TIME], [LEFT] left"),
            // Times the run itself reads off the clock or the file system (database build
            // times, fim's mtime/ctime): RFC 3339 with fractions of a second.
            (
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d)",
                "[TIME]",
            ),
            // tempfile's random names.
            (r"\.tmp[A-Za-z0-9]{6}", ".tmp[RANDOM]"),
            // The version, wherever it is printed.
            (
                &format!(r"\b{}\b", regex::escape(env!("CARGO_PKG_VERSION"))),
                "[VERSION]",
            ),
            // How old the database is.
            (r"\(\d+ days ago\)", "([N] days ago)"),
            // BLAKE3 hashes of files written during the test.
            (r"\b[0-9a-f]{64}\b", "[HASH]"),
        ];
        for (pattern, replacement) in patterns {
            let regex = regex::Regex::new(pattern).expect("the filter patterns compile");
            out = regex.replace_all(&out, replacement).into_owned();
        }
        out
    }
}

/// Exit code, stdout and stderr of a run, filtered.
pub fn snapshot_text(output: &Output, filters: &Filters) -> String {
    format!(
        "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output
            .status
            .code()
            .map_or_else(|| "signal".to_owned(), |c| c.to_string()),
        filters.apply(&String::from_utf8_lossy(&output.stdout)),
        filters.apply(&String::from_utf8_lossy(&output.stderr)),
    )
}

/// Runs the command and snapshots its exit code, stdout and stderr under `name`; returns the
/// output for further assertions.
macro_rules! allclear_snapshot {
    ($name:expr, $filters:expr, $cmd:expr) => {{
        let output = $cmd.output().expect("the allclear binary runs");
        let text = $crate::cli::snapshot_text(&output, &$filters);
        insta::assert_snapshot!($name, text);
        output
    }};
}

/// `allclear` with what keeps snapshots stable: a fixed width for help, UTC, no colour.
fn cmd() -> Command {
    let mut cmd = allclear();
    cmd.env("COLUMNS", "100").env("TZ", "UTC");
    cmd
}

/// Every command path, found by reading the `Commands:` list of each `--help`.
fn command_paths() -> Vec<Vec<String>> {
    let mut found = vec![Vec::new()];
    let mut index = 0;
    while index < found.len() {
        let path = found[index].clone();
        let output = cmd().args(&path).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&output.stdout).into_owned();
        let mut in_commands = false;
        for line in help.lines() {
            if line == "Commands:" {
                in_commands = true;
                continue;
            }
            if in_commands {
                if line.is_empty() {
                    break;
                }
                // `  name  description`; continuation lines are indented further.
                if let Some(rest) = line.strip_prefix("  ")
                    && !rest.starts_with(' ')
                    && let Some(name) = rest.split_whitespace().next()
                    && name != "help"
                {
                    let mut child = path.clone();
                    child.push(name.to_owned());
                    found.push(child);
                }
            }
        }
        index += 1;
    }
    found
}

#[test]
fn help_of_every_command() {
    let filters = Filters::new(&[]);
    let paths = command_paths();
    // The walk found the nested commands, not only the top level.
    assert!(paths.iter().any(|p| p.join(" ") == "host fim check"));
    assert!(paths.iter().any(|p| p.join(" ") == "host logs digest"));
    // `generate` is hidden from the help, so it has no snapshot here.
    assert!(
        !paths
            .iter()
            .any(|p| p.first().is_some_and(|c| c == "generate"))
    );
    for path in paths {
        let name = format!(
            "help_allclear{}",
            path.iter().map(|c| format!("_{c}")).collect::<String>()
        )
        .replace('-', "_");
        let mut command = cmd();
        command.args(&path).arg("--help");
        allclear_snapshot!(name, filters, command);
    }
}

/// Unknown and conflicting options, values a command does not take: exit 2, clap's message,
/// and a hint naming the command's help.
#[test]
fn usage_errors_exit_2_with_a_hint() {
    let filters = Filters::new(&[]);
    let cases: &[(&str, &[&str])] = &[
        ("error_unknown_option", &["scan", "--bogus"]),
        (
            "error_conflicting_options",
            &["scan", "--staged", "--history"],
        ),
        (
            "error_format_the_command_does_not_write",
            &["host", "fim", "check", "--format", "sarif"],
        ),
        (
            "error_option_of_another_command",
            &["host", "logs", "digest", "--db", "/tmp"],
        ),
        ("error_unknown_command", &["scna"]),
        ("error_missing_argument", &["db", "import"]),
    ];
    for (name, args) in cases {
        let mut command = cmd();
        command.args(*args);
        let output = allclear_snapshot!(*name, filters, command);
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("\nhint: "),
            "{name}"
        );
    }
}

/// Inputs allclear cannot use: exit 2, what is wrong, and what to do.
#[test]
fn bad_inputs_exit_2_with_a_hint() {
    let temp = tempfile::tempdir().unwrap();
    let filters = Filters::new(&[(temp.path(), "[TEMP]")]);
    let repo = fixtures().join("repo");
    let missing = temp.path().join("missing.toml");
    let missing_db = temp.path().join("no-database");
    let directory = temp.path().to_path_buf();
    let unwritable = temp.path().join("no/such/dir/report.json");
    let cases: Vec<(&str, Vec<&std::ffi::OsStr>)> = vec![
        (
            "error_missing_policy",
            vec!["scan".as_ref(), "--config".as_ref(), missing.as_os_str()],
        ),
        (
            "error_unreadable_policy",
            vec!["scan".as_ref(), "--config".as_ref(), directory.as_os_str()],
        ),
        (
            "error_fim_missing_policy",
            vec![
                "host".as_ref(),
                "fim".as_ref(),
                "check".as_ref(),
                "--config".as_ref(),
                missing.as_os_str(),
            ],
        ),
        (
            "error_output_in_a_missing_directory",
            vec![
                "scan".as_ref(),
                "--only".as_ref(),
                "secrets".as_ref(),
                "-o".as_ref(),
                unwritable.as_os_str(),
                repo.as_os_str(),
            ],
        ),
        (
            "error_output_is_a_directory",
            vec![
                "scan".as_ref(),
                "--only".as_ref(),
                "secrets".as_ref(),
                "-o".as_ref(),
                directory.as_os_str(),
                repo.as_os_str(),
            ],
        ),
        (
            "error_no_database",
            vec![
                "scan".as_ref(),
                "--db".as_ref(),
                missing_db.as_os_str(),
                repo.as_os_str(),
            ],
        ),
        (
            "error_fim_no_baseline",
            vec![
                "host".as_ref(),
                "fim".as_ref(),
                "check".as_ref(),
                "--config".as_ref(),
                fixtures().join("cli/fim.toml").into_os_string().leak(),
                "--baseline".as_ref(),
                missing.as_os_str(),
            ],
        ),
        (
            "error_digest_bad_since",
            vec![
                "host".as_ref(),
                "logs".as_ref(),
                "digest".as_ref(),
                "--since".as_ref(),
                "yesterday".as_ref(),
            ],
        ),
        (
            "error_logs_scan_missing_log",
            vec![
                "host".as_ref(),
                "logs".as_ref(),
                "scan".as_ref(),
                "--config-dir".as_ref(),
                fixtures().join("cli/fail2ban").into_os_string().leak(),
                "--filter".as_ref(),
                "demo-sshd".as_ref(),
                missing.as_os_str(),
            ],
        ),
    ];
    for (name, args) in cases {
        let mut command = cmd();
        command.args(&args);
        let output = allclear_snapshot!(name, filters, command);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert!(stderr.contains("\nhint: "), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    // Nothing half-written where -o pointed.
    assert!(!unwritable.exists());
}

/// The human output of each command on our fixtures.
#[test]
fn human_output_of_each_command() {
    let temp = tempfile::tempdir().unwrap();
    let db = fixture_db();
    let filters = Filters::new(&[(temp.path(), "[TEMP]"), (db.path(), "[DB]")]);

    let mut scan = cmd();
    scan.args(["scan", "--db"])
        .arg(db.path())
        .arg(fixtures().join("repo"));
    allclear_snapshot!("human_scan", filters, scan);

    let mut status = cmd();
    status.args(["db", "status", "--db"]).arg(db.path());
    allclear_snapshot!("human_db_status", filters, status);

    let mut init = cmd();
    init.arg("init").arg(temp.path().join("allclear.toml"));
    allclear_snapshot!("human_init", filters, init);

    let logs = fixtures().join("cli");
    let mut logs_scan = cmd();
    logs_scan
        .current_dir(&logs)
        .args(["host", "logs", "scan", "--config-dir", "fail2ban"])
        .args([
            "--filter",
            "demo-sshd",
            "--maxretry",
            "3",
            "--all-matches",
            "auth.log",
        ]);
    allclear_snapshot!("human_logs_scan", filters, logs_scan);

    let state = temp.path().join("state");
    let config = fail2ban_config(temp.path());
    let mut ban = cmd();
    ban.args(["host", "logs", "ban", "198.51.100.9", "--jail", "demo-sshd"])
        .args(["--action", "log", "--time", "1h", "--config"])
        .arg(&config)
        .arg("--state")
        .arg(&state);
    allclear_snapshot!("human_logs_ban", filters, ban);
    let mut status = cmd();
    status
        .args(["host", "logs", "status", "--state"])
        .arg(&state);
    let output = allclear_snapshot!("human_logs_status", filters, status);
    assert_eq!(output.status.code(), Some(1), "bans are findings");
    let mut unban = cmd();
    unban
        .args(["host", "logs", "unban", "198.51.100.9", "--action", "log"])
        .arg("--config")
        .arg(&config)
        .arg("--state")
        .arg(&state);
    allclear_snapshot!("human_logs_unban", filters, unban);
    let mut run = cmd();
    run.args([
        "host", "logs", "run", "--once", "--action", "log", "--config",
    ])
    .arg(&config)
    .arg("--state")
    .arg(temp.path().join("state-run"));
    allclear_snapshot!("human_logs_run_once", filters, run);

    let day = Path::new(env!("CARGO_MANIFEST_DIR")).join("../allclear-digest/tests/fixtures/day");
    let mut digest = cmd();
    digest
        .current_dir(&day)
        .args(["host", "logs", "digest", "--no-disk", "--since", "24h"])
        .args([
            "--now",
            "2026-11-23T12:00:00Z",
            "--log",
            "auth.log",
            "syslog",
        ])
        .args(["kern.log", "dpkg.log", "nginx/access.log"]);
    allclear_snapshot!("human_logs_digest", filters, digest);
}

/// `host fim init`, `check` and `update` on a tree of ours, human output.
#[test]
fn human_output_of_fim() {
    let temp = tempfile::tempdir().unwrap();
    let filters = Filters::new(&[(temp.path(), "[TEMP]")]);
    let tree = temp.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a.conf"), "a = 1\n").unwrap();
    std::fs::write(tree.join("b.conf"), "b = 1\n").unwrap();
    std::fs::write(
        temp.path().join("policy.toml"),
        format!(
            "[fim]\ndefaults = false\ndpkg-dir = \"\"\n[fim.groups.tree]\npaths = [{:?}]\n\
             attributes = [\"content\"]\n",
            tree.display().to_string()
        ),
    )
    .unwrap();
    let fim = |sub: &str| {
        let mut command = cmd();
        command
            .current_dir(temp.path())
            .args(["host", "fim", sub, "--config", "policy.toml"])
            .args(["--baseline", "fim.baseline"]);
        command
    };
    allclear_snapshot!("human_fim_init", filters, fim("init"));
    std::fs::write(tree.join("a.conf"), "a = 2\n").unwrap();
    // c.conf is written before b.conf goes, so it cannot take b's inode (which fim would
    // report as a rename).
    std::fs::write(tree.join("c.conf"), "c = 1\n").unwrap();
    std::fs::remove_file(tree.join("b.conf")).unwrap();
    allclear_snapshot!("human_fim_check", filters, fim("check"));
    allclear_snapshot!("human_fim_update", filters, fim("update"));
    allclear_snapshot!("human_fim_check_after_update", filters, fim("check"));

    // verify-packages on the fim crate's dpkg fixture: one packaged file is missing.
    let fim_fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../allclear-fim/tests/fixtures");
    let mut verify = cmd();
    verify
        .args(["host", "fim", "verify-packages", "--config"])
        .arg(fixtures().join("cli/fim.toml"))
        .arg("--dpkg-dir")
        .arg(fim_fixtures.join("dpkg"))
        .arg("--root")
        .arg(fim_fixtures.join("dpkg-root"));
    let output = allclear_snapshot!("human_fim_verify_packages", filters, verify);
    assert_eq!(output.status.code(), Some(1));

    // --quiet and --color mean the same in fim as everywhere: no notes, ANSI colour on demand.
    std::fs::write(tree.join("a.conf"), "a = 3\n").unwrap();
    let quiet = fim("check").arg("--quiet").output().unwrap();
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stderr.is_empty(), "{}", crate::text(&quiet));
    let plain = fim("check").output().unwrap();
    assert!(
        !plain.stdout.contains(&0x1b),
        "NO_COLOR is set by the tests"
    );
    let colored = fim("check").args(["--color", "always"]).output().unwrap();
    assert!(colored.stdout.contains(&0x1b), "{}", crate::text(&colored));
}

/// `generate completions` and `generate man`, the interface the Debian package build calls.
#[test]
fn completions_and_man_pages_come_from_the_command_line() {
    let output = cmd()
        .args(["generate", "completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let script = String::from_utf8_lossy(&output.stdout);
    assert!(script.contains("_allclear()"), "{script}");
    assert!(script.contains("verify-packages") && script.contains("--disk-threshold"));
    for shell in ["zsh", "fish"] {
        let output = cmd()
            .args(["generate", "completions", shell])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("allclear"));
    }
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man1");
    let output = cmd().args(["generate", "man"]).arg(&man).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", crate::text(&output));
    for page in [
        "allclear.1",
        "allclear-scan.1",
        "allclear-host-fim-check.1",
        "allclear-host-logs-digest.1",
    ] {
        let text =
            std::fs::read_to_string(man.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    assert!(!man.join("allclear-generate.1").exists());
    let pages = std::fs::read_dir(&man).unwrap().count();
    assert_eq!(pages, command_paths().len(), "one page per (sub)command");
}
