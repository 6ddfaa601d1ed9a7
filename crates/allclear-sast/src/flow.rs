//! Intra-procedural data flow: whether request input reaches an expression, directly or
//! through local variables assigned earlier in the same method, and not through a sanitiser.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use tree_sitter::Node;

/// How an expression relates to request input. Ordered from harmless to dangerous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// A literal, a constant or a sanitised value.
    Clean,
    /// Computed from something not traced to request input.
    Dynamic,
    /// A parameter of the method: whatever its callers pass (medium for sinks that are
    /// dangerous with any computed value, nothing for those that need request input).
    Parameter,
    /// Request input through a local variable.
    Variable,
    /// Request input in the expression itself.
    Direct,
}

/// The taint of an expression and, when input reaches it, the input's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub level: Level,
    pub source: Option<String>,
}

impl Flow {
    fn clean() -> Flow {
        Flow {
            level: Level::Clean,
            source: None,
        }
    }
    fn dynamic() -> Flow {
        Flow {
            level: Level::Dynamic,
            source: None,
        }
    }
    fn max(self, other: Flow) -> Flow {
        if other.level > self.level {
            other
        } else {
            self
        }
    }
    fn at_least_dynamic(self) -> Flow {
        self.max(Flow::dynamic())
    }
    /// Read back through a variable: direct input becomes input via a variable.
    fn through_variable(mut self) -> Flow {
        if self.level == Level::Direct {
            self.level = Level::Variable;
        }
        self
    }
}

/// The two syntaxes the flow analysis knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Ruby,
    Php,
}

/// Deeper expressions than this are treated as unknown (dynamic) rather than followed: a
/// file an attacker wrote must not overflow the stack.
const MAX_DEPTH: u32 = 128;

struct Assignment<'t> {
    /// Where the assignment ends: a use after this byte sees the assigned value.
    end: usize,
    value: Node<'t>,
    /// `x += y`, `$x .= $y`: the old value stays part of the new one.
    accumulates: bool,
}

