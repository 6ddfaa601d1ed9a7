//! `digest`: reads logs over a time window and sums them up in bounded memory.
//!
//! Every line is dated by fail2ban's date detector (the same one the built-in detections use),
//! kept when it falls in `[since, now]`, offered to the built-in detections of its kind of log
//! and classified. Lines dated more than five minutes after `now` are not trusted: counted and
//! sampled, never summed. Each total is exact; lists (users, sources, samples) are capped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use allclear_logs::builtin::{BuiltinJail, SourceKind, Target};
use allclear_logs::date::{Clock, DateDetector};
use allclear_logs::scan::{ScanOptions, Scanner};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::classify::{self, Event, LoginMethod};

/// Longest line kept (bytes); the rest of a longer line is skipped without being stored.
pub const MAX_LINE: usize = 64 * 1024;
/// Lines dated this many seconds after "now" are from the future.
pub const FUTURE_SLACK: i64 = 300;
/// Samples kept per program (unrecognised lines) or per kind of problem.
pub const SAMPLES: usize = 3;
/// Distinct keys (users × methods × sources, commands, sources of failures …) per table.
pub const MAX_KEYS: usize = 10_000;
/// Package changes listed.
pub const MAX_PACKAGES: usize = 1_000;
/// Bans listed.
pub const MAX_BANS: usize = 10_000;
/// Longest text kept from a log line (commands, samples), in characters.
pub const MAX_TEXT: usize = 300;

/// The digest could not be set up or an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// A built-in detection did not compile (a bug in allclear, reported rather than hidden).
    #[error("built-in detection `{jail}` does not compile")]
    Jail {
        jail: String,
        #[source]
        source: Box<allclear_logs::filter::FilterError>,
    },
    /// The default date templates did not compile.
    #[error("date templates do not compile")]
    Dates(#[source] allclear_logs::date::DateError),
    /// A log could not be opened or read.
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What kind of log a file is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    /// `auth.log`, `syslog`, `kern.log`, `mail.log`, `messages`, the journal.
    Syslog,
    /// `dpkg.log`.
    Dpkg,
    /// nginx/Apache `*access*.log`.
    HttpAccess,
    /// nginx/Apache `error.log`.
    HttpError,
    /// Rails `production.log`.
    Rails,
}

impl LogKind {
    /// The kind of `path`, from its file name without rotation suffixes (`.1`, `.2.gz`).
    pub fn of(path: &Path) -> LogKind {
        let name = rotation_base(path);
        let file = Path::new(&name)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file.starts_with("dpkg") {
            LogKind::Dpkg
        } else if file.contains("access") {
            LogKind::HttpAccess
        } else if file.contains("error") {
            LogKind::HttpError
        } else if file == "production.log" {
            LogKind::Rails
        } else {
            LogKind::Syslog
        }
    }

    fn source(self) -> Option<SourceKind> {
        match self {
            LogKind::Syslog => Some(SourceKind::Syslog),
            LogKind::HttpAccess => Some(SourceKind::HttpAccess),
            LogKind::HttpError => Some(SourceKind::HttpError),
            LogKind::Rails => Some(SourceKind::Rails),
            LogKind::Dpkg => None,
        }
    }
}

/// `path` without `.gz` and a numeric rotation suffix: the log a rotated file belongs to.
pub fn rotation_base(path: &Path) -> String {
    let text = path.to_string_lossy();
    let text = text.strip_suffix(".gz").unwrap_or(&text);
    match text.rsplit_once('.') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            base.to_owned()
        }
        _ => text.to_owned(),
    }
}

/// Orders files so each log's rotations come oldest first (`auth.log.2.gz`, `auth.log.1`,
/// `auth.log`): the detections need time order within a log.
pub fn order_rotated(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    fn rank(p: &Path) -> (String, std::cmp::Reverse<u32>) {
        let base = rotation_base(p);
        let text = p.to_string_lossy();
        let text = text.strip_suffix(".gz").unwrap_or(&text);
        let n = text
            .strip_prefix(base.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        (base, std::cmp::Reverse(n))
    }
    paths.sort_by_key(|p| rank(p));
    paths.dedup();
    paths
}

/// What the digest covers and how it reads times.
#[derive(Debug, Clone)]
pub struct DigestOptions {
    pub since: Timestamp,
    pub now: Timestamp,
    /// The zone of dates written without one (syslog, dpkg).
    pub tz: TimeZone,
    /// The detections to run (usually [`allclear_logs::builtin::builtin_jails`]).
    pub jails: Vec<BuiltinJail>,
}

// ---------------------------------------------------------------------------------------
// The output.

/// One input and what was read from it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct InputSummary {
    pub name: String,
    pub kind: Option<LogKind>,
    pub lines: u64,
    pub in_window: u64,
    pub before_window: u64,
    /// Dated after now (+5 min): not trusted, not summed.
    pub future: u64,
    /// No date found (continuation lines, stack traces).
    pub undated: u64,
    pub invalid_utf8: u64,
    /// Cut at [`MAX_LINE`] bytes.
    pub truncated: u64,
    /// Journal entries that were not valid JSON.
    pub invalid_json: u64,
    /// Why the input could not be read (it is skipped; the others are still read).
    pub error: Option<String>,
}

