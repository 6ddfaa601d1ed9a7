//! Opens archives and compressed files in memory so their contents can be scanned:
//! zip, tar, gzip, zstd, xz and 7z, nested up to a depth.
//!
//! Nothing is ever written to disk, so hostile entry names (`../../etc/passwd`, absolute
//! paths) are only labels; they are cleaned before they appear in a report. Every read is
//! bounded by the limits, so a zip bomb stops at the byte budget instead of filling memory.

use std::io::{Cursor, Read};

/// Limits that keep hostile archives cheap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bytes all entries of one archive may expand to.
    pub max_total_bytes: u64,
    /// Entries one archive may have.
    pub max_entries: u64,
    /// Bytes one entry may expand to; larger entries are truncated (their start is scanned).
    pub max_entry_bytes: u64,
}

/// The formats opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Zip,
    Tar,
    Gzip,
    Zstd,
    Xz,
    SevenZip,
}

/// An archive could not be opened or read completely.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive is corrupt, truncated or uses an unsupported feature.
    #[error("{format} archive could not be read")]
    Corrupt {
        format: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The archive expands beyond the byte budget; what follows was not scanned.
    #[error("archive expands beyond {limit} bytes: the rest was not scanned (zip bomb?)")]
    TooLarge { limit: u64 },
    /// The archive has more entries than allowed; what follows was not scanned.
    #[error("archive has more than {limit} entries: the rest was not scanned")]
    TooManyEntries { limit: u64 },
    /// Some entries could not be read (encrypted, unsupported method); the others were.
    #[error("{count} entries could not be read (first: {first})")]
    Entries { count: usize, first: String },
}

/// The archive format of a file, from its magic bytes (or `.tar` for old tars).
pub(crate) fn kind(path: &str, head: &[u8]) -> Option<Kind> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        // An empty zip has only the end record; anything else starts with a local header.
        return Some(Kind::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(Kind::Gzip);
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Some(Kind::Zstd);
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Some(Kind::Xz);
    }
    if head.starts_with(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]) {
        return Some(Kind::SevenZip);
    }
    if is_tar(head) || (path.ends_with(".tar") && head.len() >= 512) {
        return Some(Kind::Tar);
    }
    None
}

fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

struct Budget {
    limits: Limits,
    total: u64,
    entries: u64,
    failed: Vec<String>,
}

impl Budget {
    /// Reads one entry within the limits. `Err` stops the whole archive.
    fn read(&mut self, reader: &mut dyn Read) -> Result<Option<Vec<u8>>, ArchiveError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        let remaining = self.limits.max_total_bytes.saturating_sub(self.total);
        let cap = self.limits.max_entry_bytes.min(remaining);
        let mut bytes = Vec::new();
        match reader.take(cap.saturating_add(1)).read_to_end(&mut bytes) {
            Ok(_) => {}
            Err(e) => {
                self.failed.push(e.to_string());
                return Ok(None);
            }
        }
        let read = bytes.len() as u64;
        self.total = self.total.saturating_add(read.min(cap));
        if read > cap {
            if cap == remaining {
                return Err(ArchiveError::TooLarge {
                    limit: self.limits.max_total_bytes,
                });
            }
            // An entry larger than the per-file limit: scan its start, like a large file.
            bytes.truncate(cap as usize);
        }
        Ok(Some(bytes))
    }
}

/// A printable, relative label for an entry name: no control characters, no leading `/`,
/// no `..` components (the name is never used to write anything).
pub(crate) fn clean_name(name: &str) -> String {
    let parts: Vec<String> = name
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .map(|p| {
            p.chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect()
        })
        .collect();
    if parts.is_empty() {
        "?".to_owned()
    } else {
        parts.join("/")
    }
}

/// Calls `visit(name, bytes)` for every file in the archive (a compressed single file gives
/// one entry, named after the file without its compression suffix; a compressed tar gives
/// the tar's entries).
pub(crate) fn for_each_entry(
    kind: Kind,
    content: &[u8],
    path: &str,
    limits: &Limits,
    visit: &mut dyn FnMut(&str, &[u8]),
) -> Result<(), ArchiveError> {
    let mut budget = Budget {
        limits: *limits,
        total: 0,
        entries: 0,
        failed: Vec::new(),
    };
    let result = walk(kind, content, path, &mut budget, visit);
    result?;
    match budget.failed.first() {
        Some(first) => Err(ArchiveError::Entries {
            count: budget.failed.len(),
            first: first.clone(),
        }),
        None => Ok(()),
    }
}

