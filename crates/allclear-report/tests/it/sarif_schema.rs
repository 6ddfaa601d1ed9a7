//! SARIF output against the official SARIF 2.1.0 JSON schema and GitHub's extra rules.
//!
//! The schema is not in this repository. The `serde-sarif` crate publishes it as
//! `src/schema.json`; it is a dev-dependency under `cfg(any())` (never built), so
//! `cargo metadata` downloads its source (checksum from Cargo.lock) and tells us where it is.

use std::path::PathBuf;
use std::process::Command;

use allclear_report::Format;
use serde_json::Value;

use crate::{options, rendered, sample};

const SCHEMA_CRATE: &str = "serde-sarif";

/// Where the schema is, or why it could not be found.
fn schema_path() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut last_error = String::new();
    // Offline first: on a machine that already has the source this needs no network.
    for offline in [true, false] {
        let mut command = Command::new(&cargo);
        command
            .args(["metadata", "--format-version", "1"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if offline {
            command.arg("--offline");
        }
        let output = command
            .output()
            .map_err(|err| format!("could not run {cargo} metadata: {err}"))?;
        if !output.status.success() {
            last_error = String::from_utf8_lossy(&output.stderr).into_owned();
            continue;
        }
        let metadata: Value = serde_json::from_slice(&output.stdout)
            .map_err(|err| format!("cargo metadata printed no JSON: {err}"))?;
        let manifest = metadata["packages"]
            .as_array()
            .and_then(|packages| {
                packages
                    .iter()
                    .find(|p| p["name"] == SCHEMA_CRATE)
                    .and_then(|p| p["manifest_path"].as_str())
            })
            .ok_or_else(|| format!("{SCHEMA_CRATE} is not in cargo metadata's packages"))?;
        let path = PathBuf::from(manifest)
            .parent()
            .map(|dir| dir.join("src/schema.json"))
            .ok_or_else(|| format!("odd manifest path {manifest}"))?;
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{} does not exist", path.display()))
        };
    }
    Err(format!("cargo metadata failed: {last_error}"))
}

/// The official schema, or `None` after saying loudly why not (a failure under `CI=true`).
fn official_schema() -> Option<Value> {
    let loaded = schema_path().and_then(|path| {
        let text =
            std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
        serde_json::from_str::<Value>(&text).map_err(|err| format!("{}: {err}", path.display()))
    });
    match loaded {
        Ok(schema) => {
            assert_eq!(
                schema["title"], "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema",
                "{SCHEMA_CRATE} ships a different schema than expected"
            );
            Some(schema)
        }
        Err(why) => {
            let message = format!(
                "\n!!!!!!!!\nSKIPPED: SARIF output NOT validated against the SARIF 2.1.0 schema: {why}\n\
                 (the schema comes from the {SCHEMA_CRATE} crate's source via `cargo metadata`, \
                 which needs crates.io once)\n!!!!!!!!\n"
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message}");
            }
            // Straight to stderr: libtest captures `eprintln!` of passing tests, and this
            // must be seen.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
            None
        }
    }
}

/// The official schema's `language` pattern has a stray `]` (`…{2}]?$`). ECMA-262 reads a lone
/// `]` as a literal, but the draft-07 meta-schema check (`format: regex`) rejects it, so the
/// schema would not compile. `\]` means the same, so the schema's meaning is unchanged.
fn with_escaped_bracket(mut schema: Value) -> Value {
    const STRAY: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(pattern) = map.get_mut("pattern")
                    && pattern == STRAY
                {
                    *pattern = Value::String(STRAY.replace("}]?", "}\\]?"));
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

fn sarif_of(report: &allclear_core::Report) -> Value {
    let text = rendered(report, Format::Sarif, &options());
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => panic!("SARIF output is not JSON: {err}"),
    }
}

#[test]
fn sarif_matches_the_official_schema() {
    let Some(schema) = official_schema() else {
        return;
    };
    let schema = with_escaped_bracket(schema);
    let validator = match jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
    {
        Ok(validator) => validator,
        Err(err) => panic!("the SARIF schema does not compile: {err}"),
    };
    for report in [
        sample::report(),
        sample::clean(),
        crate::markdown_escaping::hostile(),
    ] {
        let sarif = sarif_of(&report);
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "SARIF schema violations:\n{}",
            errors.join("\n")
        );
    }
    // The validator is not vacuous: a level SARIF does not know is rejected.
    let mut bad = sarif_of(&sample::report());
    bad["runs"][0]["results"][0]["level"] = "critical".into();
    assert!(!validator.is_valid(&bad));
}

fn results(sarif: &Value) -> &Vec<Value> {
    match sarif["runs"][0]["results"].as_array() {
        Some(results) => results,
        None => panic!("no results array"),
    }
}

