//! One recorded file: its metadata, content hashes and extended attributes.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::attrs::{Attr, AttrSet, HashAlgo};

/// The type of a file system entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
    /// A type this platform does not name (Solaris doors, event ports).
    Other,
}

impl FileKind {
    /// The type encoded in `st_mode`.
    pub fn from_mode(mode: u32) -> FileKind {
        match mode & 0o170000 {
            0o100000 => FileKind::File,
            0o040000 => FileKind::Dir,
            0o120000 => FileKind::Symlink,
            0o020000 => FileKind::CharDevice,
            0o060000 => FileKind::BlockDevice,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            _ => FileKind::Other,
        }
    }

    /// The letter AIDE and `find -type` use (`f`, `d`, `l`, `c`, `b`, `p`, `s`).
    pub fn letter(self) -> char {
        match self {
            FileKind::File => 'f',
            FileKind::Dir => 'd',
            FileKind::Symlink => 'l',
            FileKind::CharDevice => 'c',
            FileKind::BlockDevice => 'b',
            FileKind::Fifo => 'p',
            FileKind::Socket => 's',
            FileKind::Other => '?',
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Dir => "directory",
            FileKind::Symlink => "symlink",
            FileKind::CharDevice => "character device",
            FileKind::BlockDevice => "block device",
            FileKind::Fifo => "fifo",
            FileKind::Socket => "socket",
            FileKind::Other => "other",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A file time with nanoseconds.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Time {
    pub secs: i64,
    pub nanos: u32,
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::new(self.secs, self.nanos.min(999_999_999) as i32) {
            Ok(ts) => write!(f, "{ts}"),
            Err(_) => write!(f, "{}.{:09}", self.secs, self.nanos),
        }
    }
}

/// One extended attribute: raw name and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Xattr {
    #[serde(with = "serde_bytes")]
    pub name: Box<[u8]>,
    #[serde(with = "serde_bytes")]
    pub value: Box<[u8]>,
}

impl Xattr {
    /// True for the attributes that hold POSIX ACLs.
    pub fn is_acl(&self) -> bool {
        self.name.starts_with(b"system.posix_acl_")
    }
}

/// Content hashes of a regular file; only the algorithms its rule asks for are present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hashes {
    pub blake3: Option<[u8; 32]>,
    pub sha256: Option<[u8; 32]>,
    #[serde(with = "serde_bytes")]
    pub sha512: Option<Box<[u8]>>,
}

impl Hashes {
    pub fn get(&self, algo: HashAlgo) -> Option<&[u8]> {
        match algo {
            HashAlgo::Blake3 => self.blake3.as_ref().map(|h| &h[..]),
            HashAlgo::Sha256 => self.sha256.as_ref().map(|h| &h[..]),
            HashAlgo::Sha512 => self.sha512.as_deref(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.blake3.is_none() && self.sha256.is_none() && self.sha512.is_none()
    }
}

/// Bit in [`Entry::flags`]: the content could not be read when the entry was recorded, so
/// its hashes are missing and must not be compared.
pub const FLAG_UNREADABLE: u8 = 1;

/// One file system entry as recorded in a baseline or seen by a check.
///
/// Metadata from `lstat` is always recorded (it costs nothing extra); `attrs` says which
/// of it the governing rule watches. Hashes, the link target and extended attributes are
/// only read when the rule asks for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The absolute path as raw bytes (names need not be UTF-8).
    #[serde(with = "serde_bytes")]
    pub path: Box<[u8]>,
    pub attrs: AttrSet,
    pub kind: FileKind,
    /// Permission bits (`st_mode & 0o7777`).
    pub perms: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub blocks: u64,
    pub mtime: Time,
    pub ctime: Time,
    pub inode: u64,
    pub dev: u64,
    pub links: u64,
    #[serde(with = "serde_bytes")]
    pub target: Option<Box<[u8]>>,
    pub hashes: Hashes,
    pub xattrs: Option<Box<[Xattr]>>,
    pub flags: u8,
}

impl Entry {
    /// Builds an entry from `lstat` metadata; nothing is read from the file yet.
    pub fn from_metadata(path: Box<[u8]>, meta: &Metadata, attrs: AttrSet) -> Entry {
        Entry {
            path,
            attrs,
            kind: FileKind::from_mode(meta.mode()),
            perms: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            size: meta.size(),
            blocks: meta.blocks(),
            mtime: Time {
                secs: meta.mtime(),
                nanos: meta.mtime_nsec().clamp(0, 999_999_999) as u32,
            },
            ctime: Time {
                secs: meta.ctime(),
                nanos: meta.ctime_nsec().clamp(0, 999_999_999) as u32,
            },
            inode: meta.ino(),
            dev: meta.dev(),
            links: meta.nlink(),
            target: None,
            hashes: Hashes::default(),
            xattrs: None,
            flags: 0,
        }
    }

