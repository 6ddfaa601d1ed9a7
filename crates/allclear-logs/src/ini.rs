//! fail2ban's INI dialect: Python `configparser` as fail2ban configures it, plus its
//! `[INCLUDES]` and `known/` extensions.
//!
//! What the dialect means (and why it is written here rather than taken from an INI crate: the
//! INI crates on crates.io implement neither continuation lines by indentation, nor `%(name)s`
//! interpolation with `DEFAULT` fallback, nor fail2ban's include and `known/` rules):
//!
//! - `[section]` headers; `[DEFAULT]` holds values every section falls back to.
//! - `name = value` or `name: value`; option names are case-insensitive (lowercased), section
//!   names are not.
//! - A line indented deeper than its option line continues the value (joined with `\n`); empty
//!   lines inside a value are kept, trailing ones dropped; comment lines (`#` or `;` first) are
//!   skipped; `;` after whitespace starts an inline comment, `#` does not.
//! - `%(name)s` interpolates another option of the same section (or `DEFAULT`), `%%` is `%`;
//!   fail2ban adds `%(section/name)s`, `%(known/name)s` (the value before the last file that
//!   redefined it) and `%(__name__)s` (the section's name).
//! - `[INCLUDES]` `before`/`after` list files (one a line, relative to the including file) read
//!   before and after the file; values of later files replace earlier ones, and the replaced
//!   values stay reachable as `known/…`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// configparser's limit on nested interpolation (`MAX_INTERPOLATION_DEPTH`).
const MAX_INTERPOLATION_DEPTH: usize = 10;
/// How deep `[INCLUDES]` may nest; real configurations use two or three levels.
const MAX_INCLUDE_DEPTH: usize = 16;
/// The largest value interpolation may produce; guards against exponential expansion.
const MAX_VALUE_LEN: usize = 4 << 20;
/// The largest configuration file read.
const MAX_FILE_LEN: u64 = 16 << 20;

/// A configuration file could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum IniError {
    /// The file exists but could not be read.
    #[error("{}: cannot read", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than any configuration file should be.
    #[error("{}: file is larger than {MAX_FILE_LEN} bytes", path.display())]
    TooLarge { path: PathBuf },
    /// The file is not valid UTF-8 (configparser reads configuration as UTF-8).
    #[error("{}:{line}: not valid UTF-8", path.display())]
    NotUtf8 { path: PathBuf, line: usize },
    /// An option appears before any `[section]` header.
    #[error("{}:{line}: option outside of any [section]: {text:?}", path.display())]
    MissingSectionHeader {
        path: PathBuf,
        line: usize,
        text: String,
    },
    /// A line is neither a section header, an option, a comment nor a continuation.
    #[error("{}:{line}: expected `name = value`, found {text:?}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        text: String,
    },
    /// The same section header appears twice in one file.
    #[error("{}:{line}: section [{section}] already defined in this file", path.display())]
    DuplicateSection {
        path: PathBuf,
        line: usize,
        section: String,
    },
    /// The same option appears twice in one section of one file.
    #[error("{}:{line}: option `{option}` already defined in section [{section}] of this file", path.display())]
    DuplicateOption {
        path: PathBuf,
        line: usize,
        section: String,
        option: String,
    },
    /// `[INCLUDES]` nest deeper than any real configuration does.
    #[error("{}: includes nest deeper than {MAX_INCLUDE_DEPTH} levels", path.display())]
    IncludeDepth { path: PathBuf },
    /// A `%(...)s` reference could not be resolved.
    #[error("{}: [{section}] {option}: {message}", location(path, *line))]
    Interpolation {
        path: Option<PathBuf>,
        line: Option<usize>,
        section: String,
        option: String,
        message: String,
    },
}

fn location(path: &Option<PathBuf>, line: Option<usize>) -> String {
    match (path, line) {
        (Some(p), Some(l)) => format!("{}:{l}", p.display()),
        (Some(p), None) => p.display().to_string(),
        _ => "configuration".to_owned(),
    }
}

/// One option value with where it was defined (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    /// Index into [`Config::files`]; `None` for values set by code (jail arguments).
    pub file: Option<usize>,
    pub line: usize,
}

/// Options of one section, keyed by lowercased name.
pub type Section = BTreeMap<String, Value>;

/// One parsed file, before merging.
#[derive(Debug, Clone, Default)]
struct ParsedFile {
    defaults: Section,
    /// Sections in file order.
    sections: Vec<(String, Section)>,
}

