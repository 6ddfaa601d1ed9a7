//! OSV JSON records: parsing, then matching what parsed, must never panic.
#![no_main]

use allclear_advisories::formats::osv;
use allclear_advisories::match_advisories;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = osv::parse_json(data) {
        let advisory = parsed.advisory;
        for a in advisory.affected.clone() {
            let _ = match_advisories(a.ecosystem, &a.package, "1.0.0", vec![advisory.clone()]);
        }
    }
});
