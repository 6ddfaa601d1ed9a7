//! The built-in baseline for Debian and Ubuntu web servers: typed checks, not shell snippets.
//!
//! Every check reads parsed facts ([`facts::Facts`]) from the [`System`], so the same check
//! works on the running host and on a tree under `--root`; what needs the running host (the
//! running kernel, live mounts) says so under a root. Each check carries its documentation
//! (what, why, an example, the fix) and its CIS, NIST 800-53 and HIPAA references.

mod facts;
mod fix;

pub use fix::{PlannedFix, SSHD_DROP_IN, SYSCTL_DROP_IN, plan_fixes};

use std::collections::BTreeMap;

use crate::eval::{CheckResult, Outcome};
use crate::policy::{Check, Condition};
use crate::system::{Kind, System};

use facts::{Facts, SYSCTL_DEFAULTS};

/// The policy id of the built-in baseline: findings are `audit.baseline.<check>`.
pub const BASELINE_ID: &str = "baseline";

/// What a baseline check is, why it matters and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDoc {
    /// The check id; the finding's rule is `audit.baseline.<id>`.
    pub id: &'static str,
    pub title: &'static str,
    pub what: &'static str,
    pub why: &'static str,
    /// A failing configuration, as a file would show it.
    pub example: &'static str,
    pub fix: &'static str,
    /// CIS Debian Linux 12 Benchmark v1.1.0 recommendation numbers.
    pub cis: &'static [&'static str],
    pub nist_800_53: &'static [&'static str],
    /// HIPAA Security Rule sections (45 CFR).
    pub hipaa: &'static [&'static str],
}

/// The verdict of one baseline check, with the evidence behind it.
struct Verdict {
    outcome: Outcome,
    evidence: Option<String>,
}

type CheckFn = fn(&Facts<'_>) -> Result<Verdict, String>;

struct BaselineCheck {
    doc: RuleDoc,
    run: CheckFn,
}

/// The documentation of every baseline check, in report order.
pub fn rule_docs() -> Vec<RuleDoc> {
    checks().into_iter().map(|check| check.doc).collect()
}

/// Runs the baseline on `system`.
pub fn run_baseline(system: &System) -> Vec<CheckResult> {
    let facts = Facts::new(system);
    checks()
        .into_iter()
        .map(|check| {
            let (outcome, evidence) = match (check.run)(&facts) {
                Ok(verdict) => (verdict.outcome, verdict.evidence),
                Err(message) => (Outcome::Error(message), None),
            };
            CheckResult {
                policy: BASELINE_ID.to_owned(),
                check: as_check(&check.doc),
                outcome,
                evidence,
            }
        })
        .collect()
}

fn as_check(doc: &RuleDoc) -> Check {
    let mut compliance = BTreeMap::new();
    for (framework, ids) in [
        ("cis", doc.cis),
        ("nist_800_53", doc.nist_800_53),
        ("hipaa", doc.hipaa),
    ] {
        if !ids.is_empty() {
            compliance.insert(
                framework.to_owned(),
                ids.iter().map(|id| (*id).to_owned()).collect(),
            );
        }
    }
    Check {
        id: doc.id.to_owned(),
        title: doc.title.to_owned(),
        description: Some(doc.what.to_owned()),
        rationale: Some(doc.why.to_owned()),
        remediation: Some(doc.fix.to_owned()),
        compliance,
        references: Vec::new(),
        condition: Condition::All,
        rules: Ok(Vec::new()),
    }
}

fn passed(evidence: impl Into<String>) -> Result<Verdict, String> {
    Ok(Verdict {
        outcome: Outcome::Passed,
        evidence: Some(evidence.into()),
    })
}

fn failed(evidence: impl Into<String>) -> Result<Verdict, String> {
    Ok(Verdict {
        outcome: Outcome::Failed,
        evidence: Some(evidence.into()),
    })
}

fn not_applicable(reason: impl Into<String>) -> Result<Verdict, String> {
    Ok(Verdict {
        outcome: Outcome::NotApplicable(reason.into()),
        evidence: None,
    })
}

fn verdict(ok: bool, evidence: String) -> Result<Verdict, String> {
    if ok {
        passed(evidence)
    } else {
        failed(evidence)
    }
}

/// Non-comment lines of a file, with their line numbers.
fn setting_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#') && !line.starts_with(';'))
}

// ---------------------------------------------------------------------------------------
// sshd

fn sshd_setting(
    facts: &Facts<'_>,
    keyword: &str,
    default: &str,
    ok: fn(&str) -> bool,
) -> Result<Verdict, String> {
    let Some(sshd) = facts.sshd()? else {
        return not_applicable("no /etc/ssh/sshd_config (openssh-server not installed)");
    };
    let (value, from) = sshd
        .get(keyword)
        .map(|(v, f)| (v.to_owned(), f.to_owned()))
        .unwrap_or_else(|| {
            (
                default.to_owned(),
                format!("OpenSSH's default ({})", sshd.source),
            )
        });
    verdict(
        ok(&value.to_ascii_lowercase()),
        format!("{keyword} {value} ({from})"),
    )
}

fn ssh_root_login(facts: &Facts<'_>) -> Result<Verdict, String> {
    sshd_setting(facts, "permitrootlogin", "prohibit-password", |v| v == "no")
}

fn ssh_password_auth(facts: &Facts<'_>) -> Result<Verdict, String> {
    sshd_setting(facts, "passwordauthentication", "yes", |v| v == "no")
}

fn ssh_empty_passwords(facts: &Facts<'_>) -> Result<Verdict, String> {
    sshd_setting(facts, "permitemptypasswords", "no", |v| v == "no")
}

fn ssh_x11(facts: &Facts<'_>) -> Result<Verdict, String> {
    sshd_setting(facts, "x11forwarding", "no", |v| v == "no")
}

fn ssh_max_auth_tries(facts: &Facts<'_>) -> Result<Verdict, String> {
    sshd_setting(facts, "maxauthtries", "6", |v| {
        v.parse::<u32>().is_ok_and(|n| n <= 4)
    })
}

// ---------------------------------------------------------------------------------------
// sysctl

fn sysctl_is(facts: &Facts<'_>, key: &str, wanted: &str) -> Result<Verdict, String> {
    let sysctl = facts.sysctl()?;
    let (value, from) = match sysctl.values.get(key) {
        Some((value, from)) => (value.clone(), from.clone()),
        None if sysctl.live => {
            return not_applicable(format!("/proc/sys has no {key} on this kernel"));
        }
        None => {
            let default = SYSCTL_DEFAULTS
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .unwrap_or("unset");
            (
                default.to_owned(),
                "the kernel's default: nothing sets it".to_owned(),
            )
        }
    };
    verdict(value == wanted, format!("{key} = {value} ({from})"))
}

