//! Following a log file across rotation, from a persisted [`Position`].
//!
//! - rename rotation (`auth.log` → `auth.log.1`, a new `auth.log`): the path's inode changes;
//!   the rest of the open (old) file is read first, then the new file from its start. When
//!   the rotation happened while we were stopped, the old file is found as `PATH.1` by its
//!   inode, so its last lines are not missed.
//! - copytruncate: same inode, but the size is below our offset, or the first line changed:
//!   reading starts again at 0.
//!
//! Only complete lines are returned; a line still being written waits for its newline.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::state::Position;

/// Lines longer than this are cut: their first `MAX_LINE` bytes are returned (and matched, as
/// `scan` matches the head of a cut line) and the rest, up to the newline, is skipped and
/// counted ([`Follower::take_long_lines`]). A line without end must not grow memory without
/// bound, and the rest of a cut line must not be read as a line of its own: its text is the
/// attacker's, and could look like any log line.
pub const MAX_LINE: usize = 64 << 10;
/// The first line is hashed up to this many bytes.
const FIRST_LINE_MAX: usize = 4096;
/// Bytes read per call of [`Follower::poll`] at most, so what a caller collects per call
/// stays bounded (it calls again while [`PollInfo::more`] says so).
pub const MAX_READ: u64 = 64 << 20;

/// A followed file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Opening, reading or seeking failed (the error names the path).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a poll noticed, for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollInfo {
    /// The file was replaced (rename rotation).
    pub rotated: bool,
    /// The file was truncated (copytruncate).
    pub truncated: bool,
    /// The file does not exist (yet).
    pub missing: bool,
    /// More data is waiting (the read limit was reached).
    pub more: bool,
}

/// One followed file.
#[derive(Debug)]
pub struct Follower {
    pub path: PathBuf,
    file: Option<File>,
    pos: Position,
    /// An incomplete last line.
    partial: Vec<u8>,
    /// The head of an overlong line was returned: its rest, up to the newline, is skipped.
    skipping: bool,
    /// Lines cut to [`MAX_LINE`] since [`Follower::take_long_lines`] was last called.
    long_lines: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FollowError + '_ {
    move |source| FollowError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Returns a complete line, or the head of one longer than [`MAX_LINE`] (counted in `long`).
fn emit(long: &mut u64, line: &[u8], lines: &mut dyn FnMut(&[u8])) {
    match line.get(..MAX_LINE) {
        Some(head) if line.len() > MAX_LINE => {
            *long += 1;
            lines(head);
        }
        _ => lines(line),
    }
}

/// BLAKE3 (hex) of the first line of `file` (up to [`FIRST_LINE_MAX`] bytes), without moving
/// the read position. Empty while the first line is incomplete.
fn first_line_hash(file: &File) -> std::io::Result<String> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; FIRST_LINE_MAX];
    let n = file.read_at(&mut buf, 0)?;
    let head = buf.get(..n).unwrap_or_default();
    let line = match memchr::memchr(b'\n', head) {
        Some(i) => head.get(..=i).unwrap_or(head),
        // A first line still being written would change its hash: not known yet.
        None if n < FIRST_LINE_MAX => return Ok(String::new()),
        None => head,
    };
    if line.is_empty() {
        return Ok(String::new());
    }
    Ok(blake3::hash(line).to_hex().to_string())
}

impl Follower {
    /// Follows `path`, resuming at `saved` when it still describes the file (or its rotated
    /// predecessor `PATH.1`).
    pub fn new(path: impl Into<PathBuf>, saved: Option<Position>) -> Follower {
        Follower {
            path: path.into(),
            file: None,
            pos: saved.unwrap_or_default(),
            partial: Vec::new(),
            skipping: false,
            long_lines: 0,
        }
    }

    /// The position to persist: the end of the last complete line returned.
    pub fn position(&self) -> &Position {
        &self.pos
    }

