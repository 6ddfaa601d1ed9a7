//! Importing advisory sources into the store: format detection, reading records in
//! parallel, and the atomic replacement of the database.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use allclear_core::Ecosystem;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::archive::{ArchiveError, ZipLimits, ZipRecords};
use crate::formats::{self, Parsed};
use crate::names::normalize_name;
use crate::store::{SourceInfo, SourceKind, StoreBuilder, StoreError, serialize_split};

/// Largest record file read from a folder. OSV records are kilobytes; this bounds memory
/// whatever a folder holds.
pub const MAX_RECORD_BYTES: u64 = 16 << 20;

/// How many warnings one source keeps; the rest are only counted.
pub const MAX_WARNINGS: usize = 1000;

/// Records parsed in parallel per batch (also how often progress is reported).
const BATCH: usize = 1024;
/// Bytes of zip members read per batch.
const BATCH_BYTES: u64 = 64 << 20;
/// How deep the OSV folder walk goes (`advisories/PACKAGE/ID.json` is 3).
const MAX_DEPTH: usize = 6;

/// Why an import failed. A failed import leaves the existing database untouched.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// No source was given.
    #[error("no advisory source given")]
    NoSources,
    /// A source path does not exist or cannot be read.
    #[error("cannot read advisory source {}", path.display())]
    Source {
        /// The source path.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The layout of a source is none of the known formats.
    #[error(
        "{} is not a known advisory source (expected an OSV folder or zip, a PyPA, RubySec, FriendsOfPHP or RustSec checkout)",
        path.display()
    )]
    UnknownFormat {
        /// The source path.
        path: PathBuf,
    },
    /// A zip archive was refused or could not be read.
    #[error("advisory archive {}", path.display())]
    Archive {
        /// The archive path.
        path: PathBuf,
        #[source]
        source: ArchiveError,
    },
    /// Writing the new database failed.
    #[error("cannot write the advisory database")]
    Store(#[from] StoreError),
}

/// One source to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInput {
    /// Where to read it.
    pub path: PathBuf,
    /// What identifies it in the store (default: the absolute path). A later import of
    /// the same location replaces it; `update` uses the download URL.
    pub location: Option<String>,
    /// Its format (default: detected from the path, see [`detect`]).
    pub kind: Option<SourceKind>,
}

impl SourceInput {
    pub fn new(path: impl Into<PathBuf>) -> SourceInput {
        SourceInput {
            path: path.into(),
            location: None,
            kind: None,
        }
    }
}

/// How to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Keep the sources already in the store that this import does not replace (the
    /// default). When false, the new store holds only the given sources.
    pub keep_other_sources: bool,
    /// Bounds for zip archives.
    pub zip_limits: ZipLimits,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            keep_other_sources: true,
            zip_limits: ZipLimits::default(),
        }
    }
}

/// Progress of an import, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportEvent<'a> {
    /// A source starts (`index` of `count`, from 0).
    Source {
        location: &'a str,
        kind: SourceKind,
        index: usize,
        count: usize,
    },
    /// Records (files or zip members) of the current source looked at so far.
    Records {
        location: &'a str,
        done: usize,
        total: usize,
    },
    /// All sources are read; the database is being finished and renamed into place.
    Writing,
}

/// A record that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportWarning {
    /// The file (or `archive!member`).
    pub file: String,
    /// What is wrong, with line and column where the parser gave them.
    pub message: String,
}

impl std::fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// Counts for one ecosystem of one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemCounts {
    /// Advisories stored that affect a package of this ecosystem.
    pub imported: usize,
    /// Withdrawn advisories about this ecosystem, not stored.
    pub withdrawn: usize,
}

/// What one source gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSummary {
    pub location: String,
    pub kind: SourceKind,
    /// Record files (or zip members) read.
    pub records: usize,
    /// Advisories stored.
    pub imported: usize,
    /// Records not stored: withdrawn + malformed + unsupported.
    pub skipped: usize,
    pub ecosystems: BTreeMap<Ecosystem, EcosystemCounts>,
    /// Records that could not be parsed (each has a warning).
    pub malformed: usize,
    /// Records skipped because none of their packages is in an ecosystem allclear knows,
    /// by ecosystem name (`""` for records that name no package at all).
    pub unsupported: BTreeMap<String, usize>,
    /// The first [`MAX_WARNINGS`] warnings.
    pub warnings: Vec<ImportWarning>,
    /// Warnings beyond [`MAX_WARNINGS`], counted only.
    pub warnings_dropped: usize,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// The database written.
    pub database: PathBuf,
    /// The sources imported now.
    pub sources: Vec<SourceSummary>,
    /// Locations of earlier sources carried over unchanged.
    pub kept: Vec<String>,
    /// Store-level notes (an old database that could not be merged, for example).
    pub notes: Vec<String>,
}

