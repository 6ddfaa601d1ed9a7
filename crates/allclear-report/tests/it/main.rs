//! Integration tests of allclear-report: one binary, one module per concern.

mod coverage;
mod json_schema;
mod markdown_escaping;
mod properties;
mod sample;
mod sarif_schema;
mod snapshots;
mod upgrade;

use allclear_core::Report;
use allclear_report::{Format, RenderOptions, render};

/// Renders `report` to a string, with the options every snapshot uses unless it says otherwise.
pub fn rendered(report: &Report, format: Format, options: &RenderOptions) -> String {
    let mut out = Vec::new();
    if let Err(err) = render(report, format, options, &mut out) {
        panic!("rendering {format} failed: {err}");
    }
    match String::from_utf8(out) {
        Ok(text) => text,
        Err(err) => panic!("{format} output is not UTF-8: {err}"),
    }
}

/// Fixed options, so snapshots do not change with the crate version.
pub fn options() -> RenderOptions {
    RenderOptions {
        color: false,
        tool_version: "1.2.3".to_owned(),
        width: None,
        scanned: Some(14),
        // The sample's `secrets.aws-access-key` is not a real rule: it shows how an
        // undocumented rule renders.
        rules: allclear_deps::rule_docs()
            .chain(allclear_core::rule_docs())
            .collect(),
    }
}

/// Whether the byte at `at` is escaped by an odd run of backslashes before it.
pub fn escaped(text: &str, at: usize) -> bool {
    text[..at].bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}
