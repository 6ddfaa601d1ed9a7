//! The ban engine of one jail: failures per address within `findtime`, a ban at `maxretry`,
//! ban times that grow for repeat offenders (`bantime.increment`), and the ignore list.
//!
//! Unlike [`crate::scan`], which judges a finished log, a [`Jail`] runs against the clock:
//! failures older than `findtime` (measured from now) are not counted, as fail2ban ignores them
//! when it catches up on an old log.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::config::{JailDefinition, str2seconds};
use crate::state::{BanRecord, Failure, State};

/// At most this many matched lines are kept as samples in a ban record.
pub const MAX_SAMPLES: usize = 5;
/// Each sample line is cut to this many bytes.
pub const MAX_SAMPLE_LEN: usize = 512;
/// At most this many user names are kept in a ban record.
pub const MAX_USERS: usize = 16;
/// Each user name is cut to this many bytes (`<F-USER>` is usually `\S+`: as long as the
/// attacker likes).
pub const MAX_USER_LEN: usize = 64;
/// fail2ban's default formula caps the exponent at 20.
const MAX_SHIFT: u32 = 20;
/// No ban is longer than this (100 years): keeps times finite whatever the factors.
pub const MAX_BAN_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;
/// fail2ban's `dbpurgeage` default: previous bans count for this long after they end.
pub const DEFAULT_HISTORY_AGE: f64 = 86_400.0;

/// A jail's ban settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum JailError {
    /// A `bantime.*` option has a value we cannot use.
    #[error("{origin}: jail `{jail}`: option `bantime.{option}`: {message}")]
    BanTime {
        origin: String,
        jail: String,
        option: String,
        message: String,
    },
    /// An `ignoreip` entry is neither an address, a network nor a host name.
    #[error("{origin}: jail `{jail}`: ignoreip entry {entry:?} is not an address or network")]
    IgnoreIp {
        origin: String,
        jail: String,
        entry: String,
    },
}

/// How long a ban lasts, including fail2ban's `bantime.increment` rules.
#[derive(Debug, Clone, PartialEq)]
pub struct BanTimePolicy {
    /// Seconds; negative means forever.
    pub bantime: f64,
    /// `bantime.increment`.
    pub increment: bool,
    /// `bantime.factor` (default 1).
    pub factor: f64,
    /// `bantime.multipliers`: when set, the n-th ban lasts `bantime × factor × multipliers[n-1]`
    /// (the last multiplier repeats); otherwise fail2ban's default formula
    /// `bantime × 2^min(n-1, 20) × factor`.
    pub multipliers: Vec<f64>,
    /// `bantime.maxtime`: the longest ban (seconds).
    pub maxtime: Option<f64>,
    /// `bantime.overalljails`: previous bans in every jail count, not only this jail's.
    pub overalljails: bool,
}

impl Default for BanTimePolicy {
    fn default() -> Self {
        BanTimePolicy {
            bantime: 600.0,
            increment: false,
            factor: 1.0,
            multipliers: Vec::new(),
            maxtime: None,
            overalljails: false,
        }
    }
}

/// fail2ban's default `bantime.formula`, with spaces removed.
const DEFAULT_FORMULA: &str = "ban.Time*(1<<(ban.Countifban.Count<20else20))*banFactor";

