//! `init`, `check` and `update`: recording a baseline, comparing the tree with it, and
//! accepting the current state.
//!
//! A check walks the tree (metadata only), then streams the baseline in path order and
//! merges the two. A file whose size, mtime, ctime, inode and device are all unchanged
//! keeps the hashes recorded in the baseline and is not read again; everything else that
//! needs a hash is hashed in parallel. See the crate documentation for the trade-off and
//! for `full`, which re-hashes everything.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use allclear_core::{Finding, Fix, Location, Severity};
use rayon::prelude::*;
use serde::Serialize;

use crate::attrs::{Attr, AttrSet};
use crate::baseline::{
    Baseline, BaselineError, BaselineHeader, VerifiedBaseline, encode, write_atomic,
};
use crate::dpkg::{DpkgEvent, PackageIndex, last_install};
use crate::entry::{Entry, FileKind, Hashes, Xattr, display_path, fs_path, hash_file, md5_file};
use crate::rules::FimConfig;
use crate::walk::{Issue, ProgressFn, hash_entries, walk, walk_from};
use std::os::unix::ffi::OsStrExt;

/// `init`, `check` or `update` could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The baseline could not be read, verified or written.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// A path given to `update` is not absolute.
    #[error("`{path}` is not an absolute path")]
    RelativePath { path: String },
}

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// How a change is judged; reports list tampering first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Nothing explains it: someone should look.
    Tampering,
    /// The new content is what dpkg installed (and dpkg's log says when).
    PackageUpdate,
    /// Normal churn the rules allow for (a log rotated).
    Expected,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Tampering => "tampering",
            Category::PackageUpdate => "package-update",
            Category::Expected => "expected",
        }
    }
}

/// Every rule `check`, `update` and `verify_packages` report.
pub const RULES: &[allclear_core::RuleDoc] = &[
    allclear_core::RuleDoc {
        id: "fim.changed",
        severity: Severity::High,
        severity_note: "the fim group's: high for binaries and /etc, critical for SSH, cron and systemd",
        title: "Watched file changed",
        what: "A watched entry's attributes differ from the baseline; the finding lists each one, old → new.",
        why: "Replaced binaries, edited configuration and loosened permissions are how intruders persist.",
        example: "/usr/sbin/sshd: size, mtime, ctime, inode, blake3 changed",
        fix: "Find out who changed it. If expected, accept it with `allclear host fim update PATH`; if not, restore it (for package files: `apt-get install --reinstall PACKAGE`).",
    },
    allclear_core::RuleDoc {
        id: "fim.added",
        severity: Severity::High,
        severity_note: "the fim group's",
        title: "File added under a watched path",
        what: "An entry exists that the baseline does not have.",
        why: "New setuid binaries, cron jobs, systemd units and web shells are added files.",
        example: "/etc/cron.d/backdoor: new file",
        fix: "Remove it if unexpected, else accept it with `allclear host fim update PATH`.",
    },
    allclear_core::RuleDoc {
        id: "fim.removed",
        severity: Severity::High,
        severity_note: "the fim group's",
        title: "Watched file removed",
        what: "An entry in the baseline no longer exists.",
        why: "Deleted logs and removed security tools hide an intrusion.",
        example: "/var/log/auth.log: file removed",
        fix: "Restore it if unexpected, else accept with `allclear host fim update PATH`.",
    },
    allclear_core::RuleDoc {
        id: "fim.package-update",
        severity: Severity::Low,
        severity_note: "",
        title: "File changed by a package update",
        what: "A changed or added file whose new content matches dpkg's MD5 record (and, for same-content reinstalls, dpkg's log shows the install).",
        why: "Package upgrades change thousands of files; separating them keeps real tampering visible.",
        example: "/usr/bin/hello: updated by package hello:amd64",
        fix: "Nothing to investigate; run `allclear host fim update` after upgrades to accept the new state.",
    },
    allclear_core::RuleDoc {
        id: "fim.rotated",
        severity: Severity::Info,
        severity_note: "",
        title: "Log file rotated",
        what: "A growing file (a log) was replaced by a smaller one: rotated.",
        why: "Expected churn, reported so rotation is not mistaken for wiping.",
        example: "/var/log/syslog: log rotated",
        fix: "None needed.",
    },
    allclear_core::RuleDoc {
        id: "fim.package-modified",
        severity: Severity::High,
        severity_note: "",
        title: "Package file differs from dpkg's record",
        what: "`verify-packages`: an installed package file's content differs from dpkg's MD5 record, or it is no longer a regular file.",
        why: "Catches a replaced binary even on a host that never recorded a baseline.",
        example: "/usr/sbin/sshd: differs from package openssh-server",
        fix: "`apt-get install --reinstall PACKAGE`, then find out who changed it.",
    },
    allclear_core::RuleDoc {
        id: "fim.package-missing",
        severity: Severity::Medium,
        severity_note: "",
        title: "Package file missing",
        what: "`verify-packages`: a file dpkg installed is gone.",
        why: "Removed security tools or libraries; or a local cleanup that dpkg does not know about.",
        example: "/usr/bin/last: missing (installed by util-linux)",
        fix: "Reinstall the package, or remove the package if the file is not wanted.",
    },
];

/// One attribute that changed, with both values as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttrChange {
    pub attr: Attr,
    pub old: String,
    pub new: String,
}

/// One added, removed or changed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: Box<[u8]>,
    pub kind: ChangeKind,
    /// The type of the entry now (or, when removed, before).
    pub file_kind: FileKind,
    /// The group (or AIDE rule) that watches it.
    pub group: String,
    pub severity: Severity,
    pub category: Category,
    /// For `Changed`: exactly which watched attributes changed.
    pub attrs: Vec<AttrChange>,
    /// The package whose record the new content matches.
    pub package: Option<String>,
    /// The dpkg log line that installed or upgraded that package.
    pub dpkg_event: Option<DpkgEvent>,
    /// For an added entry with the inode of a removed one in the same check: where it
    /// came from (and for the removed one, where it went).
    pub renamed: Option<String>,
}

