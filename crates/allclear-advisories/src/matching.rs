//! Matching installed packages against the store: which advisories affect a version,
//! merged into one vulnerability per problem, and the smallest version that fixes them.

use std::collections::HashMap;
use std::sync::OnceLock;

use allclear_core::{Ecosystem, Severity};
use allclear_versions::{Requirement, Version};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dedup::{group_advisories, merge};
use crate::model::{Advisory, Affected, AffectedVersions, CvssScore, Event, Informational};
use crate::names::normalize_name;
use crate::store::{Extra, RawRecord, Store, StoreError};

/// From this many queries, `check_packages` shares the work out on rayon's pool.
const PARALLEL_FROM_QUERIES: usize = 2048;

/// Why matching failed (only the store can fail; bad versions are not errors).
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    /// Reading advisories from the store failed.
    #[error("cannot read advisories")]
    Store(#[from] StoreError),
}

/// One installed package to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackageQuery<'a> {
    pub ecosystem: Ecosystem,
    pub name: &'a str,
    pub version: &'a str,
    /// The platforms the lockfile is resolved for (see [`platform_applies`]); empty when
    /// unknown, which matches every advisory.
    pub platforms: &'a [String],
}

/// Whether an advisory limited to `platform` (RubySec's `platform: jruby`) concerns a
/// lockfile resolved for `platforms`. Bundler writes JRuby as `java` (`PLATFORMS java`,
/// `universal-java-17`, `nokogiri (1.13.10-java)`), RubySec as `jruby`: both are one
/// platform here. A lockfile that names no platform matches every advisory (unknown is not
/// safe).
pub fn platform_applies(platform: Option<&str>, platforms: &[String]) -> bool {
    let Some(platform) = platform else {
        return true;
    };
    if platforms.is_empty() {
        return true;
    }
    let family = |p: &str| {
        let p = p.trim().to_ascii_lowercase();
        if p == "jruby" || p.contains("java") {
            "java".to_owned()
        } else {
            p
        }
    };
    let wanted = family(platform);
    platforms.iter().any(|p| family(p).contains(&wanted))
}

/// One problem affecting a package, merged over every advisory that names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    /// Every id and alias (GHSA, RUSTSEC, PYSEC, CVE, …), the one to show first first.
    pub ids: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    /// The highest severity any source gives; `None` when no source rates it (see
    /// [`Vulnerability::severity_or_default`]).
    pub severity: Option<Severity>,
    /// The highest CVSS base score any source gives.
    pub cvss: Option<CvssScore>,
    pub url: Option<String>,
    /// Set when this is not a vulnerability but an informational notice (unmaintained,
    /// unsound): an "unsupported dependency" finding.
    pub informational: Option<Informational>,
    /// The smallest version above the installed one that none of these advisories
    /// affects, among the versions the advisories name as fixes.
    pub fixed_in: Option<String>,
    /// Importers the advisories came from (`osv`, `rubysec`, …).
    pub sources: Vec<String>,
    pub published: Option<String>,
}

impl Vulnerability {
    /// The id to show first.
    pub fn id(&self) -> &str {
        self.ids.first().map(String::as_str).unwrap_or("")
    }

    /// The severity to report when no source rates the problem: `medium` for a
    /// vulnerability (unknown is not harmless), `low` for an informational notice.
    pub fn severity_or_default(&self) -> Severity {
        self.severity.unwrap_or(if self.informational.is_some() {
            Severity::Low
        } else {
            Severity::Medium
        })
    }
}

/// What matching one package found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PackageMatch {
    pub vulnerabilities: Vec<Vulnerability>,
    /// The smallest version, above the installed one, that fixes every matched
    /// vulnerability (informational notices without any fix are left out, so an
    /// unmaintained crate does not hide the fix of a real vulnerability). `None` when no
    /// version named by the advisories fixes them all.
    pub fix: Option<String>,
    /// The installed version does not parse in its ecosystem: only advisories listing it
    /// verbatim, or affecting every version, could be matched (and no fix is computed).
    pub unparsable_version: bool,
}

/// The affected entries of an advisory that are about this package.
pub fn entries_for<'a>(
    advisory: &'a Advisory,
    eco: Ecosystem,
    name: &str,
) -> impl Iterator<Item = &'a Affected> {
    let key = normalize_name(eco, name);
    advisory
        .affected
        .iter()
        .filter(move |a| a.ecosystem == eco && normalize_name(eco, &a.package) == key)
}

