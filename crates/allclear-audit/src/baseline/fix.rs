//! Safe automatic fixes for failed baseline checks, as a plan (`--fix --dry-run`).
//!
//! Only changes that cannot lock anyone out or stop a service are planned: file modes and
//! owners, and sysctl and sshd settings written as drop-in files that the distribution's
//! configuration already reads. Anything else (a firewall, mounts, packages) is left to a
//! person and has no plan.

use crate::eval::{CheckResult, Outcome};
use crate::system::System;

/// One change a fix would make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFix {
    /// The baseline check it fixes.
    pub check: String,
    /// What would change, as a person would do it (a command, or a file and its content).
    pub change: String,
}

/// The drop-in file sysctl fixes go to.
pub const SYSCTL_DROP_IN: &str = "/etc/sysctl.d/60-allclear-hardening.conf";
/// The drop-in file sshd fixes go to (read first: sshd uses the first value it sees).
pub const SSHD_DROP_IN: &str = "/etc/ssh/sshd_config.d/00-allclear-hardening.conf";

/// Plans the safe fixes for the failed checks among `results`.
pub fn plan_fixes(system: &System, results: &[CheckResult]) -> Vec<PlannedFix> {
    let root = system
        .root()
        .map(|r| r.display().to_string())
        .unwrap_or_default();
    let sshd_reads_drop_ins = system
        .read("/etc/ssh/sshd_config")
        .ok()
        .flatten()
        .is_some_and(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .take(1)
                .any(|first| first.starts_with("Include /etc/ssh/sshd_config.d/"))
        });
    let mut plans = Vec::new();
    for result in results.iter().filter(|r| r.outcome == Outcome::Failed) {
        let id = result.check.id.as_str();
        let mode = |path: &str, owner: &str, mode: &str| {
            Some(format!(
                "chown {owner} {root}{path} && chmod {mode} {root}{path}"
            ))
        };
        let sysctl = |lines: &[&str]| {
            Some(format!(
                "add to {root}{SYSCTL_DROP_IN}: {}",
                lines.join("; ")
            ))
        };
        let sshd = |line: &str| {
            sshd_reads_drop_ins.then(|| format!("add to {root}{SSHD_DROP_IN}: {line}"))
        };
        let change = match id {
            "perm-shadow" => mode("/etc/shadow", "root:shadow", "0640"),
            "perm-passwd" => mode("/etc/passwd", "root:root", "0644"),
            "perm-sshd-config" => mode("/etc/ssh/sshd_config", "root:root", "0600"),
            "perm-sudoers" => mode("/etc/sudoers", "root:root", "0440"),
            "sysctl-aslr" => sysctl(&["kernel.randomize_va_space = 2"]),
            "sysctl-redirects" => sysctl(&[
                "net.ipv4.conf.all.accept_redirects = 0",
                "net.ipv4.conf.all.send_redirects = 0",
            ]),
            "sysctl-syncookies" => sysctl(&["net.ipv4.tcp_syncookies = 1"]),
            "sysctl-suid-dumpable" => sysctl(&["fs.suid_dumpable = 0"]),
            // Root login off cannot lock out key-based admins; password logins off could, so
            // that one stays manual.
            "ssh-root-login" => sshd("PermitRootLogin no"),
            "ssh-empty-passwords" => sshd("PermitEmptyPasswords no"),
            "ssh-x11-forwarding" => sshd("X11Forwarding no"),
            "ssh-max-auth-tries" => sshd("MaxAuthTries 4"),
            _ => None,
        };
        if let Some(change) = change {
            plans.push(PlannedFix {
                check: id.to_owned(),
                change,
            });
        }
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_only_safe_fixes_and_only_for_failed_checks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs_err::create_dir_all(root.join("etc/ssh")).unwrap();
        fs_err::write(
            root.join("etc/ssh/sshd_config"),
            "# comment\nInclude /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nPasswordAuthentication yes\n",
        )
        .unwrap();
        fs_err::write(root.join("etc/fstab"), "").unwrap();
        let system = System::rooted(root);
        let results = crate::run_baseline(&system);
        let plans = plan_fixes(&system, &results);
        let ids: Vec<&str> = plans.iter().map(|p| p.check.as_str()).collect();
        assert!(ids.contains(&"ssh-root-login"), "{plans:?}");
        assert!(ids.contains(&"perm-sshd-config"), "{plans:?}");
        assert!(ids.contains(&"sysctl-redirects"), "{plans:?}");
        // Failed, but not safe to fix automatically.
        assert!(!ids.contains(&"ssh-password-auth"));
        assert!(!ids.contains(&"mount-tmp"));
        let root_login = plans.iter().find(|p| p.check == "ssh-root-login").unwrap();
        assert!(
            root_login
                .change
                .ends_with("00-allclear-hardening.conf: PermitRootLogin no")
        );
        for plan in &plans {
            let result = results.iter().find(|r| r.check.id == plan.check).unwrap();
            assert_eq!(result.outcome, Outcome::Failed);
        }
    }
}
