//! GitHub-flavoured Markdown for a pull-request comment: a verdict heading, a table of
//! findings, the upgrade commands, and the explanations folded away.
//!
//! Titles, summaries and names come from advisory databases and from the pull request itself,
//! so all of it is escaped: no Markdown formatting, link, image, HTML, table break or
//! `@mention` can come from a finding. The comment stays under GitHub's 65,536-character
//! limit by listing fewer rows and saying how many were left out.

use std::fmt::Write as _;
use std::io::{self, Write};

use allclear_core::{Finding, Report, Severity};

use crate::RenderOptions;
use crate::text::{self, Verdict, advisory_url, one_line, safe_lines, safe_url, truncate};
use crate::upgrade::{upgrade_commands, upgrade_plan};

/// Bytes the whole comment may take (GitHub allows 65,536 characters; bytes are never fewer).
const MAX_COMMENT: usize = 60_000;
/// Longest summary in a table cell.
const MAX_CELL: usize = 120;
/// Longest description in the details.
const MAX_DESCRIPTION: usize = 1_500;
/// Errors, warnings and ignored findings listed before the rest are counted.
const MAX_LISTED: usize = 50;

/// `text` on one line, with everything Markdown or HTML would interpret escaped.
pub(crate) fn inline(text: &str) -> String {
    let text = one_line(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '$' | '|' | '!' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // A zero-width space after `@` stops GitHub from notifying users or teams named
            // in a title.
            '@' => out.push_str("@&#8203;"),
            _ => out.push(c),
        }
    }
    out
}

/// A multi-line text as Markdown paragraphs, escaped like [`inline`], with the characters that
/// would start a heading, list or quote at the beginning of a line escaped too.
pub(crate) fn block(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut blank = false;
    for line in safe_lines(&truncate(text, max)) {
        let line = line.trim();
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push_str("\n\n");
            blank = false;
        } else if !out.is_empty() {
            out.push('\n');
        }
        let mut escaped = inline(line);
        if escaped.starts_with(['-', '+', '=', '#']) {
            escaped.insert(0, '\\');
        } else if let Some(end) = escaped.find(|c: char| !c.is_ascii_digit())
            && end > 0
            && escaped[end..].starts_with(['.', ')'])
        {
            escaped.insert(end, '\\');
        }
        out.push_str(&escaped);
    }
    out
}

/// Minimal HTML escaping, for the few places text lands inside HTML.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// An advisory id, linked to its page when the scheme is known.
pub(crate) fn advisory_link(id: &str) -> String {
    match advisory_url(id) {
        Some(url) => format!("[{}]({url})", inline(id)),
        None => inline(id),
    }
}

/// A code block whose fence no line of `body` can close.
pub(crate) fn code_block(lang: &str, body: &str) -> String {
    let mut longest = 0usize;
    let mut run = 0usize;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

fn heading(report: &Report) -> String {
    let fail_on = report.summary.fail_on;
    match text::verdict(report) {
        Verdict::Error if text::failing(report) > 0 => format!(
            "## ❌ allclear: {} at or above {fail_on}, and {} could not be checked",
            text::count(text::failing(report), "finding", "findings"),
            text::count(report.errors.len(), "input", "inputs")
        ),
        Verdict::Error => format!(
            "## ⚠️ allclear: {} could not be checked",
            text::count(report.errors.len(), "input", "inputs")
        ),
        Verdict::Fail => format!(
            "## ❌ allclear: {} at or above {fail_on}",
            text::count(text::failing(report), "finding", "findings")
        ),
        Verdict::Pass if report.findings.is_empty() && report.skipped.is_empty() => {
            "## ✅ allclear: all clear".to_owned()
        }
        Verdict::Pass if report.findings.is_empty() => format!(
            "## ✅ allclear: all clear in what was checked ({} not fully checked)",
            text::count(report.skipped.len(), "input", "inputs")
        ),
        Verdict::Pass => format!("## ✅ allclear: nothing at or above {fail_on}"),
    }
}

fn sorted(report: &Report) -> Vec<&Finding> {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    // Most severe first, so a truncated table still shows what matters.
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.title.cmp(&b.title))
    });
    findings
}

