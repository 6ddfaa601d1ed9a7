//! OSV records written as YAML (PyPA): parsing must never panic.
#![no_main]

use allclear_advisories::formats::osv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = osv::parse_yaml(text);
    }
});
