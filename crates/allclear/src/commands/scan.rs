//! `allclear scan`: one walk of the tree, every capability's findings, the policy, the report.

pub mod code;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use allclear_advisories::Store;
use allclear_core::{Baseline, Coverage, Finding, KnownNames, Policy};
use allclear_deps::{AuditInput, DependencyFile};
use allclear_secrets::SecretsConfig;
use anyhow::Context;

use crate::cli::{Check, DbDirArgs, GlobalArgs, ScanArgs};
use crate::commands::ExitStatus;
use crate::commands::db::{db_dir, open_store};
use crate::output;
use crate::walk::{self, SharedScanner, WalkOptions};

/// The default baseline file, at the scanned root.
pub const BASELINE_FILE: &str = "allclear-baseline.json";

pub fn run(global: &GlobalArgs, args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let root = &args.path;
    let (mut policy, _policy_path) = load_policy(root, args.config.as_deref())?;
    if let Some(fail_on) = args.fail_on {
        policy.scan.fail_on = fail_on;
    }
    let baseline = load_baseline(root, args.baseline.as_deref())?;
    let upload = crate::commands::report_to::prepare(args)?;
    let sources = Sources {
        progress: scan_progress(global),
        ..Sources::from(args)
    };
    let collected = collect(&args.db, &policy, &sources);
    sources.progress.finish_and_clear();
    let collected = collected?;

    let today = crate::output::today();
    let baseline_ref = baseline.as_ref().map(|(b, name)| (b, name.as_str()));
    let mut report = policy.evaluate_with_baseline(collected.findings, today, baseline_ref);
    for error in collected.errors {
        report.add_error(error);
    }
    for warning in collected.warnings {
        report.add_warning(warning);
    }
    for skipped in collected.skipped {
        report.add_skipped(skipped);
    }
    report.coverage = Some(collected.coverage);
    for warning in &report.warnings {
        global.note(format_args!("warning: {warning}"));
    }

    let format = crate::commands::render_format(args.format);
    let options = allclear_report::RenderOptions {
        color: global.stdout_color(args.output.output.is_some()),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        width: None,
        scanned: Some(collected.scanned),
        rules: crate::commands::rules::docs_for(&report.findings),
    };
    output::emit_with(args.output.output.as_deref(), |out| {
        allclear_report::render(&report, format, &options, out)
    })?;
    if let Some(upload) = upload {
        let mut json = Vec::new();
        allclear_report::render(&report, allclear_report::Format::Json, &options, &mut json)?;
        let summary = upload.send(&json)?;
        global.note(summary);
    }
    Ok(ExitStatus::of(&report))
}

/// What to read: the working tree (always, unless only the staged changes are asked for),
/// the index, the history.
pub struct Sources<'a> {
    pub root: &'a Path,
    pub no_ignore: bool,
    pub staged: bool,
    pub history: bool,
    pub deps: bool,
    pub secrets: bool,
    /// Insecure code (allclear-sast), from this confidence up (default: the policy's).
    pub code: bool,
    pub min_confidence: Option<allclear_sast::Confidence>,
    /// Counts files as the walk reads them and says which step runs (hidden unless stderr
    /// is a terminal).
    pub progress: indicatif::ProgressBar,
}

/// A spinner on stderr with the files read so far, when it is a terminal and not `--quiet`:
/// a large tree or a long history takes seconds, and silence looks like a hang.
pub fn scan_progress(global: &GlobalArgs) -> indicatif::ProgressBar {
    if !global.progress() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {pos} files read, {msg} [{elapsed}]")
    {
        bar.set_style(style);
    }
    bar.set_message("walking the tree");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

impl<'a> From<&'a ScanArgs> for Sources<'a> {
    fn from(args: &'a ScanArgs) -> Self {
        let only = |check| args.only.is_empty() || args.only.contains(&check);
        Sources {
            root: &args.path,
            no_ignore: args.no_ignore,
            staged: args.staged,
            history: args.history,
            deps: only(Check::Deps),
            secrets: only(Check::Secrets),
            code: only(Check::Code),
            min_confidence: args.min_confidence,
            progress: indicatif::ProgressBar::hidden(),
        }
    }
}

