//! `allclear host audit`: configuration assessment with Wazuh SCA policies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use allclear_audit::{AuditSettings, CheckResult, Outcome, PolicyResult, System};
use allclear_core::{Finding, Fix, Location, Policy, Report, RunError, Severity};

use crate::cli::{AuditArgs, GlobalArgs, OutputFormat};
use crate::output::{self, hinted};

/// Where the policy lives on a host.
const HOST_POLICY: &str = "/etc/allclear/allclear.toml";

/// Runs the audit; returns the exit code (0 all clear, 1 failed checks, 2 errors).
pub fn run(global: &GlobalArgs, args: &AuditArgs) -> anyhow::Result<u8> {
    let (policy, settings) = load_settings(args)?;
    let mut files = args.policies.clone();
    files.extend(settings.policies.iter().cloned());
    if let Some(root) = &args.root
        && !root.is_dir()
    {
        return Err(hinted(
            format!("--root {} is not a directory", root.display()),
            "point --root at the mounted tree's top directory",
        ));
    }
    let system = match &args.root {
        Some(root) => System::rooted(root),
        None => System::host(),
    }
    .allow_commands(args.allow_commands || settings.allow_commands);

    if args.fix {
        return plan_fixes(&files, &system);
    }

    let mut findings = Vec::new();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let mut counts = Counts::default();
    if files.is_empty() {
        // No SCA policy given: the built-in baseline for Debian/Ubuntu web servers.
        let label = match &args.root {
            Some(root) => root.display().to_string(),
            None => "/".to_owned(),
        };
        let result = PolicyResult {
            policy_id: allclear_audit::BASELINE_ID.to_owned(),
            policy_name: "allclear baseline for Debian/Ubuntu web servers".to_owned(),
            skipped: None,
            notes: Vec::new(),
            checks: allclear_audit::run_baseline(&system),
        };
        summarize(
            &label,
            &result,
            &mut findings,
            &mut errors,
            &mut notes,
            &mut counts,
        );
    }
    for file in &files {
        let label = file.display().to_string();
        let loaded = read_policy(file).and_then(|text| {
            allclear_audit::load_policy(&text, &label).map_err(anyhow::Error::from)
        });
        let sca = match loaded {
            Ok(sca) => sca,
            Err(err) => {
                errors.push(RunError {
                    path: label,
                    line: None,
                    message: format!("{err:#}"),
                });
                continue;
            }
        };
        let result = allclear_audit::evaluate_policy(&sca, &system);
        summarize(
            &label,
            &result,
            &mut findings,
            &mut errors,
            &mut notes,
            &mut counts,
        );
    }

    let mut report = policy.evaluate(findings, output::today());
    for error in errors {
        report.add_error(error);
    }
    report.add_warning(counts.line());
    for note in notes {
        report.add_warning(note);
    }
    if !system.commands_allowed() && counts.commands_not_allowed > 0 {
        report.add_warning(format!(
            "{} checks need commands, which were not allowed: run with --allow-commands (or [audit] allow-commands = true) to run them",
            counts.commands_not_allowed
        ));
    }
    // The human report lists the counts among its warnings; other formats are for programs,
    // and a person running them still sees what was and was not checked.
    if args.format != OutputFormat::Human {
        global.note(counts.line());
    }
    render(global, args, &report)?;
    Ok(report.exit_code() as u8)
}

/// `--fix --dry-run`: the plan, one line per change, on stdout. The exit code is the
/// audit's (1 while checks fail), so a script can tell a clean host from a planned one.
fn plan_fixes(files: &[PathBuf], system: &System) -> anyhow::Result<u8> {
    if !files.is_empty() {
        return Err(hinted(
            "--fix applies to the built-in baseline only",
            "run `allclear host audit --fix --dry-run` without --policy (and without [audit] policies)",
        ));
    }
    let results = allclear_audit::run_baseline(system);
    let plans = allclear_audit::plan_fixes(system, &results);
    let failed = results
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .count();
    let errors = results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Error(_)));
    output::emit_with(None, |out| {
        for plan in &plans {
            writeln!(out, "would {} ({})", plan.change, plan.check)?;
        }
        writeln!(
            out,
            "{} of {failed} failed checks have a safe automatic fix; nothing was changed (--dry-run)",
            plans.len(),
        )
    })?;
    Ok(if errors { 2 } else { u8::from(failed > 0) })
}

/// The allclear.toml policy and its `[audit]` section.
fn load_settings(args: &AuditArgs) -> anyhow::Result<(Policy, AuditSettings)> {
    let path = match &args.config {
        Some(path) => Some(path.clone()),
        None => Some(PathBuf::from(HOST_POLICY)).filter(|p| p.exists()),
    };
    let Some(path) = path else {
        return Ok((Policy::default(), AuditSettings::default()));
    };
    let text = fs_err::read_to_string(&path)?;
    let policy = crate::commands::scan::parse_policy(&text, &path)?;
    let settings = match policy.sections.get("audit") {
        None => AuditSettings::default(),
        Some(value) => value.clone().try_into().map_err(|err: toml::de::Error| {
            hinted(
                format!("{}: [audit]: {}", path.display(), err.message()),
                "[audit] takes allow-commands = true|false and policies = [\"FILE\", …]",
            )
        })?,
    };
    Ok((policy, settings))
}

fn read_policy(path: &Path) -> anyhow::Result<String> {
    let size = fs_err::metadata(path)?.len();
    if size > allclear_audit::MAX_POLICY_BYTES as u64 {
        anyhow::bail!(
            "{} is larger than {} bytes",
            path.display(),
            allclear_audit::MAX_POLICY_BYTES
        );
    }
    Ok(fs_err::read_to_string(path)?)
}

