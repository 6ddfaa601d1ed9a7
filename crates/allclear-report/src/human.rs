//! The terminal format: findings grouped by file, most severe first, then what could not be
//! checked, what was ignored, the commands that fix it all, and one summary line.
//!
//! Readable without colour: colour only repeats what the words already say. Every untrusted
//! string goes through [`one_line`]/[`safe_lines`] so no escape sequence reaches the terminal.

use std::collections::BTreeMap;
use std::io::{self, Write};

use allclear_core::{Finding, IgnoredFinding, Report, Severity};
use anstyle::{AnsiColor, Style};

use crate::RenderOptions;
use crate::text::{self, Verdict, one_line, safe_lines, truncate};
use crate::upgrade::{upgrade_commands, upgrade_plan};

/// Width of the severity column (`critical`).
const TAG_WIDTH: usize = 8;
/// Where a finding's text starts: two spaces, the tag, two spaces.
const BODY_INDENT: usize = 2 + TAG_WIDTH + 2;
/// Narrower terminals than this are not worth wrapping for.
const MIN_WRAP: usize = 40;
/// Ignored findings listed one by one before the rest are only counted.
const MAX_IGNORED_LISTED: usize = 20;
/// Details that JSON consumers want but that only clutter a terminal: the CVSS vector
/// (the score is shown), which importer a record came from, dependency flags, and the
/// file-integrity fields whose content the description already spells out as old → new.
const HIDDEN_DETAILS: &[&str] = &[
    "cvss_vector",
    "sources",
    "direct",
    "dev",
    "attributes",
    "category",
    "change",
    "file_type",
    "group",
    // The title already carries the redacted secret; the blob id is for tools.
    "redacted",
    "blob",
];

/// Longest detail value shown; details are for a glance, JSON has them whole.
const MAX_DETAIL: usize = 120;

struct Painter {
    color: bool,
    width: Option<usize>,
}

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    /// `text` wrapped to the terminal, the first line `first` columns in, the rest `rest`.
    fn wrap(&self, text: &str, first: usize, rest: usize) -> Vec<String> {
        match self.width {
            Some(width) if width >= MIN_WRAP => wrap(
                text,
                width.saturating_sub(first),
                width.saturating_sub(rest),
            ),
            _ => vec![text.to_owned()],
        }
    }
}

fn fg(color: AnsiColor) -> Style {
    Style::new().fg_color(Some(color.into()))
}

fn severity_style(severity: Severity) -> Style {
    match severity {
        Severity::Critical => fg(AnsiColor::Red).bold(),
        Severity::High => fg(AnsiColor::Red),
        Severity::Medium => fg(AnsiColor::Yellow),
        Severity::Low => fg(AnsiColor::Cyan),
        Severity::Info => Style::new().dimmed(),
    }
}

