//! Requirement syntaxes: shapes taken from real advisories and manifests, with answers worked
//! out from each ecosystem's documented rules, plus every real RubySec and FriendsOfPHP
//! constraint read from the shared advisory databases.

use std::collections::BTreeMap;
use std::path::Path;

use allclear_core::Ecosystem;
use allclear_versions::{Requirement, Version};

use crate::shared_dir;

/// Asserts which versions a requirement admits and which it rejects.
fn check(eco: Ecosystem, req: &str, yes: &[&str], no: &[&str]) {
    let r = Requirement::parse(eco, req).unwrap_or_else(|e| panic!("{eco} `{req}`: {e}"));
    for v in yes {
        let version = Version::parse(eco, v).unwrap_or_else(|e| panic!("{eco} {v}: {e}"));
        assert!(r.matches(&version), "{eco} `{req}` should match {v}");
    }
    for v in no {
        let version = Version::parse(eco, v).unwrap_or_else(|e| panic!("{eco} {v}: {e}"));
        assert!(!r.matches(&version), "{eco} `{req}` should not match {v}");
    }
}

fn invalid(eco: Ecosystem, reqs: &[&str]) {
    for req in reqs {
        assert!(
            Requirement::parse(eco, req).is_err(),
            "{eco} `{req}` should be rejected"
        );
    }
}

#[test]
fn rubygems() {
    let eco = Ecosystem::RubyGems;
    check(
        eco,
        ">= 3.2.6",
        &["3.2.6", "3.2.10", "4.0"],
        &["3.2.5", "3.2.6.rc1", "3.1.99"],
    );
    check(
        eco,
        "~> 3.1.21",
        &["3.1.21", "3.1.22", "3.1.99.1", "3.1.22.rc1"],
        &["3.1.20", "3.2.0", "3.2.0.beta1", "3.1.21.rc1"],
    );
    check(
        eco,
        "~> 2.0",
        &["2.0", "2.9.9", "2.1.a"],
        &["3.0", "1.9", "3.0.0.rc1"],
    );
    check(eco, "~> 1", &["1.0", "1.9"], &["2.0", "0.9"]);
    check(
        eco,
        "~> 2.1.4, >= 2.1.4.1",
        &["2.1.4.1", "2.1.4.2", "2.1.9"],
        &["2.1.4", "2.2.0", "2.1.3.9"],
    );
    check(
        eco,
        ">= 1.10.5, < 2.0.0",
        &["1.10.5", "1.99"],
        &["2.0.0", "1.9.9", "2.0"],
    );
    check(
        eco,
        ">= 2.3.5, <= 2.3.14",
        &["2.3.14", "2.3.5.0"],
        &["2.3.15", "2.3.4"],
    );
    check(eco, "= 1.0", &["1.0", "1", "1.0.0"], &["1.0.1", "1.0.a"]);
    check(eco, "1.0", &["1.0.0"], &["1.1"]);
    check(eco, "!= 1.1", &["1.0", "1.2"], &["1.1", "1.1.0"]);
    // `-` reads as `.pre.`, so 1.8.2-r2 is a pre-release of 1.8.2.
    check(
        eco,
        "> 1.8.2-r2",
        &["1.8.3", "1.8.2"],
        &["1.8.2-r2", "1.8.2.pre.r1"],
    );
    check(
        eco,
        "< 2.0.0.beta1",
        &["1.9", "2.0.0.alpha"],
        &["2.0.0.beta1", "2.0.0"],
    );
    // `Ruby` (the interpreter) uses the same rules, and the two ecosystems interoperate.
    let ruby = Requirement::parse(Ecosystem::Ruby, ">= 2.6.7, < 2.7").unwrap();
    assert!(ruby.matches(&Version::parse(Ecosystem::Ruby, "2.6.8").unwrap()));
    assert!(ruby.matches(&Version::parse(Ecosystem::RubyGems, "2.6.8").unwrap()));
    assert!(!ruby.matches(&Version::parse(Ecosystem::Npm, "2.6.8").unwrap()));
    invalid(
        eco,
        &[
            "",
            ">=",
            "~> ",
            ">= 1.0,",
            "=> 1.0",
            ">= a",
            "~> 1.0 || 2.0",
            "1.0 2.0",
        ],
    );
}

