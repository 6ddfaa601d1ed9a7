//! Pre-releases against advisory ranges ([`Requirement::contains`]), per ecosystem, with the
//! answers each ecosystem's own audit tool gives; then every pre-release line of the shared
//! ordering fixtures turned into `>=` and `<` ranges for the ecosystems whose audit tools
//! read ranges by ordering alone.

use std::cmp::Ordering;

use allclear_core::Ecosystem;
use allclear_versions::{Requirement, Version, compare};

use crate::shared_dir;

/// Asserts which versions an advisory range covers and which it does not.
fn covers(eco: Ecosystem, req: &str, yes: &[&str], no: &[&str]) {
    let r = Requirement::parse(eco, req).unwrap_or_else(|e| panic!("{eco} `{req}`: {e}"));
    for v in yes {
        let version = Version::parse(eco, v).unwrap_or_else(|e| panic!("{eco} {v}: {e}"));
        assert!(r.contains(&version), "{eco} `{req}` should cover {v}");
    }
    for v in no {
        let version = Version::parse(eco, v).unwrap_or_else(|e| panic!("{eco} {v}: {e}"));
        assert!(!r.contains(&version), "{eco} `{req}` should not cover {v}");
    }
}

/// RUSTSEC-2019-0019 (blake2, patched `>= 0.8.1`): cargo-audit clears the pre-releases of
/// later series that uv's Cargo.lock holds, though Cargo would not *select* them for the
/// requirement.
#[test]
fn cargo_prereleases_are_ordered() {
    let eco = Ecosystem::CratesIo;
    covers(
        eco,
        ">= 0.8.1",
        &["0.11.0-rc.6", "0.10.0-pre.1", "0.8.1", "0.8.2-alpha"],
        &["0.8.1-rc.1", "0.8.0", "0.7.9-rc.1"],
    );
    // The Cargo reading (selection) is unchanged.
    let req = Requirement::parse(eco, ">= 0.8.1").unwrap();
    assert!(!req.matches(&Version::parse(eco, "0.11.0-rc.6").unwrap()));
    covers(
        eco,
        "< 0.9.0",
        &["0.9.0-rc.1", "0.8.9", "0.1.0-alpha"],
        &["0.9.0", "0.9.1-rc.1"],
    );
    // Implied upper bounds end before the next series' pre-releases.
    covers(
        eco,
        "^0.9.2",
        &["0.9.2", "0.9.5-rc.1", "0.9.99"],
        &["0.9.2-rc.1", "0.10.0-rc.1", "0.10.0"],
    );
    covers(
        eco,
        "~1.2",
        &["1.2.0", "1.2.9-beta"],
        &["1.3.0-alpha", "1.1.9", "1.2.0-alpha"],
    );
    covers(
        eco,
        ">= 1.2.0-beta.2, < 1.2.0",
        &["1.2.0-beta.2", "1.2.0-rc.1"],
        &["1.2.0-beta.1", "1.2.0"],
    );
    covers(
        eco,
        "=1.2",
        &["1.2.0", "1.2.7-rc.1"],
        &["1.3.0-rc.1", "1.1.0"],
    );
    covers(eco, ">1.2", &["1.3.0", "1.3.0-alpha"], &["1.2.9"]);
    covers(
        eco,
        "<=1.2",
        &["1.2.9", "1.2.0-rc.1"],
        &["1.3.0-alpha", "1.3.0"],
    );
    covers(eco, "*", &["0.0.1-alpha", "9.0.0"], &[]);
}

/// `npm audit` tests with `includePrerelease`.
#[test]
fn npm_prereleases_are_ordered() {
    let eco = Ecosystem::Npm;
    covers(
        eco,
        ">=4.17.21",
        &["5.0.0-beta.1", "4.17.22-rc.0"],
        &["4.17.21-rc.1", "4.17.20"],
    );
    covers(
        eco,
        "<2.0.0",
        &["2.0.0-beta.3", "1.9.0"],
        &["2.0.0", "2.0.1-alpha"],
    );
    covers(
        eco,
        ">=1.0.0 <1.4.3 || >=2.0.0-alpha.1 <2.0.1",
        &["1.4.3-rc.1", "2.0.0-alpha.1", "2.0.1-beta"],
        &["1.4.3", "2.0.0-alpha.0", "2.0.1"],
    );
    // npm's own selection rule is unchanged.
    let req = Requirement::parse(eco, ">=4.17.21").unwrap();
    assert!(!req.matches(&Version::parse(eco, "5.0.0-beta.1").unwrap()));
}

