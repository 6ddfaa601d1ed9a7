//! Capture groups of a start-anchored pattern in two linear passes, without backtracking.
//!
//! Nearly every line a failregex is run on matches it, so the cost that counts is reading the
//! groups of a match, and none of fail2ban's patterns is one-pass (`<F-USER>.*?</F-USER> from
//! <HOST>` cannot tell where the user name ends without looking ahead). The bounded
//! backtracker reads them by trying branches in priority order and undoing the ones that
//! fail, at a cost of several (state, position) visits per byte.
//!
//! This engine first runs backwards over the text and records, for every position, the set
//! of NFA states from which a match can still be reached from there (the *live* states). The
//! sets come from a lazily built automaton, (live set after, byte class, look-around context)
//! → live set before, so once warm each position costs one table lookup. A forward walk then
//! follows exactly the backtracker's priority order but never steps into a dead (state,
//! position): the first branch it takes that is live is the branch whose subtree holds the
//! backtracker's first match, so it gives the same match and the same groups without ever
//! going back to an earlier position. (A dead branch the backtracker explores reaches only
//! dead pairs, so the pairs it marks visited never matter to a live path.)
//!
//! Two cases return `None` so that the caller uses the backtracker instead: a walk that would
//! have to return to an earlier position (only empty loops such as `(?:a*)*` can cause one),
//! and a live-set automaton that outgrows [`MAX_CACHE_WORDS`] (the cache is then cleared).
//! Text can be written to make every position a new set (log lines are written by the
//! attacker): after [`MAX_CLEARS`] clears the engine stays off for that pattern, so the
//! worst case is the backtracker's cost plus a bounded warm-up.
//!
//! Bytes of one class are alike to every state of the NFA, so a search's result depends only
//! on the classes of the text's bytes (and, with `^`/`$` only, on whether the text starts at
//! the start and ends at the end of the haystack). Log lines repeat their shape: a syslog head
//! `web1 sshd[4711]: ` differs from the next in digits alone, which are one class. A
//! [`ShapeMemo`] keeps the groups found for each class sequence, so a repeated shape costs a
//! hash of its classes instead of two passes.

use hashbrown::HashMap;

use regex_automata::PatternID;
use regex_automata::nfa::thompson::{NFA, State};
use regex_automata::util::captures::Captures;
use regex_automata::util::look::Look;
use regex_automata::util::primitives::NonMaxUsize;

/// Look-around assertions a pattern may use (each doubles the transition table).
const MAX_LOOKS: usize = 4;
/// Words (`u32`) of rows and interned sets one pattern's cache may hold before it is cleared:
/// 256 KiB. fail2ban's sshd patterns settle at under 256 sets (about 50 KiB) on a day of
/// logs; a filter has a few dozen patterns, and every jail its own caches.
const MAX_CACHE_WORDS: usize = 1 << 16;
/// Clears after which a pattern's engine is switched off.
const MAX_CLEARS: u32 = 3;
/// See [`LiveCapturer::set_of`]: with rows below `2^16` words and strides below `2^11`,
/// `row * ceil(2^40 / stride) >> 40` is `row / stride` exactly.
const STRIDE_SHIFT: u32 = 40;
/// The largest stride [`LiveCapturer::set_of`] is exact for.
const MAX_STRIDE: usize = 1 << 11;
const _: () = assert!(
    MAX_CACHE_WORDS <= 1 << 16,
    "set_of is exact below 2^16 words"
);
/// A transition not computed yet.
const UNKNOWN: u32 = u32::MAX;
/// Bytes (keys and groups) one pattern's [`ShapeMemo`] may hold before it is emptied: 512 KiB
/// (a day of sshd logs needs a few thousand shapes of the busiest pattern; see the module
/// docs).
const MAX_MEMO_BYTES: usize = 1 << 19;
/// Lookups over which a [`ShapeMemo`] judges whether it pays.
const MEMO_WINDOW: u32 = 4096;
/// A memo that hits fewer than one lookup in this many over a window is switched off: a miss
/// costs a hash and a copy on top of the search (a few percent of it), so below this rate the
/// memo would cost more than it saves. Text written to have a new shape every line meets
/// this.
const MEMO_MIN_HIT_RATIO: u32 = 16;
/// A group slot that is not set, in a [`ShapeMemo`] (which keeps offsets in `u16`: text
/// longer than this is not memoized).
const NO_SLOT: u16 = u16::MAX;

/// The live-set capture engine for one start-anchored NFA (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct LiveCapturer {
    nfa: NFA,
    /// For each state: the epsilon states (union, capture, look) with an edge to it.
    eps_preds: Vec<Vec<u32>>,
    /// States that read a byte.
    consuming: Vec<u32>,
    /// Match states (live at every position).
    matches: Vec<u32>,
    /// The look-arounds the NFA uses; bit `k` of a context says whether `looks[k]` holds.
    looks: Vec<Look>,
    /// Only `^` and `$`: the context of a position inside the text is always 0.
    positional_looks: bool,
    /// No cycle of epsilon edges (no empty loop): the forward walk never meets a state twice
    /// at one position and needs neither visited marks nor a stack.
    acyclic: bool,
    /// The states as the forward walk reads them, with their side tables.
    ops: Vec<Op>,
    reads: Vec<u32>,
    alternates: Vec<u32>,
    classes: [u8; 256],
    class_count: usize,
    /// Transition entries at the head of a row: classes × the contexts a row holds (one,
    /// context 0, when the looks are `^`/`$` only: other contexts occur only at the ends of
    /// the text and go through [`LiveCache::edges`]). The row ends with its set's offset.
    stride: usize,
    /// `u32` words of a state set (sets are in their own arena, `LiveCache::bits`).
    set_words: usize,
    /// `2^STRIDE_SHIFT / stride`, rounded up: [`LiveCapturer::set_of`].
    stride_inverse: u64,
}