/// Parses one file's text with configparser's rules (strict: duplicates within a file are
/// errors, as in Python 3).
fn parse_text(text: &str, path: &Path, file_index: usize) -> Result<ParsedFile, IniError> {
    let mut out = ParsedFile::default();
    // Where options go: None before the first header, Some(None) for DEFAULT, Some(Some(i))
    // for out.sections[i].
    let mut current: Option<Option<usize>> = None;
    let mut current_name = String::new();
    let mut option: Option<String> = None;
    // The value lines of the current option (joined at the end, as configparser does).
    let mut lines: Vec<String> = Vec::new();
    let mut option_line = 0usize;
    let mut indent_level = usize::MAX;
    let mut seen_sections: Vec<String> = Vec::new();
    let mut seen_options: Vec<(String, String)> = Vec::new();

    fn flush(
        out: &mut ParsedFile,
        current: Option<Option<usize>>,
        option: &mut Option<String>,
        lines: &mut Vec<String>,
        file_index: usize,
        line: usize,
    ) {
        if let (Some(target), Some(name)) = (current, option.take()) {
            let text = lines.join("\n").trim_end().to_owned();
            let value = Value {
                text,
                file: Some(file_index),
                line,
            };
            match target {
                None => {
                    out.defaults.insert(name, value);
                }
                Some(i) => {
                    if let Some((_, sec)) = out.sections.get_mut(i) {
                        sec.insert(name, value);
                    }
                }
            }
        }
        lines.clear();
    }

    for (index, raw_line) in text.split('\n').enumerate() {
        let lineno = index + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        // Inline comments: `;` at the start or after whitespace.
        let mut comment_start: Option<usize> = None;
        for (pos, ch) in line.char_indices() {
            if ch == ';'
                && (pos == 0
                    || line[..pos]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_whitespace))
            {
                comment_start = Some(pos);
                break;
            }
        }
        let trimmed_full = line.trim();
        if trimmed_full.starts_with('#') || trimmed_full.starts_with(';') {
            comment_start = Some(0);
        }
        let value = match comment_start {
            Some(pos) => line[..pos].trim(),
            None => line.trim(),
        };
        if value.is_empty() {
            // configparser keeps empty lines inside values (when the line has no comment);
            // they are trimmed from the end when the value is joined.
            if comment_start.is_none() && option.is_some() {
                lines.push(String::new());
            }
            continue;
        }
        let indent = line.chars().take_while(|c| c.is_whitespace()).count();
        if current.is_some() && option.is_some() && indent > indent_level {
            lines.push(value.to_owned());
            continue;
        }
        indent_level = indent;
        // SECTCRE is `\[(?P<header>.+)\]` matched at the start: the name runs to the last `]`.
        let header_end = value
            .rfind(']')
            .filter(|&end| value.starts_with('[') && end > 1);
        if let Some(end) = header_end {
            flush(
                &mut out,
                current,
                &mut option,
                &mut lines,
                file_index,
                option_line,
            );
            let name = &value[1..end];
            if seen_sections.iter().any(|s| s == name) {
                return Err(IniError::DuplicateSection {
                    path: path.to_owned(),
                    line: lineno,
                    section: name.to_owned(),
                });
            }
            seen_sections.push(name.to_owned());
            current_name = name.to_owned();
            if name == "DEFAULT" {
                current = Some(None);
            } else {
                out.sections.push((name.to_owned(), Section::new()));
                current = Some(Some(out.sections.len() - 1));
            }
            continue;
        }
        if current.is_none() {
            return Err(IniError::MissingSectionHeader {
                path: path.to_owned(),
                line: lineno,
                text: value.to_owned(),
            });
        }
        // OPTCRE: the name is everything up to the first `=` or `:`.
        let Some(delim) = value.find(['=', ':']) else {
            return Err(IniError::Syntax {
                path: path.to_owned(),
                line: lineno,
                text: value.to_owned(),
            });
        };
        let name = value[..delim].trim_end();
        if name.is_empty() {
            return Err(IniError::Syntax {
                path: path.to_owned(),
                line: lineno,
                text: value.to_owned(),
            });
        }
        flush(
            &mut out,
            current,
            &mut option,
            &mut lines,
            file_index,
            option_line,
        );
        let name = name.to_lowercase();
        let key = (current_name.clone(), name.clone());
        if seen_options.contains(&key) {
            return Err(IniError::DuplicateOption {
                path: path.to_owned(),
                line: lineno,
                section: current_name.clone(),
                option: name,
            });
        }
        seen_options.push(key);
        lines.push(value[delim + 1..].trim().to_owned());
        option = Some(name);
        option_line = lineno;
    }
    flush(
        &mut out,
        current,
        &mut option,
        &mut lines,
        file_index,
        option_line,
    );
    Ok(out)
}

