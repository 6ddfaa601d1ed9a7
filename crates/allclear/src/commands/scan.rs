//! `allclear scan`: one walk of the tree, every capability's findings, the policy, the report.

use std::path::{Path, PathBuf};

use allclear_core::Policy;
use allclear_deps::{AuditInput, DependencyFile};
use anyhow::Context;

use crate::cli::{Cli, ScanArgs};
use crate::commands::db::{db_dir, open_store};
use crate::output;
use crate::walk::{self, WalkOptions};

pub fn run(cli: &Cli, args: &ScanArgs) -> anyhow::Result<u8> {
    let root = &args.path;
    let (mut policy, _policy_path) = load_policy(root, args.config.as_deref())?;
    if let Some(fail_on) = args.fail_on {
        policy.scan.fail_on = fail_on;
    }

    let walked = walk::walk(&WalkOptions {
        root,
        no_ignore: args.no_ignore,
        exclude: &policy.scan.exclude,
    })?;

    let scanned = walked.lockfiles.len() + walked.manifests.len();
    let mut warnings = Vec::new();
    let has_packages = walked
        .lockfiles
        .iter()
        .any(|(_, lock)| !lock.packages.is_empty() || !lock.interpreters.is_empty());
    let store = if has_packages {
        let dir = db_dir(cli)?;
        let store = open_store(&dir)?;
        if let Some(warning) =
            crate::commands::db::staleness_warning(&store, policy.scan.max_db_age_days)
        {
            warnings.push(warning);
        }
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
    let findings = allclear_deps::audit(
        &AuditInput {
            lockfiles: &walked.lockfiles,
            files: &files,
        },
        store.as_ref(),
    )
    .context("could not check packages against the advisory database")?;
    let findings = with_upgrade_commands(findings);
    // The parsed lockfiles and the store are not needed for rendering; free them first so
    // a large monorepo's peak memory is the findings, not the findings plus every package.
    let errors = walked.errors;
    drop(walked.lockfiles);
    drop(store);

    let today = jiff::Zoned::now().date();
    let mut report = policy.evaluate(findings, today);
    for error in errors {
        report.add_error(error);
    }
    for warning in warnings {
        report.add_warning(warning);
    }
    if !cli.quiet {
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
    }

    let format = crate::commands::render_format(args.format);
    let options = allclear_report::RenderOptions {
        color: output::use_color(cli.color) && args.output.is_none(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        width: None,
        scanned: Some(scanned),
    };
    output::emit_with(args.output.as_deref(), |out| {
        allclear_report::render(&report, format, &options, out)
    })?;
    Ok(report.exit_code() as u8)
}

/// Reads the policy: `--config FILE` (must exist), else `ROOT/allclear.toml` if present, else
/// the defaults.
fn load_policy(root: &Path, config: Option<&Path>) -> anyhow::Result<(Policy, Option<PathBuf>)> {
    let path = match config {
        Some(path) => path.to_path_buf(),
        None => {
            let default = root.join("allclear.toml");
            if !default.exists() {
                return Ok((Policy::default(), None));
            }
            default
        }
    };
    let text = fs_err::read_to_string(&path)?;
    let policy = Policy::from_toml(&text, &path.display().to_string())?;
    Ok((policy, Some(path)))
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
