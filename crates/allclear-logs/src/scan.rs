//! `scan`: run a filter over log lines and say what would be banned and why (what
//! `fail2ban-regex` shows, plus the jail's verdict).
//!
//! Lines are bytes: invalid UTF-8 is replaced (as fail2ban does), overlong lines are cut, and
//! no line can stall the scan (see [`allclear_pyregex`]). A host is banned when `maxretry` failures
//! fall within `findtime` seconds of each other (an exact sliding window; fail2ban
//! approximates the same rule); while banned, further failures are counted but do not ban
//! again until the ban ends.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::BufRead;
use std::net::IpAddr;
use std::sync::Arc;

use crate::config::JailDefinition;
use crate::date::Clock;
use crate::filter::{CompiledFilter, Filter, RawFailure};

/// The jail rules a scan applies.
#[derive(Debug, Clone, PartialEq)]
pub struct JailRules {
    pub name: String,
    pub maxretry: u32,
    /// Seconds.
    pub findtime: f64,
    /// Seconds; negative means forever.
    pub bantime: f64,
    /// Addresses and networks never banned (`192.0.2.0/24`, `::1`); entries that are not
    /// addresses are ignored.
    pub ignoreip: Vec<String>,
    /// Never ban loopback addresses (fail2ban's `ignoreself` covers the host's own addresses).
    pub ignoreself: bool,
}

impl Default for JailRules {
    /// fail2ban's defaults: 5 failures within 10 minutes ban for 10 minutes.
    fn default() -> Self {
        JailRules {
            name: "scan".into(),
            maxretry: 5,
            findtime: 600.0,
            bantime: 600.0,
            ignoreip: Vec::new(),
            ignoreself: true,
        }
    }
}

impl From<&JailDefinition> for JailRules {
    fn from(j: &JailDefinition) -> Self {
        JailRules {
            name: j.name.clone(),
            maxretry: j.maxretry,
            findtime: j.findtime,
            bantime: j.bantime,
            ignoreip: j.ignoreip.clone(),
            ignoreself: j.ignoreself,
        }
    }
}

/// A failure regex match on one line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LineMatch {
    /// 1-based line number in the input.
    pub line: u64,
    /// Which `failregex` matched (0-based).
    pub regex: usize,
    /// The address or failure id (`None` while a multi-line failure waits for it).
    pub host: Option<String>,
    pub user: Option<String>,
    /// Seconds since the epoch.
    pub time: f64,
    /// Whether it counts towards a ban (`false` for `<F-NOFAIL>` helper matches).
    pub counts: bool,
    /// How many lines make up this failure (several for multi-line failures).
    pub attempts: usize,
}

/// A ban the jail would impose.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ban {
    pub host: String,
    /// When the ban starts (time of the failure that reached `maxretry`).
    pub time: f64,
    /// When it ends (`None`: forever).
    pub until: Option<f64>,
    /// The failures that caused it (exactly `maxretry`).
    pub failures: u32,
    /// Time of the first of those failures.
    pub first_failure: f64,
    /// Lines of those failures.
    pub lines: Vec<u64>,
    /// Users named in those failures.
    pub users: BTreeSet<String>,
    /// Failure regexes involved.
    pub regexes: BTreeSet<usize>,
    /// The rule in words (`5 failures within 10m (maxretry 5, findtime 10m)`).
    pub reason: String,
}

/// Per-host totals.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HostSummary {
    pub failures: u64,
    pub bans: u64,
    /// Failures ignored because the host is in `ignoreip` (or loopback).
    pub ignored: bool,
    /// The first [`crate::jail::MAX_USERS`] user names of the host's failures.
    pub users: BTreeSet<String>,
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ScanReport {
    pub filter: String,
    pub jail: String,
    pub lines: u64,
    /// Lines with at least one counted failure.
    pub matched_lines: u64,
    /// Lines with only helper (`<F-NOFAIL>`) or pending matches.
    pub helper_lines: u64,
    /// Lines that were not valid UTF-8 (matched after replacing the bad bytes).
    pub invalid_utf8_lines: u64,
    /// Lines cut to the maximum length before matching.
    pub truncated_lines: u64,
    /// Searches the backtracking engine gave up on (counted as no match).
    pub backtrack_limit_hits: u64,
    /// Every match, in line order (empty unless asked for).
    pub matches: Vec<LineMatch>,
    pub bans: Vec<Ban>,
    /// Totals per host (filled in by [`Scanner::finish`]).
    pub hosts: BTreeMap<String, HostSummary>,
}