/// Logins of one user by one method from one source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Login {
    pub user: String,
    pub method: LoginMethod,
    pub source: String,
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// Key fingerprints used (public-key logins), at most [`SAMPLES`].
    pub keys: Vec<String>,
}

/// Failures from one source (an address, or a local user for sudo/su).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailureSource {
    pub source: String,
    /// Lines with a failure from this source (a line two detections see counts once).
    pub failures: u64,
    pub target: Target,
    /// Failures per detection.
    pub jails: BTreeMap<String, u64>,
    /// Detections that would ban it.
    pub banned_by: Vec<String>,
    /// Users tried, at most 10 (`users_more` counts the rest).
    pub users: Vec<String>,
    pub users_more: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// All failures.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Failures {
    pub total: u64,
    /// Sources by failures, most first.
    pub sources: Vec<FailureSource>,
    /// Sources not listed because the table was full.
    pub sources_dropped: u64,
}

/// A ban a built-in detection would impose.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BanEvent {
    pub jail: String,
    pub host: String,
    pub target: Target,
    pub time: Timestamp,
    pub failures: u32,
    pub users: Vec<String>,
    pub reason: String,
}

/// A sudo command.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SudoCommand {
    pub user: String,
    pub runas: String,
    pub command: String,
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// su sessions of one user to another.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SuSession {
    pub user: String,
    pub by: String,
    pub count: u64,
    pub last: Timestamp,
}

/// Something that started listening.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Listener {
    pub program: String,
    pub what: String,
    pub count: u64,
    pub first: Timestamp,
}

/// A counted event about a process or program (OOM kills, crashes, disk-full errors).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProcessEvent {
    pub process: String,
    pub count: u64,
    pub last: Timestamp,
    pub sample: String,
}

/// A package change (dpkg).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PackageChange {
    pub time: Timestamp,
    pub action: String,
    pub package: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Package changes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Packages {
    /// Changes per action (`install`, `upgrade`, `remove`, `purge`).
    pub counts: BTreeMap<String, u64>,
    pub changes: Vec<PackageChange>,
    pub dropped: u64,
}

/// A mounted filesystem's space.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FsUsage {
    pub mount: String,
    pub fstype: String,
    pub size_bytes: u64,
    pub avail_bytes: u64,
    pub used_percent: f64,
    pub inodes_used_percent: Option<f64>,
    /// Space or inodes at or above the threshold.
    pub low: bool,
}

/// Disk space: errors in logs and (when checked) mounted filesystems.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Disk {
    /// "No space left on device" by program.
    pub log_errors: Vec<ProcessEvent>,
    /// `None` when filesystems were not checked.
    pub filesystems: Option<Vec<FsUsage>>,
}

/// Lines nobody recognised, from one program.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UnrecognisedProgram {
    pub program: String,
    pub count: u64,
    pub samples: Vec<String>,
}

/// Lines nobody recognised.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Unrecognised {
    pub total: u64,
    pub programs: Vec<UnrecognisedProgram>,
    /// Lines of programs not listed because the table was full.
    pub dropped: u64,
}

/// Web traffic per access log.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HttpCounts {
    pub log: String,
    pub requests: u64,
    /// By status class: `2xx`, `3xx`, `4xx`, `5xx`.
    pub statuses: BTreeMap<String, u64>,
}

/// Lines dated in the future.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FutureLines {
    pub count: u64,
    pub samples: Vec<String>,
}

/// What needs a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionKind {
    RootLogin,
    PasswordLogin,
    Ban,
    LocalAuthFailure,
    NewService,
    OomKill,
    Segfault,
    LowDisk,
    FutureLines,
    UnreadableInput,
}

/// One thing that needs a person, in words.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Attention {
    pub kind: AttentionKind,
    pub message: String,
}

/// The digest.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Digest {
    pub schema: u32,
    pub since: Timestamp,
    pub until: Timestamp,
    /// Host names seen in syslog lines (at most 10).
    pub hosts: Vec<String>,
    pub inputs: Vec<InputSummary>,
    /// Empty: nothing needs a person.
    pub attention: Vec<Attention>,
    pub logins: Vec<Login>,
    pub failures: Failures,
    pub bans: Vec<BanEvent>,
    pub bans_dropped: u64,
    pub sudo: Vec<SudoCommand>,
    pub su: Vec<SuSession>,
    pub listening: Vec<Listener>,
    pub oom_kills: Vec<ProcessEvent>,
    pub segfaults: Vec<ProcessEvent>,
    pub boots: u64,
    pub packages: Packages,
    pub disk: Disk,
    pub http: Vec<HttpCounts>,
    pub unrecognised: Unrecognised,
    pub future_lines: FutureLines,
}

// ---------------------------------------------------------------------------------------
// Bounded tables.