/// Scratch space and the lazily built live-set automaton of one [`LiveCapturer`].
///
/// The automaton is an arena of rows, one per live set: `stride` transitions (the offset of
/// the row before each (context, class), or [`UNKNOWN`]). A row is named by its offset, so a
/// step backwards is one add and one load, and the rows stay small enough to stay in cache;
/// the sets' bits, read only by the forward walk, are in `bits` in the same order.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiveCache {
    rows: Vec<u32>,
    bits: Vec<u32>,
    index: HashMap<Box<[u32]>, u32>,
    /// Transitions in contexts other than 0 of a positional-looks pattern (at the start of
    /// the text only): (row, context, class) → row.
    edges: HashMap<(u32, u8, u8), u32>,
    /// The row at the end of the text, per context.
    at_end: Vec<u32>,
    /// The row of each position's live set, for the current search.
    live: Vec<u32>,
    /// Visited marks of the general forward walk: `generation + offset` of the last visit.
    stamp: Vec<u32>,
    generation: u32,
    /// Words held by `rows` and `index`.
    words: usize,
    clears: u32,
    stack: Vec<Frame>,
    scratch: Vec<u32>,
    work: Vec<u32>,
    memo: ShapeMemo,
}

/// Results of earlier searches by the shape of their text (see the module docs).
#[derive(Debug, Clone, Default)]
struct ShapeMemo {
    /// Shape → (matched, offset of its groups in `slots`).
    results: HashMap<Box<[u8]>, (bool, u32)>,
    /// Group slots relative to the start of the search ([`NO_SLOT`]: not set), one run of
    /// the pattern's slot count per result.
    slots: Vec<u16>,
    /// The shape of the current search: the contexts at its two ends, then its byte classes.
    key: Vec<u8>,
    /// Bytes held by `results` and `slots`.
    bytes: usize,
    lookups: u32,
    hits: u32,
    off: bool,
}

/// A state as the forward walk reads it: no pointer to follow, one lookup per byte.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Reads a byte in `lo..=hi`.
    Range {
        lo: u8,
        hi: u8,
        next: u32,
    },
    /// Reads a byte: the next state is `reads[base + class]` ([`UNKNOWN`]: none).
    Read {
        base: u32,
    },
    /// A look-around (a live one holds where it is met).
    Look {
        next: u32,
    },
    Capture {
        slot: u32,
        next: u32,
    },
    Binary {
        alt1: u32,
        alt2: u32,
    },
    /// Alternatives `alternates[first..first + len]`, in priority order.
    Union {
        first: u32,
        len: u32,
    },
    /// No group is set from here and every match from here ends at the end of the text (a
    /// `$` lies ahead on every way to the match): the rest of the walk is known.
    Finish,
    Match,
    Fail,
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    Step {
        sid: u32,
        at: usize,
    },
    Restore {
        slot: usize,
        offset: Option<NonMaxUsize>,
    },
}

fn has(set: &[u32], sid: u32) -> bool {
    let sid = sid as usize;
    set.get(sid / 32).is_some_and(|w| w >> (sid % 32) & 1 == 1)
}

fn insert(set: &mut [u32], sid: u32) -> bool {
    let sid = sid as usize;
    match set.get_mut(sid / 32) {
        Some(w) if *w >> (sid % 32) & 1 == 0 => {
            *w |= 1 << (sid % 32);
            true
        }
        _ => false,
    }
}

/// Looks whose truth at a position depends only on the bytes around it, never on Unicode
/// tables.
fn supported(look: Look) -> bool {
    matches!(
        look,
        Look::Start
            | Look::End
            | Look::StartLF
            | Look::EndLF
            | Look::StartCRLF
            | Look::EndCRLF
            | Look::WordAscii
            | Look::WordAsciiNegate
            | Look::WordStartAscii
            | Look::WordEndAscii
            | Look::WordStartHalfAscii
            | Look::WordEndHalfAscii
    )
}

/// The targets of a state's epsilon edges.
fn epsilon_targets(state: &State) -> Vec<u32> {
    match state {
        State::Look { next, .. } | State::Capture { next, .. } => vec![next.as_u32()],
        State::Union { alternates } => alternates.iter().map(|a| a.as_u32()).collect(),
        State::BinaryUnion { alt1, alt2 } => vec![alt1.as_u32(), alt2.as_u32()],
        _ => Vec::new(),
    }
}

/// Whether the epsilon edges of `nfa` form a cycle (an empty loop such as `(?:a*)*`).
fn has_epsilon_cycle(nfa: &NFA) -> bool {
    // Iterative depth-first search; 1 = on the path, 2 = done.
    let states = nfa.states();
    let mut colour = vec![0u8; states.len()];
    for root in 0..states.len() {
        if colour[root] != 0 {
            continue;
        }
        let mut path: Vec<(usize, Vec<u32>)> = vec![(root, epsilon_targets(&states[root]))];
        colour[root] = 1;
        while let Some((node, targets)) = path.last_mut() {
            let node = *node;
            match targets.pop() {
                Some(t) => {
                    let t = t as usize;
                    match colour.get(t) {
                        Some(1) => return true,
                        Some(0) => {
                            colour[t] = 1;
                            path.push((t, epsilon_targets(&states[t])));
                        }
                        _ => {}
                    }
                }
                None => {
                    colour[node] = 2;
                    path.pop();
                }
            }
        }
    }
    false
}