impl Change {
    /// The rule id of the finding.
    pub fn rule_id(&self) -> &'static str {
        match (self.category, self.kind) {
            (Category::PackageUpdate, _) => "fim.package-update",
            (Category::Expected, _) => "fim.rotated",
            (_, ChangeKind::Added) => "fim.added",
            (_, ChangeKind::Removed) => "fim.removed",
            (_, ChangeKind::Changed) => "fim.changed",
        }
    }

    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }

    /// The change as a finding. `details` carries `category`, `change`, `group`,
    /// `file_type`, `attributes` (`{name: {old, new}}`) and, where known, `package`,
    /// `dpkg` and `renamed`.
    pub fn to_finding(&self) -> Finding {
        let path = self.display_path();
        let names: Vec<&str> = self.attrs.iter().map(|c| c.attr.name()).collect();
        let title = match (self.category, self.kind) {
            (Category::PackageUpdate, _) => format!(
                "{path}: updated by package {}",
                self.package.as_deref().unwrap_or("?")
            ),
            (Category::Expected, _) => format!("{path}: log rotated"),
            (_, ChangeKind::Added) => format!("{path}: new {}", self.file_kind),
            (_, ChangeKind::Removed) => format!("{path}: {} removed", self.file_kind),
            (_, ChangeKind::Changed) => format!("{path}: {} changed", names.join(", ")),
        };
        // The key says what changed and to what, so accepting (ignoring) one change does
        // not hide a later, different one on the same file.
        let mut key = format!("{:?}", self.kind);
        for c in &self.attrs {
            let _ = write!(key, "|{}={}", c.attr.name(), c.new);
        }
        let key = blake3::hash(key.as_bytes()).to_hex()[..32].to_owned();

        let mut description = String::new();
        for c in &self.attrs {
            let _ = writeln!(description, "{}: {} → {}", c.attr.name(), c.old, c.new);
        }
        if let Some(pkg) = &self.package {
            let _ = writeln!(
                description,
                "The new content matches dpkg's record for {pkg}."
            );
        }
        if let Some(e) = &self.dpkg_event {
            let _ = writeln!(
                description,
                "dpkg log: {} {} {} → {} at {}",
                e.action, e.package, e.old_version, e.new_version, e.when
            );
        }
        if let Some(r) = &self.renamed {
            let _ = writeln!(description, "Same inode as {r} (renamed or moved).");
        }

        let attributes: serde_json::Map<String, serde_json::Value> = self
            .attrs
            .iter()
            .map(|c| {
                (
                    c.attr.name().to_owned(),
                    serde_json::json!({ "old": c.old, "new": c.new }),
                )
            })
            .collect();
        let mut finding = Finding::new(self.rule_id(), self.severity, title)
            .with_location(Location::new(path.clone()))
            .with_key(key)
            .with_detail("category", self.category.as_str())
            .with_detail(
                "change",
                match self.kind {
                    ChangeKind::Added => "added",
                    ChangeKind::Removed => "removed",
                    ChangeKind::Changed => "changed",
                },
            )
            .with_detail("group", self.group.clone())
            .with_detail("file_type", self.file_kind.name());
        if !attributes.is_empty() {
            finding = finding.with_detail("attributes", serde_json::Value::Object(attributes));
        }
        if let Some(pkg) = &self.package {
            finding = finding.with_detail("package", pkg.clone());
        }
        if let Some(e) = &self.dpkg_event
            && let Ok(v) = serde_json::to_value(e)
        {
            finding = finding.with_detail("dpkg", v);
        }
        if let Some(r) = &self.renamed {
            finding = finding.with_detail("renamed", r.clone());
        }
        if !description.is_empty() {
            finding = finding.with_description(description.trim_end().to_owned());
        }
        if self.category == Category::Tampering {
            finding = finding.with_fix(Fix {
                advice: Some(format!(
                    "Find out who changed {path} and why. If the change is expected, accept it \
                     with `allclear host fim update {path}`."
                )),
                ..Default::default()
            });
        }
        finding
    }
}

/// Options for `check` and `update`.
#[derive(Clone, Copy, Default)]
pub struct CheckOptions<'a> {
    /// Re-hash every file instead of trusting unchanged metadata (slower; catches content
    /// changed with size, mtime, ctime and inode all preserved).
    pub full: bool,
    pub progress: Option<ProgressFn<'a>>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckStats {
    /// Entries in the tree now.
    pub entries: usize,
    /// Entries in the baseline.
    pub baseline_entries: u64,
    pub hashed_files: usize,
    pub hashed_bytes: u64,
    /// Files whose hashes were taken from the baseline because their metadata is unchanged.
    pub reused_hashes: usize,
    /// Directory changes not reported because entries were added, removed or replaced in
    /// them (the change is the entries themselves).
    pub explained_dirs: usize,
    /// Baseline entries the current rules no longer select (dropped silently).
    pub no_longer_selected: usize,
    /// Entries compared on metadata only because the baseline lacks the hash the rules
    /// now ask for.
    pub missing_hashes: usize,
}

/// What a check found.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// Sorted by path.
    pub changes: Vec<Change>,
    /// Problems with single paths; [`Issue::is_error`] ones make the result incomplete.
    pub issues: Vec<Issue>,
    /// Things to tell the user that are not changes (rules changed since the baseline,
    /// package records unreadable).
    pub warnings: Vec<String>,
    pub stats: CheckStats,
    pub baseline: BaselineHeader,
}

impl CheckOutcome {
    /// Every change as a finding.
    pub fn findings(&self) -> Vec<Finding> {
        self.changes.iter().map(Change::to_finding).collect()
    }

    /// Counts of changes per category.
    pub fn counts(&self) -> HashMap<Category, usize> {
        let mut counts = HashMap::new();
        for c in &self.changes {
            *counts.entry(c.category).or_insert(0) += 1;
        }
        counts
    }
}

