//! The local advisory database: one SQLite file, `advisories.db`, in a directory the caller
//! chooses, replaced as a whole by each import (see `docs/decisions/0001-advisory-store.md`).
//!
//! Layout: `affected(ecosystem, name, advisory)` is the index (a `WITHOUT ROWID` table whose
//! primary key starts with the lookup key); `advisories(id, source, advisory_id, record,
//! extra)` holds each advisory once as JSON, the long text (details, references) apart in
//! `extra` so matching decodes only what it needs; `sources` and `meta` hold what `status` reports. A
//! scan reads only the rows of the packages it asks about.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use allclear_core::Ecosystem;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::model::Advisory;
use crate::names::normalize_name;

/// The database's file name inside the store directory.
pub const DB_FILE_NAME: &str = "advisories.db";

/// Bumped whenever the tables or the stored JSON change shape; an older file is rebuilt,
/// never read.
pub const SCHEMA_VERSION: u32 = 2;

/// Why the store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// There is no database in the directory yet (run an import or `db update`).
    #[error("no advisory database at {}", path.display())]
    Missing {
        /// The database file that does not exist.
        path: PathBuf,
    },
    /// The file was written by another version of allclear (or is not ours).
    #[error("the advisory database at {} has schema version {found}, this build reads {expected}", path.display())]
    Incompatible {
        /// The database file.
        path: PathBuf,
        /// The version found (`none` when the file has no version).
        found: String,
        /// The version this build reads and writes.
        expected: u32,
    },
    /// SQLite failed (a damaged file, a full disk, a permission problem).
    #[error("advisory database {}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A stored record could not be decoded (the file is damaged).
    #[error("stored advisory {id} is damaged")]
    Record {
        /// The advisory id.
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// A file operation around the database failed.
    #[error("advisory database directory {}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What kind of source a set of advisories came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A folder of OSV JSON records (the Drupal advisory database, an unpacked `all.zip`).
    OsvJson,
    /// A folder of OSV records written as YAML (the PyPA advisory database).
    OsvYaml,
    /// A zip of OSV JSON records (OSV's per-ecosystem `all.zip`).
    OsvZip,
    /// A `ruby-advisory-db` checkout.
    RubySec,
    /// A FriendsOfPHP `security-advisories` checkout.
    FriendsOfPhp,
    /// A RustSec `advisory-db` checkout.
    RustSec,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::OsvJson => "osv-json",
            SourceKind::OsvYaml => "osv-yaml",
            SourceKind::OsvZip => "osv-zip",
            SourceKind::RubySec => "rubysec",
            SourceKind::FriendsOfPhp => "friendsofphp",
            SourceKind::RustSec => "rustsec",
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One imported source, as the store remembers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The absolute path or URL it was imported from; importing the same location again
    /// replaces it.
    pub location: String,
    pub kind: SourceKind,
    /// RFC 3339 UTC.
    pub imported_at: String,
    /// Advisories stored, per ecosystem (an advisory naming two ecosystems counts in both).
    pub advisories: BTreeMap<Ecosystem, usize>,
    /// Records not stored (withdrawn, malformed, only unsupported ecosystems).
    pub skipped: usize,
}

/// Per-ecosystem totals over the whole store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemStats {
    /// Stored advisories affecting at least one package of the ecosystem.
    pub advisories: usize,
    /// Distinct packages (normalized names) with at least one advisory.
    pub packages: usize,
}

/// What the store holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The database file.
    pub path: PathBuf,
    /// When this file was built (RFC 3339 UTC).
    pub built_at: String,
    pub sources: Vec<SourceInfo>,
    pub ecosystems: BTreeMap<Ecosystem, EcosystemStats>,
}

