//! The per-file entry point the tree walk calls.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use allclear_core::{Finding, Fix, Location, RunError, Severity, Skipped};

use crate::config::SecretsConfig;
use crate::context::{self, FileContext};
use crate::engine::{Engine, EngineError, FileTraits, Hit};
use crate::rules::{Filter, Rule};
use crate::text::{HEAD_BYTES, LineCounter, looks_binary, redact};
use crate::{archive, files, filter, personal, restricted, rules};

/// More password hashes than this in one file are a user table: they are reported as
/// personal data (counts and samples), not one finding each.
const MAX_INDIVIDUAL_HASHES: usize = 3;

/// The most text one scan of the engine sees (plus its overlaps): larger files and entries
/// are scanned in chunks, so memory stays bounded whatever the input.
pub const MAX_CHUNK_BYTES: usize = 8 << 20;
/// The least: a configured `max-file-bytes` below it still gives chunks well above the
/// overlap.
const MIN_CHUNK_BYTES: usize = 4 * OVERLAP_BYTES;
/// Bytes of its neighbours a chunk's scan sees on each side: more than any secret and the
/// context its rules look at (a PEM block, a line window of 4 KiB either side).
const OVERLAP_BYTES: usize = 64 << 10;
/// Findings one rule reports in one file; the rest are counted in one more finding. A file
/// of a million key-shaped strings must not become a million findings (and a report of
/// hundreds of megabytes).
pub const MAX_FINDINGS_PER_RULE: usize = 100;
/// The largest zip or 7z inside another archive held in memory to be opened.
const MAX_BUFFERED_ARCHIVE_BYTES: u64 = 16 << 20;
/// The file reader's buffer.
const READ_BUFFER_BYTES: usize = 64 << 10;

/// The scanner could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    /// A rule does not compile.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A glob in the configuration does not parse.
    #[error("invalid glob `{pattern}` in the configuration")]
    Glob {
        pattern: String,
        #[source]
        source: globset::Error,
    },
}

/// What scanning one file (and anything inside it) produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ScanOutput {
    pub findings: Vec<Finding>,
    /// Files that could not be read or opened (I/O errors, corrupt archives).
    pub errors: Vec<RunError>,
    /// Archives checked only in part: a limit was reached (depth, size, entries), or some
    /// entries are encrypted or use an unsupported method.
    pub skipped: Vec<Skipped>,
}

/// Secret, restricted-file and personal-data detection for one file at a time. Built once
/// and shared by the walk's threads (`Scanner: Sync`).
pub struct Scanner {
    engine: Engine,
    config: SecretsConfig,
    restricted: restricted::Detector,
    personal: personal::Detector,
}

impl Scanner {
    pub fn new(config: &SecretsConfig) -> Result<Scanner, ScannerError> {
        let enabled = rules::rules()
            .iter()
            .filter(|rule| !config.disable.iter().any(|id| id == rule.id));
        Ok(Scanner {
            engine: Engine::new(enabled)?,
            restricted: restricted::Detector::new(&config.restricted)?,
            personal: personal::Detector::new(&config.personal)?,
            config: config.clone(),
        })
    }

    /// Whether a file is worth reading, from its relative path and first bytes (up to
    /// [`HEAD_BYTES`]). Text files are; binary files are only when they are archives or
    /// restricted files by name or magic (a SQLite database, a key store, a pg_dump).
    pub fn wants(&self, path: &str, head: &[u8]) -> bool {
        !looks_binary(head)
            || archive::kind(path, head).is_some()
            || self.restricted.wants(path, head)
    }

    /// The largest file (or blob) read whole for content, and the size of the parts a
    /// larger one is scanned in (at most [`MAX_CHUNK_BYTES`]).
    pub fn max_file_bytes(&self) -> u64 {
        self.config.max_file_bytes
    }

    /// How much text one scan of the engine sees at most, besides its overlaps.
    fn chunk_bytes(&self) -> usize {
        usize::try_from(self.config.max_file_bytes)
            .unwrap_or(usize::MAX)
            .clamp(MIN_CHUNK_BYTES, MAX_CHUNK_BYTES)
    }

    /// Findings in one file. `path` is relative to the scanned root, `/`-separated. Errors
    /// (a corrupt archive) are dropped: use [`Scanner::scan`] to get them.
    pub fn scan_file(&self, path: &str, content: &[u8]) -> Vec<Finding> {
        self.scan(path, content).findings
    }

