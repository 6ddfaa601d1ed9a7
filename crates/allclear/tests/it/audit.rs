//! `allclear host audit`: SCA policies on a tree under --root, exit codes, formats, and
//! what the report says about checks that did not run.

use std::path::Path;

use crate::{allclear, shared};

const POLICY: &str = r#"
policy:
  id: "web"
  file: "web.yml"
  name: "Web server"
  description: "test policy"
checks:
  - id: 100
    title: "Root login over SSH is off"
    rationale: "Root is the one account every attacker tries."
    remediation: "Set PermitRootLogin no in /etc/ssh/sshd_config."
    compliance:
      - cis: ["5.1.20"]
      - nist_800_53: ["AC-6(2)"]
    condition: all
    rules:
      - 'f:/etc/ssh/sshd_config -> r:^PermitRootLogin\s+no'
  - id: 101
    title: "sshd runs"
    condition: all
    rules:
      - 'p:sshd'
  - id: 102
    title: "Firewall rules loaded"
    condition: all
    rules:
      - 'c:nft list ruleset -> r:policy drop'
  - id: 103
    title: "Bad regex"
    condition: all
    rules:
      - 'f:/etc/passwd -> r:(unclosed'
  - id: 104
    title: "No empty passwords"
    condition: none
    rules:
      - 'f:/etc/shadow -> r:^\w+::'
"#;

fn tree(permit_root: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs_err::create_dir_all(root.join("etc/ssh")).unwrap();
    fs_err::write(
        root.join("etc/ssh/sshd_config"),
        format!("PermitRootLogin {permit_root}\n"),
    )
    .unwrap();
    fs_err::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/bash\n").unwrap();
    fs_err::write(root.join("etc/shadow"), "root:$y$j9T$abc:19000::::::\n").unwrap();
    // An absolute symlink that must resolve inside the tree, not to the host's file.
    std::os::unix::fs::symlink("/etc/ssh/sshd_config", root.join("etc/sshd-link")).unwrap();
    dir
}

fn write_policy(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("web.yml");
    fs_err::write(&path, text).unwrap();
    path
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn failed_checks_are_findings_and_the_rest_is_counted() {
    let root = tree("yes");
    let policies = tempfile::tempdir().unwrap();
    let policy = write_policy(policies.path(), POLICY);
    let output = allclear()
        .args(["host", "audit", "--format", "json", "--policy"])
        .arg(&policy)
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    // The bad regex is an error for check 103: exit 2, the other checks still ran.
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let report = json(&output);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    let finding = &findings[0];
    assert_eq!(finding["rule"], "audit.web.100");
    assert_eq!(finding["title"], "Root login over SSH is off");
    assert_eq!(
        finding["fix"]["advice"],
        "Set PermitRootLogin no in /etc/ssh/sshd_config."
    );
    assert!(
        finding["description"]
            .as_str()
            .unwrap()
            .contains("Root is the one account")
    );
    assert_eq!(
        finding["details"]["compliance"]["nist_800_53"][0],
        "AC-6(2)"
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]["message"].as_str().unwrap().contains("check 103"),
        "{errors:?}"
    );
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.contains(
            &"audit: 5 checks: 1 passed, 1 failed, 2 not applicable, 0 not run, 1 errors"
        ),
        "{warnings:#?}"
    );
    // Processes and commands describe the running host: not applicable under --root.
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("101") && w.contains("--root")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("102") && w.contains("not applicable")),
        "{warnings:#?}"
    );
}

#[test]
fn a_hardened_tree_passes_and_exits_0() {
    let root = tree("no");
    let policies = tempfile::tempdir().unwrap();
    let only_files = POLICY.split("  - id: 101").next().unwrap().to_owned();
    let policy = write_policy(policies.path(), &only_files);
    let output = allclear()
        .args(["host", "audit", "--policy"])
        .arg(&policy)
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("audit: 1 checks: 1 passed, 0 failed"),
        "{stdout}"
    );
}

