//! What `allclear host logs` remembers between runs: live bans (with why), failures still
//! within `findtime`, how often each address was banned before (for `bantime.increment`),
//! read positions in log files and the journal cursor per jail.
//!
//! One JSON file, `state.json`, in the state directory, replaced atomically (written to a
//! temporary file in the same directory, synced, renamed). Writers take an exclusive lock on
//! `state.lock` around read-modify-write, so the daemon and a manual `ban`/`unban` do not lose
//! each other's changes. See docs/decisions/0003-logs-state.md.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The state file format version.
pub const STATE_SCHEMA: u32 = 1;
/// The state file is refused beyond this size (it holds bans and positions, not logs). Above
/// what the bounds below allow a jail to write ([`MAX_BANS`] bans with their samples and
/// users, [`MAX_TRACKED`] addresses with `maxretry` failures each), so a state this program
/// wrote always loads again.
pub const MAX_STATE_BYTES: u64 = 256 << 20;
/// At most this many past-ban entries are remembered (oldest dropped first).
pub const MAX_HISTORY: usize = 100_000;

/// The state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading, writing or locking a state file failed (the error names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The state file is not valid (line and column of the JSON error).
    #[error("{}:{line}:{column}: invalid state file: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The state file was written by a newer allclear.
    #[error("{}: state schema {found} is newer than this allclear understands ({STATE_SCHEMA})", path.display())]
    Schema { path: PathBuf, found: u32 },
    /// The state file is larger than [`MAX_STATE_BYTES`].
    #[error("{}: state file is {size} bytes, more than the {MAX_STATE_BYTES} allowed", path.display())]
    TooLarge { path: PathBuf, size: u64 },
}

/// One ban and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BanRecord {
    pub jail: String,
    pub ip: IpAddr,
    /// When the ban started (seconds since the epoch).
    pub start: f64,
    /// When it ends; `None`: forever.
    pub until: Option<f64>,
    /// Its length in seconds (negative: forever), after `bantime.increment`.
    pub bantime: f64,
    /// Which ban of this address this is (1 = first), as `bantime.increment` counts.
    pub nth: u32,
    /// Failures that caused it (0 for a manual ban).
    pub failures: u32,
    pub first_failure: Option<f64>,
    pub maxretry: u32,
    pub findtime: f64,
    /// User names in those failures (capped).
    #[serde(default)]
    pub users: Vec<String>,
    /// The last matched lines (capped in number and length).
    #[serde(default)]
    pub samples: Vec<String>,
    pub reason: String,
    #[serde(default)]
    pub manual: bool,
}

impl BanRecord {
    /// Whether the ban is in force at `now`.
    pub fn live_at(&self, now: f64) -> bool {
        self.until.is_none_or(|u| u > now)
    }

    /// Seconds left at `now` (`None`: forever).
    pub fn remaining(&self, now: f64) -> Option<f64> {
        self.until.map(|u| (u - now).max(0.0))
    }
}

/// A past ban, remembered for `bantime.increment`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PastBan {
    pub jail: String,
    pub ip: IpAddr,
    /// Bans of this address in this jail so far.
    pub count: u32,
    /// When the last of them ended (or started, for a ban still in force).
    pub last: f64,
}

/// A failure still counting towards a ban.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// When (seconds since the epoch, from the log line).
    pub time: f64,
    /// The line (cut).
    pub sample: String,
    pub user: Option<String>,
    /// Order of arrival ([`State::next_seq`]): log times have whole seconds, in which a flood
    /// has thousands of failures, and eviction must still go oldest first.
    #[serde(default)]
    pub seq: u64,
}

/// At most this many addresses per jail have failures remembered; beyond it the addresses
/// with the oldest last failure are forgotten (a botnet spreading over many addresses must
/// not grow the state without bound). Each holds up to `maxretry` failures with a sample line
/// of up to [`crate::jail::MAX_SAMPLE_LEN`] bytes, so this keeps the state (in memory, and the
/// file rewritten when it changes) to a few MB per jail. 10,000 addresses failing within one
/// `findtime` is already a flood: an attacker who must beat 10,000 other addresses to the
/// next failure gets at most `maxretry - 1` tries per 10,000 lines of flood.
pub const MAX_TRACKED: usize = 10_000;
/// When [`MAX_TRACKED`] is reached, this share (1/8) of the addresses, those with the oldest
/// last failure, is forgotten at once: finding them costs a pass over all, so doing it for
/// every new address of a flood would make each line cost 10,000 steps.
const EVICT_SHARE: usize = 8;
/// At most this many live bans per jail; beyond it the ban that started first is lifted
/// early (and goes to [`State::evicted`] for the firewall). A ban record keeps up to five
/// sample lines and sixteen user names (a few KB at worst), so this keeps a jail's bans to
/// tens of MB even when every line of a flood comes from a new address that reaches
/// `maxretry`; a host with more than 20,000 addresses banned at once in one jail faces an
/// address-spread attack that per-address bans do not stop anyway.
pub const MAX_BANS: usize = 20_000;

