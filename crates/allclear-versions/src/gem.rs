//! RubyGems versions (`Gem::Version`) and requirements (`Gem::Requirement`), also used for
//! the Ruby interpreter.
//!
//! Ordering follows `Gem::Version#<=>`: a `-` reads as `.pre.`; the version splits into runs
//! of digits and runs of letters; trailing zeros are dropped from the numeric part and from
//! the part starting at the first letters (its "canonical segments"); then segments compare
//! pairwise, a missing one counting as `0`, numbers by value, letters by bytes, and letters
//! before numbers. Nothing is collected: [`cmp`] walks both texts.

use std::cmp::Ordering;

use crate::num::{cmp_digits, increment, is_zero};

/// A valid RubyGems version; the text itself holds everything needed to compare.
#[derive(Debug, Clone)]
pub(crate) struct Gem;

/// Ruby's `\s`: whitespace `Gem::Version.new` strips around a version.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

fn trimmed(text: &str) -> &str {
    text.trim_matches(is_ruby_space)
}

/// Checks `Gem::Version::ANCHORED_VERSION_PATTERN`:
/// `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?` between optional spaces.
/// An empty version is rejected although RubyGems reads it as `0`: an empty version in a
/// lockfile or advisory is a mistake worth reporting. One leniency, shared with OSV: letters
/// may follow the first number directly (`1beta`).
pub(crate) fn parse(text: &str) -> Result<Gem, &'static str> {
    let s = trimmed(text).as_bytes();
    if s.is_empty() {
        return Err("empty version");
    }
    if !s.first().is_some_and(u8::is_ascii_digit) {
        return Err("must start with a digit");
    }
    // Letters right after the first number (`1beta`) go beyond `Gem::Version`'s pattern,
    // which wants a dot first; OSV orders them, and so do we, as `1.beta`.
    let mut i = 1;
    while s.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        i += 1;
    }
    while s.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while s.get(i).is_some_and(u8::is_ascii_alphanumeric) {
            i += 1;
        }
        if i == start {
            return Err("a `.` must be followed by letters or digits");
        }
    }
    if s.get(i) == Some(&b'-') {
        i += 1;
        loop {
            let start = i;
            while s
                .get(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-')
            {
                i += 1;
            }
            if i == start {
                return Err("an empty pre-release part");
            }
            if s.get(i) == Some(&b'.') {
                i += 1;
            } else {
                break;
            }
        }
    }
    if i != s.len() {
        return Err("only letters, digits, `.` and `-` are allowed");
    }
    Ok(Gem)
}

/// `Gem::Version#prerelease?`: any letter once `-` reads as `.pre.`.
pub(crate) fn is_prerelease(_: &Gem, text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_alphabetic() || b == b'-')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seg<'a> {
    Num(&'a str),
    Str(&'a str),
}

/// The raw segments (`Gem::Version#segments`) of a validated version.
struct Segments<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Segments<'a> {
    fn new(text: &'a str) -> Self {
        Segments {
            text: trimmed(text),
            pos: 0,
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Seg<'a>;

    fn next(&mut self) -> Option<Seg<'a>> {
        let bytes = self.text.as_bytes();
        loop {
            let b = *bytes.get(self.pos)?;
            let start = self.pos;
            if b == b'-' {
                self.pos += 1;
                return Some(Seg::Str("pre"));
            }
            if b.is_ascii_digit() {
                while bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                return Some(Seg::Num(self.text.get(start..self.pos)?));
            }
            if b.is_ascii_alphabetic() {
                while bytes.get(self.pos).is_some_and(u8::is_ascii_alphabetic) {
                    self.pos += 1;
                }
                return Some(Seg::Str(self.text.get(start..self.pos)?));
            }
            // `.` separates; validation allows nothing else.
            self.pos += 1;
        }
    }
}

/// `Gem::Version#canonical_segments`, lazily: a run of zeros is held back until what follows
/// shows whether it is trailing (end of text, or the first letters after the numeric part).
struct Canonical<'a> {
    raw: std::iter::Peekable<Segments<'a>>,
    in_letters: bool,
    zeros: usize,
    after: Option<Seg<'a>>,
}

impl<'a> Canonical<'a> {
    fn new(segments: Segments<'a>) -> Self {
        Canonical {
            raw: segments.peekable(),
            in_letters: false,
            zeros: 0,
            after: None,
        }
    }
}

impl<'a> Iterator for Canonical<'a> {
    type Item = Seg<'a>;

    fn next(&mut self) -> Option<Seg<'a>> {
        if self.zeros > 0 {
            self.zeros -= 1;
            return Some(Seg::Num("0"));
        }
        if let Some(seg) = self.after.take() {
            return Some(seg);
        }
        let seg = self.raw.next()?;
        match seg {
            Seg::Str(_) => {
                self.in_letters = true;
                Some(seg)
            }
            Seg::Num(d) if !is_zero(d) => Some(seg),
            Seg::Num(_) => {
                let mut run = 1;
                while matches!(self.raw.peek(), Some(Seg::Num(d)) if is_zero(d)) {
                    self.raw.next();
                    run += 1;
                }
                match self.raw.next() {
                    None => None,
                    Some(next @ Seg::Str(_)) if !self.in_letters => {
                        self.in_letters = true;
                        Some(next)
                    }
                    Some(next) => {
                        if matches!(next, Seg::Str(_)) {
                            self.in_letters = true;
                        }
                        self.zeros = run - 1;
                        self.after = Some(next);
                        Some(Seg::Num("0"))
                    }
                }
            }
        }
    }
}

