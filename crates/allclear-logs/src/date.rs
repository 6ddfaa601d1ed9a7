//! Finding the timestamp in a log line, as fail2ban's `DateDetector` does.
//!
//! fail2ban tries a list of date templates (its 17 defaults, first in a variant anchored at the
//! start of the line, or the filter's `datepattern`), takes the one that matches (preferring
//! the one that matched last time, and the match closest to the start of the line), removes
//! the date text from the line, and runs the failure regexes on the rest. Templates are
//! strptime-like patterns (`%b %d %H:%M:%S`, with fail2ban's `%Ex…` exact fields), epoch
//! seconds or TAI64N. A date without a year gets the current year, or the previous one when
//! that would put it more than a day in the future.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use jiff::civil::{DateTime, date};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use allclear_pyregex::{PyRegex, RegexError, Slots};

const LINE_BEGIN: u8 = 8;
const LINE_END: u8 = 4;
const WORD_BEGIN: u8 = 2;
const WORD_END: u8 = 1;

/// A date pattern could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// A `%` is not followed by a known field (write `%%` for a literal percent sign).
    #[error("date pattern {pattern:?}: unknown field or unescaped % at offset {offset}")]
    Field { pattern: String, offset: usize },
    /// The pattern's regular expression does not compile.
    #[error("date pattern {pattern:?}: {source}")]
    Regex {
        pattern: String,
        #[source]
        source: RegexError,
    },
    /// The same template was added twice.
    #[error("date pattern {name:?} is given twice")]
    Duplicate { name: String },
}

/// "Now" and the local time zone: what year-less dates are completed with and how local
/// times become instants (fail2ban's `MyTime` and the process time zone).
#[derive(Debug, Clone)]
pub struct Clock {
    pub now: Timestamp,
    pub tz: TimeZone,
}

impl Clock {
    pub fn new(now: Timestamp, tz: TimeZone) -> Clock {
        Clock { now, tz }
    }

    fn now_local(&self) -> DateTime {
        self.tz.to_datetime(self.now)
    }

    /// `time.mktime`: a local wall-clock time as seconds since the epoch (a time skipped by a
    /// DST change counts as after it, a repeated one as its first occurrence).
    pub fn mktime(&self, dt: DateTime) -> Option<f64> {
        let ts = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        Some(ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) / 1e9)
    }
}

/// "Now" as local time, and a day later: what year-less dates are compared with. Converting
/// and adding a day cost more than the rest of reading a date, so a detector keeps them while
/// its clock stays the same.
#[derive(Debug, Clone, Copy)]
struct LocalNow {
    now: DateTime,
    /// `None` when a day later is past jiff's range.
    plus_day: Option<DateTime>,
}

impl LocalNow {
    fn of(clock: &Clock) -> LocalNow {
        let now = clock.now_local();
        LocalNow {
            now,
            plus_day: now.checked_add(1.day()).ok(),
        }
    }
}

/// Python's `TimeRE` with fail2ban's overrides: strptime field → regex (Python syntax).
fn time_re(key: &str) -> Option<&'static str> {
    Some(match key {
        "%" => "%",
        "a" => "(?P<a>mon|tue|wed|thu|fri|sat|sun)",
        "A" => "(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)",
        "b" => "(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
        "B" => {
            "(?P<B>september|february|november|december|january|october|august|april|march|june|july|may)"
        }
        "p" => "(?P<p>am|pm)",
        "f" => r"(?P<f>[0-9]{1,6})",
        "I" => r"(?P<I>1[0-2]|0[1-9]|[1-9])",
        "G" => r"(?P<G>\d\d\d\d)",
        "j" => r"(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])",
        "U" => r"(?P<U>5[0-3]|[0-4]\d|\d)",
        "W" => r"(?P<W>5[0-3]|[0-4]\d|\d)",
        "w" => r"(?P<w>[0-6])",
        "u" => r"(?P<u>[1-7])",
        "V" => r"(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)",
        "y" => r"(?P<y>\d\d)",
        // fail2ban's overrides (strptime.py):
        "k" => r" ?(?P<H>[0-2]?\d)",
        "l" => r" ?(?P<I>1?\d)",
        "Z" => r"(?P<Z>Z|[A-Z]{3,5})",
        "z" => r"(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)",
        "ExZ" => r"(?P<Z>[A-Z](?:[A-Z]{2,4})?)",
        "Exz" => r"(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\d(?::?\d{2})?|[A-Z](?:[A-Z]{2,4})?)",
        "d" => r"(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])",
        "m" => r"(?P<m>0?[1-9]|1[0-2])",
        "Y" => r"(?P<Y>\d{4})",
        "H" => r"(?P<H>[0-1]?\d|2[0-3])",
        "M" => r"(?P<M>[0-5]?\d)",
        "S" => r"(?P<S>[0-5]?\d|6[0-1])",
        "Exd" => r"(?P<d>[1-2]\d|0[1-9]|3[0-1])",
        "Exm" => r"(?P<m>0[1-9]|1[0-2])",
        "ExH" => r"(?P<H>[0-1]\d|2[0-3])",
        "Exk" => r" ?(?P<H>[0-1]?\d|2[0-3])",
        "Exl" => r" ?(?P<I>1[0-2]|\d)",
        "ExM" => r"(?P<M>[0-5]\d)",
        "ExS" => r"(?P<S>[0-5]\d|6[0-1])",
        // fail2ban builds this from the years around "now" (20[0-2]\d in 2026); any year of
        // this century is accepted here so results do not depend on the build date.
        "ExY" => r"(?P<Y>20\d\d)",
        "Exy" => r"(?P<y>\d{2})",
        // The C locale's %c, %x and %X.
        "c" => {
            r"(?P<a>mon|tue|wed|thu|fri|sat|sun)\s+(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])\s+(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)\s+(?P<Y>\d\d\d\d)"
        }
        "x" => r"(?P<m>1[0-2]|0[1-9]|[1-9])/(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])/(?P<y>\d\d)",
        "X" => r"(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)",
        _ => return None,
    })
}

const MULTI_KEYS: [&str; 11] = [
    "ExZ", "Exz", "Exd", "Exm", "ExH", "Exk", "Exl", "ExM", "ExS", "ExY", "Exy",
];

/// Replaces strptime fields with their regexes; `None` at the offset of a bad `%`.
fn expand_fields(pattern: &str) -> Result<String, usize> {
    let mut out = String::with_capacity(pattern.len() * 4);
    let mut rest = pattern;
    let mut offset = 0;
    while let Some(p) = rest.find('%') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        let key = MULTI_KEYS
            .iter()
            .find(|k| after.starts_with(**k))
            .map(|k| k.to_string())
            .or_else(|| {
                after
                    .chars()
                    .next()
                    .filter(|c| time_re(&c.to_string()).is_some())
                    .map(String::from)
            });
        let Some(key) = key else {
            return Err(offset + p);
        };
        out.push_str(time_re(&key).unwrap_or_default());
        rest = &after[key.len()..];
        offset += p + 1 + key.len();
    }
    out.push_str(rest);
    Ok(out)
}

