//! Package awareness on Debian-family systems: dpkg's MD5 records, its log, diversions,
//! and `verify_packages` (what `debsums` does, with no baseline at all).
//!
//! Trust: the records under `/var/lib/dpkg/info` are only as trustworthy as the host. An
//! intruder with root can rewrite a `.md5sums` file to match a replaced binary; watching
//! `/var/lib/dpkg/info` itself in the baseline (or comparing against the `.deb` archives)
//! closes that gap. MD5 is used only because it is what dpkg records; matching a given
//! record with different content (a second preimage) is still out of reach.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use allclear_core::{Finding, Location, Severity};
use rayon::prelude::*;
use serde::Serialize;

use crate::entry::{ReadError, as_path, display_path, fs_path, md5_file};
use crate::walk::Issue;

/// dpkg's database or log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DpkgError {
    /// The dpkg directory or one of its files could not be read.
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The directory has no `info/` with `*.md5sums` files: not a dpkg database.
    #[error("{path}: no dpkg database here (no info/*.md5sums)")]
    NotADpkgDatabase { path: PathBuf },
}

/// One line of a `.md5sums` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Md5Record {
    /// The package (the file name before `.md5sums`, e.g. `nginx-core:amd64`).
    pub package: String,
    /// The absolute path, as raw bytes.
    pub path: Vec<u8>,
    pub md5: [u8; 16],
}

/// A malformed line in a `.md5sums` file (skipped; reported as a warning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLine {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// Parses one `.md5sums` file: `<32 hex digits><two spaces><path without leading />`.
pub fn parse_md5sums(text: &[u8], package: &str, file: &str) -> (Vec<Md5Record>, Vec<BadLine>) {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = line
            .get(..32)
            .and_then(|h| hex::decode(h).ok())
            .and_then(|h| <[u8; 16]>::try_from(h).ok())
            .zip(line.get(32..).map(|rest| {
                let rest = rest.strip_prefix(b" ").unwrap_or(rest);
                // `md5sum` marks binary mode with `*`; dpkg writes a second space.
                rest.strip_prefix(b" ")
                    .or_else(|| rest.strip_prefix(b"*"))
                    .unwrap_or(rest)
            }));
        match parsed {
            Some((md5, rel)) if !rel.is_empty() => {
                let mut path = Vec::with_capacity(rel.len() + 1);
                if !rel.starts_with(b"/") {
                    path.push(b'/');
                }
                path.extend_from_slice(rel);
                records.push(Md5Record {
                    package: package.to_owned(),
                    path,
                    md5,
                });
            }
            _ => bad.push(BadLine {
                file: file.to_owned(),
                line: index as u32 + 1,
                message: "expected `<32 hex digits>  <path>`".into(),
            }),
        }
    }
    (records, bad)
}