#[test]
fn packagist() {
    let eco = Ecosystem::Packagist;
    // FriendsOfPHP `branches.*.versions`, joined with commas.
    check(
        eco,
        ">=2.0.0,<2.0.99",
        &["2.0.0", "v2.0.5", "2.0.98.1"],
        &["2.0.99", "1.9.9", "2.1.0", "dev-master"],
    );
    check(
        eco,
        ">=8.0.0,<8.9.14",
        &["8.0.0", "8.9.13", "8.0.0-beta1"],
        &["8.9.14", "8.9.14-RC1", "7.99"],
    );
    // Composer reads `<1.2` as `<1.2.0.0-dev` and `>=1.2` as `>=1.2.0.0-dev`.
    check(
        eco,
        "<1.2",
        &["1.1.9", "1.1.99-dev"],
        &["1.2.0-dev", "1.2.0-beta1", "1.2.0"],
    );
    check(
        eco,
        ">=1.2",
        &["1.2.0-beta1", "1.2", "1.2.0-dev"],
        &["1.1.99"],
    );
    check(eco, "<5.4.46-p1", &["5.4.46"], &["5.4.46-p1", "5.4.47"]);
    check(
        eco,
        "<=1.2.3",
        &["1.2.3", "1.2.3.0"],
        &["1.2.3.1", "1.2.4-alpha1"],
    );
    check(eco, ">=2.0 <2.1", &["2.0.5"], &["2.1.0", "1.9"]);
    check(
        eco,
        ">=1.0,<1.2 || >=2.0,<2.1",
        &["1.1", "2.0.3"],
        &["1.2", "2.1"],
    );
    check(eco, "1.0.* | 2.0.*", &["1.0.7", "2.0.0"], &["1.1.0"]);
    // composer.json shapes.
    check(
        eco,
        "^1.2.3",
        &["1.2.3", "1.9.9"],
        &["1.2.2", "2.0.0", "2.0.0-alpha1"],
    );
    check(eco, "^0.3", &["0.3.0", "0.3.9"], &["0.4.0", "0.2.9"]);
    check(eco, "^0.0.3", &["0.0.3"], &["0.0.4"]);
    check(eco, "~1.2", &["1.2.0", "1.9.9"], &["2.0.0", "1.1.9"]);
    check(eco, "~1.2.3", &["1.2.3", "1.2.99"], &["1.3.0", "1.2.2"]);
    check(
        eco,
        "1.2.*",
        &["1.2.0", "1.2.99", "1.2.0-beta1"],
        &["1.3.0", "1.1.9"],
    );
    check(eco, "*", &["0.0.1", "99", "dev-master", "1.0.0-alpha"], &[]);
    check(eco, "1.0 - 2.0", &["1.0.0", "2.0.9"], &["2.1.0", "0.9"]);
    check(eco, "1.0.0 - 2.1.0", &["2.1.0"], &["2.1.1"]);
    check(eco, "1.0.0", &["1.0", "v1.0.0", "1.0.0.0"], &["1.0.1"]);
    check(eco, "!=1.0.0", &["1.0.1"], &["1.0"]);
    check(eco, "dev-master", &["dev-master"], &["1.0.0", "dev-main"]);
    check(eco, ">=1.0@dev", &["1.0.0", "1.1.0-beta1"], &["0.9"]);
    check(eco, "2.1.x-dev", &["2.1.x-dev"], &["2.1.0"]);
    invalid(
        eco,
        &["", "~>1.0", ">=foo", "1.0 ||", ">= 1.0 <", "^", "1.2.3.4.5"],
    );
}