/// An open, read-only advisory database.
pub struct Store {
    conn: Connection,
    status: Status,
    /// Every key of an ecosystem, loaded on first use by a large batch (see
    /// [`Store::key_set`]), indexed like [`Ecosystem::ALL`].
    // hashbrown's default hasher (foldhash, seeded per process): reading uv's 753 packages
    // against crates.io's keys spent 2 M instructions in SipHash.
    keys: [OnceCell<hashbrown::HashSet<Box<str>>>; Ecosystem::ALL.len()],
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.status.path)
            .finish()
    }
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

impl Store {
    /// Opens the database in `dir` read-only and reads its status (a few rows).
    ///
    /// # Errors
    /// [`StoreError::Missing`] when `dir` has no database, [`StoreError::Incompatible`]
    /// when it was written by another schema version, [`StoreError::Sqlite`] when it is
    /// damaged or unreadable.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(DB_FILE_NAME);
        if !path.is_file() {
            return Err(StoreError::Missing { path });
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite(&path))?;
        // The file is never changed in place (imports rename a new file over it), so the
        // shared lock can be taken once and kept: without this SQLite locks, re-reads the
        // header and unlocks around every lookup, which is most of a lookup's cost.
        conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE")
            .map_err(sqlite(&path))?;
        check_schema(&conn, "main", &path)?;
        let status = read_status(&conn, &path)?;
        Ok(Store {
            conn,
            status,
            keys: Default::default(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.status.path
    }

    /// Sources, per-ecosystem counts and build time, read when the store was opened.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Whether any advisory names this package (the name is normalized first).
    pub fn has_advisories(&self, eco: Ecosystem, name: &str) -> Result<bool, StoreError> {
        self.has_key(eco, &normalize_name(eco, name))
    }

    /// Whether a normalized key has any advisory: one index probe.
    pub(crate) fn has_key(&self, eco: Ecosystem, key: &str) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM affected WHERE ecosystem = ?1 AND name = ?2)",
            )
            .map_err(sqlite(self.path()))?;
        stmt.query_row(params![eco.as_str(), key], |row| row.get(0))
            .map_err(sqlite(self.path()))
    }

    /// The subset of `names` that have any advisory, as given (not normalized). Cheap: no
    /// record is read; one index probe per name, or for many names one read of the
    /// ecosystem's keys.
    pub fn names_with_advisories<'a>(
        &self,
        eco: Ecosystem,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashSet<&'a str>, StoreError> {
        let names: Vec<&'a str> = names.into_iter().collect();
        let set = if names.len().saturating_mul(5) > self.package_count(eco) {
            Some(self.key_set(eco)?)
        } else {
            None
        };
        let mut found = HashSet::new();
        for name in names {
            if found.contains(name) {
                continue;
            }
            let key = normalize_name(eco, name);
            let known = match set {
                Some(set) => set.contains(key.as_str()),
                None => self.has_key(eco, &key)?,
            };
            if known {
                found.insert(name);
            }
        }
        Ok(found)
    }

    /// Every stored advisory that names this package in `eco` (the name is normalized
    /// first). Each is returned whole, with all its affected entries; see
    /// [`crate::entries_for`] for the ones about this package.
    pub fn advisories_for(&self, eco: Ecosystem, name: &str) -> Result<Vec<Advisory>, StoreError> {
        let mut out = Vec::new();
        for raw in self.raw_for(eco, &normalize_name(eco, name))? {
            let mut advisory = raw.decode()?;
            let extra = self.extra(raw.rowid, &advisory.id)?;
            advisory.details = extra.details;
            advisory.references = extra.references;
            out.push(advisory);
        }
        Ok(out)
    }

    /// Every normalized key of an ecosystem, read once and kept. Worth it only when a
    /// batch asks about a good share of the ecosystem's packages: one index probe costs
    /// about as much as reading five keys.
    pub(crate) fn key_set(
        &self,
        eco: Ecosystem,
    ) -> Result<&hashbrown::HashSet<Box<str>>, StoreError> {
        let slot = Ecosystem::ALL
            .iter()
            .position(|e| *e == eco)
            .and_then(|i| self.keys.get(i));
        let Some(slot) = slot else {
            // Unreachable (every ecosystem is in ALL); an empty set would be wrong, so
            // fall back to a fresh load without caching.
            return Err(StoreError::Io {
                path: self.path().to_owned(),
                source: std::io::Error::other(format!("no key slot for {eco}")),
            });
        };
        if let Some(set) = slot.get() {
            return Ok(set);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT name FROM affected WHERE ecosystem = ?1")
            .map_err(sqlite(self.path()))?;
        let set = stmt
            .query_map([eco.as_str()], |row| row.get::<_, String>(0))
            .map_err(sqlite(self.path()))?
            .map(|r| r.map(String::into_boxed_str))
            .collect::<Result<hashbrown::HashSet<_>, _>>()
            .map_err(sqlite(self.path()))?;
        Ok(slot.get_or_init(|| set))
    }

    /// Packages of an ecosystem with at least one advisory (from the status).
    pub(crate) fn package_count(&self, eco: Ecosystem) -> usize {
        self.status.ecosystems.get(&eco).map_or(0, |s| s.packages)
    }

    /// The stored records (without their long text) under a normalized key.
    pub(crate) fn raw_for(&self, eco: Ecosystem, key: &str) -> Result<Vec<RawRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.id, a.advisory_id, a.record FROM affected f JOIN advisories a ON a.id = f.advisory \
                 WHERE f.ecosystem = ?1 AND f.name = ?2 ORDER BY a.id",
            )
            .map_err(sqlite(self.path()))?;
        let rows = stmt
            .query_map(params![eco.as_str(), key], |row| {
                Ok(RawRecord {
                    rowid: row.get(0)?,
                    id: row.get(1)?,
                    record: row.get(2)?,
                })
            })
            .map_err(sqlite(self.path()))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sqlite(self.path()))
    }

    /// The long text of a stored advisory.
    pub(crate) fn extra(&self, rowid: i64, id: &str) -> Result<Extra, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT extra FROM advisories WHERE id = ?1")
            .map_err(sqlite(self.path()))?;
        let blob: Option<Vec<u8>> = stmt
            .query_row([rowid], |row| row.get(0))
            .optional()
            .map_err(sqlite(self.path()))?;
        match blob {
            Some(b) => serde_json::from_slice(&b).map_err(|source| StoreError::Record {
                id: id.to_owned(),
                source,
            }),
            None => Ok(Extra::default()),
        }
    }
}

