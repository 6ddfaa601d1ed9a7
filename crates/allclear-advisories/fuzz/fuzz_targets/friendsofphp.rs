//! FriendsOfPHP advisories: parsing, then matching what parsed, must never panic.
#![no_main]

use allclear_advisories::formats::friendsofphp;
use allclear_advisories::match_advisories;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(parsed) = friendsofphp::parse(text, "friendsofphp:a/b/c")
    {
        let advisory = parsed.advisory;
        for a in advisory.affected.clone() {
            let _ = match_advisories(a.ecosystem, &a.package, "8.5.1", vec![advisory.clone()]);
        }
    }
});