/// A map that stops taking new keys at [`MAX_KEYS`] and counts what it turned away.
#[derive(Debug)]
struct Capped<K, V> {
    map: HashMap<K, V>,
    dropped: u64,
}

impl<K: std::hash::Hash + Eq, V> Default for Capped<K, V> {
    fn default() -> Self {
        Capped {
            map: HashMap::new(),
            dropped: 0,
        }
    }
}

impl<K: std::hash::Hash + Eq, V> Capped<K, V> {
    fn entry(&mut self, key: K, new: impl FnOnce() -> V) -> Option<&mut V> {
        let full = self.map.len() >= MAX_KEYS;
        match self.map.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(_) if full => {
                self.dropped += 1;
                None
            }
            std::collections::hash_map::Entry::Vacant(e) => Some(e.insert(new())),
        }
    }
}

/// Cleans text from a log for display: control characters (terminal escapes) become `?`,
/// and the text is cut to [`MAX_TEXT`] characters.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT * 4));
    for (i, c) in text.chars().enumerate() {
        if i >= MAX_TEXT {
            out.push('…');
            break;
        }
        out.push(if c == '\t' {
            ' '
        } else if c.is_control() {
            '?'
        } else {
            c
        });
    }
    out
}

fn push_sample(samples: &mut Vec<String>, text: &str) {
    if samples.len() < SAMPLES {
        samples.push(clean(text));
    }
}

fn minmax(first: &mut Timestamp, last: &mut Timestamp, t: Timestamp) {
    if t < *first {
        *first = t;
    }
    if t > *last {
        *last = t;
    }
}

#[derive(Debug)]
struct LoginAgg {
    count: u64,
    first: Timestamp,
    last: Timestamp,
    keys: Vec<String>,
}

#[derive(Debug)]
struct FailAgg {
    failures: u64,
    target: Target,
    jails: BTreeMap<String, u64>,
    users: BTreeSet<String>,
    users_more: u64,
    first: Timestamp,
    last: Timestamp,
}

#[derive(Debug)]
struct TimedCount {
    count: u64,
    first: Timestamp,
    last: Timestamp,
    sample: String,
}

/// The detections of one log (a file and its rotations, or the journal).
struct Group {
    scanners: Vec<(usize, Scanner)>,
}

/// Reads logs and builds a [`Digest`].
pub struct Digester {
    options: DigestOptions,
    since: f64,
    now: f64,
    clock: Clock,
    compiled: Vec<Arc<allclear_logs::filter::CompiledFilter>>,
    groups: HashMap<String, Group>,
    inputs: Vec<InputSummary>,
    hosts: BTreeSet<String>,
    logins: Capped<(String, LoginMethod, String), LoginAgg>,
    failures: Capped<String, FailAgg>,
    failure_total: u64,
    sudo: Capped<(String, String, String), TimedCount>,
    su: Capped<(String, String), TimedCount>,
    listening: Capped<(String, String), TimedCount>,
    oom: Capped<String, TimedCount>,
    segfaults: Capped<String, TimedCount>,
    disk_errors: Capped<String, TimedCount>,
    boots: u64,
    packages: Packages,
    http: BTreeMap<String, HttpCounts>,
    unrecognised: Capped<String, (u64, Vec<String>)>,
    unrecognised_total: u64,
    future: FutureLines,
    filesystems: Option<Vec<FsUsage>>,
    bans: Vec<BanEvent>,
    bans_dropped: u64,
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digester")
            .field("inputs", &self.inputs)
            .finish_non_exhaustive()
    }
}

fn secs(t: Timestamp) -> f64 {
    t.as_second() as f64 + f64::from(t.subsec_nanosecond()) / 1e9
}

