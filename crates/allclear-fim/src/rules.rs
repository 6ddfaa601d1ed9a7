//! What to watch: selection rules, exclusions, attribute sets and the built-in groups.
//!
//! Rules come from the `[fim]` section of `allclear.toml` (see [`FimConfig::from_toml_str`])
//! or from an AIDE configuration ([`crate::aide`]). Both end up as the same list of
//! [`Rule`]s, matched the way AIDE matches them: every rule has a literal path prefix (the
//! part of its pattern before the first special character); the rule with the deepest
//! prefix that matches a path governs it, ties going to the rule written first; a matching
//! negative rule excludes the path whatever selected it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use allclear_core::Severity;
use globset::{GlobBuilder, GlobMatcher};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::attrs::{Attr, AttrSet, HashAlgo, preset};
use crate::entry::{FileKind, as_path};

/// The kind of a selection rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// Paths matching the pattern (and everything under a matching directory, when the
    /// pattern allows) are recorded with the rule's attributes. AIDE: `/regex group`.
    Select,
    /// Only the matching entries directly inside the rule's directory. AIDE: `=/regex group`.
    Equals,
    /// Matching paths are not recorded; children are still looked at and excluded only if
    /// they match too. AIDE: `!/regex`.
    Exclude,
    /// Matching paths are not recorded and directories are not entered. AIDE: `-/regex`;
    /// exclusions in `allclear.toml`.
    Prune,
}

/// A set of file types a rule is restricted to (AIDE's `f,d,l` restrictions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeMask(u8);

impl TypeMask {
    pub fn from_kinds(kinds: &[FileKind]) -> TypeMask {
        TypeMask(kinds.iter().fold(0, |m, k| m | k.bit()))
    }

    pub fn contains(self, kind: FileKind) -> bool {
        self.0 & kind.bit() != 0
    }
}

/// One compiled selection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The group it belongs to (`binaries`, `config`, …) or, for AIDE rules, `file:line`.
    pub name: String,
    pub kind: RuleKind,
    /// The pattern as written (a path or glob in `allclear.toml`, a regex in `aide.conf`).
    pub pattern: String,
    pub attrs: AttrSet,
    /// How bad an unexpected change under this rule is.
    pub severity: Severity,
    pub types: Option<TypeMask>,
    regex: Regex,
    /// Every path the regex matches starts with this.
    literal: Vec<u8>,
    /// `literal` up to and including its last `/`: the directory the rule belongs to.
    node_len: usize,
    /// Exclusions that only apply to paths this rule governs (group `exclude`).
    excludes: Vec<Matcher>,
    /// Whether the pattern uses anchors or escapes, which make the cheap "does this
    /// exclusion cover every descendant" test unsafe one byte further.
    has_assertions: bool,
    /// For a path glob without `**`: how many components a path it selects the top of has.
    /// A directory that deep (or deeper) that the rule does not match holds nothing the
    /// rule could match, so the walk need not enter it.
    max_depth: Option<usize>,
}

impl Rule {
    /// Compiles a rule from a regex that is implicitly anchored at the start (AIDE style).
    pub(crate) fn from_regex(
        name: String,
        kind: RuleKind,
        pattern: &str,
        types: Option<TypeMask>,
        attrs: AttrSet,
        severity: Severity,
    ) -> Result<Rule, regex::Error> {
        let regex = compile_regex(&format!("^(?:{pattern})"))?;
        let literal = literal_prefix(pattern);
        Ok(Rule::assemble(
            name,
            kind,
            pattern.to_owned(),
            regex,
            literal,
            types,
            attrs,
            severity,
        ))
    }

    /// A rule for a path or path glob from `allclear.toml`: the path itself and, when it is
    /// a directory, everything under it.
    pub(crate) fn from_path_glob(
        name: String,
        kind: RuleKind,
        path: &str,
        attrs: AttrSet,
        severity: Severity,
    ) -> Result<Rule, String> {
        if !path.starts_with('/') {
            return Err(format!("path `{path}` is not absolute"));
        }
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        // The one glob dialect of allclear (globset's, as `exclude` and scan's ignores use):
        // its regex, unanchored at the end so the rule also selects what is under a directory.
        let glob = glob_builder(trimmed)
            .build()
            .map_err(|e| format!("`{path}` is not a valid glob: {e}"))?;
        let body = glob
            .regex()
            .strip_prefix("(?-u)^")
            .and_then(|body| body.strip_suffix('$'))
            .ok_or_else(|| format!("`{path}`: unexpected glob translation {}", glob.regex()))?;
        let regex_text = if trimmed == "/" {
            "^/".to_owned()
        } else {
            format!("^{body}(?:/|$)")
        };
        let regex = compile_regex(&regex_text).map_err(|e| e.to_string())?;
        let literal_end = trimmed
            .find(['*', '?', '[', '{', '\\'])
            .unwrap_or(trimmed.len());
        let literal = trimmed
            .as_bytes()
            .get(..literal_end)
            .unwrap_or_default()
            .to_vec();
        // Every `/` counts, those inside `{…}` too: an alternative (`/etc/{a,b/c}`) can only
        // make the count larger than the depth it selects, and a larger bound prunes less.
        let max_depth = (literal_end < trimmed.len() && !trimmed.contains("**"))
            .then(|| trimmed.split('/').filter(|c| !c.is_empty()).count());
        let mut rule = Rule::assemble(
            name,
            kind,
            path.to_owned(),
            regex,
            literal,
            None,
            attrs,
            severity,
        );
        rule.max_depth = max_depth;
        Ok(rule)
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        name: String,
        kind: RuleKind,
        pattern: String,
        regex: Regex,
        literal: Vec<u8>,
        types: Option<TypeMask>,
        attrs: AttrSet,
        severity: Severity,
    ) -> Rule {
        let node_len = literal
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |i| i + 1);
        let has_assertions = pattern.contains(['$', '\\']);
        Rule {
            name,
            kind,
            pattern,
            attrs,
            severity,
            types,
            regex,
            literal,
            node_len,
            excludes: Vec::new(),
            has_assertions,
            max_depth: None,
        }
    }

    fn node(&self) -> &[u8] {
        self.literal.get(..self.node_len).unwrap_or_default()
    }

    fn type_ok(&self, kind: FileKind) -> bool {
        self.types.is_none_or(|t| t.contains(kind))
    }

    /// Whether the regex matches the path (a directory is also tried with a trailing `/`,
    /// so `=/foo/` selects `/foo` itself, as AIDE does).
    fn regex_matches(&self, path: &[u8], kind: FileKind) -> bool {
        if self.regex.is_match(path) {
            return true;
        }
        kind == FileKind::Dir && self.regex.is_match(&dir_prefix(path))
    }

    fn matches(&self, path: &[u8], kind: FileKind) -> bool {
        if !self.type_ok(kind) || !self.regex_matches(path, kind) {
            return false;
        }
        match self.kind {
            // Equals rules reach only the rule's own directory and its direct children.
            RuleKind::Equals => {
                let node = self.node();
                dir_prefix(path) == node || parent_prefix(path) == node
            }
            _ => true,
        }
    }

    /// For an excluding rule that matched directory `path`: does it also match every path
    /// under it? Then the walk need not enter the directory.
    fn covers_descendants(&self, path: &[u8]) -> bool {
        if self.types.is_some() {
            return false;
        }
        let haystack = dir_prefix(path);
        match self.regex.shortest_match(&haystack) {
            // A match that ends before the `/` is also a match of every longer path. One
            // ending on the `/` is too, unless it relied on an assertion about what follows.
            Some(end) => end < haystack.len() || !self.has_assertions,
            None => false,
        }
    }

    /// Could this (selecting) rule match something strictly under directory `path`?
    fn could_match_below(&self, path: &[u8]) -> bool {
        let dir = dir_prefix(path);
        match self.kind {
            RuleKind::Select => {
                let depth = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).count();
                let too_deep = self
                    .max_depth
                    .is_some_and(|max| depth >= max && !self.regex_matches(path, FileKind::Dir));
                !too_deep && (dir.starts_with(&self.literal) || self.literal.starts_with(&dir))
            }
            RuleKind::Equals => self.node() == dir.as_slice() || self.literal.starts_with(&dir),
            RuleKind::Exclude | RuleKind::Prune => false,
        }
    }

    /// Does some path this rule selects lie strictly inside directory `path`?
    fn rooted_below(&self, path: &[u8]) -> bool {
        let dir = dir_prefix(path);
        self.literal.len() > dir.len() && self.literal.starts_with(&dir)
    }
}

