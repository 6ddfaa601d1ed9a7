//! The fixture day, read whole: every section counted exactly.

use allclear_digest::classify::LoginMethod;
use allclear_digest::{AttentionKind, Digest, DigestOptions, Digester, LogKind};
use allclear_logs::builtin::Target;

use crate::{ALL_FILES, day_dir, digest_of, now, options};

fn source<'a>(d: &'a Digest, s: &str) -> Option<&'a allclear_digest::digest::FailureSource> {
    d.failures.sources.iter().find(|f| f.source == s)
}

#[test]
fn inputs_are_windowed_and_bad_lines_counted() {
    let d = digest_of(&ALL_FILES);
    assert_eq!(d.inputs.len(), 8);
    let auth = d
        .inputs
        .iter()
        .find(|i| i.name.ends_with("/auth.log"))
        .unwrap();
    assert_eq!(auth.kind, Some(LogKind::Syslog));
    assert_eq!(
        (
            auth.lines,
            auth.before_window,
            auth.future,
            auth.invalid_utf8
        ),
        (78, 2, 1, 1)
    );
    assert_eq!(auth.in_window, 75);
    let rotated = d
        .inputs
        .iter()
        .find(|i| i.name.ends_with("auth.log.1.gz"))
        .unwrap();
    assert_eq!((rotated.lines, rotated.before_window), (3, 1), "gzip read");
    // The rotated file is read before the live one (time order for the detections).
    let pos = |n: &str| d.inputs.iter().position(|i| i.name.ends_with(n)).unwrap();
    assert!(pos("auth.log.1.gz") < pos("/auth.log"));
    assert_eq!(d.future_lines.count, 2);
    assert!(
        d.future_lines
            .samples
            .iter()
            .any(|s| s.contains("203.0.113.66"))
    );
    assert_eq!(d.hosts, ["web1"]);
}

#[test]
fn logins_by_user_method_and_source() {
    let d = digest_of(&ALL_FILES);
    let found: Vec<(&str, LoginMethod, &str, u64)> = d
        .logins
        .iter()
        .map(|l| (l.user.as_str(), l.method, l.source.as_str(), l.count))
        .collect();
    assert_eq!(
        found,
        [
            ("alice", LoginMethod::Publickey, "192.0.2.10", 6),
            ("deploy", LoginMethod::Publickey, "192.0.2.20", 6),
            ("bob", LoginMethod::KeyboardInteractive, "192.0.2.30", 2),
            ("root", LoginMethod::Password, "198.51.100.7", 1),
        ]
    );
    assert_eq!(d.logins[0].keys, ["ED25519 SHA256:YWxpY2VrZXkx"]);
    assert_eq!(d.logins[0].first, "2026-11-22T12:00:00Z".parse().unwrap());
    assert_eq!(d.logins[0].last, "2026-11-22T19:05:00Z".parse().unwrap());
}

#[test]
fn failures_and_the_bans_they_cause() {
    let d = digest_of(&ALL_FILES);
    let brute = source(&d, "203.0.113.50").unwrap();
    // 8 failed passwords, each with its PAM line: 16 lines, both detections ban.
    assert_eq!(brute.failures, 16);
    assert_eq!(brute.jails["sshd"], 8);
    assert_eq!(brute.jails["pam"], 8);
    assert_eq!(brute.banned_by, ["pam", "sshd"]);
    assert_eq!(brute.users, ["root"]);
    // Slow scanners stay under the thresholds; the non-UTF-8 line still counts.
    let slow = source(&d, "203.0.113.51").unwrap();
    assert_eq!((slow.failures, slow.banned_by.len()), (4, 0));
    assert!(
        slow.users.iter().any(|u| u.contains('\u{fffd}')),
        "{:?}",
        slow.users
    );
    assert_eq!(source(&d, "203.0.113.52").unwrap().failures, 6);
    assert!(source(&d, "203.0.113.52").unwrap().banned_by.is_empty());
    for (host, jail) in [
        ("203.0.113.120", "drupal"),
        ("203.0.113.110", "postfix-sasl"),
        ("203.0.113.90", "http-probe"),
        ("203.0.113.99", "http-4xx"),
        ("203.0.113.130", "rails-devise"),
    ] {
        assert_eq!(source(&d, host).unwrap().banned_by, [jail], "{host}");
    }
    assert_eq!(source(&d, "203.0.113.113").unwrap().jails["dovecot"], 2);
    assert_eq!(
        source(&d, "203.0.113.70").unwrap().jails["nginx-http-auth"],
        2
    );
    // Local users: reported, never banned.
    for (user, jail) in [("bob", "sudo"), ("mallory", "sudo"), ("carol", "su")] {
        let s = source(&d, user).unwrap();
        assert_eq!((s.target, s.jails[jail]), (Target::LocalUser, 1), "{user}");
    }
    // Before the window, and the successful sign-in: not failures.
    assert!(source(&d, "203.0.113.200").is_none());
    assert!(source(&d, "192.0.2.40").is_none());
    assert_eq!(d.failures.sources.len(), 13);
    assert_eq!(
        d.failures.total,
        d.failures.sources.iter().map(|s| s.failures).sum::<u64>()
    );
    let mut bans: Vec<(&str, &str)> = d
        .bans
        .iter()
        .map(|b| (b.jail.as_str(), b.host.as_str()))
        .collect();
    bans.sort();
    assert_eq!(
        bans,
        [
            ("drupal", "203.0.113.120"),
            ("http-4xx", "203.0.113.99"),
            ("http-probe", "203.0.113.90"),
            ("pam", "203.0.113.50"),
            ("postfix-sasl", "203.0.113.110"),
            ("rails-devise", "203.0.113.130"),
            ("sshd", "203.0.113.50"),
        ]
    );
}

