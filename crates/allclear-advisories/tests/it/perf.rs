//! Timing of import and batch matching on the real databases. Ignored by default (no timed
//! assertions in tests); run with
//! `cargo test --release -p allclear-advisories --test it perf -- --ignored --nocapture`.

use std::time::{Duration, Instant};

/// CPU time of this process so far (user + system, all threads), from /proc on Linux: on
/// a shared machine wall time says more about the neighbours than about the code.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the `)`; ticks are
    // 1/100 s on Linux.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

use allclear_advisories::*;
use allclear_core::Ecosystem;

#[test]
#[ignore = "measurement, prints timings"]
fn perf_import_and_match_50k() {
    let Some(shared) = crate::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sources: Vec<_> = ["rubysec", "friendsofphp", "drupal", "rustsec", "pypa"]
        .iter()
        .map(|s| shared.join("advisories").join(s))
        .collect();
    let (t, c) = (Instant::now(), cpu());
    let s = import(dir.path(), &sources, &|_| {}).unwrap();
    let imported: usize = s.sources.iter().map(|s| s.imported).sum();
    eprintln!(
        "import of 5 sources ({imported} advisories): {:?} wall, {:?} CPU",
        t.elapsed(),
        cpu() - c
    );

    // 50,000 packages: every package directory name of the sources (so real hits, at a
    // low version that most advisories affect) padded with names that have none.
    let mut names: Vec<(Ecosystem, String)> = Vec::new();
    for (eco, sub) in [
        (Ecosystem::RubyGems, "rubysec/gems"),
        (Ecosystem::CratesIo, "rustsec/crates"),
        (Ecosystem::PyPI, "pypa"),
    ] {
        for e in std::fs::read_dir(shared.join("advisories").join(sub)).unwrap() {
            names.push((eco, e.unwrap().file_name().to_string_lossy().into_owned()));
        }
    }
    let hits = names.len();
    let mut i = 0;
    while names.len() < 50_000 {
        names.push((Ecosystem::Npm, format!("no-such-package-{i}")));
        i += 1;
    }
    let queries: Vec<PackageQuery<'_>> = names
        .iter()
        .map(|(eco, name)| PackageQuery {
            ecosystem: *eco,
            name,
            version: "0.1.0",
            platforms: &[],
        })
        .collect();
    let store = Store::open(dir.path()).unwrap();
    let (t, c) = (Instant::now(), cpu());
    let results = check_packages(&store, &queries).unwrap();
    let elapsed = t.elapsed();
    let cpu_time = cpu() - c;
    let vulnerable = results
        .iter()
        .filter(|r| !r.vulnerabilities.is_empty())
        .count();
    let vulns: usize = results.iter().map(|r| r.vulnerabilities.len()).sum();
    eprintln!(
        "check_packages of {} packages ({hits} with advisories; {vulnerable} vulnerable, {vulns} vulnerabilities): {elapsed:?} wall, {cpu_time:?} CPU",
        queries.len()
    );
    let t = Instant::now();
    let found = store
        .names_with_advisories(Ecosystem::Npm, names.iter().map(|(_, n)| n.as_str()))
        .unwrap();
    eprintln!(
        "names_with_advisories over 50,000 names: {:?} ({} found)",
        t.elapsed(),
        found.len()
    );
    assert!(vulnerable > 0);
}
