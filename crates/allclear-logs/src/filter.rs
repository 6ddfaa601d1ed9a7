//! A compiled fail2ban filter and the per-log state it needs (fail2ban's `Filter`).
//!
//! For each line: find and remove the date; keep the last `maxlines` lines; if a `prefregex`
//! is set it must match, and its `<F-CONTENT>` replaces the text the failure regexes see;
//! each `failregex` that matches (and no `ignoreregex` vetoes) yields a failure for the address
//! (`<HOST>`, `<ADDR>` …) or failure id (`<F-ID>`) it captured. Lines of one connection are
//! tied together by `<F-MLFID>` so that, for example, a later "Accepted" (`<F-MLFGAINED>`)
//! can cancel a pending `<F-NOFAIL>` and "Disconnected" (`<F-MLFFORGET>`) ends the
//! connection.

use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

use crate::config::FilterDefinition;
use crate::date::{Clock, DateDetector, DateError};
use allclear_pyregex::{PyRegex, RegexError, Slots};

/// The largest `maxlines` accepted (fail2ban filters use 1 to 50).
pub const MAX_MAXLINES: usize = 1000;

/// Failures remembered per connection id (fail2ban: 100 entries, 5 minutes).
const MLFID_CACHE_MAX: usize = 100;
const MLFID_CACHE_SECONDS: f64 = 300.0;
/// User names remembered per connection. fail2ban only asks whether a connection named more
/// than one user (`len(users) > 1` cancels a "nofail"), so a few are as good as all; without
/// a bound, a long-lived process (Postfix `smtpd`, Dovecot `auth`, or lines without a pid) that
/// logs a new user name on every line grows its set by one name per line, and each failure
/// handed out held its own copy of it: memory quadratic in the lines (issue 19).
pub const MAX_CONNECTION_USERS: usize = 16;
/// Line numbers remembered per connection (its failure's lines, and the "nofail" lines kept
/// aside). Real connections span a few lines (fail2ban's filters use `maxlines` up to 50);
/// the list is copied into each failure handed out, so a connection that never ends must not
/// make that copy grow with every line. The oldest lines go first.
pub const MAX_CONNECTION_LINES: usize = 64;

/// A filter could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A `failregex`, `ignoreregex` or `prefregex` is invalid (the text shows the pattern as
    /// written in the filter, with tags like `<HOST>` unexpanded).
    #[error("filter `{filter}`: {option} #{index} {pattern:?}: {source}")]
    Regex {
        filter: String,
        option: &'static str,
        index: usize,
        pattern: String,
        #[source]
        source: RegexError,
    },
    /// A failure regex captures neither an address nor a failure id.
    #[error(
        "filter `{filter}`: failregex #{index} {pattern:?} has no <HOST>, <ADDR>, <F-ID> or similar group"
    )]
    NoFailureId {
        filter: String,
        index: usize,
        pattern: String,
    },
    /// The `datepattern` is invalid.
    #[error("filter `{filter}`: {source}")]
    Date {
        filter: String,
        #[source]
        source: DateError,
    },
    /// The filter has no `failregex`.
    #[error("filter `{filter}` has no failregex")]
    Empty { filter: String },
    /// `maxlines` is larger than allclear buffers (it would hold that many lines in memory).
    #[error("filter `{filter}`: maxlines {maxlines} is above the supported {MAX_MAXLINES}")]
    MaxLines { filter: String, maxlines: usize },
}

/// How `<HOST>` is expanded (fail2ban's `usedns`: `no` leaves out host names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UseDns {
    #[default]
    Warn,
    Yes,
    No,
    Raw,
}

impl UseDns {
    pub fn parse(text: &str) -> UseDns {
        match text.trim().to_lowercase().as_str() {
            "yes" | "true" => UseDns::Yes,
            "warn" => UseDns::Warn,
            "raw" => UseDns::Raw,
            _ => UseDns::No,
        }
    }
}

/// Options that change how a filter runs.
#[derive(Debug, Clone)]
pub struct FilterOptions {
    /// Try every failure regex on a line (fail2ban's test mode) instead of stopping at the
    /// first that yields a failure.
    pub check_all_regex: bool,
    /// Overrides the filter's `usedns`.
    pub use_dns: Option<UseDns>,
    /// Lines longer than this many bytes are cut (at a character boundary) before matching.
    pub max_line_len: usize,
    /// Minutes east of UTC for dates without a zone (`logtimezone`).
    pub log_timezone: Option<i32>,
}

impl Default for FilterOptions {
    fn default() -> Self {
        FilterOptions {
            check_all_regex: false,
            use_dns: None,
            max_line_len: 64 * 1024,
            log_timezone: None,
        }
    }
}

// fail2ban's host expressions (failregex.py), written without the lookbehind fail2ban's IPv6
// expression ends with (`(?<=:):` always holds there: every repetition before it ends in `:`).
const R_IPV4: &str = r"(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})";
const R_IPV6: &str = r"(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|:){1,7}(?:[0-9a-fA-F]{1,4}|:))";
const R_DNS: &str = r"(?P<dns>[\w\-.^_]*\w)";
const R_CIDR: &str = r"(?P<cidr>\d+)";

fn r_addr() -> String {
    format!(r"\[?(?:{R_IPV4}|{R_IPV6})\]?")
}

/// Expands fail2ban's tags (`<HOST>`, `<F-USER>…</F-USER>`, `<SKIPLINES>` …) to regex groups
/// (fail2ban's `Regex._resolveHostTag`). Unknown tags stay as text.
pub fn resolve_tags(regex: &str, use_dns: UseDns) -> String {
    static FTAG: OnceLock<regex::Regex> = OnceLock::new();
    let ftag =
        FTAG.get_or_init(|| regex::Regex::new(r"</?[\w\-]+/?>").unwrap_or_else(|_| unreachable!()));
    let mut open: Vec<String> = Vec::new();
    let mut skiplines = 0;
    let mut out = String::with_capacity(regex.len() + 64);
    let mut last = 0;
    for m in ftag.find_iter(regex) {
        out.push_str(&regex[last..m.start()]);
        last = m.end();
        let tag = m.as_str();
        let tn = &tag[1..tag.len() - 1];
        let repl: Option<String> = match tn {
            "HOST" => Some(if use_dns == UseDns::No {
                r_addr()
            } else {
                format!("(?:{}|{R_DNS})", r_addr())
            }),
            "SKIPLINES" => {
                let r = format!(r"\n(?P<skiplines{skiplines}>(?:(?:.*\n)*?))");
                skiplines += 1;
                Some(r)
            }
            "IP4" | "F-IP4/" => Some(R_IPV4.to_owned()),
            "IP6" | "F-IP6/" => Some(R_IPV6.to_owned()),
            "ADDR" | "F-ADDR/" => Some(r_addr()),
            "CIDR" | "F-CIDR/" => Some(R_CIDR.to_owned()),
            "SUBNET" | "F-SUBNET/" => Some(format!(r"\[?(?:{R_IPV4}|{R_IPV6})(?:/{R_CIDR})?\]?")),
            "DNS" | "F-DNS/" => Some(R_DNS.to_owned()),
            "F-ID/" => Some(r"(?P<fid>\S+)".to_owned()),
            "F-PORT/" => Some(r"(?P<fport>\w+)".to_owned()),
            _ => {
                let (close, name) = match tn.strip_prefix('/') {
                    Some(n) => (true, n),
                    None => (false, tn),
                };
                match name.strip_prefix("F-") {
                    Some(custom)
                        if !custom.is_empty()
                            && custom.chars().all(|c| {
                                c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-'
                            }) =>
                    {
                        if close {
                            open.iter().any(|o| o == custom).then(|| ")".to_owned())
                        } else {
                            open.push(custom.to_owned());
                            let group = match custom {
                                "ID" => "fid".to_owned(),
                                "PORT" => "fport".to_owned(),
                                other => other.to_lowercase(),
                            };
                            Some(format!("(?P<{group}>"))
                        }
                    }
                    _ => None,
                }
            }
        };
        match repl {
            Some(r) => out.push_str(&r),
            None => out.push_str(tag),
        }
    }
    out.push_str(&regex[last..]);
    out
}

/// A compiled pattern with its named groups.
#[derive(Debug, Clone)]
struct Compiled {
    re: PyRegex,
    /// (group name, index), sorted by name.
    groups: Vec<(Arc<str>, usize)>,
    /// `alt_NAME[_N]` groups: (group, target name), sorted.
    alts: Vec<(Arc<str>, Arc<str>)>,
    skiplines: Vec<usize>,
    /// When anchored at the start: literals one of which the text must start with.
    prefixes: Option<Vec<Vec<u8>>>,
    /// The `<F-CONTENT>` group's index (looked up once: the regex's name table is hashed with
    /// a slow hasher, and a prefregex needs it on every line).
    content: Option<usize>,
}