fn ts(seconds: f64) -> Timestamp {
    Timestamp::from_second(seconds.floor() as i64).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Detections compiled once, for callers that digest many inputs with the same jails (a
/// fuzz target compiling every built-in filter per input ran a few dozen inputs a second).
#[derive(Clone)]
pub struct CompiledJails {
    jails: Vec<BuiltinJail>,
    filters: Vec<Arc<allclear_logs::filter::CompiledFilter>>,
}

impl CompiledJails {
    /// Compiles each jail's filter.
    pub fn compile(jails: Vec<BuiltinJail>) -> Result<CompiledJails, DigestError> {
        let filters = jails
            .iter()
            .map(|j| {
                j.compile()
                    .map(Arc::new)
                    .map_err(|source| DigestError::Jail {
                        jail: j.name.to_owned(),
                        source: Box::new(source),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CompiledJails { jails, filters })
    }
}

impl Digester {
    /// Compiles the detections in `options.jails`.
    pub fn new(options: DigestOptions) -> Result<Digester, DigestError> {
        let jails = CompiledJails::compile(options.jails.clone())?;
        Digester::with_jails(options, jails)
    }

    /// A digester running detections already compiled (they replace `options.jails`).
    pub fn with_jails(
        mut options: DigestOptions,
        jails: CompiledJails,
    ) -> Result<Digester, DigestError> {
        options.jails = jails.jails;
        let compiled = jails.filters;
        // Fail early (and once) if the date templates are broken.
        DateDetector::with_defaults().map_err(DigestError::Dates)?;
        Ok(Digester {
            since: secs(options.since),
            now: secs(options.now),
            clock: Clock::new(options.now, options.tz.clone()),
            options,
            compiled,
            groups: HashMap::new(),
            inputs: Vec::new(),
            hosts: BTreeSet::new(),
            logins: Capped::default(),
            failures: Capped::default(),
            failure_total: 0,
            sudo: Capped::default(),
            su: Capped::default(),
            listening: Capped::default(),
            oom: Capped::default(),
            segfaults: Capped::default(),
            disk_errors: Capped::default(),
            boots: 0,
            packages: Packages::default(),
            http: BTreeMap::new(),
            unrecognised: Capped::default(),
            unrecognised_total: 0,
            future: FutureLines::default(),
            filesystems: None,
            bans: Vec::new(),
            bans_dropped: 0,
        })
    }

    /// Reads a log file (gzip-compressed when it starts with gzip's magic bytes); its kind
    /// comes from its name ([`LogKind::of`]). A file that cannot be read is recorded in the
    /// digest (and returned as an error) and the digest goes on without it.
    pub fn read_path(&mut self, path: &Path) -> Result<(), DigestError> {
        let kind = LogKind::of(path);
        let name = path.display().to_string();
        let opened = fs_err::File::open(path).and_then(|mut f| {
            let mut magic = [0u8; 2];
            let n = f.read(&mut magic)?;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0))?;
            Ok((f, n == 2 && magic == [0x1f, 0x8b]))
        });
        let result = match opened {
            Ok((file, true)) => self.read(
                &name,
                &rotation_base(path),
                kind,
                std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file)),
            ),
            // A rotated log named `.gz` that is not gzip (damaged, truncated to nothing,
            // or not a log at all) read as text gives no lines and so a silent "nothing
            // needs attention": it is an error instead.
            Ok((_, false)) if path.extension().is_some_and(|e| e == "gz") => {
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "named .gz but not gzip-compressed (no gzip header)",
                ))
            }
            Ok((file, false)) => self.read(
                &name,
                &rotation_base(path),
                kind,
                std::io::BufReader::with_capacity(1 << 16, file),
            ),
            Err(e) => Err(e),
        };
        result.map_err(|source| {
            let message = source.to_string();
            match self.inputs.iter_mut().rev().find(|i| i.name == name) {
                Some(input) => input.error = Some(message),
                None => self.inputs.push(InputSummary {
                    name: name.clone(),
                    kind: Some(kind),
                    error: Some(message),
                    ..InputSummary::default()
                }),
            }
            DigestError::Read {
                path: path.to_owned(),
                source,
            }
        })
    }

    /// Reads lines of `kind` from `reader`; `group` names the log (rotations of one log share
    /// a group, so their detections see one stream).
    pub fn read(
        &mut self,
        name: &str,
        group: &str,
        kind: LogKind,
        mut reader: impl BufRead,
    ) -> std::io::Result<()> {
        self.inputs.push(InputSummary {
            name: name.to_owned(),
            kind: Some(kind),
            ..InputSummary::default()
        });
        let index = self.inputs.len() - 1;
        let mut dates =
            DateDetector::with_defaults().map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut buf = Vec::new();
        loop {
            let (read, truncated) = read_bounded(&mut reader, &mut buf)?;
            if read == 0 {
                break;
            }
            let text = to_text(&buf, &mut self.inputs[index]);
            if truncated {
                self.inputs[index].truncated += 1;
            }
            self.push_dated(index, group, kind, &text, &mut dates);
        }
        Ok(())
    }

    /// Reads `journalctl -o json` output: one JSON object a line. Entries become syslog lines
    /// (`DATE HOST PROGRAM[PID]: MESSAGE`) and go through the same detections.
    pub fn read_journal(&mut self, name: &str, mut reader: impl BufRead) -> std::io::Result<()> {
        self.inputs.push(InputSummary {
            name: name.to_owned(),
            kind: Some(LogKind::Syslog),
            ..InputSummary::default()
        });
        let index = self.inputs.len() - 1;
        let mut dates =
            DateDetector::with_defaults().map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut buf = Vec::new();
        loop {
            let (read, truncated) = read_bounded(&mut reader, &mut buf)?;
            if read == 0 {
                break;
            }
            if truncated {
                // A cut JSON object cannot be read.
                self.inputs[index].truncated += 1;
                self.inputs[index].lines += 1;
                self.inputs[index].invalid_json += 1;
                continue;
            }
            let Some(line) = journal_line(&buf) else {
                self.inputs[index].lines += 1;
                self.inputs[index].invalid_json += 1;
                continue;
            };
            self.push_dated(index, name, LogKind::Syslog, &line, &mut dates);
        }
        Ok(())
    }

    /// Records the state of mounted filesystems (see [`crate::disk`]).
    pub fn set_filesystems(&mut self, filesystems: Vec<FsUsage>) {
        self.filesystems = Some(filesystems);
    }

    fn push_dated(
        &mut self,
        index: usize,
        group: &str,
        kind: LogKind,
        text: &str,
        dates: &mut DateDetector,
    ) {
        self.inputs[index].lines += 1;
        let found = dates.find(text, &self.clock);
        let Some((time, start, end)) = found.and_then(|f| f.time.map(|t| (t, f.start, f.end)))
        else {
            self.inputs[index].undated += 1;
            return;
        };
        if time < self.since {
            self.inputs[index].before_window += 1;
            return;
        }
        if time > self.now + FUTURE_SLACK as f64 {
            self.inputs[index].future += 1;
            self.future.count += 1;
            push_sample(&mut self.future.samples, text);
            return;
        }
        self.inputs[index].in_window += 1;
        let t = ts(time);
        let matched = self.detect(group, kind, text, t);
        let rest = text.get(end..).unwrap_or("");
        match kind {
            LogKind::Syslog => self.syslog(text.get(..start).unwrap_or(""), rest, t, matched),
            LogKind::Dpkg => match classify::dpkg(rest) {
                Some(Ok(change)) => {
                    *self
                        .packages
                        .counts
                        .entry(change.action.to_owned())
                        .or_default() += 1;
                    if self.packages.changes.len() < MAX_PACKAGES {
                        self.packages.changes.push(PackageChange {
                            time: t,
                            action: change.action.to_owned(),
                            package: clean(change.package),
                            from: change.from.map(clean),
                            to: change.to.map(clean),
                        });
                    } else {
                        self.packages.dropped += 1;
                    }
                }
                Some(Err(())) => {}
                None => self.unrecognised("dpkg", text),
            },
            LogKind::HttpAccess => {
                let counts = self
                    .http
                    .entry(group.to_owned())
                    .or_insert_with(|| HttpCounts {
                        log: file_label(group),
                        ..HttpCounts::default()
                    });
                match classify::access_status(text) {
                    Some(status) => {
                        counts.requests += 1;
                        *counts
                            .statuses
                            .entry(format!("{}xx", status / 100))
                            .or_default() += 1;
                    }
                    None => self.unrecognised(&file_label(group), text),
                }
            }
            LogKind::HttpError => {
                if !matched {
                    self.unrecognised(&file_label(group), rest.trim_start());
                }
            }
            // Application logs are large and their lines are the application's business:
            // only the detections read them.
            LogKind::Rails => {}
        }
    }

    /// Offers the line to the detections of its kind; records failures. Returns whether any
    /// matched.
    fn detect(&mut self, group: &str, kind: LogKind, text: &str, t: Timestamp) -> bool {
        let Some(source) = kind.source() else {
            return false;
        };
        if !self.groups.contains_key(group) {
            let scanners = self
                .options
                .jails
                .iter()
                .enumerate()
                .filter(|(_, j)| j.source == source)
                .filter_map(|(i, j)| {
                    let filter = self.compiled.get(i)?.clone();
                    Some((
                        i,
                        Scanner::new(
                            filter,
                            ScanOptions {
                                clock: self.clock.clone(),
                                jail: j.rules.clone(),
                                keep_matches: false,
                            },
                        ),
                    ))
                })
                .collect();
            self.groups.insert(group.to_owned(), Group { scanners });
        }
        let Some(g) = self.groups.get_mut(group) else {
            return false;
        };
        // (source, user, jail) of each counted failure on this line.
        let mut hits: Vec<(String, Option<String>, usize)> = Vec::new();
        let mut any = false;
        for (i, scanner) in &mut g.scanners {
            let Some(jail) = self.options.jails.get(*i) else {
                continue;
            };
            if let Some(literal) = jail.literal
                && !text.contains(literal)
            {
                continue;
            }
            for m in scanner.push_line(text.as_bytes()) {
                any = true;
                if m.counts
                    && let Some(host) = &m.host
                {
                    hits.push((clean(host), m.user.clone(), *i));
                }
            }
        }
        if hits.is_empty() {
            return any;
        }
        let mut seen: Vec<&str> = Vec::new();
        for (host, user, i) in &hits {
            let Some(jail) = self.options.jails.get(*i) else {
                continue;
            };
            let Some(agg) = self.failures.entry(host.clone(), || FailAgg {
                failures: 0,
                target: jail.target,
                jails: BTreeMap::new(),
                users: BTreeSet::new(),
                users_more: 0,
                first: t,
                last: t,
            }) else {
                continue;
            };
            if !seen.contains(&host.as_str()) {
                seen.push(host);
                agg.failures += 1;
                self.failure_total += 1;
            }
            minmax(&mut agg.first, &mut agg.last, t);
            *agg.jails.entry(jail.name.to_owned()).or_default() += 1;
            if let Some(u) = user
                && !agg.users.contains(u)
            {
                if agg.users.len() < 10 {
                    agg.users.insert(clean(u));
                } else {
                    agg.users_more += 1;
                }
            }
        }
        true
    }

    fn syslog(&mut self, before: &str, rest: &str, t: Timestamp, matched: bool) {
        let text = if before.trim().is_empty() {
            rest
        } else {
            before
        };
        let Some(line) = classify::split_syslog(text) else {
            if !matched {
                self.unrecognised("(no program)", rest);
            }
            return;
        };
        if let Some(h) = line.host
            && self.hosts.len() < 10
            && !self.hosts.contains(h)
        {
            self.hosts.insert(clean(h));
        }
        let program = line.program;
        match classify::classify(program, line.message) {
            Event::Login {
                user,
                method,
                source,
                key,
            } => {
                if let Some(agg) =
                    self.logins
                        .entry((clean(user), method, clean(source)), || LoginAgg {
                            count: 0,
                            first: t,
                            last: t,
                            keys: Vec::new(),
                        })
                {
                    agg.count += 1;
                    minmax(&mut agg.first, &mut agg.last, t);
                    if let Some(k) = key
                        && !agg.keys.contains(&k)
                        && agg.keys.len() < SAMPLES
                    {
                        agg.keys.push(clean(&k));
                    }
                }
            }
            Event::Sudo {
                user,
                runas,
                command,
            } => count(
                &mut self.sudo,
                (clean(user), clean(runas), clean(command)),
                t,
                "",
            ),
            Event::Su { user, by } => count(&mut self.su, (clean(user), clean(by)), t, ""),
            Event::Listening { what } => {
                count(&mut self.listening, (clean(program), clean(&what)), t, "")
            }
            Event::OomKill { process } => count(&mut self.oom, clean(process), t, line.message),
            Event::Segfault { process } => {
                count(&mut self.segfaults, clean(process), t, line.message);
            }
            Event::DiskFull => count(&mut self.disk_errors, clean(program), t, line.message),
            Event::Boot => self.boots += 1,
            Event::Known => {}
            Event::Unrecognised => {
                if !matched {
                    self.unrecognised(program, line.message);
                }
            }
        }
    }

    fn unrecognised(&mut self, program: &str, text: &str) {
        self.unrecognised_total += 1;
        if let Some((n, samples)) = self.unrecognised.entry(clean(program), || (0, Vec::new())) {
            *n += 1;
            push_sample(samples, text);
        }
    }

    /// Ends the digest.
    pub fn finish(self) -> Digest {
        let Digester {
            options,
            groups,
            inputs,
            hosts,
            logins,
            failures,
            failure_total,
            sudo,
            su,
            listening,
            oom,
            segfaults,
            disk_errors,
            boots,
            packages,
            http,
            unrecognised,
            unrecognised_total,
            future,
            filesystems,
            mut bans,
            mut bans_dropped,
            ..
        } = self;
        let fail_map = failures.map;
        let mut groups: Vec<(String, Group)> = groups.into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, group) in groups {
            for (i, scanner) in group.scanners {
                let Some(jail) = options.jails.get(i) else {
                    continue;
                };
                let report = scanner.finish();
                for ban in report.bans {
                    if bans.len() >= MAX_BANS {
                        bans_dropped += 1;
                        continue;
                    }
                    bans.push(BanEvent {
                        jail: jail.name.to_owned(),
                        host: clean(&ban.host),
                        target: jail.target,
                        time: ts(ban.time),
                        failures: ban.failures,
                        users: ban.users.iter().map(|u| clean(u)).collect(),
                        reason: ban.reason,
                    });
                }
            }
        }
        bans.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.host.cmp(&b.host)));
        let mut sources: Vec<FailureSource> = fail_map
            .into_iter()
            .map(|(source, a)| {
                let mut banned_by: Vec<String> = bans
                    .iter()
                    .filter(|b| b.host == source)
                    .map(|b| b.jail.clone())
                    .collect();
                banned_by.sort();
                banned_by.dedup();
                FailureSource {
                    source,
                    failures: a.failures,
                    target: a.target,
                    jails: a.jails,
                    banned_by,
                    users: a.users.into_iter().collect(),
                    users_more: a.users_more,
                    first: a.first,
                    last: a.last,
                }
            })
            .collect();
        sources.sort_by(|a, b| {
            b.failures
                .cmp(&a.failures)
                .then_with(|| a.source.cmp(&b.source))
        });
        let mut logins: Vec<Login> = logins
            .map
            .into_iter()
            .map(|((user, method, source), a)| Login {
                user,
                method,
                source,
                count: a.count,
                first: a.first,
                last: a.last,
                keys: a.keys,
            })
            .collect();
        logins.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.user, a.method, &a.source).cmp(&(&b.user, b.method, &b.source)))
        });
        let mut sudo: Vec<SudoCommand> = sudo
            .map
            .into_iter()
            .map(|((user, runas, command), c)| SudoCommand {
                user,
                runas,
                command,
                count: c.count,
                first: c.first,
                last: c.last,
            })
            .collect();
        sudo.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.user, &a.command).cmp(&(&b.user, &b.command)))
        });
        let mut su: Vec<SuSession> = su
            .map
            .into_iter()
            .map(|((user, by), c)| SuSession {
                user,
                by,
                count: c.count,
                last: c.last,
            })
            .collect();
        su.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.by.cmp(&b.by)));
        let mut listening: Vec<Listener> = listening
            .map
            .into_iter()
            .map(|((program, what), c)| Listener {
                program,
                what,
                count: c.count,
                first: c.first,
            })
            .collect();
        listening.sort_by(|a, b| (&a.program, &a.what).cmp(&(&b.program, &b.what)));
        let oom_kills = process_events(oom);
        let segfaults = process_events(segfaults);
        let mut unrec: Vec<UnrecognisedProgram> = unrecognised
            .map
            .into_iter()
            .map(|(program, (count, samples))| UnrecognisedProgram {
                program,
                count,
                samples,
            })
            .collect();
        unrec.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.program.cmp(&b.program))
        });
        let mut digest = Digest {
            schema: 1,
            since: options.since,
            until: options.now,
            hosts: hosts.into_iter().collect(),
            inputs,
            attention: Vec::new(),
            logins,
            failures: Failures {
                total: failure_total,
                sources,
                sources_dropped: failures.dropped,
            },
            bans,
            bans_dropped,
            sudo,
            su,
            listening,
            oom_kills,
            segfaults,
            boots,
            packages,
            disk: Disk {
                log_errors: process_events(disk_errors),
                filesystems,
            },
            http: http.into_values().collect(),
            unrecognised: Unrecognised {
                total: unrecognised_total,
                programs: unrec,
                dropped: unrecognised.dropped,
            },
            future_lines: future,
        };
        digest.attention = crate::attention::attention(&digest);
        digest
    }
}

