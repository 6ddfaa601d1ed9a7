//! Personal data that means a database was not sanitized: e-mail addresses, phone numbers,
//! US social security numbers, card numbers, IBANs, dates of birth and password hashes.
//!
//! One address in a comment is not a finding; a file with many distinct real values of one
//! kind is. Values that look like test data (`example.com`, 555-01xx numbers, the card and
//! IBAN numbers from payment documentation, `user1@…user2@…` sequences) do not count.
//! Findings carry counts per kind and a few redacted samples, never a value.

use std::collections::{BTreeMap, BTreeSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use allclear_core::{Finding, Fix, Location, Severity};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::config::PersonalConfig;
use crate::scanner::ScannerError;

/// The rule id of personal-data findings.
pub const RULE: &str = "personal.unsanitized-data";

/// Files with these extensions are always checked; others only when they hold enough `@`.
const DATA_EXTENSIONS: &[&str] = &[
    "csv", "tsv", "sql", "dump", "json", "jsonl", "ndjson", "xml", "txt", "log", "psv", "dat",
    "yml", "yaml",
];
/// Digits in the shortest phone number, SSN, card number or date the patterns accept.
const MIN_NUMBER_DIGITS: usize = 8;
/// Samples kept per kind.
const SAMPLES: usize = 3;
/// Distinct values kept per kind and file: past it, values are only counted (a file of
/// millions of addresses must not hold them all in memory to say it holds many).
const MAX_DISTINCT_VALUES: usize = 10_000;

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Email,
    Phone,
    Ssn,
    Card,
    Iban,
    DateOfBirth,
    PasswordHash,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Ssn => "ssn",
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::DateOfBirth => "date-of-birth",
            Kind::PasswordHash => "password-hash",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Kind::Email => "e-mail addresses",
            Kind::Phone => "phone numbers",
            Kind::Ssn => "US social security numbers",
            Kind::Card => "card numbers",
            Kind::Iban => "IBANs",
            Kind::DateOfBirth => "dates of birth",
            Kind::PasswordHash => "password hashes",
        }
    }
}

pub(crate) struct Detector {
    enabled: bool,
    min_values: usize,
    allow: GlobSet,
    email: LazyRegex,
    phone: LazyRegex,
    ssn: LazyRegex,
    card: LazyRegex,
    iban: LazyRegex,
    date: LazyRegex,
    hash: LazyRegex,
    /// Words that make dates dates of birth (in the first MiB).
    birth: AhoCorasick,
    /// Words that make Luhn-valid numbers card numbers (in the first MiB): a run of
    /// numbers in an icon font or a table of ids passes Luhn one time in ten.
    card_words: AhoCorasick,
}

/// What one file holds: distinct real values per kind and a few of them for samples.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub values: BTreeMap<Kind, BTreeSet<Vec<u8>>>,
    pub test_values: BTreeMap<Kind, usize>,
    /// Values seen once a kind's set held `MAX_DISTINCT_VALUES` (not known to be distinct).
    pub more: BTreeMap<Kind, usize>,
}

impl Tally {
    fn count(&self, kind: Kind) -> usize {
        self.values.get(&kind).map_or(0, BTreeSet::len) + self.more.get(&kind).copied().unwrap_or(0)
    }
}

/// A built-in pattern compiled on first use: most files never reach the personal-data
/// tally, and a pre-commit scan should not pay for compiling it.
pub(crate) struct LazyRegex {
    pattern: &'static str,
    regex: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    const fn new(pattern: &'static str) -> LazyRegex {
        LazyRegex {
            pattern,
            regex: OnceLock::new(),
        }
    }

