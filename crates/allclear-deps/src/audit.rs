//! Packages against the advisory store: `deps.vulnerable`, `deps.unsupported` and
//! `deps.ruby-interpreter`, plus the rules of [`crate::policy_rules`].

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use allclear_advisories::{
    Informational, PackageMatch, PackageQuery, Store, Vulnerability, check_packages,
};
use allclear_core::{Ecosystem, EcosystemCoverage, Finding, Fix, Location, PackageRef, Severity};
use allclear_lockfiles::{Lockfile, Package};
use allclear_versions::Version;

use crate::families::release_trains;
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

/// What the audit found and what it covered.
#[derive(Debug, Default)]
pub struct Audit {
    pub findings: Vec<Finding>,
    /// Per ecosystem of the lockfiles: packages checked against how many advisories (empty
    /// without a store). `age_days` is left for the caller, which knows the time.
    pub coverage: Vec<EcosystemCoverage>,
    /// Things a person should know that are not findings: versions that could not be
    /// checked, each naming its file and line.
    pub warnings: Vec<String>,
}

/// Unparsable versions named one by one per lockfile; the rest are counted. A lockfile
/// written to flood the report cannot.
const MAX_VERSION_WARNINGS_PER_FILE: usize = 20;

/// Runs every dependency rule. Without a store only the rules that need no advisories run
/// (the caller decides whether a missing store is an error).
pub fn audit(input: &AuditInput<'_>, store: Option<&Store>) -> Result<Audit, AuditError> {
    let mut findings = missing_lockfiles(input.files);
    for (path, lockfile) in input.lockfiles {
        findings.extend(package_rules(path, lockfile));
    }
    let mut audit = Audit {
        warnings: unparsable_versions(input.lockfiles),
        ..Audit::default()
    };
    if let Some(store) = store {
        audit.coverage = coverage(input.lockfiles, store);
        findings.extend(no_advisory_data(input.lockfiles, &audit.coverage));
        // The interpreter is not a lockfile ecosystem, and `db update` cannot fetch its
        // advisories (OSV has none): a warning, not a finding every quick start would fail on.
        if audit
            .coverage
            .iter()
            .any(|c| c.ecosystem == Ecosystem::Ruby && c.advisories == 0)
        {
            audit.warnings.push(
                "the Ruby interpreter version was not checked: the advisory database holds no \
                 Ruby advisories; import a ruby-advisory-db checkout with `allclear db import DIR`"
                    .to_owned(),
            );
        }
        let mut found = advisory_findings(input.lockfiles, store)?;
        release_trains(&mut found, store)?;
        findings.extend(found);
    }
    audit.findings = dedupe(findings);
    Ok(audit)
}

fn all_packages(lockfile: &Lockfile) -> impl Iterator<Item = &Package> {
    lockfile.packages.iter().chain(&lockfile.interpreters)
}

fn parses(package: &Package) -> bool {
    Version::parse(package.ecosystem, package.version.trim()).is_ok()
}

/// One warning per package whose version the ecosystem does not order (`rack
/// (2.2.3.garbage!)`): it is checked only against advisories that list it verbatim.
fn unparsable_versions(lockfiles: &[(String, Lockfile)]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (path, lockfile) in lockfiles {
        let bad: Vec<&Package> = all_packages(lockfile).filter(|p| !parses(p)).collect();
        for package in bad.iter().take(MAX_VERSION_WARNINGS_PER_FILE) {
            warnings.push(format!(
                "{path}:{}: {} `{}` is not a {} version, so it was checked only against \
                 advisories that list that exact text",
                package.line, package.name, package.version, package.ecosystem
            ));
        }
        if bad.len() > MAX_VERSION_WARNINGS_PER_FILE {
            warnings.push(format!(
                "{path}: and {} more packages whose versions do not parse",
                bad.len() - MAX_VERSION_WARNINGS_PER_FILE
            ));
        }
    }
    warnings
}

/// One ecosystem's packages, counted for [`coverage`].
#[derive(Default)]
struct Tally<'a> {
    lockfiles: usize,
    /// Distinct (name, version).
    packages: HashSet<(&'a str, &'a str)>,
    unparsable: usize,
}

