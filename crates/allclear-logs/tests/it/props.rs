//! Property tests for the parsers: the INI reader, durations and date detection (the Python
//! regex translator has its own in allclear-pyregex).

use std::path::Path;

use allclear_logs::config::str2seconds;
use allclear_logs::date::{Clock, DateDetector};
use allclear_logs::ini::{Config, Vars};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;

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
