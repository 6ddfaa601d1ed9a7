//! One module per command. Each takes its arguments from [`crate::cli`] and returns an
//! [`ExitStatus`]; `main` turns errors into status 2 with a `hint:` line.

pub mod audit;
pub mod baseline;
pub mod db;
pub mod digest;
pub mod fim;
pub mod generate;
pub mod hook;
pub mod init;
pub mod logs;
pub mod report_to;
pub mod rules;
pub mod scan;
pub mod serve;

use std::process::ExitCode;

use crate::cli::OutputFormat;

/// How a command ended, as the process exit status every allclear command shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: everything checked, nothing at or above the failing severity.
    Clear,
    /// 1: findings (or bans, or tampering) that fail the run.
    Findings,
    /// 2: the run could not check everything it was asked to (bad input, unreadable files).
    Error,
}

impl ExitStatus {
    /// The status of a findings report: errors first, then whether it failed.
    pub fn of(report: &allclear_core::Report) -> ExitStatus {
        if !report.errors.is_empty() {
            ExitStatus::Error
        } else if report.summary.failed {
            ExitStatus::Findings
        } else {
            ExitStatus::Clear
        }
    }

    /// `Findings` when `found`, else `Clear`.
    pub fn findings_if(found: bool) -> ExitStatus {
        if found {
            ExitStatus::Findings
        } else {
            ExitStatus::Clear
        }
    }

    /// From a numeric status (0, 1, anything else is an error).
    pub fn from_code(code: u8) -> ExitStatus {
        match code {
            0 => ExitStatus::Clear,
            1 => ExitStatus::Findings,
            _ => ExitStatus::Error,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(match status {
            ExitStatus::Clear => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
        })
    }
}

/// The renderer for a `--format` value.
pub fn render_format(format: OutputFormat) -> allclear_report::Format {
    match format {
        OutputFormat::Human => allclear_report::Format::Human,
        OutputFormat::Json => allclear_report::Format::Json,
        OutputFormat::Sarif => allclear_report::Format::Sarif,
        OutputFormat::Markdown => allclear_report::Format::Markdown,
    }
}
