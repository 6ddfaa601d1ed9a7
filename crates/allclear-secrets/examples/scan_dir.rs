//! Throughput check: scans every file under a directory with one scanner shared by all
//! cores and prints MB/s and the findings per rule. Not the product's walk (the binary uses
//! the `ignore` crate); a way to measure the library alone.
//!
//! `cargo run --release -p allclear-secrets --example scan_dir -- ~/.cargo/registry/src`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use allclear_secrets::{Scanner, SecretsConfig};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                files(&entry.path(), out);
            }
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

fn main() {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: scan_dir DIR");
        std::process::exit(2);
    };
    let mut config = SecretsConfig::default();
    // SCAN_DIR_ONLY=secrets measures the content rules alone.
    if std::env::var("SCAN_DIR_ONLY").is_ok_and(|v| v == "secrets") {
        config.personal.enabled = false;
        config.restricted.enabled = false;
    }
    let scanner = match Scanner::new(&config) {
        Ok(scanner) => scanner,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut all = Vec::new();
    files(&root, &mut all);
    // Read everything first so the number measures scanning, not the disk.
    let contents: Vec<(String, Vec<u8>)> = all
        .iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&root).ok()?.to_string_lossy().into_owned();
            Some((rel, std::fs::read(p).ok()?))
        })
        .collect();
    let bytes: usize = contents.iter().map(|(_, c)| c.len()).sum();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let counts: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
    let start = Instant::now();
    std::thread::scope(|s| {
        for chunk in contents.chunks(contents.len().div_ceil(threads).max(1)) {
            let (scanner, counts) = (&scanner, &counts);
            s.spawn(move || {
                let mut local: BTreeMap<String, usize> = BTreeMap::new();
                for (rel, content) in chunk {
                    let head = &content[..content.len().min(allclear_secrets::HEAD_BYTES)];
                    if scanner.wants(rel, head) {
                        for f in scanner.scan_file(rel, content) {
                            // SCAN_DIR_SHOW=RULE prints where that rule fired (to review noise).
                            if std::env::var("SCAN_DIR_SHOW").is_ok_and(|r| r == f.rule) {
                                println!("{}  {}", f.location, f.title);
                            }
                            *local.entry(f.rule).or_default() += 1;
                        }
                    }
                }
                let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
                for (rule, n) in local {
                    *counts.entry(rule).or_default() += n;
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let counts = counts.into_inner().unwrap_or_else(|p| p.into_inner());
    println!(
        "{} files, {:.1} MB in {:.3} s on {threads} threads: {:.0} MB/s",
        contents.len(),
        bytes as f64 / 1e6,
        elapsed,
        bytes as f64 / 1e6 / elapsed
    );
    for (rule, n) in counts {
        println!("{n:>7}  {rule}");
    }
}
