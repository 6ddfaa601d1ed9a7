//! Rewrites of Python patterns that let the linear engine run patterns which, as written,
//! need backtracking: conditionals `(?(g)A|B)` expanded into plain alternation, and tempered
//! loops `(?:(?!LIT).)*` turned into `.*` whose span is checked afterwards.
//!
//! **Conditionals.** When the group a conditional tests is decided by an item of the same
//! sequence (an optional group `(X)?`, or one alternative of an alternation group), the
//! sequence is split at that item into one branch per choice, in the order a backtracking
//! engine tries them, and the rest of the sequence is copied into each branch with the
//! conditional resolved: `P(X)?R` is `P(?:(X)R[g set]|R[g unset])` and `P(A|B)R` is
//! `P(?:(A)R[..]|(B)R[..])`. Both have the same matches, tried in the same order, as the
//! original, so leftmost-first search returns the same match with the same groups. Copies of
//! a capturing group are renamed `__pyN_C` (`N` its Python number) and the caller maps them
//! back.
//!
//! **Tempered loops.** `(?:(?!LIT).)*` (or `*?`) with `LIT` a plain literal becomes `.*` (or
//! `.*?`) in a group `__tK`. Every match of the original is a match of the rewrite, tried in
//! the same order, so when the rewrite's first match has no `LIT` starting inside any `__tK`
//! span, it is the original's first match; otherwise the caller runs the original on the
//! backtracking engine. Loops inside a repeated group are left alone (their span would not be
//! captured whole).
//!
//! Most loops need no check at all: when the text right after the loop is fixed (a literal,
//! or the end of the text), whether an occurrence of `LIT` that starts inside the loop could
//! run on past its end is known statically, and the loop is written as a pattern for
//! "no `LIT` starts inside" with no look-ahead ([`avoiding_loop`]), trying the loop's ends in
//! the same order as `.` repeated. fail2ban's sshd loops (`(?:(?! from ).)*?` before
//! ` from `, `(?:(?! from ).)*` before `$`) are all of that kind.
//!
//! Anything else (verbose mode, comments, a conditional whose group is decided elsewhere)
//! makes [`expand`] return `None`, and the pattern keeps its backtracking engine.

use std::collections::BTreeMap;

/// A rewritten pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// Python syntax without conditionals (and without the tempered loops it lists).
    pub pattern: String,
    /// Python group number of every original capturing group, with its name if any.
    pub groups: Vec<(usize, Option<String>)>,
    /// Tempered loops: (index K of group `__tK`, the literal that must not start inside).
    pub tempered: Vec<(usize, String)>,
}

#[derive(Debug, Clone)]
enum Item {
    /// Text with no groups and no top-level `|` (escapes and classes kept as written).
    Raw(String),
    Group {
        /// The opening as written: `(`, `(?:`, `(?P<n>`, `(?!`, `(?i:` …
        open: String,
        /// Python group number when capturing.
        number: Option<usize>,
        name: Option<String>,
        alts: Vec<Vec<Item>>,
        /// The quantifier after `)` as written (may be empty).
        quant: String,
    },
    Cond {
        /// The group tested, by number.
        number: usize,
        yes: Vec<Item>,
        no: Vec<Item>,
        quant: String,
    },
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    groups: Vec<(usize, Option<String>)>,
}

