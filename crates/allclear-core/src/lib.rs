//! The shared model of allclear: what a finding is, how it is fingerprinted, and how the
//! team's policy (`allclear.toml`) filters findings and decides whether a run fails.
//!
//! Capability crates (lockfiles and advisories, secrets, file integrity, logs) produce
//! [`Finding`]s; [`Policy::evaluate`] applies ignores, rule overrides and the failing
//! severity; renderers in `allclear-report` turn the resulting [`Report`] into text.
//!
//! ```
//! use allclear_core::{Finding, Location, Policy, Severity};
//!
//! let finding = Finding::new("deps.vulnerable", Severity::High, "rack 2.0.1: shell escape injection")
//!     .with_location(Location::new("Gemfile.lock").with_line(42))
//!     .with_key("rack@2.0.1/GHSA-xxxx");
//! let policy = Policy::default();
//! let report = policy.evaluate(vec![finding], jiff::civil::date(2026, 11, 23));
//! assert!(report.summary.failed);
//! assert_eq!(report.summary.findings, 1);
//! ```

mod baseline;
mod ecosystem;
mod finding;
mod policy;
mod report;
mod rule_doc;

pub use baseline::{BASELINE_SCHEMA, Baseline, BaselineEntry, BaselineError};
pub use ecosystem::{Ecosystem, UnknownEcosystem};
pub use finding::{Finding, Fix, Location, PackageRef, Severity, UnknownSeverity, fingerprint};
pub use policy::{
    CORE_RULES, Ignore, KnownNames, Policy, PolicyError, RuleSetting, ScanPolicy, closest_name,
};
pub use report::{
    Coverage, EcosystemCoverage, IgnoredFinding, Report, RunError, SCHEMA_VERSION, Skipped, Summary,
};
pub use rule_doc::{
    REPOSITORY_URL, RULE_DOCS_URL, RuleDoc, TEXT_WIDTH, check_rule_docs, rule_docs,
};