/// Several files merged as fail2ban merges them, with interpolation on read.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Every file that was read, in reading order (indexes used by [`Value::file`]).
    pub files: Vec<PathBuf>,
    defaults: Section,
    /// Section names in first-definition order (including `KNOWN/…` bookkeeping sections).
    order: Vec<String>,
    sections: HashMap<String, Section>,
}

/// Extra values consulted before the section's own (configparser's `vars`).
pub type Vars = BTreeMap<String, String>;

impl Config {
    /// An empty configuration.
    pub fn new() -> Config {
        Config::default()
    }

    /// Parses `text` as if it were the file `path` (no includes): for tests and fuzzing.
    pub fn from_text(text: &str, path: &Path) -> Result<Config, IniError> {
        let mut config = Config::new();
        config.files.push(path.to_owned());
        let parsed = parse_text(text, path, 0)?;
        config.merge(parsed);
        Ok(config)
    }

    /// Reads the files that exist among `paths`, each with its `[INCLUDES]`, in order, merging
    /// later values over earlier ones. Returns whether any file was read.
    pub fn read_files(&mut self, paths: &[PathBuf]) -> Result<bool, IniError> {
        let mut expanded = Vec::new();
        for path in paths {
            self.expand_includes(path, &mut Vec::new(), &mut expanded)?;
        }
        let mut any = false;
        for (path, parsed) in expanded {
            let index = self.files.len();
            self.files.push(path);
            let parsed = reindex(parsed, index);
            self.merge(parsed);
            any = true;
        }
        Ok(any)
    }

    /// `path` with its includes, as (path, parsed) in reading order; missing files are skipped
    /// (as configparser does) and include cycles are cut.
    fn expand_includes(
        &self,
        path: &Path,
        seen: &mut Vec<PathBuf>,
        out: &mut Vec<(PathBuf, ParsedFile)>,
    ) -> Result<(), IniError> {
        if seen.len() >= MAX_INCLUDE_DEPTH {
            return Err(IniError::IncludeDepth {
                path: path.to_owned(),
            });
        }
        let Some(text) = read_optional(path)? else {
            return Ok(());
        };
        let parsed = parse_text(&text, path, 0)?;
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        let mut before = Vec::new();
        let mut after = Vec::new();
        if let Some((_, includes)) = parsed.sections.iter().find(|(n, _)| n == "INCLUDES") {
            // The include lists are interpolated in the including file alone.
            let mut single = Config::new();
            single.files.push(path.to_owned());
            single.merge(parsed.clone());
            for (key, list) in [("before", &mut before), ("after", &mut after)] {
                if includes.contains_key(key)
                    && let Some(value) = single.get("INCLUDES", key, &Vars::new())?
                {
                    for name in value.split('\n') {
                        let candidate = Path::new(name);
                        let resolved = if candidate.is_absolute() {
                            candidate.to_owned()
                        } else {
                            dir.join(candidate)
                        };
                        list.push(resolved);
                    }
                }
            }
        }
        seen.push(path.to_owned());
        for include in before {
            if !seen.contains(&include) {
                self.expand_includes(&include, seen, out)?;
            }
        }
        out.push((path.to_owned(), parsed));
        for include in after {
            if !seen.contains(&include) {
                self.expand_includes(&include, seen, out)?;
            }
        }
        seen.pop();
        Ok(())
    }

    /// Merges one parsed file over the current state, remembering replaced section values as
    /// `KNOWN/<section>` (fail2ban's `known/` interpolation reads them).
    fn merge(&mut self, parsed: ParsedFile) {
        for (k, v) in parsed.defaults {
            self.defaults.insert(k, v);
        }
        for (name, mut section) in parsed.sections {
            // Conditional sections (`[Definition?family=inet6]`) store their options with the
            // condition as a suffix, in the unconditional section.
            let mut name = name;
            if let Some(q) = name.find('?')
                && q > 0
                && name[..q].chars().all(|c| c.is_alphanumeric() || c == '_')
            {
                let cond = name[q..].to_owned();
                name.truncate(q);
                section = section
                    .into_iter()
                    .map(|(k, v)| (format!("{k}{cond}"), v))
                    .collect();
            }
            if let Some(existing) = self.sections.get(&name) {
                let known_name = format!("KNOWN/{name}");
                let previous = existing.clone();
                let known = self.section_entry(&known_name);
                for (k, v) in previous {
                    known.insert(k, v);
                }
                let existing = self.section_entry(&name);
                for (k, v) in section {
                    existing.insert(k, v);
                }
            } else {
                self.order.push(name.clone());
                self.sections.insert(name, section);
            }
        }
    }