#[test]
fn commands_need_permission_and_never_pass_without_it() {
    let policies = tempfile::tempdir().unwrap();
    let policy = write_policy(
        policies.path(),
        r#"
policy: {id: cmd, name: C, description: d}
checks:
  - id: 1
    title: "echo says hello"
    condition: all
    rules: ['c:echo hello -> r:^hello']
  - id: 2
    title: "echo says bye"
    condition: all
    rules: ['c:echo hello -> r:^bye']
"#,
    );
    let denied = allclear()
        .args(["host", "audit", "--format", "json", "--policy"])
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(denied.status.code(), Some(0), "{denied:?}");
    let report = json(&denied);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    let text = report["warnings"].to_string();
    assert!(
        text.contains("0 passed, 0 failed, 0 not applicable, 2 not run"),
        "{text}"
    );
    assert!(text.contains("--allow-commands"), "{text}");

    let allowed = allclear()
        .args([
            "host",
            "audit",
            "--format",
            "json",
            "--allow-commands",
            "--policy",
        ])
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(allowed.status.code(), Some(1), "{allowed:?}");
    let report = json(&allowed);
    assert_eq!(report["findings"][0]["rule"], "audit.cmd.2");

    // The policy file (allclear.toml) can allow them too; the SCA policy itself cannot.
    let config = policies.path().join("allclear.toml");
    fs_err::write(&config, "[audit]\nallow-commands = true\n").unwrap();
    let output = allclear()
        .args(["host", "audit", "--format", "json", "--policy"])
        .arg(&policy)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}

#[test]
fn every_format_renders() {
    let root = tree("yes");
    let policies = tempfile::tempdir().unwrap();
    let policy = write_policy(policies.path(), POLICY.split("  - id: 101").next().unwrap());
    for (format, needle) in [
        ("human", "audit.web.100"),
        ("markdown", "audit.web.100"),
        ("sarif", "\"ruleId\": \"audit.web.100\""),
    ] {
        let output = allclear()
            .args(["host", "audit", "--format", format, "--policy"])
            .arg(&policy)
            .arg("--root")
            .arg(root.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{format}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains(needle), "{format}: {stdout}");
    }
}

#[test]
fn bad_input_is_an_error_with_a_hint() {
    let output = allclear()
        .args(["host", "audit", "--root", "/nonexistent-allclear-root"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a directory") && stderr.contains("hint:"),
        "{stderr}"
    );

    let policies = tempfile::tempdir().unwrap();
    let policy = write_policy(policies.path(), "policy: [not, a, map]\n");
    let output = allclear()
        .args(["host", "audit", "--format", "json", "--policy"])
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let report = json(&output);
    assert!(
        report["errors"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("web.yml")
    );
}

#[test]
fn the_published_debian_policy_runs_on_a_tree() {
    let Some(policy) = shared("conformance/sca/cis_debian12.yml") else {
        return;
    };
    let root = tree("yes");
    fs_err::write(root.path().join("etc/debian_version"), "12.8\n").unwrap();
    fs_err::write(
        root.path().join("etc/os-release"),
        "NAME=\"Debian GNU/Linux\"\nVERSION=\"12 (bookworm)\"\n",
    )
    .unwrap();
    // CIS 1.6.3: the remote login banner must not name the system.
    fs_err::write(root.path().join("etc/issue.net"), "Debian GNU/Linux 12\n").unwrap();
    let output = allclear()
        .args(["host", "audit", "--format", "json", "--policy"])
        .arg(&policy)
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    let report = json(&output);
    let warnings = report["warnings"].to_string();
    // 207 checks, each accounted for; none passes by default.
    assert!(warnings.contains("audit: 207 checks"), "{warnings}");
    // Its /proc requirement describes the host: left out, and said.
    assert!(warnings.contains("/proc/sys/kernel/ostype"), "{warnings}");
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"audit.cis_debian12.33050"), "{rules:?}");
    // 5.4.2.1: root is UID 0 in the tree's passwd: passed, so not a finding.
    assert!(!rules.contains(&"audit.cis_debian12.33214"), "{rules:?}");
    // Commands describe the running host: not applicable under --root, never passed.
    assert!(
        warnings.contains("commands describe the running host"),
        "{warnings}"
    );
}

