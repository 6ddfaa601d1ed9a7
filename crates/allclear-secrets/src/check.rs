//! `allclear rules check`: every rule compiles, finds its examples and misses its
//! counter-examples.

use crate::engine::{Engine, FileTraits};
use crate::rules::rules;

/// One way a rule failed its own examples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCheckFailure {
    pub rule: String,
    pub message: String,
}

/// Checks every rule against its examples; empty when all hold.
pub fn check_rules() -> Vec<RuleCheckFailure> {
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for rule in rules() {
        let fail = |message: String| RuleCheckFailure {
            rule: rule.id.to_owned(),
            message,
        };
        if !seen.insert(rule.id) {
            failures.push(fail("duplicate rule id".to_owned()));
        }
        if rule.examples.is_empty() || rule.counter_examples.is_empty() {
            failures.push(fail(
                "needs at least one example and one counter-example".to_owned(),
            ));
        }
        let engine = match Engine::new(std::iter::once(rule))
            .and_then(|engine| engine.compile_all().map(|()| engine))
        {
            Ok(engine) => engine,
            Err(e) => {
                failures.push(fail(format!("does not compile: {e}")));
                continue;
            }
        };
        let found = |text: &str| {
            let mut hits = Vec::new();
            engine.scan(text.as_bytes(), FileTraits::default(), &mut hits);
            !hits.is_empty()
        };
        for (i, example) in rule.examples.iter().enumerate() {
            if !found(example) {
                failures.push(fail(format!("example {} is not found", i + 1)));
            }
        }
        for (i, example) in rule.counter_examples.iter().enumerate() {
            if found(example) {
                failures.push(fail(format!("counter-example {} is found", i + 1)));
            }
        }
    }
    for rule in crate::files::file_rules() {
        let fail = |message: String| RuleCheckFailure {
            rule: rule.id.to_owned(),
            message,
        };
        let fires = |path: &str, content: &str| {
            crate::files::check(path, content.as_bytes())
                .iter()
                .any(|f| f.rule == rule.id)
        };
        for (i, (path, content)) in rule.examples.iter().enumerate() {
            if !fires(path, content) {
                failures.push(fail(format!("example {} ({path}) is not found", i + 1)));
            }
        }
        for (i, (path, content)) in rule.counter_examples.iter().enumerate() {
            if fires(path, content) {
                failures.push(fail(format!("counter-example {} ({path}) is found", i + 1)));
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_passes_its_examples() {
        let failures = check_rules();
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
