//! Every JSON output of the binary against its schema in docs/schemas/ (and scan's and fim's
//! reports against the report schema), with unknown fields forbidden: a field added to an
//! output without being documented fails here. docs/json-schema.md must link each schema
//! and name each of its top-level fields.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{allclear, fail2ban_config, fixture_db, fixtures, text};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every schema this test covers, as (file under the workspace, the command it describes).
const SCHEMAS: &[&str] = &[
    "crates/allclear-report/schema/report-v1.schema.json",
    "docs/schemas/fim-init-v1.schema.json",
    "docs/schemas/logs-scan-v1.schema.json",
    "docs/schemas/logs-status-v1.schema.json",
    "docs/schemas/digest-v1.schema.json",
    "docs/schemas/db-status-v1.schema.json",
];

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Closes every object that lists its properties (the published schemas stay open, so that
/// consumers meet fields added later).
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            map.values_mut().for_each(strict);
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

fn assert_valid(schema_file: &str, output: &std::process::Output) -> Value {
    validate(schema_file, output, true)
}

/// Validates against the schema as published (open to fields it does not list), or `closed`.
fn validate(schema_file: &str, output: &std::process::Output, closed: bool) -> Value {
    let instance: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(output)));
    let mut schema = read_json(&workspace().join(schema_file));
    if closed {
        strict(&mut schema);
    }
    let validator = jsonschema::options()
        .build(&schema)
        .unwrap_or_else(|e| panic!("{schema_file} does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match {schema_file}:\n{}\n{}",
        errors.join("\n"),
        text(output)
    );
    instance
}

#[test]
fn every_schema_is_documented_field_by_field() {
    let page = std::fs::read_to_string(workspace().join("docs/json-schema.md")).unwrap();
    for file in SCHEMAS {
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        assert!(
            page.contains(name),
            "docs/json-schema.md does not link {file}"
        );
        let schema = read_json(&workspace().join(file));
        for field in schema["properties"].as_object().unwrap().keys() {
            assert!(
                page.contains(&format!("`{field}`")),
                "docs/json-schema.md does not name `{field}` of {file}"
            );
        }
    }
}

#[test]
fn scan_json_matches_the_report_schema() {
    let db = fixture_db();
    let output = allclear()
        .args(["scan", "--format", "json", "--db"])
        .arg(db.path())
        .arg(fixtures().join("repo"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report = assert_valid(
        "crates/allclear-report/schema/report-v1.schema.json",
        &output,
    );
    assert!(!report["findings"].as_array().unwrap().is_empty());
}

#[test]
fn db_status_json_matches_its_schema() {
    let db = fixture_db();
    let output = allclear()
        .args(["db", "status", "--format", "json", "--db"])
        .arg(db.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let status = assert_valid("docs/schemas/db-status-v1.schema.json", &output);
    assert_eq!(status["schema"], 1);
}

#[test]
fn fim_json_matches_its_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a.conf"), "a = 1\n").unwrap();
    std::fs::write(
        dir.path().join("policy.toml"),
        format!(
            "[fim]\ndefaults = false\ndpkg-dir = \"\"\n[fim.groups.tree]\npaths = [{:?}]\n\
             attributes = [\"static\"]\n",
            tree.display().to_string()
        ),
    )
    .unwrap();
    let fim = |sub: &str| {
        allclear()
            .current_dir(dir.path())
            .args(["host", "fim", sub, "--config", "policy.toml"])
            .args(["--baseline", "fim.baseline", "--format", "json"])
            .output()
            .unwrap()
    };
    let init = fim("init");
    assert_eq!(init.status.code(), Some(0), "{}", text(&init));
    assert_valid("docs/schemas/fim-init-v1.schema.json", &init);
    std::fs::write(tree.join("a.conf"), "a = 2, longer\n").unwrap();
    let check = fim("check");
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let report = assert_valid(
        "crates/allclear-report/schema/report-v1.schema.json",
        &check,
    );
    assert_eq!(report["findings"][0]["rule"], "fim.changed");
}

#[test]
fn logs_scan_json_is_a_report_with_the_filter_details() {
    let output = allclear()
        .current_dir(fixtures().join("cli"))
        .args(["host", "logs", "scan", "--config-dir", "fail2ban"])
        .args(["--filter", "demo-sshd", "--maxretry", "3", "--all-matches"])
        .args(["--format", "json", "auth.log"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    // Readable as any findings report (whose schema admits the extra `logs`), and in full by
    // its own schema.
    validate(
        "crates/allclear-report/schema/report-v1.schema.json",
        &output,
        false,
    );
    let document = assert_valid("docs/schemas/logs-scan-v1.schema.json", &output);
    assert_eq!(document["findings"][0]["rule"], "logs.ban");
    assert_eq!(document["summary"]["findings"], 1);
    assert_eq!(document["logs"]["inputs"][0]["lines"], 5);
}

#[test]
fn logs_status_json_matches_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let config = fail2ban_config(dir.path());
    let state = dir.path().join("state");
    let ban = allclear()
        .args(["host", "logs", "ban", "198.51.100.9", "--jail", "demo-sshd"])
        .args(["--action", "log", "--time", "1h", "--config"])
        .arg(&config)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(ban.status.code(), Some(0), "{}", text(&ban));
    let output = allclear()
        .args(["host", "logs", "status", "--format", "json", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let status = assert_valid("docs/schemas/logs-status-v1.schema.json", &output);
    assert_eq!(status["bans"][0]["ip"], "198.51.100.9");
}

#[test]
fn digest_json_matches_its_schema() {
    let day = workspace().join("crates/allclear-digest/tests/fixtures/day");
    let output = allclear()
        .env("TZ", "UTC")
        .current_dir(&day)
        .args([
            "host",
            "logs",
            "digest",
            "--since",
            "24h",
            "--now",
            "2026-11-23T12:00:00Z",
        ])
        .args([
            "--format",
            "json",
            "--log",
            "auth.log",
            "auth.log.1.gz",
            "syslog",
        ])
        .args([
            "kern.log",
            "dpkg.log",
            "nginx/access.log",
            "nginx/error.log",
        ])
        .args(["app/log/production.log", "missing.log"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let digest = assert_valid("docs/schemas/digest-v1.schema.json", &output);
    assert!(!digest["attention"].as_array().unwrap().is_empty());
}
