//! Our own small lockfiles, one per format and edge case, with every package asserted:
//! name, version, line, direct and dev flags, and the source where it is interesting.

use allclear_core::Ecosystem;
use allclear_lockfiles::{FileKind, Lockfile, Source, parse};

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(kind: FileKind, name: &str) -> Lockfile {
    parse(kind, name, &fixture(name)).unwrap_or_else(|e| panic!("{e}"))
}

type Row = (String, String, u32, Option<bool>, Option<bool>);
/// name, version, line, direct, dev.
type Want<'a> = (&'a str, &'a str, u32, Option<bool>, Option<bool>);

fn rows(lock: &Lockfile) -> Vec<Row> {
    lock.packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.line, p.direct, p.dev))
        .collect()
}

fn expect(rows: &[Want<'_>]) -> Vec<Row> {
    rows.iter()
        .map(|(n, v, l, d, dev)| (n.to_string(), v.to_string(), *l, *d, *dev))
        .collect()
}

fn source_of<'a>(lock: &'a Lockfile, name: &str) -> &'a Source {
    &lock
        .packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .source
}

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);
const N: Option<bool> = None;

fn git(url: &str, reference: Option<&str>, commit: Option<&str>) -> Source {
    Source::Git {
        url: url.into(),
        reference: reference.map(Into::into),
        commit: commit.map(Into::into),
    }
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn gemfile_lock() {
    let lock = load(FileKind::GemfileLock, "Gemfile.lock");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("actionpack", "7.1.0.alpha", 6, T, N),
            ("norev", "0.1.0", 12, T, N),
            ("billing", "1.0.0", 17, T, N),
            // Two platform builds of one version: listed once, platform suffix dropped.
            ("nokogiri", "1.13.10", 23, T, N),
            ("racc", "1.6.2", 27, F, N),
            ("rack", "2.2.4", 28, F, N),
        ])
    );
    assert!(
        lock.packages
            .iter()
            .all(|p| p.ecosystem == Ecosystem::RubyGems)
    );
    assert_eq!(
        source_of(&lock, "actionpack"),
        &git(
            "https://github.com/rails/rails.git",
            Some("main"),
            Some(SHA)
        )
    );
    assert_eq!(
        source_of(&lock, "norev"),
        &git("https://github.com/example/no-revision.git", None, None)
    );
    assert_eq!(
        source_of(&lock, "billing"),
        &Source::Path {
            path: "engines/billing".into()
        }
    );
    assert_eq!(
        source_of(&lock, "rack"),
        &Source::Registry {
            url: Some("https://rubygems.org/".into())
        }
    );
    let ruby = &lock.interpreters;
    assert_eq!(ruby.len(), 1);
    assert_eq!(
        (
            ruby[0].ecosystem,
            ruby[0].name.as_str(),
            ruby[0].version.as_str(),
            ruby[0].line
        ),
        (Ecosystem::Ruby, "ruby", "3.2.2", 41)
    );
}

#[test]
fn ruby_version_files() {
    let lock = load(FileKind::RubyVersion, ".ruby-version");
    assert_eq!(lock.interpreters.len(), 1);
    assert_eq!(lock.interpreters[0].name, "ruby");
    assert_eq!(lock.interpreters[0].version, "3.2.2");

    let jruby = parse(FileKind::RubyVersion, ".ruby-version", b"\njruby-9.4.0.0\n").unwrap();
    assert_eq!(
        (
            jruby.interpreters[0].name.as_str(),
            jruby.interpreters[0].version.as_str()
        ),
        ("jruby", "9.4.0.0")
    );
    assert_eq!(jruby.interpreters[0].line, 2);
    let plain = parse(FileKind::RubyVersion, ".ruby-version", b"3.1.4").unwrap();
    assert_eq!(plain.interpreters[0].version, "3.1.4");
    let system = parse(FileKind::RubyVersion, ".ruby-version", b"system\n").unwrap();
    assert!(system.interpreters.is_empty());
    let bad = parse(FileKind::RubyVersion, ".ruby-version", b"latest please\n").unwrap_err();
    assert_eq!(bad.line, Some(1));

    let tools = load(FileKind::ToolVersions, ".tool-versions");
    assert_eq!(tools.interpreters.len(), 1);
    assert_eq!(
        (
            tools.interpreters[0].name.as_str(),
            tools.interpreters[0].version.as_str()
        ),
        ("ruby", "3.1.4")
    );
    assert_eq!(tools.interpreters[0].line, 3);
    assert!(tools.packages.is_empty());
}

