//! Configuration assessment for allclear: does this server keep its hardening promises?
//!
//! Wazuh's SCA policy files (YAML, mapped to CIS, NIST 800-53, HIPAA and more) load at run
//! time with [`load_policy`] and run with [`evaluate_policy`] against a [`System`]: the
//! running host, or a tree mounted under a root directory. Every check ends passed, failed,
//! not applicable, not run or in error, each with its reason, so a report can say exactly
//! what was and was not checked. Command rules (`c:`) run only when the caller allows them,
//! without a shell, with a timeout and an output limit; a policy cannot allow them itself.
//!
//! ```
//! use allclear_audit::{evaluate_policy, load_policy, Outcome, System};
//!
//! let policy = load_policy(r#"
//! policy: {id: demo, name: Demo, description: demo}
//! checks:
//!   - id: 1
//!     title: "sshd does not permit root login"
//!     compliance: {cis: ["5.1.20"]}
//!     condition: all
//!     rules: ['f:/etc/ssh/sshd_config -> r:^PermitRootLogin\s+no']
//! "#, "demo.yml")?;
//!
//! let root = tempfile::tempdir()?;
//! std::fs::create_dir_all(root.path().join("etc/ssh"))?;
//! std::fs::write(root.path().join("etc/ssh/sshd_config"), "PermitRootLogin yes\n")?;
//! let result = evaluate_policy(&policy, &System::rooted(root.path()));
//! assert_eq!(result.checks[0].outcome, Outcome::Failed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod baseline;
mod eval;
pub mod osregex;
mod policy;
mod rule;
mod system;

pub use baseline::{BASELINE_ID, PlannedFix, RuleDoc, plan_fixes, rule_docs, run_baseline};
pub use eval::{CheckResult, Outcome, PolicyResult, combine, evaluate_check, evaluate_policy};
pub use osregex::{Dialect, RegexError};
pub use policy::{
    Check, Condition, LoadError, MAX_POLICY_BYTES, PolicyError, Requirements, ScaPolicy,
    load_policy,
};
pub use rule::{Rule, RuleError, RuleKind};
pub use system::{AccessError, CommandOutput, Kind, Limits, MAX_SYMLINKS, System};

/// The `[audit]` section of `allclear.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AuditSettings {
    /// Let command rules (`c:`) run. Only this file or the command line can say so: a
    /// policy cannot widen its own permissions.
    #[serde(default)]
    pub allow_commands: bool,
    /// SCA policy files to run in addition to those given on the command line.
    #[serde(default)]
    pub policies: Vec<std::path::PathBuf>,
}
