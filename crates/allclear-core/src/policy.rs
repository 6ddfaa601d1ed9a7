use std::collections::BTreeMap;
use std::str::FromStr;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Deserializer};

use crate::{Finding, IgnoredFinding, Location, Report, Severity};

/// The team's policy: the parsed `allclear.toml`.
///
/// Sections this crate does not know (`[restricted]`, `[fim]`, `[logs]`, …) are kept as TOML
/// values in [`Policy::sections`] for the capability that owns them to read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Policy {
    #[serde(default)]
    pub scan: ScanPolicy,
    /// Per-rule settings: `"off"` or a severity that replaces the rule's own.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleSetting>,
    /// Accepted findings, each with a reason and optionally an expiry date.
    #[serde(default, rename = "ignore")]
    pub ignores: Vec<Ignore>,
    #[serde(flatten)]
    pub sections: BTreeMap<String, toml::Value>,
}

/// `[scan]`: how `allclear scan` decides and what it looks at.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ScanPolicy {
    /// The least severity that fails the run (exit 1). Default: `low`, so any real finding
    /// fails and only informational ones pass.
    #[serde(default = "default_fail_on")]
    pub fail_on: Severity,
    /// How old the advisory database may be before `scan` warns, in days. Default 7.
    #[serde(default = "default_max_db_age_days")]
    pub max_db_age_days: u32,
    /// Extra paths to leave out of the walk (gitignore-style globs), beyond `.gitignore`.
    #[serde(default)]
    pub exclude: Vec<String>,
}

fn default_fail_on() -> Severity {
    Severity::Low
}

fn default_max_db_age_days() -> u32 {
    7
}

impl Default for ScanPolicy {
    fn default() -> Self {
        ScanPolicy {
            fail_on: default_fail_on(),
            max_db_age_days: default_max_db_age_days(),
            exclude: Vec::new(),
        }
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Severity::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// What `[rules]` says about one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    /// The rule does not run (its findings are dropped).
    Off,
    /// The rule's findings take this severity.
    Severity(Severity),
}

impl<'de> Deserialize<'de> for RuleSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Bool(false) => Ok(RuleSetting::Off),
            Raw::Bool(true) => Err(serde::de::Error::custom(
                "use a severity (info, low, medium, high, critical) or \"off\"; `true` says nothing",
            )),
            Raw::Text(text) if text.eq_ignore_ascii_case("off") => Ok(RuleSetting::Off),
            Raw::Text(text) => Severity::from_str(&text)
                .map(RuleSetting::Severity)
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "`{text}` is neither \"off\" nor a severity (info, low, medium, high, critical)"
                    ))
                }),
        }
    }
}

/// One `[[ignore]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ignore {
    /// An advisory id (`CVE-…`, `GHSA-…`), a rule id (`deps.prerelease`) or a fingerprint.
    pub id: String,
    /// Why the team accepts this. Required: an ignore without a reason is an error.
    pub reason: String,
    /// After this date the ignore stops hiding its finding and is itself reported.
    #[serde(default)]
    pub expires: Option<jiff::civil::Date>,
    /// Only findings under paths matching this glob (`vendor/**`).
    #[serde(default)]
    pub path: Option<String>,
    #[serde(skip)]
    path_matcher: Option<GlobMatcher>,
    /// The line of `allclear.toml` this entry starts on, for messages.
    #[serde(skip)]
    pub line: Option<u32>,
}

/// `allclear.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file is not valid TOML or does not have the expected shape.
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: u32,
        message: String,
    },
    /// A section, key or rule id that nothing reads: a typo would otherwise turn a setting
    /// (or an ignore) silently into nothing.
    #[error("{path}:{line}: unknown {what} `{name}`")]
    Unknown {
        path: String,
        line: u32,
        /// `section`, `key in [scan]`, `rule id`, …
        what: String,
        name: String,
        /// The closest valid name, if one is close.
        closest: Option<String>,
        /// What the valid names are, for when none is close.
        valid: String,
    },
}