/// What `init` did.
#[derive(Debug, Clone)]
pub struct InitOutcome {
    pub entries: usize,
    pub hashed_files: usize,
    pub hashed_bytes: u64,
    pub issues: Vec<Issue>,
}

/// Walks and hashes the tree and returns it as a baseline (without writing it).
pub fn record(config: &FimConfig, progress: Option<ProgressFn<'_>>) -> (Baseline, Vec<Issue>) {
    let scan = walk(config, progress);
    let mut entries = scan.entries;
    let mut issues = scan.issues;
    issues.extend(hash_entries(
        config,
        &mut entries,
        &|e: &Entry| e.wants_hash(),
        progress,
    ));
    issues.sort_by(|a, b| a.path.cmp(&b.path));
    let header = header_for(config, entries.len() as u64);
    (Baseline { header, entries }, issues)
}

fn header_for(config: &FimConfig, entries: u64) -> BaselineHeader {
    BaselineHeader {
        created: jiff::Timestamp::now().to_string(),
        tool: format!("allclear-fim {}", env!("CARGO_PKG_VERSION")),
        rules_fingerprint: config.fingerprint().to_owned(),
        rules_source: config.source.clone(),
        root: config.root.display().to_string(),
        entries,
    }
}

/// Records a baseline and writes it to `path`. An existing file is an error unless
/// `replace` (and is checked before the walk, so a mistake costs nothing).
pub fn init(
    config: &FimConfig,
    path: &Path,
    replace: bool,
    progress: Option<ProgressFn<'_>>,
) -> Result<InitOutcome, CheckError> {
    if !replace && path.symlink_metadata().is_ok() {
        return Err(BaselineError::AlreadyExists {
            path: path.to_owned(),
        }
        .into());
    }
    let (baseline, issues) = record(config, progress);
    baseline.write(path, replace)?;
    let hashed: Vec<&Entry> = baseline
        .entries
        .iter()
        .filter(|e| !e.hashes.is_empty())
        .collect();
    Ok(InitOutcome {
        entries: baseline.entries.len(),
        hashed_files: hashed.len(),
        hashed_bytes: hashed.iter().map(|e| e.size).sum(),
        issues,
    })
}

/// Compares the tree with the baseline at `path`. The baseline is verified first; a
/// damaged one is an error, never a reference.
pub fn check(
    config: &FimConfig,
    path: &Path,
    options: &CheckOptions<'_>,
) -> Result<CheckOutcome, CheckError> {
    let verified = VerifiedBaseline::open(path)?;
    let (outcome, _) = compare(config, &verified, options, None, None)?;
    Ok(outcome)
}

/// [`check`] with a baseline already opened and verified (a watch keeps it in memory).
pub fn check_verified(
    config: &FimConfig,
    baseline: &VerifiedBaseline,
    options: &CheckOptions<'_>,
) -> Result<CheckOutcome, CheckError> {
    let (outcome, _) = compare(config, baseline, options, None, None)?;
    Ok(outcome)
}

/// Compares only the entries at or under `scope` (absolute logical paths) with an already
/// verified baseline: what `watch` does after events name those paths. Paths outside every
/// watched tree are ignored, and one above a watched tree stands for that tree. An empty
/// `scope` compares nothing; use [`check`] for everything.
pub fn check_scoped(
    config: &FimConfig,
    baseline: &VerifiedBaseline,
    scope: &[Vec<u8>],
    options: &CheckOptions<'_>,
) -> Result<CheckOutcome, CheckError> {
    let roots = scope_roots(config, scope);
    let (outcome, _) = compare(config, baseline, options, None, Some(&roots))?;
    Ok(outcome)
}

/// Clamps `scope` to the walk roots and drops paths inside other ones.
fn scope_roots(config: &FimConfig, scope: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let walk_roots = config.walk_roots();
    let under = |path: &[u8], dir: &[u8]| {
        path == dir || dir == b"/" || (path.starts_with(dir) && path.get(dir.len()) == Some(&b'/'))
    };
    let mut roots: Vec<Vec<u8>> = Vec::new();
    for path in scope {
        let trimmed = if path.len() > 1 {
            path.strip_suffix(b"/").unwrap_or(path)
        } else {
            path
        };
        if walk_roots.iter().any(|r| under(trimmed, r)) {
            roots.push(trimmed.to_vec());
        } else {
            roots.extend(walk_roots.iter().filter(|r| under(r, trimmed)).cloned());
        }
    }
    roots.sort();
    roots.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for root in roots {
        if !kept.iter().any(|k| under(&root, k)) {
            kept.push(root);
        }
    }
    kept
}

/// Accepts the current state into the baseline at `path`: all of it when `only` is empty,
/// else only entries at or under those paths (other changes stay reported next time).
/// Returns the changes that were accepted. The old baseline must verify; a damaged one is
/// never overwritten (record a new one with `init` and `replace`).
pub fn update(
    config: &FimConfig,
    path: &Path,
    only: &[Vec<u8>],
    options: &CheckOptions<'_>,
) -> Result<CheckOutcome, CheckError> {
    let mut prefixes = Vec::new();
    for p in only {
        if !p.starts_with(b"/") {
            return Err(CheckError::RelativePath {
                path: display_path(p),
            });
        }
        let trimmed = if p.len() > 1 {
            p.strip_suffix(b"/").unwrap_or(p)
        } else {
            p
        };
        prefixes.push(trimmed.to_vec());
    }
    let verified = VerifiedBaseline::open(path)?;
    let accept = Accept {
        prefixes: &prefixes,
    };
    let (mut outcome, state) = compare(config, &verified, options, Some(&accept), None)?;
    outcome.changes.retain(|c| accept.accepts(&c.path));
    for p in &prefixes {
        if !outcome.changes.iter().any(|c| {
            Accept {
                prefixes: std::slice::from_ref(p),
            }
            .accepts(&c.path)
        }) {
            outcome
                .warnings
                .push(format!("nothing changed at or under {}", display_path(p)));
        }
    }
    let state = state.unwrap_or_default();
    let header = header_for(config, state.len() as u64);
    let bytes = encode(&header, state.iter(), path)?;
    write_atomic(path, true, |f| std::io::Write::write_all(f, &bytes))?;
    Ok(outcome)
}

