//! Running the rules over one file.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use tree_sitter::{Node, Parser, Tree};

use crate::flow::{Analysis, Flow, Level, Syntax, last_segment, short};
use crate::rules::{Arg, Confidence, Defaults, KeyMatch, Kind, Matcher, Needs, Rule};
use crate::template::{self, TwigKind};
use crate::{Fact, Language, Skip};

/// A file larger than this is not someone's hand-written code (generated, bundled, data).
pub const MAX_FILE_BYTES: usize = 512 * 1024;

/// Parsing one file may take this long; tree-sitter stops past it and the file is reported
/// as skipped. Real files parse in milliseconds.
const PARSE_BUDGET: Duration = Duration::from_secs(2);

/// A match before it becomes a report finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into the engine's rules.
    pub rule: usize,
    pub confidence: Confidence,
    pub line: usize,
    pub column: usize,
    /// The matched expression's code, whitespace collapsed (the fingerprint's key).
    pub code: String,
    /// The request input that reaches it, when traced.
    pub source: Option<String>,
}

pub struct Scanned {
    pub hits: Vec<Hit>,
    pub skipped: Option<Skip>,
    pub facts: Vec<Fact>,
}

pub fn scan(
    rules: &[Rule],
    defaults: &Defaults,
    language: Language,
    path: &str,
    bytes: &[u8],
) -> Scanned {
    let mut scanned = Scanned {
        hits: Vec::new(),
        skipped: None,
        facts: crate::facts(path, bytes),
    };
    if language == Language::Facts {
        return scanned;
    }
    if let Some(skip) = crate::generated(bytes) {
        scanned.skipped = Some(skip);
        return scanned;
    }
    let applicable: Vec<usize> = rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| {
            let language_fits = rule.language == language
                || (rule.language == Language::Ruby && language == Language::Erb);
            language_fits && rule.paths.as_ref().is_none_or(|re| re.is_match(path))
        })
        .map(|(index, _)| index)
        .collect();
    if applicable.is_empty() {
        return scanned;
    }
    let result = match language {
        Language::Ruby => scan_tree(
            rules,
            &applicable,
            defaults,
            Syntax::Ruby,
            path,
            bytes,
            None,
        ),
        Language::Php => scan_tree(rules, &applicable, defaults, Syntax::Php, path, bytes, None),
        Language::Erb => match template::project_erb(bytes) {
            Ok(projection) => scan_tree(
                rules,
                &applicable,
                defaults,
                Syntax::Ruby,
                path,
                &projection.ruby,
                Some(&projection.outputs),
            ),
            Err(err) => Err(Skip::Syntax {
                line: err.line,
                message: err.message,
            }),
        },
        Language::Twig => scan_twig(rules, &applicable, bytes),
        Language::Yaml => Ok(scan_yaml(rules, &applicable, path, bytes)),
        Language::Facts => Ok(Vec::new()),
    };
    match result {
        Ok(hits) => scanned.hits = hits,
        Err(skip) => scanned.skipped = Some(skip),
    }
    scanned
}

