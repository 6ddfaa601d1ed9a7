//! Opens archives and compressed files as streams so their contents can be scanned:
//! zip, tar, gzip, zstd, xz and 7z, nested up to a depth.
//!
//! Nothing is ever written to disk, so hostile entry names (`../../etc/passwd`, absolute
//! paths) are only labels; they are cleaned before they appear in a report. Entries are
//! handed to the visitor as readers, never as whole buffers: a large entry is scanned in
//! chunks like a large file. What bounds a hostile archive is one [`Budget`] shared by the
//! archive and everything nested in it (expanded bytes, entries); reaching it stops the walk
//! with an error that says how much was read.

use std::cell::Cell;
use std::io::{Cursor, Read, Seek};

/// Limits that keep hostile archives cheap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bytes all entries of one archive (nested archives included) may expand to.
    pub max_total_bytes: u64,
    /// Entries one archive (nested archives included) may have.
    pub max_entries: u64,
    /// The largest zip or 7z held in memory when it is itself an entry (those formats need
    /// random access, and a stream inside another archive has none).
    pub max_buffered_bytes: u64,
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

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Zip => "zip",
            Kind::Tar => "tar",
            Kind::Gzip => "gzip",
            Kind::Zstd => "zstd",
            Kind::Xz => "xz",
            Kind::SevenZip => "7z",
        }
    }
}

/// An archive could not be opened or read completely.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive is corrupt, truncated or uses an unsupported feature.
    #[error("{format} archive is corrupt or unsupported")]
    Corrupt {
        format: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The archive expands beyond the byte budget; what follows was not scanned.
    #[error(
        "archive expands beyond {} MiB (zip-bomb guard `archive-max-bytes`): the first {} MiB \
         (in {entries} {}) were scanned, the rest was not",
        limit >> 20,
        read >> 20,
        if *entries == 1 { "entry" } else { "entries" }
    )]
    TooLarge { limit: u64, read: u64, entries: u64 },
    /// The archive has more entries than allowed; what follows was not scanned.
    #[error(
        "archive has more than {limit} entries (`archive-max-entries`): the first {limit} \
         ({} MiB) were scanned, the rest was not",
        read >> 20
    )]
    TooManyEntries { limit: u64, read: u64 },
    /// A zip or 7z inside another archive is too large to hold in memory for random access.
    #[error(
        "{format} archive inside an archive is larger than {} MiB: it was not opened",
        limit >> 20
    )]
    NestedTooLarge { format: &'static str, limit: u64 },
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

/// A source with random access (a file on disk, bytes in memory).
pub(crate) trait Source: Read + Seek {}
impl<T: Read + Seek> Source for T {}

/// Where an archive's bytes come from.
pub(crate) enum Input<'a> {
    /// Random access: zip and 7z are read in place.
    Seekable(&'a mut dyn Source),
    /// A stream (an entry of another archive): `head` was read from it already.
    Stream {
        head: &'a [u8],
        rest: &'a mut dyn Read,
    },
}

/// What one top-level archive and everything nested in it may cost. Shared by reference
/// down the nesting, so a bomb in a bomb draws on the same budget.
pub(crate) struct Budget {
    limits: Limits,
    total: Cell<u64>,
    entries: Cell<u64>,
    /// Set when a limit was reached: every walker stops, and the first to see it reports it.
    stop: Cell<Stop>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    No,
    Bytes,
    Entries,
    Reported,
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            total: Cell::new(0),
            entries: Cell::new(0),
            stop: Cell::new(Stop::No),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.get() != Stop::No
    }

    /// Counts one entry; false (and the walk stops) past the limit.
    fn enter(&self) -> bool {
        if self.stopped() {
            return false;
        }
        let n = self.entries.get() + 1;
        if n > self.limits.max_entries {
            self.stop.set(Stop::Entries);
            return false;
        }
        self.entries.set(n);
        true
    }

    /// The error for a limit reached, once per budget (outer archives stop in silence: the
    /// innermost one has said why).
    fn error(&self) -> Option<ArchiveError> {
        let error = match self.stop.get() {
            Stop::No | Stop::Reported => return None,
            Stop::Bytes => ArchiveError::TooLarge {
                limit: self.limits.max_total_bytes,
                read: self.total.get(),
                entries: self.entries.get(),
            },
            Stop::Entries => ArchiveError::TooManyEntries {
                limit: self.limits.max_entries,
                read: self.total.get(),
            },
        };
        self.stop.set(Stop::Reported);
        Some(error)
    }
}