/// Which paths an update accepts.
struct Accept<'p> {
    /// Empty: everything.
    prefixes: &'p [Vec<u8>],
}

impl Accept<'_> {
    /// Whether a path directly inside `dir` is accepted.
    fn accepts_child_of(&self, dir: &[u8]) -> bool {
        self.prefixes.is_empty()
            || self.prefixes.iter().any(|p| {
                let parent = p.iter().rposition(|&b| b == b'/').map_or(0, |i| i.max(1));
                p.get(..parent) == Some(dir)
            })
    }

    fn accepts(&self, path: &[u8]) -> bool {
        self.prefixes.is_empty()
            || self.prefixes.iter().any(|p| {
                p.as_slice() == b"/"
                    || path == p.as_slice()
                    || (path.starts_with(p) && path.get(p.len()) == Some(&b'/'))
            })
    }
}

/// Whether the old hashes can stand for the current content.
fn can_reuse(old: &Entry, cur: &Entry, full: bool) -> bool {
    !full
        && old.kind == FileKind::File
        && cur.kind == FileKind::File
        && !old.is_unreadable()
        && old.size == cur.size
        && old.mtime == cur.mtime
        && old.ctime == cur.ctime
        && old.inode == cur.inode
        && old.dev == cur.dev
        && cur.attrs.hashes().all(|a| old.hashes.get(a).is_some())
}

fn copy_hashes(old: &Entry, cur: &mut Entry) {
    let want = cur.attrs;
    cur.hashes = Hashes {
        blake3: old.hashes.blake3.filter(|_| want.contains(Attr::Blake3)),
        sha256: old.hashes.sha256.filter(|_| want.contains(Attr::Sha256)),
        sha512: old
            .hashes
            .sha512
            .clone()
            .filter(|_| want.contains(Attr::Sha512)),
    };
}

/// The state of each current entry during the merge.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Added,
    Unchanged,
    /// Compared after hashing; the index is into `pairs`.
    Pending(usize),
}

/// The merge of the tree and a verified baseline. With `accept`, also returns the new
/// state to store.
fn compare(
    config: &FimConfig,
    baseline: &VerifiedBaseline,
    options: &CheckOptions<'_>,
    accept: Option<&Accept<'_>>,
    scope: Option<&[Vec<u8>]>,
) -> Result<(CheckOutcome, Option<Vec<Entry>>), CheckError> {
    let scan = match scope {
        Some(roots) => walk_from(config, roots, options.progress),
        None => walk(config, options.progress),
    };
    let in_scope = scope.map(|prefixes| Accept { prefixes });
    let mut current = scan.entries;
    let mut issues = scan.issues;
    let mut warnings: Vec<String> = rules_changed_warning(config, baseline)
        .into_iter()
        .collect();
    let mut stats = CheckStats {
        entries: current.len(),
        baseline_entries: baseline.header.entries,
        ..Default::default()
    };

    let mut merge = merge_with_baseline(
        baseline,
        &mut current,
        in_scope.as_ref(),
        options.full,
        &mut stats,
    )?;
    issues.extend(hash_the_rest(
        config,
        &mut current,
        &merge.status,
        options.progress,
        &mut stats,
    ));
    let prefixes = growing_prefixes(config, &current, &merge.pairs);

    let (mut changes, churn_dirs) =
        changed_entries(config, &current, &mut merge, &prefixes, &mut stats);
    changes.extend(added_entries(config, &current, &merge.status));
    let (removed_changes, dropped) = removed_entries(config, &merge.removed, &mut stats);
    changes.extend(removed_changes);

    link_renames(&mut changes, &current, &merge.removed);
    explain_directories(&mut changes, &mut stats);
    if let Some(dpkg_dir) = &config.dpkg_dir {
        classify_packages(
            config,
            dpkg_dir,
            &baseline.header,
            &mut changes,
            &mut warnings,
        );
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));

    if stats.missing_hashes > 0 {
        warnings.push(format!(
            "{} files were compared on metadata only: the baseline has no hash of the kind the \
             rules now ask for; run update to record it",
            stats.missing_hashes
        ));
    }

    let state = accept.map(|accept| accepted_state(accept, current, merge, &churn_dirs, &dropped));

    issues.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((
        CheckOutcome {
            changes,
            issues,
            warnings,
            stats,
            baseline: baseline.header.clone(),
        },
        state,
    ))
}

/// A warning when the rules are not those the baseline was recorded with.
fn rules_changed_warning(config: &FimConfig, baseline: &VerifiedBaseline) -> Option<String> {
    (baseline.header.rules_fingerprint != config.fingerprint()).then(|| {
        format!(
            "the rules changed since the baseline was recorded (then: {}, now: {}): newly selected \
             paths show as added and paths no longer selected are dropped; run update to record \
             the new rules",
            baseline.header.rules_source, config.source
        )
    })
}

/// How the tree lines up with the baseline, entry by entry.
struct Merge {
    /// The state of each current entry.
    status: Vec<Status>,
    /// (index into the current entries, its baseline entry): compared after hashing.
    pairs: Vec<(usize, Entry)>,
    /// Baseline entries the tree no longer has.
    removed: Vec<Entry>,
}