    fn section_entry(&mut self, name: &str) -> &mut Section {
        if !self.sections.contains_key(name) {
            self.order.push(name.to_owned());
        }
        self.sections.entry(name.to_owned()).or_default()
    }

    /// Section names in definition order, without fail2ban's `KNOWN/…` bookkeeping.
    pub fn sections(&self) -> impl Iterator<Item = &str> {
        self.order
            .iter()
            .map(String::as_str)
            .filter(|n| !n.starts_with("KNOWN/"))
    }

    /// Whether the section exists (`DEFAULT` always does).
    pub fn has_section(&self, name: &str) -> bool {
        name == "DEFAULT" || self.sections.contains_key(name)
    }

    /// The section's own options (without `DEFAULT`).
    pub fn own_options(&self, section: &str) -> Vec<&str> {
        match self.sections.get(section) {
            Some(s) => s.keys().map(String::as_str).collect(),
            None if section == "DEFAULT" => self.defaults.keys().map(String::as_str).collect(),
            None => Vec::new(),
        }
    }

    /// Whether `option` is defined in the section itself (not only in `DEFAULT`).
    pub fn has_own_option(&self, section: &str, option: &str) -> bool {
        self.sections
            .get(section)
            .is_some_and(|s| s.contains_key(&option.to_lowercase()))
    }

    /// Sets a default value (fail2ban sets `fail2ban_version`, `fail2ban_confpath`).
    pub fn set_default(&mut self, option: &str, text: &str) {
        self.defaults.insert(
            option.to_lowercase(),
            Value {
                text: text.to_owned(),
                file: None,
                line: 0,
            },
        );
    }

    /// The raw value (no interpolation), looked up in `vars`, the section, then `DEFAULT`.
    /// `None` when the section or option does not exist.
    pub fn get_raw(&self, section: &str, option: &str) -> Option<&Value> {
        let option = option.to_lowercase();
        match self.sections.get(section) {
            Some(s) => s.get(&option).or_else(|| self.defaults.get(&option)),
            None if section == "DEFAULT" => self.defaults.get(&option),
            None => None,
        }
    }

    /// configparser's `get(section, option, vars=vars)`: the interpolated value, or `None`
    /// when the section or option does not exist.
    pub fn get(
        &self,
        section: &str,
        option: &str,
        vars: &Vars,
    ) -> Result<Option<String>, IniError> {
        if section != "DEFAULT" && !self.sections.contains_key(section) {
            return Ok(None);
        }
        let key = option.to_lowercase();
        let (raw, origin) = match vars.get(&key) {
            Some(v) => (v.clone(), None),
            None => match self.get_raw(section, &key) {
                Some(v) => (v.text.clone(), Some(v)),
                None => return Ok(None),
            },
        };
        let mut out = String::new();
        self.interpolate(section, &raw, vars, 1, &mut out)
            .map_err(|message| IniError::Interpolation {
                path: origin
                    .and_then(|v| v.file)
                    .and_then(|f| self.files.get(f).cloned()),
                line: origin.map(|v| v.line),
                section: section.to_owned(),
                option: key.clone(),
                message,
            })?;
        Ok(Some(out))
    }

    /// fail2ban's `get_ex`: like [`Config::get`], but `section/option` names read another
    /// section (`known/option` the previous value of the option in `section`).
    pub fn get_ex(
        &self,
        section: &str,
        option: &str,
        vars: &Vars,
    ) -> Result<Option<String>, IniError> {
        if let Some((sec, opt)) = split_section_option(option) {
            let candidates: Vec<String> = if sec.eq_ignore_ascii_case("known") {
                vec![format!("KNOWN/{section}"), section.to_owned()]
            } else if sec.eq_ignore_ascii_case("default") {
                vec!["DEFAULT".to_owned()]
            } else {
                vec![sec.to_owned()]
            };
            for candidate in candidates {
                if let Some(v) = self.get(&candidate, opt, &Vars::new())? {
                    return Ok(Some(v));
                }
            }
        }
        self.get(section, option, vars)
    }

