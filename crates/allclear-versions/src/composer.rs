//! Packagist (Composer) versions and constraints.
//!
//! Ordering is PHP's `version_compare`, as OSV applies it to Packagist: one leading `v`/`V`
//! is dropped, `-`, `_`, `+` and `.` separate parts, a change between digits and other
//! characters starts a new part, numbers compare by value, and words by their special form —
//! `dev` < `alpha`/`a` < `beta`/`b` < `RC`/`rc` < `#` (a number stands for `#`) < `pl`/`p`,
//! matched by prefix, other words below `dev`. When one version has parts left over, a number
//! there makes it greater, a word compares against `#`.
//!
//! Constraints follow Composer's `VersionParser::parseConstraints` and match as Composer's
//! `Constraint` does: both the constraint's versions and the installed version are first
//! normalized (`VersionParser::normalize`: `1.2` → `1.2.0.0`, `1.0RC1` → `1.0.0.0-RC1`),
//! then compared with `version_compare`; `dev-` branches only match `==`/`!=` exactly.
//! Composer's patterns are kept as regular expressions, each compiled once.

use std::cmp::Ordering;
use std::sync::{LazyLock, OnceLock};

use regex::Regex;

use crate::num::{cmp_digits, increment};

/// A Packagist version; the Composer-normalized form is computed the first time a
/// constraint needs it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Composer {
    normalized: OnceLock<Option<Box<str>>>,
}

impl Composer {
    fn normalized<'a>(&'a self, text: &str) -> Option<&'a str> {
        self.normalized
            .get_or_init(|| normalize(text).map(String::into_boxed_str))
            .as_deref()
    }
}

/// Accepts any text without spaces or control characters that has at least one part:
/// `version_compare` orders any string, and Packagist holds tags of every shape.
pub(crate) fn parse(text: &str) -> Result<Composer, &'static str> {
    if text.is_empty() {
        return Err("empty version");
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("spaces and control characters are not allowed");
    }
    if Tokens::new(text).next().is_none() {
        return Err("no version parts");
    }
    Ok(Composer::default())
}

#[derive(Debug, Clone, Copy)]
enum Tok<'a> {
    Num(&'a str),
    Word(&'a str),
}

/// The parts `version_compare` sees after OSV's canonicalization.
struct Tokens<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        let text = text
            .strip_prefix('v')
            .or_else(|| text.strip_prefix('V'))
            .unwrap_or(text);
        Tokens { text, pos: 0 }
    }
}

fn is_separator(b: u8) -> bool {
    matches!(b, b'.' | b'-' | b'_' | b'+')
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Tok<'a>;

    fn next(&mut self) -> Option<Tok<'a>> {
        let bytes = self.text.as_bytes();
        while bytes.get(self.pos).copied().is_some_and(is_separator) {
            self.pos += 1;
        }
        let start = self.pos;
        let first = *bytes.get(start)?;
        let digit = first.is_ascii_digit();
        while bytes
            .get(self.pos)
            .is_some_and(|&b| !is_separator(b) && b.is_ascii_digit() == digit)
        {
            self.pos += 1;
        }
        let part = self.text.get(start..self.pos)?;
        Some(if digit {
            Tok::Num(part)
        } else {
            Tok::Word(part)
        })
    }
}

/// PHP's special forms, matched by prefix in PHP's order; `#` is what a number counts as.
fn weight(word: &str) -> i8 {
    const FORMS: [(&str, i8); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| word.starts_with(form))
        .map_or(-1, |&(_, w)| w)
}

const NUMBER_WEIGHT: i8 = 4;

fn cmp_tok(a: Tok<'_>, b: Tok<'_>) -> Ordering {
    match (a, b) {
        (Tok::Num(x), Tok::Num(y)) => cmp_digits(x, y),
        (Tok::Word(x), Tok::Word(y)) => weight(x).cmp(&weight(y)),
        (Tok::Num(_), Tok::Word(y)) => NUMBER_WEIGHT.cmp(&weight(y)),
        (Tok::Word(x), Tok::Num(_)) => weight(x).cmp(&NUMBER_WEIGHT),
    }
}

