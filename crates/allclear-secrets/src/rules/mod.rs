//! The rule set: what each secret looks like, written by us, with examples that prove it.
//!
//! Every rule names literal keywords; one Aho-Corasick automaton over all of them finds the
//! places worth a closer look, and only there are the rule's regexes run (see `engine`).

use std::sync::LazyLock;

use allclear_core::Severity;

mod ai;
mod cloud;
mod comms;
mod dev;
mod generic;
mod keys;
mod monitoring;
mod stack;

pub(crate) use generic::{ASSIGNMENT, MAX_ASSIGNED_VALUE};

/// Where a rule's regex is run once a keyword is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Searched anywhere in the window of lines around the keyword.
    Window,
    /// Run from the start of the key (the run of `[A-Za-z0-9_.-]` that contains the keyword)
    /// with the pattern anchored by `^`: for `key = value` assignments, so a keyword costs one
    /// anchored attempt that fails at once when no assignment follows.
    KeyStart,
}

/// How many lines around a keyword hit the regex sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub lines_before: u16,
    pub lines_after: u16,
}

impl Context {
    pub const LINE: Context = Context {
        lines_before: 0,
        lines_after: 0,
    };

    pub const fn around(lines_before: u16, lines_after: u16) -> Context {
        Context {
            lines_before,
            lines_after,
        }
    }
}

/// What must hold for a regex match to be reported. Every filter except [`Filter::None`]
/// first drops placeholders (`xxxx`, `${VAR}`, `<token>`, `changeme`, one repeated character…).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Filter {
    /// Report every match.
    None,
    /// Drop placeholders only.
    Placeholder,
    /// Drop placeholders and values whose Shannon entropy is below this many bits per byte.
    Entropy(f32),
    /// A human-chosen password: drop placeholders, references to variables and code, but no
    /// entropy test (real passwords are often plain words).
    Password,
    /// The generic `key = value` rule for password-like keys (`password`, `pwd`, `pass`…).
    AssignedPassword,
    /// The generic `key = value` rule for secret-like keys (`secret`, `token`, `api_key`…).
    AssignedSecret,
    /// A value whose key (group `key`) names a secret, whatever the syntax around it: the
    /// key's kind decides between the password and the randomness tests.
    KeyedValue,
    /// A machine-made token: at least this long, mixed characters, not words.
    Random(usize),
    /// A PEM private key block: the body must be real base64 of some length.
    PemBlock,
    /// Base64 of a PEM block: must decode to a private-key header.
    EncodedPem,
    /// `Authorization: Basic …`: must decode to `user:password`.
    BasicAuth,
    /// A password in a URL's user information.
    UrlPassword,
}

/// One detection rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable id, `secrets.NAME`; used in policies, ignores and fingerprints.
    pub id: &'static str,
    /// What the secret is, in a few words.
    pub name: &'static str,
    pub severity: Severity,
    /// Lowercase literals (matched ASCII-case-insensitively); the rule's regexes run only near one.
    pub keywords: &'static [&'static str],
    /// The keywords are written as the secret spells them and must match in that case: a
    /// capital vendor prefix (`EAA`) that lowercase hex (every checksum in a lockfile) would
    /// otherwise hit.
    pub case_sensitive_keywords: bool,
    /// Regexes (the `regex` crate, compiled with `(?-u)` so classes are ASCII and the fast
    /// engines apply). The secret is the first participating group whose name starts with
    /// `secret`, else the whole match.
    pub patterns: &'static [&'static str],
    pub anchor: Anchor,
    pub context: Context,
    pub filter: Filter,
    /// If not empty, one of these (lowercase, case-insensitive) must occur in the lines the
    /// match is on, or the match is dropped.
    pub near: &'static [&'static str],
    /// A generic rule yields to a service-specific rule that found the same secret.
    pub generic: bool,
    /// Key-name fragments (lowercase) this rule owns: the generic assignment rules leave
    /// keys containing them alone, so a value of the wrong shape for the service
    /// (`AWS_SECRET_ACCESS_KEY` that is not 40 base64 characters) is not reported as a
    /// generic secret instead.
    pub claims: &'static [&'static str],
    /// Not a secret but an identifier that helps an attacker map the infrastructure (ARNs,
    /// bucket names, account IDs, OAuth client IDs). Off unless the configuration asks.
    pub identifier: bool,
    /// What it finds and why it matters.
    pub description: &'static str,
    /// How to rotate or remove it.
    pub remedy: &'static str,
    /// Texts the rule must find something in.
    pub examples: &'static [&'static str],
    /// Texts the rule must find nothing in.
    pub counter_examples: &'static [&'static str],
}

