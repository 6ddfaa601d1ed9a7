//! The parallel walk: lists the selected entries with their metadata, then hashes.
//!
//! Directories are read in parallel (one rayon task per directory, queued rather than
//! nested, so a deep tree never deepens the stack). Symlinks are never followed. Each
//! problem with one path becomes an [`Issue`] and the walk goes on.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde::Serialize;

use crate::attrs::Attr;
use crate::entry::{
    Entry, FLAG_UNREADABLE, FileKind, ReadError, as_path, display_path, fs_path, hash_file,
    read_xattrs,
};
use crate::rules::{FimConfig, ancestors_of};

/// Directories nested deeper than this are not entered (and said so): no real system
/// needs it, and it bounds the walk on a hostile tree.
pub const MAX_DEPTH: usize = 512;

/// What kind of problem one path had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueKind {
    /// Could not be read (permission denied, I/O error): the result is incomplete.
    Unreadable,
    /// Disappeared while the walk was looking at it.
    Vanished,
    /// Replaced by another file between the walk and the read; not hashed this time.
    Replaced,
    /// A directory that contains itself (a bind mount loop); not entered again.
    Loop,
    /// Nested deeper than [`MAX_DEPTH`]; not entered.
    TooDeep,
    /// A mount point of another file system, not entered because of `one-filesystem`.
    OtherFilesystem,
}

/// A problem with one path. The run went on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub path: String,
    pub kind: IssueKind,
    pub message: String,
}

impl Issue {
    /// True when the problem makes the result incomplete (the run should exit 2);
    /// vanished and replaced files are normal on a live system and only warned about.
    pub fn is_error(&self) -> bool {
        matches!(
            self.kind,
            IssueKind::Unreadable | IssueKind::Loop | IssueKind::TooDeep
        )
    }

    fn io(path: &[u8], what: &str, err: &io::Error) -> Issue {
        if err.kind() == io::ErrorKind::NotFound {
            Issue {
                path: display_path(path),
                kind: IssueKind::Vanished,
                message: format!("vanished while {what}"),
            }
        } else {
            Issue {
                path: display_path(path),
                kind: IssueKind::Unreadable,
                message: format!("cannot {what}: {err}"),
            }
        }
    }

    pub(crate) fn from_read(err: &ReadError) -> Issue {
        let (path, kind) = match err {
            ReadError::Io { path, .. } => (path, IssueKind::Unreadable),
            ReadError::Vanished { path } => (path, IssueKind::Vanished),
            ReadError::Replaced { path } => (path, IssueKind::Replaced),
        };
        let mut message = err.to_string();
        if let ReadError::Io { source, .. } = err {
            message = format!("{message}: {source}");
        }
        Issue {
            path: path.clone(),
            kind,
            message,
        }
    }
}

/// Progress of a long run, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Entries looked at so far.
    Walked(u64),
    /// Bytes hashed so far, of the total that needs hashing.
    Hashed { done: u64, total: u64 },
}

/// A callback for [`Progress`]; called from several threads.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Sync);

/// The result of a walk: entries sorted by path, and the problems met.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub entries: Vec<Entry>,
    pub issues: Vec<Issue>,
}

/// Directories on the way down, to notice a directory that contains itself.
struct Chain {
    dev: u64,
    inode: u64,
    depth: usize,
    parent: Option<Arc<Chain>>,
}

impl Chain {
    fn contains(&self, dev: u64, inode: u64) -> bool {
        let mut link = Some(self);
        while let Some(c) = link {
            if c.dev == dev && c.inode == inode {
                return true;
            }
            link = c.parent.as_deref();
        }
        false
    }
}

struct Walker<'a> {
    config: &'a FimConfig,
    root: Vec<u8>,
    entries: Mutex<Vec<Entry>>,
    issues: Mutex<Vec<Issue>>,
    seen: AtomicU64,
    progress: Option<ProgressFn<'a>>,
}

/// Walks every root of `config` and returns the selected entries, without hashes.
pub(crate) fn walk(config: &FimConfig, progress: Option<ProgressFn<'_>>) -> Scan {
    walk_from(config, &config.walk_roots(), progress)
}

