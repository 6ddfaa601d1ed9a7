//! PyPI versions (PEP 440, as the `packaging` library reads and orders them) and PEP 440
//! specifiers.
//!
//! A version is read with PEP 440's own pattern (case-insensitive, optional `v`, separators
//! `-`, `_`, `.` optional, `alpha`/`beta`/`c`/`pre`/`preview`/`rev`/`r` spellings, implicit
//! numbers, `1.0-1` as a post-release). Text that is not PEP 440 is kept as a *legacy* version
//! (setuptools' rules, `packaging.version.LegacyVersion` before `packaging` 22, as OSV still
//! does): legacy versions order before every PEP 440 version, by setuptools' parts.

use std::cmp::Ordering;

use crate::num::{Span, cmp_digits, is_digits, is_zero};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    A,
    B,
    Rc,
}

/// Where the parts of a PEP 440 version are in its text; a number span may be empty (an
/// implicit `0`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Std {
    epoch: Span,
    release: Span,
    pre: Option<(PreKind, Span)>,
    post: Option<Span>,
    dev: Option<Span>,
    local: Option<Span>,
}

#[derive(Debug, Clone)]
pub(crate) enum Pep440 {
    Std(Std),
    /// The setuptools comparison key: parts, numbers zero-padded to eight digits, words
    /// prefixed with `*`.
    Legacy(Box<[Box<str>]>),
}

impl Pep440 {
    /// `packaging`: a pre-release or dev release (legacy versions never are).
    pub(crate) fn is_prerelease(&self) -> bool {
        match self {
            Pep440::Std(v) => v.pre.is_some() || v.dev.is_some(),
            Pep440::Legacy(_) => false,
        }
    }
}

fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn is_sep(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'.')
}

fn digits_at(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// The first of `words` that `s[i..]` starts with, ignoring ASCII case.
fn keyword_at<T: Copy>(s: &[u8], i: usize, words: &[(&str, T)]) -> Option<(T, usize)> {
    let rest = s.get(i..)?;
    words.iter().find_map(|&(w, t)| {
        let head = rest.get(..w.len())?;
        head.eq_ignore_ascii_case(w.as_bytes())
            .then_some((t, i + w.len()))
    })
}

/// `[-_.]?KEYWORD[-_.]?[0-9]*` starting at `i`: the keyword, the number and where it ends.
/// A separator after the keyword is only taken when digits follow it.
fn labelled<T: Copy>(s: &[u8], i: usize, words: &[(&str, T)]) -> Option<(T, Span, usize)> {
    let j = if s.get(i).copied().is_some_and(is_sep) {
        i + 1
    } else {
        i
    };
    let (kind, k) = keyword_at(s, j, words)?;
    let n_start =
        if s.get(k).copied().is_some_and(is_sep) && s.get(k + 1).is_some_and(u8::is_ascii_digit) {
            k + 1
        } else {
            k
        };
    let n_end = digits_at(s, n_start);
    if n_end == n_start {
        return Some((kind, Span::default(), k));
    }
    Some((kind, Span::new(n_start, n_end), n_end))
}

/// Longest spellings first, so `alpha` is not read as `a` + garbage.
const PRE_WORDS: [(&str, PreKind); 8] = [
    ("alpha", PreKind::A),
    ("beta", PreKind::B),
    ("preview", PreKind::Rc),
    ("pre", PreKind::Rc),
    ("rc", PreKind::Rc),
    ("a", PreKind::A),
    ("b", PreKind::B),
    ("c", PreKind::Rc),
];
const POST_WORDS: [(&str, ()); 3] = [("post", ()), ("rev", ()), ("r", ())];
const DEV_WORDS: [(&str, ()); 1] = [("dev", ())];

/// PEP 440's pattern (Appendix B), by hand; `None` when the text is not PEP 440.
fn parse_std(text: &str) -> Option<Std> {
    let s = text.as_bytes();
    let mut end = s.len();
    while end > 0 && s.get(end - 1).copied().is_some_and(is_py_space) {
        end -= 1;
    }
    let s = s.get(..end)?;
    let mut i = 0;
    while s.get(i).copied().is_some_and(is_py_space) {
        i += 1;
    }
    if matches!(s.get(i), Some(b'v' | b'V')) {
        i += 1;
    }
    let mut v = Std::default();
    let d = digits_at(s, i);
    if d > i && s.get(d) == Some(&b'!') {
        v.epoch = Span::new(i, d);
        i = d + 1;
    }
    let release_start = i;
    i = digits_at(s, i);
    if i == release_start {
        return None;
    }
    while s.get(i) == Some(&b'.') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits_at(s, i + 1);
    }
    v.release = Span::new(release_start, i);
    if let Some((kind, n, next)) = labelled(s, i, &PRE_WORDS) {
        v.pre = Some((kind, n));
        i = next;
    }
    if s.get(i) == Some(&b'-') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
        let e = digits_at(s, i + 1);
        v.post = Some(Span::new(i + 1, e));
        i = e;
    } else if let Some(((), n, next)) = labelled(s, i, &POST_WORDS) {
        v.post = Some(n);
        i = next;
    }
    if let Some(((), n, next)) = labelled(s, i, &DEV_WORDS) {
        v.dev = Some(n);
        i = next;
    }
    if s.get(i) == Some(&b'+') {
        let start = i + 1;
        i = start;
        loop {
            let seg = i;
            while s.get(i).is_some_and(u8::is_ascii_alphanumeric) {
                i += 1;
            }
            if i == seg {
                return None;
            }
            if s.get(i).copied().is_some_and(is_sep) {
                i += 1;
            } else {
                break;
            }
        }
        v.local = Some(Span::new(start, i));
    }
    (i == s.len()).then_some(v)
}