/// The flow facts of one parsed file, for one set of sources and sanitisers.
pub struct Analysis<'t, 's> {
    syntax: Syntax,
    src: &'t [u8],
    sources: &'s [String],
    sanitizers: &'s [String],
    /// Assignments by scope (node id) and variable name, in source order.
    assignments: HashMap<(usize, &'t str), Vec<Assignment<'t>>>,
    /// Parameters that carry request input (Drupal controller route parameters), by scope.
    input_parameters: HashMap<(usize, &'t str), ()>,
    /// Method, function and block parameters, by scope (`true` for a method's or function's,
    /// `false` for a block's): a parameter named `params` is not the request's.
    parameters: HashMap<(usize, &'t str), bool>,
    cache: RefCell<HashMap<usize, Option<Flow>>>,
    depth: Cell<u32>,
}

impl<'t, 's> Analysis<'t, 's> {
    pub fn new(
        syntax: Syntax,
        root: Node<'t>,
        src: &'t [u8],
        sources: &'s [String],
        sanitizers: &'s [String],
        route_parameters: bool,
    ) -> Analysis<'t, 's> {
        let mut analysis = Analysis {
            syntax,
            src,
            sources,
            sanitizers,
            assignments: HashMap::new(),
            input_parameters: HashMap::new(),
            parameters: HashMap::new(),
            cache: RefCell::new(HashMap::new()),
            depth: Cell::new(0),
        };
        let mut cursor = root.walk();
        'walk: loop {
            let node = cursor.node();
            analysis.record(node, route_parameters);
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        analysis
    }

    fn record(&mut self, node: Node<'t>, route_parameters: bool) {
        let kind = node.kind();
        if self.syntax == Syntax::Ruby {
            let name = match kind {
                "optional_parameter"
                | "keyword_parameter"
                | "splat_parameter"
                | "hash_splat_parameter"
                | "block_parameter" => node.child_by_field_name("name"),
                "identifier"
                    if node.parent().is_some_and(|p| {
                        matches!(
                            p.kind(),
                            "method_parameters" | "block_parameters" | "lambda_parameters"
                        )
                    }) =>
                {
                    Some(node)
                }
                _ => None,
            };
            if let Some(name) = name.and_then(|n| self.text(n)) {
                // A lambda's parameters are its callers' values, as a method's are (`scope
                // :by_ip, ->(ip) { where("ip = '#{ip}'") }`); a block's come from what it
                // iterates.
                let of_method = node.parent().is_some_and(|list| {
                    matches!(list.kind(), "method_parameters" | "lambda_parameters")
                });
                self.parameters
                    .insert((scope_of(self.syntax, node), name), of_method);
                return;
            }
        }
        let (assign, accumulates) = match (self.syntax, kind) {
            (Syntax::Ruby, "assignment") => (true, false),
            (Syntax::Ruby, "operator_assignment") => (true, true),
            (Syntax::Php, "assignment_expression") => (true, false),
            (Syntax::Php, "augmented_assignment_expression") => (true, true),
            (Syntax::Php, "simple_parameter") => {
                if let Some(name) = node.child_by_field_name("name").and_then(|n| self.text(n)) {
                    self.parameters
                        .insert((scope_of(self.syntax, node), name), true);
                }
                if route_parameters {
                    self.record_route_parameter(node);
                }
                return;
            }
            _ => return,
        };
        if !assign {
            return;
        }
        let (Some(left), Some(value)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        if !matches!(
            left.kind(),
            "identifier" | "instance_variable" | "variable_name"
        ) {
            return;
        }
        let Some(name) = self.text(left) else { return };
        let scope = scope_of(self.syntax, node);
        self.assignments
            .entry((scope, name))
            .or_default()
            .push(Assignment {
                end: node.end_byte(),
                value,
                accumulates,
            });
    }

    /// A controller method's parameter without a class type is a route parameter (a string
    /// from the URL); typed ones are upcast entities or services.
    fn record_route_parameter(&mut self, node: Node<'t>) {
        let typed = node
            .child_by_field_name("type")
            .and_then(|t| self.text(t))
            .is_some_and(|t| !matches!(t, "string" | "?string"));
        if typed {
            return;
        }
        let in_method = node
            .parent()
            .and_then(|p| p.parent())
            .is_some_and(|m| m.kind() == "method_declaration");
        if let (false, true, Some(name)) = (
            typed,
            in_method,
            node.child_by_field_name("name").and_then(|n| self.text(n)),
        ) {
            let scope = scope_of(self.syntax, node);
            self.input_parameters.insert((scope, name), ());
        }
    }

    fn text(&self, node: Node<'t>) -> Option<&'t str> {
        node.utf8_text(self.src).ok()
    }

    /// The taint of an expression.
    pub fn flow(&self, node: Node<'t>) -> Flow {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Flow::dynamic();
        }
        self.depth.set(depth + 1);
        let flow = match self.syntax {
            Syntax::Ruby => self.ruby(node),
            Syntax::Php => self.php(node),
        };
        self.depth.set(depth);
        flow
    }

    /// Whether the expression is a literal (no part of it computed).
    pub fn is_literal(&self, node: Node<'t>) -> bool {
        match self.syntax {
            Syntax::Ruby => {
                matches!(
                    node.kind(),
                    "string" | "simple_symbol" | "integer" | "float" | "true" | "false" | "nil"
                ) && !has_child_kind(node, "interpolation")
            }
            Syntax::Php => {
                matches!(
                    node.kind(),
                    "string" | "integer" | "float" | "boolean" | "null" | "nowdoc"
                ) || (matches!(node.kind(), "encapsed_string" | "heredoc")
                    && node.named_children(&mut node.walk()).all(|c| {
                        matches!(
                            c.kind(),
                            "string_content" | "string_value" | "escape_sequence" | "heredoc_body"
                        ) && c.named_child_count() == 0
                    }))
            }
        }
    }

    fn max_children(&self, node: Node<'t>, kinds: &[&str]) -> Flow {
        let mut flow = Flow::clean();
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if kinds.is_empty() || kinds.contains(&child.kind()) {
                flow = flow.max(self.flow(child));
            }
        }
        flow
    }

    fn ruby(&self, node: Node<'t>) -> Flow {
        match node.kind() {
            "string" | "subshell" | "regex" | "heredoc_body" | "delimited_symbol" => {
                let mut flow = Flow::clean();
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    match child.kind() {
                        "interpolation" => flow = flow.max(self.max_children(child, &[])),
                        "heredoc_body" => flow = flow.max(self.flow(child)),
                        _ => {}
                    }
                }
                flow
            }
            "heredoc_beginning" => self.heredoc_body_after(node),
            "simple_symbol" | "hash_key_symbol" | "integer" | "float" | "true" | "false"
            | "nil" | "constant" | "scope_resolution" | "string_content" | "hash" | "self" => {
                Flow::clean()
            }
            "array" => node
                .named_child(0)
                .map_or(Flow::clean(), |first| self.flow(first)),
            "splat_argument" | "hash_splat_argument" => node
                .named_child(0)
                .map_or(Flow::dynamic(), |inner| self.flow(inner)),
            "parenthesized_statements" | "begin" | "statements" | "interpolation" => node
                .named_child((node.named_child_count() as u32).saturating_sub(1))
                .map_or(Flow::clean(), |last| self.flow(last)),
            "conditional" => {
                let then = node.child_by_field_name("consequence");
                let otherwise = node.child_by_field_name("alternative");
                [then, otherwise]
                    .into_iter()
                    .flatten()
                    .fold(Flow::clean(), |flow, n| flow.max(self.flow(n)))
            }
            "binary" => {
                let op = node
                    .child_by_field_name("operator")
                    .and_then(|o| self.text(o))
                    .unwrap_or_default();
                let sides = || {
                    let left = node.child_by_field_name("left").map(|n| self.flow(n));
                    let right = node.child_by_field_name("right").map(|n| self.flow(n));
                    [left, right]
                        .into_iter()
                        .flatten()
                        .fold(Flow::clean(), Flow::max)
                };
                match op {
                    "+" | "<<" | "%" | "*" | "||" | "&&" | "or" | "and" => sides(),
                    _ => Flow::clean(), // comparisons and arithmetic give booleans and numbers
                }
            }
            "identifier" => {
                if let Some(flow) = self.source(node) {
                    return flow;
                }
                self.variable(node)
                    .or_else(|| self.parameter(node))
                    .unwrap_or_else(Flow::dynamic)
            }
            "instance_variable" => self
                .variable(node)
                .or_else(|| self.source(node))
                .unwrap_or_else(Flow::dynamic),
            "element_reference" => {
                if let Some(flow) = self.source(node) {
                    return flow;
                }
                node.child_by_field_name("object")
                    .map_or(Flow::dynamic(), |o| self.flow(o).at_least_dynamic())
            }
            "call" => self.ruby_call(node),
            _ => Flow::dynamic(),
        }
    }

    /// A heredoc's body follows its `<<~SQL` marker on later lines; find it among the next
    /// siblings of the enclosing statement.
    fn heredoc_body_after(&self, node: Node<'t>) -> Flow {
        let mut ancestor = node;
        while let Some(parent) = ancestor.parent() {
            let mut sibling = ancestor.next_sibling();
            while let Some(candidate) = sibling {
                if candidate.kind() == "heredoc_body" {
                    return self.flow(candidate);
                }
                sibling = candidate.next_sibling();
            }
            if matches!(parent.kind(), "method" | "program" | "body_statement") {
                break;
            }
            ancestor = parent;
        }
        Flow::dynamic()
    }

    fn ruby_call(&self, node: Node<'t>) -> Flow {
        let name = node
            .child_by_field_name("method")
            .and_then(|m| self.text(m))
            .unwrap_or_default();
        let receiver = node.child_by_field_name("receiver");
        let receiver_text = receiver
            .and_then(|r| self.text(r))
            .map(|t| t.trim_start_matches("::"));
        if self.is_sanitizer(receiver_text, name) || name.ends_with('?') {
            return Flow::clean();
        }
        if let Some(flow) = self.source(node) {
            return flow;
        }
        let mut flow = match receiver {
            Some(receiver) => self.flow(receiver).at_least_dynamic(),
            None => Flow::dynamic(),
        };
        // Calls that hand back (a transformation of) their arguments: building strings,
        // decoding.
        if matches!(
            name,
            "format"
                | "sprintf"
                | "join"
                | "concat"
                | "gsub"
                | "sub"
                | "+"
                | "squish"
                | "strip"
                | "String"
                | "decode64"
                | "strict_decode64"
                | "urlsafe_decode64"
                | "unescape"
                | "unescape_uri"
                | "decode_www_form_component"
                | "inflate"
                | "decompress"
                | "unpack1"
        ) && let Some(args) = node.child_by_field_name("arguments")
        {
            flow = flow.max(self.max_children(args, &[]));
        }
        flow
    }

    fn php(&self, node: Node<'t>) -> Flow {
        match node.kind() {
            "string"
            | "integer"
            | "float"
            | "boolean"
            | "null"
            | "nowdoc"
            | "name"
            | "qualified_name"
            | "class_constant_access_expression"
            | "array_creation_expression"
            | "string_content"
            | "string_value"
            | "escape_sequence" => Flow::clean(),
            "encapsed_string" | "heredoc" | "heredoc_body" => self.max_children(node, &[]),
            "parenthesized_expression" => node
                .named_child(0)
                .map_or(Flow::clean(), |inner| self.flow(inner)),
            "conditional_expression" => {
                let body = node.child_by_field_name("body");
                let alternative = node.child_by_field_name("alternative");
                [body, alternative]
                    .into_iter()
                    .flatten()
                    .fold(Flow::clean(), |flow, n| flow.max(self.flow(n)))
            }
            "binary_expression" => {
                let op = node
                    .child_by_field_name("operator")
                    .and_then(|o| self.text(o))
                    .unwrap_or_default();
                match op {
                    "." | "??" | "?:" => {
                        let left = node.child_by_field_name("left").map(|n| self.flow(n));
                        let right = node.child_by_field_name("right").map(|n| self.flow(n));
                        [left, right]
                            .into_iter()
                            .flatten()
                            .fold(Flow::clean(), Flow::max)
                    }
                    _ => Flow::clean(),
                }
            }
            "cast_expression" => {
                let to = node
                    .child_by_field_name("type")
                    .and_then(|t| self.text(t))
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if to == "string" {
                    node.child_by_field_name("value")
                        .map_or(Flow::dynamic(), |v| self.flow(v))
                } else {
                    Flow::clean()
                }
            }
            "variable_name" => {
                if let Some(flow) = self.source(node) {
                    return flow;
                }
                if let Some(flow) = self.variable(node) {
                    return flow;
                }
                let scope = scope_of(self.syntax, node);
                match self
                    .text(node)
                    .and_then(|n| self.input_parameters.get(&(scope, n)))
                {
                    Some(()) => Flow {
                        level: Level::Variable,
                        source: self.text(node).map(|t| format!("route parameter {t}")),
                    },
                    None => self.parameter(node).unwrap_or_else(Flow::dynamic),
                }
            }
            "subscript_expression"
            | "member_access_expression"
            | "nullsafe_member_access_expression" => {
                if let Some(flow) = self.source(node) {
                    return flow;
                }
                let object = node
                    .child_by_field_name("object")
                    .or_else(|| node.named_child(0));
                object.map_or(Flow::dynamic(), |o| self.flow(o).at_least_dynamic())
            }
            "function_call_expression" => {
                let name = node
                    .child_by_field_name("function")
                    .and_then(|f| self.text(f))
                    .map(last_segment)
                    .unwrap_or_default();
                if self.is_sanitizer(None, name) {
                    return Flow::clean();
                }
                if let Some(flow) = self.source(node) {
                    return flow;
                }
                if matches!(
                    name,
                    "sprintf"
                        | "implode"
                        | "str_replace"
                        | "strtolower"
                        | "strtoupper"
                        | "trim"
                        | "substr"
                        | "urldecode"
                        | "rawurldecode"
                        | "base64_decode"
                ) && let Some(args) = node.child_by_field_name("arguments")
                {
                    return self.max_children(args, &[]).at_least_dynamic();
                }
                Flow::dynamic()
            }
            "argument" => node
                .named_child((node.named_child_count() as u32).saturating_sub(1))
                .map_or(Flow::dynamic(), |v| self.flow(v)),
            "member_call_expression"
            | "nullsafe_member_call_expression"
            | "scoped_call_expression" => {
                let name = node
                    .child_by_field_name("name")
                    .and_then(|n| self.text(n))
                    .unwrap_or_default();
                let receiver = node
                    .child_by_field_name("scope")
                    .and_then(|s| self.text(s))
                    .map(last_segment);
                if self.is_sanitizer(receiver, name) {
                    return Flow::clean();
                }
                if let Some(flow) = self.source(node) {
                    return flow;
                }
                match node.child_by_field_name("object") {
                    Some(object) if !is_this(object, self.src) => {
                        self.flow(object).at_least_dynamic()
                    }
                    _ => Flow::dynamic(),
                }
            }
            _ => Flow::dynamic(),
        }
    }

    /// A method's or function's own parameter (block parameters are the block's caller's
    /// business: they stay unknown).
    fn parameter(&self, node: Node<'t>) -> Option<Flow> {
        let name = self.text(node)?;
        let scope = scope_of(self.syntax, node);
        match self.parameters.get(&(scope, name)) {
            Some(true) => Some(Flow {
                level: Level::Parameter,
                source: Some(format!("parameter {name}")),
            }),
            _ => None,
        }
    }

    /// The value a variable holds at this use, if the method assigns it before.
    fn variable(&self, node: Node<'t>) -> Option<Flow> {
        let name = self.text(node)?;
        let scope = scope_of(self.syntax, node);
        let list = self.assignments.get(&(scope, name))?;
        let at = node.start_byte();
        let index = list.iter().rposition(|a| a.end <= at)?;
        Some(self.assigned(list, index).through_variable())
    }

    fn assigned(&self, list: &[Assignment<'t>], index: usize) -> Flow {
        let assignment = &list[index];
        let key = assignment.value.id();
        if let Some(cached) = self.cache.borrow().get(&key) {
            // `None`: being computed higher up the stack (a cycle): unknown.
            return cached.clone().unwrap_or_else(Flow::dynamic);
        }
        self.cache.borrow_mut().insert(key, None);
        let mut flow = self.flow(assignment.value);
        if assignment.accumulates && index > 0 {
            flow = flow.max(self.assigned(list, index - 1));
        }
        self.cache.borrow_mut().insert(key, Some(flow.clone()));
        flow
    }

    fn is_sanitizer(&self, receiver: Option<&str>, name: &str) -> bool {
        self.sanitizers.iter().any(|s| {
            s == name
                || receiver.is_some_and(|r| {
                    s.len() == r.len() + 1 + name.len()
                        && s.starts_with(r)
                        && s.ends_with(name)
                        && matches!(s.as_bytes().get(r.len()), Some(b'.') | Some(b':'))
                })
                || receiver.is_some_and(|r| {
                    s.strip_prefix(r)
                        .and_then(|rest| rest.strip_prefix("::"))
                        .is_some_and(|rest| rest == name)
                })
        })
    }

    /// Whether the expression is a request-input source (`params[:q]`, `$_GET['x']`,
    /// `$request->query->get('x')`).
    fn source(&self, node: Node<'t>) -> Option<Flow> {
        let (root, member) = self.chain(node)?;
        let scope = scope_of(self.syntax, node);
        if self.syntax == Syntax::Ruby
            && (self.parameters.contains_key(&(scope, root))
                || self.assignments.contains_key(&(scope, root)))
        {
            return None; // a local variable or parameter of that name hides the source
        }
        let hit = self.sources.iter().find(|pattern| {
            let (p_root, p_member) = match pattern.split_once('.') {
                Some((r, m)) => (r, Some(m)),
                None => (pattern.as_str(), None),
            };
            let root_fits = match p_root.strip_suffix('*') {
                Some(prefix) => root.starts_with(prefix),
                None => p_root == root,
            };
            root_fits
                && match p_member {
                    None => true,
                    Some(m) => member == Some(m),
                }
        })?;
        // `@*`: instance variables, in a view the controller's models: stored data that a
        // user may have written, not this request's input.
        let level = match hit.starts_with('@') {
            true => Level::Variable,
            false => Level::Direct,
        };
        Some(Flow {
            level,
            source: self.text(node).map(|t| short(t, 80)),
        })
    }

    /// The root of a chain of calls, member accesses and subscripts, and the first member
    /// applied to it: `params[:a].strip` is (`params`, None); `$request->query->get()` is
    /// (`$request`, `query`); `\Drupal::request()` is (`Drupal::request`, None).
    fn chain(&self, node: Node<'t>) -> Option<(&'t str, Option<&'t str>)> {
        let mut current = node;
        let mut member = None;
        for _ in 0..64 {
            let (next, name) = match (self.syntax, current.kind()) {
                (Syntax::Ruby, "identifier" | "instance_variable") => {
                    return Some((self.text(current)?, member));
                }
                (Syntax::Ruby, "call") => {
                    let name = current
                        .child_by_field_name("method")
                        .and_then(|m| self.text(m));
                    match current.child_by_field_name("receiver") {
                        Some(receiver) => (receiver, name),
                        None => return Some((name?, member)),
                    }
                }
                (Syntax::Ruby, "element_reference") => {
                    (current.child_by_field_name("object")?, None)
                }
                (Syntax::Php, "variable_name") => return Some((self.text(current)?, member)),
                (
                    Syntax::Php,
                    "member_call_expression"
                    | "member_access_expression"
                    | "nullsafe_member_call_expression"
                    | "nullsafe_member_access_expression",
                ) => (
                    current.child_by_field_name("object")?,
                    current
                        .child_by_field_name("name")
                        .and_then(|n| self.text(n)),
                ),
                (Syntax::Php, "subscript_expression") => (current.named_child(0)?, None),
                (Syntax::Php, "scoped_call_expression") => {
                    let scope = current.child_by_field_name("scope")?;
                    let name = current.child_by_field_name("name")?;
                    let start = scope.start_byte();
                    let text = std::str::from_utf8(self.src.get(start..name.end_byte())?).ok()?;
                    return Some((text.trim_start_matches('\\'), member));
                }
                (Syntax::Php, "function_call_expression") => {
                    return Some((
                        self.text(current.child_by_field_name("function")?)?
                            .trim_start_matches('\\'),
                        member,
                    ));
                }
                _ => return None,
            };
            if name.is_some() {
                member = name;
            }
            current = next;
        }
        None
    }
}

/// The method, function or file a node belongs to (its variables' scope).
pub fn scope_of(syntax: Syntax, node: Node<'_>) -> usize {
    let mut current = node;
    while let Some(parent) = current.parent() {
        let is_scope = match syntax {
            Syntax::Ruby => matches!(
                parent.kind(),
                "method" | "singleton_method" | "class" | "module"
            ),
            Syntax::Php => matches!(
                parent.kind(),
                "method_declaration" | "function_definition" | "anonymous_function"
            ),
        };
        if is_scope {
            return parent.id();
        }
        current = parent;
    }
    current.id()
}

fn has_child_kind(node: Node<'_>, kind: &str) -> bool {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).any(|c| c.kind() == kind)
}

fn is_this(node: Node<'_>, src: &[u8]) -> bool {
    node.utf8_text(src).is_ok_and(|t| t == "$this")
}

/// `\Drupal\Core\Render\Markup` → `Markup`.
pub fn last_segment(name: &str) -> &str {
    name.rsplit('\\').next().unwrap_or(name)
}

/// The text cut to `max` characters, whitespace runs collapsed.
pub fn short(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
        if out.chars().count() >= max {
            out.push('…');
            break;
        }
    }
    out
}
