//! SARIF 2.1.0, shaped for GitHub code scanning.
//!
//! Choices GitHub's ingestion drives:
//! - A finding with advisories gets a rule of its own, `deps.vulnerable/GHSA-…`, named by its
//!   first advisory id. GitHub takes an alert's severity, title and help from its *rule*, so one
//!   `deps.vulnerable` rule would show every vulnerable package with the same severity and
//!   text. Other findings use their rule id unchanged. Both are stable across runs.
//! - `properties.security-severity` is a CVSS-like score as a string. When the finding's CVSS
//!   score falls in GitHub's band for the finding's severity it is used; otherwise (no score,
//!   or a policy changed the severity) a score in the middle of that band is, so GitHub shows
//!   the severity the policy decided.
//! - `partialFingerprints` carries our fingerprint, which ignores line numbers by design.
//! - Ignored findings are results with an external, accepted suppression, so GitHub closes
//!   their alerts instead of forgetting them.
//! - Errors, warnings and inputs not fully checked become tool execution notifications;
//!   `executionSuccessful` is false when an input could not be read.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use allclear_core::{Finding, Report, RuleDoc, Severity};
use serde::Serialize;

use crate::RenderOptions;
use crate::markdown;
use crate::text::{self, one_line, safe_url, truncate};

const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The base every result path is relative to: the directory that was scanned.
const SRCROOT: &str = "%SRCROOT%";
/// GitHub truncates rule descriptions beyond this many characters.
const MAX_DESCRIPTION: usize = 1024;

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation; 1],
    results: Vec<SarifResult>,
    /// allclear's own run data: what was covered (the JSON report's `coverage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<RunProperties<'a>>,
}

#[derive(Serialize)]
struct RunProperties<'a> {
    coverage: &'a allclear_core::Coverage,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'a str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    properties: ResultProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<SuppressionProperties>,
}

#[derive(Serialize)]
struct SuppressionProperties {
    expires: String,
}

/// Structured facts for machine consumers; never `details`, which may hold anything.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<allclear_core::PackageRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    advisories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
}

/// SARIF's level: GitHub shows `error` and `warning` as such and `note` as a notice.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The severity GitHub derives from a `security-severity` score: over 9.0 critical, 7.0 to 8.9
/// high, 4.0 to 6.9 medium, 0.1 to 3.9 low.
fn github_band(score: f64) -> Severity {
    if score > 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// The score GitHub should see for a finding; `None` for informational findings, which are
/// not security alerts.
fn security_score(finding: &Finding) -> Option<f64> {
    if finding.severity == Severity::Info {
        return None;
    }
    if let Some(cvss) = finding.cvss
        && cvss.is_finite()
        && github_band(cvss) == finding.severity
    {
        return Some(cvss);
    }
    Some(match finding.severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        _ => 2.0,
    })
}

/// The SARIF rule id of a finding (see the module docs).
fn rule_id(finding: &Finding) -> String {
    match finding.advisories.first() {
        Some(id) => format!("{}/{}", finding.rule, id),
        None => finding.rule.clone(),
    }
}

/// SARIF message text treats `[text](target)` as a link; literal brackets are escaped.
fn message_text(text: &str) -> String {
    let text = one_line(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A relative path as a URI reference: every byte outside the unreserved set, `/` and the
/// harmless sub-delimiters is percent-encoded (spaces, `%`, `#`, `?`, `:` that would read as a
/// scheme, non-ASCII).
fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'@'
            )
        {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn location(path: &str, line: Option<u32>) -> Option<Location> {
    if path.is_empty() {
        return None;
    }
    let absolute = path.starts_with('/');
    Some(Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: if absolute {
                    format!("file://{}", uri(path))
                } else {
                    uri(path)
                },
                uri_base_id: (!absolute).then_some(SRCROOT),
            },
            region: line
                .filter(|&l| l >= 1)
                .map(|start_line| Region { start_line }),
        },
    })
}

fn result_message(finding: &Finding) -> String {
    let mut text = text::headline(finding);
    if !finding.advisories.is_empty() {
        let _ = write!(text, " ({})", finding.advisories.join(", "));
    }
    if let Some(fix) = &finding.fix {
        if let Some(version) = &fix.version {
            let _ = write!(text, ". Upgrade to {version} or later.");
        } else if let Some(advice) = &fix.advice {
            let _ = write!(text, ". Fix: {advice}.");
        }
    }
    message_text(&text)
}

struct RuleAcc<'a> {
    first: &'a Finding,
    severity: Severity,
    score: Option<f64>,
}

