//! Package awareness: dpkg's records turn upgrades into low-severity package updates, and
//! `verify_packages` works with no baseline.

use std::path::Path;

use allclear_core::Severity;
use allclear_fim::{Category, ChangeKind, CheckOptions, FimConfig, VerifyOptions, verify_packages};

use crate::{change_at, fixtures};

/// MD5 of "hello 2.11\n", the upgraded content (computed with md5sum).
const HELLO_211_MD5: &str = "4bcb1b4fe79f28a934101e7b7a2e3e00";

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fake host: a root tree with /usr, its own dpkg database and log.
struct Host {
    root: tempfile::TempDir,
    dpkg: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let host = Host {
            root: tempfile::tempdir().unwrap(),
            dpkg: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        };
        copy_tree(&fixtures().join("dpkg-root"), host.root.path());
        copy_tree(&fixtures().join("dpkg"), host.dpkg.path());
        std::fs::copy(fixtures().join("dpkg.log"), host.log()).unwrap();
        host
    }

    fn log(&self) -> std::path::PathBuf {
        self.dpkg.path().join("dpkg.log")
    }

    fn config(&self) -> FimConfig {
        let toml = format!(
            "[fim]\ndefaults = false\nroot = {:?}\ndpkg-dir = {:?}\ndpkg-log = {:?}\n\
             [fim.groups.binaries]\npaths = [\"/usr\"]\nattributes = \"static\"\n",
            self.root.path().display().to_string(),
            self.dpkg.path().display().to_string(),
            self.log().display().to_string(),
        );
        FimConfig::from_toml_str(&toml, "test.toml").unwrap()
    }

    fn baseline(&self) -> std::path::PathBuf {
        self.state.path().join("fim.baseline")
    }

    fn file(&self, logical: &str) -> std::path::PathBuf {
        self.root.path().join(logical.trim_start_matches('/'))
    }

    /// What dpkg does on an upgrade: new file renamed into place, new record, log line.
    fn upgrade_hello(&self, content: &str, md5: &str) {
        let new = self.file("/usr/bin/hello.dpkg-new");
        std::fs::write(&new, content).unwrap();
        std::fs::rename(&new, self.file("/usr/bin/hello")).unwrap();
        let records = self.dpkg.path().join("info/hello:amd64.md5sums");
        let text = std::fs::read_to_string(&records).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[0] = format!("{md5}  usr/bin/hello");
        std::fs::write(&records, lines.join("\n") + "\n").unwrap();
        let mut log = std::fs::read_to_string(self.log()).unwrap();
        log.push_str("2099-01-01 00:00:00 upgrade hello:amd64 2.10-3 2.11-1\n");
        std::fs::write(self.log(), log).unwrap();
    }
}

#[test]
fn upgrade_is_a_package_update_and_tampering_is_not() {
    let host = Host::new();
    let config = host.config();
    allclear_fim::init(&config, &host.baseline(), false, None).unwrap();
    host.upgrade_hello("hello 2.11\n", HELLO_211_MD5);
    // A replaced sshd that no package record vouches for.
    std::fs::write(host.file("/usr/bin/sshd"), "sshd with a backdoor\n").unwrap();

    let outcome = allclear_fim::check(&config, &host.baseline(), &CheckOptions::default()).unwrap();
    let hello = change_at(&outcome, b"/usr/bin/hello").unwrap();
    assert_eq!(hello.category, Category::PackageUpdate);
    assert_eq!(hello.severity, Severity::Low);
    assert_eq!(hello.package.as_deref(), Some("hello:amd64"));
    assert_eq!(hello.dpkg_event.as_ref().unwrap().new_version, "2.11-1");
    let finding = hello.to_finding();
    assert_eq!(finding.rule, "fim.package-update");
    assert_eq!(finding.details["package"], "hello:amd64");

    let sshd = change_at(&outcome, b"/usr/bin/sshd").unwrap();
    assert_eq!(sshd.category, Category::Tampering);
    assert_eq!(sshd.severity, Severity::High);
    assert_eq!(sshd.to_finding().rule, "fim.changed");
    // /usr/bin changed only because hello was replaced: explained, not reported.
    assert!(
        change_at(&outcome, b"/usr/bin").is_none(),
        "{:#?}",
        outcome.changes
    );
}

