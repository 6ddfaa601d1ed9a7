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
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use allclear_logs::action::ActionKind;
use allclear_logs::config::{self, FilterDefinition, JailDefinition};
use allclear_logs::daemon::{self, Engine, Event, Options};
use allclear_logs::date::Clock;
use allclear_logs::filter::{CompiledFilter, FilterOptions};
use allclear_logs::jail::human_seconds;
use allclear_logs::scan::{JailRules, ScanOptions, ScanReport, Scanner};
use allclear_logs::state::{BanRecord, StateDir};
use anyhow::Context;

use crate::cli::{
    ActionArg, DEFAULT_FAIL2BAN, GlobalArgs, LogsBanArgs, LogsCommand, LogsRunArgs, LogsScanArgs,
    LogsStatusArgs, LogsUnbanArgs, OutputFormat, ServiceArgs,
};
use crate::commands::ExitStatus;
use crate::output::{emit_with, hinted};

impl From<ActionArg> for ActionKind {
    fn from(a: ActionArg) -> Self {
        match a {
            ActionArg::Nftables => ActionKind::Nftables,
            ActionArg::Iptables => ActionKind::Iptables,
            ActionArg::Log => ActionKind::Log,
        }
    }
}

/// Runs `allclear host logs …`.
pub fn run(global: &GlobalArgs, command: &LogsCommand) -> anyhow::Result<ExitStatus> {
    match command {
        LogsCommand::Scan(args) => run_scan(args),
        LogsCommand::Digest(args) => super::digest::run(global, args),
        LogsCommand::Run(args) => run_service(global, args),
        LogsCommand::Status(args) => run_status(args),
        LogsCommand::Ban(args) => run_ban(global, args),
        LogsCommand::Unban(args) => run_unban(global, args),
    }
}

/// The filter and rules to use, from `--filter`, `--jail` and the jail files.
fn resolve(args: &LogsScanArgs) -> anyhow::Result<(FilterDefinition, JailRules)> {
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
            return Err(hinted(
                format!(
                    "no jail.conf or jail.local in {} to find jail `{name}` in",
                    dir.display()
                ),
                "--config-dir must name a fail2ban configuration directory",
            ));
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
            None => {
                return Err(hinted(
                    format!("jail `{}` has no filter", j.name),
                    "name one with --filter NAME",
                ));
            }
        },
        (None, None) => {
            return Err(hinted(
                "no filter to run",
                "give --filter NAME (a file of filter.d/) or --jail NAME",
            ));
        }
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

fn run_scan(args: &LogsScanArgs) -> anyhow::Result<ExitStatus> {
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
    emit_with(args.output.output.as_deref(), |out| match args.format {
        OutputFormat::Json => write_json(out, &report, &files, &definition),
        _ => write_human(out, &report, &files, &rules, args.all_matches),
    })?;
    Ok(ExitStatus::findings_if(!report.bans.is_empty()))
}

fn fs_open(path: &Path) -> anyhow::Result<fs_err::File> {
    Ok(fs_err::File::open(path)?)
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

/// `host logs scan --format json`: a findings report (the report schema 1, one finding per
/// ban, so the same tools read it as `scan`'s) with what the filter saw under `logs`.
#[derive(serde::Serialize)]
struct LogsScanDocument<'a> {
    #[serde(flatten)]
    report: &'a allclear_core::Report,
    logs: LogsScanDetails<'a>,
}

#[derive(serde::Serialize)]
struct LogsScanDetails<'a> {
    filter: FilterSummary<'a>,
    /// Each input in reading order, with its line count.
    inputs: Vec<InputSummary>,
    scan: &'a ScanReport,
}

#[derive(serde::Serialize)]
struct FilterSummary<'a> {
    name: &'a str,
    files: &'a [std::path::PathBuf],
    failregex: &'a [String],
}

#[derive(serde::Serialize)]
struct InputSummary {
    path: String,
    lines: u64,
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
    let inputs = files
        .spans
        .iter()
        .map(|(label, first, last)| InputSummary {
            path: label.clone(),
            lines: (last + 1).saturating_sub(*first),
        })
        .collect();
    let findings_report =
        allclear_core::Report::new(findings, Vec::new(), allclear_core::Severity::Low);
    let document = LogsScanDocument {
        report: &findings_report,
        logs: LogsScanDetails {
            filter: FilterSummary {
                name: &filter.name,
                files: &filter.files,
                failregex: &filter.failregex,
            },
            inputs,
            scan: report,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
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
fn engine(
    global: &GlobalArgs,
    service: &ServiceArgs,
    follow: bool,
) -> anyhow::Result<(Engine, bool)> {
    let options = Options {
        action: service.action.map(ActionKind::from),
        own_addresses: own_addresses(),
        tz: jiff::tz::TimeZone::system(),
        follow,
    };
    let builtin = service.builtin
        || (service.config == Path::new(DEFAULT_FAIL2BAN) && !service.config.exists());
    let state = StateDir::new(&service.state);
    let built = if builtin {
        if !service.builtin {
            global.note(format_args!(
                "note: no {DEFAULT_FAIL2BAN}; running the built-in detections"
            ));
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
        global.note(format_args!("warning: {warning}"));
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

fn run_service(global: &GlobalArgs, args: &LogsRunArgs) -> anyhow::Result<ExitStatus> {
    let (mut engine, some_failed) = engine(global, &args.service, !args.once)?;
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
    global.note(format_args!("jails: {}", names.join(", ")));
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
    Ok(if some_failed {
        ExitStatus::Error
    } else {
        ExitStatus::Clear
    })
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

fn run_ban(global: &GlobalArgs, args: &LogsBanArgs) -> anyhow::Result<ExitStatus> {
    let (mut engine, _) = engine(global, &args.service, false)?;
    let record = engine
        .ban(&args.jail, args.ip, args.time, now())
        .map_err(|e| {
            anyhow::Error::new(e).context(crate::output::Hint {
                message: format!("banning {} in jail {}", args.ip, args.jail),
                hint: "--jail must name a jail enabled in --config (or, with --builtin, a \
                       built-in detection)"
                    .to_owned(),
            })
        })?;
    println!(
        "banned {} in jail {} {}",
        record.ip,
        record.jail,
        match record.until {
            Some(_) => format!("for {}", human_seconds(record.bantime)),
            None => "forever".to_owned(),
        }
    );
    Ok(ExitStatus::Clear)
}

fn run_unban(global: &GlobalArgs, args: &LogsUnbanArgs) -> anyhow::Result<ExitStatus> {
    let (mut engine, _) = engine(global, &args.service, false)?;
    let removed = engine
        .unban(args.ip, args.jail.as_deref(), now())
        .with_context(|| format!("unbanning {}", args.ip))?;
    if removed.is_empty() {
        println!("{} was not banned", args.ip);
        return Ok(ExitStatus::Findings);
    }
    for r in &removed {
        println!("unbanned {} in jail {}", r.ip, r.jail);
    }
    Ok(ExitStatus::Clear)
}

fn run_status(args: &LogsStatusArgs) -> anyhow::Result<ExitStatus> {
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
    emit_with(args.output.output.as_deref(), |out| match args.format {
        OutputFormat::Json => write_status_json(out, &bans, count, now),
        _ => write_status(out, &bans, now),
    })?;
    Ok(ExitStatus::findings_if(count > 0))
}

fn write_status_json(
    out: &mut dyn Write,
    bans: &std::collections::BTreeMap<String, Vec<BanRecord>>,
    count: usize,
    now: f64,
) -> std::io::Result<()> {
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
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
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