/// The `.md5sums` files under `dpkg_dir/info`, with their package names, sorted.
fn md5sums_files(dpkg_dir: &Path) -> Result<Vec<(String, PathBuf)>, DpkgError> {
    let info = dpkg_dir.join("info");
    let reader = fs::read_dir(&info).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            DpkgError::NotADpkgDatabase {
                path: dpkg_dir.to_owned(),
            }
        } else {
            DpkgError::Io {
                path: info.clone(),
                source,
            }
        }
    })?;
    let mut files = Vec::new();
    for item in reader {
        let item = item.map_err(|source| DpkgError::Io {
            path: info.clone(),
            source,
        })?;
        let name = item.file_name();
        if let Some(package) = name.to_str().and_then(|n| n.strip_suffix(".md5sums")) {
            files.push((package.to_owned(), item.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every record, or only those for `wanted` paths (to keep memory small when a
/// check only needs to classify a few changed files).
pub fn load_records(
    dpkg_dir: &Path,
    wanted: Option<&HashSet<Vec<u8>>>,
) -> Result<(Vec<Md5Record>, Vec<BadLine>), DpkgError> {
    let files = md5sums_files(dpkg_dir)?;
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (package, path) in files {
        let text = fs::read(&path).map_err(|source| DpkgError::Io {
            path: path.clone(),
            source,
        })?;
        let (mut found, mut wrong) = parse_md5sums(&text, &package, &path.display().to_string());
        if let Some(wanted) = wanted {
            found.retain(|r| wanted.contains(&r.path));
        }
        records.append(&mut found);
        bad.append(&mut wrong);
    }
    Ok((records, bad))
}

/// One diversion: dpkg keeps the package's file at `to` instead of `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diversion {
    pub from: Vec<u8>,
    pub to: Vec<u8>,
    /// The diverting package, or `:` for a local diversion.
    pub by: String,
}

/// Parses `dpkg_dir/diversions` (three lines per diversion). Missing file: none.
pub fn read_diversions(dpkg_dir: &Path) -> Result<Vec<Diversion>, DpkgError> {
    let path = dpkg_dir.join("diversions");
    let text = match fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(DpkgError::Io { path, source }),
    };
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    Ok(lines
        .chunks_exact(3)
        .filter_map(|c| match c {
            [from, to, by] => Some(Diversion {
                from: from.to_vec(),
                to: to.to_vec(),
                by: String::from_utf8_lossy(by).into_owned(),
            }),
            _ => None,
        })
        .collect())
}

/// Where package `package`'s file recorded at `path` really lives, given the diversions.
fn diverted_location<'d>(diversions: &'d [Diversion], package: &str, path: &'d [u8]) -> &'d [u8] {
    let name = package.split(':').next().unwrap_or(package);
    for d in diversions {
        if d.from == path && d.by != name {
            return &d.to;
        }
    }
    path
}

/// One line of dpkg's log that installed, upgraded or removed a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DpkgEvent {
    /// `YYYY-MM-DD HH:MM:SS`, local time as dpkg writes it.
    pub when: String,
    /// `install`, `upgrade`, `remove` or `purge`.
    pub action: String,
    /// `name:arch` as in the log.
    pub package: String,
    pub old_version: String,
    pub new_version: String,
}

/// Parses dpkg's log (`/var/log/dpkg.log`), keeping install, upgrade, remove and purge.
pub fn parse_dpkg_log(text: &[u8]) -> Vec<DpkgEvent> {
    let mut events = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [date, time, action, package, old, new, ..] = fields.as_slice()
            && matches!(*action, "install" | "upgrade" | "remove" | "purge")
        {
            events.push(DpkgEvent {
                when: format!("{date} {time}"),
                action: (*action).to_owned(),
                package: (*package).to_owned(),
                old_version: (*old).to_owned(),
                new_version: (*new).to_owned(),
            });
        }
    }
    events
}

/// The most recent install or upgrade of `package` (with or without `:arch`) in the log.
pub fn last_install<'e>(events: &'e [DpkgEvent], package: &str) -> Option<&'e DpkgEvent> {
    let bare = package.split(':').next().unwrap_or(package);
    events.iter().rev().find(|e| {
        matches!(e.action.as_str(), "install" | "upgrade")
            && (e.package == package || e.package.split(':').next() == Some(bare))
    })
}

/// Where `verify_packages` looks.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// dpkg's database directory (`/var/lib/dpkg`); a fake one in tests.
    pub dpkg_dir: PathBuf,
    /// The root the recorded paths are relative to (`/`, or a mounted image).
    pub root: PathBuf,
    /// Only these packages (names with or without `:arch`); all when empty.
    pub packages: Vec<String>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            dpkg_dir: PathBuf::from("/var/lib/dpkg"),
            root: PathBuf::from("/"),
            packages: Vec::new(),
        }
    }
}

/// What `verify_packages` found.
#[derive(Debug, Default)]
pub struct VerifyOutcome {
    /// `fim.package-modified` and `fim.package-missing` findings.
    pub findings: Vec<Finding>,
    /// Files that could not be read (the check is incomplete for them).
    pub issues: Vec<Issue>,
    /// Malformed lines in `.md5sums` files (skipped).
    pub bad_lines: Vec<BadLine>,
    pub packages: usize,
    pub files_checked: usize,
}

