//! The matcher: one Aho-Corasick pass over the content finds every rule keyword; each rule's
//! regexes then run only on the few lines around its keywords.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use regex::bytes::{Captures, Regex, RegexBuilder};

use crate::filter;
use crate::rules::{Anchor, Context, Filter, Rule};

/// Bytes either side of a keyword the regex may see on one line: a minified file is one
/// enormous line, and a window must not become the whole file.
const MAX_LINE_SPAN: usize = 4096;
/// How far left of a keyword the start of its key may be.
const MAX_KEY_BACK: usize = 96;
/// Compiled size limit of one rule regex.
const REGEX_SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// A rule could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A rule's regex does not compile.
    #[error("rule {rule}: pattern {index} does not compile")]
    Pattern {
        rule: String,
        index: usize,
        #[source]
        source: regex::Error,
    },
    /// The keyword automaton could not be built.
    #[error("building the keyword automaton")]
    Keywords(#[source] aho_corasick::BuildError),
}

struct CompiledPattern {
    regex: Regex,
    /// Capture groups whose name starts with `secret`, in order.
    secret_groups: Vec<usize>,
    key: Option<usize>,
    op: Option<usize>,
    comma: Option<usize>,
    close: Option<usize>,
    bare: Option<usize>,
}

struct CompiledRule {
    rule: &'static Rule,
    patterns: Vec<CompiledPattern>,
    near: Option<AhoCorasick>,
}

/// A secret a rule found and its filter accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    /// Index into the engine's rules.
    pub rule: usize,
    /// The secret's bytes.
    pub start: usize,
    pub end: usize,
    /// Where the whole match starts (its line carries any `allclear:allow`).
    pub match_start: usize,
    pub match_end: usize,
}

pub(crate) struct Engine {
    /// Key fragments owned by service rules (see `Rule::claims`).
    claims: Vec<&'static str>,
    keywords: AhoCorasick,
    /// For each keyword, the rules that asked for it.
    keyword_rules: Vec<Vec<usize>>,
    rules: Vec<CompiledRule>,
}

/// What the filters need to know about the file.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FileTraits {
    /// Source code, where a bare `password = word` is a variable, not a literal.
    pub code: bool,
}