    /// Findings and errors in one file (and, for archives, in what they contain). Content
    /// of any size is scanned whole, in overlapping chunks when it is large.
    pub fn scan(&self, path: &str, content: &[u8]) -> ScanOutput {
        let mut out = ScanOutput::default();
        let head = content.get(..HEAD_BYTES).unwrap_or(content);
        if let Some(kind) = archive::kind(path, head) {
            let mut cursor = Cursor::new(content);
            self.scan_archive(
                path,
                kind,
                archive::Input::Seekable(&mut cursor),
                0,
                None,
                &mut out,
            );
        } else if looks_binary(head) {
            out.findings.extend(self.restricted.check(path, content));
        } else if content.len() <= self.chunk_bytes() + OVERLAP_BYTES {
            // One chunk: scanned in place, without a copy.
            let mut file = FileScan::new(self, path);
            file.chunk(content, 0, content.len(), 1, &mut out);
            file.finish(&mut out);
        } else {
            let mut rest = content.get(head.len()..).unwrap_or_default();
            // Reading from a slice cannot fail.
            let _ = self.scan_text(path, head.to_vec(), &mut rest, &mut out);
        }
        out
    }

    /// Reads the file at `file` and scans it as `path`: archives are read in place, text in
    /// bounded chunks, binary files by their head only. A file that cannot be read is an
    /// error in the output, not a failure of the call.
    pub fn scan_path(&self, path: &str, file: &Path) -> ScanOutput {
        let mut out = ScanOutput::default();
        let error = |message: String| RunError {
            path: path.to_owned(),
            line: None,
            message,
        };
        let mut reader = match fs_err::File::open(file) {
            Ok(handle) => std::io::BufReader::with_capacity(READ_BUFFER_BYTES, handle),
            Err(e) => {
                out.errors.push(error(e.to_string()));
                return out;
            }
        };
        let mut head = Vec::with_capacity(HEAD_BYTES);
        if let Err(e) = (&mut reader).take(HEAD_BYTES as u64).read_to_end(&mut head) {
            out.errors.push(error(e.to_string()));
            return out;
        }
        if !self.wants(path, &head) {
            return out;
        }
        if let Some(kind) = archive::kind(path, &head) {
            if let Err(e) = reader.seek(SeekFrom::Start(0)) {
                out.errors.push(error(e.to_string()));
                return out;
            }
            self.scan_archive(
                path,
                kind,
                archive::Input::Seekable(&mut reader),
                0,
                None,
                &mut out,
            );
        } else if let Err(e) = self.scan_read(path, head, &mut reader, 0, None, &mut out) {
            out.errors.push(error(format!(
                "read stopped part-way (what came before was scanned): {e}"
            )));
            return out;
        }
        // `credentials.yml.enc` is only half a secret; beside its key it is all of it.
        if let Some(finding) = files::credentials_beside_key(path, file) {
            out.findings.push(finding);
        }
        out
    }

    /// One file read from `rest`, whose first bytes (up to [`HEAD_BYTES`]) are `head`:
    /// a file on disk or an archive's entry.
    fn scan_read(
        &self,
        path: &str,
        head: Vec<u8>,
        rest: &mut dyn Read,
        depth: u32,
        budget: Option<&archive::Budget>,
        out: &mut ScanOutput,
    ) -> std::io::Result<()> {
        if let Some(kind) = archive::kind(path, &head) {
            let input = archive::Input::Stream { head: &head, rest };
            self.scan_archive(path, kind, input, depth, budget, out);
            return Ok(());
        }
        if looks_binary(&head) {
            // Binary files are known by name and magic: the head is all the checks need.
            out.findings.extend(self.restricted.check(path, &head));
            return Ok(());
        }
        self.scan_text(path, head, rest, out)
    }

