//! Tests that keep placeholders, references and code out of the findings.
//!
//! A regex says "this has the shape of a secret"; these functions say "and it is not
//! `changeme`, `${DB_PASSWORD}`, `<your-token>`, `os.environ[...]` or `xxxxxxxx`".

/// Shannon entropy of the bytes, in bits per byte.
pub(crate) fn entropy(value: &[u8]) -> f32 {
    if value.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in value {
        counts[b as usize] += 1;
    }
    let len = value.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / len;
            -p * p.log2()
        })
        .sum()
}

/// Words that, inside a value, mean someone left a placeholder (matched lowercase).
const PLACEHOLDER_WORDS: &[&str] = &[
    "xxxx",
    "****",
    "....",
    "####",
    "${",
    "{{",
    "}}",
    "<%",
    "changeme",
    "change_me",
    "change-me",
    "changethis",
    "change_this",
    "replaceme",
    "replace_me",
    "replace-me",
    "replace_with",
    "your_",
    "your-",
    "yourpass",
    "yourtoken",
    "yourkey",
    "yoursecret",
    "yourapi",
    "placeholder",
    "example",
    "dummy",
    "redacted",
    "insert_",
    "insert-",
    "enter_",
    "enter-your",
    "_here",
    "-here",
    "notreal",
    "not_real",
    "not-a-real",
    "sample_",
    "todo",
    "fixme",
    "&lt;",
    "&gt;",
];

/// Whole values that are placeholders or mean "no value" (matched lowercase).
const PLACEHOLDER_VALUES: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "key",
    "none",
    "null",
    "nil",
    "undefined",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "empty",
    "string",
    "str",
    "text",
    "required",
    "optional",
    "hidden",
    "default",
    "test",
    "testing",
    "example",
    "sample",
    "mypassword",
    "my_password",
    "yourpassword",
    "your_password",
    "new_password",
    "newpassword",
    "old_password",
    "foobar",
    "foo",
    "bar",
    "baz",
    "1234",
    "0000",
    "user",
    "username",
    "guest",
];

/// True for values nobody would use as a real secret: placeholders, one repeated character,
/// angle-bracket or template markers.
pub(crate) fn is_placeholder(value: &[u8]) -> bool {
    let trimmed = value.trim_ascii();
    if trimmed.is_empty() {
        return true;
    }
    let lower = trimmed.to_ascii_lowercase();
    if PLACEHOLDER_VALUES
        .iter()
        .any(|p| lower.as_slice() == p.as_bytes())
    {
        return true;
    }
    if PLACEHOLDER_WORDS
        .iter()
        .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
    {
        return true;
    }
    if trimmed.starts_with(b"<") && trimmed.ends_with(b">") {
        return true;
    }
    // `aaaaaaaa`, `0000000000`, `-----`: at most two distinct bytes in something long.
    let mut distinct = [false; 256];
    let mut n = 0;
    for &b in trimmed {
        if !distinct[b as usize] {
            distinct[b as usize] = true;
            n += 1;
        }
    }
    if trimmed.len() >= 6 && n <= 2 {
        return true;
    }
    // A long run of one character inside a value (`sk_live_000000000000`), or the typed
    // `a1b2c3d4e5…` filler (ten or more: a random token never has it; a plain ascending run
    // is left to the generic rules, since vendors' own test keys such as
    // `A3T0ABCDEFGHIJKLMNOP` are real-shaped).
    longest_run(trimmed) >= 8 || longest_interleaved_run(trimmed) >= 10
}

/// The longest stretch of `a1b2c3…` (or `1a2b3c…`): letters and digits alternating, each
/// kind stepping by one.
fn longest_interleaved_run(value: &[u8]) -> usize {
    let mut best = 0;
    let mut start = 0;
    for i in 0..value.len() {
        let fits = |i: usize| {
            let (Some(&b), Some(&prev)) =
                (value.get(i), i.checked_sub(1).and_then(|p| value.get(p)))
            else {
                return false;
            };
            let alternates = b.is_ascii_alphabetic() && prev.is_ascii_digit()
                || b.is_ascii_digit() && prev.is_ascii_alphabetic();
            let steps = i < 2
                || i - 2 < start
                || value
                    .get(i - 2)
                    .is_some_and(|&two_back| b == two_back.wrapping_add(1));
            alternates && steps
        };
        if i > start && !fits(i) {
            start = i;
        }
        best = best.max(i + 1 - start);
    }
    if best < 2 { 0 } else { best }
}

