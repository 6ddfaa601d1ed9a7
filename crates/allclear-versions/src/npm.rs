//! npm version ranges, as node-semver's `Range` reads and tests them (loose mode, without
//! `includePrerelease`).
//!
//! A range is `||`-separated comparator sets; a set is whitespace-separated comparators that
//! must all hold, or a hyphen range `A - B`. Sugar expands as node-semver expands it:
//! `^1.2.3` → `>=1.2.3 <2.0.0-0`, `~1.2` → `>=1.2.0 <1.3.0-0`, `1.x` → `>=1.0.0 <2.0.0-0`,
//! `<=1.2` → `<1.3.0-0`, `>1` → `>=2.0.0`, `*` or empty → any. A pre-release version only
//! satisfies a set when one of its comparators names a pre-release of the same
//! `major.minor.patch`.

use std::cmp::Ordering;

use crate::num::increment;
use crate::semverish::{Owned, Semver, cmp_core};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    /// Only Go's comparators have it.
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub(crate) fn test(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord.is_eq(),
            Op::Ne => ord.is_ne(),
            Op::Lt => ord.is_lt(),
            Op::Le => ord.is_le(),
            Op::Gt => ord.is_gt(),
            Op::Ge => ord.is_ge(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Comparator {
    pub(crate) op: Op,
    pub(crate) v: Owned,
}

impl Comparator {
    fn new(op: Op, text: String) -> Result<Comparator, &'static str> {
        Ok(Comparator {
            op,
            v: Owned::new(text)?,
        })
    }

    pub(crate) fn test(&self, v: &Semver, text: &str) -> bool {
        self.op.test(self.v.cmp_with(v, text))
    }
}

/// Comparator sets, any of which may hold; an empty set allows any release.
#[derive(Debug, Clone)]
pub(crate) struct Range {
    any_of: Vec<Vec<Comparator>>,
}

impl Range {
    pub(crate) fn matches(&self, v: &Semver, text: &str) -> bool {
        self.any_of.iter().any(|set| test_set(set, v, text))
    }

    /// node-semver's `satisfies` with `includePrerelease`, as `npm audit` tests a version
    /// against an advisory's range (`@npmcli/metavuln-calculator`): pre-releases are ordered
    /// like any other version.
    pub(crate) fn matches_ordered(&self, v: &Semver, text: &str) -> bool {
        self.any_of
            .iter()
            .any(|set| set.iter().all(|c| c.test(v, text)))
    }
}

/// node-semver's `testSet`.
fn test_set(set: &[Comparator], v: &Semver, text: &str) -> bool {
    if !set.iter().all(|c| c.test(v, text)) {
        return false;
    }
    if !v.is_prerelease() {
        return true;
    }
    set.iter()
        .any(|c| c.v.v.is_prerelease() && cmp_core(&c.v.v, &c.v.text, v, text) == Ordering::Equal)
}

/// An x-range operand: `None` stands for `x`, `X`, `*` or a missing number.
#[derive(Debug, Clone, Copy, Default)]
struct Partial<'a> {
    major: Option<&'a str>,
    minor: Option<&'a str>,
    patch: Option<&'a str>,
    pre: &'a str,
    build: &'a str,
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// node-semver's loose `XRANGEPLAIN`: `[v=\s]*` then up to three of `x`/`X`/`*`/digits,
/// with a pre-release and build only after all three.
fn partial(s: &str) -> Result<Partial<'_>, &'static str> {
    const BAD: &str = "not a version or x-range";
    let s = s.trim_start_matches(['v', 'V', '=']);
    let (main, build) = match s.split_once('+') {
        Some((m, b)) if is_ident(b) => (m, b),
        Some(_) => return Err(BAD),
        None => (s, ""),
    };
    let mut p = Partial {
        build,
        ..Partial::default()
    };
    let mut rest = main;
    let mut parts = 0;
    for (i, slot) in [&mut p.major, &mut p.minor, &mut p.patch]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            match rest.strip_prefix('.') {
                Some(r) => rest = r,
                None => break,
            }
        }
        let end = if rest.starts_with(['x', 'X', '*']) {
            1
        } else {
            rest.bytes().take_while(u8::is_ascii_digit).count()
        };
        if end == 0 {
            return Err(BAD);
        }
        let (part, r) = rest.split_at(end);
        *slot = part.bytes().all(|b| b.is_ascii_digit()).then_some(part);
        rest = r;
        parts += 1;
    }
    if !rest.is_empty() {
        let pre = rest.strip_prefix('-').unwrap_or(rest);
        let starts_ok =
            rest.starts_with('-') || rest.starts_with(|c: char| c.is_ascii_alphabetic());
        if !(starts_ok && parts == 3 && is_ident(pre)) {
            return Err(BAD);
        }
        p.pre = pre;
    }
    if !p.build.is_empty() && parts < 3 {
        return Err(BAD);
    }
    Ok(p)
}