/// Recognizes a source from its path.
///
/// - a `.zip` file: OSV records (OSV's `ECOSYSTEM/all.zip`);
/// - a `.json` file or a folder of `.json` files: OSV JSON;
/// - a folder with `gems/` or `rubies/`: RubySec;
/// - a folder with `crates/` or `rust/`: RustSec;
/// - a folder with `vulns/`, or of `.yaml` files starting with `id:`: OSV YAML (PyPA);
/// - a folder of `.yaml` files with `branches:`/`reference:`: FriendsOfPHP.
pub fn detect(path: &Path) -> Result<SourceKind, ImportError> {
    let meta = fs_err::metadata(path).map_err(|source| ImportError::Source {
        path: path.to_owned(),
        source,
    })?;
    let unknown = || ImportError::UnknownFormat {
        path: path.to_owned(),
    };
    if meta.is_file() {
        return match extension(path).as_deref() {
            Some("zip") => Ok(SourceKind::OsvZip),
            Some("json") => Ok(SourceKind::OsvJson),
            Some("yaml" | "yml") => Ok(SourceKind::OsvYaml),
            _ => Err(unknown()),
        };
    }
    if path.join("gems").is_dir() || path.join("rubies").is_dir() {
        return Ok(SourceKind::RubySec);
    }
    if path.join("crates").is_dir() || path.join("rust").is_dir() {
        return Ok(SourceKind::RustSec);
    }
    if path.join("vulns").is_dir() {
        return Ok(SourceKind::OsvYaml);
    }
    let files =
        walk(path, 4, &["json", "yaml", "yml"], 1).map_err(|source| ImportError::Source {
            path: path.to_owned(),
            source,
        })?;
    let first = files.first().ok_or_else(unknown)?;
    if extension(first).as_deref() == Some("json") {
        return Ok(SourceKind::OsvJson);
    }
    let text = read_record(first).map_err(|_| unknown())?;
    for line in text.lines() {
        if line.starts_with("branches:") || line.starts_with("reference:") {
            return Ok(SourceKind::FriendsOfPhp);
        }
        if line.starts_with("id:") || line.starts_with("affected:") {
            return Ok(SourceKind::OsvYaml);
        }
    }
    Err(unknown())
}

