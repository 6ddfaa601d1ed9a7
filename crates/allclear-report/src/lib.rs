//! Renderers for allclear reports: human (terminal), JSON, SARIF 2.1.0 and Markdown.
//!
//! Every renderer takes the same [`Report`] (findings after the policy was applied) and writes
//! to any [`std::io::Write`]. Nothing here prints, exits or reads the environment: the binary
//! decides colour, width and where the bytes go.
//!
//! Text that reaches a report comes partly from the internet (advisory titles) and partly from
//! the scanned repository (package names, paths), so each renderer neutralises it for its
//! medium: control and bidi characters never reach a terminal, Markdown and HTML in titles are
//! escaped, shell arguments are quoted, and `details` values are never copied into SARIF or
//! Markdown.
//!
//! ```
//! use allclear_core::{Ecosystem, Finding, Fix, Location, PackageRef, Report, Severity};
//! use allclear_report::{render, upgrade_commands, Format, RenderOptions};
//!
//! let finding = Finding::new("deps.vulnerable", Severity::High, "rack 2.0.1: shell escape injection")
//!     .with_location(Location::new("Gemfile.lock").with_line(42))
//!     .with_key("rack@2.0.1/CVE-2022-30123")
//!     .with_package(PackageRef { ecosystem: Ecosystem::RubyGems, name: "rack".into(), version: "2.0.1".into() })
//!     .with_advisories(vec!["CVE-2022-30123".into()])
//!     .with_fix(Fix { version: Some("2.2.3.1".into()), ..Fix::default() });
//! let report = Report::new(vec![finding], vec![], Severity::Low);
//!
//! assert_eq!(upgrade_commands(&report.findings), ["bundle update rack"]);
//!
//! let mut out = Vec::new();
//! render(&report, Format::Human, &RenderOptions::default(), &mut out)?;
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.contains("Gemfile.lock:42"));
//! assert!(text.trim_end().ends_with("1 finding (1 high) in 1 file — 1 at or above low, so this run fails"));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use allclear_core::{Report, RuleDoc};

mod human;
mod markdown;
mod sarif;
mod text;
mod upgrade;

pub use upgrade::{upgrade_commands, upgrade_plan};

/// The JSON Schema (draft 2020-12) of the `--format json` output, schema version 1.
/// Documented field by field in `docs/json-schema.md`.
pub const REPORT_JSON_SCHEMA: &str = include_str!("../schema/report-v1.schema.json");

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// For a person at a terminal; colour optional.
    Human,
    /// The report as JSON (schema 1, see `docs/json-schema.md`).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// GitHub-flavoured Markdown, for a pull-request comment.
    Markdown,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 4] = [Format::Human, Format::Json, Format::Sarif, Format::Markdown];

    /// The name `FromStr` accepts and `Display` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Markdown => "markdown",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The text names no output format.
    #[error("unknown format `{0}` (expected human, json, sarif or markdown)")]
    Unknown(String),
}

impl FromStr for Format {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "human" | "text" => Ok(Format::Human),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "markdown" | "md" => Ok(Format::Markdown),
            _ => Err(FormatError::Unknown(s.to_owned())),
        }
    }
}

/// How to render; the binary fills this from flags, `NO_COLOR` and the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Colour the human format with ANSI escapes. Other formats ignore it.
    pub color: bool,
    /// The allclear version, named in SARIF's `tool.driver.version` and the Markdown footer.
    pub tool_version: String,
    /// The terminal width when known; the human format wraps long text to it. `None` (output
    /// piped to a file or another program) means never wrap.
    pub width: Option<usize>,
    /// How many files the run checked, for the summary line (`all clear: no findings in 14
    /// files`). `None` leaves the count out.
    pub scanned: Option<usize>,
    /// The documentation of the rules findings may carry (the binary's registry of every
    /// capability's `rule_docs()`). A documented rule gets its title, help and reference
    /// page in SARIF, and a `see: allclear rules explain ID` line in the human format.
    /// Empty: rules are named by their id only.
    pub rules: Vec<RuleDoc>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            width: None,
            scanned: None,
            rules: Vec::new(),
        }
    }
}

impl RenderOptions {
    /// The documentation of `rule`, when the caller gave it.
    pub(crate) fn rule_doc(&self, rule: &str) -> Option<&RuleDoc> {
        self.rules.iter().find(|doc| doc.id == rule)
    }
}

/// Writes `report` in `format` to `out`. Errors are those of `out`.
pub fn render(
    report: &Report,
    format: Format,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Human => human::render(report, options, out),
        Format::Json => render_json(report, out),
        Format::Sarif => sarif::render(report, options, out),
        Format::Markdown => markdown::render(report, options, out),
    }
}

/// The report exactly as `Report` serializes (schema 1), pretty-printed, with a final newline.
/// Keys come in struct declaration order, and `details` maps in key order, so two runs over
/// the same tree give byte-identical output.
fn render_json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_display() {
        for format in Format::ALL {
            assert_eq!(format.to_string().parse::<Format>(), Ok(format));
        }
        assert_eq!("MD".parse::<Format>(), Ok(Format::Markdown));
        assert_eq!(" Sarif ".parse::<Format>(), Ok(Format::Sarif));
        let err = "xml".parse::<Format>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown format `xml` (expected human, json, sarif or markdown)"
        );
    }

    #[test]
    fn report_schema_is_json() {
        let schema: serde_json::Value = serde_json::from_str(REPORT_JSON_SCHEMA).unwrap();
        assert_eq!(schema["properties"]["schema"]["const"], 1);
    }
}
