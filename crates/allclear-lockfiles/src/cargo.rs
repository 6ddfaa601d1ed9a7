//! `Cargo.lock`, format versions 1 to 4.

use std::borrow::Cow;
use std::collections::HashSet;

use allclear_core::Ecosystem;
use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::parser::EventReceiver;
use toml_parser::{ErrorSink, ParseError, Source as TomlSource, Span};

use crate::text::LineIndex;
use crate::{Lockfile, Package, Problem, Source};

/// One `[[package]]` (or a version 1 file's `[root]`) as written.
#[derive(Default)]
struct RawPackage<'a> {
    /// Byte offset of its header, for the line number.
    at: usize,
    name: Option<Cow<'a, str>>,
    version: Option<Cow<'a, str>>,
    source: Option<Cow<'a, str>>,
    dependencies: Vec<Cow<'a, str>>,
}

pub(crate) fn parse(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let lines = LineIndex::new(text);
    let (packages, root) = read(text, &lines)?;
    // Packages without a source are the workspace's own crates (and path dependencies), as
    // is a version 1 file's `[root]`: what they depend on is direct.
    let mut direct_names: HashSet<&str> = HashSet::new();
    let mut direct_exact: HashSet<(&str, &str)> = HashSet::new();
    for package in packages.iter().filter(|p| p.source.is_none()).chain(&root) {
        for dep in &package.dependencies {
            // `name`, `name version` or `name version (source)`.
            let mut words = dep.split(' ');
            let name = words.next().unwrap_or(dep);
            match words.next() {
                Some(version) => direct_exact.insert((name, version)),
                None => direct_names.insert(name),
            };
        }
    }
    for package in &packages {
        let (Some(source), Some(name), Some(version)) =
            (&package.source, &package.name, &package.version)
        else {
            continue;
        };
        let direct =
            direct_names.contains(&**name) || direct_exact.contains(&(&**name, &**version));
        lock.packages.push(Package {
            ecosystem: Ecosystem::CratesIo,
            name: name.clone().into_owned(),
            version: version.clone().into_owned(),
            line: lines.line(package.at),
            direct: Some(direct),
            // Cargo.lock does not separate dev-dependencies.
            dev: None,
            source: parse_source(source),
        });
    }
    Ok(())
}

/// Reads the packages from TOML parser events rather than through serde: deserializing
/// every `[[package]]` into a spanned table allocated per key and was 45 % of a
/// `scan --only deps` of a 753-package Cargo.lock (docs/PERFORMANCE.md). The events are
/// those of `toml_parser`, the parser under the `toml` crate, so the syntax accepted is the
/// same; what this reader adds is the little of TOML's semantics Cargo.lock needs.
fn read<'a>(
    text: &'a str,
    lines: &LineIndex<'_>,
) -> Result<(Vec<RawPackage<'a>>, Option<RawPackage<'a>>), Problem> {
    let source = TomlSource::new(text);
    let tokens = source.lex().into_vec();
    let mut reader = Reader {
        source,
        section: Section::Top,
        header: None,
        key: Vec::new(),
        field: None,
        depth: 0,
        packages: Vec::new(),
        root: None,
        problem: None,
    };
    let mut errors: Option<ParseError> = None;
    // Whitespace, comments and newlines are checked as the `toml` crate checks them.
    let mut validated = toml_parser::parser::ValidateWhitespace::new(&mut reader, source);
    toml_parser::parser::parse_document(&tokens, &mut validated, &mut errors);
    if let Some(error) = errors {
        let at = error
            .unexpected()
            .or(error.context())
            .map(|span| span.start());
        let message = format!("invalid TOML: {}", error.description());
        return Err(match at {
            Some(at) => Problem::at(lines.line(at), message),
            None => Problem::whole(message),
        });
    }
    if let Some((at, message)) = reader.problem {
        return Err(Problem::at(lines.line(at), message));
    }
    for package in reader.packages.iter().chain(&reader.root) {
        for (value, field) in [(&package.name, "name"), (&package.version, "version")] {
            if value.is_none() {
                return Err(Problem::at(
                    lines.line(package.at),
                    format!("invalid TOML: missing field `{field}`"),
                ));
            }
        }
    }
    Ok((reader.packages, reader.root))
}

/// The table the next key-value pairs belong to.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    /// Before any header.
    Top,
    /// The last of `packages`.
    Package,
    /// A version 1 file's `[root]`.
    Root,
    /// Any other table (`[metadata]`, `[patch.unused]`): not read.
    Other,
}

