use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Ecosystem, Finding, Severity};

/// The version of the JSON report shape (docs/json-schema.md). Bumped only on breaking changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything one run found, after the policy was applied. Renderers take this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub findings: Vec<Finding>,
    /// Findings an ignore in the policy hid, with the reason it gives.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ignored: Vec<IgnoredFinding>,
    /// Inputs that could not be read or parsed; any error makes the run exit 2.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<RunError>,
    /// Things a person should know that are not findings (a stale advisory database).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
    /// Inputs checked only in part, or not at all, by a limit or because their format is not
    /// supported (an archive past the zip-bomb guard). Not errors: the run's verdict stands,
    /// but it is about what was checked, and every renderer says what was not.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub skipped: Vec<Skipped>,
    pub summary: Summary,
    /// What the run checked, so that "all clear" says what it is about; `None` when the
    /// command does not say (older producers, commands other than `scan`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub coverage: Option<Coverage>,
}

/// What a scan covered: files read, lockfiles parsed, and per ecosystem how many packages
/// were checked against how many advisories of what age.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Files (or staged blobs) read.
    pub files: usize,
    /// Lockfiles parsed (manifests and version files not counted).
    pub lockfiles: usize,
    /// One entry per ecosystem the lockfiles hold, in [`Ecosystem`] order.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ecosystems: Vec<EcosystemCoverage>,
    /// Secret rules the scan ran; `None` when secrets were not scanned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secret_rules: Option<usize>,
    /// The files are what is staged for the next commit (`scan --staged`), not the tree.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub staged: bool,
}

/// The dependency audit of one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemCoverage {
    pub ecosystem: Ecosystem,
    /// Lockfiles with packages of this ecosystem.
    pub lockfiles: usize,
    /// Distinct packages (name and version) checked against the advisories.
    pub packages: usize,
    /// Packages that could not be checked: a version the ecosystem does not order, or no
    /// advisory data for the ecosystem (then every package).
    pub unchecked: usize,
    /// Advisories the database holds for this ecosystem (0: none, so nothing was checked).
    pub advisories: usize,
    /// When the oldest source holding this ecosystem's advisories was imported (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub imported_at: Option<String>,
    /// Whole days since `imported_at`, when the run knew the time.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub age_days: Option<i64>,
}

/// A finding the policy hid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgnoredFinding {
    pub finding: Finding,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expires: Option<jiff::civil::Date>,
}

/// An input the run could not use: a malformed lockfile, an unreadable file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    pub message: String,
}

/// An input a limit or an unsupported format kept the run from checking in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: String,
    /// What was and was not checked, and which setting set the limit.
    pub reason: String,
}

/// Counts, and whether the run fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub findings: usize,
    pub by_severity: BTreeMap<Severity, usize>,
    /// True when at least one finding is at or above `fail_on`.
    pub failed: bool,
    pub fail_on: Severity,
    pub ignored: usize,
    pub errors: usize,
}

impl Report {
    /// Builds a report and its summary from findings that already went through the policy.
    pub fn new(
        mut findings: Vec<Finding>,
        ignored: Vec<IgnoredFinding>,
        fail_on: Severity,
    ) -> Report {
        findings.sort_by(|a, b| {
            (&a.location.path, a.location.line, &a.rule, &a.title).cmp(&(
                &b.location.path,
                b.location.line,
                &b.rule,
                &b.title,
            ))
        });
        let mut report = Report {
            schema: SCHEMA_VERSION,
            findings,
            ignored,
            errors: Vec::new(),
            warnings: Vec::new(),
            skipped: Vec::new(),
            coverage: None,
            summary: Summary {
                findings: 0,
                by_severity: BTreeMap::new(),
                failed: false,
                fail_on,
                ignored: 0,
                errors: 0,
            },
        };
        report.refresh_summary();
        report
    }

    pub fn add_error(&mut self, error: RunError) {
        self.errors.push(error);
        self.refresh_summary();
    }

    pub fn add_warning(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    /// Records an input that was not checked in full. It does not change the exit code.
    pub fn add_skipped(&mut self, skipped: Skipped) {
        self.skipped.push(skipped);
    }

    /// Recomputes the summary after findings or errors were added.
    pub fn refresh_summary(&mut self) {
        let mut by_severity = BTreeMap::new();
        for finding in &self.findings {
            *by_severity.entry(finding.severity).or_insert(0) += 1;
        }
        self.summary.findings = self.findings.len();
        self.summary.failed = self
            .findings
            .iter()
            .any(|f| f.severity >= self.summary.fail_on && f.severity > Severity::Info);
        self.summary.by_severity = by_severity;
        self.summary.ignored = self.ignored.len();
        self.summary.errors = self.errors.len();
    }

    /// 0 all clear, 1 findings at or above the failing severity, 2 an input could not be used.
    pub fn exit_code(&self) -> i32 {
        if !self.errors.is_empty() {
            2
        } else if self.summary.failed {
            1
        } else {
            0
        }
    }
}