impl Parser<'_> {
    fn alts(&mut self, depth: usize) -> Option<Vec<Vec<Item>>> {
        if depth > 64 {
            return None;
        }
        let mut alts = vec![Vec::new()];
        let mut raw = String::new();
        while self.pos < self.s.len() {
            let c = self.s[self.pos];
            match c {
                b'\\' => {
                    let start = self.pos;
                    self.pos += 1;
                    let ch = self.src.get(self.pos..)?.chars().next()?;
                    if ('1'..='9').contains(&ch) {
                        // A backreference (or an octal escape): numbering would change.
                        return None;
                    }
                    self.pos += ch.len_utf8();
                    raw.push_str(self.src.get(start..self.pos)?);
                }
                b'[' => {
                    let start = self.pos;
                    self.pos += 1;
                    if self.s.get(self.pos) == Some(&b'^') {
                        self.pos += 1;
                    }
                    if self.s.get(self.pos) == Some(&b']') {
                        self.pos += 1;
                    }
                    loop {
                        match self.s.get(self.pos)? {
                            b'\\' => self.pos += 2,
                            b']' => {
                                self.pos += 1;
                                break;
                            }
                            _ => self.pos += 1,
                        }
                    }
                    raw.push_str(self.src.get(start..self.pos)?);
                }
                b'|' => {
                    self.pos += 1;
                    flush(&mut raw, alts.last_mut()?);
                    alts.push(Vec::new());
                }
                b')' => break,
                b'(' => {
                    flush(&mut raw, alts.last_mut()?);
                    let item = self.group(depth)?;
                    alts.last_mut()?.push(item);
                }
                _ => {
                    let ch = self.src.get(self.pos..)?.chars().next()?;
                    self.pos += ch.len_utf8();
                    raw.push(ch);
                }
            }
        }
        flush(&mut raw, alts.last_mut()?);
        Some(alts)
    }

    fn group(&mut self, depth: usize) -> Option<Item> {
        let rest = self.src.get(self.pos..)?;
        let (open_len, number, name, cond) = if let Some(r) = rest.strip_prefix("(?P<") {
            let name: String = r.chars().take_while(|&c| c != '>').collect();
            self.groups
                .push((self.groups.len() + 1, Some(name.clone())));
            (
                4 + name.len() + 1,
                Some(self.groups.len()),
                Some(name),
                None,
            )
        } else if let Some(r) = rest.strip_prefix("(?(") {
            let reference: String = r.chars().take_while(|&c| c != ')').collect();
            let number = match reference.parse::<usize>() {
                Ok(n) => n,
                Err(_) => {
                    self.groups
                        .iter()
                        .find(|(_, n)| n.as_deref() == Some(reference.as_str()))?
                        .0
                }
            };
            (3 + reference.len() + 1, None, None, Some(number))
        } else if rest.starts_with("(?P=") || rest.starts_with("(?#") || rest.starts_with("(?x") {
            return None;
        } else if let Some(after) = rest.strip_prefix("(?") {
            // Non-capturing, lookaround or flags: the opening runs to ':' or the look sign.
            let b = rest.as_bytes();
            let len = match b.get(2)? {
                b':' | b'=' | b'!' | b'>' => 3,
                b'<' => 4,
                _ => {
                    let flags = after
                        .bytes()
                        .take_while(|c| c.is_ascii_alphabetic() || *c == b'-')
                        .count();
                    // Verbose mode (comments may hold parentheses) is left alone.
                    if b.get(2 + flags) != Some(&b':') || after[..flags].contains('x') {
                        // A global flag group like `(?i)`: keep the pattern as it is.
                        return None;
                    }
                    3 + flags
                }
            };
            (len, None, None, None)
        } else {
            self.groups.push((self.groups.len() + 1, None));
            (1, Some(self.groups.len()), None, None)
        };
        let open = rest.get(..open_len)?.to_owned();
        self.pos += open_len;
        let mut alts = self.alts(depth + 1)?;
        if self.s.get(self.pos) != Some(&b')') {
            return None;
        }
        self.pos += 1;
        let quant = self.quantifier();
        if let Some(number) = cond {
            if alts.len() > 2 {
                return None;
            }
            let no = if alts.len() == 2 {
                alts.pop()?
            } else {
                Vec::new()
            };
            let yes = alts.pop()?;
            return Some(Item::Cond {
                number,
                yes,
                no,
                quant,
            });
        }
        Some(Item::Group {
            open,
            number,
            name,
            alts,
            quant,
        })
    }

    fn quantifier(&mut self) -> String {
        let start = self.pos;
        match self.s.get(self.pos) {
            Some(b'*' | b'+' | b'?') => self.pos += 1,
            Some(b'{') => {
                let body = self.s[self.pos + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || **c == b',')
                    .count();
                if self.s.get(self.pos + 1 + body) == Some(&b'}') && body > 0 {
                    self.pos += body + 2;
                } else {
                    return String::new();
                }
            }
            _ => return String::new(),
        }
        if matches!(self.s.get(self.pos), Some(b'?' | b'+')) {
            self.pos += 1;
        }
        self.src[start..self.pos].to_owned()
    }
}