/// Walks the baseline and the (sorted) current entries together: each current entry is
/// added, unchanged (its hashes reused when size, times and inode are), or pending a
/// comparison after hashing; each baseline entry without a current one is removed.
fn merge_with_baseline(
    baseline: &VerifiedBaseline,
    current: &mut [Entry],
    in_scope: Option<&Accept<'_>>,
    full: bool,
    stats: &mut CheckStats,
) -> Result<Merge, CheckError> {
    let mut merge = Merge {
        status: vec![Status::Added; current.len()],
        pairs: Vec::new(),
        removed: Vec::new(),
    };
    let mut ci = 0usize;
    for old in baseline.entries()? {
        let old = old?;
        if let Some(scope) = in_scope
            && (scope.prefixes.is_empty() || !scope.accepts(&old.path))
        {
            continue;
        }
        // Current entries before this path were added.
        while current.get(ci).is_some_and(|c| c.path < old.path) {
            ci += 1;
        }
        match current.get_mut(ci) {
            Some(cur) if cur.path == old.path => {
                let mut settled = false;
                if cur.wants_hash() && can_reuse(&old, cur, full) {
                    copy_hashes(&old, cur);
                    stats.reused_hashes += 1;
                    settled = true;
                } else if !cur.wants_hash() {
                    settled = true;
                }
                let same = settled && diff(&old, cur, None).is_empty();
                if let Some(s) = merge.status.get_mut(ci) {
                    if same {
                        *s = Status::Unchanged;
                    } else {
                        *s = Status::Pending(merge.pairs.len());
                        merge.pairs.push((ci, old));
                    }
                }
                ci += 1;
            }
            _ => merge.removed.push(old),
        }
    }
    Ok(merge)
}

/// Hashes what could not reuse the baseline's hashes (changed and added files) and counts
/// it; returns the files that could not be read.
fn hash_the_rest(
    config: &FimConfig,
    current: &mut [Entry],
    status: &[Status],
    progress: Option<ProgressFn<'_>>,
    stats: &mut CheckStats,
) -> Vec<Issue> {
    let issues = hash_entries(
        config,
        current,
        &|e: &Entry| e.wants_hash() && e.hashes.is_empty() && !e.is_unreadable(),
        progress,
    );
    for (i, e) in current.iter().enumerate() {
        if e.wants_hash()
            && matches!(status.get(i), Some(Status::Added | Status::Pending(_)))
            && !e.hashes.is_empty()
        {
            stats.hashed_files += 1;
            stats.hashed_bytes += e.size;
        }
    }
    issues
}

/// For growing files with a hash, the hash of their first (old size) bytes: the old content
/// must be a prefix of the new.
fn growing_prefixes(
    config: &FimConfig,
    current: &[Entry],
    pairs: &[(usize, Entry)],
) -> HashMap<usize, Hashes> {
    let root = config.root.as_os_str().as_bytes().to_vec();
    pairs
        .par_iter()
        .filter_map(|(ci, old)| {
            let cur = current.get(*ci)?;
            let grew = cur.attrs.contains(Attr::Growing)
                && cur.kind == FileKind::File
                && old.kind == FileKind::File
                && cur.size > old.size
                && cur.attrs.intersection(old.attrs).has_hash();
            if !grew {
                return None;
            }
            let fs = fs_path(&root, &cur.path);
            let algos = cur.attrs.intersection(old.attrs);
            hash_file(&fs, &cur.path, cur.dev, cur.inode, algos, Some(old.size))
                .ok()
                .map(|h| (*ci, h))
        })
        .collect()
}

/// The pending pairs that differ, as changes (a rotated growing log is expected); those
/// that do not become unchanged. Also returns the directories whose only changes are
/// entries coming and going inside them.
fn changed_entries(
    config: &FimConfig,
    current: &[Entry],
    merge: &mut Merge,
    prefixes: &HashMap<usize, Hashes>,
    stats: &mut CheckStats,
) -> (Vec<Change>, HashSet<usize>) {
    let mut changes = Vec::new();
    let churn = churn_attrs();
    let mut churn_dirs: HashSet<usize> = HashSet::new();
    for (ci, old) in &merge.pairs {
        let Some(cur) = current.get(*ci) else {
            continue;
        };
        if cur.wants_hash() && !cur.attrs.intersection(old.attrs).has_hash() {
            stats.missing_hashes += 1;
        }
        let attrs = diff(old, cur, prefixes.get(ci));
        if attrs.is_empty() {
            if let Some(s) = merge.status.get_mut(*ci) {
                *s = Status::Unchanged;
            }
            continue;
        }
        if cur.kind == FileKind::Dir && attrs.iter().all(|a| churn.contains(a.attr)) {
            churn_dirs.insert(*ci);
        }
        let (group, severity) = group_of(config, cur);
        let rotated =
            cur.attrs.contains(Attr::Growing) && cur.size < old.size && cur.inode != old.inode;
        changes.push(Change {
            path: cur.path.clone(),
            kind: ChangeKind::Changed,
            file_kind: cur.kind,
            group,
            severity: if rotated { Severity::Info } else { severity },
            category: if rotated {
                Category::Expected
            } else {
                Category::Tampering
            },
            attrs,
            package: None,
            dpkg_event: None,
            renamed: None,
        });
    }
    (changes, churn_dirs)
}

/// The current entries the baseline did not have.
fn added_entries(config: &FimConfig, current: &[Entry], status: &[Status]) -> Vec<Change> {
    let mut changes = Vec::new();
    for (i, cur) in current.iter().enumerate() {
        if status.get(i) != Some(&Status::Added) {
            continue;
        }
        let (group, severity) = group_of(config, cur);
        changes.push(Change {
            path: cur.path.clone(),
            kind: ChangeKind::Added,
            file_kind: cur.kind,
            group,
            severity,
            category: Category::Tampering,
            attrs: Vec::new(),
            package: None,
            dpkg_event: None,
            renamed: None,
        });
    }
    changes
}

/// The baseline entries the tree no longer has, as changes; those no rule selects any more
/// are dropped quietly (counted, and returned by index).
fn removed_entries(
    config: &FimConfig,
    removed: &[Entry],
    stats: &mut CheckStats,
) -> (Vec<Change>, HashSet<usize>) {
    let mut changes = Vec::new();
    let mut dropped = HashSet::new();
    for (index, old) in removed.iter().enumerate() {
        let Some(rule) = config.rule_for(&old.path, old.kind) else {
            stats.no_longer_selected += 1;
            dropped.insert(index);
            continue;
        };
        changes.push(Change {
            path: old.path.clone(),
            kind: ChangeKind::Removed,
            file_kind: old.kind,
            group: rule.name.clone(),
            severity: rule.severity,
            category: Category::Tampering,
            attrs: Vec::new(),
            package: None,
            dpkg_event: None,
            renamed: None,
        });
    }
    (changes, dropped)
}