/// A glob or regex exclusion, matched on raw path bytes.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// A glob; without a `/` it is matched against the file name only.
    Glob {
        glob: GlobMatcher,
        name_only: bool,
    },
    Regex(Regex),
}

impl Matcher {
    pub(crate) fn glob(pattern: &str) -> Result<Matcher, globset::Error> {
        let glob = glob_builder(pattern).build()?.compile_matcher();
        Ok(Matcher::Glob {
            glob,
            name_only: !pattern.contains('/'),
        })
    }

    pub(crate) fn regex(pattern: &str) -> Result<Matcher, regex::Error> {
        compile_regex(pattern).map(Matcher::Regex)
    }

    fn is_match(&self, path: &[u8]) -> bool {
        match self {
            Matcher::Glob { glob, name_only } => {
                let subject = if *name_only {
                    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
                } else {
                    path
                };
                glob.is_match(as_path(subject))
            }
            Matcher::Regex(regex) => regex.is_match(path),
        }
    }
}

fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    // Unicode off: `.` and classes match any byte, so names that are not UTF-8 match too.
    // The size limits bound what a hostile configuration can make us allocate.
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
}

/// The part of an (implicitly `^`-anchored) regex every match starts with.
pub(crate) fn literal_prefix(pattern: &str) -> Vec<u8> {
    // A top-level alternation can match anything: no prefix beyond "/".
    let mut depth = 0i32;
    let mut escaped = false;
    let mut in_class = false;
    for c in pattern.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth -= 1,
            '|' if !in_class && depth <= 0 => return b"/".to_vec(),
            _ => {}
        }
    }
    let bytes = pattern.as_bytes();
    let mut end = bytes.len();
    for (i, &b) in bytes.iter().enumerate() {
        if b".^$*+?()[]{}|\\".contains(&b) {
            // A quantifier also makes the character before it optional.
            end = if b"*?{".contains(&b) {
                i.saturating_sub(1)
            } else {
                i
            };
            break;
        }
    }
    let literal = bytes.get(..end).unwrap_or_default();
    if literal.starts_with(b"/") {
        literal.to_vec()
    } else {
        b"/".to_vec()
    }
}

/// The glob dialect of every `[fim]` pattern (`paths` and `exclude`): globset's, with `*` and
/// `?` never crossing a `/`, `**` for any depth, `[…]` classes, `{a,b}` alternatives and `\`
/// escapes. The same dialect as `scan`'s ignores.
fn glob_builder(pattern: &str) -> GlobBuilder<'_> {
    let mut builder = GlobBuilder::new(pattern);
    builder.literal_separator(true).backslash_escape(true);
    builder
}

/// The proper ancestors of `path`, from `/` down (`/a/b` → `/`, `/a`), and its name.
pub(crate) fn ancestors_of(path: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut out = Vec::new();
    let trimmed = if path.len() > 1 {
        path.strip_suffix(b"/").unwrap_or(path)
    } else {
        path
    };
    if trimmed == b"/" || !trimmed.starts_with(b"/") {
        return (out, trimmed);
    }
    out.push(trimmed.get(..1).unwrap_or_default());
    for (i, &b) in trimmed.iter().enumerate().skip(1) {
        if b == b'/'
            && let Some(prefix) = trimmed.get(..i)
        {
            out.push(prefix);
        }
    }
    let name_start = trimmed
        .iter()
        .rposition(|&b| b == b'/')
        .map_or(0, |i| i + 1);
    (out, trimmed.get(name_start..).unwrap_or_default())
}

/// `path` with exactly one trailing `/`.
fn dir_prefix(path: &[u8]) -> Vec<u8> {
    let mut out = path.to_vec();
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out
}

/// The directory part of `path`, with its trailing `/` (`/a/b` → `/a/`).
fn parent_prefix(path: &[u8]) -> &[u8] {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => trimmed.get(..=i).unwrap_or_default(),
        None => b"",
    }
}

/// What the walk does with one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The index of the governing rule when the path is recorded.
    pub record: Option<usize>,
    /// Whether to enter it (directories only).
    pub descend: bool,
    /// Set when the path is excluded but entered because a rule selects something below
    /// it: children are excluded too unless a rule rooted under this path governs them.
    pub excluded_dir: bool,
}

