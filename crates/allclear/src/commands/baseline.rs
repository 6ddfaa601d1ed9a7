//! `allclear baseline`: accept today's findings so that only new ones fail CI.

use std::path::Path;

use allclear_core::{Baseline, Report};

use crate::cli::{BaselineArgs, GlobalArgs};
use crate::commands::ExitStatus;
use crate::commands::scan::{self, BASELINE_FILE, Sources};
use crate::output;

pub fn run(global: &GlobalArgs, args: &BaselineArgs) -> anyhow::Result<ExitStatus> {
    let root = &args.path;
    let (policy, _) = scan::load_policy(root, args.config.as_deref())?;
    let progress = scan::scan_progress(global);
    let collected = scan::collect(
        &args.db,
        &policy,
        &Sources {
            root,
            no_ignore: args.no_ignore,
            staged: false,
            history: args.history,
            deps: true,
            secrets: true,
            code: true,
            min_confidence: None,
            progress: progress.clone(),
        },
    );
    progress.finish_and_clear();
    let collected = collected?;
    // What the policy already hides (ignores, rules turned off) needs no baseline entry: the
    // baseline is for what would otherwise fail.
    let today = crate::output::today();
    let report = policy.evaluate(collected.findings, today);
    if !collected.errors.is_empty() {
        for error in &collected.errors {
            match error.line {
                Some(line) => eprintln!("error: {}:{line}: {}", error.path, error.message),
                None => eprintln!("error: {}: {}", error.path, error.message),
            }
        }
        return Err(output::hinted(
            format!(
                "{} input(s) could not be read; the baseline would miss what they hold",
                collected.errors.len()
            ),
            "fix the inputs named above (or exclude them in allclear.toml), then record the baseline",
        ));
    }
    let created = jiff::Timestamp::now().to_string();
    let baseline = Baseline::from_findings(&report.findings, Some(created));
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| root.join(BASELINE_FILE));
    output::write_atomically(&path, baseline.to_json().as_bytes())?;
    global.note(recorded_message(&report, &baseline, &path));
    Ok(ExitStatus::Clear)
}

/// What was recorded, counted as the next scan counts: findings, not fingerprints. The same
/// value at several lines of a file is one fingerprint (fingerprints ignore line numbers)
/// but as many findings, and the scan lists each of them as ignored.
fn recorded_message(report: &Report, baseline: &Baseline, path: &Path) -> String {
    let findings = report.findings.len();
    let mut out = format!(
        "recorded {findings} finding{} in {}",
        if findings == 1 { "" } else { "s" },
        path.display()
    );
    if baseline.len() != findings {
        out.push_str(&format!(
            " ({} fingerprints: a value found at several lines of a file is one)",
            baseline.len()
        ));
    }
    if !report.ignored.is_empty() {
        out.push_str(&format!(
            "; the policy's ignores hide {} more, so the next scan lists {} as ignored",
            report.ignored.len(),
            findings + report.ignored.len()
        ));
    }
    out.push_str("; commit it, and `allclear scan` fails only on new ones");
    out
}
