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
        let rel = file.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.contains(".go") || name.starts_with("files.") || name.starts_with("nested")) {
            continue;
        }
        let out = scanner.scan_path(&rel, &file);
        assert!(out.errors.is_empty(), "{rel}: {:?}", out.errors);
        let hits: Vec<_> = out.findings.iter().filter(|f| f.rule == PLANTED).collect();
        assert!(!hits.is_empty(), "{rel}: no AWS key found in {:#?}", out.findings);
        for hit in &hits {
            assert!(hit.location.path.starts_with(&rel), "{}", hit.location.path);
            assert_eq!(hit.location.line, Some(20), "{}", hit.location.path);
        }
        if rel.contains(".zip") || rel.contains(".tar") || rel.contains(".7z") {
            assert!(hits.iter().all(|h| h.location.path.contains('!')), "{hits:#?}");
        }
        checked += 1;
    }
    // api.go, main.go, main.go.{gz,xz,zst}, files.{7z,tar,tar.xz,tar.zst,zip}, nested.tar.gz
    assert_eq!(checked, 11);
}