fn longest_run(value: &[u8]) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for &b in value {
        if Some(b) == prev {
            run += 1;
        } else {
            run = 1;
            prev = Some(b);
        }
        best = best.max(run);
    }
    best
}

/// True when the value refers to something else instead of being a secret: a shell or
/// template variable, an environment lookup, a format directive, a Ruby symbol.
pub(crate) fn is_reference(value: &[u8]) -> bool {
    // `"'$VAR'"`: shell quoting around a reference.
    let trimmed = value.trim_ascii();
    let v = trimmed
        .strip_prefix(b"'")
        .or_else(|| trimmed.strip_prefix(b"\""))
        .unwrap_or(trimmed);
    let Some(&first) = v.first() else {
        return true;
    };
    let second = v.get(1).copied().unwrap_or(0);
    match first {
        // $VAR, ${VAR}, $(cmd), $_POST[...]
        b'$' if second.is_ascii_alphabetic() || matches!(second, b'{' | b'(' | b'_' | b'$') => {
            return true;
        }
        // %VAR%, %s, %(name)s, %{name}
        b'%' if second.is_ascii_alphabetic() || matches!(second, b'(' | b'{' | b'%') => {
            return true;
        }
        b'{' | b'<' | b'[' => return true,
        // A YAML tag (`!vault |`, `!Ref DbPassword`).
        b'!' if second.is_ascii_alphabetic() => return true,
        // Ruby symbol `:password`, or `@variable`.
        b':' | b'@' if second.is_ascii_alphabetic() || second == b'_' => return true,
        _ => {}
    }
    let lower = v.to_ascii_lowercase();
    const LOOKUPS: &[&str] = &[
        "process.env",
        "os.environ",
        "os.getenv",
        "getenv(",
        "env(",
        "env[",
        "env.",
        "environ[",
        "secrets.",
        "vars.",
        "config.get",
        "#{",
        "@{",
        "{{",
        "${",
        "%(",
        "lookup(",
        "vault(",
        "settings.",
    ];
    LOOKUPS
        .iter()
        .any(|l| memchr::memmem::find(&lower, l.as_bytes()).is_some())
}

/// True when a bare (unquoted) value is an expression in code rather than a literal: a
/// dotted name (`request.form`), an all-caps constant (`DEFAULT_PASSWORD`), a call.
pub(crate) fn is_code_expression(value: &[u8], next: Option<u8>) -> bool {
    if matches!(next, Some(b'(' | b'[' | b'.' | b'{' | b'+')) {
        return true;
    }
    let v = value.trim_ascii();
    let identifier =
        |s: &[u8]| !s.is_empty() && s.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    // a.b or a.b.c made only of identifiers
    if v.contains(&b'.')
        && v.split(|&b| b == b'.').all(|part| {
            identifier(part)
                && part
                    .first()
                    .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        })
    {
        return true;
    }
    // SOME_CONSTANT: upper-case letters and underscores with at least one underscore, or a
    // word that is clearly a type/keyword.
    if v.len() >= 3
        && v.iter()
            .all(|&b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
        && v.contains(&b'_')
    {
        return true;
    }
    v.ends_with(b"()") || v.starts_with(b"new ") || v.starts_with(b"function")
}

/// True for values that are paths, URLs, CSS selectors or labels rather than secrets.
pub(crate) fn is_not_secret_text(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    // The inside of a concatenation (`"+new Buffer("`, `'.$p['`): the quotes matched the
    // wrong strings.
    if v.starts_with(b"+") || v.ends_with(b"+") || v.starts_with(b".") || v.ends_with(b"(") {
        return true;
    }
    // A route or path without a leading slash (`cms/sites/passwords#edit`).
    if v.iter().filter(|&&b| b == b'/').count() >= 2
        && v.split(|&b| b == b'/').all(|seg| {
            seg.iter().all(|&b| {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'#' | b':')
            })
        })
        && v.iter().filter(|b| b.is_ascii_alphabetic()).count() * 2 > v.len()
    {
        return true;
    }
    if v.starts_with(b"/") || v.starts_with(b"./") || v.starts_with(b"../") || v.starts_with(b"~/")
    {
        return true;
    }
    if memchr::memmem::find(v, b"://").is_some() {
        return true;
    }
    // `#add-password`: an id selector, letters and dashes only.
    if let Some(rest) = v.strip_prefix(b"#")
        && !rest.is_empty()
        && rest
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
    {
        return true;
    }
    // A label (`Password:`) or a sentence (three or more words).
    if v.ends_with(b":") || v.ends_with(b"...") {
        return true;
    }
    let words = v.split(|&b| b == b' ').filter(|w| !w.is_empty()).count();
    if words >= 3 {
        return true;
    }
    // An ARN or similar resource name.
    v.starts_with(b"arn:")
}

