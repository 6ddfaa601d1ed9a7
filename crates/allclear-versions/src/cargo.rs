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

/// Whether `v` lies in the versions `req` names, pre-releases ordered like any other
/// version: how cargo-audit (the `rustsec` crate) reads an advisory's `patched` and
/// `unaffected` requirements, where `>= 0.8.1` covers `0.11.0-rc.6`. Cargo's own
/// [`semver::VersionReq::matches`] would exclude it, because Cargo does not *select* a
/// pre-release unless asked; an advisory's range is about ordering, not selection.
///
/// The bounds `^`, `~`, `*` and partial versions imply (`^0.9` is `< 0.10.0`) exclude the
/// pre-releases of the next series (`< 0.10.0-0`), as node-semver writes them: `0.10.0-rc.1`
/// is not part of the 0.9 series.
pub(crate) fn matches_ordered(req: &semver::VersionReq, v: &semver::Version) -> bool {
    req.comparators.iter().all(|c| comparator_ordered(c, v))
}

fn comparator_ordered(c: &semver::Comparator, v: &semver::Version) -> bool {
    use semver::Op;
    let version = |major, minor, patch, pre: semver::Prerelease| semver::Version {
        major,
        minor,
        patch,
        pre,
        build: semver::BuildMetadata::EMPTY,
    };
    let floor = || semver::Prerelease::new("0").unwrap_or(semver::Prerelease::EMPTY);
    let lower = version(
        c.major,
        c.minor.unwrap_or(0),
        c.patch.unwrap_or(0),
        c.pre.clone(),
    );
    // The first version after the series a partial version names (`1.2` → `1.3.0-0`), or
    // `None` when the comparator names one full version.
    let next_series = match (c.minor, c.patch) {
        (None, _) => Some(version(c.major.saturating_add(1), 0, 0, floor())),
        (Some(minor), None) => Some(version(c.major, minor.saturating_add(1), 0, floor())),
        (Some(_), Some(_)) => None,
    };
    let at_least = |bound: &semver::Version| cmp(v, bound).is_ge();
    let below = |bound: &semver::Version| cmp(v, bound).is_lt();
    match c.op {
        Op::Exact | Op::Wildcard => match &next_series {
            Some(end) => at_least(&lower) && below(end),
            None => cmp(v, &lower).is_eq(),
        },
        Op::Greater => match &next_series {
            Some(end) => at_least(end),
            None => cmp(v, &lower).is_gt(),
        },
        Op::GreaterEq => at_least(&lower),
        Op::Less => below(&lower),
        Op::LessEq => match &next_series {
            Some(end) => below(end),
            None => cmp(v, &lower).is_le(),
        },
        Op::Tilde => {
            let end = match c.minor {
                None => version(c.major.saturating_add(1), 0, 0, floor()),
                Some(minor) => version(c.major, minor.saturating_add(1), 0, floor()),
            };
            at_least(&lower) && below(&end)
        }
        Op::Caret => {
            let end = match (c.major, c.minor, c.patch) {
                (0, Some(0), Some(patch)) => version(0, 0, patch.saturating_add(1), floor()),
                (0, Some(minor), _) => version(0, minor.saturating_add(1), 0, floor()),
                (major, _, _) => version(major.saturating_add(1), 0, 0, floor()),
            };
            at_least(&lower) && below(&end)
        }
        // `semver::Op` is non-exhaustive: an operator added later is read the way Cargo reads
        // it (the conservative side for a patched range: not patched).
        _ => c.matches(v),
    }
}
