#![no_main]

use allclear_core::Ecosystem;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| allclear_versions_fuzz::run(Ecosystem::Npm, data));