/// The parts one version has beyond the other: a number makes it greater, a word compares
/// with `#`.
fn cmp_rest<'a>(rest: impl Iterator<Item = Tok<'a>>) -> Ordering {
    for tok in rest {
        let ord = match tok {
            Tok::Num(_) => Ordering::Greater,
            Tok::Word(w) => weight(w).cmp(&NUMBER_WEIGHT),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// `version_compare(a, b)` on two version texts.
pub(crate) fn cmp_text(a: &str, b: &str) -> Ordering {
    let mut x = Tokens::new(a);
    let mut y = Tokens::new(b);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (Some(t), None) => return cmp_rest(std::iter::once(t).chain(x)),
            (None, Some(t)) => return cmp_rest(std::iter::once(t).chain(y)).reverse(),
            (Some(p), Some(q)) => {
                let ord = cmp_tok(p, q);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

pub(crate) fn cmp(_: &Composer, a: &str, _: &Composer, b: &str) -> Ordering {
    cmp_text(a, b)
}

/// Compiles one of Composer's patterns. They are constants, never input, and the unit test
/// `patterns_compile` forces every one of them.
#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant pattern compiles")
}

const MODIFIER: &str =
    r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?";

static STABILITY_END: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?i){MODIFIER}(?:\+.*)?$")));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stability {
    Stable,
    Rc,
    Beta,
    Alpha,
    Dev,
}

/// `VersionParser::parseStability`.
fn stability(version: &str) -> Stability {
    // `{#.+$}`: a `#ref` suffix does not count.
    let version = match version.find('#') {
        Some(i) if i + 1 < version.len() => version.get(..i).unwrap_or(version),
        _ => version,
    };
    if version.starts_with("dev-") || version.ends_with("-dev") {
        return Stability::Dev;
    }
    let lower = version.to_ascii_lowercase();
    let Some(m) = STABILITY_END.captures(&lower) else {
        return Stability::Stable;
    };
    if m.get(3).is_some_and(|g| !g.is_empty()) {
        return Stability::Dev;
    }
    match m.get(1).map(|g| g.as_str()) {
        Some("beta" | "b") => Stability::Beta,
        Some("alpha" | "a") => Stability::Alpha,
        Some("rc") => Stability::Rc,
        _ => Stability::Stable,
    }
}

pub(crate) fn is_prerelease(_: &Composer, text: &str) -> bool {
    stability(text) != Stability::Stable
}

static ALIAS: LazyLock<Regex> = LazyLock::new(|| re(r"^([^,\s]+) +as +([^,\s]+)$"));
static STABILITY_FLAG: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)@(?:stable|RC|beta|alpha|dev)$"));
static BUILD: LazyLock<Regex> = LazyLock::new(|| re(r"^([^,\s+]+)\+[^\s]+$"));
static CLASSICAL: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)^v?(\d{{1,5}})(\.\d+)?(\.\d+)?(\.\d+)?{MODIFIER}$"
    ))
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)^v?(\d{{4}}(?:[.:-]?\d{{2}}){{1,6}}(?:[.:-]?\d{{1,3}})?){MODIFIER}$"
    ))
});
static DEV_BRANCH: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(.*?)[.-]?dev$"));
static NUMERIC_BRANCH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$"));

fn expand_stability(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    match lower.as_str() {
        "a" => "alpha".to_owned(),
        "b" => "beta".to_owned(),
        "p" | "pl" => "patch".to_owned(),
        "rc" => "RC".to_owned(),
        _ => lower,
    }
}

/// `VersionParser::normalizeBranch`.
fn normalize_branch(name: &str) -> String {
    let name = name.trim();
    if let Some(m) = NUMERIC_BRANCH.captures(name) {
        let mut version = String::new();
        for i in 1..5 {
            match m.get(i) {
                Some(g) => version.push_str(&g.as_str().replace(['*', 'X'], "x")),
                None => version.push_str(".x"),
            }
        }
        return version.replace('x', "9999999") + "-dev";
    }
    format!("dev-{name}")
}

