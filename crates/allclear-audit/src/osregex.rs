//! Wazuh's two regular-expression dialects, compiled to the `regex` crate.
//!
//! SCA rules use OS_Regex unless the policy or the check says `regex_type: pcre2`. OS_Regex is
//! small and documented (Wazuh's "regex" reference): `\w \d \s \t \p \W \D \S \.` classes,
//! `+` and `*` after an element, `^` and `$` anchors, `|` between whole patterns, `( )`
//! capture groups, and `\$ \( \) \\ \|` for the literal characters. Everything else is a
//! literal character, case-sensitive, matched anywhere in a line.
//!
//! Policies written by people who think in PCRE use `[...]`, `.*`, `?` or `{2}` in rules
//! that OS_Regex evaluates: literal characters there, classes and quantifiers in PCRE. The
//! two engines give different answers, and which one the author meant cannot be known, so
//! such a pattern is refused with the construct named ([`RegexError::Ambiguous`]) rather
//! than guessed at: the check is reported as not run, never as a pass or a fail.

use regex::{Regex, RegexBuilder};

/// How big a compiled pattern may grow: policies are input, and a pathological pattern must
/// not take the memory of the host it audits.
const SIZE_LIMIT: usize = 1 << 20;

/// Which engine a rule's patterns are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Wazuh's OS_Regex, the default for SCA policies.
    #[default]
    OsRegex,
    /// PCRE2 (`regex_type: pcre2`), compiled by the `regex` crate: lookaround and
    /// backreferences are refused.
    Pcre2,
}

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    /// The pattern is not valid in its dialect.
    #[error("invalid regex `{pattern}`: {message}")]
    Invalid { pattern: String, message: String },
    /// OS_Regex would read the construct literally, PCRE as syntax: allclear does not guess.
    #[error(
        "`{pattern}` uses {construct}, which OS_Regex (the policy's engine) reads literally but PCRE reads as syntax; set regex_type: pcre2 if PCRE is meant"
    )]
    Ambiguous {
        pattern: String,
        construct: &'static str,
    },
}

/// Compiles `pattern` written in `dialect`.
pub fn compile(pattern: &str, dialect: Dialect) -> Result<Regex, RegexError> {
    let translated = match dialect {
        Dialect::OsRegex => translate(pattern)?,
        Dialect::Pcre2 => pattern.to_owned(),
    };
    RegexBuilder::new(&translated)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|err| RegexError::Invalid {
            pattern: pattern.to_owned(),
            message: first_line(&err.to_string()),
        })
}

fn first_line(text: &str) -> String {
    // The regex crate's messages span lines with a caret diagram; the last line says why.
    text.lines()
        .rev()
        .find(|line| line.trim_start().starts_with("error:"))
        .map(|line| line.trim().trim_start_matches("error:").trim().to_owned())
        .unwrap_or_else(|| text.lines().next().unwrap_or_default().to_owned())
}

/// OS_Regex `\w`: letters, digits, `_`, `@` and `-`.
const WORD: &str = "A-Za-z0-9_@-";
/// OS_Regex `\p`: the punctuation characters it lists.
const PUNCT: &str = r##"!"#$%&'()*+,\-.:;<=>?\[\]{|}"##;

