//! `upgrade_commands`: one command per lockfile directory and package manager.

use allclear_core::{Ecosystem, Finding, Fix};
use allclear_report::{upgrade_commands, upgrade_plan};

use crate::sample::{self, package, vulnerable};

fn at(path: &str, ecosystem: Ecosystem, name: &str, version: &str, fix: &str) -> Finding {
    vulnerable(
        path,
        Some(1),
        package(ecosystem, name, version),
        allclear_core::Severity::High,
        "bad",
        &["GHSA-xxxx-xxxx-xxxx"],
        Some(fix),
    )
}

#[test]
fn sample_report_commands() {
    let report = sample::report();
    assert_eq!(
        upgrade_commands(&report.findings),
        [
            "bundle update nokogiri rack",
            "composer update drupal/core drupal/webform --with-dependencies",
            "(cd tools/xtask && cargo update -p regex)",
            "(cd web && npm install lodash@4.17.19 minimist@1.2.3)",
            "(cd web && yarn up lodash@4.17.19)",
            "# upgrade the Ruby interpreter (ruby 2.7.1) to 2.7.2 or later",
        ]
    );
}

#[test]
fn packages_merge_per_directory_and_tool() {
    let findings = vec![
        at(
            "b/Gemfile.lock",
            Ecosystem::RubyGems,
            "rack",
            "2.0.1",
            "2.2.3",
        ),
        at(
            "a/Gemfile.lock",
            Ecosystem::RubyGems,
            "rack",
            "2.0.1",
            "2.2.3",
        ),
        at(
            "a/Gemfile.lock",
            Ecosystem::RubyGems,
            "actionpack",
            "6.0.0",
            "6.1.7",
        ),
        at(
            "a/Gemfile.lock",
            Ecosystem::RubyGems,
            "rack",
            "2.0.1",
            "2.2.3",
        ),
    ];
    assert_eq!(
        upgrade_commands(&findings),
        [
            "(cd a && bundle update actionpack rack)",
            "(cd b && bundle update rack)"
        ]
    );
}

#[test]
fn each_lockfile_gets_its_own_tool() {
    let findings = vec![
        at("pnpm-lock.yaml", Ecosystem::Npm, "a", "1.0.0", "1.2.3"),
        at("poetry.lock", Ecosystem::PyPI, "django", "3.2.0", "3.2.19"),
        at("svc/uv.lock", Ecosystem::PyPI, "jinja2", "3.1.2", "3.1.3"),
        at("svc/uv.lock", Ecosystem::PyPI, "flask", "2.0.0", "2.2.5"),
        at(
            "requirements.txt",
            Ecosystem::PyPI,
            "requests",
            "2.0.0",
            "2.31.0",
        ),
        at(
            "Pipfile.lock",
            Ecosystem::PyPI,
            "urllib3",
            "1.26.0",
            "1.26.18",
        ),
        at(
            "go.mod",
            Ecosystem::Go,
            "golang.org/x/net",
            "v0.1.0",
            "0.17.0",
        ),
        at(
            "go.mod",
            Ecosystem::Go,
            "github.com/a/b",
            "v1.0.0",
            "v1.0.1",
        ),
        at(
            "Cargo.lock",
            Ecosystem::CratesIo,
            "time",
            "0.1.45",
            "0.2.23",
        ),
    ];
    assert_eq!(
        upgrade_commands(&findings),
        [
            "pnpm update a@1.2.3",
            "cargo update -p time",
            "pip install 'requests>=2.31.0'",
            "poetry update django",
            "pipenv update urllib3",
            "go get github.com/a/b@v1.0.1 golang.org/x/net@v0.17.0",
            "(cd svc && uv lock --upgrade-package flask --upgrade-package jinja2)",
        ]
    );
}

#[test]
fn the_highest_fix_wins_by_the_ecosystems_ordering() {
    let findings = vec![
        at("package-lock.json", Ecosystem::Npm, "a", "1.0.0", "1.10.0"),
        at("package-lock.json", Ecosystem::Npm, "a", "1.0.0", "1.9.0"),
        at(
            "package-lock.json",
            Ecosystem::Npm,
            "a",
            "1.0.0",
            "1.10.0-rc.1",
        ),
    ];
    // Text order would pick 1.9.0.
    assert_eq!(upgrade_commands(&findings), ["npm install a@1.10.0"]);
}