/// `VersionParser::normalize`; `None` where Composer throws.
pub(crate) fn normalize(version: &str) -> Option<String> {
    let mut version = version.trim();
    if let Some(m) = ALIAS.captures(version) {
        version = m.get(1)?.as_str();
    }
    if let Some(m) = STABILITY_FLAG.find(version) {
        version = version.get(..m.start())?;
    }
    let branch;
    if matches!(version, "master" | "trunk" | "default") {
        branch = format!("dev-{version}");
        version = &branch;
    }
    if version.len() >= 4 && version.get(..4)?.eq_ignore_ascii_case("dev-") {
        return Some(format!("dev-{}", version.get(4..)?));
    }
    if let Some(m) = BUILD.captures(version) {
        version = m.get(1)?.as_str();
    }
    let (mut out, m, index) = if let Some(m) = CLASSICAL.captures(version) {
        let mut out = m.get(1)?.as_str().to_owned();
        for i in 2..5 {
            out.push_str(m.get(i).map_or(".0", |g| g.as_str()));
        }
        (out, m, 5)
    } else if let Some(m) = DATE.captures(version) {
        let out = m
            .get(1)?
            .as_str()
            .chars()
            .map(|c| if c.is_ascii_digit() { c } else { '.' })
            .collect();
        (out, m, 2)
    } else {
        if let Some(m) = DEV_BRANCH.captures(version) {
            let normalized = normalize_branch(m.get(1)?.as_str());
            if !normalized.contains("dev-") {
                return Some(normalized);
            }
        }
        return None;
    };
    let group = |i: usize| m.get(i).map_or("", |g| g.as_str());
    if !group(index).is_empty() {
        if group(index) == "stable" {
            return Some(out);
        }
        out.push('-');
        out.push_str(&expand_stability(group(index)));
        out.push_str(group(index + 1).trim_start_matches(['.', '-']));
    }
    if !group(index + 2).is_empty() {
        out.push_str("-dev");
    }
    Some(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    /// Normalized, as Composer keeps it.
    version: Box<str>,
}

impl Constraint {
    fn new(op: Op, version: String) -> Constraint {
        Constraint {
            op,
            version: version.into_boxed_str(),
        }
    }

    /// `Constraint::matchSpecific` against `== installed` (`Constraint::versionCompare`).
    fn matches(&self, installed: &str) -> bool {
        let a_branch = installed.starts_with("dev-");
        let b_branch = self.version.starts_with("dev-");
        if self.op == Op::Ne && (a_branch || b_branch) {
            return installed != &*self.version;
        }
        if a_branch && b_branch {
            return self.op == Op::Eq && installed == &*self.version;
        }
        if a_branch || b_branch {
            return false;
        }
        let ord = cmp_text(installed, &self.version);
        match self.op {
            Op::Eq => ord.is_eq(),
            Op::Ne => ord.is_ne(),
            Op::Lt => ord.is_lt(),
            Op::Le => ord.is_le(),
            Op::Gt => ord.is_gt(),
            Op::Ge => ord.is_ge(),
        }
    }
}

/// Alternatives (`||`), each a list of constraints that must all hold (empty: any version).
#[derive(Debug, Clone)]
pub(crate) struct Req {
    any_of: Vec<Vec<Constraint>>,
}

static OR_SPLIT: LazyLock<Regex> = LazyLock::new(|| re(r"\s*\|\|?\s*"));
static STABILITY_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^([^,\s]*?)@(stable|RC|beta|alpha|dev)$"));
static REF_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^(dev-[^,\s@]+?|[^,\s@]+?\.x-dev)#.+$"));
static ANY: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(v)?[xX*](\.[xX*])*$"));
const VERSION: &str = r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?|\.([xX*][.-]?dev))(?:\+[^\s]+)?";
static TILDE: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?i)^~>?{VERSION}$")));
static CARET: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?i)^\^{VERSION}($)")));
static X_RANGE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.[xX*])+$"));
static HYPHEN: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)^(?P<from>{VERSION}) +- +(?P<to>{VERSION})($)"
    ))
});
static BASIC: LazyLock<Regex> = LazyLock::new(|| re(r"^(<>|!=|>=?|<=?|==?)?\s*(.*)"));
static ENDS_WITH_MODIFIER: LazyLock<Regex> = LazyLock::new(|| re(&format!("-{MODIFIER}$")));
static BRANCH_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[0-9a-zA-Z./-]+$"));