fn file_label(group: &str) -> String {
    let path = Path::new(group);
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|p| p.to_string_lossy().into_owned());
    let file = path
        .file_name()
        .map_or_else(|| group.to_owned(), |f| f.to_string_lossy().into_owned());
    match parent {
        Some(p) => format!("{p}/{file}"),
        None => file,
    }
}

fn count<K: std::hash::Hash + Eq>(
    table: &mut Capped<K, TimedCount>,
    key: K,
    t: Timestamp,
    sample: &str,
) {
    if let Some(c) = table.entry(key, || TimedCount {
        count: 0,
        first: t,
        last: t,
        sample: clean(sample),
    }) {
        c.count += 1;
        minmax(&mut c.first, &mut c.last, t);
    }
}

fn process_events(table: Capped<String, TimedCount>) -> Vec<ProcessEvent> {
    let mut v: Vec<ProcessEvent> = table
        .map
        .into_iter()
        .map(|(process, c)| ProcessEvent {
            process,
            count: c.count,
            last: c.last,
            sample: c.sample,
        })
        .collect();
    v.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.process.cmp(&b.process))
    });
    v
}

/// Reads one line into `buf` (without its ending), keeping at most [`MAX_LINE`] bytes and
/// skipping the rest. Returns (bytes consumed, whether the line was cut).
fn read_bounded(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    buf.clear();
    let mut consumed = 0;
    let mut truncated = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(p) => (&available[..p], Some(p + 1)),
            None => (available, None),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        if chunk.len() > room {
            truncated = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(available.len());
        reader.consume(used);
        consumed += used;
        if done.is_some() {
            break;
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok((consumed, truncated))
}

fn to_text<'a>(bytes: &'a [u8], input: &mut InputSummary) -> std::borrow::Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(e) => {
            // A cut inside a character (at MAX_LINE) is not bad input.
            if e.error_len().is_some() {
                input.invalid_utf8 += 1;
            }
            String::from_utf8_lossy(bytes)
        }
    }
}