fn row(finding: &Finding) -> String {
    let package = finding.package.as_ref();
    let fixed = finding
        .fix
        .as_ref()
        .and_then(|fix| fix.version.as_deref())
        .map(inline)
        .unwrap_or_default();
    let advisories: Vec<String> = finding
        .advisories
        .iter()
        .map(|id| advisory_link(id))
        .collect();
    let severity = match finding.severity {
        Severity::Critical | Severity::High => format!("**{}**", finding.severity),
        other => other.to_string(),
    };
    format!(
        "| {severity} | {} | {} | {} | {fixed} | {} | {} |\n",
        inline(&truncate(text::summary_of(finding), MAX_CELL)),
        package.map(|p| inline(&p.name)).unwrap_or_default(),
        package.map(|p| inline(&p.version)).unwrap_or_default(),
        advisories.join(", "),
        inline(&finding.location.to_string()),
    )
}

fn details(finding: &Finding) -> String {
    let mut out = format!(
        "#### {} · {}\n\n",
        finding.severity,
        inline(&truncate(&text::headline(finding), 200))
    );
    if let Some(description) = &finding.description {
        let description = block(description, MAX_DESCRIPTION);
        if !description.is_empty() {
            out.push_str(&description);
            out.push_str("\n\n");
        }
    }
    let _ = writeln!(out, "- **Rule:** {}", inline(&finding.rule));
    if !finding.advisories.is_empty() {
        let links: Vec<String> = finding
            .advisories
            .iter()
            .map(|id| advisory_link(id))
            .collect();
        let _ = writeln!(out, "- **Advisories:** {}", links.join(", "));
    }
    if let Some(cvss) = finding.cvss {
        let _ = writeln!(out, "- **CVSS:** {cvss:.1}");
    }
    if let Some(fix) = &finding.fix {
        let mut parts = Vec::new();
        if let Some(version) = &fix.version {
            parts.push(format!("upgrade to {}", inline(version)));
        }
        if let Some(advice) = &fix.advice {
            parts.push(inline(advice));
        }
        if !parts.is_empty() {
            let _ = writeln!(out, "- **Fix:** {}", parts.join("; "));
        }
    }
    if !finding.location.path.is_empty() {
        let _ = writeln!(
            out,
            "- **Where:** {}",
            inline(&finding.location.to_string())
        );
    }
    if let Some(url) = finding.url.as_deref().and_then(safe_url) {
        let _ = writeln!(out, "- **More:** <{url}>");
    }
    out.push('\n');
    out
}

fn ignored_item(ignored: &allclear_core::IgnoredFinding) -> String {
    let finding = &ignored.finding;
    let what = match &finding.package {
        Some(package) => format!("{} {}", inline(&package.name), inline(&package.version)),
        None => inline(&truncate(&finding.title, 80)),
    };
    let ids: Vec<String> = finding
        .advisories
        .iter()
        .map(|id| advisory_link(id))
        .collect();
    let mut line = format!("- {what}");
    if !ids.is_empty() {
        let _ = write!(line, " ({})", ids.join(", "));
    } else {
        let _ = write!(line, " ({})", inline(&finding.rule));
    }
    if !finding.location.path.is_empty() {
        let _ = write!(line, " in {}", inline(&finding.location.path));
    }
    let _ = write!(line, " — {}", inline(&truncate(&ignored.reason, 300)));
    if let Some(expires) = ignored.expires {
        let _ = write!(line, " (until {expires})");
    }
    line.push('\n');
    line
}

