//! Command-line arguments.

use std::path::PathBuf;

use allclear_core::{Ecosystem, Severity};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// allclear: make a security policy real. One binary, one policy file (allclear.toml),
/// one report that says check by check whether every promise holds.
#[derive(Debug, Parser)]
#[command(
    name = "allclear",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Advisory database directory [default: the user cache dir, e.g. ~/.cache/allclear/advisories]
    #[arg(long, global = true, env = "ALLCLEAR_DB", value_name = "DIR")]
    pub db: Option<PathBuf>,

    /// Only errors on stderr (no progress, no warnings)
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// When to colour output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    Sarif,
    #[value(alias = "md")]
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a repository (or a home directory): vulnerable and unsupported dependencies, secrets,
    /// restricted files and personal data
    Scan(ScanArgs),
    /// Manage the local advisory database
    #[command(subcommand)]
    Db(DbCommand),
    /// Write a commented allclear.toml policy file
    Init(InitArgs),
    /// Record the current findings as accepted (allclear-baseline.json), so that only new
    /// findings fail the next scans
    Baseline(BaselineArgs),
    /// Git hooks: scan what is staged before every commit
    #[command(subcommand)]
    Hook(HookCommand),
    /// Every rule allclear reports: list them, explain one, check the secret rules
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Checks that run on a server: file integrity and log analysis
    #[command(subcommand)]
    Host(HostCommand),
    /// Man pages and shell completions, for packages
    #[command(subcommand, hide = true)]
    Generate(crate::commands::generate::GenerateCommand),
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check every secret rule against its own positive and negative examples (exit 1 if
    /// any rule misses a positive or fires on a negative)
    Check,
    /// List every rule: id, severity, title
    List(crate::commands::rules::ListArgs),
    /// What a rule finds, why it matters, an example and how to fix it
    Explain(crate::commands::rules::ExplainArgs),
    /// Write the rule reference (docs/rules/) from the rules' documentation in the code
    #[command(hide = true)]
    Docs(crate::commands::rules::DocsArgs),
}

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// File integrity monitoring: record a baseline, check the tree against it (the AIDE job)
    Fim(crate::commands::fim::FimArgs),
    /// Log analysis with fail2ban's own filters: what would be banned, and why
    Logs(crate::commands::logs::LogsArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The directory to scan
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Output format
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,

    /// The policy file [default: PATH/allclear.toml when it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Fail (exit 1) on findings at or above this severity; overrides the policy's `fail-on`
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Write the report to FILE instead of stdout (a regular file is replaced atomically; a
    /// FIFO, a device or a symlink's target is written through)
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also scan untracked files that .gitignore and friends exclude (files git tracks are
    /// always scanned)
    #[arg(long)]
    pub no_ignore: bool,

    /// Run only these checks (a home directory full of other projects' lockfiles may want only
    /// `secrets`)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CHECK")]
    pub only: Vec<Check>,

    /// Scan only what is staged in git, for a pre-commit hook: secrets, restricted files and
    /// personal data in the staged files (see `allclear hook install`)
    #[arg(long, conflicts_with = "history")]
    pub staged: bool,

    /// Also scan every file version in the git history for secrets, each reported with the
    /// commits and paths that introduced it
    #[arg(long)]
    pub history: bool,

    /// Accepted findings: those in it are listed as ignored and do not fail the run
    /// [default: PATH/allclear-baseline.json when it exists; see `allclear baseline`]
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// What `allclear scan` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Check {
    /// Vulnerable and unsupported dependencies, and the dependency policy rules
    Deps,
    /// Secrets, restricted files and personal data
    Secrets,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The directory to scan
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// The policy file [default: PATH/allclear.toml when it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Where to write the baseline [default: PATH/allclear-baseline.json]
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also accept what the git history holds (as `scan --history` reports it)
    #[arg(long)]
    pub history: bool,

    /// Also scan untracked files that .gitignore and friends exclude (files git tracks are
    /// always scanned)
    #[arg(long)]
    pub no_ignore: bool,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write the repository's pre-commit hook: `allclear scan --staged` before every commit
    Install(HookArgs),
    /// Remove the pre-commit hook, if allclear wrote it
    Uninstall(HookArgs),
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// A directory inside the repository
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Replace a pre-commit hook that allclear did not write (it is kept as
    /// pre-commit.allclear-backup)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Build the database from advisory sources on disk (OSV JSON/YAML folders or zips,
    /// RubySec, FriendsOfPHP or RustSec checkouts); the format is detected
    Import(ImportArgs),
    /// Download OSV's per-ecosystem advisory zips and import them
    Update(UpdateArgs),
    /// Show the database's sources, record counts per ecosystem and age
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Advisory sources: directories or zip files
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Ecosystems to download (RubyGems, Packagist, npm, crates.io, PyPI, Go)
    /// [default: those whose lockfiles are found under --path]
    #[arg(long, short, value_name = "ECOSYSTEM", value_delimiter = ',', value_parser = parse_ecosystem)]
    pub ecosystem: Vec<Ecosystem>,

    /// Repository to look in for lockfiles when no --ecosystem is given
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub path: PathBuf,

    /// Where to download from: {URL}/{ECOSYSTEM}/all.zip
    #[arg(
        long,
        env = "ALLCLEAR_OSV_URL",
        default_value = "https://osv-vulnerabilities.storage.googleapis.com",
        value_name = "URL"
    )]
    pub base_url: String,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format (human or json)
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the policy
    #[arg(default_value = "allclear.toml")]
    pub path: PathBuf,

    /// Overwrite an existing file
    #[arg(long)]
    pub force: bool,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|e: allclear_core::UnknownSeverity| e.to_string())
}

fn parse_ecosystem(text: &str) -> Result<Ecosystem, String> {
    text.parse().map_err(|e: allclear_core::UnknownEcosystem| {
        format!("{e} (known: RubyGems, Packagist, npm, crates.io, PyPI, Go)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
