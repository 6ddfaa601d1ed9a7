//! Secrets, restricted files and personal data: what `allclear scan` looks for in a tree,
//! inside archives and in git history.
//!
//! ```
//! use allclear_secrets::{Scanner, SecretsConfig};
//!
//! let scanner = Scanner::new(&SecretsConfig::default()).unwrap();
//! let text = "DATABASE_URL=postgres://app:Zq8vN3xTw1@db.internal/app\n";
//! let findings = scanner.scan_file("config/.env.production", text.as_bytes());
//! assert_eq!(findings[0].rule, "secrets.url-credentials");
//! assert_eq!(findings[0].location.line, Some(1));
//! // Only a redacted form of the secret is ever kept.
//! assert!(!serde_json::to_string(&findings).unwrap().contains("Zq8vN3xTw1"));
//! ```

mod archive;
mod check;
mod config;
mod engine;
mod files;
mod filter;
mod git;
mod personal;
mod restricted;
mod rules;
mod scanner;
mod text;

pub use check::{RuleCheckFailure, check_rules};
pub use config::{ConfigError, PersonalConfig, RestrictedConfig, SecretsConfig};
pub use engine::EngineError;
pub use git::{GitError, GitScan, scan_history, scan_staged};
pub use files::{FileRule, file_rules, paired_credentials};
pub use personal::RULE as PERSONAL_DATA_RULE;
pub use restricted::{RestrictedKind, restricted_kinds};
pub use rules::{Anchor, Context, Filter, Rule, rules};
pub use scanner::{ScanOutput, Scanner, ScannerError};
pub use text::{HEAD_BYTES, looks_binary, redact};
