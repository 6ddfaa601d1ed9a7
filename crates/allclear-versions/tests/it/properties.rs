//! Properties: the ordering of every ecosystem is a total order on generated versions, and no
//! input makes parsing or matching panic.

use std::cmp::Ordering;

use allclear_core::Ecosystem;
use allclear_versions::{Requirement, Version, compare};
use proptest::prelude::*;

/// Version-like text mixing the pieces every ecosystem's syntax is made of, so that most
/// strings parse in several ecosystems and the interesting cases (pre-release words,
/// separators, implicit zeros, local/build parts) meet each other.
fn version_text() -> impl Strategy<Value = String> {
    prop::string::string_regex(
        "[vV]?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}([-._]?(a|b|c|rc|RC|alpha|beta|dev|pre|post|pl|p|r|x|#)[0-9]{0,2}){0,2}(\\+[a-z0-9]{1,3}(\\.[0-9]{1,2})?)?",
    )
    .unwrap_or_else(|e| panic!("strategy: {e}"))
}

fn parsed(eco: Ecosystem, texts: &[String]) -> Vec<Version> {
    texts
        .iter()
        .filter_map(|t| Version::parse(eco, t).ok())
        .collect()
}

/// Checks reflexivity, antisymmetry and transitivity over every pair and triple.
fn assert_total_order(vs: &[Version]) -> Result<(), TestCaseError> {
    for a in vs {
        prop_assert_eq!(a.cmp(a), Ordering::Equal, "{:?} is not equal to itself", a);
        for b in vs {
            let ab = a.cmp(b);
            prop_assert_eq!(ab, b.cmp(a).reverse(), "antisymmetry: {:?} {:?}", a, b);
            if a.ecosystem() == b.ecosystem() {
                prop_assert_eq!(
                    compare(a.ecosystem(), a.as_str(), b.as_str()).ok(),
                    Some(ab),
                    "compare() and Ord disagree: {:?} {:?}",
                    a,
                    b
                );
            }
            for c in vs {
                if ab != Ordering::Greater && b.cmp(c) != Ordering::Greater {
                    prop_assert_ne!(
                        a.cmp(c),
                        Ordering::Greater,
                        "transitivity: {:?} <= {:?} <= {:?}",
                        a,
                        b,
                        c
                    );
                }
                if ab == Ordering::Equal && b.cmp(c) == Ordering::Equal {
                    prop_assert_eq!(
                        a.cmp(c),
                        Ordering::Equal,
                        "equality: {:?} {:?} {:?}",
                        a,
                        b,
                        c
                    );
                }
            }
        }
    }
    let mut sorted = vs.to_vec();
    sorted.sort();
    for pair in sorted.windows(2) {
        if let [x, y] = pair {
            prop_assert!(x <= y, "sort left {:?} before {:?}", x, y);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn every_ordering_is_total(texts in prop::collection::vec(version_text(), 2..8)) {
        for eco in Ecosystem::ALL {
            assert_total_order(&parsed(eco, &texts))?;
        }
    }

    /// Mixing ecosystems never panics and stays a total order.
    #[test]
    fn mixed_ecosystems_order_totally(texts in prop::collection::vec(version_text(), 2..6)) {
        let all: Vec<Version> = Ecosystem::ALL
            .into_iter()
            .flat_map(|eco| parsed(eco, &texts))
            .collect();
        assert_total_order(&all)?;
    }

    #[test]
    fn parse_never_panics(text in any::<String>()) {
        for eco in Ecosystem::ALL {
            if let Ok(v) = Version::parse(eco, &text) {
                prop_assert_eq!(v.as_str(), text.as_str());
                let _ = v.is_prerelease();
                let _ = v.is_go_pseudo_version();
            }
            let _ = compare(eco, &text, "1.0.0");
            if let Ok(r) = Requirement::parse(eco, &text) {
                for probe in ["1.2.3", text.as_str()] {
                    if let Ok(v) = Version::parse(eco, probe) {
                        let _ = r.matches(&v);
                    }
                }
            }
        }
    }

    #[test]
    fn requirements_never_panic(
        ops in prop::collection::vec(
            prop::sample::select(vec!["", "=", "==", "!=", "<", "<=", ">", ">=", "~", "~>", "^", "~=", "===", "||", ",", " - ", "*", "x", ".*", "@dev", " "]),
            1..5,
        ),
        versions in prop::collection::vec(version_text(), 1..5),
        probe in version_text(),
    ) {
        let text: String = ops.iter().zip(versions.iter().cycle()).map(|(o, v)| format!("{o}{v} ")).collect();
        for eco in Ecosystem::ALL {
            if let (Ok(r), Ok(v)) = (Requirement::parse(eco, &text), Version::parse(eco, &probe)) {
                let _ = r.matches(&v);
            }
        }
    }

    /// A bare version as a requirement admits exactly the versions equal to it.
    #[test]
    fn exact_requirement_agrees_with_ordering(a in version_text(), b in version_text()) {
        for eco in [Ecosystem::RubyGems, Ecosystem::Go, Ecosystem::CratesIo] {
            let req = format!("={a}");
            if let (Ok(r), Ok(va), Ok(vb)) = (Requirement::parse(eco, &req), Version::parse(eco, &a), Version::parse(eco, &b)) {
                prop_assert!(r.matches(&va), "{eco} {req} vs {a}");
                prop_assert_eq!(r.matches(&vb), va == vb, "{} {} vs {}", eco, req, b);
            }
        }
    }

    /// `>=a` and `<a` split every version in two, where the ecosystem has no pre-release
    /// exclusion in its comparators.
    #[test]
    fn bounds_partition(a in version_text(), b in version_text()) {
        for eco in [Ecosystem::RubyGems, Ecosystem::Go] {
            if let (Ok(ge), Ok(lt), Ok(v)) = (
                Requirement::parse(eco, &format!(">= {a}")),
                Requirement::parse(eco, &format!("< {a}")),
                Version::parse(eco, &b),
            ) {
                prop_assert!(ge.matches(&v) != lt.matches(&v), "{eco} {a} {b}");
                let va = Version::parse(eco, &a).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(ge.matches(&v), v >= va);
            }
        }
    }
}