/// Every capability's findings before the policy is applied.
pub struct Collected {
    pub findings: Vec<allclear_core::Finding>,
    pub errors: Vec<allclear_core::RunError>,
    pub warnings: Vec<String>,
    /// Inputs checked only in part or not at all (limits, unsupported entries).
    pub skipped: Vec<allclear_core::Skipped>,
    /// Files (or staged blobs) read.
    pub scanned: usize,
    /// What was checked, for the report (`files` is `scanned`).
    pub coverage: Coverage,
}

/// Runs the scan the sources ask for: one walk of the tree feeding the dependency audit and
/// the secrets scanner, or the staged blobs only (the pre-commit hook), plus the history.
pub fn collect(
    db: &DbDirArgs,
    policy: &Policy,
    sources: &Sources<'_>,
) -> anyhow::Result<Collected> {
    let secrets_config = SecretsConfig::from_sections(&policy.sections)
        .context("invalid [secrets], [restricted] or [personal-data] section in the policy")?;
    let scanner = SharedScanner::new(&secrets_config);
    let wants_scanner = sources.secrets || sources.staged || sources.history;
    if sources.staged || !sources.deps {
        return collect_with(db, policy, sources, wants_scanner.then_some(&scanner), None);
    }
    std::thread::scope(|scope| {
        // The advisory database is opened, and the secret rules are built, on a second core
        // while the tree is walked and lockfiles parsed (on a small repository each takes
        // about as long as the audit itself). Whether the database opened only matters once
        // a lockfile has packages; a walker that needs the rules first waits for them.
        let store = scope.spawn(|| open_store_checked(db, policy));
        if wants_scanner {
            scope.spawn(|| scanner.get().is_ok());
        }
        collect_with(
            db,
            policy,
            sources,
            wants_scanner.then_some(&scanner),
            Some(store),
        )
    })
}

/// Opens the advisory database, with a warning if it is older than the policy allows.
fn open_store_checked(db: &DbDirArgs, policy: &Policy) -> anyhow::Result<(Store, Option<String>)> {
    let store = open_store(&db_dir(db)?)?;
    let warning = crate::commands::db::staleness_warning(&store, policy.scan.max_db_age_days);
    Ok((store, warning))
}

/// The store being opened on another thread, with its staleness warning.
type StoreJob<'scope> =
    std::thread::ScopedJoinHandle<'scope, anyhow::Result<(Store, Option<String>)>>;

fn collect_with(
    db: &DbDirArgs,
    policy: &Policy,
    sources: &Sources<'_>,
    scanner: Option<&SharedScanner<'_>>,
    store_job: Option<StoreJob<'_>>,
) -> anyhow::Result<Collected> {
    if sources.staged {
        return collect_staged(sources, scanner);
    }

    let code_engine = match sources.code {
        true => Some(code::engine(policy, sources.root)?),
        false => None,
    };
    let min_confidence = code::min_confidence(policy, sources.min_confidence)?;
    let mut walked = walk::walk(&WalkOptions {
        root: sources.root,
        no_ignore: sources.no_ignore,
        exclude: &policy.scan.exclude,
        deps: sources.deps,
        secrets: if sources.secrets { scanner } else { None },
        code: code_engine.as_ref(),
        progress: &sources.progress,
    })?;
    let mut collected = Collected {
        findings: std::mem::take(&mut walked.secret_findings),
        errors: std::mem::take(&mut walked.errors),
        warnings: Vec::new(),
        skipped: std::mem::take(&mut walked.skipped),
        scanned: walked.files,
        coverage: Coverage::default(),
    };
    if let Some(engine) = &code_engine {
        let scans = std::mem::take(&mut walked.code_scans);
        code::finish(
            engine,
            scans,
            min_confidence,
            &mut collected.findings,
            &mut collected.warnings,
        );
    }
    if let Some(scanner) = scanner {
        // The walk skipped secrets if the rules did not build: say why.
        scanner.require()?;
    }
    if let (true, Some(scanner)) = (sources.history, scanner.and_then(SharedScanner::ready)) {
        collect_history(&mut collected, sources, scanner)?;
    }
    collected.coverage = Coverage {
        files: collected.scanned,
        secret_rules: (sources.secrets && scanner.and_then(SharedScanner::ready).is_some())
            .then(|| allclear_secrets::rules().len()),
        ..Coverage::default()
    };
    if sources.deps {
        audit_dependencies(&mut collected, walked, db, policy, sources, store_job)?;
    }
    Ok(collected)
}