/// A reader that counts what it expands against the budget and ends at it.
struct Metered<'a> {
    inner: &'a mut dyn Read,
    budget: &'a Budget,
}

impl Read for Metered<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.budget.stopped() {
            return Ok(0);
        }
        let left = self
            .budget
            .limits
            .max_total_bytes
            .saturating_sub(self.budget.total.get());
        if left == 0 {
            // At the budget: one more byte means the archive is larger than allowed.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.budget.stop.set(Stop::Bytes);
            }
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(buf.get_mut(..want).unwrap_or_default())?;
        self.budget.total.set(self.budget.total.get() + n as u64);
        Ok(n)
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

/// What the visitor is given for each file: its cleaned name and a reader of its bytes. An
/// error from the visitor (the entry's data is corrupt) is counted, and the walk goes on.
pub(crate) type Visit<'v> = dyn FnMut(&str, &mut dyn Read) -> std::io::Result<()> + 'v;

/// Calls `visit(name, reader)` for every file in the archive (a compressed single file gives
/// one entry, named after the file without its compression suffix; a compressed tar gives
/// the tar's entries). Stops at the budget.
pub(crate) fn for_each_entry(
    kind: Kind,
    input: Input<'_>,
    path: &str,
    budget: &Budget,
    visit: &mut Visit<'_>,
) -> Result<(), ArchiveError> {
    let mut failed = Vec::new();
    let result = walk(kind, input, path, budget, &mut failed, visit);
    result?;
    if let Some(error) = budget.error() {
        return Err(error);
    }
    match failed.first() {
        Some(first) => Err(ArchiveError::Entries {
            count: failed.len(),
            first: first.clone(),
        }),
        None => Ok(()),
    }
}

fn walk(
    kind: Kind,
    input: Input<'_>,
    path: &str,
    budget: &Budget,
    failed: &mut Vec<String>,
    visit: &mut Visit<'_>,
) -> Result<(), ArchiveError> {
    match (kind, input) {
        (Kind::Zip | Kind::SevenZip, Input::Stream { head, rest }) => {
            // Random access needs the bytes in memory: read them, up to the limit.
            let limit = budget.limits.max_buffered_bytes;
            let mut bytes = head.to_vec();
            rest.take(limit.saturating_add(1).saturating_sub(bytes.len() as u64))
                .read_to_end(&mut bytes)
                .map_err(|e| corrupt(kind.name(), e))?;
            if bytes.len() as u64 > limit {
                return Err(ArchiveError::NestedTooLarge {
                    format: kind.name(),
                    limit,
                });
            }
            let mut cursor = Cursor::new(bytes);
            walk(
                kind,
                Input::Seekable(&mut cursor),
                path,
                budget,
                failed,
                visit,
            )
        }
        (Kind::Zip, Input::Seekable(source)) => zip_entries(source, budget, failed, visit),
        (Kind::SevenZip, Input::Seekable(source)) => {
            seven_zip_entries(source, budget, failed, visit)
        }
        (Kind::Tar, input) => {
            let mut reader = into_reader(input);
            tar_entries(&mut reader, false, budget, failed, visit)
        }
        (Kind::Gzip, input) => {
            let mut reader = flate2::read::MultiGzDecoder::new(into_reader(input));
            single(
                &mut reader,
                kind,
                path,
                &[".gz", ".tgz", ".gzip"],
                budget,
                failed,
                visit,
            )
        }
        (Kind::Zstd, input) => {
            let mut reader = zstd::stream::read::Decoder::new(into_reader(input))
                .map_err(|e| corrupt("zstd", e))?;
            single(
                &mut reader,
                kind,
                path,
                &[".zst", ".zstd", ".tzst"],
                budget,
                failed,
                visit,
            )
        }
        (Kind::Xz, input) => {
            // 64 MiB of decoder memory at most, whatever the header asks for.
            let mut reader =
                lzma_rust2::XzReader::new_mem_limit(into_reader(input), true, 64 * 1024);
            single(
                &mut reader,
                kind,
                path,
                &[".xz", ".txz"],
                budget,
                failed,
                visit,
            )
        }
    }
}