/// The complete set of rules and walk options. Build it with [`FimConfig::defaults`],
/// [`FimConfig::from_toml_str`], [`FimConfig::from_section`] or
/// [`crate::aide::parse_aide_config`].
#[derive(Debug, Clone)]
pub struct FimConfig {
    rules: Vec<Rule>,
    /// Selecting rules, deepest node first, then in the order written.
    order: Vec<usize>,
    /// Global exclusions: pruned wherever they match.
    prunes: Vec<Matcher>,
    /// Where the tree is read from: `/`, or a mounted image whose `/etc` is `ROOT/etc`.
    pub root: PathBuf,
    /// Do not enter directories on another file system than the walk root's.
    pub one_filesystem: bool,
    /// Where dpkg keeps its database (`/var/lib/dpkg`); `None` turns off package awareness.
    pub dpkg_dir: Option<PathBuf>,
    /// dpkg's log (`/var/log/dpkg.log`), read to say which upgrade changed a file.
    pub dpkg_log: Option<PathBuf>,
    /// A digest of every rule, stored in baselines to notice when rules changed.
    fingerprint: String,
    /// Where the rules came from, for messages.
    pub source: String,
}

impl FimConfig {
    /// Assembles a configuration from compiled rules.
    pub(crate) fn from_parts(rules: Vec<Rule>, prunes: Vec<Matcher>, source: String) -> FimConfig {
        let mut order: Vec<usize> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.kind, RuleKind::Select | RuleKind::Equals))
            .map(|(i, _)| i)
            .collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(rules.get(i).map_or(0, |r| r.node_len)), i));
        let mut hasher = blake3::Hasher::new();
        for rule in &rules {
            for part in [
                rule.name.as_str(),
                rule.pattern.as_str(),
                &rule.attrs.bits().to_string(),
            ] {
                hasher.update(&(part.len() as u64).to_le_bytes());
                hasher.update(part.as_bytes());
            }
            hasher.update(&[rule.kind as u8, rule.types.map_or(0xff, |t| t.0)]);
            for exclude in &rule.excludes {
                hasher.update(format!("{exclude:?}").as_bytes());
            }
        }
        for prune in &prunes {
            hasher.update(format!("{prune:?}").as_bytes());
        }
        FimConfig {
            rules,
            order,
            prunes,
            root: PathBuf::from("/"),
            one_filesystem: false,
            dpkg_dir: Some(PathBuf::from("/var/lib/dpkg")),
            dpkg_log: Some(PathBuf::from("/var/log/dpkg.log")),
            fingerprint: hasher.finalize().to_hex()[..32].to_owned(),
            source,
        }
    }

    /// The built-in groups for a Debian/Ubuntu web server (see [`default_groups`]).
    pub fn defaults() -> FimConfig {
        // The built-in groups are valid by construction (tested below).
        match build(&FimSection::default(), "built-in defaults") {
            Ok(config) => config,
            Err(_) => FimConfig::from_parts(Vec::new(), Vec::new(), "built-in defaults".into()),
        }
    }

    /// Reads the `[fim]` section of the text of an `allclear.toml` (defaults when absent).
    /// Errors carry the line number.
    pub fn from_toml_str(text: &str, source: &str) -> Result<FimConfig, ConfigError> {
        #[derive(Deserialize)]
        struct Whole {
            #[serde(default)]
            fim: Option<FimSection>,
        }
        let whole: Whole = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ConfigError::Toml {
                source_name: source.to_owned(),
                line: line_of(text, offset),
                message: e.message().to_owned(),
            }
        })?;
        build(&whole.fim.unwrap_or_default(), source)
    }

    /// Reads the `[fim]` table as handed over by `allclear_core::Policy::sections`
    /// (defaults when `None`). The value carries no positions, so errors name the key.
    pub fn from_section(
        section: Option<&toml::Value>,
        source: &str,
    ) -> Result<FimConfig, ConfigError> {
        let section = match section {
            Some(value) => {
                FimSection::deserialize(value.clone()).map_err(|e| ConfigError::Toml {
                    source_name: source.to_owned(),
                    line: 0,
                    message: format!("[fim]: {}", e.message()),
                })?
            }
            None => FimSection::default(),
        };
        build(&section, source)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The rule that governs `path` of type `kind`, or `None` when it is not watched: the
    /// same decision the walk makes, including exclusions of parent directories.
    pub fn rule_for(&self, path: &[u8], kind: FileKind) -> Option<&Rule> {
        let (ancestors, _) = ancestors_of(path);
        let mut excluded_above: Option<&[u8]> = None;
        for ancestor in ancestors {
            let d = self.decide(ancestor, FileKind::Dir, excluded_above);
            if !d.descend {
                // A walk that starts at a root inside this directory still reaches it.
                let root_inside = self.walk_roots().iter().any(|r| {
                    r.len() > ancestor.len()
                        && path.starts_with(&dir_prefix(r))
                        && r.starts_with(&dir_prefix(ancestor))
                });
                if !root_inside {
                    return None;
                }
            }
            if d.excluded_dir {
                excluded_above = Some(ancestor);
            }
        }
        self.decide(path, kind, excluded_above)
            .record
            .and_then(|i| self.rules.get(i))
    }

    pub(crate) fn rule(&self, index: usize) -> Option<&Rule> {
        self.rules.get(index)
    }

    /// The directories the walk starts from: the nodes of the selecting rules, without
    /// those inside another.
    pub(crate) fn walk_roots(&self) -> Vec<Vec<u8>> {
        let mut nodes: Vec<Vec<u8>> = self
            .order
            .iter()
            .filter_map(|&i| self.rules.get(i))
            .map(|r| {
                let node = r.node();
                if node.len() > 1 {
                    node.strip_suffix(b"/").unwrap_or(node).to_vec()
                } else {
                    b"/".to_vec()
                }
            })
            .collect();
        nodes.sort();
        nodes.dedup();
        let mut roots: Vec<Vec<u8>> = Vec::new();
        for node in nodes {
            let inside = roots
                .iter()
                .any(|r| r.as_slice() == b"/" || node.starts_with(&dir_prefix(r)));
            if !inside {
                roots.push(node);
            }
        }
        roots
    }

    /// The directories (or files) to ask for change events on: for a rule that is a plain
    /// path, that path; otherwise the directory its pattern starts in. Narrower than
    /// [`FimConfig::walk_roots`], which start at each rule's parent directory (a watch on
    /// `/` for a rule on `/etc` would cover the whole system). None inside another.
    pub(crate) fn watch_roots(&self) -> Vec<Vec<u8>> {
        let mut paths: Vec<Vec<u8>> = self
            .order
            .iter()
            .filter_map(|&i| self.rules.get(i))
            .map(|r| {
                let whole = !r.literal.is_empty()
                    && r.literal.strip_suffix(b"/").unwrap_or(&r.literal)
                        == r.pattern.trim_end_matches('/').as_bytes();
                let path = if whole {
                    r.literal.as_slice()
                } else {
                    r.node()
                };
                match path.strip_suffix(b"/") {
                    Some(trimmed) if !trimmed.is_empty() => trimmed.to_vec(),
                    _ if path.is_empty() => b"/".to_vec(),
                    _ => path.to_vec(),
                }
            })
            .collect();
        paths.sort();
        paths.dedup();
        let mut roots: Vec<Vec<u8>> = Vec::new();
        for path in paths {
            if !roots
                .iter()
                .any(|r| r.as_slice() == b"/" || path.starts_with(&dir_prefix(r)))
            {
                roots.push(path);
            }
        }
        roots
    }

    /// Decides whether `path` is recorded, under which rule, and whether to enter it.
    /// `excluded_above` is the nearest excluded ancestor that the walk entered anyway.
    pub(crate) fn decide(
        &self,
        path: &[u8],
        kind: FileKind,
        excluded_above: Option<&[u8]>,
    ) -> Decision {
        let is_dir = kind == FileKind::Dir;
        let excluded = |dir_entered: bool| Decision {
            record: None,
            descend: dir_entered,
            excluded_dir: dir_entered,
        };
        let rooted_below = |p: &[u8]| {
            self.order
                .iter()
                .filter_map(|&i| self.rules.get(i))
                .any(|r| r.rooted_below(p))
        };

        // Global exclusions and AIDE `-` rules: pruned, unless a rule selects something
        // inside (then entered, with everything not selected by that rule excluded).
        let pruned = self.prunes.iter().any(|m| m.is_match(path))
            || self
                .rules
                .iter()
                .any(|r| r.kind == RuleKind::Prune && r.matches(path, kind));
        if pruned {
            return excluded(is_dir && rooted_below(path));
        }

        // AIDE `!` rules exclude whatever selected the path; their children are looked at
        // unless the rule certainly matches all of them too.
        if let Some(rule) = self
            .rules
            .iter()
            .find(|r| r.kind == RuleKind::Exclude && r.matches(path, kind))
        {
            let enter = is_dir && !rule.covers_descendants(path) && self.could_match_below(path);
            return Decision {
                record: None,
                descend: enter,
                excluded_dir: false,
            };
        }

        let governing = self
            .order
            .iter()
            .copied()
            .find(|&i| self.rules.get(i).is_some_and(|r| r.matches(path, kind)));

        if let Some(dir) = excluded_above {
            let rescued = governing
                .and_then(|i| self.rules.get(i))
                .is_some_and(|r| r.rooted_below(dir));
            if !rescued {
                return Decision {
                    record: None,
                    descend: is_dir && rooted_below(path),
                    excluded_dir: is_dir,
                };
            }
        }

        if let Some(rule) = governing.and_then(|i| self.rules.get(i))
            && rule.excludes.iter().any(|m| m.is_match(path))
        {
            return excluded(is_dir && rooted_below(path));
        }

        Decision {
            record: governing,
            descend: is_dir && self.could_match_below(path),
            excluded_dir: false,
        }
    }

    fn could_match_below(&self, path: &[u8]) -> bool {
        self.order
            .iter()
            .filter_map(|&i| self.rules.get(i))
            .any(|r| r.could_match_below(path))
    }
}