    /// The path for people: UTF-8 where it is, `\xNN` for other bytes (see [`display_path`]).
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }

    pub fn is_unreadable(&self) -> bool {
        self.flags & FLAG_UNREADABLE != 0
    }

    /// True when the content hash must be computed: a regular file whose rule wants one.
    pub fn wants_hash(&self) -> bool {
        self.kind == FileKind::File && self.attrs.has_hash()
    }
}

/// A path as text: valid UTF-8 is kept, every other byte becomes `\xNN`, and a backslash
/// becomes `\\` so that two different paths never display the same.
pub fn display_path(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if c.is_control() {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The file system path of a logical path under `root` (`/` when not scanning an image).
pub(crate) fn fs_path(root: &[u8], logical: &[u8]) -> Vec<u8> {
    if root.is_empty() || root == b"/" {
        return logical.to_vec();
    }
    let root = root.strip_suffix(b"/").unwrap_or(root);
    let mut out = Vec::with_capacity(root.len() + logical.len());
    out.extend_from_slice(root);
    out.extend_from_slice(logical);
    out
}

pub(crate) fn as_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// Reading a file's content or attributes failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read (permission denied, I/O error).
    #[error("cannot read {path}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The file disappeared between the walk and the read.
    #[error("{path} vanished while it was being read")]
    Vanished { path: String },
    /// The path no longer names the file the walk saw (replaced by another file, a FIFO
    /// or a symlink), so its content is not read.
    #[error("{path} was replaced while it was being read")]
    Replaced { path: String },
}

impl ReadError {
    fn from_io(path: &[u8], source: io::Error) -> ReadError {
        if source.kind() == io::ErrorKind::NotFound {
            ReadError::Vanished {
                path: display_path(path),
            }
        } else {
            ReadError::Io {
                path: display_path(path),
                source,
            }
        }
    }
}

/// Opens a regular file for hashing without following symlinks and without blocking on a
/// FIFO that replaced it, and checks it is still the inode the walk recorded.
fn open_checked(fs: &[u8], logical: &[u8], dev: u64, inode: u64) -> Result<File, ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(as_path(fs))
        .map_err(|e| {
            // O_NOFOLLOW on a symlink fails with ELOOP: the file was swapped for a link.
            if e.raw_os_error() == Some(libc::ELOOP) {
                ReadError::Replaced {
                    path: display_path(logical),
                }
            } else {
                ReadError::from_io(logical, e)
            }
        })?;
    let meta = file
        .metadata()
        .map_err(|e| ReadError::from_io(logical, e))?;
    if !meta.is_file() || meta.ino() != inode || meta.dev() != dev {
        return Err(ReadError::Replaced {
            path: display_path(logical),
        });
    }
    Ok(file)
}

/// Hashes `limit` bytes (or all) of the file with every algorithm in `algos`, in one read.
pub(crate) fn hash_file(
    fs: &[u8],
    logical: &[u8],
    dev: u64,
    inode: u64,
    algos: AttrSet,
    limit: Option<u64>,
) -> Result<Hashes, ReadError> {
    let file = open_checked(fs, logical, dev, inode)?;
    hash_reader(file, algos, limit).map_err(|e| ReadError::from_io(logical, e))
}

pub(crate) fn hash_reader(
    reader: impl Read,
    algos: AttrSet,
    limit: Option<u64>,
) -> io::Result<Hashes> {
    let mut b3 = algos.contains(Attr::Blake3).then(blake3::Hasher::new);
    let mut s256 = algos.contains(Attr::Sha256).then(sha2::Sha256::new);
    let mut s512 = algos.contains(Attr::Sha512).then(sha2::Sha512::new);
    let mut reader: Box<dyn Read> = match limit {
        Some(n) => Box::new(reader.take(n)),
        None => Box::new(reader),
    };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some(h) = b3.as_mut() {
            h.update(chunk);
        }
        if let Some(h) = s256.as_mut() {
            h.update(chunk);
        }
        if let Some(h) = s512.as_mut() {
            h.update(chunk);
        }
    }
    Ok(Hashes {
        blake3: b3.map(|h| *h.finalize().as_bytes()),
        sha256: s256.map(|h| h.finalize().into()),
        sha512: s512.map(|h| h.finalize().to_vec().into_boxed_slice()),
    })
}