/// Composer's `empty()` on a captured group: absent, `""` and `"0"` are empty.
fn php_empty(s: &str) -> bool {
    s.is_empty() || s == "0"
}

/// `VersionParser::manipulateVersionString` for increments and padding (`parts` are the
/// four captured numbers, `position` counts from 1).
fn manipulate(parts: [&str; 4], position: usize, bump: bool) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        let i = i + 1;
        if i > 1 {
            out.push('.');
        }
        if i > position {
            out.push('0');
        } else if i == position && bump {
            out.push_str(&increment(part));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Splits one alternative into its constraints where Composer's
/// `(?<!^|as|[=>< ,]) *(?<!-)[, ](?!-) *(?!,|as|$)` would: at a run of spaces with at most
/// one comma, not after an operator, `-` or `as`, not before `-`, `as` or the end.
fn split_and(s: &str) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let mut piece_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !matches!(bytes.get(i), Some(b' ' | b',')) {
            i += 1;
            continue;
        }
        let run_start = i;
        while matches!(bytes.get(i), Some(b' ' | b',')) {
            i += 1;
        }
        let run = s.get(run_start..i).unwrap_or("");
        let before = s.get(..run_start).unwrap_or("");
        let after = s.get(i..).unwrap_or("");
        let splits = run_start > 0
            && run.matches(',').count() <= 1
            && !before.ends_with(['=', '>', '<', '-'])
            && !before.ends_with("as")
            && !after.is_empty()
            && !after.starts_with('-')
            && !after.starts_with("as");
        if splits {
            parts.push(s.get(piece_start..run_start).unwrap_or(""));
            piece_start = i;
        }
    }
    parts.push(s.get(piece_start..).unwrap_or(""));
    parts
}

pub(crate) fn parse_req(text: &str) -> Result<Req, &'static str> {
    let mut any_of = Vec::new();
    for alternative in OR_SPLIT.split(text.trim()) {
        let mut all_of = Vec::new();
        for piece in split_and(alternative) {
            all_of.extend(parse_constraint(piece)?);
        }
        any_of.push(all_of);
    }
    Ok(Req { any_of })
}

fn group<'a>(m: &regex::Captures<'a>, i: usize) -> &'a str {
    m.get(i).map_or("", |g| g.as_str())
}