/// Walks only from `roots` (logical paths at or under the walk roots of `config`, none
/// inside another), making the same decisions a full walk makes there.
pub(crate) fn walk_from(
    config: &FimConfig,
    roots: &[Vec<u8>],
    progress: Option<ProgressFn<'_>>,
) -> Scan {
    let walker = Walker {
        config,
        root: config.root.as_os_str().as_bytes().to_vec(),
        entries: Mutex::new(Vec::new()),
        issues: Mutex::new(Vec::new()),
        seen: AtomicU64::new(0),
        progress,
    };
    rayon::scope(|scope| {
        for root in roots {
            walker.start(scope, root.clone());
        }
    });
    let mut entries = walker
        .entries
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let mut issues = walker
        .issues
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    entries.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
    issues.sort_by(|a, b| a.path.cmp(&b.path));
    Scan { entries, issues }
}

impl<'a> Walker<'a> {
    fn issue(&self, issue: Issue) {
        if let Ok(mut issues) = self.issues.lock() {
            issues.push(issue);
        }
    }

    fn start<'s>(&'s self, scope: &rayon::Scope<'s>, root: Vec<u8>) {
        // Apply the decisions of the directories above the root, as a walk from `/` would.
        let (ancestors, _) = ancestors_of(&root);
        let mut excluded_above: Option<Vec<u8>> = None;
        for ancestor in ancestors {
            let d = self
                .config
                .decide(ancestor, FileKind::Dir, excluded_above.as_deref());
            if !d.descend {
                return;
            }
            if d.excluded_dir {
                excluded_above = Some(ancestor.to_vec());
            }
        }
        let fs = fs_path(&self.root, &root);
        let meta = match fs::symlink_metadata(as_path(&fs)) {
            Ok(meta) => meta,
            // Built-in groups name paths many hosts lack (/lib64, /srv/www): not an issue.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => return self.issue(Issue::io(&root, "read its metadata", &e)),
        };
        let kind = FileKind::from_mode(meta.mode());
        let decision = self.config.decide(&root, kind, excluded_above.as_deref());
        if let Some(rule) = decision.record
            && let Some(entry) = self.record(root.clone(), &meta, rule)
            && let Ok(mut entries) = self.entries.lock()
        {
            entries.push(entry);
        }
        if decision.descend && kind == FileKind::Dir {
            let chain = Arc::new(Chain {
                dev: meta.dev(),
                inode: meta.ino(),
                depth: 0,
                parent: None,
            });
            let excluded = if decision.excluded_dir {
                Some(Arc::from(root.as_slice()))
            } else {
                excluded_above.map(Arc::from)
            };
            let root_dev = meta.dev();
            scope.spawn(move |s| self.walk_dir(s, root, excluded, chain, root_dev));
        }
    }

    fn walk_dir<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        dir: Vec<u8>,
        excluded_above: Option<Arc<[u8]>>,
        chain: Arc<Chain>,
        root_dev: u64,
    ) {
        let fs = fs_path(&self.root, &dir);
        let reader = match fs::read_dir(as_path(&fs)) {
            Ok(reader) => reader,
            Err(e) => return self.issue(Issue::io(&dir, "list the directory", &e)),
        };
        let mut local = Vec::new();
        let mut count = 0u64;
        for item in reader {
            let item = match item {
                Ok(item) => item,
                Err(e) => {
                    self.issue(Issue::io(&dir, "list the directory", &e));
                    break;
                }
            };
            count += 1;
            let name = item.file_name();
            let mut child = Vec::with_capacity(dir.len() + 1 + name.len());
            child.extend_from_slice(&dir);
            if !dir.ends_with(b"/") {
                child.push(b'/');
            }
            child.extend_from_slice(name.as_bytes());

            // The type from the directory listing avoids an lstat for what is skipped.
            let listed_kind = match item.file_type() {
                Ok(t) if t.is_dir() => FileKind::Dir,
                Ok(t) if t.is_symlink() => FileKind::Symlink,
                Ok(t) if t.is_file() => FileKind::File,
                _ => FileKind::Other,
            };
            let mut decision = self
                .config
                .decide(&child, listed_kind, excluded_above.as_deref());
            if decision.record.is_none() && !decision.descend && listed_kind != FileKind::Other {
                continue;
            }
            let meta = match item.metadata() {
                Ok(meta) => meta,
                Err(e) => {
                    self.issue(Issue::io(&child, "read its metadata", &e));
                    continue;
                }
            };
            let kind = FileKind::from_mode(meta.mode());
            if kind != listed_kind {
                decision = self.config.decide(&child, kind, excluded_above.as_deref());
            }
            if let Some(rule) = decision.record
                && let Some(entry) = self.record(child.clone(), &meta, rule)
            {
                local.push(entry);
            }
            if !(decision.descend && kind == FileKind::Dir) {
                continue;
            }
            if self.config.one_filesystem && meta.dev() != root_dev {
                self.issue(Issue {
                    path: display_path(&child),
                    kind: IssueKind::OtherFilesystem,
                    message: "not entered: another file system (one-filesystem)".into(),
                });
                continue;
            }
            if chain.contains(meta.dev(), meta.ino()) {
                self.issue(Issue {
                    path: display_path(&child),
                    kind: IssueKind::Loop,
                    message: "not entered: the directory contains itself (a bind mount loop?)"
                        .into(),
                });
                continue;
            }
            if chain.depth + 1 > MAX_DEPTH {
                self.issue(Issue {
                    path: display_path(&child),
                    kind: IssueKind::TooDeep,
                    message: format!("not entered: more than {MAX_DEPTH} directories deep"),
                });
                continue;
            }
            let next = Arc::new(Chain {
                dev: meta.dev(),
                inode: meta.ino(),
                depth: chain.depth + 1,
                parent: Some(chain.clone()),
            });
            let excluded = if decision.excluded_dir {
                Some(Arc::from(child.as_slice()))
            } else {
                excluded_above.clone()
            };
            scope.spawn(move |s| self.walk_dir(s, child, excluded, next, root_dev));
        }
        if !local.is_empty()
            && let Ok(mut entries) = self.entries.lock()
        {
            entries.append(&mut local);
        }
        let seen = self.seen.fetch_add(count, Ordering::Relaxed) + count;
        if let Some(progress) = self.progress {
            progress(Progress::Walked(seen));
        }
    }

    /// Builds the entry for a selected path: metadata, link target, extended attributes.
    fn record(&self, path: Vec<u8>, meta: &fs::Metadata, rule: usize) -> Option<Entry> {
        let attrs = self.config.rule(rule)?.attrs;
        let mut entry = Entry::from_metadata(path.into_boxed_slice(), meta, attrs);
        let fs = fs_path(&self.root, &entry.path);
        if entry.kind == FileKind::Symlink && attrs.contains(Attr::Target) {
            match fs::read_link(as_path(&fs)) {
                Ok(target) => entry.target = Some(target.as_os_str().as_bytes().into()),
                Err(e) => {
                    self.issue(Issue::io(&entry.path, "read the link target", &e));
                    entry.flags |= FLAG_UNREADABLE;
                }
            }
        }
        if attrs.contains(Attr::Xattrs) || attrs.contains(Attr::Acl) {
            match read_xattrs(&fs, &entry.path, attrs) {
                Ok(xattrs) => entry.xattrs = xattrs,
                Err(e) => self.issue(Issue::from_read(&e)),
            }
        }
        Some(entry)
    }
}