fn flush(raw: &mut String, seq: &mut Vec<Item>) {
    if !raw.is_empty() {
        seq.push(Item::Raw(std::mem::take(raw)));
    }
}

/// Whether an item always, never, or sometimes makes group `g` take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sets {
    Always,
    Never,
    Unknown,
}

fn defines(items: &[Item], g: usize) -> bool {
    items.iter().any(|it| match it {
        Item::Raw(_) => false,
        Item::Group { number, alts, .. } => {
            *number == Some(g) || alts.iter().any(|a| defines(a, g))
        }
        Item::Cond { yes, no, .. } => defines(yes, g) || defines(no, g),
    })
}

/// How a sequence (matched once) sets group `g`.
fn seq_sets(items: &[Item], g: usize) -> Sets {
    let mut result = Sets::Never;
    for it in items {
        match it {
            Item::Raw(_) => {}
            Item::Group {
                number,
                alts,
                quant,
                ..
            } => {
                if !defines(std::slice::from_ref(it), g) {
                    continue;
                }
                if !quant.is_empty() {
                    return Sets::Unknown;
                }
                if *number == Some(g) {
                    result = Sets::Always;
                    continue;
                }
                let each: Vec<Sets> = alts.iter().map(|a| seq_sets(a, g)).collect();
                if each.iter().all(|s| *s == Sets::Always) {
                    result = Sets::Always;
                } else {
                    return Sets::Unknown;
                }
            }
            Item::Cond { .. } if defines(std::slice::from_ref(it), g) => return Sets::Unknown,
            Item::Cond { .. } => {}
        }
    }
    result
}

/// Conditionals in `items` (at any depth) testing a group not yet known.
fn open_conds(items: &[Item], env: &BTreeMap<usize, bool>, out: &mut Vec<usize>) {
    for it in items {
        match it {
            Item::Raw(_) => {}
            Item::Group { alts, .. } => {
                for a in alts {
                    open_conds(a, env, out);
                }
            }
            Item::Cond {
                number, yes, no, ..
            } => {
                if !env.contains_key(number) {
                    out.push(*number);
                }
                open_conds(yes, env, out);
                open_conds(no, env, out);
            }
        }
    }
}

struct Render {
    copies: BTreeMap<usize, usize>,
    tempered: Vec<(usize, String)>,
    /// Output budget (bytes): expansion is exponential in nested conditionals.
    budget: usize,
    /// Depth of flag groups and lookarounds around the current item.
    scoped: usize,
    /// Where each checked loop was written in the output: (start, end, K, literal, lazy).
    loops: Vec<(usize, usize, usize, String, bool)>,
}

/// `LIT` when `alts` is exactly the tempered body `(?!LIT).` with a plain literal.
fn tempered_literal(open: &str, alts: &[Vec<Item>]) -> Option<String> {
    if open != "(?:" || alts.len() != 1 {
        return None;
    }
    let [
        Item::Group {
            open: look,
            alts: inner,
            quant,
            ..
        },
        Item::Raw(dot),
    ] = alts.first()?.as_slice()
    else {
        return None;
    };
    if look != "(?!" || !quant.is_empty() || dot != "." || inner.len() != 1 {
        return None;
    }
    let [Item::Raw(lit)] = inner.first()?.as_slice() else {
        return None;
    };
    let plain = !lit.is_empty()
        && lit
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '_' || c == '-');
    plain.then(|| lit.clone())
}

impl Render {
    fn seq(
        &mut self,
        items: &[Item],
        env: &BTreeMap<usize, bool>,
        repeated: bool,
        out: &mut String,
    ) -> Option<()> {
        if out.len() > self.budget {
            return None;
        }
        for (i, it) in items.iter().enumerate() {
            let mut later = Vec::new();
            open_conds(&items[i + 1..], env, &mut later);
            let decided: Vec<usize> = later
                .into_iter()
                .filter(|g| defines(std::slice::from_ref(it), *g))
                .collect();
            if let Some(&g) = decided.first() {
                if repeated {
                    return None;
                }
                // Split here: one branch per way `it` can go, the rest copied into each.
                let variants = self.variants(it, g)?;
                out.push_str("(?:");
                for (k, (variant, sets)) in variants.into_iter().enumerate() {
                    if k > 0 {
                        out.push('|');
                    }
                    let mut env2 = env.clone();
                    env2.insert(g, sets);
                    let mut seq = variant;
                    seq.extend_from_slice(&items[i + 1..]);
                    self.seq(&seq, &env2, repeated, out)?;
                }
                out.push(')');
                return Some(());
            }
            self.item(it, env, repeated, out)?;
        }
        Some(())
    }