/// `VersionParser::parseConstraint`: one constraint to one or two bounds (none: any).
fn parse_constraint(constraint: &str) -> Result<Vec<Constraint>, &'static str> {
    const BAD: &str = "not a Composer version constraint";
    let mut c = constraint;
    if let Some(m) = ALIAS.captures(c) {
        c = group(&m, 1);
    }
    let mut stability_modifier = None;
    if let Some(m) = STABILITY_SUFFIX.captures(c) {
        c = if group(&m, 1).is_empty() {
            "*"
        } else {
            group(&m, 1)
        };
        if group(&m, 2) != "stable" {
            stability_modifier = Some(group(&m, 2));
        }
    }
    if let Some(m) = REF_SUFFIX.captures(c) {
        c = group(&m, 1);
    }
    if let Some(m) = ANY.captures(c) {
        if m.get(1).is_some() || m.get(2).is_some() {
            return Ok(vec![Constraint::new(Op::Ge, "0.0.0.0-dev".to_owned())]);
        }
        return Ok(Vec::new());
    }
    if let Some(m) = TILDE.captures(c) {
        if c.starts_with("~>") {
            return Err("`~>` is not a Composer operator (Composer's tilde is `~`)");
        }
        let mut position = (2..5)
            .rev()
            .find(|&i| !group(&m, i).is_empty())
            .unwrap_or(1);
        if !php_empty(group(&m, 8)) {
            position += 1;
        }
        let suffix =
            if php_empty(group(&m, 5)) && php_empty(group(&m, 7)) && php_empty(group(&m, 8)) {
                "-dev"
            } else {
                ""
            };
        let low = normalize(&format!("{}{suffix}", c.get(1..).unwrap_or(""))).ok_or(BAD)?;
        let parts = [group(&m, 1), group(&m, 2), group(&m, 3), group(&m, 4)];
        let high = manipulate(parts, position.saturating_sub(1).max(1), true) + "-dev";
        return Ok(vec![
            Constraint::new(Op::Ge, low),
            Constraint::new(Op::Lt, high),
        ]);
    }
    if let Some(m) = CARET.captures(c) {
        let position = if group(&m, 1) != "0" || group(&m, 2).is_empty() {
            1
        } else if group(&m, 2) != "0" || group(&m, 3).is_empty() {
            2
        } else {
            3
        };
        let suffix =
            if php_empty(group(&m, 5)) && php_empty(group(&m, 7)) && php_empty(group(&m, 8)) {
                "-dev"
            } else {
                ""
            };
        let low = normalize(&format!("{}{suffix}", c.get(1..).unwrap_or(""))).ok_or(BAD)?;
        let parts = [group(&m, 1), group(&m, 2), group(&m, 3), group(&m, 4)];
        let high = manipulate(parts, position, true) + "-dev";
        return Ok(vec![
            Constraint::new(Op::Ge, low),
            Constraint::new(Op::Lt, high),
        ]);
    }
    if let Some(m) = X_RANGE.captures(c) {
        let position = (2..4)
            .rev()
            .find(|&i| !group(&m, i).is_empty())
            .unwrap_or(1);
        let parts = [group(&m, 1), group(&m, 2), group(&m, 3), "0"];
        let low = manipulate(parts, position, false) + "-dev";
        let high = manipulate(parts, position, true) + "-dev";
        if low == "0.0.0.0-dev" {
            return Ok(vec![Constraint::new(Op::Lt, high)]);
        }
        return Ok(vec![
            Constraint::new(Op::Ge, low),
            Constraint::new(Op::Lt, high),
        ]);
    }
    if let Some(m) = HYPHEN.captures(c) {
        let low_suffix =
            if php_empty(group(&m, 6)) && php_empty(group(&m, 8)) && php_empty(group(&m, 9)) {
                "-dev"
            } else {
                ""
            };
        let low = normalize(group(&m, 1)).ok_or(BAD)? + low_suffix;
        // Composer's own `$empty` here counts "0" as present.
        let absent = |i: usize| group(&m, i).is_empty();
        let high = if (!absent(12) && !absent(13))
            || !php_empty(group(&m, 15))
            || !php_empty(group(&m, 17))
            || !php_empty(group(&m, 18))
        {
            Constraint::new(Op::Le, normalize(group(&m, 10)).ok_or(BAD)?)
        } else {
            normalize(group(&m, 10)).ok_or(BAD)?;
            let parts = [group(&m, 11), group(&m, 12), group(&m, 13), group(&m, 14)];
            let position = if absent(12) { 1 } else { 2 };
            Constraint::new(Op::Lt, manipulate(parts, position, true) + "-dev")
        };
        return Ok(vec![Constraint::new(Op::Ge, low), high]);
    }
    let m = BASIC.captures(c).ok_or(BAD)?;
    let (op_text, rest) = (group(&m, 1), group(&m, 2));
    let mut version = match normalize(rest) {
        Some(v) => v,
        None if rest.ends_with("-dev") && BRANCH_NAME.is_match(rest) => {
            normalize(&format!("dev-{}", rest.get(..rest.len() - 4).unwrap_or(""))).ok_or(BAD)?
        }
        None => return Err(BAD),
    };
    let op = match op_text {
        "" | "=" | "==" => Op::Eq,
        "!=" | "<>" => Op::Ne,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        _ => return Err(BAD),
    };
    if op != Op::Eq
        && let Some(modifier) = stability_modifier
        && stability(&version) == Stability::Stable
    {
        version.push('-');
        version.push_str(modifier);
    } else if matches!(op, Op::Lt | Op::Ge)
        && !ENDS_WITH_MODIFIER.is_match(&rest.to_ascii_lowercase())
        && !rest.starts_with("dev-")
    {
        version.push_str("-dev");
    }
    Ok(vec![Constraint::new(op, version)])
}

