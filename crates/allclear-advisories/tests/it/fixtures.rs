//! Import of our own small fixtures: detection, counts, warnings, dedup across sources.

use std::path::PathBuf;

use allclear_advisories::*;
use allclear_core::{Ecosystem, Severity};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub const ALL: [&str; 5] = ["osv", "rubysec", "friendsofphp", "rustsec", "pypa"];

pub fn import_all(dir: &std::path::Path) -> ImportSummary {
    let sources: Vec<PathBuf> = ALL.iter().map(|s| fixture(s)).collect();
    import(dir, &sources, &|_| {}).unwrap()
}

fn summary_of<'a>(s: &'a ImportSummary, name: &str) -> &'a SourceSummary {
    s.sources
        .iter()
        .find(|x| x.location.ends_with(name))
        .unwrap()
}

#[test]
fn detects_each_format() {
    assert_eq!(detect(&fixture("osv")).unwrap(), SourceKind::OsvJson);
    assert_eq!(detect(&fixture("rubysec")).unwrap(), SourceKind::RubySec);
    assert_eq!(
        detect(&fixture("friendsofphp")).unwrap(),
        SourceKind::FriendsOfPhp
    );
    assert_eq!(detect(&fixture("rustsec")).unwrap(), SourceKind::RustSec);
    assert_eq!(detect(&fixture("pypa")).unwrap(), SourceKind::OsvYaml);
    // A PyPA-style folder given below `vulns/` is recognised by its content.
    assert_eq!(detect(&fixture("pypa/vulns")).unwrap(), SourceKind::OsvYaml);
    assert_eq!(
        detect(&fixture("osv/npm/OSV-TEST-0002.json")).unwrap(),
        SourceKind::OsvJson
    );
    assert!(matches!(
        detect(&fixture("nope")),
        Err(ImportError::Source { .. })
    ));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        detect(empty.path()),
        Err(ImportError::UnknownFormat { .. })
    ));
}

#[test]
fn counts_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let events = std::cell::RefCell::new(Vec::new());
    let sources: Vec<PathBuf> = ALL.iter().map(|s| fixture(s)).collect();
    let s = import(dir.path(), &sources, &|e| {
        events.borrow_mut().push(format!("{e:?}"))
    })
    .unwrap();
    assert_eq!(s.sources.len(), 5);
    let events = events.into_inner();
    assert_eq!(events.iter().filter(|e| e.starts_with("Source")).count(), 5);
    assert_eq!(events.last().map(String::as_str), Some("Writing"));

    let osv = summary_of(&s, "osv");
    assert_eq!(osv.records, 5);
    assert_eq!(osv.imported, 2);
    assert_eq!(osv.malformed, 1);
    assert_eq!(osv.unsupported.get("Maven"), Some(&1));
    assert_eq!(osv.ecosystems[&Ecosystem::Npm].withdrawn, 1);
    assert_eq!(osv.ecosystems[&Ecosystem::Npm].imported, 1);
    assert_eq!(osv.ecosystems[&Ecosystem::RubyGems].imported, 1);
    assert_eq!(osv.warnings.len(), 1);
    let w = &osv.warnings[0];
    assert!(w.file.ends_with("OSV-TEST-0005.json"), "{w}");
    assert!(w.message.contains("line 4"), "names the line: {w}");

    let rubysec = summary_of(&s, "rubysec");
    assert_eq!((rubysec.imported, rubysec.malformed), (3, 1));
    assert!(rubysec.warnings[0].file.ends_with("CVE-2099-0009.yml"));
    assert_eq!(rubysec.ecosystems[&Ecosystem::Ruby].imported, 1);

    let rustsec = summary_of(&s, "rustsec");
    assert_eq!((rustsec.imported, rustsec.skipped), (3, 1));
    assert_eq!(rustsec.ecosystems[&Ecosystem::CratesIo].withdrawn, 1);

    let pypa = summary_of(&s, "pypa");
    assert_eq!((pypa.imported, pypa.skipped), (1, 1));

    let store = Store::open(dir.path()).unwrap();
    let status = store.status();
    assert_eq!(status.sources.len(), 5);
    assert_eq!(status.ecosystems[&Ecosystem::RubyGems].advisories, 3);
    assert_eq!(status.ecosystems[&Ecosystem::RubyGems].packages, 1);
    assert_eq!(status.ecosystems[&Ecosystem::Packagist].advisories, 2);
    let osv_info = status
        .sources
        .iter()
        .find(|i| i.location.ends_with("osv"))
        .unwrap();
    assert_eq!(osv_info.kind, SourceKind::OsvJson);
    assert_eq!(osv_info.skipped, 3);
    assert_eq!(osv_info.advisories[&Ecosystem::Npm], 1);
}