/// Splits a key into lowercase words: `REACT_APP_AUTH_PASSWORD`, `fbApiKey`, `db.password`.
#[cfg(test)]
pub(crate) fn key_words(key: &[u8]) -> Vec<String> {
    let lower = key.to_ascii_lowercase();
    words_in(key, &lower)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The words of `key` as slices of `lower` (its ASCII-lowercase copy): one allocation for
/// the list instead of one per word, as this runs for most keyword hits in code.
pub(crate) fn words_in<'a>(key: &[u8], lower: &'a [u8]) -> Vec<&'a str> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut prev: Option<u8> = None;
    let word = |s: usize, e: usize| {
        lower
            .get(s..e)
            .and_then(|w| std::str::from_utf8(w).ok())
            .unwrap_or_default()
    };
    for (i, &b) in key.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if let Some(s) = start.take() {
                words.push(word(s, i));
            }
            prev = None;
            continue;
        }
        // camelCase boundary: lower or digit followed by upper.
        if b.is_ascii_uppercase()
            && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
            && let Some(s) = start.take()
        {
            words.push(word(s, i));
        }
        start.get_or_insert(i);
        prev = Some(b);
    }
    if let Some(s) = start {
        words.push(word(s, key.len()));
    }
    words
}

const PASSWORD_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passwort",
    "passphrase",
    "passcode",
    "pass",
    "pwd",
    "pswd",
    "pword",
];

/// Word endings that make a password-ish word something else.
const NOT_PASSWORD_WORDS: &[&str] = &[
    "bypass",
    "compass",
    "passthrough",
    "surpass",
    "overpass",
    "underpass",
    "trespass",
    "passenger",
    "passive",
];

/// Last words of keys that name something about a secret, not the secret itself.
const NOT_SECRET_LAST_WORDS: &[&str] = &[
    "id",
    "ids",
    "name",
    "names",
    "user",
    "username",
    "login",
    "email",
    "label",
    "field",
    "fields",
    "hint",
    "prompt",
    "placeholder",
    "length",
    "len",
    "size",
    "min",
    "max",
    "count",
    "type",
    "format",
    "policy",
    "policies",
    "rule",
    "rules",
    "regex",
    "pattern",
    "file",
    "files",
    "path",
    "dir",
    "url",
    "uri",
    "urls",
    "endpoint",
    "host",
    "header",
    "headers",
    "param",
    "params",
    "prefix",
    "suffix",
    "mode",
    "enabled",
    "enable",
    "disabled",
    "required",
    "reset",
    "expires",
    "expiry",
    "expiration",
    "exp",
    "ttl",
    "timeout",
    "method",
    "algorithm",
    "algo",
    "alg",
    "strength",
    "encoder",
    "hasher",
    "hash",
    "hashed",
    "digest",
    "column",
    "attribute",
    "validator",
    "validation",
    "visible",
    "visibility",
    "toggle",
    "icon",
    "text",
    "message",
    "msg",
    "error",
    "errors",
    "title",
    "description",
    "desc",
    "env",
    "var",
    "variable",
    "version",
    "location",
    "store",
    "provider",
    "service",
    "class",
    "handler",
    "manager",
    "callback",
    "event",
    "events",
    "route",
    "routes",
    "view",
    "page",
    "form",
    "input",
    "button",
    "link",
    "sha",
    "sha1",
    "sha256",
    "md5",
    "checksum",
    "integrity",
    "commit",
    "revision",
    "rev",
    "etag",
    "tag",
    "ref",
    "index",
    "idx",
    "position",
    "pos",
    "offset",
    "level",
    "scope",
    "scopes",
    "audience",
    "issuer",
    "usage",
    "source",
    "template",
    "changed",
    "updated",
    "created",
    "at",
    "date",
    "time",
];

