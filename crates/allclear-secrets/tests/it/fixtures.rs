//! Our own fixtures for what the shared anchors lack: Rails and Drupal secrets, every
//! restricted-file kind, an unsanitized dump and its sanitized twin, bad input.

use std::io::Write;

use allclear_secrets::{PERSONAL_DATA_RULE, Scanner, SecretsConfig};

use crate::support::fixture;

fn scanner() -> Scanner {
    Scanner::new(&SecretsConfig::default()).unwrap()
}

fn rules_of(rel: &str) -> Vec<String> {
    let out = scanner().scan_path(rel, &fixture(rel));
    assert!(out.errors.is_empty(), "{rel}: {:?}", out.errors);
    let mut rules: Vec<String> = out.findings.iter().map(|f| f.rule.clone()).collect();
    rules.sort();
    rules
}

#[test]
fn rails_secrets() {
    assert_eq!(
        rules_of("rails/config/master.key"),
        ["secrets.rails-master-key"]
    );
    assert_eq!(
        rules_of("rails/config/credentials/production.key"),
        ["secrets.rails-credentials-key"]
    );
    assert_eq!(
        rules_of("rails/config/credentials.yml.enc"),
        ["secrets.rails-credentials-with-key"]
    );
    // The development key is a literal; production reads the environment.
    assert_eq!(
        rules_of("rails/config/secrets.yml"),
        ["secrets.rails-secret-key-base"]
    );
    assert_eq!(
        rules_of("rails/config/initializers/devise.rb"),
        ["secrets.devise-secret-key"]
    );
}

#[test]
fn drupal_secrets() {
    assert_eq!(
        rules_of("drupal/sites/default/settings.php"),
        [
            "secrets.drupal-database-password",
            "secrets.drupal-hash-salt"
        ]
    );
    assert!(rules_of("drupal/sites/default/default.settings.php").is_empty());
}

#[test]
fn every_restricted_kind() {
    for (file, rule) in [
        ("restricted/keystore.jks", "restricted.keystore"),
        ("restricted/vault.kdbx", "restricted.keystore"),
        ("restricted/app.sqlite3", "restricted.sqlite-database"),
        ("restricted/nightly.backup", "restricted.database-dump"),
        ("restricted/id_ed25519", "restricted.ssh-private-key"),
        ("restricted/.htpasswd", "restricted.htpasswd"),
        ("restricted/terraform.tfstate", "restricted.terraform-state"),
        ("restricted/.bash_history", "restricted.shell-history"),
        ("restricted/settings.php.bak", "restricted.config-backup"),
    ] {
        let rules = rules_of(file);
        assert!(rules.iter().any(|r| r == rule), "{file}: {rules:?}");
    }
}

#[test]
fn unsanitized_dump_and_its_sanitized_twin() {
    let s = scanner();
    let dump = s.scan_path("patients_dump.sql", &fixture("personal/patients_dump.sql"));
    let personal = dump
        .findings
        .iter()
        .find(|f| f.rule == PERSONAL_DATA_RULE)
        .expect("personal data reported");
    let counts = personal.details["counts"].as_object().unwrap();
    for kind in [
        "email",
        "phone",
        "ssn",
        "date-of-birth",
        "card",
        "iban",
        "password-hash",
    ] {
        let n = counts.get(kind).and_then(|v| v.as_u64()).unwrap_or(0);
        assert!(n >= 50, "{kind}: {n} in {counts:?}");
    }
    // Samples are redacted: no e-mail local part or card number survives.
    let json = serde_json::to_string(personal).unwrap();
    assert!(!json.contains("@hotmail") && !json.contains("'4"), "{json}");
    // Sixty hashes are a user table, reported as personal data, not sixty secrets.
    assert!(
        !dump
            .findings
            .iter()
            .any(|f| f.rule == "secrets.password-hash")
    );
    assert!(
        dump.findings
            .iter()
            .any(|f| f.rule == "restricted.database-dump")
    );

    let twin = s.scan_path(
        "patients_dump_sanitized.sql",
        &fixture("personal/patients_dump_sanitized.sql"),
    );
    assert!(
        !twin.findings.iter().any(|f| f.rule == PERSONAL_DATA_RULE),
        "{:#?}",
        twin.findings
    );
    // A sanitized dump is still a dump: allow it in [restricted] if it belongs there.
    assert!(
        twin.findings
            .iter()
            .any(|f| f.rule == "restricted.database-dump")
    );
}

#[test]
fn dump_inside_an_archive_is_reported_with_its_inner_path() {
    let dump = std::fs::read(fixture("personal/patients_dump.sql")).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "exports/patients.sql",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    zip.write_all(&dump).unwrap();
    let zip = zip.finish().unwrap().into_inner();
    let s = scanner();
    assert!(s.wants("Downloads/export.zip", &zip));
    let found = s.scan_file("Downloads/export.zip", &zip);
    assert!(found.iter().any(|f| f.rule == PERSONAL_DATA_RULE
        && f.location.path == "Downloads/export.zip!exports/patients.sql"));
}

#[test]
fn bad_input_is_survived() {
    let s = scanner();
    // Binary files that are not restricted are not wanted; invalid UTF-8 text still scans.
    assert!(!s.wants("a.bin", &[0, 1, 2, 3, 0, 0, 7, 8]));
    let mut latin1 = b"caf\xe9 password = \"Zx9!vQ2#pL\"\n".to_vec();
    latin1.extend_from_slice(&[0xff, 0xfe, b'\n']);
    assert_eq!(s.scan_file("notes.txt", &latin1).len(), 1);
    // One enormous line (minified JavaScript) with keywords everywhere and a token at the end.
    let mut minified = Vec::new();
    for i in 0..50_000 {
        write!(minified, "var key{i}=token(a,b);").unwrap();
    }
    minified.extend_from_slice(b"var t=\"ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnlyAbCd12\";");
    let found = s.scan_file("dist/app.min.js", &minified);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, "secrets.github-token");
    // A truncated archive is an error in the output, not a panic.
    let out = s.scan("broken.zip", b"PK\x03\x04\x14\x00\x00\x00broken");
    assert!(!out.errors.is_empty());
}
