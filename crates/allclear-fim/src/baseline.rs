//! The baseline file: what the tree looked like when it was accepted.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `ACFIMBL\n` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 4 | header length `H` (at most 1 MiB) |
//! | H | header, JSON ([`BaselineHeader`]) |
//! | 8 | body length `B` |
//! | B | body: one zstd frame of records, each a 4-byte length and a postcard-encoded [`Entry`], sorted by path |
//! | 32 | BLAKE3 of every byte above |
//!
//! The checksum is verified before anything else is believed, so a truncated, damaged or
//! edited file is reported (distinct [`BaselineError`] variants) and never used. The
//! checksum is not a signature: someone who can write the file can also recompute it, so
//! keep a copy where an intruder cannot reach (off-host, read-only media) and compare.
//!
//! Writing is atomic: a temporary file in the same directory, `fsync`, rename, `fsync` of
//! the directory. A failure at any point (a full disk) leaves the old baseline untouched
//! and removes the temporary file.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::entry::Entry;

pub const MAGIC: &[u8; 8] = b"ACFIMBL\n";
/// The format this version writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
const MAX_HEADER: u32 = 1 << 20;
/// No honest record comes near this (paths are at most 4 KiB, xattr values 64 KiB each).
const MAX_RECORD: u32 = 16 << 20;
const CHECKSUM_LEN: usize = 32;

/// What a baseline says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineHeader {
    /// When it was written (RFC 3339).
    pub created: String,
    /// The allclear version that wrote it.
    pub tool: String,
    /// [`crate::FimConfig::fingerprint`] of the rules it was recorded with.
    pub rules_fingerprint: String,
    /// Where those rules came from.
    pub rules_source: String,
    /// The tree root it was recorded under.
    pub root: String,
    pub entries: u64,
}

/// A baseline could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Reading or writing the file failed.
    #[error("{path}: cannot {action}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },
    /// The file is not an allclear baseline at all.
    #[error("{path}: not an allclear fim baseline")]
    NotABaseline { path: PathBuf },
    /// The file ends before its own lengths say it should: cut short (a full disk while
    /// copying, an interrupted transfer, or deliberate truncation).
    #[error("{path}: truncated ({found} bytes, at least {expected} expected)")]
    Truncated {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    /// A newer allclear wrote it; this version cannot read it and will not overwrite it.
    #[error("{path}: baseline format {found} is newer than this allclear reads ({supported})")]
    NewerVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// The stored checksum does not match the content: the file was modified or damaged
    /// after it was written. It is not used.
    #[error("{path}: checksum mismatch: the baseline was modified or damaged after it was written")]
    ChecksumMismatch { path: PathBuf },
    /// The checksum matches but the content cannot be decoded (or a checksum was forged
    /// over malformed content).
    #[error("{path}: corrupt baseline: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// A baseline already exists where a new one was to be created; it is never replaced
    /// implicitly.
    #[error("{path}: a baseline already exists")]
    AlreadyExists { path: PathBuf },
    /// The path is a directory, a FIFO or a device: a baseline must be a regular file that
    /// can be read back, and renaming over such a path would destroy it.
    #[error(
        "{path}: not a regular file; a baseline is written only to a regular file or a new path"
    )]
    NotRegular { path: PathBuf },
}

/// A baseline in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub header: BaselineHeader,
    pub entries: Vec<Entry>,
}

/// A baseline file whose checksum was verified; entries are decoded as they are read, so
/// a check holds the compressed body and one record at a time, not every entry twice.
#[derive(Debug)]
pub struct VerifiedBaseline {
    pub header: BaselineHeader,
    path: PathBuf,
    bytes: Vec<u8>,
    body_start: usize,
    body_end: usize,
}

impl Baseline {
    /// Reads and verifies a baseline file and decodes every entry.
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        VerifiedBaseline::open(path)?.into_baseline()
    }

    /// Verifies and decodes a baseline held in memory; `name` is used in errors.
    pub fn decode(bytes: &[u8], name: &Path) -> Result<Baseline, BaselineError> {
        VerifiedBaseline::from_bytes(bytes.to_vec(), name)?.into_baseline()
    }

    /// The file's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, BaselineError> {
        encode(&self.header, self.entries.iter(), Path::new("<memory>"))
    }

    /// Writes the baseline atomically. With `replace` false an existing file is an error
    /// ([`BaselineError::AlreadyExists`]) and is left alone.
    pub fn write(&self, path: &Path, replace: bool) -> Result<(), BaselineError> {
        let bytes = encode(&self.header, self.entries.iter(), path)?;
        write_atomic(path, replace, |file| file.write_all(&bytes))
    }
}

