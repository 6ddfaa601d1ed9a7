//! Small policies for each rule kind, negation, `compare`, and `all`/`any`/`none` with
//! not-applicable, against Wazuh's documented semantics (custom SCA policies: "Condition"
//! truth table, "Rules", "Content checking rules").

use std::os::unix::fs::symlink;

use allclear_audit::{Outcome, System, evaluate_policy, load_policy};

/// A tree with a few configuration files, audited with --root.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs_err::create_dir_all(root.join("etc/ssh/sshd_config.d")).unwrap();
    fs_err::write(
        root.join("etc/ssh/sshd_config"),
        "# PermitRootLogin yes\nPermitRootLogin no\nMaxAuthTries 6\nPort 22\n",
    )
    .unwrap();
    fs_err::write(
        root.join("etc/ssh/sshd_config.d/50-cloud.conf"),
        "PasswordAuthentication no\n",
    )
    .unwrap();
    fs_err::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/bash\n").unwrap();
    symlink("/etc/loop-b", root.join("etc/loop-a")).unwrap();
    symlink("/etc/loop-a", root.join("etc/loop-b")).unwrap();
    dir
}

/// Evaluates `checks` (YAML list items) under the tree; returns each check's outcome.
fn outcomes(checks: &str, system: &System) -> Vec<Outcome> {
    let text = format!(
        "policy: {{id: t, name: T, description: d}}\nvariables:\n  $sshd: /etc/ssh/sshd_config\nchecks:\n{checks}"
    );
    let policy = load_policy(&text, "t.yml").unwrap();
    evaluate_policy(&policy, system)
        .checks
        .into_iter()
        .map(|c| c.outcome)
        .collect()
}

fn check(id: u32, condition: &str, rules: &[&str]) -> String {
    let rules: String = rules
        .iter()
        .map(|r| format!("      - '{}'\n", r.replace('\'', "''")))
        .collect();
    format!("  - id: {id}\n    title: c{id}\n    condition: {condition}\n    rules:\n{rules}")
}

fn na(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::NotApplicable(_))
}

fn run(cases: &[(&str, &[&str])], system: &System) -> Vec<Outcome> {
    let checks: String = cases
        .iter()
        .enumerate()
        .map(|(i, (condition, rules))| check(i as u32 + 1, condition, rules))
        .collect();
    outcomes(&checks, system)
}

#[test]
fn file_rules() {
    let dir = tree();
    let system = System::rooted(dir.path());
    let results = run(
        &[
            ("all", &["f:$sshd"]),
            ("all", &["f:/etc/missing"]),
            ("all", &["not f:/etc/missing"]),
            ("all", &[r"f:$sshd -> r:^PermitRootLogin\s+no"]),
            ("all", &[r"f:$sshd -> r:^PermitRootLogin\s+yes"]),
            // The target of a content check does not exist: not applicable, and `not`
            // leaves it so.
            ("all", &["f:/etc/missing -> r:x"]),
            ("all", &["not f:/etc/missing -> r:x"]),
            // A whole-line literal, and a list of files where one matches.
            ("all", &["f:/etc/ssh/sshd_config -> Port 22"]),
            ("all", &["f:/etc/ssh/sshd_config -> Port"]),
            ("all", &["f:/etc/missing,/etc/passwd -> r:^root:"]),
            // `&&` tests one line; `!` negates a test.
            ("all", &[r"f:$sshd -> !r:^# && r:PermitRootLogin && r:yes"]),
            ("all", &[r"f:$sshd -> r:^# && r:PermitRootLogin && r:yes"]),
            // `!r:` passes on any line that does not match (the documentation's warning).
            ("all", &["f:$sshd -> !r:PermitRootLogin"]),
            ("all", &["not f:$sshd -> r:PermitRootLogin"]),
        ],
        &system,
    );
    use Outcome::*;
    assert_eq!(results[0], Passed);
    assert_eq!(results[1], Failed);
    assert_eq!(results[2], Passed);
    assert_eq!(results[3], Passed);
    assert_eq!(results[4], Failed);
    assert!(na(&results[5]), "{:?}", results[5]);
    assert!(na(&results[6]), "{:?}", results[6]);
    assert_eq!(results[7], Passed);
    assert_eq!(results[8], Failed);
    assert_eq!(results[9], Passed);
    assert_eq!(results[10], Failed);
    assert_eq!(results[11], Passed);
    assert_eq!(results[12], Passed);
    assert_eq!(results[13], Failed);
}