/// A key of a package this reader keeps.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    Name,
    Version,
    Source,
    Dependencies,
    /// A key nobody reads (`checksum`, `replace`), or a value not read (nested deeper).
    Ignored,
}

struct Reader<'a> {
    source: TomlSource<'a>,
    section: Section,
    /// The keys of the header being read, and whether it is `[[…]]`, with its offset.
    header: Option<(bool, usize, Vec<Cow<'a, str>>)>,
    /// The keys of the key-value pair being read (more than one when dotted).
    key: Vec<Cow<'a, str>>,
    /// After `=`: the field the value goes to.
    field: Option<Field>,
    /// Arrays and inline tables open inside the current value.
    depth: usize,
    packages: Vec<RawPackage<'a>>,
    root: Option<RawPackage<'a>>,
    /// The first problem TOML's grammar does not catch, with its offset.
    problem: Option<(usize, String)>,
}

impl<'a> Reader<'a> {
    /// Decodes a key or a scalar, reporting what TOML forbids in it (a missing value, a bad
    /// escape) as the `toml` crate would. Values nobody reads are checked the same way.
    fn decode(
        &self,
        span: Span,
        kind: Option<Encoding>,
        key: bool,
        error: &mut dyn ErrorSink,
    ) -> Option<(Cow<'a, str>, bool)> {
        let raw = toml_parser::Raw::new_unchecked(self.source.get(span)?.as_str(), kind, span);
        let mut out = Cow::Borrowed("");
        let is_string = if key {
            raw.decode_key(&mut out, error);
            true
        } else {
            raw.decode_scalar(&mut out, error) == ScalarKind::String
        };
        Some((out, is_string))
    }

    fn fail(&mut self, at: usize, message: String) {
        self.problem.get_or_insert((at, message));
    }

    fn current(&mut self) -> Option<&mut RawPackage<'a>> {
        match self.section {
            Section::Package => self.packages.last_mut(),
            Section::Root => self.root.as_mut(),
            Section::Top | Section::Other => None,
        }
    }

    fn open_header(&mut self, array: bool, span: Span) {
        self.header = Some((array, span.start(), Vec::new()));
    }

    fn close_header(&mut self) {
        let Some((array, at, keys)) = self.header.take() else {
            return;
        };
        let keys: Vec<&str> = keys.iter().map(|k| &**k).collect();
        self.section = match (array, keys.as_slice()) {
            (true, ["package"]) => {
                self.packages.push(RawPackage {
                    at,
                    ..RawPackage::default()
                });
                Section::Package
            }
            (false, ["root"]) if self.root.is_none() => {
                self.root = Some(RawPackage {
                    at,
                    ..RawPackage::default()
                });
                Section::Root
            }
            // A table inside a package (`[[package.x]]`) holds nothing this reader keeps,
            // unless it redefines one of the fields.
            (_, ["package" | "root", sub, ..])
                if !matches!(*sub, "name" | "version" | "source" | "dependencies") =>
            {
                Section::Other
            }
            (_, ["package", ..] | ["root", ..]) => {
                // Valid TOML Cargo never writes: refuse it rather than misread packages.
                self.fail(
                    at,
                    format!(
                        "unexpected table `{}`: Cargo writes `[[package]]`",
                        keys.join(".")
                    ),
                );
                Section::Other
            }
            _ => Section::Other,
        };
    }

    fn set(&mut self, field: Field, value: Cow<'a, str>, at: usize) {
        let Some(package) = self.current() else {
            return;
        };
        let slot = match field {
            Field::Name => &mut package.name,
            Field::Version => &mut package.version,
            Field::Source => &mut package.source,
            Field::Dependencies | Field::Ignored => return,
        };
        if slot.replace(value).is_some() {
            self.fail(at, "duplicate key in a package".to_owned());
        }
    }
}

