//! The one walk of the tree that `allclear scan` makes. Every capability gets the files it
//! wants from here; none walks the tree on its own.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use allclear_core::{Finding, RunError};
use allclear_lockfiles::{FileKind, Lockfile};
use allclear_secrets::{Scanner, ScannerError, SecretsConfig};
use anyhow::Context;
use ignore::{WalkBuilder, WalkState};

/// Lockfiles larger than this are refused: real ones are a few MB, and reading a multi-GB
/// file that only happens to be named `package-lock.json` would exhaust memory.
pub const MAX_LOCKFILE_BYTES: u64 = 64 * 1024 * 1024;

/// Lockfiles allclear does not parse but whose presence means a manifest is locked.
const UNREAD_LOCKFILES: &[&str] = &["bun.lock", "bun.lockb", "pdm.lock", "pylock.toml"];

/// Directories never worth descending into: other packages' manifests and code live there
/// (the lockfile next to the manifest already lists them), or version-control internals
/// (`--history` reads git's objects properly), or caches of downloaded code that make a
/// scan of a home directory slow and noisy without being the user's own files.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".tox",
    ".npm",
    ".rustup",
];

/// Cache directories skipped by their path's last two components (a bare `registry` or
/// `cache` directory may well be the user's own).
const SKIPPED_DIR_SUFFIXES: &[&str] = &[
    ".cargo/registry",
    ".cargo/git",
    ".cache/pip",
    ".cache/go-build",
    ".gradle/caches",
    ".m2/repository",
    ".local/share/Trash",
];

fn skipped_dir(path: &Path, name: &std::ffi::OsStr) -> bool {
    SKIPPED_DIRS.iter().any(|d| name == *d)
        || SKIPPED_DIR_SUFFIXES
            .iter()
            .any(|suffix| path.ends_with(suffix))
}

pub struct WalkOptions<'a> {
    pub root: &'a Path,
    pub no_ignore: bool,
    /// gitignore-style patterns to leave out, from the policy.
    pub exclude: &'a [String],
    /// Whether to read dependency files (lockfiles and manifests).
    pub deps: bool,
    /// Counts each file read (a hidden bar when nobody watches).
    pub progress: &'a indicatif::ProgressBar,
    /// Secrets, restricted files and personal data: every file is offered to it.
    pub secrets: Option<&'a SharedScanner<'a>>,
    /// Insecure code (allclear-sast): offered the files it reads.
    pub code: Option<&'a allclear_sast::Engine>,
}

/// The secrets scanner, built on first use by whichever thread gets there first: a scan
/// starts building it on a second core as the walk begins, and a walker that needs it before
/// then waits for it (or builds it, if that thread has not started).
pub struct SharedScanner<'a> {
    config: &'a SecretsConfig,
    cell: OnceLock<Result<Scanner, ScannerError>>,
}