impl BanTimePolicy {
    /// The policy of a jail definition. Returns warnings for options that are accepted but
    /// not applied (`bantime.rndtime` other than 0, a custom `bantime.formula`).
    pub fn from_definition(jail: &JailDefinition) -> Result<(Self, Vec<String>), JailError> {
        let err = |option: &str, message: String| JailError::BanTime {
            origin: jail.origin.clone(),
            jail: jail.name.clone(),
            option: option.to_owned(),
            message,
        };
        let opts = &jail.bantime_options;
        let mut warnings = Vec::new();
        let factor = match opts.get("factor").map(|v| v.trim()) {
            Some(v) if !v.is_empty() => v
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f > 0.0)
                .ok_or_else(|| err("factor", format!("expected a positive number, not {v:?}")))?,
            _ => 1.0,
        };
        let multipliers = match opts.get("multipliers") {
            Some(v) => v
                .split_whitespace()
                .map(|m| {
                    m.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite() && *f >= 0.0)
                        .ok_or_else(|| err("multipliers", format!("{m:?} is not a number")))
                })
                .collect::<Result<Vec<f64>, _>>()?,
            None => Vec::new(),
        };
        let duration = |key: &str| -> Result<Option<f64>, JailError> {
            match opts.get(key).map(|v| v.trim()) {
                Some(v) if !v.is_empty() => str2seconds(v)
                    .map(Some)
                    .ok_or_else(|| err(key, format!("expected a duration like 1w, not {v:?}"))),
                _ => Ok(None),
            }
        };
        let maxtime = duration("maxtime")?.filter(|m| *m > 0.0);
        if duration("rndtime")?.is_some_and(|r| r > 0.0) {
            warnings.push(format!(
                "jail `{}`: bantime.rndtime is not applied (ban times stay exact)",
                jail.name
            ));
        }
        if let Some(f) = opts.get("formula") {
            let compact: String = f.chars().filter(|c| !c.is_whitespace()).collect();
            if !compact.is_empty() && compact != DEFAULT_FORMULA && multipliers.is_empty() {
                warnings.push(format!(
                    "jail `{}`: custom bantime.formula is not supported; using the default (doubling) formula",
                    jail.name
                ));
            }
        }
        let overalljails = opts.get("overalljails").is_some_and(|v| {
            matches!(
                v.trim().to_lowercase().as_str(),
                "1" | "on" | "true" | "yes"
            )
        });
        Ok((
            BanTimePolicy {
                bantime: jail.bantime,
                increment: jail.bantime_increment,
                factor,
                multipliers,
                maxtime,
                overalljails,
            },
            warnings,
        ))
    }

    /// How long the `nth` ban (1 = first) of an address lasts, in seconds; negative means
    /// forever.
    pub fn ban_seconds(&self, nth: u32) -> f64 {
        if self.bantime < 0.0 {
            return self.bantime;
        }
        if !self.increment {
            return self.bantime;
        }
        let previous = nth.saturating_sub(1);
        let t = if self.multipliers.is_empty() {
            self.bantime * f64::from(1u32 << previous.min(MAX_SHIFT)) * self.factor
        } else {
            let i = (previous as usize).min(self.multipliers.len() - 1);
            self.bantime * self.factor * self.multipliers.get(i).copied().unwrap_or(1.0)
        };
        let t = match self.maxtime {
            Some(max) => t.min(max),
            None => t,
        };
        t.min(MAX_BAN_SECONDS)
    }
}

/// Addresses and networks that are never banned (`ignoreip`, `ignoreself`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IgnoreList {
    nets: Vec<(IpAddr, u8)>,
    /// Loopback and the host's own addresses.
    pub own: Vec<IpAddr>,
    pub ignoreself: bool,
}

/// Parses `192.0.2.0/24`, `2001:db8::/32`, `198.51.100.7` or `[::1]`.
pub fn parse_net(entry: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match entry.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (entry, None),
    };
    let addr: IpAddr = addr.trim_matches(|c| c == '[' || c == ']').parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.trim().parse::<u8>().ok().filter(|&l| l <= max)?,
        None => max,
    };
    Some((addr, len))
}

