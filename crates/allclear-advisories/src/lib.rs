//! Advisory importers (OSV, RubySec, FriendsOfPHP, RustSec), the indexed local advisory store, and matching.

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
pub use model::{
    Advisory, Affected, AffectedVersions, CvssScore, Event, Informational, Range, best_cvss,
};
pub use matching::{
    MatchError, PackageMatch, PackageQuery, Vulnerability, check_package, check_packages,
    entries_for, match_advisories,
};
pub use names::normalize_name;
pub use store::{
    DB_FILE_NAME, EcosystemStats, SCHEMA_VERSION, SourceInfo, SourceKind, Status, Store,
    StoreError,
};