impl VerifiedBaseline {
    pub fn open(path: &Path) -> Result<VerifiedBaseline, BaselineError> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|source| BaselineError::Io {
                path: path.to_owned(),
                action: "read the baseline",
                source,
            })?;
        VerifiedBaseline::from_bytes(bytes, path)
    }

    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<VerifiedBaseline, BaselineError> {
        let path_buf = path.to_owned();
        let truncated = |expected: usize| BaselineError::Truncated {
            path: path_buf.clone(),
            expected: expected as u64,
            found: bytes.len() as u64,
        };
        let corrupt = |reason: String| BaselineError::Corrupt {
            path: path_buf.clone(),
            reason,
        };
        if bytes.len() < MAGIC.len() {
            // A cut-off beginning of a baseline is truncated; anything else is not ours.
            return Err(if MAGIC.starts_with(&bytes) {
                truncated(MAGIC.len() + 8)
            } else {
                BaselineError::NotABaseline { path: path_buf }
            });
        }
        if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(BaselineError::NotABaseline { path: path_buf });
        }
        let version = read_u32(&bytes, 8).ok_or_else(|| truncated(16))?;
        if version > FORMAT_VERSION {
            return Err(BaselineError::NewerVersion {
                path: path_buf,
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(corrupt("format version 0".into()));
        }
        let header_len = read_u32(&bytes, 12).ok_or_else(|| truncated(16))?;
        if header_len > MAX_HEADER {
            return Err(corrupt(format!(
                "header length {header_len} is implausible"
            )));
        }
        let header_end = 16 + header_len as usize;
        let body_len = read_u64(&bytes, header_end).ok_or_else(|| truncated(header_end + 8))?;
        let body_start = header_end + 8;
        let expected = (body_start as u64)
            .checked_add(body_len)
            .and_then(|n| n.checked_add(CHECKSUM_LEN as u64))
            .ok_or_else(|| corrupt(format!("body length {body_len} is implausible")))?;
        if (bytes.len() as u64) < expected {
            return Err(BaselineError::Truncated {
                path: path_buf,
                expected,
                found: bytes.len() as u64,
            });
        }
        if (bytes.len() as u64) > expected {
            return Err(corrupt(format!(
                "{} unexpected bytes after the end",
                bytes.len() as u64 - expected
            )));
        }
        let body_end = body_start + body_len as usize;
        let (content, stored) = bytes.split_at(body_end);
        if checksum(content) != stored {
            return Err(BaselineError::ChecksumMismatch { path: path_buf });
        }
        let header: BaselineHeader = bytes
            .get(16..header_end)
            .ok_or_else(|| truncated(header_end))
            .and_then(|h| serde_json::from_slice(h).map_err(|e| corrupt(format!("header: {e}"))))?;
        Ok(VerifiedBaseline {
            header,
            path: path_buf,
            bytes,
            body_start,
            body_end,
        })
    }

    /// The entries in path order, decoded one at a time.
    pub fn entries(&self) -> Result<EntryReader<'_>, BaselineError> {
        let body = self
            .bytes
            .get(self.body_start..self.body_end)
            .unwrap_or_default();
        let decoder =
            zstd::stream::read::Decoder::with_buffer(body).map_err(|e| BaselineError::Corrupt {
                path: self.path.clone(),
                reason: format!("body: {e}"),
            })?;
        Ok(EntryReader {
            decoder,
            path: &self.path,
            remaining: self.header.entries,
            last: None,
            buf: Vec::new(),
            finished: false,
        })
    }

    pub fn into_baseline(self) -> Result<Baseline, BaselineError> {
        // The header's count is only a hint for the allocation, capped so a forged count
        // cannot reserve memory the body does not back.
        let mut entries = Vec::with_capacity(self.header.entries.min(1 << 16) as usize);
        for entry in self.entries()? {
            entries.push(entry?);
        }
        Ok(Baseline {
            header: self.header.clone(),
            entries,
        })
    }
}

/// Decodes records one by one, checking their order and count.
pub struct EntryReader<'a> {
    decoder: zstd::stream::read::Decoder<'static, &'a [u8]>,
    path: &'a Path,
    remaining: u64,
    last: Option<Box<[u8]>>,
    buf: Vec<u8>,
    finished: bool,
}

impl EntryReader<'_> {
    fn corrupt(&mut self, reason: String) -> Option<Result<Entry, BaselineError>> {
        self.finished = true;
        Some(Err(BaselineError::Corrupt {
            path: self.path.to_owned(),
            reason,
        }))
    }
}

