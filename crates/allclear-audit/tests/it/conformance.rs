//! The seven published policies in `shared/conformance/sca/` load: every check either loads
//! or fails to load with a reason, and the reasons are the ones docs/ACCURACY.md lists.

use std::collections::BTreeMap;

use allclear_audit::{LoadError, load_policy};

use crate::shared;

const POLICIES: [&str; 7] = [
    "cis_apache_24.yml",
    "cis_debian12.yml",
    "cis_debian13.yml",
    "cis_nginx_1.yml",
    "cis_ubuntu24-04.yml",
    "sca_distro_independent_linux.yml",
    "web_vulnerabilities.yml",
];

/// The kind of reason a check did not load, as docs/ACCURACY.md groups them.
fn reason_kind(err: &LoadError) -> String {
    let text = err.to_string();
    for (needle, kind) in [
        (
            "a `[...]` character class",
            "os_regex-ambiguous: [...] class",
        ),
        (
            "`.` followed by a repetition",
            "os_regex-ambiguous: . repeated",
        ),
        ("uses `?`", "os_regex-ambiguous: ?"),
        ("`{n}` repetition", "os_regex-ambiguous: {n}"),
        ("`|` inside parentheses", "os_regex-ambiguous: | in ( )"),
        ("`$` before the end", "os_regex-ambiguous: $ inside"),
        ("needs a shell", "command needs a shell"),
        ("more than one ` -> `", "command with two ->"),
        ("&& &&", "empty test (&& &&)"),
        (
            "an escape OS_Regex does not document",
            "os_regex-ambiguous: undocumented escape",
        ),
        (
            "follows nothing it can repeat",
            "invalid os_regex repetition",
        ),
        ("an unclosed `(`", "invalid regex: unclosed ("),
        ("an unopened `)`", "invalid regex: unopened )"),
    ] {
        if text.contains(needle) {
            return kind.to_owned();
        }
    }
    format!("other: {text}")
}

#[test]
fn every_published_check_loads_or_says_why() {
    let Some(dir) = shared("conformance/sca") else {
        return;
    };
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    let mut loaded = 0;
    let mut checks = 0;
    let mut per_policy = Vec::new();
    for name in POLICIES {
        let before = (loaded, checks);
        let path = dir.join(name);
        let text = fs_err::read_to_string(&path).unwrap();
        let policy = load_policy(&text, name).unwrap_or_else(|err| panic!("{err}"));
        assert!(!policy.checks.is_empty(), "{name}");
        if let Some(requirements) = &policy.requirements {
            assert!(
                requirements.rules.is_ok(),
                "{name}: {:?}",
                requirements.rules
            );
        }
        for check in &policy.checks {
            checks += 1;
            assert!(
                !check.id.is_empty() && !check.title.is_empty(),
                "{name}: {check:?}"
            );
            match &check.rules {
                Ok(rules) => {
                    loaded += 1;
                    assert!(!rules.is_empty());
                }
                Err(err) => {
                    let kind = reason_kind(err);
                    assert!(
                        !kind.starts_with("other"),
                        "{name} check {}: {kind}",
                        check.id
                    );
                    *totals.entry(kind).or_default() += 1;
                }
            }
        }
        per_policy.push((name, loaded - before.0, checks - before.1));
    }
    eprintln!("{loaded} of {checks} checks loaded; not loaded: {totals:#?}");
    // The numbers in docs/ACCURACY.md ("Wazuh SCA policies"): a change here is a change there.
    assert_eq!(
        per_policy,
        [
            ("cis_apache_24.yml", 27, 30),
            ("cis_debian12.yml", 159, 207),
            ("cis_debian13.yml", 159, 207),
            ("cis_nginx_1.yml", 20, 48),
            ("cis_ubuntu24-04.yml", 204, 279),
            ("sca_distro_independent_linux.yml", 154, 190),
            ("web_vulnerabilities.yml", 15, 16),
        ]
    );
    let expected: BTreeMap<String, usize> = [
        ("empty test (&& &&)", 1),
        ("invalid regex: unclosed (", 1),
        ("os_regex-ambiguous: . repeated", 171),
        ("os_regex-ambiguous: [...] class", 54),
        ("os_regex-ambiguous: undocumented escape", 12),
    ]
    .into_iter()
    .map(|(kind, count)| (kind.to_owned(), count))
    .collect();
    assert_eq!(totals, expected);
    assert_eq!((loaded, checks), (738, 977));
}