#[test]
fn numeric_compare() {
    let dir = tree();
    let system = System::rooted(dir.path());
    let results = run(
        &[
            ("all", &[r"f:$sshd -> n:^MaxAuthTries\s+(\d+) compare <= 4"]),
            ("all", &[r"f:$sshd -> n:^MaxAuthTries\s+(\d+) compare > 4"]),
            ("all", &[r"f:$sshd -> n:^MaxAuthTries\s+(\d+) compare == 6"]),
            ("all", &[r"f:$sshd -> n:^MaxAuthTries\s+(\d+) compare != 6"]),
            ("all", &[r"f:$sshd -> n:^MaxAuthTries\s+(\d+) compare >= 6"]),
            ("all", &[r"f:$sshd -> n:^MaxAuthTries\s+(\d+) compare < 6"]),
            // No line has the setting: the test fails (the file exists).
            ("all", &[r"f:$sshd -> n:^MaxSessions\s+(\d+) compare <= 4"]),
        ],
        &system,
    );
    use Outcome::*;
    assert_eq!(
        results,
        [Failed, Passed, Passed, Failed, Passed, Failed, Failed]
    );
}

#[test]
fn directory_rules() {
    let dir = tree();
    let system = System::rooted(dir.path());
    let results = run(
        &[
            ("all", &["d:/etc/ssh"]),
            ("all", &["d:/etc/nothing"]),
            ("all", &["d:/etc -> 50-cloud.conf"]),
            ("all", &[r"d:/etc/ssh -> r:\.conf$"]),
            (
                "all",
                &[r"d:/etc/ssh -> r:\.conf$ -> r:^PasswordAuthentication\s+no"],
            ),
            (
                "all",
                &[r"d:/etc/ssh -> r:\.conf$ -> r:^PasswordAuthentication\s+yes"],
            ),
            ("all", &["d:/etc/nothing -> r:x -> r:y"]),
            ("all", &["d:/etc/ssh -> nomatch.conf -> r:y"]),
        ],
        &system,
    );
    use Outcome::*;
    assert_eq!(
        &results[..6],
        [Passed, Failed, Passed, Passed, Passed, Failed]
    );
    assert!(na(&results[6]) && na(&results[7]), "{results:?}");
}

#[test]
fn host_only_rules_do_not_apply_under_root() {
    let dir = tree();
    let system = System::rooted(dir.path()).allow_commands(true);
    let results = run(
        &[
            ("all", &["p:sshd"]),
            ("all", &["not p:sshd"]),
            ("all", &["c:echo hello -> r:^hello"]),
            ("all", &["f:/proc/sys/kernel/randomize_va_space -> 2"]),
            ("all", &[r"r:HKEY_LOCAL_MACHINE\System -> x"]),
        ],
        &system,
    );
    for outcome in &results {
        assert!(na(outcome), "{results:?}");
    }
    assert!(results[4].reason().unwrap().contains("Windows"));
}

#[test]
fn commands_run_only_when_allowed() {
    let checks = &[
        ("all", &["c:echo hello -> r:^hello"][..]),
        ("all", &["c:echo hello -> r:^bye"][..]),
        ("all", &["not c:echo hello -> r:^hello"][..]),
        ("all", &["c:no-such-program-allclear -> r:x"][..]),
    ];
    let denied = run(checks, &System::host());
    for outcome in &denied {
        assert!(
            matches!(outcome, Outcome::NotRun(reason) if reason.starts_with("commands not allowed")),
            "{denied:?}"
        );
    }
    let allowed = run(checks, &System::host().allow_commands(true));
    assert_eq!(
        allowed[..3],
        [Outcome::Passed, Outcome::Failed, Outcome::Failed]
    );
    assert!(na(&allowed[3]), "{allowed:?}");
}

#[test]
fn processes_on_the_running_host() {
    // This test process itself runs: its name is in /proc.
    let me = std::env::current_exe().unwrap();
    let name = me.file_name().unwrap().to_string_lossy().into_owned();
    let rule = format!("p:{name}");
    let results = run(
        &[
            ("all", &[rule.as_str()]),
            ("all", &["p:no-such-process-allclear"]),
        ],
        &System::host(),
    );
    assert_eq!(results, [Outcome::Passed, Outcome::Failed]);
}