#[test]
fn composer_lock() {
    let lock = load(FileKind::ComposerLock, "composer.lock");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("drupal/core", "10.1.4", 5, N, F),
            // Drupal's `8.x-2.4` as the Drupal advisories write it.
            ("drupal/admin_toolbar", "2.4.0", 12, N, F),
            ("acme/widgets", "dev-main", 23, N, F),
            ("acme/local", "1.0.0", 33, N, F),
            ("phpunit/phpunit", "9.6.13", 41, N, T),
        ])
    );
    assert_eq!(
        source_of(&lock, "drupal/admin_toolbar"),
        &Source::Registry {
            url: Some("https://packages.drupal.org/8".into())
        }
    );
    assert_eq!(
        source_of(&lock, "acme/widgets"),
        &git(
            "https://github.com/acme/widgets.git",
            Some("main"),
            Some("1111111111111111111111111111111111111111")
        )
    );
    assert_eq!(
        source_of(&lock, "acme/local"),
        &Source::Path {
            path: "packages/local".into()
        }
    );
}

#[test]
fn npm_v1_nested() {
    let lock = load(FileKind::NpmLock, "package-lock.v1.json");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("a", "1.0.0", 7, N, F),
            ("b", "2.0.0", 14, N, F),
            ("b", "1.0.0", 20, N, T),
            (
                "gitdep",
                "git+https://github.com/x/gitdep.git#abcdef0",
                24,
                N,
                F
            ),
            ("@scope/real", "3.0.0", 28, N, F),
        ])
    );
    assert_eq!(
        source_of(&lock, "gitdep"),
        &git("git+https://github.com/x/gitdep.git", None, Some("abcdef0"))
    );
}

#[test]
fn npm_v3_workspaces() {
    let lock = load(FileKind::NpmLock, "package-lock.v3.json");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("express", "4.18.2", 22, T, F),
            ("debug", "2.6.9", 29, F, F),
            ("jest", "29.7.0", 33, T, T),
            // Asked for by the workspace packages/lib, hoisted to the root.
            ("lodash", "4.17.21", 37, T, F),
            // devOptional: also an optional dependency of production code.
            ("fsevents", "2.3.3", 40, F, F),
        ])
    );
}

#[test]
fn yarn_classic() {
    let lock = load(FileKind::YarnLock, "yarn.classic.lock");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("@babel/code-frame", "7.22.13", 5, N, N),
            ("chalk", "2.4.2", 12, N, N),
            // An alias installs the package it names.
            ("left-pad", "1.3.0", 16, N, N),
            ("private", "1.0.0", 20, N, N),
        ])
    );
    assert_eq!(source_of(&lock, "chalk"), &Source::Registry { url: None });
    assert_eq!(
        source_of(&lock, "private"),
        &git("git+https://github.com/acme/private.git", None, Some(SHA))
    );
}

#[test]
fn yarn_berry() {
    let lock = load(FileKind::YarnLock, "yarn.berry.lock");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("@types/node", "20.8.10", 8, N, N),
            // The workspace itself (line 15) is the project, not a dependency.
            ("resolve", "1.22.8", 23, N, N),
            ("tool", "2.0.0", 29, N, N),
        ])
    );
    assert_eq!(source_of(&lock, "resolve"), &Source::Registry { url: None });
    assert_eq!(
        source_of(&lock, "tool"),
        &git(
            "https://github.com/acme/tool.git",
            None,
            Some("fedcba9876543210fedcba9876543210fedcba98")
        )
    );
}

#[test]
fn pnpm_v9() {
    let lock = load(FileKind::PnpmLock, "pnpm-lock.v9.yaml");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("js-tokens", "4.0.0", 30, F, F),
            ("loose-envify", "1.4.0", 33, F, F),
            ("react-dom", "18.2.0", 37, T, F),
            ("react", "18.2.0", 42, T, F),
            ("typescript", "5.2.2", 45, T, T),
            // Nothing in the importers reaches it.
            ("@acme/git-thing", "1.2.3", 50, F, N),
        ])
    );
    assert_eq!(
        source_of(&lock, "@acme/git-thing"),
        &Source::Url {
            url: "https://codeload.github.com/acme/git-thing/tar.gz/0123abc".into()
        }
    );
}

