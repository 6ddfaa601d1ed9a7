//! The per-file entry point the tree walk calls.

use std::io::Read;
use std::path::Path;

use allclear_core::{Finding, Fix, Location, RunError};

use crate::config::SecretsConfig;
use crate::engine::{Engine, EngineError, FileTraits, Hit};
use crate::text::{HEAD_BYTES, LineCounter, looks_binary, redact};
use crate::{archive, files, personal, restricted, rules};

/// More password hashes than this in one file are a user table: they are reported as
/// personal data (counts and samples), not one finding each.
const MAX_INDIVIDUAL_HASHES: usize = 3;

/// Read buffers larger than this are freed after use rather than kept for the thread's
/// next file, so a rare huge file does not pin its size in memory per thread.
const RETAINED_BUFFER_BYTES: usize = 4 * 1024 * 1024;

thread_local! {
    /// `scan_path`'s read buffer, one per thread.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

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
    /// Files that could not be read or opened (corrupt archives, limits reached).
    pub errors: Vec<RunError>,
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

    /// How many bytes of a file to read for [`Scanner::scan_file`]: the whole text file up
    /// to the configured limit, only the head of a binary restricted file.
    pub fn read_limit(&self, path: &str, head: &[u8]) -> u64 {
        if looks_binary(head) && archive::kind(path, head).is_none() {
            head.len() as u64
        } else {
            self.config.max_file_bytes
        }
    }

    /// The largest file (or blob) read for content.
    pub fn max_file_bytes(&self) -> u64 {
        self.config.max_file_bytes
    }

    /// Findings in one file. `path` is relative to the scanned root, `/`-separated; content
    /// may be truncated to [`Scanner::read_limit`]. Errors (a corrupt archive) are dropped:
    /// use [`Scanner::scan`] to get them.
    pub fn scan_file(&self, path: &str, content: &[u8]) -> Vec<Finding> {
        self.scan(path, content).findings
    }

    /// Findings and errors in one file (and, for archives, in what they contain).
    pub fn scan(&self, path: &str, content: &[u8]) -> ScanOutput {
        let mut out = ScanOutput::default();
        self.scan_into(path, content, 0, &mut out);
        out
    }

    /// Reads the file at `file` (with the size limits) and scans it as `path`. A file that
    /// cannot be read is an error in the output, not a failure of the call.
    pub fn scan_path(&self, path: &str, file: &Path) -> ScanOutput {
        let mut out = ScanOutput::default();
        let error = |message: String| RunError {
            path: path.to_owned(),
            line: None,
            message,
        };
        let mut handle = match fs_err::File::open(file) {
            Ok(handle) => handle,
            Err(e) => {
                out.errors.push(error(e.to_string()));
                return out;
            }
        };
        // The buffer is the thread's, reused from file to file: a fresh allocation per file
        // costs page faults and zeroing, as much as scanning a small file.
        let mut content = READ_BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()));
        content.clear();
        let scanned = self.read_and_scan(path, &mut handle, &mut content, &mut out);
        if content.capacity() <= RETAINED_BUFFER_BYTES {
            READ_BUFFER.with(|b| *b.borrow_mut() = content);
        }
        // `credentials.yml.enc` is only half a secret; beside its key it is all of it.
        if scanned && let Some(finding) = files::credentials_beside_key(path, file) {
            out.findings.push(finding);
        }
        out
    }

    /// The part of `scan_path` between opening the file and the sibling-key check: false
    /// when the file was not scanned (not wanted, or a read error).
    fn read_and_scan(
        &self,
        path: &str,
        handle: &mut fs_err::File,
        content: &mut Vec<u8>,
        out: &mut ScanOutput,
    ) -> bool {
        let error = |message: String| RunError {
            path: path.to_owned(),
            line: None,
            message,
        };
        content.reserve(HEAD_BYTES);
        if let Err(e) = (&mut *handle).take(HEAD_BYTES as u64).read_to_end(content) {
            out.errors.push(error(e.to_string()));
            return false;
        }
        if !self.wants(path, content) {
            return false;
        }
        let limit = self.read_limit(path, content);
        // Reserve the rest of the (limited) file at once rather than growing by doubling.
        let size = handle.metadata().map_or(0, |m| m.len());
        let rest = size.min(limit).saturating_sub(content.len() as u64);
        content.reserve(usize::try_from(rest).unwrap_or(0));
        if (content.len() as u64) < limit
            && content.len() == HEAD_BYTES
            && let Err(e) = (&mut *handle)
                .take(limit - content.len() as u64)
                .read_to_end(content)
        {
            out.errors.push(error(e.to_string()));
            return false;
        }
        self.scan_into(path, content, 0, out);
        true
    }

    fn scan_into(&self, path: &str, content: &[u8], depth: u32, out: &mut ScanOutput) {
        let head = content.get(..HEAD_BYTES).unwrap_or(content);
        if let Some(kind) = archive::kind(path, head) {
            if depth >= self.config.archive_depth {
                out.errors.push(RunError {
                    path: path.to_owned(),
                    line: None,
                    message: format!(
                        "archive nested deeper than {} levels: not opened",
                        self.config.archive_depth
                    ),
                });
                return;
            }
            let limits = archive::Limits {
                max_total_bytes: self.config.archive_max_bytes,
                max_entries: self.config.archive_max_entries,
                max_entry_bytes: self.config.max_file_bytes,
            };
            let result =
                archive::for_each_entry(kind, content, path, &limits, &mut |inner, bytes| {
                    self.scan_into(&format!("{path}!{inner}"), bytes, depth + 1, out);
                });
            if let Err(e) = result {
                out.errors.push(RunError {
                    path: path.to_owned(),
                    line: None,
                    message: e.to_string(),
                });
            }
            return;
        }
        out.findings.extend(self.restricted.check(path, content));
        if looks_binary(head) {
            return;
        }

        out.findings.extend(files::check(path, content));
        self.secrets_into(path, content, &mut out.findings);
        out.findings.extend(self.personal.check(path, content));
    }

    /// Content-rule findings only (no restricted files, personal data or archives).
    pub fn scan_secrets(&self, path: &str, content: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.secrets_into(path, content, &mut findings);
        findings
    }

    fn secrets_into(&self, path: &str, content: &[u8], findings: &mut Vec<Finding>) {
        let traits = FileTraits {
            code: is_code(path),
        };
        let mut hits = Vec::new();
        self.engine.scan(content, traits, &mut hits);
        let hits = self.resolve(hits, content);
        let hash_hits = hits
            .iter()
            .filter(|h| self.engine.rule(h.rule).id == "secrets.password-hash")
            .count();
        let mut lines = LineCounter::new(content);
        for hit in hits {
            let rule = self.engine.rule(hit.rule);
            if rule.id == "secrets.password-hash" && hash_hits > MAX_INDIVIDUAL_HASHES {
                continue;
            }
            let secret = content.get(hit.start..hit.end).unwrap_or_default();
            let redacted = redact(secret);
            let line = lines.line_of(hit.match_start);
            findings.push(
                Finding::new(rule.id, rule.severity, format!("{}: {redacted}", rule.name))
                    .with_location(Location::new(path).with_line(line))
                    .with_key(secret_key(secret))
                    .with_description(rule.description)
                    .with_fix(Fix {
                        advice: Some(rule.remedy.to_owned()),
                        ..Fix::default()
                    })
                    .with_detail("redacted", redacted),
            );
        }
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
