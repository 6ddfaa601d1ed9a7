//! Arbitrary text in every field of a finding: rendering never fails, and what the escaping
//! promises holds for any input, not only the hostile strings we thought of.

use allclear_core::{
    Ecosystem, Finding, Fix, IgnoredFinding, Location, PackageRef, Report, RunError, Severity,
};
use allclear_report::{Format, upgrade_commands};
use proptest::prelude::*;

use crate::{escaped, options, rendered};

/// Any Unicode, or a dense mix of the characters escaping is about.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9 |`<>\\[\\]()!@*_~#&$.:/\\\\\n\r\t\u{1b}\u{7}\u{9b}\u{202e}\u{2028}-]{0,40}",
    ]
}

prop_compose! {
    fn finding()(
        title in text(), name in text(), version in text(), advisory in text(),
        path in text(), description in text(), url in text(), fix in text(), advice in text(),
        severity in 0usize..5, ecosystem in 0usize..7, line in proptest::option::of(0u32..5),
    ) -> Finding {
        let mut location = Location::new(path);
        location.line = line;
        let mut finding = Finding::new("deps.vulnerable", Severity::DESCENDING[severity], title)
            .with_location(location)
            .with_key(advisory.clone())
            .with_advisories(vec![advisory, "GHSA-aaaa-bbbb-cccc".to_owned()])
            .with_description(description)
            .with_url(url)
            .with_fix(Fix { version: Some(fix), advice: Some(advice), command: None })
            .with_detail("x", "y");
        finding.package = Some(PackageRef {
            ecosystem: Ecosystem::ALL[ecosystem],
            name,
            version,
        });
        finding
    }
}

prop_compose! {
    fn report()(
        findings in proptest::collection::vec(finding(), 0..4),
        ignored in proptest::option::of((finding(), text())),
        error in proptest::option::of((text(), text())),
        warning in proptest::option::of(text()),
    ) -> Report {
        let ignored = ignored
            .map(|(finding, reason)| IgnoredFinding { finding, reason, expires: None })
            .into_iter()
            .collect();
        let mut report = Report::new(findings, ignored, Severity::High);
        if let Some((path, message)) = error {
            report.add_error(RunError { path, line: Some(1), message });
        }
        if let Some(warning) = warning {
            report.add_warning(warning);
        }
        report
    }
}

const OWN_TAGS: [&str; 7] = [
    "<details>",
    "</details>",
    "<summary>",
    "</summary>",
    "<sub>",
    "</sub>",
    "<https://",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_text_renders_safely(report in report()) {
        let human = rendered(&report, Format::Human, &options());
        prop_assert!(!human.contains('\x1b') && !human.contains('\u{9b}'), "escape in {human:?}");
        prop_assert!(!human.contains(['\u{202e}', '\u{7}']), "hidden character in {:?}", human);

        for format in [Format::Json, Format::Sarif] {
            let text = rendered(&report, format, &options());
            prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "{format}");
        }

        let full = rendered(&report, Format::Markdown, &options());
        // Outside the one code block (whose fence the fence test covers), nothing is live.
        let markdown = match full.find("### Upgrade") {
            Some(start) => {
                let end = full[start..].find("<details>").map_or(full.len(), |e| start + e);
                format!("{}{}", &full[..start], &full[end..])
            }
            None => full.clone(),
        };
        prop_assert!(!markdown.contains(['\x1b', '\u{202e}']), "hidden character in {:?}", markdown);
        for (at, _) in markdown.match_indices('<') {
            prop_assert!(OWN_TAGS.iter().any(|t| markdown[at..].starts_with(t)), "{markdown}");
        }
        for (at, _) in markdown.match_indices("](") {
            prop_assert!(
                escaped(&markdown, at) || markdown[at + 2..].starts_with("https://"),
                "{markdown}"
            );
        }
        for line in markdown.lines() {
            if line.starts_with('#') {
                prop_assert!(["## ", "### Upgrade", "#### "].iter().any(|p| line.starts_with(p)), "{line}");
            }
            if line.starts_with("| ") && !line.starts_with("| Severity") {
                let pipes = line
                    .char_indices()
                    .filter(|&(i, c)| c == '|' && !escaped(line, i))
                    .count();
                prop_assert_eq!(pipes, 8, "{}", line);
            }
        }

        for command in upgrade_commands(&report.findings) {
            prop_assert!(!command.contains(['\n', '\r']), "{command:?}");
            if !command.starts_with('#') {
                let inner = command
                    .strip_prefix('(')
                    .and_then(|c| c.strip_suffix(')'))
                    .unwrap_or(&command);
                prop_assert!(shlex::split(inner).is_some(), "{command:?}");
            }
        }
    }
}