    /// The ways `it` can match, in the order a backtracking engine tries them, each with
    /// whether it sets group `g`.
    fn variants(&self, it: &Item, g: usize) -> Option<Vec<(Vec<Item>, bool)>> {
        let Item::Group {
            open,
            number,
            name,
            alts,
            quant,
        } = it
        else {
            return None;
        };
        let with_quant = |q: &str| Item::Group {
            open: open.clone(),
            number: *number,
            name: name.clone(),
            alts: alts.clone(),
            quant: q.to_owned(),
        };
        match quant.as_str() {
            "?" | "??" => {
                let sets = match seq_sets(std::slice::from_ref(&with_quant("")), g) {
                    Sets::Always => true,
                    _ => return None,
                };
                let taken = (vec![with_quant("")], sets);
                let skipped = (Vec::new(), false);
                Some(if quant == "?" {
                    vec![taken, skipped]
                } else {
                    vec![skipped, taken]
                })
            }
            "" if !open.starts_with("(?=")
                && !open.starts_with("(?!")
                && !open.starts_with("(?<") =>
            {
                let mut out = Vec::new();
                for a in alts {
                    let sets = match seq_sets(a, g) {
                        _ if *number == Some(g) => true,
                        Sets::Always => true,
                        Sets::Never => false,
                        Sets::Unknown => return None,
                    };
                    let one = Item::Group {
                        open: open.clone(),
                        number: *number,
                        name: name.clone(),
                        alts: vec![a.clone()],
                        quant: String::new(),
                    };
                    out.push((vec![one], sets));
                }
                Some(out)
            }
            _ => None,
        }
    }

    fn item(
        &mut self,
        it: &Item,
        env: &BTreeMap<usize, bool>,
        repeated: bool,
        out: &mut String,
    ) -> Option<()> {
        match it {
            Item::Raw(s) => out.push_str(s),
            Item::Cond {
                number,
                yes,
                no,
                quant,
            } => {
                let take = *env.get(number)?;
                out.push_str("(?:");
                self.seq(
                    if take { yes } else { no },
                    env,
                    repeated || !quant.is_empty(),
                    out,
                )?;
                out.push(')');
                out.push_str(quant);
            }
            Item::Group {
                open,
                number,
                alts,
                quant,
                ..
            } => {
                let repeated_inside = repeated || !quant.is_empty();
                if !repeated
                    && self.scoped == 0
                    && matches!(quant.as_str(), "*" | "*?")
                    && let Some(lit) = tempered_literal(open, alts)
                {
                    let k = self.tempered.len();
                    let start = out.len();
                    out.push_str(&format!("(?P<__t{k}>.{quant})"));
                    self.loops
                        .push((start, out.len(), k, lit.clone(), quant == "*?"));
                    self.tempered.push((k, lit));
                    return Some(());
                }
                match number {
                    Some(n) => {
                        let c = self.copies.entry(*n).or_insert(0);
                        out.push_str(&format!("(?P<__py{n}_{c}>"));
                        *c += 1;
                    }
                    None => out.push_str(open),
                }
                // Inside flags (`(?i:`) or a lookaround a literal check would not be exact.
                let scoped = open.starts_with("(?") && open != "(?:" && number.is_none();
                self.scoped += usize::from(scoped);
                for (k, a) in alts.iter().enumerate() {
                    if k > 0 {
                        out.push('|');
                    }
                    self.seq(a, env, repeated_inside, out)?;
                }
                self.scoped -= usize::from(scoped);
                out.push(')');
                out.push_str(quant);
            }
        }
        Some(())
    }
}