pub fn render(report: &Report, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let painter = Painter {
        color: options.color,
        width: options.width,
    };
    let mut sections = 0usize;
    let mut explained: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();

    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in &report.findings {
        by_file
            .entry(finding.location.path.as_str())
            .or_default()
            .push(finding);
    }
    for (path, mut findings) in by_file {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| package_name(a).cmp(package_name(b)))
                .then_with(|| a.title.cmp(&b.title))
                .then_with(|| a.location.line.cmp(&b.location.line))
        });
        if sections > 0 {
            writeln!(out)?;
        }
        sections += 1;
        let header = if path.is_empty() {
            "(not in a file)".to_owned()
        } else {
            one_line(path).into_owned()
        };
        writeln!(
            out,
            "{}",
            painter.paint(Style::new().bold().underline(), &header)
        )?;
        for (index, finding) in findings.iter().enumerate() {
            if index > 0 {
                writeln!(out)?;
            }
            write_finding(&painter, finding, out)?;
            // Once per rule, under its first finding: the rule's explanation is the same
            // for every finding, and repeating the line would bury the findings.
            if options.rule_doc(&finding.rule).is_some() && explained.insert(&finding.rule) {
                let see = format!("see: allclear rules explain {}", one_line(&finding.rule));
                writeln!(
                    out,
                    "{}{}",
                    " ".repeat(BODY_INDENT),
                    painter.paint(Style::new().dimmed(), &see)
                )?;
            }
        }
    }

    if !report.warnings.is_empty() || !report.errors.is_empty() || !report.skipped.is_empty() {
        if sections > 0 {
            writeln!(out)?;
        }
        sections += 1;
        let warning = fg(AnsiColor::Yellow).bold();
        for text in &report.warnings {
            let text = format!("warning: {}", one_line(text));
            write_labelled(&painter, "warning:", warning, &text, out)?;
        }
        for skipped in &report.skipped {
            let text = format!(
                "not fully checked: {}: {}",
                one_line(&skipped.path),
                one_line(&skipped.reason)
            );
            write_labelled(&painter, "not fully checked:", warning, &text, out)?;
        }
        let error = fg(AnsiColor::Red).bold();
        for err in &report.errors {
            let at = match err.line {
                Some(line) => format!("{}:{line}", one_line(&err.path)),
                None => one_line(&err.path).into_owned(),
            };
            let text = format!("error: {at}: {}", one_line(&err.message));
            write_labelled(&painter, "error:", error, &text, out)?;
        }
    }

    if !report.ignored.is_empty() {
        if sections > 0 {
            writeln!(out)?;
        }
        sections += 1;
        writeln!(
            out,
            "{}",
            painter.paint(
                Style::new().bold(),
                &format!("ignored ({}):", report.ignored.len())
            )
        )?;
        for ignored in report.ignored.iter().take(MAX_IGNORED_LISTED) {
            for (index, line) in painter
                .wrap(&ignored_line(ignored), 2, 4)
                .iter()
                .enumerate()
            {
                let indent = if index == 0 { "  " } else { "    " };
                writeln!(out, "{indent}{line}")?;
            }
        }
        if report.ignored.len() > MAX_IGNORED_LISTED {
            writeln!(
                out,
                "  … and {} more (all are in --format json)",
                report.ignored.len() - MAX_IGNORED_LISTED
            )?;
        }
    }

    let plan = upgrade_plan(&report.findings);
    if !plan.is_empty() {
        if sections > 0 {
            writeln!(out)?;
        }
        sections += 1;
        writeln!(out, "{}", painter.paint(Style::new().bold(), "upgrade to:"))?;
        for line in &plan {
            for (index, line) in painter.wrap(line, 2, 4).iter().enumerate() {
                let indent = if index == 0 { "  " } else { "    " };
                writeln!(out, "{indent}{line}")?;
            }
        }
    }

    let commands = upgrade_commands(&report.findings);
    if !commands.is_empty() {
        if sections > 0 {
            writeln!(out)?;
        }
        sections += 1;
        writeln!(
            out,
            "{}",
            painter.paint(Style::new().bold(), "upgrade with:")
        )?;
        for command in &commands {
            writeln!(out, "  {command}")?;
        }
    }

    if sections > 0 {
        writeln!(out)?;
    }
    let summary_style = match text::verdict(report) {
        Verdict::Pass => fg(AnsiColor::Green).bold(),
        Verdict::Error if text::failing(report) == 0 => fg(AnsiColor::Yellow).bold(),
        Verdict::Fail | Verdict::Error => fg(AnsiColor::Red).bold(),
    };
    if let Some(checked) = text::checked_line(report) {
        for (index, line) in painter.wrap(&checked, 0, 2).iter().enumerate() {
            let indent = if index == 0 { "" } else { "  " };
            writeln!(out, "{indent}{line}")?;
        }
    }
    let sentence = text::summary_sentence(report, options.scanned);
    writeln!(out, "{}", painter.paint(summary_style, &sentence))
}

/// `label: text`, wrapped with continuation lines indented, the label painted.
fn write_labelled(
    painter: &Painter,
    label: &str,
    style: Style,
    text: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    for (index, line) in painter.wrap(text, 0, 2).iter().enumerate() {
        match line.strip_prefix(label) {
            Some(rest) if index == 0 => writeln!(out, "{}{rest}", painter.paint(style, label))?,
            _ => writeln!(out, "  {line}")?,
        }
    }
    Ok(())
}

fn package_name(finding: &Finding) -> &str {
    finding.package.as_ref().map_or("", |p| p.name.as_str())
}

