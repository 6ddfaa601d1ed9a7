//! One shape for the documentation of every rule of every capability: what it finds, why it
//! matters, an example, and how to fix it. `allclear rules explain`, the generated reference
//! in `docs/rules/` and the SARIF `help` of each finding all read it, so the words live once,
//! next to the code that reports the rule.
//!
//! A capability adopts it by exposing `pub fn rule_docs() -> impl Iterator<Item = RuleDoc>`
//! (a `const` slice of [`RuleDoc`]s is the usual source) and being added to the binary's
//! registry list.

use std::fmt::Write as _;

use serde::Serialize;

use crate::Severity;

/// The repository the rule reference is published in (the workspace's `package.repository`).
pub const REPOSITORY_URL: &str = env!("CARGO_PKG_REPOSITORY");

/// Where `docs/rules/` is published: each rule has a page `ID.md` under it.
pub const RULE_DOCS_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/rules");

/// The documentation of one rule. Every field is plain text a person reads; Markdown code
/// spans (`` `like this` ``) are allowed in `what`, `why` and `fix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleDoc {
    /// The stable id findings carry, `family.name` (`secrets.github-token`). The family is
    /// the capability ([`RuleDoc::capability`]).
    pub id: &'static str,
    /// The severity findings get unless the policy or the data decides otherwise.
    pub severity: Severity,
    /// When the severity comes from elsewhere, where from (`"the advisory's"`, `"the fim
    /// group's"`); empty when findings always carry [`RuleDoc::severity`].
    pub severity_note: &'static str,
    /// A few words: the rule's name in lists and SARIF titles.
    pub title: &'static str,
    /// What the rule finds.
    pub what: &'static str,
    /// Why it matters: the harm if it is left.
    pub why: &'static str,
    /// One example of what it reports: a line of text, a file name or a finding's title.
    /// Empty when no short example says more than `what`.
    pub example: &'static str,
    /// How to fix it: remove, rotate, upgrade, or accept it in the policy.
    pub fix: &'static str,
}

impl RuleDoc {
    /// The capability (rule family) the rule belongs to: the id before its first dot.
    pub fn capability(&self) -> &'static str {
        self.id
            .split_once('.')
            .map_or(self.id, |(family, _)| family)
    }

    /// The rule's page in the published reference.
    pub fn url(&self) -> String {
        format!("{RULE_DOCS_URL}/{}", Self::page_name(self.id))
    }

    /// The file name of a rule's page in `docs/rules/`.
    pub fn page_name(id: &str) -> String {
        format!("{id}.md")
    }

    /// The default severity, and where it comes from when that is not fixed.
    pub fn severity_text(&self) -> String {
        if self.severity_note.is_empty() {
            self.severity.as_str().to_owned()
        } else {
            format!("{} ({})", self.severity, self.severity_note)
        }
    }

    /// The documentation as plain text: `what`, `why`, `example`, `fix` under headings, the
    /// prose wrapped at [`TEXT_WIDTH`] columns and the example as written (the body of
    /// `allclear rules explain`).
    pub fn to_text(&self) -> String {
        let mut out = format!("{}: {}\n", self.id, self.title);
        let _ = writeln!(out, "severity: {}", self.severity_text());
        for (heading, body) in self.sections() {
            let _ = write!(out, "\n{heading}\n");
            for line in body.lines() {
                if heading == "Example" {
                    let _ = writeln!(out, "  {line}");
                } else {
                    for wrapped in wrap(line, TEXT_WIDTH - 2) {
                        let _ = writeln!(out, "  {wrapped}");
                    }
                }
            }
        }
        out
    }

    /// The documentation as a Markdown fragment with `###` headings (a rule's page, SARIF
    /// `help.markdown`).
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "**Severity:** {}", self.severity_text());
        for (heading, body) in self.sections() {
            let _ = write!(out, "\n### {heading}\n\n");
            if heading == "Example" {
                let fence = fence_for(body);
                let _ = writeln!(out, "{fence}text\n{body}\n{fence}");
            } else {
                let _ = writeln!(out, "{body}");
            }
        }
        out
    }

    /// The sections in reading order, empty ones left out.
    fn sections(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        [
            ("What it finds", self.what),
            ("Why it matters", self.why),
            ("Example", self.example),
            ("How to fix it", self.fix),
        ]
        .into_iter()
        .filter(|(_, body)| !body.trim().is_empty())
    }
}

/// Where [`RuleDoc::to_text`] wraps prose: readable on any terminal, like a man page.
pub const TEXT_WIDTH: usize = 88;

/// `text` in lines of at most `width` columns, broken at spaces (a longer word stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A code fence longer than any run of backticks in `body`.
fn fence_for(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat(longest.max(2) + 1)
}

