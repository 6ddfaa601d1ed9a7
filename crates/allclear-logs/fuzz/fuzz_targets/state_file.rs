//! A state file of arbitrary bytes: parsing returns an error or a state that saves and reads
//! back the same; it never panics. Then the state is used (expiry, lookups) as the daemon does.
#![no_main]

use std::path::Path;

use allclear_logs::state::State;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut state) = State::parse(data, Path::new("state.json")) else {
        return;
    };
    let now = 1_800_000_000.0;
    let ips: Vec<_> = state.all_bans().map(|b| b.ip).collect();
    for ip in ips {
        let _ = state.previous_bans(ip, None, now);
        let _ = state.previous_bans(ip, Some("sshd"), now);
    }
    let _ = state.expire(now);
    let Ok(text) = serde_json::to_vec(&state) else {
        return;
    };
    let _ = State::parse(&text, Path::new("state.json"));
});