/// The `[fim]` section could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML is malformed or has an unknown key or a value of the wrong type.
    #[error("{source_name}:{line}: {message}")]
    Toml {
        source_name: String,
        /// 1-based; 0 when the section came without positions.
        line: u32,
        message: String,
    },
    /// A value is well-formed TOML but not usable (an unknown attribute, a bad glob or
    /// regex, a relative path).
    #[error("{source_name}: {at}: {message}")]
    Invalid {
        source_name: String,
        /// Which key, e.g. `[fim.groups.webroot] attributes`.
        at: String,
        message: String,
    },
}

fn line_of(text: &str, offset: usize) -> u32 {
    let upto = text.get(..offset.min(text.len())).unwrap_or(text);
    upto.bytes().filter(|&b| b == b'\n').count() as u32 + 1
}

/// `[fim]` in `allclear.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FimSection {
    /// Start from the built-in groups (default true).
    #[serde(default = "yes")]
    defaults: bool,
    /// Globs excluded everywhere (matched against the file name when they have no `/`).
    #[serde(default)]
    exclude: Vec<String>,
    /// Regexes excluded everywhere, matched against the whole path's bytes.
    #[serde(default)]
    exclude_regex: Vec<String>,
    /// The content hash used where a group says `hash` or a preset: blake3, sha256, sha512.
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    one_filesystem: bool,
    /// Read the tree under this directory (a mounted image) instead of `/`.
    #[serde(default)]
    root: Option<String>,
    /// dpkg's database, for package awareness; `""` turns it off.
    #[serde(default)]
    dpkg_dir: Option<String>,
    /// dpkg's log; `""` leaves it unread.
    #[serde(default)]
    dpkg_log: Option<String>,
    #[serde(default)]
    groups: BTreeMap<String, GroupSection>,
}

fn yes() -> bool {
    true
}

impl Default for FimSection {
    fn default() -> Self {
        FimSection {
            defaults: true,
            exclude: Vec::new(),
            exclude_regex: Vec::new(),
            hash: None,
            one_filesystem: false,
            root: None,
            dpkg_dir: None,
            dpkg_log: None,
            groups: BTreeMap::new(),
        }
    }
}

/// `[fim.groups.NAME]`. Every key is optional when NAME is a built-in group: what is given
/// replaces the built-in value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct GroupSection {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    description: Option<String>,
    /// Absolute paths or globs (the dialect of [`glob_builder`], the same as `exclude`).
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    attributes: Option<AttrSpec>,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    exclude: Option<Vec<String>>,
    #[serde(default)]
    exclude_regex: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Severity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum AttrSpec {
    One(String),
    Many(Vec<String>),
}

impl AttrSpec {
    fn items(&self) -> Vec<&str> {
        match self {
            AttrSpec::One(text) => text
                .split(['+', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect(),
            AttrSpec::Many(items) => items.iter().map(String::as_str).collect(),
        }
    }
}

/// A built-in group, described in code so its reasoning sits next to it.
pub struct DefaultGroup {
    pub name: &'static str,
    pub description: &'static str,
    pub paths: &'static [&'static str],
    /// A preset or attribute list, as in `allclear.toml`.
    pub attributes: &'static [&'static str],
    pub exclude: &'static [&'static str],
    pub severity: Severity,
}

