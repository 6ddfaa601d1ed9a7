//! `allclear scan`'s code check (allclear-sast) through the binary: the walk, the confidence
//! filter, the report formats, fingerprints, skipped files and the policy's own rules.

use std::path::Path;

use crate::{allclear, text};

const CONTROLLER: &str = "class UsersController < ApplicationController
  def index
    @users = User.where(\"name = '#{params[:q]}'\")
    @safe = User.where(\"name = ?\", params[:q])
    sort = params[:sort]
    @sorted = User.order(sort)
    @weak = User.order(\"#{sort_column} #{sort_direction}\")
  end
end
";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn scan_json(root: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let output = allclear()
        .args(["scan", "--only", "code", "--format", "json"])
        .args(extra)
        .arg(root)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", text(&output)));
    (output.status.code(), report, text(&output))
}

fn code_findings(report: &serde_json::Value) -> Vec<(String, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["location"]["line"].as_u64().unwrap(),
                f["details"]["confidence"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn sql_injection_is_told_from_parameterised_queries() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app/controllers/users_controller.rb",
        CONTROLLER,
    );
    let (code, report, output) = scan_json(dir.path(), &[]);
    assert_eq!(code, Some(1), "{output}");
    assert_eq!(
        code_findings(&report),
        vec![
            ("code.rails.sql-injection".to_owned(), 3, "high".to_owned()),
            (
                "code.rails.sql-injection".to_owned(),
                6,
                "medium".to_owned()
            ),
        ]
    );
    // The weak one (no input traced) is counted, not listed.
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("1 finding(s) below medium confidence"),
        "{warnings}"
    );

    let (_, report, _) = scan_json(dir.path(), &["--min-confidence", "weak"]);
    assert_eq!(code_findings(&report).len(), 3);
    let (_, report, _) = scan_json(dir.path(), &["--min-confidence", "high"]);
    assert_eq!(code_findings(&report).len(), 1);
}

#[test]
fn fingerprints_survive_moved_lines() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app/controllers/users_controller.rb",
        CONTROLLER,
    );
    let fingerprints = |report: &serde_json::Value| -> Vec<String> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, before, _) = scan_json(dir.path(), &[]);
    write(
        dir.path(),
        "app/controllers/users_controller.rb",
        &format!("# a comment\n\n{CONTROLLER}"),
    );
    let (_, after, _) = scan_json(dir.path(), &[]);
    assert_eq!(fingerprints(&before), fingerprints(&after));
    assert_eq!(code_findings(&after)[0].1, 5);
}

#[test]
fn files_that_do_not_parse_are_named_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app/controllers/users_controller.rb",
        CONTROLLER,
    );
    write(
        dir.path(),
        "app/models/broken.rb",
        "class Broken\n  def a(\nend\n",
    );
    write(
        dir.path(),
        "app/views/a/show.html.erb",
        "<p><%= if %></p>\n<% foo(",
    );
    write(
        dir.path(),
        "app/views/a/index.html.haml",
        "%p= params[:q]\n",
    );
    let (code, report, output) = scan_json(dir.path(), &[]);
    assert_eq!(code, Some(1), "{output}");
    assert_eq!(code_findings(&report).len(), 2);
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("app/models/broken.rb (syntax error at line"),
        "{warnings}"
    );
    assert!(warnings.contains("app/views/a/show.html.erb"), "{warnings}");
    assert!(
        warnings.contains("HAML templates are not supported"),
        "{warnings}"
    );
}

#[test]
fn code_findings_render_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app/controllers/users_controller.rb",
        CONTROLLER,
    );
    for format in ["sarif", "markdown", "human"] {
        let output = allclear()
            .args(["scan", "--only", "code", "--format", format])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let shown = match format {
            "markdown" => "SQL built from request input",
            _ => "code.rails.sql-injection",
        };
        assert!(stdout.contains(shown), "{format}: {stdout}");
        assert!(stdout.contains("controller.rb"), "{format}: {stdout}");
    }
}

#[test]
fn drupal_rules_follow_the_projects_version() {
    let dir = tempfile::tempdir().unwrap();
    let module = "<?php\nfunction m_page() {\n  drupal_set_message('Saved ' . $_POST['t']);\n  return db_query(\"SELECT * FROM {node} WHERE title = '\" . $_GET['t'] . \"'\");\n}\n";
    write(dir.path(), "web/modules/custom/m/m.module", module);
    write(
        dir.path(),
        "composer.json",
        r#"{"require": {"drupal/core": "^10"}}"#,
    );
    let (_, report, output) = scan_json(dir.path(), &[]);
    let rules: Vec<String> = code_findings(&report).into_iter().map(|f| f.0).collect();
    assert_eq!(rules, vec!["code.drupal.sql-concat"], "{output}");

    write(
        dir.path(),
        "composer.json",
        r#"{"require": {"drupal/drupal": "7.99"}}"#,
    );
    let (_, report, _) = scan_json(dir.path(), &[]);
    let rules: Vec<String> = code_findings(&report).into_iter().map(|f| f.0).collect();
    assert_eq!(
        rules,
        vec!["code.drupal.set-message-input", "code.drupal.sql-concat"]
    );
}

#[test]
fn policy_rules_run_and_broken_ones_stop_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app/models/a.rb",
        "def a\n  legacy_fetch(params[:id])\nend\n",
    );
    write(
        dir.path(),
        "allclear.toml",
        "[code]\nrules = [\"rules/ours.yml\"]\nmin-confidence = \"weak\"\n",
    );
    let rule = "- id: code.ours.legacy-fetch\n  title: Legacy fetch with input\n  severity: low\n  language: ruby\n  match:\n    - call: [legacy_fetch]\n  docs: {what: a, why: b, example: c, fix: d}\n";
    write(dir.path(), "rules/ours.yml", rule);
    let (code, report, output) = scan_json(dir.path(), &[]);
    assert_eq!(code, Some(1), "{output}");
    assert_eq!(code_findings(&report)[0].0, "code.ours.legacy-fetch");

    write(
        dir.path(),
        "rules/ours.yml",
        &rule.replace(
            "call: [legacy_fetch]",
            "call: [legacy_fetch]\n      when: '(['",
        ),
    );
    let output = allclear()
        .args(["scan", "--only", "code"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("code.ours.legacy-fetch"), "{stderr}");
    assert!(stderr.contains("rules/ours.yml"), "{stderr}");
}

#[test]
fn rules_check_covers_the_code_rules() {
    let output = allclear().args(["rules", "check"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let output = allclear().args(["rules", "list"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("code.rails.sql-injection"), "{stdout}");
    assert!(stdout.contains("code.drupal.twig-raw"), "{stdout}");
}