    /// The regex; `None` only if a built-in pattern does not compile (a bug the unit tests
    /// catch), in which case its kind is not counted.
    fn get(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| Regex::new(self.pattern).ok())
            .as_ref()
    }

    fn find_iter<'r, 'h>(
        &'r self,
        hay: &'h [u8],
    ) -> impl Iterator<Item = regex::bytes::Match<'h>> + 'r
    where
        'h: 'r,
    {
        self.get().into_iter().flat_map(move |r| r.find_iter(hay))
    }

    fn captures_iter<'r, 'h>(
        &'r self,
        hay: &'h [u8],
    ) -> impl Iterator<Item = regex::bytes::Captures<'h>> + 'r
    where
        'h: 'r,
    {
        self.get()
            .into_iter()
            .flat_map(move |r| r.captures_iter(hay))
    }
}

impl Detector {
    pub fn new(config: &PersonalConfig) -> Result<Detector, ScannerError> {
        let mut allow = GlobSetBuilder::new();
        for pattern in &config.allow {
            allow.add(Glob::new(pattern).map_err(|source| ScannerError::Glob {
                pattern: pattern.clone(),
                source,
            })?);
        }
        Ok(Detector {
            enabled: config.enabled,
            min_values: config.min_values.max(1),
            allow: allow.build().map_err(|source| ScannerError::Glob {
                pattern: config.allow.join(", "),
                source,
            })?,
            email: LazyRegex::new(
                r"(?i-u)\b[a-z0-9][a-z0-9._%+\-]{0,63}@[a-z0-9][a-z0-9\-]{0,62}(?:\.[a-z0-9][a-z0-9\-]{0,62}){0,4}\.[a-z]{2,24}\b",
            ),
            phone: LazyRegex::new(
                r"(?-u)(?:^|[^0-9A-Za-z+\-])(\+?1[ .\-]?)?(?:\(([2-9][0-9]{2})\)[ .\-]?|([2-9][0-9]{2})[ .\-])([2-9][0-9]{2})[ .\-]([0-9]{4})(?:[^0-9A-Za-z\-]|$)|(?:^|[^0-9A-Za-z])(\+(?:[2-9][0-9]{1,2})[ .\-]?[0-9]{2,4}[ .\-]?[0-9]{3,4}[ .\-]?[0-9]{3,4})(?:[^0-9]|$)",
            ),
            ssn: LazyRegex::new(
                r"(?-u)(?:^|[^0-9\-])([0-9]{3})[- ]([0-9]{2})[- ]([0-9]{4})(?:[^0-9\-]|$)",
            ),
            card: LazyRegex::new(
                r"(?-u)(?:^|[^0-9\-])([0-9](?:[0-9]|[ \-][0-9]){12,22})(?:[^0-9\-]|$)",
            ),
            iban: LazyRegex::new(
                r"(?-u)\b([A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b",
            ),
            date: LazyRegex::new(
                r"(?-u)\b(?:(19[0-9]{2}|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])|(0[1-9]|1[0-2])/(0[1-9]|[12][0-9]|3[01])/(19[0-9]{2}|20[0-9]{2}))\b",
            ),
            hash: LazyRegex::new(
                r"(?-u)\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}|\$(?:1|apr1)\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}|\$[56]\$(?:rounds=[0-9]{1,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86}|\$[SPH]\$[./A-Za-z0-9]{31,52}|(?:pbkdf2_sha256|pbkdf2_sha1|bcrypt_sha256|argon2)\$[A-Za-z0-9$=+/.,]{30,300}",
            ),
            birth: AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(["birth", "dob", "born"])
                .map_err(|e| ScannerError::Engine(crate::engine::EngineError::Keywords(e)))?,
            card_words: AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build([
                    "card",
                    "credit",
                    "visa",
                    "mastercard",
                    "amex",
                    "payment",
                    "ccnum",
                    "cc_num",
                    "cc-num",
                    "pan_",
                    "_pan",
                ])
                .map_err(|e| ScannerError::Engine(crate::engine::EngineError::Keywords(e)))?,
        })
    }