impl<'a> EventReceiver for Reader<'a> {
    fn std_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.open_header(false, span);
    }
    fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.close_header();
    }
    fn array_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.open_header(true, span);
    }
    fn array_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.close_header();
    }

    fn simple_key(&mut self, span: Span, kind: Option<Encoding>, error: &mut dyn ErrorSink) {
        let Some((key, _)) = self.decode(span, kind, true, error) else {
            return;
        };
        if self.depth > 0 {
            return;
        }
        match &mut self.header {
            Some((_, _, keys)) => keys.push(key),
            None => self.key.push(key),
        }
    }

    fn key_val_sep(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if self.depth > 0 {
            return;
        }
        // The key's buffer is kept for the next pair: no allocation per key.
        let first = self.key.first().map(|k| &**k);
        let package_key = self.section == Section::Top && first == Some("package");
        let field = match (self.key.len(), first) {
            (1, Some("name")) => Field::Name,
            (1, Some("version")) => Field::Version,
            (1, Some("source")) => Field::Source,
            (1, Some("dependencies")) => Field::Dependencies,
            _ => Field::Ignored,
        };
        if package_key {
            self.fail(
                span.start(),
                "`package` as a key: Cargo writes `[[package]]` tables".to_owned(),
            );
        }
        self.key.clear();
        self.field = Some(field);
    }

    fn scalar(&mut self, span: Span, kind: Option<Encoding>, error: &mut dyn ErrorSink) {
        let Some((value, is_string)) = self.decode(span, kind, false, error) else {
            return;
        };
        let Some(field) = self.field else {
            return;
        };
        if field == Field::Ignored || self.current().is_none() {
            return;
        }
        let at = span.start();
        match (field, self.depth) {
            (Field::Dependencies, 1) if is_string => {
                if let Some(package) = self.current() {
                    package.dependencies.push(value);
                }
            }
            (Field::Dependencies, _) | (_, 1..) => {
                self.fail(
                    at,
                    "unexpected value: dependencies are a list of strings".to_owned(),
                );
            }
            (_, 0) if !is_string => self.fail(at, "invalid type: expected a string".to_owned()),
            (field, _) => self.set(field, value, at),
        }
    }

    fn array_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.depth += 1;
        let wanted = self.field == Some(Field::Dependencies) && self.depth == 1;
        if !wanted && !matches!(self.field, Some(Field::Ignored) | None) && self.current().is_some()
        {
            self.fail(span.start(), "invalid type: expected a string".to_owned());
        }
        true
    }
    fn array_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.depth = self.depth.saturating_sub(1);
    }
    fn inline_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.depth += 1;
        if !matches!(self.field, Some(Field::Ignored) | None) && self.current().is_some() {
            self.fail(span.start(), "invalid type: expected a string".to_owned());
        }
        true
    }
    fn inline_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn newline(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if self.depth == 0 {
            self.field = None;
            self.key.clear();
        }
    }
}