fn in_net(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    let ip = match (net, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        _ => ip,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

impl IgnoreList {
    /// The ignore list of `entries` (`ignoreip`). Host names (fail2ban resolves them) are
    /// returned as warnings and skipped; anything else that is not an address is an error.
    pub fn new(
        entries: &[String],
        ignoreself: bool,
        own: Vec<IpAddr>,
        jail: &str,
        origin: &str,
    ) -> Result<(IgnoreList, Vec<String>), JailError> {
        let mut nets = Vec::new();
        let mut warnings = Vec::new();
        for entry in entries {
            match parse_net(entry) {
                Some(n) => nets.push(n),
                None if entry
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                    && entry.chars().any(|c| c.is_ascii_alphabetic()) =>
                {
                    warnings.push(format!(
                        "jail `{jail}`: ignoreip entry {entry:?} is a host name; names are not resolved, so it is skipped"
                    ));
                }
                None => {
                    return Err(JailError::IgnoreIp {
                        origin: origin.to_owned(),
                        jail: jail.to_owned(),
                        entry: entry.clone(),
                    });
                }
            }
        }
        Ok((
            IgnoreList {
                nets,
                own,
                ignoreself,
            },
            warnings,
        ))
    }

    /// Whether `ip` must never be banned.
    pub fn contains(&self, ip: IpAddr) -> bool {
        if self.ignoreself && (ip.is_loopback() || self.own.contains(&ip)) {
            return true;
        }
        self.nets.iter().any(|&(net, len)| in_net(net, len, ip))
    }
}

/// The rules of one jail.
#[derive(Debug, Clone, PartialEq)]
pub struct JailPolicy {
    pub name: String,
    pub maxretry: u32,
    /// Seconds.
    pub findtime: f64,
    pub bantime: BanTimePolicy,
    pub ignore: IgnoreList,
}

/// What became of one failure.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Counted: `count` failures of this address are now within `findtime`.
    Counted { count: u32 },
    /// The address is in the ignore list.
    Ignored,
    /// Older than `findtime` (from now): not counted.
    TooOld,
    /// The address is already banned by this jail.
    AlreadyBanned,
    /// The address is banned now (the record is also in the state).
    Banned(Box<BanRecord>),
}

/// A jail at run time. Recent failures and bans live in [`State`], so a restart (or a
/// `--once` run from cron) goes on counting where the last one stopped.
#[derive(Debug)]
pub struct Jail {
    pub policy: JailPolicy,
}

fn cut(line: &str, max: usize) -> String {
    if line.len() <= max {
        return line.to_owned();
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// `600` → `10m`, `5400` → `1h30m`, negative → `forever`.
pub fn human_seconds(s: f64) -> String {
    if s < 0.0 || !s.is_finite() {
        return "forever".to_owned();
    }
    let mut s = s.round() as u64;
    if s == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= size {
            out.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    out
}

impl Jail {
    pub fn new(policy: JailPolicy) -> Jail {
        Jail { policy }
    }

    /// Records a failure of `ip` at `time` (from the log) seen at `now`; `line` is the log
    /// line (kept, cut, as a sample). Bans go into `state`.
    pub fn failure(
        &mut self,
        ip: IpAddr,
        time: f64,
        now: f64,
        line: &str,
        user: Option<&str>,
        state: &mut State,
    ) -> Outcome {
        // `::ffff:192.0.2.1` is the IPv4 address: banned (and ignored) as such.
        let ip = ip.to_canonical();
        let p = &self.policy;
        if p.ignore.contains(ip) {
            return Outcome::Ignored;
        }
        if time < now - p.findtime {
            return Outcome::TooOld;
        }
        if state.ban(&p.name, ip).is_some_and(|b| b.live_at(now)) {
            return Outcome::AlreadyBanned;
        }
        let seq = state.next_seq();
        let window = state.failures_mut(&p.name, ip);
        window.retain(|f| f.time >= time - p.findtime);
        window.push(Failure {
            seq,
            time,
            sample: cut(line, MAX_SAMPLE_LEN),
            user: user.map(|u| cut(u, MAX_USER_LEN)),
        });
        // Bound memory per address: only the last `maxretry` failures can matter.
        let maxretry = p.maxretry.max(1) as usize;
        if window.len() > maxretry {
            let extra = window.len() - maxretry;
            window.drain(..extra);
        }
        if window.len() < maxretry {
            return Outcome::Counted {
                count: window.len() as u32,
            };
        }
        let failures: Vec<Failure> = std::mem::take(window);
        state.clear_failures(&p.name, ip);
        let first = failures.first().map_or(time, |f| f.time);
        let users: BTreeSet<String> = failures.iter().filter_map(|f| f.user.clone()).collect();
        let samples = failures
            .iter()
            .rev()
            .take(MAX_SAMPLES)
            .rev()
            .map(|f| f.sample.clone())
            .collect();
        let reason = format!(
            "{} failures within {} (maxretry {}, findtime {})",
            failures.len(),
            human_seconds(time - first),
            p.maxretry,
            human_seconds(p.findtime)
        );
        let record = self.ban_record(ip, time, now, reason, state, |r| {
            r.failures = failures.len() as u32;
            r.first_failure = Some(first);
            r.users = users.into_iter().take(MAX_USERS).collect();
            r.samples = samples;
        });
        Outcome::Banned(Box::new(record))
    }

    /// Bans `ip` by hand for `seconds` (or the jail's ban time, with increments).
    pub fn manual_ban(
        &mut self,
        ip: IpAddr,
        now: f64,
        seconds: Option<f64>,
        state: &mut State,
    ) -> BanRecord {
        let ip = ip.to_canonical();
        state.clear_failures(&self.policy.name, ip);
        self.ban_record(ip, now, now, "banned by hand".to_owned(), state, |r| {
            r.manual = true;
            if let Some(s) = seconds {
                let s = if s.is_finite() {
                    s.min(MAX_BAN_SECONDS)
                } else {
                    -1.0
                };
                r.bantime = s;
                r.until = (s >= 0.0).then_some(r.start + s);
            }
        })
    }

    fn ban_record(
        &self,
        ip: IpAddr,
        start: f64,
        now: f64,
        reason: String,
        state: &mut State,
        fill: impl FnOnce(&mut BanRecord),
    ) -> BanRecord {
        let p = &self.policy;
        let jail_filter = (!p.bantime.overalljails).then_some(p.name.as_str());
        let nth = state.previous_bans(ip, jail_filter, now) + 1;
        let seconds = p.bantime.ban_seconds(nth);
        let mut record = BanRecord {
            jail: p.name.clone(),
            ip,
            start,
            until: (seconds >= 0.0).then_some(start + seconds),
            bantime: seconds,
            nth,
            failures: 0,
            first_failure: None,
            maxretry: p.maxretry,
            findtime: p.findtime,
            users: Vec::new(),
            samples: Vec::new(),
            reason: String::new(),
            manual: false,
        };
        fill(&mut record);
        record.reason = format!(
            "{reason}; ban #{} of this address, {}",
            record.nth,
            if record.bantime < 0.0 {
                "forever".to_owned()
            } else {
                format!("for {}", human_seconds(record.bantime))
            }
        );
        state.insert_ban(record.clone(), now);
        record
    }

    /// Forgets failures older than `findtime` before `now` (they can no longer count);
    /// whether any went.
    pub fn forget_old(&self, state: &mut State, now: f64) -> bool {
        state.forget_failures(&self.policy.name, now - self.policy.findtime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn policy(maxretry: u32) -> JailPolicy {
        let (ignore, _) = IgnoreList::new(
            &["192.0.2.0/24".into(), "2001:db8::/32".into()],
            true,
            vec![],
            "sshd",
            "test",
        )
        .unwrap();
        JailPolicy {
            name: "sshd".into(),
            maxretry,
            findtime: 600.0,
            bantime: BanTimePolicy::default(),
            ignore,
        }
    }

    const NOW: f64 = 1_000_000.0;

    #[test]
    fn bans_at_maxretry_within_findtime_and_keeps_samples() {
        let mut jail = Jail::new(policy(3));
        let mut state = State::default();
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let o = jail.failure(ip, NOW - 30.0, NOW, "line 1", Some("root"), &mut state);
        assert_eq!(o, Outcome::Counted { count: 1 });
        jail.failure(ip, NOW - 20.0, NOW, "line 2", Some("admin"), &mut state);
        let Outcome::Banned(ban) = jail.failure(ip, NOW - 10.0, NOW, "line 3", None, &mut state)
        else {
            panic!("no ban");
        };
        assert_eq!(ban.failures, 3);
        assert_eq!(ban.samples, ["line 1", "line 2", "line 3"]);
        assert_eq!(ban.users, ["admin", "root"]);
        assert_eq!(ban.until, Some(NOW - 10.0 + 600.0));
        assert!(
            ban.reason.starts_with("3 failures within 20s"),
            "{}",
            ban.reason
        );
        assert_eq!(
            jail.failure(ip, NOW, NOW, "x", None, &mut state),
            Outcome::AlreadyBanned
        );
        assert!(state.ban("sshd", ip).is_some());
    }

    #[test]
    fn old_failures_and_spread_failures_do_not_ban() {
        let mut jail = Jail::new(policy(2));
        let mut state = State::default();
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            jail.failure(ip, NOW - 700.0, NOW, "", None, &mut state),
            Outcome::TooOld
        );
        let mut later = NOW;
        for _ in 0..3 {
            later += 700.0;
            let o = jail.failure(ip, later, later, "", None, &mut state);
            assert_eq!(o, Outcome::Counted { count: 1 });
        }
    }

    #[test]
    fn ignoreip_networks_and_self() {
        let mut jail = Jail::new(policy(1));
        let mut state = State::default();
        for ip in [
            "192.0.2.77",
            "2001:db8::5",
            "127.0.0.1",
            "::1",
            "::ffff:192.0.2.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(
                jail.failure(ip, NOW, NOW, "", None, &mut state),
                Outcome::Ignored,
                "{ip}"
            );
        }
        let outside = IpAddr::V4(Ipv4Addr::new(192, 0, 3, 1));
        assert!(matches!(
            jail.failure(outside, NOW, NOW, "", None, &mut state),
            Outcome::Banned(_)
        ));
        let mapped: IpAddr = "::ffff:198.51.100.8".parse().unwrap();
        let Outcome::Banned(b) = jail.failure(mapped, NOW, NOW, "", None, &mut state) else {
            panic!("no ban")
        };
        assert_eq!(
            b.ip.to_string(),
            "198.51.100.8",
            "mapped addresses are IPv4"
        );
        assert!(IgnoreList::new(&["not an ip!".into()], true, vec![], "j", "f").is_err());
        let (_, warnings) =
            IgnoreList::new(&["example.org".into()], true, vec![], "j", "f").unwrap();
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn ban_time_increments() {
        let mut p = BanTimePolicy {
            increment: true,
            ..BanTimePolicy::default()
        };
        assert_eq!(
            (1..=4).map(|n| p.ban_seconds(n)).collect::<Vec<_>>(),
            [600.0, 1200.0, 2400.0, 4800.0]
        );
        p.maxtime = Some(2000.0);
        assert_eq!(p.ban_seconds(3), 2000.0);
        p.maxtime = None;
        p.multipliers = vec![1.0, 5.0, 30.0];
        p.factor = 2.0;
        assert_eq!(
            (1..=5).map(|n| p.ban_seconds(n)).collect::<Vec<_>>(),
            [1200.0, 6000.0, 36000.0, 36000.0, 36000.0]
        );
        p.increment = false;
        assert_eq!(p.ban_seconds(7), 600.0);
        assert_eq!(p.ban_seconds(u32::MAX), 600.0);
        p.increment = true;
        p.multipliers.clear();
        assert!(p.ban_seconds(u32::MAX).is_finite());
        p.bantime = 1e300;
        p.factor = 1e300;
        assert_eq!(p.ban_seconds(3), MAX_BAN_SECONDS);
    }

    #[test]
    fn repeat_offender_gets_longer_bans_counted_in_state() {
        let mut jail = Jail::new(JailPolicy {
            bantime: BanTimePolicy {
                increment: true,
                ..BanTimePolicy::default()
            },
            ..policy(1)
        });
        let mut state = State::default();
        let ip: IpAddr = "198.51.100.9".parse().unwrap();
        let mut t = NOW;
        let mut times = Vec::new();
        for _ in 0..3 {
            let Outcome::Banned(b) = jail.failure(ip, t, t, "", None, &mut state) else {
                panic!()
            };
            times.push(b.bantime);
            t = b.until.unwrap() + 1.0;
            state.expire(t);
        }
        assert_eq!(times, [600.0, 1200.0, 2400.0]);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_seconds(600.0), "10m");
        assert_eq!(human_seconds(5400.0), "1h30m");
        assert_eq!(human_seconds(-1.0), "forever");
        assert_eq!(human_seconds(0.4), "0s");
    }
}
