//! `allclear host fim` through the binary: exit codes and hints a person copies.

use crate::{allclear, stderr, stdout, text};

/// A tree, a policy whose [fim] watches it, and a baseline path beside them.
struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tree")).unwrap();
        std::fs::write(dir.path().join("tree/a.conf"), "a = 1\n").unwrap();
        let policy = format!(
            "[fim]\ndefaults = false\ndpkg-dir = \"\"\n[fim.groups.tree]\npaths = [{:?}]\n\
             attributes = [\"static\"]\n",
            dir.path().join("tree").display().to_string()
        );
        std::fs::write(dir.path().join("policy.toml"), policy).unwrap();
        Host { dir }
    }

    fn fim(&self, args: &[&str]) -> std::process::Output {
        allclear()
            .current_dir(self.dir.path())
            .args(["host", "fim"])
            .args(&args[..1])
            .args(["--config", "policy.toml", "--baseline", "fim.baseline"])
            .args(&args[1..])
            .output()
            .unwrap()
    }
}

#[test]
fn update_exits_0_once_it_has_accepted_the_changes() {
    let host = Host::new();
    let output = host.fim(&["init"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    std::fs::write(host.dir.path().join("tree/a.conf"), "a = 2, longer\n").unwrap();
    let output = host.fim(&["check"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let output = host.fim(&["update"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        stdout(&output).contains("accepted into fim.baseline"),
        "{}",
        text(&output)
    );
    let output = host.fim(&["check"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

#[test]
fn hints_repeat_the_config_and_baseline_given() {
    let host = Host::new();
    let output = host.fim(&["check"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        stderr(&output).contains(
            "hint: record one first with `allclear host fim init --config policy.toml --baseline fim.baseline`"
        ),
        "{}",
        text(&output)
    );
    host.fim(&["init"]);
    let output = host.fim(&["init"]);
    assert!(
        stderr(&output).contains(
            "`allclear host fim init --config policy.toml --baseline fim.baseline --force`"
        ),
        "{}",
        text(&output)
    );
    std::fs::write(host.dir.path().join("tree/new.conf"), "new\n").unwrap();
    let output = host.fim(&["check"]);
    assert!(
        stdout(&output)
            .contains("`allclear host fim update --config policy.toml --baseline fim.baseline /"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_misspelt_section_in_the_host_policy_is_an_error() {
    let host = Host::new();
    let policy = host.dir.path().join("policy.toml");
    let misspelt = std::fs::read_to_string(&policy)
        .unwrap()
        .replace("[fim", "[fmi");
    std::fs::write(&policy, misspelt).unwrap();
    let output = host.fim(&["init"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let err = stderr(&output);
    assert!(
        err.contains("policy.toml:1: unknown section `fmi`"),
        "{err}"
    );
    assert!(err.contains("hint: did you mean `fim`?"), "{err}");
}
