//! Zip archives as `all.zip` is read: hostile input must give errors, never panics or
//! unbounded allocation.
#![no_main]

use std::io::Cursor;

use allclear_advisories::ZipLimits;
use allclear_advisories::archive::ZipRecords;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ZipLimits {
        max_members: 1000,
        max_member_bytes: 1 << 20,
        max_total_bytes: 4 << 20,
        max_ratio: 100,
    };
    if let Ok(mut records) = ZipRecords::new(Cursor::new(data), limits) {
        while let Ok(batch) = records.next_batch(64, 1 << 20) {
            if batch.is_empty() {
                break;
            }
        }
    }
});