    /// BasicInterpolation with fail2ban's `__name__` and `section/option` extensions.
    fn interpolate(
        &self,
        section: &str,
        rest: &str,
        vars: &Vars,
        depth: usize,
        out: &mut String,
    ) -> Result<(), String> {
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(format!(
                "interpolation nests deeper than {MAX_INTERPOLATION_DEPTH} levels (a reference cycle?)"
            ));
        }
        let mut rest = rest;
        while !rest.is_empty() {
            let Some(p) = rest.find('%') else {
                out.push_str(rest);
                break;
            };
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            if out.len() > MAX_VALUE_LEN {
                return Err(format!("value grows beyond {MAX_VALUE_LEN} bytes"));
            }
            match rest.as_bytes().get(1) {
                Some(b'%') => {
                    out.push('%');
                    rest = &rest[2..];
                }
                Some(b'(') => {
                    let Some(close) = rest.find(")s") else {
                        return Err(format!("bad interpolation variable reference {rest:?}"));
                    };
                    let name = &rest[2..close];
                    if name.is_empty() || name.contains(')') {
                        return Err(format!("bad interpolation variable reference {rest:?}"));
                    }
                    rest = &rest[close + 2..];
                    let value = self.lookup_var(section, name, vars).ok_or_else(|| {
                        format!("`%({name})s` refers to an option that does not exist")
                    })?;
                    if value.contains('%') {
                        self.interpolate(section, &value, vars, depth + 1, out)?;
                    } else {
                        out.push_str(&value);
                    }
                }
                _ => {
                    return Err(format!(
                        "'%' must be followed by '%' or '(', found {:?}",
                        rest.chars().take(20).collect::<String>()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The raw value an interpolation reference names.
    fn lookup_var(&self, section: &str, name: &str, vars: &Vars) -> Option<String> {
        let key = name.to_lowercase();
        if let Some(v) = vars.get(&key) {
            return Some(v.clone());
        }
        if let Some(v) = self.get_raw(section, &key) {
            return Some(v.text.clone());
        }
        if key == "__name__" {
            return Some(section.to_owned());
        }
        // `%(section/option)s`: only reachable when written in lowercase, as in Python (the
        // substituted entry is stored under the name as written, looked up lowercased).
        let (sec, opt) = split_section_option(name)?;
        if key != name {
            return None;
        }
        let from_defaults = || self.defaults.get(opt).map(|v| v.text.clone());
        if sec.eq_ignore_ascii_case("known") {
            self.sections
                .get(&format!("KNOWN/{section}"))
                .and_then(|s| s.get(opt))
                .map(|v| v.text.clone())
                .or_else(from_defaults)
        } else if sec.eq_ignore_ascii_case("default") {
            from_defaults()
        } else {
            let s = self.sections.get(sec)?;
            s.get(opt).map(|v| v.text.clone()).or_else(from_defaults)
        }
    }

    /// Where a value was defined, as `path:line`, for messages.
    pub fn origin(&self, value: &Value) -> String {
        match value.file.and_then(|f| self.files.get(f)) {
            Some(p) => format!("{}:{}", p.display(), value.line),
            None => "(set by the jail)".to_owned(),
        }
    }
}

fn reindex(mut parsed: ParsedFile, index: usize) -> ParsedFile {
    for v in parsed.defaults.values_mut() {
        v.file = Some(index);
    }
    for (_, s) in parsed.sections.iter_mut() {
        for v in s.values_mut() {
            v.file = Some(index);
        }
    }
    parsed
}

/// Splits `section/option` (fail2ban's `^([\w\-]+)/([^\s>]+)$`).
fn split_section_option(name: &str) -> Option<(&str, &str)> {
    let (sec, opt) = name.split_once('/')?;
    let sec_ok = !sec.is_empty()
        && sec
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    let opt_ok = !opt.is_empty() && !opt.chars().any(|c| c.is_whitespace() || c == '>');
    (sec_ok && opt_ok).then_some((sec, opt))
}

/// Reads a file as UTF-8; `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, IniError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(IniError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    if !meta.is_file() {
        return Ok(None);
    }
    if meta.len() > MAX_FILE_LEN {
        return Err(IniError::TooLarge {
            path: path.to_owned(),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| IniError::Io {
        path: path.to_owned(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..valid]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Err(IniError::NotUtf8 {
                path: path.to_owned(),
                line,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::from_text(text, Path::new("t.conf")).unwrap()
    }

    fn get(c: &Config, s: &str, o: &str) -> Option<String> {
        c.get(s, o, &Vars::new()).unwrap()
    }

    #[test]
    fn continuation_lines_comments_and_case() {
        let c = parse(
            "# top\n[Definition]\nFailRegex = ^a\n    ^b\n\n# comment inside\n    ^c\nx: 1 ; inline\ny = 2#not a comment\n",
        );
        assert_eq!(
            get(&c, "Definition", "failregex").as_deref(),
            Some("^a\n^b\n\n^c")
        );
        assert_eq!(get(&c, "Definition", "x").as_deref(), Some("1"));
        assert_eq!(
            get(&c, "Definition", "y").as_deref(),
            Some("2#not a comment")
        );
        assert_eq!(
            get(&c, "definition", "x"),
            None,
            "section names are case-sensitive"
        );
    }

    #[test]
    fn interpolation_with_defaults_name_and_percent() {
        let c = parse(
            "[DEFAULT]\nd = D\nfilter = %(__name__)s[mode=%(mode)s]\nmode = normal\n[sshd]\na = x%(d)sy %%\n",
        );
        assert_eq!(get(&c, "sshd", "a").as_deref(), Some("xDy %"));
        assert_eq!(
            get(&c, "sshd", "filter").as_deref(),
            Some("sshd[mode=normal]")
        );
        let mut vars = Vars::new();
        vars.insert("mode".into(), "aggressive".into());
        assert_eq!(
            c.get("sshd", "filter", &vars).unwrap().as_deref(),
            Some("sshd[mode=aggressive]")
        );
    }

    #[test]
    fn section_references_and_errors() {
        let c = parse("[a]\nx = 1\n[b]\ny = %(a/x)s-%(missing)s\nz = %(z)s\nw = 50%\n");
        let err = c.get("b", "y", &Vars::new()).unwrap_err().to_string();
        assert!(err.contains("missing") && err.contains("t.conf:4"), "{err}");
        let err = c.get("b", "z", &Vars::new()).unwrap_err().to_string();
        assert!(err.contains("deeper"), "{err}");
        assert!(c.get("b", "w", &Vars::new()).is_err());
        let c = parse("[a]\nx = 1\n[b]\ny = %(a/x)s!\n");
        assert_eq!(get(&c, "b", "y").as_deref(), Some("1!"));
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let err =
            Config::from_text("[a]\nok = 1\nnot an option\n", Path::new("f.conf")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.conf:3: expected `name = value`, found \"not an option\""
        );
        let err = Config::from_text("x = 1\n", Path::new("f.conf")).unwrap_err();
        assert!(err.to_string().starts_with("f.conf:1:"), "{err}");
        let err = Config::from_text("[a]\nx=1\nX=2\n", Path::new("f.conf")).unwrap_err();
        assert!(err.to_string().starts_with("f.conf:3:"), "{err}");
        let err = Config::from_text("[a]\n[a]\n", Path::new("f.conf")).unwrap_err();
        assert!(err.to_string().starts_with("f.conf:2:"), "{err}");
    }

    #[test]
    fn includes_and_known_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(
            p.join("common.conf"),
            "[INCLUDES]\nafter = common.local\n[DEFAULT]\nprefix = P\n[Definition]\nre = base\n",
        )
        .unwrap();
        std::fs::write(p.join("common.local"), "[DEFAULT]\nprefix = LOCAL\n").unwrap();
        std::fs::write(
            p.join("f.conf"),
            "[INCLUDES]\nbefore = common.conf\n[Definition]\nre = %(known/re)s+more %(prefix)s\n",
        )
        .unwrap();
        let mut c = Config::new();
        assert!(
            c.read_files(&[p.join("f.conf"), p.join("f.local")])
                .unwrap()
        );
        assert_eq!(
            get(&c, "Definition", "re").as_deref(),
            Some("base+more LOCAL")
        );
        assert_eq!(c.files.len(), 3);
        assert!(!c.sections().any(|s| s.starts_with("KNOWN/")));
    }

    #[test]
    fn include_cycles_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(
            p.join("a.conf"),
            "[INCLUDES]\nbefore = b.conf\n[x]\nv = a\n",
        )
        .unwrap();
        std::fs::write(
            p.join("b.conf"),
            "[INCLUDES]\nbefore = a.conf\n[x]\nv = b\n",
        )
        .unwrap();
        let mut c = Config::new();
        c.read_files(&[p.join("a.conf")]).unwrap();
        assert_eq!(get(&c, "x", "v").as_deref(), Some("a"));
    }
}