/// What is wrong with a set of rule docs: duplicate ids, ids not shaped `family.name` in
/// lowercase, and missing words. Empty when all hold; the binary's tests run it over the
/// registry so a capability cannot ship a rule without its documentation.
pub fn check_rule_docs<'a>(docs: impl IntoIterator<Item = &'a RuleDoc>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for doc in docs {
        if !seen.insert(doc.id) {
            problems.push(format!("{}: documented twice", doc.id));
        }
        let shaped = doc.id.split_once('.').is_some_and(|(family, name)| {
            !family.is_empty()
                && !name.is_empty()
                && doc.id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-')
                })
        });
        if !shaped {
            problems.push(format!(
                "{}: an id is `family.name`, lowercase letters, digits and dashes",
                doc.id
            ));
        }
        for (field, text) in [
            ("title", doc.title),
            ("what", doc.what),
            ("why", doc.why),
            ("fix", doc.fix),
        ] {
            if text.trim().is_empty() {
                problems.push(format!("{}: `{field}` is empty", doc.id));
            }
        }
    }
    problems
}

/// The rules allclear-core itself reports.
pub fn rule_docs() -> impl Iterator<Item = RuleDoc> {
    CORE_RULE_DOCS.iter().copied()
}

const CORE_RULE_DOCS: &[RuleDoc] = &[RuleDoc {
    id: "policy.ignore-expired",
    severity: Severity::Medium,
    severity_note: "",
    title: "Expired ignore in allclear.toml",
    what: "An `[[ignore]]` entry of the policy whose `expires` date has passed. The findings \
        it covered are reported again.",
    why: "An ignore is a decision made for a time (\"until the upgrade ships\"); past its date \
        nobody is answerable for it, and the risk it accepted may have grown.",
    example: "[[ignore]]\nid = \"GHSA-xxxx-xxxx-xxxx\"\nexpires = 2026-01-31\nreason = \"fixed in the next release\"",
    fix: "Fix what it ignored, or decide again: give the entry a new `expires` date and a \
        reason, or remove it.",
}];

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: RuleDoc = RuleDoc {
        id: "demo.rule",
        severity: Severity::High,
        severity_note: "",
        title: "A demo",
        what: "Finds demos.",
        why: "Demos leak.",
        example: "a ``` fence",
        fix: "Remove the demo.",
    };

    #[test]
    fn text_and_markdown_carry_every_section() {
        let text = DOC.to_text();
        assert!(text.starts_with("demo.rule: A demo\nseverity: high\n"));
        for needle in [
            "Finds demos.",
            "Demos leak.",
            "a ``` fence",
            "Remove the demo.",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        let markdown = DOC.to_markdown();
        // The example's own backticks cannot close its fence.
        assert!(
            markdown.contains("````text\na ``` fence\n````"),
            "{markdown}"
        );
        assert!(markdown.contains("### How to fix it\n\nRemove the demo."));
    }

    #[test]
    fn prose_is_wrapped_and_examples_are_not() {
        let long = "word ".repeat(40);
        let doc = RuleDoc {
            what: long.as_str().trim_end().to_owned().leak(),
            example: long.as_str().trim_end().to_owned().leak(),
            ..DOC
        };
        let text = doc.to_text();
        let (what, example) = text.split_once("Example").unwrap();
        assert!(what.lines().all(|line| line.chars().count() <= TEXT_WIDTH));
        assert!(what.lines().filter(|l| l.starts_with("  word")).count() >= 2);
        assert!(
            example
                .lines()
                .any(|line| line.chars().count() > TEXT_WIDTH)
        );
    }

    #[test]
    fn empty_sections_are_left_out() {
        let doc = RuleDoc { example: "", ..DOC };
        assert!(!doc.to_text().contains("Example"));
        assert!(!doc.to_markdown().contains("Example"));
    }

    #[test]
    fn the_url_is_the_rule_page_in_the_repository() {
        assert_eq!(
            DOC.url(),
            format!("{REPOSITORY_URL}/blob/main/docs/rules/demo.rule.md")
        );
        assert!(REPOSITORY_URL.starts_with("https://"));
        assert_eq!(DOC.capability(), "demo");
    }

    #[test]
    fn check_names_duplicates_bad_ids_and_missing_words() {
        let bad = RuleDoc {
            id: "Demo_Rule",
            why: " ",
            ..DOC
        };
        let problems = check_rule_docs(&[DOC, DOC, bad]);
        assert_eq!(
            problems,
            [
                "demo.rule: documented twice",
                "Demo_Rule: an id is `family.name`, lowercase letters, digits and dashes",
                "Demo_Rule: `why` is empty",
            ]
        );
        assert!(check_rule_docs(&CORE_RULE_DOCS.to_vec()).is_empty());
    }

    #[test]
    fn core_documents_every_core_rule() {
        let ids: Vec<&str> = rule_docs().map(|doc| doc.id).collect();
        assert_eq!(ids, crate::CORE_RULES);
    }
}
