//! One SCA rule, parsed: `[not ]TYPE:TARGET[ -> …]`.
//!
//! The grammar, from Wazuh's documentation of custom SCA policies:
//!
//! | rule | means |
//! |---|---|
//! | `f:PATH[,PATH…]` | a file exists |
//! | `f:PATH -> TESTS` | a line of the file satisfies every test |
//! | `d:DIR` | a directory exists |
//! | `d:DIR -> NAME` or `d:DIR -> r:REGEX` | a file of that name is in the directory (recursively) |
//! | `d:DIR -> NAME -> TESTS` | a line of such a file satisfies every test |
//! | `p:NAME` | a process of that name runs |
//! | `c:COMMAND -> TESTS` | a line of the command's output satisfies every test |
//! | `r:KEY[ -> …]` | the Windows registry (not applicable on Linux) |
//!
//! `TESTS` are joined with ` && `; each is a literal whole line, `r:REGEX`, or
//! `n:REGEX compare OP NUMBER` (the first capture group compared as an integer), and each may
//! be negated with `!`. `not ` before the rule inverts its result. Variables (`$name`) are
//! replaced in the part left of the first ` -> `.

use std::collections::BTreeMap;

use regex::Regex;

use crate::osregex::{self, Dialect};

/// A parsed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule as the policy wrote it (before variables), for evidence and errors.
    pub text: String,
    /// `not` before the rule: pass and fail swap; not-applicable stays.
    pub negated: bool,
    pub kind: RuleKind,
}

/// What a rule looks at.
#[derive(Debug, Clone)]
pub enum RuleKind {
    File {
        paths: Vec<String>,
        tests: Option<Tests>,
    },
    Directory {
        dirs: Vec<String>,
        /// Which files inside; `None` checks the directory's existence only.
        files: Option<NameMatch>,
        tests: Option<Tests>,
    },
    Process {
        name: String,
    },
    Command {
        /// The argv, split with shell-word rules but never given to a shell.
        argv: Vec<String>,
        tests: Tests,
    },
    /// A Windows registry rule: kept so that its check says why it does not apply.
    Registry,
}

/// How a `d:` rule picks files inside the directory.
#[derive(Debug, Clone)]
pub enum NameMatch {
    Exact(String),
    Regex(Regex),
}

impl NameMatch {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NameMatch::Exact(exact) => exact == name,
            NameMatch::Regex(regex) => regex.is_match(name),
        }
    }
}

/// Content tests joined with `&&`: one line must satisfy all of them.
#[derive(Debug, Clone)]
pub struct Tests(pub Vec<Test>);

impl Tests {
    /// True when `line` satisfies every test.
    pub fn line_matches(&self, line: &str) -> bool {
        self.0.iter().all(|test| test.matches(line))
    }
}

/// One content test.
#[derive(Debug, Clone)]
pub struct Test {
    /// `!` before the test: the line must not satisfy it.
    pub negated: bool,
    pub matcher: Matcher,
}

impl Test {
    fn matches(&self, line: &str) -> bool {
        self.matcher.matches(line) != self.negated
    }
}

/// What a content test compares a line with.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The whole line, exactly.
    Literal(String),
    Regex(Regex),
    /// The first capture group of the regex, as an integer, compared with a number.
    Numeric {
        regex: Regex,
        op: CompareOp,
        value: i64,
    },
}

impl Matcher {
    fn matches(&self, line: &str) -> bool {
        match self {
            Matcher::Literal(text) => line == text,
            Matcher::Regex(regex) => regex.is_match(line),
            Matcher::Numeric { regex, op, value } => regex
                .captures(line)
                .and_then(|caps| caps.get(1))
                .and_then(|m| m.as_str().trim().parse::<i64>().ok())
                .is_some_and(|found| op.holds(found, *value)),
        }
    }
}

