//! The JSON output against the published schema (`schema/report-v1.schema.json`), and the
//! schema against its documentation (`docs/json-schema.md`).

use std::collections::BTreeSet;

use allclear_report::{Format, REPORT_JSON_SCHEMA};
use serde_json::Value;

use crate::{options, rendered, sample};

fn schema() -> Value {
    match serde_json::from_str(REPORT_JSON_SCHEMA) {
        Ok(schema) => schema,
        Err(err) => panic!("the report schema is not JSON: {err}"),
    }
}

/// The published schema lets consumers meet fields added later (schema 1 grows by adding).
/// Here every object that lists its properties gets `additionalProperties: false`, so a field
/// added to the model without being documented fails this test.
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            for value in map.values_mut() {
                strict(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

fn validator() -> jsonschema::Validator {
    let mut schema = schema();
    strict(&mut schema);
    match jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
    {
        Ok(validator) => validator,
        Err(err) => panic!("the report schema does not compile: {err}"),
    }
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn json_of(report: &allclear_core::Report) -> Value {
    let text = rendered(report, Format::Json, &options());
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => panic!("JSON output is not JSON: {err}"),
    }
}

#[test]
fn rendered_reports_match_the_schema() {
    let validator = validator();
    let mut covered = sample::report();
    covered.coverage = Some(allclear_core::Coverage {
        files: 3,
        lockfiles: 1,
        ecosystems: vec![allclear_core::EcosystemCoverage {
            ecosystem: allclear_core::Ecosystem::RubyGems,
            lockfiles: 1,
            packages: 2,
            unchecked: 1,
            advisories: 10,
            imported_at: Some("2026-12-07T00:00:00Z".to_owned()),
            age_days: Some(0),
        }],
        secret_rules: Some(124),
        staged: false,
    });
    for report in [sample::report(), sample::clean(), covered] {
        let instance = json_of(&report);
        let errors = errors(&validator, &instance);
        assert!(
            errors.is_empty(),
            "schema violations:\n{}",
            errors.join("\n")
        );
    }
}

/// A change that makes a valid report invalid.
type Mutation = fn(&mut Value);

#[test]
fn the_schema_rejects_what_it_should() {
    let validator = validator();
    let good = json_of(&sample::report());
    let mutations: [(&str, Mutation); 6] = [
        ("no fingerprint", |v| {
            v["findings"][0]
                .as_object_mut()
                .map(|o| o.remove("fingerprint"));
        }),
        ("unknown severity", |v| {
            v["findings"][0]["severity"] = "severe".into()
        }),
        ("line 0", |v| {
            v["findings"][0]["location"]["line"] = 0.into()
        }),
        ("schema 2", |v| v["schema"] = 2.into()),
        ("undocumented field", |v| {
            v["findings"][0]["extra"] = true.into()
        }),
        ("count as text", |v| v["summary"]["findings"] = "12".into()),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(
            !validator.is_valid(&bad),
            "the schema accepts a report with {what}"
        );
    }
}

/// Every property name the schema defines.
fn property_names(schema: &Value, names: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                names.extend(properties.keys().cloned());
            }
            map.values().for_each(|v| property_names(v, names));
        }
        Value::Array(items) => items.iter().for_each(|v| property_names(v, names)),
        _ => {}
    }
}

#[test]
fn the_documentation_names_every_field() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/json-schema.md");
    let docs = match std::fs::read_to_string(path) {
        Ok(docs) => docs,
        Err(err) => panic!("{path}: {err}"),
    };
    let mut names = BTreeSet::new();
    property_names(&schema(), &mut names);
    assert!(names.len() > 20, "too few properties found: {names:?}");
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| !docs.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/json-schema.md does not document {missing:?}"
    );
}
