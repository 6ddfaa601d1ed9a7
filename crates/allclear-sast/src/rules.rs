//! The rule format: YAML files, built in (`rules/*.yml`, embedded in the binary) or the user's
//! own, read into [`Rule`]s and checked before any file is scanned.

use allclear_core::Severity;
use regex::Regex;
use serde::Deserialize;

use crate::Language;

/// The built-in rule files, embedded at compile time.
const BUILTIN: &[(&str, &str)] = &[
    ("rules/rails.yml", include_str!("../rules/rails.yml")),
    ("rules/drupal.yml", include_str!("../rules/drupal.yml")),
];

/// Sources and sanitisers every rule of a language shares.
const LANGUAGES: &str = include_str!("../rules/languages.yml");

/// A rule file or one of its rules is wrong.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file is not valid YAML or does not have the rule format's shape.
    #[error("{file}: not a valid rule file")]
    Yaml {
        file: String,
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A rule is inconsistent (a broken regular expression, a matcher of no kind, …).
    #[error("{file}: rule `{rule}`: {message}")]
    Invalid {
        file: String,
        rule: String,
        message: String,
    },
}

/// What a rule says about itself, for `allclear rules explain` and the generated reference.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RuleDocs {
    /// What the rule finds.
    pub what: String,
    /// Why it matters.
    pub why: String,
    /// A short example of code it reports.
    pub example: String,
    /// How to fix it.
    pub fix: String,
}

/// How strong the evidence for a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The dangerous pattern, with no flow from request input traced to it.
    Weak,
    /// Request input reaches the sink through a variable.
    Medium,
    /// Request input reaches the sink directly, or the pattern is dangerous by itself.
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Weak => "weak",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl std::fmt::Display for Confidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Confidence {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "weak" | "low" => Ok(Confidence::Weak),
            "medium" => Ok(Confidence::Medium),
            "high" => Ok(Confidence::High),
            _ => Err(format!(
                "unknown confidence `{s}` (expected weak, medium or high)"
            )),
        }
    }
}

/// What a sink needs before it is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Needs {
    /// Request input must reach it (high when direct, medium through a variable).
    #[default]
    Input,
    /// Input as above; or any value that is not a literal (weak).
    Dynamic,
    /// The match alone is the finding, at the rule's `confidence`.
    None,
}

/// Drupal major versions a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DrupalVersions {
    /// Drupal 7 only (its procedural API).
    #[serde(rename = "7")]
    Seven,
    /// Drupal 8 and later.
    #[serde(rename = "8+")]
    EightPlus,
}

/// One way a rule matches. Exactly one of the kind fields (`call`, `subshell`, `regex-literal`,
/// `raw-output`, `key`, `assign`, `twig-raw`, `text`, `route-open-access`, `missing-call`)
/// is set; the rest refine it.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MatcherDef {
    /// Calls to these methods or functions (`where`, `db_query`; `new` calls in PHP are
    /// named by their class).
    pub call: Option<Vec<String>>,
    /// The call's receiver must be one of these (`YAML`, `Markup`, `new`; `""` for none).
    pub receiver: Option<Vec<String>>,
    /// Which part of the call carries the danger: an argument index, `any`, `receiver`,
    /// `key:NAME` (a keyword or hash argument), or `hash-values`.
    pub arg: Option<ArgDef>,
    /// Ruby backticks and `%x()`.
    pub subshell: Option<bool>,
    /// Ruby regular-expression literals with interpolation.
    pub regex_literal: Option<bool>,
    /// ERB `<%== … %>` output.
    pub raw_output: Option<bool>,
    /// A PHP array element or Ruby hash pair with this key (`#markup`), or whose key matches
    /// `key-pattern`.
    pub key: Option<String>,
    /// A regular expression the key must match (instead of `key`).
    pub key_pattern: Option<String>,
    /// Ruby `x.NAME = value` assignments.
    pub assign: Option<String>,
    /// Twig `{{ … |raw }}`.
    pub twig_raw: Option<bool>,
    /// A regular expression on each line (YAML and other text files).
    pub text: Option<String>,
    /// Drupal routes with `_access: 'TRUE'` on paths that change state.
    pub route_open_access: Option<bool>,
    /// A class inheriting `inherits` that never calls this method.
    pub missing_call: Option<String>,
    /// With `missing-call`: the superclass.
    pub inherits: Option<String>,
    /// What must flow into the sink.
    #[serde(default)]
    pub needs: Needs,
    /// The selected value's code (or the assigned value, or the key's value) must match.
    pub value: Option<String>,
    /// The whole call's code must match.
    pub when: Option<String>,
    /// The whole call's code must not match.
    pub unless: Option<String>,
}

