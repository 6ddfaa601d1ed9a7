//! `watch`: report changes as they happen, between full checks.
//!
//! [`FimWatcher`] asks the kernel for change events on every watched tree (inotify on
//! Linux, through the `notify` crate) and, once a burst of events has gone quiet, compares
//! just the paths the events named with the baseline ([`crate::check_scoped`]). Events
//! can be missed: the kernel queue overflows, the per-user watch limit runs out, a file
//! changes in a new directory before its watch exists. So a full check also runs at start
//! and then every [`WatchOptions::full_check_every`], and at once after an overflow.
//!
//! The baseline is not changed by watching, so a change stays a difference until someone
//! runs `update`. Each difference is reported once: again only when it changes further
//! (new values), or after it went away and came back.
//!
//! A watched directory that is deleted and re-created gets a new watch: inside a tree the
//! recursive watch adds it; for a tree's top directory, before and after every check its
//! (device, inode) is compared with the one being watched, and an event saying it went away
//! drops the watch at once (a file system such as ext4 gives a re-created directory the
//! inode number of the deleted one, so the comparison alone can miss a replacement).
//!
//! The directory above each tree is watched too (not recursively): it sees the tree come
//! back, and the entries beside the tree that a rule also selects (an AIDE rule `/etc` is
//! a regex that selects `/etc-` and `/etc.bak` as well), which would otherwise wait for the
//! next full check. Its other entries are ignored.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::baseline::VerifiedBaseline;
use crate::check::{Change, ChangeKind, CheckError, CheckOptions, check_scoped, check_verified};
use crate::entry::{FileKind, as_path, display_path, fs_path};
use crate::rules::FimConfig;
use crate::walk::Issue;

/// Above this many paths named by one burst of events, the whole tree is compared.
const MAX_SCOPED_PATHS: usize = 512;

/// Timing of a watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// How long events must stop before the paths they named are checked: a package
    /// upgrade or `git checkout` is one report, not thousands.
    pub debounce: Duration,
    /// The longest a stream of events may put its check off (a file written to without
    /// pause is still checked).
    pub max_delay: Duration,
    /// How often a full check runs; `None`: only at start and after a missed-events signal.
    pub full_check_every: Option<Duration>,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            debounce: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            full_check_every: Some(Duration::from_secs(3600)),
        }
    }
}

/// The watch could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The baseline could not be read or verified (or was damaged while watching).
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The kernel's change notification could not be set up at all.
    #[error("cannot watch for file changes: {source}")]
    Notify {
        #[source]
        source: notify::Error,
    },
}

/// Why a check ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The full check when the watch starts.
    Start,
    /// Events named these many paths (counted up to a limit, past which the whole tree is
    /// compared).
    Events(usize),
    /// The periodic full check.
    Periodic,
    /// A full check because events may have been missed (queue overflow, watch error).
    Rescan,
}

impl Trigger {
    /// Whether the check covered every watched tree.
    pub fn is_full(self) -> bool {
        !matches!(self, Trigger::Events(_))
    }
}

/// What one check found that had not been reported yet.
#[derive(Debug, Clone)]
pub struct WatchBatch {
    pub trigger: Trigger,
    /// Differences from the baseline not reported before (or changed since), by path.
    pub changes: Vec<Change>,
    /// Problems with single paths during this check.
    pub issues: Vec<Issue>,
    /// Notes for the user: watches that could not be set, events that were lost, warnings
    /// of the check itself (each said once).
    pub warnings: Vec<String>,
    /// Entries the check looked at.
    pub entries: usize,
    /// Differences from the baseline known now (reported in this batch or before).
    pub outstanding: usize,
}

/// A watched tree's top directory.
struct Root {
    /// The path on disk (under the configuration's root).
    fs: PathBuf,
    /// `(dev, inode)` of the directory the watch is on; `None` when not watched.
    watching: Option<(u64, u64)>,
}

/// Watches the trees of a configuration and reports differences from a baseline.
pub struct FimWatcher {
    config: FimConfig,
    baseline_path: PathBuf,
    baseline: VerifiedBaseline,
    options: WatchOptions,
    watcher: RecommendedWatcher,
    events: Receiver<notify::Result<notify::Event>>,
    roots: Vec<Root>,
    /// Parent directories watched (not recursively) to see a watched tree come back.
    parents: HashSet<PathBuf>,
    /// Logical path → fingerprint of the difference last reported there.
    reported: HashMap<Box<[u8]>, String>,
    /// Warnings already given (each is said once).
    said: HashSet<String>,
    warnings: Vec<String>,
    dirty: BTreeSet<Vec<u8>>,
    rescan: bool,
    started: bool,
    next_full: Option<Instant>,
}