/// `registry+URL`, `sparse+URL`, `git+URL?branch=b#commit`, `path+…`.
fn parse_source(source: &str) -> Source {
    if let Some(url) = source.strip_prefix("registry+") {
        return Source::Registry {
            url: Some(url.to_owned()),
        };
    }
    if source.starts_with("sparse+") {
        return Source::Registry {
            url: Some(source.to_owned()),
        };
    }
    if let Some(rest) = source.strip_prefix("git+") {
        let (rest, commit) = match rest.split_once('#') {
            Some((r, c)) => (r, Some(c.to_owned())),
            None => (rest, None),
        };
        let (url, reference) = match rest.split_once('?') {
            Some((url, query)) => (
                url,
                query.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    matches!(k, "branch" | "tag" | "rev").then(|| v.to_owned())
                }),
            ),
            None => (rest, None),
        };
        return Source::Git {
            url: url.to_owned(),
            reference,
            commit,
        };
    }
    if let Some(path) = source.strip_prefix("path+") {
        return Source::Path {
            path: path.to_owned(),
        };
    }
    Source::Url {
        url: source.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// name, version, source, line, number of dependencies.
    type Read = Vec<(String, String, Option<String>, u32, usize)>;

    /// The reader this one replaced: serde through the `toml` crate, the reference for what
    /// a Cargo.lock holds.
    fn reference(text: &str) -> Option<Read> {
        #[derive(serde::Deserialize)]
        struct Lock {
            #[serde(default)]
            package: Vec<toml::Spanned<Pkg>>,
        }
        #[derive(serde::Deserialize)]
        struct Pkg {
            name: String,
            version: String,
            source: Option<String>,
            #[serde(default)]
            dependencies: Vec<String>,
        }
        let lines = LineIndex::new(text);
        let lock: Lock = toml::from_str(text).ok()?;
        Some(
            lock.package
                .iter()
                .map(|p| {
                    let line = lines.line(p.span().start);
                    let p = p.get_ref();
                    let source = p.source.clone();
                    (
                        p.name.clone(),
                        p.version.clone(),
                        source,
                        line,
                        p.dependencies.len(),
                    )
                })
                .collect(),
        )
    }

    fn ours(text: &str) -> Option<Read> {
        let lines = LineIndex::new(text);
        let (packages, _) = read(text, &lines).ok()?;
        Some(
            packages
                .iter()
                .map(|p| {
                    let name = p.name.as_deref().unwrap_or_default().to_owned();
                    let version = p.version.as_deref().unwrap_or_default().to_owned();
                    let source = p.source.as_deref().map(str::to_owned);
                    (
                        name,
                        version,
                        source,
                        lines.line(p.at),
                        p.dependencies.len(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn real_lockfiles_read_as_serde_reads_them() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let mut files = vec![
            format!("{root}/Cargo.lock"),
            format!("{root}/crates/allclear-lockfiles/tests/fixtures/Cargo.lock"),
        ];
        for entry in std::fs::read_dir(format!("{root}/crates"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let lock = entry.path().join("fuzz/Cargo.lock");
            if lock.is_file() {
                files.push(lock.display().to_string());
            }
        }
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let expected = reference(&text);
            assert!(expected.as_ref().is_some_and(|p| !p.is_empty()), "{file}");
            assert_eq!(ours(&text), expected, "{file}");
        }
    }

    /// Cargo.lock-shaped documents in every spelling TOML allows for what Cargo writes.
    fn lockfile() -> impl Strategy<Value = String> {
        let key = |k: &'static str| {
            prop::sample::select(vec![k.to_owned(), format!("\"{k}\""), format!("'{k}'")])
        };
        let string = prop::sample::select(vec![
            "\"a\"".to_owned(),
            "'b-1'".to_owned(),
            "\"c\\u0041\"".to_owned(),
            "\"\"\"d\"\"\"".to_owned(),
            "\"registry+https://github.com/rust-lang/crates.io-index\"".to_owned(),
            "\"1.0.0\"".to_owned(),
            "\"x 1.0 (registry+https://x)\"".to_owned(),
        ]);
        let value = prop_oneof![
            string.clone(),
            Just("3".to_owned()),
            Just("[]".to_owned()),
            Just("{ a = 1 }".to_owned()),
            Just("".to_owned()),
            Just("\"unterminated".to_owned()),
        ];
        let field = prop_oneof![
            (key("name"), string.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
            (key("version"), string.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
            (key("source"), value.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
            (
                key("dependencies"),
                prop::collection::vec(string.clone(), 0..3)
            )
                .prop_map(|(k, v)| format!("{k} = [\n {},\n]", v.join(",\n "))),
            (key("checksum"), value.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
            value.clone().prop_map(|v| format!("meta.x = {v}")),
            Just("# comment".to_owned()),
        ];
        let table = prop_oneof![
            4 => prop::collection::vec(field.clone(), 0..6)
                .prop_map(|f| format!("[[package]]\n{}\n", f.join("\n"))),
            1 => prop::collection::vec(field, 0..3)
                .prop_map(|f| format!("[metadata]\n{}\n", f.join("\n"))),
            1 => Just("[[package.x]]\n".to_owned()),
            1 => Just("package = []\n".to_owned()),
        ];
        prop::collection::vec(table, 0..5).prop_map(|t| format!("version = 3\n\n{}", t.join("\n")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Where serde reads packages, this reader reads the same ones on the same lines;
        /// where either refuses the document, the other reads no packages from it
        /// (a document may be refused by one reader only for what Cargo never writes).
        #[test]
        fn generated_lockfiles_read_as_serde_reads_them(text in lockfile()) {
            match (reference(&text), ours(&text)) {
                (Some(expected), Some(got)) => prop_assert_eq!(got, expected, "{}", text),
                // `package = []`: valid TOML, no packages, a form Cargo never writes.
                (Some(expected), None) => prop_assert!(expected.is_empty(), "refused what serde reads: {:?}\n{}", expected, text),
                (None, _) => {}
            }
        }
    }

    #[test]
    fn git_source() {
        assert_eq!(
            parse_source("git+https://github.com/a/b?branch=main#0123"),
            Source::Git {
                url: "https://github.com/a/b".into(),
                reference: Some("main".into()),
                commit: Some("0123".into())
            }
        );
    }
}