/// A stored record as read, not yet decoded (decoding runs in parallel).
pub(crate) struct RawRecord {
    pub(crate) rowid: i64,
    pub(crate) id: String,
    pub(crate) record: Vec<u8>,
}

impl RawRecord {
    pub(crate) fn decode(&self) -> Result<Advisory, StoreError> {
        serde_json::from_slice(&self.record).map_err(|source| StoreError::Record {
            id: self.id.clone(),
            source,
        })
    }
}

/// The parts of an advisory stored apart from the record: only reports need them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Extra {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) references: Vec<String>,
}

/// Splits an advisory into the stored record and its extra part, serialized.
pub(crate) fn serialize_split(
    advisory: &Advisory,
) -> Result<(Vec<u8>, Vec<u8>), serde_json::Error> {
    let mut core = advisory.clone();
    let extra = Extra {
        details: core.details.take(),
        references: std::mem::take(&mut core.references),
    };
    Ok((serde_json::to_vec(&core)?, serde_json::to_vec(&extra)?))
}

fn check_schema(conn: &Connection, schema: &str, path: &Path) -> Result<(), StoreError> {
    let incompatible = |found: String| StoreError::Incompatible {
        path: path.to_owned(),
        found,
        expected: SCHEMA_VERSION,
    };
    let has_meta: bool = conn
        .query_row(
            &format!(
                "SELECT EXISTS(SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = 'meta')"
            ),
            [],
            |row| row.get(0),
        )
        .map_err(|source| match source {
            // Not a database at all (SQLITE_NOTADB) reads as "not ours".
            rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::NotADatabase => {
                incompatible("none (not an SQLite database)".to_owned())
            }
            source => StoreError::Sqlite {
                path: path.to_owned(),
                source,
            },
        })?;
    if !has_meta {
        return Err(incompatible("none".to_owned()));
    }
    let found: Option<String> = conn
        .query_row(
            &format!("SELECT value FROM {schema}.meta WHERE key = 'schema_version'"),
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(sqlite(path))?;
    match found {
        Some(v) if v == SCHEMA_VERSION.to_string() => Ok(()),
        Some(v) => Err(incompatible(v)),
        None => Err(incompatible("none".to_owned())),
    }
}

fn read_status(conn: &Connection, path: &Path) -> Result<Status, StoreError> {
    let meta = |key: &str| -> Result<Option<String>, StoreError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()
        .map_err(sqlite(path))
    };
    let built_at = meta("built_at")?.unwrap_or_default();
    let ecosystems = match meta("ecosystems")? {
        Some(json) => serde_json::from_str(&json).map_err(|source| StoreError::Record {
            id: "meta.ecosystems".to_owned(),
            source,
        })?,
        None => BTreeMap::new(),
    };
    let mut stmt = conn
        .prepare("SELECT location, info FROM sources ORDER BY id")
        .map_err(sqlite(path))?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(sqlite(path))?;
    let mut sources = Vec::new();
    for row in rows {
        let (location, info) = row.map_err(sqlite(path))?;
        sources.push(
            serde_json::from_str(&info).map_err(|source| StoreError::Record {
                id: format!("source {location}"),
                source,
            })?,
        );
    }
    Ok(Status {
        path: path.to_owned(),
        built_at,
        sources,
        ecosystems,
    })
}

