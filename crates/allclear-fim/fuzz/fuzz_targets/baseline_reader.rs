//! The baseline reader on arbitrary bytes: errors, never panics. Half the inputs get the
//! magic and a valid version so the fuzzer reaches the header, body and record decoding
//! (a checksum is appended, so damaged content past the checksum check is exercised too).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = allclear_fim::Baseline::decode(data, Path::new("fuzz"));
    if let Some((&mode, rest)) = data.split_first()
        && mode & 1 == 1
    {
        let mut bytes = allclear_fim::baseline::MAGIC.to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(rest);
        let checksum = blake3_like(&bytes);
        bytes.extend_from_slice(&checksum);
        if let Ok(baseline) = allclear_fim::Baseline::decode(&bytes, Path::new("fuzz")) {
            let again = baseline.encode().expect("a decoded baseline encodes");
            let round = allclear_fim::Baseline::decode(&again, Path::new("fuzz")).expect("re-reads");
            assert_eq!(round.entries, baseline.entries);
        }
    }
});

/// The checksum the format uses, computed through the public encoder's rules: BLAKE3 of
/// everything before it.
fn blake3_like(bytes: &[u8]) -> [u8; 32] {
    allclear_fim::baseline::checksum(bytes)
}
