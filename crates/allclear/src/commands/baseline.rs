//! `allclear baseline`: accept today's findings so that only new ones fail CI.

use allclear_core::Baseline;

use crate::cli::{BaselineArgs, Cli};
use crate::commands::scan::{self, BASELINE_FILE, Sources};
use crate::output;

pub fn run(cli: &Cli, args: &BaselineArgs) -> anyhow::Result<u8> {
    let root = &args.path;
    let (policy, _) = scan::load_policy(root, args.config.as_deref())?;
    let collected = scan::collect(
        cli,
        &policy,
        &Sources {
            root,
            no_ignore: args.no_ignore,
            staged: false,
            history: args.history,
            deps: true,
            secrets: true,
        },
    )?;
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
        anyhow::bail!(
            "{} input(s) could not be read; fix them before recording a baseline, or the \
             baseline would miss what they hold",
            collected.errors.len()
        );
    }
    let created = jiff::Timestamp::now().to_string();
    let baseline = Baseline::from_findings(&report.findings, Some(created));
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| root.join(BASELINE_FILE));
    output::write_atomically(&path, baseline.to_json().as_bytes())?;
    if !cli.quiet {
        eprintln!(
            "recorded {} finding{} in {}; commit it, and `allclear scan` fails only on new ones",
            baseline.len(),
            if baseline.len() == 1 { "" } else { "s" },
            path.display()
        );
    }
    Ok(0)
}