impl FimWatcher {
    /// Verifies the baseline and sets up the watches. Nothing is checked until the first
    /// [`FimWatcher::next_batch`], which runs the starting full check.
    pub fn new(
        config: FimConfig,
        baseline: &Path,
        options: WatchOptions,
    ) -> Result<FimWatcher, WatchError> {
        let verified = VerifiedBaseline::open(baseline).map_err(CheckError::from)?;
        let (tx, events) = channel();
        let watcher =
            notify::recommended_watcher(tx).map_err(|source| WatchError::Notify { source })?;
        let top = config.root.as_os_str().as_bytes().to_vec();
        let roots = config
            .watch_roots()
            .iter()
            .map(|r| Root {
                fs: as_path(&fs_path(&top, r)).to_path_buf(),
                watching: None,
            })
            .collect();
        let mut this = FimWatcher {
            config,
            baseline_path: baseline.to_path_buf(),
            baseline: verified,
            options,
            watcher,
            events,
            roots,
            parents: HashSet::new(),
            reported: HashMap::new(),
            said: HashSet::new(),
            warnings: Vec::new(),
            dirty: BTreeSet::new(),
            rescan: false,
            started: false,
            next_full: None,
        };
        this.ensure_watches();
        Ok(this)
    }

    /// Waits up to `wait` for something to check, checks it and returns what it found
    /// (possibly nothing new); `None` when `wait` passed with nothing to check. The first
    /// call runs the starting full check at once.
    pub fn next_batch(&mut self, wait: Duration) -> Result<Option<WatchBatch>, WatchError> {
        if !self.started {
            self.started = true;
            return self.full_check(Trigger::Start).map(Some);
        }
        let deadline = Instant::now() + wait;
        loop {
            if self.rescan {
                return self.full_check(Trigger::Rescan).map(Some);
            }
            let now = Instant::now();
            if self.next_full.is_some_and(|t| now >= t) {
                return self.full_check(Trigger::Periodic).map(Some);
            }
            if !self.dirty.is_empty() {
                self.settle();
                if self.rescan {
                    continue;
                }
                return self.scoped_check().map(Some);
            }
            let until = self.next_full.map_or(deadline, |t| t.min(deadline));
            if now >= until {
                if now >= deadline {
                    return Ok(None);
                }
                continue;
            }
            match self.events.recv_timeout(until - now) {
                Ok(event) => self.absorb_event(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // The watcher thread is gone: nothing more will come; keep the
                    // periodic checks going and say so once.
                    self.warn("file change events stopped; only full checks run now");
                    std::thread::sleep(until.saturating_duration_since(Instant::now()));
                }
            }
        }
    }

    /// The watched trees' top directories on disk.
    pub fn watched_roots(&self) -> Vec<PathBuf> {
        self.roots.iter().map(|r| r.fs.clone()).collect()
    }

    /// Collects the rest of a burst: until events stop for `debounce`, at most `max_delay`.
    fn settle(&mut self) {
        let start = Instant::now();
        loop {
            let left = self.options.max_delay.saturating_sub(start.elapsed());
            if left.is_zero() {
                return;
            }
            match self.events.recv_timeout(self.options.debounce.min(left)) {
                Ok(event) => self.absorb_event(event),
                Err(_) => return,
            }
        }
    }

