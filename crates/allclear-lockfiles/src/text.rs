//! Shared plumbing: input checks, offset-to-line lookup, order-keeping maps, and the error
//! adapters of the JSON, YAML and TOML parsers.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::{MAX_INPUT_BYTES, Problem};

/// Checks size, NUL bytes and UTF-8, and drops a UTF-8 byte-order mark (it sits on line 1,
/// so line numbers do not move).
pub(crate) fn decode(content: &[u8]) -> Result<&str, Problem> {
    if content.len() > MAX_INPUT_BYTES {
        return Err(Problem::whole(format!(
            "file is {} bytes, over the {} MiB limit for a lockfile",
            content.len(),
            MAX_INPUT_BYTES / (1024 * 1024)
        )));
    }
    if let Some(at) = memchr::memchr(0, content) {
        return Err(Problem::at(
            line_at(content, at),
            "file contains NUL bytes: binary, not a lockfile",
        ));
    }
    let text = std::str::from_utf8(content)
        .map_err(|e| Problem::at(line_at(content, e.valid_up_to()), "file is not valid UTF-8"))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Line (1-based) of a byte offset, counting newlines before it; for one-off lookups.
fn line_at(content: &[u8], offset: usize) -> u32 {
    let end = offset.min(content.len());
    let newlines = memchr::memchr_iter(b'\n', content.get(..end).unwrap_or_default()).count();
    to_u32(newlines.saturating_add(1))
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Byte offsets of line starts, computed once per file, so each lookup is a binary search.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, starts }
    }

    /// 1-based line of a byte offset into the text.
    pub(crate) fn line(&self, offset: usize) -> u32 {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        to_u32(idx + 1)
    }

    /// 1-based line of a string slice borrowed from the indexed text (as serde_json's
    /// `RawValue` is); line 1 if the slice is not from this text.
    pub(crate) fn line_of(&self, part: &str) -> u32 {
        let base = self.text.as_ptr() as usize;
        let at = part.as_ptr() as usize;
        match at.checked_sub(base) {
            Some(offset) if offset <= self.text.len() => self.line(offset),
            _ => 1,
        }
    }
}

/// A map that keeps its entries in file order (and keeps duplicates, which a later
/// pass may or may not care about).
pub(crate) struct Pairs<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for Pairs<K, V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Pairs<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<K, V>(PhantomData<(K, V)>);

        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<K, V> {
            type Value = Pairs<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                // No size hint: it comes from the input and must not drive allocation.
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Pairs(entries))
            }

            // YAML writes an empty map as `{}` but also leaves it blank (`null`).
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Pairs(Vec::new()))
            }
        }

        deserializer.deserialize_map(PairsVisitor(PhantomData))
    }
}

/// A JSON value kept as its text, to be parsed later and located by its address.
pub(crate) type Raw<'a> = &'a RawValue;

/// Parses the whole JSON document.
pub(crate) fn json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, Problem> {
    serde_json::from_str(text).map_err(|e| json_problem(&e, 1))
}

/// Parses one raw JSON value, mapping error lines back into the file.
pub(crate) fn json_at<'a, T: Deserialize<'a>>(
    raw: Raw<'a>,
    lines: &LineIndex<'_>,
    what: &str,
) -> Result<T, Problem> {
    serde_json::from_str(raw.get()).map_err(|e| {
        let start = lines.line_of(raw.get());
        let mut p = json_problem(&e, start);
        p.message = format!("{what}: {}", p.message);
        p
    })
}

fn json_problem(e: &serde_json::Error, first_line: u32) -> Problem {
    // serde_json appends " at line L column C"; we carry the line ourselves.
    let message = e.to_string();
    let message = match message.rfind(" at line ") {
        Some(cut) => message.get(..cut).unwrap_or(&message).to_owned(),
        None => message,
    };
    // A well-formed document with the wrong shape is not "invalid JSON".
    let message = match e.classify() {
        serde_json::error::Category::Data => format!("unexpected content: {message}"),
        _ => format!("invalid JSON: {message}"),
    };
    let line = u32::try_from(e.line()).unwrap_or(0);
    if line == 0 {
        Problem::whole(message)
    } else {
        Problem::at(first_line.saturating_add(line - 1), message)
    }
}

/// Parses a TOML document.
pub(crate) fn toml<'de, T: serde::Deserialize<'de>>(
    text: &'de str,
    lines: &LineIndex<'_>,
) -> Result<T, Problem> {
    toml::from_str(text).map_err(|e| {
        let message = format!("invalid TOML: {}", e.message());
        match e.span() {
            Some(span) => Problem::at(lines.line(span.start), message),
            None => Problem::whole(message),
        }
    })
}

/// Parses a YAML document with limits sized for big monorepo lockfiles (the defaults are
/// for configuration files) but still bounded.
pub(crate) fn yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    lines: &LineIndex<'_>,
) -> Result<T, Problem> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 50_000_000,
            max_nodes: 20_000_000,
            max_documents: 1,
        },
        emit_comments: false,
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let message = format!("invalid YAML: {}", yaml_message(&e));
        match e.location() {
            Some(loc) if loc.line() > 0 => Problem::at(yaml_location_line(&loc, lines), message),
            _ => Problem::whole(message),
        }
    })
}

fn yaml_message(e: &serde_saphyr::Error) -> String {
    // The rendered error may include a source snippet over several lines, and starts with
    // `error: line L column C: `; we keep the first line and carry the line ourselves.
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((position, message)) if position.contains(" column ") => message.to_owned(),
        _ => first.to_owned(),
    }
}

/// Line of a YAML location, counted as everywhere else in this crate (by `\n`; YAML also
/// breaks lines at a lone `\r`), from its byte offset when saphyr knows it.
fn yaml_location_line(location: &serde_saphyr::Location, lines: &LineIndex<'_>) -> u32 {
    match location
        .span()
        .byte_offset()
        .and_then(|o| usize::try_from(o).ok())
    {
        Some(offset) => lines.line(offset),
        None => u32::try_from(location.line()).unwrap_or(u32::MAX).max(1),
    }
}

/// Line of a YAML value.
pub(crate) fn yaml_line<T>(spanned: &serde_saphyr::Spanned<T>, lines: &LineIndex<'_>) -> u32 {
    yaml_location_line(&spanned.referenced, lines)
}

/// Finds unresolved merge-conflict markers, which make every one of these formats invalid
/// and otherwise produce confusing errors further down.
pub(crate) fn check_conflict_markers(text: &str) -> Result<(), Problem> {
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("<<<<<<< ") || line == "<<<<<<<" || line.starts_with(">>>>>>> ") {
            return Err(Problem::at(
                to_u32(i + 1),
                "unresolved merge conflict marker",
            ));
        }
    }
    Ok(())
}

/// A YAML scalar read as text, whatever YAML type it resolved to (`version: 1` is an int).
#[derive(Default)]
pub(crate) struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_maps_offsets() {
        let text = "a\nbc\n\nd";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(1), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
        assert_eq!(idx.line_of(&text[3..]), 2);
        let elsewhere = String::from("elsewhere");
        assert_eq!(idx.line_of(&elsewhere), 1);
    }

    #[test]
    fn decode_refuses_binary_and_bad_utf8() {
        let e = decode(b"ok\nno\0pe").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = decode(b"a\n\nb\xff").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(decode("\u{feff}x".as_bytes()).unwrap(), "x");
    }

    #[test]
    fn json_errors_carry_lines() {
        let e = json::<serde_json::Value>("{\n\"a\": 1,\n}").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(!e.message.contains("at line"), "{}", e.message);
    }
}