impl Engine {
    pub fn new(rules: impl IntoIterator<Item = &'static Rule>) -> Result<Engine, EngineError> {
        let mut compiled = Vec::new();
        let mut keyword_list: Vec<&'static str> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut claims = Vec::new();
        for rule in rules {
            claims.extend(rule.claims.iter().copied());
            let index = compiled.len();
            let mut patterns = Vec::new();
            for (pi, pattern) in rule.patterns.iter().enumerate() {
                let regex = RegexBuilder::new(&format!("(?-u){pattern}"))
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|source| EngineError::Pattern {
                        rule: rule.id.to_owned(),
                        index: pi,
                        source,
                    })?;
                let mut cp = CompiledPattern {
                    secret_groups: Vec::new(),
                    key: None,
                    op: None,
                    comma: None,
                    close: None,
                    bare: None,
                    regex,
                };
                for (gi, name) in cp.regex.capture_names().enumerate() {
                    match name {
                        Some(n) if n.starts_with("secret") => cp.secret_groups.push(gi),
                        Some("key") => cp.key = Some(gi),
                        Some("op") => cp.op = Some(gi),
                        Some("comma") => cp.comma = Some(gi),
                        Some("close") => cp.close = Some(gi),
                        Some("bare") => {
                            cp.bare = Some(gi);
                            cp.secret_groups.push(gi);
                        }
                        _ => {}
                    }
                }
                patterns.push(cp);
            }
            let near = if rule.near.is_empty() {
                None
            } else {
                Some(
                    AhoCorasickBuilder::new()
                        .ascii_case_insensitive(true)
                        .build(rule.near)
                        .map_err(EngineError::Keywords)?,
                )
            };
            for keyword in rule.keywords {
                match keyword_list.iter().position(|k| k == keyword) {
                    Some(k) => keyword_rules[k].push(index),
                    None => {
                        keyword_list.push(keyword);
                        keyword_rules.push(vec![index]);
                    }
                }
            }
            compiled.push(CompiledRule {
                rule,
                patterns,
                near,
            });
        }
        // Leftmost-longest, non-overlapping (the fastest search) reports `password` but not
        // the `pass` inside it: so a keyword also triggers the rules of every keyword it
        // contains.
        let direct = keyword_rules.clone();
        for (k, keyword) in keyword_list.iter().enumerate() {
            for (j, other) in keyword_list.iter().enumerate() {
                if j != k && keyword.contains(other) {
                    for &r in &direct[j] {
                        if !keyword_rules[k].contains(&r) {
                            keyword_rules[k].push(r);
                        }
                    }
                }
            }
        }
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .build(&keyword_list)
            .map_err(EngineError::Keywords)?;
        Ok(Engine {
            claims,
            keywords,
            keyword_rules,
            rules: compiled,
        })
    }

    pub fn rule(&self, index: usize) -> &'static Rule {
        self.rules[index].rule
    }

    /// Every accepted secret in `content`, in no particular order, possibly overlapping.
    pub fn scan(&self, content: &[u8], traits: FileTraits, hits: &mut Vec<Hit>) {
        let n = self.rules.len();
        // Per rule, the window being grown, or the last key start tried.
        let mut pending: Vec<Option<(usize, usize)>> = vec![None; n];
        let mut windows: Vec<(usize, usize, usize)> = Vec::new();
        for m in self.keywords.find_iter(content) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                let rule = self.rules[r].rule;
                match rule.anchor {
                    Anchor::KeyStart => {
                        let start = key_start(content, m.start());
                        if pending[r].is_some_and(|(s, _)| s == start) {
                            continue;
                        }
                        let end = line_end(content, m.end());
                        pending[r] = Some((start, end));
                        self.run_anchored(r, content, start, end, traits, hits);
                    }
                    Anchor::Window => {
                        let (s, e) = window(content, m.start(), m.end(), rule.context);
                        match &mut pending[r] {
                            Some((_, pe)) if s <= *pe => *pe = (*pe).max(e),
                            slot => {
                                if let Some((ps, pe)) = slot.take() {
                                    windows.push((r, ps, pe));
                                }
                                *slot = Some((s, e));
                            }
                        }
                    }
                }
            }
        }
        for (r, slot) in pending.into_iter().enumerate() {
            if self.rules[r].rule.anchor == Anchor::Window
                && let Some((s, e)) = slot
            {
                windows.push((r, s, e));
            }
        }
        for (r, s, e) in windows {
            self.run_window(r, content, s, e, traits, hits);
        }
    }

    fn run_window(
        &self,
        r: usize,
        content: &[u8],
        start: usize,
        end: usize,
        traits: FileTraits,
        hits: &mut Vec<Hit>,
    ) {
        let compiled = &self.rules[r];
        let Some(window) = content.get(start..end) else {
            return;
        };
        for pattern in &compiled.patterns {
            for caps in pattern.regex.captures_iter(window) {
                self.consider(r, pattern, &caps, start, window, traits, hits);
            }
        }
    }

    fn run_anchored(
        &self,
        r: usize,
        content: &[u8],
        start: usize,
        end: usize,
        traits: FileTraits,
        hits: &mut Vec<Hit>,
    ) {
        let compiled = &self.rules[r];
        let Some(window) = content.get(start..end) else {
            return;
        };
        for pattern in &compiled.patterns {
            if let Some(caps) = pattern.regex.captures(window) {
                self.consider(r, pattern, &caps, start, window, traits, hits);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn consider(
        &self,
        r: usize,
        pattern: &CompiledPattern,
        caps: &Captures<'_>,
        base: usize,
        window: &[u8],
        traits: FileTraits,
        hits: &mut Vec<Hit>,
    ) {
        let compiled = &self.rules[r];
        let Some(whole) = caps.get(0) else {
            return;
        };
        let secret = pattern
            .secret_groups
            .iter()
            .find_map(|&g| caps.get(g))
            .unwrap_or(whole);
        if let Some(near) = &compiled.near
            && !near.is_match(window)
        {
            return;
        }
        let accepted = accept(
            compiled.rule.filter,
            pattern,
            caps,
            secret.as_bytes(),
            window,
            secret.end(),
            traits,
            &self.claims,
        );
        if accepted {
            hits.push(Hit {
                rule: r,
                start: base + secret.start(),
                end: base + secret.end(),
                match_start: base + whole.start(),
                match_end: base + whole.end(),
            });
        }
    }
}

/// Applies a rule's filter to one match.
#[allow(clippy::too_many_arguments)]
fn accept(
    filter: Filter,
    pattern: &CompiledPattern,
    caps: &Captures<'_>,
    secret: &[u8],
    window: &[u8],
    secret_end: usize,
    traits: FileTraits,
    claims: &[&str],
) -> bool {
    match filter {
        Filter::None => true,
        Filter::Placeholder => !filter::is_placeholder(secret),
        Filter::Entropy(min) => !filter::is_placeholder(secret) && filter::entropy(secret) >= min,
        Filter::Password => filter::password_value(secret, b"", 4),
        Filter::Random(min) => filter::looks_random(secret, min),
        Filter::KeyedValue => {
            let key = pattern
                .key
                .and_then(|g| caps.get(g))
                .map(|m| m.as_bytes())
                .unwrap_or_default();
            if claimed(key, claims) {
                return false;
            }
            match filter::classify_key(key) {
                filter::KeyKind::Password => filter::password_value(secret, key, 4),
                filter::KeyKind::HumanSecret => filter::password_value(secret, key, 6),
                filter::KeyKind::Token => filter::looks_random(secret, 16),
                filter::KeyKind::Other => false,
            }
        }
        Filter::UrlPassword => {
            // Documentation hosts (RFC 2606: example.com, *.example, *.test, *.invalid) carry
            // documentation credentials.
            let host = caps
                .name("host")
                .map(|m| m.as_bytes().to_ascii_lowercase())
                .unwrap_or_default();
            let doc_host = [
                &b"example.com"[..],
                b"example.org",
                b"example.net",
                b"example.edu",
            ]
            .iter()
            .any(|d| host == *d || host.ends_with(&[b".", *d].concat()))
                || [&b".example"[..], b".test", b".invalid"]
                    .iter()
                    .any(|s| host.ends_with(s))
                || host.starts_with(b"example.");
            !doc_host && filter::password_value(secret, b"", 3)
        }
        Filter::AssignedPassword | Filter::AssignedSecret => {
            let key = pattern
                .key
                .and_then(|g| caps.get(g))
                .map(|m| m.as_bytes())
                .unwrap_or_default();
            if claimed(key, claims) {
                return false;
            }
            let has = |g: Option<usize>| g.and_then(|g| caps.get(g)).is_some_and(|m| !m.is_empty());
            let bare = has(pattern.bare);
            let closed = has(pattern.close);
            if !has(pattern.op) {
                // `('password', 'x')` needs a quoted key; `password 'x'` needs a space and a
                // quoted value, never a bare word (that is prose).
                if bare || (has(pattern.comma) && !closed) {
                    return false;
                }
                if !has(pattern.comma) {
                    // `password 'x'` (Gradle, Groovy): a real password key, a space, and a
                    // single- or double-quoted value. `pass \`Form\`` in prose is not one.
                    let whole = caps.get(0).map(|m| m.as_bytes()).unwrap_or_default();
                    let lower = key.to_ascii_lowercase();
                    let strong = [&b"password"[..], b"passwd", b"pwd", b"passphrase"]
                        .iter()
                        .any(|w| memchr::memmem::find(&lower, w).is_some());
                    if closed || !whole.contains(&b' ') || whole.ends_with(b"`") || !strong {
                        return false;
                    }
                }
            }
            let kind = filter::classify_key(key);
            if bare {
                if traits.code {
                    return false;
                }
                let rest = window.get(secret_end..).unwrap_or_default();
                if filter::is_code_expression(secret, rest.first().copied()) {
                    return false;
                }
                // A bare word must end its statement; a random-looking token may be followed
                // by more of a command line (`curl -d token=… https://…`).
                if !bare_value_ends(rest) && kind != filter::KeyKind::Token {
                    return false;
                }
            }
            match (filter, kind) {
                (Filter::AssignedPassword, filter::KeyKind::Password) => {
                    filter::password_value(secret, key, 4)
                }
                (Filter::AssignedSecret, filter::KeyKind::HumanSecret) => {
                    filter::password_value(secret, key, 6)
                }
                (Filter::AssignedSecret, filter::KeyKind::Token) => {
                    filter::looks_random(secret, 16)
                }
                _ => false,
            }
        }
        Filter::PemBlock => {
            // Real keys have runs of `A` (zero bytes), so no run-length placeholder test here.
            let body_chars = secret
                .iter()
                .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
                .count();
            let lower = secret.to_ascii_lowercase();
            let marker = |m: &[u8]| memchr::memmem::find(&lower, m).is_some();
            body_chars >= 64
                && !marker(b"...")
                && !marker(b"xxxx")
                && !marker(b"<")
                && filter::entropy(secret) > 4.0
        }
        Filter::EncodedPem => {
            let take = secret.len().min(120) / 4 * 4;
            let decoded = secret
                .get(..take)
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok());
            decoded.is_some_and(|d| memchr::memmem::find(&d, b"PRIVATE KEY").is_some())
        }
        Filter::BasicAuth => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(secret)
                .ok()
                .filter(|d| d.iter().all(|b| b.is_ascii_graphic() || *b == b' '));
            match decoded {
                Some(d) => match d.iter().position(|&b| b == b':') {
                    Some(colon) => {
                        let password = d.get(colon + 1..).unwrap_or_default();
                        colon > 0 && password.len() >= 3 && !filter::is_placeholder(password)
                    }
                    None => false,
                },
                None => false,
            }
        }
    }
}

