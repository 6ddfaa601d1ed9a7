//! Property tests: arbitrary input never panics, and a planted secret never leaves the
//! scanner except redacted, whatever surrounds it.

use std::sync::LazyLock;

use allclear_secrets::{Scanner, SecretsConfig};
use proptest::prelude::*;

static SCANNER: LazyLock<Scanner> =
    LazyLock::new(|| Scanner::new(&SecretsConfig::default()).unwrap());

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096),
                                   path in "[a-z./_!]{0,30}") {
        let _ = SCANNER.wants(&path, &bytes);
        let _ = SCANNER.scan(&path, &bytes);
    }

    #[test]
    fn planted_token_is_found_and_only_redacted(
        before in "[ -~\n]{0,200}",
        after in "[ -~\n]{0,200}",
        body in "[A-Za-z0-9]{36}",
    ) {
        prop_assume!(body.chars().any(|c| c.is_ascii_digit()) && body.chars().any(|c| c.is_ascii_uppercase()));
        let token = format!("ghp_{body}");
        let text = format!("{before}\ntoken: {token}\n{after}");
        let findings = SCANNER.scan_file("notes.txt", text.as_bytes());
        prop_assert!(findings.iter().any(|f| f.rule == "secrets.github-token"), "{findings:?}");
        let json = serde_json::to_string(&findings).unwrap();
        prop_assert!(!json.contains(&body[4..32]));
    }
}