const SCHEMA: &str = "
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        location TEXT NOT NULL UNIQUE,
        info TEXT NOT NULL
    );
    CREATE TABLE advisories (
        id INTEGER PRIMARY KEY,
        source INTEGER NOT NULL REFERENCES sources(id),
        advisory_id TEXT NOT NULL,
        record BLOB NOT NULL,
        extra BLOB NOT NULL
    );
    CREATE TABLE affected (
        ecosystem TEXT NOT NULL,
        name TEXT NOT NULL,
        advisory INTEGER NOT NULL REFERENCES advisories(id),
        PRIMARY KEY (ecosystem, name, advisory)
    ) WITHOUT ROWID;
";

/// Temporary files older than this are left over from an import or download that was
/// killed (a finished or failed one removes its own); younger ones may belong to an import
/// running right now.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Best effort: removes temporary databases and downloads of killed imports, which can be
/// hundreds of megabytes. Errors are ignored; the files are only garbage.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = (name.starts_with(".advisories-") && name.ends_with(".db.tmp"))
            || (name.starts_with(".download-") && name.ends_with(".zip"));
        let stale = entry
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if ours && stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Builds a new database next to the old one and renames it into place when complete, so
/// readers always see either the old file or the new one, never a half-written file.
pub(crate) struct StoreBuilder {
    conn: Connection,
    temp: tempfile::NamedTempFile,
    dir: PathBuf,
    /// The file the new database replaces: `dir/advisories.db`, or the file it links to.
    target: PathBuf,
}

/// Where the database file really is: `dir/advisories.db`, or what that links to. Renaming
/// over a symlink would replace the link with a plain file and leave the linked database (on
/// another disk, shared with other users) stale, so the new file goes where the link points.
fn resolved_target(dir: &Path) -> PathBuf {
    let link = dir.join(DB_FILE_NAME);
    let is_link = std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return link;
    }
    if let Ok(real) = std::fs::canonicalize(&link) {
        return real;
    }
    // A dangling link: create the file it names (its directory must exist).
    match std::fs::read_link(&link) {
        Ok(to) if to.is_absolute() => to,
        Ok(to) => dir.join(to),
        Err(_) => link,
    }
}