impl PolicyError {
    /// What to do about the error, for a `hint:` line.
    pub fn hint(&self) -> Option<String> {
        match self {
            PolicyError::Invalid { .. } => None,
            PolicyError::Unknown {
                closest: Some(closest),
                ..
            } => Some(format!("did you mean `{closest}`?")),
            PolicyError::Unknown { valid, .. } => Some(valid.clone()),
        }
    }
}

/// The names a policy may use beyond those this crate defines: the sections and rule ids of
/// the capabilities the program is built with. Core knows no capability, so the program
/// hands them in (see [`Policy::from_toml_checked`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownNames<'a> {
    /// Sections read by capabilities (`secrets`, `fim`, …).
    pub sections: &'a [&'a str],
    /// Every rule id the capabilities report (`deps.vulnerable`, `secrets.github-token`, …).
    pub rules: &'a [&'a str],
    /// Prefixes of rule ids made at run time from files the program reads later (`audit.`
    /// for the checks of Wazuh SCA policies, `audit.<policy>.<check>`): an id under one,
    /// with two more dot-separated names, is accepted, as the checks are not known yet.
    pub dynamic: &'a [&'a str],
}

/// The sections this crate reads.
const CORE_SECTIONS: &[&str] = &["scan", "rules", "ignore"];
/// The keys of `[scan]` and of an `[[ignore]]` entry (kept in step with the structs by the
/// `checked_names_match_the_structs` test).
const SCAN_KEYS: &[&str] = &["fail-on", "max-db-age-days", "exclude"];
const IGNORE_KEYS: &[&str] = &["id", "reason", "expires", "path"];
/// The rules this crate reports itself.
pub const CORE_RULES: &[&str] = &["policy.ignore-expired"];

impl Ignore {
    fn matches(&self, finding: &Finding) -> bool {
        let id_matches = self.id.eq_ignore_ascii_case(&finding.rule)
            || self.id.eq_ignore_ascii_case(&finding.fingerprint)
            || finding
                .advisories
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&self.id));
        let path_matches = match &self.path_matcher {
            Some(matcher) => matcher.is_match(&finding.location.path),
            None => true,
        };
        id_matches && path_matches
    }

    fn is_expired(&self, today: jiff::civil::Date) -> bool {
        self.expires.is_some_and(|expires| expires < today)
    }
}

impl Policy {
    /// [`Policy::from_toml`], and every section, `[scan]` and `[[ignore]]` key and rule id
    /// must be one that something reads: an unknown one is an error with its line and the
    /// closest valid name. An `[[ignore]] id` is checked only when it is shaped like a rule
    /// id (`family.name`); advisory ids and fingerprints are not rule ids.
    pub fn from_toml_checked(
        text: &str,
        path: &str,
        known: &KnownNames<'_>,
    ) -> Result<Policy, PolicyError> {
        // A document that does not parse gets the parser's own error from `from_toml`.
        if let Ok(document) = toml::de::DeTable::parse(text) {
            NameCheck { text, path, known }.document(document.get_ref())?;
        }
        Policy::from_toml(text, path)
    }