/// The baseline `update` stores: the current state of what it accepts (and of what did not
/// change), the old state of everything else.
fn accepted_state(
    accept: &Accept<'_>,
    current: Vec<Entry>,
    merge: Merge,
    churn_dirs: &HashSet<usize>,
    dropped: &HashSet<usize>,
) -> Vec<Entry> {
    let mut state = Vec::with_capacity(current.len());
    let mut old_by_index: HashMap<usize, Entry> = merge.pairs.into_iter().collect();
    for (i, cur) in current.into_iter().enumerate() {
        // Accepting an entry also accepts what it did to its directory's times.
        let take_current = accept.accepts(&cur.path)
            || merge.status.get(i) == Some(&Status::Unchanged)
            || (churn_dirs.contains(&i) && accept.accepts_child_of(&cur.path));
        if take_current {
            state.push(cur);
        } else if let Some(old) = old_by_index.remove(&i) {
            state.push(old);
        }
    }
    for (index, old) in merge.removed.into_iter().enumerate() {
        if !accept.accepts(&old.path) && !dropped.contains(&index) {
            state.push(old);
        }
    }
    state.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    state
}

/// The group and severity of an entry the walk selected.
fn group_of(config: &FimConfig, entry: &Entry) -> (String, Severity) {
    // The walk selected it, so a rule governs it; should the two ever disagree, report
    // the change at high severity rather than drop it.
    match config.rule_for(&entry.path, entry.kind) {
        Some(rule) => (rule.name.clone(), rule.severity),
        None => ("(unknown)".to_owned(), Severity::High),
    }
}

/// Marks an added entry with the same device and inode as a removed one as a rename.
fn link_renames(changes: &mut [Change], current: &[Entry], removed: &[Entry]) {
    let removed_by_inode: HashMap<(u64, u64), &Entry> =
        removed.iter().map(|e| ((e.dev, e.inode), e)).collect();
    let current_by_path: HashMap<&[u8], &Entry> =
        current.iter().map(|e| (e.path.as_ref(), e)).collect();
    let mut renamed_to: HashMap<Box<[u8]>, String> = HashMap::new();
    for change in changes.iter_mut().filter(|c| c.kind == ChangeKind::Added) {
        if let Some(cur) = current_by_path.get(change.path.as_ref())
            && let Some(old) = removed_by_inode.get(&(cur.dev, cur.inode))
            && old.kind == cur.kind
        {
            change.renamed = Some(format!("from {}", display_path(&old.path)));
            renamed_to.insert(old.path.clone(), format!("to {}", display_path(&cur.path)));
        }
    }
    for change in changes.iter_mut().filter(|c| c.kind == ChangeKind::Removed) {
        if let Some(to) = renamed_to.remove(&change.path) {
            change.renamed = Some(to);
        }
    }
}

/// Drops directory changes that only reflect entries added, removed or replaced in them.
fn explain_directories(changes: &mut Vec<Change>, stats: &mut CheckStats) {
    let churn = churn_attrs();
    let mut busy: HashSet<Vec<u8>> = HashSet::new();
    for c in changes.iter() {
        let replaced = c.attrs.iter().any(|a| a.attr == Attr::Inode);
        if c.kind != ChangeKind::Changed || replaced {
            let parent = c
                .path
                .iter()
                .rposition(|&b| b == b'/')
                .map_or(0, |i| i.max(1));
            busy.insert(c.path.get(..parent).unwrap_or_default().to_vec());
        }
    }
    let before = changes.len();
    changes.retain(|c| {
        !(c.kind == ChangeKind::Changed
            && c.file_kind == FileKind::Dir
            && c.attrs.iter().all(|a| churn.contains(a.attr))
            && busy.contains(c.path.as_ref()))
    });
    stats.explained_dirs += before - changes.len();
}

/// What adding, removing or renaming an entry does to its directory.
fn churn_attrs() -> AttrSet {
    AttrSet::from_attrs(&[
        Attr::Mtime,
        Attr::Ctime,
        Attr::Size,
        Attr::Links,
        Attr::Blocks,
    ])
}

/// Attributes a package upgrade never changes; a change to one stays suspicious.
fn identity_attrs() -> AttrSet {
    AttrSet::from_attrs(&[
        Attr::Type,
        Attr::Perms,
        Attr::Owner,
        Attr::Group,
        Attr::Target,
        Attr::Xattrs,
        Attr::Acl,
    ])
}

