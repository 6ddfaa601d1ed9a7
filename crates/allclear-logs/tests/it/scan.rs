//! Scanning logs with jails from a configuration directory (our fixtures), bans and their
//! reasons, hostile input, and the user-name injection guard.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use allclear_logs::config::{read_filter, read_jail_named, read_jails};
use allclear_logs::date::Clock;
use allclear_logs::filter::{CompiledFilter, FilterOptions};
use allclear_logs::scan::{JailRules, ScanOptions, Scanner, scan_lines};
use jiff::Timestamp;
use jiff::tz::TimeZone;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn clock() -> Clock {
    // 2005-08-14 10:00 UTC, so the year-less fixture dates are in 2005.
    Clock::new(
        Timestamp::from_second(1_124_013_600).unwrap(),
        TimeZone::UTC,
    )
}

fn scan_fixture(jail: &str) -> allclear_logs::scan::ScanReport {
    let def = read_jail_named(&fixtures().join("config"), jail).unwrap();
    let filter = Arc::new(
        CompiledFilter::new(def.filter.as_ref().unwrap(), FilterOptions::default()).unwrap(),
    );
    let mut scanner = Scanner::new(
        filter,
        ScanOptions {
            clock: clock(),
            jail: JailRules::from(&def),
            keep_matches: true,
        },
    );
    let log = std::fs::read(fixtures().join("auth.log")).unwrap();
    scanner.scan_reader(log.as_slice()).unwrap();
    scanner.finish()
}

#[test]
fn jail_files_give_rules_and_filters() {
    let jails = read_jails(&fixtures().join("config"), &[]).unwrap();
    let names: Vec<&str> = jails.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["toyssh", "toyssh-strict", "broken"]);
    let toyssh = jails[0].1.as_ref().unwrap();
    assert!(toyssh.enabled);
    assert_eq!(
        (toyssh.maxretry, toyssh.findtime, toyssh.bantime),
        (3, 600.0, 3600.0)
    );
    assert_eq!(toyssh.filter_name.as_deref(), Some("toyssh"));
    assert_eq!(
        toyssh.filter_args.get("mode").map(String::as_str),
        Some("normal")
    );
    assert_eq!(toyssh.filter.as_ref().unwrap().failregex.len(), 2);
    assert_eq!(toyssh.ignoreip, ["127.0.0.1/8", "192.0.2.0/24"]);
    let strict = jails[1].1.as_ref().unwrap();
    assert_eq!(
        strict.filter.as_ref().unwrap().failregex.len(),
        3,
        "mode=strict adds a regex"
    );
    assert_eq!(strict.bantime, -1.0);
    // Disabled: its (broken) filter is not even read, so it loads fine.
    assert!(jails[2].1.as_ref().unwrap().filter.is_none());
}

#[test]
fn broken_filter_is_an_error_naming_file_and_line_and_others_still_load() {
    let err = read_jail_named(&fixtures().join("config"), "broken")
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.conf:3"), "{err}");
    let jails = read_jails(&fixtures().join("config"), &["broken"]).unwrap();
    assert!(jails[0].1.is_ok() && jails[1].1.is_ok());
    assert!(jails[2].1.is_err());
}

#[test]
fn scan_reports_bans_and_why() {
    let report = scan_fixture("toyssh");
    assert_eq!(report.lines, 11);
    assert_eq!(report.invalid_utf8_lines, 1);
    assert_eq!(report.bans.len(), 1, "{:#?}", report.bans);
    let ban = &report.bans[0];
    assert_eq!(ban.host, "198.51.100.7");
    assert_eq!(ban.lines, [1, 2, 5]);
    assert_eq!(
        ban.users.iter().map(String::as_str).collect::<Vec<_>>(),
        ["admin", "oracle", "root"]
    );
    assert_eq!(ban.until, Some(ban.time + 3600.0));
    assert!(
        ban.reason.starts_with("3 failures within 6s"),
        "{}",
        ban.reason
    );
    // The ignoreregex drops the 192.0.2.1 line before it counts.
    assert!(!report.hosts.contains_key("192.0.2.1"));
    // The crafted user name neither bans nor even names the address it tried to inject.
    assert!(!report.hosts.contains_key("203.0.113.9"));
    assert!(!report.hosts.contains_key("198.51.100.99"));
    // The non-UTF-8 user name still matches, with replacement characters.
    let bad = report.matches.iter().find(|m| m.line == 11).unwrap();
    assert_eq!(bad.host.as_deref(), Some("203.0.113.77"));
    assert_eq!(bad.user.as_deref(), Some("\u{fffd}\u{fffd}"));
}