/// The default and hardened Debian trees: debootstrap's, cached by `scripts/debian-trees.sh`
/// when it was run on this machine, else assembled from this host's own files (the same
/// script's `from-host` and `harden`). The test never downloads.
fn debian_trees() -> (
    std::path::PathBuf,
    std::path::PathBuf,
    Option<tempfile::TempDir>,
) {
    let cached = std::env::var_os("DEBIAN_TREES")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/allclear/debian-trees"))
        });
    if let Some(cache) = cached
        && cache.join("default/etc/debian_version").exists()
        && cache.join("hardened/etc/debian_version").exists()
    {
        eprintln!("using the debootstrap trees in {}", cache.display());
        return (cache.join("default"), cache.join("hardened"), None);
    }
    eprintln!(
        "no cached debootstrap trees (scripts/debian-trees.sh): assembling one from this host's files"
    );
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/debian-trees.sh");
    let default = dir.path().join("default");
    let hardened = dir.path().join("hardened");
    let run = |args: &[&std::ffi::OsStr]| {
        let status = std::process::Command::new("bash")
            .arg(&script)
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "{args:?}");
    };
    run(&["from-host".as_ref(), default.as_os_str()]);
    run(&["from-host".as_ref(), hardened.as_os_str()]);
    run(&["harden".as_ref(), hardened.as_os_str()]);
    (default, hardened, Some(dir))
}

/// Failed baseline check ids and the warnings of one audit of `root`.
fn baseline_audit(root: &Path) -> (Vec<String>, Vec<String>) {
    let output = allclear()
        .args(["host", "audit", "--format", "json", "--root"])
        .arg(root)
        .output()
        .unwrap();
    let report = json(&output);
    assert!(
        report["errors"].as_array().is_none_or(|e| e.is_empty()),
        "{root:?}: {:#}",
        report["errors"]
    );
    let failed = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["rule"]
                .as_str()
                .unwrap()
                .trim_start_matches("audit.baseline.")
                .to_owned()
        })
        .collect();
    let warnings = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect();
    (failed, warnings)
}

#[test]
fn the_baseline_tells_a_hardened_debian_tree_from_a_default_one() {
    let (default, hardened, _keep) = debian_trees();
    let (default_failed, _) = baseline_audit(&default);
    let (hardened_failed, hardened_warnings) = baseline_audit(&hardened);
    // Hardening never makes a check fail.
    for id in &hardened_failed {
        assert!(
            default_failed.contains(id),
            "{id} fails only when hardened: {hardened_failed:?}"
        );
    }
    let mut fixed = vec![
        "sysctl-redirects",
        "mount-tmp",
        "mount-dev-shm",
        "firewall-default-deny",
        "log-analysis",
        "file-integrity",
    ];
    if default.join("etc/ssh/sshd_config").exists() {
        // Debian's sshd_config leaves these at OpenSSH's defaults, and is 0644.
        fixed.extend([
            "ssh-root-login",
            "ssh-password-auth",
            "ssh-max-auth-tries",
            "perm-sshd-config",
        ]);
    }
    for id in fixed {
        assert!(
            default_failed.iter().any(|f| f == id),
            "{id} passes on the default tree: {default_failed:?}"
        );
        assert!(
            !hardened_failed.iter().any(|f| f == id),
            "{id} still fails when hardened"
        );
        // Passed, not merely "not applicable": its id is in no not-applicable line.
        assert!(
            !hardened_warnings.iter().any(|w| w
                .split(": ")
                .last()
                .is_some_and(|ids| ids.split(", ").any(|i| i == id))),
            "{id}: {hardened_warnings:#?}"
        );
    }
    // The running kernel is the host's: never judged under --root.
    assert!(
        hardened_warnings
            .iter()
            .any(|w| w.contains("reboot-pending")),
        "{hardened_warnings:#?}"
    );
}

#[test]
fn fix_dry_run_plans_safe_fixes_and_changes_nothing() {
    let root = tree("yes");
    let sshd = root.path().join("etc/ssh/sshd_config");
    fs_err::write(
        &sshd,
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n",
    )
    .unwrap();
    let before = fs_err::read_to_string(&sshd).unwrap();
    let output = allclear()
        .args(["host", "audit", "--fix", "--dry-run", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("00-allclear-hardening.conf: PermitRootLogin no (ssh-root-login)"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing was changed"), "{stdout}");
    assert_eq!(fs_err::read_to_string(&sshd).unwrap(), before);
    assert!(!root.path().join("etc/ssh/sshd_config.d").exists());

    // Applying is not implemented: --fix alone is refused by the argument parser.
    let output = allclear()
        .args(["host", "audit", "--fix"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}