    /// Scans text of any length in chunks of `chunk_bytes`, each seen with `OVERLAP_BYTES`
    /// of its neighbours on both sides, so a secret across a boundary is found (once: a hit
    /// belongs to the chunk its match starts in). Memory stays at one chunk whatever the
    /// size. `buf` holds the start of the text already read. An error reading `rest` ends
    /// the scan after what was read.
    fn scan_text(
        &self,
        path: &str,
        mut buf: Vec<u8>,
        rest: &mut dyn Read,
        out: &mut ScanOutput,
    ) -> std::io::Result<()> {
        let chunk = self.chunk_bytes();
        let mut file = FileScan::new(self, path);
        let mut own_from = 0;
        let mut line_base = 1u32;
        let mut result = Ok(());
        loop {
            let want = own_from + chunk + OVERLAP_BYTES;
            let mut eof = false;
            if buf.len() < want {
                buf.reserve(want - buf.len());
                match rest.take((want - buf.len()) as u64).read_to_end(&mut buf) {
                    Ok(_) => eof = buf.len() < want,
                    Err(e) => {
                        result = Err(e);
                        eof = true;
                    }
                }
            }
            let own_to = if eof { buf.len() } else { own_from + chunk };
            file.chunk(&buf, own_from, own_to, line_base, out);
            if eof {
                break;
            }
            // Keep the last OVERLAP_BYTES of this chunk's own part: they are the next
            // chunk's left context.
            let drop = own_to - OVERLAP_BYTES;
            let newlines = memchr::memchr_iter(b'\n', buf.get(..drop).unwrap_or_default()).count();
            line_base = line_base.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            buf.drain(..drop);
            own_from = OVERLAP_BYTES;
        }
        file.finish(out);
        result
    }

    /// An archive and what it holds, within the depth and the budget (one budget for a
    /// top-level archive and everything nested in it). A limit reached is an error in the
    /// output saying how much was read.
    fn scan_archive(
        &self,
        path: &str,
        kind: archive::Kind,
        input: archive::Input<'_>,
        depth: u32,
        budget: Option<&archive::Budget>,
        out: &mut ScanOutput,
    ) {
        if depth >= self.config.archive_depth {
            out.skipped.push(Skipped {
                path: path.to_owned(),
                reason: format!(
                    "archive nested deeper than {} levels (`archive-depth`): not opened",
                    self.config.archive_depth
                ),
            });
            return;
        }
        let own;
        let budget = match budget {
            Some(budget) => budget,
            None => {
                own = archive::Budget::new(archive::Limits {
                    max_total_bytes: self.config.archive_max_bytes,
                    max_entries: self.config.archive_max_entries,
                    max_buffered_bytes: self.config.max_file_bytes.min(MAX_BUFFERED_ARCHIVE_BYTES),
                });
                &own
            }
        };
        let result = archive::for_each_entry(kind, input, path, budget, &mut |inner, reader| {
            let inner_path = format!("{path}!{inner}");
            let mut head = Vec::with_capacity(HEAD_BYTES);
            reader.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
            self.scan_read(&inner_path, head, reader, depth + 1, Some(budget), out)
        });
        match result {
            Ok(()) => {}
            // A broken archive is an input the run could not use.
            Err(e @ archive::ArchiveError::Corrupt { .. }) => out.errors.push(RunError {
                path: path.to_owned(),
                line: None,
                message: e.to_string(),
            }),
            // A limit reached, or entries we cannot read: what could be read was scanned.
            Err(e) => out.skipped.push(Skipped {
                path: path.to_owned(),
                reason: e.to_string(),
            }),
        }
    }

    /// Content-rule findings only (no restricted files, personal data or archives).
    pub fn scan_secrets(&self, path: &str, content: &[u8]) -> Vec<Finding> {
        let mut out = ScanOutput::default();
        let mut file = FileScan {
            secrets_only: true,
            ..FileScan::new(self, path)
        };
        file.chunk(content, 0, content.len(), 1, &mut out);
        file.finish(&mut out);
        out.findings
    }

    /// Sorts hits, drops duplicates, generic hits overlapping a specific one (or an earlier
    /// generic rule's), and hits on lines marked `allclear:allow`.
    fn resolve(&self, mut hits: Vec<Hit>, content: &[u8]) -> Vec<Hit> {
        hits.sort_by_key(|h| (h.start, h.end, h.rule));
        hits.dedup_by_key(|h| (h.start, h.end, h.rule));
        let specific: Vec<(usize, usize)> = hits
            .iter()
            .filter(|h| !self.engine.rule(h.rule).generic)
            .map(|h| (h.start, h.end))
            .collect();
        let overlaps_specific = |h: &Hit| {
            // `specific` is sorted by start; any span starting before h.end may overlap.
            let upto = specific.partition_point(|&(s, _)| s < h.end);
            specific
                .get(..upto)
                .unwrap_or_default()
                .iter()
                .rev()
                .take(64)
                .any(|&(s, e)| s < h.end && h.start < e)
        };
        let mut kept: Vec<Hit> = Vec::with_capacity(hits.len());
        for hit in hits {
            let rule = self.engine.rule(hit.rule);
            if rule.generic {
                if overlaps_specific(&hit) {
                    continue;
                }
                // Two generic rules on the same secret: keep the first rule in the list.
                if let Some(prev) = kept.iter_mut().rev().take(8).find(|k| {
                    self.engine.rule(k.rule).generic && k.start < hit.end && hit.start < k.end
                }) {
                    if hit.rule < prev.rule {
                        *prev = hit;
                    }
                    continue;
                }
            }
            if allowed(content, hit.match_start) || allowed(content, hit.start) {
                continue;
            }
            kept.push(hit);
        }
        kept
    }
}