impl Rule {
    /// The defaults every rule definition starts from (`..Rule::DEFAULT`).
    pub const DEFAULT: Rule = Rule {
        id: "",
        name: "",
        severity: Severity::High,
        keywords: &[],
        patterns: &[],
        anchor: Anchor::Window,
        context: Context::LINE,
        filter: Filter::Placeholder,
        near: &[],
        generic: false,
        claims: &[],
        identifier: false,
        case_sensitive_keywords: false,
        description: "",
        remedy: "",
        examples: &[],
        counter_examples: &[],
    };
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let groups: [&[Rule]; 8] = [
        cloud::RULES,
        dev::RULES,
        comms::RULES,
        monitoring::RULES,
        ai::RULES,
        keys::RULES,
        stack::RULES,
        generic::RULES,
    ];
    groups.iter().flat_map(|g| g.iter().copied()).collect()
});

/// Every content rule, service-specific ones first and generic ones last.
pub fn rules() -> &'static [Rule] {
    &RULES
}

/// Common regex fragments, as macros so they can be spliced with `concat!`.
macro_rules! end {
    () => {
        r"(?:[^A-Za-z0-9_\-]|\z)"
    };
}
macro_rules! end64 {
    () => {
        r"(?:[^A-Za-z0-9_\-+/=]|\z)"
    };
}
/// `NAME…<sep>"value"` where NAME matches `$key` (case-insensitive) and the value matches
/// `$value`: for secrets recognisable only by the name they are assigned to.
macro_rules! keyed {
    ($key:literal, $value:literal) => {
        concat!(
            r#"(?i:"#,
            $key,
            r#")[A-Za-z0-9_.\-]{0,40}?(?:["'`]|\\["'])?\]?[ \t]{0,40}(?:=>|:=|=|:|,|[ \t])[ \t]{0,40}(?:["'`]|\\["'])?[ \t]{0,4}(?P<secret>"#,
            $value,
            r#")(?:[^A-Za-z0-9_\-+/=]|\z)"#
        )
    };
}
pub(crate) use {end, end64, keyed};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for rule in rules() {
            assert!(seen.insert(rule.id), "duplicate rule id {}", rule.id);
            assert!(rule.id.starts_with("secrets."), "{}", rule.id);
            assert!(
                !rule.name.is_empty() && !rule.description.is_empty(),
                "{}",
                rule.id
            );
            assert!(!rule.remedy.is_empty(), "{} has no remedy", rule.id);
            assert!(!rule.keywords.is_empty(), "{} has no keyword", rule.id);
            assert!(!rule.patterns.is_empty(), "{} has no pattern", rule.id);
            assert!(!rule.examples.is_empty(), "{} has no example", rule.id);
            assert!(
                !rule.counter_examples.is_empty(),
                "{} has no counter-example",
                rule.id
            );
            for keyword in rule.keywords {
                if !rule.case_sensitive_keywords {
                    assert_eq!(*keyword, keyword.to_ascii_lowercase(), "{}", rule.id);
                }
                assert!(
                    keyword.len() >= 3 || !keyword.bytes().all(|b| b.is_ascii_alphanumeric()),
                    "{}: keyword `{keyword}` too short",
                    rule.id
                );
            }
            if rule.anchor == Anchor::KeyStart {
                assert!(
                    rule.patterns.iter().all(|p| p.starts_with('^')),
                    "{}",
                    rule.id
                );
            }
        }
        assert!(rules().len() > 80, "{} rules", rules().len());
    }
}