#[test]
fn sarif_meets_github_code_scanning_rules() {
    let report = sample::report();
    let sarif = sarif_of(&report);
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().map(Vec::len);
    assert_eq!(runs, Some(1));
    let driver = &sarif["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "allclear");
    assert_eq!(driver["version"], "1.2.3");
    assert!(
        driver["informationUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );

    let rules = driver["rules"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "rule ids repeat: {ids:?}");
    for rule in &rules {
        let id = rule["id"].as_str().unwrap_or_default();
        for field in ["shortDescription", "fullDescription", "help"] {
            let text = rule[field]["text"].as_str().unwrap_or_default();
            assert!(!text.trim().is_empty(), "{id}: empty {field}");
            if field != "help" {
                assert!(
                    text.chars().count() <= 1024,
                    "{id}: {field} longer than GitHub keeps"
                );
            }
        }
        let tags = rule["properties"]["tags"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            tags.iter().any(|t| t == "security"),
            "{id}: no security tag"
        );
        if let Some(score) = rule["properties"]["security-severity"].as_str() {
            let score: f64 = score.parse().unwrap_or(-1.0);
            assert!(
                (0.0..=10.0).contains(&score),
                "{id}: security-severity {score}"
            );
        } else {
            assert_eq!(
                rule["defaultConfiguration"]["level"], "note",
                "{id}: no score"
            );
        }
    }

    let results = results(&sarif);
    assert_eq!(results.len(), report.findings.len() + report.ignored.len());
    for result in results {
        let id = result["ruleId"].as_str().unwrap_or_default();
        let index = result["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(
            ids.get(index).copied(),
            Some(id),
            "ruleIndex does not point at ruleId"
        );
        assert!(
            result["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.trim().is_empty()),
            "{id}: empty message"
        );
        let fingerprint = result["partialFingerprints"]["allclearFingerprint/v1"].as_str();
        assert!(
            fingerprint.is_some_and(|f| f.len() == 32),
            "{id}: no fingerprint"
        );
        for location in result["locations"].as_array().cloned().unwrap_or_default() {
            let physical = &location["physicalLocation"];
            let uri = physical["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or_default();
            assert!(
                !uri.is_empty() && !uri.starts_with('/') && !uri.contains(':'),
                "{uri}"
            );
            assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            if let Some(region) = physical.get("region") {
                assert!(
                    region["startLine"].as_u64().is_some_and(|l| l >= 1),
                    "{region}"
                );
            }
        }
    }
}

#[test]
fn sarif_levels_scores_and_suppressions() {
    let sarif = sarif_of(&sample::report());
    let results = results(&sarif);
    let by_rule = |id: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == id)
            .unwrap_or_else(|| panic!("no result for {id}"))
    };
    let rack = by_rule("deps.vulnerable/CVE-2022-30123");
    assert_eq!(rack["level"], "error");
    assert_eq!(
        rack["locations"][0]["physicalLocation"]["region"]["startLine"],
        42
    );
    let ruby = by_rule("deps.vulnerable/CVE-2020-25613");
    assert!(
        ruby["locations"][0]["physicalLocation"]
            .get("region")
            .is_none(),
        "a finding without a line must have no region"
    );
    assert_eq!(
        by_rule("deps.vulnerable/GHSA-vh95-rmgr-6w4m")["level"],
        "note"
    );
    assert_eq!(by_rule("policy.ignore-expired")["level"], "warning");

    let ignored = by_rule("deps.vulnerable/CVE-2020-8161");
    let suppression = &ignored["suppressions"][0];
    assert_eq!(suppression["kind"], "external");
    assert_eq!(
        suppression["justification"],
        "not reachable: we do not serve files with Rack::Directory"
    );
    assert!(
        by_rule("deps.vulnerable/CVE-2022-30123")
            .get("suppressions")
            .is_none()
    );

    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rule = |id: &str| {
        rules
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no rule {id}"))
    };
    assert_eq!(
        rule("deps.vulnerable/CVE-2022-30123")["properties"]["security-severity"],
        "10.0"
    );
    assert_eq!(
        rule("deps.vulnerable/GHSA-7rrm-v45f-jp64")["properties"]["security-severity"],
        "8.0"
    );
    assert_eq!(
        rule("secrets.aws-access-key")["properties"]["security-severity"],
        "8.0"
    );

    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        notes.len(),
        3,
        "one error, one warning and one input not fully checked"
    );
    let skipped = &notes[2];
    assert_eq!(skipped["level"], "warning");
    assert!(
        skipped["message"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("not fully checked: archive expands")),
        "{skipped}"
    );
    assert_eq!(
        skipped["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "vendor/assets.zip"
    );
}

#[test]
fn sarif_never_carries_details() {
    let text = rendered(&sample::report(), Format::Sarif, &options());
    assert!(
        !text.contains("AKIA************MPLE"),
        "a details value reached SARIF"
    );
    let markdown = rendered(&sample::report(), Format::Markdown, &options());
    assert!(
        !markdown.contains("AKIA************MPLE"),
        "a details value reached Markdown"
    );
}