/// Reclassifies changes whose new content is what dpkg installed.
fn classify_packages(
    config: &FimConfig,
    dpkg_dir: &Path,
    header: &BaselineHeader,
    changes: &mut [Change],
    warnings: &mut Vec<String>,
) {
    let identity = identity_attrs();
    let candidate = |c: &Change| {
        c.category == Category::Tampering
            && matches!(c.file_kind, FileKind::File | FileKind::Symlink)
            && c.kind != ChangeKind::Removed
            && !c.attrs.iter().any(|a| identity.contains(a.attr))
    };
    let wanted: HashSet<Vec<u8>> = changes
        .iter()
        .filter(|c| candidate(c))
        .map(|c| c.path.to_vec())
        .collect();
    if wanted.is_empty() {
        return;
    }
    let links: HashSet<Vec<u8>> = changes
        .iter()
        .filter(|c| c.file_kind == FileKind::Symlink && candidate(c))
        .map(|c| c.path.to_vec())
        .collect();
    let loaded =
        PackageIndex::load(dpkg_dir, config.dpkg_log.as_deref(), &wanted).and_then(|mut index| {
            index.load_owners(dpkg_dir, &links)?;
            Ok(index)
        });
    let index = match loaded {
        Ok(index) => index,
        Err(crate::dpkg::DpkgError::NotADpkgDatabase { .. }) => return,
        Err(e) => {
            warnings.push(format!("package awareness is off for this run: {e}"));
            return;
        }
    };
    let root = config.root.as_os_str().as_bytes().to_vec();
    let since = baseline_time(&header.created);
    let md5s: Vec<Option<[u8; 16]>> = changes
        .par_iter()
        .map(|c| {
            if !candidate(c) || !index.knows(&c.path) {
                return None;
            }
            md5_file(&fs_path(&root, &c.path), &c.path).ok()
        })
        .collect();
    for (change, md5) in changes.iter_mut().zip(md5s) {
        if change.file_kind == FileKind::Symlink && candidate(change) {
            // A symlink dpkg re-created (same target: a target change is never a
            // candidate) is vouched for by the log of a package that lists it.
            let vouched = index.owners(&change.path).iter().find_map(|p| {
                last_install(&index.events, p)
                    .filter(|e| after(&e.when, since))
                    .map(|e| (p.clone(), e.clone()))
            });
            if let Some((package, event)) = vouched {
                change.category = Category::PackageUpdate;
                change.severity = Severity::Low;
                change.package = Some(package);
                change.dpkg_event = Some(event);
            }
            continue;
        }
        let Some(md5) = md5 else { continue };
        let Some(package) = index.package_matching(&change.path, &md5) else {
            continue;
        };
        let event = last_install(&index.events, package).cloned();
        let content_changed = change.kind == ChangeKind::Added
            || change
                .attrs
                .iter()
                .any(|a| matches!(a.attr, Attr::Blake3 | Attr::Sha256 | Attr::Sha512));
        // Same content with new metadata (a reinstall) needs dpkg's log to vouch for it;
        // otherwise `touch` on a packaged file would pass as an upgrade.
        let vouched = content_changed || event.as_ref().is_some_and(|e| after(&e.when, since));
        if !vouched {
            continue;
        }
        change.category = Category::PackageUpdate;
        change.severity = Severity::Low;
        change.package = Some(package.to_owned());
        change.dpkg_event = event;
    }
}

/// The baseline's creation time as a civil date-time in UTC.
fn baseline_time(created: &str) -> Option<jiff::civil::DateTime> {
    let ts: jiff::Timestamp = created.parse().ok()?;
    Some(ts.to_zoned(jiff::tz::TimeZone::UTC).datetime())
}

/// Whether a dpkg log time (local, zone unknown) is after `since` (UTC). Zones differ by
/// at most 14 hours, so anything more than 14 hours before counts as before.
fn after(when: &str, since: Option<jiff::civil::DateTime>) -> bool {
    let Some(since) = since else { return true };
    let Ok(when) = when.replacen(' ', "T", 1).parse::<jiff::civil::DateTime>() else {
        return false;
    };
    match since.checked_sub(jiff::Span::new().hours(14)) {
        Ok(limit) => when >= limit,
        Err(_) => true,
    }
}

/// The watched attributes that differ, with old and new values. `prefix` holds hashes of
/// the first `old.size` bytes of a growing file.
fn diff(old: &Entry, cur: &Entry, prefix: Option<&Hashes>) -> Vec<AttrChange> {
    let watched = old.attrs.intersection(cur.attrs);
    let growing = watched.contains(Attr::Growing);
    let mut out = Vec::new();
    let mut push = |attr: Attr, o: String, n: String| {
        out.push(AttrChange {
            attr,
            old: o,
            new: n,
        })
    };
    for attr in watched.iter() {
        match attr {
            Attr::Type if old.kind != cur.kind => {
                push(attr, old.kind.name().into(), cur.kind.name().into())
            }
            Attr::Perms if old.perms != cur.perms => push(
                attr,
                format!("{:04o}", old.perms),
                format!("{:04o}", cur.perms),
            ),
            Attr::Owner if old.uid != cur.uid => {
                push(attr, old.uid.to_string(), cur.uid.to_string())
            }
            Attr::Group if old.gid != cur.gid => {
                push(attr, old.gid.to_string(), cur.gid.to_string())
            }
            Attr::Size
                if (growing && cur.size < old.size) || (!growing && cur.size != old.size) =>
            {
                push(attr, old.size.to_string(), cur.size.to_string())
            }
            Attr::Blocks
                if (growing && cur.blocks < old.blocks)
                    || (!growing && cur.blocks != old.blocks) =>
            {
                push(attr, old.blocks.to_string(), cur.blocks.to_string())
            }
            Attr::Mtime
                if (growing && cur.mtime < old.mtime) || (!growing && cur.mtime != old.mtime) =>
            {
                push(attr, old.mtime.to_string(), cur.mtime.to_string())
            }
            Attr::Ctime
                if (growing && cur.ctime < old.ctime) || (!growing && cur.ctime != old.ctime) =>
            {
                push(attr, old.ctime.to_string(), cur.ctime.to_string())
            }
            Attr::Inode if old.inode != cur.inode => {
                push(attr, old.inode.to_string(), cur.inode.to_string())
            }
            Attr::Links if old.links != cur.links => {
                push(attr, old.links.to_string(), cur.links.to_string())
            }
            Attr::Target if old.target != cur.target => push(
                attr,
                old.target
                    .as_deref()
                    .map_or_else(|| "(none)".into(), display_path),
                cur.target
                    .as_deref()
                    .map_or_else(|| "(none)".into(), display_path),
            ),
            Attr::Xattrs | Attr::Acl => {
                if let Some((o, n)) = xattr_change(attr, watched, old, cur) {
                    push(attr, o, n);
                }
            }
            Attr::Blake3 | Attr::Sha256 | Attr::Sha512 => {
                if let Some((o, n)) = hash_change(attr, old, cur, prefix, growing) {
                    push(attr, o, n);
                }
            }
            _ => {}
        }
    }
    out
}

