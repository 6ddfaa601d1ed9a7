//! `allclear host logs`: log analysis with existing fail2ban filters and jails.
//!
//! `scan` reads log files (or standard input), runs a filter over them and prints what the
//! jail would ban and why, like `fail2ban-regex` plus the jail's verdict. Exit code: 0 when
//! nothing would be banned, 1 when something would be, 2 on errors.
//!
//! `run` replaces the fail2ban server with the same configuration: every enabled jail, its
//! logs (or the journal), bans in nftables, iptables+ipset or the log only, state in
//! `--state`. `status`, `ban` and `unban` work on that state (and the firewall) while it runs.

use std::io::{BufReader, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use allclear_logs::action::ActionKind;
use allclear_logs::config::{self, FilterDefinition, JailDefinition};
use allclear_logs::daemon::{self, Engine, Event, Options};
use allclear_logs::date::Clock;
use allclear_logs::filter::{CompiledFilter, FilterOptions};
use allclear_logs::jail::human_seconds;
use allclear_logs::scan::{JailRules, ScanOptions, ScanReport, Scanner, scan_json};
use allclear_logs::state::{BanRecord, StateDir};
use anyhow::{Context, bail};

use crate::output::hinted;
use clap::{Args, Subcommand, ValueEnum};

/// Log analysis: fail2ban filters and jails, what they would ban and why
#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(subcommand)]
    pub command: LogsCommand,
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Run a fail2ban filter over log files and print what would be banned and why
    Scan(ScanArgs),
    /// Daily digest: logins, failures and bans, sudo, new services, OOM, packages, disk, unrecognised lines
    Digest(super::digest::DigestArgs),
    /// Run the enabled jails of a fail2ban configuration: follow their logs and ban
    Run(RunArgs),
    /// List current bans and why, with the time left (exit 1 when there are bans)
    Status(StatusArgs),
    /// Ban an address by hand
    Ban(BanArgs),
    /// Lift a ban by hand
    Unban(UnbanArgs),
}

/// Debian's fail2ban configuration directory.
const DEFAULT_CONFIG: &str = "/etc/fail2ban";

/// Where the fail2ban configuration and our state are.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// The fail2ban configuration directory (jail.conf, jail.local, jail.d/, filter.d/); when
    /// the default is absent, allclear's built-in detections run instead
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,

    /// Run allclear's built-in detections (sshd, web probes and 4xx bursts, Postfix/Dovecot,
    /// Drupal, Rails/Devise…) on the Debian log files that exist, not a fail2ban configuration
    #[arg(long)]
    pub builtin: bool,

    /// With the built-in detections: look their log files up under this directory (a
    /// container's or chroot's root)
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub log_root: PathBuf,

    /// Where bans and read positions are kept
    #[arg(long, value_name = "DIR", default_value = "/var/lib/allclear/logs")]
    pub state: PathBuf,

    /// Ban with this for every jail [default: each jail's own action, mapped from fail2ban's
    /// nftables-*/iptables-* names; anything else only logs]
    #[arg(long, value_enum)]
    pub action: Option<ActionArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActionArg {
    Nftables,
    Iptables,
    Log,
}

