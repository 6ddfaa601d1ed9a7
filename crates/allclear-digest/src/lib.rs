//! The daily log digest (the logwatch job, readable in one minute): who logged in and how,
//! failures by source with the bans the built-in detections would impose, sudo commands and
//! su sessions, services that started listening, OOM kills and crashes, package changes,
//! disk space, and the lines nobody recognised, counted with samples.
//!
//! - [`classify`] names what a line says.
//! - [`digest`] reads files (plain or gzip), `journalctl -o json` output and standard input
//!   over a time window, in bounded memory, and builds the [`Digest`].
//! - [`attention`] picks what needs a person; [`render`] writes the digest for a terminal or
//!   as Markdown (JSON is the [`Digest`] itself, through serde).
//! - [`disk`] checks free space on mounted filesystems.
//!
//! ```
//! use allclear_digest::{DigestOptions, Digester, LogKind};
//!
//! let now: jiff::Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
//! let mut digester = Digester::new(DigestOptions {
//!     since: now - jiff::SignedDuration::from_hours(24),
//!     now,
//!     tz: jiff::tz::TimeZone::UTC,
//!     jails: allclear_logs::builtin::builtin_jails(),
//! })
//! .unwrap();
//! let log = "Nov 23 09:00:00 web1 sshd[7]: Accepted password for root from 203.0.113.9 port 5000 ssh2\n";
//! digester.read("auth.log", "auth.log", LogKind::Syslog, log.as_bytes()).unwrap();
//! let digest = digester.finish();
//! assert_eq!(digest.logins[0].user, "root");
//! assert_eq!(digest.attention.len(), 2); // a root login, and by password
//! println!("{}", allclear_digest::render::human(&digest, &jiff::tz::TimeZone::UTC, false));
//! ```

pub mod attention;
pub mod classify;
pub mod digest;
pub mod disk;
pub mod render;

pub use digest::{
    Attention, AttentionKind, CompiledJails, Digest, DigestError, DigestOptions, Digester, FsUsage,
    LogKind, clean, order_rotated, rotation_base,
};
