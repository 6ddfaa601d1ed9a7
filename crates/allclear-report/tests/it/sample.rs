//! A small hand-built report covering what renderers must handle: several lockfiles and
//! ecosystems, every severity, a finding without a line, findings that are not about a
//! package, an ignored finding with a reason and expiry, an expired ignore, an error and a
//! warning.

use allclear_core::{
    Ecosystem, Finding, Fix, Location, PackageRef, Policy, Report, RunError, Severity,
};

pub fn package(ecosystem: Ecosystem, name: &str, version: &str) -> PackageRef {
    PackageRef {
        ecosystem,
        name: name.to_owned(),
        version: version.to_owned(),
    }
}

pub fn upgrade_to(version: &str) -> Fix {
    Fix {
        version: Some(version.to_owned()),
        ..Fix::default()
    }
}

/// A `deps.vulnerable` finding the way the dependency audit builds one.
#[allow(clippy::too_many_arguments)]
pub fn vulnerable(
    path: &str,
    line: Option<u32>,
    package: PackageRef,
    severity: Severity,
    summary: &str,
    advisories: &[&str],
    fix: Option<&str>,
) -> Finding {
    let mut location = Location::new(path);
    location.line = line;
    let mut finding = Finding::new(
        "deps.vulnerable",
        severity,
        format!("{} {}: {summary}", package.name, package.version),
    )
    .with_location(location)
    .with_key(format!(
        "{}@{}/{}",
        package.name,
        package.version,
        advisories.first().copied().unwrap_or_default()
    ))
    .with_advisories(advisories.iter().map(|s| (*s).to_owned()).collect())
    .with_package(package);
    if let Some(fix) = fix {
        finding = finding.with_fix(upgrade_to(fix));
    }
    finding
}

const POLICY: &str = r#"[scan]
fail-on = "high"

[[ignore]]
id = "CVE-2020-8161"
reason = "not reachable: we do not serve files with Rack::Directory"
expires = "2027-03-01"

[[ignore]]
id = "GHSA-p6mc-m468-83gw"
reason = "build-time only"
expires = "2026-01-31"
"#;

