//! SemVer versions as npm (node-semver) and Go order them, parsed leniently.
//!
//! Accepted: node-semver's loose syntax (leading spaces, `v`/`V`/`=` prefixes, a pre-release
//! without its `-` when it starts with a letter, as in `1.2.3beta`), plus what OSV's
//! semver ordering accepts: a missing minor or patch (`1`, `1.2`, read as `1.0.0`, `1.2.0`),
//! numbers of any length, and numeric components after the patch (`1.1.3.4.5`), which are
//! kept out of the ordering like build metadata. Ordering is SemVer 2.0.0 precedence; build
//! metadata never orders.

use std::cmp::Ordering;

use crate::num::{Span, cmp_digits, is_digits};

/// Where the parts of a SemVer version are in its text. An empty `minor` or `patch` reads
/// as `0`; an empty `pre` means a release.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Semver {
    pub(crate) major: Span,
    pub(crate) minor: Span,
    pub(crate) patch: Span,
    pub(crate) pre: Span,
    pub(crate) build: Span,
}

impl Semver {
    pub(crate) fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

fn digits_at(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Reads dot-separated identifiers of `[0-9A-Za-z-]` from `i`; returns the end.
fn identifiers_at(s: &[u8], mut i: usize) -> Result<usize, &'static str> {
    loop {
        let start = i;
        while s.get(i).copied().is_some_and(is_ident_byte) {
            i += 1;
        }
        if i == start {
            return Err("empty pre-release or build identifier");
        }
        if s.get(i) == Some(&b'.') {
            i += 1;
        } else {
            return Ok(i);
        }
    }
}

pub(crate) fn parse(text: &str) -> Result<Semver, &'static str> {
    let s = text.as_bytes();
    let end = text.trim_end().len();
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|b| b.is_ascii_whitespace() || matches!(b, b'v' | b'V' | b'='))
    {
        i += 1;
    }
    let mut v = Semver::default();
    let major_end = digits_at(s, i);
    if major_end == i {
        return Err("must start with a number");
    }
    v.major = Span::new(i, major_end);
    i = major_end;
    for part in [&mut v.minor, &mut v.patch] {
        if s.get(i) == Some(&b'.') {
            let e = digits_at(s, i + 1);
            if e == i + 1 {
                return Err("a `.` must be followed by a number");
            }
            *part = Span::new(i + 1, e);
            i = e;
        }
    }
    // Numbers past the patch stay out of the ordering, like build metadata.
    let extra_start = i;
    while s.get(i) == Some(&b'.') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits_at(s, i + 1);
    }
    let extra = Span::new(extra_start, i);
    if extra.is_empty() {
        let pre_start = match s.get(i) {
            Some(b'-') => Some(i + 1),
            Some(b) if b.is_ascii_alphabetic() => Some(i),
            _ => None,
        };
        if let Some(start) = pre_start {
            i = identifiers_at(s, start)?;
            v.pre = Span::new(start, i);
        }
    }
    if s.get(i) == Some(&b'+') {
        let start = i + 1;
        i = identifiers_at(s, start)?;
        v.build = Span::new(start, i);
    } else if !extra.is_empty() {
        v.build = extra;
    }
    if i != end {
        return Err("unexpected characters after the version");
    }
    Ok(v)
}

/// SemVer 2.0.0 rule 11 for two pre-release strings (both non-empty).
pub(crate) fn cmp_pre(a: &str, b: &str) -> Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        let ord = match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => match (is_digits(p), is_digits(q)) {
                (true, true) => cmp_digits(p, q),
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => p.as_bytes().cmp(q.as_bytes()),
            },
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

/// Compares `major.minor.patch` only.
pub(crate) fn cmp_core(a: &Semver, at: &str, b: &Semver, bt: &str) -> Ordering {
    cmp_digits(a.major.of(at), b.major.of(bt))
        .then_with(|| cmp_digits(a.minor.of(at), b.minor.of(bt)))
        .then_with(|| cmp_digits(a.patch.of(at), b.patch.of(bt)))
}

pub(crate) fn cmp(a: &Semver, at: &str, b: &Semver, bt: &str) -> Ordering {
    cmp_core(a, at, b, bt).then_with(|| match (a.pre.is_empty(), b.pre.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => cmp_pre(a.pre.of(at), b.pre.of(bt)),
    })
}

/// A version built by a range (`^1.2.3` gives `<2.0.0-0`), owning its text.
#[derive(Debug, Clone)]
pub(crate) struct Owned {
    pub(crate) text: Box<str>,
    pub(crate) v: Semver,
}

impl Owned {
    pub(crate) fn new(text: String) -> Result<Owned, &'static str> {
        let v = parse(&text)?;
        Ok(Owned {
            text: text.into_boxed_str(),
            v,
        })
    }

    pub(crate) fn cmp_with(&self, v: &Semver, text: &str) -> Ordering {
        cmp(v, text, &self.v, &self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(t: &str) -> [String; 5] {
        let v = parse(t).unwrap();
        [v.major, v.minor, v.patch, v.pre, v.build].map(|s| s.of(t).to_owned())
    }

    #[test]
    fn reads_loose_forms() {
        assert_eq!(parts("v1.2.3-beta.1+b5"), ["1", "2", "3", "beta.1", "b5"]);
        assert_eq!(parts("=1.2.3beta"), ["1", "2", "3", "beta", ""]);
        assert_eq!(parts("1"), ["1", "", "", "", ""]);
        assert_eq!(parts("1.1.3.4.5"), ["1", "1", "3", "", ".4.5"]);
        assert_eq!(parts(" 1.2.3 "), ["1", "2", "3", "", ""]);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "v",
            "a.b.c",
            "1.",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "1.2.3 x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
