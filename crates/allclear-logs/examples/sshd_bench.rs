//! Quick throughput measurement of the sshd filter on a generated auth log (no criterion).
//!
//! ```text
//! cargo run --release -p allclear-logs --example sshd_bench -- [--lines N] [--write FILE]
//!     [--read FILE] [--config DIR]
//! ```
//!
//! The log is a deterministic mix of attacks (failed passwords, invalid users, preauth
//! disconnects, PAM failures) and noise (accepted keys, sessions, cron, sudo, logind). With
//! `--write FILE` the same log is written out so `fail2ban-regex FILE sshd` can be timed on
//! identical input; `--read FILE` measures an existing log. `--config` defaults to
//! `$ALLCLEAR_SHARED/conformance/fail2ban/config` (or `../shared/…` from the workspace root).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use allclear_logs::config::read_filter;
use allclear_logs::date::Clock;
use allclear_logs::filter::{CompiledFilter, FilterOptions};
use allclear_logs::scan::{JailRules, ScanOptions, Scanner};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, good enough for test data.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const USERS: [&str; 12] = [
    "admin", "test", "oracle", "ubuntu", "guest", "user", "postgres", "git", "ftpuser", "pi",
    "support", "deploy",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn generate(lines: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let attackers: Vec<String> = (0..5000)
        .map(|_| {
            let a =
                [45, 61, 92, 103, 121, 141, 159, 180, 185, 193, 212, 218][rng.below(12) as usize];
            format!(
                "{a}.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            )
        })
        .collect();
    let mut out = Vec::with_capacity(lines * 110);
    let mut t: u64 = 0;
    for _ in 0..lines {
        t += rng.below(3);
        let (day, rem) = (1 + (t / 86_400) % 28, t % 86_400);
        let month = MONTHS[((t / (86_400 * 28)) % 12) as usize];
        let stamp = format!(
            "{month} {day:>2} {:02}:{:02}:{:02}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        );
        let ip = &attackers[(rng.below(5000) * rng.below(5000) / 5000) as usize];
        let port = 1024 + rng.below(60_000);
        let pid = 1000 + rng.below(60_000);
        let user = USERS[rng.below(USERS.len() as u64) as usize];
        let roll = rng.below(100);
        let msg = match roll {
            0..=24 => format!("sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2"),
            25..=39 => format!("sshd[{pid}]: Failed password for root from {ip} port {port} ssh2"),
            40..=49 => format!("sshd[{pid}]: Invalid user {user} from {ip} port {port}"),
            50..=59 => format!("sshd[{pid}]: Connection closed by authenticating user root {ip} port {port} [preauth]"),
            60..=67 => format!("sshd[{pid}]: Disconnected from invalid user {user} {ip} port {port} [preauth]"),
            68..=72 => format!(
                "sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user=root"
            ),
            73..=77 => format!("sshd[{pid}]: Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"),
            78..=82 => format!(
                "sshd[{pid}]: Accepted publickey for deploy from 198.51.100.{} port {port} ssh2: ED25519 SHA256:0b1TkWq3uXkE8Zc5fQ2x7yJwq9",
                rng.below(50)
            ),
            83..=87 => format!("sshd[{pid}]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)"),
            88..=91 => format!("CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"),
            92..=94 => "sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx".to_owned(),
            95..=97 => format!("systemd-logind[611]: New session {} of user deploy.", rng.below(10_000)),
            _ => format!("sshd[{pid}]: error: kex_exchange_identification: Connection closed by remote host"),
        };
        out.extend_from_slice(format!("{stamp} web1 {msg}\n").as_bytes());
    }
    out
}

/// CPU time of this thread so far (ns), from the scheduler: robust when other processes
/// compete for the cores, unlike wall-clock time.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut lines = 1_000_000usize;
    let mut write = None;
    let mut read = None;
    let mut config = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--lines" => lines = args.next().ok_or("--lines N")?.parse()?,
            "--write" => write = Some(PathBuf::from(args.next().ok_or("--write FILE")?)),
            "--read" => read = Some(PathBuf::from(args.next().ok_or("--read FILE")?)),
            "--config" => config = Some(PathBuf::from(args.next().ok_or("--config DIR")?)),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let config = config.unwrap_or_else(|| {
        let shared = std::env::var_os("ALLCLEAR_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
        shared.join("conformance/fail2ban/config")
    });
    // A file given with --read is streamed (so peak memory is the scanner's, not the log's).
    let log = match &read {
        Some(_) => Vec::new(),
        None => generate(lines),
    };
    if let Some(p) = &write {
        std::fs::File::create(p)?.write_all(&log)?;
        eprintln!("wrote {} bytes to {}", log.len(), p.display());
    }
    let def = read_filter(&config, "sshd", &BTreeMap::new())?;
    let compile = Instant::now();
    let filter = Arc::new(CompiledFilter::new(&def, FilterOptions::default())?);
    let compile = compile.elapsed();
    let clock = Clock::new(jiff::Timestamp::now(), jiff::tz::TimeZone::UTC);
    let mut scanner = Scanner::new(
        filter.clone(),
        ScanOptions {
            clock,
            jail: JailRules::default(),
            keep_matches: false,
        },
    );
    let start = Instant::now();
    let cpu_start = cpu_ns();
    let bytes = match &read {
        Some(p) => {
            scanner.scan_reader(std::io::BufReader::with_capacity(
                1 << 16,
                std::fs::File::open(p)?,
            ))?;
            std::fs::metadata(p)?.len() as usize
        }
        None => {
            scanner.scan_reader(log.as_slice())?;
            log.len()
        }
    };
    let elapsed = start.elapsed();
    let cpu = cpu_ns().zip(cpu_start).map(|(b, a)| (b - a) as f64 / 1e9);
    let report = scanner.finish();
    let secs = elapsed.as_secs_f64();
    println!(
        "sshd filter: {} failregex ({} on the backtracking engine), compiled in {:.1} ms",
        filter.failregex_count(),
        filter.backtracking_count(),
        compile.as_secs_f64() * 1e3
    );
    println!(
        "{} lines ({:.1} MB) in {:.3} s: {:.0} lines/s, {:.1} MB/s",
        report.lines,
        bytes as f64 / 1e6,
        secs,
        report.lines as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    if let Some(cpu) = cpu {
        println!(
            "CPU time {:.3} s: {:.0} lines/s on one core",
            cpu,
            report.lines as f64 / cpu
        );
    }
    println!(
        "matched lines {}, helper-only lines {}, hosts {}, bans {}, backtrack-limit hits {}",
        report.matched_lines,
        report.helper_lines,
        report.hosts.len(),
        report.bans.len(),
        report.backtrack_limit_hits
    );
    if let Some(kb) = peak_rss_kb() {
        let held = if read.is_some() {
            "log streamed from the file"
        } else {
            "includes the generated log held in memory"
        };
        println!("peak RSS {:.1} MB ({held})", kb as f64 / 1024.0);
    }
    Ok(())
}