/// Checks one package (see [`check_packages`] for many).
pub fn check_package(
    store: &Store,
    eco: Ecosystem,
    name: &str,
    version: &str,
) -> Result<PackageMatch, MatchError> {
    let mut out = check_packages(
        store,
        &[PackageQuery {
            ecosystem: eco,
            name,
            version,
            platforms: &[],
        }],
    )?;
    Ok(out.pop().unwrap_or_default())
}

/// Checks many packages; the result has one entry per query, in order.
///
/// Each distinct package is looked up once (a name with no advisory costs one index
/// probe); its advisories are decoded and prepared once, in parallel, however many
/// versions of it are asked; the long text (details) is read only for advisories that
/// match.
pub fn check_packages(
    store: &Store,
    queries: &[PackageQuery<'_>],
) -> Result<Vec<PackageMatch>, MatchError> {
    // A batch that asks about many of an ecosystem's packages reads all its keys once
    // instead of probing the index for each name (most names have no advisory).
    let mut per_eco: HashMap<Ecosystem, usize> = HashMap::new();
    for q in queries {
        *per_eco.entry(q.ecosystem).or_default() += 1;
    }
    let mut key_sets = HashMap::new();
    for (eco, asked) in per_eco {
        if asked.saturating_mul(5) > store.package_count(eco) {
            key_sets.insert(eco, store.key_set(eco)?);
        }
    }

    // Distinct packages, and which one each query is about.
    let mut index: hashbrown::HashMap<(Ecosystem, String), Option<usize>> =
        hashbrown::HashMap::new();
    let mut packages: Vec<(Ecosystem, &str, Vec<RawRecord>)> = Vec::new();
    let mut package_of = Vec::with_capacity(queries.len());
    for q in queries {
        let key = (q.ecosystem, normalize_name(q.ecosystem, q.name));
        let n = match index.get(&key) {
            Some(&n) => n,
            None => {
                let known = match key_sets.get(&q.ecosystem) {
                    Some(set) => set.contains(key.1.as_str()),
                    None => store.has_key(q.ecosystem, &key.1)?,
                };
                let n = if known {
                    packages.push((q.ecosystem, q.name, store.raw_for(q.ecosystem, &key.1)?));
                    Some(packages.len() - 1)
                } else {
                    None
                };
                index.insert(key, n);
                n
            }
        };
        package_of.push(n);
    }

    // A small audit (one project's lockfile) is done before rayon's pool would have started
    // its threads, and their idle spinning would take the second core from the walk.
    let parallel = queries.len() >= PARALLEL_FROM_QUERIES;
    let compile_package = |(eco, name, raws): &(Ecosystem, &str, Vec<RawRecord>)| {
        raws.iter()
            .map(|raw| Ok(compile(*eco, name, raw.decode()?, Some(raw.rowid))))
            .filter(|c: &Result<Compiled, StoreError>| c.as_ref().map_or(true, |c| c.usable()))
            .collect::<Result<Vec<_>, StoreError>>()
    };
    let compiled: Vec<Vec<Compiled>> = if parallel {
        packages
            .par_iter()
            .map(compile_package)
            .collect::<Result<_, _>>()?
    } else {
        packages
            .iter()
            .map(compile_package)
            .collect::<Result<_, _>>()?
    };

    let match_query = |(q, &n): (&PackageQuery<'_>, &Option<usize>)| {
        let compiled = n
            .and_then(|n| compiled.get(n))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        find_matches(q.ecosystem, q.version, q.platforms, compiled)
    };
    let matched: Vec<Matched<'_>> = if parallel {
        queries
            .par_iter()
            .zip(package_of.par_iter())
            .map(match_query)
            .collect()
    } else {
        queries
            .iter()
            .zip(package_of.iter())
            .map(match_query)
            .collect()
    };

    // The long text of matched advisories, read once each.
    let mut extras: HashMap<i64, Extra> = HashMap::new();
    for m in &matched {
        for c in &m.advisories {
            if let Some(rowid) = c.rowid
                && !extras.contains_key(&rowid)
            {
                extras.insert(rowid, store.extra(rowid, &c.advisory.id)?);
            }
        }
    }

    Ok(if parallel {
        matched.into_par_iter().map(|m| build(m, &extras)).collect()
    } else {
        matched.into_iter().map(|m| build(m, &extras)).collect()
    })
}

/// Matches a version against advisories already in hand (no store): what
/// [`check_packages`] does per package.
pub fn match_advisories(
    eco: Ecosystem,
    name: &str,
    version: &str,
    advisories: Vec<Advisory>,
) -> PackageMatch {
    let compiled: Vec<Compiled> = advisories
        .into_iter()
        .map(|a| compile(eco, name, a, None))
        .filter(Compiled::usable)
        .collect();
    build(find_matches(eco, version, &[], &compiled), &HashMap::new())
}

