//! Shared body of the fuzz targets: one target per ecosystem, each feeding the same input
//! shape to that ecosystem's parsers.

use std::cmp::Ordering;

use allclear_core::Ecosystem;
use allclear_versions::{Requirement, Version, compare};

/// Reads `data` as up to three lines — version `a`, version `b`, a requirement — and checks
/// that nothing panics, that `compare` is antisymmetric and agrees with `Ord`, and that a
/// version equals itself.
pub fn run(eco: Ecosystem, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(3, '\n');
    let a = lines.next().unwrap_or("");
    let b = lines.next().unwrap_or("");
    let req = lines.next().unwrap_or(a);

    let va = Version::parse(eco, a);
    let vb = Version::parse(eco, b);
    if let (Ok(x), Ok(y)) = (&va, &vb) {
        let ab = compare(eco, a, b).ok();
        let ba = compare(eco, b, a).ok();
        assert_eq!(ab, Some(x.cmp(y)));
        assert_eq!(ab.map(Ordering::reverse), ba);
        assert_eq!(x.cmp(x), Ordering::Equal);
        let _ = x.is_prerelease();
    }
    if let Ok(r) = Requirement::parse(eco, req) {
        for v in [&va, &vb].into_iter().flatten() {
            let _ = r.matches(v);
        }
    }
}