/// `--staged`: a pre-commit hook must be fast and only about what is being committed: the
/// staged blobs, not the whole tree and not the advisory database.
fn collect_staged(
    sources: &Sources<'_>,
    scanner: Option<&SharedScanner<'_>>,
) -> anyhow::Result<Collected> {
    let Some(scanner) = scanner else {
        return Err(output::hinted(
            "--staged scans for secrets; it cannot be combined with --only deps",
            "leave out --only deps, or --staged",
        ));
    };
    let scanner = scanner.require()?;
    let scan = allclear_secrets::scan_staged(scanner, sources.root)
        .context("could not read what is staged")?;
    Ok(Collected {
        findings: scan.findings,
        errors: scan.errors,
        warnings: Vec::new(),
        skipped: scan.skipped,
        scanned: scan.blobs,
        coverage: Coverage {
            files: scan.blobs,
            secret_rules: Some(allclear_secrets::rules().len()),
            staged: true,
            ..Coverage::default()
        },
    })
}

/// `--history`: every file version in the git history, each secret once with the commits
/// that introduced it.
fn collect_history(
    collected: &mut Collected,
    sources: &Sources<'_>,
    scanner: &allclear_secrets::Scanner,
) -> anyhow::Result<()> {
    sources.progress.set_message("reading the git history");
    let history = allclear_secrets::scan_history(scanner, sources.root)
        .context("could not read the git history")?;
    collected.warnings.extend(shallow_warning(sources.root));
    collected.scanned += history.blobs;
    collected.errors.extend(history.errors);
    collected.skipped.extend(history.skipped);
    merge_history(&mut collected.findings, history.findings);
    Ok(())
}

/// The lockfiles the walk parsed, checked against the advisory database (opened only when
/// there are packages to check), with the coverage per ecosystem.
fn audit_dependencies(
    collected: &mut Collected,
    walked: walk::Walked,
    db: &DbDirArgs,
    policy: &Policy,
    sources: &Sources<'_>,
    store_job: Option<StoreJob<'_>>,
) -> anyhow::Result<()> {
    collected.coverage.lockfiles = walked
        .lockfiles
        .iter()
        .filter(|(_, lock)| is_lockfile(lock.kind))
        .count();
    let has_packages = walked
        .lockfiles
        .iter()
        .any(|(_, lock)| !lock.packages.is_empty() || !lock.interpreters.is_empty());
    let store = if has_packages {
        let (store, warning) = match store_job {
            Some(job) => job
                .join()
                .map_err(|_| anyhow::anyhow!("opening the advisory database failed"))??,
            None => open_store_checked(db, policy)?,
        };
        collected.warnings.extend(warning);
        Some(store)
    } else {
        None
    };

    let files: Vec<DependencyFile> = walked
        .dependency_files
        .iter()
        .map(|path| DependencyFile {
            path: path.clone(),
            kind: allclear_lockfiles::detect(path),
        })
        .collect();
    sources
        .progress
        .set_message("checking packages against the advisory database");
    let audit = allclear_deps::audit(
        &AuditInput {
            lockfiles: &walked.lockfiles,
            files: &files,
        },
        store.as_ref(),
    )
    .context("could not check packages against the advisory database")?;
    // The parsed lockfiles and the store are not needed for rendering; free them first so
    // a large monorepo's peak memory is the findings, not the findings plus every package.
    drop(walked);
    drop(store);
    let now = jiff::Timestamp::now();
    collected.coverage.ecosystems = audit.coverage;
    for ecosystem in &mut collected.coverage.ecosystems {
        ecosystem.age_days = ecosystem
            .imported_at
            .as_deref()
            .and_then(|at| at.parse::<jiff::Timestamp>().ok())
            .map(|at| now.duration_since(at).as_secs() / 86_400);
    }
    collected.warnings.extend(audit.warnings);
    collected
        .findings
        .extend(with_upgrade_commands(audit.findings));
    Ok(())
}

