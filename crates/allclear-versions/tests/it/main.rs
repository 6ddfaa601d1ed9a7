//! Integration tests for allclear-versions: one binary, one module per concern.

mod conformance;
mod prerelease_ranges;
mod properties;
mod requirements;

use std::path::PathBuf;

/// The shared test material (`$ALLCLEAR_SHARED`, else `../shared` beside the workspace), or
/// `None` with a notice when it is absent.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ALLCLEAR_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: shared test material not found at {} (set ALLCLEAR_SHARED)",
            dir.display()
        );
        None
    }
}
