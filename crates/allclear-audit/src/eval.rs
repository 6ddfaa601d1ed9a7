//! Evaluating a loaded SCA policy against a [`System`].
//!
//! Rule and check results follow Wazuh's documented truth table (custom SCA policies,
//! "Condition"), with two results Wazuh does not have, so that a report never claims what
//! was not checked:
//!
//! - **not run**: a command rule when commands are not allowed, or a rule allclear does not
//!   evaluate (see [`crate::RuleError::is_unsupported`]). When the other rules decide the check
//!   anyway (`all` with a failed rule, `any` with a passed one) that decision stands; else
//!   the check is not run.
//! - **error**: a file that exists but cannot be read, a command that timed out, a rule that
//!   is invalid. The check is an error, never a pass.

use crate::policy::{Check, Condition, LoadError, ScaPolicy};
use crate::rule::{Rule, RuleKind, Tests};
use crate::system::{AccessError, CommandOutput, Kind, System};

/// The result of a rule or a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// The target of a content test does not exist, or the check cannot be decided on this
    /// system (a registry rule, a host-only check under `--root`).
    NotApplicable(String),
    /// Not evaluated: commands not allowed, or a rule allclear does not support.
    NotRun(String),
    /// Something could not be read or run, or the rule is invalid.
    Error(String),
}

impl Outcome {
    /// A short word for counts and tables.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotApplicable(_) => "not applicable",
            Outcome::NotRun(_) => "not run",
            Outcome::Error(_) => "error",
        }
    }

    /// Why, for not-applicable, not-run and error results.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::NotApplicable(reason) | Outcome::NotRun(reason) | Outcome::Error(reason) => {
                Some(reason)
            }
            Outcome::Passed | Outcome::Failed => None,
        }
    }
}

/// One check's result, with what a report needs to explain it.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub policy: String,
    pub check: Check,
    pub outcome: Outcome,
    /// What the check saw (the setting and the file and line it came from), when it says.
    pub evidence: Option<String>,
}

/// A whole policy's results.
#[derive(Debug, Clone)]
pub struct PolicyResult {
    pub policy_id: String,
    pub policy_name: String,
    /// `Some(reason)` when the requirements did not hold and no check ran.
    pub skipped: Option<String>,
    /// Things to tell the reader (requirement rules left out under `--root`).
    pub notes: Vec<String>,
    pub checks: Vec<CheckResult>,
}

/// Runs every check of `policy` on `system`.
pub fn evaluate_policy(policy: &ScaPolicy, system: &System) -> PolicyResult {
    let mut notes = Vec::new();
    let skipped = policy
        .requirements
        .as_ref()
        .and_then(|requirements| match &requirements.rules {
            Err(err) => Some(format!("its requirements do not load: {err}")),
            Ok(rules) => {
                // Under --root, a requirement such as `f:/proc/sys/kernel/ostype -> r:Linux`
                // describes the auditing host: it is left out, and the report says so.
                let mut results = Vec::new();
                for rule in rules {
                    match evaluate_rule(rule, system) {
                        Outcome::NotApplicable(reason) if system.root().is_some() => {
                            notes.push(format!(
                                "{}: requirement `{}` left out under --root ({reason})",
                                policy.id, rule.text
                            ));
                        }
                        other => results.push(other),
                    }
                }
                match combine(requirements.condition, results) {
                    Outcome::Passed => None,
                    other => Some(format!(
                        "its requirements ({}) are {}{}",
                        requirements.title,
                        match other {
                            Outcome::Failed => "not met",
                            _ => "undecided",
                        },
                        other.reason().map(|r| format!(": {r}")).unwrap_or_default()
                    )),
                }
            }
        });
    let outcomes = match &skipped {
        Some(reason) => vec![
            Outcome::NotRun(format!("policy {} skipped: {reason}", policy.id));
            policy.checks.len()
        ],
        None => evaluate_checks(&policy.checks, system),
    };
    let checks = policy
        .checks
        .iter()
        .zip(outcomes)
        .map(|(check, outcome)| CheckResult {
            policy: policy.id.clone(),
            check: check.clone(),
            outcome,
            evidence: None,
        })
        .collect();
    PolicyResult {
        policy_id: policy.id.clone(),
        policy_name: policy.name.clone(),
        skipped,
        notes,
        checks,
    }
}

/// Threads evaluating checks at once. Most of a command-heavy policy's time is spent
/// waiting for its commands (CIS Debian 12 runs about 130), not on the CPU, so more threads
/// than cores pay: measured 2.9 s with one thread on two cores.
const WORKERS: usize = 8;

