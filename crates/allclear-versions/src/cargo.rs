//! crates.io versions: the `semver` crate, which is Cargo's own parser.
use std::cmp::Ordering;

pub(crate) fn parse(text: &str) -> Result<semver::Version, &'static str> {
    semver::Version::parse(text).map_err(|_| "not a SemVer version as Cargo reads it")
}

/// SemVer precedence: build metadata does not order (the crate's own `Ord` uses it as a
/// tie-break, but crates.io never holds two versions that differ only by it).
pub(crate) fn cmp(a: &semver::Version, b: &semver::Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

pub(crate) fn parse_req(text: &str) -> Result<semver::VersionReq, &'static str> {
    semver::VersionReq::parse(text).map_err(|_| "not a Cargo version requirement")
}