/// Packages per ecosystem against the store's advisories for it.
fn coverage(lockfiles: &[(String, Lockfile)], store: &Store) -> Vec<EcosystemCoverage> {
    let mut per: HashMap<Ecosystem, Tally<'_>> = HashMap::new();
    for (_, lockfile) in lockfiles {
        let mut seen_here: HashSet<Ecosystem> = HashSet::new();
        for package in all_packages(lockfile) {
            let tally = per.entry(package.ecosystem).or_default();
            if seen_here.insert(package.ecosystem) {
                tally.lockfiles += 1;
            }
            if tally.packages.insert((&package.name, &package.version)) && !parses(package) {
                tally.unparsable += 1;
            }
        }
    }
    let status = store.status();
    Ecosystem::ALL
        .into_iter()
        .filter_map(|eco| {
            let Tally {
                lockfiles,
                packages,
                unparsable,
            } = per.remove(&eco)?;
            let advisories = status.ecosystems.get(&eco).map_or(0, |s| s.advisories);
            let imported_at = status
                .sources
                .iter()
                .filter(|s| s.advisories.get(&eco).is_some_and(|&n| n > 0))
                .map(|s| s.imported_at.clone())
                .min();
            Some(EcosystemCoverage {
                ecosystem: eco,
                lockfiles,
                packages: packages.len(),
                unchecked: if advisories == 0 {
                    packages.len()
                } else {
                    unparsable
                },
                advisories,
                imported_at,
                age_days: None,
            })
        })
        .collect()
}

/// Where each ecosystem's advisories come from, for the advice of `deps.no-advisory-data`.
fn advisory_sources(eco: Ecosystem) -> &'static str {
    match eco {
        Ecosystem::RubyGems | Ecosystem::Ruby => "a ruby-advisory-db checkout or an OSV export",
        Ecosystem::Packagist => "a FriendsOfPHP/security-advisories checkout or an OSV export",
        Ecosystem::CratesIo => "a rustsec/advisory-db checkout",
        Ecosystem::PyPI => "a pypa/advisory-database checkout or an OSV export",
        Ecosystem::Npm | Ecosystem::Go => "an OSV export (all.zip)",
    }
}

