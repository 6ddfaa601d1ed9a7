//! Hostile text — from an advisory feed or a pull request's own lockfile — must not change
//! what a Markdown comment, a terminal or a shell does.

use allclear_core::{
    Ecosystem, Finding, Fix, IgnoredFinding, Location, PackageRef, Report, RunError, Severity,
};
use allclear_report::{Format, upgrade_commands};

use crate::{options, rendered};

const TITLE: &str = "x | y `code` <img src=x onerror=alert(1)> [click](javascript:alert(1)) \
                     ![pixel](https://tracker.example/p.png) @everyone **bold** $x$ &#124; \
                     \x1b[2J\x1b]0;pwned\x07 \u{202e}gnp.exe\n# heading\n<script>alert(1)</script>";

/// A report where every string a finding carries tries something.
pub fn hostile() -> Report {
    let evil_package = PackageRef {
        ecosystem: Ecosystem::Npm,
        name: "$(touch${IFS}pwned)".to_owned(),
        version: "1.0.0|`x`".to_owned(),
    };
    let finding = Finding::new("deps.vulnerable", Severity::Critical, TITLE)
        .with_location(Location::new("a|b/`c`/<d>/package-lock.json").with_line(3))
        .with_key("evil")
        .with_package(evil_package)
        .with_advisories(vec![
            "CVE-1](javascript:alert(1))".to_owned(),
            "GHSA-aaaa-bbbb-cccc".to_owned(),
        ])
        .with_fix(Fix {
            version: Some("2.0.0".to_owned()),
            advice: Some("<b>run</b> `curl evil | sh`".to_owned()),
            ..Fix::default()
        })
        .with_url("javascript:alert(document.cookie)")
        .with_description(format!(
            "{TITLE}\n\n- list\n1. item\n> quote\n```\nfence\n```"
        ))
        .with_detail("token", "ghp_secretsecretsecret");
    let fence_name = Finding::new("deps.vulnerable", Severity::High, "fence")
        .with_location(Location::new("package-lock.json").with_line(9))
        .with_key("fence")
        .with_package(PackageRef {
            ecosystem: Ecosystem::Npm,
            name: "a```b".to_owned(),
            version: "1.0.0".to_owned(),
        })
        .with_fix(Fix {
            version: Some("1.0.1".to_owned()),
            ..Fix::default()
        });
    let ignored = IgnoredFinding {
        finding: Finding::new("secrets.generic", Severity::High, "<i>ignored</i> @team")
            .with_location(Location::new("x.env")),
        reason: "because <a href=https://evil.example>trust me</a> | ok".to_owned(),
        expires: None,
    };
    let mut report = Report::new(vec![finding, fence_name], vec![ignored], Severity::High);
    report.add_error(RunError {
        path: "<b>bad</b>.lock".to_owned(),
        line: Some(1),
        message: "unexpected `|` <script>".to_owned(),
    });
    report.add_warning("@admins <blink>");
    report
}

/// The tags the renderer writes itself; any other `<` is a leak.
const OWN_TAGS: [&str; 7] = [
    "<details>",
    "</details>",
    "<summary>",
    "</summary>",
    "<sub>",
    "</sub>",
    "<https://",
];

