//! Secrets: random tokens, their hashes, passwords (Argon2id) and TOTP codes.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    // The OS generator failing is not something the server can serve through.
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the operating system's random generator failed: {e}");
    }
    bytes
}

/// A 256-bit random token as hex: session ids, API tokens, one-time links.
pub fn random_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// How a token is stored: tokens carry 256 bits of entropy, so a fast hash suffices (no
/// guessing to slow down), and a stolen database does not give working tokens.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

pub fn key_from_hex(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

/// Constant-time equality of two strings (CSRF tokens).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Argon2id at OWASP's first recommended configuration: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = match Params::new(19 * 1024, 2, 1, None) {
        Ok(params) => params,
        Err(e) => panic!("OWASP's Argon2 parameters are valid: {e}"),
    };
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password on a blocking thread (about 20–50 ms of CPU on purpose).
pub async fn hash_password(password: String) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .ok()
            .map(|hash| hash.to_string())
    })
    .await
    .ok()
    .flatten()
}

/// Checks a password against its stored hash, on a blocking thread.
pub async fn verify_password(stored: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        // An unknown user costs as much as a known one, so timing does not tell them apart.
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$hG6cl0B5XOmd0mN1Xq3q8q4hQ0iZ8wQ0v8QdO9m0Vjk";
        let stored = stored.unwrap_or_else(|| DUMMY.to_owned());
        match PasswordHash::new(&stored) {
            Ok(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
            Err(_) => false,
        }
    })
    .await
    .unwrap_or(false)
}

/// Passwords: 12 to 128 characters (ASVS 5.0 asks for at least 8; a second factor is
/// always enrolled too).
pub fn password_problem(password: &str) -> Option<&'static str> {
    let chars = password.chars().count();
    if chars < 12 {
        Some("The password must have at least 12 characters.")
    } else if chars > 128 {
        Some("The password must have at most 128 characters.")
    } else {
        None
    }
}

/// A new TOTP secret (160 bits, as RFC 4226 recommends), base32.
pub fn new_totp_secret() -> String {
    totp_rs::Secret::from(random_bytes::<20>()).to_base32()
}

fn totp(secret_base32: &str) -> Option<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).ok()?;
    totp_rs::Builder::new().with_secret(secret).build().ok()
}

/// The time step a code matches (one step of clock skew either way), if any. The caller
/// must refuse a step already used.
pub fn totp_step(secret_base32: &str, code: &str, now: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = totp(secret_base32)?.check(code, u64::try_from(now).ok()?)?;
    i64::try_from(step).ok()
}

/// The `otpauth://` URI authenticator apps import (typed in or scanned).
pub fn otpauth_uri(secret_base32: &str, username: &str) -> String {
    // Usernames are limited to [a-z0-9._-], so they need no percent-encoding.
    format!(
        "otpauth://totp/allclear:{username}?secret={secret_base32}&issuer=allclear&algorithm=SHA1&digits=6&period=30"
    )
}

/// Ten recovery codes of 80 bits each, grouped for reading (`xxxx-xxxx-xxxx-xxxx`).
pub fn new_recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let text = hex::encode(random_bytes::<8>());
            format!(
                "{}-{}-{}-{}",
                &text[0..4],
                &text[4..8],
                &text[8..12],
                &text[12..16]
            )
        })
        .collect()
}

/// Recovery codes are compared by hash, ignoring case, spaces and dashes.
pub fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    token_hash(&normal)
}

/// Usernames and project slugs: 1 to 40 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn valid_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_codes_match_their_step_only() {
        let secret = new_totp_secret();
        let totp = totp(&secret).unwrap();
        let now = 1_800_000_000;
        let code = totp.generate(now as u64).to_string();
        assert_eq!(totp_step(&secret, &code, now), Some(now / 30));
        assert_eq!(totp_step(&secret, &code, now + 300), None);
        assert_eq!(totp_step(&secret, "12345", now), None);
    }

    #[test]
    fn names_are_restricted() {
        assert!(valid_name("ada"));
        assert!(valid_name("web-shop.2"));
        assert!(!valid_name(""));
        assert!(!valid_name("-x"));
        assert!(!valid_name("Ada"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(&"a".repeat(41)));
    }

    #[test]
    fn recovery_codes_compare_loosely() {
        let code = &new_recovery_codes()[0];
        assert_eq!(
            recovery_hash(code),
            recovery_hash(&code.to_uppercase().replace('-', " "))
        );
    }

    #[test]
    fn dummy_hash_parses() {
        // verify_password's timing equaliser must really run Argon2.
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$hG6cl0B5XOmd0mN1Xq3q8q4hQ0iZ8wQ0v8QdO9m0Vjk";
        assert!(PasswordHash::new(hash).is_ok());
    }
}
