//! One line of `journalctl -o json` of arbitrary bytes: an entry or an error, never a panic.
#![no_main]

use allclear_logs::journal::parse_entry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = parse_entry(data, 1) {
        // The line a filter sees always has the syslog shape `… : MESSAGE`.
        assert!(entry.line.contains(": "));
    }
});