/// One file being scanned, chunk by chunk: what must be known about the whole file before
/// its findings are final (the cap per rule, the password-hash count, the personal-data
/// tally).
struct FileScan<'s> {
    scanner: &'s Scanner,
    path: &'s str,
    traits: FileTraits,
    context: FileContext,
    /// Only the content rules (`Scanner::scan_secrets`).
    secrets_only: bool,
    /// Whether the next chunk is the file's first.
    first: bool,
    /// Per rule (the engine's index): hits so far, and the highest severity of those past
    /// the cap. Bounded by the number of rules.
    counts: BTreeMap<usize, (usize, Severity)>,
    /// Password-hash findings, held to the end: more than `MAX_INDIVIDUAL_HASHES` are a
    /// user table, reported as personal data instead.
    hashes: Vec<Finding>,
    hash_count: usize,
    tally: personal::Tally,
    /// The file's start is machine-written (minified, one-line exports): not personal
    /// records. Not used for secrets: a one-line config still holds real passwords.
    shape_generated: bool,
}

impl<'s> FileScan<'s> {
    fn new(scanner: &'s Scanner, path: &'s str) -> FileScan<'s> {
        FileScan {
            scanner,
            path,
            traits: FileTraits {
                code: is_code(path),
            },
            context: context::classify(path),
            secrets_only: false,
            first: true,
            counts: BTreeMap::new(),
            hashes: Vec::new(),
            hash_count: 0,
            tally: personal::Tally::default(),
            shape_generated: false,
        }
    }

    /// Scans `buf`, reporting what starts in `own_from..own_to` (the rest of `buf` is
    /// context shared with the neighbouring chunks). `line_base` is the line `buf` starts on.
    fn chunk(
        &mut self,
        buf: &[u8],
        own_from: usize,
        own_to: usize,
        line_base: u32,
        out: &mut ScanOutput,
    ) {
        let scanner = self.scanner;
        if std::mem::take(&mut self.first) && !self.secrets_only {
            // Dumps and key files are known by their start; so is machine-written text.
            out.findings
                .extend(scanner.restricted.check(self.path, buf));
            out.findings.extend(files::check(self.path, buf));
            self.shape_generated = context::looks_generated(buf.get(..HEAD_BYTES).unwrap_or(buf));
        }
        let mut hits = Vec::new();
        scanner.engine.scan(buf, self.traits, &mut hits);
        let hits = scanner.resolve(hits, buf);
        let mut lines = LineCounter::new(buf);
        for hit in hits
            .into_iter()
            .filter(|h| (own_from..own_to).contains(&h.match_start))
        {
            let line = line_base.saturating_add(lines.line_of(hit.match_start) - 1);
            self.hit(hit, buf, line, out);
        }
        // Package metadata and credits list people on purpose; generated data (icon fonts,
        // minified code) has runs of numbers that are not records.
        let people_on_purpose =
            self.context.people || self.context.generated || self.shape_generated;
        if !self.secrets_only && !people_on_purpose {
            // Whole lines: a line across the boundary is the earlier chunk's.
            let from = next_line_start(buf, own_from);
            let to = next_line_start(buf, own_to);
            let part = buf.get(from..to.max(from)).unwrap_or_default();
            scanner.personal.add(self.path, part, &mut self.tally);
        }
    }

    fn hit(&mut self, hit: Hit, buf: &[u8], line: u32, out: &mut ScanOutput) {
        let rule = self.scanner.engine.rule(hit.rule);
        let secret = buf.get(hit.start..hit.end).unwrap_or_default();
        if rule.generic && !self.generic_hit_holds(rule, secret, buf, &hit) {
            return;
        }
        // Context lowers severity, it does not hide: a sample credential in a test or a
        // README is still listed, at low, saying where it is. A key that proves itself real
        // (a private key, a checksummed token) keeps its severity anywhere.
        let sample = self
            .context
            .sample
            .filter(|_| rule.severity > Severity::Low && !looks_real(rule, secret));
        let severity = if sample.is_some() {
            Severity::Low
        } else {
            rule.severity
        };
        let key = secret_key(secret);
        // The same secret twice on one line (`password: 'x', password_confirmation: 'x'`) is
        // one finding: one fingerprint, one thing to rotate.
        let fingerprint = allclear_core::fingerprint(rule.id, self.path, &key);
        let repeated = out
            .findings
            .iter()
            .rev()
            .take(8)
            .any(|found| found.location.line == Some(line) && found.fingerprint == fingerprint);
        if repeated {
            return;
        }
        let is_hash = rule.id == "secrets.password-hash";
        if is_hash {
            self.hash_count += 1;
            if self.hash_count > MAX_INDIVIDUAL_HASHES {
                self.hashes.clear();
                return;
            }
        } else {
            let (count, omitted) = self.counts.entry(hit.rule).or_insert((0, Severity::Info));
            *count += 1;
            if *count > MAX_FINDINGS_PER_RULE {
                *omitted = (*omitted).max(severity);
                return;
            }
        }
        let redacted = redact(secret);
        let title = match sample {
            Some(sample) => format!("{}: {redacted} ({})", rule.name, sample.phrase()),
            None => format!("{}: {redacted}", rule.name),
        };
        let mut finding = Finding::new(rule.id, severity, title)
            .with_location(Location::new(self.path).with_line(line))
            .with_key(key)
            .with_description(rule.description)
            .with_fix(Fix {
                advice: Some(rule.remedy.to_owned()),
                ..Fix::default()
            })
            .with_detail("redacted", redacted);
        if let Some(sample) = sample {
            finding = finding.with_detail("context", sample.as_str());
        }
        if is_hash {
            self.hashes.push(finding);
        } else {
            out.findings.push(finding);
        }
    }

    /// Whether a generic rule's hit is a credential given what the file is for and what
    /// the value is: not in translations, lockfiles or generated files (a URL with
    /// credentials excepted), not a value that is prose, a version range or a name
    /// standing for a value, not a typed sample in a commented-out line.
    fn generic_hit_holds(&self, rule: &Rule, secret: &[u8], buf: &[u8], hit: &Hit) -> bool {
        if self.context.values_are_not_credentials() && rule.filter != Filter::UrlPassword {
            return false;
        }
        if filter::is_not_a_credential_value(secret) {
            return false;
        }
        // In code, an unquoted name is a variable (`authenticate(password=password)`).
        let quoted = hit
            .start
            .checked_sub(1)
            .and_then(|i| buf.get(i))
            .is_some_and(|b| matches!(b, b'"' | b'\'' | b'`'));
        if self.traits.code && !quoted && filter::is_bare_name(secret) {
            return false;
        }
        let at = hit.match_start;
        let line = buf
            .get(crate::engine::line_start(buf, at)..crate::engine::line_end(buf, at))
            .unwrap_or_default();
        !(filter::is_comment_line(line) && filter::is_sample_value(secret))
    }

    fn finish(self, out: &mut ScanOutput) {
        out.findings.extend(self.hashes);
        for (&r, &(count, severity)) in &self.counts {
            let Some(more) = count.checked_sub(MAX_FINDINGS_PER_RULE).filter(|&n| n > 0) else {
                continue;
            };
            let rule = self.scanner.engine.rule(r);
            out.findings.push(
                Finding::new(
                    rule.id,
                    severity,
                    format!(
                        "{}: and {more} more like it in this file (the first \
                         {MAX_FINDINGS_PER_RULE} are listed)",
                        rule.name
                    ),
                )
                .with_location(Location::new(self.path))
                .with_key("more-like-it")
                .with_description(rule.description)
                .with_fix(Fix {
                    advice: Some(rule.remedy.to_owned()),
                    ..Fix::default()
                })
                .with_detail("more", more),
            );
        }
        if !self.secrets_only
            && let Some(finding) = self.scanner.personal.finish(self.path, &self.tally)
        {
            out.findings.push(finding);
        }
    }
}