/// pip-audit uses `packaging`, which accepts an installed pre-release but keeps PEP 440's
/// rule that `<V` does not cover `V`'s own pre-releases.
#[test]
fn pypi_prereleases_follow_pep_440() {
    let eco = Ecosystem::PyPI;
    covers(
        eco,
        ">=2.0",
        &["2.1a1", "3.0.dev0", "2.0", "2.0.post1"],
        &["2.0a1", "2.0rc1", "1.9"],
    );
    covers(
        eco,
        "<2.0",
        &["1.9", "1.9rc1"],
        &["2.0a1", "2.0rc2", "2.0.dev0"],
    );
    covers(eco, "<2.0rc1", &["2.0a1", "2.0b9"], &["2.0rc1", "2.0"]);
    covers(
        eco,
        ">=1.4,<1.4.3",
        &["1.4.2rc1"],
        &["1.4rc1", "1.4.3a1", "1.4.3"],
    );
}

/// bundler-audit uses `Gem::Requirement`, which has no pre-release exclusion.
#[test]
fn rubygems_prereleases_are_ordered() {
    let eco = Ecosystem::RubyGems;
    covers(
        eco,
        ">= 6.0.5.1",
        &["7.0.0.rc1", "6.0.6.beta1", "6.0.5.1"],
        &["6.0.5.1.rc1", "6.0.5"],
    );
    covers(
        eco,
        "~> 6.1.6, >= 6.1.6.1",
        &["6.1.7.rc1", "6.1.6.1"],
        &["6.1.6.1.rc1", "6.2.0.beta1"],
    );
    covers(eco, "< 7.0.0", &["7.0.0.rc3", "6.9"], &["7.0.0"]);
}

/// `composer audit` reads FriendsOfPHP constraints as Composer does: `<1.2` is
/// `<1.2.0.0-dev`, so 1.2's pre-releases are not below it, and `>=8.5.0` is `>=8.5.0.0-dev`, so
/// it covers 8.5.0's own pre-releases.
#[test]
fn packagist_prereleases_follow_composer() {
    let eco = Ecosystem::Packagist;
    covers(
        eco,
        ">=8.5.0,<8.5.8",
        &["8.5.0", "8.5.7", "8.5.7-rc1", "8.5.0-beta1"],
        &["8.5.8", "8.5.8-rc1", "8.4.9"],
    );
    covers(
        eco,
        ">=10.4.0",
        &["11.0.0-beta1", "10.4.1-rc1"],
        &["10.3.9"],
    );
}

/// govulncheck orders Go pre-releases (and pseudo-versions) like any other version.
#[test]
fn go_prereleases_are_ordered() {
    let eco = Ecosystem::Go;
    covers(
        eco,
        ">= v0.17.0",
        &["v0.18.0-rc.1", "v0.17.1-0.20230101000000-abcdefabcdef"],
        &["v0.17.0-rc.1", "v0.16.9"],
    );
    covers(eco, "< v1.0.0", &["v1.0.0-beta.2", "v0.9.0"], &["v1.0.0"]);
}

/// Every comparison line of a shared ordering fixture in which a pre-release takes part
/// becomes two ranges: for `a < b`, `>= a` covers `b` and `< b` covers `a`, and neither
/// covers the other side. This holds where an ecosystem's audit tool reads ranges by
/// ordering alone (crates.io, npm, Go, RubyGems).
#[test]
fn shared_fixtures_prereleases_against_ranges() {
    let Some(dir) = shared_dir() else {
        return;
    };
    let files = [
        ("semver-versions.txt", Ecosystem::CratesIo),
        ("semver-versions.txt", Ecosystem::Npm),
        ("semver-versions.txt", Ecosystem::Go),
        ("rubygems-versions.txt", Ecosystem::RubyGems),
        ("rubygems-versions-generated.txt", Ecosystem::RubyGems),
    ];
    let mut failures = Vec::new();
    for (file, eco) in files {
        let path = dir.join("conformance/versions").join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut checked = 0;
        for (n, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [a, op, b] = fields[..] else { continue };
            let (low, high) = match op {
                "<" => (a, b),
                ">" => (b, a),
                _ => continue,
            };
            let (Ok(lv), Ok(hv)) = (Version::parse(eco, low), Version::parse(eco, high)) else {
                continue;
            };
            if !(lv.is_prerelease() || hv.is_prerelease())
                || compare(eco, low, high) != Ok(Ordering::Less)
            {
                continue;
            }
            let (Ok(at_least_low), Ok(below_high)) = (
                Requirement::parse(eco, &format!(">= {low}")),
                Requirement::parse(eco, &format!("< {high}")),
            ) else {
                continue;
            };
            checked += 1;
            let want = [
                (at_least_low.contains(&hv), true, ">= low covers high"),
                (below_high.contains(&lv), true, "< high covers low"),
                (at_least_low.contains(&lv), true, ">= low covers low"),
                (below_high.contains(&hv), false, "< high covers high"),
            ];
            for (got, expected, what) in want {
                if got != expected {
                    failures.push(format!("{file}:{} ({eco}) {line}: {what} is {got}", n + 1));
                }
            }
        }
        eprintln!("{file} ({eco}): {checked} pre-release comparisons as ranges");
        assert!(
            checked > 0,
            "{file} gave no pre-release comparisons for {eco}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
