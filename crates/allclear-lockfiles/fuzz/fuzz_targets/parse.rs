//! One target for every format: the first byte picks the file kind, the rest is the file.
//! `parse` must return `Ok` or `Err`, never panic, on anything.

#![no_main]

use allclear_lockfiles::{FileKind, parse};
use libfuzzer_sys::fuzz_target;

const KINDS: [FileKind; 13] = [
    FileKind::GemfileLock,
    FileKind::RubyVersion,
    FileKind::ToolVersions,
    FileKind::ComposerLock,
    FileKind::NpmLock,
    FileKind::YarnLock,
    FileKind::PnpmLock,
    FileKind::CargoLock,
    FileKind::PoetryLock,
    FileKind::PipfileLock,
    FileKind::UvLock,
    FileKind::Requirements,
    FileKind::GoMod,
];

fuzz_target!(|data: &[u8]| {
    let Some((first, content)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(*first) % KINDS.len()];
    if let Ok(lock) = parse(kind, "fuzz", content) {
        let lines = content.iter().filter(|b| **b == b'\n').count() + 1;
        for p in lock.packages.iter().chain(&lock.interpreters) {
            assert!(p.line >= 1 && p.line as usize <= lines);
        }
    }
});