/// An advisory with its versions and requirements parsed once.
struct Compiled {
    /// Where the long text is, for advisories read from the store.
    rowid: Option<i64>,
    advisory: Advisory,
    entries: Vec<How>,
    /// Versions the advisory names as fixes, parsed.
    candidates: Vec<Version>,
}

enum How {
    Ranges(Vec<CRange>),
    /// Parsed and sorted when first needed (PyPA lists run to hundreds of versions per
    /// record, and the record's ranges usually decide first), then binary-searched:
    /// computing a fix asks each list about many candidate versions.
    Versions {
        eco: Ecosystem,
        texts: Vec<String>,
        parsed: OnceLock<ParsedList>,
    },
    /// An unparsable requirement is `None` and never matches (so the version counts as
    /// affected: the conservative reading).
    Requirements {
        patched: Vec<Option<Requirement>>,
        unaffected: Vec<Option<Requirement>>,
    },
    /// An unparsable constraint is `None` and always matches (conservative again).
    Branches(Vec<Vec<Option<Requirement>>>),
    All,
}

/// A versions list, parsed: sorted versions, and the entries that do not parse (compared
/// as text).
struct ParsedList {
    sorted: Vec<Version>,
    unparsable: Vec<String>,
}

impl ParsedList {
    fn new(eco: Ecosystem, texts: &[String]) -> ParsedList {
        let mut sorted = Vec::with_capacity(texts.len());
        let mut unparsable = Vec::new();
        for t in texts {
            match Version::parse(eco, t) {
                Ok(v) => sorted.push(v),
                Err(_) => unparsable.push(t.clone()),
            }
        }
        sorted.sort();
        ParsedList { sorted, unparsable }
    }
}

enum Kind {
    Introduced,
    Fixed,
    LastAffected,
}

struct CRange {
    /// Sorted by version; `None` is `introduced: "0"` (or an unparsable introduced
    /// version, read as "from the start").
    events: Vec<(Option<Version>, Kind)>,
    limits: Vec<Version>,
}

fn compile(eco: Ecosystem, name: &str, advisory: Advisory, rowid: Option<i64>) -> Compiled {
    let parse = |s: &str| Version::parse(eco, s).ok();
    let req = |s: &str| Requirement::parse(eco, s).ok();
    let mut entries = Vec::new();
    let mut candidates = Vec::new();
    for entry in entries_for(&advisory, eco, name) {
        let how = match &entry.how {
            AffectedVersions::Ranges { ranges } => How::Ranges(
                ranges
                    .iter()
                    .map(|r| {
                        let mut events = Vec::new();
                        let mut limits = Vec::new();
                        for e in &r.events {
                            match e {
                                Event::Introduced(v) => {
                                    let v = if v == "0" { None } else { parse(v) };
                                    events.push((v, Kind::Introduced));
                                }
                                Event::Fixed(v) => {
                                    if let Some(v) = parse(v) {
                                        candidates.push(v.clone());
                                        events.push((Some(v), Kind::Fixed));
                                    }
                                }
                                Event::LastAffected(v) => {
                                    if let Some(v) = parse(v) {
                                        events.push((Some(v), Kind::LastAffected));
                                    }
                                }
                                Event::Limit(v) => {
                                    if let Some(v) = parse(v).filter(|_| v != "*") {
                                        limits.push(v);
                                    }
                                }
                            }
                        }
                        // Stable sort: `None` (from the start) first; ties keep source order.
                        events.sort_by(|a, b| a.0.cmp(&b.0));
                        CRange { events, limits }
                    })
                    .collect(),
            ),
            AffectedVersions::Versions { versions } => How::Versions {
                eco,
                texts: versions.clone(),
                parsed: OnceLock::new(),
            },
            AffectedVersions::Requirements {
                patched,
                unaffected,
            } => {
                for p in patched {
                    candidates.extend(versions_in_requirement(p).filter_map(&parse));
                }
                How::Requirements {
                    patched: patched.iter().map(|s| req(s)).collect(),
                    unaffected: unaffected.iter().map(|s| req(s)).collect(),
                }
            }
            AffectedVersions::Branches { branches } => {
                for c in branches.iter().flatten() {
                    let c = c.trim();
                    if let Some(v) = c.strip_prefix('<').filter(|v| !v.starts_with('=')) {
                        candidates.extend(parse(v.trim()));
                    }
                }
                How::Branches(
                    branches
                        .iter()
                        .map(|b| b.iter().map(|c| req(c)).collect())
                        .collect(),
                )
            }
            AffectedVersions::All => How::All,
        };
        entries.push(how);
    }
    Compiled {
        rowid,
        advisory,
        entries,
        candidates,
    }
}

