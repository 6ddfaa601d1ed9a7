//! `allclear host logs digest`: the daily digest of a host's logs (the logwatch job), on one
//! screen: what needs attention first, then logins, failures and bans, sudo and su, new
//! listeners, OOM kills and crashes, package changes, disk space and unrecognised lines.
//!
//! Exit code: 0 when nothing needs attention, 1 when something does, 2 on errors.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use allclear_digest::{Digest, DigestOptions, Digester, order_rotated};
use anyhow::Context;
use jiff::{SignedDuration, Timestamp};

use crate::cli::{DigestArgs, GlobalArgs, OutputFormat};
use crate::commands::ExitStatus;
use crate::output::{emit_with, hinted};

/// Debian's logs, read when no `--log` is given (those that exist).
pub const DEFAULT_LOGS: &[&str] = &[
    "/var/log/auth.log",
    "/var/log/syslog",
    "/var/log/kern.log",
    "/var/log/mail.log",
    "/var/log/dpkg.log",
    "/var/log/nginx/access.log",
    "/var/log/nginx/error.log",
    "/var/log/apache2/access.log",
    "/var/log/apache2/error.log",
];

fn parse_since(text: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let seconds = allclear_logs::config::str2seconds(text)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| {
            hinted(
                format!("--since {text:?} is neither a duration nor an RFC 3339 time"),
                "use a duration such as 24h, 7d or 90m, or a time such as 2026-11-22T06:00:00Z",
            )
        })?;
    now.checked_sub(SignedDuration::from_secs_f64(seconds))
        .with_context(|| format!("--since {text:?} reaches before the year -9999"))
}

/// The default logs that exist, with their uncompressed `.1` rotation when it was written
/// within the window. With the journal, syslog files are left out: rsyslog copies the same
/// entries there, and reading both would count everything twice.
fn default_logs(since: Timestamp, journal: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for log in DEFAULT_LOGS {
        let path = Path::new(log);
        if journal && allclear_digest::LogKind::of(path) == allclear_digest::LogKind::Syslog {
            continue;
        }
        if !path.exists() {
            continue;
        }
        let rotated = PathBuf::from(format!("{log}.1"));
        let recent = std::fs::metadata(&rotated)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| Timestamp::try_from(m).ok())
            .is_some_and(|m| m >= since);
        if recent {
            out.push(rotated);
        }
        out.push(path.to_owned());
    }
    out
}

/// Runs `allclear host logs digest`: `Findings` when something needs attention.
pub fn run(global: &GlobalArgs, args: &DigestArgs) -> anyhow::Result<ExitStatus> {
    let now = match &args.now {
        Some(t) => t
            .parse::<Timestamp>()
            .with_context(|| format!("--now {t:?} is not an RFC 3339 time"))?,
        None => Timestamp::now(),
    };
    let since = parse_since(&args.since, now)?;
    if since > now {
        return Err(hinted(
            format!("--since {} is after now ({now})", args.since),
            "give a time in the past, or a duration such as 24h",
        ));
    }
    let tz = jiff::tz::TimeZone::system();
    let logs = if args.logs.is_empty() {
        default_logs(since, args.journal || args.journal_file.is_some())
    } else {
        args.logs.clone()
    };
    if logs.is_empty() && !args.journal && args.journal_file.is_none() {
        return Err(hinted(
            "no logs to read: none of Debian's default logs exist here",
            "name logs with --log FILE…, or read the systemd journal with --journal",
        ));
    }
    let mut digester = Digester::new(DigestOptions {
        since,
        now,
        tz: tz.clone(),
        jails: allclear_logs::builtin::builtin_jails(),
    })
    .context("setting up the built-in detections")?;
    let mut read_any = false;
    let mut denied_only = true;
    for path in order_rotated(logs) {
        match digester.read_path(&path) {
            Ok(()) => read_any = true,
            // Recorded in the digest (attention); the other logs are still read.
            Err(e) => {
                denied_only &= matches!(&e, allclear_digest::DigestError::Read { source, .. }
                    if source.kind() == std::io::ErrorKind::PermissionDenied);
                tracing::warn!("{:#}", anyhow::Error::new(e));
            }
        }
    }
    if let Some(file) = &args.journal_file {
        if file == Path::new("-") {
            digester
                .read_journal("<stdin>", std::io::stdin().lock())
                .context("reading journal entries from standard input")?;
        } else {
            let f = fs_err::File::open(file)?;
            digester
                .read_journal(&file.display().to_string(), BufReader::new(f))
                .with_context(|| format!("reading {}", file.display()))?;
        }
        read_any = true;
    }
    if args.journal {
        read_journalctl(&mut digester, since)?;
        read_any = true;
    }
    if !read_any {
        return Err(hinted(
            "none of the logs could be read",
            if denied_only {
                "run as root (or a member of the adm group), or name readable logs with --log"
            } else {
                "the warnings above say what is wrong with each log"
            },
        ));
    }
    if !args.no_disk {
        match allclear_digest::disk::check_filesystems(
            Path::new("/proc/self/mounts"),
            args.disk_threshold,
        ) {
            Ok(fs) => digester.set_filesystems(fs),
            Err(e) => tracing::warn!("{:#}", anyhow::Error::new(e)),
        }
    }
    let digest = digester.finish();
    let output = args.output.output.as_deref();
    let color = global.stdout_color(output.is_some());
    emit_with(output, |out| write(out, &digest, args.format, &tz, color))?;
    Ok(ExitStatus::findings_if(!digest.attention.is_empty()))
}

fn write(
    out: &mut dyn Write,
    digest: &Digest,
    format: OutputFormat,
    tz: &jiff::tz::TimeZone,
    color: bool,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Markdown => {
            out.write_all(allclear_digest::render::markdown(digest, tz).as_bytes())
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, digest).map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        }
        _ => out.write_all(allclear_digest::render::human(digest, tz, color).as_bytes()),
    }
}

/// Streams `journalctl -o json` (no shell; arguments only) into the digest.
fn read_journalctl(digester: &mut Digester, since: Timestamp) -> anyhow::Result<()> {
    let mut child = Command::new("journalctl")
        .args(["--output=json", "--no-pager", "--quiet"])
        .arg(format!("--since=@{}", since.as_second()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            hinted(
                format!("could not run journalctl: {e}"),
                "install systemd's journalctl, or leave out --journal",
            )
        })?;
    let stdout = child
        .stdout
        .take()
        .context("journalctl's output was not captured")?;
    let read = digester.read_journal("journal", BufReader::with_capacity(1 << 16, stdout));
    let output = child.wait_with_output().context("waiting for journalctl")?;
    read.context("reading journalctl's output")?;
    if !output.status.success() {
        return Err(hinted(
            format!(
                "journalctl failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            "run as root or a member of the systemd-journal group, or leave out --journal",
        ));
    }
    Ok(())
}