#[test]
fn npm() {
    let eco = Ecosystem::Npm;
    check(
        eco,
        "^1.2.3",
        &["1.2.3", "1.9.9"],
        &["2.0.0", "1.2.2", "1.2.4-beta", "2.0.0-0"],
    );
    check(eco, "^0.2.3", &["0.2.3", "0.2.9"], &["0.3.0"]);
    check(eco, "^0.0.3", &["0.0.3"], &["0.0.4"]);
    check(
        eco,
        "^1.2.3-beta.2",
        &["1.2.3-beta.2", "1.2.3-beta.4", "1.2.3"],
        &["1.2.3-beta.1", "1.2.4-beta.2"],
    );
    check(eco, "~1.2", &["1.2.0", "1.2.9"], &["1.3.0", "1.1.9"]);
    check(eco, "~1.2.3", &["1.2.3", "1.2.99"], &["1.3.0"]);
    check(
        eco,
        "1.x",
        &["1.0.0", "1.99.0"],
        &["2.0.0", "0.9.0", "1.5.0-rc.1"],
    );
    check(eco, "1.2.x", &["1.2.7"], &["1.3.0"]);
    check(eco, "*", &["0.0.0", "99.0.0"], &["1.0.0-beta"]);
    check(eco, "", &["1.0.0"], &[]);
    check(
        eco,
        ">=1 <2 || 3",
        &["1.5.0", "3.0.0", "3.9.9"],
        &["2.0.0", "4.0.0", "0.1.0"],
    );
    check(
        eco,
        "1.2.3 - 2.3.4",
        &["1.2.3", "2.3.4"],
        &["2.3.5", "1.2.2"],
    );
    check(eco, "1.2 - 2.3", &["1.2.0", "2.3.99"], &["2.4.0"]);
    // `<1.2.3` names no pre-release, so 1.2.3-beta is out although it sorts lower.
    check(eco, "<1.2.3", &["1.2.2"], &["1.2.3", "1.2.3-beta"]);
    check(
        eco,
        "<1.2.3-rc.1",
        &["1.2.3-beta.1", "1.2.2"],
        &["1.2.3-rc.1", "1.2.3"],
    );
    check(eco, ">= 1.0.0", &["1.0.0", "v2.0.0"], &["0.9.9"]);
    check(eco, "=1.2.3", &["1.2.3", "1.2.3+build.7"], &["1.2.4"]);
    check(eco, ">1.2", &["1.3.0"], &["1.2.9"]);
    check(eco, "<=1.2", &["1.2.9"], &["1.3.0"]);
    check(eco, "<*", &[], &["0.0.0", "1.0.0"]);
    invalid(
        eco,
        &[
            "^",
            ">=1.2.3-",
            "1.2.3.4.x",
            "1.2.3 - ",
            ">=1.0.0<2",
            "~1.a",
            "not a range",
        ],
    );
}

#[test]
fn cargo() {
    let eco = Ecosystem::CratesIo;
    // RustSec `patched`/`unaffected` entries and Cargo.toml requirements.
    check(
        eco,
        ">= 0.3.1",
        &["0.3.1", "1.0.0"],
        &["0.3.0", "0.3.1-alpha.1"],
    );
    check(eco, "^0.9.5", &["0.9.5", "0.9.9"], &["0.10.0"]);
    check(eco, ">= 1.2.0, < 1.5", &["1.4.9"], &["1.5.0", "1.1.0"]);
    check(eco, "1.2", &["1.2.0", "1.9.0"], &["2.0.0", "1.1.9"]);
    check(eco, "~1.2.3", &["1.2.9"], &["1.3.0"]);
    check(eco, "=1.2.3", &["1.2.3", "1.2.3+build"], &["1.2.4"]);
    check(eco, "*", &["0.0.1"], &[]);
    check(
        eco,
        ">=1.0.0-alpha.1, <1.0.0",
        &["1.0.0-alpha.2"],
        &["1.0.0"],
    );
    invalid(eco, &["", ">=", "v1.2.3", "1.2.3 - 2", "|| 1"]);
}