/// The forward walk's form of `nfa`'s states (see [`Op`]).
fn compile_ops(
    nfa: &NFA,
    classes: &[u8; 256],
    class_count: usize,
) -> Option<(Vec<Op>, Vec<u32>, Vec<u32>)> {
    let states = nfa.states();
    let n = states.len();
    // Every edge backwards, to find what each state can still reach.
    let mut preds: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, state) in states.iter().enumerate() {
        let i = u32::try_from(i).ok()?;
        let mut targets = epsilon_targets(state);
        match state {
            State::ByteRange { trans } => targets.push(trans.next.as_u32()),
            State::Sparse(sparse) => {
                targets.extend(sparse.transitions.iter().map(|t| t.next.as_u32()))
            }
            State::Dense(dense) => targets.extend(dense.transitions.iter().map(|t| t.as_u32())),
            _ => {}
        }
        for t in targets {
            if let Some(p) = preds.get_mut(t as usize) {
                p.push(i);
            }
        }
    }
    let backwards = |seeds: Vec<u32>, enter: &dyn Fn(u32) -> bool| -> Vec<bool> {
        let mut seen = vec![false; n];
        let mut work = seeds;
        for &s in &work {
            seen[s as usize] = true;
        }
        while let Some(q) = work.pop() {
            for &p in preds.get(q as usize).into_iter().flatten() {
                if !seen[p as usize] && enter(p) {
                    seen[p as usize] = true;
                    work.push(p);
                }
            }
        }
        seen
    };
    let seeds = |keep: &dyn Fn(&State) -> bool| -> Vec<u32> {
        (0..n as u32)
            .filter(|&i| keep(&states[i as usize]))
            .collect()
    };
    // States from which a slot other than the whole match's end can still be set.
    let sets_group = backwards(
        seeds(&|st| matches!(st, State::Capture { slot, .. } if slot.as_usize() != 1)),
        &|_| true,
    );
    // States from which the match can be reached without passing a `$`.
    let free_end = backwards(seeds(&|st| matches!(st, State::Match { .. })), &|p| {
        !matches!(
            &states[p as usize],
            State::Look {
                look: Look::End,
                ..
            }
        )
    });
    let mut reads = Vec::new();
    let mut alternates = Vec::new();
    let mut ops = Vec::with_capacity(n);
    for (i, state) in states.iter().enumerate() {
        let op = match state {
            _ if !sets_group[i] && !free_end[i] => Op::Finish,
            State::ByteRange { trans } => Op::Range {
                lo: trans.start,
                hi: trans.end,
                next: trans.next.as_u32(),
            },
            State::Sparse(_) | State::Dense(_) => {
                let base = u32::try_from(reads.len()).ok()?;
                let mut table = vec![UNKNOWN; class_count];
                for b in 0..=255u8 {
                    let next = match state {
                        State::Sparse(sparse) => sparse.matches_byte(b),
                        State::Dense(dense) => dense.matches_byte(b),
                        _ => None,
                    };
                    if let (Some(next), Some(slot)) =
                        (next, table.get_mut(usize::from(classes[usize::from(b)])))
                    {
                        *slot = next.as_u32();
                    }
                }
                reads.extend(table);
                Op::Read { base }
            }
            State::Look { next, .. } => Op::Look {
                next: next.as_u32(),
            },
            State::Capture { next, slot, .. } => Op::Capture {
                slot: u32::try_from(slot.as_usize()).ok()?,
                next: next.as_u32(),
            },
            State::BinaryUnion { alt1, alt2 } => Op::Binary {
                alt1: alt1.as_u32(),
                alt2: alt2.as_u32(),
            },
            State::Union { alternates: alts } => {
                let first = u32::try_from(alternates.len()).ok()?;
                alternates.extend(alts.iter().map(|a| a.as_u32()));
                Op::Union {
                    first,
                    len: u32::try_from(alts.len()).ok()?,
                }
            }
            State::Match { .. } => Op::Match,
            State::Fail => Op::Fail,
        };
        ops.push(op);
    }
    Some((ops, reads, alternates))
}

impl LiveCapturer {
    /// The engine for `nfa` (one pattern, searched anchored at its start), or `None` when it
    /// uses look-arounds this engine does not evaluate.
    pub(crate) fn new(nfa: &NFA) -> Option<LiveCapturer> {
        if nfa.pattern_len() != 1 {
            return None;
        }
        let looks: Vec<Look> = nfa.look_set_any().iter().collect();
        if looks.len() > MAX_LOOKS || !looks.iter().all(|&l| supported(l)) {
            return None;
        }
        let positional_looks = looks.iter().all(|l| matches!(l, Look::Start | Look::End));
        let n = nfa.states().len();
        let mut eps_preds: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut consuming = Vec::new();
        let mut matches = Vec::new();
        for (i, state) in nfa.states().iter().enumerate() {
            let i = u32::try_from(i).ok()?;
            match state {
                State::ByteRange { .. } | State::Sparse(_) | State::Dense(_) => consuming.push(i),
                State::Match { .. } => matches.push(i),
                _ => {}
            }
            for to in epsilon_targets(state) {
                if let Some(p) = eps_preds.get_mut(to as usize)
                    && !p.contains(&i)
                {
                    p.push(i);
                }
            }
        }
        let mut classes = [0u8; 256];
        let bc = nfa.byte_classes();
        for b in 0..=255u8 {
            classes[usize::from(b)] = bc.get(b);
        }
        let class_count = usize::from(classes.iter().copied().max().unwrap_or(0)) + 1;
        let (ops, reads, alternates) = compile_ops(nfa, &classes, class_count)?;
        let stride = if positional_looks {
            class_count
        } else {
            class_count << looks.len()
        };
        if stride >= MAX_STRIDE {
            return None;
        }
        Some(LiveCapturer {
            ops,
            reads,
            alternates,
            nfa: nfa.clone(),
            eps_preds,
            consuming,
            matches,
            stride,
            stride_inverse: (1u64 << STRIDE_SHIFT).div_ceil(stride as u64),
            set_words: n.div_ceil(32).max(1),
            acyclic: !has_epsilon_cycle(nfa),
            looks,
            positional_looks,
            classes,
            class_count,
        })
    }

