//! One module per command.

pub mod baseline;
pub mod db;
pub mod digest;
pub mod fim;
pub mod generate;
pub mod hook;
pub mod init;
pub mod logs;
pub mod rules;
pub mod scan;

use crate::cli::OutputFormat;

/// The renderer for a `--format` value.
pub fn render_format(format: OutputFormat) -> allclear_report::Format {
    match format {
        OutputFormat::Human => allclear_report::Format::Human,
        OutputFormat::Json => allclear_report::Format::Json,
        OutputFormat::Sarif => allclear_report::Format::Sarif,
        OutputFormat::Markdown => allclear_report::Format::Markdown,
    }
}
