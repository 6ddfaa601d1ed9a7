//! `allclear host fim`: file integrity monitoring (init, check, update, watch,
//! verify-packages).
//!
//! Wiring: `Host(HostArgs)` → `fim` subcommand with [`FimArgs`]; call [`run`] and exit with
//! its code. Needs `allclear-fim` and `indicatif` in this crate's dependencies.

use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use allclear_core::{Finding, Policy, Report, RunError};
use allclear_fim::aide::{AideOptions, parse_aide_config};
use allclear_fim::{
    BaselineError, CheckError, CheckOptions, CheckOutcome, FimConfig, Issue, Progress,
};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use crate::output::hinted;

/// Where the policy lives on a host.
const HOST_POLICY: &str = "/etc/allclear/allclear.toml";

/// Where the baseline lives on a host.
const DEFAULT_BASELINE: &str = "/var/lib/allclear/fim.baseline";

/// File integrity monitoring: record a baseline, then report what changed
#[derive(Debug, Args)]
pub struct FimArgs {
    #[command(subcommand)]
    pub command: FimCommand,

    /// The baseline file
    #[arg(long, global = true, value_name = "FILE", default_value = DEFAULT_BASELINE)]
    pub baseline: PathBuf,

    /// The policy file whose [fim] section has the rules [default: /etc/allclear/allclear.toml
    /// when it exists, else the built-in rules for a Debian/Ubuntu web server]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Take the rules from an AIDE configuration (aide.conf) instead of [fim]
    #[arg(long, global = true, value_name = "FILE")]
    pub aide_config: Option<PathBuf>,

    /// Output format
    #[arg(long, short, global = true, value_enum, default_value_t = FimFormat::Human)]
    pub format: FimFormat,

