//! What a run covered: the all-clear sentence, the `checked:` line, JSON and SARIF.

use allclear_core::{Coverage, Ecosystem, EcosystemCoverage, Report};
use allclear_report::Format;
use serde_json::Value;

use crate::{options, rendered, sample};

fn coverage() -> Coverage {
    Coverage {
        files: 185,
        lockfiles: 3,
        ecosystems: vec![
            EcosystemCoverage {
                ecosystem: Ecosystem::RubyGems,
                lockfiles: 1,
                packages: 212,
                unchecked: 0,
                advisories: 1034,
                imported_at: Some("2026-12-05T10:00:00Z".to_owned()),
                age_days: Some(2),
            },
            EcosystemCoverage {
                ecosystem: Ecosystem::Npm,
                lockfiles: 2,
                packages: 1179,
                unchecked: 1179,
                advisories: 0,
                imported_at: None,
                age_days: None,
            },
        ],
        secret_rules: Some(124),
        staged: false,
    }
}

fn with_coverage(mut report: Report) -> Report {
    report.coverage = Some(coverage());
    report
}

#[test]
fn all_clear_says_what_was_covered() {
    let human = rendered(&with_coverage(sample::clean()), Format::Human, &options());
    assert_eq!(
        human.trim_end(),
        "all clear: no findings in 185 files, 3 lockfiles (RubyGems: 212 packages against \
         1,034 advisories, 2 days old; npm: 1,179 packages NOT checked, no advisories), 124 \
         secret rules"
    );
    let markdown = rendered(
        &with_coverage(sample::clean()),
        Format::Markdown,
        &options(),
    );
    assert!(
        markdown.contains("RubyGems: 212 packages against 1,034 advisories"),
        "{markdown}"
    );
}

#[test]
fn a_report_with_findings_has_a_checked_line() {
    let report = with_coverage(sample::report());
    let human = rendered(&report, Format::Human, &options());
    let lines: Vec<&str> = human.lines().collect();
    let checked = lines[lines.len() - 2];
    assert!(
        checked.starts_with("checked: 185 files, 3 lockfiles (RubyGems"),
        "{human}"
    );
    let markdown = rendered(&report, Format::Markdown, &options());
    assert!(markdown.contains("checked: 185 files"), "{markdown}");
}

#[test]
fn json_and_sarif_carry_the_coverage() {
    let report = with_coverage(sample::report());
    let json: Value = serde_json::from_str(&rendered(&report, Format::Json, &options())).unwrap();
    assert_eq!(json["coverage"]["ecosystems"][0]["advisories"], 1034);
    assert_eq!(json["coverage"]["secret_rules"], 124);
    let sarif: Value = serde_json::from_str(&rendered(&report, Format::Sarif, &options())).unwrap();
    assert_eq!(
        sarif["runs"][0]["properties"]["coverage"]["ecosystems"][1]["unchecked"],
        1179
    );
}
