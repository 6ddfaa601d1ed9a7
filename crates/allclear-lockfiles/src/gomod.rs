//! `go.mod`: `require` (single lines and blocks) with `// indirect`, and `replace`.
//! The format is Go's own line-oriented one, parsed here.

use allclear_core::Ecosystem;

use crate::text::{check_conflict_markers, to_u32};
use crate::{Lockfile, Package, Problem, Source};

struct Require {
    path: String,
    version: String,
    line: u32,
    indirect: bool,
}

struct Replace {
    old: String,
    old_version: Option<String>,
    new: String,
    new_version: Option<String>,
    line: u32,
}

const VERBS: [&str; 10] = [
    "module",
    "go",
    "toolchain",
    "godebug",
    "require",
    "exclude",
    "replace",
    "retract",
    "tool",
    "ignore",
];

pub(crate) fn parse(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    check_conflict_markers(text)?;
    let mut requires = Vec::new();
    let mut replaces = Vec::new();
    let mut block: Option<(&str, u32)> = None;
    let mut saw_directive = false;

    for (i, raw) in text.lines().enumerate() {
        let line_no = to_u32(i + 1);
        let (code, comment) = split_comment(raw);
        let code = code.trim();
        if code.is_empty() {
            continue;
        }
        let tokens = tokenize(code).map_err(|m| Problem::at(line_no, m))?;
        let (verb, args) = match block {
            Some((verb, _)) => {
                if tokens == [")"] {
                    block = None;
                    continue;
                }
                (verb, tokens.as_slice())
            }
            None => {
                let Some((first, rest)) = tokens.split_first() else {
                    continue;
                };
                let Some(verb) = VERBS.iter().find(|v| **v == first.as_str()) else {
                    return Err(Problem::at(
                        line_no,
                        format!(
                            "unknown directive `{}`",
                            first.chars().take(40).collect::<String>()
                        ),
                    ));
                };
                saw_directive = true;
                if rest.len() == 1 && rest.first().is_some_and(|t| t == "(") {
                    block = Some((verb, line_no));
                    continue;
                }
                (*verb, rest)
            }
        };
        match verb {
            "require" => match args {
                [path, version] => requires.push(Require {
                    path: path.clone(),
                    version: version.clone(),
                    line: line_no,
                    indirect: is_indirect(comment),
                }),
                _ => {
                    return Err(Problem::at(line_no, "expected `require MODULE VERSION`"));
                }
            },
            "replace" => {
                let arrow = args.iter().position(|t| t == "=>");
                let (left, right) = match arrow {
                    Some(at) => (
                        args.get(..at).unwrap_or_default(),
                        args.get(at + 1..).unwrap_or_default(),
                    ),
                    None => (args, &[][..]),
                };
                let (old, old_version) = match left {
                    [old] => (old, None),
                    [old, v] => (old, Some(v.clone())),
                    _ => {
                        return Err(Problem::at(
                            line_no,
                            "expected `replace MODULE [VERSION] => …`",
                        ));
                    }
                };
                let (new, new_version) = match right {
                    [new] => (new, None),
                    [new, v] => (new, Some(v.clone())),
                    _ => {
                        return Err(Problem::at(
                            line_no,
                            "expected `replace … => MODULE [VERSION]`",
                        ));
                    }
                };
                replaces.push(Replace {
                    old: old.clone(),
                    old_version,
                    new: new.clone(),
                    new_version,
                    line: line_no,
                });
            }
            _ => {}
        }
    }
    if let Some((verb, line)) = block {
        return Err(Problem::at(
            line,
            format!("`{verb} (` block is never closed"),
        ));
    }
    if !saw_directive {
        return Err(Problem::whole("not a go.mod: no directives"));
    }

    for req in requires {
        // A versioned replace applies to that version only; the last matching one wins.
        let replace = replaces.iter().rev().find(|r| {
            r.old == req.path && r.old_version.as_ref().is_none_or(|v| *v == req.version)
        });
        let (name, version, line, source) = match replace {
            Some(Replace {
                new,
                new_version: Some(v),
                line,
                ..
            }) => (new.clone(), v.clone(), *line, Source::registry()),
            // Replaced by a local directory: the code is the project's own copy.
            Some(Replace {
                new,
                new_version: None,
                ..
            }) => (
                req.path,
                req.version,
                req.line,
                Source::Path { path: new.clone() },
            ),
            None => (req.path, req.version, req.line, Source::registry()),
        };
        lock.packages.push(Package {
            ecosystem: Ecosystem::Go,
            name,
            version,
            line,
            direct: Some(!req.indirect),
            dev: None,
            source,
        });
    }
    Ok(())
}

fn is_indirect(comment: &str) -> bool {
    let comment = comment.trim();
    comment == "indirect" || comment.starts_with("indirect;")
}

/// Splits off a `//` comment that is not inside a quoted string.
fn split_comment(line: &str) -> (&str, &str) {
    let mut quote = None;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(b'"') if b == b'\\' => {}
            Some(_) => {}
            None if b == b'"' || b == b'`' => quote = Some(b),
            None if b == b'/' && bytes.get(i + 1) == Some(&b'/') => {
                return (
                    line.get(..i).unwrap_or(line),
                    line.get(i + 2..).unwrap_or(""),
                );
            }
            None => {}
        }
    }
    (line, "")
}

/// Whitespace-separated tokens; `"…"` and `` `…` `` are single tokens without their quotes,
/// and `(`, `)` stand alone (`=>` is written between spaces).
fn tokenize(code: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '`' {
            chars.next();
            let mut token = String::new();
            loop {
                match chars.next() {
                    Some(ch) if ch == c => break,
                    Some('\\') if c == '"' => {
                        if let Some(escaped) = chars.next() {
                            token.push(escaped);
                        }
                    }
                    Some(ch) => token.push(ch),
                    None => return Err("unterminated quoted string".to_owned()),
                }
            }
            tokens.push(token);
        } else if c == '(' || c == ')' {
            chars.next();
            tokens.push(c.to_string());
        } else {
            let mut token = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '"' || ch == '`' {
                    break;
                }
                token.push(ch);
                chars.next();
            }
            tokens.push(token);
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_tokens() {
        assert_eq!(split_comment("a v1 // indirect"), ("a v1 ", " indirect"));
        assert_eq!(split_comment("\"x//y\" v1"), ("\"x//y\" v1", ""));
        assert_eq!(
            tokenize("\"example.com/a b\" v1.0.0").unwrap(),
            vec!["example.com/a b", "v1.0.0"]
        );
        assert!(tokenize("\"open").is_err());
    }
}