    /// The personal-data finding for one file, if it holds enough real values.
    #[cfg(test)]
    pub fn check(&self, path: &str, content: &[u8]) -> Option<Finding> {
        let mut tally = Tally::default();
        self.add(path, content, &mut tally);
        self.finish(path, &tally)
    }

    /// Counts the values in one part of a file (a whole file, or one chunk of a large one:
    /// parts are whole lines, and a line in two parts counts once).
    pub fn add(&self, path: &str, content: &[u8], tally: &mut Tally) {
        if !self.enabled || self.allow.is_match(path) || !self.worth_checking(path, content) {
            return;
        }
        self.tally_in(content, data_file(path), false, tally);
    }

    /// The finding for a file whose parts were all counted into `tally`.
    pub fn finish(&self, path: &str, tally: &Tally) -> Option<Finding> {
        self.finding(path, tally)
    }

    /// Data files (by extension) are always checked; others only when they hold enough `@`
    /// (the values are then counted only if enough of those are e-mail addresses).
    fn worth_checking(&self, path: &str, content: &[u8]) -> bool {
        data_file(path)
            || memchr::memchr_iter(b'@', content)
                .take(self.min_values)
                .count()
                >= self.min_values
    }

    #[cfg(test)]
    pub(crate) fn tally(&self, content: &[u8]) -> Tally {
        let mut tally = Tally::default();
        self.tally_in(content, true, false, &mut tally);
        tally
    }

