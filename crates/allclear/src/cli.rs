//! The command line: every clap definition of the binary, and nothing else.
//!
//! One shape for every command:
//!
//! - `--quiet` and `--color` are global ([`GlobalArgs`]) and every command honours them.
//! - A command that writes a report takes `-f/--format` (one [`OutputFormat`] type, each
//!   command accepting the formats it can write) and `-o/--output` ([`OutputArgs`]).
//! - An option appears only on the commands that read it: `--db` on `scan`, `baseline` and
//!   `db`; fim's `--baseline` on the fim commands that use a baseline.
//!
//! The commands themselves live in `commands/`, one module each; they receive these structs
//! and return an [`ExitStatus`](crate::commands::ExitStatus).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use allclear_core::{Ecosystem, Severity};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// allclear: make a security policy real. One binary, one policy file (allclear.toml),
/// one report that says check by check whether every promise holds.
///
/// Exit status: 0 all clear, 1 findings, 2 error.
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

    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command honours.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Only errors on stderr (no progress, no notes, no warnings)
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// When to colour output (`auto`: on a terminal, unless NO_COLOR is set)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// What a report is written as. Each command accepts the formats it can write (see
/// [`formats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For a person at a terminal
    Human,
    /// Machine-readable; each command's schema is in docs/json-schema.md
    Json,
    /// SARIF 2.1.0, for GitHub code scanning
    Sarif,
    /// GitHub-flavoured Markdown, for a pull-request comment or a ticket
    #[value(alias = "md")]
    Markdown,
}

/// The formats of a findings report (`scan`).
const REPORT_FORMATS: &[OutputFormat] = &[
    OutputFormat::Human,
    OutputFormat::Json,
    OutputFormat::Sarif,
    OutputFormat::Markdown,
];
/// The formats of a report without SARIF (fim's reports, the digest).
const DOCUMENT_FORMATS: &[OutputFormat] = &[
    OutputFormat::Human,
    OutputFormat::Json,
    OutputFormat::Markdown,
];
/// Human or JSON only.
const DATA_FORMATS: &[OutputFormat] = &[OutputFormat::Human, OutputFormat::Json];

/// A `--format` parser that accepts only `allowed` (and lists only those in `--help`).
fn formats(allowed: &'static [OutputFormat]) -> impl TypedValueParser<Value = OutputFormat> {
    PossibleValuesParser::new(allowed.iter().filter_map(ValueEnum::to_possible_value))
        .try_map(|name| OutputFormat::from_str(&name, true))
}

