//! `allclear host logs`: log analysis with existing fail2ban filters and jails.
//!
//! `scan` reads log files (or standard input), runs a filter over them and prints what the
//! jail would ban and why, like `fail2ban-regex` plus the jail's verdict. Exit code: 0 when
//! nothing would be banned, 1 when something would be, 2 on errors.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use allclear_logs::config::{self, FilterDefinition, JailDefinition};
use allclear_logs::date::Clock;
use allclear_logs::filter::{CompiledFilter, FilterOptions};
use allclear_logs::scan::{JailRules, ScanOptions, ScanReport, Scanner, scan_json};
use anyhow::{Context, bail};
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
pub fn run(args: &LogsArgs) -> anyhow::Result<i32> {
    match &args.command {
        LogsCommand::Scan(scan) => run_scan(scan),
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
