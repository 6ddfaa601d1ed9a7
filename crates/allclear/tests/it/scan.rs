use serde_json::Value;

use crate::{allclear, copy_tree, fixture_db, fixtures, stderr, stdout, text};

fn scan_json(db: &std::path::Path, repo: &std::path::Path) -> (i32, Value, String) {
    let output = allclear()
        .arg("scan")
        .arg("--db")
        .arg(db)
        .arg(repo)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(&output)));
    (output.status.code().unwrap(), json, stderr(&output))
}

fn findings<'a>(json: &'a Value, rule: &str) -> Vec<&'a Value> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

#[test]
fn finds_vulnerable_packages_with_all_ids_and_the_fix() {
    let db = fixture_db();
    let (code, json, stderr) = scan_json(db.path(), &fixtures().join("repo"));
    assert_eq!(code, 1, "{stderr}\n{json:#}");
    assert_eq!(json["schema"], 1);

    let vulnerable = findings(&json, "deps.vulnerable");
    let rack: Vec<_> = vulnerable
        .iter()
        .filter(|f| f["package"]["name"] == "rack")
        .collect();
    // GHSA-test-rack-0001 and OSV-test-rack-0002 share CVE-2099-0001: one finding with all ids.
    assert_eq!(rack.len(), 2, "{json:#}");
    let merged = rack
        .iter()
        .find(|f| f["advisories"].as_array().unwrap().len() == 3)
        .expect("the two sources of CVE-2099-0001 merged into one finding");
    let ids: Vec<&str> = merged["advisories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for id in ["GHSA-test-rack-0001", "OSV-test-rack-0002", "CVE-2099-0001"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    assert_eq!(merged["severity"], "critical", "CVSS 9.8 from the vector");
    assert_eq!(merged["location"]["path"], "app/Gemfile.lock");
    assert_eq!(merged["location"]["line"], 5);
    assert_eq!(merged["package"]["version"], "2.0.1");
    // Each finding shows its own advisory's fix; 2.0.8 fixes the first two but not
    // GHSA-test-rack-0003 (fixed in 2.0.9), so the package moves to 2.0.9.
    for finding in &rack {
        assert_eq!(finding["details"]["upgrade_to"], "2.0.9", "{finding:#}");
    }
    assert_eq!(merged["fix"]["version"], "2.0.8", "{merged:#}");

    let drupal: Vec<_> = vulnerable
        .iter()
        .filter(|f| f["package"]["name"] == "drupal/core")
        .collect();
    assert_eq!(drupal.len(), 1);
    assert_eq!(drupal[0]["severity"], "medium");
    assert_eq!(drupal[0]["fix"]["version"], "10.2.2");

    let all = json.to_string();
    assert!(
        !all.contains("GHSA-test-withdrawn-0005"),
        "withdrawn advisories never match"
    );

    let ruby = findings(&json, "deps.ruby-interpreter");
    assert_eq!(ruby.len(), 1, "{json:#}");
    assert_eq!(ruby[0]["package"]["version"], "2.7.1");

    let prerelease = findings(&json, "deps.prerelease");
    assert_eq!(prerelease.len(), 1);
    assert_eq!(prerelease[0]["package"]["name"], "rails");

    let missing = findings(&json, "deps.missing-lockfile");
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["location"]["path"], "nolock/package.json");

    assert_eq!(json["summary"]["failed"], true);
    assert_eq!(
        json["summary"]["findings"].as_u64().unwrap() as usize,
        json["findings"].as_array().unwrap().len()
    );
}

