//! Throughput check: scans every file under a directory with one scanner shared by all
//! cores and prints MB/s and the findings per rule. Not the product's walk (the binary uses
//! the `ignore` crate); a way to measure the library alone.
//!
//! `cargo run --release -p allclear-secrets --example scan_dir -- ~/.cargo/registry/src`
//!
//! - Default: every file is read into memory first, so the number measures scanning, not the
//!   disk. Besides wall-clock MB/s it prints MB/s per CPU-second of the scanning threads
//!   (from `/proc/thread-self/schedstat`), which other load on the machine does not skew.
//! - `SCAN_DIR_MODE=path`: no preloading; each thread calls `Scanner::scan_path` per file,
//!   as the binary's walk would (use this one for peak memory).
//! - `SCAN_DIR_ONLY=secrets`: the content rules alone (no restricted files, no personal
//!   data).
//! - `SCAN_DIR_THREADS=N`: N scanning threads (default: available parallelism).
//! - `SCAN_DIR_SHOW=RULE`: print where that rule fired (to review noise).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// CPU time of the calling thread, in seconds (Linux; 0 elsewhere).
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

fn main() {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: scan_dir DIR");
        std::process::exit(2);
    };
    let env = |name: &str| std::env::var(name).ok();
    let mut config = SecretsConfig::default();
    if env("SCAN_DIR_ONLY").is_some_and(|v| v == "secrets") {
        config.personal.enabled = false;
        config.restricted.enabled = false;
    }
    let by_path = env("SCAN_DIR_MODE").is_some_and(|v| v == "path");
    let show = env("SCAN_DIR_SHOW");
    let threads = env("SCAN_DIR_THREADS")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    let built = Instant::now();
    let scanner = match Scanner::new(&config) {
        Ok(scanner) => scanner,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let built = built.elapsed().as_secs_f64();
    let mut all = Vec::new();
    files(&root, &mut all);
    let rel = |p: &Path| {
        p.strip_prefix(&root)
            .ok()
            .map(|r| r.to_string_lossy().into_owned())
    };
    // Read everything first (unless by path) so the number measures scanning, not the disk.
    let contents: Vec<(String, Vec<u8>)> = if by_path {
        Vec::new()
    } else {
        all.iter()
            .filter_map(|p| Some((rel(p)?, std::fs::read(p).ok()?)))
            .collect()
    };
    let count = if by_path { all.len() } else { contents.len() };
    let next = AtomicUsize::new(0);
    let scanned = AtomicUsize::new(0);
    let counts: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
    let cpu: Mutex<f64> = Mutex::new(0.0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (scanner, counts, cpu) = (&scanner, &counts, &cpu);
            let (next, scanned, contents, all, show) = (&next, &scanned, &contents, &all, &show);
            s.spawn(move || {
                let cpu_start = thread_cpu();
                let mut local: BTreeMap<String, usize> = BTreeMap::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let findings = if by_path {
                        let (Some(path), Some(r)) = (all.get(i), all.get(i).and_then(|p| rel(p)))
                        else {
                            continue;
                        };
                        let size = std::fs::metadata(path).map_or(0, |m| m.len());
                        scanned.fetch_add(size as usize, Ordering::Relaxed);
                        scanner.scan_path(&r, path).findings
                    } else {
                        let (rel, content) = &contents[i];
                        scanned.fetch_add(content.len(), Ordering::Relaxed);
                        let head = &content[..content.len().min(allclear_secrets::HEAD_BYTES)];
                        if !scanner.wants(rel, head) {
                            continue;
                        }
                        scanner.scan_file(rel, content)
                    };
                    for f in findings {
                        if show.as_ref().is_some_and(|r| *r == f.rule) {
                            println!("{}  {}", f.location, f.title);
                        }
                        *local.entry(f.rule).or_default() += 1;
                    }
                }
                *cpu.lock().unwrap_or_else(|p| p.into_inner()) += thread_cpu() - cpu_start;
                let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
                for (rule, n) in local {
                    *counts.entry(rule).or_default() += n;
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu.into_inner().unwrap_or_else(|p| p.into_inner());
    let bytes = scanned.into_inner() as f64 / 1e6;
    let counts = counts.into_inner().unwrap_or_else(|p| p.into_inner());
    println!(
        "{count} files, {bytes:.1} MB in {elapsed:.3} s on {threads} threads: {:.0} MB/s \
         ({:.0} MB/s per CPU-second; Scanner::new {:.1} ms)",
        bytes / elapsed,
        bytes / cpu.max(1e-9),
        built * 1e3
    );
    for (rule, n) in counts {
        println!("{n:>7}  {rule}");
    }
}
