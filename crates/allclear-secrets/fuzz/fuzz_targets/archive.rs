//! The archive walker on hostile input, behind each magic number: bounded, no panic.
#![no_main]

use std::sync::LazyLock;

use allclear_secrets::{Scanner, SecretsConfig};
use libfuzzer_sys::fuzz_target;

static SCANNER: LazyLock<Option<Scanner>> = LazyLock::new(|| {
    let config = SecretsConfig {
        archive_max_bytes: 4 << 20,
        max_file_bytes: 1 << 20,
        ..SecretsConfig::default()
    };
    Scanner::new(&config).ok()
});

const MAGICS: [&[u8]; 6] = [
    b"PK\x03\x04",
    &[0x1f, 0x8b],
    &[0x28, 0xb5, 0x2f, 0xfd],
    &[0xfd, b'7', b'z', b'X', b'Z', 0x00],
    &[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c],
    b"",
];

fuzz_target!(|data: &[u8]| {
    let Some(scanner) = SCANNER.as_ref() else {
        return;
    };
    let Some((pick, rest)) = data.split_first() else {
        return;
    };
    let mut content = MAGICS[*pick as usize % MAGICS.len()].to_vec();
    content.extend_from_slice(rest);
    let name = if *pick as usize % MAGICS.len() == 5 { "x.tar" } else { "x.bin" };
    let _ = scanner.scan(name, &content);
});
