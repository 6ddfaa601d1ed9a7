//! RustSec advisories (Markdown with TOML front matter): parsing must never panic.
#![no_main]

use allclear_advisories::formats::rustsec;
use allclear_advisories::match_advisories;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(parsed) = rustsec::parse(text, false)
    {
        let advisory = parsed.advisory;
        for a in advisory.affected.clone() {
            let _ = match_advisories(a.ecosystem, &a.package, "0.9.0", vec![advisory.clone()]);
        }
    }
});