pub(crate) fn matches(req: &Req, v: &Composer, text: &str) -> bool {
    let Some(installed) = v.normalized(text) else {
        return false;
    };
    req.any_of
        .iter()
        .any(|all_of| all_of.iter().all(|c| c.matches(installed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        for r in [
            &STABILITY_END,
            &ALIAS,
            &STABILITY_FLAG,
            &BUILD,
            &CLASSICAL,
            &DATE,
            &DEV_BRANCH,
            &NUMERIC_BRANCH,
            &OR_SPLIT,
            &STABILITY_SUFFIX,
            &REF_SUFFIX,
            &ANY,
            &TILDE,
            &CARET,
            &X_RANGE,
            &HYPHEN,
            &BASIC,
            &ENDS_WITH_MODIFIER,
            &BRANCH_NAME,
        ] {
            assert!(!r.as_str().is_empty());
        }
    }

    #[test]
    fn normalizes_as_composer() {
        for (input, want) in [
            ("1.0.0", Some("1.0.0.0")),
            ("v1.2", Some("1.2.0.0")),
            ("1.0RC1", Some("1.0.0.0-RC1")),
            ("1.0.0-beta.2", Some("1.0.0.0-beta2")),
            ("1.0pl1", Some("1.0.0.0-patch1")),
            ("1.0-dev", Some("1.0.0.0-dev")),
            ("1.x-dev", Some("1.9999999.9999999.9999999-dev")),
            ("dev-master", Some("dev-master")),
            ("master", Some("dev-master")),
            ("1.0.0+build.5", Some("1.0.0.0")),
            ("20100102", Some("20100102")),
            ("2010-01-02.5", Some("2010.01.02.5")),
            ("1.0.0-stable", Some("1.0.0.0")),
            ("1.2.3.4.5", None),
            ("foo", None),
        ] {
            assert_eq!(normalize(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn stabilities() {
        for (v, s) in [
            ("1.0.0", Stability::Stable),
            ("v2.0.0-beta1", Stability::Beta),
            ("1.0.0-RC2", Stability::Rc),
            ("1.0a1", Stability::Alpha),
            ("dev-main", Stability::Dev),
            ("2.1.x-dev", Stability::Dev),
            ("1.0.0-pl2", Stability::Stable),
            ("1.0.0+beta", Stability::Stable),
        ] {
            assert_eq!(stability(v), s, "{v}");
        }
    }

    #[test]
    fn splits_alternatives_like_composer() {
        assert_eq!(split_and(">=1.0,<1.2"), [">=1.0", "<1.2"]);
        assert_eq!(split_and(">=2.0 <2.1"), [">=2.0", "<2.1"]);
        assert_eq!(split_and(">= 2.0 , < 2.1"), [">= 2.0", "< 2.1"]);
        assert_eq!(split_and("1.0 - 2.0"), ["1.0 - 2.0"]);
        assert_eq!(split_and("1.0.x-dev as 1.0.0"), ["1.0.x-dev as 1.0.0"]);
    }
}
