//! Log analysis for allclear: existing fail2ban filters and jails, read unchanged, matched in
//! linear time, with a verdict on what would be banned and why.
//!
//! - [`ini`] reads fail2ban's configuration dialect (Python `configparser` with fail2ban's
//!   `[INCLUDES]`, `.local` overrides, `%(name)s` / `%(known/name)s` interpolation).
//! - [`config`] resolves filters (`filter.d/NAME.conf` with jail arguments such as
//!   `sshd[mode=aggressive]` and `<tag>` substitution) and jails (`jail.conf`, `jail.d/`,
//!   `jail.local`).
//! - Patterns run on [`allclear_pyregex`]: Python regular expressions on the linear-time
//!   `regex` crate where the pattern allows, `fancy-regex` with a step limit only for the rest.
//! - [`date`] finds and removes the timestamp in a line as fail2ban's date detector does.
//! - [`filter`] applies a filter to lines (prefregex, failregex, ignoreregex, multi-line
//!   buffers, connection ids).
//! - [`scan`] scans logs and applies a jail's rules: which host would be banned, when, and
//!   which lines caused it.
//! - [`jail`], [`state`], [`action`], [`follow`], [`journal`] and [`daemon`] replace the
//!   fail2ban server: per-jail failure counting and bans (with `bantime.increment` and
//!   `ignoreip`), bans and read positions persisted in a state directory, nftables / ipset /
//!   log-only actions, log files followed across rotation, the systemd journal.
//!
//! Agreement with fail2ban is measured against fail2ban's own sample logs (the
//! `conformance` integration test).
//!
//! ```
//! use std::sync::Arc;
//! use allclear_logs::config::FilterDefinition;
//! use allclear_logs::date::Clock;
//! use allclear_logs::filter::{CompiledFilter, FilterOptions};
//! use allclear_logs::scan::{scan_lines, JailRules, ScanOptions};
//!
//! // Usually read with `config::read_filter(Path::new("/etc/fail2ban"), "sshd", &args)`.
//! let filter = FilterDefinition {
//!     name: "demo".into(),
//!     files: vec![],
//!     prefregex: None,
//!     failregex: vec![r"sshd\[\d+\]: Failed password for <F-USER>\S+</F-USER> from <HOST> port \d+$".into()],
//!     ignoreregex: vec![],
//!     maxlines: None,
//!     datepattern: None,
//!     journalmatch: vec![],
//!     usedns: None,
//! };
//! let filter = Arc::new(CompiledFilter::new(&filter, FilterOptions::default()).unwrap());
//! let log = "Aug 14 09:00:01 web1 sshd[7]: Failed password for root from 198.51.100.7 port 2201\n\
//!            Aug 14 09:00:04 web1 sshd[7]: Failed password for admin from 198.51.100.7 port 2202\n";
//! let options = ScanOptions {
//!     // "Now" completes year-less syslog dates; the time zone reads them.
//!     clock: Clock::new("2005-08-14T10:00:00Z".parse().unwrap(), jiff::tz::TimeZone::UTC),
//!     jail: JailRules { maxretry: 2, ..JailRules::default() },
//!     keep_matches: true,
//! };
//! let report = scan_lines(filter, log.lines().map(str::as_bytes), options);
//! assert_eq!(report.matches[0].user.as_deref(), Some("root"));
//! assert_eq!(report.bans.len(), 1);
//! assert_eq!(report.bans[0].host, "198.51.100.7");
//! assert_eq!(report.bans[0].lines, [1, 2]);
//! println!("{}", report.bans[0].reason); // 2 failures within 3s (maxretry 2, findtime 10m), banned for 10m
//! ```

pub mod action;
pub mod builtin;
pub mod config;
pub mod daemon;
pub mod date;
mod docs;
pub mod filter;
pub mod follow;
pub mod ini;
pub mod jail;
pub mod journal;
pub mod scan;
pub mod state;

pub use docs::rule_docs;

#[cfg(test)]
mod engine_contract;