/// Checks every installed package file against dpkg's MD5 records, in parallel, with no
/// baseline: a replaced `/usr/sbin/sshd` is caught on a host that never had one.
/// Conffiles are not in `.md5sums` and so are not checked (as `debsums` without `-a`).
pub fn verify_packages(options: &VerifyOptions) -> Result<VerifyOutcome, DpkgError> {
    let (mut records, bad_lines) = load_records(&options.dpkg_dir, None)?;
    if !options.packages.is_empty() {
        records.retain(|r| {
            let bare = r.package.split(':').next().unwrap_or(&r.package);
            options
                .packages
                .iter()
                .any(|p| p == &r.package || p.as_str() == bare)
        });
    }
    let diversions = read_diversions(&options.dpkg_dir)?;
    let root = options.root.as_os_str().as_bytes();
    let packages: HashSet<&str> = records.iter().map(|r| r.package.as_str()).collect();

    enum Outcome {
        Same,
        Modified(Finding),
        Missing(Finding),
        Issue(Issue),
    }
    let outcomes: Vec<Outcome> = records
        .par_iter()
        .map(|record| {
            let logical = diverted_location(&diversions, &record.package, &record.path);
            let shown = display_path(logical);
            let fs = fs_path(root, logical);
            let finding = |rule: &str, severity: Severity, title: String, description: String| {
                Finding::new(rule, severity, title)
                    .with_location(Location::new(shown.clone()))
                    .with_key(format!("{}:{}", record.package, hex::encode(record.md5)))
                    .with_description(description)
                    .with_detail("package", record.package.clone())
                    .with_detail("expected_md5", hex::encode(record.md5))
            };
            match fs::symlink_metadata(as_path(&fs)) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Outcome::Missing(finding(
                        "fim.package-missing",
                        Severity::Medium,
                        format!("{shown}: missing (installed by {})", record.package),
                        format!(
                            "dpkg records {shown} as part of {}, but it is not there.",
                            record.package
                        ),
                    ));
                }
                Err(e) => {
                    return Outcome::Issue(Issue::from_read(&ReadError::Io {
                        path: shown,
                        source: e,
                    }));
                }
                Ok(meta) if !meta.is_file() => {
                    let kind = crate::entry::FileKind::from_mode(
                        std::os::unix::fs::MetadataExt::mode(&meta),
                    );
                    return Outcome::Modified(
                        finding(
                            "fim.package-modified",
                            Severity::High,
                            format!(
                                "{shown}: replaced by a {kind} (installed by {})",
                                record.package
                            ),
                            format!(
                                "dpkg installed a regular file at {shown}; it is now a {kind}."
                            ),
                        )
                        .with_detail("actual", kind.name()),
                    );
                }
                Ok(_) => {}
            }
            match md5_file(&fs, logical) {
                Ok(md5) if md5 == record.md5 => Outcome::Same,
                Ok(md5) => Outcome::Modified(
                    finding(
                        "fim.package-modified",
                        Severity::High,
                        format!("{shown}: differs from package {}", record.package),
                        format!(
                            "The content of {shown} does not match what dpkg installed for {} \
                             (MD5 {} expected, {} found). Reinstall the package to restore it \
                             and find out who changed it.",
                            record.package,
                            hex::encode(record.md5),
                            hex::encode(md5)
                        ),
                    )
                    .with_detail("actual_md5", hex::encode(md5))
                    .with_fix(allclear_core::Fix {
                        command: Some(format!(
                            "apt-get install --reinstall {}",
                            record.package.split(':').next().unwrap_or(&record.package)
                        )),
                        ..Default::default()
                    }),
                ),
                Err(e) => Outcome::Issue(Issue::from_read(&e)),
            }
        })
        .collect();

    let mut outcome = VerifyOutcome {
        bad_lines,
        packages: packages.len(),
        files_checked: records.len(),
        ..Default::default()
    };
    for o in outcomes {
        match o {
            Outcome::Same => {}
            Outcome::Modified(f) | Outcome::Missing(f) => outcome.findings.push(f),
            Outcome::Issue(i) => outcome.issues.push(i),
        }
    }
    outcome
        .findings
        .sort_by(|a, b| a.location.path.cmp(&b.location.path));
    Ok(outcome)
}

/// MD5 records of the given paths, for classifying a check's changes.
#[derive(Debug, Default)]
pub(crate) struct PackageIndex {
    by_path: HashMap<Vec<u8>, Vec<(String, [u8; 16])>>,
    owners: HashMap<Vec<u8>, Vec<String>>,
    pub events: Vec<DpkgEvent>,
}

