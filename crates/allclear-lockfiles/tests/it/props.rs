//! Property tests: `parse` never panics, on arbitrary bytes and on mutated valid lockfiles,
//! and whatever it returns points at lines that exist.

use allclear_lockfiles::{FileKind, Lockfile, parse};
use proptest::prelude::*;

use crate::fixtures::fixture;

const KINDS: [(FileKind, &str); 15] = [
    (FileKind::GemfileLock, "Gemfile.lock"),
    (FileKind::RubyVersion, ".ruby-version"),
    (FileKind::ToolVersions, ".tool-versions"),
    (FileKind::ComposerLock, "composer.lock"),
    (FileKind::NpmLock, "package-lock.v1.json"),
    (FileKind::NpmLock, "package-lock.v3.json"),
    (FileKind::YarnLock, "yarn.classic.lock"),
    (FileKind::YarnLock, "yarn.berry.lock"),
    (FileKind::PnpmLock, "pnpm-lock.v9.yaml"),
    (FileKind::CargoLock, "Cargo.lock"),
    (FileKind::PoetryLock, "poetry.lock"),
    (FileKind::PipfileLock, "Pipfile.lock"),
    (FileKind::UvLock, "uv.lock"),
    (FileKind::Requirements, "requirements.txt"),
    (FileKind::GoMod, "go.mod"),
];

fn check_lines(lock: &Lockfile, content: &[u8]) {
    let lines = u32::try_from(content.iter().filter(|b| **b == b'\n').count() + 1).unwrap();
    for p in lock.packages.iter().chain(&lock.interpreters) {
        assert!(
            (1..=lines).contains(&p.line),
            "{} at line {} of {lines}",
            p.name,
            p.line
        );
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Replace(usize, u8),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Text-ish bytes that matter to these formats, plus any byte.
    let interesting = prop_oneof![
        Just(b'\n'),
        Just(b' '),
        Just(b'"'),
        Just(b'{'),
        Just(b'}'),
        Just(b'['),
        Just(b':'),
        Just(b'@'),
        Just(b'('),
        Just(b'-'),
        any::<u8>(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0usize..64).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (
            any::<usize>(),
            prop::collection::vec(interesting.clone(), 1..8)
        )
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        (any::<usize>(), interesting).prop_map(|(a, b)| Mutation::Replace(a, b)),
        (any::<usize>(), 1usize..200).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Truncate(at) => bytes.truncate(at % len),
            Mutation::Delete(at, n) => {
                let start = at % len;
                let end = (start + n).min(bytes.len());
                if start < end {
                    bytes.drain(start..end);
                }
            }
            Mutation::Insert(at, new) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Replace(at, b) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot = *b;
                }
            }
            Mutation::Duplicate(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(which in 0..KINDS.len(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (kind, name) = KINDS[which];
        if let Ok(lock) = parse(kind, name, &bytes) {
            check_lines(&lock, &bytes);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(which in 0..KINDS.len(), text in "[ -~\n\t]{0,400}") {
        let (kind, name) = KINDS[which];
        if let Ok(lock) = parse(kind, name, text.as_bytes()) {
            check_lines(&lock, text.as_bytes());
        }
    }

    #[test]
    fn mutated_lockfiles_never_panic(
        which in 0..KINDS.len(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let (kind, name) = KINDS[which];
        let bytes = apply(fixture(name), &mutations);
        if let Ok(lock) = parse(kind, name, &bytes) {
            check_lines(&lock, &bytes);
        }
    }
}
