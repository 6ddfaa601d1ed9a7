//! Arbitrary log lines through a filter with every moving part (date detection, prefregex
//! with content, connection ids, nofail/forget, ignoreregex, multi-line buffering).
#![no_main]

use std::sync::{Arc, OnceLock};

use allclear_logs::config::FilterDefinition;
use allclear_logs::date::Clock;
use allclear_logs::filter::{CompiledFilter, FilterOptions};
use allclear_logs::scan::{JailRules, ScanOptions, Scanner};
use libfuzzer_sys::fuzz_target;

fn filters() -> &'static [Arc<CompiledFilter>] {
    static FILTERS: OnceLock<Vec<Arc<CompiledFilter>>> = OnceLock::new();
    FILTERS.get_or_init(|| {
        let single = FilterDefinition {
            name: "fuzz".into(),
            files: Vec::new(),
            prefregex: Some(r"^<F-MLFID>\s*\S+ \S+\[\d+\]:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$".into()),
            failregex: vec![
                r"^Failed \S+ for (?P<inv>invalid user )?<F-USER>(?P<cu>\S+)|(?(inv)(?:(?! from ).)*?|[^:]+)</F-USER> from <HOST>(?: port \d+)?(?(cu)|(?:(?! from ).)*$)".into(),
                r"^<F-NOFAIL>Connection from</F-NOFAIL> <ADDR>".into(),
                r"^<F-MLFFORGET>Disconnected</F-MLFFORGET>(?: from)? <F-ID>\S+</F-ID>".into(),
                r"^<F-MLFGAINED>Accepted \w+</F-MLFGAINED> for <F-USER>\S+</F-USER>".into(),
            ],
            ignoreregex: vec![r"127\.0\.0\.1".into()],
            maxlines: None,
            datepattern: None,
            journalmatch: Vec::new(),
            usedns: None,
        };
        let mut multi = single.clone();
        multi.prefregex = None;
        multi.maxlines = Some(3);
        multi.failregex = vec![r"^.*Login failed<SKIPLINES>.*from <HOST>$".into()];
        multi.datepattern = Some("{^LN-BEG}%%Y-%%m-%%d %%H:%%M:%%S\nEPOCH\nTAI64N".replace("%%", "%"));
        [single, multi]
            .iter()
            .filter_map(|d| CompiledFilter::new(d, FilterOptions::default()).ok().map(Arc::new))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let clock = Clock::new(
        jiff::Timestamp::from_second(1_124_013_600).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        jiff::tz::TimeZone::UTC,
    );
    for filter in filters() {
        let mut scanner = Scanner::new(
            filter.clone(),
            ScanOptions {
                clock: clock.clone(),
                jail: JailRules {
                    maxretry: 2,
                    ..JailRules::default()
                },
                keep_matches: true,
            },
        );
        let _ = scanner.scan_reader(data);
        let _ = scanner.finish();
    }
});
