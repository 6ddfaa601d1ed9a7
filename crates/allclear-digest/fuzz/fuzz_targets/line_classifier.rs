//! The line classifier on arbitrary text: splitting, classifying, dpkg and access lines.
#![no_main]

use allclear_digest::classify::{access_status, classify, dpkg, split_syslog};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(line) = split_syslog(&text) {
        let _ = classify(line.program, line.message);
    }
    let _ = dpkg(&text);
    let _ = access_status(&text);
    let _ = allclear_digest::clean(&text);
});
