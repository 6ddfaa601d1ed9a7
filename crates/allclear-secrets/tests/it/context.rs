//! What a file is for decides how its findings are judged: translations, lockfiles and
//! generated files hold no generic credentials, values that are names or prose are not
//! secrets, package metadata lists people on purpose, and a sample credential in a test,
//! example or document is reported at a lower severity with the context named (a key that
//! proves itself real keeps its severity).

use allclear_core::Severity;
use allclear_secrets::{Scanner, SecretsConfig};

fn scan(path: &str, text: &str) -> Vec<allclear_core::Finding> {
    Scanner::new(&SecretsConfig::default())
        .unwrap()
        .scan_file(path, text.as_bytes())
}

fn rules(path: &str, text: &str) -> Vec<String> {
    scan(path, text).into_iter().map(|f| f.rule).collect()
}

#[test]
fn translations_are_not_credentials_by_path_and_by_shape() {
    assert!(
        rules(
            "config/locales/es.yml",
            "es:\n  password: Contraseña\n  secret: Secreto\n"
        )
        .is_empty()
    );
    assert!(rules("src/lang/ar-SY.json", "{\"Password\": \"كلمة المرور\"}\n").is_empty());
    assert!(
        rules(
            "locale/fr/LC_MESSAGES/django.po",
            "msgid \"password\"\nmsgstr \"mot-de-passe\"\n"
        )
        .is_empty()
    );
    // By shape, wherever the file is: a word in another script is prose.
    assert!(rules("config/app.yml", "label:\n  password: Contraseña\n").is_empty());
    // A real-looking password in a non-translation file still counts.
    assert_eq!(
        rules("config/app.yml", "password: Zq8vN3xTw1\n"),
        ["secrets.generic-password"]
    );
}

#[test]
fn lockfiles_hold_package_names_and_versions_not_passwords() {
    let lock = "{\n  \"packages\": {\n    \"node_modules/minipass\": {\n      \"dependencies\": {\n        \"minipass\": \"^7.1.2\",\n        \"passwd-user\": \"~3.0.0\"\n      }\n    }\n  }\n}\n";
    assert!(rules("package-lock.json", lock).is_empty());
    assert!(
        rules(
            "yarn.lock",
            "grunt-cli@1.4.3:\n  dependencies:\n    parse-passwd \"^1.0.0\"\n"
        )
        .is_empty()
    );
    assert!(rules("Gemfile", "gem 'strong_password', '~> 0.0.9'\n").is_empty());
    // A version range is no password anywhere.
    assert!(rules("config/deps.yml", "password: ^7.1.2\n").is_empty());
    // Credentials a lockfile really carries still count.
    let with_url =
        "    \"resolved\": \"https://deploy:Zq8vN3xTw1Kp@registry.corp.io/a/-/a-1.0.0.tgz\"\n";
    assert_eq!(
        rules("package-lock.json", with_url),
        ["secrets.url-credentials"]
    );
    let with_token = "//registry.npmjs.org/:_authToken=npm_R4nd0mT0k3nV4lu3F0rT3st1ngOnlyAb12\n";
    assert!(!rules("yarn.lock", with_token).is_empty());
}

#[test]
fn names_calls_and_attribute_accesses_are_not_secrets() {
    let code = "signer = TimestampSigner(salt=\"reports\")\n\
                old_password = self.alice.password\n\
                user = authenticate(username=username, password=password)\n\
                key = os.environ[\"S3_SECRET_KEY\"]\n";
    assert!(
        rules("hc/accounts/views.py", code).is_empty(),
        "{:#?}",
        scan("hc/accounts/views.py", code)
    );
    assert!(rules("README.md", "Set `S3_SECRET_KEY = `S3_ENDPOINT`` first.\n").is_empty());
    // A value named after its key is a name or a default, not a secret.
    assert!(rules("server/util.js", "jwtSecretBean.key = \"jwtSecret\";\n").is_empty());
    assert!(rules("docker-compose.yml", "      POSTGRES_PASSWORD: postgres\n").is_empty());
    assert!(
        rules(
            "src/Twilio.vue",
            "<i18n-t key=\"twilioMessagingServiceSIDHelptext\" tag=\"div\">\n"
        )
        .is_empty()
    );
}

#[test]
fn commented_out_examples_with_sample_values_are_not_findings() {
    let devise = "  # config.secret_key = 'abcdefg'\n  # deepl_api_key: \"48E92789-57A3-466A-9959-1A1A1A1A1A1A\"\n";
    assert!(rules("config/initializers/devise.rb", devise).is_empty());
    // A comment does not hide a real-looking value.
    assert_eq!(
        rules(
            "config/initializers/devise.rb",
            "  # config.secret_key = 'Zq8vN3xTw1Kp7'\n"
        ),
        ["secrets.generic-secret"]
    );
}