/// A secret that proves itself real, whatever file it is in: a private key block, or a
/// token whose checksum holds.
fn looks_real(rule: &Rule, secret: &[u8]) -> bool {
    matches!(rule.filter, Filter::PemBlock | Filter::EncodedPem)
        || (rule.id == "secrets.github-token" && filter::github_checksum_ok(secret))
}

/// The first line start at or after `pos` (`buf.len()` if none).
fn next_line_start(buf: &[u8], pos: usize) -> usize {
    if pos == 0 {
        return 0;
    }
    match buf
        .get(pos - 1..)
        .and_then(|rest| memchr::memchr(b'\n', rest))
    {
        Some(i) => pos + i,
        None => buf.len(),
    }
}

/// The fingerprint key of a secret: a BLAKE3 hash, so the fingerprint never carries it.
pub(crate) fn secret_key(secret: &[u8]) -> String {
    blake3::hash(secret).to_hex().to_string()
}

/// True when the line containing `offset` carries an `allclear:allow` marker.
fn allowed(content: &[u8], offset: usize) -> bool {
    let start = crate::engine::line_start(content, offset);
    let end = crate::engine::line_end(content, offset);
    content
        .get(start..end)
        .is_some_and(|line| memchr::memmem::find(line, b"allclear:allow").is_some())
}