/// Where reading of a log file stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub dev: u64,
    pub inode: u64,
    /// Bytes read (up to the end of the last complete line).
    pub offset: u64,
    /// BLAKE3 of the file's first line (up to 4 KiB), hex: tells a truncated and rewritten
    /// file from the one we were reading.
    pub first_line: String,
}

/// Everything persisted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub schema: u32,
    /// Live bans, by jail then address.
    #[serde(default)]
    pub bans: BTreeMap<String, BTreeMap<IpAddr, BanRecord>>,
    /// Past bans, for `bantime.increment`.
    #[serde(default)]
    pub history: Vec<PastBan>,
    /// Failures within `findtime`, by jail then address, oldest first.
    #[serde(default)]
    pub failures: BTreeMap<String, BTreeMap<IpAddr, Vec<Failure>>>,
    /// Read positions by log file path.
    #[serde(default)]
    pub positions: BTreeMap<String, Position>,
    /// journalctl cursors by jail.
    #[serde(default)]
    pub cursors: BTreeMap<String, String>,
    /// How long past bans count for `bantime.increment` after they end (seconds; fail2ban's
    /// `dbpurgeage`).
    #[serde(default = "default_history_age")]
    pub history_age: f64,
    /// The last [`Failure::seq`] given out.
    #[serde(default)]
    pub seq: u64,
    /// Live bans lifted early to keep a jail within [`MAX_BANS`], for the caller to take out
    /// of the firewall (not saved).
    #[serde(skip)]
    pub evicted: Vec<BanRecord>,
}

