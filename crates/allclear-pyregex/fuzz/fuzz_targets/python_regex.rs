//! Arbitrary Python patterns: translation and compilation must not panic, and matching a
//! line must terminate (the backtracking engine has a step limit).
#![no_main]

use allclear_pyregex::{PyRegex, translate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 1024 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, hay) = text.split_once('\u{0}').unwrap_or((
        text,
        "Aug 14 09:00:01 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2",
    ));
    let _ = translate(pattern);
    for multiline in [false, true] {
        if let Ok(re) = PyRegex::new(pattern, multiline) {
            let mut slots = re.slots();
            let _ = re.captures(hay, &mut slots);
            let _ = re.is_match(hay);
            let _ = re.anchored_prefixes();
        }
    }
});