/// Source files, where an unquoted `password = word` is a variable, not a literal.
fn is_code(path: &str) -> bool {
    const CODE: &[&str] = &[
        "rs", "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "rb", "php", "java", "kt", "kts", "go",
        "c", "h", "cc", "cpp", "hpp", "cs", "swift", "scala", "m", "mm", "dart", "lua", "pl", "pm",
        "ex", "exs", "erl", "hs", "clj", "groovy", "gradle", "vue", "svelte", "r", "jl", "fs",
        "vb", "ps1", "psm1",
    ];
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((_, ext)) => CODE.iter().any(|c| ext.eq_ignore_ascii_case(c)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner() -> Scanner {
        Scanner::new(&SecretsConfig::default()).unwrap()
    }

    #[test]
    fn scanner_is_sync_and_send() {
        fn assert_sync<T: Sync + Send>() {}
        assert_sync::<Scanner>();
    }

    #[test]
    fn finds_redacts_and_fingerprints_without_lines() {
        let s = scanner();
        let token = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnlyAbCd12";
        let a = s.scan_file("ci.txt", format!("GITHUB_TOKEN={token}\n").as_bytes());
        let b = s.scan_file(
            "ci.txt",
            format!("\n\n# moved\nGITHUB_TOKEN={token}\n").as_bytes(),
        );
        assert_eq!(a.len(), 1, "{a:#?}");
        assert_eq!(a[0].rule, "secrets.github-token");
        assert_eq!(a[0].location.line, Some(1));
        assert_eq!(b[0].location.line, Some(4));
        assert_eq!(a[0].fingerprint, b[0].fingerprint);
        let json = serde_json::to_string(&a[0]).unwrap();
        assert!(!json.contains(token), "the secret leaked: {json}");
        assert!(!json.contains(&token[4..20]));
    }

    #[test]
    fn one_secret_repeated_on_a_line_is_one_finding() {
        let s = scanner();
        // A seeds file: the same password given twice, then once more on another line.
        let text = "User.create!(password: 'Kq7vT2mXw9pL4', password_confirmation: 'Kq7vT2mXw9pL4')\n\
                    User.create!(password: 'Kq7vT2mXw9pL4')\n";
        let found = s.scan_file("db/seeds.rb", text.as_bytes());
        let lines: Vec<_> = found.iter().map(|f| f.location.line).collect();
        assert_eq!(lines, [Some(1), Some(2)], "{found:#?}");
    }

    #[test]
    fn allow_comment_suppresses_its_line_only() {
        let s = scanner();
        let text = "a = \"ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnlyAbCd12\" # allclear:allow\n\
                    b = \"ghp_An0th3rR4nd0mT0k3nV4lu3F0rT3st1ng9Zq7\"\n";
        let found = s.scan_file("x.py", text.as_bytes());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].location.line, Some(2));
    }

    #[test]
    fn specific_rule_wins_over_generic() {
        let s = scanner();
        let found = s.scan_file(
            "config.yml",
            b"api_token: ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnlyAbCd12\n",
        );
        let rules: Vec<_> = found.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["secrets.github-token"]);
    }

    #[test]
    fn bare_values_in_code_are_variables() {
        let s = scanner();
        assert!(s.scan_file("app.py", b"password = hunter2x\n").is_empty());
        assert_eq!(s.scan_file("app.ini", b"password = hunter2x\n").len(), 1);
    }

    #[test]
    fn code_extensions() {
        assert!(is_code("src/main.rs"));
        assert!(is_code("a.zip!lib/x.PY"));
        assert!(!is_code(".env"));
        assert!(!is_code("config/app.yml"));
    }
}
