//! Agreement with another scanner (trivy) on its own fixtures: for every package its golden
//! report lists, we must find the same name and version, at the same line where it gives
//! one, with the same direct/dev flags where our lockfile alone can tell. Packages we list
//! and it does not must be explained below, one by one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use allclear_lockfiles::{Lockfile, Package, detect, parse};
use serde_json::Value;

fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("ALLCLEAR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.join("conformance/trivy").is_dir().then_some(dir)
}

/// A package the golden report does not list, and why that is expected.
struct Extra {
    name: &'static str,
    why: &'static str,
}

struct Case {
    ecosystem: &'static str,
    /// Lockfiles under `repo/`, each with its golden `Target`.
    files: &'static [&'static str],
    golden: &'static str,
    /// The golden lists every package (not only vulnerable ones).
    complete: bool,
    extras: &'static [Extra],
    /// Packages the golden lists and we deliberately do not, as (file, package, why).
    missing: &'static [(&'static str, Extra)],
    /// Why `direct` cannot be compared (our lockfile alone does not say), if so.
    direct_unknown: Option<&'static str>,
}

const DEV_BY_MANIFEST_YARN: &str = "a devDependency in package.json, which trivy reads to \
    drop dev packages; yarn.lock does not say";
const DEV_BY_MANIFEST_CARGO: &str = "reached only through a [dev-dependencies] entry of \
    Cargo.toml, which trivy reads to drop dev packages; Cargo.lock does not say";

const CASES: &[Case] = &[
    Case {
        ecosystem: "npm",
        files: &["npm/package-lock.json"],
        // The with-dev report lists dev packages too, flagged `Dev`.
        golden: "npm-with-dev.json.golden",
        complete: true,
        extras: &[],
        missing: &[],
        direct_unknown: Some("lockfile v1 keeps no list of what the project asked for"),
    },
    Case {
        ecosystem: "yarn",
        files: &["yarn/yarn.lock"],
        golden: "yarn.json.golden",
        complete: true,
        extras: &[
            Extra {
                name: "promise",
                why: DEV_BY_MANIFEST_YARN,
            },
            Extra {
                name: "asap",
                why: DEV_BY_MANIFEST_YARN,
            },
        ],
        missing: &[],
        direct_unknown: Some("yarn.lock does not say; trivy reads package.json"),
    },
    Case {
        ecosystem: "pnpm",
        files: &["pnpm/pnpm-lock.yaml"],
        golden: "pnpm.json.golden",
        complete: true,
        extras: &[],
        missing: &[],
        direct_unknown: None,
    },
    Case {
        ecosystem: "cargo",
        files: &["cargo/Cargo.lock"],
        golden: "cargo.lock.json.golden",
        complete: true,
        extras: &[
            Extra {
                name: "winapi",
                why: DEV_BY_MANIFEST_CARGO,
            },
            Extra {
                name: "winapi-i686-pc-windows-gnu",
                why: DEV_BY_MANIFEST_CARGO,
            },
            Extra {
                name: "winapi-x86_64-pc-windows-gnu",
                why: DEV_BY_MANIFEST_CARGO,
            },
        ],
        missing: &[],
        direct_unknown: None,
    },
    Case {
        ecosystem: "composer",
        files: &["composer/composer.lock"],
        golden: "composer.lock.json.golden",
        complete: true,
        extras: &[],
        missing: &[],
        direct_unknown: Some("composer.lock does not say; trivy reads composer.json"),
    },
    Case {
        ecosystem: "pip",
        files: &["pip/requirements.txt"],
        golden: "pip.json.golden",
        complete: true,
        extras: &[],
        missing: &[],
        direct_unknown: None,
    },
    Case {
        ecosystem: "pipenv",
        files: &["pipenv/Pipfile.lock"],
        golden: "pipenv.json.golden",
        complete: true,
        extras: &[],
        missing: &[],
        direct_unknown: None,
    },
    Case {
        ecosystem: "poetry",
        files: &["poetry/poetry.lock"],
        golden: "poetry.json.golden",
        complete: true,
        extras: &[],
        missing: &[],
        direct_unknown: Some("poetry.lock does not say; trivy reads pyproject.toml"),
    },
    Case {
        ecosystem: "uv",
        files: &["uv/uv.lock"],
        golden: "uv.json.golden",
        complete: true,
        extras: &[],
        missing: &[],
        direct_unknown: None,
    },
    Case {
        ecosystem: "gomod",
        files: &[
            "gomod/go.mod",
            "gomod/submod/go.mod",
            "gomod/submod2/go.mod",
        ],
        // Its go.mod reports list only the vulnerable modules.
        golden: "gomod.json.golden",
        complete: false,
        extras: &[],
        missing: &[(
            "gomod/submod2/go.mod",
            Extra {
                name: "github.com/docker/distribution",
                why: "only in go.sum: for go < 1.17 modules trivy adds every go.sum entry as \
                    an indirect dependency; go.sum lists versions considered, not the build \
                    list, so we read go.mod alone",
            },
        )],
        direct_unknown: None,
    },
];