    fn absorb_event(&mut self, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                self.warn(&format!(
                    "file change events may have been missed ({e}); running a full check"
                ));
                self.rescan = true;
                return;
            }
        };
        if event.need_rescan() {
            self.warn("the kernel's event queue overflowed; running a full check");
            self.rescan = true;
            return;
        }
        // Our own reads (hashing) open and close files: only writes matter.
        if let EventKind::Access(kind) = event.kind
            && kind != AccessKind::Close(AccessMode::Write)
        {
            return;
        }
        let top = self.config.root.as_os_str().as_bytes();
        for path in &event.paths {
            let bytes = path.as_os_str().as_bytes();
            let logical = if top.is_empty() || top == b"/" {
                Some(bytes)
            } else {
                bytes
                    .strip_prefix(top.strip_suffix(b"/").unwrap_or(top))
                    .filter(|rest| rest.starts_with(b"/"))
            };
            let Some(logical) = logical else { continue };
            let under = |p: &[u8], dir: &[u8]| {
                p == dir || dir == b"/" || (p.starts_with(dir) && p.get(dir.len()) == Some(&b'/'))
            };
            let gone = matches!(
                event.kind,
                EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
            );
            for root in &mut self.roots {
                if gone && root.fs == *path {
                    // The watch died with the directory (or stayed with it, moved away).
                    root.watching = None;
                }
            }
            // Events from a parent's watch about entries no rule selects are not ours.
            let ours = self
                .roots
                .iter()
                .any(|r| under(bytes, r.fs.as_os_str().as_bytes()))
                || self.selected_beside_a_tree(logical, path);
            // Past the limit the whole tree is compared anyway: stop collecting (this
            // also bounds the memory a flood of events can take).
            if ours && self.dirty.len() <= MAX_SCOPED_PATHS {
                self.dirty.insert(logical.to_vec());
            }
        }
    }

    /// Whether an entry a parent's watch reported (beside a watched tree, not in it) is one a
    /// rule selects. A removed entry's type is unknown: either a file or a directory will do.
    fn selected_beside_a_tree(&self, logical: &[u8], path: &Path) -> bool {
        if !path.parent().is_some_and(|p| self.parents.contains(p)) {
            return false;
        }
        let kinds = match std::fs::symlink_metadata(path) {
            Ok(meta) => vec![FileKind::from_mode(meta.mode())],
            Err(_) => vec![FileKind::File, FileKind::Dir],
        };
        kinds
            .into_iter()
            .any(|kind| self.config.rule_for(logical, kind).is_some())
    }

    fn warn(&mut self, message: &str) {
        if self.said.insert(message.to_owned()) {
            self.warnings.push(message.to_owned());
        }
    }

    /// Watches every tree whose top directory exists and is not watched yet (or was
    /// replaced), and the directory above each tree (not recursively): its events say when
    /// the tree comes back, and about the entries beside it that a rule selects.
    fn ensure_watches(&mut self) {
        let mut notes = Vec::new();
        let mut needed: HashSet<PathBuf> = HashSet::new();
        for root in &mut self.roots {
            let mut now = identity(&root.fs);
            if let Some(parent) = root.fs.parent() {
                needed.insert(parent.to_path_buf());
                if !self.parents.contains(parent) && parent.is_dir() {
                    match self.watcher.watch(parent, RecursiveMode::NonRecursive) {
                        Ok(()) => {
                            self.parents.insert(parent.to_path_buf());
                        }
                        Err(e) => notes.push(watch_failed(parent, &e)),
                    }
                    // It may have come back before the parent's watch existed.
                    now = identity(&root.fs);
                }
            }
            if now == root.watching {
                continue;
            }
            if root.watching.is_some() {
                // Gone or replaced: the old watch is dead or on the wrong directory.
                let _ = self.watcher.unwatch(&root.fs);
                root.watching = None;
            }
            if now.is_none() {
                continue;
            }
            match self.watcher.watch(&root.fs, RecursiveMode::Recursive) {
                Ok(()) => root.watching = now,
                Err(e) => {
                    notes.push(watch_failed(&root.fs, &e));
                    // Do not retry on every check; the full checks cover it.
                    root.watching = now;
                }
            }
        }
        // Parents no tree needs any more (one that was itself deleted).
        let done: Vec<PathBuf> = self
            .parents
            .iter()
            .filter(|p| !needed.contains(*p))
            .cloned()
            .collect();
        for parent in done {
            let _ = self.watcher.unwatch(&parent);
            self.parents.remove(&parent);
        }
        for note in notes {
            self.warn(&note);
        }
    }

    fn full_check(&mut self, trigger: Trigger) -> Result<WatchBatch, WatchError> {
        self.rescan = false;
        // Paths named by events are covered by this check.
        self.dirty.clear();
        // Re-read the baseline: `update` may have accepted changes since.
        self.baseline = VerifiedBaseline::open(&self.baseline_path).map_err(CheckError::from)?;
        // Watches first, then the check: what changes after a watch exists is an event, what
        // changed before it is in the check (watching only after would leave a blind gap).
        self.ensure_watches();
        let outcome = check_verified(&self.config, &self.baseline, &CheckOptions::default())?;
        self.ensure_watches();
        self.next_full = self.options.full_check_every.map(|d| Instant::now() + d);
        Ok(self.batch(trigger, outcome, None))
    }

    fn scoped_check(&mut self) -> Result<WatchBatch, WatchError> {
        let scope: Vec<Vec<u8>> = std::mem::take(&mut self.dirty).into_iter().collect();
        self.ensure_watches();
        if scope.len() > MAX_SCOPED_PATHS {
            // Matching every baseline entry against thousands of paths (a package upgrade)
            // costs more than comparing everything.
            let outcome = check_verified(&self.config, &self.baseline, &CheckOptions::default())?;
            self.ensure_watches();
            return Ok(self.batch(Trigger::Events(scope.len()), outcome, None));
        }
        let outcome = check_scoped(
            &self.config,
            &self.baseline,
            &scope,
            &CheckOptions::default(),
        )?;
        self.ensure_watches();
        Ok(self.batch(Trigger::Events(scope.len()), outcome, Some(&scope)))
    }

    /// Keeps what was not reported yet; forgets reported differences that the check
    /// covered and no longer found (so they are reported again should they come back).
    fn batch(
        &mut self,
        trigger: Trigger,
        outcome: crate::CheckOutcome,
        scope: Option<&[Vec<u8>]>,
    ) -> WatchBatch {
        let covered = |path: &[u8]| {
            scope.is_none_or(|s| {
                s.iter().any(|p| {
                    path == p.as_slice()
                        || p.as_slice() == b"/"
                        || (path.starts_with(p) && path.get(p.len()) == Some(&b'/'))
                })
            })
        };
        let found: HashSet<&[u8]> = outcome.changes.iter().map(|c| c.path.as_ref()).collect();
        self.reported
            .retain(|path, _| !covered(path) || found.contains(path.as_ref()));
        let mut changes = Vec::new();
        let top = self.config.root.as_os_str().as_bytes().to_vec();
        for change in outcome.changes {
            let fingerprint = signature(&change, &top);
            if self.reported.get(&change.path) != Some(&fingerprint) {
                self.reported.insert(change.path.clone(), fingerprint);
                changes.push(change);
            }
        }
        for warning in outcome.warnings {
            self.warn(&warning);
        }
        WatchBatch {
            trigger,
            changes,
            issues: outcome.issues,
            warnings: std::mem::take(&mut self.warnings),
            entries: outcome.stats.entries,
            outstanding: self.reported.len(),
        }
    }
}