/// setuptools' parts (`packaging.version._legacy_cmpkey`): runs of digits, runs of letters,
/// `.` and `-`, and whatever lies between them, with `pre`/`preview`/`rc` read as `c`, `dev`
/// as `@`, `-` as `final-`, numbers zero-padded to eight digits, trailing zeros dropped before
/// each word, and a closing `*final`.
fn legacy_key(text: &str) -> Box<[Box<str>]> {
    let lower = text.to_lowercase();
    let mut parts: Vec<Box<str>> = Vec::new();
    let mut push = |part: &str| {
        let part = match part {
            "pre" | "preview" | "rc" => "c",
            "-" => "final-",
            "dev" => "@",
            other => other,
        };
        if part.is_empty() || part == "." {
            return;
        }
        let part: Box<str> = if part.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{part:0>8}").into()
        } else {
            format!("*{part}").into()
        };
        if part.starts_with('*') {
            if &*part < "*final" {
                while parts.last().is_some_and(|p| &**p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| &**p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    };
    let bytes = lower.as_bytes();
    let mut i = 0;
    let mut unmatched = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes.get(i).copied().unwrap_or(0);
        if b.is_ascii_digit() {
            i = digits_at(bytes, i);
        } else if b.is_ascii_lowercase() {
            while bytes.get(i).is_some_and(u8::is_ascii_lowercase) {
                i += 1;
            }
        } else if b == b'.' || b == b'-' {
            i += 1;
        } else {
            // Not a part of the pattern: it stays between parts, as `re.split` leaves it.
            i += lower
                .get(i..)
                .and_then(|r| r.chars().next())
                .map_or(1, char::len_utf8);
            continue;
        }
        push(lower.get(unmatched..start).unwrap_or(""));
        push(lower.get(start..i).unwrap_or(""));
        unmatched = i;
    }
    push(lower.get(unmatched..).unwrap_or(""));
    push("final");
    parts.into_boxed_slice()
}

pub(crate) fn parse(text: &str) -> Result<Pep440, &'static str> {
    if text.trim().is_empty() {
        return Err("empty version");
    }
    Ok(match parse_std(text) {
        Some(v) => Pep440::Std(v),
        None => Pep440::Legacy(legacy_key(text)),
    })
}

fn cmp_release(a: &str, b: &str) -> Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        let ord = match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (p, q) => cmp_digits(p.unwrap_or("0"), q.unwrap_or("0")),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

fn cmp_local(a: &str, b: &str) -> Ordering {
    let mut x = a.split(['.', '-', '_']);
    let mut y = b.split(['.', '-', '_']);
    loop {
        let (p, q) = match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => (p, q),
        };
        let ord = match (is_digits(p), is_digits(q)) {
            (true, true) => cmp_digits(p, q),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => p
                .bytes()
                .map(|b| b.to_ascii_lowercase())
                .cmp(q.bytes().map(|b| b.to_ascii_lowercase())),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

/// `packaging`'s `_cmpkey`.
fn cmp_std(a: &Std, at: &str, b: &Std, bt: &str) -> Ordering {
    /// Pre-release key: a dev release of a final release sorts before its pre-releases.
    fn pre_key<'t>(v: &Std, t: &'t str) -> (i8, Option<(PreKind, &'t str)>) {
        match v.pre {
            None if v.post.is_none() && v.dev.is_some() => (-1, None),
            None => (1, None),
            Some((kind, n)) => (0, Some((kind, n.of(t)))),
        }
    }
    cmp_digits(a.epoch.of(at), b.epoch.of(bt))
        .then_with(|| cmp_release(a.release.of(at), b.release.of(bt)))
        .then_with(|| {
            let (x, y) = (pre_key(a, at), pre_key(b, bt));
            x.0.cmp(&y.0).then_with(|| match (x.1, y.1) {
                (Some((k, n)), Some((l, m))) => k.cmp(&l).then_with(|| cmp_digits(n, m)),
                _ => Ordering::Equal,
            })
        })
        .then_with(|| match (a.post, b.post) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(n), Some(m)) => cmp_digits(n.of(at), m.of(bt)),
        })
        .then_with(|| match (a.dev, b.dev) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(n), Some(m)) => cmp_digits(n.of(at), m.of(bt)),
        })
        .then_with(|| match (a.local, b.local) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(n), Some(m)) => cmp_local(n.of(at), m.of(bt)),
        })
}