/// True when a service rule owns this key name (see `Rule::claims`).
fn claimed(key: &[u8], claims: &[&str]) -> bool {
    if claims.is_empty() {
        return false;
    }
    let lower = key.to_ascii_lowercase();
    claims
        .iter()
        .any(|c| memchr::memmem::find(&lower, c.as_bytes()).is_some())
}

/// After a bare value: the end of the line, a comment, or the next `key=value` of a list.
fn bare_value_ends(rest: &[u8]) -> bool {
    let trimmed = rest.trim_ascii_start();
    match trimmed.first() {
        None | Some(b'\n' | b'\r' | b';' | b',' | b'&' | b'#' | b'"' | b'\'' | b')' | b'}') => true,
        Some(b'/') => trimmed.starts_with(b"//"),
        Some(_) => {
            // `user=apache password=secret dbname=x`: another assignment follows.
            let word_len = trimmed
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                .count();
            word_len > 0 && trimmed.get(word_len) == Some(&b'=')
        }
    }
}

/// Start of the key that contains position `pos`: back over `[A-Za-z0-9_.-]`.
fn key_start(content: &[u8], pos: usize) -> usize {
    let floor = pos.saturating_sub(MAX_KEY_BACK);
    let mut start = pos;
    while start > floor {
        match content.get(start - 1) {
            Some(b) if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') => start -= 1,
            _ => break,
        }
    }
    start
}