fn default_history_age() -> f64 {
    crate::jail::DEFAULT_HISTORY_AGE
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

impl State {
    /// An empty state.
    pub fn new() -> State {
        State {
            schema: STATE_SCHEMA,
            bans: BTreeMap::new(),
            history: Vec::new(),
            failures: BTreeMap::new(),
            positions: BTreeMap::new(),
            cursors: BTreeMap::new(),
            history_age: default_history_age(),
            seq: 0,
            evicted: Vec::new(),
        }
    }

    /// Parses a state file's text (`path` is for messages).
    pub fn parse(text: &[u8], path: &Path) -> Result<State, StateError> {
        let mut state: State = serde_json::from_slice(text).map_err(|e| StateError::Parse {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if state.schema > STATE_SCHEMA {
            return Err(StateError::Schema {
                path: path.to_owned(),
                found: state.schema,
            });
        }
        state.schema = STATE_SCHEMA;
        if !state.history_age.is_finite() || state.history_age < 0.0 {
            state.history_age = default_history_age();
        }
        // Keys are authoritative: a record filed under another jail or address is re-filed.
        let bans = std::mem::take(&mut state.bans);
        for (_, by_ip) in bans {
            for (_, record) in by_ip {
                state
                    .bans
                    .entry(record.jail.clone())
                    .or_default()
                    .insert(record.ip, record);
            }
        }
        Ok(state)
    }

    /// A number for the next failure, larger than every one before.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The failures of `ip` in `jail` (created empty).
    pub fn failures_mut(&mut self, jail: &str, ip: IpAddr) -> &mut Vec<Failure> {
        let by_ip = self.failures.entry(jail.to_owned()).or_default();
        if by_ip.len() >= MAX_TRACKED && !by_ip.contains_key(&ip) {
            evict_oldest(by_ip, MAX_TRACKED.div_ceil(EVICT_SHARE));
        }
        by_ip.entry(ip).or_default()
    }

    /// Forgets the failures of `ip` in `jail`.
    pub fn clear_failures(&mut self, jail: &str, ip: IpAddr) {
        if let Some(by_ip) = self.failures.get_mut(jail) {
            by_ip.remove(&ip);
            if by_ip.is_empty() {
                self.failures.remove(jail);
            }
        }
    }

    /// Forgets the failures of `jail` before `before`; whether any went.
    pub fn forget_failures(&mut self, jail: &str, before: f64) -> bool {
        let Some(by_ip) = self.failures.get_mut(jail) else {
            return false;
        };
        let mut changed = false;
        by_ip.retain(|_, list| {
            let len = list.len();
            list.retain(|f| f.time >= before);
            changed |= list.len() != len;
            !list.is_empty()
        });
        if by_ip.is_empty() {
            self.failures.remove(jail);
        }
        changed
    }

    /// The ban of `ip` in `jail`, if any (live or not yet expired by [`State::expire`]).
    pub fn ban(&self, jail: &str, ip: IpAddr) -> Option<&BanRecord> {
        self.bans.get(jail).and_then(|m| m.get(&ip))
    }

    /// Every ban, by jail then address.
    pub fn all_bans(&self) -> impl Iterator<Item = &BanRecord> {
        self.bans.values().flat_map(|m| m.values())
    }

    /// Bans of `ip` that ended within `history_age` of `now` or are live, in `jail` (or in
    /// every jail when `None`).
    pub fn previous_bans(&self, ip: IpAddr, jail: Option<&str>, now: f64) -> u32 {
        let live = self
            .all_bans()
            .filter(|b| b.ip == ip && jail.is_none_or(|j| b.jail == j))
            .count() as u32;
        let past: u32 = self
            .history
            .iter()
            .filter(|p| p.ip == ip && jail.is_none_or(|j| p.jail == j))
            .filter(|p| p.last >= now - self.history_age)
            .map(|p| p.count)
            .fold(0u32, u32::saturating_add);
        live.saturating_add(past)
    }

    /// Adds (or replaces) a ban.
    pub fn insert_ban(&mut self, record: BanRecord, now: f64) {
        if let Some(old) = self.bans.get(&record.jail).and_then(|m| m.get(&record.ip)) {
            let old = old.clone();
            self.remember(&old, now);
        }
        let by_ip = self.bans.entry(record.jail.clone()).or_default();
        by_ip.insert(record.ip, record);
        if by_ip.len() > MAX_BANS {
            let first = by_ip
                .iter()
                .min_by(|a, b| a.1.start.total_cmp(&b.1.start))
                .map(|(ip, _)| *ip);
            if let Some(old) = first.and_then(|ip| by_ip.remove(&ip)) {
                self.remember(&old, now);
                self.evicted.push(old);
            }
        }
    }

    /// Removes the ban of `ip` in `jail` (every jail when `None`) and returns what was removed.
    pub fn remove_ban(&mut self, ip: IpAddr, jail: Option<&str>, now: f64) -> Vec<BanRecord> {
        let mut removed = Vec::new();
        for (name, by_ip) in self.bans.iter_mut() {
            if jail.is_some_and(|j| j != name) {
                continue;
            }
            if let Some(r) = by_ip.remove(&ip) {
                removed.push(r);
            }
        }
        self.bans.retain(|_, m| !m.is_empty());
        for r in &removed {
            self.remember(r, now);
        }
        removed
    }

    /// Removes bans that ended by `now` and returns them; forgets history older than
    /// `history_age`.
    pub fn expire(&mut self, now: f64) -> Vec<BanRecord> {
        let mut expired = Vec::new();
        for by_ip in self.bans.values_mut() {
            let ended: Vec<IpAddr> = by_ip
                .iter()
                .filter(|(_, b)| !b.live_at(now))
                .map(|(ip, _)| *ip)
                .collect();
            for ip in ended {
                if let Some(r) = by_ip.remove(&ip) {
                    expired.push(r);
                }
            }
        }
        self.bans.retain(|_, m| !m.is_empty());
        for r in &expired {
            self.remember(r, now);
        }
        let age = self.history_age;
        self.history.retain(|p| p.last >= now - age);
        expired
    }

    fn remember(&mut self, record: &BanRecord, now: f64) {
        let last = record.until.unwrap_or(now).min(now);
        match self
            .history
            .iter_mut()
            .find(|p| p.ip == record.ip && p.jail == record.jail)
        {
            Some(p) => {
                p.count = p.count.saturating_add(1);
                p.last = p.last.max(last);
            }
            None => {
                if self.history.len() >= MAX_HISTORY {
                    self.history.remove(0);
                }
                self.history.push(PastBan {
                    jail: record.jail.clone(),
                    ip: record.ip,
                    count: 1,
                    last,
                });
            }
        }
    }
}

/// Forgets the `count` addresses whose last failure is oldest (by log time, then arrival).
fn evict_oldest(by_ip: &mut BTreeMap<IpAddr, Vec<Failure>>, count: usize) {
    let mut last: Vec<(f64, u64, IpAddr)> = by_ip
        .iter()
        .map(|(ip, v)| {
            v.last()
                .map_or((f64::MIN, 0, *ip), |f| (f.time, f.seq, *ip))
        })
        .collect();
    let Some(i) = count.checked_sub(1).filter(|&i| i < last.len()) else {
        by_ip.clear();
        return;
    };
    last.select_nth_unstable_by(i, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (.., ip) in last.get(..count).unwrap_or_default() {
        by_ip.remove(ip);
    }
}

/// One version of the state file as the file system shows it: a writer replaces the file by
/// rename, so a new version has a new inode (and usually a new size and time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp {
            inode,
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// The state directory: `state.json` and its lock.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

/// An exclusive hold on the state directory, released when dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>) -> StateDir {
        StateDir { dir: dir.into() }
    }

    pub fn file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Creates the directory (mode 0700) and takes the lock, waiting for other holders.
    pub fn lock(&self) -> Result<StateLock, StateError> {
        fs_err::create_dir_all(&self.dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700));
        }
        let path = self.dir.join("state.lock");
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        let (file, _) = file.into_parts();
        file.lock().map_err(|e| {
            std::io::Error::new(e.kind(), format!("locking {}: {e}", path.display()))
        })?;
        Ok(StateLock { _file: file })
    }

    /// Reads the state (an empty state when there is no file yet).
    pub fn load(&self) -> Result<State, StateError> {
        let path = self.file();
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("failed to open {}: {e}", path.display()),
                )
                .into());
            }
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if size > MAX_STATE_BYTES {
            return Err(StateError::TooLarge { path, size });
        }
        let text = fs_err::read(&path)?;
        State::parse(&text, &path)
    }

    /// Writes the state atomically: a temporary file in the directory, synced, then renamed
    /// over `state.json`.
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        fs_err::create_dir_all(&self.dir)?;
        let path = self.file();
        let text = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
        let tmp = self
            .dir
            .join(format!(".state.json.{}.tmp", std::process::id()));
        {
            let mut f = fs_err::File::create(&tmp)?;
            f.write_all(&text)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        fs_err::rename(&tmp, &path)?;
        Ok(())
    }

    /// The current version of the state file (`None`: there is none). A caller that keeps the
    /// state in memory compares it with the stamp after its own last load or save, and reads
    /// the file again only when someone else (`ban`, `unban`) replaced it.
    pub fn stamp(&self) -> Result<Option<Stamp>, StateError> {
        match std::fs::metadata(self.file()) {
            Ok(meta) => Ok(Some(Stamp::of(&meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(std::io::Error::new(
                e.kind(),
                format!(
                    "failed to read the metadata of {}: {e}",
                    self.file().display()
                ),
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(jail: &str, ip: &str, start: f64, len: f64) -> BanRecord {
        BanRecord {
            jail: jail.into(),
            ip: ip.parse().unwrap(),
            start,
            until: (len >= 0.0).then_some(start + len),
            bantime: len,
            nth: 1,
            failures: 5,
            first_failure: Some(start - 10.0),
            maxretry: 5,
            findtime: 600.0,
            users: vec!["root".into()],
            samples: vec!["Failed password for root".into()],
            reason: "5 failures".into(),
            manual: false,
        }
    }

    #[test]
    fn save_load_round_trip_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::new(dir.path().join("state"));
        let _lock = sd.lock().unwrap();
        assert_eq!(sd.load().unwrap(), State::new());
        let mut s = State::new();
        s.insert_ban(record("sshd", "198.51.100.7", 1000.0, 600.0), 1000.0);
        s.insert_ban(record("sshd", "2001:db8::7", 1000.0, -1.0), 1000.0);
        s.positions.insert(
            "/var/log/auth.log".into(),
            Position {
                dev: 1,
                inode: 2,
                offset: 3,
                first_line: "ab".into(),
            },
        );
        s.cursors.insert("sshd".into(), "s=abc;i=1".into());
        sd.save(&s).unwrap();
        let mut back = sd.load().unwrap();
        assert_eq!(back, s);
        let expired = back.expire(1601.0);
        assert_eq!(expired.len(), 1);
        assert_eq!(back.all_bans().count(), 1, "the permanent ban stays");
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(back.previous_bans(ip, Some("sshd"), 1601.0), 1);
        assert_eq!(back.previous_bans(ip, Some("other"), 1601.0), 0);
        assert_eq!(back.previous_bans(ip, None, 1601.0), 1);
        // History ends after history_age.
        back.expire(1601.0 + back.history_age + 10.0);
        assert_eq!(
            back.previous_bans(ip, None, 1601.0 + back.history_age + 10.0),
            0
        );
    }

    #[test]
    fn bad_files_are_errors_with_line() {
        let p = Path::new("/s/state.json");
        let err = State::parse(b"{\n\"schema\": 1,\n\"bans\": 7}", p).unwrap_err();
        assert!(err.to_string().starts_with("/s/state.json:3:"), "{err}");
        let err = State::parse(br#"{"schema": 99}"#, p).unwrap_err();
        assert!(matches!(err, StateError::Schema { found: 99, .. }));
    }

    #[test]
    fn remove_ban_from_one_or_all_jails() {
        let mut s = State::new();
        s.insert_ban(record("sshd", "198.51.100.7", 0.0, 600.0), 0.0);
        s.insert_ban(record("nginx", "198.51.100.7", 0.0, 600.0), 0.0);
        let ip = "198.51.100.7".parse().unwrap();
        assert_eq!(s.remove_ban(ip, Some("nginx"), 1.0).len(), 1);
        assert!(s.ban("sshd", ip).is_some());
        assert_eq!(s.remove_ban(ip, None, 1.0).len(), 1);
        assert_eq!(s.all_bans().count(), 0);
    }

    #[test]
    fn tracked_addresses_and_live_bans_are_bounded_oldest_first() {
        let mut s = State::new();
        let ip = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        let n = 3 * MAX_TRACKED as u32;
        for i in 0..n {
            let seq = s.next_seq();
            // Whole seconds: a thousand failures in each.
            s.failures_mut("sshd", ip(i)).push(Failure {
                seq,
                time: f64::from(i / 1000),
                sample: String::new(),
                user: None,
            });
            assert!(s.failures["sshd"].len() <= MAX_TRACKED);
        }
        // The newest stay (in arrival order within a second), the oldest went.
        let kept = (MAX_TRACKED - MAX_TRACKED / EVICT_SHARE) as u32;
        assert!((n - kept..n).all(|i| s.failures["sshd"].contains_key(&ip(i))));
        assert!(!s.failures["sshd"].contains_key(&ip(0)));
        for i in 0..(MAX_BANS as u32 + 10) {
            s.insert_ban(record("sshd", &ip(i).to_string(), f64::from(i), 600.0), 0.0);
        }
        assert_eq!(s.bans["sshd"].len(), MAX_BANS);
        let lifted: Vec<IpAddr> = s.evicted.iter().map(|b| b.ip).collect();
        assert_eq!(lifted, (0..10).map(ip).collect::<Vec<_>>());
    }

    #[test]
    fn the_stamp_changes_only_when_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::new(dir.path().join("state"));
        assert_eq!(sd.stamp().unwrap(), None);
        sd.save(&State::new()).unwrap();
        let first = sd.stamp().unwrap();
        assert!(first.is_some());
        assert_eq!(sd.stamp().unwrap(), first);
        sd.save(&State::new()).unwrap();
        assert_ne!(sd.stamp().unwrap(), first);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = State::parse(&bytes, Path::new("x"));
        }

        #[test]
        fn round_trips(start in 0u32.., len in -1i32..10_000_000, a in any::<u32>()) {
            // Whole seconds: serde_json's default float parsing may differ in the last bit.
            let (start, len) = (f64::from(start), f64::from(len));
            let mut s = State::new();
            let ip = std::net::Ipv4Addr::from(a).to_string();
            s.insert_ban(record("j", &ip, start, len), start);
            let text = serde_json::to_vec(&s).unwrap();
            prop_assert_eq!(State::parse(&text, Path::new("x")).unwrap(), s);
        }
    }
}