fn sysctl_aslr(facts: &Facts<'_>) -> Result<Verdict, String> {
    sysctl_is(facts, "kernel.randomize_va_space", "2")
}
fn sysctl_forwarding(facts: &Facts<'_>) -> Result<Verdict, String> {
    sysctl_is(facts, "net.ipv4.ip_forward", "0")
}
fn sysctl_redirects(facts: &Facts<'_>) -> Result<Verdict, String> {
    let accept = sysctl_is(facts, "net.ipv4.conf.all.accept_redirects", "0")?;
    if accept.outcome != Outcome::Passed {
        return Ok(accept);
    }
    sysctl_is(facts, "net.ipv4.conf.all.send_redirects", "0")
}
fn sysctl_syncookies(facts: &Facts<'_>) -> Result<Verdict, String> {
    sysctl_is(facts, "net.ipv4.tcp_syncookies", "1")
}
fn sysctl_suid_dumpable(facts: &Facts<'_>) -> Result<Verdict, String> {
    sysctl_is(facts, "fs.suid_dumpable", "0")
}

// ---------------------------------------------------------------------------------------
// files and accounts

/// Mode and owner of `path`: mode at most `max_mode` (no bit outside it), owner uid 0, group
/// one of `groups` (names looked up in the audited system's /etc/group).
fn file_mode(
    facts: &Facts<'_>,
    path: &str,
    max_mode: u32,
    groups: &[&str],
) -> Result<Verdict, String> {
    use std::os::unix::fs::MetadataExt;
    let system = facts.system;
    if system.kind(path).map_err(|e| facts::error_text(&e))? == Kind::Missing {
        return not_applicable(format!("{path} does not exist"));
    }
    let real = system.resolve(path).map_err(|e| facts::error_text(&e))?;
    let meta = fs_err::metadata(&real).map_err(|e| e.to_string())?;
    let mode = meta.mode() & 0o7777;
    let group_names = group_names(facts)?;
    let group = group_names
        .get(&meta.gid())
        .cloned()
        .unwrap_or_else(|| meta.gid().to_string());
    let ok = mode & !max_mode == 0 && meta.uid() == 0 && groups.contains(&group.as_str());
    verdict(
        ok,
        format!(
            "{path}: mode {mode:04o} (at most {max_mode:04o}), owner uid {}, group {group} (expected {})",
            meta.uid(),
            groups.join(" or ")
        ),
    )
}

fn group_names(facts: &Facts<'_>) -> Result<BTreeMap<u32, String>, String> {
    let text = facts.read("/etc/group")?.unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let gid = fields.nth(1)?.parse().ok()?;
            Some((gid, name.to_owned()))
        })
        .collect())
}

fn shadow_mode(facts: &Facts<'_>) -> Result<Verdict, String> {
    file_mode(facts, "/etc/shadow", 0o640, &["root", "shadow"])
}
fn passwd_mode(facts: &Facts<'_>) -> Result<Verdict, String> {
    file_mode(facts, "/etc/passwd", 0o644, &["root"])
}
fn sshd_config_mode(facts: &Facts<'_>) -> Result<Verdict, String> {
    file_mode(facts, "/etc/ssh/sshd_config", 0o600, &["root"])
}
fn sudoers_mode(facts: &Facts<'_>) -> Result<Verdict, String> {
    file_mode(facts, "/etc/sudoers", 0o440, &["root"])
}

fn uid0_accounts(facts: &Facts<'_>) -> Result<Verdict, String> {
    let Some(text) = facts.read("/etc/passwd")? else {
        return not_applicable("/etc/passwd does not exist");
    };
    let others: Vec<&str> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let uid = fields.nth(1)?;
            (uid == "0" && name != "root").then_some(name)
        })
        .collect();
    if others.is_empty() {
        passed("root is the only account with UID 0")
    } else {
        failed(format!("UID 0 besides root: {}", others.join(", ")))
    }
}

fn empty_passwords(facts: &Facts<'_>) -> Result<Verdict, String> {
    let Some(text) = facts.read("/etc/shadow")? else {
        return not_applicable("/etc/shadow does not exist");
    };
    let empty: Vec<&str> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let hash = fields.next()?;
            hash.is_empty().then_some(name)
        })
        .collect();
    if empty.is_empty() {
        passed("no account in /etc/shadow has an empty password")
    } else {
        failed(format!("empty password: {}", empty.join(", ")))
    }
}

fn pam_hashing(facts: &Facts<'_>) -> Result<Verdict, String> {
    let path = "/etc/pam.d/common-password";
    let Some(text) = facts.read(path)? else {
        return not_applicable(format!("{path} does not exist"));
    };
    let unix = setting_lines(&text).find(|(_, line)| line.contains("pam_unix.so"));
    let Some((number, line)) = unix else {
        return failed(format!("{path}: no pam_unix.so line"));
    };
    let strong = line
        .split_whitespace()
        .any(|word| matches!(word, "sha512" | "yescrypt"));
    let weak = line
        .split_whitespace()
        .any(|word| matches!(word, "md5" | "bigcrypt" | "sha256" | "blowfish"));
    verdict(strong && !weak, format!("{path}:{number}: {line}"))
}

fn sudo_nopasswd(facts: &Facts<'_>) -> Result<Verdict, String> {
    let mut files = vec!["/etc/sudoers".to_owned()];
    files.extend(facts.files_in("/etc/sudoers.d", "")?);
    let mut seen_any = false;
    let mut offending = Vec::new();
    for file in &files {
        let Some(text) = facts.read(file)? else {
            continue;
        };
        seen_any = true;
        for (number, line) in setting_lines(&text) {
            if line.contains("NOPASSWD") || line.contains("!authenticate") {
                offending.push(format!("{file}:{number}: {line}"));
            }
        }
    }
    if !seen_any {
        return not_applicable("sudo is not configured (no /etc/sudoers)");
    }
    if offending.is_empty() {
        passed("no NOPASSWD or !authenticate in sudoers")
    } else {
        failed(offending.join("; "))
    }
}

// ---------------------------------------------------------------------------------------
// packages and services

fn packages_removed(facts: &Facts<'_>) -> Result<Verdict, String> {
    const UNWANTED: &[&str] = &[
        "telnetd",
        "inetutils-telnetd",
        "rsh-server",
        "rsh-redone-server",
        "nis",
        "tftpd-hpa",
        "xinetd",
        "talkd",
        "prelink",
    ];
    let Some(installed) = facts.packages()? else {
        return not_applicable("no dpkg database (/var/lib/dpkg/status): not Debian or Ubuntu");
    };
    let found: Vec<&str> = UNWANTED
        .iter()
        .copied()
        .filter(|p| installed.contains(*p))
        .collect();
    if found.is_empty() {
        passed(format!("none of {} installed", UNWANTED.join(", ")))
    } else {
        failed(format!("installed: {}", found.join(", ")))
    }
}