/// Start of the line containing `pos`, at most `MAX_LINE_SPAN` back.
pub(crate) fn line_start(content: &[u8], pos: usize) -> usize {
    line_start_found(content, pos).0
}

/// Start of the line containing `pos`, and whether a real line break was found (rather
/// than the span limit).
fn line_start_found(content: &[u8], pos: usize) -> (usize, bool) {
    let pos = pos.min(content.len());
    let floor = pos.saturating_sub(MAX_LINE_SPAN);
    match content
        .get(floor..pos)
        .and_then(|s| memchr::memrchr(b'\n', s))
    {
        Some(i) => (floor + i + 1, true),
        None => (floor, floor == 0),
    }
}

/// End of the line containing `pos` (the index of its `\n`), at most `MAX_LINE_SPAN` on.
pub(crate) fn line_end(content: &[u8], pos: usize) -> usize {
    line_end_found(content, pos).0
}

fn line_end_found(content: &[u8], pos: usize) -> (usize, bool) {
    let pos = pos.min(content.len());
    let ceiling = (pos + MAX_LINE_SPAN).min(content.len());
    match content
        .get(pos..ceiling)
        .and_then(|s| memchr::memchr(b'\n', s))
    {
        Some(i) => (pos + i, true),
        None => (ceiling, ceiling == content.len()),
    }
}

fn window(content: &[u8], start: usize, end: usize, context: Context) -> (usize, usize) {
    // Extra lines only across real line breaks: on one enormous line the span limit is the
    // window, however many lines of context the rule asks for.
    let (mut s, mut found) = line_start_found(content, start);
    for _ in 0..context.lines_before {
        if s == 0 || !found {
            break;
        }
        (s, found) = line_start_found(content, s - 1);
    }
    let (mut e, mut found) = line_end_found(content, end);
    for _ in 0..context.lines_after {
        if e >= content.len() || !found {
            break;
        }
        (e, found) = line_end_found(content, e + 1);
    }
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_stop_at_lines_and_spans() {
        let text = b"one\ntwo key three\nfour\n";
        let pos = 8; // "key"
        assert_eq!(window(text, pos, pos + 3, Context::LINE), (4, 17));
        assert_eq!(window(text, pos, pos + 3, Context::around(1, 1)), (0, 22));
        let long = vec![b'a'; 10 * MAX_LINE_SPAN];
        let (s, e) = window(
            &long,
            5 * MAX_LINE_SPAN,
            5 * MAX_LINE_SPAN + 3,
            Context::around(3, 3),
        );
        assert!(e - s <= 2 * MAX_LINE_SPAN + 3);
    }

    #[test]
    fn key_start_walks_back_over_key_characters() {
        let text = b"export REACT_APP_PASSWORD=x";
        let pos = text.windows(8).position(|w| w == b"PASSWORD").unwrap();
        assert_eq!(key_start(text, pos), 7);
    }

    #[test]
    fn bare_values_must_end_the_statement() {
        assert!(bare_value_ends(b""));
        assert!(bare_value_ends(b"   # comment"));
        assert!(bare_value_ends(b" dbname=x"));
        assert!(!bare_value_ends(b" + other"));
        assert!(!bare_value_ends(b" if x"));
    }
}