    /// Parses the text of an `allclear.toml`; `path` is used in error messages only.
    pub fn from_toml(text: &str, path: &str) -> Result<Policy, PolicyError> {
        let invalid = |offset: usize, message: String| PolicyError::Invalid {
            path: path.to_owned(),
            line: line_of(text, offset),
            message,
        };
        let mut policy: Policy = toml::from_str(text).map_err(|err| {
            let offset = err.span().map(|span| span.start).unwrap_or(0);
            invalid(offset, err.message().to_owned())
        })?;
        // Line numbers of `[[ignore]]` tables, in order, so messages can point at them.
        let ignore_lines: Vec<u32> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| line.trim_start().starts_with("[[ignore]]"))
            .map(|(index, _)| index as u32 + 1)
            .collect();
        for (index, ignore) in policy.ignores.iter_mut().enumerate() {
            ignore.line = ignore_lines.get(index).copied();
            let at = ignore.line.unwrap_or(1);
            let err = |message: String| PolicyError::Invalid {
                path: path.to_owned(),
                line: at,
                message,
            };
            if ignore.id.trim().is_empty() {
                return Err(err("ignore has an empty `id`".to_owned()));
            }
            if ignore.reason.trim().is_empty() {
                return Err(err(format!(
                    "ignore of `{}` has an empty `reason`; say why the team accepts it",
                    ignore.id
                )));
            }
            if let Some(pattern) = &ignore.path {
                let glob = Glob::new(pattern).map_err(|e| {
                    err(format!("ignore path `{pattern}` is not a valid glob: {e}"))
                })?;
                ignore.path_matcher = Some(glob.compile_matcher());
            }
        }
        Ok(policy)
    }

    /// Applies rule settings and ignores to `findings` and builds the report.
    ///
    /// An ignore whose `expires` date is before `today` no longer hides its findings, and
    /// each such ignore is reported as a `policy.ignore-expired` finding.
    pub fn evaluate(&self, findings: Vec<Finding>, today: jiff::civil::Date) -> Report {
        self.evaluate_with_baseline(findings, today, None)
    }

    /// [`Policy::evaluate`], and findings whose fingerprint is in `baseline` (with the
    /// baseline file's name, for the reason shown) are set aside as accepted, not failed on.
    pub fn evaluate_with_baseline(
        &self,
        findings: Vec<Finding>,
        today: jiff::civil::Date,
        baseline: Option<(&crate::Baseline, &str)>,
    ) -> Report {
        let mut kept = Vec::with_capacity(findings.len());
        let mut ignored = Vec::new();
        let mut expired_used = vec![false; self.ignores.len()];
        for mut finding in findings {
            match self.rules.get(&finding.rule) {
                Some(RuleSetting::Off) => continue,
                Some(RuleSetting::Severity(severity)) => finding.severity = *severity,
                None => {}
            }
            let mut hidden_by = None;
            for (index, ignore) in self.ignores.iter().enumerate() {
                if ignore.matches(&finding) {
                    if ignore.is_expired(today) {
                        expired_used[index] = true;
                    } else {
                        hidden_by = Some(ignore);
                        break;
                    }
                }
            }
            match hidden_by {
                Some(ignore) => ignored.push(IgnoredFinding {
                    finding,
                    reason: ignore.reason.clone(),
                    expires: ignore.expires,
                }),
                None => match baseline {
                    Some((baseline, name)) if baseline.contains(&finding) => {
                        ignored.push(IgnoredFinding {
                            finding,
                            reason: format!("accepted in the baseline {name}"),
                            expires: None,
                        })
                    }
                    _ => kept.push(finding),
                },
            }
        }
        for (index, ignore) in self.ignores.iter().enumerate() {
            if !expired_used[index] {
                continue;
            }
            let expires = ignore.expires.map(|d| d.to_string()).unwrap_or_default();
            let mut location = Location::new("allclear.toml");
            location.line = ignore.line;
            let rule = "policy.ignore-expired";
            if matches!(self.rules.get(rule), Some(RuleSetting::Off)) {
                continue;
            }
            let severity = match self.rules.get(rule) {
                Some(RuleSetting::Severity(s)) => *s,
                _ => Severity::Medium,
            };
            kept.push(
                Finding::new(
                    rule,
                    severity,
                    format!("ignore of {} expired on {expires}", ignore.id),
                )
                .with_location(location)
                .with_key(&ignore.id)
                .with_description(format!(
                    "The ignore said: {}. It expired, so its findings are reported again. \
                     Fix them, or renew the ignore with a new date and reason.",
                    ignore.reason
                )),
            );
        }
        Report::new(kept, ignored, self.scan.fail_on)
    }
}

/// Checks the names in a parsed `allclear.toml` against those something reads.
struct NameCheck<'a> {
    text: &'a str,
    path: &'a str,
    known: &'a KnownNames<'a>,
}

type Spanned<T> = toml::Spanned<T>;

