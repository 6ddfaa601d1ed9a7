//! Packages against the advisory store: `deps.vulnerable`, `deps.unsupported` and
//! `deps.ruby-interpreter`, plus the rules of [`crate::policy_rules`].

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use allclear_advisories::{
    Informational, PackageMatch, PackageQuery, Store, Vulnerability, check_packages,
};
use allclear_core::{Ecosystem, Finding, Fix, Location, PackageRef};
use allclear_lockfiles::{Lockfile, Package};

use crate::policy_rules::{DependencyFile, missing_lockfiles, package_rules};

/// What the walk found that the audit reads.
pub struct AuditInput<'a> {
    /// Parsed lockfiles by path relative to the scan root.
    pub lockfiles: &'a [(String, Lockfile)],
    /// Every dependency file seen (manifests and lockfiles), for `deps.missing-lockfile`.
    pub files: &'a [DependencyFile],
}

/// The audit could not read the advisory database.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Looking packages up in the store failed.
    #[error("advisory lookup failed")]
    Match(#[from] allclear_advisories::MatchError),
}

/// Runs every dependency rule. Without a store only the rules that need no advisories run
/// (the caller decides whether a missing store is an error).
pub fn audit(input: &AuditInput<'_>, store: Option<&Store>) -> Result<Vec<Finding>, AuditError> {
    let mut findings = missing_lockfiles(input.files);
    for (path, lockfile) in input.lockfiles {
        findings.extend(package_rules(path, lockfile));
    }
    if let Some(store) = store {
        findings.extend(advisory_findings(input.lockfiles, store)?);
    }
    Ok(dedupe(findings))
}

/// Queries matched per call to the store; see [`advisory_findings`].
const MATCH_BATCH: usize = 4096;

fn same_package(queries: &[PackageQuery<'_>], a: usize, b: usize) -> bool {
    queries[a].ecosystem == queries[b].ecosystem && queries[a].name == queries[b].name
}

/// Every distinct (ecosystem, name, version) is matched once, however many lockfiles list it.
fn advisory_findings(
    lockfiles: &[(String, Lockfile)],
    store: &Store,
) -> Result<Vec<Finding>, AuditError> {
    let mut index: HashMap<(Ecosystem, &str, &str), usize> = HashMap::new();
    let mut queries: Vec<PackageQuery<'_>> = Vec::new();
    // Where each distinct query occurs: (lockfile, package), in lockfile order.
    let mut occurrences: Vec<Vec<(&str, &Package)>> = Vec::new();
    for (path, lockfile) in lockfiles {
        for package in lockfile.packages.iter().chain(&lockfile.interpreters) {
            let key = (
                package.ecosystem,
                package.name.as_str(),
                package.version.as_str(),
            );
            let position = *index.entry(key).or_insert_with(|| {
                queries.push(PackageQuery {
                    ecosystem: package.ecosystem,
                    name: &package.name,
                    version: &package.version,
                });
                occurrences.push(Vec::new());
                queries.len() - 1
            });
            if let Some(places) = occurrences.get_mut(position) {
                places.push((path.as_str(), package));
            }
        }
    }
    drop(index);
    // Sorting by name lets the store read each package's advisories once, in index order.
    let mut order: Vec<usize> = (0..queries.len()).collect();
    order.sort_by_key(|&i| (queries[i].ecosystem, queries[i].name));

    // Matched in batches (never splitting one package's versions), each turned into findings
    // and freed before the next: on a large monorepo the decoded advisories and merged texts of
    // every match at once would double the peak memory, and the report sorts findings anyway.
    let mut findings = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = (start + MATCH_BATCH).min(order.len());
        while end < order.len() && same_package(&queries, order[end - 1], order[end]) {
            end += 1;
        }
        let batch = &order[start..end];
        let sorted: Vec<PackageQuery<'_>> = batch.iter().map(|&i| queries[i]).collect();
        let matches = check_packages(store, &sorted)?;
        drop(sorted);
        for (&position, found) in batch.iter().zip(matches) {
            let Some(places) = occurrences.get(position) else {
                continue;
            };
            for (path, package) in places {
                for vulnerability in &found.vulnerabilities {
                    findings.push(finding(path, package, vulnerability, &found));
                }
            }
        }
        start = end;
    }
    Ok(findings)
}