#[test]
fn content_that_matches_an_old_record_only_is_tampering() {
    let host = Host::new();
    let config = host.config();
    allclear_fim::init(&config, &host.baseline(), false, None).unwrap();
    // The record says 2.11 but the file holds something else.
    host.upgrade_hello("hello 2.11 (patched by someone)\n", HELLO_211_MD5);
    let outcome = allclear_fim::check(&config, &host.baseline(), &CheckOptions::default()).unwrap();
    assert_eq!(
        change_at(&outcome, b"/usr/bin/hello").unwrap().category,
        Category::Tampering
    );
}

#[test]
fn reinstall_needs_the_log_but_touch_does_not_pass() {
    let host = Host::new();
    let config = host.config();
    allclear_fim::init(&config, &host.baseline(), false, None).unwrap();
    // Same content, new inode, no log entry: not vouched for.
    let hello = host.file("/usr/bin/hello");
    let content = std::fs::read(&hello).unwrap();
    std::fs::remove_file(&hello).unwrap();
    std::fs::write(&hello, &content).unwrap();
    let outcome = allclear_fim::check(&config, &host.baseline(), &CheckOptions::default()).unwrap();
    assert_eq!(
        change_at(&outcome, b"/usr/bin/hello").unwrap().category,
        Category::Tampering
    );

    // dpkg re-creates the package's symlink too (same target).
    std::fs::remove_file(host.file("/usr/bin/hi")).unwrap();
    std::os::unix::fs::symlink("hello", host.file("/usr/bin/hi")).unwrap();
    let outcome = allclear_fim::check(&config, &host.baseline(), &CheckOptions::default()).unwrap();
    assert_eq!(
        change_at(&outcome, b"/usr/bin/hi").unwrap().category,
        Category::Tampering
    );

    // `apt-get install --reinstall hello` logs an install; now both are package updates.
    let mut log = std::fs::read_to_string(host.log()).unwrap();
    log.push_str("2099-01-01 00:00:00 upgrade hello:amd64 2.10-3 2.10-3\n");
    std::fs::write(host.log(), log).unwrap();
    let outcome = allclear_fim::check(&config, &host.baseline(), &CheckOptions::default()).unwrap();
    assert_eq!(
        change_at(&outcome, b"/usr/bin/hello").unwrap().category,
        Category::PackageUpdate
    );
    let hi = change_at(&outcome, b"/usr/bin/hi").unwrap();
    assert_eq!(hi.category, Category::PackageUpdate, "{hi:?}");
    assert_eq!(hi.package.as_deref(), Some("hello:amd64"));

    // A symlink pointed elsewhere stays suspicious whatever the log says.
    std::fs::remove_file(host.file("/usr/bin/hi")).unwrap();
    std::os::unix::fs::symlink("/tmp/evil", host.file("/usr/bin/hi")).unwrap();
    let outcome = allclear_fim::check(&config, &host.baseline(), &CheckOptions::default()).unwrap();
    assert_eq!(
        change_at(&outcome, b"/usr/bin/hi").unwrap().category,
        Category::Tampering
    );
}