/// What a key says about the value assigned to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// A password or passphrase: people choose these; no entropy test.
    Password,
    /// A secret a person may have chosen (`secret`, `pepper`): password rules, a little longer.
    HumanSecret,
    /// A token or key a machine generated: it must look random.
    Token,
    /// Nothing secret.
    Other,
}

pub(crate) fn classify_key(key: &[u8]) -> KeyKind {
    let lower = key.to_ascii_lowercase();
    let words = words_in(key, &lower);
    let Some(&last) = words.last() else {
        return KeyKind::Other;
    };
    if NOT_SECRET_LAST_WORDS.contains(&last) {
        return KeyKind::Other;
    }
    // `public_key`, `publishable_key`: public by design.
    if words
        .iter()
        .any(|&w| w == "public" || w == "publishable" || w == "pub")
    {
        return KeyKind::Other;
    }
    let password_word = |w: &str| {
        !NOT_PASSWORD_WORDS.iter().any(|n| w.ends_with(n))
            && (PASSWORD_WORDS.contains(&w)
                || w.ends_with("password")
                || w.ends_with("passwd")
                || w.ends_with("pwd")
                || (w.ends_with("pass") && w.len() <= 12))
    };
    // The password word must name the key (`db_password`, `REACT_APP_PASS`), not sit in
    // the middle of a phrase (`needless_pass_by_value`, `late-compile-pass.rs`).
    const QUALIFIERS: &[&str] = &[
        "confirmation",
        "confirm",
        "plain",
        "plaintext",
        "raw",
        "default",
        "old",
        "new",
        "value",
        "str",
        "string",
        "text",
        "enc",
        "encrypted",
        "b64",
        "base64",
    ];
    let n = words.len();
    let named = |i: usize| {
        words.get(i).is_some_and(|w| password_word(w))
            && (i + 1 == n || (i + 2 == n && QUALIFIERS.contains(&last)))
    };
    if named(n.saturating_sub(1)) || (n >= 2 && named(n - 2)) {
        return KeyKind::Password;
    }
    if words.iter().any(|w| password_word(w)) {
        return KeyKind::Other;
    }
    // Not `salt`: a salt is public by definition (Django's `salt="reports"` is a namespace).
    const HUMAN: &[&str] = &["secret", "secrets", "pepper", "passphrase"];
    const TOKEN: &[&str] = &[
        "token",
        "tokens",
        "apikey",
        "key",
        "credential",
        "credentials",
        "creds",
        "pat",
        "privatekey",
        "accesskey",
        "secretkey",
        "authkey",
        "apitoken",
        "authtoken",
        "accesstoken",
        "bearer",
        "signature",
        "sig",
        "dsn",
        "auth",
    ];
    // Words run together (`jwtsecret`, `apitoken`) count by their ending.
    let ends_in = |list: &[&str]| {
        words.iter().any(|w| {
            list.iter()
                .any(|h| w == h || (w.len() <= 24 && w.ends_with(h)))
        })
    };
    if ends_in(HUMAN) {
        // `client_secret`, `secret_key`: machine-made more often than not, but a person may
        // have typed it; treat it as human so "development#product" is still caught.
        return KeyKind::HumanSecret;
    }
    if ends_in(TOKEN) {
        return KeyKind::Token;
    }
    KeyKind::Other
}

