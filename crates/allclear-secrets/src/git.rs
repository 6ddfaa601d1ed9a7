//! Git history and staged changes, read with gix (no `git` process).
//!
//! `--history` scans every blob reachable from any reference exactly once and reports each
//! finding with the commits and paths that introduced the blob. `--staged` scans only the
//! index entries that differ from HEAD: what the next commit would add.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use allclear_core::{Finding, RunError, Skipped};
use gix::ObjectId;
use gix::bstr::ByteSlice;

use crate::scanner::{ScanOutput, Scanner};

/// The repository could not be used at all (a damaged object or a missing commit in an
/// otherwise readable repository is an error in [`GitScan::errors`] instead).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No git repository at or above the path.
    #[error("{path}: not a git repository")]
    Open {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The references or the index could not be read.
    #[error("{path}: {what}")]
    Read {
        path: String,
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What a history or staged scan produced.
#[derive(Debug, Default, Clone)]
pub struct GitScan {
    pub findings: Vec<Finding>,
    /// Objects that could not be read (corrupt, missing in a shallow clone).
    pub errors: Vec<RunError>,
    /// Blobs over `max-file-bytes`, and archives read only in part.
    pub skipped: Vec<Skipped>,
    /// Commits walked (history) or 1 (staged).
    pub commits: usize,
    /// Distinct blobs scanned.
    pub blobs: usize,
}

/// Where a blob entered the history.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Introduction {
    commit: ObjectId,
    path: String,
}

fn open(path: &Path) -> Result<gix::Repository, GitError> {
    gix::discover(path).map_err(|source| GitError::Open {
        path: path.display().to_string(),
        source: Box::new(source),
    })
}

fn read_error<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> GitError + 'a {
    move |source| GitError::Read {
        path: path.display().to_string(),
        what,
        source,
    }
}

fn run_error(path: &str, message: String) -> RunError {
    RunError {
        path: path.to_owned(),
        line: None,
        message,
    }
}