impl Iterator for EntryReader<'_> {
    type Item = Result<Entry, BaselineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let mut len = [0u8; 4];
        match read_full(&mut self.decoder, &mut len) {
            Ok(0) if self.remaining == 0 => {
                self.finished = true;
                return None;
            }
            Ok(4) => {}
            Ok(_) => {
                let left = self.remaining;
                return self.corrupt(format!("body ends early ({left} entries missing)"));
            }
            Err(e) => return self.corrupt(format!("body: {e}")),
        }
        if self.remaining == 0 {
            return self.corrupt("more entries than the header says".into());
        }
        let len = u32::from_le_bytes(len);
        if len > MAX_RECORD {
            return self.corrupt(format!("record of {len} bytes is implausible"));
        }
        self.buf.resize(len as usize, 0);
        match read_full(&mut self.decoder, &mut self.buf) {
            Ok(n) if n == len as usize => {}
            Ok(_) => return self.corrupt("body ends inside a record".into()),
            Err(e) => return self.corrupt(format!("body: {e}")),
        }
        let entry: Entry = match postcard::from_bytes(&self.buf) {
            Ok(entry) => entry,
            Err(e) => return self.corrupt(format!("record: {e}")),
        };
        if let Some(last) = &self.last
            && entry.path.as_ref() <= last.as_ref()
        {
            return self.corrupt("entries are not in strict path order".into());
        }
        self.last = Some(entry.path.clone());
        self.remaining -= 1;
        Some(Ok(entry))
    }
}

/// The checksum a baseline ends with: BLAKE3 of every byte before it.
pub fn checksum(content: &[u8]) -> [u8; 32] {
    *blake3::hash(content).as_bytes()
}

/// Reads until `buf` is full or the stream ends; returns how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(slice.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let slice = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(slice.try_into().ok()?))
}

/// Encodes a header and entries (which must be sorted by path) into the file's bytes.
pub(crate) fn encode<'e>(
    header: &BaselineHeader,
    entries: impl Iterator<Item = &'e Entry>,
    path: &Path,
) -> Result<Vec<u8>, BaselineError> {
    let io_err = |source: io::Error| BaselineError::Io {
        path: path.to_owned(),
        action: "encode the baseline",
        source,
    };
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).map_err(io_err)?;
    let mut count = 0u64;
    let mut record = Vec::new();
    for entry in entries {
        record.clear();
        record = postcard::to_extend(entry, record).map_err(|e| io_err(io::Error::other(e)))?;
        let len = u32::try_from(record.len())
            .ok()
            .filter(|&l| l <= MAX_RECORD)
            .ok_or_else(|| io_err(io::Error::other("an entry is too large to record")))?;
        encoder.write_all(&len.to_le_bytes()).map_err(io_err)?;
        encoder.write_all(&record).map_err(io_err)?;
        count += 1;
    }
    let body = encoder.finish().map_err(io_err)?;
    let mut header = header.clone();
    header.entries = count;
    let header_json = serde_json::to_vec(&header).map_err(|e| io_err(io::Error::other(e)))?;
    let mut out = Vec::with_capacity(16 + header_json.len() + 8 + body.len() + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(header_json.len() as u32).to_le_bytes());
    out.extend_from_slice(&header_json);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    Ok(out)
}