/// What the pattern certainly matches right after a loop written at the end of `rest`'s
/// predecessor: the literal characters that must follow, and whether the end of the text (or
/// of the line, `$`) comes right after them. Stops at anything optional or variable.
fn continuation(rest: &str) -> (Vec<char>, bool) {
    let is_quant = |c: Option<char>| matches!(c, Some('*' | '+' | '?' | '{'));
    let mut it = rest.chars().peekable();
    // Closing groups (not repeated ones) do not consume text.
    while it.peek() == Some(&')') {
        let mut ahead = it.clone();
        ahead.next();
        if is_quant(ahead.peek().copied()) {
            return (Vec::new(), false);
        }
        it.next();
    }
    let mut lit = Vec::new();
    while let Some(c) = it.next() {
        let ch = match c {
            '$' => return (lit, !is_quant(it.peek().copied())),
            '\\' => match it.next() {
                Some('Z') => return (lit, !is_quant(it.peek().copied())),
                Some(e) if e.is_ascii_punctuation() || e == ' ' => e,
                _ => break,
            },
            '.' | '^' | '*' | '+' | '?' | '{' | '}' | '[' | ']' | '|' | '(' | ')' => break,
            c => c,
        };
        if is_quant(it.peek().copied()) {
            break;
        }
        lit.push(ch);
    }
    (lit, false)
}

/// For a loop that must not contain the start of `lit` followed by `next` (from
/// [`continuation`]): the lengths `k` (1 ≤ k < len) of a partial `lit[..k]` the loop may end
/// with, i.e. those where the text after the loop cannot be `lit[k..]`. `None` when that
/// depends on text the continuation does not fix.
fn allowed_partials(lit: &[char], (next, end): (Vec<char>, bool)) -> Option<Vec<usize>> {
    let mut ok = Vec::new();
    for k in 1..lit.len() {
        let rem = &lit[k..];
        let common = rem.len().min(next.len());
        let straddles = if rem[..common] != next[..common] {
            false
        } else if next.len() >= rem.len() {
            true
        } else if end {
            // Only the end of the text or a line break follows, and `lit` has neither.
            false
        } else {
            return None;
        };
        if !straddles {
            ok.push(k);
        }
    }
    Some(ok)
}

/// A literal character in Python syntax, outside or inside a class.
fn lit_char(c: char) -> String {
    if c.is_ascii_alphanumeric() || c == '_' {
        c.to_string()
    } else if c.is_ascii() {
        format!("\\x{:02x}", c as u32)
    } else {
        format!("\\U{:08x}", c as u32)
    }
}

fn alternation(alts: Vec<String>) -> Option<String> {
    match alts.len() {
        0 => None,
        1 => alts.into_iter().next(),
        _ => Some(format!("(?:{})", alts.join("|"))),
    }
}

/// The rest of a run of `lit` from state `j` (the text so far ends with `lit[..j]`), up to
/// the first character that breaks it: one that restarts it (`lit[0]`, when `to_start`) or
/// any other (not a line break, which `.` does not match). Every alternative begins with a
/// different character, so a text has at most one way through.
fn run(lit: &[char], j: usize, to_start: bool) -> Option<String> {
    let (c0, cj) = (lit[0], lit[j]);
    let mut alts = Vec::new();
    if to_start {
        if cj != c0 {
            alts.push(lit_char(c0));
        }
    } else {
        let mut class = format!("[^{}", lit_char(cj));
        if cj != c0 {
            class.push_str(&lit_char(c0));
        }
        class.push_str("\\n]");
        alts.push(class);
    }
    if j + 1 < lit.len()
        && let Some(rest) = run(lit, j + 1, to_start)
    {
        alts.push(format!("{}{rest}", lit_char(cj)));
    }
    alternation(alts)
}