/// Scans every blob in the history of the repository at (or above) `path`.
pub fn scan_history(scanner: &Scanner, path: &Path) -> Result<GitScan, GitError> {
    let repo = open(path)?;
    let mut scan = GitScan::default();

    // Tips: every reference (branches, tags, remotes, stash) that leads to a commit, and HEAD.
    let mut tips: Vec<ObjectId> = Vec::new();
    let platform = repo
        .references()
        .map_err(|e| read_error(path, "reading references")(Box::new(e)))?;
    let all = platform
        .all()
        .map_err(|e| read_error(path, "reading references")(Box::new(e)))?;
    for reference in all {
        let Ok(mut reference) = reference else {
            continue;
        };
        let name = reference.name().as_bstr().to_string();
        match reference.peel_to_id() {
            Ok(id) => {
                if let Ok(object) = repo.find_object(id.detach())
                    && let Ok(commit) = object.peel_to_commit()
                {
                    tips.push(commit.id);
                }
            }
            Err(e) => scan
                .errors
                .push(run_error(&name, format!("reference not resolved: {e}"))),
        }
    }
    if let Ok(head) = repo.head_id() {
        tips.push(head.detach());
    }
    tips.sort();
    tips.dedup();
    if tips.is_empty() {
        return Ok(scan);
    }

    let mut commits = Vec::new();
    let walk = repo
        .rev_walk(tips)
        .all()
        .map_err(|e| read_error(path, "walking the history")(Box::new(e)))?;
    for info in walk {
        match info {
            Ok(info) => commits.push(info.id),
            Err(e) => {
                // A shallow clone or a missing object ends this line of history, not the scan.
                scan.errors
                    .push(run_error(".git", format!("history walk stopped: {e}")));
                break;
            }
        }
    }
    // Oldest first, so the first commit to hold a blob at a path is the one that added it.
    commits.reverse();
    scan.commits = commits.len();

    let mut seen_trees: HashSet<ObjectId> = HashSet::new();
    let mut introduced: HashMap<ObjectId, Vec<Introduction>> = HashMap::new();
    let mut order: Vec<ObjectId> = Vec::new();
    for commit_id in &commits {
        let tree_id = match repo.find_object(*commit_id).map(|o| o.try_into_commit()) {
            Ok(Ok(commit)) => match commit.tree_id() {
                Ok(id) => id.detach(),
                Err(e) => {
                    scan.errors.push(run_error(
                        &commit_id.to_string(),
                        format!("commit unreadable: {e}"),
                    ));
                    continue;
                }
            },
            Ok(Err(e)) => {
                scan.errors.push(run_error(
                    &commit_id.to_string(),
                    format!("not a commit: {e}"),
                ));
                continue;
            }
            Err(e) => {
                scan.errors.push(run_error(
                    &commit_id.to_string(),
                    format!("commit missing: {e}"),
                ));
                continue;
            }
        };
        let mut visit = |blob: ObjectId, file: String| {
            let entry = introduced.entry(blob).or_insert_with(|| {
                order.push(blob);
                Vec::new()
            });
            if !entry.iter().any(|i| i.path == file) {
                entry.push(Introduction {
                    commit: *commit_id,
                    path: file,
                });
            }
        };
        walk_tree(
            &repo,
            tree_id,
            &mut seen_trees,
            &mut scan.errors,
            &mut visit,
        );
    }

    scan.blobs = order.len();
    // gix objects are read on this thread (the minimal gix build is single-threaded); the
    // blobs go through a bounded channel to scanner threads (the scanner is `Sync`).
    let max = scanner.max_file_bytes();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let (sender, receiver) = std::sync::mpsc::sync_channel::<(ObjectId, Vec<u8>)>(threads * 4);
    let receiver = std::sync::Mutex::new(receiver);
    let introduced = &introduced;
    let found = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let receiver = &receiver;
                s.spawn(move || {
                    let mut found = ScanOutput::default();
                    loop {
                        let next = match receiver.lock() {
                            Ok(guard) => guard.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        let Ok((blob, data)) = next else { break };
                        let Some(intro) = introduced.get(&blob) else {
                            continue;
                        };
                        let Some(first) = intro.first() else { continue };
                        let out = scanner.scan(&first.path, &data);
                        found.errors.extend(out.errors);
                        found.skipped.extend(out.skipped);
                        found.findings.extend(
                            out.findings
                                .into_iter()
                                .map(|f| with_history(f, blob, intro)),
                        );
                    }
                    found
                })
            })
            .collect();
        let mut found = ScanOutput::default();
        for blob in &order {
            let path = || {
                introduced
                    .get(blob)
                    .and_then(|i| i.first())
                    .map_or(".git", |i| i.path.as_str())
            };
            match read_blob(&repo, *blob, max) {
                Ok(data) => {
                    if sender.send((*blob, data)).is_err() {
                        break;
                    }
                }
                Err(problem) => problem.record(path(), &mut found),
            }
        }
        drop(sender);
        for worker in workers {
            if let Ok(out) = worker.join() {
                found.findings.extend(out.findings);
                found.errors.extend(out.errors);
                found.skipped.extend(out.skipped);
            }
        }
        found
    });
    scan.findings.extend(found.findings);
    scan.errors.extend(found.errors);
    scan.skipped.extend(found.skipped);
    scan.findings.sort_by(|a, b| {
        (&a.location.path, a.location.line, &a.rule).cmp(&(
            &b.location.path,
            b.location.line,
            &b.rule,
        ))
    });
    Ok(scan)
}

