//! Loading a Wazuh SCA policy file.
//!
//! The YAML is parsed once (serde-saphyr, with its default budget against alias bombs); each
//! check is then read on its own, so one malformed check is reported with its id and why,
//! and the others still load.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::osregex::Dialect;
use crate::rule::{self, Rule, RuleError};

/// Policy files bigger than this are refused: the largest real one (CIS Ubuntu 24.04) is
/// under 1 MiB.
pub const MAX_POLICY_BYTES: usize = 16 << 20;

/// A loaded policy. Checks that did not load are kept, with the reason.
#[derive(Debug, Clone)]
pub struct ScaPolicy {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub requirements: Option<Requirements>,
    pub checks: Vec<Check>,
}

/// `requirements`: when they do not hold, the policy does not apply to the system.
#[derive(Debug, Clone)]
pub struct Requirements {
    pub title: String,
    pub condition: Condition,
    pub rules: Result<Vec<Rule>, RuleError>,
}

/// How rule results combine into a check result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    All,
    Any,
    None,
}

impl Condition {
    fn parse(text: &str) -> Option<Condition> {
        match text.trim() {
            "all" => Some(Condition::All),
            "any" => Some(Condition::Any),
            "none" => Some(Condition::None),
            _ => None,
        }
    }
}

/// One check of a policy.
#[derive(Debug, Clone)]
pub struct Check {
    /// The check's `id`, as written (a number in every published policy).
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub rationale: Option<String>,
    pub remediation: Option<String>,
    /// Framework → control ids (`cis`, `nist_800_53`, `hipaa`, `pci_dss`, …).
    pub compliance: BTreeMap<String, Vec<String>>,
    pub references: Vec<String>,
    pub condition: Condition,
    /// The rules, or why the check could not be loaded.
    pub rules: Result<Vec<Rule>, LoadError>,
}

/// Why a check did not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A field is missing or of the wrong type.
    #[error("{0}")]
    Shape(String),
    /// A rule is invalid.
    #[error(transparent)]
    Rule(#[from] RuleError),
}

impl LoadError {
    /// See [`RuleError::is_unsupported`].
    pub fn is_unsupported(&self) -> bool {
        matches!(self, LoadError::Rule(err) if err.is_unsupported())
    }
}

/// Errors of [`load_policy`]: the file as a whole cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not YAML, or not an SCA policy's shape.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// Bigger than [`MAX_POLICY_BYTES`].
    #[error("{path}: larger than {MAX_POLICY_BYTES} bytes")]
    TooLarge { path: String },
}