/// The version numbers written in a requirement (`~> 1.1.3, >= 1.1.3.2` gives `1.1.3` and
/// `1.1.3.2`): the versions a patched requirement names as fixes.
fn versions_in_requirement(req: &str) -> impl Iterator<Item = &str> {
    req.split([',', '|', ' '])
        .map(|t| t.trim_start_matches(['>', '<', '=', '~', '^', '!']).trim())
        .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()) || t.starts_with('v'))
}

impl CRange {
    fn affects(&self, v: &Version) -> bool {
        let mut affected = false;
        for (at, kind) in &self.events {
            match (kind, at) {
                (Kind::Introduced, None) => affected = true,
                (Kind::Introduced, Some(at)) if v >= at => affected = true,
                (Kind::Fixed, Some(at)) if v >= at => affected = false,
                (Kind::LastAffected, Some(at)) if v > at => affected = false,
                _ => {}
            }
        }
        affected && (self.limits.is_empty() || self.limits.iter().any(|l| v < l))
    }

    /// Whether the range is "every version" (introduced 0 and nothing else).
    fn is_everything(&self) -> bool {
        self.limits.is_empty()
            && self
                .events
                .iter()
                .any(|(at, k)| at.is_none() && matches!(k, Kind::Introduced))
            && self
                .events
                .iter()
                .all(|(_, k)| matches!(k, Kind::Introduced))
    }
}

impl How {
    fn affects(&self, v: &Version) -> bool {
        match self {
            How::Ranges(ranges) => ranges.iter().any(|r| r.affects(v)),
            How::Versions { eco, texts, parsed } => {
                let list = parsed.get_or_init(|| ParsedList::new(*eco, texts));
                list.sorted.binary_search(v).is_ok()
                    || list.unparsable.iter().any(|t| t == v.as_str())
            }
            How::Requirements {
                patched,
                unaffected,
            } => !patched
                .iter()
                .chain(unaffected)
                .any(|r| r.as_ref().is_some_and(|r| r.contains(v))),
            How::Branches(branches) => branches
                .iter()
                .any(|b| b.iter().all(|c| c.as_ref().is_none_or(|c| c.contains(v)))),
            How::All => true,
        }
    }

    /// For a version that does not parse: only what needs no ordering can match.
    fn affects_unparsed(&self, text: &str) -> bool {
        match self {
            How::Versions { texts, .. } => texts.iter().any(|t| t == text),
            How::Requirements {
                patched,
                unaffected,
            } => patched.is_empty() && unaffected.is_empty(),
            How::Ranges(ranges) => ranges.iter().any(CRange::is_everything),
            How::All => true,
            How::Branches(_) => false,
        }
    }
}

impl Compiled {
    /// Withdrawn advisories, and ones with no entry for the package, never match.
    fn usable(&self) -> bool {
        self.advisory.withdrawn.is_none() && !self.entries.is_empty()
    }

    fn affects(&self, v: &Version) -> bool {
        self.entries.iter().any(|e| e.affects(v))
    }
}

/// The advisories that affect one installed version.
struct Matched<'a> {
    installed: Option<Version>,
    advisories: Vec<&'a Compiled>,
}

fn find_matches<'a>(
    eco: Ecosystem,
    version: &str,
    platforms: &[String],
    compiled: &'a [Compiled],
) -> Matched<'a> {
    let version = version.trim();
    let installed = Version::parse(eco, version).ok();
    let (mut advisories, other_platform): (Vec<&Compiled>, Vec<&Compiled>) = compiled
        .iter()
        .filter(|c| match &installed {
            Some(v) => c.affects(v),
            None => c.entries.iter().any(|e| e.affects_unparsed(version)),
        })
        .partition(|c| platform_applies(c.advisory.platform.as_deref(), platforms));
    // The same problem from a source that does not name the platform (GHSA's copy of a
    // RubySec JRuby-only advisory) is left out too: one source knowing better is enough.
    if !other_platform.is_empty() {
        let other_ids: std::collections::HashSet<&str> = other_platform
            .iter()
            .flat_map(|c| std::iter::once(&c.advisory.id).chain(&c.advisory.aliases))
            .map(String::as_str)
            .collect();
        advisories.retain(|c| {
            !std::iter::once(&c.advisory.id)
                .chain(&c.advisory.aliases)
                .any(|id| other_ids.contains(id.as_str()))
        });
    }
    Matched {
        installed,
        advisories,
    }
}