#[test]
fn pypi() {
    let eco = Ecosystem::PyPI;
    check(
        eco,
        ">=1.0,!=1.3.*,<2",
        &["1.0", "1.4", "1.2.9"],
        &["1.3", "1.3.5", "2.0", "0.9"],
    );
    check(eco, "~=2.2", &["2.2", "2.9", "2.2.post1"], &["3.0", "2.1"]);
    check(eco, "~=1.4.5", &["1.4.5", "1.4.99"], &["1.5.0", "1.4.4"]);
    check(eco, "~=2.2.0", &["2.2.0", "2.2.9"], &["2.3.0"]);
    check(
        eco,
        "==1.1.*",
        &["1.1", "1.1.0", "1.1.9", "1.1.post1", "1.1a1"],
        &["1.2", "1.10"],
    );
    check(
        eco,
        "==1.1",
        &["1.1.0", "1.1+local.7", "v1.1"],
        &["1.1.post1", "1.1a1"],
    );
    check(eco, "==1.1+local", &["1.1+LOCAL"], &["1.1", "1.1+other"]);
    check(eco, "!=1.1", &["1.2"], &["1.1.0", "1.1+x"]);
    check(
        eco,
        "<3.1",
        &["3.0", "3.0.dev0", "3.0rc1"],
        &["3.1", "3.1.dev0", "3.1rc1"],
    );
    check(eco, "<3.1rc2", &["3.1rc1", "3.1.dev0"], &["3.1rc2", "3.1"]);
    check(
        eco,
        ">3.1",
        &["3.2", "3.2.post0"],
        &["3.1.post0", "3.1+local", "3.1"],
    );
    check(eco, ">3.1.post0", &["3.1.post1"], &["3.1.post0"]);
    check(eco, ">=2.0rc1", &["2.0rc1", "2.0"], &["2.0b9"]);
    check(eco, "<=2.0", &["2.0+local"], &["2.0.post1"]);
    check(eco, "===1.0", &["1.0", "v1.0"], &["1.0.0"]);
    check(eco, "===foobar", &["FooBar"], &["1.0"]);
    check(eco, "", &["0.1", "1.0a1"], &[]);
    invalid(
        eco,
        &[
            ">=",
            "=1.0",
            "~=1",
            ">=1.0.*",
            "<1.0+local",
            "==1.0a1.*",
            ">=1.0 <2",
            "== 1.0 extra",
        ],
    );
}

#[test]
fn go() {
    let eco = Ecosystem::Go;
    check(
        eco,
        ">= v1.2.3, < v1.3.0",
        &["v1.2.3", "1.2.9", "v1.2.4-0.20191109021931-daa7c04131f5"],
        &["v1.3.0", "v1.2.2"],
    );
    check(eco, ">=1.2.3 <1.3.0", &["v1.2.3"], &["1.3.0"]);
    check(
        eco,
        "= v2.0.0",
        &["v2.0.0+incompatible", "2.0.0"],
        &["v2.0.1"],
    );
    check(eco, "!= 1.0.0", &["1.0.1"], &["v1.0.0"]);
    check(eco, "< 1.0.0 || >= 2.0.0", &["0.9.0", "2.1.0"], &["1.5.0"]);
    check(
        eco,
        "< v0.0.0-20200101000000-000000000000",
        &["v0.0.0-20191109021931-daa7c04131f5"],
        &["v0.0.0-20200102000000-000000000000", "v0.0.0"],
    );
    invalid(eco, &["", ">=", ">= x1.0", "~1.2", "1.0.0 ||"]);
}

#[test]
fn requirement_of_another_ecosystem_never_matches() {
    let r = Requirement::parse(Ecosystem::Npm, ">=1.0.0").unwrap();
    for eco in [Ecosystem::Go, Ecosystem::CratesIo, Ecosystem::RubyGems] {
        assert!(!r.matches(&Version::parse(eco, "1.2.3").unwrap()), "{eco}");
    }
    assert!(r.matches(&Version::parse(Ecosystem::Npm, "1.2.3").unwrap()));
}