fn walk(
    kind: Kind,
    content: &[u8],
    path: &str,
    budget: &mut Budget,
    visit: &mut dyn FnMut(&str, &[u8]),
) -> Result<(), ArchiveError> {
    match kind {
        Kind::Zip => zip_entries(content, budget, visit),
        Kind::Tar => tar_entries(content, budget, visit),
        Kind::Gzip => {
            let mut reader = flate2::read::MultiGzDecoder::new(content);
            single(
                &mut reader,
                "gzip",
                path,
                &[".gz", ".tgz", ".gzip"],
                budget,
                visit,
            )
        }
        Kind::Zstd => {
            let mut reader =
                zstd::stream::read::Decoder::new(content).map_err(|e| corrupt("zstd", e))?;
            single(
                &mut reader,
                "zstd",
                path,
                &[".zst", ".zstd", ".tzst"],
                budget,
                visit,
            )
        }
        Kind::Xz => {
            // 64 MiB of decoder memory at most, whatever the header asks for.
            let mut reader = lzma_rust2::XzReader::new_mem_limit(content, true, 64 * 1024);
            single(&mut reader, "xz", path, &[".xz", ".txz"], budget, visit)
        }
        Kind::SevenZip => seven_zip_entries(content, budget, visit),
    }
}

fn corrupt(
    format: &'static str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> ArchiveError {
    ArchiveError::Corrupt {
        format,
        source: Box::new(e),
    }
}

/// A compressed stream: one entry, or the entries of the tar inside.
fn single(
    reader: &mut dyn Read,
    format: &'static str,
    path: &str,
    suffixes: &[&str],
    budget: &mut Budget,
    visit: &mut dyn FnMut(&str, &[u8]),
) -> Result<(), ArchiveError> {
    budget.entries = budget.entries.saturating_sub(1); // the stream itself is not an entry
    let before = budget.failed.len();
    let Some(bytes) = budget.read(reader)? else {
        let message = budget.failed.pop().unwrap_or_default();
        budget.failed.truncate(before);
        return Err(corrupt(format, std::io::Error::other(message)));
    };
    if is_tar(&bytes) {
        return tar_entries(&bytes, budget, visit);
    }
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let inner = suffixes
        .iter()
        .find_map(|s| {
            lower.strip_suffix(s).map(|stem| match *s {
                ".tgz" | ".txz" | ".tzst" => format!("{}.tar", &name[..stem.len()]),
                _ => name[..stem.len()].to_owned(),
            })
        })
        .unwrap_or_else(|| format!("{name}.out"));
    visit(&clean_name(&inner), &bytes);
    Ok(())
}

fn zip_entries(
    content: &[u8],
    budget: &mut Budget,
    visit: &mut dyn FnMut(&str, &[u8]),
) -> Result<(), ArchiveError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(content)).map_err(|e| corrupt("zip", e))?;
    for index in 0..archive.len() {
        let mut file = match archive.by_index(index) {
            Ok(file) => file,
            Err(e) => {
                budget.failed.push(format!("entry {index}: {e}"));
                continue;
            }
        };
        if file.is_dir() {
            continue;
        }
        let name = match file.name() {
            Ok(name) => clean_name(&name),
            Err(_) => clean_name(&String::from_utf8_lossy(file.name_raw())),
        };
        if let Some(bytes) = budget.read(&mut file)? {
            visit(&name, &bytes);
        }
    }
    Ok(())
}