impl From<ActionArg> for ActionKind {
    fn from(a: ActionArg) -> Self {
        match a {
            ActionArg::Nftables => ActionKind::Nftables,
            ActionArg::Iptables => ActionKind::Iptables,
            ActionArg::Log => ActionKind::Log,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub service: ServiceArgs,

    /// Read every log to its end, apply the bans and exit (for cron and tests)
    #[arg(long)]
    pub once: bool,

    /// Seconds between reads of the logs
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub interval: f64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Where bans are kept
    #[arg(long, value_name = "DIR", default_value = "/var/lib/allclear/logs")]
    pub state: PathBuf,

    /// Only this jail
    #[arg(long, value_name = "NAME")]
    pub jail: Option<String>,

    /// Output format
    #[arg(long, short, value_enum, default_value_t = LogsFormat::Human)]
    pub format: LogsFormat,
}

#[derive(Debug, Args)]
pub struct BanArgs {
    /// The address to ban
    pub ip: IpAddr,

    /// The jail to ban it in
    #[arg(long, value_name = "NAME")]
    pub jail: String,

    /// For how long (600, 10m, 1h, -1 forever) [default: the jail's ban time]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub time: Option<f64>,

    #[command(flatten)]
    pub service: ServiceArgs,
}

#[derive(Debug, Args)]
pub struct UnbanArgs {
    /// The address to unban
    pub ip: IpAddr,

    /// Only in this jail [default: every jail]
    #[arg(long, value_name = "NAME")]
    pub jail: Option<String>,

    #[command(flatten)]
    pub service: ServiceArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogsFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Log files to read ("-" for standard input), in order (oldest first)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The filter, with optional arguments: `sshd` or `sshd[mode=aggressive]`
    /// [default: the jail's filter]
    #[arg(long, value_name = "NAME[ARGS]")]
    pub filter: Option<String>,

    /// Take the filter and the rules (maxretry, findtime, bantime, ignoreip) from this jail of
    /// the configuration directory [default: the jail named like the filter, if any]
    #[arg(long, value_name = "NAME")]
    pub jail: Option<String>,

    /// The fail2ban configuration directory (with filter.d/ and jail.conf)
    #[arg(long, value_name = "DIR", default_value = "/etc/fail2ban")]
    pub config_dir: PathBuf,

    /// Ban after this many failures [default: the jail's, or 5]
    #[arg(long, value_name = "N")]
    pub maxretry: Option<u32>,

    /// ...within this time (600, 10m, 1h) [default: the jail's, or 10m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub findtime: Option<f64>,

    /// Ban for this long (-1: forever) [default: the jail's, or 10m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub bantime: Option<f64>,

    /// List every matched line, not only the bans
    #[arg(long)]
    pub all_matches: bool,

    /// Output format
    #[arg(long, short, value_enum, default_value_t = LogsFormat::Human)]
    pub format: LogsFormat,
}

fn parse_duration(text: &str) -> Result<f64, String> {
    config::str2seconds(text)
        .ok_or_else(|| format!("not a duration: {text:?} (examples: 600, 10m, 1h, 2d, -1)"))
}

/// Runs `allclear host logs …`; returns the exit code.
pub fn run(args: &LogsArgs, color: crate::cli::ColorChoice) -> anyhow::Result<i32> {
    match &args.command {
        LogsCommand::Scan(scan) => run_scan(scan),
        LogsCommand::Digest(a) => super::digest::run(a, crate::output::use_color(color)),
        LogsCommand::Run(a) => run_service(a),
        LogsCommand::Status(a) => run_status(a),
        LogsCommand::Ban(a) => run_ban(a),
        LogsCommand::Unban(a) => run_unban(a),
    }
}

/// The filter and rules to use, from `--filter`, `--jail` and the jail files.
fn resolve(args: &ScanArgs) -> anyhow::Result<(FilterDefinition, JailRules)> {
    let dir = &args.config_dir;
    let filter_spec = args
        .filter
        .as_deref()
        .map(|f| {
            config::extract_options(f).with_context(|| {
                format!("invalid filter {f:?}: expected NAME or NAME[arg=value, ...]")
            })
        })
        .transpose()?;
    let jail_name = args
        .jail
        .clone()
        .or_else(|| filter_spec.as_ref().map(|(name, _)| name.trim().to_owned()));
    let jail: Option<JailDefinition> = match &jail_name {
        Some(name) if dir.join("jail.conf").exists() || dir.join("jail.local").exists() => {
            match config::read_jail_named(dir, name) {
                Ok(j) => Some(j),
                // Without --jail, a filter need not have a jail of its name.
                Err(config::ConfigError::JailNotFound { .. }) if args.jail.is_none() => None,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("reading jail `{name}` in {}", dir.display()));
                }
            }
        }
        Some(name) if args.jail.is_some() => {
            bail!(
                "no jail.conf or jail.local in {} to find jail `{name}` in",
                dir.display()
            )
        }
        _ => None,
    };
    let filter = match (&filter_spec, &jail) {
        (Some((name, filter_args)), _) => config::read_filter(dir, name.trim(), filter_args)
            .with_context(|| {
                format!(
                    "reading filter `{}` from {}",
                    name.trim(),
                    dir.join("filter.d").display()
                )
            })?,
        (None, Some(j)) => match &j.filter {
            Some(f) => f.clone(),
            None => bail!("jail `{}` has no filter", j.name),
        },
        (None, None) => bail!("give --filter NAME or --jail NAME"),
    };
    let mut rules = jail
        .as_ref()
        .map(JailRules::from)
        .unwrap_or_else(|| JailRules {
            name: filter.name.clone(),
            ..JailRules::default()
        });
    if let Some(n) = args.maxretry {
        rules.maxretry = n;
    }
    if let Some(t) = args.findtime {
        rules.findtime = t;
    }
    if let Some(t) = args.bantime {
        rules.bantime = t;
    }
    Ok((filter, rules))
}

