//! `allclear host logs digest` on the digest crate's fixture day, at a fixed "now".

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{allclear, stdout, text};

fn day() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../allclear-digest/tests/fixtures/day")
}

fn digest(format: &str, extra: &[&str]) -> std::process::Output {
    let day = day();
    let mut cmd = allclear();
    cmd.env("TZ", "UTC")
        .args(["host", "logs", "digest", "--no-disk", "--since", "24h"])
        .args(["--now", "2026-11-23T12:00:00Z", "--format", format])
        .arg("--log");
    for f in [
        "auth.log",
        "auth.log.1.gz",
        "syslog",
        "kern.log",
        "dpkg.log",
        "nginx/access.log",
        "nginx/error.log",
        "app/log/production.log",
    ] {
        cmd.arg(day.join(f));
    }
    cmd.args(extra).output().unwrap()
}

#[test]
fn human_digest_puts_attention_first_and_fits_a_screen() {
    let output = digest("human", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0]
            .starts_with("allclear digest 2026-11-22 12:00 → 2026-11-23 12:00 UTC (24h) · web1"),
        "{out}"
    );
    assert_eq!(lines[3], "NEEDS ATTENTION (9)", "{out}");
    assert_eq!(lines[4], "  ! root logged in from 198.51.100.7 (password)");
    assert!(out.contains("  ! out of memory, killed: java\n"), "{out}");
    assert!(out.contains("\nLogins: 15\n"), "{out}");
    assert!(
        out.contains("  203.0.113.50      16  pam,sshd      users: root  ban: pam, sshd\n"),
        "{out}"
    );
    assert!(
        out.contains("Packages: 1 install, 1 remove, 2 upgrade"),
        "{out}"
    );
    assert!(
        out.contains("Unrecognised: 9 lines from 4 programs"),
        "{out}"
    );
    assert!(lines.len() <= 60, "{} lines:\n{out}", lines.len());
    assert!(!out.contains('\u{1b}'), "NO_COLOR and a pipe: no escapes");
}

#[test]
fn markdown_digest() {
    let output = digest("markdown", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let out = stdout(&output);
    assert!(out.starts_with("# Log digest — web1\n"), "{out}");
    assert!(
        out.contains("## Needs attention\n\n- root logged in from 198.51.100.7 (password)\n"),
        "{out}"
    );
    assert!(
        out.contains("| deploy | root | /usr/bin/systemctl restart puma | 3 |"),
        "{out}"
    );
    // `~` is escaped: GitHub reads `~text~` as strikethrough.
    assert!(
        out.contains(r"| upgrade | openssl:amd64 | 3.0.11-1\~deb12u2 | 3.0.15-1\~deb12u1 |"),
        "{out}"
    );
}

#[test]
fn json_digest_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("digest.json");
    let output = digest("json", &["-o", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(output.stdout.is_empty());
    let json: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["since"], "2026-11-22T12:00:00Z");
    assert_eq!(json["logins"][0]["user"], "alice");
    assert_eq!(json["logins"][0]["count"], 6);
    assert_eq!(json["failures"]["sources"].as_array().unwrap().len(), 13);
    assert_eq!(json["bans"].as_array().unwrap().len(), 7);
    assert_eq!(json["oom_kills"][0]["process"], "java");
    assert_eq!(json["packages"]["counts"]["upgrade"], 2);
    assert_eq!(json["future_lines"]["count"], 2);
    assert!(json["disk"]["filesystems"].is_null(), "--no-disk");
}

#[test]
fn quiet_day_exits_0_and_bad_since_exits_2() {
    let output = allclear()
        .env("TZ", "UTC")
        .args([
            "host",
            "logs",
            "digest",
            "--no-disk",
            "--now",
            "2026-11-23T12:00:00Z",
            "--log",
        ])
        .arg(day().join("dpkg.log"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(stdout(&output).contains("Nothing needs attention."));
    let output = allclear()
        .args([
            "host",
            "logs",
            "digest",
            "--since",
            "yesterday-ish",
            "--log",
        ])
        .arg(day().join("dpkg.log"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("hint: use a duration such as 24h"), "{err}");
}

#[test]
fn journal_file_input() {
    let output = allclear()
        .env("TZ", "UTC")
        .args([
            "host",
            "logs",
            "digest",
            "--no-disk",
            "--now",
            "2026-11-23T12:00:00Z",
            "--format",
            "json",
            "--journal-file",
        ])
        .arg(day().join("journal.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["logins"][0]["user"], "erin");
    let journal = json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"].as_str().unwrap().ends_with("journal.json"))
        .unwrap();
    assert_eq!(journal["invalid_json"], 1);
    // With the journal, syslog files are not read again.
    assert!(
        json["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] != "syslog" || i == journal)
    );
    assert_eq!(json["bans"][0]["host"], "203.0.113.140");
}

/// A rotated log that does not decompress is never silence: alone it is an error, beside
/// readable logs it needs attention.
#[test]
fn a_compressed_log_that_does_not_decompress_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    // Bytes that are neither text lines nor gzip (a fixed pseudo-random sequence).
    let mut state: u32 = 0x2545_f491;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    assert_ne!(noise[..2], [0x1f, 0x8b]);
    let noise_log = dir.path().join("auth.log.1.gz");
    std::fs::write(&noise_log, &noise).unwrap();
    let mut damaged = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    damaged.extend_from_slice(&noise);
    let damaged_log = dir.path().join("syslog.2.gz");
    std::fs::write(&damaged_log, &damaged).unwrap();

    for log in [&noise_log, &damaged_log] {
        let output = allclear()
            .args(["host", "logs", "digest", "--no-disk", "--log"])
            .arg(log)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        let err = crate::stderr(&output);
        assert!(err.contains("none of the logs could be read"), "{err}");
        assert!(
            !err.contains("run as root"),
            "not a permission problem: {err}"
        );
    }

    let output = allclear()
        .env("TZ", "UTC")
        .args([
            "host",
            "logs",
            "digest",
            "--no-disk",
            "--now",
            "2026-11-23T12:00:00Z",
        ])
        .arg("--log")
        .arg(day().join("syslog"))
        .arg(&noise_log)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let out = stdout(&output);
    assert!(out.contains("could not read"), "{out}");
    assert!(
        out.contains("auth.log.1.gz: named .gz but not gzip-compressed"),
        "{out}"
    );
}