    /// No progress bar (it is shown only when stderr is a terminal anyway)
    #[arg(long, global = true)]
    pub no_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FimFormat {
    Human,
    Json,
    #[value(alias = "md")]
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum FimCommand {
    /// Record a baseline of the watched files
    Init {
        /// Replace an existing baseline (it is never replaced otherwise)
        #[arg(long)]
        force: bool,
    },
    /// Compare the files with the baseline; exit 1 when something unexpected changed
    Check {
        /// Re-hash every file instead of trusting unchanged size, times and inode (slower)
        #[arg(long)]
        full: bool,
    },
    /// Accept the current state into the baseline: everything, or only PATHs and what is under them
    Update {
        /// Paths to accept (absolute)
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Re-hash every file instead of trusting unchanged size, times and inode
        #[arg(long)]
        full: bool,
    },
    /// Report changes as they happen (inotify), with periodic full checks; runs until stopped.
    /// Prints one line per new difference from the baseline (one JSON object per line with
    /// --format json); each difference is reported once, again only if it changes further
    Watch {
        /// Seconds between full checks, which catch what events miss (0: only at start and
        /// after the kernel reports lost events)
        #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
        full_check_every: u64,
        /// Milliseconds without events that end a burst (a package upgrade is one report)
        #[arg(long, value_name = "MS", default_value_t = 500)]
        debounce_ms: u64,
    },
    /// Check installed package files against dpkg's records, with no baseline (like debsums)
    VerifyPackages {
        /// Only these packages
        #[arg(value_name = "PACKAGE")]
        packages: Vec<String>,
        /// dpkg's database directory
        #[arg(long, value_name = "DIR", default_value = "/var/lib/dpkg")]
        dpkg_dir: PathBuf,
        /// The root the package paths are relative to
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
    },
}

/// Runs a `fim` subcommand. Returns the exit code: 0 nothing unexpected changed, 1 something
/// did, 2 an input could not be used (errors that stop the run are returned as `Err`).
pub fn run(args: &FimArgs) -> anyhow::Result<i32> {
    let (policy, config) = load_rules(args)?;
    let progress = ProgressDisplay::new(!args.no_progress && std::io::stderr().is_terminal());
    let callback = |p: Progress| progress.update(p);
    let progress_fn: Option<allclear_fim::walk::ProgressFn<'_>> =
        progress.enabled().then_some(&callback as _);

    match &args.command {
        FimCommand::Init { force } => {
            ensure_parent(&args.baseline)?;
            let outcome = allclear_fim::init(&config, &args.baseline, *force, progress_fn);
            progress.finish();
            let outcome = outcome.map_err(|e| baseline_error(e, args))?;
            let errors = outcome.issues.iter().filter(|i| i.is_error()).count();
            warn_issues(&outcome.issues);
            let summary = format!(
                "recorded {} entries ({} files hashed, {}) in {}",
                outcome.entries,
                outcome.hashed_files,
                human_bytes(outcome.hashed_bytes),
                args.baseline.display()
            );
            match args.format {
                FimFormat::Json => {
                    let value = serde_json::json!({
                        "baseline": args.baseline.display().to_string(),
                        "entries": outcome.entries,
                        "hashed_files": outcome.hashed_files,
                        "hashed_bytes": outcome.hashed_bytes,
                        "issues": outcome.issues,
                    });
                    emit(format!("{value:#}\n").as_bytes())?;
                }
                _ => emit(format!("{summary}\n").as_bytes())?,
            }
            if errors > 0 {
                eprintln!(
                    "error: {errors} paths could not be read; the baseline does not cover them (see above)"
                );
                return Ok(2);
            }
            Ok(0)
        }
        FimCommand::Check { full } => {
            let options = CheckOptions {
                full: *full,
                progress: progress_fn,
            };
            let outcome = allclear_fim::check(&config, &args.baseline, &options);
            progress.finish();
            let outcome = outcome.map_err(|e| baseline_error(e, args))?;
            report_outcome(args, &policy, &outcome, None)
        }
        FimCommand::Update { paths, full } => {
            let only: Vec<Vec<u8>> = paths
                .iter()
                .map(|p| {
                    let abs = if p.is_absolute() {
                        p.clone()
                    } else {
                        std::env::current_dir().unwrap_or_default().join(p)
                    };
                    abs.as_os_str().as_bytes().to_vec()
                })
                .collect();
            let options = CheckOptions {
                full: *full,
                progress: progress_fn,
            };
            let outcome = allclear_fim::update(&config, &args.baseline, &only, &options);
            progress.finish();
            let outcome = outcome.map_err(|e| baseline_error(e, args))?;
            let note = format!(
                "accepted {} change{} into {}",
                outcome.changes.len(),
                if outcome.changes.len() == 1 { "" } else { "s" },
                args.baseline.display()
            );
            report_outcome(args, &policy, &outcome, Some(note))
        }
        FimCommand::Watch {
            full_check_every,
            debounce_ms,
        } => {
            progress.finish();
            let options = allclear_fim::WatchOptions {
                debounce: std::time::Duration::from_millis(*debounce_ms),
                max_delay: std::time::Duration::from_millis(debounce_ms.saturating_mul(20))
                    .max(std::time::Duration::from_secs(2)),
                full_check_every: (*full_check_every > 0)
                    .then(|| std::time::Duration::from_secs(*full_check_every)),
            };
            watch(args, &policy, config, options)
        }
        FimCommand::VerifyPackages {
            packages,
            dpkg_dir,
            root,
        } => {
            let options = allclear_fim::VerifyOptions {
                dpkg_dir: dpkg_dir.clone(),
                root: root.clone(),
                packages: packages.clone(),
            };
            let outcome = allclear_fim::verify_packages(&options).map_err(|e| match e {
                allclear_fim::DpkgError::NotADpkgDatabase { .. } => hinted(
                    e.to_string(),
                    "verify-packages works on Debian-family systems; point --dpkg-dir at dpkg's database",
                ),
                other => anyhow::Error::new(other),
            })?;
            let mut report = policy.evaluate(outcome.findings, crate::output::today());
            for issue in &outcome.issues {
                report.add_error(run_error(issue));
            }
            for bad in &outcome.bad_lines {
                report.add_warning(format!("{}:{}: {}", bad.file, bad.line, bad.message));
            }
            eprintln!(
                "checked {} files of {} package(s) against dpkg's records",
                outcome.files_checked, outcome.packages
            );
            render(args, &report)?;
            Ok(report.exit_code())
        }
    }
}

/// `watch`: runs until killed or until the baseline cannot be used (then an error).
fn watch(
    args: &FimArgs,
    policy: &Policy,
    config: FimConfig,
    options: allclear_fim::WatchOptions,
) -> anyhow::Result<i32> {
    let mut watcher =
        allclear_fim::FimWatcher::new(config, &args.baseline, options).map_err(|e| match e {
            allclear_fim::WatchError::Check(e) => baseline_error(e, args),
            other => anyhow::Error::new(other),
        })?;
    let roots: Vec<String> = watcher
        .watched_roots()
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    eprintln!("watching {} (stop with Ctrl-C)", roots.join(", "));
    loop {
        let batch = watcher
            .next_batch(std::time::Duration::from_secs(3600))
            .map_err(|e| match e {
                allclear_fim::WatchError::Check(e) => baseline_error(e, args),
                other => anyhow::Error::new(other),
            })?;
        let Some(batch) = batch else { continue };
        for warning in &batch.warnings {
            eprintln!("warning: {warning}");
        }
        for issue in &batch.issues {
            let level = if issue.is_error() { "error" } else { "warning" };
            eprintln!("{level}: {}: {}", issue.path, issue.message);
        }
        let findings = batch.changes.iter().map(|c| c.to_finding()).collect();
        let report = policy.evaluate(with_our_options(findings, args), crate::output::today());
        let now = jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or(jiff::Timestamp::now());
        let mut out = String::new();
        for finding in &report.findings {
            match args.format {
                FimFormat::Json => {
                    let mut value = serde_json::to_value(finding)?;
                    if let Some(map) = value.as_object_mut() {
                        map.insert("time".to_owned(), now.to_string().into());
                    }
                    out.push_str(&serde_json::to_string(&value)?);
                }
                _ => {
                    out.push_str(&format!(
                        "{now} {:<8} {} {}",
                        finding.severity, finding.rule, finding.title
                    ));
                    if let Some(description) = &finding.description {
                        out.push_str(" (");
                        out.push_str(&description.replace('\n', "; "));
                        out.push(')');
                    }
                }
            }
            out.push('\n');
        }
        emit(out.as_bytes())?;
        if batch.trigger.is_full() && args.format != FimFormat::Json {
            eprintln!(
                "{now} full check ({}): {} entries, {} differences from the baseline outstanding",
                match batch.trigger {
                    allclear_fim::Trigger::Start => "start",
                    allclear_fim::Trigger::Rescan => "events were lost",
                    _ => "periodic",
                },
                batch.entries,
                batch.outstanding
            );
        }
    }
}

/// The policy (ignores, rule settings) and the fim rules.
fn load_rules(args: &FimArgs) -> anyhow::Result<(Policy, FimConfig)> {
    let config_path = match &args.config {
        Some(path) => Some(path.clone()),
        None => Some(PathBuf::from(HOST_POLICY)).filter(|p| p.exists()),
    };
    let (policy, text) = match &config_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the policy {}", path.display()))?;
            let policy = crate::commands::scan::parse_policy(&text, path)?;
            (policy, Some(text))
        }
        None => (Policy::default(), None),
    };
    let config = match (&args.aide_config, &text, &config_path) {
        (Some(aide), _, _) => {
            let options = AideOptions {
                hostname: host_name(),
                ..AideOptions::default()
            };
            parse_aide_config(aide, &options).map_err(|e| {
                hinted(
                    e.to_string(),
                    "allclear reads the common subset of aide.conf; rewrite that line or move the rules to [fim] in allclear.toml",
                )
            })?
        }
        (None, Some(text), Some(path)) => {
            FimConfig::from_toml_str(text, &path.display().to_string())?
        }
        _ => FimConfig::defaults(),
    };
    Ok((policy, config))
}

fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()?;
    let name = name.trim();
    // AIDE compares the short name.
    Some(name.split('.').next().unwrap_or(name).to_owned()).filter(|n| !n.is_empty())
}

fn ensure_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the directory {}", parent.display()))?;
    }
    Ok(())
}

/// `allclear host fim` with the options of this run that choose the rules and the
/// baseline, so that a command copied from a hint acts on the same files (without them it
/// would act on /var/lib/allclear/fim.baseline and the host's policy).
fn command(args: &FimArgs) -> String {
    let mut out = "allclear host fim".to_owned();
    let mut option = |name: &str, path: &Path| {
        let path = path.to_string_lossy();
        let quoted = shlex::try_quote(&path).unwrap_or(path.clone());
        out.push_str(&format!(" {name} {quoted}"));
    };
    if let Some(config) = &args.config {
        option("--config", config);
    }
    if let Some(aide) = &args.aide_config {
        option("--aide-config", aide);
    }
    if args.baseline != Path::new(DEFAULT_BASELINE) {
        option("--baseline", &args.baseline);
    }
    out
}

/// The findings' advice with `allclear host fim …` commands that repeat this run's options.
fn with_our_options(mut findings: Vec<Finding>, args: &FimArgs) -> Vec<Finding> {
    let plain = "`allclear host fim ";
    let ours = format!("`{} ", command(args));
    if ours == plain {
        return findings;
    }
    for finding in &mut findings {
        if let Some(advice) = finding.fix.as_mut().and_then(|fix| fix.advice.as_mut()) {
            *advice = advice.replace(plain, &ours);
        }
        if let Some(description) = finding.description.as_mut() {
            *description = description.replace(plain, &ours);
        }
    }
    findings
}