#[test]
fn sudo_su_services_kernel_packages_disk() {
    let d = digest_of(&ALL_FILES);
    let sudo: Vec<(&str, &str, &str, u64)> = d
        .sudo
        .iter()
        .map(|s| {
            (
                s.user.as_str(),
                s.runas.as_str(),
                s.command.as_str(),
                s.count,
            )
        })
        .collect();
    assert_eq!(
        sudo,
        [
            ("deploy", "root", "/usr/bin/systemctl restart puma", 3),
            ("alice", "root", "/usr/bin/apt upgrade", 2),
            ("alice", "root", "/usr/bin/systemctl restart nginx", 1),
        ]
    );
    assert_eq!(d.su.len(), 1);
    assert_eq!(
        (d.su[0].user.as_str(), d.su[0].by.as_str(), d.su[0].count),
        ("root", "alice", 1)
    );
    let listening: Vec<(&str, &str)> = d
        .listening
        .iter()
        .map(|l| (l.program.as_str(), l.what.as_str()))
        .collect();
    assert_eq!(
        listening,
        [
            ("postgres", r#"IPv4 address "0.0.0.0", port 5432"#),
            ("sshd", "0.0.0.0:2222"),
            ("sshd", "[::]:2222"),
            ("systemd", "OpenBSD Secure Shell server socket"),
        ]
    );
    assert_eq!(d.oom_kills.len(), 1);
    assert_eq!(
        (d.oom_kills[0].process.as_str(), d.oom_kills[0].count),
        ("java", 1)
    );
    assert_eq!(
        (d.segfaults[0].process.as_str(), d.segfaults[0].count),
        ("imgconv", 2)
    );
    assert_eq!(d.boots, 1);
    assert_eq!(d.packages.counts.get("upgrade"), Some(&2));
    assert_eq!(d.packages.counts.get("install"), Some(&1));
    assert_eq!(d.packages.counts.get("remove"), Some(&1));
    assert!(
        !d.packages
            .changes
            .iter()
            .any(|c| c.package.starts_with("tzdata")),
        "before the window"
    );
    let openssl = d
        .packages
        .changes
        .iter()
        .find(|c| c.package == "openssl:amd64")
        .unwrap();
    assert_eq!(openssl.to.as_deref(), Some("3.0.15-1~deb12u1"));
    assert_eq!(
        (
            d.disk.log_errors[0].process.as_str(),
            d.disk.log_errors[0].count
        ),
        ("postgres", 2)
    );
    assert!(d.disk.filesystems.is_none(), "not checked unless asked");
    assert_eq!(d.http.len(), 1);
    assert_eq!(d.http[0].requests, 80);
    assert_eq!(d.http[0].statuses["4xx"], 39);
}

#[test]
fn unrecognised_lines_by_program_with_samples() {
    let d = digest_of(&ALL_FILES);
    let programs: Vec<(&str, u64)> = d
        .unrecognised
        .programs
        .iter()
        .map(|u| (u.program.as_str(), u.count))
        .collect();
    assert_eq!(
        programs,
        [
            ("myagent", 5),
            ("backupd", 2),
            ("kernel", 1),
            ("nginx/error.log", 1)
        ]
    );
    assert_eq!(d.unrecognised.total, 9);
    assert_eq!(
        d.unrecognised.programs[0].samples.len(),
        3,
        "samples are capped"
    );
}

#[test]
fn attention_names_what_needs_a_person() {
    let d = digest_of(&ALL_FILES);
    let kinds: Vec<AttentionKind> = d.attention.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AttentionKind::RootLogin,
            AttentionKind::PasswordLogin,
            AttentionKind::Ban,
            AttentionKind::LocalAuthFailure,
            AttentionKind::NewService,
            AttentionKind::OomKill,
            AttentionKind::Segfault,
            AttentionKind::LowDisk,
            AttentionKind::FutureLines,
        ]
    );
    assert!(d.attention[0].message.contains("198.51.100.7"));
    assert!(
        d.attention[2]
            .message
            .starts_with("6 address(es) would be banned")
    );
    // A quiet day: only routine lines.
    let quiet = digest_of(&["dpkg.log"]);
    assert!(quiet.attention.is_empty(), "{:?}", quiet.attention);
    let human = allclear_digest::render::human(&quiet, &jiff::tz::TimeZone::UTC, false);
    assert!(human.contains("Nothing needs attention."), "{human}");
}