impl ScanReport {
    /// Each ban as an allclear finding (`logs.ban`, medium): stable per jail and host, located
    /// at `location(line)` of the failure that triggered it.
    pub fn ban_findings(
        &self,
        location: &dyn Fn(u64) -> allclear_core::Location,
    ) -> Vec<allclear_core::Finding> {
        self.bans
            .iter()
            .map(|ban| {
                let line = ban.lines.last().copied().unwrap_or(0);
                let users: Vec<&str> = ban.users.iter().map(String::as_str).collect();
                // The key (jail and host) keeps the fingerprint stable when lines move.
                allclear_core::Finding::new(
                    "logs.ban",
                    allclear_core::Severity::Medium,
                    format!(
                        "{} would be banned by {}: {}",
                        ban.host, self.jail, ban.reason
                    ),
                )
                .with_location(location(line))
                .with_key(format!("{}/{}", self.jail, ban.host))
                .with_detail("host", ban.host.clone())
                .with_detail("jail", self.jail.clone())
                .with_detail("filter", self.filter.clone())
                .with_detail("time", ban.time)
                .with_detail("failures", ban.failures)
                .with_detail("lines", ban.lines.clone())
                .with_detail("users", users)
            })
            .collect()
    }
}

/// The JSON document `allclear host logs scan --format json` prints: the filter, the inputs
/// (path and line count, in reading order), the scan report and the bans as findings.
pub fn scan_json(
    report: &ScanReport,
    filter: &crate::config::FilterDefinition,
    inputs: &[(String, u64)],
    findings: &[allclear_core::Finding],
) -> String {
    let inputs: Vec<serde_json::Value> = inputs
        .iter()
        .map(|(path, lines)| serde_json::json!({ "path": path, "lines": lines }))
        .collect();
    let doc = serde_json::json!({
        "schema": allclear_core::SCHEMA_VERSION,
        "filter": {
            "name": filter.name,
            "files": filter.files,
            "failregex": filter.failregex,
        },
        "inputs": inputs,
        "scan": report,
        "findings": findings,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Options of a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub clock: Clock,
    pub jail: JailRules,
    /// Keep every match in [`ScanReport::matches`] (memory grows with the log).
    pub keep_matches: bool,
}

/// Spare user texts a scanner keeps.
const SPARE_USERS_MAX: usize = 64;

#[derive(Debug, Default)]
struct HostWindow {
    /// (time, line, user, regex) of recent failures, oldest first.
    recent: VecDeque<(f64, u64, Option<String>, usize)>,
    banned_until: Option<f64>,
    summary: HostSummary,
    /// Whether the ignore list was consulted (the answer is `summary.ignored`): it parses
    /// the address, so once per host rather than once per failure.
    ignore_checked: bool,
}

/// Networks that are never banned.
#[derive(Debug, Clone)]
struct IgnoreList {
    nets: Vec<(IpAddr, u8)>,
    loopback: bool,
}

impl IgnoreList {
    fn new(rules: &JailRules) -> IgnoreList {
        let nets = rules
            .ignoreip
            .iter()
            .filter_map(|entry| {
                let (addr, len) = match entry.split_once('/') {
                    Some((a, l)) => (a, Some(l)),
                    None => (entry.as_str(), None),
                };
                let addr: IpAddr = addr.trim_matches(|c| c == '[' || c == ']').parse().ok()?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let len = match len {
                    Some(l) => l.parse::<u8>().ok().filter(|&l| l <= max)?,
                    None => max,
                };
                Some((addr, len))
            })
            .collect();
        IgnoreList {
            nets,
            loopback: rules.ignoreself,
        }
    }

    fn contains(&self, host: &str) -> bool {
        let Ok(ip) = host.parse::<IpAddr>() else {
            return false;
        };
        if self.loopback && ip.is_loopback() {
            return true;
        }
        self.nets.iter().any(|&(net, len)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }
}

fn human_seconds(s: f64) -> String {
    let s = s.round() as i64;
    match s {
        s if s < 0 => "forever".to_owned(),
        s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 && s > 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Feeds lines one at a time; see [`scan_lines`] for the one-call form.
#[derive(Debug)]
pub struct Scanner {
    filter: Filter,
    options: ScanOptions,
    ignore: IgnoreList,
    /// Per host. Hosts come from log lines: hashbrown's default hasher is randomly seeded, and
    /// its entry API looks a host up once, copying it only when new.
    windows: hashbrown::HashMap<String, HostWindow>,
    report: ScanReport,
    current: Vec<LineMatch>,
    /// The line's failures (kept for its allocation).
    failures: Vec<RawFailure>,
    /// Users of failures that left a host's window (kept for their allocations: each failure
    /// in a window holds a copy of its user).
    spare_users: Vec<String>,
    buf: Vec<u8>,
}

impl Scanner {
    pub fn new(filter: Arc<CompiledFilter>, options: ScanOptions) -> Scanner {
        let report = ScanReport {
            filter: filter.name.clone(),
            jail: options.jail.name.clone(),
            ..ScanReport::default()
        };
        Scanner {
            ignore: IgnoreList::new(&options.jail),
            filter: Filter::new(filter),
            options,
            windows: hashbrown::HashMap::new(),
            report,
            current: Vec::new(),
            failures: Vec::new(),
            spare_users: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Processes one line (without or with its line ending) and returns its matches.
    pub fn push_line(&mut self, line: &[u8]) -> &[LineMatch] {
        self.read_line(line, true);
        &self.current
    }

    /// [`Scanner::push_line`]; the line's matches are made only when `wanted` (the caller
    /// reads them) or kept (see [`Scanner::push_text`]).
    fn read_line(&mut self, line: &[u8], wanted: bool) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match std::str::from_utf8(line) {
            Ok(text) => self.push_text(text, wanted),
            Err(_) => {
                self.report.invalid_utf8_lines += 1;
                self.push_text(&String::from_utf8_lossy(line), wanted)
            }
        }
    }

    /// [`Scanner::read_line`] for a line known to be valid UTF-8 (with or without its line
    /// ending).
    fn read_str_line(&mut self, line: &str, wanted: bool) {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        self.push_text(line, wanted)
    }

    /// [`Scanner::read_line`] once the line is text without its line ending. The line's
    /// matches go to `current` when `wanted`, and to the report when kept: a scan that
    /// wants neither makes none (each costs copies of its host and user).
    fn push_text(&mut self, text: &str, wanted: bool) {
        self.report.lines += 1;
        let lineno = self.report.lines;
        if text.len() > self.filter.compiled().max_line_len() {
            self.report.truncated_lines += 1;
        }
        // The scanner's clock never changes (it is private to it).
        let mut failures = std::mem::take(&mut self.failures);
        self.filter
            .process_line_same_clock(text, &self.options.clock, &mut failures);
        self.report.backtrack_limit_hits = self.filter.backtrack_limit_hits;
        self.current.clear();
        let keep = self.options.keep_matches;
        let mut counted = false;
        let any = !failures.is_empty();
        for mut f in failures.drain(..) {
            self.record(lineno, &f);
            let counts = f.counts();
            counted |= counts;
            if wanted || keep {
                self.current.push(LineMatch {
                    line: lineno,
                    regex: f.regex,
                    host: f.id.take(),
                    user: f.data.user().map(str::to_owned),
                    time: f.time,
                    counts,
                    attempts: f.data.attempts(),
                });
            }
            self.filter.recycle(f.data);
        }
        self.failures = failures;
        if counted {
            self.report.matched_lines += 1;
        } else if any {
            self.report.helper_lines += 1;
        }
        if keep {
            if wanted {
                self.report.matches.extend(self.current.iter().cloned());
            } else {
                self.report.matches.append(&mut self.current);
            }
        }
    }

    /// Reads every line of `reader` (what [`BufRead::read_until`] would split, line by line).
    ///
    /// Lines are read where the reader buffers them rather than copied out one at a time,
    /// and each buffer's complete lines are checked for UTF-8 at once: reading and checking
    /// lines one by one cost more than finding their dates. Only a line cut by the end of a
    /// buffer is copied (into `buf`) until its end arrives.
    pub fn scan_reader<R: BufRead>(&mut self, mut reader: R) -> std::io::Result<()> {
        let mut partial = std::mem::take(&mut self.buf);
        partial.clear();
        let result = self.scan_chunks(&mut reader, &mut partial);
        // The last line may lack its line ending (not after an error: `read_until` would not
        // have returned it either).
        if result.is_ok() && !partial.is_empty() {
            self.read_line(&partial, false);
        }
        partial.clear();
        self.buf = partial;
        result
    }

    fn scan_chunks<R: BufRead>(
        &mut self,
        reader: &mut R,
        partial: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        loop {
            let chunk = match reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(());
            }
            let len = chunk.len();
            let mut rest = chunk;
            if !partial.is_empty() {
                // The line cut by the last buffer ends in this one (or goes on past it).
                let Some(nl) = memchr::memchr(b'\n', rest) else {
                    partial.extend_from_slice(rest);
                    reader.consume(len);
                    continue;
                };
                let (end, after) = rest.split_at(nl + 1);
                partial.extend_from_slice(end);
                self.read_line(partial, false);
                partial.clear();
                rest = after;
            }
            let whole = memchr::memrchr(b'\n', rest).map_or(0, |nl| nl + 1);
            let (lines, cut) = rest.split_at(whole);
            // Valid text splits into valid lines: a newline byte is never inside a multi-byte
            // character. Otherwise each line is checked (and repaired) on its own.
            let text = std::str::from_utf8(lines).ok();
            let mut start = 0;
            for nl in memchr::memchr_iter(b'\n', lines) {
                match text {
                    Some(text) => {
                        if let Some(line) = text.get(start..=nl) {
                            self.read_str_line(line, false);
                        }
                    }
                    None => {
                        if let Some(line) = lines.get(start..=nl) {
                            self.read_line(line, false);
                        }
                    }
                }
                start = nl + 1;
            }
            partial.extend_from_slice(cut);
            reader.consume(len);
        }
    }

    fn record(&mut self, lineno: u64, f: &RawFailure) {
        if !f.counts() {
            return;
        }
        let Some(host) = f.id.as_deref() else { return };
        let user = f.data.user();
        let window = self.windows.entry_ref(host).or_default();
        window.summary.failures += 1;
        // A host's user names in the report: the first few (as a ban record keeps them); a
        // host trying a new name on every line must not grow its summary with each.
        if let Some(u) = user
            && window.summary.users.len() < crate::jail::MAX_USERS
            && !window.summary.users.contains(u)
        {
            window.summary.users.insert(u.to_owned());
        }
        if !window.ignore_checked {
            window.ignore_checked = true;
            window.summary.ignored = self.ignore.contains(host);
        }
        if window.summary.ignored {
            return;
        }
        let rules = &self.options.jail;
        if let Some(until) = window.banned_until {
            if rules.bantime < 0.0 || f.time < until {
                return;
            }
            window.banned_until = None;
        }
        while window
            .recent
            .front()
            .is_some_and(|&(t, ..)| t < f.time - rules.findtime)
        {
            if let Some((_, _, Some(old), _)) = window.recent.pop_front()
                && self.spare_users.len() < SPARE_USERS_MAX
            {
                self.spare_users.push(old);
            }
        }
        let user = user.map(|u| {
            let mut copy = self.spare_users.pop().unwrap_or_default();
            copy.clear();
            copy.push_str(u);
            copy
        });
        window.recent.push_back((f.time, lineno, user, f.regex));
        let maxretry = rules.maxretry.max(1) as usize;
        if window.recent.len() < maxretry {
            return;
        }
        let failures: Vec<_> = window.recent.drain(..).collect();
        let until = (rules.bantime >= 0.0).then_some(f.time + rules.bantime);
        window.banned_until = Some(until.unwrap_or(f64::INFINITY));
        window.summary.bans += 1;
        let first = failures.first().map_or(f.time, |x| x.0);
        let count = failures.len();
        self.report.bans.push(Ban {
            host: host.to_owned(),
            time: f.time,
            until,
            failures: count as u32,
            first_failure: first,
            lines: failures.iter().map(|x| x.1).collect(),
            regexes: failures.iter().map(|x| x.3).collect(),
            // Moved: the list is not read after this.
            users: failures.into_iter().filter_map(|x| x.2).collect(),
            reason: format!(
                "{} failures within {} (maxretry {}, findtime {}), {}",
                count,
                human_seconds(f.time - first),
                rules.maxretry,
                human_seconds(rules.findtime),
                if rules.bantime < 0.0 {
                    "banned forever".to_owned()
                } else {
                    format!("banned for {}", human_seconds(rules.bantime))
                }
            ),
        });
    }

    /// The report so far (without per-host totals, which [`Scanner::finish`] adds).
    pub fn report(&self) -> &ScanReport {
        &self.report
    }

    /// Ends the scan.
    pub fn finish(mut self) -> ScanReport {
        self.report.hosts = self
            .windows
            .into_iter()
            .map(|(h, w)| (h, w.summary))
            .collect();
        self.report
    }
}

/// Scans `lines` with `filter` under `options`.
pub fn scan_lines<'a>(
    filter: Arc<CompiledFilter>,
    lines: impl IntoIterator<Item = &'a [u8]>,
    options: ScanOptions,
) -> ScanReport {
    let mut scanner = Scanner::new(filter, options);
    for line in lines {
        scanner.read_line(line, false);
    }
    scanner.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FilterDefinition;
    use crate::filter::FilterOptions;
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    fn filter() -> Arc<CompiledFilter> {
        let def = FilterDefinition {
            name: "t".into(),
            files: Vec::new(),
            prefregex: None,
            failregex: vec![
                r"^ \S+ sshd\[\d+\]: Failed password for <F-USER>\S+</F-USER> from <HOST>".into(),
            ],
            ignoreregex: Vec::new(),
            maxlines: None,
            datepattern: None,
            journalmatch: Vec::new(),
            usedns: None,
        };
        Arc::new(CompiledFilter::new(&def, FilterOptions::default()).unwrap())
    }

    fn options(maxretry: u32) -> ScanOptions {
        ScanOptions {
            clock: Clock::new(
                Timestamp::from_second(1_124_013_600).unwrap(),
                TimeZone::UTC,
            ),
            jail: JailRules {
                maxretry,
                ignoreip: vec!["192.0.2.0/24".into()],
                ..JailRules::default()
            },
            keep_matches: true,
        }
    }

    fn line(sec: u32, user: &str, ip: &str) -> Vec<u8> {
        format!(
            "Aug 14 08:{:02}:{:02} h sshd[1]: Failed password for {user} from {ip} port 22",
            sec / 60,
            sec % 60
        )
        .into_bytes()
    }

    #[test]
    fn bans_after_maxretry_within_findtime() {
        let lines = [
            line(0, "a", "198.51.100.7"),
            line(10, "b", "198.51.100.7"),
            line(20, "c", "198.51.100.7"),
            line(30, "root", "192.0.2.9"),
            line(30, "root", "192.0.2.9"),
            line(30, "root", "192.0.2.9"),
            b"\xff\xfe garbage".to_vec(),
        ];
        let report = scan_lines(filter(), lines.iter().map(Vec::as_slice), options(3));
        assert_eq!(report.lines, 7);
        assert_eq!(report.invalid_utf8_lines, 1);
        assert_eq!(report.matched_lines, 6);
        assert_eq!(report.bans.len(), 1, "{report:#?}");
        let ban = &report.bans[0];
        assert_eq!(ban.host, "198.51.100.7");
        assert_eq!(ban.lines, vec![1, 2, 3]);
        assert_eq!(
            ban.users.iter().cloned().collect::<Vec<_>>(),
            vec!["a", "b", "c"]
        );
        assert_eq!(ban.until, Some(ban.time + 600.0));
        assert!(
            ban.reason.starts_with("3 failures within 20s"),
            "{}",
            ban.reason
        );
        assert!(report.hosts["192.0.2.9"].ignored);
        let findings = report
            .ban_findings(&|line| allclear_core::Location::new("auth.log").with_line(line as u32));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].location.line, Some(3));
        assert_eq!(findings[0].details["host"], "198.51.100.7");
        let moved = report.ban_findings(&|line| {
            allclear_core::Location::new("auth.log").with_line(line as u32 + 10)
        });
        assert_eq!(findings[0].fingerprint, moved[0].fingerprint);
    }

    #[test]
    fn a_host_trying_a_new_user_on_every_line_keeps_a_bounded_summary() {
        let n = 10 * crate::jail::MAX_USERS as u32;
        let lines: Vec<Vec<u8>> = (0..n)
            .map(|i| line(i % 3000, &format!("u{i}"), "198.51.100.7"))
            .collect();
        let report = scan_lines(filter(), lines.iter().map(Vec::as_slice), options(1000));
        let host = &report.hosts["198.51.100.7"];
        assert_eq!(host.failures, u64::from(n));
        assert_eq!(host.users.len(), crate::jail::MAX_USERS);
    }

    /// The input of the reader tests: CRLF and LF endings, empty lines, invalid UTF-8,
    /// multi-byte characters, a long line, and no line ending at the end.
    fn mixed_input() -> Vec<u8> {
        let mut input = Vec::new();
        for i in 0..40u32 {
            input.extend(line(i * 7, "a", &format!("198.51.100.{}", i % 3)));
            input.extend_from_slice(match i % 5 {
                0 => b"\r\n",
                1 => b"\n\n",
                _ => b"\n",
            });
            match i % 9 {
                3 => input.extend_from_slice(b"Aug 14 08:00:00 h \xff\xfe garbage\n"),
                5 => input.extend_from_slice("Aug 14 08:00:01 h é ü ✓ text\n".as_bytes()),
                7 => input.extend(std::iter::repeat_n(b'x', 300).chain([b'\n'])),
                _ => {}
            }
        }
        input.extend(line(299, "z", "198.51.100.9"));
        input
    }

    #[test]
    fn reading_by_buffer_equals_reading_line_by_line() {
        let input = mixed_input();
        // What reading with `read_until` gives, one line at a time.
        let mut want = Scanner::new(filter(), options(3));
        let mut reader = std::io::BufReader::new(input.as_slice());
        let mut buf = Vec::new();
        while reader.read_until(b'\n', &mut buf).unwrap() > 0 {
            want.push_line(&buf);
            buf.clear();
        }
        let want = want.finish();
        assert_eq!(want.lines, 62);
        assert_eq!(want.invalid_utf8_lines, 5);
        assert!(!want.bans.is_empty());
        // Buffers of every size up to past the longest line cut lines and characters
        // everywhere.
        for capacity in (1..64).chain([299, 300, 301, 302, 4096]) {
            let mut got = Scanner::new(filter(), options(3));
            got.scan_reader(std::io::BufReader::with_capacity(
                capacity,
                input.as_slice(),
            ))
            .unwrap();
            assert_eq!(got.finish(), want, "capacity {capacity}");
        }
    }

    /// A reader that fails after some bytes.
    struct Failing<'a>(&'a [u8]);

    impl std::io::Read for Failing<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("gone"));
            }
            let n = out.len().min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_keeps_the_complete_lines_only() {
        let input = mixed_input();
        let cut = &input[..input.len() - 20];
        for capacity in [5, 64, 8192] {
            let mut scanner = Scanner::new(filter(), options(3));
            let reader = std::io::BufReader::with_capacity(capacity, Failing(cut));
            assert!(scanner.scan_reader(reader).is_err());
            // The cut line is not read; every complete line before it is.
            assert_eq!(scanner.report().lines, 61, "capacity {capacity}");
        }
    }

    #[test]
    fn failures_outside_findtime_do_not_ban() {
        let lines = [
            line(0, "a", "198.51.100.7"),
            line(700, "a", "198.51.100.7"),
            line(1400, "a", "198.51.100.7"),
        ];
        let report = scan_lines(filter(), lines.iter().map(Vec::as_slice), options(2));
        assert!(report.bans.is_empty(), "{:?}", report.bans);
        assert_eq!(report.hosts["198.51.100.7"].failures, 3);
    }
}
