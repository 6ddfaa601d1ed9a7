//! allclear-sast's integration tests: the rules against their own examples, the annotated
//! fixtures, and the engine on arbitrary input.

mod fixtures;
mod robustness;

#[test]
fn every_rule_holds_on_its_examples() {
    let failures = allclear_sast::check_rules();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn rule_docs_cover_every_rule() {
    let docs = allclear_sast::rule_docs();
    let engine = allclear_sast::Engine::builtin().unwrap();
    assert_eq!(docs.len(), engine.rule_ids().len());
    assert!(docs.len() >= 30, "{}", docs.len());
    for (id, title, _, doc) in &docs {
        assert!(
            !title.is_empty() && !doc.what.is_empty() && !doc.fix.is_empty(),
            "{id}"
        );
    }
}

#[test]
fn a_broken_user_rule_names_itself() {
    let mut engine = allclear_sast::Engine::builtin().unwrap();
    let yaml = "- id: code.mine.broken\n  title: t\n  severity: high\n  language: ruby\n  match:\n    - call: [x]\n      value: '(unclosed'\n  docs: {what: a, why: b, example: c, fix: d}\n";
    let err = engine.add_rules("mine.yml", yaml).unwrap_err().to_string();
    assert!(
        err.contains("code.mine.broken") && err.contains("mine.yml"),
        "{err}"
    );
}

#[test]
fn user_rules_run_beside_the_builtin_ones() {
    let mut engine = allclear_sast::Engine::builtin().unwrap();
    let yaml = "- id: code.mine.legacy-api\n  title: Legacy API call\n  severity: low\n  language: ruby\n  match:\n    - call: [legacy_fetch]\n      needs: input\n  docs: {what: a, why: b, example: c, fix: d}\n  valid: ['legacy_fetch(1)']\n  invalid: ['legacy_fetch(params[:x])']\n";
    engine.add_rules("mine.yml", yaml).unwrap();
    assert!(engine.check().is_empty(), "{:?}", engine.check());
    let scan = engine
        .scan_file(
            "app/models/a.rb",
            b"def a\n  legacy_fetch(params[:id])\nend\n",
        )
        .unwrap();
    let outcome = engine.finish(vec![scan], allclear_sast::Confidence::Weak);
    assert_eq!(outcome.findings.len(), 1);
    assert_eq!(outcome.findings[0].rule, "code.mine.legacy-api");
}