fn cmp_segments<'a>(
    mut a: impl Iterator<Item = Seg<'a>>,
    mut b: impl Iterator<Item = Seg<'a>>,
) -> Ordering {
    loop {
        let (x, y) = match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => (x.unwrap_or(Seg::Num("0")), y.unwrap_or(Seg::Num("0"))),
        };
        let ord = match (x, y) {
            (Seg::Num(x), Seg::Num(y)) => cmp_digits(x, y),
            (Seg::Str(x), Seg::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
            (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
            (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

/// Orders two validated texts.
pub(crate) fn cmp_text(a: &str, b: &str) -> Ordering {
    cmp_segments(
        Canonical::new(Segments::new(a)),
        Canonical::new(Segments::new(b)),
    )
}

pub(crate) fn cmp(_: &Gem, a: &str, _: &Gem, b: &str) -> Ordering {
    cmp_text(a, b)
}

/// `Gem::Version#release` compared with another version: only the numbers before the first
/// letters of `v` count.
fn cmp_release(v: &str, other: &str) -> Ordering {
    let release = Segments::new(v).take_while(|s| matches!(s, Seg::Num(_)));
    cmp_segments(release, Canonical::new(Segments::new(other)))
}

/// `Gem::Version#bump`: drop the letters and everything after them, drop the last number
/// unless it is the only one, and add one to the new last number.
fn bump(v: &str) -> String {
    let mut nums: Vec<&str> = Segments::new(v)
        .map_while(|s| match s {
            Seg::Num(d) => Some(d),
            Seg::Str(_) => None,
        })
        .collect();
    if nums.len() > 1 {
        nums.pop();
    }
    let last = nums.pop().map(increment).unwrap_or_else(|| "1".to_owned());
    let mut out = String::new();
    for n in nums {
        out.push_str(n);
        out.push('.');
    }
    out.push_str(&last);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    /// `~>`: at least the version, and below its bump.
    Pessimistic,
}

#[derive(Debug, Clone)]
struct Clause {
    op: Op,
    version: Box<str>,
    /// For `~>` only: the exclusive upper bound.
    bump: Box<str>,
}

/// A `Gem::Requirement`: every clause must hold.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    clauses: Vec<Clause>,
}

/// Parses comma-separated clauses as bundler-audit reads one RubySec `patched_versions` or
/// `unaffected_versions` entry (`~> 1.2.3, >= 1.2.3.4`), each `Gem::Requirement::PATTERN`:
/// an optional operator (`=`, `!=`, `>`, `<`, `>=`, `<=`, `~>`) and a version.
pub(crate) fn parse_req(text: &str) -> Result<Req, &'static str> {
    let mut clauses = Vec::new();
    for part in text.split(',') {
        let part = trimmed(part);
        if part.is_empty() {
            return Err("empty clause");
        }
        let (op, rest) = if let Some(r) = part.strip_prefix("~>") {
            (Op::Pessimistic, r)
        } else if let Some(r) = part.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = part.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = part.strip_prefix("!=") {
            (Op::Ne, r)
        } else if let Some(r) = part.strip_prefix('>') {
            (Op::Gt, r)
        } else if let Some(r) = part.strip_prefix('<') {
            (Op::Lt, r)
        } else if let Some(r) = part.strip_prefix('=') {
            (Op::Eq, r)
        } else {
            (Op::Eq, part)
        };
        let version = trimmed(rest);
        parse(version)?;
        let bump = if op == Op::Pessimistic {
            bump(version).into()
        } else {
            Box::default()
        };
        clauses.push(Clause {
            op,
            version: version.into(),
            bump,
        });
    }
    Ok(Req { clauses })
}

pub(crate) fn matches(req: &Req, _: &Gem, text: &str) -> bool {
    req.clauses.iter().all(|c| {
        let ord = cmp_text(text, &c.version);
        match c.op {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Gt => ord == Ordering::Greater,
            Op::Lt => ord == Ordering::Less,
            Op::Ge => ord != Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Pessimistic => ord != Ordering::Less && cmp_release(text, &c.bump).is_lt(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(v: &str) -> Vec<String> {
        Canonical::new(Segments::new(v))
            .map(|s| match s {
                Seg::Num(d) => d.to_owned(),
                Seg::Str(s) => format!("'{s}'"),
            })
            .collect()
    }

    #[test]
    fn canonical_segments_drop_trailing_zeros_per_part() {
        assert_eq!(canon("1.0.0"), ["1"]);
        assert_eq!(canon("1.0.a.0"), ["1", "'a'"]);
        assert_eq!(canon("1.0.1.0.a.0.b.0"), ["1", "0", "1", "'a'", "0", "'b'"]);
        assert_eq!(canon("0"), Vec::<String>::new());
        assert_eq!(canon("1.0-rc.1"), ["1", "'pre'", "'rc'", "1"]);
    }

    #[test]
    fn bump_follows_gem_version() {
        assert_eq!(bump("1.2.3"), "1.3");
        assert_eq!(bump("1"), "2");
        assert_eq!(bump("1.9"), "2");
        assert_eq!(bump("2.1.4.rc1"), "2.2");
    }

    #[test]
    fn rejects_what_gem_version_rejects() {
        for bad in ["", "a1", "1..2", "1.", "1-", "1 2", "1.0_1", "-1", "1.0+b"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        for good in [
            " 1.0 ",
            "1.0-beta-2",
            "1--2",
            "1.0.a10",
            "3.2.0.rc1",
            "1beta",
        ] {
            assert!(parse(good).is_ok(), "{good:?}");
        }
    }
}