/// Extended attributes (or only the ACLs) before and after, when they differ. With both
/// watched they are compared once, under `xattrs`.
fn xattr_change(
    attr: Attr,
    watched: AttrSet,
    old: &Entry,
    cur: &Entry,
) -> Option<(String, String)> {
    if attr == Attr::Acl && watched.contains(Attr::Xattrs) {
        return None;
    }
    let only_acl = attr == Attr::Acl;
    // Unknown on either side (unsupported file system): nothing to compare.
    let o = xattr_text(old.xattrs.as_deref(), only_acl)?;
    let n = xattr_text(cur.xattrs.as_deref(), only_acl)?;
    (o != n).then_some((o, n))
}

/// A content hash before and after, when it differs. A growing file is compared on its old
/// length (`prefix`); the new hash shown is always the whole file's.
fn hash_change(
    attr: Attr,
    old: &Entry,
    cur: &Entry,
    prefix: Option<&Hashes>,
    growing: bool,
) -> Option<(String, String)> {
    let algo = match attr {
        Attr::Blake3 => crate::attrs::HashAlgo::Blake3,
        Attr::Sha256 => crate::attrs::HashAlgo::Sha256,
        _ => crate::attrs::HashAlgo::Sha512,
    };
    if old.kind != FileKind::File
        || cur.kind != FileKind::File
        || old.is_unreadable()
        || cur.is_unreadable()
    {
        return None;
    }
    let new_hashes = match prefix {
        Some(p) if growing && cur.size > old.size => p,
        _ => &cur.hashes,
    };
    let (o, n) = (old.hashes.get(algo)?, new_hashes.get(algo)?);
    if o == n {
        return None;
    }
    let new = cur.hashes.get(algo).map_or_else(String::new, hex::encode);
    Some((hex::encode(o), new))
}

fn xattr_text(xattrs: Option<&[Xattr]>, only_acl: bool) -> Option<String> {
    let xattrs = xattrs?;
    let parts: Vec<String> = xattrs
        .iter()
        .filter(|x| !only_acl || x.is_acl())
        .map(|x| {
            let digest = blake3::hash(&x.value).to_hex();
            format!("{}={}", display_path(&x.name), &digest[..16])
        })
        .collect();
    Some(if parts.is_empty() {
        "(none)".into()
    } else {
        parts.join(", ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Time;

    fn entry(path: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            attrs: crate::attrs::preset("static", crate::attrs::HashAlgo::Blake3).unwrap(),
            kind: FileKind::File,
            perms: 0o644,
            uid: 0,
            gid: 0,
            size: 10,
            blocks: 8,
            mtime: Time {
                secs: 100,
                nanos: 0,
            },
            ctime: Time {
                secs: 100,
                nanos: 0,
            },
            inode: 1,
            dev: 1,
            links: 1,
            target: None,
            hashes: Hashes {
                blake3: Some([1; 32]),
                ..Default::default()
            },
            xattrs: Some(Box::new([])),
            flags: 0,
        }
    }

    #[test]
    fn diff_names_each_changed_attribute() {
        let old = entry(b"/x");
        let mut cur = old.clone();
        assert!(diff(&old, &cur, None).is_empty());
        cur.perms = 0o4755;
        cur.uid = 1000;
        cur.hashes.blake3 = Some([2; 32]);
        let d = diff(&old, &cur, None);
        let names: Vec<_> = d.iter().map(|c| c.attr).collect();
        assert_eq!(names, vec![Attr::Perms, Attr::Owner, Attr::Blake3]);
        assert_eq!(d[0].old, "0644");
        assert_eq!(d[0].new, "4755");
    }

    #[test]
    fn growing_files_may_grow_but_not_shrink() {
        let mut old = entry(b"/log");
        old.attrs = crate::attrs::preset("growing", crate::attrs::HashAlgo::Blake3).unwrap();
        let mut cur = old.clone();
        cur.size = 20;
        cur.mtime.secs = 200;
        assert!(diff(&old, &cur, None).is_empty());
        cur.size = 5;
        assert_eq!(diff(&old, &cur, None)[0].attr, Attr::Size);
    }

    #[test]
    fn reuse_needs_identical_metadata() {
        let old = entry(b"/x");
        let mut cur = old.clone();
        assert!(can_reuse(&old, &cur, false));
        assert!(!can_reuse(&old, &cur, true));
        cur.ctime.nanos = 1;
        assert!(!can_reuse(&old, &cur, false));
    }

    #[test]
    fn accept_prefixes_respect_components() {
        let p = [b"/etc/ssh".to_vec()];
        let a = Accept { prefixes: &p };
        assert!(a.accepts(b"/etc/ssh"));
        assert!(a.accepts(b"/etc/ssh/sshd_config"));
        assert!(!a.accepts(b"/etc/sshd"));
        assert!(Accept { prefixes: &[] }.accepts(b"/anything"));
    }

    #[test]
    fn every_rule_id_is_documented() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        for kind in [ChangeKind::Added, ChangeKind::Removed, ChangeKind::Changed] {
            for category in [
                Category::Tampering,
                Category::PackageUpdate,
                Category::Expected,
            ] {
                let change = Change {
                    path: b"/x".to_vec().into(),
                    kind,
                    file_kind: FileKind::File,
                    group: "g".into(),
                    severity: Severity::High,
                    category,
                    attrs: Vec::new(),
                    package: None,
                    dpkg_event: None,
                    renamed: None,
                };
                assert!(ids.contains(&change.rule_id()), "{}", change.rule_id());
            }
        }
        assert!(ids.contains(&"fim.package-modified") && ids.contains(&"fim.package-missing"));
    }

    #[test]
    fn dpkg_times_compare_with_slack() {
        let since = baseline_time("2024-05-01T12:00:00Z");
        assert!(after("2024-05-01 13:00:00", since));
        assert!(after("2024-05-01 00:00:00", since));
        assert!(!after("2024-04-29 00:00:00", since));
        assert!(!after("garbage", since));
    }
}