/// A human-chosen password value worth reporting.
pub(crate) fn password_value(value: &[u8], key: &[u8], min_len: usize) -> bool {
    let v = value.trim_ascii();
    if v.len() < min_len || v.len() > 200 {
        return false;
    }
    if is_placeholder(v) || is_reference(v) || is_not_secret_text(v) {
        return false;
    }
    // The value repeats the key (`password = "password"`, `DB_PASSWORD=db_password`).
    let lower = v.to_ascii_lowercase();
    let key_lower = key.to_ascii_lowercase();
    // ... or one of its words (`POSTGRES_PASSWORD: postgres`): a default, named after the key.
    if lower == key_lower
        || (lower.len() >= 6 && memchr::memmem::find(&key_lower, &lower).is_some())
        || words_in(key, &key_lower)
            .iter()
            .any(|w| w.as_bytes() == lower.as_slice())
    {
        return false;
    }
    // A value that is itself a key-like name containing "password" and nothing else
    // (`SOME_PASSWORD`, `smtp_password`) is a reference or a label.
    if v.iter()
        .all(|&b| b.is_ascii_alphabetic() || b == b'_' || b == b'-' || b == b'.')
        && (memchr::memmem::find(&lower, b"password").is_some()
            || memchr::memmem::find(&lower, b"passwd").is_some())
        && v.iter().any(|&b| matches!(b, b'_' | b'-' | b'.'))
    {
        return false;
    }
    true
}

/// True for made-up values: an ascending run (`abcdef`, `123456`) or the interleaved
/// `a1b2c3d4` pattern that people type when they need something token-shaped.
pub(crate) fn has_sequence(value: &[u8]) -> bool {
    let mut run = 1;
    for pair in value.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b == a.wrapping_add(1) && a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() {
            run += 1;
            if run >= 6 {
                return true;
            }
        } else {
            run = 1;
        }
    }
    // a1b2c3 (or d4c3b2): letters stepping at even positions, digits at odd ones.
    value.windows(6).any(|w| {
        let step = |a: u8, b: u8, c: u8, d: i16| {
            i16::from(b) - i16::from(a) == d && i16::from(c) - i16::from(b) == d
        };
        let interleaved = |d: i16| {
            (w[0].is_ascii_alphabetic() && w[1].is_ascii_digit()
                || w[0].is_ascii_digit() && w[1].is_ascii_alphabetic())
                && step(w[0], w[2], w[4], d)
                && step(w[1], w[3], w[5], d)
        };
        interleaved(1) || interleaved(-1)
    })
}

/// A machine-generated token: long enough, varied enough, not words.
pub(crate) fn looks_random(value: &[u8], min_len: usize) -> bool {
    let v = value.trim_ascii();
    if v.len() < min_len || v.len() > 1000 {
        return false;
    }
    if is_placeholder(v) || is_reference(v) || is_not_secret_text(v) {
        return false;
    }
    let digits = v.iter().filter(|b| b.is_ascii_digit()).count();
    let upper = v.iter().filter(|b| b.is_ascii_uppercase()).count();
    let lower = v.iter().filter(|b| b.is_ascii_lowercase()).count();
    let classes = [digits, upper, lower].iter().filter(|&&n| n > 0).count();
    if classes < 2 {
        return false;
    }
    // Mostly letters with no digits: a name or sentence (`MyApplicationName`).
    if digits == 0 && v.len() < 24 {
        return false;
    }
    if v.contains(&b' ') || has_sequence(v) {
        return false;
    }
    entropy(v) >= 3.0
}

/// What kind of value a generic rule matched, beyond "a literal": a value that is not a
/// credential whatever its key says.
pub(crate) fn is_not_a_credential_value(value: &[u8]) -> bool {
    is_prose(value) || is_version_range(value) || is_identifier_reference(value)
}

/// Words, not a secret: a value with non-ASCII letters and nothing but letters, spaces and
/// punctuation (`Contraseña`, `كلمة المرور`). Translations are made of these. (Two ASCII
/// words can be a passphrase, `open sesame`; three are prose, see `is_not_secret_text`.)
pub(crate) fn is_prose(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    let Ok(text) = std::str::from_utf8(v) else {
        return false;
    };
    if text.is_empty() {
        return false;
    }
    let wordy = text.chars().all(|c| {
        c.is_alphabetic()
            || c.is_whitespace()
            || matches!(
                c,
                '.' | ',' | '!' | '?' | '\'' | '-' | '…' | ':' | '،' | '؟'
            )
    });
    if !wordy {
        return false;
    }
    !text.is_ascii()
}

