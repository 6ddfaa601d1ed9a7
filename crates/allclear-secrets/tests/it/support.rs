//! Shared helpers: where the read-only conformance data lives.

use std::path::PathBuf;

/// `$ALLCLEAR_SHARED`, else `../shared` beside the workspace root; `None` (and a notice)
/// when it is absent, so the calling test can skip.
pub fn shared_dir(what: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("ALLCLEAR_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let path = dir.join(what);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} not found (set ALLCLEAR_SHARED)",
            path.display()
        );
        None
    }
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
