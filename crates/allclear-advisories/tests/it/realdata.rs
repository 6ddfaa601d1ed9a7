//! Import of the real advisory databases in `shared/advisories`, once for the whole module,
//! and matching of known advisories against known versions.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use allclear_advisories::*;
use allclear_core::{Ecosystem, Severity};

const SOURCES: [&str; 5] = ["rubysec", "friendsofphp", "drupal", "rustsec", "pypa"];

struct Imported {
    _dir: tempfile::TempDir,
    path: PathBuf,
    summary: ImportSummary,
    shared: PathBuf,
}

fn imported() -> Option<&'static Imported> {
    static CELL: OnceLock<Option<Imported>> = OnceLock::new();
    CELL.get_or_init(|| {
        let shared = crate::shared()?;
        let dir = tempfile::tempdir().unwrap();
        let sources: Vec<PathBuf> = SOURCES
            .iter()
            .map(|s| shared.join("advisories").join(s))
            .collect();
        let summary = import(dir.path(), &sources, &|_| {}).unwrap();
        Some(Imported {
            path: dir.path().to_owned(),
            _dir: dir,
            summary,
            shared,
        })
    })
    .as_ref()
}

/// Files under `root` whose name ends with `ext`, and how many of them contain a line
/// starting with `withdrawn` (counted independently of the importer).
fn census(root: &Path, ext: &str) -> (usize, usize) {
    let mut files = 0;
    let mut withdrawn = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(ext) {
                files += 1;
                let text = std::fs::read_to_string(&path).unwrap();
                if text.lines().any(|l| {
                    l.starts_with("withdrawn")
                        || l.starts_with("\"withdrawn\"")
                        || l.trim_start().starts_with("\"withdrawn\":")
                }) {
                    withdrawn += 1;
                }
            }
        }
    }
    (files, withdrawn)
}

fn source<'a>(i: &'a Imported, name: &str) -> &'a SourceSummary {
    i.summary
        .sources
        .iter()
        .find(|s| s.location.ends_with(name))
        .unwrap()
}

#[test]
fn every_record_is_accounted_for() {
    let Some(i) = imported() else { return };
    let adv = i.shared.join("advisories");
    for (name, ext, kind) in [
        ("rubysec", ".yml", SourceKind::RubySec),
        ("friendsofphp", ".yaml", SourceKind::FriendsOfPhp),
        ("drupal", ".json", SourceKind::OsvJson),
        ("rustsec", ".md", SourceKind::RustSec),
        ("pypa", ".yaml", SourceKind::OsvYaml),
    ] {
        let s = source(i, name);
        let (files, withdrawn) = census(&adv.join(name), ext);
        assert_eq!(s.kind, kind, "{name}");
        assert_eq!(s.records, files, "{name}: every record file read");
        assert_eq!(s.imported + s.skipped, s.records, "{name}");
        let counted_withdrawn: usize = s.ecosystems.values().map(|c| c.withdrawn).sum();
        assert_eq!(counted_withdrawn, withdrawn, "{name}: withdrawn");
        // Real databases are curated: malformed records would be our parsers' fault.
        assert_eq!(s.malformed, 0, "{name}: {:?}", s.warnings);
        assert!(s.imported > 500, "{name}: {}", s.imported);
    }
    let rubysec = source(i, "rubysec");
    assert!(rubysec.ecosystems[&Ecosystem::RubyGems].imported > 1000);
    assert!(rubysec.ecosystems[&Ecosystem::Ruby].imported > 100);

    let store = Store::open(&i.path).unwrap();
    let status = store.status();
    assert_eq!(status.sources.len(), SOURCES.len());
    let packagist = &status.ecosystems[&Ecosystem::Packagist];
    assert_eq!(
        packagist.advisories,
        source(i, "friendsofphp").imported + source(i, "drupal").imported
    );
    assert!(!status.built_at.is_empty());
}

fn ids(m: &PackageMatch) -> Vec<&str> {
    m.vulnerabilities
        .iter()
        .flat_map(|v| v.ids.iter().map(String::as_str))
        .collect()
}