impl<'a> SharedScanner<'a> {
    pub fn new(config: &'a SecretsConfig) -> SharedScanner<'a> {
        SharedScanner {
            config,
            cell: OnceLock::new(),
        }
    }

    /// The scanner, or why the rules did not build.
    pub fn get(&self) -> Result<&Scanner, &ScannerError> {
        self.cell.get_or_init(|| Scanner::new(self.config)).as_ref()
    }

    /// The scanner, or an error saying why the rules did not build.
    pub fn require(&self) -> anyhow::Result<&Scanner> {
        self.get()
            .map_err(|err| anyhow::anyhow!("could not build the secret rules: {err}"))
    }

    /// The scanner, if the rules built.
    pub fn ready(&self) -> Option<&Scanner> {
        self.get().ok()
    }
}

/// What the walk found.
#[derive(Default)]
pub struct Walked {
    /// Parsed lockfiles, by path relative to the root (`/`-separated), sorted.
    pub lockfiles: Vec<(String, Lockfile)>,
    /// Manifests (Gemfile, composer.json, …) by relative path, sorted.
    pub manifests: Vec<(String, FileKind)>,
    /// Every dependency file seen, by relative path, to tell whether a manifest has its lockfile.
    pub dependency_files: BTreeSet<String>,
    /// What the secrets scanner found, in no particular order.
    pub secret_findings: Vec<Finding>,
    /// What the code rules found in each file they read, in no particular order.
    pub code_scans: Vec<allclear_sast::FileScan>,
    /// Files that could not be read or parsed.
    pub errors: Vec<RunError>,
    /// Files checked only in part (archives past a limit), sorted by path.
    pub skipped: Vec<allclear_core::Skipped>,
    /// Regular files the walk visited.
    pub files: usize,
}

/// A lockfile at least this big, in a walk on one thread, is scanned for secrets on a second
/// thread while it is parsed (below it, starting the thread costs more than it saves).
const OVERLAP_LOCKFILE_BYTES: usize = 32 * 1024;

pub fn walk(options: &WalkOptions<'_>) -> anyhow::Result<Walked> {
    let root = options.root;
    if !root.is_dir() {
        return Err(crate::output::hinted(
            format!("{} is not a directory", root.display()),
            "give the directory of the repository to scan",
        ));
    }
    let mut builder = walk_builder(root, options.no_ignore);
    let excluded = excluded_paths(root, options.exclude)?;
    if let Some(excluded) = &excluded {
        builder.overrides(excluded.clone());
    }
    // Ignore rules keep out files git does not track, never files in the repository (a
    // committed `.env` listed in `.gitignore` is exactly what a scan must see): the tracked
    // files the walk leaves out are visited after it. With `--no-ignore` the walk sees them.
    let (tracked, tracked_error) = match options.no_ignore {
        true => (HashMap::new(), None),
        false => match tracked_files(root) {
            Ok(tracked) => (tracked, None),
            Err(error) => (HashMap::new(), Some(error)),
        },
    };

    let single_threaded = is_small_flat_dir(root);
    if single_threaded {
        // A handful of files and no subdirectories (a CI job's checkout of one lockfile): the
        // parallel walker's thread start-up and idle polling would cost more than the work.
        builder.threads(1);
    }
    let visitor = Visitor {
        options,
        found: Mutex::new(Walked::default()),
        files: AtomicUsize::new(0),
        single_threaded,
    };
    builder.build_parallel().run(|| {
        let (visitor, tracked) = (&visitor, &tracked);
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    lock(&visitor.found).errors.push(RunError {
                        path: err_path(&err, root),
                        line: None,
                        message: err.to_string(),
                    });
                    return WalkState::Continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let rel = relative(entry.path(), root);
            if let Some(seen) = tracked.get(&rel) {
                seen.store(true, Ordering::Relaxed);
            }
            visitor.visit(entry.path(), rel);
            WalkState::Continue
        })
    });
    visit_unvisited_tracked(&visitor, root, &tracked, excluded.as_ref());

    let mut found = visitor
        .found
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    found.files = visitor.files.into_inner();
    found.errors.extend(tracked_error);
    found.lockfiles.sort_by(|a, b| a.0.cmp(&b.0));
    found.manifests.sort();
    found
        .errors
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    found.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// The walker: dotfiles included (.ruby-version and .tool-versions are dotfiles), ignore
/// files honoured unless `no_ignore`, symlinks not followed, skipped directories pruned.
fn walk_builder(root: &Path, no_ignore: bool) -> WalkBuilder {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .git_ignore(!no_ignore)
        .git_global(!no_ignore)
        .git_exclude(!no_ignore)
        .ignore(!no_ignore)
        .parents(!no_ignore)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| {
            !(entry.file_type().is_some_and(|t| t.is_dir())
                && skipped_dir(entry.path(), entry.file_name()))
        });
    builder
}

/// Tracked files the walk did not reach: ignored ones are visited now; the walk's own
/// leave-outs (skipped directories, the policy's `exclude`, symlinks, files deleted since)
/// stay out.
fn visit_unvisited_tracked(
    visitor: &Visitor<'_>,
    root: &Path,
    tracked: &HashMap<String, AtomicBool>,
    excluded: Option<&ignore::overrides::Override>,
) {
    let mut unvisited: Vec<&String> = tracked
        .iter()
        .filter(|(_, seen)| !seen.load(Ordering::Relaxed))
        .map(|(rel, _)| rel)
        .collect();
    unvisited.sort();
    for rel in unvisited {
        let path = root.join(rel);
        let is_file = path.symlink_metadata().is_ok_and(|m| m.is_file());
        if is_file && !left_out(root, &path, excluded) {
            visitor.visit(&path, rel.clone());
        }
    }
}

/// The policy's `exclude` patterns as the walker's overrides, if there are any.
fn excluded_paths(
    root: &Path,
    exclude: &[String],
) -> anyhow::Result<Option<ignore::overrides::Override>> {
    if exclude.is_empty() {
        return Ok(None);
    }
    let mut overrides = ignore::overrides::OverrideBuilder::new(root);
    for pattern in exclude {
        overrides
            .add(&format!("!{pattern}"))
            .with_context(|| format!("invalid exclude pattern `{pattern}` in the policy"))?;
    }
    Ok(Some(overrides.build()?))
}