/// A journal entry (`journalctl -o json`) as a syslog line, or `None` when it is not one.
fn journal_line(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let obj = v.as_object()?;
    let field = |k: &str| -> Option<String> {
        match obj.get(k)? {
            serde_json::Value::String(s) => Some(s.clone()),
            // journalctl writes fields that are not UTF-8 as arrays of bytes.
            serde_json::Value::Array(a) => {
                let bytes: Vec<u8> = a
                    .iter()
                    .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect();
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let micros: i64 = field("__REALTIME_TIMESTAMP")?.parse().ok()?;
    let time = Timestamp::from_microsecond(micros).ok()?;
    let program = field("SYSLOG_IDENTIFIER")
        .or_else(|| field("_COMM"))
        .or_else(|| (field("_TRANSPORT").as_deref() == Some("kernel")).then(|| "kernel".to_owned()))
        .unwrap_or_else(|| "unknown".to_owned());
    let program: String = program
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == ':' || c == '[' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let host = field("_HOSTNAME").unwrap_or_else(|| "localhost".to_owned());
    let host: String = host.split_whitespace().collect::<Vec<_>>().join("_");
    let pid = field("SYSLOG_PID").or_else(|| field("_PID"));
    let message = field("MESSAGE").unwrap_or_default();
    let message = message.replace(['\n', '\r'], " ");
    let mut line = String::with_capacity(message.len() + 64);
    // The date in the form rsyslog writes on Debian 12 (RFC 3339, microseconds, UTC).
    line.push_str(&time.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string());
    line.push(' ');
    line.push_str(if host.is_empty() { "localhost" } else { &host });
    line.push(' ');
    line.push_str(&program);
    if let Some(pid) = pid {
        line.push('[');
        line.push_str(&pid);
        line.push(']');
    }
    line.push_str(": ");
    line.push_str(&message);
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_names_and_order() {
        assert_eq!(
            rotation_base(Path::new("/var/log/auth.log.2.gz")),
            "/var/log/auth.log"
        );
        assert_eq!(
            rotation_base(Path::new("/var/log/auth.log")),
            "/var/log/auth.log"
        );
        let ordered = order_rotated(vec![
            "/var/log/auth.log".into(),
            "/var/log/auth.log.1".into(),
            "/var/log/auth.log.2.gz".into(),
        ]);
        assert_eq!(
            ordered,
            vec![
                PathBuf::from("/var/log/auth.log.2.gz"),
                "/var/log/auth.log.1".into(),
                "/var/log/auth.log".into()
            ]
        );
        assert_eq!(LogKind::of(Path::new("/var/log/dpkg.log.1")), LogKind::Dpkg);
        assert_eq!(
            LogKind::of(Path::new("/var/log/nginx/access.log.2.gz")),
            LogKind::HttpAccess
        );
        assert_eq!(
            LogKind::of(Path::new("/var/log/apache2/error.log")),
            LogKind::HttpError
        );
        assert_eq!(
            LogKind::of(Path::new("/srv/app/log/production.log")),
            LogKind::Rails
        );
        assert_eq!(LogKind::of(Path::new("/var/log/kern.log")), LogKind::Syslog);
    }

    #[test]
    fn bounded_reads_cut_long_lines_and_keep_the_next() {
        let mut data = vec![b'a'; MAX_LINE + 10];
        data.extend_from_slice(b"\nnext\r\n");
        let mut r = std::io::BufReader::with_capacity(1000, &data[..]);
        let mut buf = Vec::new();
        let (n, cut) = read_bounded(&mut r, &mut buf).unwrap();
        assert_eq!((n, cut, buf.len()), (MAX_LINE + 11, true, MAX_LINE));
        let (_, cut) = read_bounded(&mut r, &mut buf).unwrap();
        assert_eq!((cut, buf.as_slice()), (false, &b"next"[..]));
        assert_eq!(read_bounded(&mut r, &mut buf).unwrap().0, 0);
    }

    #[test]
    fn journal_entries_become_syslog_lines() {
        let line = br#"{"__REALTIME_TIMESTAMP":"1795950000000000","_HOSTNAME":"web1","SYSLOG_IDENTIFIER":"sshd","_PID":"42","MESSAGE":"Accepted publickey for alice"}"#;
        assert_eq!(
            journal_line(line).unwrap(),
            "2026-11-29T11:00:00.000000+00:00 web1 sshd[42]: Accepted publickey for alice"
        );
        // Non-UTF-8 messages come as byte arrays.
        let line = br#"{"__REALTIME_TIMESTAMP":"1795950000000000","_TRANSPORT":"kernel","MESSAGE":[104,105,255]}"#;
        assert!(
            journal_line(line)
                .unwrap()
                .ends_with("localhost kernel: hi\u{fffd}")
        );
        assert!(journal_line(b"{not json").is_none());
        assert!(journal_line(br#"{"MESSAGE":"no time"}"#).is_none());
    }

    #[test]
    fn log_text_reaches_the_digest_without_control_characters() {
        let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let mut d = Digester::new(DigestOptions {
            since: now - jiff::SignedDuration::from_hours(24),
            now,
            tz: TimeZone::UTC,
            jails: allclear_logs::builtin::builtin_jails(),
        })
        .unwrap();
        let log = "Nov 23 11:00:00 web1 sudo[1]: ev\u{1b}[2Jil : user NOT in sudoers ; TTY=pts/2 ; PWD=/ ; USER=root ; COMMAND=/bin/sh\n";
        d.read("auth.log", "auth.log", LogKind::Syslog, log.as_bytes())
            .unwrap();
        let digest = d.finish();
        assert_eq!(digest.failures.sources[0].source, "ev?[2Jil");
        let human = crate::render::human(&digest, &TimeZone::UTC, false);
        assert!(!human.contains('\u{1b}'), "{human}");
    }

    #[test]
    fn clean_removes_terminal_escapes_and_caps_length() {
        assert_eq!(clean("a\u{1b}[31mb\tc"), "a?[31mb c");
        assert_eq!(clean(&"x".repeat(1000)).chars().count(), MAX_TEXT + 1);
    }
}