/// In a shallow clone `--history` reads only part of the history: say so, naming where it
/// stops, rather than reporting a partial scan as a whole one.
fn shallow_warning(root: &Path) -> Option<String> {
    let repo = gix::discover(root).ok()?;
    let boundary = match repo.shallow_commits() {
        Ok(Some(commits)) => commits,
        Ok(None) => return None,
        Err(err) => {
            return Some(format!(
                "--history: could not tell whether this is a shallow clone ({err}); the history read may be partial"
            ));
        }
    };
    let mut shown: Vec<String> = boundary
        .iter()
        .take(3)
        .map(|id| id.to_hex_with_len(12).to_string())
        .collect();
    if boundary.len() > shown.len() {
        shown.push(format!("and {} more", boundary.len() - shown.len()));
    }
    Some(format!(
        "--history read a shallow clone: the history stops at {} (commits older than that \
         were not scanned); run `git fetch --unshallow` to scan all of it",
        shown.join(", ")
    ))
}

/// A file that locks packages, as opposed to a manifest or an interpreter version file.
fn is_lockfile(kind: allclear_lockfiles::FileKind) -> bool {
    use allclear_lockfiles::FileKind;
    !kind.is_manifest() && !matches!(kind, FileKind::RubyVersion | FileKind::ToolVersions)
}

/// Adds history findings to the working tree's. A secret still in the working tree is also
/// in the history: it is reported once, at its working-tree line, with the commits that
/// introduced it.
fn merge_history(findings: &mut Vec<Finding>, history: Vec<Finding>) {
    let mut by_fingerprint: HashMap<String, usize> = findings
        .iter()
        .enumerate()
        .map(|(index, finding)| (finding.fingerprint.clone(), index))
        .collect();
    for found in history {
        match by_fingerprint.get(&found.fingerprint) {
            Some(&index) => {
                if let (Some(current), Some(introduced)) =
                    (findings.get_mut(index), found.details.get("introduced"))
                {
                    current
                        .details
                        .insert("introduced".to_owned(), introduced.clone());
                }
            }
            None => {
                by_fingerprint.insert(found.fingerprint.clone(), findings.len());
                findings.push(found);
            }
        }
    }
}

/// The baseline: `--baseline FILE` (must exist), else `ROOT/allclear-baseline.json` if present.
/// Returns it with the name to show in reasons.
pub fn load_baseline(
    root: &Path,
    given: Option<&Path>,
) -> anyhow::Result<Option<(Baseline, String)>> {
    let Some(path) = given_or_default(root, given, BASELINE_FILE) else {
        return Ok(None);
    };
    let name = path.display().to_string();
    let text = fs_err::read_to_string(&path)?;
    let baseline = Baseline::from_json(&text, &name)?;
    Ok(Some((baseline, name)))
}

/// The file named on the command line (which must then exist: reading it reports the error),
/// else `ROOT/NAME` when present, else none.
fn given_or_default(root: &Path, given: Option<&Path>, name: &str) -> Option<PathBuf> {
    match given {
        Some(path) => Some(path.to_path_buf()),
        None => Some(root.join(name)).filter(|default| default.exists()),
    }
}

/// Reads the policy: `--config FILE` (must exist), else `ROOT/allclear.toml` if present, else
/// the defaults.
pub fn load_policy(
    root: &Path,
    config: Option<&Path>,
) -> anyhow::Result<(Policy, Option<PathBuf>)> {
    let Some(path) = given_or_default(root, config, "allclear.toml") else {
        return Ok((Policy::default(), None));
    };
    let text = read_policy_text(&path)?;
    let policy = parse_policy(&text, &path)?;
    Ok((policy, Some(path)))
}

