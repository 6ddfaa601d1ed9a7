//! Property tests: parsers never panic, OSV range matching agrees with a plain interval
//! model, and a computed fix is really clean.

use allclear_advisories::formats::{friendsofphp, osv, rubysec, rustsec};
use allclear_advisories::*;
use allclear_core::Ecosystem;
use proptest::prelude::*;

fn semver(v: (u8, u8, u8)) -> String {
    format!("{}.{}.{}", v.0 % 4, v.1 % 4, v.2 % 4)
}

/// A random OSV record for npm package `p` with `pairs` introduced/fixed intervals (from
/// sorted, distinct boundaries), and the plain model of which versions it affects.
type V = (u8, u8, u8);

fn record(bounds: &[V], open_end: bool) -> (String, Vec<(V, V)>) {
    let mut b: Vec<V> = bounds.iter().map(|v| (v.0 % 4, v.1 % 4, v.2 % 4)).collect();
    b.sort();
    b.dedup();
    let mut events = Vec::new();
    let mut intervals = Vec::new();
    for pair in b.chunks(2) {
        match pair {
            [a, z] => {
                events.push(format!(r#"{{"introduced": "{}"}}"#, semver(*a)));
                events.push(format!(r#"{{"fixed": "{}"}}"#, semver(*z)));
                intervals.push((*a, *z));
            }
            [a] if open_end => {
                events.push(format!(r#"{{"introduced": "{}"}}"#, semver(*a)));
                intervals.push((*a, (255, 255, 255)));
            }
            _ => {}
        }
    }
    // Events out of order on purpose: OSV does not require them sorted.
    events.reverse();
    let json = format!(
        r#"{{"id": "X-1", "affected": [{{"package": {{"ecosystem": "npm", "name": "p"}},
            "ranges": [{{"type": "SEMVER", "events": [{}]}}]}}]}}"#,
        events.join(",")
    );
    (json, intervals)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(text in "\\PC{0,400}") {
        let _ = osv::parse_json(text.as_bytes());
        let _ = osv::parse_yaml(&text);
        let _ = rubysec::parse(&text, "x");
        let _ = friendsofphp::parse(&text, "x");
        let _ = rustsec::parse(&text, false);
        let _ = rustsec::parse(&format!("```toml\n{text}\n```\n# t\n"), true);
    }

    #[test]
    fn mutated_records_never_panic(cut in 0usize..400, insert in "[\\[\\]{}:,\"'\\- \\n#a-z0-9]{0,8}") {
        let samples = [
            include_str!("../fixtures/osv/testgem/GHSA-test-0001-aaaa.json"),
            include_str!("../fixtures/rubysec/gems/testgem/CVE-2099-0001.yml"),
            include_str!("../fixtures/friendsofphp/drupal/core/2099-01-01-1.yaml"),
            include_str!("../fixtures/rustsec/crates/testcrate/RUSTSEC-2099-0001.md"),
            include_str!("../fixtures/pypa/vulns/test-pkg/PYSEC-2099-1.yaml"),
        ];
        for s in samples {
            let mut at = cut.min(s.len());
            while !s.is_char_boundary(at) { at -= 1; }
            let mutated = format!("{}{}{}", &s[..at], insert, &s[at..]);
            let _ = osv::parse_json(mutated.as_bytes());
            let _ = osv::parse_yaml(&mutated);
            let _ = rubysec::parse(&mutated, "x");
            let _ = friendsofphp::parse(&mutated, "x");
            let _ = rustsec::parse(&mutated, false);
        }
    }

    #[test]
    fn ranges_agree_with_the_interval_model(
        bounds in proptest::collection::vec(any::<(u8, u8, u8)>(), 0..8),
        open_end in any::<bool>(),
        probe in any::<(u8, u8, u8)>(),
    ) {
        let (json, intervals) = record(&bounds, open_end);
        let advisory = osv::parse_json(json.as_bytes()).unwrap().advisory;
        let v = (probe.0 % 4, probe.1 % 4, probe.2 % 4);
        let expected = intervals.iter().any(|(a, z)| *a <= v && v < *z);
        let m = match_advisories(Ecosystem::Npm, "p", &semver(v), vec![advisory]);
        prop_assert_eq!(!m.vulnerabilities.is_empty(), expected, "{} {}", json, semver(v));
        if let Some(fix) = &m.fix {
            // The fix is above the installed version and inside no interval.
            let f: Vec<u8> = fix.split('.').map(|p| p.parse().unwrap()).collect();
            let f = (f[0], f[1], f[2]);
            prop_assert!(f > v);
            prop_assert!(!intervals.iter().any(|(a, z)| *a <= f && f < *z));
            // And it is the smallest fixed boundary above v that is clean.
            let smaller = intervals.iter().map(|(_, z)| *z).filter(|z| *z > v && *z < f);
            for z in smaller {
                prop_assert!(intervals.iter().any(|(a, e)| *a <= z && z < *e));
            }
        } else if expected {
            // No fix only when the affected stretch from v never ends.
            prop_assert!(intervals.iter().any(|(a, z)| *a <= v && *z == (255, 255, 255))
                || intervals.iter().map(|(_, z)| *z).filter(|z| *z > v)
                    .all(|z| intervals.iter().any(|(a, e)| *a <= z && z < *e)));
        }
    }

    #[test]
    fn rubysec_patched_requirement_model(patched in any::<(u8, u8, u8)>(), probe in any::<(u8, u8, u8)>()) {
        let text = format!("gem: g\ncve: 2099-1\npatched_versions:\n  - \">= {}\"\n", semver(patched));
        let a = rubysec::parse(&text, "CVE-2099-1").unwrap().advisory;
        let p = (patched.0 % 4, patched.1 % 4, patched.2 % 4);
        let v = (probe.0 % 4, probe.1 % 4, probe.2 % 4);
        let m = match_advisories(Ecosystem::RubyGems, "g", &semver(v), vec![a]);
        prop_assert_eq!(!m.vulnerabilities.is_empty(), v < p);
        if v < p {
            prop_assert_eq!(m.fix, Some(semver(p)));
        }
    }
}
