//! Integration tests of the digest on our own day of logs (`tests/fixtures/day/`, written by
//! `scripts/gen-digest-fixtures.py`).

mod day;
mod props;

use std::path::{Path, PathBuf};

use allclear_digest::{Digest, DigestOptions, Digester, order_rotated};

pub fn day_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/day")
}

pub fn now() -> jiff::Timestamp {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

pub fn options() -> DigestOptions {
    DigestOptions {
        since: now() - jiff::SignedDuration::from_hours(24),
        now: now(),
        tz: jiff::tz::TimeZone::UTC,
        jails: allclear_logs::builtin::builtin_jails(),
    }
}

/// The digest of the fixture files named (relative to the day folder).
pub fn digest_of(files: &[&str]) -> Digest {
    let mut d = Digester::new(options()).unwrap();
    let paths = order_rotated(files.iter().map(|f| day_dir().join(f)).collect());
    for p in paths {
        d.read_path(&p).unwrap();
    }
    d.finish()
}

pub const ALL_FILES: [&str; 8] = [
    "auth.log",
    "auth.log.1.gz",
    "syslog",
    "kern.log",
    "dpkg.log",
    "nginx/access.log",
    "nginx/error.log",
    "app/log/production.log",
];