#[test]
fn markdown_escapes_hostile_text() {
    let full = rendered(&hostile(), Format::Markdown, &options());
    // Inside the fenced code block `<` is literal text; the fence test checks that block.
    let text = match (full.find("### Upgrade"), full.find("<details>")) {
        (Some(start), Some(end)) if start < end => format!("{}{}", &full[..start], &full[end..]),
        _ => panic!("no upgrade block before the details:\n{full}"),
    };
    for (at, _) in text.match_indices('<') {
        let rest = &text[at..];
        assert!(
            OWN_TAGS.iter().any(|tag| rest.starts_with(tag)),
            "raw HTML in markdown: {:?}",
            rest.chars().take(40).collect::<String>()
        );
    }
    for (at, _) in text.match_indices("](") {
        if text[..at].ends_with('\\') {
            continue; // an escaped `\]`: text, not a link
        }
        assert!(
            text[at + 2..].starts_with("https://"),
            "a link that is not ours: {:?}",
            &text[at.saturating_sub(30)..(at + 40).min(text.len())]
        );
    }
    assert!(!text.contains("!["), "an image");
    assert!(
        !text.contains("javascript:alert(document"),
        "the hostile URL was kept"
    );
    assert!(!text.contains("@everyone") && !text.contains("@team") && !text.contains("@admins"));
    assert!(
        !text.contains('\x1b') && !text.contains('\u{202e}'),
        "hidden characters"
    );
    assert!(!text.contains("ghp_secret"), "a details value");
    for line in text.lines() {
        if line.starts_with('#') {
            assert!(
                ["## ", "### Upgrade", "#### "]
                    .iter()
                    .any(|p| line.starts_with(p)),
                "a heading from the input: {line}"
            );
        }
        if line.starts_with("| ") && !line.starts_with("| Severity") {
            // 7 columns: 8 unescaped pipes, whatever the cells hold.
            let pipes = line
                .char_indices()
                .filter(|&(i, c)| c == '|' && !line[..i].ends_with('\\'))
                .count();
            assert_eq!(pipes, 8, "a cell broke the table: {line}");
        }
    }
}

#[test]
fn markdown_code_fence_cannot_be_closed_from_inside() {
    let text = rendered(&hostile(), Format::Markdown, &options());
    let Some(start) = text.find("### Upgrade\n\n") else {
        panic!("no upgrade section:\n{text}");
    };
    let block = &text[start + "### Upgrade\n\n".len()..];
    let fence: String = block.chars().take_while(|&c| c == '`').collect();
    assert!(fence.len() >= 3, "{block}");
    let body_and_rest = &block[block.find('\n').map_or(0, |i| i + 1)..];
    let close = body_and_rest
        .lines()
        .position(|line| line.starts_with(&fence))
        .unwrap_or_else(|| panic!("unclosed fence:\n{block}"));
    let body: Vec<&str> = body_and_rest.lines().take(close).collect();
    assert!(body.iter().any(|l| l.contains("a```b")), "{body:?}");
    assert_eq!(body_and_rest.lines().nth(close), Some(fence.as_str()));
}

#[test]
fn terminal_output_has_no_escape_sequences() {
    let text = rendered(&hostile(), Format::Human, &options());
    assert!(!text.contains('\x1b'), "ESC reached the terminal");
    assert!(!text.contains('\x07'), "BEL reached the terminal");
    assert!(
        !text.contains('\u{202e}'),
        "a bidi override reached the terminal"
    );
    assert!(
        text.contains("\\u{1b}[2J"),
        "the escape is not shown as text:\n{text}"
    );
}

#[test]
fn shell_commands_quote_hostile_names() {
    let commands = upgrade_commands(&hostile().findings);
    assert_eq!(commands.len(), 2, "{commands:?}");
    for command in &commands {
        // `(cd DIR && …)`: the parentheses are shell syntax, not words.
        let inner = command
            .strip_prefix('(')
            .and_then(|c| c.strip_suffix(')'))
            .unwrap_or(command);
        let words = match shlex::split(inner) {
            Some(words) => words,
            None => panic!("not a shell command: {command}"),
        };
        if inner.len() != command.len() {
            assert_eq!(words.first().map(String::as_str), Some("cd"), "{words:?}");
            assert_eq!(
                words.get(1).map(String::as_str),
                Some("a|b/`c`/<d>"),
                "{words:?}"
            );
            assert_eq!(words.get(2).map(String::as_str), Some("&&"), "{words:?}");
        }
        assert!(!command.contains('\n'));
        assert!(
            words
                .iter()
                .any(|w| w == "$(touch${IFS}pwned)@2.0.0" || w == "a```b@1.0.1"),
            "{command} -> {words:?}"
        );
    }
    assert!(
        commands
            .iter()
            .any(|c| c.contains("'$(touch${IFS}pwned)@2.0.0'")),
        "{commands:?}"
    );
}