fn unattended_upgrades(facts: &Facts<'_>) -> Result<Verdict, String> {
    let Some(installed) = facts.packages()? else {
        return not_applicable("no dpkg database (/var/lib/dpkg/status): not Debian or Ubuntu");
    };
    if !installed.contains("unattended-upgrades") {
        return failed("unattended-upgrades is not installed");
    }
    let mut files = facts.files_in("/etc/apt/apt.conf.d", "")?;
    files.sort();
    let mut enabled = None;
    for file in &files {
        let Some(text) = facts.read(file)? else {
            continue;
        };
        for (number, line) in setting_lines(&text) {
            if line.starts_with("APT::Periodic::Unattended-Upgrade") {
                // apt reads the files in order; the last setting wins.
                enabled = Some((line.contains("\"1\""), format!("{file}:{number}: {line}")));
            }
        }
    }
    match enabled {
        Some((ok, evidence)) => verdict(ok, evidence),
        None => failed("APT::Periodic::Unattended-Upgrade is not set in /etc/apt/apt.conf.d"),
    }
}

fn any_enabled<'a>(facts: &Facts<'_>, units: &'a [&'a str]) -> Result<Option<&'a str>, String> {
    let enabled = facts.enabled_units()?;
    Ok(units.iter().copied().find(|unit| enabled.contains(*unit)))
}

fn time_sync(facts: &Facts<'_>) -> Result<Verdict, String> {
    const UNITS: &[&str] = &[
        "systemd-timesyncd.service",
        "chrony.service",
        "chronyd.service",
        "ntp.service",
        "ntpsec.service",
        "openntpd.service",
    ];
    match any_enabled(facts, UNITS)? {
        Some(unit) => passed(format!("{unit} is enabled")),
        None => failed(format!("none of {} is enabled", UNITS.join(", "))),
    }
}

fn unneeded_services(facts: &Facts<'_>) -> Result<Verdict, String> {
    const UNITS: &[&str] = &[
        "avahi-daemon.service",
        "cups.service",
        "rpcbind.service",
        "slapd.service",
        "nfs-server.service",
        "isc-dhcp-server.service",
        "vsftpd.service",
        "snmpd.service",
        "telnet.socket",
    ];
    let enabled = facts.enabled_units()?;
    let found: Vec<&str> = UNITS
        .iter()
        .copied()
        .filter(|u| enabled.contains(*u))
        .collect();
    if found.is_empty() {
        passed("no unneeded network service is enabled")
    } else {
        failed(format!("enabled: {}", found.join(", ")))
    }
}

fn firewall(facts: &Facts<'_>) -> Result<Verdict, String> {
    let nftables = any_enabled(facts, &["nftables.service"])?.is_some();
    let ufw = any_enabled(facts, &["ufw.service"])?.is_some();
    if ufw {
        let text = facts.read("/etc/default/ufw")?.unwrap_or_default();
        let conf = facts.read("/etc/ufw/ufw.conf")?.unwrap_or_default();
        let deny = text.lines().any(|l| {
            l.trim() == "DEFAULT_INPUT_POLICY=\"DROP\""
                || l.trim() == "DEFAULT_INPUT_POLICY=\"REJECT\""
        });
        let on = conf
            .lines()
            .any(|l| l.trim().eq_ignore_ascii_case("ENABLED=yes"));
        return verdict(
            deny && on,
            format!("ufw.service enabled; ENABLED=yes: {on}; input policy drop/reject: {deny}"),
        );
    }
    if !nftables {
        return failed("neither nftables.service nor ufw.service is enabled");
    }
    let Some(text) = facts.read("/etc/nftables.conf")? else {
        return failed("nftables.service is enabled but /etc/nftables.conf does not exist");
    };
    // An input hook whose chain's policy is drop.
    let mut in_input = false;
    let mut found = None;
    for (number, line) in setting_lines(&text) {
        if line.contains("hook input") {
            in_input = true;
        }
        if in_input && line.contains("policy drop") {
            found = Some(number);
            break;
        }
        if line.starts_with('}') {
            in_input = false;
        }
    }
    match found {
        Some(number) => passed(format!(
            "/etc/nftables.conf:{number}: input chain policy drop"
        )),
        None => failed("/etc/nftables.conf has no input chain with `policy drop`"),
    }
}

fn log_analysis(facts: &Facts<'_>) -> Result<Verdict, String> {
    let enabled = facts.enabled_units()?;
    if let Some(unit) = enabled
        .iter()
        .find(|u| *u == "fail2ban.service" || (u.starts_with("allclear") && u.contains("logs")))
    {
        return passed(format!("{unit} is enabled"));
    }
    failed("neither fail2ban.service nor an allclear logs unit is enabled")
}

fn file_integrity(facts: &Facts<'_>) -> Result<Verdict, String> {
    let enabled = facts.enabled_units()?;
    if let Some(unit) = enabled
        .iter()
        .find(|u| *u == "dailyaidecheck.timer" || (u.starts_with("allclear") && u.contains("fim")))
    {
        return passed(format!("{unit} is enabled"));
    }
    if facts
        .system
        .kind("/var/lib/allclear/fim.baseline")
        .map_err(|e| facts::error_text(&e))?
        == Kind::File
    {
        return passed("an allclear fim baseline exists (/var/lib/allclear/fim.baseline)");
    }
    if facts
        .system
        .kind("/etc/cron.daily/aide")
        .map_err(|e| facts::error_text(&e))?
        == Kind::File
    {
        return passed("AIDE runs daily (/etc/cron.daily/aide)");
    }
    failed(
        "no AIDE check (dailyaidecheck.timer, /etc/cron.daily/aide) and no allclear fim baseline",
    )
}

// ---------------------------------------------------------------------------------------
// mounts

fn mount_options(facts: &Facts<'_>, mount_point: &str, wanted: &[&str]) -> Result<Verdict, String> {
    let (path, text) = if facts.system.root().is_none() {
        ("/proc/mounts", facts.read("/proc/mounts")?)
    } else {
        ("/etc/fstab", facts.read("/etc/fstab")?)
    };
    let text = text.unwrap_or_default();
    let entry = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .find_map(|(i, line)| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(1) == Some(&mount_point))
                .then(|| (i + 1, fields.get(3).copied().unwrap_or("").to_owned()))
        });
    let Some((number, options)) = entry else {
        return failed(format!("{mount_point} is not a separate mount in {path}"));
    };
    let options: Vec<&str> = options.split(',').collect();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !options.contains(w))
        .collect();
    verdict(
        missing.is_empty(),
        if missing.is_empty() {
            format!(
                "{path}:{number}: {mount_point} mounted {}",
                options.join(",")
            )
        } else {
            format!("{path}:{number}: {mount_point} lacks {}", missing.join(","))
        },
    )
}