/// The report every snapshot renders. Built through `Policy::evaluate`, as the binary does.
pub fn report() -> Report {
    let rack = |version: &str| package(Ecosystem::RubyGems, "rack", version);
    let mut findings = vec![
        {
            let mut f = vulnerable(
                "Gemfile.lock",
                Some(42),
                rack("2.0.1"),
                Severity::Critical,
                "Possible shell escape sequence injection vulnerability in Rack",
                &["CVE-2022-30123", "GHSA-wq4h-7r42-5hrr"],
                Some("2.2.3.1"),
            )
            .with_url("https://github.com/advisories/GHSA-wq4h-7r42-5hrr")
            .with_description(
                "There is a possible shell escape sequence injection vulnerability in the Lint \
                 and CommonLogger components of Rack.\n\nCarefully crafted requests can cause \
                 shell escape sequences to be written to the terminal.",
            );
            f.cvss = Some(10.0);
            f
        },
        vulnerable(
            "Gemfile.lock",
            Some(42),
            rack("2.0.1"),
            Severity::Medium,
            "Directory traversal in Rack::Directory app bundled with Rack",
            &["CVE-2020-8161", "GHSA-5f9h-9pjv-v6j7"],
            Some("2.1.3"),
        ),
        vulnerable(
            "Gemfile.lock",
            Some(30),
            package(Ecosystem::RubyGems, "nokogiri", "1.10.0"),
            Severity::High,
            "Update packaged dependency libxml2 from 2.9.10 to 2.9.12",
            &["GHSA-7rrm-v45f-jp64"],
            Some("1.11.4"),
        ),
        vulnerable(
            "Gemfile.lock",
            None,
            package(Ecosystem::Ruby, "ruby", "2.7.1"),
            Severity::High,
            "HTTP request smuggling in WEBrick",
            &["CVE-2020-25613"],
            Some("2.7.2"),
        ),
        vulnerable(
            "composer.lock",
            Some(1204),
            package(Ecosystem::Packagist, "drupal/core", "9.5.0"),
            Severity::Critical,
            "Drupal core - Critical - Access bypass - SA-CORE-2023-006",
            &["SA-CORE-2023-006", "CVE-2023-44487"],
            Some("9.5.11"),
        ),
        vulnerable(
            "composer.lock",
            Some(2210),
            package(Ecosystem::Packagist, "drupal/webform", "6.1.0"),
            Severity::Medium,
            "Webform - Moderately critical - Cross Site Scripting",
            &["SA-CONTRIB-2023-024"],
            Some("6.1.4"),
        ),
        vulnerable(
            "web/package-lock.json",
            Some(1180),
            package(Ecosystem::Npm, "lodash", "4.17.15"),
            Severity::High,
            "Prototype Pollution in lodash",
            &["GHSA-p6mc-m468-83gw", "CVE-2020-8203"],
            Some("4.17.19"),
        ),
        {
            let mut f = vulnerable(
                "web/package-lock.json",
                None,
                package(Ecosystem::Npm, "minimist", "1.2.0"),
                Severity::Low,
                "Prototype Pollution in minimist",
                &["GHSA-vh95-rmgr-6w4m"],
                Some("1.2.3"),
            );
            f.cvss = Some(3.7);
            f
        },
        vulnerable(
            "tools/xtask/Cargo.lock",
            Some(88),
            package(Ecosystem::CratesIo, "regex", "1.5.4"),
            Severity::High,
            "Regexes with large repetitions on empty sub-expressions take a very long time to parse",
            &["RUSTSEC-2022-0013", "GHSA-m5pq-gvj9-9vr8"],
            Some("1.5.5"),
        ),
        Finding::new(
            "deps.prerelease",
            Severity::Low,
            "serde 2.0.0-rc.1 is a pre-release",
        )
        .with_location(Location::new("tools/xtask/Cargo.lock").with_line(120))
        .with_key("crates.io/serde@2.0.0-rc.1")
        .with_package(package(Ecosystem::CratesIo, "serde", "2.0.0-rc.1"))
        .with_description(
            "Alpha, beta and release-candidate versions are outside what security teams \
                 cover. Depend on a stable release.",
        )
        .with_fix(Fix {
            advice: Some("upgrade to a stable release".to_owned()),
            ..Fix::default()
        }),
        Finding::new(
            "secrets.aws-access-key",
            Severity::High,
            "AWS access key AKIA…MPLE",
        )
        .with_location(Location::new("config/.env.production").with_line(3))
        .with_key("blake3-of-the-secret")
        .with_description("An AWS access key id is committed to the repository.")
        .with_detail("redacted", "AKIA************MPLE")
        .with_fix(Fix {
            advice: Some(
                "deactivate the key in AWS IAM, then remove it from the repository".to_owned(),
            ),
            ..Fix::default()
        }),
        Finding::new(
            "deps.missing-lockfile",
            Severity::Info,
            "package.json has no package-lock.json",
        )
        .with_location(Location::new("docs/package.json"))
        .with_key("package.json"),
    ];
    // The finding the second, expired ignore would hide if it were still in force: it shows
    // again, next to a `policy.ignore-expired` finding.
    findings.push(vulnerable(
        "web/yarn.lock",
        Some(15),
        package(Ecosystem::Npm, "lodash", "4.17.11"),
        Severity::High,
        "Prototype Pollution in lodash",
        &["GHSA-p6mc-m468-83gw", "CVE-2020-8203"],
        Some("4.17.19"),
    ));
    let policy = match Policy::from_toml(POLICY, "allclear.toml") {
        Ok(policy) => policy,
        Err(err) => panic!("sample policy: {err}"),
    };
    let mut report = policy.evaluate(findings, jiff::civil::date(2026, 11, 23));
    report.add_error(RunError {
        path: "legacy/composer.lock".to_owned(),
        line: Some(7),
        message: "expected `,` or `}` at line 7 column 5".to_owned(),
    });
    report.add_warning(
        "the advisory database is 12 days old (max-db-age-days is 7); run `allclear db update`",
    );
    report.add_skipped(allclear_core::Skipped {
        path: "vendor/assets.zip".to_owned(),
        reason: "archive expands beyond 256 MiB (zip-bomb guard `archive-max-bytes`): the first \
                 256 MiB (in 41 entries) were scanned, the rest was not"
            .to_owned(),
    });
    report
}

/// A clean run.
pub fn clean() -> Report {
    Report::new(Vec::new(), Vec::new(), Severity::Low)
}
