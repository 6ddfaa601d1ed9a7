//! Bounded memory and nothing silently unread: large files and archive entries are scanned
//! in chunks to their end, findings per rule and file are capped with the rest counted, and
//! a real limit (the archive-bomb budget) is an error that says how much was read.

use std::io::Write;

use allclear_secrets::{MAX_FINDINGS_PER_RULE, Scanner, SecretsConfig};

/// A small `max-file-bytes` so that the chunking shows on inputs of a few MiB.
fn small_chunks() -> Scanner {
    Scanner::new(&SecretsConfig {
        max_file_bytes: 256 << 10,
        ..SecretsConfig::default()
    })
    .unwrap()
}

const KEY: &str = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnlyAbCd12";

/// Filler lines that hold no secret.
fn filler(bytes: usize) -> String {
    let line = "the quick brown fox jumps over the lazy dog 0123456789\n";
    line.repeat(bytes / line.len() + 1)
}

fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(data.len() > u32::MAX as usize);
    zip.start_file(name, options).unwrap();
    zip.write_all(data).unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_secret_past_the_size_limit_is_found_with_its_line() {
    let s = small_chunks();
    let before = filler(3 << 20);
    let text = format!("{before}token = \"{KEY}\"\n");
    let found = s.scan_file("notes.txt", text.as_bytes());
    assert_eq!(found.len(), 1, "{found:#?}");
    let lines = before.matches('\n').count() as u32 + 1;
    assert_eq!(found[0].location.line, Some(lines));

    // The same through a file on disk (the walk's path).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, &text).unwrap();
    let out = s.scan_path("notes.txt", &path);
    assert_eq!(out.findings.len(), 1, "{out:#?}");
    assert!(out.errors.is_empty());
}

#[test]
fn a_secret_across_every_chunk_boundary_is_found_once() {
    let s = small_chunks();
    // Chunks of 256 KiB: put a key across each boundary (and a few more between), and
    // compare with a scan that sees the text whole.
    let chunk = 256 << 10;
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut text = String::new();
    for k in 1..=8usize {
        for offset in [chunk / 2, chunk - 12] {
            let target = (k - 1) * chunk + offset;
            let pad = target.saturating_sub(text.len());
            text.push_str(&"x".repeat(pad.saturating_sub(1)));
            text.push('\n');
            let body: String = (0..16)
                .map(|i| letters[(k * 7 + i * 3 + offset) % 32] as char)
                .collect();
            text.push_str(&format!("key = AKIA{body}\n"));
        }
    }
    let whole = Scanner::new(&SecretsConfig::default()).unwrap();
    let whole = whole.scan_file("keys.txt", text.as_bytes());
    // From disk, as the walk reads it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.txt");
    std::fs::write(&path, &text).unwrap();
    let chunked = s.scan_path("keys.txt", &path).findings;
    let lines = |f: &[allclear_core::Finding]| {
        let mut v: Vec<_> = f
            .iter()
            .map(|f| (f.location.line, f.fingerprint.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(whole.len(), 16, "{whole:#?}");
    assert_eq!(lines(&chunked), lines(&whole));
}

#[test]
fn findings_per_rule_and_file_are_capped_and_the_rest_counted() {
    let s = Scanner::new(&SecretsConfig::default()).unwrap();
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut text = String::new();
    for n in 0..5000usize {
        let body: String = (0..16)
            .map(|i| letters[(n >> (i % 3 * 5)) % 32] as char)
            .collect();
        text.push_str(&format!("AKIA{body}\n"));
    }
    let found = s.scan_file("dump.txt", text.as_bytes());
    assert_eq!(found.len(), MAX_FINDINGS_PER_RULE + 1, "{}", found.len());
    let summary = found.last().unwrap();
    assert_eq!(summary.rule, "secrets.aws-access-key-id");
    // A few generated bodies look like placeholders (`AAAA…`) and are not counted.
    let more = summary.details["more"].as_u64().unwrap();
    assert!(
        (4800..=5000 - MAX_FINDINGS_PER_RULE as u64).contains(&more),
        "{more}"
    );
    assert!(
        summary.title.contains(&format!("and {more} more like it")),
        "{}",
        summary.title
    );
}

#[test]
fn a_secret_deep_in_a_large_zip_entry_is_found() {
    let s = small_chunks();
    let data = format!("{}token = \"{KEY}\"\n", filler(3 << 20));
    let zip = zip_of("logs/big.txt", data.as_bytes());
    // In memory and from disk (where the zip is read in place, not loaded whole).
    let out = s.scan("big.zip", &zip);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.findings.len(), 1, "{out:#?}");
    assert_eq!(out.findings[0].location.path, "big.zip!logs/big.txt");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.zip");
    std::fs::write(&path, &zip).unwrap();
    let out = s.scan_path("big.zip", &path);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.findings.len(), 1, "{out:#?}");
}

#[test]
fn a_zip_larger_than_the_file_limit_is_read_not_called_corrupt() {
    // Incompressible-ish content so the zip itself is larger than max-file-bytes.
    let s = small_chunks();
    let mut data = String::new();
    let mut x: u64 = 1;
    while data.len() < 1 << 20 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        data.push_str(&format!("{x:016x}\n"));
    }
    data.push_str(&format!("token = \"{KEY}\"\n"));
    let zip = zip_of("a.txt", data.as_bytes());
    assert!(zip.len() > 256 << 10);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    std::fs::write(&path, &zip).unwrap();
    let out = s.scan_path("a.zip", &path);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(
        out.findings
            .iter()
            .any(|f| f.rule == "secrets.github-token")
    );
}

