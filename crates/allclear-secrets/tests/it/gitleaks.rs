//! Another scanner's fixtures (`conformance/secrets/gitleaks/`): the secret in every archive
//! form, and every secret of a small repository's history.

use std::path::Path;

use allclear_secrets::{Scanner, SecretsConfig};

use crate::support::shared_dir;

/// The AWS key gitleaks plants in its fixtures.
const PLANTED: &str = "secrets.aws-access-key-id";

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn finds_the_secret_in_every_archive_form() {
    let Some(dir) = shared_dir("conformance/secrets/gitleaks/archives") else {
        return;
    };
    let scanner = Scanner::new(&SecretsConfig::default()).unwrap();
    let mut checked = 0;
    for file in files_under(&dir) {
        let rel = file
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.contains(".go") || name.starts_with("files.") || name.starts_with("nested")) {
            continue;
        }
        let out = scanner.scan_path(&rel, &file);
        assert!(out.errors.is_empty(), "{rel}: {:?}", out.errors);
        let hits: Vec<_> = out.findings.iter().filter(|f| f.rule == PLANTED).collect();
        assert!(
            !hits.is_empty(),
            "{rel}: no AWS key found in {:#?}",
            out.findings
        );
        for hit in &hits {
            assert!(hit.location.path.starts_with(&rel), "{}", hit.location.path);
            assert_eq!(hit.location.line, Some(20), "{}", hit.location.path);
        }
        if rel.contains(".zip") || rel.contains(".tar") || rel.contains(".7z") {
            assert!(
                hits.iter().all(|h| h.location.path.contains('!')),
                "{hits:#?}"
            );
        }
        checked += 1;
    }
    // api.go, main.go, main.go.{gz,xz,zst}, files.{7z,tar,tar.xz,tar.zst,zip}, nested.tar.gz
    assert_eq!(checked, 11);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let target = to.join(if name == "dotGit" {
            ".git".into()
        } else {
            name
        });
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::write(&target, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}

/// Every secret gitleaks expects in `repos/small`, found once per blob with the commits
/// and paths that introduced it.
#[test]
fn finds_every_expected_secret_in_the_small_repository_history() {
    let (Some(repo), Some(expected)) = (
        shared_dir("conformance/secrets/gitleaks/repos/small"),
        shared_dir("conformance/secrets/gitleaks/expected/git/small.txt"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo, dir.path());
    let scanner = Scanner::new(&SecretsConfig::default()).unwrap();
    let scan = allclear_secrets::scan_history(&scanner, dir.path()).unwrap();
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    assert!(scan.commits >= 9, "{} commits", scan.commits);

    // The secrets gitleaks lists: every AWS key id in its expected output.
    let expected = std::fs::read_to_string(expected).unwrap();
    let key_id = regex::Regex::new(r"\b(?:AKIA|ASIA)[A-Z2-7]{16}\b").unwrap();
    let secrets: std::collections::BTreeSet<&str> =
        key_id.find_iter(&expected).map(|m| m.as_str()).collect();
    assert!(!secrets.is_empty());
    let aws: Vec<_> = scan.findings.iter().filter(|f| f.rule == PLANTED).collect();
    for secret in &secrets {
        let redacted = allclear_secrets::redact(secret.as_bytes());
        assert!(
            aws.iter()
                .any(|f| f.details["redacted"] == redacted.as_str()),
            "{secret} not found in {aws:#?}"
        );
    }
    // The lines gitleaks reports sit in main.go and foo/foo.go; each finding names the
    // commits and paths that introduced its blob, and a blob is scanned once.
    let introduced: Vec<String> = aws
        .iter()
        .flat_map(|f| f.details["introduced"].as_array().unwrap().iter())
        .map(|i| i["path"].as_str().unwrap().to_owned())
        .collect();
    for path in ["main.go", "foo/foo.go"] {
        assert!(
            introduced.iter().any(|p| p == path),
            "{path} not in {introduced:?}"
        );
    }
    let mut blobs: Vec<&str> = aws
        .iter()
        .map(|f| f.details["blob"].as_str().unwrap())
        .collect();
    let before = blobs.len();
    blobs.dedup();
    assert_eq!(before, blobs.len(), "a blob was reported twice");
    for f in &aws {
        let commit = f.details["introduced"][0]["commit"].as_str().unwrap();
        assert_eq!(commit.len(), 40);
    }
}

/// `--staged`: only what differs from HEAD is scanned.
#[test]
fn staged_scan_sees_only_the_staged_change() {
    let Some(repo) = shared_dir("conformance/secrets/gitleaks/repos/small") else {
        return;
    };
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no git command to stage a change");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo, dir.path());
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.email=t@example.com",
                "-c",
                "user.name=t",
                "-c",
                "safe.directory=*",
            ])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["checkout", "-q", "-f", "HEAD"]);
    let scanner = Scanner::new(&SecretsConfig::default()).unwrap();
    let clean = allclear_secrets::scan_staged(&scanner, dir.path()).unwrap();
    assert_eq!(clean.blobs, 0, "nothing staged yet: {clean:?}");
    std::fs::write(
        dir.path().join("notify.sh"),
        "SLACK_TOKEN=xoxb-284957209341-2849572093412-Qm7TpW2zXr9LkVb3NcYd8Hs1\n",
    )
    .unwrap();
    git(&["add", "notify.sh"]);
    let staged = allclear_secrets::scan_staged(&scanner, dir.path()).unwrap();
    assert_eq!(staged.blobs, 1);
    let rules: Vec<_> = staged
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.location.path.as_str()))
        .collect();
    assert_eq!(rules, [("secrets.slack-token", "notify.sh")]);
}

#[test]
fn a_directory_that_is_not_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let scanner = Scanner::new(&SecretsConfig::default()).unwrap();
    let err = allclear_secrets::scan_history(&scanner, dir.path()).unwrap_err();
    assert!(err.to_string().contains("not a git repository"), "{err}");
}