/// `(?:(?!LIT).)*` (or `*?`) as a pattern without lookahead, when the loop may end inside
/// an occurrence of `LIT` only as a partial `LIT[..k]` with `k` in `partials`. `None` unless
/// `LIT`'s first character appears nowhere else but maybe last (then a broken run can only
/// restart at the breaking character, and the automaton below is the whole story).
///
/// The loop's text is cut into tokens, each a stretch after which no part of `LIT` is
/// pending: a character other than `LIT[0]`, or `LIT[0]`, runs that restart at `LIT[0]`, and
/// a run broken by another character. At most one token fits at each position, and an
/// ending with a pending part, `LIT[0]`, restarting runs and a prefix `LIT[1..k]`, is
/// shorter than the token it begins. So the quantifiers below try the loop's possible ends
/// one by one, shortest first (`*?`) or longest first (`*`), as `.` repeated does, each end
/// once. They offer every end where no `LIT` starts inside the loop, and besides only ends
/// where one starts inside and runs on past the end: those end in a partial `LIT[..k]` with
/// the text after being `LIT[k..]`, and `partials` only holds `k` where what follows the loop
/// cannot match such text. So the first end where the rest of the pattern matches is the
/// same as for the original loop.
fn avoiding_loop(lit: &[char], partials: &[usize], lazy: bool) -> Option<String> {
    let m = lit.len();
    if m < 2 || lit[1..m - 1].contains(&lit[0]) || lit.contains(&'\n') {
        return None;
    }
    let q = if lazy { "?" } else { "" };
    let c0 = lit_char(lit[0]);
    let hubs = run(lit, 1, true)
        .map(|h| format!("(?:{h})*{q}"))
        .unwrap_or_default();
    let token = format!("(?:[^{c0}\\n]|{c0}{hubs}{})", run(lit, 1, false)?);
    let mut ends: Vec<String> = partials
        .iter()
        .map(|&k| lit[1..k].iter().map(|&c| lit_char(c)).collect())
        .collect();
    if !lazy {
        ends.reverse();
    }
    let partial = if ends.is_empty() {
        String::new()
    } else {
        format!("(?:{c0}{hubs}(?:{}))?{q}", ends.join("|"))
    };
    Some(format!("(?:{token})*{q}{partial}"))
}

fn has_cond_or_look(items: &[Item]) -> bool {
    items.iter().any(|it| match it {
        Item::Raw(_) => false,
        Item::Cond { .. } => true,
        Item::Group { open, alts, .. } => {
            open.starts_with("(?=")
                || open.starts_with("(?!")
                || open.starts_with("(?<")
                || alts.iter().any(|a| has_cond_or_look(a))
        }
    })
}