impl Compiled {
    fn new(pattern: &str, use_dns: UseDns, multiline: bool) -> Result<Compiled, RegexError> {
        let expanded = resolve_tags(pattern, use_dns);
        if expanded.trim().is_empty() {
            return Err(RegexError::Syntax {
                offset: 0,
                message: "empty regex".into(),
            });
        }
        let re = PyRegex::new(&expanded, multiline)?;
        let mut groups: Vec<(Arc<str>, usize)> =
            re.group_names().map(|(n, i)| (Arc::from(n), i)).collect();
        groups.sort();
        let mut alts = Vec::new();
        for (name, _) in &groups {
            if let Some(rest) = name.strip_prefix("alt_") {
                let target = match strip_index_suffix(rest) {
                    "id" => "fid",
                    "port" => "fport",
                    b => b,
                };
                alts.push((name.clone(), Arc::from(target)));
            }
        }
        let mut skiplines: Vec<(usize, usize)> = groups
            .iter()
            .filter_map(|(n, i)| {
                n.strip_prefix("skiplines")
                    .and_then(|k| k.parse::<usize>().ok())
                    .map(|k| (k, *i))
            })
            .collect();
        skiplines.sort();
        let prefixes = if multiline {
            None
        } else {
            re.anchored_prefixes()
        };
        let content = re.group_index("content");
        Ok(Compiled {
            content,
            re,
            groups,
            alts,
            skiplines: skiplines.into_iter().map(|(_, i)| i).collect(),
            prefixes,
        })
    }

    fn has_group(&self, name: &str) -> bool {
        self.groups.iter().any(|(n, _)| &**n == name)
    }

    /// Whether the text can match at all (the anchored-prefix test).
    fn may_match(&self, text: &str) -> bool {
        self.prefixes
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| text.as_bytes().starts_with(p)))
    }

    /// Python's `groupdict()` (groups that took part) plus fail2ban's `alt_` merging, as
    /// (name, start, end) spans of `hay` sorted by name, into `list` (cleared first).
    fn spans(
        &self,
        hay: &str,
        slots: &Slots,
        skip: Option<&str>,
        list: &mut Vec<(Arc<str>, usize, usize)>,
    ) {
        list.clear();
        // `self.groups` is sorted by name, so the list is too.
        for (n, i) in &self.groups {
            if skip == Some(&**n) {
                continue;
            }
            let Some((s, e)) = slots.get(*i) else {
                continue;
            };
            if hay.get(s..e).is_none() {
                // Not a span of this text (cannot happen).
                continue;
            }
            match list.last_mut() {
                // A name given twice: the last group that took part wins (as in a dict).
                Some(last) if last.0 == *n => (last.1, last.2) = (s, e),
                _ => list.push((n.clone(), s, e)),
            }
        }
        for (alt, target) in &self.alts {
            let Some(&(_, s, e)) = find_group(list, alt).and_then(|i| list.get(i)) else {
                continue;
            };
            if e <= s {
                continue;
            }
            match find_group(list, target) {
                Some(i) => {
                    if let Some(t) = list.get_mut(i)
                        && t.2 <= t.1
                    {
                        (t.1, t.2) = (s, e);
                    }
                }
                None => {
                    let at = list.partition_point(|(n, ..)| **n < **target);
                    list.insert(at, (target.clone(), s, e));
                }
            }
        }
    }

    /// Python's `groupdict()` (groups that took part) plus fail2ban's `alt_` merging.
    fn groupdict(&self, hay: &str, slots: &Slots, skip: Option<&str>) -> Groups {
        self.groupdict_with(hay, 0, slots, skip, &[], None)
    }

    /// [`Compiled::groupdict`] of a match in `line[offset..]`, with the groups of `pre`
    /// (spans of `line`) it does not have: the prefregex's, which the failregex's win over
    /// (fail2ban 1.1: dovecot 2.4 logs have the address only in the prefix).
    /// The result is built in `spare` (a group list no longer used, see [`Spares`]) when given.
    fn groupdict_with(
        &self,
        line: &str,
        offset: usize,
        slots: &Slots,
        skip: Option<&str>,
        pre: &[(Arc<str>, usize, usize)],
        spare: Option<Arc<GroupList>>,
    ) -> Groups {
        let mut shared = match spare {
            Some(g) if Arc::strong_count(&g) == 1 => g,
            _ => Arc::new(GroupList {
                text: String::new(),
                list: Vec::with_capacity(self.groups.len() + pre.len()),
            }),
        };
        // Not shared (no weak references are made): no copy is made.
        let GroupList { text, list } = Arc::make_mut(&mut shared);
        self.spans(line.get(offset..).unwrap_or_default(), slots, skip, list);
        for (_, s, e) in list.iter_mut() {
            *s += offset;
            *e += offset;
        }
        for (n, s, e) in pre {
            if let Err(at) = list.binary_search_by(|(m, ..)| (**m).cmp(&**n)) {
                list.insert(at, (n.clone(), *s, *e));
            }
        }
        // The texts are copied at once: the stretch of `line` from the first group's start to
        // the last group's end (groups nest and overlap, so one copy serves them all).
        let lo = list.iter().map(|g| g.1).min().unwrap_or(0);
        let hi = list.iter().map(|g| g.2).max().unwrap_or(0);
        let stretch = line.get(lo..hi).unwrap_or_default();
        text.clear();
        // Room for a few more texts (a connection's groups of earlier lines).
        text.reserve(stretch.len() + 32);
        text.push_str(stretch);
        for (_, s, e) in list.iter_mut() {
            *s -= lo;
            *e -= lo;
        }
        Groups(shared)
    }
}

fn strip_index_suffix(name: &str) -> &str {
    match name.rfind('_') {
        Some(p) if p + 1 < name.len() && name[p + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            &name[..p]
        }
        _ => name,
    }
}

/// Named groups of a match that took part in it (Python's `groupdict()` without the `None`s),
/// sorted by name. A match has a handful, so a sorted list whose texts share one buffer (one
/// allocation per match rather than one per group); it is shared (copied on write) between a
/// connection's cached failure and the failures handed out for it, which would otherwise be
/// copied on every line of the connection.
#[derive(Debug, Clone, Default)]
pub struct Groups(Arc<GroupList>);

/// Where group `name` is in a (name, start, end) list. A handful of short names: a scan
/// comparing lengths first is cheaper than a binary search comparing texts.
fn find_group(list: &[(Arc<str>, usize, usize)], name: &str) -> Option<usize> {
    list.iter()
        .position(|(n, ..)| n.len() == name.len() && **n == *name)
}

#[derive(Debug, Clone, Default)]
struct GroupList {
    /// The texts, one after another. A replaced or removed text stays: groups are set on a
    /// fresh match's list only, so this is about one line's text (a connection's cached list
    /// is replaced by the next line's, not appended to).
    text: String,
    /// (name, start, end of its text in `text`), sorted by name.
    list: Vec<(Arc<str>, usize, usize)>,
}

impl GroupList {
    fn value(&self, start: usize, end: usize) -> &str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// Where a group is (see [`find_group`]).
    fn find(&self, name: &str) -> Option<usize> {
        find_group(&self.list, name)
    }

    /// Where a group is, or where it goes to keep the names sorted.
    fn position(&self, name: &str) -> Result<usize, usize> {
        match self.find(name) {
            Some(i) => Ok(i),
            None => Err(self.list.partition_point(|(n, ..)| **n < *name)),
        }
    }

    /// Sets a group to the text at `start..end` of the buffer.
    fn set_range(&mut self, name: &Arc<str>, start: usize, end: usize) {
        match self.position(name) {
            Ok(i) => {
                if let Some(slot) = self.list.get_mut(i) {
                    slot.1 = start;
                    slot.2 = end;
                }
            }
            Err(i) => self.list.insert(i, (name.clone(), start, end)),
        }
    }

    /// Sets a group (replacing its text if it is there).
    fn set(&mut self, name: &Arc<str>, value: &str) {
        let start = self.text.len();
        self.text.push_str(value);
        self.set_range(name, start, self.text.len());
    }
}

impl PartialEq for Groups {
    /// The same names with the same texts (however the buffers are laid out).
    fn eq(&self, other: &Groups) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Groups {
    /// The text a group captured.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.0.find(name)?;
        self.0.list.get(i).map(|(_, s, e)| self.0.value(*s, *e))
    }