#[test]
fn two_versions_of_a_crate_are_named_precisely() {
    let findings = vec![
        at("Cargo.lock", Ecosystem::CratesIo, "rand", "0.7.3", "0.8.5"),
        at("Cargo.lock", Ecosystem::CratesIo, "rand", "0.8.4", "0.8.5"),
        at(
            "Cargo.lock",
            Ecosystem::CratesIo,
            "anyhow",
            "1.0.0",
            "1.0.1",
        ),
    ];
    assert_eq!(
        upgrade_commands(&findings),
        ["cargo update -p anyhow -p rand@0.7.3 -p rand@0.8.4"]
    );
}

#[test]
fn no_fix_version_no_command() {
    let mut advice_only = at(
        "Gemfile.lock",
        Ecosystem::RubyGems,
        "rack",
        "2.0.1",
        "2.2.3",
    );
    advice_only.fix = Some(Fix {
        advice: Some("replace rack".to_owned()),
        ..Fix::default()
    });
    let mut no_package = at(
        "Gemfile.lock",
        Ecosystem::RubyGems,
        "rack",
        "2.0.1",
        "2.2.3",
    );
    no_package.package = None;
    assert!(upgrade_commands(&[advice_only, no_package]).is_empty());
}

#[test]
fn odd_names_and_directories_are_quoted_or_left_out() {
    let findings = vec![
        at(
            "my app/Gemfile.lock",
            Ecosystem::RubyGems,
            "rack",
            "2.0.1",
            "2.2.3",
        ),
        at(
            "-rf/Gemfile.lock",
            Ecosystem::RubyGems,
            "rack",
            "2.0.1",
            "2.2.3",
        ),
        at("Gemfile.lock", Ecosystem::RubyGems, "--help", "1.0", "2.0"),
        at("Gemfile.lock", Ecosystem::RubyGems, "a b", "1.0", "2.0"),
        at(
            "Gemfile.lock",
            Ecosystem::RubyGems,
            "c",
            "1.0",
            "2.0\nrm -rf /",
        ),
    ];
    assert_eq!(
        upgrade_commands(&findings),
        [
            "(cd ./-rf && bundle update rack)",
            "(cd 'my app' && bundle update rack)"
        ]
    );
}

/// Issue 19: the Rails gems are proposed at one version, taken from the audit's
/// `upgrade_to` (the release train's target), not each advisory's own fix.
#[test]
fn release_trains_move_together() {
    let rails = |name: &str, own_fix: &str| {
        at(
            "Gemfile.lock",
            Ecosystem::RubyGems,
            name,
            "6.0.3.7",
            own_fix,
        )
        .with_detail("upgrade_to", "7.2.3.2")
        .with_detail("release_train", "rails")
    };
    let findings = vec![
        rails("activerecord", "6.0.5.1"),
        rails("activestorage", "7.2.3.2"),
        rails("actionpack", "6.0.4.1"),
        at(
            "Gemfile.lock",
            Ecosystem::RubyGems,
            "rack",
            "2.2.3",
            "2.2.8",
        )
        .with_detail("upgrade_to", "2.2.23"),
        at(
            "package-lock.json",
            Ecosystem::Npm,
            "lodash",
            "4.17.4",
            "4.17.21",
        ),
    ];
    assert_eq!(
        upgrade_plan(&findings),
        [
            "Gemfile.lock: rack 2.2.3 → 2.2.23",
            "Gemfile.lock: rails 6.0.3.7 → 7.2.3.2 (actionpack, activerecord, activestorage)",
            "package-lock.json: lodash 4.17.4 → 4.17.21",
        ]
    );
    assert_eq!(
        upgrade_commands(&findings[3..]),
        ["bundle update rack", "npm install lodash@4.17.21"]
    );
}