    /// Distinct values per kind. Each regex runs only on the lines that can hold one of its
    /// values (an e-mail address needs an `@`, a hash a `$`, the numbers enough digits),
    /// adjacent lines merged into one slice; none of the patterns spans lines, and a slice
    /// edge looks to them like the line break it replaces, so the matches are those of a
    /// run over the whole file. A kind with fewer candidate lines' worth of markers than
    /// `min_values` cannot be reported and is not searched.
    ///
    /// Outside data files, the other kinds are counted only when at least `min_values`
    /// e-mail addresses (test ones included) say the file holds records: in source code an
    /// `@` is mostly a decorator or a doc tag, and digits are constants.
    ///
    /// With `whole`, every regex runs over the whole content (the reference the tests
    /// compare the line selection with).
    fn tally_in(&self, content: &[u8], data_file: bool, whole: bool, tally: &mut Tally) {
        let add = |tally: &mut Tally, kind: Kind, value: Vec<u8>, test: bool| {
            if test {
                *tally.test_values.entry(kind).or_default() += 1;
                return;
            }
            let values = tally.values.entry(kind).or_default();
            if values.len() < MAX_DISTINCT_VALUES || values.contains(&value) {
                values.insert(value);
            } else {
                *tally.more.entry(kind).or_default() += 1;
            }
        };
        let enough = |byte: u8| {
            memchr::memchr_iter(byte, content)
                .take(self.min_values)
                .count()
                >= self.min_values
        };
        let slices = |spans: &[(usize, usize)]| -> Vec<&[u8]> {
            spans
                .iter()
                .filter_map(|&(s, e)| content.get(s..e))
                .collect()
        };
        let everything = || vec![(0, content.len())];
        let email_lines = if whole {
            everything()
        } else if enough(b'@') {
            lines_with(content, b'@')
        } else {
            Vec::new()
        };
        let hash_lines = if whole {
            everything()
        } else if enough(b'$') {
            lines_with(content, b'$')
        } else {
            Vec::new()
        };
        let mut addresses = 0usize;
        for line in slices(&email_lines) {
            for m in self.email.find_iter(line) {
                let value = m.as_bytes().to_ascii_lowercase();
                let test = test_email(&value);
                add(tally, Kind::Email, value, test);
                addresses += 1;
            }
        }
        if !data_file && addresses < self.min_values {
            drop_sequences(tally, Kind::Email);
            return;
        }
        // A phone number, SSN, card number or date has at least 8 digits; an IBAN 2.
        let (number_lines, iban_lines) = if whole {
            (everything(), everything())
        } else {
            digit_lines(content, MIN_NUMBER_DIGITS, 2)
        };
        let number_lines = slices(&number_lines);
        for caps in number_lines
            .iter()
            .flat_map(|line| self.phone.captures_iter(line))
        {
            let digits: Vec<u8> = caps
                .iter()
                .skip(1)
                .flatten()
                .flat_map(|m| m.as_bytes().iter().copied())
                .filter(u8::is_ascii_digit)
                .collect();
            let exchange = caps.get(4).map(|m| m.as_bytes());
            let line = caps.get(5).map(|m| m.as_bytes());
            let test = exchange == Some(b"555") && line.is_some_and(|l| l.starts_with(b"01"))
                || exchange == Some(b"555")
                || repetitive(&digits);
            add(tally, Kind::Phone, digits, test);
        }
        // SSNs, card numbers and IBANs need no capture groups (cheaper to search for): the
        // context bytes around the groups are never digits, and an IBAN match is its group.
        for m in number_lines
            .iter()
            .flat_map(|line| self.ssn.find_iter(line))
        {
            let digits = ascii_digits(m.as_bytes());
            let (Some(area), Some(group), Some(serial)) =
                (digits.get(..3), digits.get(3..5), digits.get(5..9))
            else {
                continue;
            };
            if !valid_ssn(area, group, serial) {
                continue;
            }
            let value = [area, group, serial].concat();
            let test =
                TEST_SSNS.iter().any(|t| t.as_bytes() == value.as_slice()) || repetitive(&value);
            add(tally, Kind::Ssn, value, test);
        }
        let cards = if self.mentions_cards(content) {
            number_lines.as_slice()
        } else {
            &[]
        };
        for m in cards.iter().flat_map(|line| self.card.find_iter(line)) {
            let digits = ascii_digits(m.as_bytes());
            if !(13..=19).contains(&digits.len()) || !card_brand(&digits) || !luhn(&digits) {
                continue;
            }
            let test =
                TEST_CARDS.iter().any(|t| t.as_bytes() == digits.as_slice()) || repetitive(&digits);
            add(tally, Kind::Card, digits, test);
        }
        for m in slices(&iban_lines)
            .into_iter()
            .flat_map(|line| self.iban.find_iter(line))
        {
            let compact: Vec<u8> = m
                .as_bytes()
                .iter()
                .copied()
                .filter(|b| *b != b' ')
                .collect();
            if !(15..=34).contains(&compact.len()) || !iban_valid(&compact) {
                continue;
            }
            let test = TEST_IBANS
                .iter()
                .any(|t| t.as_bytes() == compact.as_slice());
            add(tally, Kind::Iban, compact, test);
        }
        if !number_lines.is_empty() && self.mentions_birth(content) {
            for m in number_lines
                .iter()
                .flat_map(|line| self.date.find_iter(line))
            {
                let value = m.as_bytes().to_vec();
                // 1970-01-01 and 1900-01-01 are what sanitizers and defaults write.
                let test =
                    value == b"1970-01-01" || value == b"1900-01-01" || value == b"01/01/1970";
                add(tally, Kind::DateOfBirth, value, test);
            }
        }
        for m in slices(&hash_lines)
            .into_iter()
            .flat_map(|line| self.hash.find_iter(line))
        {
            add(tally, Kind::PasswordHash, m.as_bytes().to_vec(), false);
        }
        drop_sequences(tally, Kind::Email);
    }

    fn mentions_cards(&self, content: &[u8]) -> bool {
        self.card_words
            .is_match(content.get(..1 << 20).unwrap_or(content))
    }

    fn mentions_birth(&self, content: &[u8]) -> bool {
        self.birth
            .is_match(content.get(..1 << 20).unwrap_or(content))
    }