/// `compare` operators of `n:` tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Less,
    LessOrEqual,
    Equal,
    NotEqual,
    GreaterOrEqual,
    Greater,
}

impl CompareOp {
    fn parse(text: &str) -> Option<CompareOp> {
        Some(match text {
            "<" => CompareOp::Less,
            "<=" => CompareOp::LessOrEqual,
            "==" => CompareOp::Equal,
            "!=" => CompareOp::NotEqual,
            ">=" => CompareOp::GreaterOrEqual,
            ">" => CompareOp::Greater,
            _ => return None,
        })
    }

    pub fn holds(self, found: i64, expected: i64) -> bool {
        match self {
            CompareOp::Less => found < expected,
            CompareOp::LessOrEqual => found <= expected,
            CompareOp::Equal => found == expected,
            CompareOp::NotEqual => found != expected,
            CompareOp::GreaterOrEqual => found >= expected,
            CompareOp::Greater => found > expected,
        }
    }
}

/// Why a rule could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The text before `:` is none of `f`, `d`, `p`, `c`, `r`.
    #[error("unknown rule type in `{0}` (expected f:, d:, p:, c: or r:)")]
    UnknownType(String),
    /// The rule is malformed.
    #[error("`{rule}`: {message}")]
    Malformed { rule: String, message: String },
    /// A regular expression in the rule.
    #[error("`{rule}`: {source}")]
    Regex {
        rule: String,
        #[source]
        source: osregex::RegexError,
    },
}

impl RuleError {
    /// True when the rule is valid for Wazuh but not something allclear evaluates (a PCRE
    /// construct in an OS_Regex rule, a command that needs a shell): the check is not run,
    /// as opposed to a policy that is simply wrong.
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            RuleError::Regex {
                source: osregex::RegexError::Ambiguous { .. },
                ..
            }
        ) || matches!(self, RuleError::Malformed { message, .. } if message.starts_with(UNSUPPORTED))
    }
}

const UNSUPPORTED: &str = "unsupported: ";

/// Parses one rule; `variables` are substituted left of the first ` -> `.
pub fn parse(
    text: &str,
    variables: &BTreeMap<String, String>,
    dialect: Dialect,
) -> Result<Rule, RuleError> {
    let malformed = |message: &str| RuleError::Malformed {
        rule: text.to_owned(),
        message: message.to_owned(),
    };
    let trimmed = text.trim();
    let (negated, body) = match trimmed.strip_prefix("not ") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, trimmed),
    };
    let mut parts = body.split(" -> ");
    let head = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let Some((kind, target)) = head.split_once(':') else {
        return Err(RuleError::UnknownType(text.to_owned()));
    };
    let target = substitute(target.trim(), variables);
    let list = || -> Vec<String> {
        target
            .split(',')
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect()
    };
    let tests = |part: &str| parse_tests(part, text, dialect);
    let kind = match kind.trim() {
        "f" => {
            let paths = list();
            if paths.is_empty() {
                return Err(malformed("no file named"));
            }
            match rest.as_slice() {
                [] => RuleKind::File { paths, tests: None },
                [content] => RuleKind::File {
                    paths,
                    tests: Some(tests(content)?),
                },
                _ => return Err(malformed("a file rule has at most one ` -> `")),
            }
        }
        "d" => {
            let dirs = list();
            if dirs.is_empty() {
                return Err(malformed("no directory named"));
            }
            let name = |part: &str| -> Result<NameMatch, RuleError> {
                match part.trim().strip_prefix("r:") {
                    Some(pattern) => Ok(NameMatch::Regex(
                        osregex::compile(pattern, dialect).map_err(|source| RuleError::Regex {
                            rule: text.to_owned(),
                            source,
                        })?,
                    )),
                    None => Ok(NameMatch::Exact(part.trim().to_owned())),
                }
            };
            match rest.as_slice() {
                [] => RuleKind::Directory {
                    dirs,
                    files: None,
                    tests: None,
                },
                [files] => RuleKind::Directory {
                    dirs,
                    files: Some(name(files)?),
                    tests: None,
                },
                [files, content] => RuleKind::Directory {
                    dirs,
                    files: Some(name(files)?),
                    tests: Some(tests(content)?),
                },
                _ => return Err(malformed("a directory rule has at most two ` -> `")),
            }
        }
        "p" => {
            if !rest.is_empty() {
                return Err(malformed("process rules only check existence"));
            }
            if target.is_empty() {
                return Err(malformed("no process named"));
            }
            RuleKind::Process { name: target }
        }
        "c" => {
            let [content] = rest.as_slice() else {
                return Err(malformed(if rest.is_empty() {
                    "command rules only check output: a ` -> ` test is needed"
                } else {
                    "unsupported: a command rule with more than one ` -> ` has no documented meaning"
                }));
            };
            let argv = shlex::split(&target)
                .filter(|argv| !argv.is_empty())
                .ok_or_else(|| malformed("the command does not split into words"))?;
            if let Some(operator) = argv.iter().find(|word| is_shell_operator(word)) {
                return Err(malformed(&format!(
                    "{UNSUPPORTED}the command needs a shell (`{operator}`), and allclear runs commands without one"
                )));
            }
            RuleKind::Command {
                argv,
                tests: tests(content)?,
            }
        }
        "r" => RuleKind::Registry,
        _ => return Err(RuleError::UnknownType(text.to_owned())),
    };
    Ok(Rule {
        text: text.to_owned(),
        negated,
        kind,
    })
}