fn build(m: Matched<'_>, extras: &HashMap<i64, Extra>) -> PackageMatch {
    let Matched {
        installed,
        advisories: matched,
    } = m;
    if matched.is_empty() {
        return PackageMatch {
            unparsable_version: installed.is_none(),
            ..PackageMatch::default()
        };
    }
    // Advisories read from the store get their long text back for the report.
    let full: Vec<std::borrow::Cow<'_, Advisory>> = matched
        .iter()
        .map(|c| match c.rowid.and_then(|r| extras.get(&r)) {
            Some(extra) => {
                // Merging reads no affected entries: leave them out of the copy.
                let a = &c.advisory;
                std::borrow::Cow::Owned(Advisory {
                    id: a.id.clone(),
                    aliases: a.aliases.clone(),
                    summary: a.summary.clone(),
                    details: extra.details.clone(),
                    published: a.published.clone(),
                    modified: a.modified.clone(),
                    withdrawn: a.withdrawn.clone(),
                    severity: a.severity,
                    cvss: a.cvss.clone(),
                    url: a.url.clone(),
                    references: extra.references.clone(),
                    source: a.source.clone(),
                    informational: a.informational,
                    platform: a.platform.clone(),
                    affected: Vec::new(),
                })
            }
            None => std::borrow::Cow::Borrowed(&c.advisory),
        })
        .collect();
    let advisories: Vec<&Advisory> = full.iter().map(|a| a.as_ref()).collect();
    let mut vulnerabilities = Vec::new();
    for group in group_advisories(&advisories) {
        let members: Vec<&Compiled> = group
            .iter()
            .filter_map(|&i| matched.get(i).copied())
            .collect();
        let refs: Vec<&Advisory> = group
            .iter()
            .filter_map(|&i| advisories.get(i).copied())
            .collect();
        let m = merge(&refs);
        let fixed_in = installed
            .as_ref()
            .and_then(|v| smallest_fix(v, &members))
            .map(|v| v.as_str().to_owned());
        vulnerabilities.push(Vulnerability {
            ids: m.ids,
            summary: m.summary,
            details: m.details,
            severity: m.severity,
            cvss: m.cvss,
            url: m.url,
            informational: m.informational,
            fixed_in,
            sources: m.sources,
            published: m.published,
        });
    }
    // Most severe first, then by id, so output is stable.
    vulnerabilities.sort_by(|a, b| {
        b.severity_or_default()
            .cmp(&a.severity_or_default())
            .then_with(|| a.id().cmp(b.id()))
    });
    let fix = installed.as_ref().and_then(|v| {
        let relevant: Vec<&Compiled> = matched
            .iter()
            .copied()
            .filter(|c| c.advisory.informational.is_none() || !c.candidates.is_empty())
            .collect();
        if relevant.is_empty() {
            None
        } else {
            smallest_fix(v, &relevant)
        }
    });
    PackageMatch {
        vulnerabilities,
        fix: fix.map(|v| v.as_str().to_owned()),
        unparsable_version: installed.is_none(),
    }
}