    fn finding(&self, path: &str, tally: &Tally) -> Option<Finding> {
        let reported: Vec<(Kind, &BTreeSet<Vec<u8>>)> = tally
            .values
            .iter()
            .filter(|(kind, _)| tally.count(**kind) >= self.min_values)
            .map(|(k, v)| (*k, v))
            .collect();
        if reported.is_empty() {
            return None;
        }
        let summary: Vec<String> = reported
            .iter()
            .map(|(kind, _)| {
                let more = if tally.more.contains_key(kind) {
                    "at least "
                } else {
                    ""
                };
                format!("{more}{} {}", tally.count(*kind), kind.words())
            })
            .collect();
        let mut counts = serde_json::Map::new();
        let mut samples = serde_json::Map::new();
        for (kind, values) in &reported {
            counts.insert(kind.as_str().to_owned(), tally.count(*kind).into());
            let shown: Vec<serde_json::Value> = values
                .iter()
                .take(SAMPLES)
                .map(|v| redact_value(*kind, v).into())
                .collect();
            samples.insert(kind.as_str().to_owned(), shown.into());
        }
        let severity = if reported
            .iter()
            .any(|(k, _)| matches!(k, Kind::Ssn | Kind::Card | Kind::Iban | Kind::PasswordHash))
        {
            Severity::High
        } else {
            Severity::Medium
        };
        Some(
            Finding::new(
                RULE,
                severity,
                format!("Personal data: {}", summary.join(", ")),
            )
            .with_location(Location::new(path))
            .with_key("personal-data")
            .with_description(
                "Many distinct real-looking values that identify people (or their \
                     password hashes) in one file: a copy of production data that was not \
                     sanitized. Test-looking values (example.com, 555-01xx, documented test \
                     card numbers and IBANs, numbered sequences) are not counted.",
            )
            .with_fix(Fix {
                advice: Some(
                    "Delete the file (and purge it from git history); use a sanitized \
                         dump or generated fixtures. If the data is synthetic, allow the path \
                         in `[personal-data] allow`."
                        .to_owned(),
                ),
                ..Fix::default()
            })
            .with_detail("counts", counts)
            .with_detail("samples", samples),
        )
    }
}

/// Whether the file's extension says it holds data (CSV, SQL, JSON…).
fn data_file(path: &str) -> bool {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| DATA_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// Domains and addresses reserved or commonly used for tests.
fn test_email(value: &[u8]) -> bool {
    let Some(at) = value.iter().rposition(|&b| b == b'@') else {
        return true;
    };
    let domain = value.get(at + 1..).unwrap_or_default();
    const DOMAINS: &[&str] = &[
        "example.com",
        "example.org",
        "example.net",
        "example.edu",
        "test.com",
        "test.org",
        "localhost",
        "domain.com",
        "email.com",
        "mailinator.com",
        "yopmail.com",
        "foo.com",
        "bar.com",
        "acme.com",
        "company.com",
        "sample.com",
    ];
    const SUFFIXES: &[&str] = &[".example", ".test", ".invalid", ".localhost", ".local"];
    let domain = std::str::from_utf8(domain).unwrap_or("");
    DOMAINS
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
        || SUFFIXES.iter().any(|s| domain.ends_with(s))
        || domain.starts_with("example.")
}

/// `user1@x`, `user2@x`, …: a generator's sequence, not people. When one digit-stripped
/// form covers most of a kind's values, those values move to the test count.
fn drop_sequences(tally: &mut Tally, kind: Kind) {
    let Some(values) = tally.values.get_mut(&kind) else {
        return;
    };
    if values.len() < 4 {
        return;
    }
    let mut forms: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for v in values.iter() {
        let form: Vec<u8> = v.iter().copied().filter(|b| !b.is_ascii_digit()).collect();
        *forms.entry(form).or_default() += 1;
    }
    let sequences: BTreeSet<Vec<u8>> = forms
        .into_iter()
        .filter(|(_, n)| *n >= 4)
        .map(|(form, _)| form)
        .collect();
    let before = values.len();
    values.retain(|v| {
        let form: Vec<u8> = v.iter().copied().filter(|b| !b.is_ascii_digit()).collect();
        !sequences.contains(&form)
    });
    *tally.test_values.entry(kind).or_default() += before - values.len();
}

/// Lines holding `byte`, as `(start, end)` spans (end at the line break), adjacent lines
/// merged.
fn lines_with(content: &[u8], byte: u8) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    // `from` is always the start of a line.
    let mut from = 0;
    while let Some(found) = content
        .get(from..)
        .and_then(|rest| memchr::memchr(byte, rest))
    {
        let pos = from + found;
        let start = content
            .get(from..pos)
            .and_then(|s| memchr::memrchr(b'\n', s))
            .map_or(from, |i| from + i + 1);
        let end = content
            .get(pos..)
            .and_then(|s| memchr::memchr(b'\n', s))
            .map_or(content.len(), |i| pos + i);
        push_line(&mut spans, start, end);
        from = end + 1;
    }
    spans
}