/// Which input file a combined line number belongs to.
struct Files {
    /// (label, first line, last line).
    spans: Vec<(String, u64, u64)>,
}

impl Files {
    fn locate(&self, line: u64) -> (String, u64) {
        self.spans
            .iter()
            .find(|(_, first, last)| (*first..=*last).contains(&line))
            .map_or_else(
                || ("?".to_owned(), line),
                |(label, first, _)| (label.clone(), line - first + 1),
            )
    }
}

fn run_scan(args: &ScanArgs) -> anyhow::Result<i32> {
    let (definition, rules) = resolve(args)?;
    let filter = CompiledFilter::new(&definition, FilterOptions::default())
        .with_context(|| format!("compiling filter `{}`", definition.name))?;
    let clock = Clock::new(jiff::Timestamp::now(), jiff::tz::TimeZone::system());
    let mut scanner = Scanner::new(
        Arc::new(filter),
        ScanOptions {
            clock,
            jail: rules.clone(),
            keep_matches: args.all_matches,
        },
    );
    let mut files = Files { spans: Vec::new() };
    for path in &args.files {
        let first = scanner.report().lines + 1;
        let label = if path == Path::new("-") {
            let stdin = std::io::stdin();
            scanner
                .scan_reader(stdin.lock())
                .context("reading standard input")?;
            "<stdin>".to_owned()
        } else {
            let file = fs_open(path)?;
            scanner
                .scan_reader(BufReader::with_capacity(1 << 16, file))
                .with_context(|| format!("reading {}", path.display()))?;
            path.display().to_string()
        };
        files.spans.push((label, first, scanner.report().lines));
    }
    let report = scanner.finish();
    let out = std::io::stdout();
    let mut out = out.lock();
    let written = match args.format {
        LogsFormat::Json => write_json(&mut out, &report, &files, &definition),
        LogsFormat::Human => write_human(&mut out, &report, &files, &rules, args.all_matches),
    };
    match written {
        Ok(()) => {}
        // A closed pipe (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e) => return Err(e).context("writing the report"),
    }
    Ok(if report.bans.is_empty() { 0 } else { 1 })
}

fn fs_open(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

fn time_text(seconds: f64) -> String {
    jiff::Timestamp::from_second(seconds.floor() as i64)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|_| format!("{seconds}"))
}