/// Whether the walk leaves `path` out whatever the ignore files say: it is in a skipped
/// directory, or the policy excludes it or one of its directories.
fn left_out(root: &Path, path: &Path, excluded: Option<&ignore::overrides::Override>) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return true;
    };
    let mut dir = root.to_path_buf();
    let mut parts = rel.components().peekable();
    while let Some(part) = parts.next() {
        dir.push(part);
        let is_dir = parts.peek().is_some();
        if is_dir && skipped_dir(&dir, part.as_os_str()) {
            return true;
        }
        if excluded.is_some_and(|ex| ex.matched(&dir, is_dir).is_ignore()) {
            return true;
        }
    }
    false
}

/// The regular files git tracks under `root` (relative to it, `/`-separated), each with a
/// flag the walk sets when it visits the file. Empty outside a git work tree; an error when
/// `root` is in one whose index cannot be read (the scan then says so rather than silently
/// missing what `.gitignore` lists).
fn tracked_files(root: &Path) -> Result<HashMap<String, AtomicBool>, RunError> {
    let Ok(repo) = gix::discover(root) else {
        return Ok(HashMap::new());
    };
    let Some(workdir) = repo.workdir() else {
        return Ok(HashMap::new()); // a bare repository
    };
    let error = |message: String| RunError {
        path: ".".to_owned(),
        line: None,
        message,
    };
    let (Ok(workdir), Ok(root)) = (workdir.canonicalize(), root.canonicalize()) else {
        return Ok(HashMap::new());
    };
    let Ok(prefix) = root.strip_prefix(&workdir) else {
        return Ok(HashMap::new());
    };
    let prefix = relative(prefix, Path::new(""));
    let index = repo.index_or_empty().map_err(|err| {
        error(format!(
            "could not read git's index, so files that git tracks but .gitignore lists were \
             not scanned: {err}"
        ))
    })?;
    let mut tracked = HashMap::new();
    for entry in index.entries() {
        use gix::index::entry::Mode;
        if !(entry.mode == Mode::FILE || entry.mode == Mode::FILE_EXECUTABLE) {
            continue; // symlinks, submodules, sparse directories
        }
        let path = entry.path(&index).to_string();
        let rel = match prefix.as_str() {
            "" => path,
            prefix => match path.strip_prefix(prefix).and_then(|p| p.strip_prefix('/')) {
                Some(rel) => rel.to_owned(),
                None => continue,
            },
        };
        tracked.insert(rel, AtomicBool::new(false));
    }
    Ok(tracked)
}

/// Hands each file to the capabilities that want it and gathers what they found.
struct Visitor<'a> {
    options: &'a WalkOptions<'a>,
    found: Mutex<Walked>,
    files: AtomicUsize,
    single_threaded: bool,
}

impl Visitor<'_> {
    /// Reads one regular file; `rel` is its path relative to the root, `/`-separated.
    fn visit(&self, path: &Path, rel: String) {
        let (options, found, single_threaded) = (self.options, &self.found, self.single_threaded);
        let scanner = options.secrets;
        self.files.fetch_add(1, Ordering::Relaxed);
        self.options.progress.inc(1);
        if let Some(engine) = options.code.filter(|engine| engine.wants(&rel)) {
            match scan_code(engine, &rel, path) {
                Ok(Some(scan)) => lock(found).code_scans.push(scan),
                Ok(None) => {}
                Err(error) => lock(found).errors.push(error),
            }
        }
        let kind = if options.deps {
            dependency_kind(path)
        } else {
            None
        };
        let Some(kind) = kind else {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            // Lockfiles we do not read still lock their manifest (bun.lockb, pdm.lock).
            if UNREAD_LOCKFILES.contains(&name) {
                lock(found).dependency_files.insert(rel.clone());
            }
            if let Some(scanner) = scanner.and_then(SharedScanner::ready) {
                record_secrets(found, scanner.scan_path(&rel, path));
            }
            return;
        };
        if kind.is_manifest() {
            if let Some(scanner) = scanner.and_then(SharedScanner::ready) {
                record_secrets(found, scanner.scan_path(&rel, path));
            }
            let mut found = lock(found);
            found.dependency_files.insert(rel.clone());
            found.manifests.push((rel, kind));
            return;
        }
        let read = read_limited(path, MAX_LOCKFILE_BYTES).map_err(|message| RunError {
            path: rel.clone(),
            line: None,
            message,
        });
        let parse = |bytes: &[u8]| {
            allclear_lockfiles::parse(kind, &rel, bytes).map_err(|err| RunError {
                path: rel.clone(),
                line: err.line,
                message: err.message,
            })
        };
        // A lockfile is read once, for both the audit and the secrets scan (a registry
        // token pasted into a lockfile's source URL is not unheard of).
        let parsed = match (scanner, read) {
            (Some(scanner), Ok(bytes))
                if single_threaded && bytes.len() >= OVERLAP_LOCKFILE_BYTES =>
            {
                // Walking on one thread leaves the other core idle: scan the lockfile
                // for secrets there (once the rules are built) while it is parsed here.
                let (scan, parsed) = std::thread::scope(|s| {
                    let scan = s.spawn(|| scanner.ready().map(|sc| sc.scan(&rel, &bytes)));
                    let parsed = parse(&bytes);
                    (scan.join(), parsed)
                });
                match scan {
                    Ok(scan) => scan
                        .into_iter()
                        .for_each(|scan| record_secrets(found, scan)),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
                parsed
            }
            (Some(scanner), Ok(bytes)) => {
                if let Some(scanner) = scanner.ready() {
                    record_secrets(found, scanner.scan(&rel, &bytes));
                }
                parse(&bytes)
            }
            (None, read) => read.and_then(|bytes| parse(&bytes)),
            (Some(_), Err(error)) => Err(error),
        };
        let mut found = lock(found);
        found.dependency_files.insert(rel.clone());
        match parsed {
            Ok(lockfile) => found.lockfiles.push((rel, lockfile)),
            Err(error) => found.errors.push(error),
        }
    }
}