fn tmp_mount(facts: &Facts<'_>) -> Result<Verdict, String> {
    mount_options(facts, "/tmp", &["nodev", "nosuid", "noexec"])
}

fn shm_mount(facts: &Facts<'_>) -> Result<Verdict, String> {
    if facts.system.root().is_some() {
        // systemd mounts /dev/shm itself (nosuid,nodev); only an fstab line adds noexec.
        let fstab = facts.read("/etc/fstab")?.unwrap_or_default();
        if !fstab
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some("/dev/shm"))
        {
            return failed("/etc/fstab has no /dev/shm line: systemd mounts it without noexec");
        }
    }
    mount_options(facts, "/dev/shm", &["nodev", "nosuid", "noexec"])
}

// ---------------------------------------------------------------------------------------
// kernel

fn reboot_pending(facts: &Facts<'_>) -> Result<Verdict, String> {
    if facts.system.root().is_some() {
        return not_applicable("the running kernel is the host's, not the tree's, under --root");
    }
    let running = facts
        .read("/proc/sys/kernel/osrelease")?
        .unwrap_or_default()
        .trim()
        .to_owned();
    if facts
        .system
        .kind("/run/reboot-required")
        .map_err(|e| facts::error_text(&e))?
        == Kind::File
    {
        return failed(format!("/run/reboot-required exists (running {running})"));
    }
    let mut installed: Vec<String> = facts
        .system
        .list("/boot")
        .map_err(|e| facts::error_text(&e))?
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| n.strip_prefix("vmlinuz-").map(str::to_owned))
        .collect();
    if installed.is_empty() {
        return not_applicable("no /boot/vmlinuz-* (a container, or a kernel managed elsewhere)");
    }
    installed.sort_by(|a, b| compare_versions(a, b));
    let newest = installed.last().cloned().unwrap_or_default();
    verdict(
        newest == running,
        format!("running {running}, newest installed {newest}"),
    )
}

/// Orders kernel release strings by their numeric parts (6.1.0-27 < 6.1.0-28 < 6.12.0-1).
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<u64> {
        s.split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

// ---------------------------------------------------------------------------------------
// web servers and runtimes

fn web_tls(facts: &Facts<'_>) -> Result<Verdict, String> {
    let mut files = Vec::new();
    for (dir, suffix) in [
        ("/etc/nginx", ".conf"),
        ("/etc/nginx/conf.d", ".conf"),
        ("/etc/nginx/sites-enabled", ""),
        ("/etc/apache2/mods-enabled", ".conf"),
        ("/etc/apache2/sites-enabled", ""),
        ("/etc/apache2/conf-enabled", ".conf"),
    ] {
        files.extend(facts.files_in(dir, suffix)?);
    }
    files.retain(|f| !f.ends_with('/'));
    if files.is_empty() {
        return not_applicable("neither nginx nor Apache is configured");
    }
    let mut weak = Vec::new();
    let mut seen = Vec::new();
    for file in &files {
        let Some(text) = facts.read(file)? else {
            continue;
        };
        for (number, line) in setting_lines(&text) {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("ssl_protocols") {
                seen.push(format!("{file}:{number}"));
                if line.split_whitespace().any(|p| {
                    matches!(
                        p.trim_end_matches(';'),
                        "TLSv1" | "TLSv1.1" | "SSLv3" | "SSLv2"
                    )
                }) {
                    weak.push(format!("{file}:{number}: {line}"));
                }
            } else if lower.starts_with("sslprotocol") {
                seen.push(format!("{file}:{number}"));
                let words: Vec<&str> = line.split_whitespace().skip(1).collect();
                let enables_old = words.iter().any(|w| {
                    matches!(
                        w.to_ascii_lowercase().as_str(),
                        "+tlsv1" | "tlsv1" | "+tlsv1.1" | "tlsv1.1" | "sslv3" | "+sslv3"
                    )
                });
                let all_without_minus = words
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case("all") || w.eq_ignore_ascii_case("+all"))
                    && !(words.iter().any(|w| w.eq_ignore_ascii_case("-tlsv1"))
                        && words.iter().any(|w| w.eq_ignore_ascii_case("-tlsv1.1")));
                if enables_old || all_without_minus {
                    weak.push(format!("{file}:{number}: {line}"));
                }
            }
        }
    }
    if !weak.is_empty() {
        return failed(weak.join("; "));
    }
    if seen.is_empty() {
        // nginx ≥ 1.23.4 and Apache with OpenSSL 3 default to TLS 1.2+; older ones do not.
        return passed(
            "no ssl_protocols/SSLProtocol set: the server's default (TLS 1.2 and 1.3 on Debian 12)",
        );
    }
    passed(format!("TLS 1.2+ only ({})", seen.join(", ")))
}

fn php_ini(facts: &Facts<'_>) -> Result<Verdict, String> {
    const WANTED: &[(&str, &str)] = &[
        ("expose_php", "off"),
        ("display_errors", "off"),
        ("allow_url_include", "off"),
        ("session.cookie_httponly", "on"),
        ("session.cookie_secure", "on"),
    ];
    let versions = facts.files_in("/etc/php", "")?;
    let mut inis = Vec::new();
    for version in &versions {
        for sapi in ["fpm", "apache2"] {
            let ini = format!("{version}/{sapi}/php.ini");
            if facts.system.kind(&ini).map_err(|e| facts::error_text(&e))? == Kind::File {
                inis.push((ini, format!("{version}/{sapi}/conf.d")));
            }
        }
    }
    if inis.is_empty() {
        return not_applicable("PHP is not installed (no /etc/php/*/{fpm,apache2}/php.ini)");
    }
    let mut problems = Vec::new();
    for (ini, conf_d) in &inis {
        let mut values: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut files = vec![ini.clone()];
        files.extend(facts.files_in(conf_d, ".ini")?);
        for file in &files {
            let Some(text) = facts.read(file)? else {
                continue;
            };
            for (number, line) in setting_lines(&text) {
                if let Some((key, value)) = line.split_once('=') {
                    let value = value.trim().trim_matches('"').to_ascii_lowercase();
                    let value = match value.as_str() {
                        "1" | "true" | "yes" => "on".to_owned(),
                        "0" | "false" | "no" | "" => "off".to_owned(),
                        _ => value,
                    };
                    values.insert(key.trim().to_owned(), (value, format!("{file}:{number}")));
                }
            }
        }
        for (key, wanted) in WANTED {
            // PHP's built-in defaults: expose_php and display_errors are on; allow_url_include
            // and the cookie flags off.
            let (value, from) = values.get(*key).cloned().unwrap_or_else(|| {
                let default = if matches!(*key, "expose_php" | "display_errors") {
                    "on"
                } else {
                    "off"
                };
                (default.to_owned(), format!("{ini}: PHP's default"))
            });
            if value != *wanted {
                problems.push(format!("{key} = {value} ({from})"));
            }
        }
    }
    if problems.is_empty() {
        passed(format!("{} php.ini checked", inis.len()))
    } else {
        failed(problems.join("; "))
    }
}