fn build_rule(id: &str, acc: &RuleAcc<'_>, doc: Option<&RuleDoc>) -> Rule {
    let finding = acc.first;
    let advisory = !finding.advisories.is_empty();
    let short = if advisory {
        text::summary_of(finding).to_owned()
    } else {
        doc.map_or_else(|| finding.rule.clone(), |doc| doc.title.to_owned())
    };
    // A SARIF rule stands for every finding of its id, so its words are the rule's, not
    // the first finding's (whose description may name one file or one secret).
    let full = match (doc, advisory) {
        (Some(doc), false) => doc.what.to_owned(),
        _ => finding.description.clone().unwrap_or_else(|| short.clone()),
    };
    if let (Some(doc), false) = (doc, advisory) {
        return documented_rule(id, acc, doc, short, full);
    }

    let mut help_text = full.clone();
    let mut help_md = markdown::block(&full, MAX_DESCRIPTION * 4);
    if advisory {
        let _ = write!(
            help_text,
            "\n\nAdvisories: {}",
            finding.advisories.join(", ")
        );
        let links: Vec<String> = finding
            .advisories
            .iter()
            .map(|id| markdown::advisory_link(id))
            .collect();
        let _ = write!(help_md, "\n\n**Advisories:** {}", links.join(", "));
    }
    if let Some(fix) = &finding.fix {
        let words = match (&fix.version, &fix.advice, &finding.package) {
            (Some(version), _, Some(package)) => {
                Some(format!("upgrade {} to {version} or later", package.name))
            }
            (Some(version), _, None) => Some(format!("upgrade to {version} or later")),
            (None, Some(advice), _) => Some(advice.clone()),
            (None, None, _) => None,
        };
        if let Some(words) = words {
            let _ = write!(help_text, "\n\nFix: {}", one_line(&words));
            let _ = write!(help_md, "\n\n**Fix:** {}", markdown::inline(&words));
        }
    }
    let help_uri = finding.url.as_deref().and_then(safe_url);
    if let Some(url) = &help_uri {
        let _ = write!(help_text, "\n\nMore: {url}");
        let _ = write!(help_md, "\n\n**More:** <{url}>");
    }
    // An advisory rule keeps the advisory's words and page; the allclear rule behind it is
    // linked for what the rule itself means and how allclear decides.
    let help_uri = help_uri.or_else(|| doc.map(RuleDoc::url));
    if let Some(doc) = doc {
        let _ = write!(
            help_text,
            "\n\nRule {}: {} (allclear rules explain {}; {})",
            doc.id,
            doc.title,
            doc.id,
            doc.url()
        );
        let _ = write!(
            help_md,
            "\n\n**Rule:** [`{}`]({}): {}",
            doc.id,
            doc.url(),
            doc.title
        );
    }

    assemble_rule(id, acc, short, full, help_text, help_md, help_uri)
}

/// The SARIF rule of a documented allclear rule: its documentation is the help (what it
/// finds, why it matters, an example, how to fix it) and its reference page the `helpUri`.
fn documented_rule(
    id: &str,
    acc: &RuleAcc<'_>,
    doc: &RuleDoc,
    short: String,
    full: String,
) -> Rule {
    let help_text = format!(
        "{}\n\nSee `allclear rules explain {}` or {}",
        doc.to_text().trim_end(),
        doc.id,
        doc.url()
    );
    assemble_rule(
        id,
        acc,
        short,
        full,
        help_text,
        doc.to_markdown(),
        Some(doc.url()),
    )
}

fn assemble_rule(
    id: &str,
    acc: &RuleAcc<'_>,
    short: String,
    full: String,
    help_text: String,
    help_md: String,
    help_uri: Option<String>,
) -> Rule {
    let finding = acc.first;
    let mut tags = vec!["security".to_owned()];
    if let Some((category, _)) = finding.rule.split_once('.') {
        tags.push(category.to_owned());
    }
    if let Some(package) = &finding.package {
        tags.push(package.ecosystem.as_str().to_owned());
    }
    Rule {
        id: id.to_owned(),
        short_description: Text {
            text: truncate(&one_line(&short), MAX_DESCRIPTION).into_owned(),
        },
        full_description: Text {
            text: truncate(&one_line(&full), MAX_DESCRIPTION).into_owned(),
        },
        help: Help {
            text: safe_multiline(&help_text),
            markdown: help_md,
        },
        help_uri,
        default_configuration: Configuration {
            level: level(acc.severity),
        },
        properties: RuleProperties {
            tags,
            security_severity: acc.score.map(|s| format!("{s:.1}")),
        },
    }
}

/// Multi-line text with hidden characters made visible line by line.
fn safe_multiline(text: &str) -> String {
    text::safe_lines(text).join("\n")
}

