//! Python `re` patterns on Rust engines, in time linear in the text wherever the pattern allows.
//!
//! allclear reads fail2ban's filters unchanged, and those are Python regular expressions that an
//! attacker's log lines are matched against; see docs/decisions/0014-python-regex-engine.md for
//! why this engine exists and what its contract is.
//!
//! ```
//! use allclear_pyregex::PyRegex;
//!
//! // A fail2ban-style pattern: Python spelling (`(?P<name>…)`, `\Z`), a conditional group.
//! let re = PyRegex::new(r"^Failed password for (?P<inv>invalid user )?(?P<user>\S+) from (?P<ip>\S+)(?(inv) \(invalid\)|)\Z", false).unwrap();
//! let mut slots = re.slots();
//! let line = "Failed password for invalid user admin from 192.0.2.7 (invalid)";
//! assert!(re.captures(line, &mut slots).unwrap());
//! let (start, end) = slots.get(re.group_index("user").unwrap()).unwrap();
//! assert_eq!(&line[start..end], "admin");
//! // The conditional was expanded for the linear engine: no backtracking on this pattern.
//! assert!(!re.is_backtracking());
//! ```
//!
//! fail2ban filters are Python regular expressions. Most of them only use syntax the linear-time
//! `regex` crate has (with different spelling in places: `\Z`, `{,n}`, octal escapes, `[` and `&`
//! inside classes, `\<` …), so each pattern is translated token by token. Patterns that need
//! backtracking (lookaround, backreferences, conditionals, atomic groups, possessive
//! quantifiers) go to `fancy-regex` with a backtrack limit, so a hostile line cannot stall the
//! analyser: hitting the limit counts as "no match". For those, a *relaxed* pattern (lookaround
//! dropped, conditionals as plain alternation, backreferences as `.*`) that matches a superset
//! runs first on the linear engine, so the backtracking engine only sees lines that can match.
//!
//! Two lookaheads fail2ban's date templates put around every date, `(?=^|\b|\W)` and
//! `(?=\b|\W|$)`, are expressible as half word boundaries and are rewritten, so dates stay on the
//! linear engine.
//!
//! Conditionals whose group is decided by an item of the same sequence, and tempered loops
//! `(?:(?!LIT).)*`, are rewritten for the linear engine where the rewrite is exact (see
//! `expand.rs`): fail2ban's sshd `Failed …` regex runs without backtracking, even on lines
//! with an injected ` from ` in the user name (its loops are followed by fixed text, so they
//! are written exactly, with no check after the match). `fancy-regex` only sees lines where a
//! loop that is still checked fails its check. A linear pattern ending in `(.+)$` (fail2ban's
//! `prefregex`) captures its head first and takes the rest of the line as the last group.

mod expand;
mod livecap;

use std::collections::HashMap;

use regex_automata::nfa::thompson::backtrack::{BoundedBacktracker, Cache as BtCache};

use crate::livecap::{LiveCache, LiveCapturer};

/// Backtracking steps allowed per search before a pattern counts as not matching.
pub const BACKTRACK_LIMIT: usize = 100_000;
/// Compiled-size limit for one pattern on the linear engine.
const SIZE_LIMIT: usize = 64 << 20;
/// Lazy DFA cache per pattern.
const DFA_SIZE_LIMIT: usize = 4 << 20;

/// A pattern could not be translated or compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    /// The pattern is not valid Python syntax (or uses Python syntax with no Rust equivalent).
    #[error("at offset {offset}: {message}")]
    Syntax { offset: usize, message: String },
    /// The translated pattern was rejected by both engines.
    #[error("cannot compile: {message}")]
    Compile { message: String },
}

fn syntax(offset: usize, message: impl Into<String>) -> RegexError {
    RegexError::Syntax {
        offset,
        message: message.into(),
    }
}

/// The result of translating one Python pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// Rust syntax: `regex` crate syntax unless `needs_backtracking` lists features, in which
    /// case `fancy-regex` syntax.
    pub exact: String,
    /// `regex` crate syntax matching every string `exact` matches (and maybe more).
    pub relaxed: String,
    /// Features that need the backtracking engine (empty: the linear engine runs `exact`).
    pub needs_backtracking: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Group,
    Lookaround,
    Conditional,
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// Offset in the source of the `(`.
    src_start: usize,
    exact_start: usize,
    relaxed_start: usize,
    has_alt: bool,
    /// Backtracking features counted when the frame opened (to undo on rewrite).
    features_before: usize,
}

/// Lookarounds with an exact linear-engine equivalent (source text → Rust syntax).
const LOOK_REWRITES: &[(&str, &str)] = &[
    // fail2ban's word-begin bound: not between two word characters, looking right.
    (r"(?=^|\b|\W)", r"(?:\b{start-half}|\b{end-half})"),
    // fail2ban's word-end bound: next is a non-word character or the end, or a word starts.
    (r"(?=\b|\W|$)", r"(?:\b{end-half}|\b{start})"),
];

/// Translates a Python `re` pattern.
pub fn translate(pattern: &str) -> Result<Translation, RegexError> {
    let pattern = glob_to_local_flags(pattern);
    let chars: Vec<(usize, char)> = pattern.char_indices().collect();
    let mut t = Translator {
        src: &pattern,
        chars: &chars,
        pos: 0,
        exact: String::with_capacity(pattern.len() + 16),
        relaxed: String::with_capacity(pattern.len() + 16),
        features: Vec::new(),
        frames: Vec::new(),
        global_flags: String::new(),
        verbose: false,
        groups: 0,
        names: Vec::new(),
        // Whether the last emitted item can take a quantifier.
        can_repeat: false,
    };
    t.run()?;
    let prefix = if t.global_flags.is_empty() {
        String::new()
    } else {
        format!("(?{})", t.global_flags)
    };
    let mut features = t.features;
    features.sort_unstable();
    features.dedup();
    Ok(Translation {
        exact: format!("{prefix}{}", t.exact),
        relaxed: format!("{prefix}{}", t.relaxed),
        needs_backtracking: features,
    })
}

/// fail2ban's `R_GLOB2LOCFLAGS`: `((?i)x)` and `(?:(?i)x)` become `(?i:x)`.
fn glob_to_local_flags(pattern: &str) -> String {
    let bytes = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = i > 0 && bytes[i - 1] == b'\\';
        if bytes[i] == b'(' && !escaped {
            let mut j = i + 1;
            if pattern[j..].starts_with("?:") {
                j += 2;
            }
            if pattern[j..].starts_with("(?") {
                let k = j + 2;
                let letters = pattern[k..]
                    .bytes()
                    .take_while(u8::is_ascii_lowercase)
                    .count();
                if letters > 0 && bytes.get(k + letters) == Some(&b')') {
                    out.push_str(&pattern[j..k + letters]);
                    out.push(':');
                    i = k + letters + 1;
                    continue;
                }
            }
        }
        let ch_len = pattern[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&pattern[i..i + ch_len]);
        i += ch_len;
    }
    out
}

struct Translator<'a> {
    src: &'a str,
    chars: &'a [(usize, char)],
    pos: usize,
    exact: String,
    relaxed: String,
    features: Vec<&'static str>,
    frames: Vec<Frame>,
    global_flags: String,
    verbose: bool,
    groups: usize,
    names: Vec<String>,
    can_repeat: bool,
}