fn rails_force_ssl(facts: &Facts<'_>) -> Result<Verdict, String> {
    let mut apps = Vec::new();
    for base in ["/var/www", "/srv"] {
        for app in facts.files_in(base, "")? {
            for candidate in [
                format!("{app}/config/environments/production.rb"),
                format!("{app}/current/config/environments/production.rb"),
            ] {
                if facts
                    .system
                    .kind(&candidate)
                    .map_err(|e| facts::error_text(&e))?
                    == Kind::File
                {
                    apps.push(candidate);
                }
            }
        }
    }
    if apps.is_empty() {
        return not_applicable("no Rails application under /var/www or /srv");
    }
    let mut missing = Vec::new();
    for file in &apps {
        let text = facts.read(file)?.unwrap_or_default();
        let on = text.lines().map(str::trim).any(|l| {
            !l.starts_with('#') && l.replace(' ', "").starts_with("config.force_ssl=true")
        });
        if !on {
            missing.push(file.clone());
        }
    }
    if missing.is_empty() {
        passed(format!("config.force_ssl = true in {}", apps.join(", ")))
    } else {
        failed(format!(
            "no config.force_ssl = true in {}",
            missing.join(", ")
        ))
    }
}

// ---------------------------------------------------------------------------------------
// the list

macro_rules! doc {
    ($id:literal, $title:literal, what: $what:literal, why: $why:literal, example: $example:literal, fix: $fix:literal, cis: $cis:expr, nist: $nist:expr, hipaa: $hipaa:expr) => {
        RuleDoc {
            id: $id,
            title: $title,
            what: $what,
            why: $why,
            example: $example,
            fix: $fix,
            cis: $cis,
            nist_800_53: $nist,
            hipaa: $hipaa,
        }
    };
}

