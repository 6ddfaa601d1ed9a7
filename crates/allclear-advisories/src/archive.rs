//! Reading OSV record zips (`all.zip`) into memory, refusing hostile archives.
//!
//! Nothing is ever written to disk from an archive; members are read into memory one batch
//! at a time, and every size is bounded before and while it is read, because the declared
//! sizes in a zip are whatever its author wrote.

use std::io::{Read, Seek};

use zip::ZipArchive;
use zip::result::ZipError;

/// Bounds on what an archive may contain. The defaults fit OSV's largest `all.zip` (npm:
/// a few hundred thousand records, well under a gigabyte uncompressed) with room to grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Most members (files and directories) an archive may list.
    pub max_members: usize,
    /// Largest uncompressed member. An OSV record is a few kilobytes; a few reach 1 MiB.
    pub max_member_bytes: u64,
    /// Largest uncompressed total over all members read.
    pub max_total_bytes: u64,
    /// Largest uncompressed/compressed ratio for members above [`RATIO_FLOOR`] bytes.
    /// JSON compresses 5–20×; a bomb compresses a thousandfold.
    pub max_ratio: u64,
}

/// Members smaller than this are not ratio-checked: they are harmless whatever their ratio.
pub const RATIO_FLOOR: u64 = 1 << 20;

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_members: 2_000_000,
            max_member_bytes: 16 << 20,
            max_total_bytes: 4 << 30,
            max_ratio: 200,
        }
    }
}

/// Why an archive was refused or could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file is not a zip archive this reader understands.
    #[error("not a readable zip archive")]
    Open(#[source] ZipError),
    /// A member's header or data is damaged or uses an unsupported compression method.
    #[error("cannot read member #{index}")]
    Member {
        /// Position of the member in the archive.
        index: usize,
        #[source]
        source: ZipError,
    },
    /// A member's name is absolute or climbs out of the archive (`../x`): a path-traversal
    /// attempt, so the whole archive is refused.
    #[error("member `{name}` has an unsafe path (absolute or containing `..`)")]
    UnsafePath {
        /// The member name as written in the archive.
        name: String,
    },
    /// A member is encrypted.
    #[error("member `{name}` is encrypted")]
    Encrypted {
        /// The member name.
        name: String,
    },
    /// The archive lists more members than allowed.
    #[error("the archive lists {count} members, more than the {max} allowed")]
    TooManyMembers {
        /// Members listed.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A member is larger than allowed uncompressed.
    #[error("member `{name}` is larger than the {max} bytes allowed")]
    MemberTooLarge {
        /// The member name.
        name: String,
        /// The limit.
        max: u64,
    },
    /// The members together are larger than allowed uncompressed.
    #[error("the archive holds more than the {max} bytes allowed uncompressed")]
    TotalTooLarge {
        /// The limit.
        max: u64,
    },
    /// A member compresses suspiciously well (a zip bomb).
    #[error("member `{name}` expands {ratio}× (more than the {max}× allowed): a zip bomb")]
    Ratio {
        /// The member name.
        name: String,
        /// Declared or actual uncompressed size over compressed size.
        ratio: u64,
        /// The limit.
        max: u64,
    },
    /// Reading a member's data failed (corrupt data, bad checksum).
    #[error("cannot read member `{name}`")]
    Read {
        /// The member name.
        name: String,
        #[source]
        source: std::io::Error,
    },
}

/// Whether a member name stays inside the archive root: not absolute, no drive letter, no
/// `..` component (with `/` or `\` as separator), no NUL.
pub fn is_safe_member_name(name: &str) -> bool {
    if name.is_empty() || name.contains('\0') || name.starts_with(['/', '\\']) {
        return false;
    }
    if name.as_bytes().get(1) == Some(&b':') {
        return false;
    }
    !name.split(['/', '\\']).any(|c| c == "..")
}

/// Reads the `.json` members of a zip archive in batches, checking every limit.
pub struct ZipRecords<R: Read + Seek> {
    archive: ZipArchive<R>,
    next: usize,
    total: u64,
    limits: ZipLimits,
}

impl<R: Read + Seek> ZipRecords<R> {
    /// Opens the archive and checks every member's name and declared size up front, so a
    /// hostile archive is refused before anything is parsed.
    pub fn new(reader: R, limits: ZipLimits) -> Result<Self, ArchiveError> {
        let mut archive = ZipArchive::new(reader).map_err(ArchiveError::Open)?;
        if archive.len() > limits.max_members {
            return Err(ArchiveError::TooManyMembers {
                count: archive.len(),
                max: limits.max_members,
            });
        }
        let mut declared: u64 = 0;
        for index in 0..archive.len() {
            let member = archive
                .by_index_raw(index)
                .map_err(|source| ArchiveError::Member { index, source })?;
            let name = String::from_utf8_lossy(member.name_raw()).into_owned();
            if !is_safe_member_name(&name) || member.enclosed_name().is_none() {
                return Err(ArchiveError::UnsafePath { name });
            }
            check_size(&name, member.size(), member.compressed_size(), &limits)?;
            declared = declared.saturating_add(member.size());
            if declared > limits.max_total_bytes {
                return Err(ArchiveError::TotalTooLarge {
                    max: limits.max_total_bytes,
                });
            }
        }
        Ok(ZipRecords {
            archive,
            next: 0,
            total: 0,
            limits,
        })
    }

    /// Members listed in the archive (files and directories).
    pub fn len(&self) -> usize {
        self.archive.len()
    }

    /// Whether the archive lists no member.
    pub fn is_empty(&self) -> bool {
        self.archive.len() == 0
    }

    /// Members looked at so far.
    pub fn position(&self) -> usize {
        self.next
    }

    /// The next `.json` members, as (name, bytes), until about `max_bytes` are read or
    /// `max_count` members; empty when the archive is exhausted.
    pub fn next_batch(
        &mut self,
        max_count: usize,
        max_bytes: u64,
    ) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
        let mut batch = Vec::new();
        let mut bytes = 0u64;
        while self.next < self.archive.len() && batch.len() < max_count && bytes < max_bytes {
            let index = self.next;
            self.next += 1;
            let member = self
                .archive
                .by_index(index)
                .map_err(|source| match source {
                    ZipError::UnsupportedArchive(msg) if msg.contains("ncrypt") => {
                        ArchiveError::Encrypted {
                            name: format!("#{index}"),
                        }
                    }
                    source => ArchiveError::Member { index, source },
                })?;
            let name = String::from_utf8_lossy(member.name_raw()).into_owned();
            if !member.is_file() || !name.to_ascii_lowercase().ends_with(".json") {
                continue;
            }
            if member.encrypted() {
                return Err(ArchiveError::Encrypted { name });
            }
            let compressed = member.compressed_size();
            let mut data = Vec::new();
            // Read one byte past the limit to tell "exactly at the limit" from "above it",
            // whatever size the header declared.
            member
                .take(self.limits.max_member_bytes.saturating_add(1))
                .read_to_end(&mut data)
                .map_err(|source| ArchiveError::Read {
                    name: name.clone(),
                    source,
                })?;
            let size = data.len() as u64;
            check_size(&name, size, compressed, &self.limits)?;
            self.total = self.total.saturating_add(size);
            if self.total > self.limits.max_total_bytes {
                return Err(ArchiveError::TotalTooLarge {
                    max: self.limits.max_total_bytes,
                });
            }
            bytes = bytes.saturating_add(size);
            batch.push((name, data));
        }
        Ok(batch)
    }
}

