//! Secrets, restricted files and personal data: what `allclear scan` looks for in a tree,
//! inside archives and in git history.
//!
//! - [`Scanner`] is built once from [`SecretsConfig`] (`SecretsConfig::from_sections` reads
//!   `[secrets]`, `[restricted]`, `[personal-data]` of `allclear.toml`) and shared by the
//!   walk's threads. Per file: [`Scanner::scan_path`] (reads the file in bounded chunks,
//!   archives in place), or [`Scanner::wants`] + [`Scanner::scan`] when the walk reads.
//!   Findings per rule and file are capped at [`MAX_FINDINGS_PER_RULE`], the rest counted.
//! - Content rules ([`rules`]) run behind one Aho-Corasick pass over their keywords; file
//!   rules ([`file_rules`]), restricted files ([`restricted_kinds`]) and personal data
//!   ([`PERSONAL_DATA_RULE`]) complete the picture. [`check_rules`] proves every rule
//!   against its examples.
//! - [`scan_history`] and [`scan_staged`] read git with gix.
//!
//! Findings never hold a secret: titles and details carry a redacted form, and fingerprints
//! use rule + path + a BLAKE3 hash of the secret (never a line number).
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
mod context;
mod docs;
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
pub use docs::rule_docs;
pub use engine::EngineError;
pub use files::{FileRule, file_rules, paired_credentials};
pub use git::{GitError, GitScan, scan_history, scan_staged};
pub use personal::RULE as PERSONAL_DATA_RULE;
pub use restricted::{RestrictedKind, restricted_kinds};
pub use rules::{Anchor, Context, Filter, Rule, rules};
pub use scanner::{MAX_CHUNK_BYTES, MAX_FINDINGS_PER_RULE, ScanOutput, Scanner, ScannerError};
pub use text::{HEAD_BYTES, looks_binary, redact};
