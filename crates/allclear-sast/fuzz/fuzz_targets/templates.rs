//! The template splitters on any input: ERB projected onto Ruby must keep every offset and
//! line, Twig tags must lie inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(projection) = allclear_sast::template::project_erb(data) {
        assert_eq!(projection.ruby.len(), data.len());
        for (index, &byte) in data.iter().enumerate() {
            assert_eq!(byte == b'\n', projection.ruby[index] == b'\n');
        }
        for (range, _) in &projection.outputs {
            assert!(range.end <= data.len());
        }
    }
    if let Ok(tags) = allclear_sast::template::split_twig(data) {
        for tag in tags {
            assert!(tag.inner.start <= tag.inner.end && tag.inner.end <= data.len());
        }
    }
    let _ = allclear_sast::template::twig_has_raw(data);
});