/// The groups used when `allclear.toml` says nothing: suited to a Debian or Ubuntu web
/// server. Paths that do not exist on a host are skipped silently.
pub fn default_groups() -> &'static [DefaultGroup] {
    &[
        DefaultGroup {
            name: "binaries",
            description: "programs, libraries, kernels and boot loader",
            paths: &[
                "/bin",
                "/sbin",
                "/lib",
                "/lib32",
                "/lib64",
                "/usr/bin",
                "/usr/sbin",
                "/usr/lib",
                "/usr/lib32",
                "/usr/lib64",
                "/usr/libexec",
                "/usr/local/bin",
                "/usr/local/sbin",
                "/usr/local/lib",
                "/opt",
                "/boot",
            ],
            attributes: &["static"],
            // Byte-code caches are rewritten by package scripts and are not in dpkg's
            // records, so they would make every upgrade noisy.
            exclude: &["__pycache__"],
            severity: Severity::High,
        },
        DefaultGroup {
            name: "config",
            description: "system configuration",
            paths: &["/etc"],
            attributes: &["static"],
            // Rewritten by the system itself during normal operation.
            exclude: &["/etc/adjtime", "/etc/.pwd.lock", "*.dpkg-old", "*.swp"],
            severity: Severity::High,
        },
        DefaultGroup {
            name: "access",
            description: "SSH keys and configuration, sudo, PAM and the account databases",
            paths: &[
                "/etc/ssh",
                "/root/.ssh",
                "/home/*/.ssh",
                "/etc/sudoers",
                "/etc/sudoers.d",
                "/etc/pam.d",
                "/etc/passwd",
                "/etc/shadow",
                "/etc/group",
                "/etc/gshadow",
            ],
            attributes: &["static"],
            // Changes on every outgoing ssh connection and grants nothing.
            exclude: &["known_hosts", "known_hosts.old"],
            severity: Severity::Critical,
        },
        DefaultGroup {
            name: "scheduled",
            description: "cron jobs, systemd units and init scripts (where persistence hides)",
            paths: &[
                "/etc/crontab",
                "/etc/cron.d",
                "/etc/cron.hourly",
                "/etc/cron.daily",
                "/etc/cron.weekly",
                "/etc/cron.monthly",
                "/etc/cron.yearly",
                "/etc/anacrontab",
                "/var/spool/cron",
                "/etc/systemd",
                "/usr/lib/systemd/system",
                "/lib/systemd/system",
                "/etc/init.d",
                "/etc/rc.local",
            ],
            attributes: &["static"],
            exclude: &[],
            severity: Severity::Critical,
        },
        DefaultGroup {
            name: "webroot",
            description: "the web root (content and ownership; deploys may rewrite files)",
            paths: &["/var/www", "/srv/www", "/srv/http"],
            attributes: &["content"],
            exclude: &["cache", "tmp", "sessions", "*.log"],
            severity: Severity::Medium,
        },
        DefaultGroup {
            name: "logs",
            description: "logs: may only grow; ownership and permissions must stay",
            paths: &["/var/log"],
            attributes: &["growing"],
            // Rotated and compressed logs come and go every day.
            exclude: &[
                "*.[0-9]",
                "*.[0-9].log",
                "*.gz",
                "*.xz",
                "*.zst",
                "*.old",
                "/var/log/journal",
            ],
            severity: Severity::Medium,
        },
    ]
}

/// Excluded everywhere: virtual and volatile file systems, caches, and our own state.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/tmp",
    "/var/tmp",
    "/var/run",
    "/var/lock",
    "/var/cache",
    "/var/lib/allclear",
    "/root/.cache",
    "/home/*/.cache",
    "lost+found",
];

struct GroupDraft {
    description: String,
    paths: Vec<String>,
    attributes: Vec<String>,
    hash: Option<String>,
    exclude: Vec<String>,
    exclude_regex: Vec<String>,
    severity: Severity,
    enabled: bool,
}