#[test]
fn rack_advisory_affects_201_not_the_patched_version() {
    let Some(i) = imported() else { return };
    let store = Store::open(&i.path).unwrap();
    let m = check_package(&store, Ecosystem::RubyGems, "rack", "2.0.1").unwrap();
    assert!(ids(&m).contains(&"CVE-2018-16471"), "{:?}", ids(&m));
    assert!(ids(&m).contains(&"GHSA-5r2p-j47h-mhpg"));
    let v = m
        .vulnerabilities
        .iter()
        .find(|v| v.ids.iter().any(|id| id == "CVE-2018-16471"))
        .unwrap();
    assert_eq!(v.fixed_in.as_deref(), Some("2.0.6"));
    assert_eq!(v.severity, Some(Severity::Medium), "cvss_v3 6.1");
    let fix = m
        .fix
        .clone()
        .expect("some rack release fixes everything 2.0.1 has");
    // The fix really is clean of every advisory it was computed against.
    let after = check_package(&store, Ecosystem::RubyGems, "rack", &fix).unwrap();
    assert!(after.vulnerabilities.len() < m.vulnerabilities.len());
    for v in &after.vulnerabilities {
        assert!(
            !m.vulnerabilities.iter().any(|w| w.ids == v.ids),
            "{fix} still has {:?}",
            v.ids
        );
    }
    let patched = check_package(&store, Ecosystem::RubyGems, "rack", "2.0.6").unwrap();
    assert!(!ids(&patched).contains(&"CVE-2018-16471"));
}

#[test]
fn drupal_core_friendsofphp() {
    let Some(i) = imported() else { return };
    let store = Store::open(&i.path).unwrap();
    // SA-CORE-2018-004 (CVE-2018-7602): 8.5.x before 8.5.3, 7.x before 7.59.
    let m = check_package(&store, Ecosystem::Packagist, "drupal/core", "8.5.2").unwrap();
    let v = m
        .vulnerabilities
        .iter()
        .find(|v| v.ids.iter().any(|id| id == "CVE-2018-7602"))
        .expect("CVE-2018-7602 affects drupal/core 8.5.2");
    assert_eq!(v.fixed_in.as_deref(), Some("8.5.3"));
    assert_eq!(v.severity, Some(Severity::Critical), "title says Critical");
    assert_eq!(
        v.url.as_deref(),
        Some("https://www.drupal.org/sa-core-2018-004")
    );
    for ok in ["8.5.3", "8.6.0"] {
        let m = check_package(&store, Ecosystem::Packagist, "Drupal/Core", ok).unwrap();
        assert!(!ids(&m).contains(&"CVE-2018-7602"), "{ok}");
    }
    let m = check_package(&store, Ecosystem::Packagist, "drupal/core", "7.58").unwrap();
    assert!(ids(&m).contains(&"CVE-2018-7602"));
}

#[test]
fn drupal_contrib_osv() {
    let Some(i) = imported() else { return };
    let store = Store::open(&i.path).unwrap();
    // DRUPAL-CONTRIB-2021-025: <2.5.0 || 3.0.0 || 3.0.1 (two last_affected ranges).
    for (version, affected) in [
        ("2.4.0", true),
        ("2.5.0", false),
        ("3.0.0", true),
        ("3.0.1", true),
        ("3.0.2", false),
    ] {
        let m = check_package(
            &store,
            Ecosystem::Packagist,
            "drupal/admin_toolbar",
            version,
        )
        .unwrap();
        assert_eq!(
            ids(&m).contains(&"DRUPAL-CONTRIB-2021-025"),
            affected,
            "{version}"
        );
    }
}