    /// (name, text) of each group, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .list
            .iter()
            .map(|(n, s, e)| (&**n, self.0.value(*s, *e)))
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.0.list.len()
    }

    /// Whether no group took part.
    pub fn is_empty(&self) -> bool {
        self.0.list.is_empty()
    }

    /// Sets a group (replacing its text if it is there). Groups are made by matches; this is
    /// for tests.
    #[cfg(test)]
    fn insert(&mut self, name: &Arc<str>, value: &str) {
        Arc::make_mut(&mut self.0).set(name, value);
    }

    /// Sets every group of `other` that is not here.
    fn extend_missing(&mut self, other: &Groups) {
        if other.0.list.iter().all(|(n, ..)| self.0.find(n).is_some()) {
            return;
        }
        let list = Arc::make_mut(&mut self.0);
        for (n, s, e) in &other.0.list {
            if list.find(n).is_none() {
                list.set(n, other.0.value(*s, *e));
            }
        }
    }

    /// Sets group `to` to the text of group `from` (both are there or nothing happens).
    fn copy_within(&mut self, from: &str, to: &Arc<str>) {
        if let Some(i) = self.0.find(from)
            && let Some(&(_, s, e)) = self.0.list.get(i)
        {
            Arc::make_mut(&mut self.0).set_range(to, s, e);
        }
    }

    /// Removes a group; whether its text was not empty (Python's truth of the value).
    fn remove_truthy(&mut self, name: &str) -> bool {
        let Some(i) = self.0.find(name) else {
            return false;
        };
        let (_, s, e) = Arc::make_mut(&mut self.0).list.remove(i);
        e > s
    }

    /// Sets every group of `other` (its texts win). Returns the groups no longer used (`self`'s
    /// old list, or `other` when it is empty), for reuse.
    fn extend(&mut self, mut other: Groups) -> Groups {
        if other.is_empty() {
            return other;
        }
        if self.is_empty() {
            return std::mem::replace(self, other);
        }
        // The result takes `other`'s buffer (a fresh match, usually not shared) and the few
        // groups only `self` has: `self`'s buffer, with texts of earlier lines, goes.
        if self.0.list.iter().any(|(n, ..)| other.0.find(n).is_none()) {
            let merged = Arc::make_mut(&mut other.0);
            for (n, s, e) in &self.0.list {
                if merged.find(n).is_none() {
                    merged.set(n, self.0.value(*s, *e));
                }
            }
        }
        std::mem::replace(self, other)
    }

    /// Whether a group took part with a non-empty text (Python's truth of the value).
    fn truthy(&self, name: &str) -> bool {
        self.0
            .find(name)
            .and_then(|i| self.0.list.get(i))
            .is_some_and(|(_, s, e)| e > s)
    }
}

/// What fail2ban knows about a failure (its `fail` dict).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailData {
    /// Named groups captured by the prefregex and failregex.
    pub groups: Groups,
    /// Sequence numbers of the lines that make up the failure.
    pub matches: Option<Vec<u64>>,
    nofail_matches: Option<Vec<u64>>,
    /// Every user seen on the connection (when the regex captures users); shared, like the
    /// groups, with the connection's cached failure.
    pub users: Option<Arc<BTreeSet<String>>>,
    mlfpending: bool,
}

impl FailData {
    /// A captured group.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.groups.get(key)
    }

    /// The user the failure is about (`<F-USER>`).
    pub fn user(&self) -> Option<&str> {
        self.get("user")
    }

    /// Whether this is a helper match that is not a failure (`<F-NOFAIL>`).
    pub fn is_nofail(&self) -> bool {
        self.groups.truthy("nofail")
    }

    /// How many lines make up the failure (fail2ban's `attempts` in its tests).
    pub fn attempts(&self) -> usize {
        self.matches.as_ref().map_or(0, Vec::len)
    }
}

/// Spares kept of each kind (a line yields one or two failures).
const SPARES_MAX: usize = 8;

/// Allocations of failures that are no longer used, for the next matches: a match's group
/// list and its list of lines would otherwise be allocated (and freed) anew on every line.
#[derive(Debug, Default)]
struct Spares {
    /// Group lists no one else holds (their old contents are cleared when reused).
    groups: Vec<Arc<GroupList>>,
    lines: Vec<Vec<u64>>,
}

impl Spares {
    fn keep_groups(&mut self, groups: Groups) {
        let mut g = groups.0;
        if self.groups.len() < SPARES_MAX && Arc::get_mut(&mut g).is_some() {
            self.groups.push(g);
        }
    }

    fn keep_lines(&mut self, lines: Option<Vec<u64>>) {
        if let Some(v) = lines
            && v.capacity() > 0
            && self.lines.len() < SPARES_MAX
        {
            self.lines.push(v);
        }
    }

    fn keep(&mut self, data: FailData) {
        self.keep_groups(data.groups);
        self.keep_lines(data.matches);
        self.keep_lines(data.nofail_matches);
    }

    /// A list of lines holding `from`.
    fn lines_from(&mut self, from: &[u64]) -> Vec<u64> {
        let mut v = self.lines.pop().unwrap_or_default();
        v.clear();
        v.extend_from_slice(from);
        v
    }

    /// A copy of `data` (its groups and users shared, as [`FailData::clone`] does).
    fn copy(&mut self, data: &FailData) -> FailData {
        FailData {
            groups: data.groups.clone(),
            matches: data.matches.as_deref().map(|m| self.lines_from(m)),
            nofail_matches: data.nofail_matches.as_deref().map(|m| self.lines_from(m)),
            users: data.users.clone(),
            mlfpending: data.mlfpending,
        }
    }
}

/// One result of a line: a failure regex matched.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFailure {
    /// Which `failregex` (0-based).
    pub regex: usize,
    /// The address or failure id, as fail2ban would ban it; `None` while a multi-line failure
    /// is waiting for its address.
    pub id: Option<String>,
    /// When (seconds since the epoch).
    pub time: f64,
    pub data: FailData,
}

impl RawFailure {
    /// Whether fail2ban would count this towards a ban (an id, and not `<F-NOFAIL>`).
    pub fn counts(&self) -> bool {
        self.id.is_some() && !self.data.is_nofail()
    }
}

/// A buffered line (multi-line filters): its sequence number and text without the date.
#[derive(Debug, Clone)]
struct TupleLine {
    seq: u64,
    text: String,
}

/// Failures per connection id (`<F-MLFID>`), oldest evicted first when full.
#[derive(Debug, Clone, Default)]
struct MlfidCache {
    /// key → (data, expiry, generation). Keys come from log lines: hashbrown's default hasher
    /// is randomly seeded (and its entry API looks a key up once). A key is shared with
    /// `order` (one copy per new connection).
    map: hashbrown::HashMap<Arc<str>, (FailData, f64, u64)>,
    /// Insertion order; entries whose generation no longer matches were removed.
    order: VecDeque<(Arc<str>, u64)>,
    generation: u64,
}

impl MlfidCache {
    fn get_mut(&mut self, key: &str, now: f64) -> Option<&mut FailData> {
        match self.map.entry_ref(key) {
            hashbrown::hash_map::EntryRef::Occupied(e) if e.get().1 <= now => {
                e.remove();
                None
            }
            hashbrown::hash_map::EntryRef::Occupied(e) => Some(&mut e.into_mut().0),
            hashbrown::hash_map::EntryRef::Vacant(_) => None,
        }
    }

    /// Removes a connection, handing over its failure.
    fn take(&mut self, key: &str) -> Option<FailData> {
        self.map.remove(key).map(|(data, ..)| data)
    }

    fn insert(&mut self, key: &str, value: FailData, now: f64) {
        while self.map.len() >= MLFID_CACHE_MAX {
            let Some((old, generation)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&*old).is_some_and(|e| e.2 == generation) {
                self.map.remove(&*old);
            }
        }
        self.generation += 1;
        let key: Arc<str> = Arc::from(key);
        self.order.push_back((key.clone(), self.generation));
        if self.order.len() > 8 * MLFID_CACHE_MAX {
            let map = &self.map;
            self.order
                .retain(|(k, g)| map.get(&**k).is_some_and(|e| e.2 == *g));
        }
        self.map
            .insert(key, (value, now + MLFID_CACHE_SECONDS, self.generation));
    }
}

/// The immutable, compiled part of a filter (shareable between logs).
#[derive(Debug)]
pub struct CompiledFilter {
    pub name: String,
    prefregex: Option<Compiled>,
    failregex: Vec<Compiled>,
    ignoreregex: Vec<Compiled>,
    maxlines: usize,
    dates: DateDetector,
    options: FilterOptions,
    /// Failure regexes that can match a text starting with byte `b` (by their anchored
    /// prefixes; regexes without known prefixes are in every list).
    by_first_byte: Vec<Vec<usize>>,
    /// Failure regexes that can match an empty text.
    for_empty: Vec<usize>,
    /// Failure regexes as written in the filter (for reports).
    pub failregex_source: Vec<String>,
}