/// Which argument of a call a matcher looks at.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ArgDef {
    Index(usize),
    Indices(Vec<usize>),
    Named(String),
}

/// A rule as written in YAML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleDef {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub language: Language,
    /// Confidence of a match whose sink needs no flow (`needs: none`).
    #[serde(default = "high")]
    pub confidence: Confidence,
    /// Extra request-input sources for this rule, beside the language's.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Extra sanitisers for this rule, beside the language's.
    #[serde(default)]
    pub sanitizers: Vec<String>,
    /// Only files whose path matches this regular expression.
    pub paths: Option<String>,
    pub drupal: Option<DrupalVersions>,
    /// The matched code holds a secret: reports show it redacted.
    #[serde(default)]
    pub redact: bool,
    #[serde(rename = "match")]
    pub matchers: Vec<MatcherDef>,
    pub docs: RuleDocs,
    /// Code the rule must not report.
    #[serde(default)]
    pub valid: Vec<String>,
    /// Code the rule must report.
    #[serde(default)]
    pub invalid: Vec<String>,
    /// The path the examples are scanned as (for rules limited by `paths`).
    pub example_path: Option<String>,
}

fn high() -> Confidence {
    Confidence::High
}

/// Where a matcher looks.
#[derive(Debug, Clone)]
pub enum Arg {
    Indices(Vec<usize>),
    Any,
    Receiver,
    Key(String),
    HashValues,
}

/// The kind of a compiled matcher.
#[derive(Debug, Clone)]
pub enum Kind {
    Call {
        names: Vec<String>,
        receivers: Option<Vec<String>>,
        /// `None`: the first argument, or for `needs: none` no argument at all.
        arg: Option<Arg>,
    },
    Subshell,
    RegexLiteral,
    RawOutput,
    Key(KeyMatch),
    Assign(String),
    TwigRaw,
    Text(Regex),
    RouteOpenAccess,
    MissingCall {
        call: String,
        inherits: String,
    },
}

#[derive(Debug, Clone)]
pub enum KeyMatch {
    Exact(String),
    Pattern(Regex),
}

/// A matcher ready to run.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub kind: Kind,
    pub needs: Needs,
    pub value: Option<Regex>,
    pub when: Option<Regex>,
    pub unless: Option<Regex>,
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub language: Language,
    pub confidence: Confidence,
    pub sources: Vec<String>,
    pub sanitizers: Vec<String>,
    pub paths: Option<Regex>,
    pub drupal: Option<DrupalVersions>,
    pub redact: bool,
    pub matchers: Vec<Matcher>,
    pub docs: RuleDocs,
    pub valid: Vec<String>,
    pub invalid: Vec<String>,
    pub example_path: Option<String>,
}

/// Request-input sources and sanitisers shared by all rules of a language.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageDefaults {
    pub sources: Vec<String>,
    pub sanitizers: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub ruby: LanguageDefaults,
    pub php: LanguageDefaults,
}

pub fn defaults() -> Defaults {
    // The file is ours and checked by the tests; a broken one is a build defect, and an
    // empty default (no sources) would only make every flow rule silent, which the rule
    // examples catch.
    serde_saphyr::from_str(LANGUAGES).unwrap_or_default()
}

/// The built-in rules.
pub fn builtin() -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    for (file, text) in BUILTIN {
        rules.extend(parse(file, text)?);
    }
    Ok(rules)
}

/// Reads the rules of one YAML file (a list of rules).
pub fn parse(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let defs: Vec<RuleDef> = serde_saphyr::from_str(text).map_err(|source| RuleError::Yaml {
        file: file.to_owned(),
        source: Box::new(source),
    })?;
    defs.into_iter().map(|def| compile(file, def)).collect()
}