/// Rewrites `pattern` (Python syntax, after fail2ban's tag substitution) as described in the
/// module docs; `None` when it cannot, or when there is nothing to rewrite.
pub fn expand(pattern: &str) -> Option<Expanded> {
    let mut p = Parser {
        s: pattern.as_bytes(),
        src: pattern,
        pos: 0,
        groups: Vec::new(),
    };
    let alts = p.alts(0)?;
    if p.pos != pattern.len() {
        return None;
    }
    let top = if alts.len() == 1 {
        alts.into_iter().next()?
    } else {
        vec![Item::Group {
            open: "(?:".into(),
            number: None,
            name: None,
            alts,
            quant: String::new(),
        }]
    };
    if !has_cond_or_look(&top) {
        return None;
    }
    let mut r = Render {
        copies: BTreeMap::new(),
        tempered: Vec::new(),
        budget: 64 * 1024,
        scoped: 0,
        loops: Vec::new(),
    };
    let mut out = String::with_capacity(pattern.len() * 4);
    r.seq(&top, &BTreeMap::new(), false, &mut out)?;
    // Loops whose constraint the linear engine can carry are rewritten in place (last first,
    // so the recorded offsets of earlier ones stay valid) and need no check afterwards.
    for (start, end, k, lit, lazy) in r.loops.iter().rev() {
        let lit: Vec<char> = lit.chars().collect();
        let Some(ends) = allowed_partials(&lit, continuation(&out[*end..])) else {
            continue;
        };
        let Some(exact) = avoiding_loop(&lit, &ends, *lazy) else {
            continue;
        };
        out.replace_range(*start..*end, &format!("(?:{exact})"));
        r.tempered.retain(|(i, _)| i != k);
    }
    Some(Expanded {
        pattern: out,
        groups: p.groups,
        tempered: r.tempered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_group_conditional_is_distributed() {
        let e = expand(r"^a(?P<x>b)?c(?(x)d|e)$").unwrap();
        assert_eq!(e.pattern, r"^a(?:(?P<__py1_0>b)c(?:d)$|c(?:e)$)");
        assert_eq!(e.groups, vec![(1, Some("x".to_owned()))]);
    }

    #[test]
    fn alternation_conditional_and_tempered_loops() {
        let e =
            expand(r"^(?P<u>(?P<w>\S+)|(?:(?! from ).)*?) from (?(w):|(?:(?! from ).)*)$").unwrap();
        let run = r"(?:\x20|f(?:\x20|r(?:\x20|o\x20)))";
        let stop = r"(?:[^f\x20\n]|f(?:[^r\x20\n]|r(?:[^o\x20\n]|o(?:[^m\x20\n]|m[^\x20\n]))))";
        // The user loop may not end in ` from` (the ` from ` after it would start there).
        let user = format!(
            r"(?:(?:(?:[^\x20\n]|\x20(?:{run})*?{stop}))*?(?:\x20(?:{run})*?(?:|f|fr|fro))??)"
        );
        let tail = format!(
            r"(?:(?:(?:[^\x20\n]|\x20(?:{run})*{stop}))*(?:\x20(?:{run})*(?:from|fro|fr|f|))?)"
        );
        assert_eq!(
            e.pattern,
            format!(
                r"^(?:(?P<__py1_0>(?P<__py2_0>\S+)) from (?::)$|(?P<__py1_1>{user}) from (?:{tail})$)"
            )
        );
        assert!(e.tempered.is_empty());
    }

    #[test]
    fn loops_followed_by_fixed_text_are_exact() {
        // Followed by `$`: every partial ending is fine; the loop needs no check.
        let e = expand(r"^x(?:(?!ab).)*$").unwrap();
        assert_eq!(
            e.pattern,
            r"^x(?:(?:(?:[^a\n]|a(?:a)*[^ba\n]))*(?:a(?:a)*(?:))?)$"
        );
        assert!(e.tempered.is_empty());
        // Followed by `b`: ending in `a` would put `ab` inside the loop.
        let e = expand(r"^x(?:(?!ab).)*?b").unwrap();
        assert_eq!(e.pattern, r"^x(?:(?:(?:[^a\n]|a(?:a)*?[^ba\n]))*?)b");
        // Followed by something variable: checked after the match as before.
        let e = expand(r"^x(?:(?!ab).)*\w").unwrap();
        assert_eq!(e.pattern, r"^x(?P<__t0>.*)\w");
        assert_eq!(e.tempered, vec![(0, "ab".into())]);
        // A literal whose first character recurs inside: left to the check.
        let e = expand(r"^x(?:(?!aab).)*$").unwrap();
        assert_eq!(e.tempered, vec![(0, "aab".into())]);
    }

    #[test]
    fn continuations_and_partials() {
        assert_eq!(
            continuation(") from x"),
            (" from x".chars().collect(), false)
        );
        assert_eq!(continuation("))$)"), (Vec::new(), true));
        assert_eq!(continuation(")? from"), (Vec::new(), false));
        assert_eq!(continuation(r" fr\:x?"), (" fr:".chars().collect(), false));
        assert_eq!(continuation(r"ab\Z"), ("ab".chars().collect(), true));
        let lit: Vec<char> = " from ".chars().collect();
        // ` from` then ` from …`: an occurrence starts inside the loop.
        assert_eq!(
            allowed_partials(&lit, (" from ".chars().collect(), false)),
            Some(vec![1, 2, 3, 4])
        );
        assert_eq!(
            allowed_partials(&lit, (Vec::new(), true)),
            Some(vec![1, 2, 3, 4, 5])
        );
        assert_eq!(
            allowed_partials(&lit, ("x".chars().collect(), false)),
            Some(vec![1, 2, 3, 4, 5])
        );
        assert_eq!(allowed_partials(&lit, ("r".chars().collect(), false)), None);
    }

    #[test]
    fn undecidable_conditionals_are_left_alone() {
        // The group is repeated: which iteration set it is not known statically.
        assert!(expand(r"(?:(a)|b)+(?(1)c|d)").is_none());
        // Backreferences and verbose mode are out of scope.
        assert!(expand(r"(a)\1(?(1)c|d)").is_none());
        // Captures persist across iterations, so a split inside a loop would be wrong.
        assert!(expand(r"(?:(a)?(?(1)c|d))+").is_none());
        assert!(expand(r"(?x) (a)? (?(1)c|d)").is_none());
        // Nothing to do.
        assert!(expand(r"^abc$").is_none());
    }
}