#[test]
fn conditions_with_not_applicable() {
    let dir = tree();
    let system = System::rooted(dir.path());
    let pass = "f:/etc/passwd";
    let fail = "f:/etc/missing";
    let na_rule = "f:/etc/missing -> r:x";
    let results = run(
        &[
            ("all", &[pass, pass]),
            ("all", &[pass, na_rule]),
            ("all", &[fail, na_rule]),
            ("any", &[pass, fail, na_rule]),
            ("any", &[fail, fail]),
            ("any", &[fail, na_rule]),
            ("none", &[pass, na_rule]),
            ("none", &[fail, na_rule]),
            ("none", &[fail, fail]),
        ],
        &system,
    );
    use Outcome::*;
    assert_eq!(results[0], Passed);
    assert!(na(&results[1]));
    assert_eq!(results[2], Failed);
    assert_eq!(results[3], Passed);
    assert_eq!(results[4], Failed);
    assert!(na(&results[5]));
    assert_eq!(results[6], Failed);
    assert!(na(&results[7]));
    assert_eq!(results[8], Passed);
}

#[test]
fn not_run_rules_never_decide_a_check_they_could_change() {
    let system = System::host();
    let command = "c:echo x -> r:x";
    let results = run(
        &[
            // Decided without the command: `all` with a failed rule, `any` with a passed one.
            ("all", &["f:/nonexistent-allclear", command]),
            ("any", &["f:/etc/passwd", command]),
            // Not decided: the command could change the result.
            ("all", &["f:/etc/passwd", command]),
            ("none", &["f:/nonexistent-allclear", command]),
        ],
        &system,
    );
    assert_eq!(results[..2], [Outcome::Failed, Outcome::Passed]);
    assert!(matches!(results[2], Outcome::NotRun(_)), "{results:?}");
    assert!(matches!(results[3], Outcome::NotRun(_)), "{results:?}");
}

#[test]
fn bad_rules_and_unreadable_files_are_errors_for_their_check_only() {
    let dir = tree();
    let system = System::rooted(dir.path());
    let results = run(
        &[
            ("all", &[r"f:$sshd -> r:(unclosed"]),
            ("all", &["x:/etc/passwd"]),
            ("all", &["f:/etc/loop-a -> r:x"]),
            ("all", &["f:/etc/passwd"]),
            // Unreadable never passes, whatever the condition or negation.
            ("none", &["f:/etc/loop-a -> r:x"]),
            ("all", &["not f:/etc/loop-a -> r:x"]),
        ],
        &system,
    );
    for (index, outcome) in results.iter().enumerate() {
        if index == 3 {
            assert_eq!(*outcome, Outcome::Passed);
            continue;
        }
        assert!(matches!(outcome, Outcome::Error(_)), "{index}: {outcome:?}");
    }
    assert!(
        results[0].reason().unwrap().contains("check 1"),
        "{:?}",
        results[0]
    );
    assert!(
        results[2].reason().unwrap().contains("symlinks"),
        "{:?}",
        results[2]
    );
}

#[test]
fn unmet_requirements_skip_the_policy() {
    let dir = tree();
    let text = format!(
        "policy: {{id: t, name: T, description: d}}\nrequirements:\n  title: Debian\n  description: d\n  condition: all\n  rules:\n    - 'f:/etc/debian_version'\n    - 'f:/proc/sys/kernel/ostype -> r:Linux'\nchecks:\n{}",
        check(1, "all", &["f:/etc/passwd"])
    );
    let policy = load_policy(&text, "t.yml").unwrap();
    let result = evaluate_policy(&policy, &System::rooted(dir.path()));
    assert!(
        result.skipped.as_deref().unwrap().contains("not met"),
        "{result:?}"
    );
    assert!(matches!(result.checks[0].outcome, Outcome::NotRun(_)));
    // The /proc requirement describes the auditing host: left out under --root, and said.
    assert!(
        result
            .notes
            .iter()
            .any(|n| n.contains("/proc/sys/kernel/ostype"))
    );

    fs_err::write(dir.path().join("etc/debian_version"), "12.5\n").unwrap();
    let result = evaluate_policy(&policy, &System::rooted(dir.path()));
    assert_eq!(result.skipped, None);
    assert_eq!(result.checks[0].outcome, Outcome::Passed);
}