#[derive(Deserialize)]
struct Document {
    policy: PolicyHeader,
    #[serde(default)]
    requirements: Option<Value>,
    #[serde(default)]
    variables: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    checks: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct PolicyHeader {
    id: Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex_type: Option<String>,
}

#[derive(Deserialize)]
struct RawRequirements {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    name: Option<String>,
    condition: String,
    rules: Vec<Value>,
}

#[derive(Deserialize)]
struct RawCheck {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    rationale: Option<String>,
    #[serde(default)]
    remediation: Option<String>,
    #[serde(default)]
    compliance: Option<Value>,
    #[serde(default)]
    references: Option<Vec<Value>>,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    rules: Option<Vec<Value>>,
    #[serde(default)]
    regex_type: Option<String>,
}

/// Parses the text of an SCA policy; `path` names it in errors.
pub fn load_policy(text: &str, path: &str) -> Result<ScaPolicy, PolicyError> {
    let invalid = |message: String| PolicyError::Invalid {
        path: path.to_owned(),
        message,
    };
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            path: path.to_owned(),
        });
    }
    let document: Document =
        serde_saphyr::from_str(text).map_err(|err| invalid(err.to_string()))?;
    let id = scalar(&document.policy.id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| invalid("`policy.id` must be a non-empty string".to_owned()))?;
    let dialect = dialect(document.policy.regex_type.as_deref())
        .map_err(|message| invalid(format!("policy.regex_type: {message}")))?;
    let mut variables = BTreeMap::new();
    for (name, value) in document.variables.unwrap_or_default() {
        let value = match &value {
            Value::Array(items) => items
                .iter()
                .filter_map(scalar)
                .collect::<Vec<_>>()
                .join(","),
            other => scalar(other)
                .ok_or_else(|| invalid(format!("variable `{name}` is not a string or a list")))?,
        };
        let name = if name.starts_with('$') {
            name
        } else {
            format!("${name}")
        };
        variables.insert(name, value);
    }
    let requirements = match document.requirements {
        None | Some(Value::Null) => None,
        Some(value) => {
            let raw: RawRequirements = serde_json::from_value(value)
                .map_err(|err| invalid(format!("requirements: {err}")))?;
            let condition = Condition::parse(&raw.condition).ok_or_else(|| {
                invalid(format!(
                    "requirements: condition `{}` is not all, any or none",
                    raw.condition
                ))
            })?;
            Some(Requirements {
                title: raw.title.or(raw.name).unwrap_or_default(),
                condition,
                rules: parse_rules(&raw.rules, &variables, dialect).map_err(|err| match err {
                    LoadError::Rule(rule) => rule,
                    LoadError::Shape(message) => RuleError::Malformed {
                        rule: "requirements".to_owned(),
                        message,
                    },
                }),
            })
        }
    };
    let Some(raw_checks) = document.checks else {
        return Err(invalid("no `checks` list".to_owned()));
    };
    let checks = raw_checks
        .into_iter()
        .enumerate()
        .map(|(index, value)| load_check(index, value, &variables, dialect))
        .collect();
    Ok(ScaPolicy {
        id,
        name: document.policy.name.unwrap_or_default(),
        description: document.policy.description,
        requirements,
        checks,
    })
}

fn dialect(regex_type: Option<&str>) -> Result<Dialect, String> {
    match regex_type.map(str::trim) {
        None | Some("os_regex") => Ok(Dialect::OsRegex),
        Some("pcre2") => Ok(Dialect::Pcre2),
        Some(other) => Err(format!("`{other}` is not os_regex or pcre2")),
    }
}

fn load_check(
    index: usize,
    value: Value,
    variables: &BTreeMap<String, String>,
    dialect: Dialect,
) -> Check {
    let id = value
        .get("id")
        .and_then(scalar)
        .unwrap_or_else(|| format!("#{}", index + 1));
    let raw: RawCheck = match serde_json::from_value(value) {
        Ok(raw) => raw,
        Err(err) => return shapeless(id, err.to_string()),
    };
    let title = raw.title.or(raw.name).unwrap_or_default();
    let mut check = Check {
        id: id.clone(),
        title,
        description: raw.description,
        rationale: raw.rationale,
        remediation: raw.remediation,
        compliance: raw.compliance.map(compliance).unwrap_or_default(),
        references: raw
            .references
            .unwrap_or_default()
            .iter()
            .filter_map(scalar)
            .collect(),
        condition: Condition::All,
        rules: Ok(Vec::new()),
    };
    let condition = raw.condition.as_deref().map(Condition::parse);
    check.rules = match (condition, raw.rules) {
        (None, _) => Err(LoadError::Shape("no `condition`".to_owned())),
        (Some(None), _) => Err(LoadError::Shape(format!(
            "condition `{}` is not all, any or none",
            raw.condition.unwrap_or_default()
        ))),
        (_, None) => Err(LoadError::Shape("no `rules`".to_owned())),
        (Some(Some(condition)), Some(rules)) => {
            check.condition = condition;
            match raw.regex_type.as_deref() {
                None => parse_rules(&rules, variables, dialect),
                Some(text) => dialect_or_shape(text)
                    .and_then(|dialect| parse_rules(&rules, variables, dialect)),
            }
        }
    };
    check
}

fn dialect_or_shape(text: &str) -> Result<Dialect, LoadError> {
    dialect(Some(text)).map_err(|message| LoadError::Shape(format!("regex_type: {message}")))
}

fn shapeless(id: String, message: String) -> Check {
    Check {
        id,
        title: String::new(),
        description: None,
        rationale: None,
        remediation: None,
        compliance: BTreeMap::new(),
        references: Vec::new(),
        condition: Condition::All,
        rules: Err(LoadError::Shape(message)),
    }
}