/// The smallest candidate above `installed` that none of `advisories` affects. Stable
/// releases are preferred when the installed version is stable: a pre-release is offered
/// only when no stable release fixes everything.
fn smallest_fix<'a>(installed: &Version, advisories: &[&'a Compiled]) -> Option<&'a Version> {
    let mut candidates: Vec<&Version> = advisories
        .iter()
        .flat_map(|c| c.candidates.iter())
        .filter(|v| *v > installed)
        .collect();
    candidates.sort();
    candidates.dedup_by(|a, b| a == b);
    let fixes = |v: &Version| !advisories.iter().any(|c| c.affects(v));
    if !installed.is_prerelease()
        && let Some(v) = candidates.iter().find(|v| !v.is_prerelease() && fixes(v))
    {
        return Some(v);
    }
    candidates.into_iter().find(|v| fixes(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Range;

    fn adv(id: &str, eco: Ecosystem, pkg: &str, how: Vec<AffectedVersions>) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: vec![],
            summary: Some(format!("summary of {id}")),
            details: None,
            published: None,
            modified: None,
            withdrawn: None,
            severity: None,
            cvss: None,
            url: None,
            references: vec![],
            source: "test".into(),
            informational: None,
            platform: None,
            affected: how
                .into_iter()
                .map(|how| Affected {
                    ecosystem: eco,
                    package: pkg.into(),
                    how,
                })
                .collect(),
        }
    }

    fn ranges(events: &[&[(&str, &str)]]) -> AffectedVersions {
        AffectedVersions::Ranges {
            ranges: events
                .iter()
                .map(|evs| Range {
                    semver: false,
                    events: evs
                        .iter()
                        .map(|(k, v)| match *k {
                            "introduced" => Event::Introduced((*v).into()),
                            "fixed" => Event::Fixed((*v).into()),
                            "last_affected" => Event::LastAffected((*v).into()),
                            _ => Event::Limit((*v).into()),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn hits(a: &Advisory, eco: Ecosystem, v: &str) -> bool {
        !match_advisories(eco, &a.affected[0].package, v, vec![a.clone()])
            .vulnerabilities
            .is_empty()
    }

    #[test]
    fn several_introduced_fixed_pairs() {
        let a = adv(
            "A",
            Ecosystem::PyPI,
            "x",
            vec![ranges(&[&[
                ("introduced", "1.0"),
                ("fixed", "1.2"),
                ("introduced", "2.0"),
                ("fixed", "2.3.1"),
            ]])],
        );
        for (v, want) in [
            ("0.9", false),
            ("1.0", true),
            ("1.1.9", true),
            ("1.2", false),
            ("1.9", false),
            ("2.0", true),
            ("2.3.0", true),
            ("2.3.1", false),
            ("3.0", false),
        ] {
            assert_eq!(hits(&a, Ecosystem::PyPI, v), want, "{v}");
        }
        let m = match_advisories(Ecosystem::PyPI, "x", "1.1", vec![a.clone()]);
        assert_eq!(m.fix.as_deref(), Some("1.2"));
        let m = match_advisories(Ecosystem::PyPI, "x", "2.1", vec![a]);
        assert_eq!(m.fix.as_deref(), Some("2.3.1"));
    }

    #[test]
    fn events_out_of_order_are_sorted() {
        let a = adv(
            "A",
            Ecosystem::Npm,
            "x",
            vec![ranges(&[&[("fixed", "2.0.0"), ("introduced", "0")]])],
        );
        assert!(hits(&a, Ecosystem::Npm, "1.5.0"));
        assert!(!hits(&a, Ecosystem::Npm, "2.0.0"));
    }

    #[test]
    fn last_affected_and_limit() {
        let a = adv(
            "A",
            Ecosystem::CratesIo,
            "x",
            vec![ranges(&[&[
                ("introduced", "0"),
                ("last_affected", "1.4.0"),
            ]])],
        );
        assert!(hits(&a, Ecosystem::CratesIo, "1.4.0"));
        assert!(!hits(&a, Ecosystem::CratesIo, "1.4.1"));
        let m = match_advisories(Ecosystem::CratesIo, "x", "1.0.0", vec![a]);
        assert_eq!(m.fix, None, "last_affected names no fix");

        let b = adv(
            "B",
            Ecosystem::Go,
            "example.com/m",
            vec![ranges(&[&[("introduced", "1.0.0"), ("limit", "1.5.0")]])],
        );
        assert!(hits(&b, Ecosystem::Go, "1.2.0"));
        assert!(!hits(&b, Ecosystem::Go, "1.5.0"));
        assert!(!hits(&b, Ecosystem::Go, "0.9.0"));
        let c = adv(
            "C",
            Ecosystem::Go,
            "m",
            vec![ranges(&[&[("introduced", "0"), ("limit", "*")]])],
        );
        assert!(hits(&c, Ecosystem::Go, "99.0.0"));
    }

    #[test]
    fn explicit_versions_list() {
        let a = adv(
            "A",
            Ecosystem::PyPI,
            "x",
            vec![AffectedVersions::Versions {
                versions: vec!["1.0".into(), "1.1".into()],
            }],
        );
        assert!(hits(&a, Ecosystem::PyPI, "1.1"));
        assert!(hits(&a, Ecosystem::PyPI, "1.1.0"), "PEP 440 equality");
        assert!(!hits(&a, Ecosystem::PyPI, "1.2"));
    }

    #[test]
    fn rubysec_requirements() {
        let a = adv(
            "A",
            Ecosystem::RubyGems,
            "rack",
            vec![AffectedVersions::Requirements {
                patched: vec!["~> 1.1.3".into(), ">= 1.4.0".into()],
                unaffected: vec!["< 1.0".into()],
            }],
        );
        assert!(!hits(&a, Ecosystem::RubyGems, "0.9"), "unaffected");
        assert!(hits(&a, Ecosystem::RubyGems, "1.1.2"));
        assert!(!hits(&a, Ecosystem::RubyGems, "1.1.5"), "patched");
        assert!(hits(&a, Ecosystem::RubyGems, "1.3.0"));
        let m = match_advisories(Ecosystem::RubyGems, "rack", "1.1.2", vec![a.clone()]);
        assert_eq!(m.fix.as_deref(), Some("1.1.3"));
        let m = match_advisories(Ecosystem::RubyGems, "rack", "1.3.0", vec![a]);
        assert_eq!(m.fix.as_deref(), Some("1.4.0"));
    }

    /// RUSTSEC-2019-0019: cargo-audit clears pre-releases of later series (uv's Cargo.lock).
    #[test]
    fn rustsec_patched_covers_later_prereleases() {
        let a = adv(
            "RUSTSEC-2019-0019",
            Ecosystem::CratesIo,
            "blake2",
            vec![AffectedVersions::Requirements {
                patched: vec![">= 0.8.1".into()],
                unaffected: vec![],
            }],
        );
        assert!(!hits(&a, Ecosystem::CratesIo, "0.11.0-rc.6"));
        assert!(!hits(&a, Ecosystem::CratesIo, "0.10.0-pre.1"));
        assert!(hits(&a, Ecosystem::CratesIo, "0.8.0"));
        assert!(hits(&a, Ecosystem::CratesIo, "0.8.1-rc.1"));
    }

    #[test]
    fn friendsofphp_branches() {
        let a = adv(
            "A",
            Ecosystem::Packagist,
            "drupal/core",
            vec![AffectedVersions::Branches {
                branches: vec![
                    vec![">=8.5.0".into(), "<8.5.8".into()],
                    vec![">=8.6.0".into(), "<8.6.2".into()],
                ],
            }],
        );
        assert!(hits(&a, Ecosystem::Packagist, "8.5.7"));
        assert!(!hits(&a, Ecosystem::Packagist, "8.5.8"));
        assert!(hits(&a, Ecosystem::Packagist, "8.6.1"));
        assert!(!hits(&a, Ecosystem::Packagist, "8.7.0"));
        let m = match_advisories(Ecosystem::Packagist, "Drupal/Core", "8.5.1", vec![a]);
        assert_eq!(m.fix.as_deref(), Some("8.5.8"));
    }

    /// RubySec's JRuby-only nokogiri advisories, against lockfiles for MRI and for JRuby.
    #[test]
    fn platform_limited_advisories() {
        let mut jruby = adv(
            "CVE-2022-24839",
            Ecosystem::RubyGems,
            "nokogiri",
            vec![AffectedVersions::Requirements {
                patched: vec![">= 1.13.4".into()],
                unaffected: vec![],
            }],
        );
        jruby.platform = Some("jruby".into());
        let mut ghsa = jruby.clone();
        ghsa.id = "GHSA-gx8x-g87m-h5q6".into();
        ghsa.aliases = vec!["CVE-2022-24839".into()];
        ghsa.platform = None;
        let mri = adv(
            "CVE-2022-29181",
            Ecosystem::RubyGems,
            "nokogiri",
            vec![AffectedVersions::Requirements {
                patched: vec![">= 1.13.6".into()],
                unaffected: vec![],
            }],
        );
        let store_free = |platforms: &[String]| {
            let compiled: Vec<Compiled> = [jruby.clone(), ghsa.clone(), mri.clone()]
                .into_iter()
                .map(|a| compile(Ecosystem::RubyGems, "nokogiri", a, None))
                .collect();
            let m = build(
                find_matches(Ecosystem::RubyGems, "1.11.4", platforms, &compiled),
                &HashMap::new(),
            );
            m.vulnerabilities
                .iter()
                .map(|v| v.id().to_owned())
                .collect::<Vec<_>>()
        };
        let mri_lock = ["ruby".to_owned(), "x86_64-linux".to_owned()];
        assert_eq!(store_free(&mri_lock), ["CVE-2022-29181"]);
        assert_eq!(store_free(&["universal-java-17".to_owned()]).len(), 2);
        assert_eq!(
            store_free(&[]).len(),
            2,
            "unknown platforms match everything"
        );
        assert!(platform_applies(Some("jruby"), &["java".to_owned()]));
        assert!(!platform_applies(
            Some("jruby"),
            &["x64-mingw-ucrt".to_owned()]
        ));
    }

    #[test]
    fn withdrawn_never_matches() {
        let mut a = adv("A", Ecosystem::Npm, "x", vec![AffectedVersions::All]);
        assert!(hits(&a, Ecosystem::Npm, "1.0.0"));
        a.withdrawn = Some("2024-01-01".into());
        assert!(!hits(&a, Ecosystem::Npm, "1.0.0"));
    }

    #[test]
    fn fix_covers_every_advisory_and_merges_aliases() {
        let mut a = adv(
            "GHSA-1",
            Ecosystem::Npm,
            "x",
            vec![ranges(&[&[("introduced", "0"), ("fixed", "1.2.0")]])],
        );
        a.aliases = vec!["CVE-1".into()];
        a.severity = Some(Severity::Low);
        let mut b = adv(
            "CVE-1",
            Ecosystem::Npm,
            "x",
            vec![ranges(&[&[("introduced", "0"), ("fixed", "1.3.0")]])],
        );
        b.severity = Some(Severity::High);
        let c = adv(
            "GHSA-2",
            Ecosystem::Npm,
            "x",
            vec![ranges(&[&[("introduced", "1.0.0"), ("fixed", "1.2.5")]])],
        );
        let m = match_advisories(Ecosystem::Npm, "x", "1.1.0", vec![a, b, c]);
        assert_eq!(m.vulnerabilities.len(), 2);
        let merged = &m.vulnerabilities[0];
        assert_eq!(merged.ids, vec!["GHSA-1", "CVE-1"]);
        assert_eq!(merged.severity, Some(Severity::High));
        assert_eq!(merged.fixed_in.as_deref(), Some("1.3.0"));
        assert_eq!(m.vulnerabilities[1].fixed_in.as_deref(), Some("1.2.5"));
        assert_eq!(m.fix.as_deref(), Some("1.3.0"));
    }

    #[test]
    fn stable_fix_preferred_over_prerelease() {
        let a = adv(
            "A",
            Ecosystem::Npm,
            "x",
            vec![ranges(&[
                &[("introduced", "0"), ("fixed", "2.0.0-beta.1")],
                &[("introduced", "2.0.0-beta.2"), ("fixed", "2.0.0")],
            ])],
        );
        let b = adv(
            "B",
            Ecosystem::Npm,
            "x",
            vec![ranges(&[&[("introduced", "0"), ("fixed", "1.9.0")]])],
        );
        let m = match_advisories(Ecosystem::Npm, "x", "1.0.0", vec![a, b]);
        assert_eq!(m.fix.as_deref(), Some("2.0.0"));
    }

    #[test]
    fn unparsable_installed_version_is_conservative() {
        let ranged = adv(
            "R",
            Ecosystem::Npm,
            "x",
            vec![ranges(&[&[("introduced", "0"), ("fixed", "2.0.0")]])],
        );
        let listed = adv(
            "L",
            Ecosystem::Npm,
            "x",
            vec![AffectedVersions::Versions {
                versions: vec!["not a version".into()],
            }],
        );
        let m = match_advisories(Ecosystem::Npm, "x", "not a version", vec![ranged, listed]);
        assert!(m.unparsable_version);
        assert_eq!(m.vulnerabilities.len(), 1);
        assert_eq!(m.vulnerabilities[0].ids, vec!["L"]);
        assert_eq!(m.fix, None);
    }

    #[test]
    fn unmaintained_does_not_hide_the_fix() {
        let mut u = adv(
            "RUSTSEC-U",
            Ecosystem::CratesIo,
            "x",
            vec![AffectedVersions::Requirements {
                patched: vec![],
                unaffected: vec![],
            }],
        );
        u.informational = Some(Informational::Unmaintained);
        let v = adv(
            "RUSTSEC-V",
            Ecosystem::CratesIo,
            "x",
            vec![AffectedVersions::Requirements {
                patched: vec![">= 0.9.1".into()],
                unaffected: vec![],
            }],
        );
        let m = match_advisories(Ecosystem::CratesIo, "x", "0.9.0", vec![u, v]);
        assert_eq!(m.vulnerabilities.len(), 2);
        assert_eq!(m.fix.as_deref(), Some("0.9.1"));
        let unmaintained = m
            .vulnerabilities
            .iter()
            .find(|v| v.informational.is_some())
            .unwrap();
        assert_eq!(unmaintained.fixed_in, None);
        assert_eq!(unmaintained.severity_or_default(), Severity::Low);
    }

    #[test]
    fn other_packages_entries_are_ignored() {
        let mut a = adv("A", Ecosystem::Npm, "x", vec![AffectedVersions::All]);
        a.affected.push(Affected {
            ecosystem: Ecosystem::Npm,
            package: "y".into(),
            how: AffectedVersions::Versions {
                versions: vec!["9.9.9".into()],
            },
        });
        let m = match_advisories(Ecosystem::Npm, "y", "1.0.0", vec![a.clone()]);
        assert!(m.vulnerabilities.is_empty());
        let m = match_advisories(Ecosystem::PyPI, "x", "1.0.0", vec![a]);
        assert!(m.vulnerabilities.is_empty());
    }
}