/// MD5 of a whole file, for comparison with dpkg's records (which only have MD5).
pub(crate) fn md5_file(fs: &[u8], logical: &[u8]) -> Result<[u8; 16], ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(as_path(fs))
        .map_err(|e| ReadError::from_io(logical, e))?;
    let meta = file
        .metadata()
        .map_err(|e| ReadError::from_io(logical, e))?;
    if !meta.is_file() {
        return Err(ReadError::Replaced {
            path: display_path(logical),
        });
    }
    md5_reader(file).map_err(|e| ReadError::from_io(logical, e))
}

pub(crate) fn md5_reader(mut reader: impl Read) -> io::Result<[u8; 16]> {
    let mut hasher = md5::Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().into())
}

/// Reads the extended attributes `attrs` asks for (all, or only ACLs), sorted by name.
/// `None` when the file system does not support them.
pub(crate) fn read_xattrs(
    fs: &[u8],
    logical: &[u8],
    attrs: AttrSet,
) -> Result<Option<Box<[Xattr]>>, ReadError> {
    let all = attrs.contains(Attr::Xattrs);
    let names = match xattr::list(as_path(fs)) {
        Ok(names) => names,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(None),
        Err(e) => return Err(ReadError::from_io(logical, e)),
    };
    let mut out = Vec::new();
    for name in names {
        let name = name.as_bytes().to_vec().into_boxed_slice();
        let probe = Xattr {
            name,
            value: Box::default(),
        };
        if !all && !probe.is_acl() {
            continue;
        }
        // An attribute removed between list and get is simply not there any more.
        match xattr::get(as_path(fs), OsStr::from_bytes(&probe.name)) {
            Ok(Some(value)) => out.push(Xattr {
                name: probe.name,
                value: value.into_boxed_slice(),
            }),
            Ok(None) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
            Err(e) => return Err(ReadError::from_io(logical, e)),
        }
    }
    out.sort();
    Ok(Some(out.into_boxed_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_path_escapes_bytes_and_backslashes() {
        assert_eq!(display_path(b"/etc/passwd"), "/etc/passwd");
        assert_eq!(display_path(b"/tmp/\xff\xfeab"), "/tmp/\\xff\\xfeab");
        assert_eq!(display_path(b"/a\\b"), "/a\\\\b");
        assert_eq!(display_path(b"/a\nb"), "/a\\x0ab");
        assert_eq!(display_path("/caf\u{e9}".as_bytes()), "/caf\u{e9}");
        assert_ne!(display_path(b"/\\xff"), display_path(b"/\xff"));
    }

    #[test]
    fn hashes_match_known_vectors() {
        let algos = AttrSet::from_attrs(&[Attr::Blake3, Attr::Sha256, Attr::Sha512]);
        let h = hash_reader(&b"abc"[..], algos, None).unwrap();
        assert_eq!(
            hex::encode(h.sha256.as_ref().unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(h.blake3.as_ref().unwrap()),
            blake3::hash(b"abc").to_hex().as_str()
        );
        assert!(hex::encode(h.sha512.as_ref().unwrap()).starts_with("ddaf35a193617aba"));
        let limited = hash_reader(&b"abcdef"[..], algos, Some(3)).unwrap();
        assert_eq!(limited, h);
        assert_eq!(
            hex::encode(md5_reader(&b"abc"[..]).unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }

    #[test]
    fn kinds_from_mode() {
        assert_eq!(FileKind::from_mode(0o100644), FileKind::File);
        assert_eq!(FileKind::from_mode(0o040755), FileKind::Dir);
        assert_eq!(FileKind::from_mode(0o120777), FileKind::Symlink);
        assert_eq!(FileKind::from_mode(0o140755), FileKind::Socket);
        assert_eq!(FileKind::from_mode(0), FileKind::Other);
    }

    #[test]
    fn fs_path_joins_root() {
        assert_eq!(fs_path(b"/", b"/etc"), b"/etc");
        assert_eq!(fs_path(b"/mnt/img/", b"/etc"), b"/mnt/img/etc");
    }
}
