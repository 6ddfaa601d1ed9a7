//! `allclear host fim`: file integrity monitoring (init, check, update, watch,
//! verify-packages).
//!
//! The arguments are [`crate::cli::FimCommand`]; [`run`] returns the exit status: 1 only
//! for tampering (package updates and expected churn are reported but do not fail the run).

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use allclear_core::{Finding, Policy, Report, RunError};
use allclear_fim::aide::{AideOptions, parse_aide_config};
use allclear_fim::{
    BaselineError, CheckError, CheckOptions, CheckOutcome, FimConfig, Issue, Progress,
};
use anyhow::Context;

use crate::cli::{
    DEFAULT_FIM_BASELINE, FimCheckArgs, FimCommand, FimInitArgs, FimRulesArgs, FimUpdateArgs,
    FimVerifyArgs, FimWatchArgs, GlobalArgs, OutputFormat,
};
use crate::commands::ExitStatus;
use crate::output::{emit_with, hinted};

/// Where the policy lives on a host.
const HOST_POLICY: &str = "/etc/allclear/allclear.toml";

/// What a fim command works on: the rules, the baseline, and how it reports.
struct Run<'a> {
    global: &'a GlobalArgs,
    rules: &'a FimRulesArgs,
    baseline: &'a Path,
    format: OutputFormat,
    output: Option<&'a Path>,
}

/// Runs a `fim` subcommand: `Clear` when nothing unexpected changed, `Findings` when
/// something did, `Error` when an input could not be used (errors that stop the run are
/// returned as `Err`).
pub fn run(global: &GlobalArgs, command: &FimCommand) -> anyhow::Result<ExitStatus> {
    match command {
        FimCommand::Init(args) => init(global, args),
        FimCommand::Check(args) => check(global, args),
        FimCommand::Update(args) => update(global, args),
        FimCommand::Watch(args) => watch(global, args),
        FimCommand::VerifyPackages(args) => verify_packages(global, args),
    }
}

fn init(global: &GlobalArgs, args: &FimInitArgs) -> anyhow::Result<ExitStatus> {
    let run = Run {
        global,
        rules: &args.rules,
        baseline: &args.baseline.baseline,
        format: args.format,
        output: args.output.output.as_deref(),
    };
    let (_, config) = load_rules(run.rules)?;
    ensure_parent(run.baseline)?;
    let progress = ProgressDisplay::new(global.progress());
    let update_bar = |p: Progress| progress.update(p);
    let callback: Option<allclear_fim::walk::ProgressFn<'_>> =
        progress.enabled().then_some(&update_bar as _);
    let outcome = allclear_fim::init(&config, run.baseline, args.force, callback);
    progress.finish();
    let outcome = outcome.map_err(|e| baseline_error(e, &run))?;
    let errors = outcome.issues.iter().filter(|i| i.is_error()).count();
    warn_issues(global, &outcome.issues);
    let text = match run.format {
        OutputFormat::Json => {
            let value = serde_json::json!({
                "schema": allclear_core::SCHEMA_VERSION,
                "baseline": run.baseline.display().to_string(),
                "entries": outcome.entries,
                "hashed_files": outcome.hashed_files,
                "hashed_bytes": outcome.hashed_bytes,
                "issues": outcome.issues,
            });
            format!("{value:#}\n")
        }
        _ => format!(
            "recorded {} entries ({} files hashed, {}) in {}\n",
            outcome.entries,
            outcome.hashed_files,
            human_bytes(outcome.hashed_bytes),
            run.baseline.display()
        ),
    };
    emit_with(run.output, |out| out.write_all(text.as_bytes()))?;
    if errors > 0 {
        eprintln!(
            "error: {errors} paths could not be read; the baseline does not cover them (see above)\n\
             hint: run as root, or exclude those paths in `[fim]`, then `{} --force`",
            command(&run, "init")
        );
        return Ok(ExitStatus::Error);
    }
    Ok(ExitStatus::Clear)
}

fn check(global: &GlobalArgs, args: &FimCheckArgs) -> anyhow::Result<ExitStatus> {
    let run = check_run(global, args);
    let (policy, config) = load_rules(run.rules)?;
    let progress = ProgressDisplay::new(global.progress());
    let update_bar = |p: Progress| progress.update(p);
    let callback: Option<allclear_fim::walk::ProgressFn<'_>> =
        progress.enabled().then_some(&update_bar as _);
    let options = CheckOptions {
        full: args.full,
        progress: callback,
    };
    let outcome = allclear_fim::check(&config, run.baseline, &options);
    progress.finish();
    let outcome = outcome.map_err(|e| baseline_error(e, &run))?;
    report_outcome(&run, &policy, &outcome, None)
}

fn check_run<'a>(global: &'a GlobalArgs, args: &'a FimCheckArgs) -> Run<'a> {
    Run {
        global,
        rules: &args.rules,
        baseline: &args.baseline.baseline,
        format: args.format,
        output: args.output.output.as_deref(),
    }
}