impl CompiledFilter {
    /// Compiles a filter definition.
    pub fn new(
        def: &FilterDefinition,
        options: FilterOptions,
    ) -> Result<CompiledFilter, FilterError> {
        let use_dns = options
            .use_dns
            .or_else(|| def.usedns.as_deref().map(UseDns::parse))
            .unwrap_or_default();
        let maxlines = def.maxlines.unwrap_or(1).max(1);
        if maxlines > MAX_MAXLINES {
            return Err(FilterError::MaxLines {
                filter: def.name.clone(),
                maxlines,
            });
        }
        let multiline = maxlines > 1;
        let err = |option: &'static str, index: usize, pattern: &str| {
            let filter = def.name.clone();
            let pattern = pattern.to_owned();
            move |source| FilterError::Regex {
                filter,
                option,
                index,
                pattern,
                source,
            }
        };
        let prefregex = match &def.prefregex {
            Some(p) => Some(Compiled::new(p, use_dns, false).map_err(err("prefregex", 0, p))?),
            None => None,
        };
        if def.failregex.is_empty() {
            return Err(FilterError::Empty {
                filter: def.name.clone(),
            });
        }
        let mut failregex = Vec::new();
        for (i, p) in def.failregex.iter().enumerate() {
            let c = Compiled::new(p, use_dns, multiline).map_err(err("failregex", i, p))?;
            let id_group = |c: &Compiled| {
                ["fid", "ip4", "ip6", "dns", "mlfid"]
                    .iter()
                    .any(|g| c.has_group(g))
            };
            if !id_group(&c) && !prefregex.as_ref().is_some_and(id_group) {
                return Err(FilterError::NoFailureId {
                    filter: def.name.clone(),
                    index: i,
                    pattern: p.clone(),
                });
            }
            failregex.push(c);
        }
        let mut ignoreregex = Vec::new();
        for (i, p) in def.ignoreregex.iter().enumerate() {
            ignoreregex.push(Compiled::new(p, use_dns, false).map_err(err("ignoreregex", i, p))?);
        }
        let mut dates = match &def.datepattern {
            Some(p) => DateDetector::from_datepattern(p),
            None => DateDetector::with_defaults(),
        }
        .map_err(|source| FilterError::Date {
            filter: def.name.clone(),
            source,
        })?;
        dates.default_tz = options.log_timezone;
        let mut by_first_byte: Vec<Vec<usize>> = vec![Vec::new(); 256];
        let mut for_empty = Vec::new();
        for (i, c) in failregex.iter().enumerate() {
            match &c.prefixes {
                Some(ps) => {
                    let mut seen = [false; 256];
                    for p in ps {
                        if let Some(&b) = p.first() {
                            seen[usize::from(b)] = true;
                        }
                    }
                    for (b, list) in by_first_byte.iter_mut().enumerate() {
                        if seen[b] {
                            list.push(i);
                        }
                    }
                }
                None => {
                    for list in by_first_byte.iter_mut() {
                        list.push(i);
                    }
                    for_empty.push(i);
                }
            }
        }
        Ok(CompiledFilter {
            name: def.name.clone(),
            prefregex,
            failregex,
            ignoreregex,
            maxlines,
            dates,
            options,
            by_first_byte,
            for_empty,
            failregex_source: def.failregex.clone(),
        })
    }

    /// Number of failure regexes.
    pub fn failregex_count(&self) -> usize {
        self.failregex.len()
    }

    /// Lines longer than this are cut before matching.
    pub fn max_line_len(&self) -> usize {
        self.options.max_line_len
    }

    /// How many failure regexes need the backtracking engine.
    pub fn backtracking_count(&self) -> usize {
        self.failregex
            .iter()
            .filter(|c| c.re.is_backtracking())
            .count()
    }
}

/// A filter running over one log: the compiled filter plus what it remembers between lines.
#[derive(Debug)]
pub struct Filter {
    compiled: Arc<CompiledFilter>,
    dates: DateDetector,
    buffer: Vec<TupleLine>,
    last_date: Option<f64>,
    mlfid: MlfidCache,
    seq: u64,
    pref_slots: Option<Slots>,
    fail_slots: Vec<Slots>,
    ignore_slots: Vec<Slots>,
    /// Per failure regex: (tries, matches) of its capture pass, halved now and then. A regex
    /// that mostly fails on the lines that reach it is first tried with a DFA search, which
    /// rejects a line for a fraction of the capture pass's cost (and changes no result).
    fail_stats: Vec<(u32, u32)>,
    scratch: String,
    /// The prefregex's groups on the current line (kept for its allocation).
    pre_spans: Vec<(Arc<str>, usize, usize)>,
    /// The connection id of the failure being made (kept for its allocation).
    key: String,
    /// `nofail`, the group `<F-MLFGAINED>` sets.
    nofail_name: Arc<str>,
    /// Allocations of failures no longer used.
    spares: Spares,
    /// Searches the backtracking engine gave up on (each counted as "no match").
    pub backtrack_limit_hits: u64,
}

/// What to do after a failure regex matched.
enum Step {
    Push(RawFailure),
    /// This regex yields nothing (no address and no id: fail2ban logs an error).
    Skip,
    /// Stop processing the line (fail2ban returns early).
    Stop,
}

impl Filter {
    /// A filter ready to read a log.
    pub fn new(compiled: Arc<CompiledFilter>) -> Filter {
        let pref_slots = compiled.prefregex.as_ref().map(|c| c.re.slots());
        let fail_slots = compiled.failregex.iter().map(|c| c.re.slots()).collect();
        let ignore_slots = compiled.ignoreregex.iter().map(|c| c.re.slots()).collect();
        let fail_stats = vec![(0, 0); compiled.failregex.len()];
        Filter {
            dates: compiled.dates.clone(),
            compiled,
            buffer: Vec::new(),
            last_date: None,
            mlfid: MlfidCache::default(),
            seq: 0,
            pref_slots,
            fail_slots,
            ignore_slots,
            fail_stats,
            scratch: String::new(),
            pre_spans: Vec::new(),
            key: String::new(),
            nofail_name: Arc::from("nofail"),
            spares: Spares::default(),
            backtrack_limit_hits: 0,
        }
    }

    /// Compiles `def` and starts a filter on it.
    pub fn from_definition(
        def: &FilterDefinition,
        options: FilterOptions,
    ) -> Result<Filter, FilterError> {
        Ok(Filter::new(Arc::new(CompiledFilter::new(def, options)?)))
    }

    /// The compiled filter.
    pub fn compiled(&self) -> &Arc<CompiledFilter> {
        &self.compiled
    }

    /// Takes back the data of a failure this filter made, once the caller is done with it: its
    /// allocations serve the next matches.
    pub(crate) fn recycle(&mut self, data: FailData) {
        self.spares.keep(data);
    }

    /// The sequence number the next line will get (lines are numbered from 1).
    pub fn next_seq(&self) -> u64 {
        self.seq + 1
    }