/// Writes a file atomically: temporary file beside it, `write`, fsync, rename, fsync of
/// the directory. On any error the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    replace: bool,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), BaselineError> {
    let io_err = |action: &'static str| {
        move |source: io::Error| BaselineError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    };
    if !replace && path.symlink_metadata().is_ok() {
        return Err(BaselineError::AlreadyExists {
            path: path.to_owned(),
        });
    }
    // A symlink (a baseline kept on another volume) is followed: its target is replaced,
    // never the link. Anything but a regular file is refused rather than renamed over.
    let resolved;
    let path = match path.metadata() {
        Ok(metadata) if metadata.is_file() => {
            resolved = path.canonicalize().map_err(io_err("resolve the path"))?;
            resolved.as_path()
        }
        Ok(_) => {
            return Err(BaselineError::NotRegular {
                path: path.to_owned(),
            });
        }
        Err(_) => path,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".fim-baseline-")
        .tempfile_in(&dir)
        .map_err(io_err("create a temporary file"))?;
    write(temp.as_file_mut()).map_err(io_err("write the baseline"))?;
    temp.as_file()
        .sync_all()
        .map_err(io_err("flush the baseline to disk"))?;
    if replace {
        temp.persist(path)
            .map_err(|e| io_err("rename the baseline into place")(e.error))?;
    } else {
        // Refuses atomically if someone created the file meanwhile.
        temp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                BaselineError::AlreadyExists {
                    path: path.to_owned(),
                }
            } else {
                io_err("move the baseline into place")(e.error)
            }
        })?;
    }
    // Make the rename itself durable.
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("flush the directory"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::AttrSet;
    use crate::entry::{FileKind, Hashes, Time};

    pub(crate) fn sample(path: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            attrs: AttrSet::from_bits(0x1fff),
            kind: FileKind::File,
            perms: 0o644,
            uid: 0,
            gid: 0,
            size: 12,
            blocks: 8,
            mtime: Time {
                secs: 1_700_000_000,
                nanos: 5,
            },
            ctime: Time {
                secs: 1_700_000_001,
                nanos: 0,
            },
            inode: 42,
            dev: 2049,
            links: 1,
            target: None,
            hashes: Hashes {
                blake3: Some([7; 32]),
                sha256: None,
                sha512: Some(vec![1; 64].into()),
            },
            xattrs: None,
            flags: 0,
        }
    }

    fn header() -> BaselineHeader {
        BaselineHeader {
            created: "2026-01-01T00:00:00Z".into(),
            tool: "test".into(),
            rules_fingerprint: "f".into(),
            rules_source: "t".into(),
            root: "/".into(),
            entries: 0,
        }
    }

    fn encoded() -> Vec<u8> {
        let entries = [sample(b"/a"), sample(b"/b\xff")];
        encode(&header(), entries.iter(), Path::new("t")).unwrap()
    }

    #[test]
    fn round_trip() {
        let bytes = encoded();
        let baseline = Baseline::decode(&bytes, Path::new("t")).unwrap();
        assert_eq!(baseline.header.entries, 2);
        assert_eq!(baseline.entries, vec![sample(b"/a"), sample(b"/b\xff")]);
    }

    #[test]
    fn damage_is_reported_by_kind() {
        let bytes = encoded();
        let name = Path::new("t");
        let mut flipped = bytes.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 1;
        assert!(matches!(
            Baseline::decode(&flipped, name),
            Err(BaselineError::ChecksumMismatch { .. })
        ));
        for cut in [3, 10, 20, bytes.len() - 1] {
            let err = Baseline::decode(&bytes[..cut], name).unwrap_err();
            assert!(
                matches!(err, BaselineError::Truncated { .. }),
                "cut {cut}: {err}"
            );
        }
        assert!(matches!(
            Baseline::decode(b"hello world, no", name),
            Err(BaselineError::NotABaseline { .. })
        ));
        let mut newer = bytes.clone();
        newer[8] = 2;
        assert!(matches!(
            Baseline::decode(&newer, name),
            Err(BaselineError::NewerVersion {
                found: 2,
                supported: 1,
                ..
            })
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Baseline::decode(&longer, name),
            Err(BaselineError::Corrupt { .. })
        ));
    }

    #[test]
    fn forged_checksum_over_bad_order_is_corrupt() {
        let entries = [sample(b"/b"), sample(b"/a")];
        let bytes = encode(&header(), entries.iter(), Path::new("t")).unwrap();
        let err = Baseline::decode(&bytes, Path::new("t")).unwrap_err();
        assert!(matches!(err, BaselineError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("order"));
    }

    #[test]
    fn failed_write_leaves_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fim.baseline");
        std::fs::write(&path, b"old").unwrap();
        let err = write_atomic(&path, true, |f| {
            f.write_all(b"partial")?;
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        })
        .unwrap_err();
        assert!(
            matches!(
                err,
                BaselineError::Io {
                    action: "write the baseline",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let err = write_atomic(&path, false, |f| f.write_all(b"new")).unwrap_err();
        assert!(matches!(err, BaselineError::AlreadyExists { .. }));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        write_atomic(&path, true, |f| f.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_symlink_keeps_pointing_at_the_new_baseline_and_a_fifo_is_refused() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.baseline");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("fim.baseline");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, true, |f| f.write_all(b"new")).unwrap();
        assert!(link.symlink_metadata().unwrap().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");

        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = write_atomic(&fifo, true, |f| f.write_all(b"new")).unwrap_err();
        assert!(matches!(err, BaselineError::NotRegular { .. }), "{err}");
        assert!(fifo.symlink_metadata().unwrap().file_type().is_fifo());
    }
}