#[test]
fn filter_arguments_from_the_jail_change_what_matches() {
    let report = scan_fixture("toyssh-strict");
    let hosts: Vec<&str> = report.bans.iter().map(|b| b.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["198.51.100.7", "203.0.113.50"],
        "{:#?}",
        report.bans
    );
    let ban = &report.bans[1];
    assert_eq!(ban.lines, [4, 8]);
    assert_eq!(ban.until, None, "bantime -1 bans forever");
}

#[test]
fn enormous_and_binary_lines_are_bounded() {
    let def = read_jail_named(&fixtures().join("config"), "toyssh").unwrap();
    let options = FilterOptions {
        max_line_len: 4096,
        ..FilterOptions::default()
    };
    let filter = Arc::new(CompiledFilter::new(def.filter.as_ref().unwrap(), options).unwrap());
    let mut huge = b"Aug 14 09:00:01 web1 sshd[1]: Failed password for ".to_vec();
    huge.extend(b"a from 1.2.3.4 ".repeat(200_000));
    let binary: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let lines = [huge.as_slice(), binary.as_slice(), b"\0\0\0"];
    let report = scan_lines(
        filter,
        lines,
        ScanOptions {
            clock: clock(),
            jail: JailRules::default(),
            keep_matches: true,
        },
    );
    assert_eq!(report.lines, 3);
    assert_eq!(report.truncated_lines, 2);
    assert_eq!(report.invalid_utf8_lines, 1);
    assert!(report.matches.is_empty(), "{:?}", report.matches);
}