pub(crate) fn cmp(a: &Pep440, at: &str, b: &Pep440, bt: &str) -> Ordering {
    match (a, b) {
        (Pep440::Std(x), Pep440::Std(y)) => cmp_std(x, at, y, bt),
        (Pep440::Legacy(x), Pep440::Legacy(y)) => x.cmp(y),
        (Pep440::Legacy(_), Pep440::Std(_)) => Ordering::Less,
        (Pep440::Std(_), Pep440::Legacy(_)) => Ordering::Greater,
    }
}

fn push_number(out: &mut String, digits: &str) {
    let trimmed = digits.trim_start_matches('0');
    out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
}

/// `str(packaging.version.Version(text))`: the normalized spelling.
fn normalized(v: &Std, t: &str) -> String {
    let mut out = String::new();
    if !is_zero(v.epoch.of(t)) {
        push_number(&mut out, v.epoch.of(t));
        out.push('!');
    }
    for (i, n) in v.release.of(t).split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_number(&mut out, n);
    }
    if let Some((kind, n)) = v.pre {
        out.push_str(match kind {
            PreKind::A => "a",
            PreKind::B => "b",
            PreKind::Rc => "rc",
        });
        push_number(&mut out, n.of(t));
    }
    if let Some(n) = v.post {
        out.push_str(".post");
        push_number(&mut out, n.of(t));
    }
    if let Some(n) = v.dev {
        out.push_str(".dev");
        push_number(&mut out, n.of(t));
    }
    if let Some(local) = v.local {
        out.push('+');
        let local = local.of(t).to_ascii_lowercase();
        out.push_str(&local.replace(['-', '_'], "."));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Compatible,
    Eq,
    Ne,
    Le,
    Ge,
    Lt,
    Gt,
    Arbitrary,
}

#[derive(Debug, Clone)]
struct Specifier {
    op: Op,
    /// `==1.2.*` / `!=1.2.*`.
    wildcard: bool,
    text: Box<str>,
    v: Std,
}

/// A PEP 440 specifier set: every specifier must hold (an empty set allows any version).
#[derive(Debug, Clone)]
pub(crate) struct Specifiers {
    all_of: Vec<Specifier>,
}

fn release_len(v: &Std, t: &str) -> usize {
    v.release.of(t).split('.').count()
}

fn parse_specifier(text: &str) -> Result<Specifier, &'static str> {
    const OPS: [(&str, Op); 8] = [
        ("===", Op::Arbitrary),
        ("~=", Op::Compatible),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let (op, rest) = OPS
        .iter()
        .find_map(|&(p, op)| text.strip_prefix(p).map(|r| (op, r.trim())))
        .ok_or("a specifier starts with ~=, ==, !=, <=, >=, <, > or ===")?;
    if rest.is_empty() {
        return Err("an operator without a version");
    }
    if op == Op::Arbitrary {
        if rest.contains(|c: char| c.is_whitespace()) {
            return Err("`===` takes a single word");
        }
        return Ok(Specifier {
            op,
            wildcard: false,
            text: rest.into(),
            v: Std::default(),
        });
    }
    let (version, wildcard) = match rest.strip_suffix(".*") {
        Some(prefix) if matches!(op, Op::Eq | Op::Ne) => (prefix, true),
        Some(_) => return Err("`.*` is only allowed with == and !="),
        None => (rest, false),
    };
    let v = parse_std(version).ok_or("not a PEP 440 version")?;
    if wildcard && (v.pre.is_some() || v.post.is_some() || v.dev.is_some() || v.local.is_some()) {
        return Err("a `.*` prefix may only hold an epoch and release numbers");
    }
    if v.local.is_some() && !matches!(op, Op::Eq | Op::Ne) {
        return Err("a local version label is only allowed with == and !=");
    }
    if op == Op::Compatible && release_len(&v, version) < 2 {
        return Err("`~=` needs at least two release numbers");
    }
    Ok(Specifier {
        op,
        wildcard,
        text: version.into(),
        v,
    })
}

/// `packaging.specifiers.SpecifierSet`: comma-separated, blank entries ignored.
pub(crate) fn parse_specifiers(text: &str) -> Result<Specifiers, &'static str> {
    let all_of = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_specifier)
        .collect::<Result<_, _>>()?;
    Ok(Specifiers { all_of })
}

