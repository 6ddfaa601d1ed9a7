//! Release trains: packages released together (the Rails gems, Drupal core, Symfony's
//! components) must be upgraded to one version, or the package manager cannot resolve the
//! upgrade at all (`actionpack 7.2` needs `activesupport 7.2`).
//!
//! A family is the packages of one known train that one lockfile locks at one exact
//! version. Its upgrade target is the lowest release that fixes every advisory of every
//! vulnerable member: it starts at the highest of the members' own all-advisory fixes and is
//! checked against the store (a member may still be affected at that version on another
//! branch), rising to the next fix until every member is clean. See
//! `docs/decisions/0005-dependency-coverage-and-release-trains.md`.

use std::collections::BTreeMap;

use allclear_advisories::{Store, check_package};
use allclear_core::{Ecosystem, Finding};
use allclear_versions::compare;

use crate::audit::AuditError;

/// The Rails gems: one version for all of them (`rails` depends on each `= X`).
const RAILS: &[&str] = &[
    "actioncable",
    "actionmailbox",
    "actionmailer",
    "actionpack",
    "actiontext",
    "actionview",
    "activejob",
    "activemodel",
    "activerecord",
    "activestorage",
    "activesupport",
    "rails",
    "railties",
];

/// How many times a family's target may rise while it is checked; each rise moves to a
/// higher fix version, and real families settle in one or two.
const MAX_RAISES: usize = 8;

/// The release train a package belongs to, if any.
pub fn release_train(ecosystem: Ecosystem, name: &str) -> Option<&'static str> {
    match ecosystem {
        Ecosystem::RubyGems if RAILS.contains(&name) => Some("rails"),
        Ecosystem::Packagist => {
            let name = name.to_ascii_lowercase();
            if name == "drupal/core" || name.starts_with("drupal/core-") {
                Some("drupal/core")
            } else if name.starts_with("symfony/polyfill-") {
                Some("symfony/polyfill")
            } else if name.starts_with("symfony/") {
                Some("symfony")
            } else if name.starts_with("illuminate/") || name == "laravel/framework" {
                Some("laravel")
            } else {
                None
            }
        }
        Ecosystem::Npm if name.starts_with("@angular/") => Some("@angular"),
        _ => None,
    }
}

fn higher(ecosystem: Ecosystem, a: &str, b: &str) -> bool {
    compare(ecosystem, a, b).is_ok_and(|o| o.is_gt())
}

/// Gives every finding of a family the family's target (`upgrade_to`) and train
/// (`release_train`) details.
pub(crate) fn release_trains(findings: &mut [Finding], store: &Store) -> Result<(), AuditError> {
    // (path, train, installed version) → indexes of the family's findings.
    let mut families: BTreeMap<(String, &'static str, String), Vec<usize>> = BTreeMap::new();
    for (index, finding) in findings.iter().enumerate() {
        let Some(package) = &finding.package else {
            continue;
        };
        if let Some(train) = release_train(package.ecosystem, &package.name) {
            families
                .entry((
                    finding.location.path.clone(),
                    train,
                    package.version.clone(),
                ))
                .or_default()
                .push(index);
        }
    }
    for ((_, train, installed), members) in families {
        let Some(ecosystem) = members
            .first()
            .and_then(|&i| findings.get(i))
            .and_then(|f| f.package.as_ref())
            .map(|p| p.ecosystem)
        else {
            continue;
        };
        // The highest of the members' own targets; a member with no known fix leaves the
        // family without a consistent target.
        let mut start: Option<&str> = None;
        let mut every_member_fixable = true;
        for &i in &members {
            let own = findings
                .get(i)
                .and_then(|f| f.details.get("upgrade_to"))
                .and_then(|v| v.as_str());
            match own {
                Some(own) if start.is_none_or(|s| higher(ecosystem, own, s)) => start = Some(own),
                Some(_) => {}
                None => every_member_fixable = false,
            }
        }
        let (true, Some(start)) = (every_member_fixable, start.map(str::to_owned)) else {
            continue;
        };
        let mut names: Vec<String> = members
            .iter()
            .filter_map(|&i| findings.get(i)?.package.as_ref().map(|p| p.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        let Some(settled) = settle(store, ecosystem, &names, &installed, start)? else {
            continue;
        };
        for &i in &members {
            if let Some(finding) = findings.get_mut(i) {
                finding
                    .details
                    .insert("upgrade_to".to_owned(), settled.clone().into());
                finding
                    .details
                    .insert("release_train".to_owned(), train.into());
            }
        }
    }
    Ok(())
}

/// Raises `target` until no member has a vulnerability left there (informational notices
/// aside); `None` when that takes more than [`MAX_RAISES`] steps or a member has no fix.
fn settle(
    store: &Store,
    ecosystem: Ecosystem,
    names: &[String],
    installed: &str,
    mut target: String,
) -> Result<Option<String>, AuditError> {
    for _ in 0..MAX_RAISES {
        let mut next: Option<String> = None;
        for name in names {
            let found = check_package(store, ecosystem, name, &target)?;
            if found
                .vulnerabilities
                .iter()
                .all(|v| v.informational.is_some())
            {
                continue;
            }
            let Some(fix) = found.fix else {
                return Ok(None);
            };
            if next.as_deref().is_none_or(|n| higher(ecosystem, &fix, n)) {
                next = Some(fix);
            }
        }
        match next {
            None => return Ok(higher(ecosystem, &target, installed).then_some(target)),
            Some(fix) if higher(ecosystem, &fix, &target) => target = fix,
            Some(_) => return Ok(None),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trains() {
        assert_eq!(
            release_train(Ecosystem::RubyGems, "activestorage"),
            Some("rails")
        );
        assert_eq!(release_train(Ecosystem::RubyGems, "rack"), None);
        assert_eq!(
            release_train(Ecosystem::Packagist, "drupal/core-recommended"),
            Some("drupal/core")
        );
        assert_eq!(
            release_train(Ecosystem::Packagist, "drupal/core_views"),
            None
        );
        assert_eq!(
            release_train(Ecosystem::Packagist, "symfony/polyfill-intl-idn"),
            Some("symfony/polyfill")
        );
        assert_eq!(
            release_train(Ecosystem::Packagist, "symfony/mime"),
            Some("symfony")
        );
    }
}