#[test]
fn pnpm_v5() {
    let lock = load(FileKind::PnpmLock, "pnpm-lock.v5.yaml");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("@scope/pkg", "1.0.0", 15, T, F),
            ("left-pad", "1.3.0", 19, T, T),
            ("react", "18.2.0", 23, F, F),
        ])
    );
}

#[test]
fn cargo_lock() {
    let lock = load(FileKind::CargoLock, "Cargo.lock");
    // `app` and `helper` have no source: the workspace's own crates.
    assert_eq!(
        rows(&lock),
        expect(&[
            ("serde", "1.0.190", 21, T, N),
            ("smallvec", "0.6.14", 27, T, N),
            ("smallvec", "1.11.0", 32, T, N),
            ("tokio", "1.33.0", 40, F, N),
        ])
    );
    assert_eq!(
        source_of(&lock, "tokio"),
        &git(
            "https://github.com/tokio-rs/tokio",
            Some("master"),
            Some(SHA)
        )
    );
}

#[test]
fn poetry_lock() {
    let lock = load(FileKind::PoetryLock, "poetry.lock");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("django", "3.2.20", 3, N, F),
            ("pytest", "7.4.3", 11, N, T),
            ("mylib", "0.3.0", 19, N, F),
        ])
    );
    assert_eq!(
        source_of(&lock, "mylib"),
        &git("https://github.com/acme/mylib.git", Some("main"), Some(SHA))
    );
}

#[test]
fn pipfile_lock() {
    let lock = load(FileKind::PipfileLock, "Pipfile.lock");
    // The git entry pins no version, so it cannot be matched and is left out.
    assert_eq!(
        rows(&lock),
        expect(&[
            ("requests", "2.31.0", 9, N, F),
            ("pytest", "7.4.3", 21, N, T)
        ])
    );
}

#[test]
fn uv_lock() {
    let lock = load(FileKind::UvLock, "uv.lock");
    // `app` (editable) is the project itself.
    assert_eq!(
        rows(&lock),
        expect(&[
            ("flask", "3.0.0", 17, T, F),
            ("pytest", "7.4.3", 25, T, T),
            ("werkzeug", "3.0.1", 30, F, F),
            ("vendored", "1.0.0", 35, F, N),
        ])
    );
    assert_eq!(
        source_of(&lock, "vendored"),
        &git("https://github.com/acme/vendored", Some("v1"), Some(SHA))
    );
}

#[test]
fn requirements_txt() {
    let lock = load(FileKind::Requirements, "requirements.txt");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("Django", "3.2.20", 5, N, N),
            ("requests", "2.31.0", 8, N, N),
            ("six", "1.16.0", 11, N, N),
        ])
    );
}

#[test]
fn go_mod() {
    let lock = load(FileKind::GoMod, "go.mod");
    assert_eq!(
        rows(&lock),
        expect(&[
            ("github.com/gin-gonic/gin", "v1.9.1", 7, T, N),
            ("golang.org/x/net", "v0.17.0", 10, F, N),
            ("example.com/quoted", "v1.0.0", 11, T, N),
            ("example.com/local", "v0.1.0", 13, F, N),
            // Replaced by another module: reported as that module, at the replace line.
            ("example.com/new", "v1.3.0", 16, T, N),
        ])
    );
    assert_eq!(
        source_of(&lock, "example.com/local"),
        &Source::Path {
            path: "../local".into()
        }
    );
}

/// YAML also breaks lines at a lone `\r`; lines are counted by `\n` in every format, so a
/// report's line matches what `grep -n` says (found by fuzzing).
#[test]
fn yaml_lines_count_newlines_only() {
    let text = "lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution: {integrity: x\ry}\n  /b@2.0.0:\n    dev: true\n";
    let lock = parse(FileKind::PnpmLock, "pnpm-lock.yaml", text.as_bytes()).unwrap();
    assert_eq!(
        rows(&lock),
        expect(&[("a", "1.0.0", 3, F, F), ("b", "2.0.0", 5, F, T)])
    );
}
