//! `allclear rules …`: the secret rules and their self-check.

use std::io::Write;

/// Runs every rule against its own examples. CI runs this so a broken rule fails the build.
pub fn check() -> anyhow::Result<u8> {
    let mut failures: Vec<(String, String)> = allclear_secrets::check_rules()
        .into_iter()
        .map(|f| (f.rule, f.message))
        .collect();
    failures.extend(
        allclear_sast::check_rules()
            .into_iter()
            .map(|f| (f.rule, f.message)),
    );
    let rules = allclear_secrets::rules().len() + allclear_sast::rule_docs().len();
    let mut out = std::io::stdout().lock();
    for (rule, message) in &failures {
        writeln!(out, "{rule}: {message}")?;
    }
    if failures.is_empty() {
        writeln!(out, "all {rules} rules hold on their examples")?;
        Ok(0)
    } else {
        writeln!(
            out,
            "{} of the examples of {rules} rules failed",
            failures.len()
        )?;
        Ok(1)
    }
}

/// One line per rule: id, severity, name (the dependency rules first).
pub fn list() -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    for (id, severity, name) in allclear_deps::RULES {
        writeln!(out, "{id:<40} {severity:<8} {name}")?;
    }
    for rule in allclear_secrets::rules() {
        writeln!(out, "{:<40} {:<8} {}", rule.id, rule.severity, rule.name)?;
    }
    for (id, title, severity, _) in allclear_sast::rule_docs() {
        writeln!(out, "{id:<40} {severity:<8} {title}")?;
    }
    Ok(0)
}