/// Lines with at least `many` digits, and lines with at least `few` digits and two capital
/// letters (`few` <= `many`).
type Spans = Vec<(usize, usize)>;
fn digit_lines(content: &[u8], many: usize, few: usize) -> (Spans, Spans) {
    let (mut lots, mut some) = (Vec::new(), Vec::new());
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', content).chain(std::iter::once(content.len())) {
        let line = content.get(start..end).unwrap_or_default();
        let digits = line.iter().filter(|b| b.is_ascii_digit()).count();
        // An IBAN also starts with two capital letters.
        if digits >= many {
            push_line(&mut lots, start, end);
        }
        if digits >= few
            && line
                .iter()
                .filter(|b| b.is_ascii_uppercase())
                .nth(1)
                .is_some()
        {
            push_line(&mut some, start, end);
        }
        start = end + 1;
    }
    (lots, some)
}

/// Appends a line's span, merging it with the previous one when it is the next line.
fn push_line(spans: &mut Vec<(usize, usize)>, start: usize, end: usize) {
    match spans.last_mut() {
        Some(last) if last.1 + 1 == start => last.1 = end,
        _ => spans.push((start, end)),
    }
}

/// Same digit throughout, or a straight run (`123456789`).
fn repetitive(digits: &[u8]) -> bool {
    let Some(&first) = digits.first() else {
        return true;
    };
    digits.iter().all(|&d| d == first) || digits.windows(2).all(|w| w[1] == w[0] + 1)
}

/// SSA rules: area not 000, 666 or 900–999; group not 00; serial not 0000.
fn valid_ssn(area: &[u8], group: &[u8], serial: &[u8]) -> bool {
    area != b"000"
        && area != b"666"
        && area.first().is_some_and(|&d| d != b'9')
        && group != b"00"
        && serial != b"0000"
}

/// Numbers used in documentation and advertising, never issued to a person.
const TEST_SSNS: &[&str] = &["078051120", "219099999", "123456789", "111223333"];

/// Card numbers from payment providers' test documentation.
const TEST_CARDS: &[&str] = &[
    "4111111111111111",
    "4242424242424242",
    "4012888888881881",
    "4000056655665556",
    "4000000000000002",
    "4000000000000077",
    "4000000000003220",
    "4222222222222",
    "5555555555554444",
    "5105105105105100",
    "5200828282828210",
    "2223003122003222",
    "378282246310005",
    "371449635398431",
    "378734493671000",
    "6011111111111117",
    "6011000990139424",
    "3530111333300000",
    "3566002020360505",
    "30569309025904",
    "38520000023237",
    "6200000000000005",
];

/// IBANs printed in standards and banks' documentation.
const TEST_IBANS: &[&str] = &[
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "GB29NWBK60161331926819",
    "GB33BUKB20201555555555",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "CH9300762011623852957",
    "BE68539007547034",
    "AT611904300234573201",
];