/// How many checks ended how, over every policy.
#[derive(Debug, Default)]
struct Counts {
    passed: usize,
    failed: usize,
    not_applicable: usize,
    not_run: usize,
    errors: usize,
    commands_not_allowed: usize,
}

impl Counts {
    fn line(&self) -> String {
        format!(
            "audit: {} checks: {} passed, {} failed, {} not applicable, {} not run, {} errors",
            self.passed + self.failed + self.not_applicable + self.not_run + self.errors,
            self.passed,
            self.failed,
            self.not_applicable,
            self.not_run,
            self.errors
        )
    }
}

/// Turns one policy's results into findings (failed checks), errors, and notes that group
/// the checks that did not apply or did not run by their reason.
fn summarize(
    label: &str,
    result: &PolicyResult,
    findings: &mut Vec<Finding>,
    errors: &mut Vec<RunError>,
    notes: &mut Vec<String>,
    counts: &mut Counts,
) {
    notes.extend(result.notes.iter().cloned());
    if let Some(reason) = &result.skipped {
        notes.push(format!(
            "{}: policy {} not run: {reason}",
            label, result.policy_id
        ));
    }
    let mut grouped: BTreeMap<(&'static str, String), Vec<&str>> = BTreeMap::new();
    for checked in &result.checks {
        match &checked.outcome {
            Outcome::Passed => counts.passed += 1,
            Outcome::Failed => {
                counts.failed += 1;
                findings.push(finding(label, checked));
            }
            Outcome::Error(reason) => {
                counts.errors += 1;
                errors.push(RunError {
                    path: label.to_owned(),
                    line: None,
                    message: format!(
                        "check {} ({}): {reason}",
                        checked.check.id, checked.check.title
                    ),
                });
            }
            Outcome::NotApplicable(reason) | Outcome::NotRun(reason) => {
                if matches!(checked.outcome, Outcome::NotApplicable(_)) {
                    counts.not_applicable += 1;
                } else {
                    counts.not_run += 1;
                    if reason.starts_with("commands not allowed") {
                        counts.commands_not_allowed += 1;
                    }
                }
                if result.skipped.is_none() {
                    grouped
                        .entry((checked.outcome.label(), generalize(reason)))
                        .or_default()
                        .push(&checked.check.id);
                }
            }
        }
    }
    for ((label_word, reason), ids) in grouped {
        notes.push(format!(
            "{}: {} {} {label_word} ({reason}): {}",
            result.policy_id,
            ids.len(),
            if ids.len() == 1 { "check" } else { "checks" },
            list_ids(&ids)
        ));
    }
}

/// A reason with its specifics (the quoted rule or pattern) left out, so that checks not run
/// for the same kind of reason are listed together. Short quoted words (`[...]`, `?`) say
/// what the reason is and stay.
fn generalize(reason: &str) -> String {
    const KEPT: usize = 5;
    let mut out = String::new();
    for (index, piece) in reason.split('`').enumerate() {
        let quoted = index % 2 == 1;
        if !quoted {
            out.push_str(piece);
        } else if piece.chars().count() <= KEPT {
            out.push('`');
            out.push_str(piece);
            out.push('`');
        } else {
            out.push('…');
        }
    }
    out
}

fn list_ids(ids: &[&str]) -> String {
    const SHOWN: usize = 12;
    let mut text = ids
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(", … ({} more)", ids.len() - SHOWN));
    }
    text
}

/// A failed check as a finding: `audit.<policy>.<check>`, with the policy's words.
fn finding(label: &str, checked: &CheckResult) -> Finding {
    let check = &checked.check;
    let rule = format!("audit.{}.{}", checked.policy, check.id);
    let title = if check.title.is_empty() {
        format!("check {} failed", check.id)
    } else {
        check.title.clone()
    };
    let mut finding = Finding::new(rule, Severity::Medium, title)
        .with_location(Location::new(label))
        .with_key(format!("{}/{}", checked.policy, check.id));
    let description = [check.rationale.as_deref(), check.description.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n\n");
    if !description.is_empty() {
        finding.description = Some(description);
    }
    if let Some(remediation) = &check.remediation {
        finding.fix = Some(Fix {
            advice: Some(remediation.clone()),
            ..Fix::default()
        });
    }
    if let Some(evidence) = &checked.evidence {
        finding.title = format!("{}: {evidence}", finding.title);
        finding
            .details
            .insert("evidence".into(), evidence.clone().into());
    }
    finding.url = check.references.first().cloned();
    let details = &mut finding.details;
    details.insert("policy".into(), checked.policy.clone().into());
    details.insert("check".into(), check.id.clone().into());
    if !check.compliance.is_empty() {
        let compliance: serde_json::Map<String, serde_json::Value> = check
            .compliance
            .iter()
            .map(|(framework, ids)| (framework.clone(), ids.clone().into()))
            .collect();
        details.insert("compliance".into(), compliance.into());
    }
    finding
}

fn render(global: &GlobalArgs, args: &AuditArgs, report: &Report) -> anyhow::Result<()> {
    let options = allclear_report::RenderOptions {
        color: global.stdout_color(args.output.output.is_some()),
        rules: crate::commands::rules::docs_for(&report.findings),
        ..Default::default()
    };
    let format = crate::commands::render_format(args.format);
    output::emit_with(args.output.output.as_deref(), |out| {
        allclear_report::render(report, format, &options, out)
    })
}
