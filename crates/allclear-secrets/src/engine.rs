//! The matcher: one Aho-Corasick pass over the content finds every rule keyword; each rule's
//! regexes then run only on the few lines around its keywords.
//!
//! Speed (see `examples/scan_dir.rs`): the keyword DFA is walked by hand over four slices of
//! the content at once; rule regexes are compiled on first use, so building an engine is
//! cheap; the generic assignment rule rejects most code identifiers before its regex runs.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, MatchKind};
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
/// Bytes scanned with the keyword NFA before the keyword DFA is built. The DFA walks text
/// about ten times faster (~1,400 vs ~150 MB/s) but takes ~1.3 ms to build, more than a
/// pre-commit hook or a small repository spends scanning. Switching once the NFA has spent
/// about what the build costs (as in ski rental) is never worse than twice the better choice.
const KEYWORD_DFA_AFTER_BYTES: u64 = 256 << 10;

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

/// A rule regex, compiled on first use: most rules never see a keyword in a given run
/// (a pre-commit scan of a few files), and compiling all of them would cost more than the
/// scan. `Engine::compile_all` compiles them all up front (for `allclear rules check`).
struct LazyPattern {
    source: &'static str,
    compiled: OnceLock<Result<CompiledPattern, regex::Error>>,
}

impl LazyPattern {
    fn compiled(&self) -> &Result<CompiledPattern, regex::Error> {
        self.compiled.get_or_init(|| compile(self.source))
    }

    /// The compiled pattern; `None` if it does not compile (which `compile_all`, run by the
    /// rule checks in CI, reports).
    fn get(&self) -> Option<&CompiledPattern> {
        self.compiled().as_ref().ok()
    }
}