fn checks() -> Vec<BaselineCheck> {
    vec![
        BaselineCheck {
            run: ssh_root_login,
            doc: doc!("ssh-root-login", "sshd does not permit root login",
            what: "sshd's effective PermitRootLogin (sshd -T on the host when commands are allowed, else sshd_config with its Include files; Match blocks left out) is `no`.",
            why: "root is the one account every attacker guesses; logging in as a named user and then using sudo leaves a trail of who did what.",
            example: "PermitRootLogin yes", fix: "Set `PermitRootLogin no` in /etc/ssh/sshd_config (before any Include that sets it) and reload ssh.",
            cis: &["5.1.20"], nist: &["AC-6(2)", "IA-2"], hipaa: &["164.312(a)(1)", "164.312(d)"]),
        },
        BaselineCheck {
            run: ssh_password_auth,
            doc: doc!("ssh-password-auth", "sshd refuses password logins",
            what: "sshd's effective PasswordAuthentication is `no` (OpenSSH's default is yes).",
            why: "passwords can be guessed and are brute-forced all day on every public address; keys cannot.",
            example: "PasswordAuthentication yes", fix: "Set `PasswordAuthentication no` after installing every user's public key, and reload ssh.",
            cis: &["5.1.19"], nist: &["IA-2(1)", "IA-5"], hipaa: &["164.312(d)"]),
        },
        BaselineCheck {
            run: ssh_empty_passwords,
            doc: doc!("ssh-empty-passwords", "sshd refuses empty passwords",
            what: "sshd's effective PermitEmptyPasswords is `no`.", why: "an account with an empty password would be open to anyone.",
            example: "PermitEmptyPasswords yes", fix: "Set `PermitEmptyPasswords no` and reload ssh.",
            cis: &["5.1.8"], nist: &["IA-5"], hipaa: &["164.312(d)"]),
        },
        BaselineCheck {
            run: ssh_x11,
            doc: doc!("ssh-x11-forwarding", "sshd does not forward X11",
            what: "sshd's effective X11Forwarding is `no`.", why: "a server has no display; X11 forwarding only widens what a compromised client can reach.",
            example: "X11Forwarding yes", fix: "Set `X11Forwarding no` and reload ssh.",
            cis: &["5.1.21"], nist: &["CM-7"], hipaa: &["164.308(a)(1)"]),
        },
        BaselineCheck {
            run: ssh_max_auth_tries,
            doc: doc!("ssh-max-auth-tries", "sshd allows at most 4 authentication tries",
            what: "sshd's effective MaxAuthTries is 4 or less (OpenSSH's default is 6).", why: "fewer tries per connection slow password and key guessing.",
            example: "MaxAuthTries 10", fix: "Set `MaxAuthTries 4` and reload ssh.",
            cis: &["5.1.13"], nist: &["AC-7"], hipaa: &["164.312(a)(1)"]),
        },
        BaselineCheck {
            run: sysctl_aslr,
            doc: doc!("sysctl-aslr", "address space layout randomisation is full",
            what: "kernel.randomize_va_space is 2 (live in /proc/sys; from sysctl.conf and sysctl.d under --root, else the kernel default).",
            why: "randomised addresses make memory-corruption exploits unreliable.", example: "kernel.randomize_va_space = 0",
            fix: "Remove the override, or set `kernel.randomize_va_space = 2` in /etc/sysctl.d/60-hardening.conf and run `sysctl --system`.",
            cis: &["1.5.3"], nist: &["SI-16"], hipaa: &["164.308(a)(1)"]),
        },
        BaselineCheck {
            run: sysctl_forwarding,
            doc: doc!("sysctl-ip-forward", "the server does not route packets",
            what: "net.ipv4.ip_forward is 0.", why: "a web server that forwards packets can be used to reach networks behind it.",
            example: "net.ipv4.ip_forward = 1", fix: "Set `net.ipv4.ip_forward = 0` in /etc/sysctl.d/60-hardening.conf (not on container hosts that need it).",
            cis: &["3.3.1"], nist: &["CM-7", "SC-7"], hipaa: &["164.312(e)(1)"]),
        },
        BaselineCheck {
            run: sysctl_redirects,
            doc: doc!("sysctl-redirects", "ICMP redirects are neither accepted nor sent",
            what: "net.ipv4.conf.all.accept_redirects and send_redirects are 0 (both default to 1).", why: "forged redirects reroute the server's traffic through an attacker.",
            example: "net.ipv4.conf.all.accept_redirects = 1", fix: "Set both to 0 in /etc/sysctl.d/60-hardening.conf and run `sysctl --system`.",
            cis: &["3.3.2", "3.3.5"], nist: &["CM-7", "SC-7"], hipaa: &["164.312(e)(1)"]),
        },
        BaselineCheck {
            run: sysctl_syncookies,
            doc: doc!("sysctl-syncookies", "TCP SYN cookies are on",
            what: "net.ipv4.tcp_syncookies is 1.", why: "SYN cookies keep the server answering during a SYN flood.",
            example: "net.ipv4.tcp_syncookies = 0", fix: "Set `net.ipv4.tcp_syncookies = 1` in /etc/sysctl.d/60-hardening.conf.",
            cis: &["3.3.10"], nist: &["SC-5"], hipaa: &["164.308(a)(7)"]),
        },
        BaselineCheck {
            run: sysctl_suid_dumpable,
            doc: doc!("sysctl-suid-dumpable", "setuid programs do not dump core",
            what: "fs.suid_dumpable is 0.", why: "a core dump of a privileged program can hold password hashes and keys.",
            example: "fs.suid_dumpable = 2", fix: "Set `fs.suid_dumpable = 0` in /etc/sysctl.d/60-hardening.conf.",
            cis: &["1.5.2"], nist: &["CM-6"], hipaa: &["164.312(c)(1)"]),
        },
        BaselineCheck {
            run: shadow_mode,
            doc: doc!("perm-shadow", "/etc/shadow is readable by root and shadow only",
            what: "/etc/shadow has mode 0640 or stricter, owner root, group root or shadow.", why: "password hashes can be cracked offline by anyone who reads them.",
            example: "-rw-r--r-- root root /etc/shadow", fix: "`chown root:shadow /etc/shadow && chmod 0640 /etc/shadow`",
            cis: &["7.1.5"], nist: &["AC-3", "IA-5(1)"], hipaa: &["164.312(a)(1)", "164.312(c)(1)"]),
        },
        BaselineCheck {
            run: passwd_mode,
            doc: doc!("perm-passwd", "/etc/passwd is writable by root only",
            what: "/etc/passwd has mode 0644 or stricter, owner and group root.", why: "whoever can write it can give any account UID 0.",
            example: "-rw-rw-rw- root root /etc/passwd", fix: "`chown root:root /etc/passwd && chmod 0644 /etc/passwd`",
            cis: &["7.1.1"], nist: &["AC-3"], hipaa: &["164.312(a)(1)"]),
        },
        BaselineCheck {
            run: sshd_config_mode,
            doc: doc!("perm-sshd-config", "sshd_config is readable by root only",
            what: "/etc/ssh/sshd_config has mode 0600 or stricter, owner and group root.", why: "sshd's configuration tells an attacker which accounts and methods to try; only root needs it.",
            example: "-rw-r--r-- root root /etc/ssh/sshd_config", fix: "`chown root:root /etc/ssh/sshd_config && chmod 0600 /etc/ssh/sshd_config`",
            cis: &["5.1.1"], nist: &["AC-3", "CM-6"], hipaa: &["164.312(a)(1)"]),
        },
        BaselineCheck {
            run: sudoers_mode,
            doc: doc!("perm-sudoers", "/etc/sudoers is 0440 root:root",
            what: "/etc/sudoers has mode 0440 or stricter, owner and group root.", why: "a writable sudoers file is root for whoever can write it.",
            example: "-rw-rw-r-- root root /etc/sudoers", fix: "`chown root:root /etc/sudoers && chmod 0440 /etc/sudoers`",
            cis: &["5.2.1"], nist: &["AC-3", "AC-6"], hipaa: &["164.312(a)(1)"]),
        },
        BaselineCheck {
            run: uid0_accounts,
            doc: doc!("accounts-uid0", "root is the only account with UID 0",
            what: "no account in /etc/passwd other than root has UID 0.", why: "a second UID 0 account is root under another name, often a backdoor.",
            example: "toor:x:0:0::/root:/bin/bash", fix: "Remove the account or give it its own UID (`usermod -u UID NAME`).",
            cis: &["5.4.2.1"], nist: &["AC-6", "IA-2"], hipaa: &["164.312(a)(1)", "164.312(a)(2)(i)"]),
        },
        BaselineCheck {
            run: empty_passwords,
            doc: doc!("accounts-empty-password", "no account has an empty password",
            what: "no line of /etc/shadow has an empty password field.", why: "an empty password lets anyone log in as that account where passwords are accepted.",
            example: "guest::19000:0:99999:7:::", fix: "Lock the account (`passwd -l NAME`) or set a password.",
            cis: &["7.2.2"], nist: &["IA-5"], hipaa: &["164.312(d)"]),
        },
        BaselineCheck {
            run: pam_hashing,
            doc: doc!("pam-password-hashing", "PAM hashes passwords with yescrypt or SHA-512",
            what: "the pam_unix.so line of /etc/pam.d/common-password names yescrypt or sha512.", why: "weak hashes (MD5, DES) are cracked in minutes once /etc/shadow leaks.",
            example: "password [success=1 default=ignore] pam_unix.so obscure md5", fix: "Use `pam_unix.so obscure yescrypt` (Debian 11+'s default) and reset the passwords hashed before.",
            cis: &["5.3.3.4.3"], nist: &["IA-5(1)"], hipaa: &["164.312(a)(2)(iv)", "164.312(d)"]),
        },
        BaselineCheck {
            run: sudo_nopasswd,
            doc: doc!("sudo-authenticate", "sudo asks for a password",
            what: "no rule in /etc/sudoers or /etc/sudoers.d uses NOPASSWD or !authenticate.", why: "without re-authentication, any process running as a sudo user is root.",
            example: "deploy ALL=(ALL) NOPASSWD: ALL", fix: "Remove NOPASSWD / !authenticate, or limit it to the exact commands that need it.",
            cis: &["5.2.4", "5.2.5"], nist: &["AC-6", "IA-11"], hipaa: &["164.312(a)(1)", "164.312(d)"]),
        },
        BaselineCheck {
            run: packages_removed,
            doc: doc!("packages-removed", "legacy network services are not installed",
            what: "none of telnetd, rsh-server, nis, tftpd-hpa, xinetd, talkd, prelink is installed (dpkg status).", why: "these services send credentials in clear text or have no authentication at all.",
            example: "Package: telnetd / Status: install ok installed", fix: "`apt-get purge telnetd rsh-server nis tftpd-hpa xinetd talkd prelink`",
            cis: &["2.2.1", "2.2.4", "2.2.6", "1.5.4"], nist: &["CM-7"], hipaa: &["164.308(a)(1)"]),
        },
        BaselineCheck {
            run: unattended_upgrades,
            doc: doc!("unattended-upgrades", "security updates install themselves",
            what: "unattended-upgrades is installed and APT::Periodic::Unattended-Upgrade is \"1\".", why: "most break-ins use flaws that had a fix for weeks; a small team does not patch by hand every day.",
            example: "APT::Periodic::Unattended-Upgrade \"0\";", fix: "`apt-get install unattended-upgrades && dpkg-reconfigure -plow unattended-upgrades`",
            cis: &["1.2.2.1"], nist: &["SI-2"], hipaa: &["164.308(a)(1)(ii)(B)", "164.308(a)(5)(ii)(B)"]),
        },
        BaselineCheck {
            run: unneeded_services,
            doc: doc!("services-disabled", "unneeded network services are not enabled",
            what: "avahi-daemon, cups, rpcbind, slapd, nfs-server, isc-dhcp-server, vsftpd, snmpd and telnet are not enabled in systemd.", why: "every listening service is attack surface a web server does not need.",
            example: "/etc/systemd/system/multi-user.target.wants/avahi-daemon.service", fix: "`systemctl disable --now NAME` (or purge the package).",
            cis: &["2.1.2", "2.1.3", "2.1.12", "2.1.14"], nist: &["CM-7"], hipaa: &["164.308(a)(1)"]),
        },
        BaselineCheck {
            run: firewall,
            doc: doc!("firewall-default-deny", "a firewall drops what is not allowed",
            what: "nftables.service is enabled and /etc/nftables.conf has an input chain with `policy drop`, or ufw is enabled with a DROP/REJECT input policy.", why: "a default-deny firewall keeps a service started by mistake off the internet.",
            example: "chain input { type filter hook input priority 0; policy accept; }", fix: "Write an input chain with `policy drop;` that accepts established traffic, ssh and https, then `systemctl enable --now nftables`.",
            cis: &["4.3.1", "4.3.9"], nist: &["SC-7", "SC-7(5)"], hipaa: &["164.312(e)(1)"]),
        },
        BaselineCheck {
            run: time_sync,
            doc: doc!("time-sync", "the clock is synchronised",
            what: "systemd-timesyncd, chrony, ntp(sec) or openntpd is enabled.", why: "logs from several machines can only be correlated, and certificates checked, with a correct clock.",
            example: "(no time service enabled)", fix: "`apt-get install systemd-timesyncd` (or chrony) and `systemctl enable --now` it.",
            cis: &["2.3.1.1"], nist: &["AU-8"], hipaa: &["164.312(b)"]),
        },
        BaselineCheck {
            run: log_analysis,
            doc: doc!("log-analysis", "failed logins are analysed and banned",
            what: "fail2ban or allclear's log analysis (`allclear host logs run` as a systemd unit) is enabled.", why: "brute force against ssh and web logins is constant; bans cut it short and the log analysis is evidence of monitoring.",
            example: "(neither enabled)", fix: "`systemctl enable --now fail2ban`, or install allclear's logs unit.",
            cis: &[], nist: &["SI-4", "AC-7"], hipaa: &["164.308(a)(1)(ii)(D)", "164.312(b)"]),
        },
        BaselineCheck {
            run: file_integrity,
            doc: doc!("file-integrity", "file integrity is checked",
            what: "AIDE runs daily (dailyaidecheck.timer or /etc/cron.daily/aide), or allclear fim has a baseline.", why: "a changed binary or configuration file is how a compromise persists; integrity checks find it.",
            example: "(no AIDE, no allclear fim baseline)", fix: "`allclear host fim init` and a timer running `allclear host fim check`, or `apt-get install aide`.",
            cis: &["6.1.1", "6.1.2"], nist: &["SI-7"], hipaa: &["164.312(c)(1)", "164.312(c)(2)"]),
        },
        BaselineCheck {
            run: tmp_mount,
            doc: doc!("mount-tmp", "/tmp is a separate mount with nodev,nosuid,noexec",
            what: "/tmp is mounted (fstab under --root, /proc/mounts live) with nodev, nosuid and noexec.", why: "a world-writable directory that can run programs is where dropped exploits run.",
            example: "tmpfs /tmp tmpfs defaults 0 0", fix: "Add `tmpfs /tmp tmpfs defaults,rw,nosuid,nodev,noexec,relatime,size=2G 0 0` to /etc/fstab and `mount -o remount /tmp`.",
            cis: &["1.1.2.1.1", "1.1.2.1.2", "1.1.2.1.3", "1.1.2.1.4"], nist: &["CM-6", "CM-7"], hipaa: &["164.308(a)(1)"]),
        },
        BaselineCheck {
            run: shm_mount,
            doc: doc!("mount-dev-shm", "/dev/shm has nodev,nosuid,noexec",
            what: "/dev/shm is mounted with nodev, nosuid and noexec (systemd's own mount lacks noexec, so under --root an fstab line is needed).", why: "shared memory is world-writable; noexec stops it being used to run dropped code.",
            example: "tmpfs /dev/shm tmpfs defaults 0 0", fix: "Add `tmpfs /dev/shm tmpfs defaults,rw,nosuid,nodev,noexec,relatime 0 0` to /etc/fstab and remount.",
            cis: &["1.1.2.2.1", "1.1.2.2.2", "1.1.2.2.3", "1.1.2.2.4"], nist: &["CM-6", "CM-7"], hipaa: &["164.308(a)(1)"]),
        },
        BaselineCheck {
            run: reboot_pending,
            doc: doc!("reboot-pending", "the running kernel is the newest installed",
            what: "no /run/reboot-required, and the running kernel (/proc/sys/kernel/osrelease) is the newest /boot/vmlinuz-*. Host only.", why: "an installed kernel fix protects nothing until the machine reboots into it.",
            example: "running 6.1.0-18-amd64, newest installed 6.1.0-27-amd64", fix: "Reboot in the next maintenance window.",
            cis: &[], nist: &["SI-2"], hipaa: &["164.308(a)(1)(ii)(B)"]),
        },
        BaselineCheck {
            run: web_tls,
            doc: doc!("web-tls-protocols", "nginx and Apache offer TLS 1.2 and newer only",
            what: "no ssl_protocols (nginx) or SSLProtocol (Apache) line enables SSLv3, TLS 1.0 or TLS 1.1.", why: "the old protocols have practical attacks and are refused by PCI DSS and NIST SP 800-52.",
            example: "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;", fix: "`ssl_protocols TLSv1.2 TLSv1.3;` (nginx) or `SSLProtocol -all +TLSv1.2 +TLSv1.3` (Apache), then reload.",
            cis: &[], nist: &["SC-8", "SC-13"], hipaa: &["164.312(e)(1)", "164.312(e)(2)(ii)"]),
        },
        BaselineCheck {
            run: php_ini,
            doc: doc!("php-ini", "PHP hides itself and its errors, and protects session cookies",
            what: "in each /etc/php/*/{fpm,apache2}/php.ini with its conf.d: expose_php Off, display_errors Off, allow_url_include Off, session.cookie_httponly On, session.cookie_secure On.", why: "version banners and error pages guide attackers; remote includes run their code; session cookies without HttpOnly/Secure are stolen by XSS or on plain HTTP.",
            example: "display_errors = On", fix: "Set the five values in a conf.d file (e.g. /etc/php/8.2/fpm/conf.d/99-hardening.ini) and restart php-fpm.",
            cis: &[], nist: &["SI-11", "SC-23", "CM-7"], hipaa: &["164.312(e)(1)"]),
        },
        BaselineCheck {
            run: rails_force_ssl,
            doc: doc!("rails-force-ssl", "Rails applications force HTTPS",
            what: "each Rails application under /var/www or /srv sets `config.force_ssl = true` in config/environments/production.rb.", why: "force_ssl redirects to HTTPS, sets HSTS and marks cookies Secure.",
            example: "# config.force_ssl = true", fix: "Set `config.force_ssl = true` in config/environments/production.rb and deploy.",
            cis: &[], nist: &["SC-8", "SC-23"], hipaa: &["164.312(e)(1)"]),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_is_documented_and_mapped() {
        let docs = rule_docs();
        let mut ids: Vec<&str> = docs.iter().map(|d| d.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), docs.len(), "duplicate ids");
        for doc in &docs {
            assert!(
                !doc.what.is_empty()
                    && !doc.why.is_empty()
                    && !doc.fix.is_empty()
                    && !doc.example.is_empty(),
                "{}",
                doc.id
            );
            assert!(
                !doc.nist_800_53.is_empty() && !doc.hipaa.is_empty(),
                "{}",
                doc.id
            );
        }
    }

    #[test]
    fn kernel_versions_order_numerically() {
        let mut versions = vec!["6.1.0-28-amd64", "6.12.0-1-amd64", "6.1.0-9-amd64"];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            versions,
            ["6.1.0-9-amd64", "6.1.0-28-amd64", "6.12.0-1-amd64"]
        );
    }

    fn write(root: &std::path::Path, path: &str, text: &str) {
        let path = root.join(path.trim_start_matches('/'));
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, text).unwrap();
    }

    fn outcomes(root: &std::path::Path) -> BTreeMap<String, (Outcome, Option<String>)> {
        run_baseline(&System::rooted(root))
            .into_iter()
            .map(|r| (r.check.id, (r.outcome, r.evidence)))
            .collect()
    }

    #[test]
    fn accounts_sudo_pam_web_and_runtimes() {
        let bad = tempfile::tempdir().unwrap();
        let b = bad.path();
        write(
            b,
            "/etc/passwd",
            "root:x:0:0::/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n",
        );
        write(
            b,
            "/etc/shadow",
            "root:$y$j9T$x:19000::::::\nguest::19000::::::\n",
        );
        write(
            b,
            "/etc/pam.d/common-password",
            "password [success=1 default=ignore] pam_unix.so obscure md5\n",
        );
        write(b, "/etc/sudoers", "root ALL=(ALL) ALL\n");
        write(
            b,
            "/etc/sudoers.d/deploy",
            "# NOPASSWD is bad\ndeploy ALL=(ALL) NOPASSWD: ALL\n",
        );
        write(
            b,
            "/etc/nginx/sites-enabled/default",
            "server {\n  ssl_protocols TLSv1 TLSv1.2;\n}\n",
        );
        write(
            b,
            "/etc/php/8.2/fpm/php.ini",
            "expose_php = On\nallow_url_include = Off\n",
        );
        write(
            b,
            "/etc/php/8.2/fpm/conf.d/99-x.ini",
            "display_errors = Off\nsession.cookie_httponly = 1\nsession.cookie_secure = 1\n",
        );
        write(
            b,
            "/var/www/shop/config/environments/production.rb",
            "  # config.force_ssl = true\n",
        );
        let results = outcomes(b);
        for id in [
            "accounts-uid0",
            "accounts-empty-password",
            "pam-password-hashing",
            "sudo-authenticate",
            "web-tls-protocols",
            "php-ini",
            "rails-force-ssl",
        ] {
            assert_eq!(results[id].0, Outcome::Failed, "{id}: {:?}", results[id]);
        }
        assert!(
            results["accounts-uid0"]
                .1
                .as_deref()
                .unwrap()
                .contains("toor")
        );
        assert!(
            results["sudo-authenticate"]
                .1
                .as_deref()
                .unwrap()
                .contains("/etc/sudoers.d/deploy:2")
        );
        assert!(
            results["php-ini"]
                .1
                .as_deref()
                .unwrap()
                .contains("expose_php = on")
        );
        // Not configured at all: not applicable, never passed.
        for id in ["ssh-root-login", "reboot-pending"] {
            assert!(matches!(results[id].0, Outcome::NotApplicable(_)), "{id}");
        }

        let good = tempfile::tempdir().unwrap();
        let g = good.path();
        write(
            g,
            "/etc/passwd",
            "root:x:0:0::/root:/bin/bash\nwww:x:33:33::/var/www:/usr/sbin/nologin\n",
        );
        write(
            g,
            "/etc/shadow",
            "root:$y$j9T$x:19000::::::\nwww:*:19000::::::\n",
        );
        write(
            g,
            "/etc/pam.d/common-password",
            "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n",
        );
        write(
            g,
            "/etc/sudoers",
            "root ALL=(ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n",
        );
        write(
            g,
            "/etc/apache2/mods-enabled/ssl.conf",
            "SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1\n",
        );
        write(
            g,
            "/etc/php/8.2/fpm/php.ini",
            "expose_php = Off\ndisplay_errors = Off\nallow_url_include = Off\nsession.cookie_httponly = On\nsession.cookie_secure = On\n",
        );
        write(
            g,
            "/srv/app/current/config/environments/production.rb",
            "  config.force_ssl = true\n",
        );
        let results = outcomes(g);
        for id in [
            "accounts-uid0",
            "accounts-empty-password",
            "pam-password-hashing",
            "sudo-authenticate",
            "web-tls-protocols",
            "php-ini",
            "rails-force-ssl",
        ] {
            assert_eq!(results[id].0, Outcome::Passed, "{id}: {:?}", results[id]);
        }
    }
}