    pub(crate) fn create_cache(&self) -> LiveCache {
        LiveCache {
            at_end: vec![UNKNOWN; 1 << self.looks.len()],
            stamp: vec![0; self.nfa.states().len()],
            ..LiveCache::default()
        }
    }

    /// The index of the set whose row starts at `row` (`row / stride`, by a multiply: the
    /// forward walk asks this for most positions, and a division would cost more than the
    /// rest of the step). Exact for every row offset a cache can hold (see the test).
    #[inline]
    fn set_of(&self, row: u32) -> usize {
        ((u64::from(row) * self.stride_inverse) >> STRIDE_SHIFT) as usize
    }

    /// Whether state `sid` is live at `at`, in the rows `live` of a search from `start`.
    #[inline]
    fn is_live(&self, bits: &[u32], live: &[u32], start: usize, sid: u32, at: usize) -> bool {
        live.get(at - start).is_some_and(|&row| {
            bits.get(self.set_of(row) * self.set_words + sid as usize / 32)
                .is_some_and(|word| word >> (sid % 32) & 1 == 1)
        })
    }

    fn state(&self, sid: u32) -> Option<&State> {
        self.nfa.states().get(sid as usize)
    }

    /// Whether `look` holds in `context`.
    fn holds(&self, look: Look, context: usize) -> bool {
        self.looks
            .iter()
            .position(|&l| l == look)
            .is_some_and(|k| context >> k & 1 == 1)
    }

    /// Which of the looks hold at `at` (bit `k` for `looks[k]`).
    #[inline]
    fn context(&self, hay: &[u8], at: usize) -> usize {
        if self.positional_looks && at != 0 && at != hay.len() {
            return 0;
        }
        let matcher = self.nfa.look_matcher();
        self.looks
            .iter()
            .enumerate()
            .filter(|&(_, &l)| matcher.matches(l, hay, at))
            .fold(0, |ctx, (k, _)| ctx | 1 << k)
    }

    /// The row of the live set before reading `byte` (with `context` holding at that
    /// position), given the row `after` it; `after = None` for the end of the text. `None`
    /// when the cache is full.
    fn compute(
        &self,
        cache: &mut LiveCache,
        after: Option<u32>,
        byte: u8,
        context: usize,
    ) -> Option<u32> {
        let w = self.set_words;
        let mut cur = std::mem::take(&mut cache.scratch);
        cur.clear();
        cur.resize(w, 0);
        if let Some(after) = after {
            let from = self.set_of(after) * w;
            let next = cache.bits.get(from..from + w)?;
            for &s in &self.consuming {
                let to = match self.state(s) {
                    Some(State::ByteRange { trans }) => {
                        trans.matches_byte(byte).then_some(trans.next)
                    }
                    Some(State::Sparse(sparse)) => sparse.matches_byte(byte),
                    Some(State::Dense(dense)) => dense.matches_byte(byte),
                    _ => None,
                };
                if to.is_some_and(|t| has(next, t.as_u32())) {
                    insert(&mut cur, s);
                }
            }
        }
        for &m in &self.matches {
            insert(&mut cur, m);
        }
        let mut work = std::mem::take(&mut cache.work);
        work.clear();
        work.extend((0..self.nfa.states().len() as u32).filter(|&s| has(&cur, s)));
        while let Some(q) = work.pop() {
            for &p in self.eps_preds.get(q as usize).into_iter().flatten() {
                if has(&cur, p) {
                    continue;
                }
                // A look is live only where it holds, so the forward walk need not test it.
                if let Some(State::Look { look, .. }) = self.state(p)
                    && !self.holds(*look, context)
                {
                    continue;
                }
                insert(&mut cur, p);
                work.push(p);
            }
        }
        cache.work = work;
        let row = match cache.index.get(&cur[..]) {
            Some(&row) => row,
            None if cache.words + self.stride + 2 * w > MAX_CACHE_WORDS => {
                cache.scratch = cur;
                return None;
            }
            None => {
                let row = u32::try_from(cache.rows.len()).ok()?;
                cache.rows.resize(cache.rows.len() + self.stride, UNKNOWN);
                cache.bits.extend_from_slice(&cur);
                cache.index.insert(cur.clone().into_boxed_slice(), row);
                cache.words += self.stride + 2 * w;
                row
            }
        };
        cache.scratch = cur;
        Some(row)
    }

    fn clear(&self, cache: &mut LiveCache) {
        cache.rows.clear();
        cache.bits.clear();
        cache.edges.clear();
        cache.index.clear();
        cache.words = 0;
        cache.clears += 1;
        cache.at_end.iter_mut().for_each(|e| *e = UNKNOWN);
    }

    /// One step backwards: the row before `hay[at]` given the row after it.
    #[inline]
    fn step_back(&self, cache: &mut LiveCache, row: u32, hay: &[u8], at: usize) -> Option<u32> {
        let byte = *hay.get(at)?;
        let ctx = self.context(hay, at);
        let class = self.classes[usize::from(byte)];
        if self.positional_looks && ctx != 0 {
            let key = (row, u8::try_from(ctx).ok()?, class);
            if let Some(&before) = cache.edges.get(&key) {
                return Some(before);
            }
            let before = self.compute(cache, Some(row), byte, ctx)?;
            cache.edges.insert(key, before);
            return Some(before);
        }
        let entry = row as usize + ctx * self.class_count + usize::from(class);
        match cache.rows.get(entry).copied() {
            Some(UNKNOWN) => {
                let before = self.compute(cache, Some(row), byte, ctx)?;
                *cache.rows.get_mut(entry)? = before;
                Some(before)
            }
            Some(before) => Some(before),
            None => None,
        }
    }