/// A package version or version range (`^7.1.2`, `~> 0.0.9`, `>=1.2, <2`, `1.x`): what a
/// manifest or lockfile assigns to a package name.
pub(crate) fn is_version_range(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    if v.is_empty() || !v.iter().any(u8::is_ascii_digit) {
        return false;
    }
    v.split(|&b| b == b',' || b == b'|')
        .map(<[u8]>::trim_ascii)
        .filter(|part| !part.is_empty())
        .all(|part| {
            let part = part.trim_start_matches_any(b"^~><=!v ");
            let mut pieces = part.split(|&b| b == b'.');
            let first = pieces.next().unwrap_or_default();
            !first.is_empty()
                && first.iter().all(u8::is_ascii_digit)
                && part.iter().all(|&b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'.' | b'-' | b'+' | b'*' | b' ' | b'<' | b'>' | b'=')
                })
        })
}

/// A name standing for a value, not a value: an attribute access (`self.alice.password`),
/// a call (`getpass()`), a constant's name (`S3_SECRET_KEY`). Quoted or not.
pub(crate) fn is_identifier_reference(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    let v = v.trim_matches_any(b"`");
    // Names are words: short parts, few capitals and digits (a dotted token such as a JWT
    // has long parts full of both).
    let word_like = v.split(|&b| b == b'.').all(|part| {
        part.len() <= 30
            && part.iter().filter(|b| b.is_ascii_uppercase()).count() <= 3
            && part.iter().filter(|b| b.is_ascii_digit()).count() <= 2
    }) || !v.contains(&b'.');
    // `twilioMessagingServiceSIDHelptext`: camel-case words without digits, an i18n key or
    // a setting's name. (Not any word naming a secret: `thisismypassword` is a password.)
    let letters = !v.is_empty() && v.iter().all(u8::is_ascii_alphabetic);
    let humps = v
        .windows(2)
        .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
        .count();
    if letters && humps >= 2 && v.len() >= 12 {
        return true;
    }
    word_like
        && is_code_expression(v, None)
        && v.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'(' | b')'))
}

