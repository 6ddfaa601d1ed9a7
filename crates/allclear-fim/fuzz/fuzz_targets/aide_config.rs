//! The AIDE configuration reader on arbitrary text: errors, never panics, never reads
//! files (includes are refused).
#![no_main]

use std::path::Path;

use allclear_fim::aide::{AideOptions, NoIncludes, parse_aide_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = AideOptions {
        hostname: Some("web1".into()),
        ..AideOptions::default()
    };
    if let Ok(config) = parse_aide_bytes(data, Path::new("aide.conf"), &options, &NoIncludes) {
        // Matching must not panic either, on any path.
        for path in [&b"/"[..], b"/etc/passwd", b"/var/log/x.gz", b"/\xff\xfe/a"] {
            let _ = config.rule_for(path, allclear_fim::FileKind::File);
            let _ = config.rule_for(path, allclear_fim::FileKind::Dir);
        }
    }
});