#[test]
fn the_archive_budget_is_a_note_saying_how_much_was_read() {
    let s = Scanner::new(&SecretsConfig {
        archive_max_bytes: 1 << 20,
        ..SecretsConfig::default()
    })
    .unwrap();
    let zeros = vec![b'a'; 3 << 20];
    let zip = zip_of("a.txt", &zeros);
    let out = s.scan("bomb.zip", &zip);
    // A limit is not an error of the run (exit 2): it is said as an input not fully checked.
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.skipped.len(), 1, "{:?}", out.skipped);
    let message = &out.skipped[0].reason;
    assert_eq!(out.skipped[0].path, "bomb.zip");
    assert!(
        message.contains("beyond 1 MiB") && message.contains("first 1 MiB"),
        "{message}"
    );
}

#[test]
fn a_bomb_nested_in_an_archive_draws_on_the_same_budget() {
    let s = Scanner::new(&SecretsConfig {
        archive_max_bytes: 1 << 20,
        ..SecretsConfig::default()
    })
    .unwrap();
    // Three gzip entries of 600 KiB each: under the budget one by one, over it together.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&vec![b'a'; 600 << 10]).unwrap();
    let gz = gz.finish().unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for name in ["a.txt.gz", "b.txt.gz", "c.txt.gz"] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&gz).unwrap();
    }
    let zip = zip.finish().unwrap().into_inner();
    let out = s.scan("outer.zip", &zip);
    // One note, for the archive that reached the budget.
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.skipped.len(), 1, "{:?}", out.skipped);
    assert!(
        out.skipped[0].reason.contains("expands beyond"),
        "{:?}",
        out.skipped
    );
}

#[test]
fn an_archive_past_the_depth_limit_is_listed_as_not_fully_checked() {
    let s = Scanner::new(&SecretsConfig {
        archive_depth: 1,
        ..SecretsConfig::default()
    })
    .unwrap();
    let inner = zip_of("key.txt", format!("token = \"{KEY}\"\n").as_bytes());
    let outer = zip_of("inner.zip", &inner);
    let out = s.scan("outer.zip", &outer);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    assert_eq!(out.skipped.len(), 1, "{:?}", out.skipped);
    assert_eq!(out.skipped[0].path, "outer.zip!inner.zip");
    assert!(
        out.skipped[0].reason.contains("`archive-depth`"),
        "{:?}",
        out.skipped
    );
    // One level deeper allowed: the key inside is found, nothing is skipped.
    let s = Scanner::new(&SecretsConfig {
        archive_depth: 2,
        ..SecretsConfig::default()
    })
    .unwrap();
    let out = s.scan("outer.zip", &outer);
    assert!(out.skipped.is_empty(), "{:?}", out.skipped);
    assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
}
