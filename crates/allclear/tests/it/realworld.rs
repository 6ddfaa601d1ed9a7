//! The real projects in `../shared/realworld` (a Rails case-management app and a Drupal site,
//! written by nobody here), scanned as a user would with every advisory source in `../shared`.
//! Every finding is asserted, so a change that adds or drops one shows up in review, and
//! docs/ACCURACY.md judges each as true, false or debatable.
//!
//! Update after a deliberate change with `INSTA_UPDATE=always cargo test -p allclear --test it
//! realworld`, then re-judge the changed lines in docs/ACCURACY.md.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{allclear, text};

/// One database from every advisory source in `../shared`, built once for both projects.
fn database(shared: &Path) -> &'static Path {
    static DB: OnceLock<tempfile::TempDir> = OnceLock::new();
    DB.get_or_init(|| {
        let db = tempfile::tempdir().unwrap();
        let sources: Vec<PathBuf> = std::fs::read_dir(shared.join("advisories"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        let output = allclear()
            .args(["db", "--db"])
            .arg(db.path())
            .args(["import"])
            .args(&sources)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        db
    })
    .path()
}

/// One line per finding (severity, rule, where, title), sorted, then the exit code: what a
/// person reviewing the scan would read.
fn scan_lines(project: &str) -> Option<String> {
    let shared = crate::shared("realworld")?.parent()?.to_path_buf();
    let db = database(&shared);
    let output = allclear()
        .args(["scan", "--db"])
        .arg(db)
        .args(["--format", "json"])
        .arg(shared.join("realworld").join(project))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("scan output is not JSON ({err}): {}", text(&output)));
    let mut lines: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| {
            let location = &finding["location"];
            let line = location["line"]
                .as_u64()
                .map(|line| format!(":{line}"))
                .unwrap_or_default();
            format!(
                "{:<8} {} {}{} | {}",
                finding["severity"].as_str().unwrap_or("?"),
                finding["rule"].as_str().unwrap_or("?"),
                location["path"].as_str().unwrap_or("-"),
                line,
                finding["title"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    lines.sort();
    lines.push(format!("exit {:?}", output.status.code()));
    Some(lines.join("\n"))
}

#[test]
fn dcaf_case_management_rails_app() {
    if let Some(lines) = scan_lines("dcaf_case_management") {
        insta::assert_snapshot!("dcaf_case_management", lines);
    }
}

#[test]
fn vote_gov_drupal_site() {
    if let Some(lines) = scan_lines("vote-gov-drupal") {
        insta::assert_snapshot!("vote_gov_drupal", lines);
    }
}