fn write_human(
    out: &mut dyn Write,
    report: &ScanReport,
    files: &Files,
    rules: &JailRules,
    all_matches: bool,
) -> std::io::Result<()> {
    let failures: u64 = report.hosts.values().map(|h| h.failures).sum();
    writeln!(
        out,
        "filter {} (jail {}: maxretry {}, findtime {}s, bantime {}): {} lines, {} with failures, {} failures from {} hosts",
        report.filter,
        rules.name,
        rules.maxretry,
        rules.findtime,
        if rules.bantime < 0.0 {
            "forever".to_owned()
        } else {
            format!("{}s", rules.bantime)
        },
        report.lines,
        report.matched_lines,
        failures,
        report.hosts.len()
    )?;
    if all_matches {
        for m in &report.matches {
            let (file, line) = files.locate(m.line);
            writeln!(
                out,
                "  {file}:{line}  {}  {}{}{}",
                time_text(m.time),
                m.host.as_deref().unwrap_or("(pending)"),
                m.user
                    .as_deref()
                    .map(|u| format!("  user {u}"))
                    .unwrap_or_default(),
                if m.counts {
                    String::new()
                } else {
                    "  (helper, not counted)".to_owned()
                }
            )?;
        }
    }
    if report.bans.is_empty() {
        writeln!(out, "nothing would be banned")?;
    } else {
        writeln!(out, "would ban {} time(s):", report.bans.len())?;
        for ban in &report.bans {
            writeln!(
                out,
                "  {}  at {}: {}",
                ban.host,
                time_text(ban.time),
                ban.reason
            )?;
            let lines: Vec<String> = ban
                .lines
                .iter()
                .map(|&l| {
                    let (file, line) = files.locate(l);
                    format!("{file}:{line}")
                })
                .collect();
            let users: Vec<&str> = ban.users.iter().map(String::as_str).collect();
            if !users.is_empty() {
                writeln!(out, "      users: {}", users.join(", "))?;
            }
            writeln!(out, "      lines: {}", lines.join(", "))?;
        }
    }
    let ignored: Vec<&str> = report
        .hosts
        .iter()
        .filter(|(_, h)| h.ignored)
        .map(|(h, _)| h.as_str())
        .collect();
    if !ignored.is_empty() {
        writeln!(out, "ignored (ignoreip or local): {}", ignored.join(", "))?;
    }
    if report.invalid_utf8_lines > 0
        || report.truncated_lines > 0
        || report.backtrack_limit_hits > 0
    {
        writeln!(
            out,
            "note: {} lines were not UTF-8, {} were cut to the maximum length, {} regex searches hit the backtracking limit",
            report.invalid_utf8_lines, report.truncated_lines, report.backtrack_limit_hits
        )?;
    }
    Ok(())
}

fn write_json(
    out: &mut dyn Write,
    report: &ScanReport,
    files: &Files,
    filter: &FilterDefinition,
) -> std::io::Result<()> {
    let findings = report.ban_findings(&|line| {
        let (file, line) = files.locate(line);
        allclear_core::Location::new(file).with_line(u32::try_from(line).unwrap_or(u32::MAX))
    });
    let inputs: Vec<(String, u64)> = files
        .spans
        .iter()
        .map(|(label, first, last)| (label.clone(), (last + 1).saturating_sub(*first)))
        .collect();
    writeln!(out, "{}", scan_json(report, filter, &inputs, &findings))
}

fn now() -> f64 {
    jiff::Timestamp::now().as_millisecond() as f64 / 1000.0
}

/// This host's addresses (for `ignoreself`), from `ip -o addr`; none when that fails.
fn own_addresses() -> Vec<IpAddr> {
    let Ok(out) = std::process::Command::new("ip")
        .args(["-o", "addr", "show"])
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut found = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        while let Some(w) = words.next() {
            if (w == "inet" || w == "inet6")
                && let Some(addr) = words.next()
                && let Ok(ip) = addr.split('/').next().unwrap_or_default().parse::<IpAddr>()
            {
                found.push(ip);
            }
        }
    }
    found
}