fn finding(
    path: &str,
    package: &Package,
    vulnerability: &Vulnerability,
    found: &PackageMatch,
) -> Finding {
    let rule = if package.ecosystem == Ecosystem::Ruby {
        "deps.ruby-interpreter"
    } else if vulnerability.informational == Some(Informational::Unmaintained) {
        "deps.unsupported"
    } else {
        "deps.vulnerable"
    };
    let what = vulnerability
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vulnerability.id());
    let title = match vulnerability.informational {
        Some(kind) => format!(
            "{} {}: {} ({})",
            package.name,
            package.version,
            what,
            kind.as_str()
        ),
        None => format!("{} {}: {}", package.name, package.version, what),
    };
    let mut finding = Finding::new(rule, vulnerability.severity_or_default(), title)
        .with_location(Location::new(path).with_line(package.line))
        .with_key(format!(
            "{}/{}@{}/{}",
            package.ecosystem,
            package.name,
            package.version,
            vulnerability.id()
        ))
        .with_package(PackageRef {
            ecosystem: package.ecosystem,
            name: package.name.clone(),
            version: package.version.clone(),
        })
        .with_advisories(vulnerability.ids.clone());
    if let Some(details) = &vulnerability.details {
        finding = finding.with_description(details.trim());
    }
    if let Some(url) = &vulnerability.url {
        finding = finding.with_url(url);
    }
    finding.cvss = vulnerability.cvss.as_ref().map(|c| c.score);
    if let Some(vector) = vulnerability.cvss.as_ref().and_then(|c| c.vector.clone()) {
        finding = finding.with_detail("cvss_vector", vector);
    }
    let fix = match &found.fix {
        Some(version) => Fix {
            version: Some(version.clone()),
            ..Fix::default()
        },
        None if found.unparsable_version => Fix {
            advice: Some(format!(
                "`{}` is not a version this ecosystem orders; check the advisory by hand",
                package.version
            )),
            ..Fix::default()
        },
        None if vulnerability.informational.is_some() => Fix {
            advice: Some("replace it with a maintained alternative".to_owned()),
            ..Fix::default()
        },
        None => Fix {
            advice: Some("no fixed version is known yet; see the advisory".to_owned()),
            ..Fix::default()
        },
    };
    finding = finding.with_fix(fix);
    if let Some(direct) = package.direct {
        finding = finding.with_detail("direct", direct);
    }
    if let Some(dev) = package.dev {
        finding = finding.with_detail("dev", dev);
    }
    if !vulnerability.sources.is_empty() {
        finding = finding.with_detail("sources", vulnerability.sources.clone());
    }
    finding
}

/// The same package at the same version listed twice in one lockfile (npm nests copies)
/// is one finding, at its first line, with the number of places it occurs.
///
/// Done in place: on a large monorepo the findings are the biggest thing in memory, and a
/// second copy keyed by fingerprint would double the peak.
fn dedupe(mut findings: Vec<Finding>) -> Vec<Finding> {
    // (index of the finding kept, smallest line, occurrences) per distinct fingerprint.
    let mut kept: Vec<(usize, Option<u32>, usize)> = Vec::new();
    let mut keep = vec![true; findings.len()];
    {
        let mut slot_of: HashMap<&str, usize> = HashMap::with_capacity(findings.len());
        for (index, finding) in findings.iter().enumerate() {
            match slot_of.entry(finding.fingerprint.as_str()) {
                Entry::Occupied(slot) => {
                    let (_, line, count) = &mut kept[*slot.get()];
                    *count += 1;
                    if finding.location.line < *line {
                        *line = finding.location.line;
                    }
                    keep[index] = false;
                }
                Entry::Vacant(slot) => {
                    slot.insert(kept.len());
                    kept.push((index, finding.location.line, 1));
                }
            }
        }
    }
    for (index, line, count) in kept {
        if count > 1 {
            let finding = &mut findings[index];
            finding.location.line = line;
            finding
                .details
                .insert("occurrences".to_owned(), count.into());
        }
    }
    let mut keep = keep.into_iter();
    findings.retain(|_| keep.next().unwrap_or(true));
    findings
}
