//! Timing of import and batch matching on the real databases. Ignored by default (no timed
//! assertions in tests); run with
//! `cargo test --release -p allclear-advisories --test it perf -- --ignored --nocapture`.

use std::time::Instant;

use allclear_advisories::*;
use allclear_core::Ecosystem;

#[test]
#[ignore = "measurement, prints timings"]
fn perf_import_and_match_50k() {
    let Some(shared) = crate::shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sources: Vec<_> = ["rubysec", "friendsofphp", "drupal", "rustsec", "pypa"]
        .iter()
        .map(|s| shared.join("advisories").join(s))
        .collect();
    let t = Instant::now();
    let s = import(dir.path(), &sources, &|_| {}).unwrap();
    let imported: usize = s.sources.iter().map(|s| s.imported).sum();
    eprintln!("import of 5 sources ({imported} advisories): {:?}", t.elapsed());

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
        .map(|(eco, name)| PackageQuery { ecosystem: *eco, name, version: "0.1.0" })
        .collect();
    let store = Store::open(dir.path()).unwrap();
    let t = Instant::now();
    let results = check_packages(&store, &queries).unwrap();
    let elapsed = t.elapsed();
    let vulnerable = results.iter().filter(|r| !r.vulnerabilities.is_empty()).count();
    let vulns: usize = results.iter().map(|r| r.vulnerabilities.len()).sum();
    eprintln!(
        "check_packages of {} packages ({hits} with advisories; {vulnerable} vulnerable, {vulns} vulnerabilities): {elapsed:?}",
        queries.len()
    );
    let t = Instant::now();
    let found = store
        .names_with_advisories(Ecosystem::Npm, names.iter().map(|(_, n)| n.as_str()))
        .unwrap();
    eprintln!("names_with_advisories over 50,000 names: {:?} ({} found)", t.elapsed(), found.len());
    assert!(vulnerable > 0);
}

#[test]
#[ignore = "measurement"]
fn perf_breakdown() {
    let Some(shared) = crate::shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sources: Vec<_> = ["rubysec", "friendsofphp", "drupal", "rustsec", "pypa"].iter().map(|s| shared.join("advisories").join(s)).collect();
    import(dir.path(), &sources, &|_| {}).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut names: Vec<(Ecosystem, String)> = Vec::new();
    for (eco, sub) in [(Ecosystem::RubyGems, "rubysec/gems"), (Ecosystem::CratesIo, "rustsec/crates"), (Ecosystem::PyPI, "pypa")] {
        for e in std::fs::read_dir(shared.join("advisories").join(sub)).unwrap() { names.push((eco, e.unwrap().file_name().to_string_lossy().into_owned())); }
    }
    let t = Instant::now();
    let mut n = 0; let mut bytes = 0usize;
    let mut all = vec![];
    for (eco, name) in &names { let a = store.advisories_for(*eco, name).unwrap(); n += a.len(); bytes += a.iter().map(|x| serde_json::to_vec(x).unwrap().len()).sum::<usize>(); all.push((*eco, name.clone(), a)); }
    eprintln!("advisories_for x{}: {n} advisories {bytes} bytes (incl. reserialize) {:?}", names.len(), t.elapsed());
    let t = Instant::now();
    for (eco, name, a) in all { let _ = match_advisories(eco, &name, "0.1.0", a); }
    eprintln!("match: {:?}", t.elapsed());
    let t = Instant::now();
    for i in 0..50_000 { let _ = store.has_advisories(Ecosystem::Npm, &format!("no-such-{i}")).unwrap(); }
    eprintln!("has_advisories x50k: {:?}", t.elapsed());
}