impl Translator<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|&(_, c)| c)
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).map(|&(_, c)| c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.pos).map_or(self.src.len(), |&(o, _)| o)
    }

    fn rest(&self) -> &str {
        &self.src[self.offset()..]
    }

    fn emit(&mut self, s: &str) {
        self.exact.push_str(s);
        self.relaxed.push_str(s);
    }

    fn need(&mut self, feature: &'static str) {
        self.features.push(feature);
    }

    fn run(&mut self) -> Result<(), RegexError> {
        while let Some(c) = self.peek() {
            let at = self.offset();
            match c {
                '\\' => {
                    self.pos += 1;
                    self.escape(at)?;
                }
                '[' => {
                    self.pos += 1;
                    self.class(at)?;
                    self.can_repeat = true;
                }
                '(' => {
                    self.open_group(at)?;
                }
                ')' => {
                    self.pos += 1;
                    self.close_group(at)?;
                    self.can_repeat = true;
                }
                '|' => {
                    self.pos += 1;
                    if let Some(f) = self.frames.last_mut() {
                        f.has_alt = true;
                    }
                    self.emit("|");
                    self.can_repeat = false;
                }
                '*' | '+' | '?' => {
                    self.pos += 1;
                    self.quantifier(at, &c.to_string())?;
                }
                '{' => {
                    if let Some(q) = self.python_repeat() {
                        self.quantifier(at, &q)?;
                    } else {
                        self.pos += 1;
                        self.emit(r"\{");
                        self.can_repeat = true;
                    }
                }
                '^' | '$' | '.' => {
                    self.pos += 1;
                    self.emit(&c.to_string());
                    self.can_repeat = c == '.';
                }
                '#' if self.verbose => {
                    // Comment to the end of the line in verbose mode (both engines agree).
                    while let Some(ch) = self.peek() {
                        self.pos += 1;
                        if ch == '\n' {
                            break;
                        }
                    }
                }
                c if self.verbose && c.is_whitespace() => {
                    self.pos += 1;
                }
                _ => {
                    self.pos += 1;
                    let lit = literal(c, false);
                    self.emit(&lit);
                    self.can_repeat = true;
                }
            }
        }
        if let Some(f) = self.frames.last() {
            return Err(syntax(f.src_start, "missing ), unterminated subpattern"));
        }
        Ok(())
    }

    /// A Python `{m,n}` quantifier at the cursor (consumed), as Rust syntax; `None` when the
    /// brace is a literal (Python treats malformed repeats as literal text).
    fn python_repeat(&mut self) -> Option<String> {
        let rest = self.rest();
        let body_end = rest.find('}')?;
        let body = &rest[1..body_end];
        if body.is_empty() {
            return None;
        }
        let (lo, hi) = match body.split_once(',') {
            Some((lo, hi)) => (lo, Some(hi)),
            None => (body, None),
        };
        if !lo.bytes().all(|b| b.is_ascii_digit())
            || !hi.is_none_or(|h| h.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let lo_n = if lo.is_empty() {
            0
        } else {
            lo.parse::<u32>().ok()?
        };
        let q = match hi {
            None => format!("{{{lo_n}}}"),
            Some("") => format!("{{{lo_n},}}"),
            Some(h) => format!("{{{lo_n},{}}}", h.parse::<u32>().ok()?),
        };
        self.pos += rest[..=body_end].chars().count();
        Some(q)
    }

    fn quantifier(&mut self, at: usize, q: &str) -> Result<(), RegexError> {
        if !self.can_repeat {
            return Err(syntax(at, "nothing to repeat"));
        }
        self.emit(q);
        match self.peek() {
            Some('?') => {
                self.pos += 1;
                self.emit("?");
            }
            Some('+') => {
                // Possessive (Python 3.11): backtracking engine; the relaxed form is greedy.
                self.pos += 1;
                self.exact.push('+');
                self.need("possessive quantifier");
            }
            _ => {}
        }
        self.can_repeat = false;
        Ok(())
    }

    fn escape(&mut self, at: usize) -> Result<(), RegexError> {
        let Some(c) = self.peek() else {
            return Err(syntax(at, "bad escape (end of pattern)"));
        };
        self.pos += 1;
        self.can_repeat = true;
        match c {
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => self.emit(&format!("\\{c}")),
            'b' | 'B' | 'A' => {
                self.emit(&format!("\\{c}"));
                self.can_repeat = false;
            }
            'Z' => {
                self.emit(r"\z");
                self.can_repeat = false;
            }
            'n' => self.emit(r"\n"),
            't' => self.emit(r"\t"),
            'r' => self.emit(r"\r"),
            'f' => self.emit(r"\f"),
            'v' => self.emit(r"\v"),
            'a' => self.emit(r"\x07"),
            'x' | 'u' | 'U' => {
                let ch = self.hex_escape(at, c)?;
                self.emit(&literal(ch, false));
            }
            '0' => {
                let ch = self.octal(at, 0)?;
                self.emit(&literal(ch, false));
            }
            '1'..='9' => {
                // Octal with three digits, otherwise a group reference.
                let d2 = self.peek();
                let d3 = self.peek_at(1);
                let is_oct = |x: Option<char>| x.is_some_and(|x| ('0'..='7').contains(&x));
                if c <= '7' && is_oct(d2) && is_oct(d3) {
                    let mut v = c.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        v = v * 8 + self.peek().and_then(|x| x.to_digit(8)).unwrap_or(0);
                        self.pos += 1;
                    }
                    let ch = char::from_u32(v)
                        .filter(|_| v <= 0o377)
                        .ok_or_else(|| syntax(at, "octal escape out of range"))?;
                    self.emit(&literal(ch, false));
                } else {
                    let mut n = c.to_digit(10).unwrap_or(0) as usize;
                    if let Some(d) = d2.and_then(|d| d.to_digit(10)) {
                        n = n * 10 + d as usize;
                        self.pos += 1;
                    }
                    if n > self.groups {
                        return Err(syntax(at, format!("invalid group reference {n}")));
                    }
                    self.exact.push_str(&format!("\\{n}"));
                    self.relaxed.push_str("(?s:.*?)");
                    self.need("backreference");
                }
            }
            'N' => return Err(syntax(at, r"\N{...} escapes are not supported")),
            c if c.is_ascii_alphanumeric() => {
                return Err(syntax(at, format!("bad escape \\{c}")));
            }
            c => self.emit(&literal(c, false)),
        }
        Ok(())
    }

    fn hex_escape(&mut self, at: usize, kind: char) -> Result<char, RegexError> {
        let n = match kind {
            'x' => 2,
            'u' => 4,
            _ => 8,
        };
        let mut v: u32 = 0;
        for _ in 0..n {
            let d = self
                .peek()
                .and_then(|x| x.to_digit(16))
                .ok_or_else(|| syntax(at, format!("incomplete escape \\{kind}")))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        char::from_u32(v).ok_or_else(|| syntax(at, "escape is not a Unicode scalar value"))
    }

    /// `\0` followed by up to two octal digits (the `0` already consumed).
    fn octal(&mut self, at: usize, first: u32) -> Result<char, RegexError> {
        let mut v = first;
        for _ in 0..2 {
            match self.peek().and_then(|x| x.to_digit(8)) {
                Some(d) => {
                    v = v * 8 + d;
                    self.pos += 1;
                }
                None => break,
            }
        }
        char::from_u32(v).ok_or_else(|| syntax(at, "bad octal escape"))
    }

    /// A character class; `[` consumed. Parsed into items and re-emitted canonically so that
    /// Rust's class extensions (nested `[`, `&&`, `--`, `~~`, `[:alpha:]`) never trigger.
    fn class(&mut self, at: usize) -> Result<(), RegexError> {
        let mut out = String::from("[");
        if self.peek() == Some('^') {
            self.pos += 1;
            out.push('^');
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(syntax(at, "unterminated character set"));
            };
            let item_at = self.offset();
            self.pos += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                self.class_escape(item_at)?
            } else {
                ClassAtom::Char(c)
            };
            if self.peek() == Some('-') {
                self.pos += 1;
                let Some(that) = self.peek() else {
                    return Err(syntax(at, "unterminated character set"));
                };
                self.pos += 1;
                if that == ']' {
                    out.push_str(&lo.render());
                    out.push_str(r"\-");
                    break;
                }
                let hi = if that == '\\' {
                    self.class_escape(item_at)?
                } else {
                    ClassAtom::Char(that)
                };
                match (lo, hi) {
                    (ClassAtom::Char(a), ClassAtom::Char(b)) if a <= b => {
                        out.push_str(&literal(a, true));
                        out.push('-');
                        out.push_str(&literal(b, true));
                    }
                    _ => return Err(syntax(item_at, "bad character range")),
                }
            } else {
                out.push_str(&lo.render());
            }
        }
        out.push(']');
        self.emit(&out);
        Ok(())
    }

    fn class_escape(&mut self, at: usize) -> Result<ClassAtom, RegexError> {
        let Some(c) = self.peek() else {
            return Err(syntax(at, "bad escape (end of pattern)"));
        };
        self.pos += 1;
        Ok(match c {
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => ClassAtom::Class(c),
            'n' => ClassAtom::Char('\n'),
            't' => ClassAtom::Char('\t'),
            'r' => ClassAtom::Char('\r'),
            'f' => ClassAtom::Char('\x0c'),
            'v' => ClassAtom::Char('\x0b'),
            'a' => ClassAtom::Char('\x07'),
            'b' => ClassAtom::Char('\x08'),
            'x' | 'u' | 'U' => ClassAtom::Char(self.hex_escape(at, c)?),
            '0'..='7' => {
                let first = c.to_digit(8).unwrap_or(0);
                ClassAtom::Char(self.octal(at, first)?)
            }
            c if c.is_ascii_alphanumeric() => return Err(syntax(at, format!("bad escape \\{c}"))),
            c => ClassAtom::Char(c),
        })
    }

    fn open_group(&mut self, at: usize) -> Result<(), RegexError> {
        self.pos += 1;
        let features_before = self.features.len();
        let mut frame = Frame {
            kind: FrameKind::Group,
            src_start: at,
            exact_start: self.exact.len(),
            relaxed_start: self.relaxed.len(),
            has_alt: false,
            features_before,
        };
        if self.peek() != Some('?') {
            self.groups += 1;
            self.emit("(");
            self.frames.push(frame);
            self.can_repeat = false;
            return Ok(());
        }
        self.pos += 1;
        let rest = self.rest().to_owned();
        if let Some(r) = rest.strip_prefix("P<") {
            let name: String = r.chars().take_while(|&c| c != '>').collect();
            if name.is_empty()
                || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
                || name.starts_with(|c: char| c.is_ascii_digit())
                || r.len() == name.len()
            {
                return Err(syntax(at, "bad group name"));
            }
            if self.names.contains(&name) {
                return Err(syntax(at, format!("redefinition of group name {name:?}")));
            }
            self.pos += 2 + name.chars().count() + 1;
            self.groups += 1;
            self.emit(&format!("(?P<{name}>"));
            self.names.push(name);
        } else if let Some(r) = rest.strip_prefix("P=") {
            let name: String = r.chars().take_while(|&c| c != ')').collect();
            if !self.names.contains(&name) || r.len() == name.len() {
                return Err(syntax(at, format!("unknown group name {name:?}")));
            }
            self.pos += 2 + name.chars().count() + 1;
            self.exact.push_str(&format!("(?P={name})"));
            self.relaxed.push_str("(?s:.*?)");
            self.need("backreference");
            self.can_repeat = true;
            return Ok(());
        } else if rest.starts_with('#') {
            // Comment group: dropped.
            while let Some(c) = self.peek() {
                self.pos += 1;
                if c == ')' {
                    return Ok(());
                }
            }
            return Err(syntax(at, "missing ), unterminated comment"));
        } else if rest.starts_with(':') {
            self.pos += 1;
            self.emit("(?:");
        } else if rest.starts_with('>') {
            self.pos += 1;
            self.exact.push_str("(?>");
            self.relaxed.push_str("(?:");
            self.need("atomic group");
        } else if rest.starts_with('=')
            || rest.starts_with('!')
            || rest.starts_with("<=")
            || rest.starts_with("<!")
        {
            let len = if rest.starts_with('<') { 2 } else { 1 };
            self.pos += len;
            frame.kind = FrameKind::Lookaround;
            self.exact.push_str(&format!("(?{}", &rest[..len]));
            self.need("lookaround");
        } else if let Some(after) = rest.strip_prefix('(') {
            // Conditional: (?(name)yes|no) or (?(1)yes|no).
            let cond: String = after.chars().take_while(|&c| c != ')').collect();
            if cond.is_empty() || after.len() == cond.len() {
                return Err(syntax(at, "bad conditional"));
            }
            let valid = if cond.bytes().all(|b| b.is_ascii_digit()) {
                cond.parse::<usize>()
                    .is_ok_and(|n| n >= 1 && n <= self.groups)
            } else {
                self.names.contains(&cond)
            };
            if !valid {
                return Err(syntax(
                    at,
                    format!("conditional refers to unknown group {cond:?}"),
                ));
            }
            self.pos += 1 + cond.chars().count() + 1;
            frame.kind = FrameKind::Conditional;
            if cond.bytes().all(|b| b.is_ascii_digit()) {
                self.exact.push_str(&format!("(?({cond})"));
            } else {
                self.exact.push_str(&format!("(?(<{cond}>)"));
            }
            self.relaxed.push_str("(?:");
            self.need("conditional");
        } else {
            // Flags: (?imsx) global, (?imsx-imsx:...) scoped.
            let flags: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
                .collect();
            let after = rest[flags.len()..].chars().next();
            let map = |f: &str| -> Result<String, RegexError> {
                let mut out = String::new();
                for ch in f.chars() {
                    match ch {
                        'i' | 'm' | 's' | 'x' | '-' => out.push(ch),
                        // Unicode is the default for str patterns on both sides.
                        'u' => {}
                        _ => return Err(syntax(at, format!("unsupported regex flag {ch:?}"))),
                    }
                }
                Ok(out)
            };
            match after {
                Some(')') if !flags.is_empty() && !flags.contains('-') => {
                    // A global flag (Python applies it to the whole pattern).
                    let mapped = map(&flags)?;
                    if mapped.contains('x') {
                        self.verbose = true;
                    }
                    for ch in mapped.chars() {
                        if !self.global_flags.contains(ch) {
                            self.global_flags.push(ch);
                        }
                    }
                    self.pos += flags.chars().count() + 1;
                    return Ok(());
                }
                Some(':') if !flags.is_empty() => {
                    let mapped = map(&flags)?;
                    self.pos += flags.chars().count() + 1;
                    if mapped.is_empty() || mapped == "-" {
                        self.emit("(?:");
                    } else {
                        self.emit(&format!("(?{mapped}:"));
                    }
                }
                _ => return Err(syntax(at, "unknown extension (?")),
            }
        }
        self.frames.push(frame);
        self.can_repeat = false;
        Ok(())
    }

    fn close_group(&mut self, at: usize) -> Result<(), RegexError> {
        let Some(frame) = self.frames.pop() else {
            return Err(syntax(at, "unbalanced parenthesis"));
        };
        match frame.kind {
            FrameKind::Group => {
                self.exact.push(')');
                self.relaxed.push(')');
            }
            FrameKind::Conditional => {
                self.exact.push(')');
                self.relaxed
                    .push_str(if frame.has_alt { ")" } else { "|)" });
            }
            FrameKind::Lookaround => {
                let source = &self.src[frame.src_start..=at];
                if let Some((_, rust)) = LOOK_REWRITES.iter().find(|(py, _)| *py == source) {
                    self.exact.truncate(frame.exact_start);
                    self.exact.push_str(rust);
                    self.relaxed.truncate(frame.relaxed_start);
                    self.relaxed.push_str(rust);
                    self.features.truncate(frame.features_before);
                } else {
                    self.exact.push(')');
                    // The relaxed pattern assumes every lookaround holds.
                    self.relaxed.truncate(frame.relaxed_start);
                    self.relaxed.push_str("(?:)");
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum ClassAtom {
    Char(char),
    Class(char),
}

impl ClassAtom {
    fn render(self) -> String {
        match self {
            ClassAtom::Char(c) => literal(c, true),
            ClassAtom::Class(c) => format!("\\{c}"),
        }
    }
}

/// A literal character in Rust syntax. ASCII punctuation is escaped (Rust accepts escaping any
/// of it except `<` and `>`, which mean word boundaries when escaped); control characters and
/// whitespace inside classes are written as hex so verbose mode cannot drop them.
fn literal(c: char, in_class: bool) -> String {
    if c == '<' || c == '>' {
        return c.to_string();
    }
    if c.is_ascii_punctuation() {
        return format!("\\{c}");
    }
    if c.is_control() || (in_class && c.is_whitespace()) {
        return format!("\\x{{{:x}}}", c as u32);
    }
    c.to_string()
}

/// A compiled pattern on whichever engine it needs.
#[derive(Debug, Clone)]
pub struct PyRegex {
    source: String,
    engine: Engine,
    /// For a linear pattern ending in a catch-all group: its head, to search first.
    tail: Option<Tail>,
    /// The capture pass's regex (the linear pattern or the checked rewrite) for ASCII text.
    ascii: Option<AsciiTwin>,
    names: HashMap<String, usize>,
    group_count: usize,
}

#[derive(Debug, Clone)]
enum Engine {
    Linear(regex::Regex),
    /// A rewrite ([`crate::expand`]) on the linear engine: conditionals expanded, tempered
    /// loops checked after the match; the backtracking engine only when a check fails.
    Checked(Box<Checked>),
    Backtracking {
        re: Box<fancy_regex::Regex>,
        /// Superset prefilter on the linear engine (absent when it would not compile).
        prefilter: Option<regex::Regex>,
    },
}

#[derive(Debug, Clone)]
struct Checked {
    re: regex::Regex,
    /// Python group number → the rewrite's groups that are copies of it.
    logical: Vec<Vec<usize>>,
    /// (group of the rewrite, literal that must not start inside its span).
    tempered: Vec<(usize, memchr::memmem::Finder<'static>)>,
    /// The original pattern on the backtracking engine.
    fallback: Box<fancy_regex::Regex>,
}

impl Checked {
    /// Builds the rewrite of `pattern`, if there is one that runs on the linear engine.
    fn new(pattern: &str, prefix: &str, exact: &str) -> Option<Checked> {
        let e = crate::expand::expand(pattern)?;
        let t = translate(&e.pattern).ok()?;
        if !t.needs_backtracking.is_empty() {
            return None;
        }
        let re = linear_builder(&format!("{prefix}{}", t.exact))
            .build()
            .ok()?;
        let mut logical = vec![Vec::new(); e.groups.len() + 1];
        logical[0].push(0);
        let mut tempered = Vec::new();
        for (phys, name) in re.capture_names().enumerate() {
            let Some(name) = name else { continue };
            if let Some(rest) = name.strip_prefix("__py") {
                let n: usize = rest.split('_').next()?.parse().ok()?;
                logical.get_mut(n)?.push(phys);
            } else if let Some(k) = name.strip_prefix("__t") {
                let k: usize = k.parse().ok()?;
                let (_, lit) = e.tempered.iter().find(|(i, _)| *i == k)?;
                tempered.push((
                    phys,
                    memchr::memmem::Finder::new(lit.as_bytes()).into_owned(),
                ));
            }
        }
        let fallback = match PyRegex::fancy(exact, None).ok()? {
            Engine::Backtracking { re, .. } => re,
            _ => return None,
        };
        Some(Checked {
            re,
            logical,
            tempered,
            fallback,
        })
    }

    /// Whether no checked literal starts inside its loop's span.
    fn spans_hold(&self, hay: &str, get: &dyn Fn(usize) -> Option<(usize, usize)>) -> bool {
        self.tempered.iter().all(|(phys, lit)| match get(*phys) {
            None => true,
            Some((s, e)) => {
                // Occurrences starting before `e` may end after it.
                let end = (e + lit.needle().len()).saturating_sub(1).min(hay.len());
                hay.as_bytes()
                    .get(s..end)
                    .is_none_or(|w| lit.find(w).is_none_or(|q| s + q >= e))
            }
        })
    }
}

/// A pattern `HEAD(.+)$` (or `(.*)$`, the group possibly named) split in two. fail2ban's
/// `prefregex` ends in `<F-CONTENT>.+</F-CONTENT>$`; capturing the whole line costs several
/// times more than capturing the head. On a text without line breaks, the pattern's matches
/// are the head's matches that end before the end (`.+`) or anywhere (`.*`), in the same
/// order; so when the head's first match ends there, the pattern's first match is that match
/// plus the rest of the text as the last group. Otherwise the whole pattern runs.
#[derive(Debug, Clone)]
struct Tail {
    head: regex::Regex,
    /// The head for ASCII text (see [`ascii_twin`]).
    head_ascii: Option<AsciiTwin>,
    /// The catch-all group (the pattern's last group).
    group: usize,
    /// `.+` (at least one character) rather than `.*`.
    plus: bool,
}

impl Tail {
    fn new(pattern: &str, group_count: usize) -> Option<Tail> {
        let (rest, plus) = match pattern.strip_suffix(".+)$") {
            Some(r) => (r, true),
            None => (pattern.strip_suffix(".*)$")?, false),
        };
        let open = rest.rfind('(')?;
        let opener = &rest[open..];
        let named = opener
            .strip_prefix("(?P<")
            .and_then(|n| n.strip_suffix('>'))
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        if !(opener == "(" || named) || rest[..open].ends_with('\\') {
            return None;
        }
        let head = &rest[..open];
        // The head must be one concatenation (a top-level `|` would bind looser than the cut),
        // use no flags that change `.` or `$`, and have every group but the last.
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(head)
            .ok()?;
        if matches!(hir.kind(), regex_syntax::hir::HirKind::Alternation(_))
            || head.contains("(?")
                && head
                    .split("(?")
                    .skip(1)
                    .any(|f| f.starts_with(|c: char| c.is_ascii_alphabetic() && c != 'P'))
        {
            return None;
        }
        let head_ascii = ascii_twin(head);
        let head = linear_builder(head).build().ok()?;
        (head.captures_len() + 1 == group_count).then_some(Tail {
            head,
            head_ascii,
            group: group_count - 1,
            plus,
        })
    }

    /// The pattern's first match from `start` read into `slots.spans`, when the head decides
    /// it: `Some(false)` no match, `Some(true)` a match, `None` run the whole pattern.
    /// `head_end`: where the head's first match ends, when a DFA search already found it
    /// ([`PyRegex::tail_start`]), so the capture pass need not read the text after it.
    fn captures_at(
        &self,
        hay: &str,
        start: usize,
        head_end: Option<usize>,
        slots: &mut Slots,
    ) -> Option<bool> {
        if memchr::memchr2(b'\n', b'\r', hay.as_bytes()).is_some() {
            return None;
        }
        let ascii = match (&self.head_ascii, slots.head_ascii.as_mut()) {
            (Some(re), Some(locs)) if hay.is_ascii() => Some((re, locs)),
            _ => None,
        };
        let get: &dyn Fn(usize) -> Option<(usize, usize)> = if let Some((re, locs)) = ascii {
            let end = head_end
                .filter(|&e| (start..=hay.len()).contains(&e))
                .unwrap_or(hay.len());
            if !re.captures_read_span(locs, hay.as_bytes(), start, end) {
                return Some(false);
            }
            &|i| locs.get(i)
        } else {
            let locs = slots.head.as_mut()?;
            if self.head.captures_read_at(locs, hay, start).is_none() {
                // No head match: no match of the whole either.
                return Some(false);
            }
            &|i| locs.get(i)
        };
        let (_, end) = get(0)?;
        if self.plus && end >= hay.len() {
            return None;
        }
        slots.spans.clear();
        slots.spans.extend((0..self.group).map(get));
        slots.spans.push(Some((end, hay.len())));
        if let Some(whole) = slots.spans.first_mut() {
            *whole = whole.map(|(s, _)| (s, hay.len()));
        }
        Some(true)
    }
}

/// Per-caller capture storage, so matching does not allocate per line.
#[derive(Debug, Clone)]
pub struct Slots {
    linear: Option<regex::CaptureLocations>,
    /// Capture storage of a checked rewrite (its groups, not Python's).
    checked: Option<regex::CaptureLocations>,
    spans: Vec<Option<(usize, usize)>>,
    /// Capture storage of the head of a pattern that ends in a catch-all group.
    head: Option<regex::CaptureLocations>,
    /// Capture storage of the ASCII twin of the pattern (or of its checked rewrite).
    ascii: Option<TwinLocs>,
    /// Capture storage of the ASCII twin of the head.
    head_ascii: Option<TwinLocs>,
    /// The last match was read into `spans` (not `linear`).
    in_spans: bool,
}

impl Slots {
    /// The span of group `i` of the last successful match.
    pub fn get(&self, i: usize) -> Option<(usize, usize)> {
        match &self.linear {
            Some(locs) if !self.in_spans => locs.get(i),
            _ => self.spans.get(i).copied().flatten(),
        }
    }

    /// Records a match found without the regex, by a recognizer the caller has proven to agree
    /// with it (allclear-logs' syslog date recognizer, checked against the pattern by a
    /// differential property test): [`Slots::get`] then answers from these spans.
    pub fn set_spans(&mut self, spans: &[Option<(usize, usize)>]) {
        self.in_spans = true;
        self.spans.clear();
        self.spans.extend_from_slice(spans);
    }
}

/// The backtracking engine gave up on a line (it counts as not matching).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacktrackLimit;

/// The same pattern for text that is all ASCII, as bytes without Unicode classes: on such
/// text `\w`, `\d`, `\s`, `\b`, `.`, negated classes and case folding match exactly what
/// their Unicode forms match there, and the automaton is several times smaller, which halves
/// the cost of the capture pass. `None` when the pattern has non-ASCII text (a literal `é`
/// folds differently), turns Unicode back on, or does not compile that way.
fn ascii_twin(pattern: &str) -> Option<AsciiTwin> {
    if !pattern.is_ascii() || unicode_flag(pattern) {
        return None;
    }
    let twin = format!("(?-u){pattern}");
    let re = regex::bytes::RegexBuilder::new(&twin)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
        .ok()?;
    let bt = anchored_backtracker(&twin, re.captures_len());
    let live = bt.as_ref().and_then(|bt| LiveCapturer::new(bt.get_nfa()));
    Some(AsciiTwin { bt, live, re })
}

/// A bounded backtracker for `pattern` (bytes syntax) when every match of it starts at the
/// start of the text (`^`, not multi-line), with the same groups as the `regex` crate gives it.
fn anchored_backtracker(pattern: &str, groups: usize) -> Option<BoundedBacktracker> {
    use regex_automata::nfa::thompson;
    use regex_syntax::hir::Look;
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    if !hir.properties().look_set_prefix().contains(Look::Start) {
        return None;
    }
    let nfa = thompson::Compiler::new()
        .syntax(regex_automata::util::syntax::Config::new().utf8(false))
        .configure(
            thompson::Config::new()
                .utf8(false)
                .nfa_size_limit(Some(SIZE_LIMIT)),
        )
        .build(pattern)
        .ok()?;
    let bt = BoundedBacktracker::builder().build_from_nfa(nfa).ok()?;
    (bt.get_nfa()
        .group_info()
        .group_len(regex_automata::PatternID::ZERO)
        == groups)
        .then_some(bt)
}

/// An ASCII twin ([`ascii_twin`]) and, for patterns anchored at the start, a bounded
/// backtracker for its capture pass. The `regex` crate first runs a DFA over the text to
/// find the match, then a capture engine over it; anchored at the start, the backtracker
/// alone finds the same leftmost-first match and groups for about two thirds of the cost.
#[derive(Debug, Clone)]
struct AsciiTwin {
    re: regex::bytes::Regex,
    bt: Option<BoundedBacktracker>,
    /// The same NFA read without backtracking (see [`crate::livecap`]); the backtracker
    /// stays for what it declines.
    live: Option<LiveCapturer>,
}

impl AsciiTwin {
    fn locs(&self) -> TwinLocs {
        TwinLocs {
            locs: self.re.capture_locations(),
            bt: self
                .bt
                .as_ref()
                .map(|bt| (bt.create_cache(), bt.create_captures())),
            live: self.live.as_ref().map(LiveCapturer::create_cache),
            from_bt: false,
        }
    }

    /// Searches `hay` from `start`; on a match its groups are in `locs`.
    fn captures_read_at(&self, locs: &mut TwinLocs, hay: &[u8], start: usize) -> bool {
        self.captures_read_span(locs, hay, start, hay.len())
    }

    /// Searches `hay` from `start` for a match that ends by `end`, look-arounds seeing all
    /// of `hay`. When `end` is where the first match from `start` ends (a DFA found it),
    /// this is the same match as [`AsciiTwin::captures_read_at`] finds, read without the
    /// text after it; an engine that cannot stop at `end` searches the whole text instead.
    fn captures_read_span(
        &self,
        locs: &mut TwinLocs,
        hay: &[u8],
        start: usize,
        end: usize,
    ) -> bool {
        if let (Some(live), Some(live_cache), Some((_, caps))) =
            (&self.live, locs.live.as_mut(), locs.bt.as_mut())
            && let Some(matched) = live.captures(live_cache, hay, start..end, caps)
        {
            locs.from_bt = true;
            return matched;
        }
        if let (Some(bt), Some((cache, caps))) = (&self.bt, locs.bt.as_mut())
            && hay.len() <= bt.max_haystack_len()
        {
            let input = regex_automata::Input::new(hay)
                .range(start..end)
                .anchored(regex_automata::Anchored::Yes);
            if bt.try_captures(cache, input, caps).is_ok() {
                locs.from_bt = true;
                return caps.is_match();
            }
        }
        locs.from_bt = false;
        self.re
            .captures_read_at(&mut locs.locs, hay, start)
            .is_some()
    }
}

/// Capture storage of an [`AsciiTwin`].
#[derive(Debug, Clone)]
struct TwinLocs {
    locs: regex::bytes::CaptureLocations,
    bt: Option<(BtCache, regex_automata::util::captures::Captures)>,
    live: Option<LiveCache>,
    /// The last match was read by the backtracker.
    from_bt: bool,
}

impl TwinLocs {
    fn get(&self, i: usize) -> Option<(usize, usize)> {
        match &self.bt {
            Some((_, caps)) if self.from_bt => caps.get_group(i).map(|s| (s.start, s.end)),
            _ => self.locs.get(i),
        }
    }
}

/// Whether a flag group (`(?u)`, `(?iu:`…) turns Unicode on somewhere in `pattern`
/// (conservative: an escaped `\(?u` also counts).
fn unicode_flag(pattern: &str) -> bool {
    pattern.split("(?").skip(1).any(|rest| {
        rest.bytes()
            .take_while(|b| b.is_ascii_alphabetic() || *b == b'-')
            .any(|b| b == b'u')
    })
}

fn linear_builder(pattern: &str) -> regex::RegexBuilder {
    let mut b = regex::RegexBuilder::new(pattern);
    b.size_limit(SIZE_LIMIT).dfa_size_limit(DFA_SIZE_LIMIT);
    b
}

impl PyRegex {
    /// Translates and compiles a Python pattern. `multiline` is Python's `re.MULTILINE`.
    pub fn new(pattern: &str, multiline: bool) -> Result<PyRegex, RegexError> {
        let t = translate(pattern)?;
        let prefix = if multiline { "(?m)" } else { "" };
        let exact = format!("{prefix}{}", t.exact);
        let checked = if t.needs_backtracking.is_empty() {
            None
        } else {
            Checked::new(pattern, prefix, &exact)
        };
        let engine = if let Some(c) = checked {
            Engine::Checked(Box::new(c))
        } else if t.needs_backtracking.is_empty() {
            match linear_builder(&exact).build() {
                Ok(re) => Engine::Linear(re),
                Err(e) => {
                    // The backtracking engine parses a few things the linear one rejects.
                    Self::fancy(&exact, None).map_err(|_| RegexError::Compile {
                        message: e.to_string(),
                    })?
                }
            }
        } else {
            let relaxed = format!("{prefix}{}", t.relaxed);
            let prefilter = linear_builder(&relaxed).build().ok();
            Self::fancy(&exact, prefilter)?
        };
        let (names, group_count) = match &engine {
            Engine::Checked(c) => (
                c.fallback
                    .capture_names()
                    .enumerate()
                    .filter_map(|(i, n)| n.map(|n| (n.to_owned(), i)))
                    .collect(),
                c.logical.len(),
            ),
            Engine::Linear(re) => (
                re.capture_names()
                    .enumerate()
                    .filter_map(|(i, n)| n.map(|n| (n.to_owned(), i)))
                    .collect(),
                re.captures_len(),
            ),
            Engine::Backtracking { re, .. } => (
                re.capture_names()
                    .enumerate()
                    .filter_map(|(i, n)| n.map(|n| (n.to_owned(), i)))
                    .collect(),
                re.captures_len(),
            ),
        };
        let tail = match &engine {
            Engine::Linear(re) => Tail::new(re.as_str(), group_count),
            _ => None,
        };
        let ascii = match &engine {
            Engine::Linear(re) => ascii_twin(re.as_str()),
            Engine::Checked(c) => ascii_twin(c.re.as_str()),
            Engine::Backtracking { .. } => None,
        };
        Ok(PyRegex {
            source: pattern.to_owned(),
            tail,
            ascii,
            engine,
            names,
            group_count,
        })
    }

    fn fancy(exact: &str, prefilter: Option<regex::Regex>) -> Result<Engine, RegexError> {
        let re = fancy_regex::RegexBuilder::new(exact)
            .backtrack_limit(BACKTRACK_LIMIT)
            .optimize(true)
            .delegate_size_limit(SIZE_LIMIT)
            .delegate_dfa_size_limit(DFA_SIZE_LIMIT)
            .build()
            .map_err(|e| RegexError::Compile {
                message: e.to_string(),
            })?;
        Ok(Engine::Backtracking {
            re: Box::new(re),
            prefilter,
        })
    }

    /// The Python pattern this was compiled from.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern runs on the backtracking engine.
    pub fn is_backtracking(&self) -> bool {
        matches!(self.engine, Engine::Backtracking { .. })
    }

    /// A `regex` crate pattern matching a superset of this one (itself when linear); for
    /// building a `RegexSet` prefilter.
    pub fn linear_superset(&self) -> Option<&str> {
        match &self.engine {
            Engine::Linear(re) => Some(re.as_str()),
            Engine::Checked(c) => Some(c.re.as_str()),
            Engine::Backtracking { prefilter, .. } => prefilter.as_ref().map(|r| r.as_str()),
        }
    }

    /// When every match must start at the beginning of the text: the literals one of which
    /// the text must start with. `None` when the pattern is not anchored that way or the set
    /// is unbounded. A cheap test that rules the pattern out without running it.
    pub fn anchored_prefixes(&self) -> Option<Vec<Vec<u8>>> {
        use regex_syntax::hir::Look;
        use regex_syntax::hir::literal::{ExtractKind, Extractor};
        let pattern = self.linear_superset()?;
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(pattern)
            .ok()?;
        if !hir.properties().look_set_prefix().contains(Look::Start) {
            return None;
        }
        let mut extractor = Extractor::new();
        extractor.kind(ExtractKind::Prefix).limit_total(256);
        let seq = extractor.extract(&hir);
        let literals = seq.literals()?;
        if literals.is_empty()
            || literals.len() > 128
            || literals.iter().any(|l| l.as_bytes().is_empty())
        {
            return None;
        }
        Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
    }

    /// The index of a named group.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.names.get(name).copied()
    }

    /// Named groups and their indexes.
    pub fn group_names(&self) -> impl Iterator<Item = (&str, usize)> {
        self.names.iter().map(|(n, &i)| (n.as_str(), i))
    }

    /// Number of groups, including group 0.
    pub fn group_count(&self) -> usize {
        self.group_count
    }

    /// Capture storage for [`PyRegex::captures`].
    pub fn slots(&self) -> Slots {
        match &self.engine {
            Engine::Linear(re) => Slots {
                linear: Some(re.capture_locations()),
                checked: None,
                spans: vec![None; self.group_count],
                head: self.tail.as_ref().map(|t| t.head.capture_locations()),
                ascii: self.ascii.as_ref().map(AsciiTwin::locs),
                head_ascii: self
                    .tail
                    .as_ref()
                    .and_then(|t| t.head_ascii.as_ref())
                    .map(AsciiTwin::locs),
                in_spans: false,
            },
            Engine::Checked(c) => Slots {
                linear: None,
                checked: Some(c.re.capture_locations()),
                spans: vec![None; self.group_count],
                head: None,
                ascii: self.ascii.as_ref().map(AsciiTwin::locs),
                head_ascii: None,
                in_spans: true,
            },
            Engine::Backtracking { .. } => Slots {
                linear: None,
                checked: None,
                spans: vec![None; self.group_count],
                head: None,
                ascii: None,
                head_ascii: None,
                in_spans: true,
            },
        }
    }

    /// Whether the pattern matches anywhere in `hay`.
    pub fn is_match(&self, hay: &str) -> Result<bool, BacktrackLimit> {
        match &self.engine {
            Engine::Linear(re) => Ok(re.is_match(hay)),
            Engine::Checked(c) if c.tempered.is_empty() => Ok(c.re.is_match(hay)),
            Engine::Checked(c) => {
                if !c.re.is_match(hay) {
                    return Ok(false);
                }
                let mut slots = self.slots();
                self.captures_at(hay, 0, &mut slots)
            }
            Engine::Backtracking { re, prefilter } => {
                if prefilter.as_ref().is_some_and(|p| !p.is_match(hay)) {
                    return Ok(false);
                }
                re.is_match(hay).map_err(|_| BacktrackLimit)
            }
        }
    }

    /// Searches `hay[..end]` from `start` (Python's `search(string, pos, endpos)`), filling
    /// `slots` on a match. Slots must come from this pattern's [`PyRegex::slots`].
    pub fn captures_at(
        &self,
        hay: &str,
        start: usize,
        slots: &mut Slots,
    ) -> Result<bool, BacktrackLimit> {
        match &self.engine {
            Engine::Linear(re) => {
                if let Some(t) = &self.tail
                    && let Some(found) = t.captures_at(hay, start, None, slots)
                {
                    slots.in_spans = true;
                    return Ok(found);
                }
                if let (Some(re), Some(locs)) = (&self.ascii, slots.ascii.as_mut())
                    && hay.is_ascii()
                {
                    slots.in_spans = true;
                    if !re.captures_read_at(locs, hay.as_bytes(), start) {
                        return Ok(false);
                    }
                    slots.spans.clear();
                    slots
                        .spans
                        .extend((0..self.group_count).map(|i| locs.get(i)));
                    return Ok(true);
                }
                slots.in_spans = false;
                match slots.linear.as_mut() {
                    Some(locs) => Ok(re.captures_read_at(locs, hay, start).is_some()),
                    None => Ok(false),
                }
            }
            Engine::Checked(c) => {
                let ascii = match (&self.ascii, slots.ascii.as_mut()) {
                    (Some(re), Some(locs)) if hay.is_ascii() => Some((re, locs)),
                    _ => None,
                };
                let get: &dyn Fn(usize) -> Option<(usize, usize)> = if let Some((re, locs)) = ascii
                {
                    if !re.captures_read_at(locs, hay.as_bytes(), start) {
                        return Ok(false);
                    }
                    &|i| locs.get(i)
                } else {
                    let Some(locs) = slots.checked.as_mut() else {
                        return Ok(false);
                    };
                    if c.re.captures_read_at(locs, hay, start).is_none() {
                        return Ok(false);
                    }
                    &|i| locs.get(i)
                };
                if c.spans_hold(hay, get) {
                    slots.spans.clear();
                    slots.spans.extend(
                        c.logical
                            .iter()
                            .map(|copies| copies.iter().find_map(|&phys| get(phys))),
                    );
                    return Ok(true);
                }
                self.backtrack(&c.fallback, hay, start, slots)
            }
            Engine::Backtracking { re, prefilter } => {
                if let Some(p) = prefilter
                    && !p.is_match_at(hay, start)
                {
                    return Ok(false);
                }
                self.backtrack(re, hay, start, slots)
            }
        }
    }

    fn backtrack(
        &self,
        re: &fancy_regex::Regex,
        hay: &str,
        start: usize,
        slots: &mut Slots,
    ) -> Result<bool, BacktrackLimit> {
        {
            {
                let caps = re
                    .captures_from_pos(hay, start)
                    .map_err(|_| BacktrackLimit)?;
                slots.spans.clear();
                slots.spans.resize(self.group_count, None);
                match caps {
                    Some(c) => {
                        for (i, slot) in slots.spans.iter_mut().enumerate() {
                            *slot = c.get(i).map(|m| (m.start(), m.end()));
                        }
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
        }
    }

    /// Searches the whole of `hay` with the original pattern on the backtracking engine,
    /// bypassing a linear rewrite: the reference answer that differential tests compare
    /// [`PyRegex::captures`] with. Subject to [`BACKTRACK_LIMIT`] like any backtracking search.
    pub fn captures_backtracking(
        &self,
        hay: &str,
        slots: &mut Slots,
    ) -> Result<bool, BacktrackLimit> {
        match &self.engine {
            Engine::Checked(c) => self.backtrack(&c.fallback, hay, 0, slots),
            _ => self.captures_at(hay, 0, slots),
        }
    }

    /// Searches the whole of `hay`.
    pub fn captures(&self, hay: &str, slots: &mut Slots) -> Result<bool, BacktrackLimit> {
        self.captures_at(hay, 0, slots)
    }

    /// [`PyRegex::captures`] of `hay` when [`PyRegex::tail_start`] has already given
    /// `Some(Some(tail_start))` for it: the groups of the head are read without the text
    /// after the head (the catch-all group, most of a log line).
    pub fn captures_after_tail_start(
        &self,
        hay: &str,
        tail_start: usize,
        slots: &mut Slots,
    ) -> Result<bool, BacktrackLimit> {
        if let (Engine::Linear(_), Some(t)) = (&self.engine, &self.tail)
            && let Some(found) = t.captures_at(hay, 0, Some(tail_start), slots)
        {
            slots.in_spans = true;
            return Ok(found);
        }
        self.captures(hay, slots)
    }

    /// For a pattern ending in a catch-all group (`HEAD(.+)$`, fail2ban's `prefregex`):
    /// where that group starts in the first match in `hay`, found without reading the other
    /// groups (a DFA search of the head, no capture pass). `Some(None)`: no match; `None`:
    /// undecided this way (use [`PyRegex::captures`]). Filling the groups costs more than
    /// finding the match, and most lines only need the catch-all group.
    pub fn tail_start(&self, hay: &str) -> Option<Option<usize>> {
        let t = self.tail.as_ref()?;
        if memchr::memchr2(b'\n', b'\r', hay.as_bytes()).is_some() {
            return None;
        }
        let Some(m) = t.head.find(hay) else {
            return Some(None);
        };
        if t.plus && m.end() >= hay.len() {
            return None;
        }
        Some(Some(m.end()))
    }

    /// The catch-all group [`PyRegex::tail_start`] locates.
    pub fn tail_group(&self) -> Option<usize> {
        self.tail.as_ref().map(|t| t.group)
    }

    /// Whether a DFA search (no capture pass) shows that [`PyRegex::captures`] would find no
    /// match in `hay`; `false` when it matches or this engine cannot tell that cheaply.
    pub fn dfa_rejects(&self, hay: &str) -> bool {
        match &self.engine {
            Engine::Linear(re) => !re.is_match(hay),
            // No match of the rewrite, no match (the original pattern is only consulted on a
            // match of the rewrite).
            Engine::Checked(c) => !c.re.is_match(hay),
            // `captures_at` runs the prefilter itself.
            Engine::Backtracking { .. } => false,
        }
    }

    /// The span of the first match in `hay` from `start`, without its groups (`None`: the
    /// engine cannot tell without the capture pass; use [`PyRegex::captures_at`]).
    pub fn find_span_at(&self, hay: &str, start: usize) -> Option<Option<(usize, usize)>> {
        let re = match &self.engine {
            Engine::Linear(re) => re,
            Engine::Checked(c) if c.tempered.is_empty() => &c.re,
            _ => return None,
        };
        Some(re.find_at(hay, start).map(|m| (m.start(), m.end())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: &str) -> Translation {
        translate(p).unwrap()
    }

    fn m(p: &str, hay: &str) -> Option<String> {
        let re = PyRegex::new(p, false).unwrap();
        let mut s = re.slots();
        re.captures(hay, &mut s).unwrap().then(|| {
            s.get(0)
                .map(|(a, b)| hay[a..b].to_owned())
                .unwrap_or_default()
        })
    }

    #[test]
    fn python_only_syntax_is_translated() {
        assert_eq!(t(r"a{,3}\Z").exact, r"a{0,3}\z");
        assert_eq!(t(r"\<x\>").exact, "<x>");
        assert_eq!(t(r"{^LN-BEG}").exact, r"\{^LN\-BEG\}");
        assert_eq!(t(r"x{}").exact, r"x\{\}");
        assert_eq!(t(r"[[:alpha:]]").exact, r"[\[\:alpha\:]\]");
        assert_eq!(t(r"[\]a-z&&~]").exact, r"[\]a-z\&\&\~]");
        assert_eq!(t(r"\012\x41").exact, r"\x{a}A");
        assert_eq!(t(r"(?#comment)a").exact, "a");
        assert!(t(r"(?P<user>\S+)").needs_backtracking.is_empty());
        assert_eq!(t(r"((?i)login|plain)").exact, r"(?i:login|plain)");
        assert_eq!(t(r"^a(?i)b").exact, r"(?i)^ab");
    }

    #[test]
    fn backtracking_features_are_detected_and_relaxed() {
        let x = t(r"^(?P<a>x)?(?(a)y|z)(?! from )(?P=a)\1");
        assert_eq!(
            x.needs_backtracking,
            vec!["backreference", "conditional", "lookaround"]
        );
        assert_eq!(x.exact, r"^(?P<a>x)?(?(<a>)y|z)(?! from )(?P=a)\1");
        assert_eq!(x.relaxed, r"^(?P<a>x)?(?:y|z)(?:)(?s:.*?)(?s:.*?)");
        assert_eq!(t(r"(a)?(?(1)b)").relaxed, "(a)?(?:b|)");
        let date = t(r"(?=^|\b|\W)(\d+)(?=\b|\W|$)");
        assert!(date.needs_backtracking.is_empty(), "{date:?}");
    }

    #[test]
    fn errors_are_reported() {
        assert!(translate(r"(a").is_err());
        assert!(translate(r"a)").is_err());
        assert!(translate(r"\q").is_err());
        assert!(translate(r"*a").is_err());
        assert!(translate(r"(?P=nope)").is_err());
        assert!(translate(r"[a").is_err());
        assert!(translate(r"[z-a]").is_err());
        assert!(translate(r"(?L)a").is_err());
    }

    #[test]
    fn engines_agree_with_python_semantics() {
        assert_eq!(m(r"a{,2}b", "aaab").as_deref(), Some("aab"));
        assert_eq!(m(r"^x\Z", "x"), Some("x".into()));
        assert_eq!(m(r"(?P<q>['x])a(?P=q)", "'a' xax").as_deref(), Some("'a'"));
        assert_eq!(m(r"Failed (?!publickey)\S+", "Failed publickey"), None);
        assert_eq!(
            m(r"Failed (?!publickey)\S+", "Failed password").as_deref(),
            Some("Failed password")
        );
        assert_eq!(
            m(r"(?P<i>inv )?(?(i)\S+|\d+)", "inv abc").as_deref(),
            Some("inv abc")
        );
        assert_eq!(m(r"(?P<i>inv )?(?(i)\S+|\d+)", "42").as_deref(), Some("42"));
        assert_eq!(
            m(r"(?=^|\b|\W)(\d+)(?=\b|\W|$)", "ab12 34").as_deref(),
            Some("34")
        );
        assert_eq!(m(r"[+--]", "-").as_deref(), Some("-"));
    }

    #[test]
    fn ascii_twins_capture_what_the_unicode_engine_captures() {
        let patterns = [
            r"^(?P<w>\w+)\s+(?P<d>\d+)\b(?P<rest>.*)$",
            r"(?i)^user (?P<u>\S+) from (?P<h>[^ ]+)(?: port (?P<p>\d+))?",
            r"(?P<a>\bKEY\w*)\W+(?P<b>[a-z]+)$",
            r"^(?P<head>\s*\S+ sshd\[\d+\]: )(?P<content>.+)$",
        ];
        let hays = [
            "word 42 tail",
            "USER root from 192.0.2.1 port 22",
            "user bob from host",
            "keys -- abc",
            "x KEYring: zz",
            " web1 sshd[12]: Failed password",
            "   ",
            "",
        ];
        for p in patterns {
            let ours = PyRegex::new(p, false).unwrap();
            assert!(ours.ascii.is_some(), "{p} has no ASCII twin");
            let unicode = regex::Regex::new(p).unwrap();
            for hay in hays {
                let mut slots = ours.slots();
                let found = ours.captures(hay, &mut slots).unwrap();
                let want = unicode.captures(hay);
                assert_eq!(found, want.is_some(), "{p} on {hay:?}");
                if let Some(c) = want {
                    for i in 0..unicode.captures_len() {
                        let w = c.get(i).map(|m| (m.start(), m.end()));
                        assert_eq!(slots.get(i), w, "{p} on {hay:?}, group {i}");
                    }
                }
            }
        }
        // Patterns anchored at the start get the direct backtracker, others do not.
        let bt = |p: &str| PyRegex::new(p, false).unwrap().ascii.unwrap().bt.is_some();
        assert!(bt(patterns[0]) && bt(patterns[1]) && bt(patterns[3]));
        assert!(
            !bt(patterns[2])
                && PyRegex::new("^a", true)
                    .unwrap()
                    .ascii
                    .unwrap()
                    .bt
                    .is_none()
        );
        // Non-ASCII patterns get no twin (their case folding differs), nor do Unicode flags.
        assert!(PyRegex::new(r"(?i)é\w", false).unwrap().ascii.is_none());
        assert!(unicode_flag(r"a(?iu:b)") && !unicode_flag(r"(?P<user>\S+)(?i:x)"));
        // Non-ASCII text takes the Unicode engine: `\w` matches `é` there.
        let p = PyRegex::new(r"^(?P<w>\w+)$", false).unwrap();
        let mut slots = p.slots();
        assert!(p.captures("café", &mut slots).unwrap());
        assert_eq!(slots.get(1), Some((0, 5)));
    }

    // fail2ban-like anchored patterns (alternations, lazy and greedy loops, optional groups,
    // word boundaries) on text built from their own pieces: the direct backtracker of the
    // capture pass must find what the `regex` crate finds, group for group, and a DFA
    // rejection must never hide a match.
    const ANCHORED: [&str; 4] = [
        r"^(?P<nofail>(?P<forget>Connection (?:closed|reset)|Disconnected)) (?:by|from)(?: (?:invalid|authenticating) user (?P<user>\S+|.*?))? (?:(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})|(?P<ip6>(?:[0-9a-f]{1,4}::?|:){1,7}(?:[0-9a-f]{1,4}|:))|(?P<dns>[\w\-.^_]*\w))(?: (?:port \d+|on \S+|\[preauth\])){0,3}\s*$",
        r"^[iI](?:llegal|nvalid) user (?P<user>.*?) from (?P<host>\S+)(?: port \d+)?\s*$",
        r"^(?P<a>\w+)\b(?P<b>.*)(?P<c>x|y)?",
        r"^(?P<head>\s*\S+ sshd\[\d+\]: )(?:error: )?(?P<content>.+)$",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn direct_backtracker_agrees_with_the_regex_crate(
            which in 0..ANCHORED.len(),
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "Connection closed", "Disconnected", "Invalid user", "by", "from", " ",
                "invalid user", "authenticating user", "root", "192.0.2.7", "2001:db8::1",
                "port 22", "[preauth]", "  ", "x", "é", "host.example", " web1 sshd[7]: ",
                "error: ", "::", "a b",
            ]), 0..10),
        ) {
            let p = ANCHORED[which];
            let hay: String = parts.concat();
            let ours = PyRegex::new(p, false).unwrap();
            let unicode = regex::Regex::new(p).unwrap();
            let mut slots = ours.slots();
            let found = ours.captures(&hay, &mut slots).unwrap();
            let want = unicode.captures(&hay);
            proptest::prop_assert_eq!(found, want.is_some(), "{} on {:?}", p, hay);
            if let Some(c) = want {
                proptest::prop_assert!(!ours.dfa_rejects(&hay));
                for i in 0..unicode.captures_len() {
                    let w = c.get(i).map(|m| (m.start(), m.end()));
                    proptest::prop_assert_eq!(slots.get(i), w, "{} on {:?}, group {}", p, hay, i);
                }
                // The head read only up to where the DFA says the tail starts: same groups.
                if let Some(Some(tail)) = ours.tail_start(&hay) {
                    let mut after = ours.slots();
                    proptest::prop_assert!(ours.captures_after_tail_start(&hay, tail, &mut after).unwrap());
                    for i in 0..unicode.captures_len() {
                        let w = c.get(i).map(|m| (m.start(), m.end()));
                        proptest::prop_assert_eq!(after.get(i), w, "{} on {:?}, group {} after the tail start", p, hay, i);
                    }
                }
            }
        }
    }

    #[test]
    fn anchored_prefixes_rule_out_patterns_cheaply() {
        let p = PyRegex::new(
            r"^[aA]uthentication (?:failure|error) for (?P<u>\S+)",
            false,
        )
        .unwrap();
        let mut got = p.anchored_prefixes().unwrap();
        got.sort();
        let want: Vec<Vec<u8>> = [
            "Authentication error for ",
            "Authentication failure for ",
            "authentication error for ",
            "authentication failure for ",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        assert_eq!(got, want);
        assert!(
            PyRegex::new(r"Failed (?P<u>\S+)", false)
                .unwrap()
                .anchored_prefixes()
                .is_none()
        );
        assert!(
            PyRegex::new(r"^(?P<u>\S+) failed", false)
                .unwrap()
                .anchored_prefixes()
                .is_none()
        );
        let fancy = PyRegex::new(r"^Failed (?!publickey)\S+", false).unwrap();
        assert_eq!(
            fancy.anchored_prefixes().unwrap(),
            vec![b"Failed ".to_vec()]
        );
    }

    #[test]
    fn catastrophic_patterns_do_not_stall() {
        // Classic exponential backtracking: (a+)+b with a lookahead forcing fancy-regex.
        let re = PyRegex::new(r"(?=a)(a+)+b", false).unwrap();
        assert!(re.is_backtracking());
        let hay = "a".repeat(5000);
        let mut s = re.slots();
        // Either the prefilter rejects it or the limit stops it; both are "no match".
        assert!(!re.captures(&hay, &mut s).unwrap_or(false));
    }
}