/// Runs the code rules on one file. Source files are read up to one byte past the engine's
/// size limit (the engine then reports them as skipped for their size, unread); composer.lock
/// and other project files are read whole, up to the lockfile limit.
fn scan_code(
    engine: &allclear_sast::Engine,
    rel: &str,
    path: &Path,
) -> Result<Option<allclear_sast::FileScan>, RunError> {
    let limit = match allclear_sast::language_of(rel) {
        Some(allclear_sast::Language::Facts) => MAX_LOCKFILE_BYTES,
        _ => allclear_sast::MAX_FILE_BYTES as u64 + 1,
    };
    let error = |message: String| RunError {
        path: rel.to_owned(),
        line: None,
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| error(format!("could not open: {e}")))?;
    let mut bytes = Vec::new();
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("could not read: {e}")))?;
    Ok(engine.scan_file(rel, &bytes))
}

/// True for a directory with fewer than 32 entries, none of them a directory.
fn is_small_flat_dir(root: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(root) else {
        return false;
    };
    let mut count = 0;
    for entry in entries {
        count += 1;
        let is_dir = entry.map_or(true, |e| e.file_type().map_or(true, |t| t.is_dir()));
        if is_dir || count >= 32 {
            return false;
        }
    }
    true
}

/// What kind of dependency file an entry is, if any.
fn dependency_kind(path: &Path) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    match allclear_lockfiles::detect(name) {
        Some(kind) => Some(kind),
        // `requirements/prod.txt`: the directory name makes it a requirements file.
        None if name.ends_with(".txt") => {
            let dir = path.parent()?.file_name()?.to_str()?;
            allclear_lockfiles::detect(&format!("{dir}/{name}"))
        }
        None => None,
    }
}

fn record_secrets(found: &Mutex<Walked>, output: allclear_secrets::ScanOutput) {
    if output.findings.is_empty() && output.errors.is_empty() && output.skipped.is_empty() {
        return;
    }
    let mut found = lock(found);
    found.secret_findings.extend(output.findings);
    found.errors.extend(output.errors);
    found.skipped.extend(output.skipped);
}

fn lock(found: &Mutex<Walked>) -> std::sync::MutexGuard<'_, Walked> {
    // A panic in another walker thread must not hide this thread's results.
    found.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Reads a file, refusing anything larger than `limit` without reading it all.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("could not open: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("could not read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "larger than {} MiB: too large to be a lockfile; exclude it in allclear.toml if it is not one",
            limit / (1024 * 1024)
        ));
    }
    Ok(bytes)
}

/// `path` relative to `root`, `/`-separated, for reports.
pub fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for (index, part) in rel.components().enumerate() {
        if index > 0 {
            out.push('/');
        }
        out.push_str(&part.as_os_str().to_string_lossy());
    }
    out
}

fn err_path(err: &ignore::Error, root: &Path) -> String {
    fn find(err: &ignore::Error) -> Option<PathBuf> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path.clone()),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                find(err)
            }
            ignore::Error::Loop { child, .. } => Some(child.clone()),
            _ => None,
        }
    }
    find(err)
        .map(|p| relative(&p, root))
        .unwrap_or_else(|| ".".to_owned())
}
