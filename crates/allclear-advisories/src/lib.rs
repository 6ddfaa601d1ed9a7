//! The local advisory database: importers (OSV JSON/YAML/zip, RubySec, FriendsOfPHP,
//! RustSec), an indexed single-file store, download of OSV's per-ecosystem zips, and
//! matching of installed packages against advisories.
//!
//! - [`import`] reads advisory sources (format detected from the path, see [`detect`]) and
//!   builds `advisories.db` in a directory, atomically replacing the previous one.
//!   [`update`] downloads `{base}/{ECOSYSTEM}/all.zip` from OSV and imports it.
//! - [`Store::open`] opens it read-only; lookups read only the packages asked for.
//! - [`check_packages`] matches many packages at once and returns, per package, one
//!   [`Vulnerability`] per problem (advisories sharing an id or alias are merged, see
//!   [`dedup`]) and the smallest version that fixes them all.
//!
//! ```
//! use allclear_advisories::{Store, check_package, import};
//! use allclear_core::Ecosystem;
//!
//! let sources = tempfile::tempdir()?;
//! std::fs::write(
//!     sources.path().join("GHSA-xxxx-yyyy-zzzz.json"),
//!     r#"{"id": "GHSA-xxxx-yyyy-zzzz", "aliases": ["CVE-2099-1"], "summary": "Shell injection",
//!         "affected": [{"package": {"ecosystem": "RubyGems", "name": "rack"},
//!           "ranges": [{"type": "ECOSYSTEM",
//!                       "events": [{"introduced": "0"}, {"fixed": "2.0.6"}]}]}]}"#,
//! )?;
//! let db = tempfile::tempdir()?;
//! let summary = import(db.path(), &[sources.path().to_owned()], &|_event| {})?;
//! assert_eq!(summary.sources[0].imported, 1);
//!
//! let store = Store::open(db.path())?;
//! let found = check_package(&store, Ecosystem::RubyGems, "rack", "2.0.1")?;
//! assert_eq!(found.vulnerabilities[0].ids, ["GHSA-xxxx-yyyy-zzzz", "CVE-2099-1"]);
//! assert_eq!(found.fix.as_deref(), Some("2.0.6"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod archive;
pub mod dedup;
mod download;
pub mod formats;
mod import;
mod matching;
mod model;
mod names;
mod store;

pub use archive::{ArchiveError, ZipLimits};
pub use download::{
    DEFAULT_OSV_BASE, UpdateError, UpdateEvent, UpdateOptions, osv_zip_url, update,
};
pub use import::{
    EcosystemCounts, ImportError, ImportEvent, ImportOptions, ImportSummary, ImportWarning,
    MAX_RECORD_BYTES, SourceInput, SourceSummary, detect, import, import_with,
};
pub use matching::{
    MatchError, PackageMatch, PackageQuery, Vulnerability, check_package, check_packages,
    entries_for, match_advisories, platform_applies,
};
pub use model::{
    Advisory, Affected, AffectedVersions, CvssScore, Event, Informational, Range, best_cvss,
};
pub use names::normalize_name;
pub use store::{
    DB_FILE_NAME, EcosystemStats, SCHEMA_VERSION, SourceInfo, SourceKind, Status, Store, StoreError,
};