/// The engine for the configuration; jails that fail to load are reported (file and line)
/// and left out. Returns whether any failed.
fn engine(service: &ServiceArgs, follow: bool) -> anyhow::Result<(Engine, bool)> {
    let options = Options {
        action: service.action.map(ActionKind::from),
        own_addresses: own_addresses(),
        tz: jiff::tz::TimeZone::system(),
        follow,
    };
    let builtin = service.builtin
        || (service.config == Path::new(DEFAULT_CONFIG) && !service.config.exists());
    let state = StateDir::new(&service.state);
    let built = if builtin {
        if !service.builtin {
            eprintln!("note: no {DEFAULT_CONFIG}; running the built-in detections");
        }
        Engine::from_builtin(&service.log_root, state, options)
    } else {
        Engine::from_config(&service.config, state, options)
    };
    let (engine, failed) = built.map_err(|e| {
        hinted(
            daemon::error_chain(&e),
            "--config must name a fail2ban directory with jail.conf or jail.local (or use --builtin)",
        )
    })?;
    for warning in &engine.warnings {
        eprintln!("warning: {warning}");
    }
    for (jail, error) in &failed {
        eprintln!(
            "error: jail `{jail}` does not run: {}",
            daemon::error_chain(error)
        );
    }
    Ok((engine, !failed.is_empty()))
}

fn log_events(events: &[Event]) {
    for event in events {
        match event {
            Event::Banned(b) => eprintln!("ban: {} in jail {}: {}", b.ip, b.jail, b.reason),
            Event::Unbanned { jail, ip, expired } => eprintln!(
                "unban: {ip} in jail {jail}{}",
                if *expired { " (ban time over)" } else { "" }
            ),
            Event::Rotated { jail, path } => {
                eprintln!("note: jail {jail}: {} was rotated", path.display())
            }
            Event::Truncated { jail, path } => {
                eprintln!("note: jail {jail}: {} was truncated", path.display())
            }
            Event::LongLines { jail, path, count } => eprintln!(
                "warning: jail {jail}: {count} line(s) of {} longer than {} KiB: only their first {} KiB were matched",
                path.display(),
                allclear_logs::follow::MAX_LINE >> 10,
                allclear_logs::follow::MAX_LINE >> 10,
            ),
            Event::Evicted { jail, count } => eprintln!(
                "warning: jail {jail}: {count} ban(s) lifted early: a jail keeps at most {} live bans (the oldest go first)",
                allclear_logs::state::MAX_BANS
            ),
            Event::Problem(p) => eprintln!("warning: {p}"),
        }
    }
}

fn run_service(args: &RunArgs) -> anyhow::Result<i32> {
    let (mut engine, some_failed) = engine(&args.service, !args.once)?;
    if engine.jails.is_empty() {
        return Err(hinted(
            format!(
                "no enabled jail can run in {}",
                args.service.config.display()
            ),
            "enable one in jail.local (`[sshd]` then `enabled = true`)",
        ));
    }
    let names: Vec<String> = engine
        .jails
        .iter()
        .map(|j| format!("{} ({})", j.jail.policy.name, j.action.name()))
        .collect();
    eprintln!("jails: {}", names.join(", "));
    let events = engine.start(now()).map_err(|e| {
        hinted(
            format!(
                "restoring bans into the firewall: {}",
                daemon::error_chain(&e)
            ),
            "install nft (package nftables) or iptables and ipset and run as root; \
             `--action log` only records bans",
        )
    })?;
    log_events(&events);
    let stop = stop_on_signals()?;
    let interval = std::time::Duration::from_secs_f64(args.interval.clamp(0.05, 3600.0));
    loop {
        engine
            .poll_each(now(), &mut |e| log_events(std::slice::from_ref(&e)))
            .context("reading the logs")?;
        if args.once || stop.load(Ordering::Relaxed) {
            break;
        }
        // Wake often enough to stop soon after a signal, without polling the logs more often.
        let until = std::time::Instant::now() + interval;
        while !stop.load(Ordering::Relaxed) {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(STOP_CHECK));
        }
    }
    if stop.load(Ordering::Relaxed) {
        // Every poll saves what changed, and the last one ran after the signal.
        eprintln!(
            "stopped by a signal; state saved in {}",
            args.service.state.display()
        );
    }
    Ok(if some_failed { 2 } else { 0 })
}