#[test]
fn human_report_groups_by_file_and_ends_with_a_summary() {
    let db = fixture_db();
    let output = allclear()
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(fixtures().join("repo"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let out = stdout(&output);
    assert!(out.contains("app/Gemfile.lock"), "{out}");
    assert!(out.contains("web/composer.lock"), "{out}");
    assert!(out.contains("bundle update rack"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "NO_COLOR output has no escape codes"
    );
    let last = out.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(last.contains("finding"), "summary line last: {last}");
}

#[test]
fn sarif_and_markdown_render() {
    let db = fixture_db();
    for (format, needle) in [("sarif", "\"version\": \"2.1.0\""), ("markdown", "|")] {
        let output = allclear()
            .arg("scan")
            .arg("--db")
            .arg(db.path())
            .arg(fixtures().join("repo"))
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        assert!(
            stdout(&output).contains(needle),
            "{format}: {}",
            text(&output)
        );
    }
}

#[test]
fn policy_ignores_rule_settings_and_fail_on() {
    let db = fixture_db();
    let repo = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("repo"), repo.path());
    std::fs::write(
        repo.path().join("allclear.toml"),
        r#"
[scan]
fail-on = "critical"

[rules]
"deps.prerelease" = "off"

[[ignore]]
id = "CVE-2099-0001"
reason = "fixture: accepted for the test"

[[ignore]]
id = "GHSA-test-views-0004"
reason = "fixture: this one has expired"
expires = "2020-01-01"
"#,
    )
    .unwrap();
    let (code, json, stderr) = scan_json(db.path(), repo.path());
    assert!(findings(&json, "deps.prerelease").is_empty());
    let rack_ids: Vec<String> = findings(&json, "deps.vulnerable")
        .iter()
        .flat_map(|f| f["advisories"].as_array().unwrap().clone())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(!rack_ids.contains(&"CVE-2099-0001".to_owned()), "ignored");
    assert!(
        rack_ids.contains(&"GHSA-test-views-0004".to_owned()),
        "expired ignore no longer hides"
    );
    let expired = findings(&json, "policy.ignore-expired");
    assert_eq!(expired.len(), 1, "{json:#}");
    assert_eq!(expired[0]["location"]["line"], 12);
    assert_eq!(json["summary"]["ignored"], 1);
    // The critical finding is ignored; what is left is below `critical`.
    assert_eq!(code, 0, "{stderr}\n{json:#}");
}

#[test]
fn a_broken_lockfile_is_reported_with_its_line_and_the_scan_goes_on() {
    let db = fixture_db();
    let (code, json, stderr) = scan_json(db.path(), &fixtures().join("broken-repo"));
    assert_eq!(code, 2, "{stderr}");
    let errors = json["errors"].as_array().expect("errors listed");
    assert_eq!(errors.len(), 1, "{json:#}");
    assert_eq!(errors[0]["path"], "package-lock.json");
    assert!(errors[0]["line"].as_u64().is_some(), "{json:#}");
    // The good lockfile next to it was still scanned.
    assert!(!findings(&json, "deps.vulnerable").is_empty());
}

#[test]
fn no_database_is_an_error_with_a_hint() {
    let output = allclear()
        .arg("scan")
        .arg(fixtures().join("repo"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let err = stderr(&output);
    assert!(err.contains("error:"), "{err}");
    assert!(
        err.contains("hint:") && err.contains("allclear db update"),
        "{err}"
    );
}

#[test]
fn a_bad_policy_names_file_and_line() {
    let db = fixture_db();
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(
        repo.path().join("allclear.toml"),
        "[scan]\nfail-on = \"severe\"\n",
    )
    .unwrap();
    let output = allclear()
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        stderr(&output).contains("allclear.toml:2:"),
        "{}",
        text(&output)
    );
}

#[test]
fn init_writes_a_policy_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("allclear.toml");
    let output = allclear().arg("init").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("fail-on"));
    assert!(written.contains("[restricted]") && written.contains("[personal-data]"));
    // Every section it writes is one the scan accepts (unknown keys are errors there).
    let scan = allclear()
        .args(["scan", "--only", "secrets"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(scan.status.code(), Some(0), "{}", text(&scan));
    let again = allclear().arg("init").arg(&path).output().unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(stderr(&again).contains("--force"));
}

#[test]
fn broken_pipe_is_not_an_error() {
    let db = fixture_db();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("allclear"))
        .env("NO_COLOR", "1")
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(fixtures().join("repo"))
        .args(["--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of stdout before the report is written.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_ne!(output.status.code(), Some(2), "{}", text(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", text(&output));
}

#[test]
fn matches_go_pypi_and_npm_with_their_own_version_rules() {
    let db = fixture_db();
    let (_, json, stderr) = scan_json(db.path(), &fixtures().join("repo"));
    let vulnerable = findings(&json, "deps.vulnerable");
    let find = |name: &str| {
        vulnerable
            .iter()
            .find(|f| f["package"]["name"] == name)
            .unwrap_or_else(|| panic!("{name} not found: {stderr}\n{json:#}"))
    };
    // go.mod keeps the `v`; OSV's Go records do not.
    let text = find("golang.org/x/text");
    assert_eq!(text["package"]["version"], "v0.3.5");
    assert_eq!(text["location"]["path"], "svc/go.mod");
    assert_eq!(text["location"]["line"], 6);
    // PyPI names compare normalized (Django == django); a second introduced/fixed pair.
    let django = find("Django");
    assert_eq!(django["fix"]["version"], "3.2.14");
    assert_eq!(django["location"]["line"], 2);
    // `last_affected` includes the version itself; no fixed version is known.
    let lodash = find("lodash");
    assert_eq!(lodash["location"]["path"], "js/package-lock.json");
    assert!(lodash["fix"].get("version").is_none(), "{lodash:#}");
    // golang.org/x/net and requests are not affected by anything in the fixture database.
    assert!(
        vulnerable
            .iter()
            .all(|f| f["package"]["name"] != "requests")
    );
}

#[test]
fn rules_check_verifies_every_secret_rule() {
    let output = allclear().args(["rules", "check"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        stdout(&output).contains("rules hold on their examples"),
        "{}",
        text(&output)
    );
    let list = allclear().args(["rules", "list"]).output().unwrap();
    assert!(stdout(&list).lines().count() > 50, "{}", text(&list));
    let no_data = stdout(&list)
        .lines()
        .find(|l| l.starts_with("deps.no-advisory-data "))
        .map(str::to_owned);
    assert!(
        no_data.as_deref().is_some_and(|l| l.contains(" high ")),
        "{}",
        text(&list)
    );
}

/// A database built from the given sources (paths under `tests/fixtures`).
fn db_from(sources: &[&str]) -> tempfile::TempDir {
    let db = tempfile::tempdir().unwrap();
    let mut cmd = allclear();
    cmd.args(["db", "--db"]).arg(db.path()).args(["import"]);
    for source in sources {
        cmd.arg(fixtures().join(source));
    }
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    db
}

/// A repository of the given files, in a temporary directory.
fn repo_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = repo.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    repo
}

const YARN_LOCK: &str = "# yarn lockfile v1\n\n\nlodash@^4.17.0:\n  version \"4.17.4\"\n  resolved \"https://registry.yarnpkg.com/lodash/-/lodash-4.17.4.tgz#abc\"\n";

fn gemfile_lock(platforms: &str, specs: &[&str]) -> String {
    let mut text = String::from("GEM\n  remote: https://rubygems.org/\n  specs:\n");
    for spec in specs {
        text.push_str(&format!("    {spec}\n"));
    }
    text.push_str(&format!("\nPLATFORMS\n  {platforms}\n\nDEPENDENCIES\n"));
    text
}

/// Issue 19: with only RubyGems advisories in the database, a yarn.lock passed as clean.
#[test]
fn ecosystem_without_advisories_fails_by_default() {
    let db = db_from(&["osv/GHSA-test-rack-0001.json"]);
    let repo = repo_with(&[
        ("Gemfile.lock", &gemfile_lock("ruby", &["rack (9.0.0)"])),
        ("web/yarn.lock", YARN_LOCK),
    ]);
    let output = allclear()
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(repo.path())
        .args(["--only", "deps", "--fail-on", "high", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let missing = findings(&json, "deps.no-advisory-data");
    assert_eq!(missing.len(), 1, "{json:#}");
    assert_eq!(missing[0]["severity"], "high");
    assert_eq!(missing[0]["location"]["path"], "web/yarn.lock");
    assert!(
        missing[0]["title"]
            .as_str()
            .unwrap()
            .contains("no npm advisories"),
        "{json:#}"
    );
    let advice = missing[0]["fix"]["advice"].as_str().unwrap();
    assert!(
        advice.contains("allclear db update --ecosystem npm"),
        "{advice}"
    );
    assert!(advice.contains("allclear db import"), "{advice}");

    let ecosystems = json["coverage"]["ecosystems"].as_array().unwrap();
    let npm = ecosystems.iter().find(|e| e["ecosystem"] == "npm").unwrap();
    assert_eq!(npm["advisories"], 0);
    assert_eq!(npm["packages"], 1);
    assert_eq!(npm["unchecked"], 1);
    let gems = ecosystems
        .iter()
        .find(|e| e["ecosystem"] == "RubyGems")
        .unwrap();
    assert_eq!(gems["advisories"], 1);
    assert_eq!(gems["age_days"], 0);
    assert_eq!(json["coverage"]["lockfiles"], 2);

    // The interpreter has no lockfile ecosystem and `db update` cannot fetch its
    // advisories: a warning, not a failing finding.
    let repo = repo_with(&[(
        "Gemfile.lock",
        &format!(
            "{}\nRUBY VERSION\n   ruby 2.7.1p83\n",
            gemfile_lock("ruby", &["rack (9.0.0)"])
        ),
    )]);
    let (code, json, stderr) = scan_json(db.path(), repo.path());
    assert!(
        findings(&json, "deps.no-advisory-data").is_empty(),
        "{json:#}"
    );
    assert!(
        stderr.contains("the Ruby interpreter version was not checked"),
        "{stderr}"
    );
    assert_eq!(code, 0, "{stderr}\n{json:#}");
}

/// The all-clear line says what was covered, in every format.
#[test]
fn all_clear_states_what_was_covered() {
    let db = fixture_db();
    let repo = repo_with(&[("Gemfile.lock", &gemfile_lock("ruby", &["rack (9.0.0)"]))]);
    let run = |format: &str| {
        let output = allclear()
            .arg("scan")
            .arg("--db")
            .arg(db.path())
            .arg(repo.path())
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        stdout(&output)
    };
    let human = run("human");
    let line = human.lines().last().unwrap();
    assert!(
        line.starts_with("all clear: no findings in 1 file, 1 lockfile (RubyGems: 1 package against 3 advisories, imported today)"),
        "{human}"
    );
    assert!(line.contains("secret rules"), "{line}");
    assert!(run("markdown").contains("1 lockfile (RubyGems: 1 package against 3 advisories"));
    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    let coverage = &sarif["runs"][0]["properties"]["coverage"];
    assert_eq!(coverage["lockfiles"], 1, "{sarif:#}");
    assert_eq!(coverage["ecosystems"][0]["ecosystem"], "RubyGems");
}

/// `rack (2.2.3.garbage!)` used to be dropped without a word.
#[test]
fn unparsable_versions_are_warned_and_counted() {
    let db = fixture_db();
    let repo = repo_with(&[(
        "Gemfile.lock",
        &gemfile_lock("ruby", &["rack (2.2.3.garbage!)", "rake (13.0.0)"]),
    )]);
    let (_, json, stderr) = scan_json(db.path(), repo.path());
    assert!(
        stderr.contains("warning: Gemfile.lock:4: rack `2.2.3.garbage!` is not a RubyGems version"),
        "{stderr}"
    );
    assert!(
        json["warnings"].to_string().contains("Gemfile.lock:4"),
        "{json:#}"
    );
    assert_eq!(
        json["coverage"]["ecosystems"][0]["unchecked"], 1,
        "{json:#}"
    );
}

/// A yarn.lock cut off inside an entry used to give "all clear".
#[test]
fn truncated_yarn_lock_is_an_error_at_its_line() {
    let db = fixture_db();
    let repo = repo_with(&[(
        "yarn.lock",
        "# yarn lockfile v1\n\n\nlodash@^4.17.0:\n  version \"4.17.",
    )]);
    let output = allclear()
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let all = text(&output);
    assert!(all.contains("yarn.lock:5:"), "{all}");
    assert!(all.contains("truncated"), "{all}");
}

/// JRuby-only advisories (RubySec `platform: jruby`) are for lockfiles resolved for Java.
#[test]
fn platform_limited_advisories_follow_the_lockfile() {
    let db = db_from(&["rubysec"]);
    let ids = |platforms: &str, spec: &str| {
        let repo = repo_with(&[("Gemfile.lock", &gemfile_lock(platforms, &[spec]))]);
        let (_, json, _) = scan_json(db.path(), repo.path());
        let mut ids: Vec<String> = findings(&json, "deps.vulnerable")
            .iter()
            .map(|f| f["advisories"][0].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids("ruby", "nokogiri (1.11.4)"), ["CVE-2099-0011"]);
    assert_eq!(
        ids("x86_64-linux", "nokogiri (1.11.4-x86_64-linux)"),
        ["CVE-2099-0011"]
    );
    assert_eq!(
        ids("java", "nokogiri (1.11.4-java)"),
        ["CVE-2099-0010", "CVE-2099-0011"]
    );
}

/// Each finding shows its own advisory's fix; the Rails gems move together to the lowest
/// release that fixes every advisory of the family; a title never is a bare CVE id.
#[test]
fn own_fix_per_advisory_and_one_rails_version() {
    let db = db_from(&["rubysec"]);
    let repo = repo_with(&[(
        "Gemfile.lock",
        &gemfile_lock(
            "ruby",
            &[
                "activerecord (6.0.3.7)",
                "activestorage (6.0.3.7)",
                "nokogiri (1.11.4)",
            ],
        ),
    )]);
    let (code, json, stderr) = scan_json(db.path(), repo.path());
    assert_eq!(code, 1, "{stderr}");
    let vulnerable = findings(&json, "deps.vulnerable");
    let of = |name: &str| {
        *vulnerable
            .iter()
            .find(|f| f["package"]["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {json:#}"))
    };
    let activerecord = of("activerecord");
    assert_eq!(
        activerecord["fix"]["version"], "6.0.5.1",
        "{activerecord:#}"
    );
    assert_eq!(activerecord["details"]["upgrade_to"], "7.0.8");
    assert_eq!(activerecord["details"]["release_train"], "rails");
    assert_eq!(of("activestorage")["details"]["upgrade_to"], "7.0.8");
    let nokogiri = of("nokogiri");
    assert_eq!(
        nokogiri["title"],
        "nokogiri 1.11.4: The HTML parser does not bound the depth of nested elements, which can lead to a stack overflow."
    );

    let output = allclear()
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(repo.path())
        .output()
        .unwrap();
    let human = stdout(&output);
    assert!(
        human.contains("Gemfile.lock: rails 6.0.3.7 → 7.0.8 (activerecord, activestorage)"),
        "{human}"
    );
    assert!(human.contains("fix: upgrade to 6.0.5.1"), "{human}");
}