/// Scans what is staged: index entries whose blob differs from HEAD's.
pub fn scan_staged(scanner: &Scanner, path: &Path) -> Result<GitScan, GitError> {
    let repo = open(path)?;
    let index = repo
        .open_index()
        .map_err(|e| read_error(path, "reading the index")(Box::new(e)))?;
    let mut scan = GitScan {
        commits: 1,
        ..GitScan::default()
    };
    let mut head: HashMap<String, ObjectId> = HashMap::new();
    if let Ok(tree_id) = repo.head_tree_id() {
        let mut seen = HashSet::new();
        walk_tree(
            &repo,
            tree_id.detach(),
            &mut seen,
            &mut scan.errors,
            &mut |blob, file| {
                head.insert(file, blob);
            },
        );
    }
    let max = scanner.max_file_bytes();
    for entry in index.entries() {
        if entry.stage_raw() != 0 || !entry.mode.to_tree_entry_mode().is_some_and(|m| m.is_blob()) {
            continue;
        }
        let file = entry.path(&index).to_str_lossy().into_owned();
        if head.get(&file) == Some(&entry.id) {
            continue;
        }
        scan.blobs += 1;
        match read_blob(&repo, entry.id, max) {
            Ok(data) => {
                let out = scanner.scan(&file, &data);
                scan.findings.extend(out.findings);
                scan.errors.extend(out.errors);
                scan.skipped.extend(out.skipped);
            }
            Err(problem) => {
                let mut found = ScanOutput::default();
                problem.record(&file, &mut found);
                scan.errors.extend(found.errors);
                scan.skipped.extend(found.skipped);
            }
        }
    }
    Ok(scan)
}

/// Visits every blob under `tree` whose subtree was not seen before, with its path.
fn walk_tree(
    repo: &gix::Repository,
    tree: ObjectId,
    seen: &mut HashSet<ObjectId>,
    errors: &mut Vec<RunError>,
    visit: &mut dyn FnMut(ObjectId, String),
) {
    // An explicit stack: a hostile repository's nesting cannot overflow ours.
    let mut stack = vec![(tree, String::new())];
    while let Some((id, prefix)) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let object = match repo.find_object(id) {
            Ok(object) => object,
            Err(e) => {
                errors.push(run_error(
                    if prefix.is_empty() { "." } else { &prefix },
                    format!("tree missing: {e}"),
                ));
                continue;
            }
        };
        let tree = match object.try_into_tree() {
            Ok(tree) => tree,
            Err(e) => {
                errors.push(run_error(&prefix, format!("not a tree: {e}")));
                continue;
            }
        };
        let decoded = match tree.decode() {
            Ok(decoded) => decoded,
            Err(e) => {
                errors.push(run_error(&prefix, format!("tree unreadable: {e}")));
                continue;
            }
        };
        for entry in &decoded.entries {
            let name = entry.filename.to_str_lossy();
            let file = if prefix.is_empty() {
                name.into_owned()
            } else {
                format!("{prefix}/{name}")
            };
            if entry.mode.is_tree() {
                stack.push((entry.oid.to_owned(), file));
            } else if entry.mode.is_blob() {
                visit(entry.oid.to_owned(), file);
            }
        }
    }
}

/// Why a blob was not scanned.
enum BlobProblem {
    /// Missing or corrupt: an error of the run.
    Unreadable(String),
    /// Over `max-file-bytes`: skipped, and said so.
    TooLarge(String),
}

impl BlobProblem {
    fn record(self, path: &str, out: &mut ScanOutput) {
        match self {
            BlobProblem::Unreadable(message) => out.errors.push(run_error(path, message)),
            BlobProblem::TooLarge(reason) => out.skipped.push(Skipped {
                path: path.to_owned(),
                reason,
            }),
        }
    }
}

fn read_blob(repo: &gix::Repository, id: ObjectId, max: u64) -> Result<Vec<u8>, BlobProblem> {
    let header = repo
        .find_header(id)
        .map_err(|e| BlobProblem::Unreadable(format!("blob {id} missing: {e}")))?;
    if header.size() > max {
        return Err(BlobProblem::TooLarge(format!(
            "blob {id} is {} bytes, over `max-file-bytes` ({max}): not scanned",
            header.size()
        )));
    }
    repo.find_object(id)
        .map(|o| o.detach().data)
        .map_err(|e| BlobProblem::Unreadable(format!("blob {id} unreadable: {e}")))
}

fn with_history(finding: Finding, blob: ObjectId, intro: &[Introduction]) -> Finding {
    let commits: Vec<serde_json::Value> = intro
        .iter()
        .map(|i| serde_json::json!({ "commit": i.commit.to_string(), "path": i.path }))
        .collect();
    finding
        .with_detail("blob", blob.to_string())
        .with_detail("introduced", commits)
}