fn check_size(
    name: &str,
    size: u64,
    compressed: u64,
    limits: &ZipLimits,
) -> Result<(), ArchiveError> {
    if size > limits.max_member_bytes {
        return Err(ArchiveError::MemberTooLarge {
            name: name.to_owned(),
            max: limits.max_member_bytes,
        });
    }
    if size > RATIO_FLOOR {
        let ratio = size / compressed.max(1);
        if ratio > limits.max_ratio {
            return Err(ArchiveError::Ratio {
                name: name.to_owned(),
                ratio,
                max: limits.max_ratio,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in members {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn names() {
        assert!(is_safe_member_name("GHSA-1.json"));
        assert!(is_safe_member_name("a/b.json"));
        assert!(!is_safe_member_name("../x.json"));
        assert!(!is_safe_member_name("a/../../x.json"));
        assert!(!is_safe_member_name("a\\..\\x.json"));
        assert!(!is_safe_member_name("/etc/passwd"));
        assert!(!is_safe_member_name("C:x"));
        assert!(!is_safe_member_name(""));
    }

    #[test]
    fn reads_json_members_in_batches() {
        let z = zip_of(&[
            ("a.json", b"{}"),
            ("readme.txt", b"x"),
            ("b.JSON", b"[]"),
            ("c.json", b"1"),
        ]);
        let mut r = ZipRecords::new(Cursor::new(z), ZipLimits::default()).unwrap();
        assert_eq!(r.len(), 4);
        let first = r.next_batch(2, u64::MAX).unwrap();
        assert_eq!(
            first.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
            ["a.json", "b.JSON"]
        );
        let second = r.next_batch(10, u64::MAX).unwrap();
        assert_eq!(second, vec![("c.json".to_owned(), b"1".to_vec())]);
        assert!(r.next_batch(10, u64::MAX).unwrap().is_empty());
    }

    #[test]
    fn refuses_traversal() {
        let z = zip_of(&[("ok.json", b"{}"), ("../evil.json", b"{}")]);
        let err = ZipRecords::new(Cursor::new(z), ZipLimits::default())
            .err()
            .unwrap();
        assert!(
            matches!(err, ArchiveError::UnsafePath { ref name } if name == "../evil.json"),
            "{err}"
        );
    }

    #[test]
    fn refuses_bombs_and_big_members() {
        let big = vec![b'a'; 3 << 20];
        let z = zip_of(&[("bomb.json", &big)]);
        let err = ZipRecords::new(Cursor::new(z.clone()), ZipLimits::default())
            .err()
            .unwrap();
        assert!(matches!(err, ArchiveError::Ratio { .. }), "{err}");

        let limits = ZipLimits {
            max_member_bytes: 1 << 20,
            max_ratio: u64::MAX,
            ..ZipLimits::default()
        };
        let err = ZipRecords::new(Cursor::new(z.clone()), limits)
            .err()
            .unwrap();
        assert!(matches!(err, ArchiveError::MemberTooLarge { .. }), "{err}");

        let limits = ZipLimits {
            max_total_bytes: 1 << 20,
            max_ratio: u64::MAX,
            ..ZipLimits::default()
        };
        let err = ZipRecords::new(Cursor::new(z), limits).err().unwrap();
        assert!(matches!(err, ArchiveError::TotalTooLarge { .. }), "{err}");

        let z = zip_of(&[("a.json", b"{}"), ("b.json", b"{}")]);
        let limits = ZipLimits {
            max_members: 1,
            ..ZipLimits::default()
        };
        assert!(matches!(
            ZipRecords::new(Cursor::new(z), limits),
            Err(ArchiveError::TooManyMembers { count: 2, max: 1 })
        ));
    }

    #[test]
    fn refuses_garbage() {
        assert!(matches!(
            ZipRecords::new(Cursor::new(b"not a zip".to_vec()), ZipLimits::default()),
            Err(ArchiveError::Open(_))
        ));
    }
}