#[test]
fn journal_input() {
    let mut dg = Digester::new(options()).unwrap();
    let file = std::fs::File::open(day_dir().join("journal.json")).unwrap();
    dg.read_journal("journal", std::io::BufReader::new(file))
        .unwrap();
    let d = dg.finish();
    let input = &d.inputs[0];
    assert_eq!(
        (input.lines, input.invalid_json, input.before_window),
        (10, 1, 1)
    );
    assert_eq!(d.logins.len(), 1);
    assert_eq!((d.logins[0].user.as_str(), d.logins[0].count), ("erin", 1));
    assert_eq!(d.oom_kills[0].process, "node");
    assert_eq!(d.hosts, ["web2"]);
    // Non-UTF-8 bytes replaced, the terminal escape defused.
    let weird = d
        .unrecognised
        .programs
        .iter()
        .find(|u| u.program == "weird")
        .unwrap();
    assert_eq!(weird.samples, ["hi\u{fffd}?[31m"]);
    let s = source(&d, "203.0.113.140").unwrap();
    assert_eq!(
        (s.failures, s.banned_by.as_slice()),
        (5, &["sshd".to_owned()][..])
    );
    assert!(
        d.attention
            .iter()
            .any(|a| a.kind == AttentionKind::UnreadableInput)
    );
}

#[test]
fn a_missing_file_is_reported_and_the_rest_still_read() {
    let mut dg = Digester::new(options()).unwrap();
    assert!(dg.read_path(&day_dir().join("nope.log")).is_err());
    dg.read_path(&day_dir().join("kern.log")).unwrap();
    let d = dg.finish();
    assert!(d.inputs[0].error.is_some());
    assert_eq!(d.oom_kills.len(), 1);
    assert!(
        d.attention
            .iter()
            .any(|a| a.kind == AttentionKind::UnreadableInput && a.message.contains("nope.log"))
    );
}

#[test]
fn a_shorter_window_sees_less() {
    let mut dg = Digester::new(DigestOptions {
        since: now() - jiff::SignedDuration::from_hours(1),
        ..options()
    })
    .unwrap();
    dg.read_path(&day_dir().join("auth.log")).unwrap();
    let d = dg.finish();
    assert!(d.logins.is_empty(), "{:?}", d.logins);
    assert!(d.failures.sources.is_empty());
    // Everything but the line from the future is older than an hour.
    assert_eq!((d.inputs[0].before_window, d.inputs[0].future), (77, 1));
}

#[test]
fn markdown_and_json_carry_the_same_facts() {
    let d = digest_of(&ALL_FILES);
    let md = allclear_digest::render::markdown(&d, &jiff::tz::TimeZone::UTC);
    assert!(md.starts_with("# Log digest — web1\n"), "{md}");
    assert!(md.contains("## Needs attention"));
    assert!(
        md.contains("| alice | publickey | 192.0.2.10 | 6 |"),
        "{md}"
    );
    assert!(
        md.contains("| 203.0.113.50 | 16 | pam, sshd | root | pam, sshd |"),
        "{md}"
    );
    let json: serde_json::Value = serde_json::to_value(&d).unwrap();
    assert_eq!(json["logins"][0]["method"], "publickey");
    assert_eq!(json["failures"]["sources"][1]["source"], "203.0.113.50");
    assert_eq!(json["attention"][0]["kind"], "root-login");
}