pub fn render(report: &Report, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let all: Vec<(&Finding, Option<&allclear_core::IgnoredFinding>)> = report
        .findings
        .iter()
        .map(|f| (f, None))
        .chain(report.ignored.iter().map(|i| (&i.finding, Some(i))))
        .collect();

    let mut accs: BTreeMap<String, RuleAcc<'_>> = BTreeMap::new();
    for (finding, _) in &all {
        let score = security_score(finding);
        accs.entry(rule_id(finding))
            .and_modify(|acc| {
                acc.severity = acc.severity.max(finding.severity);
                acc.score = match (acc.score, score) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            })
            .or_insert(RuleAcc {
                first: finding,
                severity: finding.severity,
                score,
            });
    }
    let index: BTreeMap<&str, usize> = accs
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let rules: Vec<Rule> = accs
        .iter()
        .map(|(id, acc)| build_rule(id, acc, options.rule_doc(&acc.first.rule)))
        .collect();

    let results = all
        .iter()
        .map(|(finding, ignored)| {
            let id = rule_id(finding);
            let mut fingerprints = BTreeMap::new();
            fingerprints.insert("allclearFingerprint/v1", finding.fingerprint.clone());
            // GitHub matches alerts across runs by this key and computes it from the line's
            // text when it is missing; ours is stable across line moves by construction.
            fingerprints.insert("primaryLocationLineHash", finding.fingerprint.clone());
            SarifResult {
                rule_index: index.get(id.as_str()).copied().unwrap_or(0),
                rule_id: id,
                level: level(finding.severity),
                message: Text {
                    text: result_message(finding),
                },
                locations: location(&finding.location.path, finding.location.line)
                    .into_iter()
                    .collect(),
                partial_fingerprints: fingerprints,
                suppressions: ignored
                    .map(|ignored| Suppression {
                        kind: "external",
                        status: "accepted",
                        justification: one_line(&ignored.reason).into_owned(),
                        properties: ignored.expires.map(|date| SuppressionProperties {
                            expires: date.to_string(),
                        }),
                    })
                    .into_iter()
                    .collect(),
                properties: ResultProperties {
                    severity: finding.severity,
                    package: finding.package.clone(),
                    advisories: finding.advisories.clone(),
                    fixed_version: finding.fix.as_ref().and_then(|f| f.version.clone()),
                    cvss: finding.cvss.filter(|c| c.is_finite()),
                },
            }
        })
        .collect();

    let notifications = report
        .errors
        .iter()
        .map(|err| Notification {
            level: "error",
            message: Text {
                text: message_text(&err.message),
            },
            locations: location(&err.path, err.line).into_iter().collect(),
        })
        .chain(report.warnings.iter().map(|warning| Notification {
            level: "warning",
            message: Text {
                text: message_text(warning),
            },
            locations: Vec::new(),
        }))
        .chain(report.skipped.iter().map(|skipped| Notification {
            level: "warning",
            message: Text {
                text: message_text(&format!("not fully checked: {}", skipped.reason)),
            },
            locations: location(&skipped.path, None).into_iter().collect(),
        }))
        .collect();

    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "allclear",
                    version: &options.tool_version,
                    information_uri: env!("CARGO_PKG_REPOSITORY"),
                    rules,
                },
            },
            invocations: [Invocation {
                execution_successful: report.errors.is_empty(),
                tool_execution_notifications: notifications,
            }],
            properties: report
                .coverage
                .as_ref()
                .map(|coverage| RunProperties { coverage }),
            results,
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_relative_references() {
        assert_eq!(uri("web/package-lock.json"), "web/package-lock.json");
        assert_eq!(uri("./a b/c#d?.lock"), "a%20b/c%23d%3F.lock");
        assert_eq!(uri("C:x/%"), "C%3Ax/%25");
        assert_eq!(uri("node_modules/@scope/x"), "node_modules/@scope/x");
        assert_eq!(uri("é"), "%C3%A9");
    }

    #[test]
    fn scores_agree_with_the_severity_github_will_show() {
        let finding = |severity, cvss: Option<f64>| {
            let mut f = Finding::new("deps.vulnerable", severity, "x");
            f.cvss = cvss;
            f
        };
        assert_eq!(
            security_score(&finding(Severity::Critical, Some(9.8))),
            Some(9.8)
        );
        // 9.0 is critical in CVSS but high on GitHub.
        assert_eq!(
            security_score(&finding(Severity::Critical, Some(9.0))),
            Some(9.5)
        );
        // A policy lowered the severity: the policy wins.
        assert_eq!(
            security_score(&finding(Severity::Low, Some(9.8))),
            Some(2.0)
        );
        assert_eq!(security_score(&finding(Severity::Medium, None)), Some(5.5));
        assert_eq!(security_score(&finding(Severity::Info, Some(0.0))), None);
        for severity in Severity::DESCENDING {
            if let Some(score) = security_score(&finding(severity, None)) {
                assert_eq!(github_band(score), severity);
            }
        }
    }

    #[test]
    fn message_brackets_are_not_links() {
        assert_eq!(message_text("see [x](1)"), "see \\[x\\](1)");
    }
}