fn parse_rules(
    rules: &[Value],
    variables: &BTreeMap<String, String>,
    dialect: Dialect,
) -> Result<Vec<Rule>, LoadError> {
    if rules.is_empty() {
        return Err(LoadError::Shape("an empty `rules` list".to_owned()));
    }
    rules
        .iter()
        .map(|value| {
            let Value::String(text) = value else {
                return Err(LoadError::Shape(format!("rule `{value}` is not a string")));
            };
            rule::parse(text, variables, dialect).map_err(LoadError::from)
        })
        .collect()
}

/// `compliance` comes as a map (`cis: ["1.1"]`) in current policies and as a list of
/// one-entry maps in older ones; both become framework → ids.
fn compliance(value: Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |map: serde_json::Map<String, Value>| {
        for (framework, ids) in map {
            let ids: Vec<String> = match &ids {
                Value::Array(items) => items.iter().filter_map(scalar).collect(),
                other => scalar(other).into_iter().collect(),
            };
            out.entry(framework).or_default().extend(ids);
        }
    };
    match value {
        Value::Object(map) => add(map),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(map) = item {
                    add(map);
                }
            }
        }
        _ => {}
    }
    out
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
policy:
  id: "test"
  file: "test.yml"
  name: "Test policy"
  description: "For tests"
variables:
  $sshd: /etc/ssh/sshd_config
requirements:
  title: "Linux"
  description: "x"
  condition: any
  rules:
    - 'f:/etc/passwd'
checks:
  - id: 1
    title: "Root login off"
    compliance:
      - cis: ["5.2.10"]
      - nist_800_53: ["AC-6"]
    condition: all
    rules:
      - 'f:$sshd -> r:^PermitRootLogin\s+no'
  - id: 2
    name: "Named, map compliance"
    compliance:
      hipaa: ["164.312(a)(1)"]
    condition: none
    rules:
      - 'f:/x -> r:[0-9]'
  - id: 3
    title: "Bad condition"
    condition: some
    rules: ['f:/x']
  - id: 4
    title: "Rules not a list"
    condition: all
    rules: {a: b}
"#;

    #[test]
    fn checks_load_one_by_one() {
        let policy = load_policy(POLICY, "test.yml").unwrap();
        assert_eq!(policy.id, "test");
        assert_eq!(policy.checks.len(), 4);
        let first = &policy.checks[0];
        assert_eq!(first.id, "1");
        assert_eq!(first.compliance["cis"], ["5.2.10"]);
        assert_eq!(first.compliance["nist_800_53"], ["AC-6"]);
        let rules = first.rules.as_ref().unwrap();
        assert!(rules[0].text.contains("$sshd"));
        let second = &policy.checks[1];
        assert_eq!(second.title, "Named, map compliance");
        assert_eq!(second.compliance["hipaa"], ["164.312(a)(1)"]);
        assert!(second.rules.as_ref().unwrap_err().is_unsupported());
        assert!(
            policy.checks[2]
                .rules
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("some")
        );
        assert!(policy.checks[3].rules.is_err());
        assert!(policy.requirements.unwrap().rules.is_ok());
    }

    #[test]
    fn regex_type_pcre2_switches_the_engine() {
        let text = POLICY.replace(
            "  description: \"For tests\"",
            "  description: \"x\"\n  regex_type: pcre2",
        );
        let policy = load_policy(&text, "t.yml").unwrap();
        assert!(policy.checks[1].rules.is_ok());
    }

    #[test]
    fn broken_documents_are_errors() {
        assert!(load_policy("checks: []", "x.yml").is_err());
        assert!(load_policy("policy: {id: x}\n", "x.yml").is_err());
        assert!(load_policy(":\n  - [", "x.yml").is_err());
        let err =
            load_policy("policy: {id: x, regex_type: perl}\nchecks: []\n", "x.yml").unwrap_err();
        assert!(err.to_string().starts_with("x.yml: "), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn loading_never_panics(text in "[ -~\n]{0,200}") {
            let _ = load_policy(&text, "p.yml");
        }
    }
}
