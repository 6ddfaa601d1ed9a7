//! `allclear scan --report-to URL`: sends the JSON report to an allclear server.
//!
//! The token comes from `ALLCLEAR_TOKEN` or `--token-file`, checked before the scan starts so
//! a long scan does not end in "no token". A report that was not accepted is an error (exit
//! 2): a CI job must never pass believing the server knows what it does not.

use std::path::Path;

use anyhow::Context;

use crate::cli::ScanArgs;
use crate::output::hinted;

/// Where and how to send the report.
pub struct Upload {
    url: String,
    token: String,
}

/// The upload the arguments ask for, if any; errors when the token is missing.
pub fn prepare(args: &ScanArgs) -> anyhow::Result<Option<Upload>> {
    let Some(url) = &args.report_to else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(hinted(
            format!("--report-to {url:?} is not an http(s) URL"),
            "use the URL the server's project page shows after creating a token",
        ));
    }
    let token = match &args.token_file {
        Some(file) => fs_err::read_to_string(file)
            .context("could not read the token file")?
            .trim()
            .to_owned(),
        None => std::env::var("ALLCLEAR_TOKEN")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    if token.is_empty() {
        return Err(hinted(
            "--report-to needs an API token, and none was given",
            "set ALLCLEAR_TOKEN or pass --token-file FILE (create a token on the project's page)",
        ));
    }
    let source = source_name(&args.path);
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = if url.contains("source=") {
        url.clone()
    } else {
        format!("{url}{separator}source={source}")
    };
    Ok(Some(Upload { url, token }))
}

/// The name the server files the findings under: the scanned directory's name, limited to
/// the characters the server accepts.
fn source_name(path: &Path) -> String {
    let name = fs_err::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(200)
        .collect();
    if clean.is_empty() {
        "default".to_owned()
    } else {
        clean
    }
}

impl Upload {
    /// Sends the report; returns the server's one-line summary.
    pub fn send(&self, report_json: &[u8]) -> anyhow::Result<String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(120)))
            .build()
            .into();
        let not_sent = || format!("the report was NOT sent to {}", self.url);
        let mut response = agent
            .post(&self.url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .content_type("application/json")
            .send(report_json)
            .with_context(not_sent)?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if !status.is_success() {
            let reason = answer
                .get("error")
                .and_then(|e| e.as_str())
                .map_or_else(|| body.chars().take(200).collect(), str::to_owned);
            return Err(
                anyhow::anyhow!("the server answered {status}: {reason}").context(not_sent())
            );
        }
        let number = |key: &str| answer.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
        Ok(format!(
            "report sent: {} findings ({} new, {} reopened, {} fixed){}",
            number("findings"),
            number("new"),
            number("reopened"),
            number("fixed"),
            if answer.get("partial").and_then(|v| v.as_bool()) == Some(true) {
                "; partial (parts went unchecked), so nothing was marked fixed"
            } else {
                ""
            }
        ))
    }
}