/// Every check's outcome, in order, evaluated by up to [`WORKERS`] threads.
fn evaluate_checks(checks: &[Check], system: &System) -> Vec<Outcome> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = WORKERS.min(checks.len()).max(1);
    let mut done: Vec<(usize, Outcome)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(check) = checks.get(index) else {
                            break;
                        };
                        mine.push((index, evaluate_check(check, system)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

/// One check's outcome.
pub fn evaluate_check(check: &Check, system: &System) -> Outcome {
    let rules = match &check.rules {
        Ok(rules) => rules,
        Err(err @ LoadError::Rule(_)) if err.is_unsupported() => {
            return Outcome::NotRun(format!("unsupported rule: {err}"));
        }
        Err(err) => return Outcome::Error(format!("check {}: {err}", check.id)),
    };
    let results = rules.iter().map(|rule| evaluate_rule(rule, system));
    combine(check.condition, results.collect())
}

/// Combines rule results by the check's condition (Wazuh's truth table, plus not-run and
/// error: see the module docs).
pub fn combine(condition: Condition, results: Vec<Outcome>) -> Outcome {
    if let Some(error) = results.iter().find(|r| matches!(r, Outcome::Error(_))) {
        return error.clone();
    }
    let any = |wanted: fn(&Outcome) -> bool| results.iter().find(|r| wanted(r)).cloned();
    let passed = any(|r| *r == Outcome::Passed);
    let failed = any(|r| *r == Outcome::Failed);
    let not_applicable = any(|r| matches!(r, Outcome::NotApplicable(_)));
    let not_run = any(|r| matches!(r, Outcome::NotRun(_)));
    match condition {
        Condition::All => {
            if failed.is_some() {
                Outcome::Failed
            } else if let Some(unknown) = not_run {
                unknown
            } else if let Some(na) = not_applicable {
                na
            } else {
                Outcome::Passed
            }
        }
        Condition::Any => {
            if passed.is_some() {
                Outcome::Passed
            } else if let Some(unknown) = not_run {
                unknown
            } else if let Some(na) = not_applicable {
                na
            } else {
                Outcome::Failed
            }
        }
        Condition::None => {
            if passed.is_some() {
                Outcome::Failed
            } else if let Some(unknown) = not_run {
                unknown
            } else if let Some(na) = not_applicable {
                na
            } else {
                Outcome::Passed
            }
        }
    }
}

/// One rule's outcome, `not` applied.
pub fn evaluate_rule(rule: &Rule, system: &System) -> Outcome {
    let outcome = match evaluate_positive(rule, system) {
        Ok(outcome) => outcome,
        Err(err) => Outcome::Error(error_chain(&err)),
    };
    match (rule.negated, outcome) {
        (true, Outcome::Passed) => Outcome::Failed,
        (true, Outcome::Failed) => Outcome::Passed,
        (_, other) => other,
    }
}

fn error_chain(err: &AccessError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn pass_if(condition: bool) -> Outcome {
    if condition {
        Outcome::Passed
    } else {
        Outcome::Failed
    }
}

fn evaluate_positive(rule: &Rule, system: &System) -> Result<Outcome, AccessError> {
    match &rule.kind {
        RuleKind::Registry => Ok(Outcome::NotApplicable(
            "registry rules apply to Windows only".to_owned(),
        )),
        RuleKind::Process { name } => {
            if system.root().is_some() {
                return Ok(Outcome::NotApplicable(
                    "running processes cannot be seen under --root".to_owned(),
                ));
            }
            Ok(pass_if(system.processes()?.iter().any(|p| p == name)))
        }
        RuleKind::Command { argv, tests } => {
            if system.root().is_some() {
                return Ok(Outcome::NotApplicable(
                    "commands describe the running host, not the tree under --root".to_owned(),
                ));
            }
            if !system.commands_allowed() {
                return Ok(Outcome::NotRun(
                    "commands not allowed (--allow-commands, or [audit] allow-commands in allclear.toml)"
                        .to_owned(),
                ));
            }
            match system.run(argv)? {
                CommandOutput::NotFound => Ok(Outcome::NotApplicable(format!(
                    "`{}` is not installed",
                    argv[0]
                ))),
                CommandOutput::Text(text) => Ok(pass_if(any_line(&text, tests))),
            }
        }
        RuleKind::File { paths, tests } => {
            for path in paths {
                if let Some(reason) = system.host_only_reason(path) {
                    return Ok(Outcome::NotApplicable(reason));
                }
            }
            match tests {
                None => {
                    for path in paths {
                        if system.kind(path)? == Kind::File {
                            return Ok(Outcome::Passed);
                        }
                    }
                    Ok(Outcome::Failed)
                }
                Some(tests) => {
                    let mut existed = false;
                    for path in paths {
                        if let Some(text) = system.read(path)? {
                            existed = true;
                            if any_line(&text, tests) {
                                return Ok(Outcome::Passed);
                            }
                        }
                    }
                    Ok(if existed {
                        Outcome::Failed
                    } else {
                        Outcome::NotApplicable(format!("{} does not exist", paths.join(", ")))
                    })
                }
            }
        }
        RuleKind::Directory { dirs, files, tests } => {
            for dir in dirs {
                if let Some(reason) = system.host_only_reason(dir) {
                    return Ok(Outcome::NotApplicable(reason));
                }
            }
            let Some(files) = files else {
                for dir in dirs {
                    if system.kind(dir)? == Kind::Dir {
                        return Ok(Outcome::Passed);
                    }
                }
                return Ok(Outcome::Failed);
            };
            let mut any_dir = false;
            let mut any_file = false;
            for dir in dirs {
                let Some(found) = system.files_under(dir)? else {
                    continue;
                };
                any_dir = true;
                for file in found {
                    let name = file.rsplit('/').next().unwrap_or_default();
                    if !files.matches(name) {
                        continue;
                    }
                    any_file = true;
                    let Some(tests) = tests else {
                        return Ok(Outcome::Passed);
                    };
                    if let Some(text) = system.read(&file)?
                        && any_line(&text, tests)
                    {
                        return Ok(Outcome::Passed);
                    }
                }
            }
            Ok(match (tests, any_dir, any_file) {
                (_, false, _) if tests.is_some() => {
                    Outcome::NotApplicable(format!("{} does not exist", dirs.join(", ")))
                }
                (Some(_), true, false) => {
                    Outcome::NotApplicable(format!("no matching file in {}", dirs.join(", ")))
                }
                _ => Outcome::Failed,
            })
        }
    }
}

fn any_line(text: &str, tests: &Tests) -> bool {
    text.lines().any(|line| tests.line_matches(line))
}
