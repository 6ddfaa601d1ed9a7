//! Integration tests of allclear-advisories (one binary, modules per area).

use std::path::PathBuf;

mod fixtures;
mod perf;
mod props;
mod realdata;
mod store;
mod zips;

/// The shared test data folder, or `None` (with a notice) when it is absent.
pub fn shared() -> Option<PathBuf> {
    let path = std::env::var_os("ALLCLEAR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if path.join("advisories").is_dir() {
        Some(path)
    } else {
        eprintln!("skipped: shared test data not found at {}", path.display());
        None
    }
}