/// What makes a difference "the same" as one reported before: its kind and the new
/// values, except a directory's times, which move whenever an entry comes or goes (those
/// entries are reported themselves). An added entry has no values to compare (nothing was
/// recorded): its inode, size and times on disk stand for them, so a new file that is
/// written to again is reported again.
fn signature(change: &Change, top: &[u8]) -> String {
    let mut out = format!("{:?}|{:?}", change.kind, change.category);
    if change.kind == ChangeKind::Added
        && change.file_kind != FileKind::Dir
        && let Ok(meta) = std::fs::symlink_metadata(as_path(&fs_path(top, &change.path)))
    {
        out.push_str(&format!(
            "|now={}:{}:{}.{}:{}.{}",
            meta.ino(),
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec()
        ));
    }
    for a in &change.attrs {
        out.push('|');
        out.push_str(a.attr.name());
        let dir_time = change.file_kind == FileKind::Dir
            && matches!(a.attr, crate::Attr::Mtime | crate::Attr::Ctime);
        if !dir_time {
            out.push('=');
            out.push_str(&a.new);
        }
    }
    out
}

/// `(dev, inode)` of a path (not followed), or `None` when it does not exist.
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

fn watch_failed(path: &Path, err: &notify::Error) -> String {
    let why = match &err.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the inotify watch limit is reached (raise fs.inotify.max_user_watches)".to_owned()
        }
        other => format!("{other:?}"),
    };
    format!(
        "cannot watch {} for changes: {why}; the periodic full checks still cover it",
        display_path(path.as_os_str().as_bytes())
    )
}