/// Turns a library error into one with a hint saying what to do.
fn baseline_error(err: CheckError, args: &FimArgs) -> anyhow::Error {
    let shown = args.baseline.display();
    let fim = command(args);
    let hint = match &err {
        CheckError::Baseline(BaselineError::AlreadyExists { .. }) => {
            format!(
                "run `{fim} check` to compare, or `{fim} init --force` to record a new baseline over {shown}"
            )
        }
        CheckError::Baseline(BaselineError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            format!("record one first with `{fim} init`")
        }
        CheckError::Baseline(
            BaselineError::ChecksumMismatch { .. }
            | BaselineError::Truncated { .. }
            | BaselineError::Corrupt { .. },
        ) => format!(
            "do not trust this host's state until you know why: compare {shown} with your off-host copy; \
             `{fim} init --force` records a new baseline from the current (unverified) files"
        ),
        CheckError::Baseline(BaselineError::NewerVersion { .. }) => {
            "use the allclear version that wrote it (or newer)".to_owned()
        }
        CheckError::Baseline(BaselineError::NotABaseline { .. }) => {
            "--baseline must name a file written by `allclear host fim init`".to_owned()
        }
        _ => return anyhow::Error::new(err),
    };
    hinted(err.to_string(), hint)
}

fn run_error(issue: &Issue) -> RunError {
    RunError {
        path: issue.path.clone(),
        line: None,
        message: issue.message.clone(),
    }
}

fn warn_issues(issues: &[Issue]) {
    let mut stderr = std::io::stderr().lock();
    for issue in issues {
        let level = if issue.is_error() { "error" } else { "warning" };
        let _ = writeln!(stderr, "{level}: {}: {}", issue.path, issue.message);
    }
}

/// Renders a check or update and picks the exit code: 1 only for tampering (package updates
/// and expected churn are reported but do not fail the run).
fn report_outcome(
    args: &FimArgs,
    policy: &Policy,
    outcome: &CheckOutcome,
    note: Option<String>,
) -> anyhow::Result<i32> {
    // `update` passes the note saying what it accepted.
    let accepted = note.is_some();
    let findings = with_our_options(outcome.findings(), args);
    let mut report = policy.evaluate(findings, crate::output::today());
    if accepted {
        // `update` accepted these into the baseline: they are listed, as accepted, and do
        // not fail the run.
        let reason = format!("accepted into {}", args.baseline.display());
        let accepted = std::mem::take(&mut report.findings)
            .into_iter()
            .map(|finding| allclear_core::IgnoredFinding {
                finding,
                reason: reason.clone(),
                expires: None,
            });
        let mut ignored = std::mem::take(&mut report.ignored);
        ignored.extend(accepted);
        report = Report::new(Vec::new(), ignored, report.summary.fail_on);
    }
    // Human output lists tampering first, then package updates, then expected churn.
    report.findings.sort_by_key(|f| {
        let rank = match f.details.get("category").and_then(|v| v.as_str()) {
            Some("tampering") => 0,
            Some("package-update") => 1,
            _ => 2,
        };
        (rank, std::cmp::Reverse(f.severity), f.location.path.clone())
    });
    for issue in &outcome.issues {
        if issue.is_error() {
            report.add_error(run_error(issue));
        } else {
            report.add_warning(format!("{}: {}", issue.path, issue.message));
        }
    }
    for warning in &outcome.warnings {
        report.add_warning(warning.clone());
    }
    let counts = outcome.counts();
    let stats = &outcome.stats;
    eprintln!(
        "{}{} entries checked ({} re-hashed, {} unchanged files not re-read); {} tampering, {} package updates, {} expected",
        note.map(|n| format!("{n}; ")).unwrap_or_default(),
        stats.entries,
        stats.hashed_files,
        stats.reused_hashes,
        counts
            .get(&allclear_fim::Category::Tampering)
            .copied()
            .unwrap_or(0),
        counts
            .get(&allclear_fim::Category::PackageUpdate)
            .copied()
            .unwrap_or(0),
        counts
            .get(&allclear_fim::Category::Expected)
            .copied()
            .unwrap_or(0),
    );
    render(args, &report)?;
    if !report.errors.is_empty() {
        return Ok(2);
    }
    let unexpected = report.findings.iter().any(|f| {
        f.details.get("category").and_then(|v| v.as_str()) == Some("tampering")
            && f.severity >= report.summary.fail_on
    });
    Ok(i32::from(unexpected))
}

