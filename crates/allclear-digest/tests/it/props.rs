//! Whatever the bytes, the digest neither panics nor grows past its caps.

use allclear_digest::{Digester, LogKind};
use proptest::prelude::*;

use crate::options;

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "(Nov 23 1[01]:[0-5][0-9]:00|2026-11-23T10:00:00\\.000000\\+00:00) web1 (sshd|sudo|su|kernel|systemd|x)\\[[0-9]{1,4}\\]: .{0,80}"
            .prop_map(String::into_bytes),
        "\\{\"__REALTIME_TIMESTAMP\":\"1795[0-9]{12}\",\"MESSAGE\":.{0,30}\\}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_input_is_read_without_panic(lines in proptest::collection::vec(line(), 0..40), kind in 0u8..5) {
        let kind = [LogKind::Syslog, LogKind::Dpkg, LogKind::HttpAccess, LogKind::HttpError, LogKind::Rails][kind as usize];
        let mut data = Vec::new();
        for l in &lines {
            data.extend_from_slice(l);
            data.push(b'\n');
        }
        let mut d = Digester::new(options()).unwrap();
        d.read("x", "x", kind, &data[..]).unwrap();
        d.read_journal("j", &data[..]).unwrap();
        let digest = d.finish();
        let read: u64 = digest.inputs.iter().map(|i| i.lines).sum();
        let expected = lines.iter().map(|l| 1 + l.iter().filter(|&&b| b == b'\n').count() as u64).sum::<u64>();
        prop_assert_eq!(read, 2 * expected);
        for u in &digest.unrecognised.programs {
            prop_assert!(u.samples.len() <= allclear_digest::digest::SAMPLES);
            for s in &u.samples {
                prop_assert!(!s.chars().any(char::is_control));
            }
        }
    }

    #[test]
    fn split_and_classify_never_panic(text in ".{0,200}") {
        if let Some(s) = allclear_digest::classify::split_syslog(&text) {
            let _ = allclear_digest::classify::classify(s.program, s.message);
        }
        let _ = allclear_digest::classify::dpkg(&text);
        let _ = allclear_digest::classify::access_status(&text);
    }
}