impl StoreBuilder {
    pub(crate) fn create(dir: &Path) -> Result<StoreBuilder, StoreError> {
        fs_err::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let target = resolved_target(dir);
        // The new file is built beside the one it replaces: a rename cannot cross filesystems.
        let build_dir = target.parent().unwrap_or(dir).to_owned();
        remove_stale_temporaries(&build_dir);
        let temp = tempfile::Builder::new()
            .prefix(".advisories-")
            .suffix(".db.tmp")
            .tempfile_in(&build_dir)
            .map_err(|source| StoreError::Io {
                path: build_dir.clone(),
                source,
            })?;
        let path = temp.path().to_owned();
        let conn = Connection::open(&path).map_err(sqlite(&path))?;
        // No journal and no syncs while building: a failed build is thrown away whole, and
        // the file is synced once before the rename.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;",
        )
        .map_err(sqlite(&path))?;
        conn.execute_batch(SCHEMA).map_err(sqlite(&path))?;
        Ok(StoreBuilder {
            conn,
            temp,
            dir: dir.to_owned(),
            target,
        })
    }

    fn path(&self) -> PathBuf {
        self.temp.path().to_owned()
    }

    /// Copies the sources of the current database that are not being replaced. Returns the
    /// locations kept, or `Err` when the old file cannot be used (the caller then builds
    /// from the new sources alone and says so).
    pub(crate) fn keep_sources_from_current(
        &mut self,
        replaced: &HashSet<String>,
    ) -> Result<Vec<String>, StoreError> {
        let old = self.dir.join(DB_FILE_NAME);
        if !old.is_file() {
            return Ok(Vec::new());
        }
        let path = self.path();
        // Check the old file on its own connection first: attaching a file that is not a
        // database fails with an error that would not say so.
        {
            let probe = Connection::open_with_flags(&old, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(sqlite(&old))?;
            check_schema(&probe, "main", &old)?;
        }
        let old_str = old.to_string_lossy().into_owned();
        self.conn
            .execute("ATTACH DATABASE ?1 AS old", [&old_str])
            .map_err(sqlite(&path))?;
        let result = self.copy_old(&old, replaced);
        let detach = self.conn.execute_batch("DETACH DATABASE old");
        let kept = result?;
        detach.map_err(sqlite(&path))?;
        Ok(kept)
    }

    fn copy_old(
        &mut self,
        old: &Path,
        replaced: &HashSet<String>,
    ) -> Result<Vec<String>, StoreError> {
        check_schema(&self.conn, "old", old)?;
        let path = self.path();
        let err = sqlite(&path);
        self.conn.execute_batch("BEGIN").map_err(&err)?;
        self.conn
            .execute_batch("CREATE TEMP TABLE replaced (location TEXT PRIMARY KEY)")
            .map_err(&err)?;
        {
            let mut ins = self
                .conn
                .prepare("INSERT OR IGNORE INTO temp.replaced (location) VALUES (?1)")
                .map_err(&err)?;
            for location in replaced {
                ins.execute([location]).map_err(&err)?;
            }
        }
        self.conn
            .execute_batch(
                "INSERT INTO main.sources SELECT * FROM old.sources \
                     WHERE location NOT IN (SELECT location FROM temp.replaced);
                 INSERT INTO main.advisories SELECT * FROM old.advisories \
                     WHERE source IN (SELECT id FROM main.sources);
                 INSERT INTO main.affected SELECT * FROM old.affected \
                     WHERE advisory IN (SELECT id FROM main.advisories);
                 DROP TABLE temp.replaced;
                 COMMIT;",
            )
            .map_err(&err)?;
        let mut stmt = self
            .conn
            .prepare("SELECT location FROM main.sources ORDER BY id")
            .map_err(&err)?;
        let kept = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(&err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        Ok(kept)
    }

    pub(crate) fn begin(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("BEGIN")
            .map_err(sqlite(&self.path()))
    }

    pub(crate) fn commit(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(sqlite(&self.path()))
    }

    /// Adds a source row (its counts are filled in by [`StoreBuilder::finish_source`]).
    pub(crate) fn add_source(&self, info: &SourceInfo) -> Result<i64, StoreError> {
        let path = self.path();
        let json = serde_json::to_string(info).map_err(|source| StoreError::Record {
            id: info.location.clone(),
            source,
        })?;
        self.conn
            .execute(
                "INSERT INTO sources (location, info) VALUES (?1, ?2)",
                params![info.location, json],
            )
            .map_err(sqlite(&path))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub(crate) fn finish_source(&self, id: i64, info: &SourceInfo) -> Result<(), StoreError> {
        let json = serde_json::to_string(info).map_err(|source| StoreError::Record {
            id: info.location.clone(),
            source,
        })?;
        self.conn
            .execute(
                "UPDATE sources SET info = ?2 WHERE id = ?1",
                params![id, json],
            )
            .map_err(sqlite(&self.path()))?;
        Ok(())
    }

    /// Stores one advisory (already serialized) under each of its lookup keys.
    pub(crate) fn add_advisory(
        &self,
        source: i64,
        advisory_id: &str,
        record: &[u8],
        extra: &[u8],
        keys: &[(Ecosystem, String)],
    ) -> Result<(), StoreError> {
        let path = self.path();
        let err = sqlite(&path);
        let mut ins = self
            .conn
            .prepare_cached(
                "INSERT INTO advisories (source, advisory_id, record, extra) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(&err)?;
        ins.execute(params![source, advisory_id, record, extra])
            .map_err(&err)?;
        let rowid = self.conn.last_insert_rowid();
        let mut key_ins = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO affected (ecosystem, name, advisory) VALUES (?1, ?2, ?3)",
            )
            .map_err(&err)?;
        for (eco, name) in keys {
            key_ins
                .execute(params![eco.as_str(), name, rowid])
                .map_err(&err)?;
        }
        Ok(())
    }

    /// Writes the totals, closes the file, syncs it and renames it over the old database.
    pub(crate) fn finish(self) -> Result<PathBuf, StoreError> {
        let path = self.path();
        let err = sqlite(&path);
        let mut ecosystems: BTreeMap<Ecosystem, EcosystemStats> = BTreeMap::new();
        {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT ecosystem, COUNT(DISTINCT advisory), COUNT(DISTINCT name) \
                     FROM affected GROUP BY ecosystem",
                )
                .map_err(&err)?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })
                .map_err(&err)?;
            for row in rows {
                let (eco, advisories, packages) = row.map_err(&err)?;
                if let Some(eco) = Ecosystem::from_osv(&eco) {
                    ecosystems.insert(
                        eco,
                        EcosystemStats {
                            advisories: usize::try_from(advisories).unwrap_or(0),
                            packages: usize::try_from(packages).unwrap_or(0),
                        },
                    );
                }
            }
        }
        let ecosystems =
            serde_json::to_string(&ecosystems).map_err(|source| StoreError::Record {
                id: "meta.ecosystems".to_owned(),
                source,
            })?;
        let built_at = jiff::Timestamp::now().to_string();
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('built_at', ?2), ('ecosystems', ?3)",
                params![SCHEMA_VERSION.to_string(), built_at, ecosystems],
            )
            .map_err(&err)?;
        self.conn
            .close()
            .map_err(|(_, source)| StoreError::Sqlite {
                path: path.clone(),
                source,
            })?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Io { path, source }
        };
        self.temp.as_file().sync_all().map_err(io(&path))?;
        let target = self.target;
        self.temp.persist(&target).map_err(|e| StoreError::Io {
            path: target.clone(),
            source: e.error,
        })?;
        // Make the rename itself durable (directories can be synced on Unix only).
        #[cfg(unix)]
        if let Some(Ok(d)) = target.parent().map(std::fs::File::open) {
            let _ = d.sync_all();
        }
        Ok(self.dir.join(DB_FILE_NAME))
    }
}