fn compile(file: &str, def: RuleDef) -> Result<Rule, RuleError> {
    let invalid = |message: String| RuleError::Invalid {
        file: file.to_owned(),
        rule: def.id.clone(),
        message,
    };
    let regex = |what: &str, text: &Option<String>| -> Result<Option<Regex>, RuleError> {
        text.as_deref()
            .map(|text| Regex::new(text).map_err(|err| invalid(format!("`{what}`: {err}"))))
            .transpose()
    };
    if !def
        .id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        || !def.id.starts_with("code.")
    {
        return Err(invalid(
            "ids start with `code.` and use letters, digits, `.`, `-` and `_`".to_owned(),
        ));
    }
    if def.matchers.is_empty() {
        return Err(invalid("`match` is empty".to_owned()));
    }
    let mut matchers = Vec::new();
    for m in &def.matchers {
        let kinds = [
            m.call.is_some(),
            m.subshell.is_some(),
            m.regex_literal.is_some(),
            m.raw_output.is_some(),
            m.key.is_some() || m.key_pattern.is_some(),
            m.assign.is_some(),
            m.twig_raw.is_some(),
            m.text.is_some(),
            m.route_open_access.is_some(),
            m.missing_call.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(invalid(
                "each matcher needs exactly one of call, subshell, regex-literal, raw-output, \
                 key, assign, twig-raw, text, route-open-access, missing-call"
                    .to_owned(),
            ));
        }
        let kind = if let Some(names) = &m.call {
            let arg = match &m.arg {
                None => None,
                Some(ArgDef::Index(i)) => Some(Arg::Indices(vec![*i])),
                Some(ArgDef::Indices(list)) => Some(Arg::Indices(list.clone())),
                Some(ArgDef::Named(name)) => Some(match name.as_str() {
                    "any" => Arg::Any,
                    "receiver" => Arg::Receiver,
                    "hash-values" => Arg::HashValues,
                    other => match other.strip_prefix("key:") {
                        Some(key) => Arg::Key(key.to_owned()),
                        None => return Err(invalid(format!("unknown `arg` `{other}`"))),
                    },
                }),
            };
            Kind::Call {
                names: names.clone(),
                receivers: m.receiver.clone(),
                arg,
            }
        } else if m.subshell.is_some() {
            Kind::Subshell
        } else if m.regex_literal.is_some() {
            Kind::RegexLiteral
        } else if m.raw_output.is_some() {
            Kind::RawOutput
        } else if let Some(key) = &m.key {
            Kind::Key(KeyMatch::Exact(key.clone()))
        } else if m.key_pattern.is_some() {
            match regex("key-pattern", &m.key_pattern)? {
                Some(re) => Kind::Key(KeyMatch::Pattern(re)),
                None => return Err(invalid("empty `key-pattern`".to_owned())),
            }
        } else if let Some(name) = &m.assign {
            Kind::Assign(name.clone())
        } else if m.twig_raw.is_some() {
            Kind::TwigRaw
        } else if m.text.is_some() {
            match regex("text", &m.text)? {
                Some(re) => Kind::Text(re),
                None => return Err(invalid("empty `text`".to_owned())),
            }
        } else if m.route_open_access.is_some() {
            Kind::RouteOpenAccess
        } else {
            let Some(inherits) = m.inherits.clone() else {
                return Err(invalid("`missing-call` needs `inherits`".to_owned()));
            };
            Kind::MissingCall {
                call: m.missing_call.clone().unwrap_or_default(),
                inherits,
            }
        };
        let fits = match (&kind, def.language) {
            (Kind::Subshell | Kind::RegexLiteral | Kind::Assign(_), l) => {
                matches!(l, Language::Ruby | Language::Erb)
            }
            (Kind::MissingCall { .. }, l) => l == Language::Ruby,
            (Kind::RawOutput, l) => l == Language::Erb,
            (Kind::TwigRaw, l) => l == Language::Twig,
            (Kind::RouteOpenAccess | Kind::Text(_), l) => l == Language::Yaml,
            (Kind::Call { .. } | Kind::Key(_), l) => {
                matches!(l, Language::Ruby | Language::Erb | Language::Php)
            }
        };
        if !fits {
            return Err(invalid(format!(
                "this matcher does not apply to {} files",
                def.language.as_str()
            )));
        }
        matchers.push(Matcher {
            kind,
            needs: m.needs,
            value: regex("value", &m.value)?,
            when: regex("when", &m.when)?,
            unless: regex("unless", &m.unless)?,
        });
    }
    Ok(Rule {
        paths: regex("paths", &def.paths)?,
        id: def.id,
        title: def.title,
        severity: def.severity,
        language: def.language,
        confidence: def.confidence,
        sources: def.sources,
        sanitizers: def.sanitizers,
        drupal: def.drupal,
        redact: def.redact,
        matchers,
        docs: def.docs,
        valid: def.valid,
        invalid: def.invalid,
        example_path: def.example_path,
    })
}