fn parse(syntax: Syntax, bytes: &[u8]) -> Result<Tree, Skip> {
    let mut parser = Parser::new();
    let language = match syntax {
        Syntax::Ruby => tree_sitter::Language::new(tree_sitter_ruby::LANGUAGE),
        Syntax::Php => tree_sitter::Language::new(tree_sitter_php::LANGUAGE_PHP),
    };
    parser.set_language(&language).map_err(|err| Skip::Syntax {
        line: 1,
        message: format!("the grammar did not load: {err}"),
    })?;
    let started = Instant::now();
    let mut progress = |_: &tree_sitter::ParseState| {
        if started.elapsed() > PARSE_BUDGET {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let options = tree_sitter::ParseOptions::new().progress_callback(&mut progress);
    let len = bytes.len();
    let tree = parser.parse_with_options(
        &mut |offset, _| {
            if offset < len {
                &bytes[offset..]
            } else {
                &[][..]
            }
        },
        None,
        Some(options),
    );
    let Some(tree) = tree else {
        return Err(Skip::Timeout);
    };
    if tree.root_node().has_error() {
        return Err(Skip::Syntax {
            line: template::first_error_line(tree.root_node()),
            message: "syntax error".to_owned(),
        });
    }
    Ok(tree)
}

/// A rule's sources and sanitisers.
type Lists = (Vec<String>, Vec<String>);

/// Rules that add their own sources or sanitisers get their own flow analysis.
fn lists(rule: &Rule, defaults: &Defaults, syntax: Syntax) -> Lists {
    let base = match syntax {
        Syntax::Ruby => &defaults.ruby,
        Syntax::Php => &defaults.php,
    };
    let mut sources = base.sources.clone();
    sources.extend(rule.sources.iter().cloned());
    let mut sanitizers = base.sanitizers.clone();
    sanitizers.extend(rule.sanitizers.iter().cloned());
    (sources, sanitizers)
}

fn scan_tree(
    rules: &[Rule],
    applicable: &[usize],
    defaults: &Defaults,
    syntax: Syntax,
    path: &str,
    bytes: &[u8],
    erb_outputs: Option<&[(std::ops::Range<usize>, bool)]>,
) -> Result<Vec<Hit>, Skip> {
    let tree = parse(syntax, bytes)?;
    let root = tree.root_node();
    let route_parameters = syntax == Syntax::Php && path.contains("/Controller/");
    let (sources, sanitizers) = match syntax {
        Syntax::Ruby => (&defaults.ruby.sources, &defaults.ruby.sanitizers),
        Syntax::Php => (&defaults.php.sources, &defaults.php.sanitizers),
    };
    let shared = Analysis::new(syntax, root, bytes, sources, sanitizers, route_parameters);
    // Rules that add their own sources or sanitisers get their own analysis.
    let own_lists: Vec<(usize, Lists)> = applicable
        .iter()
        .filter(|&&index| !(rules[index].sources.is_empty() && rules[index].sanitizers.is_empty()))
        .map(|&index| (index, lists(&rules[index], defaults, syntax)))
        .collect();
    let own: Vec<(usize, Analysis<'_, '_>)> = own_lists
        .iter()
        .map(|(index, (sources, sanitizers))| {
            let analysis =
                Analysis::new(syntax, root, bytes, sources, sanitizers, route_parameters);
            (*index, analysis)
        })
        .collect();
    let contexts: Vec<Context<'_, '_, '_>> = applicable
        .iter()
        .map(|&index| Context {
            rule: &rules[index],
            index,
            syntax,
            src: bytes,
            analysis: own
                .iter()
                .find(|(i, _)| *i == index)
                .map_or(&shared, |(_, analysis)| analysis),
        })
        .collect();
    let mut hits = Vec::new();
    if let Some(outputs) = erb_outputs {
        for context in &contexts {
            context.raw_outputs(root, outputs, &mut hits);
        }
    }
    // One walk of the tree for every rule.
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        for context in &contexts {
            context.visit(node, &mut hits);
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    // Two matchers of one rule on the same call (`copy()` and `$fs->copy()`) are one finding.
    hits.sort_by(|a, b| {
        (a.rule, a.line, a.column, &a.code).cmp(&(b.rule, b.line, b.column, &b.code))
    });
    hits.dedup_by(|a, b| {
        a.rule == b.rule && a.line == b.line && a.column == b.column && a.code == b.code
    });
    Ok(hits)
}

struct Context<'r, 't, 'a> {
    rule: &'r Rule,
    index: usize,
    syntax: Syntax,
    src: &'t [u8],
    analysis: &'a Analysis<'t, 'a>,
}

/// A call, whatever the syntax: `User.where(…)`, `db_query(…)`, `$db->query(…)`,
/// `Markup::create(…)`, `new TranslatableMarkup(…)`.
struct Call<'t> {
    name: &'t str,
    receiver: Option<Node<'t>>,
    receiver_text: &'t str,
    positional: Vec<Node<'t>>,
    /// Keyword arguments and hash pairs: key (without `:`) and value.
    pairs: Vec<(&'t str, Node<'t>)>,
}

impl<'t> Context<'_, 't, '_> {
    fn text(&self, node: Node<'t>) -> &'t str {
        node.utf8_text(self.src).unwrap_or_default()
    }

    /// ERB `<%== … %>` tags, for the raw-output matchers.
    fn raw_outputs(
        &self,
        root: Node<'t>,
        outputs: &[(std::ops::Range<usize>, bool)],
        hits: &mut Vec<Hit>,
    ) {
        for matcher in &self.rule.matchers {
            if !matches!(matcher.kind, Kind::RawOutput) {
                continue;
            }
            for (range, raw) in outputs {
                if !raw {
                    continue;
                }
                if let Some(node) = expression_at(root, range.clone(), self.src) {
                    self.report_flow(matcher, node, node, hits);
                }
            }
        }
    }

    fn visit(&self, node: Node<'t>, hits: &mut Vec<Hit>) {
        let kind = node.kind();
        for matcher in &self.rule.matchers {
            match (&matcher.kind, self.syntax, kind) {
                (Kind::Call { .. }, Syntax::Ruby, "call")
                | (
                    Kind::Call { .. },
                    Syntax::Php,
                    "function_call_expression"
                    | "member_call_expression"
                    | "nullsafe_member_call_expression"
                    | "scoped_call_expression"
                    | "object_creation_expression",
                ) => self.call(matcher, node, hits),
                (Kind::Subshell, Syntax::Ruby, "subshell")
                | (Kind::RegexLiteral, Syntax::Ruby, "regex") => {
                    self.report_flow(matcher, node, node, hits);
                }
                (Kind::Key(key), Syntax::Ruby, "pair")
                | (
                    Kind::Key(key),
                    Syntax::Php,
                    "array_element_initializer" | "assignment_expression",
                ) => {
                    self.key(matcher, key, node, hits);
                }
                (Kind::Assign(name), Syntax::Ruby, "assignment") => {
                    self.assign(matcher, name, node, hits);
                }
                (Kind::MissingCall { call, inherits }, Syntax::Ruby, "class") => {
                    self.missing_call(call, inherits, node, hits);
                }
                _ => {}
            }
        }
    }

    fn call_name(&self, node: Node<'t>) -> Option<&'t str> {
        let name = match (self.syntax, node.kind()) {
            (Syntax::Ruby, _) => node.child_by_field_name("method")?,
            (Syntax::Php, "function_call_expression") => {
                return Some(last_segment(
                    self.text(node.child_by_field_name("function")?),
                ));
            }
            (Syntax::Php, "object_creation_expression") => {
                let mut cursor = node.walk();
                let class = node
                    .named_children(&mut cursor)
                    .find(|c| matches!(c.kind(), "name" | "qualified_name"))?;
                return Some(last_segment(self.text(class)));
            }
            (Syntax::Php, _) => node.child_by_field_name("name")?,
        };
        Some(self.text(name))
    }

    fn call_of(&self, node: Node<'t>) -> Option<Call<'t>> {
        let mut call = Call {
            name: "",
            receiver: None,
            receiver_text: "",
            positional: Vec::new(),
            pairs: Vec::new(),
        };
        let arguments;
        match self.syntax {
            Syntax::Ruby => {
                call.name = self.text(node.child_by_field_name("method")?);
                call.receiver = node.child_by_field_name("receiver");
                call.receiver_text = call
                    .receiver
                    .map(|r| self.text(r).trim_start_matches("::"))
                    .unwrap_or_default();
                arguments = node.child_by_field_name("arguments");
            }
            Syntax::Php => {
                match node.kind() {
                    "function_call_expression" => {
                        call.name = last_segment(self.text(node.child_by_field_name("function")?));
                    }
                    "object_creation_expression" => {
                        let class = {
                            let mut cursor = node.walk();
                            node.named_children(&mut cursor)
                                .find(|c| matches!(c.kind(), "name" | "qualified_name"))
                        }?;
                        call.name = last_segment(self.text(class));
                        call.receiver_text = "new";
                    }
                    "scoped_call_expression" => {
                        call.name = self.text(node.child_by_field_name("name")?);
                        call.receiver_text =
                            last_segment(self.text(node.child_by_field_name("scope")?));
                    }
                    _ => {
                        call.name = self.text(node.child_by_field_name("name")?);
                        call.receiver = node.child_by_field_name("object");
                        call.receiver_text =
                            call.receiver.map(|r| self.text(r)).unwrap_or_default();
                    }
                }
                arguments = node.child_by_field_name("arguments").or_else(|| {
                    let mut cursor = node.walk();
                    node.named_children(&mut cursor)
                        .find(|c| c.kind() == "arguments")
                });
            }
        }
        if let Some(arguments) = arguments {
            let mut cursor = arguments.walk();
            for arg in arguments.named_children(&mut cursor) {
                match (self.syntax, arg.kind()) {
                    (Syntax::Ruby, "pair") => {
                        if let (Some(key), Some(value)) = (
                            arg.child_by_field_name("key"),
                            arg.child_by_field_name("value"),
                        ) {
                            call.pairs.push((key_name(self.text(key)), value));
                        }
                    }
                    (Syntax::Ruby, "hash") => {
                        call.positional.push(arg);
                        let mut inner = arg.walk();
                        for pair in arg.named_children(&mut inner) {
                            if let (Some(key), Some(value)) = (
                                pair.child_by_field_name("key"),
                                pair.child_by_field_name("value"),
                            ) {
                                call.pairs.push((key_name(self.text(key)), value));
                            }
                        }
                    }
                    (Syntax::Ruby, "block_argument") => {}
                    (Syntax::Php, "argument") => {
                        let value =
                            arg.named_child((arg.named_child_count() as u32).saturating_sub(1));
                        match (arg.child_by_field_name("name"), value) {
                            (Some(name), Some(value)) if name != value => {
                                call.pairs.push((self.text(name), value));
                            }
                            (_, Some(value)) => call.positional.push(value),
                            _ => {}
                        }
                    }
                    (Syntax::Php, _) => {}
                    (Syntax::Ruby, _) => call.positional.push(arg),
                }
            }
        }
        Some(call)
    }

    fn call(&self, matcher: &Matcher, node: Node<'t>, hits: &mut Vec<Hit>) {
        let Kind::Call {
            names,
            receivers,
            arg,
        } = &matcher.kind
        else {
            return;
        };
        // The name alone rules out almost every call; the arguments are only read for those
        // it does not.
        if !self
            .call_name(node)
            .is_some_and(|name| names.iter().any(|n| n == name))
        {
            return;
        }
        let Some(call) = self.call_of(node) else {
            return;
        };
        if let Some(receivers) = receivers
            && !receivers.iter().any(|r| r == call.receiver_text)
        {
            return;
        }
        let code = self.text(node);
        if matcher.when.as_ref().is_some_and(|re| !re.is_match(code))
            || matcher.unless.as_ref().is_some_and(|re| re.is_match(code))
        {
            return;
        }
        let explicit_arg = arg.is_some();
        let first = Arg::Indices(vec![0]);
        let selected: Vec<Node<'t>> = match arg.as_ref().unwrap_or(&first) {
            Arg::Indices(indices) => indices
                .iter()
                .filter_map(|&i| call.positional.get(i).copied())
                .collect(),
            Arg::Any => call
                .positional
                .iter()
                .copied()
                .chain(call.pairs.iter().map(|(_, v)| *v))
                .collect(),
            Arg::Receiver => call.receiver.into_iter().collect(),
            Arg::Key(key) => call
                .pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| *v)
                .collect(),
            Arg::HashValues => call.pairs.iter().map(|(_, v)| *v).collect(),
        };
        if matcher.needs == Needs::None {
            if explicit_arg && selected.is_empty() {
                return;
            }
            let chosen = selected
                .iter()
                .copied()
                .filter(|n| {
                    matcher
                        .value
                        .as_ref()
                        .is_none_or(|re| re.is_match(self.text(*n)))
                })
                .max_by_key(|n| self.analysis.flow(*n).level);
            // `permit(:email, role_ids: [])`: with `arg: any`, a hash argument's keys count.
            let key_fits = matches!(arg, Some(Arg::Any))
                && matcher
                    .value
                    .as_ref()
                    .is_some_and(|re| call.pairs.iter().any(|(key, _)| re.is_match(key)));
            if matcher.value.is_some() && chosen.is_none() && !key_fits {
                return;
            }
            let flow = chosen.map(|n| self.analysis.flow(n));
            self.push(node, self.pattern_confidence(flow.as_ref()), flow, hits);
            return;
        }
        let best = selected
            .iter()
            .copied()
            .filter(|n| {
                matcher
                    .value
                    .as_ref()
                    .is_none_or(|re| re.is_match(self.text(*n)))
            })
            .map(|n| (self.analysis.flow(n), n))
            .max_by_key(|(flow, _)| flow.level);
        if let Some((flow, value)) = best
            && let Some(confidence) = self.flow_confidence(matcher.needs, &flow, value)
        {
            self.push(node, confidence, Some(flow), hits);
        }
    }

    fn pattern_confidence(&self, flow: Option<&Flow>) -> Confidence {
        match flow.map(|f| f.level) {
            Some(Level::Direct) => Confidence::High,
            Some(Level::Variable) => self.rule.confidence.max(Confidence::Medium),
            _ => self.rule.confidence,
        }
    }

    fn flow_confidence(&self, needs: Needs, flow: &Flow, value: Node<'t>) -> Option<Confidence> {
        match (flow.level, needs) {
            (Level::Direct, _) => Some(Confidence::High),
            (Level::Variable, _) => Some(Confidence::Medium),
            // Rails controllers hand `params` to model class methods; Drupal's functions
            // mostly get their arguments from other code (measured on Drupal core: PHP
            // parameters at medium were nearly all noise).
            (Level::Parameter, Needs::Dynamic) if self.syntax == Syntax::Ruby => {
                Some(Confidence::Medium)
            }
            (Level::Parameter, Needs::Dynamic) if !self.analysis.is_literal(value) => {
                Some(Confidence::Weak)
            }
            (Level::Dynamic, Needs::Dynamic) if !self.analysis.is_literal(value) => {
                Some(Confidence::Weak)
            }
            (_, Needs::None) => Some(self.rule.confidence),
            _ => None,
        }
    }

    /// A sink that is itself the dangerous expression (backticks, a regex literal, raw ERB
    /// output): its own flow decides.
    fn report_flow(&self, matcher: &Matcher, sink: Node<'t>, at: Node<'t>, hits: &mut Vec<Hit>) {
        let flow = self.analysis.flow(sink);
        if matches!(matcher.kind, Kind::RegexLiteral | Kind::Subshell) && flow.level == Level::Clean
        {
            return;
        }
        if let Some(confidence) = self.flow_confidence(matcher.needs, &flow, sink) {
            self.push(at, confidence, Some(flow), hits);
        }
    }

    fn key(&self, matcher: &Matcher, key: &KeyMatch, node: Node<'t>, hits: &mut Vec<Hit>) {
        let (key_node, value) = match self.syntax {
            Syntax::Ruby => (
                node.child_by_field_name("key"),
                node.child_by_field_name("value"),
            ),
            // `$form['#token'] = FALSE;` sets the same key as `['#token' => FALSE]`.
            Syntax::Php if node.kind() == "assignment_expression" => {
                let Some(left) = node
                    .child_by_field_name("left")
                    .filter(|l| l.kind() == "subscript_expression")
                else {
                    return;
                };
                (
                    left.named_child((left.named_child_count() as u32).saturating_sub(1)),
                    node.child_by_field_name("right"),
                )
            }
            Syntax::Php => {
                if node.named_child_count() != 2 {
                    return;
                }
                (node.named_child(0), node.named_child(1))
            }
        };
        let (Some(key_node), Some(value)) = (key_node, value) else {
            return;
        };
        let name = key_name(self.text(key_node));
        let fits = match key {
            KeyMatch::Exact(k) => k == name,
            KeyMatch::Pattern(re) => re.is_match(name),
        };
        if !fits
            || matcher
                .value
                .as_ref()
                .is_some_and(|re| !re.is_match(self.text(value)))
        {
            return;
        }
        if matcher.when.as_ref().is_some_and(|re| {
            let context = node.parent().and_then(|p| p.parent()).unwrap_or(node);
            !re.is_match(self.text(context))
        }) {
            return;
        }
        let flow = self.analysis.flow(value);
        if matcher.needs == Needs::None {
            self.push(node, self.pattern_confidence(Some(&flow)), Some(flow), hits);
        } else if let Some(confidence) = self.flow_confidence(matcher.needs, &flow, value) {
            self.push(node, confidence, Some(flow), hits);
        }
    }

    fn assign(&self, matcher: &Matcher, name: &str, node: Node<'t>, hits: &mut Vec<Hit>) {
        let (Some(left), Some(value)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        let target = match left.kind() {
            "call" => left.child_by_field_name("method").map(|m| self.text(m)),
            "identifier" => Some(self.text(left)),
            _ => None,
        };
        if target != Some(name)
            || matcher
                .value
                .as_ref()
                .is_some_and(|re| !re.is_match(self.text(value)))
        {
            return;
        }
        self.push(node, self.rule.confidence, None, hits);
    }

    fn missing_call(&self, call: &str, inherits: &str, node: Node<'t>, hits: &mut Vec<Hit>) {
        let Some(superclass) = node.child_by_field_name("superclass") else {
            return;
        };
        let parent = self
            .text(superclass)
            .trim_start_matches('<')
            .trim()
            .trim_start_matches("::");
        if parent != inherits {
            return;
        }
        let mut cursor = node.walk();
        'walk: loop {
            let current = cursor.node();
            if current.kind() == "call" || current.kind() == "identifier" {
                let name = match current.kind() {
                    "call" => current.child_by_field_name("method").map(|m| self.text(m)),
                    _ => Some(self.text(current)),
                };
                if name == Some(call) {
                    return;
                }
            }
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() || cursor.node() == node {
                    break 'walk;
                }
            }
        }
        // Reported at the class line; the key is the class header, not its body.
        let header = node
            .child_by_field_name("name")
            .map(|n| self.text(n))
            .unwrap_or_default();
        let position = node.start_position();
        hits.push(Hit {
            rule: self.index,
            confidence: self.rule.confidence,
            line: position.row + 1,
            column: position.column + 1,
            code: format!("class {header} < {parent}"),
            source: None,
        });
    }

    fn push(&self, at: Node<'t>, confidence: Confidence, flow: Option<Flow>, hits: &mut Vec<Hit>) {
        let position = at.start_position();
        hits.push(Hit {
            rule: self.index,
            confidence,
            line: position.row + 1,
            column: position.column + 1,
            code: short(self.text(at), 200),
            source: flow.and_then(|f| f.source),
        });
    }
}

/// `:inline`, `inline:`, `"inline"`, `'#markup'` → `inline`, `#markup`.
fn key_name(text: &str) -> &str {
    text.trim()
        .trim_start_matches(':')
        .trim_end_matches(':')
        .trim_matches(|c| c == '"' || c == '\'')
}

/// The outermost expression spanning exactly the (trimmed) code of an ERB output tag.
fn expression_at<'t>(
    root: Node<'t>,
    range: std::ops::Range<usize>,
    src: &[u8],
) -> Option<Node<'t>> {
    let code = src.get(range.clone())?;
    let start = range.start + code.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let end = range.end
        - code
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    if start >= end {
        return None;
    }
    let mut node = root.descendant_for_byte_range(start, end)?;
    while let Some(parent) = node.parent() {
        if parent.start_byte() >= start && parent.end_byte() <= end {
            node = parent;
        } else {
            break;
        }
    }
    Some(node)
}