    /// Opens the file the first time: resume at the saved offset if the inode and first line
    /// match; otherwise look for the saved inode at `PATH.1` and finish that first.
    fn open_initial(&mut self, lines: &mut dyn FnMut(&[u8])) -> Result<PollInfo, FollowError> {
        let mut info = PollInfo::default();
        let saved = self.pos.clone();
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                info.missing = true;
                return Ok(info);
            }
            Err(e) => return Err(io(&self.path)(e)),
        };
        let meta = file.metadata().map_err(io(&self.path))?;
        let hash = first_line_hash(&file).map_err(io(&self.path))?;
        let same = saved.inode == meta.ino() && saved.dev == meta.dev();
        if saved.inode != 0 && !same {
            // Rotated while we were away: finish the old file if it is still next to us.
            let old_path = {
                let mut s = self.path.as_os_str().to_owned();
                s.push(".1");
                PathBuf::from(s)
            };
            if let Ok(old) = File::open(&old_path)
                && let Ok(m) = old.metadata()
                && m.ino() == saved.inode
                && m.dev() == saved.dev
                && m.len() >= saved.offset
            {
                let mut old_follower = Follower {
                    path: old_path.clone(),
                    file: Some(old),
                    pos: saved.clone(),
                    partial: Vec::new(),
                    skipping: false,
                    long_lines: 0,
                };
                old_follower.seek_to(saved.offset)?;
                old_follower.read_available(lines, u64::MAX)?;
                old_follower.flush_partial(lines);
                self.long_lines += old_follower.long_lines;
                info.rotated = true;
            }
        }
        let resume = same && saved.first_line == hash && meta.len() >= saved.offset;
        if same && !resume {
            info.truncated = true;
        }
        self.pos = Position {
            dev: meta.dev(),
            inode: meta.ino(),
            offset: 0,
            first_line: hash,
        };
        self.file = Some(file);
        self.seek_to(if resume { saved.offset } else { 0 })?;
        Ok(info)
    }

    fn seek_to(&mut self, offset: u64) -> Result<(), FollowError> {
        if let Some(f) = self.file.as_mut() {
            f.seek(SeekFrom::Start(offset)).map_err(io(&self.path))?;
        }
        self.pos.offset = offset;
        self.partial.clear();
        self.skipping = false;
        Ok(())
    }

    /// How many lines were longer than [`MAX_LINE`] (and cut) since the last call.
    pub fn take_long_lines(&mut self) -> u64 {
        std::mem::take(&mut self.long_lines)
    }

    /// Reads what is new and calls `lines` with each complete line (without its newline).
    pub fn poll(&mut self, lines: &mut dyn FnMut(&[u8])) -> Result<PollInfo, FollowError> {
        if self.file.is_none() {
            let info = self.open_initial(lines)?;
            if self.file.is_none() {
                return Ok(info);
            }
            let more = self.read_available(lines, MAX_READ)?;
            return Ok(PollInfo { more, ..info });
        }
        let mut info = PollInfo::default();
        match std::fs::metadata(&self.path) {
            Ok(meta) if meta.ino() != self.pos.inode || meta.dev() != self.pos.dev => {
                // Renamed away: drain the old file, then switch to the new one.
                self.read_available(lines, u64::MAX)?;
                self.flush_partial(lines);
                self.file = None;
                self.pos = Position::default();
                let opened = self.open_initial(lines)?;
                info.rotated = true;
                info.missing = opened.missing;
                if self.file.is_some() {
                    info.more = self.read_available(lines, MAX_READ)?;
                }
                return Ok(info);
            }
            Ok(meta) => {
                let hash = if meta.len() < self.pos.offset {
                    None
                } else {
                    self.file
                        .as_ref()
                        .and_then(|f| first_line_hash(f).ok())
                        .filter(|h| self.pos.first_line.is_empty() || *h == self.pos.first_line)
                };
                if hash.is_none() {
                    // copytruncate (possibly already rewritten past our offset).
                    info.truncated = true;
                    self.seek_to(0)?;
                    self.pos.first_line = self
                        .file
                        .as_ref()
                        .and_then(|f| first_line_hash(f).ok())
                        .unwrap_or_default();
                } else if self.pos.first_line.is_empty() {
                    self.pos.first_line = hash.unwrap_or_default();
                }
            }
            Err(_) => info.missing = true,
        }
        info.more = self.read_available(lines, MAX_READ)?;
        Ok(info)
    }

    /// Reads up to `limit` bytes; returns whether more is waiting.
    fn read_available(
        &mut self,
        lines: &mut dyn FnMut(&[u8]),
        limit: u64,
    ) -> Result<bool, FollowError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(false);
        };
        let mut buf = vec![0u8; 1 << 16];
        let mut total: u64 = 0;
        loop {
            if total >= limit {
                return Ok(true);
            }
            let n = file.read(&mut buf).map_err(io(&self.path))?;
            if n == 0 {
                return Ok(false);
            }
            total += n as u64;
            let mut chunk = buf.get(..n).unwrap_or_default();
            while let Some(i) = memchr::memchr(b'\n', chunk) {
                let (line, rest) = chunk.split_at(i);
                // The line, its newline and the bytes of it kept from earlier reads.
                self.pos.offset += line.len() as u64 + 1 + self.partial.len() as u64;
                if std::mem::take(&mut self.skipping) {
                    // The rest of a line whose head was returned.
                } else if self.partial.is_empty() {
                    emit(&mut self.long_lines, line, lines);
                } else {
                    let mut whole = std::mem::take(&mut self.partial);
                    whole.extend_from_slice(line);
                    emit(&mut self.long_lines, &whole, lines);
                    whole.clear();
                    self.partial = whole;
                }
                chunk = rest.get(1..).unwrap_or_default();
            }
            if self.skipping {
                self.pos.offset += chunk.len() as u64;
                continue;
            }
            self.partial.extend_from_slice(chunk);
            if self.partial.len() > MAX_LINE {
                self.pos.offset += self.partial.len() as u64;
                let head = std::mem::take(&mut self.partial);
                emit(&mut self.long_lines, &head, lines);
                self.skipping = true;
            }
        }
    }

    /// A last line without newline in a file that will not grow any more (rotated away).
    fn flush_partial(&mut self, lines: &mut dyn FnMut(&[u8])) {
        if !self.partial.is_empty() {
            lines(&self.partial);
            self.partial.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn collect(f: &mut Follower) -> (Vec<String>, PollInfo) {
        let mut out = Vec::new();
        let info = f
            .poll(&mut |l| out.push(String::from_utf8_lossy(l).into_owned()))
            .unwrap();
        (out, info)
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn follows_appends_partial_lines_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("auth.log");
        let mut f = Follower::new(&log, None);
        assert!(collect(&mut f).1.missing);
        append(&log, "one\ntwo\nthr");
        assert_eq!(collect(&mut f).0, ["one", "two"]);
        append(&log, "ee\n");
        assert_eq!(collect(&mut f).0, ["three"]);
        assert_eq!(f.position().offset, 14);
        // A restart resumes at the saved position.
        append(&log, "four\n");
        let mut g = Follower::new(&log, Some(f.position().clone()));
        assert_eq!(collect(&mut g).0, ["four"]);
        // A stale position (other first line) starts again.
        let mut stale = f.position().clone();
        stale.first_line = "x".into();
        let mut h = Follower::new(&log, Some(stale));
        let (lines, info) = collect(&mut h);
        assert_eq!(lines.len(), 4);
        assert!(info.truncated);
    }

    #[test]
    fn rename_rotation_while_running_and_while_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("auth.log");
        let old = dir.path().join("auth.log.1");
        append(&log, "a\n");
        let mut f = Follower::new(&log, None);
        assert_eq!(collect(&mut f).0, ["a"]);
        append(&log, "b\n");
        std::fs::rename(&log, &old).unwrap();
        append(&log, "c\n");
        let (lines, info) = collect(&mut f);
        assert_eq!(lines, ["b", "c"]);
        assert!(info.rotated);
        // Stopped; the log gets a line, rotates, and the new one gets a line.
        let saved = f.position().clone();
        append(&log, "d\n");
        std::fs::rename(&log, &old).unwrap();
        append(&log, "e\n");
        let mut g = Follower::new(&log, Some(saved));
        let (lines, info) = collect(&mut g);
        assert_eq!(lines, ["d", "e"]);
        assert!(info.rotated);
    }

    proptest::proptest! {
        /// Whatever the sizes of the writes and wherever the polls fall, every complete line
        /// comes out once, in order.
        #[test]
        fn lines_come_out_once_whatever_the_chunking(
            lines in proptest::collection::vec("[a-z ]{0,40}", 0..20),
            cuts in proptest::collection::vec(0usize..50, 0..10),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("x.log");
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let mut f = Follower::new(&log, None);
            let mut out = Vec::new();
            let mut at = 0;
            for cut in cuts.iter().chain(std::iter::once(&usize::MAX)) {
                let end = at + (*cut).min(text.len() - at);
                append(&log, &text[at..end]);
                at = end;
                let info = f
                    .poll(&mut |l| out.push(String::from_utf8_lossy(l).into_owned()))
                    .unwrap();
                proptest::prop_assert!(!info.truncated && !info.rotated, "{info:?}");
            }
            proptest::prop_assert_eq!(out, lines);
            proptest::prop_assert_eq!(f.position().offset, text.len() as u64);
        }
    }

    #[test]
    fn long_lines_give_their_head_once_and_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("auth.log");
        // 100 KB lines: one written at once, one in pieces over several polls; the rest of a
        // cut line (here shaped like a log line) is never a line of its own.
        let tail = "Dec  7 20:20:01 vm sshd[1]: Failed password for root from 192.0.2.9 port 1";
        let long = |c: char| format!("{}\n{tail}", c.to_string().repeat(100_000));
        let first = long('a');
        let (head, rest) = first.split_at(100_000);
        append(
            &log,
            &format!("short\n{}{}\nafter\n", head, rest.replace('\n', " ")),
        );
        let mut f = Follower::new(&log, None);
        let (lines, _) = collect(&mut f);
        assert_eq!(
            lines.len(),
            3,
            "{:?}",
            lines.iter().map(String::len).collect::<Vec<_>>()
        );
        assert_eq!(lines[1], "a".repeat(MAX_LINE));
        assert_eq!(lines[2], "after");
        assert_eq!(f.take_long_lines(), 1);
        assert_eq!(f.take_long_lines(), 0);
        let second = long('b').replace('\n', " ");
        let mut got = Vec::new();
        for piece in second.as_bytes().chunks(30_000) {
            append(&log, std::str::from_utf8(piece).unwrap());
            got.extend(collect(&mut f).0);
        }
        append(&log, "\nlast\n");
        got.extend(collect(&mut f).0);
        assert_eq!(got, ["b".repeat(MAX_LINE), "last".to_owned()]);
        assert_eq!(f.take_long_lines(), 1);
        let size = std::fs::metadata(&log).unwrap().len();
        assert_eq!(f.position().offset, size);
    }

    #[test]
    fn copytruncate() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("auth.log");
        append(&log, "first line\nsecond\n");
        let mut f = Follower::new(&log, None);
        assert_eq!(collect(&mut f).0.len(), 2);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&log, "new\n");
        let (lines, info) = collect(&mut f);
        assert_eq!(lines, ["new"]);
        assert!(info.truncated);
        // Truncated and rewritten beyond the old offset: the first line tells.
        std::fs::write(&log, "another first line that is long\nx\n").unwrap();
        let (lines, info) = collect(&mut f);
        assert!(info.truncated);
        assert_eq!(lines, ["another first line that is long", "x"]);
    }
}
