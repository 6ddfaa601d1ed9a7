//! Every line of the shared version-ordering fixtures (`v1 < v2`, `=`, `>`) must agree.

use std::cmp::Ordering;
use std::fmt::Write as _;

use allclear_core::Ecosystem;
use allclear_versions::compare;

use crate::shared_dir;

struct Outcome {
    agreed: usize,
    total: usize,
    skipped: usize,
    disagreements: Vec<String>,
}

/// Checks every comparison line of `file` with `eco`, both ways round. `applies` decides
/// whether a line is in the ecosystem's syntax at all (only for Cargo, whose strict SemVer
/// rejects `v1.2.3` and `1`).
fn check_file(file: &str, eco: Ecosystem, applies: impl Fn(&str, &str) -> bool) -> Option<Outcome> {
    let dir = shared_dir()?;
    let path = dir.join("conformance/versions").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out = Outcome {
        agreed: 0,
        total: 0,
        skipped: 0,
        disagreements: Vec::new(),
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = fields[..] else {
            panic!("{}:{}: not `a OP b`: {line}", path.display(), n + 1);
        };
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{}:{}: unknown operator {op}", path.display(), n + 1),
        };
        if !applies(a, b) {
            out.skipped += 1;
            continue;
        }
        out.total += 1;
        let forward = compare(eco, a, b);
        let backward = compare(eco, b, a);
        match (&forward, &backward) {
            (Ok(f), Ok(r)) if *f == want && *r == want.reverse() => out.agreed += 1,
            _ => out.disagreements.push(format!(
                "{file}:{}: {line}  (got {forward:?}, reversed {backward:?})",
                n + 1
            )),
        }
    }
    Some(out)
}

fn run(files: &[(&str, Ecosystem)]) {
    let mut report = String::new();
    let mut failures = Vec::new();
    for &(file, eco) in files {
        let Some(o) = check_file(file, eco, |_, _| true) else {
            return;
        };
        writeln!(report, "{file} ({eco}): {}/{} agreed", o.agreed, o.total).unwrap();
        assert!(o.total > 0, "{file} has no comparisons");
        failures.extend(o.disagreements);
    }
    eprint!("{report}");
    assert!(
        failures.is_empty(),
        "{report}{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rubygems() {
    run(&[
        ("rubygems-versions.txt", Ecosystem::RubyGems),
        ("rubygems-versions-generated.txt", Ecosystem::RubyGems),
        ("rubygems-versions.txt", Ecosystem::Ruby),
    ]);
}

#[test]
fn packagist() {
    run(&[
        ("packagist-versions.txt", Ecosystem::Packagist),
        ("packagist-versions-generated.txt", Ecosystem::Packagist),
    ]);
}

#[test]
fn pypi() {
    run(&[
        ("pypi-versions.txt", Ecosystem::PyPI),
        ("pypi-versions-generated.txt", Ecosystem::PyPI),
    ]);
}

#[test]
fn semver_npm_and_go() {
    run(&[
        ("semver-versions.txt", Ecosystem::Npm),
        ("semver-versions.txt", Ecosystem::Go),
    ]);
}

/// Cargo reads strict SemVer only, so lines with a `v` prefix, a missing minor or patch, or
/// numbers beyond 64 bits are not Cargo versions; the rest must agree.
#[test]
fn semver_cargo() {
    let strict = |s: &str| semver::Version::parse(s).is_ok();
    let Some(o) = check_file("semver-versions.txt", Ecosystem::CratesIo, |a, b| {
        strict(a) && strict(b)
    }) else {
        return;
    };
    eprintln!(
        "semver-versions.txt (crates.io): {}/{} agreed, {} lines not strict SemVer",
        o.agreed, o.total, o.skipped
    );
    assert!(o.total > 0);
    assert!(o.disagreements.is_empty(), "{}", o.disagreements.join("\n"));
}
