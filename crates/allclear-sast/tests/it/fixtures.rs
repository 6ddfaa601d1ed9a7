//! The annotated fixtures: a comment `ruleid: RULE` says the next code line must be reported
//! by RULE; `ok: RULE[, RULE]` says it must not. Any finding on a line not marked `ruleid`
//! fails too. Each directory under tests/fixtures is one project (its facts, such as the
//! Drupal version, apply to all its files), scanned at every confidence.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use allclear_sast::{Confidence, Engine};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// (rule id, 1-based line) pairs.
type Marks = BTreeSet<(String, usize)>;

/// The (rule, line) pairs the annotations expect and forbid.
fn annotations(text: &str) -> (Marks, Marks) {
    let mut expected = BTreeSet::new();
    let mut forbidden = BTreeSet::new();
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        for (marker, set) in [("ruleid:", &mut expected), ("ok:", &mut forbidden)] {
            let Some(at) = line.find(marker) else {
                continue;
            };
            let rules = line[at + marker.len()..].trim_end_matches(|c: char| {
                c == '%' || c == '>' || c == '#' || c == '}' || c.is_whitespace()
            });
            // The annotated line: the next one that is not itself an annotation.
            let target = (index + 1..lines.len())
                .find(|&i| !lines[i].contains("ruleid:") && !lines[i].contains("ok:"))
                .expect("an annotation is followed by code");
            for rule in rules.split(',') {
                set.insert((rule.trim().to_owned(), target + 1));
            }
        }
    }
    (expected, forbidden)
}

fn check_project(name: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let engine = Engine::builtin().unwrap();
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let mut scans = Vec::new();
    let mut texts = Vec::new();
    for path in &paths {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(path).unwrap();
        if let Some(scan) = engine.scan_file(&rel, &bytes) {
            assert!(
                scan.skipped.is_none(),
                "{rel} was skipped: {:?}",
                scan.skipped
            );
            scans.push(scan);
        }
        texts.push((rel, String::from_utf8(bytes).unwrap()));
    }
    let outcome = engine.finish(scans, Confidence::Weak);
    let mut checked = 0;
    for (rel, text) in &texts {
        let (expected, forbidden) = annotations(text);
        let found: BTreeSet<(String, usize)> = outcome
            .findings
            .iter()
            .filter(|f| &f.location.path == rel)
            .map(|f| (f.rule.clone(), f.location.line.unwrap() as usize))
            .collect();
        let missed: Vec<_> = expected.difference(&found).collect();
        let unexpected: Vec<_> = found.difference(&expected).collect();
        let wrongly: Vec<_> = forbidden.intersection(&found).collect();
        assert!(
            missed.is_empty() && unexpected.is_empty() && wrongly.is_empty(),
            "{rel}: missed {missed:?}, unexpected {unexpected:?}, reported on ok lines {wrongly:?}"
        );
        checked += expected.len() + forbidden.len();
    }
    checked
}

#[test]
fn rails_fixtures() {
    let checked = check_project("rails");
    assert!(checked >= 55, "{checked}");
}

#[test]
fn drupal_fixtures() {
    assert!(check_project("drupal") >= 30);
}

#[test]
fn drupal7_fixtures() {
    let checked = check_project("drupal7");
    assert!(checked >= 9, "{checked}");
}

#[test]
fn every_rule_has_a_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let mut annotated = BTreeSet::new();
    for path in paths {
        let text = std::fs::read_to_string(path).unwrap();
        annotated.extend(annotations(&text).0.into_iter().map(|(rule, _)| rule));
    }
    let engine = Engine::builtin().unwrap();
    let missing: Vec<&str> = engine
        .rule_ids()
        .into_iter()
        .filter(|id| !annotated.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a ruleid fixture: {missing:?}"
    );
}
