//! Property tests for the parsers: the INI reader, the Python regex translator, durations and
//! date detection.

use std::path::Path;

use allclear_logs::config::str2seconds;
use allclear_logs::date::{Clock, DateDetector};
use allclear_logs::ini::{Config, Vars};
use allclear_logs::pyre::{PyRegex, translate};
use jiff::Timestamp;
use jiff::tz::TimeZone;
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
    fn ini_values_round_trip(
        sections in prop::collection::btree_map("[A-Za-z][A-Za-z0-9_]{0,8}", prop::collection::btree_map("[a-z][a-z0-9_.]{0,8}", "[A-Za-z0-9 ,.()\\[\\]<>^$*+?{}|/\\\\-]{0,20}(\n[A-Za-z0-9 ]{1,10}){0,2}", 1..4), 1..4),
    ) {
        let mut text = String::new();
        for (name, options) in &sections {
            if name == "DEFAULT" { continue; }
            text.push_str(&format!("[{name}]\n"));
            for (k, v) in options {
                let v = v.trim().replace('\n', "\n    ");
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        let config = Config::from_text(&text, Path::new("p.conf")).unwrap();
        for (name, options) in &sections {
            if name == "DEFAULT" { continue; }
            for (k, v) in options {
                let want: Vec<&str> = v.trim().split('\n').map(str::trim).collect();
                let got = config.get(name, k, &Vars::new()).unwrap().unwrap();
                prop_assert_eq!(got, want.join("\n").trim_end().to_owned());
            }
        }
    }

    #[test]
    fn ini_reader_never_panics(text in "(\\PC|\n|\t|%|\\(|\\)|\\[|\\]|=|:|;|#){0,200}") {
        if let Ok(config) = Config::from_text(&text, Path::new("p.conf")) {
            for s in config.sections().map(str::to_owned).collect::<Vec<_>>() {
                for o in config.own_options(&s) {
                    let _ = config.get(&s, o, &Vars::new());
                }
            }
        }
    }

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

    #[test]
    fn durations_scale_by_unit(n in 0u32..100_000, unit in prop::sample::select(vec![("", 1u64), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)])) {
        prop_assert_eq!(str2seconds(&format!("{n}{}", unit.0)), Some(f64::from(n) * unit.1 as f64));
    }

    /// A syslog timestamp written from a local time is read back as that time (the year is
    /// completed from "now": this year, or last year when more than a day in the future).
    #[test]
    fn syslog_dates_round_trip(secs in 0i64..(2 * 365 * 86_400)) {
        let tz = TimeZone::posix("CET-01CEST-02,M3.5.0,M10.5.0").unwrap();
        let now = Timestamp::from_second(1_124_013_600).unwrap();
        let clock = Clock::new(now, tz.clone());
        let t = Timestamp::from_second(1_124_013_600 - secs + 86_000).unwrap();
        let local = tz.to_datetime(t);
        let line = format!("{} web1 sshd[1]: hello", local.strftime("%b %e %H:%M:%S"));
        let mut d = DateDetector::from_datepattern("{^LN-BEG}").unwrap();
        let found = d.find(&line, &clock).unwrap();
        let now_local = tz.to_datetime(now);
        let Ok(this_year) = local.with().year(now_local.year()).build() else {
            // 29 February completed with a non-leap year: no date, as in fail2ban.
            prop_assert_eq!(found.time, None);
            return Ok(());
        };
        let got = found.time.unwrap();
        let year = if this_year > now_local.checked_add(jiff::Span::new().days(1)).unwrap() {
            now_local.year() - 1
        } else {
            now_local.year()
        };
        let want = clock.mktime(local.with().year(year).build().unwrap()).unwrap();
        prop_assert_eq!(got, want, "{}", line);
    }
}