/// fail2ban's own sshd filter must keep the address a crafted user name tries to inject
/// out of the result, in every mode.
#[test]
fn crafted_user_name_cannot_inject_an_address_into_fail2bans_sshd_filter() {
    let Some(shared) = crate::conformance::shared_dir() else {
        eprintln!("skipped: no shared test data (set ALLCLEAR_SHARED)");
        return;
    };
    let config = shared.join("conformance/fail2ban/config");
    let victim = "192.0.2.66";
    let lines = [
        format!(
            "Aug 14 09:00:01 h sshd[9]: Failed password for invalid user x from {victim} port 1 ssh2 from 203.0.113.5 port 2 ssh2"
        ),
        format!(
            "Aug 14 09:00:01 h sshd[9]: Failed password for x from {victim} from 203.0.113.5 port 2 ssh2"
        ),
        format!(
            "Aug 14 09:00:01 h sshd[9]: Failed publickey for invalid user from {victim} port 1 ssh2: from 203.0.113.5 port 2 ssh2"
        ),
        format!(
            "Aug 14 09:00:01 h sshd[9]: Invalid user root from {victim} from 203.0.113.5 port 2"
        ),
        format!(
            "Aug 14 09:00:01 h sshd[9]: Disconnected from invalid user x from {victim} port 1 203.0.113.5 port 2 [preauth]"
        ),
        format!(
            "Aug 14 09:00:01 h sshd[9]: error: PAM: Authentication failure for x from {victim} from 203.0.113.5"
        ),
    ];
    // Control: a naive filter (lazy user, address not anchored) is fooled by these lines.
    let naive = allclear_logs::config::FilterDefinition {
        name: "naive".into(),
        files: Vec::new(),
        prefregex: None,
        failregex: vec![r"sshd\[\d+\]: Failed \S+ for (?:invalid user )?.*? from <HOST>".into()],
        ignoreregex: Vec::new(),
        maxlines: None,
        datepattern: None,
        journalmatch: Vec::new(),
        usedns: None,
    };
    let fooled = scan_lines(
        Arc::new(CompiledFilter::new(&naive, FilterOptions::default()).unwrap()),
        lines.iter().map(|l| l.as_bytes()),
        ScanOptions {
            clock: clock(),
            jail: JailRules::default(),
            keep_matches: true,
        },
    );
    assert!(
        fooled
            .matches
            .iter()
            .any(|m| m.host.as_deref() == Some(victim)),
        "control: {:?}",
        fooled.matches
    );
    for mode in ["normal", "ddos", "extra", "aggressive"] {
        let args = [("mode".to_owned(), mode.to_owned())].into();
        let def = read_filter(&config, "sshd", &args).unwrap();
        let filter = Arc::new(CompiledFilter::new(&def, FilterOptions::default()).unwrap());
        let report = scan_lines(
            filter,
            lines.iter().map(|l| l.as_bytes()),
            ScanOptions {
                clock: clock(),
                jail: JailRules {
                    maxretry: 1,
                    ..JailRules::default()
                },
                keep_matches: true,
            },
        );
        for m in &report.matches {
            assert_ne!(
                m.host.as_deref(),
                Some(victim),
                "mode {mode}: line {} was made to name the victim",
                m.line
            );
        }
        assert!(
            report.bans.iter().all(|b| b.host != victim),
            "mode {mode}: {:#?}",
            report.bans
        );
        // Guard against a vacuous pass: the honest form of the same line does match.
        let honest = format!(
            "Aug 14 09:00:01 h sshd[9]: Failed password for invalid user x from {victim} port 1 ssh2"
        );
        let filter = Arc::new(CompiledFilter::new(&def, FilterOptions::default()).unwrap());
        let r = scan_lines(
            filter,
            [honest.as_bytes()],
            ScanOptions {
                clock: clock(),
                jail: JailRules::default(),
                keep_matches: true,
            },
        );
        assert_eq!(
            r.matches.first().and_then(|m| m.host.as_deref()),
            Some(victim),
            "mode {mode}"
        );
    }
}

/// Debian's stock jail.conf (with paths-debian.conf and paths-common.conf) loads, and every
/// jail's filter resolves when forced on.
#[test]
fn stock_jail_conf_loads_with_every_filter() {
    let Some(shared) = crate::conformance::shared_dir() else {
        eprintln!("skipped: no shared test data (set ALLCLEAR_SHARED)");
        return;
    };
    let config = shared.join("conformance/fail2ban/config");
    let names: Vec<String> = read_jails(&config, &[])
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let force: Vec<&str> = names.iter().map(String::as_str).collect();
    let jails = read_jails(&config, &force).unwrap();
    let failed: Vec<String> = jails
        .iter()
        .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}")))
        .collect();
    println!(
        "{} jails, {} failed: {failed:#?}",
        jails.len(),
        failed.len()
    );
    assert!(jails.len() > 50, "{}", jails.len());
    assert!(failed.is_empty(), "{failed:#?}");
    let sshd = jails
        .iter()
        .find(|(n, _)| n == "sshd")
        .unwrap()
        .1
        .as_ref()
        .unwrap();
    assert!(!sshd.enabled, "stock jail.conf enables nothing");
    assert_eq!(
        (sshd.maxretry, sshd.findtime, sshd.bantime),
        (5, 600.0, 600.0)
    );
    assert_eq!(sshd.logpath, ["/var/log/auth.log"]);
    assert_eq!(
        sshd.filter_args.get("mode").map(String::as_str),
        Some("normal")
    );
    let filter = sshd.filter.as_ref().unwrap();
    assert!(filter.failregex.len() > 15, "{}", filter.failregex.len());
    assert!(CompiledFilter::new(filter, FilterOptions::default()).is_ok());
}
