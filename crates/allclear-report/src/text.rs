//! Text helpers every renderer shares: neutralising untrusted strings, headlines, advisory
//! links and the one-sentence verdict.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use allclear_core::{Coverage, Finding, Report, Severity};

/// Characters that must never reach a reader raw: C0/C1 controls and DEL (terminal escape
/// sequences start with ESC or CSI), and invisible formatting characters that can make text
/// read differently from what it is (bidi overrides as in "Trojan Source", zero-width ones).
pub(crate) fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Line and paragraph separators, which a reader sees as line breaks.
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}')
}

/// `text` on one line with hidden characters made visible (`\u{1b}`): tabs and line breaks
/// become spaces, everything else [`is_hidden`] becomes its escape.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) && !text.contains(['\u{2028}', '\u{2029}']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\t' || is_line_break(c) {
            // `a.\n\nB` reads as `a. B`, not `a.  B`.
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else if is_hidden(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The lines of a multi-line text, each made safe with [`one_line`]; trailing blank lines
/// are dropped.
pub fn safe_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .split(is_line_break_str)
        .map(|line| one_line(line.trim_end()).into_owned())
        .collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

fn is_line_break_str(c: char) -> bool {
    // Not CR: the CR of a CRLF is trimmed with the line's end, a lone one becomes a space.
    c == '\n' || c == '\u{0085}' || c == '\u{2028}' || c == '\u{2029}'
}

/// At most `max` characters of `text`, ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep: String = text.chars().take(max.saturating_sub(1)).collect();
            Cow::Owned(format!("{}…", keep.trim_end()))
        }
    }
}

/// The finding's title, led by the package and version when the title does not already
/// start with the package name (`rack 2.0.1: …`).
pub fn headline(finding: &Finding) -> String {
    match &finding.package {
        Some(package) if !finding.title.starts_with(&package.name) => {
            format!("{} {}: {}", package.name, package.version, finding.title)
        }
        _ => finding.title.clone(),
    }
}

/// The title without a leading `name version: ` or `name: `, for places that show the package
/// in a column of its own.
pub fn summary_of(finding: &Finding) -> &str {
    let title = finding.title.as_str();
    let Some(package) = &finding.package else {
        return title;
    };
    let Some(rest) = title.strip_prefix(package.name.as_str()) else {
        return title;
    };
    let rest = rest
        .strip_prefix(' ')
        .and_then(|r| r.strip_prefix(package.version.as_str()))
        .unwrap_or(rest);
    match rest.strip_prefix(':') {
        Some(summary) if !summary.trim().is_empty() => summary.trim_start(),
        _ => title,
    }
}

/// Where to read an advisory, for the id schemes whose public pages are known. Ids with
/// anything but letters, digits, `-`, `_`, `.` and `:` get no link (they came from a file and
/// may be crafted).
pub fn advisory_url(id: &str) -> Option<String> {
    if id.is_empty()
        || id.len() > 100
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return None;
    }
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("GHSA-") {
        Some(format!("https://github.com/advisories/{id}"))
    } else if upper.starts_with("CVE-") {
        Some(format!("https://nvd.nist.gov/vuln/detail/{id}"))
    } else if upper.starts_with("RUSTSEC-") {
        Some(format!("https://rustsec.org/advisories/{id}.html"))
    } else if ["PYSEC-", "GO-", "OSV-", "MAL-", "GSD-"]
        .iter()
        .any(|prefix| upper.starts_with(prefix))
    {
        Some(format!("https://osv.dev/vulnerability/{id}"))
    } else {
        None
    }
}

/// `url` when it is an `http(s)` URL, with every character that could end a Markdown link
/// destination, a table cell or an HTML attribute percent-encoded. Anything else (a
/// `javascript:` URL, text with spaces) gives `None`.
pub fn safe_url(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) || url.len() > 2048 {
        return None;
    }
    if url.chars().any(|c| c.is_whitespace() || is_hidden(c)) {
        return None;
    }
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '(' | ')' | '<' | '>' | '"' | '\'' | '`' | '|' | '[' | ']' | '\\' | '{' | '}' | '^' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// `1 finding`, `2 findings`.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("{n} {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// Findings at or above the failing severity (the ones that make the run fail).
pub fn failing(report: &Report) -> usize {
    let fail_on = report.summary.fail_on;
    report
        .findings
        .iter()
        .filter(|f| f.severity >= fail_on && f.severity > Severity::Info)
        .count()
}