/// A bare name (`password`, `user_pass)`), what an unquoted value in code is: letters,
/// digits and underscores, starting with a letter or underscore, perhaps followed by the
/// punctuation that closes its expression.
pub(crate) fn is_bare_name(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    let end = v
        .iter()
        .rposition(|b| !matches!(b, b')' | b',' | b';' | b']' | b'}'))
        .map_or(0, |i| i + 1);
    let name = v.get(..end).unwrap_or_default();
    name.first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Typed sample values that a commented-out example carries (`# config.secret_key =
/// 'abcdefg'`): an ascending run, a placeholder, or a short unit repeated
/// (`1A1A1A1A`).
pub(crate) fn is_sample_value(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    is_placeholder(v) || has_sequence(v) || longest_periodic_run(v) >= 8
}

/// The longest stretch of `value` made of a unit of one or two bytes repeated.
fn longest_periodic_run(value: &[u8]) -> usize {
    let mut best = 0;
    for period in 1..=2usize {
        let mut run = period;
        for i in period..value.len() {
            if value.get(i) == value.get(i - period) {
                run += 1;
            } else {
                run = period;
            }
            best = best.max(run);
        }
    }
    best
}

/// Whether a line is a comment in the usual syntaxes (`#`, `//`, `--`, `;`, `*`, `<!--`).
pub(crate) fn is_comment_line(line: &[u8]) -> bool {
    let t = line.trim_ascii_start();
    [
        &b"#"[..],
        b"//",
        b"--",
        b";",
        b"*",
        b"/*",
        b"<!--",
        b"%",
        b"rem ",
    ]
    .iter()
    .any(|p| t.starts_with(p))
        && !t.starts_with(b"#!")
}

/// A GitHub token whose last six characters are the base62 CRC32 of the rest of its
/// random part (GitHub's token format since 2021): a real token, not a typed sample.
pub(crate) fn github_checksum_ok(token: &[u8]) -> bool {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let Some(underscore) = token.iter().rposition(|&b| b == b'_') else {
        return false;
    };
    let body = token.get(underscore + 1..).unwrap_or_default();
    if body.len() != 36 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (random, check) = body.split_at(30);
    let mut crc = crc32fast::hash(random);
    let mut encoded = [b'0'; 6];
    for slot in encoded.iter_mut().rev() {
        *slot = BASE62[(crc % 62) as usize];
        crc /= 62;
    }
    crc == 0 && encoded == check
}

trait TrimAny {
    fn trim_start_matches_any(&self, set: &[u8]) -> &[u8];
    fn trim_matches_any(&self, set: &[u8]) -> &[u8];
}

impl TrimAny for [u8] {
    fn trim_start_matches_any(&self, set: &[u8]) -> &[u8] {
        let start = self
            .iter()
            .position(|b| !set.contains(b))
            .unwrap_or(self.len());
        self.get(start..).unwrap_or_default()
    }

    fn trim_matches_any(&self, set: &[u8]) -> &[u8] {
        let rest = self.trim_start_matches_any(set);
        let end = rest
            .iter()
            .rposition(|b| !set.contains(b))
            .map_or(0, |i| i + 1);
        rest.get(..end).unwrap_or_default()
    }
}

#[cfg(test)]
mod value_kind_tests {
    use super::*;

    #[test]
    fn values_that_are_not_credentials() {
        for v in [
            "Contraseña",
            "كلمة المرور",
            "^7.1.2",
            "~> 0.0.9",
            ">= 1.2, < 2",
            "1.x",
            "self.alice.password",
            "`S3_SECRET_KEY`",
            "getpass()",
            "twilioMessagingServiceSIDHelptext",
        ] {
            assert!(is_not_a_credential_value(v.as_bytes()), "{v}");
        }
        for v in [
            "hunter2x",
            "Zq8vN3xTw1",
            "s3cr3t!",
            "open sesame",
            "eyJ0eXAiOiAiVENWMiJ9.RkNWLXdXS3M1RVBfencxM4A0WmJzdVlCQzFj",
        ] {
            assert!(!is_not_a_credential_value(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn sample_values_and_comments() {
        assert!(is_sample_value(b"abcdefg"));
        assert!(is_sample_value(b"48E92789-57A3-466A-9959-1A1A1A1A1A1A"));
        assert!(!is_sample_value(b"Zq8vN3xTw1"));
        assert!(is_comment_line(b"  # config.secret_key = 'x'"));
        assert!(is_comment_line(b"// password = 'x'"));
        assert!(!is_comment_line(b"password = 'x' # note"));
    }

    #[test]
    fn github_checksums() {
        // A token built with the checksum, and the same with its last character changed.
        let random = b"R4nd0mT0k3nV4lu3F0rT3st1ngOnly";
        let mut crc = crc32fast::hash(random);
        let mut check = [b'0'; 6];
        const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for slot in check.iter_mut().rev() {
            *slot = BASE62[(crc % 62) as usize];
            crc /= 62;
        }
        let token = [&b"ghp_"[..], random, &check].concat();
        assert!(github_checksum_ok(&token));
        let mut wrong = token.clone();
        *wrong.last_mut().unwrap() ^= 1;
        assert!(!github_checksum_ok(&wrong));
        assert!(!github_checksum_ok(
            b"ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnlyAbCd12"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_orders_random_above_repetitive() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"ab") - 1.0).abs() < 1e-6);
        assert!(entropy(b"e76f67ca8980aab6ae4bc13d2a43a6ada2706912") > 3.4);
    }

    #[test]
    fn placeholders() {
        for p in [
            "changeme",
            "xxxxxxxxxxxxxxxx",
            "<your-token>",
            "${DB_PASSWORD}",
            "aaaaaaaaaaaaaaaaaaaa",
            "YOUR_API_KEY",
            "sk_live_00000000000000",
            "password",
            "",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        for real in [
            "hunter2!",
            "e76f67ca8980aab6ae4bc13d2a43a6ada2706912",
            "open sesame",
        ] {
            assert!(!is_placeholder(real.as_bytes()), "{real}");
        }
    }

    #[test]
    fn references() {
        for r in [
            "$DB_PASS",
            "${X}",
            "%PASSWORD%",
            "%s",
            "{0}",
            ":password",
            "ENV['X']",
        ] {
            assert!(
                is_reference(r.as_bytes()) || is_placeholder(r.as_bytes()),
                "{r}"
            );
        }
        assert!(is_reference(b"process.env.SECRET"));
        assert!(!is_reference(b"$3cr3t!"), "a $ then a digit is a literal");
        assert!(!is_reference(b"s3cr3t"));
    }

    #[test]
    fn key_words_split_on_case_and_separators() {
        assert_eq!(
            key_words(b"REACT_APP_AUTH_PASSWORD"),
            ["react", "app", "auth", "password"]
        );
        assert_eq!(key_words(b"fbApiKey"), ["fb", "api", "key"]);
        assert_eq!(key_words(b"db.password"), ["db", "password"]);
    }

    #[test]
    fn key_classes() {
        assert_eq!(classify_key(b"DB_PASSWORD"), KeyKind::Password);
        assert_eq!(classify_key(b"jenkins_passwd"), KeyKind::Password);
        assert_eq!(classify_key(b"PASS"), KeyKind::Password);
        assert_eq!(classify_key(b"bypass"), KeyKind::Other);
        assert_eq!(classify_key(b"password_length"), KeyKind::Other);
        assert_eq!(classify_key(b"client_secret"), KeyKind::HumanSecret);
        assert_eq!(classify_key(b"GITHUB_TOKEN"), KeyKind::Token);
        assert_eq!(classify_key(b"fbApiKey"), KeyKind::Token);
        assert_eq!(classify_key(b"access_key_id"), KeyKind::Other);
        assert_eq!(classify_key(b"public_key"), KeyKind::Other);
        assert_eq!(classify_key(b"keyboard"), KeyKind::Other);
        assert_eq!(classify_key(b"needless_pass_by_value"), KeyKind::Other);
        assert_eq!(classify_key(b"late-compile-pass.rs"), KeyKind::Other);
        assert_eq!(classify_key(b"password_confirmation"), KeyKind::Password);
    }

    #[test]
    fn password_values() {
        assert!(password_value(b"open sesame", b"password", 4));
        assert!(password_value(b"#gets0m3", b"Password", 4));
        assert!(!password_value(b"#add-password", b"addPassword", 4));
        assert!(!password_value(b"Password:", b"passwordLabel", 4));
        assert!(!password_value(b"123", b"password", 4));
        assert!(!password_value(b"password", b"password", 4));
        assert!(!password_value(b"SOME_PASSWORD", b"password", 4));
        assert!(!password_value(
            b"/en/creating-a-strong-password",
            b"password",
            4
        ));
    }

    #[test]
    fn randomness() {
        assert!(looks_random(
            b"e76f67ca8980aab6ae4bc13d2a43a6ada2706912",
            16
        ));
        assert!(looks_random(b"zt7GeN6IH911xvRj", 16));
        assert!(!looks_random(b"MyApplicationName", 16));
        assert!(!looks_random(b"users_cache_key_v", 16));
        assert!(!looks_random(b"short1A", 16));
    }

    #[test]
    fn interleaved_filler_is_a_placeholder() {
        assert_eq!(longest_interleaved_run(b"a1b2c3d4e5f6g7h8"), 16);
        assert!(is_placeholder(b"a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8NRAL"));
        assert!(is_placeholder(b"1a2b3c4d5e"));
        assert!(!is_placeholder(b"a1b2c3d4e"));
        assert!(!is_placeholder(b"033f2f2072ca3f2cb2ec39019fa9e49cd640NRAL"));
        assert!(!is_placeholder(b"A3T0ABCDEFGHIJKLMNOP"));
        assert!(longest_interleaved_run(b"x9y0z1") < 10);
    }

    #[test]
    fn sequences() {
        assert!(has_sequence(b"px-api-a1b2c3d4-e5f6"));
        assert!(has_sequence(b"00QCjAl4MlV-WPXM-ABCDEFGHIJKL"));
        assert!(has_sequence(b"key123456"));
        assert!(has_sequence(b"px-dep-d4c3b2a1-f6e5"));
        assert!(!has_sequence(b"e76f67ca8980aab6ae4bc13d2a43a6ada2706912"));
    }

    #[test]
    fn code_expressions() {
        assert!(is_code_expression(b"request.form", None));
        assert!(is_code_expression(b"DEFAULT_PASSWORD", None));
        assert!(is_code_expression(b"getpass", Some(b'(')));
        assert!(!is_code_expression(b"open_sesame", None));
        assert!(!is_code_expression(b"whiteduke", Some(b' ')));
    }
}