/// A policy file's text, or an error saying what `--config` must name.
pub fn read_policy_text(path: &Path) -> anyhow::Result<String> {
    fs_err::read_to_string(path).map_err(|e| {
        anyhow::Error::new(e).context(output::Hint {
            message: format!("cannot read the policy {}", path.display()),
            hint: "--config must name a readable allclear.toml (`allclear init` writes one)"
                .to_owned(),
        })
    })
}

/// Parses an `allclear.toml`, refusing sections, keys and rule ids that nothing reads (with
/// a hint naming the closest valid one).
pub fn parse_policy(text: &str, path: &Path) -> anyhow::Result<Policy> {
    let rules = known_rules(text);
    let known = KnownNames {
        sections: POLICY_SECTIONS,
        rules: &rules,
        // The checks of SCA policies (`host audit --policy`) are only known once loaded.
        dynamic: &["audit."],
    };
    let policy =
        Policy::from_toml_checked(text, &path.display().to_string(), &known).map_err(|err| {
            match err.hint() {
                Some(hint) => output::hinted(err.to_string(), hint),
                None => err.into(),
            }
        })?;
    check_secrets_sections(text, path)?;
    Ok(policy)
}

/// The secrets scanner's sections, read here from the text so that an unknown key is an
/// error with its line (the scanner reads them later from values that carry no position).
fn check_secrets_sections(text: &str, path: &Path) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    #[expect(dead_code, reason = "read only for the errors, which carry positions")]
    struct Sections {
        #[serde(default)]
        secrets: Option<SecretsConfig>,
        #[serde(default)]
        restricted: Option<allclear_secrets::RestrictedConfig>,
        #[serde(default)]
        personal_data: Option<allclear_secrets::PersonalConfig>,
    }
    let Err(err) = toml::from_str::<Sections>(text) else {
        return Ok(());
    };
    let line = err.span().map_or(1, |span| {
        text.get(..span.start)
            .map_or(0, |before| before.matches('\n').count())
            + 1
    });
    let message = format!("{}:{line}: {}", path.display(), err.message());
    // serde names the unknown field and the expected ones between backquotes.
    let names: Vec<&str> = err.message().split('`').skip(1).step_by(2).collect();
    let closest = match names.split_first() {
        Some((unknown, expected)) if err.message().starts_with("unknown field") => {
            allclear_core::closest_name(unknown, expected)
        }
        _ => None,
    };
    Err(match closest {
        Some(name) => output::hinted(message, format!("did you mean `{name}`?")),
        None => anyhow::anyhow!(message),
    })
}

/// The sections of `allclear.toml` that capabilities read (beyond allclear-core's own).
const POLICY_SECTIONS: &[&str] = &[
    "audit",
    "code",
    "fim",
    "personal-data",
    "restricted",
    "secrets",
];

/// Every documented rule id (the registry of `allclear rules`), so that a policy naming one
/// that does not exist is an error rather than a setting that silently does nothing. The
/// code rules' ids cost compiling the code rules: read only when the policy names one.
fn known_rules(text: &str) -> Vec<&'static str> {
    crate::commands::rules::known_ids(text.contains("code."))
}

/// Fills each fixable finding's `fix.command` with the command that upgrades just its package
/// (`bundle update rack`), so JSON consumers need not know every ecosystem's tool.
fn with_upgrade_commands(mut findings: Vec<allclear_core::Finding>) -> Vec<allclear_core::Finding> {
    for finding in &mut findings {
        let fixable = finding.package.is_some()
            && finding
                .fix
                .as_ref()
                .is_some_and(|fix| fix.version.is_some() && fix.command.is_none());
        if !fixable {
            continue;
        }
        let command = allclear_report::upgrade_commands(std::slice::from_ref(finding))
            .into_iter()
            .find(|line| !line.starts_with('#'));
        if let (Some(fix), Some(command)) = (finding.fix.as_mut(), command) {
            fix.command = Some(command);
        }
    }
    findings
}