#[derive(serde::Deserialize)]
struct RubySecAdvisory {
    #[serde(default)]
    patched_versions: Vec<String>,
    #[serde(default)]
    unaffected_versions: Vec<String>,
}

fn yaml_files(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The lowest version a RubySec entry names with `>=`, `~>` or `=` (the highest of them when
/// there are several) must itself satisfy the entry.
fn lower_bound(entry: &str) -> Option<Version> {
    entry
        .split(',')
        .filter_map(|clause| {
            let clause = clause.trim();
            let v = ["~>", ">=", "="]
                .iter()
                .find_map(|op| clause.strip_prefix(op))?
                .trim();
            Version::parse(Ecosystem::RubyGems, v).ok()
        })
        .max()
}

#[test]
fn every_rubysec_entry_parses_and_admits_its_own_lower_bound() {
    let Some(shared) = shared_dir() else { return };
    let mut files = Vec::new();
    yaml_files(&shared.join("advisories/rubysec"), "yml", &mut files);
    assert!(!files.is_empty(), "no RubySec advisories found");
    let (mut entries, mut bounded) = (0, 0);
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let adv: RubySecAdvisory =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for entry in adv.patched_versions.iter().chain(&adv.unaffected_versions) {
            entries += 1;
            match Requirement::parse(Ecosystem::RubyGems, entry) {
                Err(e) => failures.push(format!("{}: {e}", file.display())),
                Ok(req) => {
                    if let Some(low) = lower_bound(entry) {
                        bounded += 1;
                        if !req.matches(&low) {
                            failures.push(format!("{}: `{entry}` rejects {low}", file.display()));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "RubySec: {entries} requirement entries in {} files, {bounded} checked against their lower bound",
        files.len()
    );
    assert!(entries > 1000);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[derive(serde::Deserialize)]
struct FriendsOfPhpAdvisory {
    #[serde(default)]
    branches: BTreeMap<String, FriendsOfPhpBranch>,
}

#[derive(serde::Deserialize)]
struct FriendsOfPhpBranch {
    #[serde(default)]
    versions: Vec<String>,
}

/// Every branch's constraints parse; a branch `>=A, <B` admits `A` and rejects `B`.
#[test]
fn every_friendsofphp_branch_parses_and_bounds_hold() {
    let Some(shared) = shared_dir() else { return };
    let mut files = Vec::new();
    yaml_files(&shared.join("advisories/friendsofphp"), "yaml", &mut files);
    assert!(!files.is_empty(), "no FriendsOfPHP advisories found");
    let eco = Ecosystem::Packagist;
    let (mut branches, mut bounded) = (0, 0);
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let adv: FriendsOfPhpAdvisory =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (name, branch) in &adv.branches {
            branches += 1;
            let joined = branch.versions.join(",");
            let req = match Requirement::parse(eco, &joined) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{} {name}: {e}", file.display()));
                    continue;
                }
            };
            let low = branch
                .versions
                .iter()
                .find_map(|c| c.trim().strip_prefix(">="));
            let high = branch
                .versions
                .iter()
                .find_map(|c| c.trim().strip_prefix('<'))
                .filter(|h| !h.starts_with('='));
            if let (Some(low), Some(high)) = (low, high) {
                let (low, high) = (
                    Version::parse(eco, low.trim()).unwrap(),
                    Version::parse(eco, high.trim()).unwrap(),
                );
                if low < high {
                    bounded += 1;
                    if !req.matches(&low) || req.matches(&high) {
                        failures.push(format!("{} {name}: `{joined}` bounds", file.display()));
                    }
                }
            }
        }
    }
    eprintln!(
        "FriendsOfPHP: {branches} branches in {} files, {bounded} checked at both bounds",
        files.len()
    );
    assert!(branches > 1000);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