/// Imports `sources` (format detected from each path) into the store in `dir`, keeping the
/// store's other sources; an earlier import of the same path is replaced.
///
/// The new database is built in a temporary file in `dir` and renamed over the old one
/// only when complete: if anything fails (or the process dies) the old database stays as
/// it was. Malformed records are skipped with a warning naming the file.
pub fn import(
    dir: &Path,
    sources: &[PathBuf],
    progress: &dyn Fn(ImportEvent<'_>),
) -> Result<ImportSummary, ImportError> {
    let inputs: Vec<SourceInput> = sources.iter().map(SourceInput::new).collect();
    import_with(dir, &inputs, &ImportOptions::default(), progress)
}

/// [`import`] with explicit locations, kinds and options.
pub fn import_with(
    dir: &Path,
    sources: &[SourceInput],
    options: &ImportOptions,
    progress: &dyn Fn(ImportEvent<'_>),
) -> Result<ImportSummary, ImportError> {
    if sources.is_empty() {
        return Err(ImportError::NoSources);
    }
    let mut resolved: Vec<(SourceInput, String, SourceKind)> = Vec::new();
    let mut seen = HashSet::new();
    for input in sources {
        let kind = match input.kind {
            Some(kind) => kind,
            None => detect(&input.path)?,
        };
        let location = match &input.location {
            Some(l) => l.clone(),
            None => fs_err::canonicalize(&input.path)
                .map_err(|source| ImportError::Source {
                    path: input.path.clone(),
                    source,
                })?
                .to_string_lossy()
                .into_owned(),
        };
        if seen.insert(location.clone()) {
            resolved.push((input.clone(), location, kind));
        }
    }

    let mut builder = StoreBuilder::create(dir)?;
    let mut notes = Vec::new();
    let mut kept = Vec::new();
    if options.keep_other_sources {
        match builder.keep_sources_from_current(&seen) {
            Ok(k) => kept = k,
            Err(e) => {
                // An old file that cannot be read (another schema version, damage) cannot
                // be merged; it is replaced by one built from the given sources, in a fresh
                // temporary file since the copy may have stopped half-way.
                notes.push(format!(
                    "{}; the existing database was not merged and is replaced by one built from the given sources only",
                    chain(&e)
                ));
                builder = StoreBuilder::create(dir)?;
            }
        }
    }

    let count = resolved.len();
    let mut summaries = Vec::new();
    for (index, (input, location, kind)) in resolved.into_iter().enumerate() {
        progress(ImportEvent::Source {
            location: &location,
            kind,
            index,
            count,
        });
        let summary = import_source(&builder, &input.path, &location, kind, options, progress)?;
        summaries.push(summary);
    }
    progress(ImportEvent::Writing);
    let database = builder.finish()?;
    Ok(ImportSummary {
        database,
        sources: summaries,
        kept,
        notes,
    })
}

/// Where a record comes from and what its parser needs besides the text.
struct RecordRef {
    /// Shown in warnings.
    name: String,
    /// RubySec: the file stem; FriendsOfPHP: the fallback id.
    hint: String,
    /// RustSec: under `rust/`.
    toolchain: bool,
}

enum Outcome {
    Stored {
        id: String,
        record: Vec<u8>,
        extra: Vec<u8>,
        keys: Vec<(Ecosystem, String)>,
        ecosystems: BTreeSet<Ecosystem>,
    },
    Withdrawn(BTreeSet<Ecosystem>),
    Unsupported(Vec<String>),
    Malformed(ImportWarning),
}

fn import_source(
    builder: &StoreBuilder,
    path: &Path,
    location: &str,
    kind: SourceKind,
    options: &ImportOptions,
    progress: &dyn Fn(ImportEvent<'_>),
) -> Result<SourceSummary, ImportError> {
    let mut summary = SourceSummary {
        location: location.to_owned(),
        kind,
        records: 0,
        imported: 0,
        skipped: 0,
        ecosystems: BTreeMap::new(),
        malformed: 0,
        unsupported: BTreeMap::new(),
        warnings: Vec::new(),
        warnings_dropped: 0,
    };
    let mut info = SourceInfo {
        location: location.to_owned(),
        kind,
        imported_at: jiff::Timestamp::now().to_string(),
        advisories: BTreeMap::new(),
        skipped: 0,
    };
    let source_id = builder.add_source(&info)?;
    let source_err = |source| ImportError::Source {
        path: path.to_owned(),
        source,
    };

    if kind == SourceKind::OsvZip {
        let file = fs_err::File::open(path).map_err(source_err)?;
        let mut zip = ZipRecords::new(std::io::BufReader::new(file), options.zip_limits).map_err(
            |source| ImportError::Archive {
                path: path.to_owned(),
                source,
            },
        )?;
        let total = zip.len();
        loop {
            let batch =
                zip.next_batch(BATCH, BATCH_BYTES)
                    .map_err(|source| ImportError::Archive {
                        path: path.to_owned(),
                        source,
                    })?;
            if batch.is_empty() {
                break;
            }
            let outcomes: Vec<Outcome> = batch
                .into_par_iter()
                .map(|(member, bytes)| {
                    let r = RecordRef {
                        name: format!("{location}!{member}"),
                        hint: String::new(),
                        toolchain: false,
                    };
                    outcome(kind, &r, parse_bytes(kind, &r, &bytes))
                })
                .collect();
            store_outcomes(builder, source_id, outcomes, &mut summary)?;
            progress(ImportEvent::Records {
                location,
                done: zip.position(),
                total,
            });
        }
    } else {
        let records = list_records(path, kind).map_err(source_err)?;
        let total = records.len();
        let mut done = 0;
        for chunk in records.chunks(BATCH) {
            let outcomes: Vec<Outcome> = chunk
                .par_iter()
                .map(|(file, r)| {
                    let parsed = match read_record(file) {
                        Ok(text) => parse_text(kind, r, &text),
                        Err(message) => Err(message),
                    };
                    outcome(kind, r, parsed)
                })
                .collect();
            store_outcomes(builder, source_id, outcomes, &mut summary)?;
            done += chunk.len();
            progress(ImportEvent::Records {
                location,
                done,
                total,
            });
        }
    }

    for (eco, counts) in &summary.ecosystems {
        info.advisories.insert(*eco, counts.imported);
    }
    info.skipped = summary.skipped;
    builder.finish_source(source_id, &info)?;
    Ok(summary)
}

fn store_outcomes(
    builder: &StoreBuilder,
    source_id: i64,
    outcomes: Vec<Outcome>,
    summary: &mut SourceSummary,
) -> Result<(), ImportError> {
    builder.begin()?;
    for o in outcomes {
        summary.records += 1;
        match o {
            Outcome::Stored {
                id,
                record,
                extra,
                keys,
                ecosystems,
            } => {
                builder.add_advisory(source_id, &id, &record, &extra, &keys)?;
                summary.imported += 1;
                for eco in ecosystems {
                    summary.ecosystems.entry(eco).or_default().imported += 1;
                }
            }
            Outcome::Withdrawn(ecosystems) => {
                summary.skipped += 1;
                for eco in ecosystems {
                    summary.ecosystems.entry(eco).or_default().withdrawn += 1;
                }
            }
            Outcome::Unsupported(ecos) => {
                summary.skipped += 1;
                let key = ecos.into_iter().next().unwrap_or_default();
                *summary.unsupported.entry(key).or_default() += 1;
            }
            Outcome::Malformed(w) => {
                summary.skipped += 1;
                summary.malformed += 1;
                if summary.warnings.len() < MAX_WARNINGS {
                    summary.warnings.push(w);
                } else {
                    summary.warnings_dropped += 1;
                }
            }
        }
    }
    builder.commit()?;
    Ok(())
}

fn outcome(_kind: SourceKind, r: &RecordRef, parsed: Result<Parsed, String>) -> Outcome {
    let parsed = match parsed {
        Ok(p) => p,
        Err(message) => {
            return Outcome::Malformed(ImportWarning {
                file: r.name.clone(),
                message,
            });
        }
    };
    let advisory = parsed.advisory;
    let ecosystems: BTreeSet<Ecosystem> = advisory.affected.iter().map(|a| a.ecosystem).collect();
    if advisory.withdrawn.is_some() {
        return Outcome::Withdrawn(ecosystems);
    }
    if advisory.affected.is_empty() {
        let mut unsupported = parsed.unsupported;
        unsupported.sort();
        unsupported.dedup();
        return Outcome::Unsupported(unsupported);
    }
    let mut keys: Vec<(Ecosystem, String)> = advisory
        .affected
        .iter()
        .map(|a| (a.ecosystem, normalize_name(a.ecosystem, &a.package)))
        .collect();
    keys.sort();
    keys.dedup();
    match serialize_split(&advisory) {
        Ok((record, extra)) => Outcome::Stored {
            id: advisory.id,
            record,
            extra,
            keys,
            ecosystems,
        },
        Err(e) => Outcome::Malformed(ImportWarning {
            file: r.name.clone(),
            message: e.to_string(),
        }),
    }
}

/// Parses the bytes of a record (zip members), requiring UTF-8 for the text formats.
fn parse_bytes(kind: SourceKind, r: &RecordRef, bytes: &[u8]) -> Result<Parsed, String> {
    match kind {
        SourceKind::OsvJson | SourceKind::OsvZip => {
            formats::osv::parse_json(bytes).map_err(|e| chain(&e))
        }
        _ => match std::str::from_utf8(bytes) {
            Ok(text) => parse_text(kind, r, text),
            Err(e) => Err(format!("not UTF-8 text: {e}")),
        },
    }
}

fn parse_text(kind: SourceKind, r: &RecordRef, text: &str) -> Result<Parsed, String> {
    match kind {
        SourceKind::OsvJson | SourceKind::OsvZip => {
            formats::osv::parse_json(text.as_bytes()).map_err(|e| chain(&e))
        }
        SourceKind::OsvYaml => formats::osv::parse_yaml(text).map_err(|e| chain(&e)),
        SourceKind::RubySec => formats::rubysec::parse(text, &r.hint).map_err(|e| chain(&e)),
        SourceKind::FriendsOfPhp => {
            formats::friendsofphp::parse(text, &r.hint).map_err(|e| chain(&e))
        }
        SourceKind::RustSec => formats::rustsec::parse(text, r.toolchain).map_err(|e| chain(&e)),
    }
}

/// An error and its causes, `: `-separated (warnings are data, so they carry the chain).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

fn read_record(path: &Path) -> Result<String, String> {
    let file = fs_err::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read: {e}"))?;
    if text.len() as u64 > MAX_RECORD_BYTES {
        return Err(format!(
            "larger than the {MAX_RECORD_BYTES} bytes allowed for one record"
        ));
    }
    Ok(text)
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Files under `root` with one of `exts`, at most `max_depth` levels down, hidden entries
/// skipped and symbolic links not followed; sorted. Stops after `limit` files when given.
fn walk(
    root: &Path,
    max_depth: usize,
    exts: &[&str],
    limit: usize,
) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    // An explicit stack instead of recursion: depth is bounded, the stack is on the heap.
    let mut stack = vec![(root.to_owned(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let mut entries: Vec<(PathBuf, std::fs::FileType)> = Vec::new();
        for entry in fs_err::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            entries.push((entry.path(), entry.file_type()?));
        }
        entries.sort_by(|a, b| b.0.cmp(&a.0));
        for (path, ty) in entries {
            if ty.is_dir() && depth + 1 < max_depth {
                stack.push((path, depth + 1));
            } else if ty.is_file() && extension(&path).is_some_and(|e| exts.contains(&e.as_str())) {
                out.push(path);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn list_records(root: &Path, kind: SourceKind) -> std::io::Result<Vec<(PathBuf, RecordRef)>> {
    let plain = |p: PathBuf| {
        let r = RecordRef {
            name: p.display().to_string(),
            hint: stem(&p),
            toolchain: false,
        };
        (p, r)
    };
    if root.is_file() {
        return Ok(vec![plain(root.to_owned())]);
    }
    let mut out = Vec::new();
    match kind {
        SourceKind::OsvJson | SourceKind::OsvZip => {
            out.extend(
                walk(root, MAX_DEPTH, &["json"], usize::MAX)?
                    .into_iter()
                    .map(plain),
            );
        }
        SourceKind::OsvYaml => {
            out.extend(
                walk(root, MAX_DEPTH, &["yaml", "yml"], usize::MAX)?
                    .into_iter()
                    .map(plain),
            );
        }
        SourceKind::RubySec => {
            for sub in ["gems", "rubies"] {
                let dir = root.join(sub);
                if dir.is_dir() {
                    out.extend(
                        walk(&dir, 2, &["yml", "yaml"], usize::MAX)?
                            .into_iter()
                            .map(plain),
                    );
                }
            }
        }
        SourceKind::FriendsOfPhp => {
            for p in walk(root, 3, &["yaml", "yml"], usize::MAX)? {
                let rel = p.strip_prefix(root).unwrap_or(&p);
                // VENDOR/PACKAGE/FILE only: other YAML (CI configs) sits elsewhere.
                if rel.components().count() != 3 {
                    continue;
                }
                let id = rel.with_extension("").to_string_lossy().replace('\\', "/");
                out.push((
                    p.clone(),
                    RecordRef {
                        name: p.display().to_string(),
                        hint: format!("friendsofphp:{id}"),
                        toolchain: false,
                    },
                ));
            }
        }
        SourceKind::RustSec => {
            for (sub, toolchain) in [("crates", false), ("rust", true)] {
                let dir = root.join(sub);
                if dir.is_dir() {
                    for p in walk(&dir, 2, &["md"], usize::MAX)? {
                        out.push((
                            p.clone(),
                            RecordRef {
                                name: p.display().to_string(),
                                hint: String::new(),
                                toolchain,
                            },
                        ));
                    }
                }
            }
        }
    }
    Ok(out)
}