fn render(args: &FimArgs, report: &Report) -> anyhow::Result<()> {
    let format = match args.format {
        FimFormat::Human => allclear_report::Format::Human,
        FimFormat::Json => allclear_report::Format::Json,
        FimFormat::Markdown => allclear_report::Format::Markdown,
    };
    let options = allclear_report::RenderOptions {
        color: args.format == FimFormat::Human
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal(),
        rules: crate::commands::rules::registry(),
        ..Default::default()
    };
    let mut out = Vec::new();
    allclear_report::render(report, format, &options, &mut out)?;
    emit(&out)
}

fn emit(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        // `allclear host fim check | head`: not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match UNITS.get(unit) {
        Some(name) if unit > 0 => format!("{value:.1} {name}"),
        _ => format!("{n} B"),
    }
}

/// A progress bar on stderr: a spinner while walking, bytes while hashing.
struct ProgressDisplay {
    bar: Option<indicatif::ProgressBar>,
    hashing: OnceLock<()>,
}

impl ProgressDisplay {
    fn new(enabled: bool) -> ProgressDisplay {
        let bar = enabled.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        ProgressDisplay {
            bar,
            hashing: OnceLock::new(),
        }
    }

    fn enabled(&self) -> bool {
        self.bar.is_some()
    }

    fn update(&self, progress: Progress) {
        let Some(bar) = &self.bar else { return };
        match progress {
            Progress::Walked(n) => bar.set_message(format!("walking: {n} entries")),
            Progress::Hashed { done, total } => {
                self.hashing.get_or_init(|| {
                    if let Ok(style) = indicatif::ProgressStyle::with_template(
                        "hashing {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                    ) {
                        bar.set_style(style);
                    }
                    bar.set_message("");
                });
                bar.set_length(total);
                bar.set_position(done);
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        fim: FimArgs,
    }

    #[test]
    fn arguments_parse() {
        let w = Wrapper::try_parse_from([
            "fim",
            "check",
            "--full",
            "--baseline",
            "/tmp/b",
            "--format",
            "json",
        ])
        .unwrap();
        assert!(matches!(w.fim.command, FimCommand::Check { full: true }));
        assert_eq!(w.fim.baseline, PathBuf::from("/tmp/b"));
        let w = Wrapper::try_parse_from(["fim", "update", "/etc/ssh", "/etc/passwd"]).unwrap();
        assert!(matches!(&w.fim.command, FimCommand::Update { paths, .. } if paths.len() == 2));
        assert_eq!(
            w.fim.baseline,
            PathBuf::from("/var/lib/allclear/fim.baseline")
        );
        assert!(Wrapper::try_parse_from(["fim", "check", "--format", "sarif"]).is_err());
        let w = Wrapper::try_parse_from(["fim", "watch", "--full-check-every", "60"]).unwrap();
        assert!(matches!(
            w.fim.command,
            FimCommand::Watch {
                full_check_every: 60,
                debounce_ms: 500
            }
        ));
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
