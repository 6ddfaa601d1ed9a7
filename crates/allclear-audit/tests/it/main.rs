//! Integration tests of allclear-audit: the published Wazuh SCA policies from the shared
//! test data, and small policies written here for each rule kind's documented semantics.

mod conformance;
mod semantics;

use std::path::{Path, PathBuf};

/// `WHAT` inside the shared test data (`$ALLCLEAR_SHARED`, else `../shared` beside the
/// workspace), or `None` with a notice when it is absent, so the calling test can skip.
pub fn shared(what: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ALLCLEAR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = root.join(what);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: no shared test data at {} (set ALLCLEAR_SHARED)",
            path.display()
        );
        None
    }
}