fn with_pre(core: String, pre: &str) -> String {
    if pre.is_empty() {
        core
    } else {
        format!("{core}-{pre}")
    }
}

/// Expands one comparator (`^1.2`, `~1`, `>=1.2.x`, `1.2.3`, `*`) into `out`.
fn comparator(token: &str, out: &mut Vec<Comparator>) -> Result<(), &'static str> {
    if let Some(rest) = token.strip_prefix('^') {
        return caret(partial(rest)?, out);
    }
    if let Some(rest) = token.strip_prefix("~>").or_else(|| token.strip_prefix('~')) {
        return tilde(partial(rest)?, out);
    }
    let (op, rest) = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ]
    .iter()
    .find_map(|&(p, op)| token.strip_prefix(p).map(|r| (Some(op), r)))
    .unwrap_or((None, token));
    x_range(op, partial(rest)?, out)
}

fn caret(p: Partial<'_>, out: &mut Vec<Comparator>) -> Result<(), &'static str> {
    let Some(major) = p.major else {
        return Ok(());
    };
    let (low, high) = match (p.minor, p.patch) {
        (None, _) => (
            format!("{major}.0.0"),
            format!("{}.0.0-0", increment(major)),
        ),
        (Some(minor), None) if major == "0" => (
            format!("{major}.{minor}.0"),
            format!("{major}.{}.0-0", increment(minor)),
        ),
        (Some(minor), None) => (
            format!("{major}.{minor}.0"),
            format!("{}.0.0-0", increment(major)),
        ),
        (Some(minor), Some(patch)) => {
            let low = with_pre(format!("{major}.{minor}.{patch}"), p.pre);
            let high = if major != "0" {
                format!("{}.0.0-0", increment(major))
            } else if minor != "0" {
                format!("{major}.{}.0-0", increment(minor))
            } else {
                format!("{major}.{minor}.{}-0", increment(patch))
            };
            (low, high)
        }
    };
    out.push(Comparator::new(Op::Ge, low)?);
    out.push(Comparator::new(Op::Lt, high)?);
    Ok(())
}

fn tilde(p: Partial<'_>, out: &mut Vec<Comparator>) -> Result<(), &'static str> {
    let Some(major) = p.major else {
        return Ok(());
    };
    let (low, high) = match (p.minor, p.patch) {
        (None, _) => (
            format!("{major}.0.0"),
            format!("{}.0.0-0", increment(major)),
        ),
        (Some(minor), None) => (
            format!("{major}.{minor}.0"),
            format!("{major}.{}.0-0", increment(minor)),
        ),
        (Some(minor), Some(patch)) => (
            with_pre(format!("{major}.{minor}.{patch}"), p.pre),
            format!("{major}.{}.0-0", increment(minor)),
        ),
    };
    out.push(Comparator::new(Op::Ge, low)?);
    out.push(Comparator::new(Op::Lt, high)?);
    Ok(())
}

/// node-semver's `replaceXRange`, and plain comparators when nothing is an `x`.
fn x_range(op: Option<Op>, p: Partial<'_>, out: &mut Vec<Comparator>) -> Result<(), &'static str> {
    let Some(major) = p.major else {
        // `<*` and `>*` allow nothing; `*`, `>=*`, `<=*` and `=*` allow anything.
        if matches!(op, Some(Op::Lt | Op::Gt)) {
            out.push(Comparator::new(Op::Lt, "0.0.0-0".to_owned())?);
        }
        return Ok(());
    };
    let (Some(minor), Some(patch)) = (p.minor, p.patch) else {
        let minor = p.minor;
        return match op {
            None | Some(Op::Eq) => {
                let (low, high) = match minor {
                    None => (
                        format!("{major}.0.0"),
                        format!("{}.0.0-0", increment(major)),
                    ),
                    Some(m) => (
                        format!("{major}.{m}.0"),
                        format!("{major}.{}.0-0", increment(m)),
                    ),
                };
                out.push(Comparator::new(Op::Ge, low)?);
                out.push(Comparator::new(Op::Lt, high)?);
                Ok(())
            }
            Some(op) => {
                let m = minor.unwrap_or("0");
                let (op, text) = match (op, minor) {
                    (Op::Gt, None) => (Op::Ge, format!("{}.0.0", increment(major))),
                    (Op::Gt, Some(m)) => (Op::Ge, format!("{major}.{}.0", increment(m))),
                    (Op::Le, None) => (Op::Lt, format!("{}.0.0-0", increment(major))),
                    (Op::Le, Some(m)) => (Op::Lt, format!("{major}.{}.0-0", increment(m))),
                    (Op::Lt, _) => (Op::Lt, format!("{major}.{m}.0-0")),
                    (op, _) => (op, format!("{major}.{m}.0")),
                };
                out.push(Comparator::new(op, text)?);
                Ok(())
            }
        };
    };
    let mut text = with_pre(format!("{major}.{minor}.{patch}"), p.pre);
    if !p.build.is_empty() {
        text.push('+');
        text.push_str(p.build);
    }
    out.push(Comparator::new(op.unwrap_or(Op::Eq), text)?);
    Ok(())
}

/// node-semver's `hyphenReplace`: `A - B` is `>=A <=B`, partial ends widening as x-ranges.
fn hyphen(
    from: Partial<'_>,
    to: Partial<'_>,
    out: &mut Vec<Comparator>,
) -> Result<(), &'static str> {
    if let Some(fm) = from.major {
        let low = match (from.minor, from.patch) {
            (None, _) => format!("{fm}.0.0"),
            (Some(m), None) => format!("{fm}.{m}.0"),
            (Some(m), Some(p)) => with_pre(format!("{fm}.{m}.{p}"), from.pre),
        };
        out.push(Comparator::new(Op::Ge, low)?);
    }
    if let Some(tm) = to.major {
        let (op, high) = match (to.minor, to.patch) {
            (None, _) => (Op::Lt, format!("{}.0.0-0", increment(tm))),
            (Some(m), None) => (Op::Lt, format!("{tm}.{}.0-0", increment(m))),
            (Some(m), Some(p)) => (Op::Le, with_pre(format!("{tm}.{m}.{p}"), to.pre)),
        };
        out.push(Comparator::new(op, high)?);
    }
    Ok(())
}

/// Splits a set into comparator tokens, joining an operator to the version after it
/// (`>= 1.2` is `>=1.2`, as node-semver's comparator, tilde and caret trims do).
fn tokens(set: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for word in set.split_whitespace() {
        pending.push_str(word);
        let only_operator = word
            .bytes()
            .all(|b| matches!(b, b'<' | b'>' | b'=' | b'~' | b'^'));
        if !only_operator {
            out.push(std::mem::take(&mut pending));
        }
    }
    if !pending.is_empty() {
        out.push(pending);
    }
    out
}

pub(crate) fn parse_range(text: &str) -> Result<Range, &'static str> {
    let mut any_of = Vec::new();
    for alternative in text.split("||") {
        let words: Vec<&str> = alternative.split_whitespace().collect();
        let mut set = Vec::new();
        let hyphenated = match words.as_slice() {
            [from, "-", to] => partial(from).and_then(|f| Ok((f, partial(to)?))).ok(),
            _ => None,
        };
        if let Some((from, to)) = hyphenated {
            hyphen(from, to, &mut set)?;
        } else {
            for token in tokens(alternative) {
                comparator(&token, &mut set)?;
            }
        }
        any_of.push(set);
    }
    Ok(Range { any_of })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(range: &str) -> String {
        parse_range(range)
            .unwrap()
            .any_of
            .iter()
            .map(|set| {
                set.iter()
                    .map(|c| {
                        let op = match c.op {
                            Op::Eq => "",
                            Op::Ne => "!=",
                            Op::Lt => "<",
                            Op::Le => "<=",
                            Op::Gt => ">",
                            Op::Ge => ">=",
                        };
                        format!("{op}{}", c.v.text)
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("||")
    }

    /// Expected strings from node-semver's own range-parse fixtures.
    #[test]
    fn expands_like_node_semver() {
        for (range, want) in [
            ("1.0.0 - 2.0.0", ">=1.0.0 <=2.0.0"),
            ("1 - 2", ">=1.0.0 <3.0.0-0"),
            ("1.0 - 2.0", ">=1.0.0 <2.1.0-0"),
            ("^1.2.3", ">=1.2.3 <2.0.0-0"),
            ("^0.2.3", ">=0.2.3 <0.3.0-0"),
            ("^0.0.3", ">=0.0.3 <0.0.4-0"),
            ("^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0"),
            ("^0.0.x", ">=0.0.0 <0.1.0-0"),
            ("^0.x", ">=0.0.0 <1.0.0-0"),
            ("~1.2.3", ">=1.2.3 <1.3.0-0"),
            ("~1.2", ">=1.2.0 <1.3.0-0"),
            ("~> 1", ">=1.0.0 <2.0.0-0"),
            ("1.x", ">=1.0.0 <2.0.0-0"),
            ("1.2.x", ">=1.2.0 <1.3.0-0"),
            (">1", ">=2.0.0"),
            (">1.2", ">=1.3.0"),
            ("<1.2", "<1.2.0-0"),
            ("<=1.2", "<1.3.0-0"),
            (">= 1.0.0", ">=1.0.0"),
            ("*", ""),
            ("", ""),
            ("<*", "<0.0.0-0"),
            (">=1 <2 || 3", ">=1.0.0 <2.0.0-0||>=3.0.0 <4.0.0-0"),
            ("1.2.3", "1.2.3"),
        ] {
            assert_eq!(expand(range), want, "{range}");
        }
    }
}