/// `-o/--output`, on every command that writes a report.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Write the report to FILE instead of stdout (a regular file is replaced atomically; a
    /// FIFO, a device or a symlink's target is written through)
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `--db`, on the commands that read the advisory database.
#[derive(Debug, Clone, Args)]
pub struct DbDirArgs {
    /// Advisory database directory [default: the user cache dir, e.g. ~/.cache/allclear/advisories]
    #[arg(long, global = true, env = "ALLCLEAR_DB", value_name = "DIR")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a repository (or a home directory): vulnerable and unsupported dependencies, secrets,
    /// restricted files and personal data, insecure code in Rails and Drupal applications
    Scan(ScanArgs),
    /// Manage the local advisory database
    Db(DbArgs),
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
    /// Shell completions and man pages, for packages
    #[command(subcommand, hide = true)]
    Generate(GenerateCommand),
    /// The team's server: accounts with a second factor, projects and roles, findings that
    /// scans report with --report-to, an audit log
    Serve(ServeArgs),
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check every secret rule against its own positive and negative examples (exit 1 if
    /// any rule misses a positive or fires on a negative)
    Check,
    /// List every rule: id, severity, title
    List(ListArgs),
    /// What a rule finds, why it matters, an example and how to fix it
    Explain(ExplainArgs),
    /// Write the rule reference (docs/rules/) from the rules' documentation in the code
    #[command(hide = true)]
    Docs(DocsArgs),
}

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// File integrity monitoring: record a baseline, check the tree against it (the AIDE job)
    #[command(subcommand)]
    Fim(FimCommand),
    /// Log analysis with fail2ban's own filters: what would be banned, and why
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Configuration assessment with Wazuh SCA policies (the OpenSCAP/Lynis job)
    Audit(AuditArgs),
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Print the completion script for SHELL to stdout
    Completions {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write one man page per command and subcommand (allclear.1, allclear-scan.1, …) into DIR
    Man {
        /// The directory to write the pages into (created if missing)
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The directory to scan
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Output format
    #[arg(long, short, value_parser = formats(REPORT_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub db: DbDirArgs,

    /// The policy file [default: PATH/allclear.toml when it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Fail (exit 1) on findings at or above this severity; overrides the policy's `fail-on`
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

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

    /// Also send the JSON report to an allclear server (the URL its project page shows), with
    /// the token in ALLCLEAR_TOKEN or --token-file; a report not accepted exits 2
    #[arg(long, value_name = "URL")]
    pub report_to: Option<String>,

    /// File holding the API token for --report-to (instead of ALLCLEAR_TOKEN)
    #[arg(long, value_name = "FILE", requires = "report_to")]
    pub token_file: Option<PathBuf>,
    /// Report insecure code from this confidence up: high (request input flows straight into
    /// the call), medium (through a variable), weak (the dangerous call, no input traced)
    /// [default: the policy's `[code] min-confidence`, else medium]
    #[arg(long, value_name = "LEVEL", value_parser = parse_confidence)]
    pub min_confidence: Option<allclear_sast::Confidence>,
}

/// What `allclear scan` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Check {
    /// Vulnerable and unsupported dependencies, and the dependency policy rules
    Deps,
    /// Secrets, restricted files and personal data
    Secrets,
    /// Insecure code in Rails and Drupal applications (SQL injection, XSS, …)
    Code,
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

    #[command(flatten)]
    pub db: DbDirArgs,

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

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,

    #[command(flatten)]
    pub db: DbDirArgs,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Build the database from advisory sources on disk (OSV JSON/YAML folders or zips,
    /// RubySec, FriendsOfPHP or RustSec checkouts); the format is detected
    Import(ImportArgs),
    /// Download OSV's per-ecosystem advisory zips and import them
    Update(UpdateArgs),
    /// Show the database's sources, record counts per ecosystem and age
    Status(DbStatusArgs),
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
pub struct DbStatusArgs {
    /// Output format
    #[arg(long, short, value_parser = formats(DATA_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub output: OutputArgs,
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

// ---------------------------------------------------------------------------------------------
// allclear host fim

/// Where the fim baseline lives on a host.
pub const DEFAULT_FIM_BASELINE: &str = "/var/lib/allclear/fim.baseline";

#[derive(Debug, Subcommand)]
pub enum FimCommand {
    /// Record a baseline of the watched files
    Init(FimInitArgs),
    /// Compare the files with the baseline; exit 1 when something unexpected changed
    Check(FimCheckArgs),
    /// Accept the current state into the baseline: everything, or only PATHs and what is under them
    Update(FimUpdateArgs),
    /// Report changes as they happen (inotify), with periodic full checks; runs until stopped.
    /// Prints one line per new difference from the baseline (one JSON object per line with
    /// --format json); each difference is reported once, again only if it changes further
    Watch(FimWatchArgs),
    /// Check installed package files against dpkg's records, with no baseline (like debsums)
    VerifyPackages(FimVerifyArgs),
}

/// Where fim's rules come from.
#[derive(Debug, Clone, Args)]
pub struct FimRulesArgs {
    /// The policy file whose `[fim]` section has the rules [default: /etc/allclear/allclear.toml
    /// when it exists, else the built-in rules for a Debian/Ubuntu web server]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Take the rules from an AIDE configuration (aide.conf) instead of `[fim]`
    #[arg(long, value_name = "FILE")]
    pub aide_config: Option<PathBuf>,
}

/// The baseline file of the fim commands that use one.
#[derive(Debug, Clone, Args)]
pub struct FimBaselineArgs {
    /// The baseline file
    #[arg(long, value_name = "FILE", default_value = DEFAULT_FIM_BASELINE)]
    pub baseline: PathBuf,
}

#[derive(Debug, Args)]
pub struct FimInitArgs {
    #[command(flatten)]
    pub rules: FimRulesArgs,

    #[command(flatten)]
    pub baseline: FimBaselineArgs,

    /// Replace an existing baseline (it is never replaced otherwise)
    #[arg(long)]
    pub force: bool,

    /// Output format
    #[arg(long, short, value_parser = formats(DATA_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct FimCheckArgs {
    #[command(flatten)]
    pub rules: FimRulesArgs,

    #[command(flatten)]
    pub baseline: FimBaselineArgs,

    /// Re-hash every file instead of trusting unchanged size, times and inode (slower)
    #[arg(long)]
    pub full: bool,

    /// Output format
    #[arg(long, short, value_parser = formats(DOCUMENT_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct FimUpdateArgs {
    /// Paths to accept (absolute)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub check: FimCheckArgs,
}

#[derive(Debug, Args)]
pub struct FimWatchArgs {
    #[command(flatten)]
    pub rules: FimRulesArgs,

    #[command(flatten)]
    pub baseline: FimBaselineArgs,

    /// Seconds between full checks, which catch what events miss (0: only at start and
    /// after the kernel reports lost events)
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub full_check_every: u64,

    /// Milliseconds without events that end a burst (a package upgrade is one report)
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub debounce_ms: u64,

    /// Output format: one line, or one JSON object, per difference
    #[arg(long, short, value_parser = formats(DATA_FORMATS), default_value = "human")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct FimVerifyArgs {
    /// Only these packages
    #[arg(value_name = "PACKAGE")]
    pub packages: Vec<String>,

    /// The policy file (its ignores and rule settings apply) [default:
    /// /etc/allclear/allclear.toml when it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// dpkg's database directory
    #[arg(long, value_name = "DIR", default_value = "/var/lib/dpkg")]
    pub dpkg_dir: PathBuf,

    /// The root the package paths are relative to
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Output format
    #[arg(long, short, value_parser = formats(DOCUMENT_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub output: OutputArgs,
}

// ---------------------------------------------------------------------------------------------
// allclear host logs

/// Debian's fail2ban configuration directory.
pub const DEFAULT_FAIL2BAN: &str = "/etc/fail2ban";

/// Where `host logs run` keeps bans and read positions.
const DEFAULT_LOGS_STATE: &str = "/var/lib/allclear/logs";

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Run a fail2ban filter over log files and print what would be banned and why
    Scan(LogsScanArgs),
    /// Daily digest: logins, failures and bans, sudo, new services, OOM, packages, disk, unrecognised lines
    Digest(DigestArgs),
    /// Run the enabled jails of a fail2ban configuration: follow their logs and ban
    Run(LogsRunArgs),
    /// List current bans and why, with the time left (exit 1 when there are bans)
    Status(LogsStatusArgs),
    /// Ban an address by hand
    Ban(LogsBanArgs),
    /// Lift a ban by hand
    Unban(LogsUnbanArgs),
}

/// Where the fail2ban configuration and our state are.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// The fail2ban configuration directory (jail.conf, jail.local, jail.d/, filter.d/); when
    /// the default is absent, allclear's built-in detections run instead
    #[arg(long, value_name = "DIR", default_value = DEFAULT_FAIL2BAN)]
    pub config: PathBuf,

    /// Run allclear's built-in detections (sshd, web probes and 4xx bursts, Postfix/Dovecot,
    /// Drupal, Rails/Devise…) on the Debian log files that exist, not a fail2ban configuration
    #[arg(long)]
    pub builtin: bool,

    /// With the built-in detections: look their log files up under this directory (a
    /// container's or chroot's root)
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub log_root: PathBuf,

    /// Where bans and read positions are kept
    #[arg(long, value_name = "DIR", default_value = DEFAULT_LOGS_STATE)]
    pub state: PathBuf,

    /// Ban with this for every jail [default: each jail's own action, mapped from fail2ban's
    /// nftables-*/iptables-* names; anything else only logs]
    #[arg(long, value_enum)]
    pub action: Option<ActionArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActionArg {
    Nftables,
    Iptables,
    Log,
}

#[derive(Debug, Args)]
pub struct LogsRunArgs {
    #[command(flatten)]
    pub service: ServiceArgs,

    /// Read every log to its end, apply the bans and exit (for cron and tests)
    #[arg(long)]
    pub once: bool,

    /// Seconds between reads of the logs
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub interval: f64,
}

#[derive(Debug, Args)]
pub struct LogsStatusArgs {
    /// Where bans are kept
    #[arg(long, value_name = "DIR", default_value = DEFAULT_LOGS_STATE)]
    pub state: PathBuf,

    /// Only this jail
    #[arg(long, value_name = "NAME")]
    pub jail: Option<String>,

    /// Output format
    #[arg(long, short, value_parser = formats(DATA_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct LogsBanArgs {
    /// The address to ban
    pub ip: IpAddr,

    /// The jail to ban it in
    #[arg(long, value_name = "NAME")]
    pub jail: String,

    /// For how long (600, 10m, 1h, -1 forever) [default: the jail's ban time]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub time: Option<f64>,

    #[command(flatten)]
    pub service: ServiceArgs,
}

#[derive(Debug, Args)]
pub struct LogsUnbanArgs {
    /// The address to unban
    pub ip: IpAddr,

    /// Only in this jail [default: every jail]
    #[arg(long, value_name = "NAME")]
    pub jail: Option<String>,

    #[command(flatten)]
    pub service: ServiceArgs,
}

#[derive(Debug, Args)]
pub struct LogsScanArgs {
    /// Log files to read ("-" for standard input), in order (oldest first)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The filter, with optional arguments: `sshd` or `sshd[mode=aggressive]`
    /// [default: the jail's filter]
    #[arg(long, value_name = "NAME[ARGS]")]
    pub filter: Option<String>,

    /// Take the filter and the rules (maxretry, findtime, bantime, ignoreip) from this jail of
    /// the configuration directory [default: the jail named like the filter, if any]
    #[arg(long, value_name = "NAME")]
    pub jail: Option<String>,

    /// The fail2ban configuration directory (with filter.d/ and jail.conf)
    #[arg(long, value_name = "DIR", default_value = DEFAULT_FAIL2BAN)]
    pub config_dir: PathBuf,

    /// Ban after this many failures [default: the jail's, or 5]
    #[arg(long, value_name = "N")]
    pub maxretry: Option<u32>,

    /// ...within this time (600, 10m, 1h) [default: the jail's, or 10m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub findtime: Option<f64>,

    /// Ban for this long (-1: forever) [default: the jail's, or 10m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub bantime: Option<f64>,

    /// List every matched line, not only the bans
    #[arg(long)]
    pub all_matches: bool,

    /// Output format
    #[arg(long, short, value_parser = formats(DATA_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// Start of the window: a duration back from now (24h, 7d, 90m) or an RFC 3339 time
    /// (2026-11-22T06:00:00Z)
    #[arg(long, value_name = "DURATION|TIME", default_value = "24h")]
    pub since: String,

    /// Log files to read, plain or gzip-compressed; the kind comes from the name (dpkg.log,
    /// *access*.log, *error*.log, production.log, else syslog) [default: those of
    /// /var/log/{auth.log,syslog,kern.log,mail.log,dpkg.log}, nginx/ and apache2/
    /// access.log and error.log that exist, with their .1 rotation]
    #[arg(long = "log", value_name = "FILE", num_args = 1..)]
    pub logs: Vec<PathBuf>,

    /// Also read the systemd journal (`journalctl -o json --since …`)
    #[arg(long)]
    pub journal: bool,

    /// Read `journalctl -o json` output from this file ("-" for standard input) instead of
    /// running journalctl
    #[arg(long, value_name = "FILE")]
    pub journal_file: Option<PathBuf>,

    /// Output format
    #[arg(long, short, value_parser = formats(DOCUMENT_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Do not check free space on mounted filesystems
    #[arg(long)]
    pub no_disk: bool,

    /// A filesystem this full (space or inodes, in percent) is low on space
    #[arg(long, value_name = "PERCENT", default_value_t = 90.0)]
    pub disk_threshold: f64,

    /// "Now" (RFC 3339), for reproducible tests
    #[arg(long, hide = true)]
    pub now: Option<String>,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|e: allclear_core::UnknownSeverity| e.to_string())
}

fn parse_confidence(text: &str) -> Result<allclear_sast::Confidence, String> {
    text.parse()
}

fn parse_ecosystem(text: &str) -> Result<Ecosystem, String> {
    text.parse().map_err(|e: allclear_core::UnknownEcosystem| {
        format!("{e} (known: RubyGems, Packagist, npm, crates.io, PyPI, Go)")
    })
}

fn parse_duration(text: &str) -> Result<f64, String> {
    allclear_logs::config::str2seconds(text)
        .ok_or_else(|| format!("not a duration: {text:?} (examples: 600, 10m, 1h, 2d, -1)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn each_command_accepts_only_its_formats() {
        assert!(Cli::try_parse_from(["allclear", "scan", "--format", "sarif"]).is_ok());
        assert!(Cli::try_parse_from(["allclear", "scan", "-f", "md"]).is_ok());
        assert!(
            Cli::try_parse_from(["allclear", "host", "fim", "check", "--format", "sarif"]).is_err()
        );
        assert!(Cli::try_parse_from(["allclear", "db", "status", "--format", "markdown"]).is_err());
        let cli =
            Cli::try_parse_from(["allclear", "host", "logs", "digest", "--format", "md"]).unwrap();
        let Command::Host(HostCommand::Logs(LogsCommand::Digest(args))) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(args.format, OutputFormat::Markdown);
    }

    #[test]
    fn fim_options_follow_their_subcommand() {
        let cli = Cli::try_parse_from([
            "allclear",
            "host",
            "fim",
            "check",
            "--full",
            "--baseline",
            "/tmp/b",
            "-f",
            "json",
        ])
        .unwrap();
        let Command::Host(HostCommand::Fim(FimCommand::Check(args))) = cli.command else {
            panic!("parsed as another command");
        };
        assert!(args.full);
        assert_eq!(args.baseline.baseline, PathBuf::from("/tmp/b"));
        let cli = Cli::try_parse_from([
            "allclear",
            "host",
            "fim",
            "update",
            "/etc/ssh",
            "/etc/passwd",
        ])
        .unwrap();
        let Command::Host(HostCommand::Fim(FimCommand::Update(args))) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(args.paths.len(), 2);
        assert_eq!(
            args.check.baseline.baseline,
            PathBuf::from(DEFAULT_FIM_BASELINE)
        );
        // verify-packages uses no baseline, so it has no --baseline.
        assert!(
            Cli::try_parse_from([
                "allclear",
                "host",
                "fim",
                "verify-packages",
                "--baseline",
                "b"
            ])
            .is_err()
        );
    }

    #[test]
    fn db_is_an_option_only_where_the_database_is_read() {
        assert!(Cli::try_parse_from(["allclear", "scan", "--db", "/tmp/db"]).is_ok());
        assert!(Cli::try_parse_from(["allclear", "db", "import", "--db", "/tmp/db", "x"]).is_ok());
        assert!(Cli::try_parse_from(["allclear", "db", "--db", "/tmp/db", "status"]).is_ok());
        assert!(
            Cli::try_parse_from(["allclear", "host", "fim", "check", "--db", "/tmp/db"]).is_err()
        );
        assert!(
            Cli::try_parse_from(["allclear", "host", "logs", "digest", "--db", "/tmp/db"]).is_err()
        );
    }
}

/// Configuration assessment: does this host (or a tree under --root) keep its hardening
/// promises? Failed checks are findings; the report counts what passed, failed, did not
/// apply and did not run, with the reasons
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Wazuh SCA policy files (YAML) to run instead of the built-in baseline; also
    /// `[audit] policies` in allclear.toml
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,

    /// Audit the tree mounted at DIR (an image, a container's filesystem, a debootstrap
    /// tree) instead of the running host; checks that need the running host (processes,
    /// commands, /proc) are reported as not applicable
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Let command rules (`c:`) run, without a shell, with a timeout and an output limit
    /// (also `[audit] allow-commands = true`); a policy cannot allow them itself
    #[arg(long)]
    pub allow_commands: bool,

    /// Output format
    #[arg(long, short, value_parser = formats(REPORT_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub output: OutputArgs,

    /// The policy file [default: /etc/allclear/allclear.toml when it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Plan the safe automatic fixes of the built-in baseline's failed checks (file modes,
    /// sysctl and sshd drop-in files); needs --dry-run: applying them is not implemented yet
    #[arg(long, requires = "dry_run")]
    pub fix: bool,

    /// With --fix: print what would change, change nothing
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub command: Option<ServeCommand>,

    /// Where the server keeps its database [default: the user data dir, e.g.
    /// ~/.local/share/allclear]
    #[arg(long, global = true, env = "ALLCLEAR_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Address and port to listen on
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// The address users reach the server at, for the links it prints
    /// [default: http:// and the listening address]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// Behind a reverse proxy that terminates TLS: Secure cookies, HSTS, and the client
    /// address taken from the last X-Forwarded-For entry
    #[arg(long)]
    pub behind_proxy: bool,
}

#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// The server's audit log
    #[command(subcommand)]
    Audit(ServeAuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum ServeAuditCommand {
    /// Check the audit log's hash chain: exit 0 when intact, 1 when an entry was edited or
    /// deleted
    Verify,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the rules of this capability (the id's family: deps, secrets, restricted,
    /// personal, fim, logs, policy)
    #[arg(long, value_name = "CAPABILITY")]
    pub capability: Option<String>,

    /// Output format
    #[arg(long, short, value_parser = formats(&[OutputFormat::Human, OutputFormat::Json]), default_value = "human")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rule id, as findings carry it (`secrets.github-token`); a SARIF rule id
    /// (`deps.vulnerable/GHSA-…`) names its rule too
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// The directory to write the reference to (docs/rules in this repository)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}