fn is_shell_operator(word: &str) -> bool {
    matches!(
        word,
        "|" | "||" | "&&" | ";" | ">" | ">>" | "<" | "2>" | "2>&1" | "&" | "2>/dev/null"
    ) || word.starts_with("$(")
        || word.starts_with('`')
}

/// Replaces `$name` with its value; longer names first, so `$a_b` is not read as `$a`.
fn substitute(target: &str, variables: &BTreeMap<String, String>) -> String {
    let mut names: Vec<&String> = variables.keys().collect();
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    let mut out = target.to_owned();
    for name in names {
        if out.contains(name.as_str()) {
            out = out.replace(name.as_str(), &variables[name]);
        }
    }
    out
}

fn parse_tests(part: &str, rule: &str, dialect: Dialect) -> Result<Tests, RuleError> {
    let malformed = |message: String| RuleError::Malformed {
        rule: rule.to_owned(),
        message,
    };
    let regex = |pattern: &str| {
        osregex::compile(pattern, dialect).map_err(|source| RuleError::Regex {
            rule: rule.to_owned(),
            source,
        })
    };
    let mut tests = Vec::new();
    for raw in part.split(" && ") {
        let raw = raw.trim();
        if raw.is_empty() || raw == "&&" || raw.starts_with("&& ") || raw.ends_with(" &&") {
            return Err(malformed(
                "an empty test between `&&` (the policy has `&& &&`)".to_owned(),
            ));
        }
        let (negated, body) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let matcher = if let Some(pattern) = body.strip_prefix("r:") {
            Matcher::Regex(regex(pattern)?)
        } else if let Some(numeric) = body.strip_prefix("n:") {
            let Some((pattern, comparison)) = numeric.rsplit_once(" compare ") else {
                return Err(malformed(format!(
                    "`n:{numeric}` needs ` compare OP NUMBER`"
                )));
            };
            let mut words = comparison.split_whitespace();
            let (Some(op), Some(value), None) = (words.next(), words.next(), words.next()) else {
                return Err(malformed(format!(
                    "`compare {comparison}` is not `compare OP NUMBER`"
                )));
            };
            let op = CompareOp::parse(op).ok_or_else(|| {
                malformed(format!(
                    "`{op}` is not a compare operator (<, <=, ==, !=, >=, >)"
                ))
            })?;
            let value = value
                .parse::<i64>()
                .map_err(|_| malformed(format!("`{value}` is not an integer")))?;
            let regex = regex(pattern)?;
            if regex.captures_len() < 2 {
                return Err(malformed(format!(
                    "`n:{pattern}` has no capture group to compare"
                )));
            }
            Matcher::Numeric { regex, op, value }
        } else {
            Matcher::Literal(body.to_owned())
        };
        tests.push(Test { negated, matcher });
    }
    Ok(Tests(tests))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Result<Rule, RuleError> {
        let variables = BTreeMap::from([
            ("$sshd_file".to_owned(), "/etc/ssh/sshd_config".to_owned()),
            ("$files".to_owned(), "/a, /b".to_owned()),
        ]);
        parse(text, &variables, Dialect::OsRegex)
    }

    #[test]
    fn each_kind_parses() {
        let parsed = rule("f:$files").unwrap();
        assert!(
            matches!(&parsed.kind, RuleKind::File { paths, tests: None } if paths == &["/a", "/b"])
        );

        let parsed = rule(r"not f:$sshd_file -> !r:^# && r:Port\s+22").unwrap();
        assert!(parsed.negated);
        let RuleKind::File {
            paths,
            tests: Some(tests),
        } = &parsed.kind
        else {
            panic!("{parsed:?}")
        };
        assert_eq!(paths, &["/etc/ssh/sshd_config"]);
        assert!(tests.line_matches("Port 22"));
        assert!(!tests.line_matches("# Port 22"));

        let parsed = rule(r"d:/etc/cron.d -> r:^x -> r:y").unwrap();
        assert!(matches!(
            parsed.kind,
            RuleKind::Directory {
                files: Some(NameMatch::Regex(_)),
                tests: Some(_),
                ..
            }
        ));

        let parsed = rule("c:sshd -T -> r:^permitrootlogin no").unwrap();
        let RuleKind::Command { argv, .. } = &parsed.kind else {
            panic!()
        };
        assert_eq!(argv, &["sshd", "-T"]);

        assert!(matches!(
            rule("p:auditd").unwrap().kind,
            RuleKind::Process { .. }
        ));
        assert!(matches!(
            rule(r"r:HKLM\X -> Y").unwrap().kind,
            RuleKind::Registry
        ));
    }

    #[test]
    fn numeric_compare() {
        let parsed = rule(r"f:/x -> n:^MaxAuthTries\s+(\d+) compare <= 4").unwrap();
        let RuleKind::File {
            tests: Some(tests), ..
        } = &parsed.kind
        else {
            panic!()
        };
        assert!(tests.line_matches("MaxAuthTries 4"));
        assert!(!tests.line_matches("MaxAuthTries 6"));
        assert!(!tests.line_matches("MaxAuthTries many"));
    }

    #[test]
    fn bad_rules_say_why() {
        assert!(matches!(rule("x:/etc"), Err(RuleError::UnknownType(_))));
        assert!(matches!(
            rule("/etc/passwd"),
            Err(RuleError::UnknownType(_))
        ));
        let err = rule("f:/x -> r:a && && r:b").unwrap_err();
        assert!(err.to_string().contains("&& &&"), "{err}");
        let err = rule(r"f:/x -> r:abc\").unwrap_err();
        assert!(
            matches!(err, RuleError::Regex { .. }) && !err.is_unsupported(),
            "{err}"
        );
        let err = rule(r"f:/x -> r:[0-9]+").unwrap_err();
        assert!(err.is_unsupported(), "{err}");
        let err = rule("c:ls /etc | grep x -> r:x").unwrap_err();
        assert!(err.is_unsupported(), "{err}");
        assert!(rule("c:ls /etc").is_err());
        assert!(rule(r"f:/x -> n:abc compare <= 4").is_err());
        assert!(rule(r"f:/x -> n:a(\d+) compare ~ 4").is_err());
    }
}
