//! Whole inputs of every kind (and as journal JSON) through the digest, with the built-in
//! detections: no panic, whatever the bytes.
#![no_main]

use std::sync::OnceLock;

use allclear_digest::{CompiledJails, DigestOptions, Digester, LogKind};
use libfuzzer_sys::fuzz_target;

/// The built-in detections, compiled once for the whole run rather than per input.
fn jails() -> Option<&'static CompiledJails> {
    static JAILS: OnceLock<Option<CompiledJails>> = OnceLock::new();
    JAILS
        .get_or_init(|| CompiledJails::compile(allclear_logs::builtin::builtin_jails()).ok())
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let now = jiff::Timestamp::from_second(1_795_953_600).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let Some(jails) = jails() else {
        return;
    };
    let Ok(mut digester) = Digester::with_jails(
        DigestOptions {
            since: now - jiff::SignedDuration::from_hours(24),
            now,
            tz: jiff::tz::TimeZone::UTC,
            jails: Vec::new(),
        },
        jails.clone(),
    ) else {
        return;
    };
    let kinds = [
        LogKind::Syslog,
        LogKind::Dpkg,
        LogKind::HttpAccess,
        LogKind::HttpError,
        LogKind::Rails,
    ];
    if selector == 255 {
        let _ = digester.read_journal("fuzz", body);
    } else {
        let kind = kinds[usize::from(selector) % kinds.len()];
        let _ = digester.read("fuzz", "fuzz", kind, body);
    }
    let digest = digester.finish();
    let _ = allclear_digest::render::human(&digest, &jiff::tz::TimeZone::UTC, true);
    let _ = allclear_digest::render::markdown(&digest, &jiff::tz::TimeZone::UTC);
});
