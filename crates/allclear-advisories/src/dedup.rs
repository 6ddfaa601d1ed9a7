//! One finding per vulnerability: advisories from several sources that share an id or an
//! alias (GHSA-x in PyPA aliasing CVE-y, RUSTSEC-z aliasing the same CVE-y) are merged.

use std::collections::HashMap;

use crate::model::{Advisory, CvssScore};

/// Groups advisories whose id/alias sets overlap, transitively (union-find). Ids compare
/// case-insensitively. Returns groups of indices into `advisories`, each sorted, groups in
/// order of their first member.
pub fn group_advisories(advisories: &[&Advisory]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..advisories.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        // Iterative with path halving: no recursion, whatever the input.
        while let Some(&p) = parent.get(i) {
            if p == i {
                break;
            }
            let gp = parent.get(p).copied().unwrap_or(p);
            if let Some(slot) = parent.get_mut(i) {
                *slot = gp;
            }
            i = gp;
        }
        i
    }
    let mut owner: HashMap<String, usize> = HashMap::new();
    for (i, a) in advisories.iter().enumerate() {
        for id in a.ids() {
            let key = id.trim().to_ascii_uppercase();
            if key.is_empty() {
                continue;
            }
            match owner.get(&key) {
                Some(&j) => {
                    let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                    if ri != rj {
                        // The smaller index becomes the root so group order is stable.
                        let (root, child) = (ri.min(rj), ri.max(rj));
                        if let Some(slot) = parent.get_mut(child) {
                            *slot = root;
                        }
                    }
                }
                None => {
                    owner.insert(key, i);
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root: HashMap<usize, usize> = HashMap::new();
    for i in 0..advisories.len() {
        let root = find(&mut parent, i);
        let g = *group_of_root.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        if let Some(group) = groups.get_mut(g) {
            group.push(i);
        }
    }
    groups
}

/// How much an id is preferred as the one to show first: the databases whose pages are
/// the most complete first, plain CVE after them, synthetic ids last.
pub fn id_rank(id: &str) -> u8 {
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("GHSA-") {
        0
    } else if upper.starts_with("RUSTSEC-") {
        1
    } else if upper.starts_with("PYSEC-") {
        2
    } else if upper.starts_with("CVE-") {
        3
    } else if upper.starts_with("FRIENDSOFPHP:") {
        9
    } else {
        5
    }
}

/// What merging a group yields (the parts that do not depend on the installed version).
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// Every id and alias, most preferred first (see [`id_rank`]), without duplicates.
    pub ids: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    /// The highest severity of the group.
    pub severity: Option<allclear_core::Severity>,
    /// The highest CVSS score of the group.
    pub cvss: Option<CvssScore>,
    pub url: Option<String>,
    /// Set only when every advisory of the group is informational.
    pub informational: Option<crate::model::Informational>,
    /// Importers the advisories came from, sorted.
    pub sources: Vec<String>,
    /// The earliest publication date given.
    pub published: Option<String>,
}

/// Merges a group of advisories about one problem: all ids, the best summary (from the
/// most preferred source, skipping titles that merely repeat an id), the highest
/// severity and CVSS score, the first URL of the most preferred advisory.
pub fn merge(group: &[&Advisory]) -> Merged {
    let mut ordered: Vec<&Advisory> = group.to_vec();
    ordered.sort_by(|a, b| id_rank(&a.id).cmp(&id_rank(&b.id)).then(a.id.cmp(&b.id)));

    let mut ids: Vec<String> = Vec::new();
    for a in &ordered {
        for id in a.ids() {
            if !ids.iter().any(|x| x.eq_ignore_ascii_case(id)) {
                ids.push(id.to_owned());
            }
        }
    }
    ids.sort_by(|a, b| id_rank(a).cmp(&id_rank(b)).then(a.cmp(b)));

    let summaries: Vec<&str> = ordered
        .iter()
        .filter_map(|a| a.summary.as_deref())
        .collect();
    let summary = summaries
        .iter()
        .find(|s| !starts_with_id(s))
        .or(summaries.first())
        .map(|s| (*s).to_owned());
    let details = ordered.iter().find_map(|a| a.details.clone());
    let severity = ordered.iter().filter_map(|a| a.severity).max();
    let cvss = ordered
        .iter()
        .filter_map(|a| a.cvss.clone())
        .max_by(|a, b| a.score.total_cmp(&b.score));
    let url = ordered.iter().find_map(|a| a.url.clone());
    let informational = if ordered.iter().all(|a| a.informational.is_some()) {
        ordered.iter().filter_map(|a| a.informational).max()
    } else {
        None
    };
    let mut sources: Vec<String> = ordered.iter().map(|a| a.source.clone()).collect();
    sources.sort();
    sources.dedup();
    let published = ordered.iter().filter_map(|a| a.published.clone()).min();
    Merged {
        ids,
        summary,
        details,
        severity,
        cvss,
        url,
        informational,
        sources,
        published,
    }
}

/// `CVE-2011-5036 rubygem-rack: …`: a title that starts with an advisory id.
fn starts_with_id(s: &str) -> bool {
    let first = s.split_whitespace().next().unwrap_or("");
    id_rank(first) < 5 && first.contains('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use allclear_core::Severity;

    fn adv(id: &str, aliases: &[&str], source: &str) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: aliases.iter().map(|s| (*s).into()).collect(),
            summary: None,
            details: None,
            published: None,
            modified: None,
            withdrawn: None,
            severity: None,
            cvss: None,
            url: None,
            references: vec![],
            source: source.into(),
            informational: None,
            platform: None,
            affected: vec![],
        }
    }

    #[test]
    fn groups_transitively() {
        let a = adv("GHSA-1", &["CVE-1"], "osv");
        let b = adv("RUSTSEC-1", &["cve-1"], "rustsec");
        let c = adv("X-2", &[], "osv");
        let d = adv("PYSEC-1", &["RUSTSEC-1", "CVE-3"], "osv");
        let e = adv("CVE-3", &[], "rubysec");
        let groups = group_advisories(&[&a, &b, &c, &d, &e]);
        assert_eq!(groups, vec![vec![0, 1, 3, 4], vec![2]]);
    }

    #[test]
    fn merge_takes_the_best_of_each() {
        let mut a = adv("CVE-1", &["OSVDB-9"], "rubysec");
        a.summary = Some("CVE-1 rubygem-rack: thing".into());
        a.severity = Some(Severity::Medium);
        a.cvss = Some(CvssScore {
            score: 5.0,
            vector: None,
        });
        a.url = Some("https://nvd".into());
        let mut b = adv("GHSA-1", &["CVE-1"], "osv");
        b.summary = Some("Shell escape in rack".into());
        b.severity = Some(Severity::High);
        b.url = Some("https://github.com/advisories/GHSA-1".into());
        b.cvss = Some(CvssScore {
            score: 7.5,
            vector: Some("v".into()),
        });
        let m = merge(&[&a, &b]);
        assert_eq!(m.ids, vec!["GHSA-1", "CVE-1", "OSVDB-9"]);
        assert_eq!(m.summary.as_deref(), Some("Shell escape in rack"));
        assert_eq!(m.severity, Some(Severity::High));
        assert_eq!(m.cvss.unwrap().score, 7.5);
        assert_eq!(
            m.url.as_deref(),
            Some("https://github.com/advisories/GHSA-1")
        );
        assert_eq!(m.sources, vec!["osv", "rubysec"]);
    }
}