#[test]
fn same_problem_from_two_sources_is_one_vulnerability() {
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    let store = Store::open(dir.path()).unwrap();
    let m = check_package(&store, Ecosystem::RubyGems, "testgem", "2.0.1").unwrap();
    assert_eq!(m.vulnerabilities.len(), 1, "{m:#?}");
    let v = &m.vulnerabilities[0];
    assert_eq!(v.ids, vec!["GHSA-test-0001-aaaa", "CVE-2099-0001"]);
    assert_eq!(v.sources, vec!["osv", "rubysec"]);
    assert_eq!(v.summary.as_deref(), Some("Header injection in testgem"));
    assert_eq!(
        v.severity,
        Some(Severity::Critical),
        "highest of 9.8 and 6.1"
    );
    assert_eq!(v.cvss.as_ref().map(|c| c.score), Some(9.8));
    assert_eq!(v.fixed_in.as_deref(), Some("2.0.6"));
    assert_eq!(m.fix.as_deref(), Some("2.0.6"));

    // 0.9 is hit by both problems; the fix must clear both.
    let m = check_package(&store, Ecosystem::RubyGems, "testgem", "0.9").unwrap();
    assert_eq!(m.vulnerabilities.len(), 2);
    assert_eq!(m.fix.as_deref(), Some("1.6.11"));
    assert_eq!(
        m.vulnerabilities[1].ids,
        vec!["OSVDB-99"],
        "the low one sorts last"
    );
    assert_eq!(m.vulnerabilities[1].fixed_in.as_deref(), Some("1.0.1"));
    // 0.4 is unaffected by OSVDB-99 (unaffected_versions).
    let m = check_package(&store, Ecosystem::RubyGems, "testgem", "0.4").unwrap();
    assert_eq!(m.vulnerabilities.len(), 1);
}

#[test]
fn each_format_matches() {
    let dir = tempfile::tempdir().unwrap();
    import_all(dir.path());
    let store = Store::open(dir.path()).unwrap();
    let hit = |eco, name: &str, version: &str| -> Vec<String> {
        check_package(&store, eco, name, version)
            .unwrap()
            .vulnerabilities
            .into_iter()
            .flat_map(|v| v.ids)
            .collect()
    };
    // npm, several pairs, last_affected, limit; the withdrawn record never matches.
    for (v, want) in [
        ("0.9.0", false),
        ("1.1.0", true),
        ("1.2.0", false),
        ("2.1.5", true),
        ("2.1.6", false),
        ("3.4.9", true),
        ("3.5.0", false),
    ] {
        let ids = hit(Ecosystem::Npm, "@scope/pkg", v);
        assert_eq!(ids.contains(&"OSV-TEST-0002".to_owned()), want, "{v}");
        assert!(!ids.contains(&"OSV-TEST-0003".to_owned()));
    }
    // Ruby interpreter.
    assert!(!hit(Ecosystem::Ruby, "ruby", "3.2.8").is_empty());
    assert!(hit(Ecosystem::Ruby, "ruby", "3.2.9").is_empty());
    assert!(hit(Ecosystem::Ruby, "ruby", "3.3.5").is_empty());
    // FriendsOfPHP: branches, `<=` upper bound, package name case.
    assert!(!hit(Ecosystem::Packagist, "drupal/core", "10.2.8").is_empty());
    assert!(hit(Ecosystem::Packagist, "drupal/core", "10.2.9").is_empty());
    let m = check_package(&store, Ecosystem::Packagist, "drupal/core", "10.3.1").unwrap();
    assert_eq!(m.fix.as_deref(), Some("10.3.2"));
    assert_eq!(m.vulnerabilities[0].severity, Some(Severity::High));
    let m = check_package(&store, Ecosystem::Packagist, "acme/widgets", "1.7.2").unwrap();
    assert_eq!(m.vulnerabilities.len(), 1);
    assert_eq!(m.fix, None, "`<=1.7.2` names no fixed version");
    // RustSec: hyphen/underscore, caret patched, unaffected, informational, withdrawn.
    assert!(!hit(Ecosystem::CratesIo, "test_crate", "0.8.3").is_empty());
    assert!(hit(Ecosystem::CratesIo, "test-crate", "0.8.5").is_empty());
    assert!(hit(Ecosystem::CratesIo, "test-crate", "0.4.0").is_empty());
    let m = check_package(&store, Ecosystem::CratesIo, "test-crate", "0.8.3").unwrap();
    assert_eq!(m.fix.as_deref(), Some("0.8.4"));
    let m = check_package(&store, Ecosystem::CratesIo, "oldcrate", "1.0.0").unwrap();
    assert_eq!(
        m.vulnerabilities[0].informational,
        Some(Informational::Unmaintained)
    );
    assert!(hit(Ecosystem::CratesIo, "gonecrate", "0.1.0").is_empty());
    assert!(
        store
            .advisories_for(Ecosystem::CratesIo, "rust:std")
            .unwrap()
            .iter()
            .any(|a| a.id == "CVE-2099-0040")
    );
    // PyPA: PEP 503 name, "1.10.1" kept as text by YAML, the withdrawn record ignored.
    let m = check_package(&store, Ecosystem::PyPI, "Test_Pkg", "1.10.1").unwrap();
    assert_eq!(m.vulnerabilities.len(), 1);
    assert_eq!(m.fix.as_deref(), Some("1.10.2"));
    assert!(hit(Ecosystem::PyPI, "test.pkg", "1.10.2").is_empty());
}