/// Issuer prefixes of the card brands that issue to people.
fn card_brand(digits: &[u8]) -> bool {
    let prefix = |n: usize| -> u32 {
        digits
            .iter()
            .take(n)
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let len = digits.len();
    match digits.first() {
        Some(b'4') => matches!(len, 13 | 16 | 19),
        Some(b'5') => (51..=55).contains(&prefix(2)) && len == 16,
        Some(b'2') => (2221..=2720).contains(&prefix(4)) && len == 16,
        Some(b'3') => {
            (matches!(prefix(2), 34 | 37) && len == 15)
                || ((3528..=3589).contains(&prefix(4)) && len >= 16)
                || (matches!(prefix(2), 36 | 38 | 39) || (300..=305).contains(&prefix(3)))
                    && len == 14
        }
        Some(b'6') => {
            (prefix(4) == 6011
                || prefix(2) == 65
                || (644..=649).contains(&prefix(3))
                || prefix(2) == 62)
                && len >= 16
        }
        _ => false,
    }
}

/// The Luhn checksum every card number carries.
fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// ISO 13616: move the first four characters to the end, letters to numbers, mod 97 = 1.
fn iban_valid(iban: &[u8]) -> bool {
    if iban.len() < 5 {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem = 0u32;
    for &c in tail.iter().chain(head) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A sample that shows the shape, never the value.
fn redact_value(kind: Kind, value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    match kind {
        Kind::Email => match text.split_once('@') {
            Some((local, domain)) => {
                let first = local.chars().next().unwrap_or('?');
                let tld = domain.rsplit('.').next().unwrap_or("");
                format!("{first}***@***.{tld}")
            }
            None => "***".to_owned(),
        },
        Kind::Card => format!(
            "****{}",
            text.get(text.len().saturating_sub(4)..).unwrap_or("")
        ),
        Kind::Iban => format!("{}**…", text.get(..2).unwrap_or("")),
        Kind::PasswordHash => crate::text::redact(value),
        _ => format!(
            "***{}",
            text.get(text.len().saturating_sub(2)..).unwrap_or("")
        ),
    }
}

/// The ASCII digits of a matched number, separators (spaces, dashes) left out.
fn ascii_digits(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().copied().filter(u8::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(min: usize) -> Detector {
        Detector::new(&PersonalConfig {
            min_values: min,
            ..PersonalConfig::default()
        })
        .unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 128,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Running the regexes only on the lines that can hold a value finds exactly what
        /// running them over the whole file finds.
        #[test]
        fn line_selection_changes_nothing(
            cells in proptest::collection::vec(proptest::sample::select(vec![
                "ann.lee@gmail.com", "bo@x.io", "@param", "(415) 867-2301", "212-948-3310",
                "+44 20 7946 0958", "512-34-7781", "430 55 1290", "4539 5787 6362 1486",
                "5425233430109903", "GB94BARC10201530093459", "DE44 5001 0517 5407 3249 31",
                "1984-03-12", "03/12/1984", "date_of_birth", "born",
                "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
                "pbkdf2_sha256$260000$abcdefghijklmnopqrstuvwxyz0123456789",
                "12345678", "x", "-", " ", ",", ";", "\n", "\r\n", "\n\n", "$", "@", "0",
            ]), 0..120),
            data_file in proptest::prelude::any::<bool>(),
        ) {
            let text = cells.concat();
            let d = detector(1);
            let (mut fast, mut slow) = (Tally::default(), Tally::default());
            d.tally_in(text.as_bytes(), data_file, false, &mut fast);
            d.tally_in(text.as_bytes(), data_file, true, &mut slow);
            proptest::prop_assert_eq!(&fast.values, &slow.values);
            proptest::prop_assert_eq!(&fast.test_values, &slow.test_values);
        }
    }

    #[test]
    fn built_in_patterns_compile() {
        let d = detector(1);
        for r in [
            &d.email, &d.phone, &d.ssn, &d.card, &d.iban, &d.date, &d.hash,
        ] {
            assert!(r.get().is_some(), "{}", r.pattern);
        }
    }

    #[test]
    fn checksums() {
        assert!(luhn(b"4539578763621486"));
        assert!(!luhn(b"4539578763621487"));
        assert!(iban_valid(b"DE89370400440532013000"));
        assert!(!iban_valid(b"DE89370400440532013001"));
        assert!(card_brand(b"4539578763621486"));
        assert!(!card_brand(b"9539578763621486"));
        assert!(valid_ssn(b"123", b"45", b"6789"));
        for (a, g, s) in [
            ("000", "12", "3456"),
            ("666", "12", "3456"),
            ("912", "12", "3456"),
            ("123", "00", "3456"),
            ("123", "45", "0000"),
        ] {
            assert!(
                !valid_ssn(a.as_bytes(), g.as_bytes(), s.as_bytes()),
                "{a}-{g}-{s}"
            );
        }
    }

    #[test]
    fn one_address_is_not_a_finding() {
        let d = detector(10);
        assert!(
            d.check("README.md", b"Contact jane.roe@gmail.com for access.")
                .is_none()
        );
    }

    #[test]
    fn counts_kinds_and_skips_test_data() {
        let d = detector(3);
        let text = "name,email,phone,ssn\n\
            Ann,ann.lee@gmail.com,(415) 867-2301,512-34-7781\n\
            Bo,bo.ng@yahoo.co.uk,212-948-3310,430-55-1290\n\
            Cy,cy.diaz@outlook.com,617 332 9987,219-09-9999\n\
            Test,user1@example.com,555-0123,000-12-3456\n\
            Dee,dee.k@proton.me,312.555.0199,288-41-0056\n";
        let tally = d.tally(text.as_bytes());
        assert_eq!(tally.values[&Kind::Email].len(), 4);
        assert_eq!(
            tally.values[&Kind::Phone].len(),
            3,
            "{:?}",
            tally.values[&Kind::Phone]
        );
        assert_eq!(
            tally.values[&Kind::Ssn].len(),
            3,
            "219-09-9999 is a known fake"
        );
        let finding = d.check("export.csv", text.as_bytes()).unwrap();
        assert_eq!(finding.rule, RULE);
        assert_eq!(finding.severity, Severity::High);
        let json = serde_json::to_string(&finding).unwrap();
        assert!(
            !json.contains("ann.lee") && !json.contains("867-2301") && !json.contains("512-34"),
            "{json}"
        );
        assert!(json.contains("\"email\":4"), "{json}");
    }

    #[test]
    fn faker_sequences_are_test_data() {
        let d = detector(3);
        let text: String = (1..50).map(|i| format!("user{i}@mailhost.io\n")).collect();
        assert!(d.check("seed.csv", text.as_bytes()).is_none());
    }

    #[test]
    fn cards_ibans_and_dates_of_birth() {
        let d = detector(2);
        let text = "id;card;iban;date_of_birth\n1;4539 5787 6362 1486;GB94BARC10201530093459;1984-03-12\n\
                    2;5425233430109903;DE44500105175407324931;1979-11-30\n\
                    3;4111111111111111;DE89370400440532013000;1970-01-01\n";
        let tally = d.tally(text.as_bytes());
        assert_eq!(tally.values[&Kind::Card].len(), 2);
        assert_eq!(tally.values[&Kind::Iban].len(), 2);
        assert_eq!(tally.values[&Kind::DateOfBirth].len(), 2);
        // Without a card column, Luhn-valid numbers are just numbers.
        let ids = text.replace("card", "ref");
        assert!(!d.tally(ids.as_bytes()).values.contains_key(&Kind::Card));
        // Without a birth column, dates are just dates.
        let plain = text.replace("date_of_birth", "created");
        assert!(
            !d.tally(plain.as_bytes())
                .values
                .contains_key(&Kind::DateOfBirth)
        );
    }
}