/// `2 critical, 5 high`, most severe first.
pub fn severity_breakdown(report: &Report) -> String {
    let mut parts = Vec::new();
    for severity in Severity::DESCENDING {
        let n = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count();
        if n > 0 {
            parts.push(format!("{n} {severity}"));
        }
    }
    parts.join(", ")
}

/// How the run ended, for headings and colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No findings at or above the failing severity and no errors.
    Pass,
    /// Findings at or above the failing severity.
    Fail,
    /// An input could not be checked (exit 2), whatever the findings.
    Error,
}

pub fn verdict(report: &Report) -> Verdict {
    if !report.errors.is_empty() {
        Verdict::Error
    } else if failing(report) > 0 {
        Verdict::Fail
    } else {
        Verdict::Pass
    }
}

/// The one-sentence summary every human-facing format ends or starts with:
/// `12 findings (2 critical, 5 high, 5 medium) in 3 files, 1 ignored — 7 at or above high, so
/// this run fails`, or `all clear: no findings in 14 files`.
/// `1,034`: thousands grouped, as people read counts.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn count_grouped(n: usize, singular: &str, plural: &str) -> String {
    let word = if n == 1 { singular } else { plural };
    format!("{} {word}", grouped(n))
}

/// What a run covered, in words: `185 files, 3 lockfiles (RubyGems: 212 packages against
/// 1,034 advisories, 2 days old), 124 secret rules`. An ecosystem without advisories says
/// so; packages that could not be checked are counted.
pub fn coverage_phrase(coverage: &Coverage) -> String {
    let files = match coverage.staged {
        true => count_grouped(coverage.files, "staged file", "staged files"),
        false => count_grouped(coverage.files, "file", "files"),
    };
    let mut parts = vec![files];
    if coverage.lockfiles > 0 || !coverage.ecosystems.is_empty() {
        let mut lockfiles = count_grouped(coverage.lockfiles, "lockfile", "lockfiles");
        let ecosystems: Vec<String> = coverage
            .ecosystems
            .iter()
            .map(|e| {
                let packages = count_grouped(e.packages, "package", "packages");
                if e.advisories == 0 {
                    return format!("{}: {packages} NOT checked, no advisories", e.ecosystem);
                }
                let mut text = format!(
                    "{}: {packages} against {}",
                    e.ecosystem,
                    count_grouped(e.advisories, "advisory", "advisories")
                );
                if let Some(days) = e.age_days {
                    let _ = match days {
                        0 => write!(text, ", imported today"),
                        1 => write!(text, ", 1 day old"),
                        _ => write!(text, ", {} days old", grouped(days.max(0) as usize)),
                    };
                }
                if e.unchecked > 0 {
                    let _ = write!(text, ", {} unchecked", grouped(e.unchecked));
                }
                text
            })
            .collect();
        if !ecosystems.is_empty() {
            let _ = write!(lockfiles, " ({})", ecosystems.join("; "));
        }
        parts.push(lockfiles);
    }
    if let Some(rules) = coverage.secret_rules {
        parts.push(count_grouped(rules, "secret rule", "secret rules"));
    }
    parts.join(", ")
}

/// `checked: …` for a report with findings (an all-clear sentence already says it).
pub fn checked_line(report: &Report) -> Option<String> {
    let coverage = report.coverage.as_ref()?;
    (!report.findings.is_empty()).then(|| format!("checked: {}", coverage_phrase(coverage)))
}