/// The input as one sequential reader.
fn into_reader(input: Input<'_>) -> Box<dyn Read + '_> {
    match input {
        Input::Seekable(source) => Box::new(source),
        Input::Stream { head, rest } => Box::new(head.chain(rest)),
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
    kind: Kind,
    path: &str,
    suffixes: &[&str],
    budget: &Budget,
    failed: &mut Vec<String>,
    visit: &mut Visit<'_>,
) -> Result<(), ArchiveError> {
    let mut stream = Metered {
        inner: reader,
        budget,
    };
    // Enough of the decompressed stream to tell a tar.
    let mut head = Vec::with_capacity(512);
    (&mut stream)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| corrupt(kind.name(), e))?;
    let mut whole = head.as_slice().chain(&mut stream);
    if is_tar(&head) {
        return tar_entries(&mut whole, true, budget, failed, visit);
    }
    if !budget.enter() {
        return Ok(());
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
    // A compressed file whose data is corrupt is the archive's error, not one entry's.
    visit(&clean_name(&inner), &mut whole).map_err(|e| corrupt(kind.name(), e))
}

fn zip_entries(
    source: &mut dyn Source,
    budget: &Budget,
    failed: &mut Vec<String>,
    visit: &mut Visit<'_>,
) -> Result<(), ArchiveError> {
    let mut archive = zip::ZipArchive::new(source).map_err(|e| corrupt("zip", e))?;
    for index in 0..archive.len() {
        if budget.stopped() {
            break;
        }
        let mut file = match archive.by_index(index) {
            Ok(file) => file,
            Err(e) => {
                failed.push(format!("entry {index}: {e}"));
                continue;
            }
        };
        if file.is_dir() {
            continue;
        }
        if !budget.enter() {
            break;
        }
        let name = match file.name() {
            Ok(name) => clean_name(&name),
            Err(_) => clean_name(&String::from_utf8_lossy(file.name_raw())),
        };
        let mut metered = Metered {
            inner: &mut file,
            budget,
        };
        if let Err(e) = visit(&name, &mut metered) {
            failed.push(format!("{name}: {e}"));
        }
    }
    Ok(())
}

/// The entries of a tar stream; `metered` when the stream is counted already (the output
/// of a decompressor), so the entries are not counted twice.
fn tar_entries(
    reader: &mut dyn Read,
    metered: bool,
    budget: &Budget,
    failed: &mut Vec<String>,
    visit: &mut Visit<'_>,
) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| corrupt("tar", e))?;
    for entry in entries {
        if budget.stopped() {
            break;
        }
        let mut entry = entry.map_err(|e| corrupt("tar", e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        if !budget.enter() {
            break;
        }
        let name = clean_name(&String::from_utf8_lossy(&entry.path_bytes()));
        let result = if metered {
            visit(&name, &mut entry)
        } else {
            visit(
                &name,
                &mut Metered {
                    inner: &mut entry,
                    budget,
                },
            )
        };
        if let Err(e) = result {
            failed.push(format!("{name}: {e}"));
        }
    }
    Ok(())
}

fn seven_zip_entries(
    source: &mut dyn Source,
    budget: &Budget,
    failed: &mut Vec<String>,
    visit: &mut Visit<'_>,
) -> Result<(), ArchiveError> {
    let mut reader = sevenz_rust2::ArchiveReader::new_with_memory_limit(
        source,
        sevenz_rust2::Password::empty(),
        64 * 1024,
    )
    .map_err(|e| corrupt("7z", e))?;
    reader.set_thread_count(1);
    let result = reader.for_each_entries(|entry, data| {
        if entry.is_directory() || !entry.has_stream() {
            return Ok(true);
        }
        if !budget.enter() {
            return Ok(false);
        }
        let name = clean_name(entry.name());
        if let Err(e) = visit(
            &name,
            &mut Metered {
                inner: data,
                budget,
            },
        ) {
            failed.push(format!("{name}: {e}"));
        }
        Ok(!budget.stopped())
    });
    result.map_err(|e| corrupt("7z", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LIMITS: Limits = Limits {
        max_total_bytes: 1 << 20,
        max_entries: 100,
        max_buffered_bytes: 1 << 19,
    };

    fn collect(
        kind: Kind,
        content: &[u8],
        path: &str,
        limits: &Limits,
    ) -> (Vec<(String, Vec<u8>)>, Option<String>) {
        let mut seen = Vec::new();
        let budget = Budget::new(*limits);
        let mut cursor = Cursor::new(content);
        let result = for_each_entry(
            kind,
            Input::Seekable(&mut cursor),
            path,
            &budget,
            &mut |name, reader| {
                let mut bytes = Vec::new();
                reader.read_to_end(&mut bytes)?;
                seen.push((name.to_owned(), bytes));
                Ok(())
            },
        );
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