fn public(v: &Std) -> Std {
    Std { local: None, ..*v }
}

fn base(v: &Std) -> Std {
    Std {
        epoch: v.epoch,
        release: v.release,
        ..Std::default()
    }
}

/// `==prefix.*`: same epoch, and the release numbers (padded with zeros) start with the
/// prefix's.
fn prefix_matches(v: &Std, t: &str, prefix: &Std, pt: &str) -> bool {
    if cmp_digits(v.epoch.of(t), prefix.epoch.of(pt)) != Ordering::Equal {
        return false;
    }
    let mut mine = v.release.of(t).split('.');
    prefix
        .release
        .of(pt)
        .split('.')
        .all(|p| cmp_digits(mine.next().unwrap_or("0"), p) == Ordering::Equal)
}

impl Specifier {
    fn matches(&self, v: &Std, t: &str) -> bool {
        let s = &self.v;
        let st = &*self.text;
        let cmp = |a: &Std, b: &Std| cmp_std(a, t, b, st);
        match self.op {
            Op::Arbitrary => normalized(v, t).eq_ignore_ascii_case(st),
            Op::Eq | Op::Ne => {
                let equal = if self.wildcard {
                    prefix_matches(v, t, s, st)
                } else if s.local.is_none() {
                    cmp(&public(v), s).is_eq()
                } else {
                    cmp(v, s).is_eq()
                };
                equal == (self.op == Op::Eq)
            }
            Op::Compatible => {
                // `~=1.4.5` is `>=1.4.5, ==1.4.*`.
                let mut prefix = base(s);
                let release = s.release.of(st);
                let cut = release.rfind('.').unwrap_or(release.len());
                prefix.release = Span::new(
                    usize::from(s.release.start),
                    usize::from(s.release.start) + cut,
                );
                cmp(&public(v), s).is_ge() && prefix_matches(v, t, &prefix, st)
            }
            Op::Le => cmp(&public(v), s).is_le(),
            Op::Ge => cmp(&public(v), s).is_ge(),
            Op::Lt => {
                // `<3.1` does not admit 3.1's own pre-releases unless it names one.
                cmp(v, s).is_lt()
                    && !(s.pre.is_none()
                        && s.dev.is_none()
                        && (v.pre.is_some() || v.dev.is_some())
                        && cmp(&base(v), &base(s)).is_eq())
            }
            Op::Gt => {
                // `>3.1` does not admit 3.1's post-releases (unless it names one) or local
                // versions.
                cmp(v, s).is_gt()
                    && !(s.post.is_none() && v.post.is_some() && cmp(&base(v), &base(s)).is_eq())
                    && !(v.local.is_some() && cmp(&base(v), &base(s)).is_eq())
            }
        }
    }
}

impl Specifiers {
    /// Whether an installed version satisfies every specifier. PEP 440 accepts installed
    /// pre-releases, so they are not excluded here beyond `<V`'s own rule; a legacy version
    /// can only meet `===`.
    pub(crate) fn matches(&self, v: &Pep440, text: &str) -> bool {
        self.all_of.iter().all(|spec| match v {
            Pep440::Std(std) => spec.matches(std, text),
            Pep440::Legacy(_) => {
                spec.op == Op::Arbitrary && text.trim().eq_ignore_ascii_case(&spec.text)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(t: &str) -> String {
        match parse(t).unwrap() {
            Pep440::Std(v) => normalized(&v, t),
            Pep440::Legacy(k) => format!("legacy {k:?}"),
        }
    }

    #[test]
    fn normalizes_spellings() {
        assert_eq!(norm("1.0.0-alpha.1"), "1.0.0a1");
        assert_eq!(norm("V1.0A1"), "1.0a1");
        assert_eq!(norm("1.0-1"), "1.0.post1");
        assert_eq!(norm("1.0.rev"), "1.0.post0");
        assert_eq!(norm("1!01.02preview3.DEV"), "1!1.2rc3.dev0");
        assert_eq!(norm(" 1.0c1+Ubuntu-1 "), "1.0rc1+ubuntu.1");
        assert_eq!(norm("1.0a-post1"), "1.0a0.post1");
    }

    #[test]
    fn legacy_keys_follow_setuptools() {
        let Pep440::Legacy(k) = parse("0.1-bulbasaur").unwrap() else {
            panic!()
        };
        assert_eq!(
            &*k,
            ["00000000", "00000001", "*bulbasaur", "*final"].map(Box::from)
        );
        let Pep440::Legacy(k) = parse("1.0_x2").unwrap() else {
            panic!()
        };
        assert_eq!(
            &*k,
            ["00000001", "*_", "*x", "00000002", "*final"].map(Box::from)
        );
    }
}