impl NameCheck<'_> {
    fn document(&self, document: &toml::de::DeTable<'_>) -> Result<(), PolicyError> {
        let sections: Vec<&str> = CORE_SECTIONS
            .iter()
            .chain(self.known.sections)
            .copied()
            .collect();
        for (name, value) in document {
            self.one_of(name, &sections, "section", "sections")?;
            match (name.get_ref().as_ref(), value.get_ref()) {
                ("scan", toml::de::DeValue::Table(table)) => {
                    self.keys(table, SCAN_KEYS, "key in [scan]")?
                }
                ("rules", toml::de::DeValue::Table(table)) => {
                    for (rule, _) in table {
                        self.rule(rule, false)?;
                    }
                }
                ("ignore", toml::de::DeValue::Array(entries)) => {
                    for entry in entries.iter() {
                        let toml::de::DeValue::Table(table) = entry.get_ref() else {
                            continue;
                        };
                        self.keys(table, IGNORE_KEYS, "key in [[ignore]]")?;
                        let id = table.iter().find(|(key, _)| key.get_ref() == "id");
                        if let Some((_, id)) = id
                            && let toml::de::DeValue::String(text) = id.get_ref()
                            && rule_shaped(text)
                        {
                            let id = Spanned::new(id.span(), text.clone());
                            self.rule(&id, true)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn keys(
        &self,
        table: &toml::de::DeTable<'_>,
        valid: &[&str],
        what: &str,
    ) -> Result<(), PolicyError> {
        for (key, _) in table {
            self.one_of(key, valid, what, "keys")?;
        }
        Ok(())
    }

    fn rule(
        &self,
        id: &Spanned<std::borrow::Cow<'_, str>>,
        any_case: bool,
    ) -> Result<(), PolicyError> {
        let rules: Vec<&str> = CORE_RULES.iter().chain(self.known.rules).copied().collect();
        let known = rules.iter().any(|rule| match any_case {
            true => rule.eq_ignore_ascii_case(id.get_ref()),
            false => rule == id.get_ref(),
        });
        let dynamic = self.known.dynamic.iter().any(|prefix| {
            id.get_ref()
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.split('.').filter(|part| !part.is_empty()).count() == 2)
        });
        if known || dynamic {
            return Ok(());
        }
        let mut families: Vec<&str> = rules
            .iter()
            .filter_map(|rule| rule.split_once('.').map(|(family, _)| family))
            .collect();
        families.sort_unstable();
        families.dedup();
        let families: Vec<String> = families.iter().map(|f| format!("{f}.*")).collect();
        Err(self.unknown(
            id,
            "rule id",
            &rules,
            format!(
                "rule ids are {}; `allclear rules list` shows every rule id",
                families.join(", ")
            ),
        ))
    }

    fn one_of(
        &self,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        valid: &[&str],
        what: &str,
        plural: &str,
    ) -> Result<(), PolicyError> {
        if valid.contains(&name.get_ref().as_ref()) {
            return Ok(());
        }
        Err(self.unknown(
            name,
            what,
            valid,
            format!("the {plural} are {}", valid.join(", ")),
        ))
    }

    fn unknown(
        &self,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        what: &str,
        valid: &[&str],
        listed: String,
    ) -> PolicyError {
        PolicyError::Unknown {
            path: self.path.to_owned(),
            line: line_of(self.text, name.span().start),
            what: what.to_owned(),
            name: name.get_ref().to_string(),
            closest: closest_name(name.get_ref(), valid).map(str::to_owned),
            valid: listed,
        }
    }
}

/// The valid name nearest to `name`, if it is near enough to be a typo of it (for hints).
pub fn closest_name<'a>(name: &str, valid: &[&'a str]) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    valid
        .iter()
        .map(|candidate| (strsim::osa_distance(&name, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min()
        .map(|(_, candidate)| candidate)
}

/// Whether an `[[ignore]] id` is meant as a rule id: `family.name`, letters first. Advisory
/// ids (`CVE-2024-1`, `GHSA-…`, `RUSTSEC-…`) and fingerprints have no dot.
fn rule_shaped(id: &str) -> bool {
    let Some((family, name)) = id.split_once('.') else {
        return false;
    };
    family
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The 1-based line that byte `offset` of `text` is on.
fn line_of(text: &str, offset: usize) -> u32 {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u32
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Severity};
    use jiff::civil::date;

    fn vuln(id: &str) -> Finding {
        Finding::new("deps.vulnerable", Severity::High, "rack 2.0.1")
            .with_location(Location::new("Gemfile.lock").with_line(4))
            .with_key(id)
            .with_advisories(vec![id.to_owned(), "GHSA-aaaa-bbbb-cccc".to_owned()])
    }

    #[test]
    fn defaults_fail_on_low() {
        let policy = Policy::from_toml("", "allclear.toml").unwrap();
        assert_eq!(policy.scan.fail_on, Severity::Low);
        assert_eq!(policy.scan.max_db_age_days, 7);
    }

    #[test]
    fn ignore_hides_until_it_expires() {
        let text = r#"
[scan]
fail-on = "high"

[[ignore]]
id = "cve-2020-1"
reason = "not reachable: we do not use rack's multipart parser"
expires = "2026-12-01"
"#;
        let policy = Policy::from_toml(text, "allclear.toml").unwrap();
        let before = policy.evaluate(vec![vuln("CVE-2020-1")], date(2026, 11, 30));
        assert_eq!(before.findings.len(), 0);
        assert_eq!(before.ignored.len(), 1);
        assert!(!before.summary.failed);
        assert_eq!(before.exit_code(), 0);

        let after = policy.evaluate(vec![vuln("CVE-2020-1")], date(2026, 12, 2));
        assert_eq!(after.findings.len(), 2, "{:#?}", after.findings);
        let expired = after
            .findings
            .iter()
            .find(|f| f.rule == "policy.ignore-expired")
            .unwrap();
        assert_eq!(expired.location.line, Some(5));
        assert!(after.summary.failed);
        assert_eq!(after.exit_code(), 1);
    }

    #[test]
    fn ignore_by_other_alias_and_path() {
        let text = r#"
[[ignore]]
id = "GHSA-aaaa-bbbb-cccc"
reason = "accepted"
path = "vendor/**"
"#;
        let policy = Policy::from_toml(text, "allclear.toml").unwrap();
        let in_vendor = vuln("CVE-1").with_location(Location::new("vendor/Gemfile.lock"));
        let report = policy.evaluate(vec![in_vendor, vuln("CVE-1")], date(2026, 1, 1));
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].location.path, "Gemfile.lock");
    }

    #[test]
    fn ignore_without_reason_is_an_error_with_line() {
        let text = "[scan]\nfail-on = \"high\"\n\n[[ignore]]\nid = \"CVE-1\"\nreason = \" \"\n";
        let err = Policy::from_toml(text, "allclear.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "allclear.toml:4: ignore of `CVE-1` has an empty `reason`; say why the team accepts it"
        );
        let missing = Policy::from_toml("[[ignore]]\nid = \"CVE-1\"\n", "p.toml").unwrap_err();
        assert!(missing.to_string().contains("reason"), "{missing}");
    }

    #[test]
    fn rule_settings_turn_off_and_override() {
        let text = "[rules]\n\"deps.prerelease\" = \"off\"\n\"deps.vulnerable\" = \"critical\"\n";
        let policy = Policy::from_toml(text, "allclear.toml").unwrap();
        let pre = Finding::new("deps.prerelease", Severity::Low, "x");
        let report = policy.evaluate(vec![pre, vuln("CVE-1")], date(2026, 1, 1));
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].severity, Severity::Critical);
    }

    #[test]
    fn bad_values_name_the_line() {
        let err =
            Policy::from_toml("[scan]\n\nfail-on = \"severe\"\n", "allclear.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("allclear.toml:3: "), "{text}");
        assert!(text.contains("severe"), "{text}");
        let err = Policy::from_toml("[scan]\nfial-on = \"high\"\n", "a.toml").unwrap_err();
        assert!(err.to_string().contains("fial-on"), "{err}");
    }

    const KNOWN: KnownNames<'static> = KnownNames {
        sections: &["fim", "secrets"],
        rules: &["deps.vulnerable", "deps.prerelease", "secrets.github-token"],
        dynamic: &["audit."],
    };

    fn checked(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml_checked(text, "allclear.toml", &KNOWN)
    }

    #[test]
    fn rule_ids_made_at_run_time_are_accepted_under_their_prefix_only() {
        // An SCA policy's check (`host audit --policy`): not known until the policy loads.
        assert!(checked("[rules]\n\"audit.cis_debian12.35500\" = \"off\"\n").is_ok());
        // The prefix alone, or a name too few or too many, is still an error.
        for id in ["audit.cis_debian12", "audit.a.b.c", "audit..x"] {
            let text = format!("[rules]\n\"{id}\" = \"off\"\n");
            assert!(checked(&text).is_err(), "{id}");
        }
    }

    #[test]
    fn unknown_names_are_errors_with_line_and_closest_name() {
        let err = checked("[scan]\nfail-on = \"high\"\n\n[scna]\nexclude = []\n").unwrap_err();
        assert_eq!(err.to_string(), "allclear.toml:4: unknown section `scna`");
        assert_eq!(err.hint().unwrap(), "did you mean `scan`?");

        let err = checked("[rules]\n\"deps.vulnerabel\" = \"off\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "allclear.toml:2: unknown rule id `deps.vulnerabel`"
        );
        assert_eq!(err.hint().unwrap(), "did you mean `deps.vulnerable`?");

        let err = checked("[scan]\nfial-on = \"high\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "allclear.toml:2: unknown key in [scan] `fial-on`"
        );
        assert_eq!(err.hint().unwrap(), "did you mean `fail-on`?");

        let text = "[[ignore]]\nid = \"CVE-2024-1\"\nreason = \"r\"\n\n[[ignore]]\n\
                    reason = \"r\"\nid = \"secrets.githib-token\"\n";
        let err = checked(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "allclear.toml:7: unknown rule id `secrets.githib-token`"
        );
        assert_eq!(err.hint().unwrap(), "did you mean `secrets.github-token`?");

        let err = checked("[[ignore]]\nid = \"x\"\nreasn = \"r\"\n").unwrap_err();
        assert_eq!(err.hint().unwrap(), "did you mean `reason`?");

        // Nothing close: the hint says what there is.
        let err = checked("[rules]\n\"zzz.qqq\" = \"off\"\n").unwrap_err();
        assert!(
            err.hint().unwrap().contains("deps.*, policy.*, secrets.*"),
            "{:?}",
            err.hint()
        );
    }

    #[test]
    fn known_names_advisory_ids_and_fingerprints_pass() {
        let text = "[scan]\nfail-on = \"low\"\n[rules]\n\"deps.prerelease\" = \"off\"\n\
                    \"policy.ignore-expired\" = \"high\"\n[fim]\npaths = []\n[secrets]\n\
                    [[ignore]]\nid = \"GHSA-aaaa-bbbb-cccc\"\nreason = \"r\"\n\
                    [[ignore]]\nid = \"RUSTSEC-2019-0019\"\nreason = \"r\"\n\
                    [[ignore]]\nid = \"3f1a9c0d2b7e4f5a\"\nreason = \"r\"\n\
                    [[ignore]]\nid = \"Secrets.GitHub-Token\"\nreason = \"r\"\n";
        let policy = checked(text).unwrap();
        assert_eq!(policy.ignores.len(), 4);
        // Syntax errors still come from the parser, with their line.
        let err = checked("[scan]\nfail-on = \n").unwrap_err();
        assert!(err.to_string().starts_with("allclear.toml:2:"), "{err}");
    }

    #[test]
    fn checked_names_match_the_structs() {
        // Every key the structs read passes the check; a key they do not read fails serde
        // too, so the lists cannot drift without one of these failing.
        let text = "[scan]\nfail-on = \"low\"\nmax-db-age-days = 3\nexclude = []\n\
                    [[ignore]]\nid = \"CVE-1\"\nreason = \"r\"\nexpires = \"2030-01-01\"\npath = \"a/**\"\n";
        checked(text).unwrap();
        for key in SCAN_KEYS {
            assert!(text.contains(&format!("\n{key} =")), "{key}");
        }
        for key in IGNORE_KEYS {
            assert!(text.contains(&format!("\n{key} =")), "{key}");
        }
    }

    #[test]
    fn unknown_sections_are_kept_for_their_capability() {
        let policy = Policy::from_toml("[fim]\npaths = [\"/etc\"]\n", "a.toml").unwrap();
        assert!(policy.sections.contains_key("fim"));
    }
}