pub fn render(report: &Report, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut head = format!(
        "{}\n\n{}.\n\n",
        heading(report),
        inline(&text::summary_sentence(report, options.scanned))
    );
    if let Some(checked) = text::checked_line(report) {
        let _ = writeln!(head, "{}.\n", inline(&checked));
    }

    if !report.errors.is_empty() || !report.warnings.is_empty() || !report.skipped.is_empty() {
        for err in report.errors.iter().take(MAX_LISTED) {
            let at = match err.line {
                Some(line) => format!("{}:{line}", err.path),
                None => err.path.clone(),
            };
            let _ = writeln!(
                head,
                "- **Error:** {}: {}",
                inline(&at),
                inline(&truncate(&err.message, 300))
            );
        }
        for warning in report.warnings.iter().take(MAX_LISTED) {
            let _ = writeln!(head, "- **Warning:** {}", inline(&truncate(warning, 300)));
        }
        for skipped in report.skipped.iter().take(MAX_LISTED) {
            let _ = writeln!(
                head,
                "- **Not fully checked:** {}: {}",
                inline(&skipped.path),
                inline(&truncate(&skipped.reason, 300))
            );
        }
        let left = report.errors.len().saturating_sub(MAX_LISTED)
            + report.warnings.len().saturating_sub(MAX_LISTED)
            + report.skipped.len().saturating_sub(MAX_LISTED);
        if left > 0 {
            let _ = writeln!(
                head,
                "- … and {left} more errors, warnings and inputs not fully checked"
            );
        }
        head.push('\n');
    }

    let commands = upgrade_commands(&report.findings);
    let upgrade = if commands.is_empty() {
        String::new()
    } else {
        let plan: String = upgrade_plan(&report.findings)
            .iter()
            .map(|line| format!("- {}\n", inline(line)))
            .collect();
        format!(
            "### Upgrade\n\n{}\n{plan}{}",
            code_block("sh", &commands.join("\n")),
            if plan.is_empty() { "" } else { "\n" }
        )
    };

    let mut ignored = String::new();
    if !report.ignored.is_empty() {
        let _ = write!(
            ignored,
            "<details>\n<summary>{} (accepted in allclear.toml)</summary>\n\n",
            html(&text::count(
                report.ignored.len(),
                "ignored finding",
                "ignored findings"
            ))
        );
        for item in report.ignored.iter().take(MAX_LISTED) {
            ignored.push_str(&ignored_item(item));
        }
        if report.ignored.len() > MAX_LISTED {
            let _ = writeln!(
                ignored,
                "- … and {} more",
                report.ignored.len() - MAX_LISTED
            );
        }
        ignored.push_str("\n</details>\n\n");
    }

    let footer = format!(
        "<sub>allclear {} · the JSON and SARIF formats have every field</sub>\n",
        html(&options.tool_version)
    );

    let fixed = head.len() + upgrade.len() + ignored.len() + footer.len();
    let mut budget = MAX_COMMENT.saturating_sub(fixed);

    let findings = sorted(report);
    let mut table = String::new();
    if !findings.is_empty() {
        table.push_str(
            "| Severity | Finding | Package | Installed | Fixed in | Advisories | Location |\n\
             |---|---|---|---|---|---|---|\n",
        );
        // Room for the "… more" line that may follow.
        let reserve = 200;
        let mut shown = 0usize;
        for finding in &findings {
            let line = row(finding);
            if table.len() + line.len() + reserve > budget {
                break;
            }
            table.push_str(&line);
            shown += 1;
        }
        if shown < findings.len() {
            let _ = writeln!(
                table,
                "\n{} more not shown; run allclear locally or read the SARIF or JSON report.",
                findings.len() - shown
            );
        }
        table.push('\n');
        budget = budget.saturating_sub(table.len());
    }

    let mut explained = String::new();
    if !findings.is_empty() {
        let opening = format!(
            "<details>\n<summary>Details of {}</summary>\n\n",
            html(&text::count(findings.len(), "finding", "findings"))
        );
        let closing = "</details>\n\n";
        let mut body = String::new();
        let mut shown = 0usize;
        for finding in &findings {
            let part = details(finding);
            if opening.len() + body.len() + part.len() + closing.len() + 200 > budget {
                break;
            }
            body.push_str(&part);
            shown += 1;
        }
        if shown > 0 {
            explained.push_str(&opening);
            explained.push_str(&body);
            if shown < findings.len() {
                let _ = writeln!(explained, "{} more not shown.\n", findings.len() - shown);
            }
            explained.push_str(closing);
        }
    }

    for part in [&head, &table, &upgrade, &explained, &ignored, &footer] {
        out.write_all(part.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_escapes_markdown_html_and_mentions() {
        assert_eq!(inline("a|b"), "a\\|b");
        assert_eq!(inline("<img src=x>"), "&lt;img src=x&gt;");
        assert_eq!(inline("[x](javascript:1)"), "\\[x\\](javascript:1)");
        assert_eq!(inline("`code`"), "\\`code\\`");
        assert_eq!(inline("@octocat"), "@&#8203;octocat");
        assert_eq!(inline("&#124;"), "&amp;#124;");
        assert_eq!(inline("line\nbreak"), "line break");
    }

    #[test]
    fn block_escapes_line_starts() {
        assert_eq!(
            block("# title\n- item\n1. one\n12) two\nplain", 1000),
            "\\# title\n\\- item\n1\\. one\n12\\) two\nplain"
        );
        assert_eq!(block("a\n\n\n\nb", 1000), "a\n\nb");
        assert_eq!(block("    indented code", 1000), "indented code");
    }

    #[test]
    fn code_fence_outgrows_backticks_inside() {
        let block = code_block("sh", "echo ```\nx````y");
        assert!(block.starts_with("`````sh\n"), "{block}");
        assert!(block.ends_with("\n`````\n"));
        assert!(code_block("", "plain").starts_with("```\n"));
    }
}