fn write_finding(painter: &Painter, finding: &Finding, out: &mut dyn Write) -> io::Result<()> {
    let indent = " ".repeat(BODY_INDENT);
    let tag = format!("{:<TAG_WIDTH$}", finding.severity.as_str());
    let headline = one_line(&text::headline(finding)).into_owned();
    let mut lines = painter
        .wrap(&headline, BODY_INDENT, BODY_INDENT)
        .into_iter();
    let first = lines.next().unwrap_or_default();
    writeln!(
        out,
        "  {}  {}",
        painter.paint(severity_style(finding.severity), &tag),
        painter.paint(Style::new().bold(), &first)
    )?;
    for line in lines {
        writeln!(out, "{indent}{}", painter.paint(Style::new().bold(), &line))?;
    }

    let cvss = finding.cvss.map(|score| format!("CVSS {score:.1}"));
    if finding.advisories.is_empty() {
        let mut line = painter.paint(Style::new().dimmed(), &one_line(&finding.rule));
        if let Some(cvss) = &cvss {
            line = format!("{line}  {cvss}");
        }
        writeln!(out, "{indent}{line}")?;
        // Findings without an advisory have no page to read; their description is the
        // explanation.
        if let Some(description) = &finding.description {
            for line in safe_lines(description) {
                for wrapped in painter.wrap(&line, BODY_INDENT, BODY_INDENT) {
                    writeln!(out, "{indent}{wrapped}")?;
                }
            }
        }
    } else {
        let ids: Vec<String> = finding
            .advisories
            .iter()
            .map(|id| one_line(id).into_owned())
            .collect();
        let mut line = ids.join(", ");
        if let Some(cvss) = &cvss {
            line = format!("{line}  {cvss}");
        }
        for wrapped in painter.wrap(&line, BODY_INDENT, BODY_INDENT) {
            writeln!(out, "{indent}{wrapped}")?;
        }
    }

    if let Some(fix) = fix_text(finding) {
        let text = format!("fix: {}", one_line(&fix));
        for (index, line) in painter
            .wrap(&text, BODY_INDENT, BODY_INDENT)
            .iter()
            .enumerate()
        {
            match line.strip_prefix("fix:") {
                Some(rest) if index == 0 => {
                    let label = painter.paint(fg(AnsiColor::Green), "fix:");
                    writeln!(out, "{indent}{label}{rest}")?;
                }
                _ => writeln!(out, "{indent}{line}")?,
            }
        }
    }

    for (key, value) in &finding.details {
        if HIDDEN_DETAILS.contains(&key.as_str()) {
            continue;
        }
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) if key == "introduced" => introductions(items),
            other => other.to_string(),
        };
        let text = format!(
            "{}: {}",
            one_line(key),
            truncate(&one_line(&value), MAX_DETAIL)
        );
        for line in painter.wrap(&text, BODY_INDENT, BODY_INDENT) {
            writeln!(out, "{indent}{line}")?;
        }
    }

    let mut place = one_line(&finding.location.to_string()).into_owned();
    if let Some(url) = &finding.url {
        if place.is_empty() {
            place = one_line(url).into_owned();
        } else {
            place = format!("{place}  {}", one_line(url));
        }
    }
    if !place.is_empty() {
        for line in painter.wrap(&place, BODY_INDENT, BODY_INDENT) {
            writeln!(out, "{indent}{line}")?;
        }
    }
    Ok(())
}

/// `upgrade to 2.2.3`, the advice, or the command, as the fix says.
fn fix_text(finding: &Finding) -> Option<String> {
    let fix = finding.fix.as_ref()?;
    let mut parts = Vec::new();
    if let Some(version) = &fix.version {
        parts.push(format!("upgrade to {version}"));
    }
    if let Some(advice) = &fix.advice {
        parts.push(advice.clone());
    }
    if fix.version.is_none()
        && let Some(command) = &fix.command
    {
        parts.push(format!("run `{command}`"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `rack 2.0.1 CVE-2020-1 in Gemfile.lock — not reachable (until 2026-12-01)`.
fn ignored_line(ignored: &IgnoredFinding) -> String {
    let finding = &ignored.finding;
    let what = match (&finding.package, finding.advisories.first()) {
        (Some(package), Some(id)) => format!("{} {} {id}", package.name, package.version),
        (Some(package), None) => format!("{} {} {}", package.name, package.version, finding.rule),
        (None, _) => format!("{} {}", finding.rule, truncate(&finding.title, 60)),
    };
    let mut line = one_line(&what).into_owned();
    if !finding.location.path.is_empty() {
        line.push_str(" in ");
        line.push_str(&one_line(&finding.location.path));
    }
    line.push_str(" — ");
    line.push_str(&one_line(&ignored.reason));
    if let Some(expires) = ignored.expires {
        line.push_str(&format!(" (until {expires})"));
    }
    line
}

/// Greedy word wrap by characters (close enough for the Latin text advisories use; a wide
/// character only makes a line a little longer than the terminal, never loses text).
fn wrap(text: &str, first_width: usize, rest_width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_len = 0usize;
    // Empty words keep runs of spaces (`GHSA-…  CVSS 9.8`) inside a line.
    for word in text.split(' ') {
        let width = if lines.is_empty() {
            first_width
        } else {
            rest_width
        }
        .max(20);
        let word_len = word.chars().count();
        if word.is_empty() && line_len == 0 {
            continue;
        }
        if line_len > 0 && line_len + 1 + word_len > width {
            lines.push(std::mem::take(&mut line));
            line_len = 0;
        }
        if line_len > 0 {
            line.push(' ');
            line_len += 1;
        }
        line.push_str(word);
        line_len += word_len;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `introduced` of a secret found in history: `8529684204d8 b.py, 1f2e3d4c5b6a old/b.py`.
fn introductions(items: &[serde_json::Value]) -> String {
    items
        .iter()
        .map(|item| {
            let field = |name: &str| item.get(name).and_then(|v| v.as_str()).unwrap_or("?");
            let commit = field("commit");
            let short = commit.get(..12).unwrap_or(commit);
            format!("{short} {}", field("path"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_keeps_every_word() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let lines = wrap(text, 20, 24);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(lines[0].chars().count() <= 20);
        assert!(
            lines.iter().skip(1).all(|l| l.chars().count() <= 24),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn wrap_keeps_long_words_whole() {
        let long = "x".repeat(50);
        assert_eq!(
            wrap(&format!("a {long} b"), 20, 20),
            ["a", long.as_str(), "b"]
        );
        assert_eq!(wrap("", 20, 20), [""]);
    }
}
