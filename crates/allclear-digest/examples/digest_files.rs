//! Digests the log files named on the command line over the last 24 hours before `NOW`
//! (RFC 3339, default: now) and prints the human digest and the time it took on stderr.
//!
//! `cargo run --release -p allclear-digest --example digest_files -- /var/log/auth.log`

use std::time::Instant;

use allclear_digest::{DigestOptions, Digester, order_rotated};

fn main() {
    let now = std::env::var("NOW")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(jiff::Timestamp::now);
    let Ok(mut digester) = Digester::new(DigestOptions {
        since: now - jiff::SignedDuration::from_hours(24),
        now,
        tz: jiff::tz::TimeZone::system(),
        jails: allclear_logs::builtin::builtin_jails(),
    }) else {
        eprintln!("the built-in detections do not compile");
        std::process::exit(2);
    };
    let start = Instant::now();
    let paths = order_rotated(std::env::args_os().skip(1).map(Into::into).collect());
    for path in &paths {
        if let Err(e) = digester.read_path(path) {
            eprintln!("{e}");
        }
    }
    let digest = digester.finish();
    let elapsed = start.elapsed();
    let lines: u64 = digest.inputs.iter().map(|i| i.lines).sum();
    print!(
        "{}",
        allclear_digest::render::human(&digest, &jiff::tz::TimeZone::system(), false)
    );
    eprintln!(
        "{lines} lines in {:.2}s ({:.0} lines/s)",
        elapsed.as_secs_f64(),
        lines as f64 / elapsed.as_secs_f64()
    );
}
