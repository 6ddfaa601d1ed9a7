//! The code check of `allclear scan` (allclear-sast): its rules (built in plus the policy's
//! `[code] rules` files), and what its outcome adds to the report.

use std::path::{Path, PathBuf};

use allclear_core::{Finding, Policy};
use allclear_sast::{Confidence, Engine, FileScan, Outcome};
use anyhow::Context;

use crate::output;

/// What the report shows unless `--min-confidence` or `[code] min-confidence` says otherwise:
/// weak matches (a dangerous call with no request input traced to it) are counted, not listed,
/// so the check stays quiet enough to keep on in CI.
pub const DEFAULT_MIN_CONFIDENCE: Confidence = Confidence::Medium;

/// Skipped files named one by one in the warnings, per reason; the rest are counted.
const NAMED_SKIPS: usize = 20;

/// `[code]` in allclear.toml.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CodeSection {
    /// YAML rule files in allclear-sast's format, relative to the scanned directory.
    #[serde(default)]
    rules: Vec<PathBuf>,
    /// `weak`, `medium` or `high`.
    min_confidence: Option<String>,
}

fn section(policy: &Policy) -> anyhow::Result<CodeSection> {
    match policy.sections.get("code") {
        None => Ok(CodeSection::default()),
        Some(value) => value
            .clone()
            .try_into()
            .context("invalid [code] section in the policy"),
    }
}

/// The built-in rules plus the policy's own rule files.
pub fn engine(policy: &Policy, root: &Path) -> anyhow::Result<Engine> {
    let mut engine = Engine::builtin().context("the built-in code rules do not load")?;
    for file in section(policy)?.rules {
        let path = root.join(&file);
        let text = fs_err::read_to_string(&path)?;
        engine
            .add_rules(&file.display().to_string(), &text)
            .map_err(|err| {
                let message = match std::error::Error::source(&err) {
                    Some(source) => format!("{err}: {source}"),
                    None => err.to_string(),
                };
                output::hinted(
                    message,
                    "check the rule against the format in docs/decisions/0013-sast-engine.md",
                )
            })?;
    }
    Ok(engine)
}

/// The confidence to report from: the command line, else the policy, else the default.
pub fn min_confidence(policy: &Policy, given: Option<Confidence>) -> anyhow::Result<Confidence> {
    if let Some(given) = given {
        return Ok(given);
    }
    match section(policy)?.min_confidence {
        Some(text) => text
            .parse()
            .map_err(|err: String| anyhow::anyhow!("[code] min-confidence: {err}")),
        None => Ok(DEFAULT_MIN_CONFIDENCE),
    }
}

/// The findings of the files the walk scanned, and warnings that say what was not scanned
/// or not shown.
pub fn finish(
    engine: &Engine,
    scans: Vec<FileScan>,
    min_confidence: Confidence,
    findings: &mut Vec<Finding>,
    warnings: &mut Vec<String>,
) {
    let Outcome {
        findings: found,
        skipped,
        scanned,
        below_confidence,
        drupal,
    } = engine.finish(scans, min_confidence);
    findings.extend(found);
    let mut by_reason: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (path, skip) in skipped {
        let reason = match &skip {
            allclear_sast::Skip::Syntax { .. } => "did not parse".to_owned(),
            other => other.to_string(),
        };
        let entry = match &skip {
            allclear_sast::Skip::Syntax { .. } => format!("{path} ({skip})"),
            _ => path,
        };
        by_reason.entry(reason).or_default().push(entry);
    }
    for (reason, paths) in by_reason {
        let shown: Vec<&str> = paths.iter().take(NAMED_SKIPS).map(String::as_str).collect();
        let more = match paths.len().saturating_sub(NAMED_SKIPS) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        warnings.push(format!(
            "code: {} file(s) not scanned for insecure code ({reason}): {}{more}",
            paths.len(),
            shown.join(", ")
        ));
    }
    if below_confidence > 0 {
        warnings.push(format!(
            "code: {below_confidence} finding(s) below {min_confidence} confidence not shown \
             (a dangerous call with no request input traced to it); --min-confidence weak \
             lists them"
        ));
    }
    if scanned > 0 && drupal.is_none() && findings.iter().any(|f| f.rule.starts_with("code.drupal"))
    {
        warnings.push(
            "code: no Drupal version found (composer.json, composer.lock, .info files): rules for \
             Drupal 7 and for Drupal 8+ both ran"
                .to_owned(),
        );
    }
}