    /// The row of the live set of every position of `hay[start..end]` into `cache.live`
    /// (`None`: cache full).
    fn backward(&self, cache: &mut LiveCache, hay: &[u8], start: usize, end: usize) -> Option<()> {
        let end_ctx = self.context(hay, end);
        let mut row = match cache.at_end.get(end_ctx).copied() {
            Some(UNKNOWN) | None => {
                let row = self.compute(cache, None, 0, end_ctx)?;
                *cache.at_end.get_mut(end_ctx)? = row;
                row
            }
            Some(row) => row,
        };
        let mut live = std::mem::take(&mut cache.live);
        live.clear();
        live.resize(end - start + 1, 0);
        let mut done = Some(());
        if let Some(last) = live.last_mut() {
            *last = row;
        }
        for (at, slot) in (start..end).rev().zip(live.iter_mut().rev().skip(1)) {
            // Inside the text, with only `^`/`$` looks, the context is always 0: the common
            // case is one add and one load per byte.
            let next = if self.positional_looks && at != 0 {
                let entry = row as usize
                    + usize::from(self.classes[usize::from(hay.get(at).copied().unwrap_or(0))]);
                match cache.rows.get(entry).copied() {
                    Some(UNKNOWN) | None => self.step_back(cache, row, hay, at),
                    Some(before) => Some(before),
                }
            } else {
                self.step_back(cache, row, hay, at)
            };
            let Some(next) = next else {
                done = None;
                break;
            };
            row = next;
            *slot = row;
        }
        cache.live = live;
        done
    }

    /// Searches `hay[span]`, anchored at its start, with the backtracker's semantics (a
    /// search of `Input::range(span)`: look-arounds see the whole of `hay`); on a match, the
    /// groups are in `caps`. `None`: undecided here, use the backtracker.
    pub(crate) fn captures(
        &self,
        cache: &mut LiveCache,
        hay: &[u8],
        span: std::ops::Range<usize>,
        caps: &mut Captures,
    ) -> Option<bool> {
        caps.set_pattern(None);
        if cache.clears >= MAX_CLEARS {
            return None;
        }
        let (start, end) = (span.start, span.end);
        if start > end || end > hay.len() {
            return Some(false);
        }
        let memo = self.positional_looks && !cache.memo.off && end - start < usize::from(NO_SLOT);
        if memo && let Some(matched) = self.recall(cache, hay, start, end, caps.slots_mut()) {
            if matched {
                caps.set_pattern(Some(PatternID::ZERO));
            }
            return Some(matched);
        }
        if self.backward(cache, hay, start, end).is_none() {
            self.clear(cache);
            return None;
        }
        let matched = if self.acyclic {
            self.walk(cache, hay, start, end, caps.slots_mut())?
        } else {
            self.walk_general(cache, hay, start, end, caps.slots_mut())?
        };
        if memo {
            Self::remember(&mut cache.memo, matched, start, caps.slots());
        }
        if matched {
            caps.set_pattern(Some(PatternID::ZERO));
        }
        Some(matched)
    }

