//! The SCA policy loader on arbitrary text: errors, never panics. Loaded checks are then
//! evaluated against an empty tree (no host files read, commands not allowed).
#![no_main]

use allclear_audit::{System, evaluate_policy, load_policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = load_policy(text, "fuzz.yml") {
        let _ = evaluate_policy(&policy, &System::rooted("/nonexistent-allclear-fuzz-root"));
    }
});