fn build(section: &FimSection, source: &str) -> Result<FimConfig, ConfigError> {
    let invalid = |at: String, message: String| ConfigError::Invalid {
        source_name: source.to_owned(),
        at,
        message,
    };
    let default_hash = match &section.hash {
        Some(name) => HashAlgo::from_name(name).ok_or_else(|| {
            invalid(
                "[fim] hash".into(),
                format!("unknown hash `{name}` (expected blake3, sha256 or sha512)"),
            )
        })?,
        None => HashAlgo::Blake3,
    };

    let mut drafts: Vec<(String, GroupDraft)> = Vec::new();
    if section.defaults {
        for group in default_groups() {
            drafts.push((
                group.name.to_owned(),
                GroupDraft {
                    description: group.description.to_owned(),
                    paths: group.paths.iter().map(|s| (*s).to_owned()).collect(),
                    attributes: group.attributes.iter().map(|s| (*s).to_owned()).collect(),
                    hash: None,
                    exclude: group.exclude.iter().map(|s| (*s).to_owned()).collect(),
                    exclude_regex: Vec::new(),
                    severity: group.severity,
                    enabled: true,
                },
            ));
        }
    }
    for (name, given) in &section.groups {
        let at = format!("[fim.groups.{name}]");
        let existing = drafts.iter().position(|(n, _)| n == name);
        let draft = match existing {
            Some(i) => match drafts.get_mut(i) {
                Some((_, d)) => d,
                None => continue,
            },
            None => {
                if given.paths.is_none() && given.enabled != Some(false) {
                    return Err(invalid(at, "a new group needs `paths`".into()));
                }
                drafts.push((
                    name.clone(),
                    GroupDraft {
                        description: String::new(),
                        paths: Vec::new(),
                        attributes: vec!["static".into()],
                        hash: None,
                        exclude: Vec::new(),
                        exclude_regex: Vec::new(),
                        severity: Severity::High,
                        enabled: true,
                    },
                ));
                match drafts.last_mut() {
                    Some((_, d)) => d,
                    None => continue,
                }
            }
        };
        if let Some(v) = given.enabled {
            draft.enabled = v;
        }
        if let Some(v) = &given.description {
            draft.description = v.clone();
        }
        if let Some(v) = &given.paths {
            draft.paths = v.clone();
        }
        if let Some(v) = &given.attributes {
            draft.attributes = v.items().into_iter().map(str::to_owned).collect();
        }
        if let Some(v) = &given.hash {
            draft.hash = Some(v.clone());
        }
        if let Some(v) = &given.exclude {
            draft.exclude = v.clone();
        }
        if let Some(v) = &given.exclude_regex {
            draft.exclude_regex = v.clone();
        }
        if let Some(v) = given.severity {
            draft.severity = v;
        }
    }

    let mut rules = Vec::new();
    for (name, draft) in drafts.iter().filter(|(_, d)| d.enabled) {
        let at = |key: &str| format!("[fim.groups.{name}] {key}");
        let hash = match &draft.hash {
            Some(h) => HashAlgo::from_name(h).ok_or_else(|| {
                invalid(
                    at("hash"),
                    format!("unknown hash `{h}` (expected blake3, sha256 or sha512)"),
                )
            })?,
            None => default_hash,
        };
        let attrs =
            parse_attr_list(&draft.attributes, hash).map_err(|m| invalid(at("attributes"), m))?;
        let mut excludes = Vec::new();
        for pattern in &draft.exclude {
            excludes.push(Matcher::glob(pattern).map_err(|e| {
                invalid(
                    at("exclude"),
                    format!("`{pattern}` is not a valid glob: {e}"),
                )
            })?);
        }
        for pattern in &draft.exclude_regex {
            excludes.push(Matcher::regex(pattern).map_err(|e| {
                invalid(
                    at("exclude-regex"),
                    format!("`{pattern}` is not a valid regex: {e}"),
                )
            })?);
        }
        if draft.paths.is_empty() {
            return Err(invalid(at("paths"), "the group watches no paths".into()));
        }
        for path in &draft.paths {
            let mut rule =
                Rule::from_path_glob(name.clone(), RuleKind::Select, path, attrs, draft.severity)
                    .map_err(|m| invalid(at("paths"), m))?;
            rule.excludes = excludes.clone();
            rules.push(rule);
        }
        let _ = &draft.description;
    }

    let mut prunes = Vec::new();
    let global: Vec<String> = if section.defaults {
        DEFAULT_EXCLUDES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(section.exclude.iter().cloned())
            .collect()
    } else {
        section.exclude.clone()
    };
    for pattern in &global {
        prunes.push(Matcher::glob(pattern).map_err(|e| {
            invalid(
                "[fim] exclude".into(),
                format!("`{pattern}` is not a valid glob: {e}"),
            )
        })?);
    }
    for pattern in &section.exclude_regex {
        prunes.push(Matcher::regex(pattern).map_err(|e| {
            invalid(
                "[fim] exclude-regex".into(),
                format!("`{pattern}` is not a valid regex: {e}"),
            )
        })?);
    }
    let mut config = FimConfig::from_parts(rules, prunes, source.to_owned());
    config.one_filesystem = section.one_filesystem;
    if let Some(root) = &section.root {
        config.root = PathBuf::from(root);
    }
    match section.dpkg_dir.as_deref() {
        Some("") => config.dpkg_dir = None,
        Some(dir) => config.dpkg_dir = Some(PathBuf::from(dir)),
        None => {}
    }
    match section.dpkg_log.as_deref() {
        Some("") => config.dpkg_log = None,
        Some(log) => config.dpkg_log = Some(PathBuf::from(log)),
        None => {}
    }
    Ok(config)
}