/// How often a sleeping daemon looks whether it was asked to stop.
const STOP_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// A flag raised by SIGTERM or SIGINT: the daemon finishes its poll (which saves the
/// state) and exits 0, as systemd expects of `systemctl stop`. A second signal while stopping
/// exits at once (status 1), for a poll that hangs.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .context("installing the signal handlers")?;
    }
    Ok(stop)
}

fn run_ban(args: &BanArgs) -> anyhow::Result<i32> {
    let (mut engine, _) = engine(&args.service, false)?;
    let record = engine
        .ban(&args.jail, args.ip, args.time, now())
        .with_context(|| format!("banning {} in jail {}", args.ip, args.jail))?;
    println!(
        "banned {} in jail {} {}",
        record.ip,
        record.jail,
        match record.until {
            Some(_) => format!("for {}", human_seconds(record.bantime)),
            None => "forever".to_owned(),
        }
    );
    Ok(0)
}

fn run_unban(args: &UnbanArgs) -> anyhow::Result<i32> {
    let (mut engine, _) = engine(&args.service, false)?;
    let removed = engine
        .unban(args.ip, args.jail.as_deref(), now())
        .with_context(|| format!("unbanning {}", args.ip))?;
    if removed.is_empty() {
        println!("{} was not banned", args.ip);
        return Ok(1);
    }
    for r in &removed {
        println!("unbanned {} in jail {}", r.ip, r.jail);
    }
    Ok(0)
}

fn run_status(args: &StatusArgs) -> anyhow::Result<i32> {
    let dir = StateDir::new(&args.state);
    let state = dir.load().map_err(|e| {
        hinted(
            daemon::error_chain(&e),
            "--state must name the directory `allclear host logs run` uses",
        )
    })?;
    let now = now();
    let bans = daemon::live_bans(&state, args.jail.as_deref(), now);
    let count: usize = bans.values().map(Vec::len).sum();
    let out = std::io::stdout();
    let mut out = out.lock();
    let written = match args.format {
        LogsFormat::Json => {
            let list: Vec<serde_json::Value> = bans
                .values()
                .flatten()
                .map(|b| {
                    let mut v = serde_json::to_value(b).unwrap_or_default();
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("remaining".into(), serde_json::json!(b.remaining(now)));
                    }
                    v
                })
                .collect();
            let doc = serde_json::json!({
                "schema": allclear_core::SCHEMA_VERSION,
                "bans": list,
                "summary": { "bans": count },
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )
        }
        LogsFormat::Human => write_status(&mut out, &bans, now),
    };
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e) => return Err(e).context("writing the status"),
    }
    Ok(if count == 0 { 0 } else { 1 })
}

fn write_status(
    out: &mut dyn Write,
    bans: &std::collections::BTreeMap<String, Vec<BanRecord>>,
    now: f64,
) -> std::io::Result<()> {
    if bans.is_empty() {
        return writeln!(out, "no bans");
    }
    for (jail, list) in bans {
        writeln!(out, "jail {jail}: {} banned", list.len())?;
        for b in list {
            let left = match b.remaining(now) {
                Some(r) => format!("{} left", human_seconds(r)),
                None => "forever".to_owned(),
            };
            writeln!(
                out,
                "  {}  since {}, {left}: {}",
                b.ip,
                time_text(b.start),
                b.reason
            )?;
            if !b.users.is_empty() {
                writeln!(out, "      users: {}", b.users.join(", "))?;
            }
            for sample in &b.samples {
                writeln!(out, "      > {sample}")?;
            }
        }
    }
    Ok(())
}
