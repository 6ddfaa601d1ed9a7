//! Property tests of the public API: Python patterns translated and matched as Python would,
//! and never a panic on any pattern.

use allclear_pyregex::{PyRegex, translate};
use proptest::prelude::*;

/// Python's `re.escape` for the characters our generator produces.
fn py_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn escaped_literals_match_themselves(lit in "[ -~]{1,30}", prefix in "[a-z ]{0,5}") {
        let re = PyRegex::new(&py_escape(&lit), false).unwrap();
        prop_assert!(!re.is_backtracking());
        let hay = format!("{prefix}{lit}");
        prop_assert!(re.is_match(&hay).unwrap());
        let mut slots = re.slots();
        prop_assert!(re.captures(&hay, &mut slots).unwrap());
        let (s, e) = slots.get(0).unwrap();
        prop_assert_eq!(&hay[s..e], lit.as_str());
    }

    #[test]
    fn translator_never_panics(p in "(\\PC|\\\\|\\(|\\)|\\[|\\]|\\{|\\}|\\?|\\*|\\+|\\||\\^|\\$|<|>|=|!|P|:|#|-|,|[0-9]){0,40}") {
        let _ = translate(&p);
        if let Ok(re) = PyRegex::new(&p, false) {
            let mut slots = re.slots();
            let _ = re.captures("Failed password for root from 192.0.2.1 port 22", &mut slots);
        }
    }

    /// The relaxed pattern used as a prefilter must accept everything the exact one does.
    #[test]
    fn relaxed_prefilter_is_a_superset(
        a in "[ab]{1,3}", b in "[ab]{1,3}", hay in "[ab ]{0,12}", neg in any::<bool>(), cond in any::<bool>(),
    ) {
        let look = if neg { format!("(?!{a})") } else { format!("(?={a})") };
        let pattern = if cond {
            format!("(?P<g>{a})?{look}[ab]*(?(g){b}|{a})")
        } else {
            format!("{look}(?P<x>[ab]+) (?P=x)")
        };
        let t = translate(&pattern).unwrap();
        prop_assert!(!t.needs_backtracking.is_empty());
        let exact = PyRegex::new(&pattern, false).unwrap();
        let relaxed = regex::Regex::new(&t.relaxed).unwrap();
        if exact.is_match(&hay).unwrap() {
            prop_assert!(relaxed.is_match(&hay), "{} / {} on {:?}", pattern, t.relaxed, hay);
        }
    }
}