fn update(global: &GlobalArgs, args: &FimUpdateArgs) -> anyhow::Result<ExitStatus> {
    let run = check_run(global, &args.check);
    let (policy, config) = load_rules(run.rules)?;
    let only: Vec<Vec<u8>> = args
        .paths
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
    let progress = ProgressDisplay::new(global.progress());
    let update_bar = |p: Progress| progress.update(p);
    let callback: Option<allclear_fim::walk::ProgressFn<'_>> =
        progress.enabled().then_some(&update_bar as _);
    let options = CheckOptions {
        full: args.check.full,
        progress: callback,
    };
    let outcome = allclear_fim::update(&config, run.baseline, &only, &options);
    progress.finish();
    let outcome = outcome.map_err(|e| baseline_error(e, &run))?;
    let note = format!(
        "accepted {} change{} into {}",
        outcome.changes.len(),
        if outcome.changes.len() == 1 { "" } else { "s" },
        run.baseline.display()
    );
    report_outcome(&run, &policy, &outcome, Some(note))
}

fn verify_packages(global: &GlobalArgs, args: &FimVerifyArgs) -> anyhow::Result<ExitStatus> {
    let rules = FimRulesArgs {
        config: args.config.clone(),
        aide_config: None,
    };
    let run = Run {
        global,
        rules: &rules,
        baseline: Path::new(DEFAULT_FIM_BASELINE),
        format: args.format,
        output: args.output.output.as_deref(),
    };
    let (policy, _) = load_rules(run.rules)?;
    let options = allclear_fim::VerifyOptions {
        dpkg_dir: args.dpkg_dir.clone(),
        root: args.root.clone(),
        packages: args.packages.clone(),
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
    global.note(format_args!(
        "checked {} files of {} package(s) against dpkg's records",
        outcome.files_checked, outcome.packages
    ));
    render(&run, &report)?;
    Ok(ExitStatus::of(&report))
}

/// `watch`: runs until killed or until the baseline cannot be used (then an error).
fn watch(global: &GlobalArgs, args: &FimWatchArgs) -> anyhow::Result<ExitStatus> {
    let run = Run {
        global,
        rules: &args.rules,
        baseline: &args.baseline.baseline,
        format: args.format,
        output: None,
    };
    let (policy, config) = load_rules(run.rules)?;
    let options = allclear_fim::WatchOptions {
        debounce: std::time::Duration::from_millis(args.debounce_ms),
        max_delay: std::time::Duration::from_millis(args.debounce_ms.saturating_mul(20))
            .max(std::time::Duration::from_secs(2)),
        full_check_every: (args.full_check_every > 0)
            .then(|| std::time::Duration::from_secs(args.full_check_every)),
    };
    let mut watcher =
        allclear_fim::FimWatcher::new(config, run.baseline, options).map_err(|e| match e {
            allclear_fim::WatchError::Check(e) => baseline_error(e, &run),
            other => anyhow::Error::new(other),
        })?;
    let roots: Vec<String> = watcher
        .watched_roots()
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    global.note(format_args!(
        "watching {} (stop with Ctrl-C)",
        roots.join(", ")
    ));
    loop {
        let batch = watcher
            .next_batch(std::time::Duration::from_secs(3600))
            .map_err(|e| match e {
                allclear_fim::WatchError::Check(e) => baseline_error(e, &run),
                other => anyhow::Error::new(other),
            })?;
        let Some(batch) = batch else { continue };
        for warning in &batch.warnings {
            global.note(format_args!("warning: {warning}"));
        }
        warn_issues(global, &batch.issues);
        let findings = batch.changes.iter().map(|c| c.to_finding()).collect();
        let report = policy.evaluate(with_our_options(findings, &run), crate::output::today());
        let now = jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or(jiff::Timestamp::now());
        let mut out = String::new();
        for finding in &report.findings {
            match run.format {
                OutputFormat::Json => {
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
        if batch.trigger.is_full() && run.format != OutputFormat::Json {
            global.note(format_args!(
                "{now} full check ({}): {} entries, {} differences from the baseline outstanding",
                match batch.trigger {
                    allclear_fim::Trigger::Start => "start",
                    allclear_fim::Trigger::Rescan => "events were lost",
                    _ => "periodic",
                },
                batch.entries,
                batch.outstanding
            ));
        }
    }
}

/// The policy (ignores, rule settings) and the fim rules.
fn load_rules(args: &FimRulesArgs) -> anyhow::Result<(Policy, FimConfig)> {
    let config_path = match &args.config {
        Some(path) => Some(path.clone()),
        None => Some(PathBuf::from(HOST_POLICY)).filter(|p| p.exists()),
    };
    let (policy, text) = match &config_path {
        Some(path) => {
            let text = crate::commands::scan::read_policy_text(path)?;
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

/// `allclear host fim SUBCOMMAND` with the options of this run that choose the rules and
/// the baseline, so that a command copied from a hint acts on the same files (without them it
/// would act on /var/lib/allclear/fim.baseline and the host's policy).
fn command(run: &Run<'_>, subcommand: &str) -> String {
    let mut out = format!("allclear host fim {subcommand}");
    let mut option = |name: &str, path: &Path| {
        let path = path.to_string_lossy();
        let quoted = shlex::try_quote(&path).unwrap_or(path.clone());
        out.push_str(&format!(" {name} {quoted}"));
    };
    if let Some(config) = &run.rules.config {
        option("--config", config);
    }
    if let Some(aide) = &run.rules.aide_config {
        option("--aide-config", aide);
    }
    if run.baseline != Path::new(DEFAULT_FIM_BASELINE) {
        option("--baseline", run.baseline);
    }
    out
}

/// The findings' advice with `allclear host fim …` commands that repeat this run's options.
fn with_our_options(mut findings: Vec<Finding>, run: &Run<'_>) -> Vec<Finding> {
    let replacements: Vec<(String, String)> = ["init", "check", "update", "watch"]
        .iter()
        .map(|sub| {
            (
                format!("`allclear host fim {sub}"),
                format!("`{}", command(run, sub)),
            )
        })
        .filter(|(plain, ours)| plain != ours)
        .collect();
    if replacements.is_empty() {
        return findings;
    }
    let rewrite = |text: &mut String| {
        for (plain, ours) in &replacements {
            if text.contains(plain.as_str()) {
                *text = text.replace(plain.as_str(), ours);
            }
        }
    };
    for finding in &mut findings {
        if let Some(advice) = finding.fix.as_mut().and_then(|fix| fix.advice.as_mut()) {
            rewrite(advice);
        }
        if let Some(description) = finding.description.as_mut() {
            rewrite(description);
        }
    }
    findings
}

/// Turns a library error into one with a hint saying what to do.
fn baseline_error(err: CheckError, run: &Run<'_>) -> anyhow::Error {
    let shown = run.baseline.display();
    let check = command(run, "check");
    let init = command(run, "init");
    let hint = match &err {
        CheckError::Baseline(BaselineError::AlreadyExists { .. }) => {
            format!(
                "run `{check}` to compare, or `{init} --force` to record a new baseline over {shown}"
            )
        }
        CheckError::Baseline(BaselineError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            format!("record one first with `{init}`")
        }
        CheckError::Baseline(
            BaselineError::ChecksumMismatch { .. }
            | BaselineError::Truncated { .. }
            | BaselineError::Corrupt { .. },
        ) => format!(
            "do not trust this host's state until you know why: compare {shown} with your off-host copy; \
             `{init} --force` records a new baseline from the current (unverified) files"
        ),
        CheckError::Baseline(BaselineError::NewerVersion { .. }) => {
            "use the allclear version that wrote it (or newer)".to_owned()
        }
        CheckError::Baseline(BaselineError::NotABaseline { .. }) => {
            "--baseline must name a file written by `allclear host fim init`".to_owned()
        }
        CheckError::Baseline(BaselineError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            "run as root (the baseline and the watched files need it), or give a --baseline you may write".to_owned()
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

/// Unreadable paths (errors, always shown) and warnings (hidden by `--quiet`) on stderr.
fn warn_issues(global: &GlobalArgs, issues: &[Issue]) {
    let mut stderr = std::io::stderr().lock();
    for issue in issues {
        if issue.is_error() {
            let _ = writeln!(stderr, "error: {}: {}", issue.path, issue.message);
        } else if !global.quiet {
            let _ = writeln!(stderr, "warning: {}: {}", issue.path, issue.message);
        }
    }
}

/// Renders a check or update and picks the exit code: 1 only for tampering (package updates
/// and expected churn are reported but do not fail the run).
fn report_outcome(
    run: &Run<'_>,
    policy: &Policy,
    outcome: &CheckOutcome,
    note: Option<String>,
) -> anyhow::Result<ExitStatus> {
    // `update` passes the note saying what it accepted.
    let accepted = note.is_some();
    let findings = with_our_options(outcome.findings(), run);
    let mut report = policy.evaluate(findings, crate::output::today());
    if accepted {
        // `update` accepted these into the baseline: they are listed, as accepted, and do
        // not fail the run.
        let reason = format!("accepted into {}", run.baseline.display());
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
    run.global.note(format_args!(
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
    ));
    render(run, &report)?;
    if !report.errors.is_empty() {
        return Ok(ExitStatus::Error);
    }
    let unexpected = report.findings.iter().any(|f| {
        f.details.get("category").and_then(|v| v.as_str()) == Some("tampering")
            && f.severity >= report.summary.fail_on
    });
    Ok(ExitStatus::findings_if(unexpected))
}

fn render(run: &Run<'_>, report: &Report) -> anyhow::Result<()> {
    let options = allclear_report::RenderOptions {
        color: run.format == OutputFormat::Human && run.global.stdout_color(run.output.is_some()),
        rules: crate::commands::rules::docs_for(&report.findings),
        ..Default::default()
    };
    emit_with(run.output, |out| {
        allclear_report::render(
            report,
            crate::commands::render_format(run.format),
            &options,
            out,
        )
    })
}

/// Writes one batch of `watch` lines to stdout at once.
fn emit(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
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

    #[test]
    fn byte_sizes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