/// `["static", "-inode", "sha256"]`: presets and attribute names, `-name` removes.
pub(crate) fn parse_attr_list(items: &[String], hash: HashAlgo) -> Result<AttrSet, String> {
    let mut set = AttrSet::EMPTY;
    for item in items {
        let (remove, name) = match item.trim().strip_prefix('-') {
            Some(rest) => (true, rest.trim()),
            None => (false, item.trim()),
        };
        let part = if let Some(p) = preset(name, hash) {
            p
        } else if let Some(attr) = Attr::from_name(name) {
            AttrSet::EMPTY.with(attr)
        } else {
            return Err(format!(
                "unknown attribute `{name}` (expected a preset: static, content, permissions, growing, hash; \
                 or one of: {})",
                Attr::ALL.map(Attr::name).join(", ")
            ));
        };
        set = if remove {
            set.difference(part)
        } else {
            set.union(part)
        };
    }
    Ok(set)
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleKind::Select => "select",
            RuleKind::Equals => "equals",
            RuleKind::Exclude => "exclude",
            RuleKind::Prune => "prune",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aide_rule(kind: RuleKind, pattern: &str, types: Option<TypeMask>) -> Rule {
        Rule::from_regex(
            "t".into(),
            kind,
            pattern,
            types,
            AttrSet::EMPTY.with(Attr::Perms),
            Severity::High,
        )
        .unwrap()
    }

    #[test]
    fn watch_roots_are_the_paths_not_their_parents() {
        let text = "[fim]\ndefaults = false\n[fim.groups.a]\npaths = [\"/etc\", \"/etc/ssh\", \"/var/log/*.log\", \"/srv/www/\"]\n";
        let config = FimConfig::from_toml_str(text, "allclear.toml").unwrap();
        assert_eq!(
            config.watch_roots(),
            vec![b"/etc".to_vec(), b"/srv/www".to_vec(), b"/var/log".to_vec()]
        );
        // The walk starts one level up (it must see /etc itself); the watch must not.
        assert!(config.walk_roots().contains(&b"/".to_vec()));
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("/etc"), b"/etc");
        assert_eq!(literal_prefix("/var/log/syslog*"), b"/var/log/syslo");
        assert_eq!(literal_prefix("/var/log/.*\\.gz$"), b"/var/log/");
        assert_eq!(literal_prefix("/home/[a-z]+/.bashrc$"), b"/home/");
        assert_eq!(literal_prefix("/etc|/usr"), b"/");
        assert_eq!(literal_prefix("/(etc|usr)"), b"/");
        assert_eq!(literal_prefix("etc"), b"/");
    }

    #[test]
    fn globs_become_regexes() {
        let r = Rule::from_path_glob(
            "g".into(),
            RuleKind::Select,
            "/home/*/.ssh",
            AttrSet::EMPTY,
            Severity::High,
        )
        .unwrap();
        assert!(r.matches(b"/home/alice/.ssh", FileKind::Dir));
        assert!(r.matches(b"/home/alice/.ssh/authorized_keys", FileKind::File));
        assert!(!r.matches(b"/home/alice/x/.ssh", FileKind::Dir));
        assert!(!r.matches(b"/home/alice/.sshx", FileKind::Dir));
        // Inside a home directory, only the .ssh directory is worth entering.
        assert!(r.could_match_below(b"/home/alice"));
        assert!(r.could_match_below(b"/home/alice/.ssh"));
        assert!(r.could_match_below(b"/home/alice/.ssh/sub"));
        assert!(!r.could_match_below(b"/home/alice/Documents"));
        assert!(!r.could_match_below(b"/home/alice/Documents/deep"));
        assert_eq!(r.literal, b"/home/");
        assert!(
            Rule::from_path_glob(
                "g".into(),
                RuleKind::Select,
                "etc",
                AttrSet::EMPTY,
                Severity::High
            )
            .is_err()
        );
        let class = Rule::from_path_glob(
            "g".into(),
            RuleKind::Select,
            "/v[!a]r",
            AttrSet::EMPTY,
            Severity::High,
        )
        .unwrap();
        assert!(class.matches(b"/vbr", FileKind::File) && !class.matches(b"/var", FileKind::File));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        /// A `paths` glob selects exactly what the same glob as an `exclude` matches, and
        /// everything under it; and the walk never prunes a directory above a selected path
        /// (the literal-prefix and depth shortcuts stay sound for `{…}` and `**`).
        #[test]
        fn path_globs_agree_with_globset_and_never_prune_a_match(
            glob in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "b", "*", "?", "a*", "[ab]", "{a,b}", "{a,b/c}", "**",
                ]),
                1..4,
            ),
            path in proptest::collection::vec(
                proptest::sample::select(vec!["a", "b", "c", "ab"]),
                1..5,
            ),
        ) {
            let glob = format!("/{}", glob.join("/"));
            let path = format!("/{}", path.join("/"));
            let rule = Rule::from_path_glob(
                "g".into(),
                RuleKind::Select,
                &glob,
                AttrSet::EMPTY,
                Severity::High,
            )
            .unwrap();
            let matcher = Matcher::glob(&glob).unwrap();
            // The path or one of its ancestors (at a `/`) matches the glob.
            let bytes = path.as_bytes();
            let expected = (1..=bytes.len())
                .filter(|&end| end == bytes.len() || bytes.get(end) == Some(&b'/'))
                .any(|end| matcher.is_match(bytes.get(..end).unwrap_or_default()));
            proptest::prop_assert_eq!(rule.matches(bytes, FileKind::File), expected, "{} {}", glob, path);
            if expected {
                let (ancestors, _) = ancestors_of(bytes);
                for dir in ancestors {
                    proptest::prop_assert!(
                        rule.could_match_below(dir),
                        "{} selects {} but the walk would not enter {}",
                        glob,
                        path,
                        String::from_utf8_lossy(dir)
                    );
                }
            }
        }
    }

    /// `paths` and `exclude` read one dialect: `{a,b}` is an alternation in both (it was a
    /// literal in `paths`).
    #[test]
    fn paths_and_excludes_share_the_glob_dialect() {
        let rule = |glob: &str| {
            Rule::from_path_glob(
                "g".into(),
                RuleKind::Select,
                glob,
                AttrSet::EMPTY,
                Severity::High,
            )
            .unwrap()
        };
        let both = rule("/etc/{nginx,ssh}");
        assert!(both.matches(b"/etc/nginx", FileKind::Dir));
        assert!(both.matches(b"/etc/ssh/sshd_config", FileKind::File));
        assert!(!both.matches(b"/etc/{nginx,ssh}", FileKind::Dir));
        assert!(!both.matches(b"/etc/cron.d", FileKind::Dir));
        assert!(both.could_match_below(b"/etc"));
        let exclude = Matcher::glob("/etc/{nginx,ssh}").unwrap();
        assert!(exclude.is_match(b"/etc/nginx") && exclude.is_match(b"/etc/ssh"));
        // An escaped brace is a literal in both.
        assert!(rule("/srv/\\{x\\}").matches(b"/srv/{x}", FileKind::File));
        assert!(Matcher::glob("/srv/\\{x\\}").unwrap().is_match(b"/srv/{x}"));
        // `*` stops at `/`; `**` crosses directories.
        assert!(!rule("/var/*.log").matches(b"/var/a/b.log", FileKind::File));
        assert!(rule("/var/**/b.log").matches(b"/var/a/c/b.log", FileKind::File));
        // An alternative holding a `/` selects several depths: the walk must not stop early.
        let deep = rule("/opt/{a,b/c}");
        assert!(deep.matches(b"/opt/b/c/file", FileKind::File));
        assert!(deep.could_match_below(b"/opt/b"));
        // Invalid globs are refused with the pattern named.
        let err = Rule::from_path_glob(
            "g".into(),
            RuleKind::Select,
            "/etc/{a",
            AttrSet::EMPTY,
            Severity::High,
        )
        .unwrap_err();
        assert!(err.contains("/etc/{a"), "{err}");
    }

    #[test]
    fn equals_rules_stop_at_children() {
        let plain = aide_rule(RuleKind::Equals, "/foo", None);
        assert!(plain.matches(b"/foo", FileKind::Dir));
        assert!(plain.matches(b"/foobar", FileKind::File));
        assert!(!plain.matches(b"/foo/x", FileKind::File));
        let slash = aide_rule(RuleKind::Equals, "/foo/", None);
        assert!(slash.matches(b"/foo", FileKind::Dir));
        assert!(slash.matches(b"/foo/x", FileKind::Dir));
        assert!(!slash.matches(b"/foo/x/y", FileKind::File));
    }

    #[test]
    fn negative_rules_cover_descendants_only_when_certain() {
        assert!(aide_rule(RuleKind::Exclude, "/proc", None).covers_descendants(b"/proc"));
        assert!(aide_rule(RuleKind::Exclude, "/var/log/.*", None).covers_descendants(b"/var/log"));
        assert!(
            !aide_rule(RuleKind::Exclude, "/var/log/.*\\.gz$", None)
                .covers_descendants(b"/var/log")
        );
        assert!(!aide_rule(RuleKind::Exclude, "/var/log/$", None).covers_descendants(b"/var/log"));
        let typed = aide_rule(
            RuleKind::Exclude,
            "/run",
            Some(TypeMask::from_kinds(&[FileKind::Dir])),
        );
        assert!(!typed.covers_descendants(b"/run"));
    }

    #[test]
    fn deepest_rule_governs() {
        let config = FimConfig::defaults();
        let rule = config
            .rule_for(b"/etc/ssh/sshd_config", FileKind::File)
            .unwrap();
        assert_eq!(rule.name, "access");
        assert_eq!(
            config
                .rule_for(b"/etc/hostname", FileKind::File)
                .unwrap()
                .name,
            "config"
        );
        assert_eq!(
            config
                .rule_for(b"/etc/cron.d/x", FileKind::File)
                .unwrap()
                .name,
            "scheduled"
        );
        assert_eq!(
            config
                .rule_for(b"/usr/bin/ls", FileKind::File)
                .unwrap()
                .name,
            "binaries"
        );
        assert!(config.rule_for(b"/proc/1/status", FileKind::File).is_none());
        assert!(
            config
                .rule_for(b"/var/log/syslog.1", FileKind::File)
                .is_none()
        );
        assert_eq!(
            config
                .rule_for(b"/var/log/syslog", FileKind::File)
                .unwrap()
                .name,
            "logs"
        );
        assert!(
            config
                .rule_for(b"/home/bob/.ssh/known_hosts", FileKind::File)
                .is_none()
        );
        assert!(
            config
                .rule_for(b"/home/bob/notes.txt", FileKind::File)
                .is_none()
        );
        assert!(
            config
                .rule_for(b"/usr/lib/python3/x/__pycache__/a.pyc", FileKind::File)
                .is_none()
        );
    }

    #[test]
    fn defaults_build_and_roots_are_minimal() {
        let config = FimConfig::defaults();
        assert!(config.rules().len() > 20);
        let roots = config.walk_roots();
        assert!(roots.contains(&b"/".to_vec()));
        // Everything is inside "/", so there is one root.
        assert_eq!(roots.len(), 1);
        // Walking "/" enters /etc and /usr but not /proc, and not /srv/data.
        assert!(config.decide(b"/etc", FileKind::Dir, None).descend);
        assert!(config.decide(b"/usr", FileKind::Dir, None).descend);
        assert!(!config.decide(b"/proc", FileKind::Dir, None).descend);
        assert!(!config.decide(b"/srv/data", FileKind::Dir, None).descend);
        assert!(config.decide(b"/srv", FileKind::Dir, None).descend);
        assert_eq!(config.decide(b"/srv", FileKind::Dir, None).record, None);
    }

    #[test]
    fn toml_sections_override_defaults() {
        let text = r#"
[fim]
hash = "sha256"
exclude = ["*.bak"]

[fim.groups.webroot]
paths = ["/srv/app"]
severity = "low"

[fim.groups.logs]
enabled = false

[fim.groups.secrets]
paths = ["/opt/secrets"]
attributes = ["static", "-inode", "sha512"]
exclude-regex = ['\.tmp$']
"#;
        let config = FimConfig::from_toml_str(text, "allclear.toml").unwrap();
        let web = config
            .rule_for(b"/srv/app/index.php", FileKind::File)
            .unwrap();
        assert_eq!(web.severity, Severity::Low);
        assert!(web.attrs.contains(Attr::Sha256));
        assert!(
            config
                .rule_for(b"/var/www/index.php", FileKind::File)
                .is_none()
        );
        assert!(
            config
                .rule_for(b"/var/log/syslog", FileKind::File)
                .is_none()
        );
        assert!(
            config
                .rule_for(b"/etc/passwd.bak", FileKind::File)
                .is_none()
        );
        let secrets = config
            .rule_for(b"/opt/secrets/key", FileKind::File)
            .unwrap();
        assert_eq!(secrets.name, "secrets");
        assert!(!secrets.attrs.contains(Attr::Inode));
        assert!(secrets.attrs.contains(Attr::Sha512) && secrets.attrs.contains(Attr::Sha256));
        assert!(
            config
                .rule_for(b"/opt/secrets/key.tmp", FileKind::File)
                .is_none()
        );
    }

    #[test]
    fn toml_errors_name_line_and_key() {
        let err = FimConfig::from_toml_str("[fim]\nhash = \"sha256\"\npathz = 1\n", "a.toml")
            .unwrap_err();
        assert!(matches!(err, ConfigError::Toml { line: 3, .. }), "{err}");
        let err = FimConfig::from_toml_str(
            "[fim.groups.x]\npaths=[\"/x\"]\nattributes=[\"bogus\"]\n",
            "a.toml",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("[fim.groups.x] attributes"),
            "{err}"
        );
        assert!(err.to_string().contains("bogus"));
        let err =
            FimConfig::from_toml_str("[fim.groups.x]\nseverity=\"low\"\n", "a.toml").unwrap_err();
        assert!(err.to_string().contains("needs `paths`"), "{err}");
        let err = FimConfig::from_toml_str("[fim]\nexclude-regex=[\"(\"]\n", "a.toml").unwrap_err();
        assert!(err.to_string().contains("not a valid regex"), "{err}");
        let value: toml::Value = toml::from_str("hash = \"md5\"").unwrap();
        let err = FimConfig::from_section(Some(&value), "allclear.toml").unwrap_err();
        assert!(err.to_string().contains("unknown hash `md5`"), "{err}");
    }

    #[test]
    fn exclusions_match_non_utf8_names() {
        let text = "[fim]\ndefaults = false\nexclude = [\"*.bak\"]\nexclude-regex = ['^/data/(?-u:\\xff)']\n[fim.groups.d]\npaths = [\"/data\"]\n";
        let config = FimConfig::from_toml_str(text, "t").unwrap();
        assert!(config.rule_for(b"/data/\xfe\xfe", FileKind::File).is_some());
        assert!(config.rule_for(b"/data/\xffname", FileKind::File).is_none());
        assert!(
            config
                .rule_for(b"/data/x\xfe.bak", FileKind::File)
                .is_none()
        );
    }

    #[test]
    fn excluded_directory_with_a_rule_inside_is_entered() {
        let text = "[fim]\ndefaults = false\n[fim.groups.web]\npaths = [\"/www\"]\nexclude = [\"cache\"]\n\
                    [fim.groups.keep]\npaths = [\"/www/cache/keep\"]\n";
        let config = FimConfig::from_toml_str(text, "t").unwrap();
        let d = config.decide(b"/www/cache", FileKind::Dir, None);
        assert!(d.descend && d.excluded_dir && d.record.is_none());
        let other = config.decide(b"/www/cache/junk", FileKind::File, Some(b"/www/cache"));
        assert_eq!(other.record, None);
        let kept = config.decide(b"/www/cache/keep", FileKind::Dir, Some(b"/www/cache"));
        assert!(kept.record.is_some());
        let other_dir = config.decide(b"/www/cache/other", FileKind::Dir, Some(b"/www/cache"));
        assert!(!other_dir.descend);
    }
}