pub fn summary_sentence(report: &Report, scanned: Option<usize>) -> String {
    let findings = report.findings.len();
    let ignored = report.ignored.len();
    let errors = report.errors.len();
    let fail_on = report.summary.fail_on;
    let mut out = String::new();
    if findings == 0 {
        if errors == 0 {
            out.push_str("all clear: no findings");
        } else {
            out.push_str("no findings");
        }
        if let Some(coverage) = &report.coverage {
            let _ = write!(out, " in {}", coverage_phrase(coverage));
        } else if let Some(scanned) = scanned {
            let _ = write!(out, " in {}", count(scanned, "file", "files"));
        }
    } else {
        let files: BTreeSet<&str> = report
            .findings
            .iter()
            .map(|f| f.location.path.as_str())
            .filter(|p| !p.is_empty())
            .collect();
        let _ = write!(
            out,
            "{} ({})",
            count(findings, "finding", "findings"),
            severity_breakdown(report)
        );
        if !files.is_empty() {
            let _ = write!(out, " in {}", count(files.len(), "file", "files"));
        }
    }
    if ignored > 0 {
        let _ = write!(out, ", {ignored} ignored");
    }
    if !report.skipped.is_empty() {
        let _ = write!(
            out,
            "; {} NOT fully checked",
            count(report.skipped.len(), "input", "inputs")
        );
    }
    let failing = failing(report);
    if errors > 0 && failing > 0 {
        let _ = write!(
            out,
            " — {failing} at or above {fail_on} and {} could not be checked, so this run fails",
            count(errors, "input", "inputs")
        );
    } else if errors > 0 {
        let _ = write!(
            out,
            " — {} could not be checked, so this run fails",
            count(errors, "input", "inputs")
        );
    } else if failing > 0 {
        let _ = write!(out, " — {failing} at or above {fail_on}, so this run fails");
    } else if findings > 0 {
        let _ = write!(out, " — none at or above {fail_on}, so this run passes");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use allclear_core::{Ecosystem, Location, PackageRef};

    #[test]
    fn hidden_characters_become_visible() {
        assert_eq!(one_line("plain"), "plain");
        assert_eq!(one_line("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(one_line("x\u{202e}gnp.exe"), "x\\u{202e}gnp.exe");
        assert_eq!(one_line("two\nlines\tand tab"), "two lines and tab");
        assert_eq!(one_line("para.\r\n\r\nNext"), "para. Next");
        assert_eq!(one_line("\u{9b}2J"), "\\u{9b}2J");
    }

    #[test]
    fn lines_are_split_and_trimmed() {
        assert_eq!(safe_lines("a\r\nb\n\n"), ["a", "b"]);
        assert_eq!(safe_lines("a\n\nb"), ["a", "", "b"]);
    }

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
    }

    fn rack(title: &str) -> Finding {
        Finding::new("deps.vulnerable", Severity::High, title).with_package(PackageRef {
            ecosystem: Ecosystem::RubyGems,
            name: "rack".into(),
            version: "2.0.1".into(),
        })
    }

    #[test]
    fn headline_and_summary_do_not_repeat_the_package() {
        let f = rack("rack 2.0.1: shell escape");
        assert_eq!(headline(&f), "rack 2.0.1: shell escape");
        assert_eq!(summary_of(&f), "shell escape");
        let f = rack("Shell escape");
        assert_eq!(headline(&f), "rack 2.0.1: Shell escape");
        assert_eq!(summary_of(&f), "Shell escape");
        let f = rack("rack 2.0.1 is a pre-release");
        assert_eq!(summary_of(&f), "rack 2.0.1 is a pre-release");
        let f = rack("rack: old");
        assert_eq!(summary_of(&f), "old");
        let plain =
            Finding::new("secrets.x", Severity::High, "key").with_location(Location::new(".env"));
        assert_eq!(headline(&plain), "key");
    }

    #[test]
    fn advisory_links_only_for_plain_known_ids() {
        assert_eq!(
            advisory_url("GHSA-wq4h-7r42-5hrr").as_deref(),
            Some("https://github.com/advisories/GHSA-wq4h-7r42-5hrr")
        );
        assert_eq!(
            advisory_url("CVE-2022-30123").as_deref(),
            Some("https://nvd.nist.gov/vuln/detail/CVE-2022-30123")
        );
        assert!(
            advisory_url("RUSTSEC-2020-0071")
                .unwrap()
                .ends_with(".html")
        );
        assert!(
            advisory_url("PYSEC-2021-1")
                .unwrap()
                .starts_with("https://osv.dev/")
        );
        assert_eq!(advisory_url("CVE-1)[x](javascript:alert(1)"), None);
        assert_eq!(advisory_url("OSVDB-1234"), None);
    }

    #[test]
    fn urls_are_checked_and_encoded() {
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("https://a.example/x y"), None);
        assert_eq!(
            safe_url("https://a.example/p(1)|\"").as_deref(),
            Some("https://a.example/p%281%29%7C%22")
        );
        assert_eq!(
            safe_url("HTTPS://A.example").as_deref(),
            Some("HTTPS://A.example")
        );
    }
}