#[derive(Default)]
struct Tally {
    packages: (usize, usize),
    lines: (usize, usize),
    direct: (usize, usize),
    dev: (usize, usize),
}

fn agree(t: &mut (usize, usize), ok: bool) {
    t.1 += 1;
    if ok {
        t.0 += 1;
    }
}

fn parse_file(repo: &Path, rel: &str) -> Lockfile {
    let path = repo.join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let kind = detect(rel).unwrap_or_else(|| panic!("{rel} not detected"));
    parse(kind, rel, &bytes).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn trivy_goldens_agree() {
    let Some(shared) = shared() else {
        eprintln!("skipped: shared test data not found (set ALLCLEAR_SHARED)");
        return;
    };
    let base = shared.join("conformance/trivy");
    let mut failures = Vec::new();
    let mut report = BTreeMap::new();

    for case in CASES {
        let golden: Value = serde_json::from_slice(
            &std::fs::read(base.join("golden").join(case.golden)).expect("golden"),
        )
        .expect("golden JSON");
        let results = golden["Results"].as_array().cloned().unwrap_or_default();
        let mut tally = Tally::default();
        for rel in case.files {
            let ours = parse_file(&base.join("repo"), rel);
            let target = rel
                .strip_prefix(case.files[0].rsplit_once('/').map_or("", |(d, _)| d))
                .map_or(*rel, |t| t.trim_start_matches('/'));
            let Some(result) = results.iter().find(|r| r["Target"] == target) else {
                // The scanner found nothing to report in this file (no vulnerable module).
                assert!(
                    !case.complete,
                    "{}: no golden result for {target}",
                    case.ecosystem
                );
                continue;
            };
            let mut listed: Vec<(String, String)> = Vec::new();
            for p in result["Packages"].as_array().into_iter().flatten() {
                let name = p["Name"].as_str().unwrap_or_default();
                let version = p["Version"].as_str().unwrap_or_default();
                listed.push((name.to_owned(), version.to_owned()));
                if p["Relationship"] == "root" {
                    // Deliberate difference: the project itself is not a dependency.
                    assert!(
                        !ours.packages.iter().any(|o| o.name == name),
                        "{}: root project {name} listed as a package",
                        case.ecosystem
                    );
                    continue;
                }
                let found = find(&ours.packages, name, version);
                agree(&mut tally.packages, found.is_some());
                let Some(found) = found else {
                    failures.push(format!("{}: {name} {version} missing", case.ecosystem));
                    continue;
                };
                if let Some(line) = p["Locations"][0]["StartLine"].as_u64() {
                    agree(&mut tally.lines, u64::from(found.line) == line);
                    if u64::from(found.line) != line {
                        failures.push(format!(
                            "{}: {name} at line {}, golden {line}",
                            case.ecosystem, found.line
                        ));
                    }
                }
                if let Some(rel) = p["Relationship"].as_str() {
                    match (case.direct_unknown, found.direct) {
                        (Some(_), None) => {}
                        (_, Some(direct)) => {
                            let ok = direct == (rel == "direct");
                            agree(&mut tally.direct, ok);
                            if !ok {
                                failures.push(format!(
                                    "{}: {name} direct={direct}, golden {rel}",
                                    case.ecosystem
                                ));
                            }
                        }
                        (None, None) => failures.push(format!(
                            "{}: {name} direct unknown, golden {rel}",
                            case.ecosystem
                        )),
                    }
                }
                let golden_dev = p["Dev"].as_bool().unwrap_or(false);
                let ok = found.dev.is_none_or(|d| d == golden_dev);
                if found.dev.is_some() {
                    agree(&mut tally.dev, ok);
                }
                if !ok {
                    failures.push(format!(
                        "{}: {name} dev={:?}, golden {golden_dev}",
                        case.ecosystem, found.dev
                    ));
                }
            }
            for v in result["Vulnerabilities"].as_array().into_iter().flatten() {
                let name = v["PkgName"].as_str().unwrap_or_default();
                let version = v["InstalledVersion"].as_str().unwrap_or_default();
                if listed.iter().any(|(n, ver)| n == name && ver == version) {
                    continue;
                }
                listed.push((name.to_owned(), version.to_owned()));
                let found = find(&ours.packages, name, version);
                let explained = case
                    .missing
                    .iter()
                    .any(|(file, e)| file == rel && e.name == name && !e.why.is_empty());
                if found.is_none() && explained {
                    continue;
                }
                agree(&mut tally.packages, found.is_some());
                if found.is_none() {
                    failures.push(format!(
                        "{}: vulnerable {name} {version} missing",
                        case.ecosystem
                    ));
                }
            }
            if case.complete {
                for extra in &ours.packages {
                    if listed
                        .iter()
                        .any(|(n, v)| *n == extra.name && *v == extra.version)
                    {
                        continue;
                    }
                    if !case
                        .extras
                        .iter()
                        .any(|e| e.name == extra.name && !e.why.is_empty())
                    {
                        failures.push(format!(
                            "{}: we list {} {} and the golden does not",
                            case.ecosystem, extra.name, extra.version
                        ));
                    }
                }
            }
        }
        report.insert(case.ecosystem, tally);
    }

    for (eco, t) in &report {
        eprintln!(
            "{eco:9} packages {}/{}  lines {}/{}  direct {}/{}  dev {}/{}",
            t.packages.0,
            t.packages.1,
            t.lines.0,
            t.lines.1,
            t.direct.0,
            t.direct.1,
            t.dev.0,
            t.dev.1
        );
    }
    let total: usize = report.values().map(|t| t.packages.1).sum();
    assert!(total > 30, "only {total} golden packages compared");
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
}

fn find<'a>(packages: &'a [Package], name: &str, version: &str) -> Option<&'a Package> {
    packages
        .iter()
        .find(|p| p.name == name && p.version == version)
}

/// Every file in the other scanner's fixture tree that we recognise parses (including
/// lockfiles it has no golden for); manifests give nothing.
#[test]
fn every_recognised_fixture_parses() {
    let Some(shared) = shared() else {
        eprintln!("skipped: shared test data not found (set ALLCLEAR_SHARED)");
        return;
    };
    let repo = shared.join("conformance/trivy/repo");
    let mut stack = vec![repo.clone()];
    let mut parsed = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(&repo)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let Some(kind) = detect(&rel) else { continue };
            let bytes = std::fs::read(&path).expect("read");
            let lock = parse(kind, &rel, &bytes).unwrap_or_else(|e| panic!("{e}"));
            if kind.is_manifest() {
                assert!(lock.packages.is_empty());
            } else {
                parsed += 1;
            }
        }
    }
    eprintln!("parsed {parsed} lockfiles from the trivy fixture tree");
    assert!(parsed >= 12, "only {parsed} lockfiles found");
}