/// Setup-time helpers: Python patterns fail2ban applies to date regex *text*.
fn fancy(re: &'static OnceLock<fancy_regex::Regex>, pattern: &str) -> &'static fancy_regex::Regex {
    re.get_or_init(|| fancy_regex::Regex::new(pattern).unwrap_or_else(|_| unreachable!()))
}

fn search(re: &fancy_regex::Regex, text: &str) -> bool {
    re.is_match(text).unwrap_or(false)
}

static RE_GROUPED: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_GROUP: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_GLOBALFLAGS: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_NO_WRD_BOUND_BEG: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_NO_WRD_BOUND_END: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_DEL_WRD_BOUNDS: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_LINE_BOUND_BEG: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_LINE_BOUND_END: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_ALPHA_PATTERN: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_EPOCH_PATTERN: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_EXSANC_BOUND_BEG: OnceLock<fancy_regex::Regex> = OnceLock::new();
static RE_EXEANC_BOUND_BEG: OnceLock<fancy_regex::Regex> = OnceLock::new();

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Begin {
    No,
    Word,
    Start,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pattern,
    Epoch { long: bool, group: usize },
    Tai64n,
}

/// One date template.
#[derive(Debug)]
pub struct DateTemplate {
    pub name: String,
    /// The pattern as written (`None` for epoch/TAI64N templates built from a keyword).
    pattern: Option<String>,
    /// The regex text (Python syntax), as fail2ban builds it.
    regex: String,
    kind: Kind,
    flags: u8,
    /// The compiled regex, built on first use: a log almost always matches one of the first
    /// default templates, and compiling all of them was half of a filter's start-up.
    /// Templates from a filter's own `datepattern` are compiled when built (their errors are
    /// the filter's errors); the defaults are constants known to compile (see the tests).
    compiled: OnceLock<Result<TemplateRegex, DateError>>,
}

/// A template's compiled regex and what is read from its groups.
#[derive(Debug)]
struct TemplateRegex {
    compiled: PyRegex,
    /// strptime field → group index.
    fields: Vec<(&'static str, usize)>,
    /// Set for the line-anchored syslog template, whose common shape is recognised by hand.
    syslog: Option<SyslogHead>,
}

const FIELD_NAMES: [&str; 23] = [
    "y", "Y", "m", "B", "b", "d", "H", "I", "p", "M", "S", "f", "A", "a", "w", "j", "U", "W", "z",
    "Z", "G", "u", "V",
];

impl DateTemplate {
    /// fail2ban's `DateTemplate.setRegex` then compile.
    fn build(
        name: String,
        pattern: Option<String>,
        regex: &str,
        begin: Begin,
        word_end: bool,
        kind: Kind,
    ) -> Result<DateTemplate, DateError> {
        let mut name = name;
        let mut regex = regex.trim().to_owned();
        let gf = RE_GLOBALFLAGS_get()
            .find(&regex)
            .ok()
            .flatten()
            .map(|m| (m.start(), m.end()));
        let global = gf.map(|(s, e)| {
            let g = regex[s..e].to_owned();
            regex.replace_range(s..e, "");
            g
        });
        let bound_begin = begin != Begin::No
            && !search(
                fancy(
                    &RE_NO_WRD_BOUND_BEG,
                    r"^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)",
                ),
                &regex,
            );
        let bound_end = word_end
            && !search(
                fancy(&RE_NO_WRD_BOUND_END, r"(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$"),
                &regex,
            );
        if !search(fancy(&RE_GROUPED, r"(?<!(?:\(\?))(?<!\\)\((?!\?)"), &regex) {
            let re = fancy(&RE_GROUP, r"^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)(.*?)(\$?)$");
            if let Ok(Some(c)) = re.captures(&regex) {
                let g = |i| c.get(i).map_or("", |m| m.as_str());
                regex = format!("{}({}){}", g(1), g(2), g(3));
            }
        }
        let mut flags = 0;
        if bound_begin {
            if begin == Begin::Start {
                flags |= LINE_BEGIN;
                regex = format!(r"^(?:\W{{0,2}})?{regex}");
                if !name.starts_with("{^LN-BEG}") {
                    name = format!("{{^LN-BEG}}{name}");
                }
            } else {
                flags |= WORD_BEGIN;
                regex = format!(r"(?=^|\b|\W){regex}");
            }
        }
        if bound_end {
            flags |= WORD_END;
            regex.push_str(r"(?=\b|\W|$)");
        }
        if flags & LINE_BEGIN == 0
            && search(
                fancy(
                    &RE_LINE_BOUND_BEG,
                    r"^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^(?!\|))",
                ),
                &regex,
            )
        {
            flags |= LINE_BEGIN;
        }
        if flags & LINE_END == 0
            && search(fancy(&RE_LINE_BOUND_END, r"(?<![\\|])(?:\$\)?)$"), &regex)
        {
            flags |= LINE_END;
        }
        let del = fancy(
            &RE_DEL_WRD_BOUNDS,
            r"^\(*(?:\(\?\w+\))?\(*\*\*|(?<!\\)\*\*\)*$",
        );
        regex = del
            .replace_all(&regex, |c: &fancy_regex::Captures<str>| {
                c[0].replace("**", "")
            })
            .into_owned();
        if let Some(g) = global {
            regex = format!("{g}{regex}");
        }
        let template = DateTemplate {
            name,
            pattern,
            regex,
            kind,
            flags,
            compiled: OnceLock::new(),
        };
        Ok(template)
    }

    /// The compiled regex (compiled on the first call).
    fn compile(&self) -> Result<&TemplateRegex, DateError> {
        self.compiled
            .get_or_init(|| {
                let compiled =
                    PyRegex::new(&self.regex, false).map_err(|source| DateError::Regex {
                        pattern: self.pattern.clone().unwrap_or_else(|| self.name.clone()),
                        source,
                    })?;
                let fields = FIELD_NAMES
                    .iter()
                    .filter_map(|f| compiled.group_index(f).map(|i| (*f, i)))
                    .collect();
                let syslog = SyslogHead::for_template(&self.regex, &compiled, self.kind);
                Ok(TemplateRegex {
                    compiled,
                    fields,
                    syslog,
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The compiled regex, `None` if it does not compile (never for a template a detector
    /// holds: see [`DateTemplate::compile`]).
    fn re(&self) -> Option<&TemplateRegex> {
        self.compile().ok()
    }

    /// fail2ban's `DatePatternRegex(pattern)`.
    fn from_pattern(pattern: &str) -> Result<DateTemplate, DateError> {
        let mut p = pattern.to_owned();
        let (mut begin, mut end) = (Begin::Word, true);
        if let Some(r) = p.strip_prefix("{UNB}") {
            p = r.to_owned();
            begin = Begin::No;
            end = false;
        }
        if begin == Begin::Word
            && let Some(r) = p.strip_prefix("{^LN-BEG}")
        {
            p = r.to_owned();
            begin = Begin::Start;
        }
        let mut regex = expand_fields(&p).map_err(|offset| DateError::Field {
            pattern: pattern.to_owned(),
            offset,
        })?;
        if search(fancy(&RE_ALPHA_PATTERN, r"(?<!\%)\%[aAbBpc]"), &p) {
            regex = format!("(?iu){regex}");
        }
        DateTemplate::build(
            p,
            Some(pattern.to_owned()),
            &regex,
            begin,
            end,
            Kind::Pattern,
        )
    }

    /// fail2ban's `DateEpoch`.
    fn epoch(
        line_begin_only: bool,
        pattern: Option<&str>,
        long: bool,
    ) -> Result<DateTemplate, DateError> {
        let epoch_re = if long {
            r"\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?"
        } else {
            r"\d{10,11}\b(?:\.\d{3,6})?"
        };
        let base = if long { "LongEpoch" } else { "Epoch" };
        if let Some(pattern) = pattern {
            let re = fancy(&RE_EPOCH_PATTERN, r"(?i)(?<!\\)\{L?EPOCH\}");
            let mut regex = re
                .replace_all(pattern, format!("({epoch_re})").as_str())
                .into_owned();
            if !search(fancy(&RE_GROUPED, r"(?<!(?:\(\?))(?<!\\)\((?!\?)"), pattern) {
                regex = format!("({regex})");
            }
            return DateTemplate::build(
                pattern.to_owned(),
                Some(pattern.to_owned()),
                &regex,
                Begin::Word,
                true,
                Kind::Epoch { long, group: 2 },
            );
        }
        // fail2ban writes these with lookbehinds and conditionals that never change whether or
        // where a date matches; the equivalent below stays on the linear engine.
        let (regex, begin) = if line_begin_only {
            (format!("({epoch_re})"), Begin::Start)
        } else {
            (format!(r"(?:^|^\[|\baudit\()({epoch_re})"), Begin::No)
        };
        DateTemplate::build(
            base.to_owned(),
            None,
            &regex,
            begin,
            true,
            Kind::Epoch { long, group: 1 },
        )
    }

    fn tai64n(start: bool) -> Result<DateTemplate, DateError> {
        let begin = if start { Begin::Start } else { Begin::No };
        DateTemplate::build(
            "TAI64N".into(),
            None,
            "@[0-9a-f]{24}",
            begin,
            true,
            Kind::Tai64n,
        )
    }

    fn is_anchored(&self) -> bool {
        self.flags & (LINE_BEGIN | LINE_END) != 0
    }

    /// The regex text fail2ban would use (for diagnostics).
    pub fn regex(&self) -> &str {
        &self.regex
    }
}

/// The regex fail2ban builds from `{^LN-BEG}(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`, the
/// template that reads syslog dates. Compared in full, so that any change to how templates are
/// built turns the hand-written recognizer below off instead of making it disagree.
const SYSLOG_REGEX: &str = r"(?iu)^(?:\W{0,2})?((?:(?P<a>mon|tue|wed|thu|fri|sat|sun) )?(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) (?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])  ?(?P<H>[0-2]?\d):(?P<M>[0-5]?\d):(?P<S>[0-5]?\d|6[0-1])(?:\.(?P<f>[0-9]{1,6}))?(?: (?P<Y>20\d\d))?)(?=\b|\W|$)";

/// Length of `Mmm dd HH:MM:SS`.
const SYSLOG_LEN: usize = 15;

/// The syslog template's groups, for filling its capture slots without running the regex:
/// the capture pass of that regex is most of the cost of finding dates in a syslog file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SyslogHead {
    /// The capture spans of every recognized line (see [`SyslogHead::recognize`]), built once
    /// rather than per line.
    spans: [Option<(usize, usize)>; SYSLOG_GROUPS],
}

/// Groups of [`SYSLOG_REGEX`], the whole match included.
const SYSLOG_GROUPS: usize = 10;

impl SyslogHead {
    fn for_template(regex: &str, compiled: &PyRegex, kind: Kind) -> Option<SyslogHead> {
        if kind != Kind::Pattern || regex != SYSLOG_REGEX {
            return None;
        }
        let g = |name| compiled.group_index(name);
        let (b, d, h, m, s) = (g("b")?, g("d")?, g("H")?, g("M")?, g("S")?);
        // Group 1 is the whole date; the other groups (a, f, Y) stay unset in our shape.
        if compiled.group_count() != SYSLOG_GROUPS || b <= 1 {
            return None;
        }
        let mut spans = [None; SYSLOG_GROUPS];
        let whole = Some((0, SYSLOG_LEN));
        for (i, span) in [
            (0, whole),
            (1, whole),
            (b, Some((0, 3))),
            (d, Some((4, 6))),
            (h, Some((7, 9))),
            (m, Some((10, 12))),
            (s, Some((13, 15))),
        ] {
            *spans.get_mut(i)? = span;
        }
        Some(SyslogHead { spans })
    }

    /// Whether `line` starts with exactly `Mmm dd HH:MM:SS` (ASCII month name in any case; day
    /// `01`-`31` or ` 1`-` 9`; hour `00`-`23`; minutes and seconds `00`-`59`) followed by the
    /// end of the line or an ASCII character the regex cannot extend the date with. On such a
    /// line [`SYSLOG_REGEX`] matches bytes 0..15 with groups b, d, H, M, S at 0..3, 4..6, 7..9,
    /// 10..12 and 13..15: the line starts with a letter, so `\W{0,2}` takes nothing; month
    /// names are not day names, so `%a` takes nothing; every earlier alternative for the day
    /// (`3` of `31`) fails on the space that must follow; the greedy hour, minute and second
    /// take two digits. Anything else (a fraction, a year, a word character after the
    /// seconds, which makes the regex backtrack) is left to the regex.
    fn recognize(line: &[u8]) -> bool {
        match line.split_first_chunk::<SYSLOG_LEN>() {
            Some((head, rest)) => Self::head_ok(head) && Self::after_ok(rest),
            None => false,
        }
    }

    /// The `Mmm dd HH:MM:SS` part of [`SyslogHead::recognize`].
    fn head_ok(head: &[u8; SYSLOG_LEN]) -> bool {
        let [
            m0,
            m1,
            m2,
            b' ',
            d0,
            d1,
            b' ',
            h0,
            h1,
            b':',
            n0,
            n1,
            b':',
            s0,
            s1,
        ] = *head
        else {
            return false;
        };
        let day = matches!(
            (d0, d1),
            (b'0' | b' ', b'1'..=b'9') | (b'1' | b'2', b'0'..=b'9') | (b'3', b'0' | b'1')
        );
        let hour = matches!((h0, h1), (b'0' | b'1', b'0'..=b'9') | (b'2', b'0'..=b'3'));
        let sixty = |a: u8, b: u8| matches!((a, b), (b'0'..=b'5', b'0'..=b'9'));
        day && hour && sixty(n0, n1) && sixty(s0, s1) && month_number(m0, m1, m2).is_some()
    }

    /// What may follow a recognized head (the part of [`SyslogHead::recognize`] after byte
    /// 15): it depends on the first two bytes of `rest` only.
    fn after_ok(rest: &[u8]) -> bool {
        match rest {
            [] => true,
            // A year may follow: left to the regex.
            [b' ', b'2', ..] => false,
            [c, ..] => c.is_ascii() && !c.is_ascii_alphanumeric() && *c != b'_' && *c != b'.',
        }
    }
}

/// The month (1-12) of a three-letter ASCII month name in any case. `| 0x20` lowers ASCII
/// letters and maps no other byte to a lowercase letter, so one packed comparison per month
/// decides it (this runs for every line whose date text is new).
fn month_number(a: u8, b: u8, c: u8) -> Option<u8> {
    const fn pack(name: &[u8; 3]) -> u32 {
        u32::from_le_bytes([name[0], name[1], name[2], 0])
    }
    const PACKED: [u32; 12] = [
        pack(b"jan"),
        pack(b"feb"),
        pack(b"mar"),
        pack(b"apr"),
        pack(b"may"),
        pack(b"jun"),
        pack(b"jul"),
        pack(b"aug"),
        pack(b"sep"),
        pack(b"oct"),
        pack(b"nov"),
        pack(b"dec"),
    ];
    let key = u32::from_le_bytes([a | 0x20, b | 0x20, c | 0x20, 0]);
    let i = PACKED.iter().position(|&m| m == key)?;
    u8::try_from(i + 1).ok()
}

#[allow(non_snake_case)]
fn RE_GLOBALFLAGS_get() -> &'static fancy_regex::Regex {
    fancy(&RE_GLOBALFLAGS, r"((?:^|(?!<\\))\(\?[a-z]+\))")
}

/// fail2ban's `_getPatternTemplate`: a template for a pattern or keyword. `lazy`: compile its
/// regex on first use (only for templates built from the default list, which compile).
fn pattern_template(pattern: &str, key: &str, lazy: bool) -> Result<Arc<DateTemplate>, DateError> {
    if let Some(t) = cache_get(key) {
        if !lazy {
            t.compile()?;
        }
        return Ok(t);
    }
    let mut template = None;
    if key.contains("EPOCH") {
        if search(fancy(&RE_EPOCH_PATTERN, r"(?i)(?<!\\)\{L?EPOCH\}"), pattern) {
            template = Some(DateTemplate::epoch(
                false,
                Some(pattern),
                key.contains("LEPOCH"),
            )?);
        } else if ["EPOCH", "{^LN-BEG}EPOCH", "^EPOCH"].contains(&key) {
            template = Some(DateTemplate::epoch(key != "EPOCH", None, false)?);
        } else if ["LEPOCH", "{^LN-BEG}LEPOCH", "^LEPOCH"].contains(&key) {
            template = Some(DateTemplate::epoch(key != "LEPOCH", None, true)?);
        }
    }
    let template = match template {
        Some(t) => t,
        None if ["TAI64N", "{^LN-BEG}TAI64N", "^TAI64N"].contains(&key) => {
            DateTemplate::tai64n(key != "TAI64N")?
        }
        None => DateTemplate::from_pattern(pattern)?,
    };
    if !lazy {
        template.compile()?;
    }
    let template = Arc::new(template);
    cache_set(key, &template);
    Ok(template)
}

/// Templates are immutable once built; sharing them across filters saves compile time.
fn template_cache() -> &'static Mutex<std::collections::HashMap<String, Arc<DateTemplate>>> {
    static CACHE: OnceLock<Mutex<std::collections::HashMap<String, Arc<DateTemplate>>>> =
        OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cache_get(key: &str) -> Option<Arc<DateTemplate>> {
    template_cache().lock().ok()?.get(key).cloned()
}

fn cache_set(key: &str, t: &Arc<DateTemplate>) {
    if let Ok(mut c) = template_cache().lock()
        && c.len() < 4096
    {
        c.insert(key.to_owned(), t.clone());
    }
}

fn key_of(pattern: &str) -> String {
    if pattern.contains('%') {
        pattern.to_owned()
    } else {
        pattern.to_uppercase()
    }
}

/// fail2ban's `DateTemplate.unboundPattern`.
fn unbound(pattern: &str) -> String {
    let p = pattern.strip_prefix("{UNB}").unwrap_or(pattern);
    let p = p.strip_prefix("{^LN-BEG}").unwrap_or(p);
    let s = fancy(&RE_EXSANC_BOUND_BEG, r"^\((?:\?:)?\^\|\\b\|\\W\)")
        .replace(p, "")
        .into_owned();
    fancy(&RE_EXEANC_BOUND_BEG, r"\(\?=\\b\|\\W\|\$\)$")
        .replace(&s, "")
        .into_owned()
}

const DEFAULT_TEMPLATES: [&str; 17] = [
    r"%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?",
    r"(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    r"(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?",
    r"%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S",
    r"%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?",
    r"%m/%d/%ExY:%H:%M:%S",
    r"%m-%d-%ExY %k:%M:%S(?:\.%f)?",
    "EPOCH",
    r"{^LN-BEG}%H:%M:%S",
    r"^<%m/%d/%Exy@%H:%M:%S>",
    r"%Exy%Exm%Exd  ?%H:%M:%S",
    r"%b %d, %ExY %I:%M:%S %p",
    r"^%b-%d-%Exy %k:%M:%S",
    r"%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?",
    r"(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    r"(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    "TAI64N",
];

/// The default templates (compiled on first use when `lazy`).
fn default_templates(lazy: bool) -> Result<Vec<Arc<DateTemplate>>, DateError> {
    DEFAULT_TEMPLATES
        .iter()
        .map(|p| pattern_template(p, &key_of(p), lazy))
        .collect()
}

/// `_getAnchoredTemplate` with a name/pattern wrapper.
fn wrapped_template(
    template: &Arc<DateTemplate>,
    wrap: &dyn Fn(&str) -> String,
    lazy: bool,
) -> Result<Arc<DateTemplate>, DateError> {
    let name = wrap(&template.name);
    if let Some(t) = cache_get(&name) {
        if !lazy {
            t.compile()?;
        }
        return Ok(t);
    }
    match &template.pattern {
        Some(p) => {
            let regex = wrap(p);
            pattern_template(&regex, &key_of(&regex), lazy)
        }
        None => pattern_template(&name, &key_of(&name), lazy),
    }
}

/// The default templates with their line-anchored copies first (fail2ban's cache order), with
/// their weights (anchored copies weigh 100 so they bubble up first).
fn default_template_list() -> Result<Vec<(Arc<DateTemplate>, f64)>, DateError> {
    let mut anchored = Vec::new();
    let mut plain = Vec::new();
    for t in default_templates(true)? {
        if !t.name.starts_with("{^LN-BEG}") && !t.name.starts_with('^') {
            let a = wrapped_template(&t, &|s| format!("{{^LN-BEG}}{s}"), true)?;
            if a.name != t.name {
                anchored.push((a, 100.0));
            }
        }
        plain.push((t, 1.0));
    }
    anchored.extend(plain);
    Ok(anchored)
}

#[derive(Debug, Clone)]
struct Entry {
    template: Arc<DateTemplate>,
    /// Anchored copies of the defaults weigh 100 (they should bubble up first).
    weight: f64,
    hits: u64,
    distance: usize,
}

impl Entry {
    fn score(&self) -> f64 {
        self.hits as f64 * self.weight / self.distance.max(1) as f64
    }
}

/// The date found in a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoundDate {
    /// Byte range of the date text in the line.
    pub start: usize,
    pub end: usize,
    /// Seconds since the epoch, or `None` when the text is not a valid date (30 February).
    pub time: Option<f64>,
}

/// fail2ban's `DateDetector`: an ordered, self-reordering list of templates.
#[derive(Debug, Clone)]
pub struct DateDetector {
    entries: Vec<Entry>,
    known: HashSet<String>,
    last_pos: (usize, Option<char>),
    last_end: (usize, Option<char>),
    last_idx: usize,
    first_unused: usize,
    /// `logtimezone`: minutes east of UTC for dates without a zone.
    pub default_tz: Option<i32>,
    /// Capture slots, one per template (in template order).
    slots: Vec<CaptureSlot>,
    /// The last date read: consecutive lines usually share it, and reading it (strptime, year
    /// completion, time zone) costs more than comparing its fields.
    last_time: Option<TimeCache>,
    scratch: String,
    /// The last line's date when an anchored template found it: consecutive lines often
    /// carry the same date text, and then the capture pass and the time are the same.
    last_found: Option<LastFound>,
    /// `last_time`'s zone is known to equal the clock's: comparing zones reads the time zone
    /// database, so callers whose clock never changes ([`DateDetector::find_same_clock`])
    /// compare once rather than per line. Reset by every [`DateDetector::find`].
    tz_verified: bool,
    /// Recognise the syslog template's common shape by hand (off only in tests that compare
    /// the recognizer with the regex).
    fast: bool,
    /// The template whose slots the recognizer filled in this call (`usize::MAX`: none): its
    /// groups are then at [`SyslogHead::spans`], which the minute cache relies on.
    recognized: usize,
}

/// A template's capture slots, made on first use.
#[derive(Debug, Clone, Default)]
struct CaptureSlot {
    slots: Option<Slots>,
    /// `slots` hold [`SyslogHead::spans`] (the recognizer filled them and no regex ran on
    /// them since): consecutive syslog lines then need not write them again.
    holds_head: bool,
}

/// A date found by an anchored template, with what its groups depend on.
#[derive(Debug, Clone)]
struct LastFound {
    /// Template index (valid while `last_idx` equals it).
    idx: usize,
    /// The recognizer read the date (the text is then a recognized `Mmm dd HH:MM:SS`).
    recognized: bool,
    span: (usize, usize),
    /// The matched text and the characters around it (look-arounds read them).
    text: String,
    before: Option<char>,
    after: Option<char>,
    now: Timestamp,
    default_tz: Option<i32>,
    found: FoundDate,
}

/// What the time of a date depends on, and the time.
#[derive(Debug, Clone)]
struct TimeCache {
    template: usize,
    /// The groups' texts, each followed by a NUL (unused when `head` is set).
    fields: String,
    /// For a date the recognizer read: its first 15 bytes, which fix all its fields.
    head: Option<[u8; SYSLOG_LEN]>,
    now: Timestamp,
    tz: TimeZone,
    default_tz: Option<i32>,
    time: Option<f64>,
    /// `now` in `tz`.
    local: LocalNow,
    /// The minute of the last recognized syslog date, valid with the fields above.
    minute: Option<MinuteBase>,
}

/// A syslog minute whose dates are its first second's time plus their seconds (checked when
/// made, see [`minute_base`]): most new date texts differ from the last only in the seconds,
/// and then strptime, year completion and the zone lookup are skipped.
#[derive(Debug, Clone, Copy)]
struct MinuteBase {
    /// `Mmm dd HH:MM` (bytes 0..12 of a recognized line).
    head: [u8; MINUTE_LEN],
    /// The time of second 00.
    start: f64,
}

/// Length of the `Mmm dd HH:MM` head of a recognized syslog date.
const MINUTE_LEN: usize = 12;

impl Default for DateDetector {
    fn default() -> Self {
        DateDetector {
            entries: Vec::new(),
            known: HashSet::new(),
            last_pos: (1, None),
            last_end: (usize::MAX, None),
            last_idx: usize::MAX,
            first_unused: 0,
            default_tz: None,
            slots: Vec::new(),
            last_time: None,
            scratch: String::new(),
            last_found: None,
            tz_verified: false,
            fast: true,
            recognized: usize::MAX,
        }
    }
}

impl DateDetector {
    /// A detector with fail2ban's default templates.
    pub fn with_defaults() -> Result<DateDetector, DateError> {
        let mut d = DateDetector::default();
        d.add_defaults(None, None)?;
        Ok(d)
    }

    /// A detector for a filter's `datepattern` (one pattern a line).
    pub fn from_datepattern(datepattern: &str) -> Result<DateDetector, DateError> {
        let mut d = DateDetector::default();
        for p in datepattern
            .split('\n')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            d.append(p)?;
        }
        Ok(d)
    }

    fn push(
        &mut self,
        template: Arc<DateTemplate>,
        weight: f64,
        ignore_dup: bool,
    ) -> Result<(), DateError> {
        if !self.known.insert(template.name.clone()) {
            if ignore_dup {
                return Ok(());
            }
            return Err(DateError::Duplicate {
                name: template.name.clone(),
            });
        }
        self.entries.push(Entry {
            template,
            weight,
            hits: 0,
            distance: usize::MAX,
        });
        self.slots.push(CaptureSlot::default());
        Ok(())
    }

    /// fail2ban's `appendTemplate(str)`.
    fn append(&mut self, pattern: &str) -> Result<(), DateError> {
        let key = key_of(pattern);
        match key.as_str() {
            "{^LN-BEG}" => return self.add_defaults(Some(LINE_BEGIN), None),
            "{DEFAULT}" => return self.add_defaults(None, None),
            _ => {}
        }
        if key.contains("{DATE}") {
            return self.add_defaults(None, Some(pattern));
        }
        let template = if key == "{NONE}" {
            pattern_template("{UNB}^", &key, false)?
        } else {
            pattern_template(pattern, &key, false)?
        };
        self.push(template, 1.0, false)
    }

    fn add_defaults(
        &mut self,
        only_flags: Option<u8>,
        pre_match: Option<&str>,
    ) -> Result<(), DateError> {
        let ignore_dup = !self.entries.is_empty();
        let list = match pre_match {
            // Lazy: only the wrapped copies below are used, and they are compiled when built.
            Some(_) => default_templates(true)?
                .into_iter()
                .map(|t| (t, 1.0))
                .collect(),
            None => default_template_list()?,
        };
        for (t, weight) in list {
            if only_flags.is_some_and(|f| t.flags & f == 0) {
                continue;
            }
            let t = match pre_match {
                Some(pm) => {
                    let wrap = |s: &str| -> String {
                        let u = unbound(s);
                        replace_date_placeholder(pm, &u)
                    };
                    wrapped_template(&t, &wrap, false)?
                }
                None => t,
            };
            self.push(t, weight, ignore_dup)?;
        }
        Ok(())
    }

    /// Number of templates.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no templates.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn search(&mut self, i: usize, line: &str, start: usize, end: usize) -> Option<(usize, usize)> {
        let re = self.entries.get(i)?.template.re()?;
        let slot = self.slots.get_mut(i)?;
        let slots = slot.slots.get_or_insert_with(|| re.compiled.slots());
        if self.fast
            && start == 0
            && end == line.len()
            && let Some(head) = &re.syslog
            && SyslogHead::recognize(line.as_bytes())
        {
            if !slot.holds_head {
                slots.set_spans(&head.spans);
                slot.holds_head = true;
            }
            self.recognized = i;
            return Some((0, SYSLOG_LEN));
        }
        let hay = line.get(..end)?;
        slot.holds_head = false;
        match re.compiled.captures_at(hay, start, slots) {
            Ok(true) => slots.get(0),
            _ => None,
        }
    }

    /// Finds the date in `line` (fail2ban's `matchTime` then `getTime`).
    pub fn find(&mut self, line: &str, clock: &Clock) -> Option<FoundDate> {
        self.tz_verified = false;
        self.find_same_clock(line, clock)
    }

    /// [`DateDetector::find`] for a caller that passes the same, unchanged clock on every
    /// call (a scan): the time zone comparisons made on earlier lines still hold.
    pub(crate) fn find_same_clock(&mut self, line: &str, clock: &Clock) -> Option<FoundDate> {
        if self.entries.is_empty() {
            self.add_defaults(None, None).ok()?;
        }
        self.recognized = usize::MAX;
        let n = self.entries.len();
        let mut winner: Option<(usize, usize, usize)> = None;
        let mut ignore = usize::MAX;
        let i = self.last_idx;
        if let Some(found) = self.same_as_last(line, clock) {
            return Some(found);
        }
        if i < n {
            if self.entries[i].template.is_anchored() {
                ignore = i;
                if let Some((s, e)) = self.search(i, line, 0, line.len()) {
                    winner = Some((i, s, e));
                }
            } else {
                let (d, e) = (self.last_pos.0, self.last_end.0);
                if d <= line.len()
                    && e <= line.len()
                    && d <= e
                    && char_before(line, d) == self.last_pos.1
                    && char_at(line, e) == self.last_end.1
                    && let Some((s, en)) = self.search(i, line, d, e)
                    && s == self.last_pos.0
                    && en == self.last_end.0
                {
                    winner = Some((i, s, en));
                }
            }
        }
        if winner.is_none() {
            let mut found: Option<(usize, usize, usize)> = None;
            for j in 0..n {
                if j == ignore {
                    continue;
                }
                let Some((s, e)) = self.search(j, line, 0, line.len()) else {
                    continue;
                };
                let entry = &self.entries[j];
                if j + 1 >= n || entry.template.is_anchored() {
                    winner = Some((j, s, e));
                    break;
                }
                if s == 0 && entry.hits > 0 && self.entries[j + 1].hits == 0 {
                    winner = Some((j, s, e));
                    break;
                }
                if s > entry.distance || s > self.last_pos.0 {
                    if found.is_none_or(|f| s < f.1) {
                        found = Some((j, s, e));
                    }
                    continue;
                }
                winner = Some((j, s, e));
                break;
            }
            if winner.is_none() {
                winner = found;
            }
        }
        let (mut idx, start, end) = winner?;
        // The date text is group 1 (2 for `{EPOCH}` patterns); the match may be wider.
        let template = self.entries[idx].template.clone();
        let group = match template.kind {
            Kind::Epoch { group, .. } => group,
            _ => 1,
        };
        // Re-run to read the groups of the winning match (the cached slots hold them).
        // Read the date before reordering moves the template (and its capture slots).
        let (ds, de, time) = {
            let slots = self.slots.get(idx)?.slots.as_ref()?;
            let (ds, de) = slots.get(group)?;
            // A recognized date's groups are fixed slices of its first 15 bytes, so those
            // bytes stand for its fields (no key is built).
            let head = match self.recognized == idx {
                true => line.as_bytes().first_chunk::<SYSLOG_LEN>().copied(),
                false => None,
            };
            // The time is a function of the template, its fields' texts, "now" and the zone.
            let mut key = std::mem::take(&mut self.scratch);
            key.clear();
            if head.is_none() {
                for i in 0..template.re()?.compiled.group_count() {
                    if let Some((s, e)) = slots.get(i) {
                        key.push_str(&line[s..e]);
                    }
                    key.push('\0');
                }
            }
            let template_id = Arc::as_ptr(&template) as usize;
            let default_tz = self.default_tz;
            let tz_verified = &mut self.tz_verified;
            // Same template, "now", default zone and zone: the cache's time and minute apply.
            let same_context = self.last_time.as_ref().is_some_and(|c| {
                c.template == template_id
                    && c.now == clock.now
                    && c.default_tz == default_tz
                    && (*tz_verified || c.tz == clock.tz)
            });
            let time = match &mut self.last_time {
                Some(c)
                    if same_context
                        && match head {
                            Some(h) => c.head == Some(h),
                            None => c.head.is_none() && c.fields == key,
                        } =>
                {
                    *tz_verified = true;
                    c.time
                }
                Some(c)
                    if same_context
                        && let Some(h) = head
                        && let Some(m) = c.minute
                        && h.first_chunk::<MINUTE_LEN>() == Some(&m.head)
                        && let Some(sec) = recognized_seconds(line) =>
                {
                    // Only the seconds changed (the recognizer fixes where every field is).
                    let time = Some(m.start + f64::from(sec));
                    c.head = Some(h);
                    c.time = time;
                    *tz_verified = true;
                    time
                }
                cache => {
                    // The zone is known to be the cache's (`tz_verified`): its local "now"
                    // still holds if "now" is the same.
                    let local = match cache {
                        Some(c) if *tz_verified && c.now == clock.now => c.local,
                        _ => LocalNow::of(clock),
                    };
                    let time = template_time(&template, line, slots, default_tz, clock, &local);
                    let minute = match time {
                        Some(t) if head.is_some() => {
                            minute_base(&template, line, slots, default_tz, clock, &local, t)
                        }
                        _ => None,
                    };
                    match cache {
                        Some(c) => {
                            if head.is_none() {
                                // The old fields' buffer becomes the next line's scratch.
                                std::mem::swap(&mut c.fields, &mut key);
                            }
                            c.head = head;
                            c.template = template_id;
                            c.now = clock.now;
                            c.tz = clock.tz.clone();
                            c.default_tz = default_tz;
                            c.time = time;
                            c.local = local;
                            c.minute = minute;
                        }
                        None => {
                            *cache = Some(TimeCache {
                                template: template_id,
                                fields: key.clone(),
                                head,
                                now: clock.now,
                                tz: clock.tz.clone(),
                                default_tz,
                                time,
                                local,
                                minute,
                            });
                        }
                    }
                    *tz_verified = true;
                    time
                }
            };
            self.scratch = key;
            (ds, de, time)
        };
        {
            let entry = &mut self.entries[idx];
            entry.hits += 1;
            entry.distance = start;
        }
        if self.first_unused == idx {
            self.first_unused += 1;
        }
        self.last_pos = (start, char_before(line, start));
        self.last_end = (end, char_at(line, end));
        // Before reordering moves the template away from the index the recognizer noted.
        let recognized = self.recognized == idx;
        if idx != 0 && idx != self.last_idx {
            idx = self.reorder(idx);
        }
        self.last_idx = idx;
        let found = FoundDate {
            start: ds,
            end: de,
            time,
        };
        self.last_found = if self.entries[idx].template.is_anchored() {
            let mut text = self.last_found.take().map(|l| l.text).unwrap_or_default();
            text.clear();
            text.push_str(line.get(start..end).unwrap_or_default());
            Some(LastFound {
                idx,
                recognized,
                span: (start, end),
                text,
                before: char_before(line, start),
                after: char_at(line, end),
                now: clock.now,
                default_tz: self.default_tz,
                found,
            })
        } else {
            None
        };
        Some(found)
    }

    /// The fast path of [`DateDetector::find`]: the template that matched last is anchored
    /// and matches the same text here (found by a DFA search, without the capture pass), so
    /// the groups, the time and the bookkeeping are those of the last line.
    fn same_as_last(&mut self, line: &str, clock: &Clock) -> Option<FoundDate> {
        let last = self.last_found.as_ref()?;
        if last.idx != self.last_idx || last.now != clock.now || last.default_tz != self.default_tz
        {
            return None;
        }
        let (s, e) = last.span;
        // Cheap checks first: the text must be the same before any search.
        if line.get(s..e)? != last.text
            || char_before(line, s) != last.before
            || char_at(line, e) != last.after
        {
            return None;
        }
        let re = self.entries.get(last.idx)?.template.re()?;
        let span = if self.fast && re.syslog.is_some() && last.recognized {
            // The last line's first 15 bytes passed the recognizer and this line has the
            // same: only what follows them is left to check.
            match line.as_bytes().get(SYSLOG_LEN..) {
                Some(rest) if SyslogHead::after_ok(rest) => (0, SYSLOG_LEN),
                _ => re.compiled.find_span_at(line, 0)??,
            }
        } else if self.fast && re.syslog.is_some() && SyslogHead::recognize(line.as_bytes()) {
            (0, SYSLOG_LEN)
        } else {
            re.compiled.find_span_at(line, 0)??
        };
        if span != (s, e) {
            return None;
        }
        // The time also depends on the zone (compared last: it is the dearest comparison).
        if !self.tz_verified && !self.last_time.as_ref().is_some_and(|c| c.tz == clock.tz) {
            return None;
        }
        self.tz_verified = true;
        let found = last.found;
        let entry = self.entries.get_mut(last.idx)?;
        entry.hits += 1;
        entry.distance = s;
        Some(found)
    }

    /// fail2ban's `_reorderTemplate` (templates unused so far always count as movable;
    /// fail2ban's "unused for five minutes" is the same thing within one run).
    fn reorder(&mut self, num: usize) -> usize {
        let weight = self.entries[num].score();
        let mut pos = if self.first_unused < num {
            self.first_unused
        } else {
            num / 2
        };
        let movable =
            |entries: &[Entry], pos: usize| weight > entries[pos].score() || entries[pos].hits == 0;
        if !movable(&self.entries, pos) {
            if pos + 1 == num {
                return num;
            }
            pos = num - 1;
            if !movable(&self.entries, pos) {
                return num;
            }
        }
        let e = self.entries.remove(num);
        self.entries.insert(pos, e);
        let s = self.slots.remove(num);
        self.slots.insert(pos, s);
        while self.first_unused < self.entries.len() && self.entries[self.first_unused].hits > 0 {
            self.first_unused += 1;
        }
        pos
    }
}

fn replace_date_placeholder(pre_match: &str, replacement: &str) -> String {
    // RE_DATE_PREMATCH: `(?<!\\)\{DATE\}`, case-insensitive.
    let mut out = String::new();
    let lower = pre_match.to_ascii_lowercase();
    let mut i = 0;
    while let Some(p) = lower[i..].find("{date}") {
        let at = i + p;
        if at > 0 && pre_match.as_bytes()[at - 1] == b'\\' {
            out.push_str(&pre_match[i..at + 6]);
        } else {
            out.push_str(&pre_match[i..at]);
            out.push_str(replacement);
        }
        i = at + 6;
    }
    out.push_str(&pre_match[i..]);
    out
}

fn char_before(line: &str, pos: usize) -> Option<char> {
    line.get(..pos)?.chars().next_back()
}

fn char_at(line: &str, pos: usize) -> Option<char> {
    line.get(pos..)?.chars().next()
}

fn template_time(
    t: &DateTemplate,
    line: &str,
    slots: &Slots,
    default_tz: Option<i32>,
    clock: &Clock,
    local: &LocalNow,
) -> Option<f64> {
    template_time_with(t, line, slots, default_tz, clock, local, None)
}

/// The seconds (`00`-`59`) of a line [`SyslogHead::recognize`] accepted.
fn recognized_seconds(line: &str) -> Option<u8> {
    match line.as_bytes().get(13..SYSLOG_LEN)? {
        [a @ b'0'..=b'5', b @ b'0'..=b'9'] => Some((a - b'0') * 10 + (b - b'0')),
        _ => None,
    }
}

/// The minute of a recognized syslog date whose time is `time`, if every second of it reads
/// as second 00's time plus the seconds. Checked rather than assumed: the times of seconds 00
/// and 59 are read as any date is and must be 59 s apart (the year completion compares with a
/// time that may fall inside the minute), and the zone must have no transition within three
/// days of the minute, so one UTC offset (offsets are under 26 h) maps all of it.
#[allow(clippy::too_many_arguments)]
fn minute_base(
    t: &DateTemplate,
    line: &str,
    slots: &Slots,
    default_tz: Option<i32>,
    clock: &Clock,
    local: &LocalNow,
    time: f64,
) -> Option<MinuteBase> {
    let head: [u8; MINUTE_LEN] = line.as_bytes().get(..MINUTE_LEN)?.try_into().ok()?;
    let sec = recognized_seconds(line)?;
    let start = template_time_with(t, line, slots, default_tz, clock, local, Some("00"))?;
    let end = template_time_with(t, line, slots, default_tz, clock, local, Some("59"))?;
    if end != start + 59.0 || time != start + f64::from(sec) || start.fract() != 0.0 {
        return None;
    }
    const MARGIN: i64 = 3 * 86_400;
    let from = Timestamp::from_second((start as i64).checked_sub(MARGIN)?).ok()?;
    if let Some(tr) = clock.tz.following(from).next()
        && tr.timestamp().as_second() <= (end as i64).checked_add(MARGIN)?
    {
        return None;
    }
    Some(MinuteBase { head, start })
}

/// [`template_time`], with the `S` field's text replaced by `seconds` when given.
fn template_time_with(
    t: &DateTemplate,
    line: &str,
    slots: &Slots,
    default_tz: Option<i32>,
    clock: &Clock,
    local: &LocalNow,
    seconds: Option<&str>,
) -> Option<f64> {
    let text = |i: usize| slots.get(i).map(|(s, e)| &line[s..e]);
    match t.kind {
        Kind::Epoch { long, group } => {
            let v = text(group)?;
            let mut x: f64 = v.parse().ok()?;
            if long && v.len() >= 13 {
                x /= if v.len() >= 16 && !v.contains('.') {
                    1e6
                } else {
                    1e3
                };
            }
            Some(x)
        }
        Kind::Tai64n => {
            let v = text(1)?;
            i64::from_str_radix(v.get(2..17)?, 16)
                .ok()
                .map(|s| s as f64)
        }
        Kind::Pattern => {
            // On the stack: this runs for every new date text (a template has at most a
            // dozen fields; more would go to the heap).
            let mut buf = [("", ""); 16];
            let mut n = 0;
            let mut heap: Vec<(&str, &str)> = Vec::new();
            for &(k, i) in &t.re()?.fields {
                if let Some(v) = text(i) {
                    let v = match seconds {
                        Some(sec) if k == "S" => sec,
                        _ => v,
                    };
                    match buf.get_mut(n) {
                        Some(slot) if heap.is_empty() => {
                            *slot = (k, v);
                            n += 1;
                        }
                        _ => {
                            if heap.is_empty() {
                                heap.extend_from_slice(buf.get(..n).unwrap_or_default());
                            }
                            heap.push((k, v));
                        }
                    }
                }
            }
            let fields = if heap.is_empty() {
                buf.get(..n).unwrap_or_default()
            } else {
                &heap
            };
            strptime(fields, default_tz, clock, local)
        }
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const FULL_MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FULL_DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The index of `val` in `names` (lowercase), compared in lowercase (lowered once, not per
/// name: this runs for every new date in a log).
fn name_index(names: &[&str], val: &str) -> Option<i64> {
    let pos = if val.is_ascii() {
        names.iter().position(|n| n.eq_ignore_ascii_case(val))
    } else {
        let lower = val.to_lowercase();
        names.iter().position(|n| *n == lower)
    };
    pos.map(|p| p as i64)
}

/// The month (1-12) of an abbreviated name, in any case: [`name_index`] on [`MONTHS`], with
/// the common three ASCII letters matched at once by [`month_number`] (this runs for every new
/// minute of a log).
fn month_abbr(val: &str) -> Option<i64> {
    if let [a, b, c] = *val.as_bytes()
        && let Some(m) = month_number(a, b, c)
    {
        return Some(i64::from(m));
    }
    name_index(&MONTHS, val).map(|i| i + 1)
}

/// fail2ban's `reGroupDictStrptime` (sub-second fields are ignored, as fail2ban does).
fn strptime(
    fields: &[(&str, &str)],
    default_tz: Option<i32>,
    clock: &Clock,
    local: &LocalNow,
) -> Option<f64> {
    let mut year: Option<i64> = None;
    let (mut month, mut day): (Option<i64>, Option<i64>) = (None, None);
    let (mut hour, mut minute, mut second) = (0i64, 0i64, 0i64);
    let mut tzoffset: Option<i64> = None;
    let mut weekday: Option<i64> = None;
    let mut julian: Option<i64> = None;
    let mut week: Option<(i64, bool)> = None;
    let ampm = fields
        .iter()
        .find(|(k, _)| *k == "p")
        .map(|(_, v)| v.to_lowercase());
    for &(key, val) in fields {
        let int = || val.trim().parse::<i64>().ok();
        match key {
            "y" => {
                let y = int()?;
                year = Some(if y <= 2000 { y + 2000 } else { y });
            }
            "Y" => year = Some(int()?),
            "m" => month = Some(int()?),
            "B" => month = Some(name_index(&FULL_MONTHS, val)? + 1),
            "b" => month = Some(month_abbr(val)?),
            "d" => day = Some(int()?),
            "H" => hour = int()?,
            "I" => {
                hour = int()?;
                match ampm.as_deref() {
                    None | Some("" | "am") if hour == 12 => hour = 0,
                    Some("pm") if hour != 12 => hour += 12,
                    _ => {}
                }
            }
            "M" => minute = int()?,
            "S" => second = int()?,
            "A" => weekday = Some(name_index(&FULL_DAYS, val)?),
            "a" => weekday = Some(name_index(&DAYS, val)?),
            "w" => {
                let w = int()? - 1;
                weekday = Some(if w < 0 { 6 } else { w });
            }
            "j" => julian = Some(int()?),
            "U" | "W" => week = Some((int()?, key == "W")),
            "z" | "Z" => {
                tzoffset = Some(if matches!(val, "Z" | "UTC" | "GMT") {
                    0
                } else {
                    zone_offset(val)?
                });
            }
            _ => {}
        }
    }
    let now = local.now;
    let assume_year = year.is_none();
    let year = year.unwrap_or(i64::from(now.year()));
    let (mut month, mut day) = (month, day);
    let mut year = year;
    if month.is_none() || day.is_none() {
        if julian.is_none()
            && let (Some((w, monday_first)), Some(wd)) = (week, weekday)
        {
            julian = julian_from_week(year, w, wd, monday_first);
        }
        if let Some(j) = julian {
            let first = date(i16::try_from(year).ok()?, 1, 1);
            let d = first.checked_add((j - 1).days()).ok()?;
            year = i64::from(d.year());
            month = Some(i64::from(d.month()));
            day = Some(i64::from(d.day()));
        }
    }
    let assume_today = month.is_none() && day.is_none();
    let month = month.unwrap_or(i64::from(now.month()));
    let day = day.unwrap_or(i64::from(now.day()));
    let mk = |y: i64| -> Option<DateTime> {
        DateTime::new(
            i16::try_from(y).ok()?,
            i8::try_from(month).ok()?,
            i8::try_from(day).ok()?,
            i8::try_from(hour).ok()?,
            i8::try_from(minute).ok()?,
            i8::try_from(second).ok()?,
            0,
        )
        .ok()
    };
    let mut result = mk(year)?;
    let tzoffset = tzoffset.or(default_tz.map(i64::from));
    if let Some(off) = tzoffset {
        result = result.checked_sub(off.minutes()).ok()?;
    }
    if assume_today && result > now {
        result = result.checked_sub(1.day()).ok()?;
    }
    if assume_year && result > local.plus_day? {
        // `replace(year=year-1)` keeps the shifted clock time.
        result = DateTime::new(
            i16::try_from(year - 1).ok()?,
            i8::try_from(month).ok()?,
            i8::try_from(day).ok()?,
            result.hour(),
            result.minute(),
            result.second(),
            0,
        )
        .ok()?;
    }
    match tzoffset {
        Some(_) => {
            let ts = result.to_zoned(TimeZone::UTC).ok()?.timestamp();
            Some(ts.as_second() as f64)
        }
        None => clock.mktime(result),
    }
}

fn julian_from_week(year: i64, week: i64, weekday: i64, monday_first: bool) -> Option<i64> {
    // Python's _calc_julian_from_U_or_W.
    let first = date(i16::try_from(year).ok()?, 1, 1);
    let first_weekday = i64::from(first.weekday().to_monday_zero_offset());
    let (first_weekday, weekday) = if monday_first {
        (first_weekday, weekday)
    } else {
        ((first_weekday + 1) % 7, (weekday + 1) % 7)
    };
    let week_0_length = (7 - first_weekday) % 7;
    Some(if week == 0 {
        1 + weekday - first_weekday
    } else {
        let days_to_week = week_0_length + 7 * (week - 1);
        1 + days_to_week + weekday
    })
}

/// Minutes east of UTC for `+0100`, `-03:30`, `CET`, `CET+0100` (fail2ban's `zone2offset`).
fn zone_offset(text: &str) -> Option<i64> {
    let abbr_len = text.chars().take_while(char::is_ascii_uppercase).count();
    let (abbr, offset) = text.split_at(abbr_len);
    let base = if abbr.is_empty() {
        0
    } else {
        tz_abbreviation(abbr)?
    };
    if offset.is_empty() {
        return Some(base);
    }
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = &offset[1..];
    let minutes = if digits.len() <= 2 {
        digits.parse::<i64>().ok()? * 60
    } else if digits.as_bytes().get(2) == Some(&b':') {
        digits.get(..2)?.parse::<i64>().ok()? * 60 + digits.get(3..5)?.parse::<i64>().ok()?
    } else {
        digits.get(..2)?.parse::<i64>().ok()? * 60 + digits.get(2..4)?.parse::<i64>().ok()?
    };
    Some(base + sign * minutes)
}

/// fail2ban's `TZ_STR` table of zone abbreviations (fixed offsets, hours east of UTC).
fn tz_abbreviation(abbr: &str) -> Option<i64> {
    const TABLE: &[(f64, &str)] = &[
        (-12.0, "Y"),
        (-11.0, "X NUT SST"),
        (-10.0, "W CKT HAST HST TAHT TKT"),
        (-9.0, "V AKST GAMT GIT HADT HNY"),
        (-8.0, "U AKDT CIST HAY HNP PST PT"),
        (-7.0, "T HAP HNR MST PDT"),
        (-6.0, "S CST EAST GALT HAR HNC MDT"),
        (-5.0, "R CDT COT EASST ECT EST ET HAC HNE PET"),
        (-4.0, "Q AST BOT CLT COST EDT FKT GYT HAE HNA PYT"),
        (
            -3.0,
            "P ADT ART BRT CLST FKST GFT HAA PMST PYST SRT UYT WGT",
        ),
        (-2.0, "O BRST FNT PMDT UYST WGST"),
        (-1.0, "N AZOT CVT EGT"),
        (0.0, "Z EGST GMT UTC WET WT"),
        (1.0, "A CET DFT WAT WEDT WEST"),
        (2.0, "B CAT CEDT CEST EET SAST WAST"),
        (3.0, "C EAT EEDT EEST IDT MSK"),
        (4.0, "D AMT AZT GET GST KUYT MSD MUT RET SAMT SCT"),
        (
            5.0,
            "E AMST AQTT AZST HMT MAWT MVT PKT TFT TJT TMT UZT YEKT",
        ),
        (6.0, "F ALMT BIOT BTT IOT KGT NOVT OMST YEKST"),
        (7.0, "G CXT DAVT HOVT ICT KRAT NOVST OMSST THA WIB"),
        (
            8.0,
            "H ACT AWST BDT BNT CAST HKT IRKT KRAST MYT PHT SGT ULAT WITA WST",
        ),
        (9.0, "I AWDT IRKST JST KST PWT TLT WDT WIT YAKT"),
        (10.0, "K AEST ChST PGT VLAT YAKST YAPT"),
        (11.0, "L AEDT LHDT MAGT NCT PONT SBT VLAST VUT"),
        (
            12.0,
            "M ANAST ANAT FJT GILT MAGST MHT NZST PETST PETT TVT WFT",
        ),
        (13.0, "FJST NZDT"),
        (11.5, "NFT"),
        (10.5, "ACDT LHST"),
        (9.5, "ACST"),
        (6.5, "CCT MMT"),
        (5.75, "NPT"),
        (5.5, "SLT"),
        (4.5, "AFT IRDT"),
        (3.5, "IRST"),
        (-2.5, "HAT NDT"),
        (-3.5, "HNT NST NT"),
        (-4.5, "HLV VET"),
        (-9.5, "MART MIT"),
    ];
    TABLE
        .iter()
        .find(|(_, names)| names.split(' ').any(|n| n == abbr))
        .map(|(h, _)| (h * 60.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{Just, Strategy, prop, prop_oneof};

    fn clock() -> Clock {
        Clock::new(
            Timestamp::from_second(1_124_013_600).unwrap(),
            TimeZone::posix("CET-01CEST-02,M3.5.0,M10.5.0").unwrap(),
        )
    }

    fn local(s: &str) -> f64 {
        let dt: DateTime = s.parse().unwrap();
        clock().mktime(dt).unwrap()
    }

    fn find(d: &mut DateDetector, line: &str) -> Option<(String, Option<f64>)> {
        d.find(line, &clock())
            .map(|f| (line[f.start..f.end].to_owned(), f.time))
    }

    #[test]
    fn repeated_dates_are_reused_only_when_the_same() {
        let mut d = DateDetector::with_defaults().unwrap();
        let t = local("2005-08-14T09:00:00");
        let lines = [
            ("Aug 14 09:00:00 a", "Aug 14 09:00:00", t),
            ("Aug 14 09:00:00 bb", "Aug 14 09:00:00", t),
            ("Aug 14 09:00:01 c", "Aug 14 09:00:01", t + 1.0),
            // Same text at the start, but the year that follows belongs to the date.
            (
                "Aug 14 09:00:01 2004 c",
                "Aug 14 09:00:01 2004",
                t + 1.0 - 365.0 * 86400.0,
            ),
            ("Aug 14 09:00:01 c", "Aug 14 09:00:01", t + 1.0),
            ("Aug 14 09:00:01", "Aug 14 09:00:01", t + 1.0),
        ];
        for (line, text, time) in lines {
            assert_eq!(
                find(&mut d, line),
                Some((text.to_owned(), Some(time))),
                "{line}"
            );
        }
        // Another clock: the reused time must not survive it.
        let later = Clock::new(Timestamp::from_second(1_155_549_600).unwrap(), clock().tz);
        let f = d.find("Aug 14 09:00:01 c", &later).unwrap();
        assert_eq!(f.time, Some(t + 1.0 + 365.0 * 86400.0));
    }

    #[test]
    fn syslog_dates_get_a_year() {
        let mut d = DateDetector::with_defaults().unwrap();
        let (text, t) = find(&mut d, "Jun 21 16:47:48 host sshd[1]: x").unwrap();
        assert_eq!(text, "Jun 21 16:47:48");
        assert_eq!(t, Some(local("2005-06-21T16:47:48")));
        // More than a day after "now" (2005-08-14): last year.
        let (_, t) = find(&mut d, "Nov 11 23:33:27 host x").unwrap();
        assert_eq!(t, Some(local("2004-11-11T23:33:27")));
    }

    #[test]
    fn iso_epoch_and_zones() {
        let mut d = DateDetector::with_defaults().unwrap();
        let (text, t) = find(&mut d, "2005-01-23T21:59:59+0100 x").unwrap();
        assert_eq!(text, "2005-01-23T21:59:59+0100");
        assert_eq!(t, Some(1_106_513_999.0));
        let mut d = DateDetector::from_datepattern("{^LN-BEG}Epoch").unwrap();
        let (text, t) = find(&mut d, "1124013600.123 something").unwrap();
        assert_eq!(text, "1124013600.123");
        assert_eq!(t, Some(1_124_013_600.123));
        let mut d =
            DateDetector::from_datepattern("^%%m/%%d/%%Y".replace("%%", "%").as_str()).unwrap();
        let (_, t) = find(&mut d, "08/14/2005 rest").unwrap();
        assert_eq!(t, Some(local("2005-08-14T00:00:00")));
    }

    #[test]
    fn datepattern_errors() {
        assert!(matches!(
            DateDetector::from_datepattern("%Q"),
            Err(DateError::Field { .. })
        ));
        assert!(
            DateDetector::from_datepattern("{^LN-BEG}\n{^LN-BEG}").is_ok(),
            "defaults twice are ignored duplicates"
        );
    }

    #[test]
    fn default_templates_compile_when_first_used() {
        // The defaults are built without compiling (see `DateTemplate::compiled`): every one
        // of them, plain and line-anchored, must compile.
        let d = DateDetector::with_defaults().unwrap();
        assert_eq!(d.len(), 2 * DEFAULT_TEMPLATES.len() - 3);
        for e in &d.entries {
            let re = e.template.compile();
            assert!(re.is_ok(), "{}: {re:?}", e.template.name);
        }
        // A datepattern naming a default compiles it at once (its errors are the filter's).
        let d = DateDetector::from_datepattern("%H:%M:%S").unwrap();
        assert!(
            d.entries
                .iter()
                .all(|e| e.template.compiled.get().is_some())
        );
    }

    fn syslog_template() -> Arc<DateTemplate> {
        let d = DateDetector::from_datepattern("{^LN-BEG}").unwrap();
        let found: Vec<_> = d
            .entries
            .iter()
            .filter(|e| e.template.re().unwrap().syslog.is_some())
            .map(|e| e.template.clone())
            .collect();
        assert_eq!(found.len(), 1, "exactly one template is recognised by hand");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn syslog_recognizer_is_on_for_the_syslog_template_only() {
        let t = syslog_template();
        assert_eq!(
            t.pattern.as_deref(),
            Some(r"{^LN-BEG}(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?")
        );
        assert_eq!(t.regex(), SYSLOG_REGEX);
        // The unanchored copy matches anywhere in the line: not recognised by hand.
        let d = DateDetector::with_defaults().unwrap();
        assert_eq!(
            d.entries
                .iter()
                .filter(|e| e.template.re().unwrap().syslog.is_some())
                .count(),
            1
        );
    }

    #[test]
    fn syslog_recognizer_takes_only_the_plain_shape() {
        for line in [
            "Dec 23 22:13:20 web1 sshd[1]: x",
            "dEC  3 00:00:59",
            "Jan 31 23:59:00:",
            "Feb 01 09:00:01 x2",
        ] {
            assert!(SyslogHead::recognize(line.as_bytes()), "{line}");
        }
        for line in [
            "Dec 23 22:13:20.5 x",
            "Dec 23 22:13:20 2025 x",
            "Dec 23 22:13:20 2abc",
            "Dec 23 22:13:20x",
            "Dec 23 22:13:20é",
            "Dec 32 22:13:20",
            "Dec 00 22:13:20",
            "Dec 3 22:13:20",
            "Dec 23 24:13:20",
            "Dec 23 22:60:20",
            "Dec 23 22:13",
            "Mon Dec 23 22:13:20",
            "Dez 23 22:13:20",
            " Dec 23 22:13:20",
        ] {
            assert!(!SyslogHead::recognize(line.as_bytes()), "{line}");
        }
    }

    /// A line head that is, or nearly is, a syslog date.
    fn syslog_head() -> impl Strategy<Value = String> {
        // Each part is mostly valid, so that most heads are one near-miss away from valid.
        let month = prop_oneof![
            8 => prop::sample::select(MONTHS.to_vec()).prop_map(str::to_owned),
            2 => Just("Sep".to_owned()),
            1 => "[A-Za-z]{3}",
            1 => Just("Déc".to_owned()),
            1 => Just("Mon Dec".to_owned()),
        ];
        let two = |hi: u32| (0..hi).prop_map(|n| format!("{n:02}"));
        let day = prop_oneof![
            6 => two(40),
            2 => (0..10u32).prop_map(|n| format!(" {n}")),
            1 => (0..10u32).prop_map(|n| n.to_string()),
            1 => Just("3l".to_owned()),
        ];
        let clock = prop_oneof![
            8 => two(30),
            1 => (0..10u32).prop_map(|n| n.to_string()),
            1 => Just(" 7".to_owned()),
        ];
        let sixty = prop_oneof![8 => two(70), 1 => (0..10u32).prop_map(|n| n.to_string())];
        let seconds = prop_oneof![
            4 => sixty.clone().prop_map(|s| format!(":{s}")),
            1 => Just(String::new()),
        ];
        let tail = prop_oneof![
            2 => Just(String::new()),
            6 => Just(" web1 sshd[7]: Failed password".to_owned()),
            1 => Just(" 2025 host".to_owned()),
            1 => Just(" 20x".to_owned()),
            1 => Just(".123 host".to_owned()),
            1 => Just(". host".to_owned()),
            1 => Just(":x".to_owned()),
            2 => "[ -~]{0,4}",
            2 => "\\PC{0,3}",
        ];
        let prefix = prop_oneof![
            8 => Just(String::new()),
            1 => Just("[".to_owned()),
            1 => Just(" ".to_owned()),
        ];
        (
            prefix,
            month,
            prop_oneof![4 => Just(" "), 1 => Just("  "), 1 => Just("-")],
            day,
            prop_oneof![4 => Just(" "), 1 => Just("  ")],
            clock,
            sixty,
            seconds,
            tail,
        )
            .prop_map(|(p, m, s1, d, s2, h, mi, sec, t)| {
                format!("{p}{m}{s1}{d}{s2}{h}:{mi}{sec}{t}")
            })
    }

    proptest::proptest! {
        // Cheap cases (one regex run each): many, so that rare near-misses come up.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Where the recognizer says yes, the regex matches with the same spans in every group.
        #[test]
        fn syslog_recognizer_agrees_with_the_regex(line in syslog_head()) {
            let t = syslog_template();
            let re = t.re().unwrap();
            let head = re.syslog.unwrap();
            if SyslogHead::recognize(line.as_bytes()) {
                let mut slots = re.compiled.slots();
                proptest::prop_assert!(re.compiled.captures_at(&line, 0, &mut slots).unwrap());
                let want: Vec<_> = (0..re.compiled.group_count()).map(|i| slots.get(i)).collect();
                proptest::prop_assert_eq!(want, head.spans.to_vec());
            }
        }

    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// The minute cache (recognizer on) gives the times strptime gives (recognizer off)
        /// for runs of syslog dates around DST, day, year and "a day ahead" boundaries.
        #[test]
        fn minute_cache_equals_strptime(
            zone in prop::sample::select(vec!["America/New_York", "Europe/London", "UTC"]),
            anchor in prop::sample::select(vec![
                1_741_503_600i64, 1_762_063_200, 1_743_296_400, 1_761_440_400,
                1_767_225_540, 1_767_139_200,
            ]),
            now_shift in -200_000i64..200_000,
            steps in prop::collection::vec((-90_000i64..90_000, 0i64..130), 1..40),
        ) {
            let tz = TimeZone::get(zone).unwrap();
            let clock = Clock::new(Timestamp::from_second(anchor + now_shift).unwrap(), tz.clone());
            let (mut fast, mut slow) = (
                DateDetector::with_defaults().unwrap(),
                DateDetector::with_defaults().unwrap(),
            );
            slow.fast = false;
            let mut at = anchor;
            for (jump, tick) in steps {
                // Mostly a few seconds on, sometimes far (to another minute, day or year).
                at += if tick < 100 { tick % 7 } else { jump };
                let local = tz.to_datetime(Timestamp::from_second(at).unwrap());
                let line = format!("{} sshd[1]: x", local.strftime("%b %d %H:%M:%S"));
                let a = fast.find_same_clock(&line, &clock);
                let b = slow.find_same_clock(&line, &clock);
                proptest::prop_assert_eq!(a, b, "{:?}", line);
            }
        }
    }

    /// Runs `lines` (each `repeat` times in a row) through a detector with the recognizer and
    /// one without: the same dates, times and bookkeeping (template order, hits, last
    /// positions) after every line.
    fn recognizer_agrees_with_regex(
        lines: &[String],
        defaults_only: bool,
        repeat: usize,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let make = || {
            if defaults_only {
                DateDetector::with_defaults().unwrap()
            } else {
                DateDetector::from_datepattern("{^LN-BEG}").unwrap()
            }
        };
        let (mut fast, mut slow) = (make(), make());
        slow.fast = false;
        let state = |d: &DateDetector| {
            (
                d.entries
                    .iter()
                    .map(|e| (e.template.name.clone(), e.hits, e.distance))
                    .collect::<Vec<_>>(),
                d.last_pos,
                d.last_end,
                d.last_idx,
                d.first_unused,
            )
        };
        for line in lines {
            for _ in 0..repeat {
                let a = fast.find_same_clock(line, &clock());
                let b = slow.find_same_clock(line, &clock());
                proptest::prop_assert_eq!(a, b, "{:?}", line);
                proptest::prop_assert_eq!(state(&fast), state(&slow), "{:?}", line);
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The detector with and without the recognizer: same dates, times and bookkeeping
        /// (template order, hits, last positions) after every line of a sequence.
        #[test]
        fn detector_with_recognizer_equals_regex_only(
            lines in prop::collection::vec(syslog_head(), 1..12),
            defaults_only in proptest::bool::ANY,
        ) {
            // Twice: the second pass takes the "same as the last line" path.
            recognizer_agrees_with_regex(&lines, defaults_only, 2)?;
        }
    }

    #[test]
    fn month_numbers_are_the_month_names_in_any_case() {
        // Every byte at every position of every name: a month only when the bytes, lowered,
        // spell a month's name.
        for name in MONTHS {
            let name = name.as_bytes();
            for pos in 0..3 {
                for byte in 0..=u8::MAX {
                    let mut m = [name[0], name[1], name[2]];
                    m[pos] = byte;
                    let lower = m.map(|b| b.to_ascii_lowercase());
                    let want = MONTHS
                        .iter()
                        .position(|n| n.as_bytes() == lower)
                        .map(|i| i as u8 + 1);
                    assert_eq!(month_number(m[0], m[1], m[2]), want, "{m:?}");
                }
            }
        }
        assert_eq!(month_number(b'D', b'e', b'C'), Some(12));
        assert_eq!(month_number(b'd', b'\xc5', b'c'), None);
    }

    /// Syslog lines that share their first 15 bytes, or all but the seconds, with different
    /// text after them: the cases the recognizer's shortcuts (same head as the last line, time
    /// cached by head, minute cache) decide without reading the date again.
    fn shared_head_lines() -> impl Strategy<Value = Vec<String>> {
        let head = prop::sample::select(vec![
            "Dec 23 22:13:20",
            "Dec 23 22:13:21",
            "Dec 23 22:13:59",
            "Dec 23 22:14:00",
            "dEC 23 22:13:20",
            "Dec  3 22:13:20",
            "Feb 30 22:13:20",
            "Aug 14 09:00:00",
        ]);
        let tail = prop::sample::select(vec![
            "",
            " web1 sshd[7]: x",
            ":x",
            "x",
            " 2004 host",
            " 2x",
            ".5 host",
            "é",
            "[1]",
        ]);
        prop::collection::vec((head, tail), 1..24)
            .prop_map(|v| v.into_iter().map(|(h, t)| format!("{h}{t}")).collect())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Lines sharing heads, with and without the recognizer: same dates, times and
        /// bookkeeping after every line.
        #[test]
        fn shared_heads_with_recognizer_equal_regex_only(
            lines in shared_head_lines(),
            defaults_only in proptest::bool::ANY,
        ) {
            recognizer_agrees_with_regex(&lines, defaults_only, 1)?;
        }
    }

    #[test]
    fn zones_and_weeks() {
        assert_eq!(zone_offset("+0130"), Some(90));
        assert_eq!(zone_offset("-03:30"), Some(-210));
        assert_eq!(zone_offset("CEST"), Some(120));
        assert_eq!(zone_offset("CET+01"), Some(120));
        assert_eq!(zone_offset("XYZ"), None);
    }
}