fn compile(pattern: &str) -> Result<CompiledPattern, regex::Error> {
    let regex = RegexBuilder::new(&format!("(?-u){pattern}"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()?;
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
    Ok(cp)
}

impl CompiledRule {
    /// Whether the window holds one of the rule's `near` words (or the rule has none).
    /// Checked before the regexes run (and are compiled): a window without one cannot
    /// yield a hit.
    fn near_ok(&self, window: &[u8]) -> bool {
        self.near.as_ref().is_none_or(|near| near.is_match(window))
    }
}

struct CompiledRule {
    rule: &'static Rule,
    /// The generic `key = value` rule (the `ASSIGNMENT` pattern and an assignment filter):
    /// most of its keyword hits are identifiers in code, rejected before the regex runs
    /// (see `assignment_may_pass`).
    assignment: bool,
    patterns: Vec<LazyPattern>,
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
    /// Key fragments owned by service rules (see `Rule::claims`), ASCII case-insensitive;
    /// `None` when no rule claims any.
    claims: Option<AhoCorasick>,
    /// All keywords, ASCII case-insensitive (`keyword_list`'s order is the keyword index).
    keyword_list: Vec<&'static str>,
    /// The keywords as a contiguous NFA: cheap to build, used until the DFA is.
    keywords_nfa: AhoCorasick,
    /// The keywords as a DFA stepped by hand (see `find_keywords_dfa`), built once
    /// `KEYWORD_DFA_AFTER_BYTES` have been scanned; `None` inside if it could not be built.
    keywords_dfa: OnceLock<Option<aho_corasick::dfa::DFA>>,
    /// Bytes scanned so far, by every thread.
    scanned: AtomicU64,
    /// For each keyword, the rules that asked for it.
    keyword_rules: Vec<Vec<usize>>,
    rules: Vec<CompiledRule>,
}

/// One occurrence of a keyword.
#[derive(Debug, Clone, Copy)]
struct KeywordHit {
    keyword: usize,
    start: usize,
    end: usize,
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
            let patterns = rule
                .patterns
                .iter()
                .map(|&source| LazyPattern {
                    source,
                    compiled: OnceLock::new(),
                })
                .collect();
            let near = if rule.near.is_empty() {
                None
            } else {
                // Searched only in the few windows around candidates.
                Some(contiguous_automaton(rule.near)?)
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
            let assignment = rule.anchor == Anchor::KeyStart
                && rule.patterns == [crate::rules::ASSIGNMENT]
                && matches!(
                    rule.filter,
                    Filter::AssignedPassword | Filter::AssignedSecret
                );
            compiled.push(CompiledRule {
                rule,
                assignment,
                patterns,
                near,
            });
        }
        // Every occurrence of every keyword is reported (overlapping, standard semantics), so
        // a keyword inside another (`pass` in `password`) triggers its own rules.
        let keywords_nfa = contiguous_automaton(&keyword_list)?;
        let claims = if claims.is_empty() {
            None
        } else {
            Some(contiguous_automaton(&claims)?)
        };
        Ok(Engine {
            claims,
            keyword_list,
            keywords_nfa,
            keywords_dfa: OnceLock::new(),
            scanned: AtomicU64::new(0),
            keyword_rules,
            rules: compiled,
        })
    }

    /// Compiles every rule regex now: the first one that does not compile is the error.
    pub fn compile_all(&self) -> Result<(), EngineError> {
        for compiled in &self.rules {
            for (index, pattern) in compiled.patterns.iter().enumerate() {
                if let Err(source) = pattern.compiled() {
                    return Err(EngineError::Pattern {
                        rule: compiled.rule.id.to_owned(),
                        index,
                        source: source.clone(),
                    });
                }
            }
        }
        Ok(())
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
        let mut found = Vec::new();
        self.find_keywords(content, &mut found);
        for m in found {
            for &r in self.keyword_rules.get(m.keyword).map_or(&[][..], |v| v) {
                let rule = self.rules[r].rule;
                if rule.case_sensitive_keywords
                    && content.get(m.start..m.end)
                        != self.keyword_list.get(m.keyword).map(|k| k.as_bytes())
                {
                    continue;
                }
                match rule.anchor {
                    Anchor::KeyStart => {
                        let start = key_start(content, m.start);
                        // `etc/passwd`, `/api/token`: the last segment of a path or route is
                        // a name, not a key being assigned.
                        if start > 0 && content.get(start - 1) == Some(&b'/') {
                            continue;
                        }
                        if pending[r].is_some_and(|(s, _)| s == start) {
                            continue;
                        }
                        let end = line_end(content, m.end);
                        pending[r] = Some((start, end));
                        self.run_anchored(r, content, start, end, traits, hits);
                    }
                    Anchor::Window => {
                        let (s, e) = window(content, m.start, m.end, rule.context);
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

    /// Every keyword occurrence in `content`, sorted by start.
    fn find_keywords(&self, content: &[u8], found: &mut Vec<KeywordHit>) {
        match self.keyword_dfa(content.len()) {
            Some(dfa) => self.find_keywords_dfa(dfa, content, found),
            None => {
                let mut last_end = vec![0usize; self.keyword_list.len()];
                for m in self.keywords_nfa.find_overlapping_iter(content) {
                    let keyword = m.pattern().as_usize();
                    if let Some(last) = last_end.get_mut(keyword) {
                        if overlaps_itself(m.start(), *last) {
                            continue;
                        }
                        *last = m.end();
                    }
                    found.push(KeywordHit {
                        keyword,
                        start: m.start(),
                        end: m.end(),
                    });
                }
            }
        }
        found.sort_unstable_by_key(|m| (m.start, m.end, m.keyword));
    }

    /// The keyword DFA once enough text has been scanned to pay for building it (counting
    /// `len`, the text about to be scanned).
    fn keyword_dfa(&self, len: usize) -> Option<&aho_corasick::dfa::DFA> {
        if let Some(dfa) = self.keywords_dfa.get() {
            return dfa.as_ref();
        }
        let before = self.scanned.fetch_add(len as u64, Ordering::Relaxed);
        if before.saturating_add(len as u64) < KEYWORD_DFA_AFTER_BYTES {
            return None;
        }
        self.keywords_dfa
            .get_or_init(|| build_keyword_dfa(&self.keyword_list))
            .as_ref()
    }

    /// Every keyword occurrence in `content`, unsorted, by walking the DFA.
    ///
    /// One DFA walk is a chain of dependent table loads (one per byte), bound by memory
    /// latency rather than bandwidth: so the content is cut in four slices walked in
    /// lockstep, which keeps four loads in flight and runs about three times faster than
    /// one walk (measured: ~450 → ~1,400 MB/s per core on ~/.cargo/registry/src).
    fn find_keywords_dfa(
        &self,
        dfa: &aho_corasick::dfa::DFA,
        content: &[u8],
        found: &mut Vec<KeywordHit>,
    ) {
        const STREAMS: usize = 4;
        let Ok(start) = dfa.start_state(Anchored::No) else {
            return;
        };
        // A slice starts this many bytes early, so a keyword across the cut is seen whole
        // (only matches ending inside the slice proper are kept).
        let overlap = self.keyword_list.iter().map(|k| k.len()).max().unwrap_or(1) - 1;
        let quarter = content.len() / STREAMS;
        // Where each stream last saw each keyword end: see `overlaps_itself`.
        let mut last_end = vec![[0usize; STREAMS]; self.keyword_list.len()];
        let mut report = |k: usize, sid: StateID, end: usize, found: &mut Vec<KeywordHit>| {
            for i in 0..dfa.match_len(sid) {
                let keyword = dfa.match_pattern(sid, i).as_usize();
                let len = self.keyword_list.get(keyword).map_or(0, |k| k.len());
                let start = end.saturating_sub(len);
                if let Some(last) = last_end.get_mut(keyword).and_then(|l| l.get_mut(k)) {
                    if overlaps_itself(start, *last) {
                        continue;
                    }
                    *last = end;
                }
                found.push(KeywordHit {
                    keyword,
                    start,
                    end,
                });
            }
        };
        if quarter < 4 * overlap.max(64) {
            let mut sid = start;
            for (i, &b) in content.iter().enumerate() {
                sid = dfa.next_state(Anchored::No, sid, b);
                if dfa.is_special(sid) && dfa.is_match(sid) {
                    report(0, sid, i + 1, found);
                }
            }
        } else {
            let (s0, rest) = content.split_at(quarter);
            let (s1, rest) = rest.split_at(quarter);
            let (s2, s3) = rest.split_at(quarter);
            let mut sids = [start; STREAMS];
            // Warm the later streams up on the bytes before their slice; what they match
            // there ends in the previous slice, whose stream reports it.
            for (k, sid) in sids.iter_mut().enumerate().skip(1) {
                let from = (k * quarter).saturating_sub(overlap);
                for &b in content.get(from..k * quarter).unwrap_or_default() {
                    *sid = dfa.next_state(Anchored::No, *sid, b);
                }
            }
            for i in 0..quarter {
                let (Some(&b0), Some(&b1), Some(&b2), Some(&b3)) =
                    (s0.get(i), s1.get(i), s2.get(i), s3.get(i))
                else {
                    break;
                };
                sids[0] = dfa.next_state(Anchored::No, sids[0], b0);
                sids[1] = dfa.next_state(Anchored::No, sids[1], b1);
                sids[2] = dfa.next_state(Anchored::No, sids[2], b2);
                sids[3] = dfa.next_state(Anchored::No, sids[3], b3);
                if dfa.is_special(sids[0])
                    | dfa.is_special(sids[1])
                    | dfa.is_special(sids[2])
                    | dfa.is_special(sids[3])
                {
                    for (k, &sid) in sids.iter().enumerate() {
                        if dfa.is_match(sid) {
                            report(k, sid, k * quarter + i + 1, found);
                        }
                    }
                }
            }
            // The last slice holds the remainder of the division.
            let mut sid = sids[3];
            for (i, &b) in s3.iter().enumerate().skip(quarter) {
                sid = dfa.next_state(Anchored::No, sid, b);
                if dfa.is_special(sid) && dfa.is_match(sid) {
                    report(3, sid, 3 * quarter + i + 1, found);
                }
            }
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
        if !compiled.near_ok(window) {
            return;
        }
        for pattern in compiled.patterns.iter().filter_map(LazyPattern::get) {
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
        if compiled.assignment
            && (!assignment_may_pass(window, compiled.rule.filter, self.claims.as_ref())
                || quoted_value_not_key(content, start))
        {
            return;
        }
        self.run_anchored_regex(r, window, start, traits, hits);
    }

    /// The regex part of `run_anchored`, without the shortcut.
    fn run_anchored_regex(
        &self,
        r: usize,
        window: &[u8],
        start: usize,
        traits: FileTraits,
        hits: &mut Vec<Hit>,
    ) {
        let Some(compiled) = self.rules.get(r) else {
            return;
        };
        if !compiled.near_ok(window) {
            return;
        }
        for pattern in compiled.patterns.iter().filter_map(LazyPattern::get) {
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
        let (mut secret_end, mut whole_end) = (secret.end(), whole.end());
        if compiled.assignment && secret.len() > crate::rules::MAX_ASSIGNED_VALUE {
            // The pattern leaves values unbounded (see `ASSIGNMENT`): a quoted value this
            // long is no match, a bare one (the pattern's last group) ends at the bound.
            if pattern.bare.is_none_or(|g| caps.get(g).is_none()) {
                return;
            }
            secret_end = secret.start() + crate::rules::MAX_ASSIGNED_VALUE;
            whole_end = secret_end;
        }
        let accepted = accept(
            compiled.rule.filter,
            pattern,
            caps,
            window.get(secret.start()..secret_end).unwrap_or_default(),
            window,
            secret_end,
            traits,
            self.claims.as_ref(),
        );
        if accepted {
            hits.push(Hit {
                rule: r,
                start: base + secret.start(),
                end: base + secret_end,
                match_start: base + whole.start(),
                match_end: base + whole_end,
            });
        }
    }
}

/// Whether a keyword occurrence starting at `start` overlaps the previous occurrence of the
/// same keyword (which ended at `last_end`). Only a periodic keyword can (`aaaa…`, a
/// placeholder rule's), and then a run of it would give one hit per byte: 24 bytes of memory
/// for each byte of a hostile file. The rules lose nothing: an overlapping occurrence has the
/// same key start and lies in the same window.
fn overlaps_itself(start: usize, last_end: usize) -> bool {
    last_end > 0 && start < last_end
}

/// An ASCII case-insensitive automaton with standard (overlapping-capable) semantics, as a
/// contiguous NFA: far cheaper to build than a DFA, which matters for a pre-commit scan that
/// lives a few milliseconds.
fn contiguous_automaton<P: AsRef<[u8]>>(patterns: &[P]) -> Result<AhoCorasick, EngineError> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(patterns)
        .map_err(EngineError::Keywords)
}

/// The keyword DFA: every occurrence of every keyword (overlapping, standard semantics), so
/// a keyword inside another (`pass` in `password`) triggers its own rules.
fn build_keyword_dfa(keywords: &[&'static str]) -> Option<aho_corasick::dfa::DFA> {
    aho_corasick::dfa::Builder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(keywords)
        .ok()
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
    claims: Option<&AhoCorasick>,
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
                // `("password", "x")`, `define('DB_PASSWORD', 'x')`, Gradle's
                // `buildConfigField 'String', 'API_KEY', '"…"'`: the value is the last of the
                // pair. In a list of words (`["secrets", "restricted", "personal"]`) another
                // element follows it: it is only the next word.
                if has(pattern.comma)
                    && another_element_follows(window.get(secret_end + 1..).unwrap_or_default())
                {
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

/// True when a comma follows a quoted value (after its closing quote and any spaces).
fn another_element_follows(after: &[u8]) -> bool {
    after.trim_ascii_start().first() == Some(&b',')
}

/// True when the quoted word starting at `start` is itself the value of an assignment
/// (`"type": "m.login.password", "identifier": …`): a whole quoted string right after `:` or
/// `=` is a value, so it is no key, and what follows its comma is the next element. A key
/// inside a longer quoted value (`env: "DB_PASSWORD=…"`) is still read.
fn quoted_value_not_key(content: &[u8], start: usize) -> bool {
    let Some(quote) = start.checked_sub(1).and_then(|i| content.get(i).copied()) else {
        return false;
    };
    if !matches!(quote, b'"' | b'\'' | b'`') {
        return false;
    }
    let before = content
        .get(..start - 1)
        .unwrap_or_default()
        .trim_ascii_end();
    if !matches!(before.last(), Some(b':' | b'=')) {
        return false;
    }
    let rest = content.get(start..).unwrap_or_default();
    let key_len = rest
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    rest.get(key_len) == Some(&quote)
}

/// Whether the `ASSIGNMENT` regex, run at the start of `window` (a key start), can yield a
/// match that `filter` (`AssignedPassword` or `AssignedSecret`) accepts. Exact, not a
/// heuristic: the regex's key is greedy, so it is the whole run of key characters unless
/// that fails; a shorter key is followed by a key character, which leaves only a bare value
/// without an operator (always rejected) or the `->` operator (run ending in `-` before
/// `>`). So the byte after the run must be able to start a closing quote, spaces, an
/// operator, a comma or a quoted value, and the run must be a key of the filter's kind.
fn assignment_may_pass(window: &[u8], filter: Filter, claims: Option<&AhoCorasick>) -> bool {
    let run = window
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    if run > 80 {
        // The regex's key stops at 80 characters: let it decide.
        return true;
    }
    let key = window.get(..run).unwrap_or_default();
    match window.get(run) {
        Some(b'>') if key.ends_with(b"-") => true,
        Some(
            b'"' | b'\'' | b'`' | b'\\' | b']' | b' ' | b'\t' | b'=' | b':' | b'|' | b'?' | b',',
        ) if !key.is_empty() => {
            if claimed(key, claims) {
                return false;
            }
            matches!(
                (filter, filter::classify_key(key)),
                (Filter::AssignedPassword, filter::KeyKind::Password)
                    | (
                        Filter::AssignedSecret,
                        filter::KeyKind::HumanSecret | filter::KeyKind::Token
                    )
            )
        }
        _ => false,
    }
}

/// True when a service rule owns this key name (see `Rule::claims`).
fn claimed(key: &[u8], claims: Option<&AhoCorasick>) -> bool {
    claims.is_some_and(|c| c.is_match(key))
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
    use proptest::prelude::*;

    fn all_rules() -> Engine {
        Engine::new(crate::rules::rules()).unwrap()
    }

    /// Text made of keywords, key-ish words and the punctuation of assignments.
    fn texty(max: usize) -> impl Strategy<Value = Vec<u8>> {
        let pieces = prop::sample::select(vec![
            "password",
            "PASSWORD",
            "pass",
            "key",
            "Token",
            "secret",
            "_",
            "-",
            ".",
            " ",
            "\t",
            "=",
            ":",
            "->",
            ">",
            ",",
            "\"",
            "'",
            "`",
            "\\",
            "]",
            "\n",
            "ghp_",
            "://",
            "a",
            "Z",
            "9",
            "hunter2",
            "Xk9fQ2mZ7vLp3RtW8yBn",
            "(",
            ";",
            "api_key",
            "db.pass",
            "@",
            "$",
        ]);
        prop::collection::vec(pieces, 0..max).prop_map(|v| v.concat().into_bytes())
    }

    #[test]
    fn a_run_of_a_periodic_keyword_is_not_one_hit_per_byte() {
        // `aaaa…` is a placeholder rule's keyword: a hostile file of it must not cost 24
        // bytes of keyword hits per byte, on either search path.
        let engine = all_rules();
        let text = vec![b'a'; 1 << 20];
        let mut found = Vec::new();
        engine.find_keywords(&text, &mut found);
        assert!(
            !found.is_empty() && found.len() < 100_000,
            "{}",
            found.len()
        );
        let dfa = build_keyword_dfa(&engine.keyword_list).unwrap();
        let mut walked = Vec::new();
        engine.find_keywords_dfa(&dfa, &text, &mut walked);
        assert!(
            !walked.is_empty() && walked.len() < 100_000,
            "{}",
            walked.len()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// The four-slice DFA walk finds exactly what a plain overlapping search finds,
        /// across the slice cuts.
        #[test]
        fn keyword_walk_matches_overlapping_search(text in texty(600)) {
            let engine = all_rules();
            let mut found = Vec::new();
            engine.find_keywords(&text, &mut found);
            let got: Vec<(usize, usize, usize)> =
                found.iter().map(|m| (m.start, m.end, m.keyword)).collect();
            let dfa = build_keyword_dfa(&engine.keyword_list).unwrap();
            let mut walked = Vec::new();
            engine.find_keywords_dfa(&dfa, &text, &mut walked);
            walked.sort_unstable_by_key(|m| (m.start, m.end, m.keyword));
            let walked: Vec<(usize, usize, usize)> =
                walked.iter().map(|m| (m.start, m.end, m.keyword)).collect();
            prop_assert_eq!(&walked, &got);
            let mut keywords: Vec<&str> = Vec::new();
            for rule in crate::rules::rules() {
                for k in rule.keywords {
                    if !keywords.contains(k) {
                        keywords.push(k);
                    }
                }
            }
            let reference = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(&keywords)
                .unwrap();
            let mut want: Vec<(usize, usize, usize)> = reference
                .find_overlapping_iter(&text)
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
                .collect();
            want.sort_unstable();
            // Occurrences of a keyword overlapping its previous one are dropped (see
            // `overlaps_itself`).
            let mut last_end = vec![0usize; keywords.len()];
            want.retain(|&(start, end, k)| {
                let keep = !overlaps_itself(start, last_end[k]);
                if keep {
                    last_end[k] = end;
                }
                keep
            });
            prop_assert_eq!(got, want);
        }

        /// The shortcut before the assignment regex never drops a hit the regex and its
        /// filter would have kept.
        #[test]
        fn assignment_shortcut_is_exact(
            before in texty(4),
            key in prop::sample::select(vec![
                "password", "DB_PASSWORD", "api_key", "token", "secret", "keyboard", "a-",
                "client_secret", "pass.word", "public_key", "",
            ]),
            close in prop::sample::select(vec!["", "", "", "\"", "'", "]", "\\\"", "\"]"]),
            op in prop::sample::select(vec![
                "", " ", "\t", "=", " = ", " =", ": ", ":=", "->", ">", ",", " ,", "||=", "??=",
                "=>", "(", " : ",
            ]),
            value in prop::sample::select(vec![
                "\"Xk9fQ2mZ7vLp3RtW8yBn\"", "'hunter2x'", "hunter2x", "`op3nS3same`",
                "\\\"Xk9fQ2mZ7vLp3RtW8yBn\\\"", "Xk9fQ2mZ7vLp3RtW8yBn", "self.x", "\"\"",
            ]),
            after in texty(4),
            code in any::<bool>(),
        ) {
            let text = [before.as_slice(), key.as_bytes(), close.as_bytes(), op.as_bytes(),
                value.as_bytes(), after.as_slice()].concat();
            let engine = all_rules();
            let traits = FileTraits { code };
            for (r, compiled) in engine.rules.iter().enumerate() {
                if !compiled.assignment {
                    continue;
                }
                for start in 0..text.len() {
                    let window = &text[start..];
                    let mut with = Vec::new();
                    engine.run_anchored(r, &text, start, text.len(), traits, &mut with);
                    let mut without = Vec::new();
                    engine.run_anchored_regex(r, window, start, traits, &mut without);
                    prop_assert_eq!(with, without, "rule {} at {}", compiled.rule.id, start);
                }
            }
        }
    }

    #[test]
    fn the_shortcut_applies_to_the_generic_assignment_rules() {
        let engine = all_rules();
        let ids: Vec<&str> = engine
            .rules
            .iter()
            .filter(|c| c.assignment)
            .map(|c| c.rule.id)
            .collect();
        assert_eq!(ids, ["secrets.generic-password", "secrets.generic-secret"]);
    }

    /// A keyword hit that cannot lead to a match (the wrong case for a case-sensitive
    /// keyword, no `near` word in the window) does not even compile the rule's regex: on a
    /// small repository, compiling was most of the secrets scan.
    #[test]
    fn hopeless_windows_leave_regexes_uncompiled() {
        let engine = all_rules();
        let compiled = |id: &str| {
            let rule = engine.rules.iter().find(|c| c.rule.id == id).unwrap();
            rule.patterns.iter().all(|p| p.compiled.get().is_some())
        };
        let lockfile = b"source = \"git+https://github.com/a/b\"\nchecksum = \"5eaa01f7\"\n";
        engine.scan(lockfile, FileTraits::default(), &mut Vec::new());
        assert!(!compiled("secrets.facebook-access-token"));
        assert!(!compiled("secrets.url-credentials"));
        assert!(!compiled("secrets.github-oauth-secret"));
        let token = format!("token = EAA{}\n", "Zx9".repeat(40));
        engine.scan(token.as_bytes(), FileTraits::default(), &mut Vec::new());
        assert!(compiled("secrets.facebook-access-token"));
    }

    #[test]
    fn every_rule_pattern_compiles() {
        all_rules().compile_all().unwrap();
    }

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
