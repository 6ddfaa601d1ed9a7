//! Property tests: the parsers never panic, and what is written reads back.

use std::path::Path;

use allclear_fim::aide::{AideOptions, NoIncludes, parse_aide_bytes};
use allclear_fim::{Baseline, BaselineHeader, Entry, FileKind};
use proptest::prelude::*;

fn entry_strategy() -> impl Strategy<Value = Entry> {
    (
        proptest::collection::vec(any::<u8>(), 1..40),
        any::<u32>(),
        any::<u64>(),
        any::<i64>(),
        0u32..1_000_000_000,
        proptest::option::of(any::<[u8; 32]>()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
    )
        .prop_map(|(name, perms, size, secs, nanos, blake3, target)| {
            let mut path = b"/".to_vec();
            path.extend(name);
            Entry {
                path: path.into(),
                attrs: allclear_fim::AttrSet::from_bits(perms),
                kind: FileKind::File,
                perms: perms & 0o7777,
                uid: perms,
                gid: perms / 3,
                size,
                blocks: size / 512,
                mtime: allclear_fim::entry::Time { secs, nanos },
                ctime: allclear_fim::entry::Time {
                    secs: secs / 2,
                    nanos,
                },
                inode: size ^ 7,
                dev: 1,
                links: 1,
                target: target.map(Into::into),
                hashes: allclear_fim::entry::Hashes {
                    blake3,
                    ..Default::default()
                },
                xattrs: None,
                flags: 0,
            }
        })
}

fn header() -> BaselineHeader {
    BaselineHeader {
        created: "2026-01-01T00:00:00Z".into(),
        tool: "t".into(),
        rules_fingerprint: "f".into(),
        rules_source: "s".into(),
        root: "/".into(),
        entries: 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn baseline_round_trips(mut entries in proptest::collection::vec(entry_strategy(), 0..30)) {
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        let baseline = Baseline { header: header(), entries: entries.clone() };
        let bytes = baseline.encode().unwrap();
        let read = Baseline::decode(&bytes, Path::new("p")).unwrap();
        prop_assert_eq!(read.entries, entries);
    }

    #[test]
    fn damaged_baselines_are_errors_not_panics(
        entries in proptest::collection::vec(entry_strategy(), 1..5),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut entries = entries;
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        let bytes = Baseline { header: header(), entries }.encode().unwrap();
        let mut flipped = bytes.clone();
        let i = at.index(flipped.len());
        let changed = flipped[i] != byte;
        flipped[i] = byte;
        let result = Baseline::decode(&flipped, Path::new("p"));
        prop_assert_eq!(result.is_err(), changed);
        let cut = cut.index(bytes.len());
        prop_assert!(Baseline::decode(&bytes[..cut], Path::new("p")).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_baseline_reader(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut with_magic = allclear_fim::baseline::MAGIC.to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = Baseline::decode(&bytes, Path::new("p"));
        let _ = Baseline::decode(&with_magic, Path::new("p"));
    }

    #[test]
    fn aide_reader_never_panics(text in "[ -~\n@=!/+.*$%\\\\{}#]{0,200}") {
        let _ = parse_aide_bytes(text.as_bytes(), Path::new("aide.conf"), &AideOptions::default(), &NoIncludes);
    }

    #[test]
    fn aide_lines_from_pieces_never_panic(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("@@define X /etc".to_owned()),
                Just("@@ifdef X".to_owned()),
                Just("@@else".to_owned()),
                Just("@@endif".to_owned()),
                Just("G = p+i+u".to_owned()),
                "[/!=-]/[a-z.*$()|\\[\\]]{0,10} [fdl,0]{0,4} [RLGE>HX+\\-pium]{0,8}",
                "@@\\{[A-Z]{0,3}\\}[a-z/ ]{0,8}",
            ],
            0..12,
        )
    ) {
        let text = lines.join("\n");
        let _ = parse_aide_bytes(text.as_bytes(), Path::new("aide.conf"), &AideOptions::default(), &NoIncludes);
    }

    #[test]
    fn display_path_is_injective(a in proptest::collection::vec(any::<u8>(), 0..12), b in proptest::collection::vec(any::<u8>(), 0..12)) {
        prop_assume!(a != b);
        prop_assert_ne!(allclear_fim::display_path(&a), allclear_fim::display_path(&b));
    }
}