/// Translates an OS_Regex pattern to the `regex` crate's syntax.
pub fn translate(pattern: &str) -> Result<String, RegexError> {
    let ambiguous = |construct| RegexError::Ambiguous {
        pattern: pattern.to_owned(),
        construct,
    };
    let invalid = |message: &str| RegexError::Invalid {
        pattern: pattern.to_owned(),
        message: message.to_owned(),
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() * 2);
    // Whether the last thing written can take a `+` or `*`.
    let mut quantifiable = false;
    let mut depth = 0usize;
    let mut index = 0;
    while let Some(&c) = chars.get(index) {
        let next = chars.get(index + 1).copied();
        let at_start = index == 0 || matches!(chars.get(index - 1), Some('|'));
        match c {
            '\\' => {
                let Some(escaped) = next else {
                    return Err(invalid("a trailing backslash"));
                };
                let piece = match escaped {
                    'w' => format!("[{WORD}]"),
                    'W' => format!("[^{WORD}]"),
                    'd' => "[0-9]".to_owned(),
                    'D' => "[^0-9]".to_owned(),
                    's' => " ".to_owned(),
                    'S' => "[^ ]".to_owned(),
                    't' => r"\t".to_owned(),
                    'p' => format!("[{PUNCT}]"),
                    '.' => "(?s:.)".to_owned(),
                    '$' | '(' | ')' | '\\' | '|' => regex::escape(&escaped.to_string()),
                    // `\[`, `\b`, `\h`…: literal or a class in PCRE, undocumented in OS_Regex.
                    _ => return Err(ambiguous("an escape OS_Regex does not document")),
                };
                out.push_str(&piece);
                quantifiable = true;
                index += 2;
                continue;
            }
            '+' | '*' => {
                if !quantifiable {
                    return Err(invalid(&format!("`{c}` follows nothing it can repeat")));
                }
                out.push(c);
                quantifiable = false;
            }
            '^' if at_start => {
                out.push('^');
                quantifiable = false;
            }
            '$' => {
                if !matches!(next, None | Some('|')) {
                    return Err(ambiguous("`$` before the end of the pattern"));
                }
                out.push('$');
                quantifiable = false;
            }
            '|' => {
                if depth > 0 {
                    return Err(ambiguous("`|` inside parentheses"));
                }
                out.push('|');
                quantifiable = false;
            }
            '(' => {
                depth += 1;
                out.push('(');
                quantifiable = false;
            }
            ')' => {
                if depth == 0 {
                    return Err(invalid("an unopened `)`"));
                }
                depth -= 1;
                out.push(')');
                quantifiable = true;
            }
            '.' if matches!(next, Some('*' | '+' | '?')) => {
                return Err(ambiguous("`.` followed by a repetition"));
            }
            '[' if chars[index + 1..].contains(&']') => {
                return Err(ambiguous("a `[...]` character class"));
            }
            '?' => return Err(ambiguous("`?`")),
            '{' if next.is_some_and(|n| n.is_ascii_digit()) => {
                return Err(ambiguous("a `{n}` repetition"));
            }
            _ => {
                out.push_str(&regex::escape(&c.to_string()));
                quantifiable = true;
            }
        }
        index += 1;
    }
    if depth > 0 {
        return Err(invalid("an unclosed `(`"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        compile(pattern, Dialect::OsRegex).unwrap().is_match(text)
    }

    #[test]
    fn classes_follow_the_documented_os_regex() {
        assert!(matches(
            r"^\s*PermitRootLogin\s+no",
            "  PermitRootLogin  no"
        ));
        // `\s` is a space only: a tab needs `\t`, as the policies' `\s*\t*` shows.
        assert!(!matches(r"^\s*PermitRootLogin", "\tPermitRootLogin no"));
        assert!(matches(r"^\s*\t*PermitRootLogin", "\tPermitRootLogin no"));
        // `\.` is any character; a bare `.` is a dot.
        assert!(matches(r"Port\.+22", "Port 22"));
        assert!(matches(r"12.", "12.4"));
        assert!(!matches(r"12.", "1234"));
        assert!(matches(r"^\w+@\w+-x$", "a_b@c-d-x"));
        assert!(matches(r"\p", "a=b"));
        assert!(!matches(r"\p", "a/b"));
        assert!(matches(r"^root:|^admin:", "admin:x:0"));
        assert!(matches(r"cost \$5 \(net\)", "cost $5 (net)"));
    }

    #[test]
    fn content_checks_are_case_sensitive() {
        assert!(!matches("allowoverride", "AllowOverride None"));
    }

    #[test]
    fn captures_are_groups() {
        let re = compile(r"^\s*MaxAuthTries\s+(\d+)", Dialect::OsRegex).unwrap();
        let caps = re.captures("MaxAuthTries 4").unwrap();
        assert_eq!(&caps[1], "4");
    }

    #[test]
    fn pcre_syntax_in_os_regex_is_refused_not_guessed() {
        for pattern in [
            r"[\w@-]+",
            r"dav_.+module",
            r"^#?x",
            r"\d{2}",
            r"(a|b)",
            r"\bx",
            r"\[",
        ] {
            let err = compile(pattern, Dialect::OsRegex).unwrap_err();
            assert!(
                matches!(err, RegexError::Ambiguous { .. }),
                "{pattern}: {err}"
            );
        }
        // The same patterns are fine where the policy says PCRE.
        assert!(compile(r"[\w@-]+", Dialect::Pcre2).unwrap().is_match("a@b"));
    }

    #[test]
    fn invalid_patterns_are_errors() {
        for pattern in [r"abc\", "+a", "(a", "a)"] {
            let err = compile(pattern, Dialect::OsRegex).unwrap_err();
            assert!(
                matches!(err, RegexError::Invalid { .. }),
                "{pattern}: {err}"
            );
        }
        let err = compile("(?<=a)b", Dialect::Pcre2).unwrap_err();
        assert!(err.to_string().contains("(?<=a)b"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn translation_never_panics(pattern in ".{0,40}") {
            let _ = compile(&pattern, Dialect::OsRegex);
        }

        #[test]
        fn escaped_literals_match_themselves(text in "[a-z0-9 :/=_-]{1,30}") {
            // Letters, digits and these punctuation marks are literal in OS_Regex.
            proptest::prop_assert!(matches(&text, &text));
        }
    }
}