#[test]
fn context_lowers_severity_and_names_itself() {
    let text = "\tpassword := \"Zq8vN3xTw1\"\n";
    let found = scan("client/client_test.go", text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].severity, Severity::Low);
    assert_eq!(found[0].details["context"], "test");
    assert!(
        found[0].title.contains("in a test file"),
        "{}",
        found[0].title
    );
    for (path, context) in [
        ("config/testdata/conf.yaml", "fixture"),
        (".examples/compose/compose.yaml", "example"),
        ("README.md", "documentation"),
    ] {
        let found = scan(path, "password: Zq8vN3xTw1\n");
        assert_eq!(found.len(), 1, "{path}");
        assert_eq!(found[0].severity, Severity::Low, "{path}");
        assert_eq!(found[0].details["context"], context, "{path}");
    }
    // The same outside a sample context keeps its severity and names no context.
    let found = scan("client/client.go", text);
    assert_eq!(found[0].severity, Severity::High);
    assert!(!found[0].details.contains_key("context"));
}

#[test]
fn keys_that_prove_themselves_real_keep_their_severity_anywhere() {
    let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n";
    let found = scan("testdata/client.key", key);
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|f| f.severity == Severity::Critical && !f.details.contains_key("context")),
        "{found:#?}"
    );

    // A GitHub token whose CRC32 checksum holds, and one whose does not.
    let real = github_token(b"R4nd0mT0k3nV4lu3F0rT3st1ngOnly");
    let found = scan("tests/test_api.py", &format!("token = \"{real}\"\n"));
    assert_eq!(found[0].rule, "secrets.github-token");
    assert!(found[0].severity > Severity::Low, "{found:#?}");
    let typed = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnlyAbCd12";
    let found = scan("tests/test_api.py", &format!("token = \"{typed}\"\n"));
    assert_eq!(found[0].severity, Severity::Low);
}

/// A `ghp_` token with a valid checksum: base62 of the CRC32 of its random part.
fn github_token(random: &[u8]) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut crc = crc32(random);
    let mut check = [b'0'; 6];
    for slot in check.iter_mut().rev() {
        *slot = BASE62[(crc % 62) as usize];
        crc /= 62;
    }
    format!(
        "ghp_{}{}",
        String::from_utf8_lossy(random),
        String::from_utf8_lossy(&check)
    )
}

/// CRC-32 (IEEE), bit by bit: the test's own reference, independent of the scanner's.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn package_metadata_and_generated_data_are_not_personal_data() {
    let mut authors = String::from("{\"packages\": [\n");
    let first = ["ana", "bo", "cyd", "dina", "ed", "flo"];
    let last = ["kim", "lund", "moreau", "novak", "ortiz"];
    for (i, (f, l)) in first
        .iter()
        .flat_map(|f| last.iter().map(move |l| (f, l)))
        .enumerate()
    {
        authors.push_str(&format!(
            "{{\"name\": \"vendor/pkg{i}\", \"authors\": [{{\"email\": \"{f}.{l}@{l}mail.org\"}}]}},\n"
        ));
    }
    authors.push_str("]}\n");
    assert!(
        !rules("composer.lock", &authors)
            .iter()
            .any(|r| r == "personal.unsanitized-data")
    );
    assert!(
        !rules("AUTHORS", &authors)
            .iter()
            .any(|r| r == "personal.unsanitized-data")
    );
    // The same addresses in a data export are personal data.
    assert!(
        rules("exports/users.json", &authors)
            .iter()
            .any(|r| r == "personal.unsanitized-data")
    );

    // An icon font's glyph codes: Luhn-valid runs of digits, no cards.
    let mut font = String::from("{\"icons\": [\n");
    for n in 0..40u64 {
        font.push_str(&format!(
            "{{\"code\": {}, \"grid\": 16}},\n",
            luhn_number(4_539_578_763_621_000 + n * 37)
        ));
    }
    font.push_str("]}\n");
    assert!(rules("stuff/icons_icomoon_project.json", &font).is_empty());
    assert!(rules("data/glyphs.json", &font).is_empty());
}

/// `base` with its last digit replaced by the Luhn check digit.
fn luhn_number(base: u64) -> u64 {
    let stem = base / 10;
    for check in 0..10 {
        let n = stem * 10 + check;
        let digits: Vec<u32> = n
            .to_string()
            .chars()
            .rev()
            .map(|c| c.to_digit(10).unwrap())
            .collect();
        let sum: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                if i % 2 == 1 {
                    let x = d * 2;
                    if x > 9 { x - 9 } else { x }
                } else {
                    d
                }
            })
            .sum();
        if sum.is_multiple_of(10) {
            return n;
        }
    }
    unreachable!()
}