#[test]
fn permission_change_stays_suspicious_even_with_matching_content() {
    use std::os::unix::fs::PermissionsExt;
    let host = Host::new();
    let config = host.config();
    allclear_fim::init(&config, &host.baseline(), false, None).unwrap();
    host.upgrade_hello("hello 2.11\n", HELLO_211_MD5);
    std::fs::set_permissions(
        host.file("/usr/bin/hello"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    let outcome = allclear_fim::check(&config, &host.baseline(), &CheckOptions::default()).unwrap();
    let hello = change_at(&outcome, b"/usr/bin/hello").unwrap();
    assert_eq!(hello.category, Category::Tampering);
    assert!(hello.attrs.iter().any(|a| a.attr.name() == "perms"));
}

#[test]
fn added_packaged_file_is_a_package_update() {
    let host = Host::new();
    let config = host.config();
    std::fs::remove_file(host.file("/usr/bin/sshd")).unwrap();
    allclear_fim::init(&config, &host.baseline(), false, None).unwrap();
    std::fs::copy(
        fixtures().join("dpkg-root/usr/bin/sshd"),
        host.file("/usr/bin/sshd"),
    )
    .unwrap();
    let outcome = allclear_fim::check(&config, &host.baseline(), &CheckOptions::default()).unwrap();
    let sshd = change_at(&outcome, b"/usr/bin/sshd").unwrap();
    assert_eq!(sshd.kind, ChangeKind::Added);
    assert_eq!(sshd.category, Category::PackageUpdate);
}

#[test]
fn verify_packages_without_baseline() {
    let host = Host::new();
    let options = VerifyOptions {
        dpkg_dir: host.dpkg.path().to_owned(),
        root: host.root.path().to_owned(),
        packages: Vec::new(),
    };
    let clean = verify_packages(&options).unwrap();
    assert_eq!(clean.packages, 2);
    assert_eq!(clean.files_checked, 4);
    // The fixture lists one file that was never installed.
    assert_eq!(clean.findings.len(), 1);
    assert_eq!(clean.findings[0].rule, "fim.package-missing");
    assert_eq!(
        clean.findings[0].location.path,
        "/usr/share/doc/hello/MISSING"
    );

    std::fs::write(host.file("/usr/bin/sshd"), "replaced\n").unwrap();
    std::fs::remove_file(host.file("/usr/share/doc/hello/README")).unwrap();
    std::os::unix::fs::symlink("/bin/true", host.file("/usr/share/doc/hello/README")).unwrap();
    let outcome = verify_packages(&options).unwrap();
    let rules: Vec<(&str, &str)> = outcome
        .findings
        .iter()
        .map(|f| (f.location.path.as_str(), f.rule.as_str()))
        .collect();
    assert_eq!(
        rules,
        vec![
            ("/usr/bin/sshd", "fim.package-modified"),
            ("/usr/share/doc/hello/MISSING", "fim.package-missing"),
            ("/usr/share/doc/hello/README", "fim.package-modified"),
        ]
    );
    let sshd = &outcome.findings[0];
    assert_eq!(sshd.severity, Severity::High);
    assert_eq!(sshd.details["package"], "openssh-server");
    assert_eq!(
        sshd.fix.as_ref().unwrap().command.as_deref(),
        Some("apt-get install --reinstall openssh-server")
    );

    let only = verify_packages(&VerifyOptions {
        packages: vec!["hello".into()],
        ..options.clone()
    })
    .unwrap();
    assert_eq!(only.packages, 1);
    assert!(
        only.findings
            .iter()
            .all(|f| f.details["package"] == "hello:amd64")
    );

    let missing = verify_packages(&VerifyOptions {
        dpkg_dir: host.root.path().join("nope"),
        ..options
    });
    assert!(matches!(
        missing,
        Err(allclear_fim::DpkgError::NotADpkgDatabase { .. })
    ));
}

#[test]
fn diversions_are_followed() {
    let host = Host::new();
    // A local diversion moved the package's sshd aside; another file sits in its place.
    std::fs::rename(
        host.file("/usr/bin/sshd"),
        host.file("/usr/bin/sshd.distrib"),
    )
    .unwrap();
    std::fs::write(host.file("/usr/bin/sshd"), "local wrapper\n").unwrap();
    std::fs::write(
        host.dpkg.path().join("diversions"),
        "/usr/bin/sshd\n/usr/bin/sshd.distrib\n:\n",
    )
    .unwrap();
    let outcome = verify_packages(&VerifyOptions {
        dpkg_dir: host.dpkg.path().to_owned(),
        root: host.root.path().to_owned(),
        packages: vec!["openssh-server".into()],
    })
    .unwrap();
    assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
}