/// Hashes, in parallel, every entry for which `select` says so. A file that cannot be read
/// is marked unreadable (its hashes are then never compared) and reported as an issue.
pub(crate) fn hash_entries(
    config: &FimConfig,
    entries: &mut [Entry],
    select: &(dyn Fn(&Entry) -> bool + Sync),
    progress: Option<ProgressFn<'_>>,
) -> Vec<Issue> {
    let root = config.root.as_os_str().as_bytes();
    let total: u64 = entries.iter().filter(|e| select(e)).map(|e| e.size).sum();
    let done = AtomicU64::new(0);
    let issues = Mutex::new(Vec::new());
    entries
        .par_iter_mut()
        .filter(|e| select(e))
        .for_each(|entry| {
            let fs = fs_path(root, &entry.path);
            let algos = entry
                .attrs
                .intersection(crate::attrs::AttrSet::from_attrs(&[
                    Attr::Blake3,
                    Attr::Sha256,
                    Attr::Sha512,
                ]));
            match hash_file(&fs, &entry.path, entry.dev, entry.inode, algos, None) {
                Ok(hashes) => entry.hashes = hashes,
                Err(e) => {
                    entry.flags |= FLAG_UNREADABLE;
                    if let Ok(mut issues) = issues.lock() {
                        issues.push(Issue::from_read(&e));
                    }
                }
            }
            let now = done.fetch_add(entry.size, Ordering::Relaxed) + entry.size;
            if let Some(progress) = progress {
                progress(Progress::Hashed { done: now, total });
            }
        });
    let mut issues = issues.into_inner().unwrap_or_else(|e| e.into_inner());
    issues.sort_by(|a, b| a.path.cmp(&b.path));
    issues
}