/// `deps.no-advisory-data`: a lockfile whose ecosystem the database holds no advisories
/// for was not checked at all, and must not pass as clean.
fn no_advisory_data(
    lockfiles: &[(String, Lockfile)],
    coverage: &[EcosystemCoverage],
) -> Vec<Finding> {
    let missing: HashSet<Ecosystem> = coverage
        .iter()
        .filter(|c| c.advisories == 0 && c.ecosystem != Ecosystem::Ruby)
        .map(|c| c.ecosystem)
        .collect();
    let mut findings = Vec::new();
    for (path, lockfile) in lockfiles {
        let mut counts: Vec<(Ecosystem, usize, u32)> = Vec::new();
        for package in all_packages(lockfile) {
            if !missing.contains(&package.ecosystem) {
                continue;
            }
            match counts
                .iter_mut()
                .find(|(eco, _, _)| *eco == package.ecosystem)
            {
                Some((_, count, _)) => *count += 1,
                None => counts.push((package.ecosystem, 1, package.line)),
            }
        }
        for (eco, count, line) in counts {
            let what = eco.as_str();
            let packages = if count == 1 { "package" } else { "packages" };
            findings.push(
                Finding::new(
                    "deps.no-advisory-data",
                    Severity::High,
                    format!(
                        "no {what} advisories in the database: {count} {packages} in {} \
                         were not checked",
                        file_name(path)
                    ),
                )
                .with_location(Location::new(path.as_str()).with_line(line))
                .with_key(format!("no-advisory-data/{eco}"))
                .with_description(format!(
                    "The advisory database holds no {what} advisories, so none of this \
                     lockfile's {eco} packages could be checked. That is not the same as \
                     having no known vulnerabilities."
                ))
                .with_detail("ecosystem", eco.as_str())
                .with_detail("packages", count)
                .with_fix(Fix {
                    advice: Some(format!(
                        "run `allclear db update --ecosystem {eco}` to download OSV's {eco} \
                         advisories, or `allclear db import DIR` with {}",
                        advisory_sources(eco)
                    )),
                    ..Fix::default()
                }),
            );
        }
    }
    findings
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
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
    let mut index: HashMap<(Ecosystem, &str, &str, &[String]), usize> = HashMap::new();
    let mut queries: Vec<PackageQuery<'_>> = Vec::new();
    // Where each distinct query occurs: (lockfile, package), in lockfile order.
    let mut occurrences: Vec<Vec<(&str, &Package)>> = Vec::new();
    for (path, lockfile) in lockfiles {
        for package in lockfile.packages.iter().chain(&lockfile.interpreters) {
            let key = (
                package.ecosystem,
                package.name.as_str(),
                package.version.as_str(),
                lockfile.platforms.as_slice(),
            );
            let position = *index.entry(key).or_insert_with(|| {
                queries.push(PackageQuery {
                    ecosystem: package.ecosystem,
                    name: &package.name,
                    version: &package.version,
                    platforms: &lockfile.platforms,
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
    let what = headline(vulnerability);
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
    // This advisory's own fix: the upgrade summary, not each finding, gathers the version
    // that fixes every advisory of the package (`upgrade_to`, below).
    let fix = match &vulnerability.fixed_in {
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
    if let Some(all) = &found.fix {
        finding = finding.with_detail("upgrade_to", all.as_str());
    }
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

/// Longest title text taken from an advisory's description when it has no summary.
const MAX_HEADLINE_CHARS: usize = 120;

/// Words that say what is wrong, to pick the sentence of a description that names the flaw
/// (Drupal's advisories open with what the module does, then say what it fails to do).
const FLAW_WORDS: &[&str] = &[
    "vulnerab",
    "does not",
    "doesn't",
    "do not",
    "not sufficiently",
    "insufficient",
    "fail",
    "could be",
    "can be",
    "could lead",
    "can lead",
    "may lead",
    "may allow",
    "could allow",
    "abused",
    "exploit",
    "leveraged",
    "bypass",
    "inject",
    "cross-site",
    "xss",
    "csrf",
    "denial of service",
    "disclos",
    "traversal",
    "escalat",
    "arbitrary",
    "improper",
    "unauthori",
    "attacker",
];

/// Whether a sentence says what is wrong (not how it is mitigated, nor an introduction to a
/// list).
fn names_the_flaw(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    FLAW_WORDS.iter().any(|w| lower.contains(w))
        && !lower.contains("mitigat")
        && !sentence.ends_with(':')
}

/// The advisory's summary; without one, the description's first sentence that names the
/// flaw (else its first sentence), cut at a word; only without either, the id.
fn headline(vulnerability: &Vulnerability) -> String {
    if let Some(summary) = vulnerability
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return summary.to_owned();
    }
    let sentences: Vec<String> = vulnerability
        .details
        .as_deref()
        .map(sentences)
        .unwrap_or_default();
    let chosen = sentences
        .iter()
        .find(|s| names_the_flaw(s))
        .or(sentences.first());
    match chosen {
        Some(sentence) => shorten(sentence, MAX_HEADLINE_CHARS),
        None => vulnerability.id().to_owned(),
    }
}

/// The sentences of a Markdown description, headings and markup left out.
fn sentences(details: &str) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in details.split("\n\n") {
        let text: String = paragraph
            .lines()
            .map(|l| l.trim().trim_start_matches('#').trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .replace(['*', '`'], "")
            .replace("\\_", "_");
        let mut rest = text.as_str();
        // A sentence ends at `. ` (or the paragraph's end); bounded by the paragraph.
        while !rest.is_empty() {
            let end = rest.find(". ").map_or(rest.len(), |i| i + 1);
            let (sentence, tail) = rest.split_at(end);
            let sentence = sentence.trim();
            if sentence.len() > 3 {
                out.push(sentence.to_owned());
            }
            rest = tail.trim_start();
            if out.len() >= 32 {
                return out;
            }
        }
    }
    out
}

/// `text` cut to at most `max` characters at a word boundary, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', ';', ':']))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vulnerability(summary: Option<&str>, details: Option<&str>) -> Vulnerability {
        Vulnerability {
            ids: vec!["CVE-2026-4393".into()],
            summary: summary.map(str::to_owned),
            details: details.map(str::to_owned),
            severity: None,
            cvss: None,
            url: None,
            informational: None,
            fixed_in: None,
            sources: vec![],
            published: None,
        }
    }

    /// Drupal's advisories have no summary: the title was the bare CVE id.
    #[test]
    fn headline_is_never_a_bare_id_when_there_is_text() {
        let drupal = "This module provides a site administrator the ability to log users \
            out after a specified time of inactivity.\n\nThe module doesn't sufficiently \
            protect its routes from cross-site request forgery (CSRF), allowing the logout \
            route to be triggered without user interaction.";
        let title = headline(&vulnerability(None, Some(drupal)));
        assert!(
            title.starts_with("The module doesn't sufficiently protect"),
            "{title}"
        );
        assert!(title.chars().count() <= MAX_HEADLINE_CHARS + 1, "{title}");
        assert!(title.ends_with('…'), "{title}");
        assert_eq!(
            headline(&vulnerability(Some(" Hash collisions "), Some(drupal))),
            "Hash collisions"
        );
        assert_eq!(
            headline(&vulnerability(
                None,
                Some("#### Heading\n\nShort text. More.")
            )),
            "Heading"
        );
        assert_eq!(headline(&vulnerability(None, None)), "CVE-2026-4393");
    }
}