fn tar_entries(
    content: &[u8],
    budget: &mut Budget,
    visit: &mut dyn FnMut(&str, &[u8]),
) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(content);
    let entries = archive.entries().map_err(|e| corrupt("tar", e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt("tar", e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = clean_name(&String::from_utf8_lossy(&entry.path_bytes()));
        if let Some(bytes) = budget.read(&mut entry)? {
            visit(&name, &bytes);
        }
    }
    Ok(())
}

fn seven_zip_entries(
    content: &[u8],
    budget: &mut Budget,
    visit: &mut dyn FnMut(&str, &[u8]),
) -> Result<(), ArchiveError> {
    let mut reader = sevenz_rust2::ArchiveReader::new_with_memory_limit(
        Cursor::new(content),
        sevenz_rust2::Password::empty(),
        64 * 1024,
    )
    .map_err(|e| corrupt("7z", e))?;
    reader.set_thread_count(1);
    let mut stop: Option<ArchiveError> = None;
    let result = reader.for_each_entries(|entry, data| {
        if entry.is_directory() || !entry.has_stream() {
            return Ok(true);
        }
        match budget.read(data) {
            Ok(Some(bytes)) => {
                visit(&clean_name(entry.name()), &bytes);
                Ok(true)
            }
            Ok(None) => Ok(true),
            Err(e) => {
                stop = Some(e);
                Ok(false)
            }
        }
    });
    if let Some(e) = stop {
        return Err(e);
    }
    result.map_err(|e| corrupt("7z", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LIMITS: Limits = Limits {
        max_total_bytes: 1 << 20,
        max_entries: 100,
        max_entry_bytes: 1 << 19,
    };

    fn collect(
        kind: Kind,
        content: &[u8],
        path: &str,
        limits: &Limits,
    ) -> (Vec<(String, Vec<u8>)>, Option<String>) {
        let mut seen = Vec::new();
        let result = for_each_entry(kind, content, path, limits, &mut |name, bytes| {
            seen.push((name.to_owned(), bytes.to_vec()));
        });
        (seen, result.err().map(|e| e.to_string()))
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, data) in entries {
                writer.start_file(*name, options).unwrap();
                writer.write_all(data).unwrap();
            }
            writer.finish().unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("../../etc/passwd"), "etc/passwd");
        assert_eq!(clean_name("/abs/./x\u{7}y"), "abs/x?y");
        assert_eq!(clean_name(".."), "?");
        assert_eq!(clean_name("C:\\a\\b.txt"), "C:/a/b.txt");
    }

    #[test]
    fn zip_entries_are_visited_with_clean_names() {
        let zip = zip_of(&[("../evil/a.txt", b"hello"), ("b.txt", b"world")]);
        assert_eq!(kind("x.zip", &zip), Some(Kind::Zip));
        let (seen, err) = collect(Kind::Zip, &zip, "x.zip", &LIMITS);
        assert_eq!(err, None);
        assert_eq!(seen[0], ("evil/a.txt".to_owned(), b"hello".to_vec()));
        assert_eq!(seen[1].0, "b.txt");
    }

    #[test]
    fn zip_bomb_stops_at_the_budget() {
        // 4 MiB of zeros deflates to a few KiB.
        let zeros = vec![0u8; 4 << 20];
        let zip = zip_of(&[("a", &zeros), ("b", &zeros)]);
        assert!(zip.len() < 64 * 1024);
        let (seen, err) = collect(Kind::Zip, &zip, "bomb.zip", &LIMITS);
        assert!(err.unwrap().contains("expands beyond"));
        assert!(seen.iter().map(|(_, b)| b.len()).sum::<usize>() <= 1 << 20);
    }

    #[test]
    fn too_many_entries() {
        let names: Vec<String> = (0..5).map(|i| format!("f{i}")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let zip = zip_of(&entries);
        let limits = Limits {
            max_entries: 3,
            ..LIMITS
        };
        let (seen, err) = collect(Kind::Zip, &zip, "x.zip", &limits);
        assert_eq!(seen.len(), 3);
        assert!(err.unwrap().contains("more than 3 entries"));
    }

    #[test]
    fn gzip_of_a_file_and_of_a_tar() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"inside").unwrap();
        let gz = gz.finish().unwrap();
        let (seen, err) = collect(Kind::Gzip, &gz, "dir/main.go.gz", &LIMITS);
        assert_eq!(err, None);
        assert_eq!(seen, [("main.go".to_owned(), b"inside".to_vec())]);

        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_cksum();
        tar.append_data(&mut header, "a/b.txt", &b"abc"[..])
            .unwrap();
        let tar = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let tgz = gz.finish().unwrap();
        let (seen, _) = collect(Kind::Gzip, &tgz, "x.tar.gz", &LIMITS);
        assert_eq!(seen, [("a/b.txt".to_owned(), b"abc".to_vec())]);
    }

    #[test]
    fn corrupt_archives_are_errors_not_panics() {
        for (kind, bytes) in [
            (Kind::Zip, &b"PK\x03\x04garbage"[..]),
            (Kind::Gzip, &[0x1f, 0x8b, 8, 0, 1, 2, 3][..]),
            (Kind::Zstd, &[0x28, 0xb5, 0x2f, 0xfd, 9, 9][..]),
            (Kind::Xz, &[0xfd, b'7', b'z', b'X', b'Z', 0, 1][..]),
            (
                Kind::SevenZip,
                &[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4][..],
            ),
        ] {
            let (_, err) = collect(kind, bytes, "x", &LIMITS);
            assert!(err.is_some(), "{kind:?}");
        }
    }
}