    /// The result of an earlier search of text of the same shape as `hay[start..end]`, its
    /// groups moved to `start`; `None` when there is none (the shape is then in the memo's
    /// key, for [`LiveCapturer::remember`]). Only for `^`/`$` looks: inside the text every
    /// context is then 0, so the contexts at the two ends and the classes are the shape.
    fn recall(
        &self,
        cache: &mut LiveCache,
        hay: &[u8],
        start: usize,
        end: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> Option<bool> {
        let memo = &mut cache.memo;
        memo.key.clear();
        // Contexts of `^`/`$` fit a byte (two looks at most).
        memo.key.push(self.context(hay, start) as u8);
        memo.key.push(self.context(hay, end) as u8);
        memo.key.extend(
            hay.get(start..end)?
                .iter()
                .map(|&b| self.classes[usize::from(b)]),
        );
        memo.lookups += 1;
        let found = memo.results.get(&memo.key[..]).copied();
        if found.is_some() {
            memo.hits += 1;
        }
        if memo.lookups >= MEMO_WINDOW {
            memo.off = memo.hits * MEMO_MIN_HIT_RATIO < memo.lookups;
            memo.lookups = 0;
            memo.hits = 0;
        }
        let (matched, at) = found?;
        let at = at as usize;
        let stored = memo.slots.get(at..at + slots.len())?;
        for (slot, &rel) in slots.iter_mut().zip(stored) {
            *slot = if rel == NO_SLOT {
                None
            } else {
                NonMaxUsize::new(start + usize::from(rel))
            };
        }
        Some(matched)
    }

    /// Keeps the result of the search whose shape [`LiveCapturer::recall`] left in the key.
    fn remember(memo: &mut ShapeMemo, matched: bool, start: usize, slots: &[Option<NonMaxUsize>]) {
        let cost = memo.key.len()
            + std::mem::size_of::<u16>() * slots.len()
            + std::mem::size_of::<(Box<[u8]>, (bool, u32))>();
        if memo.bytes + cost > MAX_MEMO_BYTES {
            memo.results.clear();
            memo.slots.clear();
            memo.bytes = 0;
        }
        let Ok(at) = u32::try_from(memo.slots.len()) else {
            return;
        };
        memo.slots.extend(slots.iter().map(|s| {
            s.and_then(|s| s.get().checked_sub(start))
                .and_then(|rel| u16::try_from(rel).ok())
                .unwrap_or(NO_SLOT)
        }));
        memo.results
            .insert(memo.key.clone().into_boxed_slice(), (matched, at));
        memo.bytes += cost;
    }

    /// The forward walk of an NFA without empty loops: at every choice the first live branch,
    /// which always leads to the match (a live state has a live way on, and without a cycle
    /// of epsilon edges no state is met twice at one position).
    fn walk(
        &self,
        cache: &LiveCache,
        hay: &[u8],
        start: usize,
        end: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> Option<bool> {
        slots.iter_mut().for_each(|s| *s = None);
        let is_live = |sid: u32, at: usize| self.is_live(&cache.bits, &cache.live, start, sid, at);
        let mut sid = self.nfa.start_anchored().as_u32();
        let mut at = start;
        if !is_live(sid, at) {
            return Some(false);
        }
        loop {
            match *self.ops.get(sid as usize)? {
                Op::Range { lo, hi, next } => {
                    let b = *hay.get(at)?;
                    if b < lo || b > hi {
                        return None;
                    }
                    sid = next;
                    at += 1;
                }
                Op::Read { base } => {
                    let class = self.classes[usize::from(*hay.get(at)?)];
                    sid = *self.reads.get(base as usize + usize::from(class))?;
                    if sid == UNKNOWN {
                        return None;
                    }
                    at += 1;
                }
                Op::Look { next } => sid = next,
                Op::Capture { slot, next } => {
                    if let Some(s) = slots.get_mut(slot as usize) {
                        *s = NonMaxUsize::new(at);
                    }
                    sid = next;
                }
                Op::Binary { alt1, alt2 } => sid = if is_live(alt1, at) { alt1 } else { alt2 },
                Op::Union { first, len } => {
                    let alts = self
                        .alternates
                        .get(first as usize..first as usize + len as usize)?;
                    sid = alts.iter().copied().find(|&a| is_live(a, at))?;
                }
                Op::Finish => {
                    // The whole match's end is its last group slot.
                    if let Some(last) = slots.get_mut(1) {
                        *last = NonMaxUsize::new(end);
                    }
                    return Some(true);
                }
                Op::Match => return Some(true),
                Op::Fail => return None,
            }
        }
    }

    /// The forward walk for an NFA with empty loops: the backtracker's own search (visited
    /// marks, a stack of alternatives and capture restores) that never enters a dead state.
    fn walk_general(
        &self,
        cache: &mut LiveCache,
        hay: &[u8],
        start: usize,
        end: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> Option<bool> {
        slots.iter_mut().for_each(|s| *s = None);
        let span = u32::try_from(end - start + 1).ok()?;
        if cache.generation.checked_add(span + 1).is_none() {
            cache.stamp.iter_mut().for_each(|s| *s = 0);
            cache.generation = 0;
        }
        let base = cache.generation + 1;
        cache.generation += span + 1;
        let LiveCache {
            bits,
            live,
            stamp,
            stack,
            ..
        } = cache;
        let is_live = |sid: u32, at: usize| self.is_live(bits, live, start, sid, at);
        stack.clear();
        stack.push(Frame::Step {
            sid: self.nfa.start_anchored().as_u32(),
            at: start,
        });
        let mut furthest = start;
        while let Some(frame) = stack.pop() {
            let (mut sid, mut at) = match frame {
                Frame::Restore { slot, offset } => {
                    if let Some(s) = slots.get_mut(slot) {
                        *s = offset;
                    }
                    continue;
                }
                Frame::Step { sid, at } => (sid, at),
            };
            // Going back to an earlier position would need the visited marks of every
            // position, which this walk does not keep.
            if at < furthest {
                return None;
            }
            loop {
                if !is_live(sid, at) {
                    break;
                }
                let mark = base + (at - start) as u32;
                match stamp.get_mut(sid as usize) {
                    Some(s) if *s != mark => *s = mark,
                    _ => break,
                }
                let Some(state) = self.state(sid) else {
                    break;
                };
                match state {
                    State::ByteRange { trans } => {
                        match hay.get(at) {
                            Some(&b) if trans.matches_byte(b) => {}
                            _ => break,
                        }
                        sid = trans.next.as_u32();
                        at += 1;
                    }
                    State::Sparse(sparse) => {
                        let Some(next) = hay.get(at).and_then(|&b| sparse.matches_byte(b)) else {
                            break;
                        };
                        sid = next.as_u32();
                        at += 1;
                    }
                    State::Dense(dense) => {
                        let Some(next) = hay.get(at).and_then(|&b| dense.matches_byte(b)) else {
                            break;
                        };
                        sid = next.as_u32();
                        at += 1;
                    }
                    State::Look { next, .. } => sid = next.as_u32(),
                    State::Union { alternates } => {
                        let Some((first, rest)) = alternates.split_first() else {
                            break;
                        };
                        stack.extend(rest.iter().rev().map(|s| Frame::Step {
                            sid: s.as_u32(),
                            at,
                        }));
                        sid = first.as_u32();
                    }
                    State::BinaryUnion { alt1, alt2 } => {
                        stack.push(Frame::Step {
                            sid: alt2.as_u32(),
                            at,
                        });
                        sid = alt1.as_u32();
                    }
                    State::Capture { next, slot, .. } => {
                        if let Some(s) = slots.get_mut(slot.as_usize()) {
                            stack.push(Frame::Restore {
                                slot: slot.as_usize(),
                                offset: *s,
                            });
                            *s = NonMaxUsize::new(at);
                        }
                        sid = next.as_u32();
                    }
                    State::Fail => break,
                    State::Match { .. } => return Some(true),
                }
                furthest = furthest.max(at);
            }
        }
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex_automata::nfa::thompson::{self, backtrack::BoundedBacktracker};
    use regex_automata::{Anchored, Input};

    fn build(pattern: &str) -> Option<(BoundedBacktracker, LiveCapturer)> {
        let nfa = thompson::Compiler::new()
            .syntax(regex_automata::util::syntax::Config::new().utf8(false))
            .configure(thompson::Config::new().utf8(false))
            .build(pattern)
            .ok()?;
        let live = LiveCapturer::new(&nfa)?;
        Some((
            BoundedBacktracker::builder().build_from_nfa(nfa).ok()?,
            live,
        ))
    }

    /// Every slot of a search, as offsets.
    type Spans = Vec<Option<usize>>;

    /// Both engines on `hay[span]`: every slot of each (live engine, backtracker), or `None`
    /// when the live engine declined.
    fn both(
        bt: &BoundedBacktracker,
        live: &LiveCapturer,
        cache: &mut LiveCache,
        hay: &[u8],
        span: std::ops::Range<usize>,
    ) -> Option<(Spans, Spans)> {
        let mut bt_cache = bt.create_cache();
        let mut expected = bt.create_captures();
        bt.try_captures(
            &mut bt_cache,
            Input::new(hay).range(span.clone()).anchored(Anchored::Yes),
            &mut expected,
        )
        .ok()?;
        let mut got = bt.create_captures();
        let matched = live.captures(cache, hay, span, &mut got)?;
        assert_eq!(matched, expected.is_match());
        let slots = |c: &Captures| {
            c.slots()
                .iter()
                .map(|s| s.map(NonMaxUsize::get))
                .collect::<Vec<_>>()
        };
        Some((slots(&got), slots(&expected)))
    }

    #[test]
    fn same_groups_as_the_backtracker_on_a_fail2ban_style_pattern() {
        let pattern = r"(?-u)^Failed (?:password|publickey) for (?P<inv>invalid user )?(?P<user>\S+|.*?) from (?P<host>(?:\d{1,3}\.){3}\d{1,3}|[\w\-.]*\w)(?: port \d+)?(?: ssh\d*)?\s*$";
        let (bt, live) = build(pattern).expect("supported pattern");
        let mut cache = live.create_cache();
        for line in [
            "Failed password for root from 10.0.0.1 port 22 ssh2",
            "Failed password for invalid user admin from 192.0.2.7 port 4000 ssh2",
            "Failed publickey for invalid user a from b from 192.0.2.7 port 4000 ssh2",
            "Failed password for  from host.example port 1",
            "Failed password for root from 10.0.0.1 port x",
            "",
        ] {
            let (got, expected) =
                both(&bt, &live, &mut cache, line.as_bytes(), 0..line.len()).expect("decided");
            assert_eq!(got, expected, "{line}");
        }
    }

    #[test]
    fn set_index_by_multiply_is_exact() {
        for stride in 1..MAX_STRIDE as u64 {
            let inverse = (1u64 << STRIDE_SHIFT).div_ceil(stride);
            for set in 0..=(MAX_CACHE_WORDS as u64 / stride) {
                let row = set * stride;
                assert_eq!(
                    (row * inverse) >> STRIDE_SHIFT,
                    set,
                    "stride {stride}, set {set}"
                );
            }
        }
    }

    #[test]
    fn unsupported_looks_are_declined() {
        let nfa = thompson::NFA::new(r"(?u)^\b\w+\b").expect("pattern");
        assert!(LiveCapturer::new(&nfa).is_none());
    }

    #[test]
    fn a_full_cache_is_cleared_then_the_engine_switched_off() {
        // Read backwards, which of the next 18 bytes are `a` decides the live set: up to 2^18
        // sets, more than the cache holds, on random text.
        let (bt, live) = build(r"(?-u)^[ab]{18}a[ab]*$").expect("supported");
        let mut cache = live.create_cache();
        let (mut agreed, mut declined) = (0, 0);
        let mut state = 7u64;
        for _ in 0..3000 {
            let line: Vec<u8> = (0..120)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    if state >> 63 == 1 { b'a' } else { b'b' }
                })
                .collect();
            match both(&bt, &live, &mut cache, &line, 0..line.len()) {
                Some((got, expected)) => {
                    assert_eq!(got, expected);
                    agreed += 1;
                }
                None => declined += 1,
            }
            assert!(cache.words <= MAX_CACHE_WORDS);
        }
        assert!(agreed > 0, "the engine answered before its cache filled");
        assert!(declined > 0, "the cache filled and the engine declined");
        assert_eq!(
            cache.clears, MAX_CLEARS,
            "switched off after {MAX_CLEARS} clears"
        );
    }

    #[test]
    fn a_repeated_shape_is_answered_from_the_memo_with_its_groups_moved() {
        // No `^`: the search is anchored at its start, which is not the start of the text.
        let pattern = r"(?-u)Failed password for (?P<user>\S+) from (?P<ip4>(?:\d{1,3}\.){3}\d{1,3}) port \d+(?: ssh\d*)?$";
        let (bt, live) = build(pattern).expect("supported pattern");
        let mut cache = live.create_cache();
        // The same classes at different offsets: only digits differ, and the search starts
        // after a head of a different length each time.
        let lines = [
            (
                "web1 sshd[4711]: ",
                "Failed password for root from 10.0.0.1 port 22 ssh2",
            ),
            (
                "web1 sshd[987654]: ",
                "Failed password for root from 19.8.7.6 port 99 ssh2",
            ),
            ("x: ", "Failed password for root from 55.4.3.2 port 10 ssh2"),
        ];
        for (i, (head, text)) in lines.iter().enumerate() {
            let line = format!("{head}{text}");
            let hits = cache.memo.hits;
            let (got, expected) = both(
                &bt,
                &live,
                &mut cache,
                line.as_bytes(),
                head.len()..line.len(),
            )
            .expect("decided");
            assert_eq!(got, expected, "{line}");
            assert_eq!(
                cache.memo.hits - hits,
                u32::from(i > 0),
                "memo hit on {line}"
            );
        }
        // A different class (a letter where a digit was) is a new shape, not a hit.
        let line = "Failed password for root from 10.0.0.1 port 2x ssh2";
        let hits = cache.memo.hits;
        let (got, expected) =
            both(&bt, &live, &mut cache, line.as_bytes(), 0..line.len()).expect("decided");
        assert_eq!(got, expected);
        assert_eq!(cache.memo.hits, hits);
    }

    #[test]
    fn a_memo_that_never_hits_is_switched_off_and_stays_bounded() {
        let (bt, live) = build(r"(?-u)^(?P<a>(?:a|bb)*)(?P<b>c*)$").expect("supported");
        let mut cache = live.create_cache();
        let mut state = 11u64;
        for n in 0..2 * MEMO_WINDOW {
            // Every line a new shape: 64 random bits spelled in `a`/`b` (two classes here),
            // then some `c`s.
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut line: Vec<u8> = (0..64)
                .map(|k| if state >> k & 1 == 1 { b'a' } else { b'b' })
                .collect();
            line.extend(std::iter::repeat_n(b'c', n as usize % 7));
            let (got, expected) =
                both(&bt, &live, &mut cache, &line, 0..line.len()).expect("decided");
            assert_eq!(got, expected);
            assert!(cache.memo.bytes <= MAX_MEMO_BYTES);
        }
        assert!(cache.memo.off, "a memo with no hits is switched off");
    }

    fn pattern_strategy() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("a".to_string()),
            Just("b".to_string()),
            Just(" ".to_string()),
            Just(r"\S".to_string()),
            Just(r"\s".to_string()),
            Just(r"\w".to_string()),
            Just(".".to_string()),
            Just("[ab:]".to_string()),
            Just(r"\b".to_string()),
            Just("$".to_string()),
            Just("".to_string()),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("(?:{a}|{b})")),
                inner.clone().prop_map(|a| format!("(?:{a})*")),
                inner.clone().prop_map(|a| format!("(?:{a})*?")),
                inner.clone().prop_map(|a| format!("(?:{a})+")),
                inner.clone().prop_map(|a| format!("(?:{a})??")),
                inner.clone().prop_map(|a| format!("({a})")),
                inner.prop_map(|a| format!("(?:{a}){{0,3}}")),
            ]
        })
    }

    const PIECES: &[&str] = &[
        "Failed ",
        "password",
        "publickey",
        " for ",
        "invalid user ",
        "root",
        " from ",
        "10.0.0.1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        " port ",
        "22",
        " ssh2",
        ": ",
        " ",
        "a",
        "[preauth]",
        "host.example",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Log-like lines made of the pieces a fail2ban pattern looks for, on a pattern shaped
        /// like sshd's (lazy user, host alternatives, optional tail, `$`).
        #[test]
        fn agrees_on_log_like_lines(
            head in prop::collection::vec(prop::sample::select(PIECES), 0..4),
            tail in prop::collection::vec(prop::sample::select(PIECES), 0..5),
        ) {
            let pattern = r"(?-u)^Failed (?P<method>\S+) for (?P<inv>invalid user )?(?P<user>\S+|.*?) from \[?(?:(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})|(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|:){1,7}(?:[0-9a-fA-F]{1,4}|:))\]?|(?P<dns>[\w\-.^_]*\w))(?: (?:port \d+|on \S+|\[preauth\])){0,3}(?: ssh\d*)?\s*$";
            let (bt, live) = build(pattern).expect("supported pattern");
            let mut cache = live.create_cache();
            let line = format!("Failed password for {} from {}", head.concat(), tail.concat());
            let (got, expected) = both(&bt, &live, &mut cache, line.as_bytes(), 0..line.len()).expect("decided");
            prop_assert_eq!(got, expected, "{:?}", line);
        }

        /// A text and its twin of the same shape (every byte swapped for another of its
        /// class) get the backtracker's groups, the twin from the memo.
        #[test]
        fn a_twin_of_the_same_shape_gets_its_own_groups(
            body in pattern_strategy(),
            hay in "[ab: \nc]{0,12}",
            start in 0usize..3,
        ) {
            let pattern = format!("(?-u)^{body}");
            let Some((bt, live)) = build(&pattern) else { return Ok(()); };
            let mut cache = live.create_cache();
            let twin: Vec<u8> = hay
                .bytes()
                .map(|b| {
                    let class = live.classes[usize::from(b)];
                    (0..=255u8).rev().find(|&o| live.classes[usize::from(o)] == class).unwrap_or(b)
                })
                .collect();
            let span = start.min(hay.len())..hay.len();
            let mut first_decided = false;
            for (i, text) in [hay.as_bytes(), &twin[..]].into_iter().enumerate() {
                let hits = cache.memo.hits;
                if let Some((got, expected)) = both(&bt, &live, &mut cache, text, span.clone()) {
                    prop_assert_eq!(got, expected, "{} on {:?}", pattern, text);
                    if i == 0 {
                        first_decided = true;
                    } else if first_decided && live.positional_looks {
                        prop_assert_eq!(cache.memo.hits, hits + 1, "the twin is a memo hit");
                    }
                }
            }
        }

        /// Same match and the same slots as regex-automata's bounded backtracker, for random
        /// patterns (empty loops, lazy and greedy repeats, word boundaries) and haystacks.
        #[test]
        fn agrees_with_the_bounded_backtracker(
            body in pattern_strategy(),
            hays in prop::collection::vec("[ab: \nc]{0,12}", 1..6),
            start in 0usize..3,
            cut in 0usize..4,
        ) {
            let pattern = format!("(?-u)^{body}");
            let Some((bt, live)) = build(&pattern) else { return Ok(()); };
            let mut cache = live.create_cache();
            for hay in &hays {
                // A search of a range that stops before the end of the text, too.
                let end = hay.len() - cut.min(hay.len());
                let span = start.min(end)..end;
                if let Some((got, expected)) = both(&bt, &live, &mut cache, hay.as_bytes(), span) {
                    prop_assert_eq!(got, expected, "{} on {:?}", pattern, hay);
                }
            }
        }
    }
}