fn scan_twig(rules: &[Rule], applicable: &[usize], bytes: &[u8]) -> Result<Vec<Hit>, Skip> {
    let tags = template::split_twig(bytes).map_err(|err| Skip::Syntax {
        line: err.line,
        message: err.message,
    })?;
    let mut hits = Vec::new();
    for &index in applicable {
        let rule = &rules[index];
        for matcher in &rule.matchers {
            if !matches!(matcher.kind, Kind::TwigRaw) {
                continue;
            }
            for tag in tags.iter().filter(|t| t.kind == TwigKind::Output) {
                let inner = &bytes[tag.inner.clone()];
                if template::twig_has_raw(inner) {
                    hits.push(Hit {
                        rule: index,
                        confidence: rule.confidence,
                        line: tag.line,
                        column: 1,
                        code: short(&format!("{{{{{}}}}}", String::from_utf8_lossy(inner)), 200),
                        source: None,
                    });
                }
            }
        }
    }
    Ok(hits)
}

fn scan_yaml(rules: &[Rule], applicable: &[usize], path: &str, bytes: &[u8]) -> Vec<Hit> {
    let text = String::from_utf8_lossy(bytes);
    let mut hits = Vec::new();
    for &index in applicable {
        let rule = &rules[index];
        for matcher in &rule.matchers {
            match &matcher.kind {
                Kind::Text(re) => {
                    for (number, line) in text.lines().enumerate() {
                        if re.is_match(line)
                            && !matcher.unless.as_ref().is_some_and(|u| u.is_match(line))
                        {
                            hits.push(Hit {
                                rule: index,
                                confidence: rule.confidence,
                                line: number + 1,
                                column: 1,
                                code: short(line, 200),
                                source: None,
                            });
                        }
                    }
                }
                Kind::RouteOpenAccess if path.ends_with(".routing.yml") => {
                    for (name, line, route_path) in crate::routes::open_state_changing(&text) {
                        hits.push(Hit {
                            rule: index,
                            confidence: rule.confidence,
                            line,
                            column: 1,
                            code: format!("{name}: {route_path}"),
                            source: None,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    hits
}