    fn bound<'a>(&self, line: &'a str) -> &'a str {
        let line = line.trim_end_matches(['\r', '\n']);
        let max = self.compiled.options.max_line_len;
        if line.len() <= max {
            return line;
        }
        let mut end = max;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        &line[..end]
    }

    /// Processes one log line: finds its date and returns the failures it yields (fail2ban's
    /// `processLine`).
    pub fn process_line(&mut self, line: &str, clock: &Clock) -> Vec<RawFailure> {
        let mut out = Vec::new();
        self.process_line_with(line, clock, false, &mut out);
        out
    }

    /// [`Filter::process_line`] for a caller that passes the same, unchanged clock on every
    /// line (a [`crate::scan::Scanner`] owns its clock): per-line time zone comparisons are
    /// skipped.
    /// The failures go to `out` (cleared first), whose allocation the caller reuses.
    pub(crate) fn process_line_same_clock(
        &mut self,
        line: &str,
        clock: &Clock,
        out: &mut Vec<RawFailure>,
    ) {
        out.clear();
        self.process_line_with(line, clock, true, out);
    }

    fn process_line_with(
        &mut self,
        line: &str,
        clock: &Clock,
        same_clock: bool,
        out: &mut Vec<RawFailure>,
    ) {
        let line = self.bound(line);
        self.seq += 1;
        let now = clock.now.as_second() as f64;
        let mut date: Option<f64> = None;
        let (mut pre, mut post): (&str, &str) = ("", line);
        let found = if same_clock {
            self.dates.find_same_clock(line, clock)
        } else {
            self.dates.find(line, clock)
        };
        match found {
            Some(found) if found.end > found.start => {
                pre = &line[..found.start];
                post = &line[found.end..];
                if let Some(t) = found.time {
                    date = Some(t);
                    self.last_date = Some(t);
                }
            }
            Some(_) => {
                // An empty date match (`{NONE}`): the last date if recent, else now.
                date = Some(match self.last_date {
                    Some(d) if d > now - 60.0 => d,
                    _ => now,
                });
            }
            None => {}
        }
        if date.is_none()
            && let Some(d) = self.last_date
            && d > now - 60.0
        {
            // No usable date: fail2ban reuses a recent one and keeps the whole line.
            pre = "";
            post = line;
            date = Some(d);
        }
        self.find_failure(pre, post, date, now, out);
    }

    /// Processes a line whose time is already known (journal entries): no date detection.
    pub fn process_line_at(&mut self, line: &str, time: f64, now: f64) -> Vec<RawFailure> {
        let line = self.bound(line);
        self.seq += 1;
        self.last_date = Some(time);
        let mut out = Vec::new();
        self.find_failure("", line, Some(time), now, &mut out);
        out
    }

    fn search(re: &Compiled, slots: &mut Slots, text: &str, hits: &mut u64) -> bool {
        match re.re.captures(text, slots) {
            Ok(m) => m,
            Err(_) => {
                *hits += 1;
                false
            }
        }
    }

    fn ignored(&mut self, text: &str) -> bool {
        let compiled = Arc::clone(&self.compiled);
        for (i, ig) in compiled.ignoreregex.iter().enumerate() {
            if Self::search(
                ig,
                &mut self.ignore_slots[i],
                text,
                &mut self.backtrack_limit_hits,
            ) {
                return true;
            }
        }
        false
    }

    fn find_failure(
        &mut self,
        pre: &str,
        post: &str,
        date: Option<f64>,
        now: f64,
        out: &mut Vec<RawFailure>,
    ) {
        if self.compiled.maxlines > 1 {
            out.extend(self.find_failure_multi(pre, post, date, now));
        } else {
            let mut scratch = std::mem::take(&mut self.scratch);
            let text = if pre.is_empty() {
                post
            } else {
                scratch.clear();
                scratch.push_str(pre);
                scratch.push_str(post);
                scratch.as_str()
            };
            self.find_failure_single(text, date, now, out);
            self.scratch = scratch;
        }
    }

    /// The single-line case (`maxlines = 1`), on borrowed text.
    fn find_failure_single(
        &mut self,
        line: &str,
        date: Option<f64>,
        now: f64,
        failures: &mut Vec<RawFailure>,
    ) {
        let compiled = Arc::clone(&self.compiled);
        let check_all = compiled.options.check_all_regex;
        let seq = self.seq;
        // ignoreregex before anything else when there are few of them (fail2ban's shortcut).
        if !compiled.ignoreregex.is_empty()
            && compiled.ignoreregex.len() + 2 < compiled.failregex.len()
            && self.ignored(line)
        {
            return;
        }
        let mut text = line;
        // Where `text` starts in `line`.
        let mut text_off = 0;
        let mut pre_matched = false;
        // The prefregex's groups are read only when a failure regex matches (most lines need
        // nothing but where `<F-CONTENT>` starts, which a DFA search of the head gives).
        // `Some(where the content starts)` while they are unread.
        let mut pref_unread: Option<usize> = None;
        if let Some(pref) = &compiled.prefregex {
            let Some(slots) = self.pref_slots.as_mut() else {
                return;
            };
            let content = pref.content;
            match pref.re.tail_start(line) {
                Some(None) if content.is_some() && content == pref.re.tail_group() => {
                    return;
                }
                Some(Some(s)) if content.is_some() && content == pref.re.tail_group() => {
                    pre_matched = true;
                    pref_unread = Some(s);
                    if s < line.len() {
                        text = &line[s..];
                        text_off = s;
                    }
                }
                _ => {
                    if !Self::search(pref, slots, line, &mut self.backtrack_limit_hits) {
                        return;
                    }
                    pre_matched = true;
                    if let Some(i) = content
                        && let Some((s, e)) = slots.get(i)
                        && e > s
                    {
                        text = &line[s..e];
                        text_off = s;
                    }
                }
            }
        }
        // Whether `pre_spans` holds this line's prefregex groups (read when first needed).
        let mut pre_read = false;
        let candidates = match text.as_bytes().first() {
            Some(&b) => &compiled.by_first_byte[usize::from(b)],
            None => &compiled.for_empty,
        };
        for &idx in candidates {
            let Some(fr) = compiled.failregex.get(idx) else {
                continue;
            };
            if !fr.may_match(text) {
                continue;
            }
            let Some(stats) = self.fail_stats.get_mut(idx) else {
                continue;
            };
            if stats.0 >= 1024 {
                *stats = (stats.0 / 2, stats.1 / 2);
            }
            stats.0 += 1;
            if stats.0 > 16 && stats.1 * 2 < stats.0 && fr.re.dfa_rejects(text) {
                continue;
            }
            let slots = &mut self.fail_slots[idx];
            if !Self::search(fr, slots, text, &mut self.backtrack_limit_hits) {
                continue;
            }
            if let Some(stats) = self.fail_stats.get_mut(idx) {
                stats.1 += 1;
            }
            if !compiled.ignoreregex.is_empty() && self.ignored(text) {
                if !check_all {
                    break;
                }
                continue;
            }
            let Some(time) = date else {
                // fail2ban: "Found a match … but no valid date/time found".
                continue;
            };
            if pre_matched && !pre_read {
                pre_read = true;
                self.pre_spans.clear();
                if let (Some(p), Some(s)) = (&compiled.prefregex, &mut self.pref_slots) {
                    if let Some(tail) = pref_unread.take() {
                        // The head's groups, read no further than the head.
                        let found =
                            p.re.captures_after_tail_start(line, tail, s)
                                .unwrap_or_else(|_| {
                                    self.backtrack_limit_hits += 1;
                                    false
                                });
                        if !found {
                            // Cannot happen (the head matched): no prefix groups.
                            *s = p.re.slots();
                        }
                    }
                    p.spans(line, s, Some("content"), &mut self.pre_spans);
                }
            }
            let pre: &[(Arc<str>, usize, usize)] = if pre_read { &self.pre_spans } else { &[] };
            let fail_groups = match self.fail_slots.get(idx) {
                Some(slots) => {
                    let spare = self.spares.groups.pop();
                    fr.groupdict_with(line, text_off, slots, None, pre, spare)
                }
                None => continue,
            };
            match self.make_failure(idx, None, fail_groups, &[seq], time, now, check_all) {
                Step::Push(f) => failures.push(f),
                Step::Skip => continue,
                Step::Stop => return,
            }
            if !check_all {
                break;
            }
        }
    }

    /// Turns a failure regex match into a failure: ties it to its connection (`<F-MLFID>`)
    /// and finds the address or id (fail2ban's `findFailure`, after the match).
    #[allow(clippy::too_many_arguments)]
    fn make_failure(
        &mut self,
        idx: usize,
        pre_groups: Option<&Groups>,
        mut groups: Groups,
        matched: &[u64],
        time: f64,
        now: f64,
        check_all: bool,
    ) -> Step {
        if let Some(pg) = pre_groups {
            // Values the failregex did not capture keep the prefregex's (fail2ban 1.1:
            // dovecot 2.4 logs have the address only in the prefix).
            groups.extend_missing(pg);
        }
        // The connection id is copied to a buffer kept between lines, as the groups move into
        // the connection's cache.
        let mut key = std::mem::take(&mut self.key);
        key.clear();
        let mlfid = match groups.get("mlfid") {
            Some(m) => {
                key.push_str(m);
                Some(key.as_str())
            }
            None => None,
        };
        let step = self.make_failure_for(idx, mlfid, groups, matched, time, now, check_all);
        self.key = key;
        step
    }

    /// [`Filter::make_failure`] once the connection id (if any) is known.
    #[allow(clippy::too_many_arguments)]
    fn make_failure_for(
        &mut self,
        idx: usize,
        mlfid: Option<&str>,
        groups: Groups,
        matched: &[u64],
        time: f64,
        now: f64,
        check_all: bool,
    ) -> Step {
        // Every field spelled out: `..FailData::default()` would allocate a `Groups` only to
        // drop it.
        let mut fail = FailData {
            groups,
            matches: None,
            nofail_matches: None,
            users: None,
            mlfpending: false,
        };
        let mut cached = false;
        if let Some(key) = mlfid {
            // A "nofail" result is not handed out (unless every regex is tried): it need not
            // be copied out of the cache.
            match self.merge_failure(key, fail, matched, now, !check_all) {
                Some((merged, in_cache)) => {
                    fail = merged;
                    cached = in_cache;
                    if fail.is_nofail() && !check_all {
                        self.spares.keep(fail);
                        return Step::Stop;
                    }
                }
                None => return Step::Stop,
            }
        } else {
            fail.matches = Some(self.spares.lines_from(matched));
        }
        let fid = fail.get("fid");
        let host: Option<String> = if let Some(ip4) = fail.get("ip4") {
            Some(normalize_ip(ip4, fail.get("cidr"), false))
        } else if let Some(ip6) = fail.get("ip6") {
            Some(normalize_ip(ip6, fail.get("cidr"), true))
        } else if let Some(dns) = fail.get("dns") {
            Some(dns.to_owned())
        } else if fid.is_none() && mlfid.is_none() {
            return Step::Skip;
        } else {
            fid.map(str::to_owned)
        };
        let id = match host {
            None => {
                // A failure waiting for its address: remembered on the connection, so a later
                // "nofail" line of the same connection cannot cancel it.
                if cached
                    && let Some(key) = mlfid
                    && let Some(entry) = self.mlfid.get_mut(key, now)
                {
                    entry.mlfpending = true;
                }
                if !check_all {
                    self.spares.keep(fail);
                    return Step::Stop;
                }
                None
            }
            Some(h) => match fid {
                Some(f) if f != h => Some(f.to_owned()),
                _ => Some(h),
            },
        };
        Step::Push(RawFailure {
            regex: idx,
            id,
            time,
            data: fail,
        })
    }

    /// Joins the buffer as fail2ban does: lines (without their date) joined and ended by `\n`.
    fn buffer_text(lines: &[TupleLine]) -> String {
        let mut s = String::new();
        for l in lines {
            s.push_str(&l.text);
            s.push('\n');
        }
        s
    }

    /// Lines (of `lines`) a match spans, minus `<SKIPLINES>` lines; and the rest.
    fn split_lines(
        text: &str,
        span: (usize, usize),
        skipped: &[&str],
        lines: &[TupleLine],
    ) -> (Vec<TupleLine>, Vec<TupleLine>) {
        if lines.len() <= 1 {
            return (lines.to_vec(), Vec::new());
        }
        // Newlines are ASCII, so byte offsets are safe here (a match may start inside text with
        // multi-byte characters, where `start + 1` is not a character boundary).
        let (start, end) = span;
        let bytes = text.as_bytes();
        let line_start = bytes[..(start + 1).min(bytes.len())]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let from = end.saturating_sub(1).min(bytes.len());
        let line_end = bytes[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| from + p + 1);
        let newlines = |upto: usize| {
            bytes[..upto.min(bytes.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        };
        let c1 = newlines(line_start).min(lines.len());
        let c2 = newlines(line_end).clamp(c1, lines.len());
        let mut matched: Vec<TupleLine> = lines[c1..c2].to_vec();
        let mut unmatched: Vec<TupleLine> = lines[..c1].to_vec();
        let mut n = 0;
        for skip in skipped {
            if let Some(m) = matched.iter().skip(n).position(|l| l.text == *skip) {
                unmatched.push(matched.remove(n + m));
                n += m;
            }
        }
        unmatched.extend_from_slice(&lines[c2..]);
        (matched, unmatched)
    }

    /// The multi-line case (`maxlines > 1`): a buffer of the last lines, from which matched
    /// lines are removed.
    fn find_failure_multi(
        &mut self,
        pre: &str,
        post: &str,
        date: Option<f64>,
        now: f64,
    ) -> Vec<RawFailure> {
        let compiled = Arc::clone(&self.compiled);
        let check_all = compiled.options.check_all_regex;
        let seq = self.seq;
        self.buffer.push(TupleLine {
            seq,
            text: format!("{pre}{post}"),
        });
        if self.buffer.len() > compiled.maxlines {
            let excess = self.buffer.len() - compiled.maxlines;
            self.buffer.drain(..excess);
        }
        let org: Vec<TupleLine> = self.buffer.clone();
        let mut buf = Self::buffer_text(&self.buffer);
        let mut failures = Vec::new();
        if !compiled.ignoreregex.is_empty()
            && compiled.ignoreregex.len() + 2 < compiled.failregex.len()
            && self.ignored(&buf)
        {
            return failures;
        }
        let mut pre_groups: Option<Groups> = None;
        if let Some(pref) = &compiled.prefregex {
            let Some(slots) = self.pref_slots.as_mut() else {
                return failures;
            };
            if !Self::search(pref, slots, &buf, &mut self.backtrack_limit_hits) {
                return failures;
            }
            let g = pref.groupdict(&buf, slots, Some("content"));
            if let Some(i) = pref.content
                && let Some((s, e)) = slots.get(i)
                && e > s
            {
                self.buffer = vec![TupleLine {
                    seq,
                    text: buf[s..e].to_owned(),
                }];
                buf = Self::buffer_text(&self.buffer);
            }
            pre_groups = Some(g);
        }
        let mut stale = false;
        for (idx, fr) in compiled.failregex.iter().enumerate() {
            if stale {
                buf = Self::buffer_text(&self.buffer);
                stale = false;
            }
            let slots = &mut self.fail_slots[idx];
            if !Self::search(fr, slots, &buf, &mut self.backtrack_limit_hits) {
                continue;
            }
            let slots = slots.clone();
            let Some(span) = slots.get(0) else { continue };
            let skipped: String = fr
                .skiplines
                .iter()
                .filter_map(|&i| slots.get(i).map(|(s, e)| &buf[s..e]))
                .collect();
            let skipped: Vec<&str> = skipped.lines().collect();
            let (matched, unmatched) = Self::split_lines(&buf, span, &skipped, &org);
            let fail_groups = fr.groupdict(&buf, &slots, None);
            if !compiled.ignoreregex.is_empty() {
                let target = Self::buffer_text(&matched);
                if self.ignored(&target) {
                    self.buffer = unmatched;
                    stale = true;
                    if !check_all {
                        break;
                    }
                    continue;
                }
            }
            let Some(time) = date else { continue };
            self.buffer = unmatched;
            stale = true;
            let seqs: Vec<u64> = matched.iter().map(|l| l.seq).collect();
            match self.make_failure(
                idx,
                pre_groups.as_ref(),
                fail_groups,
                &seqs,
                time,
                now,
                check_all,
            ) {
                Step::Push(f) => failures.push(f),
                Step::Skip => continue,
                Step::Stop => return failures,
            }
            if !check_all {
                break;
            }
        }
        failures
    }

    /// fail2ban's `_mergeFailure`: ties lines of one connection together. Returns the merged
    /// data and whether it is (still) cached; `None` for a "nofail" result when
    /// `drop_nofail` (the caller would drop it).
    fn merge_failure(
        &mut self,
        mlfid: &str,
        mut fail: FailData,
        matched: &[u64],
        now: f64,
        drop_nofail: bool,
    ) -> Option<(FailData, bool)> {
        const NOFAIL: u8 = 1;
        const FORGET: u8 = 2;
        const PREV_NOFAIL: u8 = 4;
        const GAINED: u8 = 8;
        let mut flags = 0u8;
        if fail.groups.truthy("mlfgained") {
            flags |= GAINED | NOFAIL;
            if !fail.groups.truthy("nofail") {
                fail.groups.copy_within("mlfgained", &self.nofail_name);
            }
        } else if fail.groups.truthy("nofail") {
            flags |= NOFAIL;
        }
        if fail.groups.remove_truthy("mlfforget") {
            flags |= FORGET;
        }
        if let Some(entry) = self.mlfid.get_mut(mlfid, now) {
            if let Some(u) = fail.user()
                && !entry
                    .users
                    .as_ref()
                    .is_some_and(|set| set.len() >= MAX_CONNECTION_USERS || set.contains(u))
            {
                Arc::make_mut(entry.users.get_or_insert_with(Default::default))
                    .insert(u.to_owned());
            }
            if entry.groups.remove_truthy("nofail") {
                flags |= PREV_NOFAIL;
            }
            if entry.groups.remove_truthy("mlfgained") {
                flags |= PREV_NOFAIL;
            }
            if flags & PREV_NOFAIL == 0 && !entry.mlfpending {
                if flags & NOFAIL == 0
                    && let Some(m) = entry.matches.as_mut()
                {
                    // `settle` gives the entry a list of this line's lines (`NOFAIL` stays
                    // unset there): emptied, this one serves.
                    m.clear();
                } else {
                    self.spares.keep_lines(entry.matches.take());
                }
            }
            let old = entry.groups.extend(fail.groups);
            self.spares.keep_groups(old);
            let users = entry.users.as_ref().map_or(0, |set| set.len());
            Self::settle(entry, &mut self.spares, flags, users, matched);
            if flags & FORGET != 0 {
                // The entry goes: hand it over rather than copy it.
                return self.mlfid.take(mlfid).map(|result| (result, false));
            }
            if drop_nofail && entry.is_nofail() {
                return None;
            }
            return Some((self.spares.copy(entry), true));
        }
        let mut users = 0;
        if flags & FORGET == 0
            && let Some(u) = fail.user().map(str::to_owned)
        {
            let set = Arc::make_mut(fail.users.get_or_insert_with(Default::default));
            set.insert(u);
            users = set.len();
        }
        Self::settle(&mut fail, &mut self.spares, flags, users, matched);
        if flags & FORGET != 0 {
            return Some((fail, false));
        }
        if drop_nofail && fail.is_nofail() {
            self.mlfid.insert(mlfid, fail, now);
            return None;
        }
        let copy = self.spares.copy(&fail);
        self.mlfid.insert(mlfid, fail, now);
        Some((copy, true))
    }

    /// The second half of `_mergeFailure`: pending failures and several users cancel
    /// "nofail"; matched lines are collected (or kept aside while "nofail").
    fn settle(
        fail: &mut FailData,
        spares: &mut Spares,
        mut flags: u8,
        users: usize,
        matched: &[u64],
    ) {
        const NOFAIL: u8 = 1;
        const FORGET: u8 = 2;
        const GAINED: u8 = 8;
        if std::mem::take(&mut fail.mlfpending) || users > 1 {
            fail.groups.remove_truthy("nofail");
            fail.groups.remove_truthy("mlfgained");
            flags &= !(GAINED | NOFAIL);
        }
        if flags & NOFAIL == 0 {
            // The earlier lines in order ("nofail" ones first), reusing a list when there is one.
            let mut m = match (fail.nofail_matches.take(), fail.matches.take()) {
                (Some(mut n), Some(m)) => {
                    n.extend_from_slice(&m);
                    spares.keep_lines(Some(m));
                    n
                }
                (Some(n), None) => n,
                (None, Some(m)) => m,
                (None, None) => spares.lines_from(&[]),
            };
            if flags & GAINED == 0 {
                m.extend_from_slice(matched);
            }
            keep_last_lines(&mut m);
            fail.matches = Some(m);
        } else if flags & (FORGET | NOFAIL) == NOFAIL {
            match fail.nofail_matches.as_mut() {
                Some(n) => {
                    n.extend_from_slice(matched);
                    keep_last_lines(n);
                }
                None => fail.nofail_matches = Some(spares.lines_from(matched)),
            }
        }
    }
}

/// Drops the oldest line numbers of a connection beyond [`MAX_CONNECTION_LINES`].
fn keep_last_lines(lines: &mut Vec<u64>) {
    if lines.len() > MAX_CONNECTION_LINES {
        lines.drain(..lines.len() - MAX_CONNECTION_LINES);
    }
}

/// fail2ban's `IPAddr(...)` text: a valid address in canonical form (IPv4-mapped IPv6 as
/// IPv4; with a CIDR as `net/len`), anything else as captured.
fn normalize_ip(text: &str, cidr: Option<&str>, v6: bool) -> String {
    let parsed: Option<IpAddr> = if v6 {
        text.parse::<Ipv6Addr>()
            .ok()
            .map(|a| match a.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(a),
            })
    } else {
        text.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    };
    let Some(addr) = parsed else {
        return text.to_owned();
    };
    if !v6 && cidr.is_none() {
        // The IPv4 parser takes only canonical text (no leading zeros), which prints back
        // unchanged.
        return text.to_owned();
    }
    match cidr.and_then(|c| c.parse::<u8>().ok()) {
        Some(len) => match addr {
            IpAddr::V4(a) if len < 32 => {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                format!("{}/{len}", Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) if len < 128 => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                format!("{}/{len}", Ipv6Addr::from(u128::from(a) & mask))
            }
            _ => addr.to_string(),
        },
        None => match addr {
            IpAddr::V6(a) => ipv6_text(a),
            IpAddr::V4(a) => a.to_string(),
        },
    }
}