impl PackageIndex {
    pub(crate) fn load(
        dpkg_dir: &Path,
        dpkg_log: Option<&Path>,
        paths: &HashSet<Vec<u8>>,
    ) -> Result<PackageIndex, DpkgError> {
        let (records, _) = load_records(dpkg_dir, Some(paths))?;
        let mut by_path: HashMap<Vec<u8>, Vec<(String, [u8; 16])>> = HashMap::new();
        for r in records {
            by_path.entry(r.path).or_default().push((r.package, r.md5));
        }
        let events = match dpkg_log.map(fs::read) {
            Some(Ok(text)) => parse_dpkg_log(&text),
            _ => Vec::new(),
        };
        Ok(PackageIndex {
            by_path,
            owners: HashMap::new(),
            events,
        })
    }

    /// Adds the owners of `paths` from the `info/*.list` files (symlinks and directories
    /// have no MD5 record, but their package lists them).
    pub(crate) fn load_owners(
        &mut self,
        dpkg_dir: &Path,
        paths: &HashSet<Vec<u8>>,
    ) -> Result<(), DpkgError> {
        if paths.is_empty() {
            return Ok(());
        }
        let info = dpkg_dir.join("info");
        let reader = fs::read_dir(&info).map_err(|source| DpkgError::Io {
            path: info.clone(),
            source,
        })?;
        for item in reader {
            let item = item.map_err(|source| DpkgError::Io {
                path: info.clone(),
                source,
            })?;
            let name = item.file_name();
            let Some(package) = name.to_str().and_then(|n| n.strip_suffix(".list")) else {
                continue;
            };
            let path = item.path();
            let text = fs::read(&path).map_err(|source| DpkgError::Io { path, source })?;
            for line in text.split(|&b| b == b'\n') {
                if paths.contains(line) {
                    self.owners
                        .entry(line.to_vec())
                        .or_default()
                        .push(package.to_owned());
                }
            }
        }
        Ok(())
    }

    /// The packages whose file lists name `path`.
    pub(crate) fn owners(&self, path: &[u8]) -> &[String] {
        self.owners.get(path).map_or(&[], Vec::as_slice)
    }

    /// The package whose record for `path` has this MD5.
    pub(crate) fn package_matching(&self, path: &[u8], md5: &[u8; 16]) -> Option<&str> {
        self.by_path
            .get(path)?
            .iter()
            .find(|(_, m)| m == md5)
            .map(|(p, _)| p.as_str())
    }

    pub(crate) fn knows(&self, path: &[u8]) -> bool {
        self.by_path.contains_key(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5sums_lines() {
        let text = b"900150983cd24fb0d6963f7d28e17f72  usr/bin/abc\n\
                     d41d8cd98f00b204e9800998ecf8427e  usr/share/doc/x y/\xffname\n\
                     nothex  usr/bin/bad\n\n";
        let (records, bad) = parse_md5sums(text, "abc:amd64", "abc.md5sums");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].path, b"/usr/bin/abc");
        assert_eq!(records[1].path, b"/usr/share/doc/x y/\xffname");
        assert_eq!(
            hex::encode(records[0].md5),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 3);
    }

    #[test]
    fn dpkg_log_events() {
        let log = b"2024-05-01 10:00:00 startup archives unpack\n\
                    2024-05-01 10:00:01 upgrade nginx-core:amd64 1.22.1-9 1.22.1-9+deb12u1\n\
                    2024-05-01 10:00:02 status installed nginx-core:amd64 1.22.1-9+deb12u1\n\
                    2024-05-02 09:00:00 install hello:amd64 <none> 2.10-3\n";
        let events = parse_dpkg_log(log);
        assert_eq!(events.len(), 2);
        let e = last_install(&events, "nginx-core").unwrap();
        assert_eq!(e.new_version, "1.22.1-9+deb12u1");
        assert_eq!(e.when, "2024-05-01 10:00:01");
        assert!(last_install(&events, "curl").is_none());
    }

    #[test]
    fn diversions_redirect_other_packages_files() {
        let d = vec![Diversion {
            from: b"/usr/bin/x".to_vec(),
            to: b"/usr/bin/x.distrib".to_vec(),
            by: "xwrapper".into(),
        }];
        assert_eq!(
            diverted_location(&d, "xorig:amd64", b"/usr/bin/x"),
            b"/usr/bin/x.distrib"
        );
        assert_eq!(
            diverted_location(&d, "xwrapper", b"/usr/bin/x"),
            b"/usr/bin/x"
        );
        assert_eq!(diverted_location(&d, "other", b"/usr/bin/y"), b"/usr/bin/y");
    }
}