#[test]
fn rustsec_crates_toolchain_and_informational() {
    let Some(i) = imported() else { return };
    let store = Store::open(&i.path).unwrap();
    let m = check_package(&store, Ecosystem::CratesIo, "abi_stable", "0.9.0").unwrap();
    let v = m
        .vulnerabilities
        .iter()
        .find(|v| v.ids.iter().any(|id| id == "RUSTSEC-2020-0105"))
        .unwrap();
    assert_eq!(v.ids[0], "GHSA-vq23-5h4f-vwpv", "GHSA shown first");
    assert!(v.ids.contains(&"CVE-2020-36212".to_owned()));
    assert_eq!(v.fixed_in.as_deref(), Some("0.9.1"));
    assert!(v.cvss.as_ref().unwrap().vector.is_some());
    let m = check_package(&store, Ecosystem::CratesIo, "abi_stable", "0.9.1").unwrap();
    assert!(!ids(&m).contains(&"RUSTSEC-2020-0105"));

    // Unmaintained: every version, no fix, marked informational.
    let m = check_package(&store, Ecosystem::CratesIo, "ansi_term", "0.12.1").unwrap();
    let v = m
        .vulnerabilities
        .iter()
        .find(|v| v.ids.iter().any(|id| id == "RUSTSEC-2021-0139"))
        .unwrap();
    assert_eq!(v.informational, Some(Informational::Unmaintained));
    assert_eq!(v.fixed_in, None);

    // Withdrawn: RUSTSEC-2022-0044 (markdown) is not in the store.
    let m = check_package(&store, Ecosystem::CratesIo, "markdown", "0.3.0").unwrap();
    assert!(!ids(&m).contains(&"RUSTSEC-2022-0044"));

    // Toolchain advisories are stored under `rust:` names, never hit by a crate name.
    let std_advisories = store
        .advisories_for(Ecosystem::CratesIo, "rust:std")
        .unwrap();
    assert!(std_advisories.iter().any(|a| a.id == "CVE-2015-20001"));
    assert!(
        store
            .advisories_for(Ecosystem::CratesIo, "std")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn pypa_record() {
    let Some(i) = imported() else { return };
    let store = Store::open(&i.path).unwrap();
    // PYSEC-2014-8: fixed in 2.7.2, with a versions list that includes "2.0" (quoted in
    // YAML so it stays a string) and 2.0rc1.
    for (version, affected) in [
        ("2.7.1", true),
        ("2.0rc1", true),
        ("2.0", true),
        ("2.7.2", false),
    ] {
        let m = check_package(&store, Ecosystem::PyPI, "Jinja2", version).unwrap();
        assert_eq!(ids(&m).contains(&"PYSEC-2014-8"), affected, "{version}");
    }
    let m = check_package(&store, Ecosystem::PyPI, "jinja2", "2.7.1").unwrap();
    let v = m
        .vulnerabilities
        .iter()
        .find(|v| v.ids.iter().any(|id| id == "PYSEC-2014-8"))
        .unwrap();
    assert_eq!(v.fixed_in.as_deref(), Some("2.7.2"));
    assert!(m.fix.is_some());
}

#[test]
fn ruby_interpreter_advisory() {
    let Some(i) = imported() else { return };
    let store = Store::open(&i.path).unwrap();
    // CVE-2021-31810: patched ~> 2.6.8, ~> 2.7.4, >= 3.0.2.
    let m = check_package(&store, Ecosystem::Ruby, "ruby", "2.7.3").unwrap();
    let v = m
        .vulnerabilities
        .iter()
        .find(|v| v.ids.iter().any(|id| id == "CVE-2021-31810"))
        .unwrap();
    assert_eq!(v.fixed_in.as_deref(), Some("2.7.4"));
    for ok in ["2.7.4", "3.0.2", "2.6.8"] {
        let m = check_package(&store, Ecosystem::Ruby, "ruby", ok).unwrap();
        assert!(!ids(&m).contains(&"CVE-2021-31810"), "{ok}");
    }
    // Gems and the interpreter do not mix.
    let gem = check_package(&store, Ecosystem::RubyGems, "ruby", "2.7.3").unwrap();
    assert!(!ids(&gem).contains(&"CVE-2021-31810"));
}

#[test]
fn names_with_advisories_is_a_cheap_filter() {
    let Some(i) = imported() else { return };
    let store = Store::open(&i.path).unwrap();
    let names = ["rack", "rails", "no-such-gem-xyz", "Rack"];
    let found = store
        .names_with_advisories(Ecosystem::RubyGems, names)
        .unwrap();
    assert!(found.contains("rack"));
    assert!(!found.contains("no-such-gem-xyz"));
    assert!(!found.contains("Rack"), "RubyGems names are case-sensitive");
    let found = store
        .names_with_advisories(Ecosystem::PyPI, ["Django", "django_not_real"])
        .unwrap();
    assert!(found.contains("Django"));
    // Many names: the store reads the ecosystem's keys once instead of probing; same answer.
    let padding: Vec<String> = (0..5000).map(|i| format!("no-such-gem-{i}")).collect();
    let many = store
        .names_with_advisories(
            Ecosystem::RubyGems,
            names.into_iter().chain(padding.iter().map(String::as_str)),
        )
        .unwrap();
    assert_eq!(many, HashSet::from(["rack", "rails"]));
}

#[test]
fn batch_and_single_lookups_agree() {
    let Some(i) = imported() else { return };
    let store = Store::open(&i.path).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(i.shared.join("advisories/rubysec/gems"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.push("no-such-gem".to_owned());
    // A batch this large reads the ecosystem's whole key set; single lookups probe.
    let queries: Vec<PackageQuery<'_>> = names
        .iter()
        .flat_map(|n| {
            ["0.1", "3.0.0"].map(|version| PackageQuery {
                ecosystem: Ecosystem::RubyGems,
                name: n,
                version,
                platforms: &[],
            })
        })
        .collect();
    let batch = check_packages(&store, &queries).unwrap();
    let single = Store::open(&i.path).unwrap();
    let mut vulnerable = 0;
    for (q, b) in queries.iter().zip(&batch) {
        let s = check_package(&single, q.ecosystem, q.name, q.version).unwrap();
        assert_eq!(&s, b, "{} {}", q.name, q.version);
        vulnerable += usize::from(!b.vulnerabilities.is_empty());
    }
    assert!(vulnerable > 300, "{vulnerable}");
}