/// The text `Ipv6Addr`'s `Display` gives (RFC 5952: lower-case hexadecimal without leading
/// zeros, the first longest run of two or more zero groups as `::`), written directly: the
/// formatting machinery costs several times the rest of a failure. IPv4-mapped addresses
/// (printed with a dotted quad) are left to `Display`.
fn ipv6_text(addr: Ipv6Addr) -> String {
    if addr.to_ipv4_mapped().is_some() {
        return addr.to_string();
    }
    let segments = addr.segments();
    // The first longest run of zero groups.
    let (mut best_start, mut best_len) = (0, 0);
    let (mut start, mut len) = (0, 0);
    for (i, &seg) in segments.iter().enumerate() {
        if seg == 0 {
            if len == 0 {
                start = i;
            }
            len += 1;
            if len > best_len {
                (best_start, best_len) = (start, len);
            }
        } else {
            len = 0;
        }
    }
    let mut out = String::with_capacity(39);
    let hex = |out: &mut String, seg: u16| {
        let mut started = false;
        for shift in [12u32, 8, 4, 0] {
            let digit = (seg >> shift) & 0xf;
            if digit != 0 || started || shift == 0 {
                started = true;
                out.push(char::from(b"0123456789abcdef"[usize::from(digit)]));
            }
        }
    };
    let run = |out: &mut String, segs: &[u16]| {
        for (i, &seg) in segs.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            hex(out, seg);
        }
    };
    if best_len > 1 {
        run(&mut out, &segments[..best_start]);
        out.push_str("::");
        run(&mut out, &segments[best_start + best_len..]);
    } else {
        run(&mut out, &segments);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    fn clock() -> Clock {
        Clock::new(
            Timestamp::from_second(1_124_013_600).unwrap(),
            TimeZone::posix("CET-01CEST-02,M3.5.0,M10.5.0").unwrap(),
        )
    }

    fn def(failregex: &[&str]) -> FilterDefinition {
        FilterDefinition {
            name: "t".into(),
            files: Vec::new(),
            prefregex: None,
            failregex: failregex.iter().map(|s| s.to_string()).collect(),
            ignoreregex: Vec::new(),
            maxlines: None,
            datepattern: None,
            journalmatch: Vec::new(),
            usedns: None,
        }
    }

    #[test]
    fn tags_expand() {
        let r = resolve_tags("^<F-USER>\\S+</F-USER> from <HOST></F-NOPE>", UseDns::Warn);
        assert!(r.starts_with("^(?P<user>\\S+) from (?:"), "{r}");
        assert!(r.ends_with("</F-NOPE>"), "{r}");
        assert!(r.contains("(?P<dns>"));
        assert!(!resolve_tags("<HOST>", UseDns::No).contains("dns"));
        assert_eq!(resolve_tags("<F-ID/>", UseDns::No), r"(?P<fid>\S+)");
    }

    #[test]
    fn simple_filter_finds_host_user_and_time() {
        let mut f = Filter::from_definition(
            &def(&[r"^\s*\S+ sshd\[\d+\]: Failed password for <F-USER>\S+</F-USER> from <HOST>"]),
            FilterOptions::default(),
        )
        .unwrap();
        let r = f.process_line("Feb 25 14:34:10 belka sshd[31602]: Failed password for root from ::ffff:1.2.3.4 port 1", &clock());
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].id.as_deref(), Some("1.2.3.4"));
        assert_eq!(r[0].data.user(), Some("root"));
        assert!(r[0].counts());
        assert!(
            f.process_line(
                "Feb 25 14:34:10 belka sshd[31602]: Accepted password",
                &clock()
            )
            .is_empty()
        );
    }

    #[test]
    fn multi_line_buffers_handle_multibyte_text_and_skiplines() {
        let mut d = def(&[r"^ Login failed for é.*<SKIPLINES>^ from <HOST>$"]);
        d.maxlines = Some(3);
        let mut f = Filter::from_definition(&d, FilterOptions::default()).unwrap();
        let c = clock();
        assert!(
            f.process_line("Aug 14 09:00:00 Login failed for éé", &c)
                .is_empty()
        );
        assert!(f.process_line("Aug 14 09:00:01 ünrelated", &c).is_empty());
        let r = f.process_line("Aug 14 09:00:02 from 192.0.2.8", &c);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].id.as_deref(), Some("192.0.2.8"));
        // The skipped line is not part of the failure.
        assert_eq!(r[0].data.matches.as_deref(), Some(&[1, 3][..]));
        d.maxlines = Some(MAX_MAXLINES + 1);
        assert!(matches!(
            CompiledFilter::new(&d, FilterOptions::default()),
            Err(FilterError::MaxLines { .. })
        ));
    }

    #[test]
    fn prefregex_groups_follow_each_line_head() {
        let mut d = def(&[r"^Failed for <F-USER>\S+</F-USER> from <HOST>$"]);
        d.prefregex =
            Some(r"^<F-MLFID>\s*\S+ sshd\[\d+\]:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$".into());
        let mut f = Filter::from_definition(&d, FilterOptions::default()).unwrap();
        let c = clock();
        let mlfid = |f: &mut Filter, line: &str| {
            let r = f.process_line(line, &c);
            assert_eq!(r.len(), 1, "{line}: {r:?}");
            (r[0].data.get("mlfid").map(str::to_owned), r[0].id.clone())
        };
        let a = " h sshd[1]:";
        let b = " h sshd[22]:";
        for _ in 0..2 {
            for (head, ip) in [(a, "192.0.2.1"), (b, "192.0.2.2"), (a, "192.0.2.3")] {
                let line = format!("Aug 14 09:00:00{head} Failed for u from {ip}");
                assert_eq!(
                    mlfid(&mut f, &line),
                    (Some(head.to_owned()), Some(ip.to_owned()))
                );
            }
        }
    }

    #[test]
    fn groups_stay_sorted_and_copies_do_not_see_later_changes() {
        let name = |n: &str| -> Arc<str> { Arc::from(n) };
        let mut g = Groups::default();
        for n in ["user", "ip4", "mlfid", "fid"] {
            g.insert(&name(n), &n.to_uppercase());
        }
        let names: Vec<&str> = g.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["fid", "ip4", "mlfid", "user"]);
        let copy = g.clone();
        g.insert(&name("user"), "other");
        let mut missing = Groups::default();
        missing.insert(&name("ip4"), "ignored");
        missing.insert(&name("dns"), "host.example");
        g.extend_missing(&missing);
        assert!(g.remove_truthy("fid"));
        assert!(!g.remove_truthy("fid"));
        let mut more = Groups::default();
        more.insert(&name("zz"), "z");
        more.insert(&name("ip4"), "192.0.2.1");
        let shared = more.clone();
        g.extend(more);
        let all: Vec<(&str, &str)> = g.iter().collect();
        assert_eq!(
            all,
            [
                ("dns", "host.example"),
                ("ip4", "192.0.2.1"),
                ("mlfid", "MLFID"),
                ("user", "other"),
                ("zz", "z"),
            ]
        );
        // The copy taken before the changes is unchanged.
        assert_eq!(copy.get("user"), Some("USER"));
        assert_eq!(copy.get("fid"), Some("FID"));
        assert_eq!(copy.len(), 4);
        assert_eq!(shared.len(), 2);
        assert!(g.truthy("zz") && !g.truthy("nofail"));
        g.insert(&name("empty"), "");
        assert_eq!(g.get("empty"), Some(""));
        assert!(!g.truthy("empty") && !g.remove_truthy("empty"));
        assert_eq!(g.get("empty"), None);
        g.copy_within("dns", &name("fid"));
        g.copy_within("nope", &name("zz"));
        assert_eq!(g.get("fid"), Some("host.example"));
        assert_eq!(g.get("zz"), Some("z"));
        let mut only = Groups::default();
        only.insert(&name("ip4"), "x");
        only.insert(&name("a"), "1");
        g.extend_missing(&only);
        assert_eq!(g.get("ip4"), Some("192.0.2.1"));
        assert_eq!(g.get("a"), Some("1"));
    }

    #[test]
    fn groups_compare_by_content_and_keep_replaced_texts_bounded() {
        let name = |n: &str| -> Arc<str> { Arc::from(n) };
        let mut a = Groups::default();
        let mut b = Groups::default();
        a.insert(&name("x"), "old");
        a.insert(&name("y"), "2");
        a.insert(&name("x"), "1");
        b.insert(&name("y"), "2");
        b.insert(&name("x"), "1");
        assert_eq!(a, b);
        b.insert(&name("x"), "3");
        assert_ne!(a, b);
        // A connection's cached groups take new texts on every line: the old ones go.
        let mut long = Groups::default();
        for i in 0..10_000 {
            let mut other = Groups::default();
            other.insert(&name("user"), &format!("user{i}"));
            other.insert(&name("ip4"), "192.0.2.1");
            long.extend(other);
            assert_eq!(long.get("user"), Some(format!("user{i}").as_str()));
        }
        assert_eq!(long.get("ip4"), Some("192.0.2.1"));
        assert!(long.0.text.len() < 1024, "{}", long.0.text.len());
    }

    #[test]
    fn groupdict_reads_nested_groups_and_alt_names() {
        let c = Compiled::new(
            r"^(?P<alt_user>\S*) (?P<nofail>a (?P<mlfforget>b)) (?:(?P<x>\d)|(?P<y>\w))(?P<user>)$",
            UseDns::No,
            false,
        )
        .unwrap();
        let mut slots = c.re.slots();
        let hay = "rootx a b z";
        assert!(c.re.captures(hay, &mut slots).unwrap());
        let g = c.groupdict(hay, &slots, None);
        let all: Vec<(&str, &str)> = g.iter().collect();
        assert_eq!(
            all,
            [
                ("alt_user", "rootx"),
                ("mlfforget", "b"),
                ("nofail", "a b"),
                ("user", "rootx"),
                ("y", "z"),
            ]
        );
        let g = c.groupdict(hay, &slots, Some("nofail"));
        assert_eq!(g.get("nofail"), None);
        assert_eq!(g.get("mlfforget"), Some("b"));
    }

    #[test]
    fn a_failure_handed_out_is_not_changed_by_later_lines_of_its_connection() {
        let mut d = def(&[
            r"^Failed for <F-USER>\S+</F-USER> from <HOST>$",
            r"^Disconnected<F-MLFFORGET> </F-MLFFORGET>from <HOST>$",
        ]);
        d.prefregex =
            Some(r"^<F-MLFID>\s*\S+ sshd\[\d+\]:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$".into());
        let mut f = Filter::from_definition(&d, FilterOptions::default()).unwrap();
        let c = clock();
        let first = f.process_line("Aug 14 09:00:00 h sshd[1]: Failed for a from 192.0.2.1", &c);
        let second = f.process_line("Aug 14 09:00:01 h sshd[1]: Failed for b from 192.0.2.2", &c);
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(second.len(), 1, "{second:?}");
        assert_eq!(first[0].data.user(), Some("a"));
        assert_eq!(first[0].data.get("ip4"), Some("192.0.2.1"));
        let users = |r: &RawFailure| r.data.users.as_ref().map_or(0, |u| u.len());
        assert_eq!(users(&first[0]), 1);
        assert_eq!(second[0].data.user(), Some("b"));
        assert_eq!(users(&second[0]), 2);
        // The first line's failure was reported already: the second counts its own line.
        assert_eq!(second[0].data.attempts(), 1);
        let gone = f.process_line("Aug 14 09:00:02 h sshd[1]: Disconnected from 192.0.2.2", &c);
        assert_eq!(gone.len(), 1, "{gone:?}");
        assert_eq!(gone[0].data.get("mlfforget"), None);
        // The connection is forgotten: a new line starts afresh.
        let again = f.process_line("Aug 14 09:00:03 h sshd[1]: Failed for c from 192.0.2.3", &c);
        assert_eq!(users(&again[0]), 1);
        assert_eq!(first[0].data.user(), Some("a"));
    }

    #[test]
    fn a_connection_that_never_ends_keeps_bounded_users_and_lines() {
        // A long-lived process (or lines without a pid: one connection id for all) naming a
        // new user on every line (issue 19): its cached failure, and every failure handed
        // out for it, stay bounded however many lines it writes.
        let mut d = def(&[
            r"^Failed for <F-USER>\S+</F-USER> from <HOST>$",
            r"^<F-NOFAIL>Accepted</F-NOFAIL> for <F-USER>\S+</F-USER>$",
        ]);
        d.prefregex =
            Some(r"^<F-MLFID>\s*\S+ sshd(?:\[\d+\])?:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$".into());
        let mut f = Filter::from_definition(&d, FilterOptions::default()).unwrap();
        let c = clock();
        let n = 5 * MAX_CONNECTION_LINES * MAX_CONNECTION_USERS;
        let mut kept = Vec::new();
        for i in 0..n {
            for pid in ["[1]", ""] {
                let line = format!(
                    "Aug 14 09:00:00 h sshd{pid}: Failed for u{i} from 10.0.{}.{}",
                    i / 250,
                    i % 250
                );
                kept.extend(f.process_line(&line, &c));
            }
        }
        assert_eq!(kept.len(), 2 * n);
        assert_eq!(kept.last().unwrap().id.as_deref(), Some("10.0.20.119"));
        for r in &kept {
            let users = r.data.users.as_ref().map_or(0, |u| u.len());
            assert!((1..=MAX_CONNECTION_USERS).contains(&users), "{users}");
            assert!(r.data.attempts() <= MAX_CONNECTION_LINES);
        }
        // "nofail" lines of one user are kept aside on the connection, at most the bound.
        for _ in 0..n {
            f.process_line("Aug 14 09:00:00 h sshd[2]: Accepted for a", &c);
        }
        assert_eq!(f.mlfid.map.len(), 3);
        for (entry, ..) in f.mlfid.map.values() {
            assert!(
                entry
                    .users
                    .as_ref()
                    .is_some_and(|u| u.len() <= MAX_CONNECTION_USERS)
            );
            for lines in [&entry.matches, &entry.nofail_matches] {
                assert!(lines.as_ref().map_or(0, Vec::len) <= MAX_CONNECTION_LINES);
            }
        }
    }

    #[test]
    fn ip_normalization() {
        assert_eq!(normalize_ip("192.030.0.6", None, false), "192.030.0.6");
        assert_eq!(normalize_ip("::ffff:1.2.3.4", None, true), "1.2.3.4");
        assert_eq!(normalize_ip("AAAA:0:0::1", None, true), "aaaa::1");
        for (text, want) in [
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("0:0:1:0:0:0:1:0", "0:0:1::1:0"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"),
            ("2001:DB8:0:0:0:0:0:F00D", "2001:db8::f00d"),
            ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
        ] {
            assert_eq!(normalize_ip(text, None, true), want, "{text}");
        }
        assert_eq!(
            normalize_ip("192.0.2.77", Some("24"), false),
            "192.0.2.0/24"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// IPv6 text is what `Display` prints, whatever the runs of zero groups (each group
        /// is zero, small or large, so runs of every length and place occur).
        #[test]
        fn ipv6_text_is_display(
            groups in proptest::collection::vec((0u8..3, proptest::prelude::any::<u16>()), 8),
        ) {
            let mut segments = [0u16; 8];
            for (seg, (kind, value)) in segments.iter_mut().zip(&groups) {
                *seg = match kind {
                    0 => 0,
                    1 => value & 0xf,
                    _ => *value,
                };
            }
            let addr = Ipv6Addr::from(segments);
            proptest::prop_assert_eq!(ipv6_text(addr), addr.to_string());
        }

        /// IPv4 text is returned as written when it parses: the same as printing the parsed
        /// address (leading zeros do not parse and are kept as captured).
        #[test]
        fn ipv4_text_is_canonical_when_it_parses(
            octets in proptest::collection::vec((0u16..300, 0usize..3), 4),
        ) {
            let text = octets
                .iter()
                .map(|(o, zeros)| format!("{}{o}", "0".repeat(*zeros)))
                .collect::<Vec<_>>()
                .join(".");
            let want = match text.parse::<Ipv4Addr>() {
                Ok(a) => a.to_string(),
                Err(_) => text.clone(),
            };
            proptest::prop_assert_eq!(normalize_ip(&text, None, false), want);
        }
    }
}
