//! Reading an AIDE configuration (`aide.conf`), so a team coming from AIDE gets the same
//! selection.
//!
//! Supported, the common subset:
//! - selection lines `/regex [types] attrs`, `=/regex [types] attrs`, `!/regex [types]`,
//!   `-/regex [types]` (an implicit `^`; `%XX` escapes; file-type restrictions `f,d,l,c,b,p,s`
//!   and `0`);
//! - group definitions `Name = p+i+n+u+g+s+m+c+sha256` (with `+` and `-`), and the
//!   predefined groups `R`, `L`, `>`, `H`, `X`, `E`;
//! - macros `@@define`, `@@undef`, `@@{VAR}`, `@@ifdef`, `@@ifndef`, `@@ifhost`,
//!   `@@ifnhost`, `@@if` (`defined`, `hostname`, `exists`, `not`), `@@else`, `@@endif`,
//!   `@@include FILE`, `@@include DIR REGEX [PREFIX]`, and `@@x_include` of files that are
//!   not executable;
//! - `root_prefix` and `report_ignore_changed_attrs`; other options that only shape AIDE's
//!   own database and report (`database_out`, `report_url`, `verbose`, …) are ignored.
//!
//! Anything else is an [`AideError::Unsupported`] naming the file, line and feature:
//! hashes we do not compute (`md5`, `sha1`, `rmd160`, `sha3_256`, …), `a` (atime), `I`,
//! `ANF`, `ARF`, `selinux`, `e2fsattrs`, `caps`, file-system-type restrictions, executable
//! includes. Regexes are Rust `regex` syntax: PCRE look-around and back-references are
//! reported as regex errors.
//!
//! Two deliberate differences: the predefined `R` uses SHA-256 where AIDE 0.18 uses
//! SHA3-256 (and 0.16 MD5), and `H` means SHA-256 + SHA-512.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use allclear_core::Severity;

use crate::attrs::{Attr, AttrSet};
use crate::entry::FileKind;
use crate::rules::{FimConfig, Rule, RuleKind, TypeMask};

/// AIDE nests includes at most this deep; so do we.
const MAX_INCLUDE_DEPTH: usize = 16;
/// Lines longer than this are not configuration.
const MAX_LINE: usize = 64 * 1024;
/// Bounds the total work on a hostile configuration (macros expanding macros).
const MAX_LINES: usize = 1_000_000;

/// The AIDE configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AideError {
    /// The file (or an included file or directory) could not be read.
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The line uses a feature this reader does not support.
    #[error("{path}:{line}: unsupported: {what}")]
    Unsupported {
        path: String,
        line: u32,
        what: String,
    },
    /// The line is malformed.
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: String,
        line: u32,
        message: String,
    },
    /// A selection line's regular expression does not compile.
    #[error("{path}:{line}: invalid regex `{pattern}`: {message}")]
    Regex {
        path: String,
        line: u32,
        pattern: String,
        message: String,
    },
}

/// Where includes are read from: the file system, or nothing (for tests and fuzzing).
pub trait Loader {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Regular files in `dir` (not recursive).
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    fn is_dir(&self, path: &Path) -> bool;
    fn is_executable(&self, path: &Path) -> bool;
    fn exists(&self, path: &Path) -> bool;
}

/// Reads includes from the file system.
pub struct FsLoader;

impl Loader for FsLoader {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for item in fs::read_dir(dir)? {
            let item = item?;
            if item.file_type()?.is_file() {
                out.push(item.path());
            }
        }
        Ok(out)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn is_executable(&self, path: &Path) -> bool {
        fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }

    fn exists(&self, path: &Path) -> bool {
        path.symlink_metadata().is_ok()
    }
}

/// Refuses every include (for parsing text alone).
pub struct NoIncludes;

impl Loader for NoIncludes {
    fn read(&self, _: &Path) -> io::Result<Vec<u8>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "includes are not read here",
        ))
    }

    fn list(&self, _: &Path) -> io::Result<Vec<PathBuf>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "includes are not read here",
        ))
    }

    fn is_dir(&self, _: &Path) -> bool {
        false
    }

    fn is_executable(&self, _: &Path) -> bool {
        false
    }

    fn exists(&self, _: &Path) -> bool {
        false
    }
}

/// Options for reading an AIDE configuration.
#[derive(Debug, Clone)]
pub struct AideOptions {
    /// This host's name, for `@@ifhost` and `@@{HOSTNAME}` (the library does not look it
    /// up itself). `@@ifhost` without it is an error.
    pub hostname: Option<String>,
    /// The severity of changes under AIDE rules (AIDE has no severities). Default high.
    pub severity: Severity,
}

impl Default for AideOptions {
    fn default() -> Self {
        AideOptions {
            hostname: None,
            severity: Severity::High,
        }
    }
}

/// Reads `path` and its includes into a [`FimConfig`].
pub fn parse_aide_config(path: &Path, options: &AideOptions) -> Result<FimConfig, AideError> {
    let text = fs::read(path).map_err(|source| AideError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_aide_bytes(&text, path, options, &FsLoader)
}

/// Parses configuration text; `path` names it in errors and anchors relative includes.
pub fn parse_aide_bytes(
    text: &[u8],
    path: &Path,
    options: &AideOptions,
    loader: &dyn Loader,
) -> Result<FimConfig, AideError> {
    let mut parser = Parser {
        options,
        loader,
        vars: HashMap::new(),
        groups: predefined_groups(),
        rules: Vec::new(),
        root: None,
        ignore_changed: AttrSet::EMPTY,
        lines: 0,
    };
    if let Some(host) = &options.hostname {
        parser.vars.insert("HOSTNAME".into(), host.clone());
    }
    parser.vars.insert("AIDE_VERSION".into(), "0.18".into());
    parser.file(text, path, "", 0)?;
    let mut rules = parser.rules;
    if !parser.ignore_changed.is_empty() {
        for rule in &mut rules {
            rule.attrs = rule.attrs.difference(parser.ignore_changed);
        }
    }
    let mut config = FimConfig::from_parts(rules, Vec::new(), path.display().to_string());
    if let Some(root) = parser.root {
        config.root = root;
    }
    Ok(config)
}

fn predefined_groups() -> HashMap<String, AttrSet> {
    use Attr::*;
    let x = AttrSet::from_attrs(&[Acl, Xattrs]);
    let l = AttrSet::from_attrs(&[Perms, Type, Inode, Target, Links, Owner, Group]).union(x);
    let r = l.union(AttrSet::from_attrs(&[Size, Mtime, Ctime, Sha256]));
    let growing = AttrSet::from_attrs(&[
        Perms, Type, Target, Owner, Group, Inode, Links, Size, Growing,
    ])
    .union(x);
    let mut groups = HashMap::new();
    groups.insert("R".to_owned(), r);
    groups.insert("L".to_owned(), l);
    groups.insert(">".to_owned(), growing);
    groups.insert("X".to_owned(), x);
    groups.insert("E".to_owned(), AttrSet::EMPTY);
    groups.insert("H".to_owned(), AttrSet::from_attrs(&[Sha256, Sha512]));
    groups
}

/// AIDE options that shape only AIDE's own database, report or logging.
const IGNORED_OPTIONS: &[&str] = &[
    "database",
    "database_in",
    "database_out",
    "database_new",
    "database_attrs",
    "database_add_metadata",
    "database_gzip",
    "gzip_dbout",
    "verbose",
    "log_level",
    "report_level",
    "report_url",
    "report_format",
    "report_base16",
    "report_detailed_init",
    "report_quiet",
    "report_grouped",
    "report_summarize_changes",
    "report_append",
    "report_ignore_added_attrs",
    "report_ignore_removed_attrs",
    "report_force_attrs",
    "report_ignore_e2fsattrs",
    "report_attributes",
    "grouped",
    "summarize_changes",
    "config_version",
    "acl_no_symlink_follow",
    "warn_dead_symlinks",
    "num_workers",
    "config_check_warn_unrestricted_rules",
];

struct Parser<'a> {
    options: &'a AideOptions,
    loader: &'a dyn Loader,
    vars: HashMap<String, String>,
    groups: HashMap<String, AttrSet>,
    rules: Vec<Rule>,
    root: Option<PathBuf>,
    ignore_changed: AttrSet,
    lines: usize,
}

/// One open `@@if…` block.
struct Cond {
    /// Whether lines in the current branch are used.
    active: bool,
    /// Where the block starts, for an unterminated one.
    line: u32,
    /// Whether the enclosing block is active.
    parent: bool,
    seen_else: bool,
}

impl Parser<'_> {
    fn file(
        &mut self,
        text: &[u8],
        path: &Path,
        prefix: &str,
        depth: usize,
    ) -> Result<(), AideError> {
        let name = path.display().to_string();
        let mut conds: Vec<Cond> = Vec::new();
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line_no = index as u32 + 1;
            self.lines += 1;
            if self.lines > MAX_LINES {
                return Err(syntax(
                    &name,
                    line_no,
                    "more than a million configuration lines".into(),
                ));
            }
            if raw.len() > MAX_LINE {
                return Err(syntax(&name, line_no, "line longer than 64 KiB".into()));
            }
            let Ok(raw) = std::str::from_utf8(raw) else {
                return Err(syntax(
                    &name,
                    line_no,
                    "not UTF-8 (write other bytes in paths as %XX)".into(),
                ));
            };
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            let active = conds.last().is_none_or(|c| c.active);

            if let Some(directive) = line.strip_prefix("@@")
                && !directive.starts_with('{')
            {
                let (word, rest) = split_word(directive);
                let rest = rest.trim();
                match word {
                    "ifdef" | "ifndef" | "ifhost" | "ifnhost" | "if" => {
                        let value = if active {
                            self.condition(word, rest, &name, line_no)?
                        } else {
                            false
                        };
                        conds.push(Cond {
                            active: active && value,
                            line: line_no,
                            parent: active,
                            seen_else: false,
                        });
                    }
                    "else" => {
                        let Some(c) = conds.last_mut() else {
                            return Err(syntax(&name, line_no, "@@else without @@if".into()));
                        };
                        if c.seen_else {
                            return Err(syntax(&name, line_no, "second @@else in one @@if".into()));
                        }
                        c.seen_else = true;
                        c.active = c.parent && !c.active;
                    }
                    "endif" => {
                        if conds.pop().is_none() {
                            return Err(syntax(&name, line_no, "@@endif without @@if".into()));
                        }
                    }
                    _ if !active => {}
                    "define" => {
                        let (var, value) = split_word(rest);
                        if var.is_empty() {
                            return Err(syntax(&name, line_no, "@@define needs a name".into()));
                        }
                        let value = self.substitute(value.trim(), &name, line_no)?;
                        self.vars.insert(var.to_owned(), value);
                    }
                    "undef" => {
                        self.vars.remove(rest);
                    }
                    "include" | "x_include" => {
                        let rest = self.substitute(rest, &name, line_no)?;
                        self.include(
                            word == "x_include",
                            &rest,
                            path,
                            prefix,
                            depth,
                            &name,
                            line_no,
                        )?;
                    }
                    "x_include_setenv" => {
                        return Err(unsupported(
                            &name,
                            line_no,
                            "@@x_include_setenv (executable includes)",
                        ));
                    }
                    other => {
                        return Err(unsupported(&name, line_no, &format!("macro @@{other}")));
                    }
                }
                continue;
            }
            if !active {
                continue;
            }
            let line = self.substitute(line, &name, line_no)?;
            let line = line.trim();
            match line.chars().next() {
                Some('/' | '!' | '=' | '-') if is_selection(line) => {
                    self.selection(line, prefix, &name, line_no)?
                }
                _ => self.assignment(line, &name, line_no)?,
            }
        }
        if let Some(open) = conds.first() {
            return Err(syntax(&name, open.line, "@@if without @@endif".into()));
        }
        Ok(())
    }

    fn condition(&self, word: &str, rest: &str, file: &str, line: u32) -> Result<bool, AideError> {
        match word {
            "ifdef" => Ok(self.vars.contains_key(rest)),
            "ifndef" => Ok(!self.vars.contains_key(rest)),
            "ifhost" | "ifnhost" => {
                let Some(host) = &self.options.hostname else {
                    return Err(unsupported(
                        file,
                        line,
                        &format!("@@{word} without a known host name"),
                    ));
                };
                Ok((host == rest) == (word == "ifhost"))
            }
            _ => self.expression(rest, file, line),
        }
    }

    /// `@@if` expressions: `not E`, `defined VAR`, `hostname NAME`, `exists PATH`.
    fn expression(&self, text: &str, file: &str, line: u32) -> Result<bool, AideError> {
        let mut negate = false;
        let mut rest = text.trim();
        while let Some(r) = rest.strip_prefix("not ") {
            negate = !negate;
            rest = r.trim_start();
        }
        let (word, arg) = split_word(rest);
        let arg = arg.trim();
        let value = match word {
            "defined" => self.vars.contains_key(arg),
            "hostname" => match &self.options.hostname {
                Some(host) => host == arg,
                None => {
                    return Err(unsupported(
                        file,
                        line,
                        "`hostname` without a known host name",
                    ));
                }
            },
            "exists" => self
                .loader
                .exists(Path::new(&self.substitute(arg, file, line)?)),
            _ => {
                return Err(unsupported(
                    file,
                    line,
                    &format!("@@if expression `{text}`"),
                ));
            }
        };
        Ok(value != negate)
    }

    fn substitute(&self, text: &str, file: &str, line: u32) -> Result<String, AideError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("@@{") {
            out.push_str(rest.get(..start).unwrap_or_default());
            let after = rest.get(start + 3..).unwrap_or_default();
            let Some(end) = after.find('}') else {
                return Err(syntax(file, line, "unterminated @@{".into()));
            };
            let var = after.get(..end).unwrap_or_default();
            // An undefined variable is the empty string, as in AIDE.
            if let Some(value) = self.vars.get(var) {
                out.push_str(value);
            }
            rest = after.get(end + 1..).unwrap_or_default();
        }
        out.push_str(rest);
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn include(
        &mut self,
        executable_allowed: bool,
        rest: &str,
        current: &Path,
        prefix: &str,
        depth: usize,
        file: &str,
        line: u32,
    ) -> Result<(), AideError> {
        if depth + 1 > MAX_INCLUDE_DEPTH {
            return Err(syntax(
                file,
                line,
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH}"),
            ));
        }
        let parts: Vec<&str> = rest.split_whitespace().collect();
        let resolve = |p: &str| {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_owned()
            } else {
                current.parent().unwrap_or(Path::new(".")).join(p)
            }
        };
        let mut files = Vec::new();
        let mut new_prefix = prefix.to_owned();
        match parts.as_slice() {
            [single] => files.push(resolve(single)),
            [dir, regex, rest @ ..] if rest.len() <= 1 => {
                let dir = resolve(dir);
                let matcher = regex::Regex::new(regex).map_err(|e| AideError::Regex {
                    path: file.to_owned(),
                    line,
                    pattern: (*regex).to_owned(),
                    message: e.to_string(),
                })?;
                let mut listed = self.loader.list(&dir).map_err(|source| AideError::Io {
                    path: dir.clone(),
                    source,
                })?;
                listed.sort();
                for f in listed {
                    let name = f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if matcher.is_match(&name) {
                        files.push(f);
                    }
                }
                if let Some(p) = rest.first() {
                    new_prefix.push_str(p);
                }
            }
            _ => {
                return Err(syntax(
                    file,
                    line,
                    "expected @@include FILE or @@include DIR REGEX [PREFIX]".into(),
                ));
            }
        }
        for f in files {
            if self.loader.is_executable(&f) && !self.loader.is_dir(&f) && executable_allowed {
                {
                    return Err(unsupported(
                        file,
                        line,
                        &format!(
                            "@@x_include of executable {} (its output is not run here)",
                            f.display()
                        ),
                    ));
                }
            }
            let text = self.loader.read(&f).map_err(|source| AideError::Io {
                path: f.clone(),
                source,
            })?;
            self.file(&text, &f, &new_prefix, depth + 1)?;
        }
        Ok(())
    }

    fn assignment(&mut self, line: &str, file: &str, line_no: u32) -> Result<(), AideError> {
        let Some((name, value)) = line.split_once('=') else {
            return Err(syntax(
                file,
                line_no,
                format!(
                    "expected a selection line (starting with /, =/, !/ or -/) or NAME = VALUE, found `{line}`"
                ),
            ));
        };
        let name = name.trim();
        let value = value.trim();
        if name == "root_prefix" {
            let root = value.trim_end_matches('/');
            self.root = Some(PathBuf::from(if root.is_empty() { "/" } else { root }));
            return Ok(());
        }
        if name == "report_ignore_changed_attrs" || name == "ignore_list" {
            self.ignore_changed = self.attr_expr(value, file, line_no)?;
            return Ok(());
        }
        if IGNORED_OPTIONS.contains(&name) || name.starts_with("report_") {
            return Ok(());
        }
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(syntax(
                file,
                line_no,
                format!("`{name}` is not a valid group name"),
            ));
        }
        let set = self.attr_expr(value, file, line_no)?;
        self.groups.insert(name.to_owned(), set);
        Ok(())
    }

    /// `p+i+n+u+g+s+m+c+sha256`, `R-m-c`, `MyGroup+sha512`.
    fn attr_expr(&self, expr: &str, file: &str, line: u32) -> Result<AttrSet, AideError> {
        let mut set = AttrSet::EMPTY;
        let mut sign = '+';
        let mut token = String::new();
        let apply = |token: &str, sign: char, set: &mut AttrSet| -> Result<(), AideError> {
            if token.is_empty() {
                return Err(syntax(file, line, format!("empty attribute in `{expr}`")));
            }
            let part = self.attr_token(token, file, line)?;
            *set = if sign == '+' {
                set.union(part)
            } else {
                set.difference(part)
            };
            Ok(())
        };
        for c in expr.trim().chars() {
            if (c == '+' || c == '-') && !token.is_empty() {
                apply(&token, sign, &mut set)?;
                token.clear();
                sign = c;
            } else if (c == '+' || c == '-') && token.is_empty() && set.is_empty() && sign == '+' {
                sign = c;
            } else if c.is_whitespace() {
                return Err(syntax(
                    file,
                    line,
                    format!("unexpected space in attribute expression `{expr}`"),
                ));
            } else {
                token.push(c);
            }
        }
        apply(&token, sign, &mut set)?;
        Ok(set)
    }

    fn attr_token(&self, token: &str, file: &str, line: u32) -> Result<AttrSet, AideError> {
        use Attr::*;
        if let Some(set) = self.groups.get(token) {
            return Ok(*set);
        }
        let one = |a: Attr| Ok(AttrSet::EMPTY.with(a));
        match token {
            "p" => one(Perms),
            "ftype" => one(Type),
            "i" => one(Inode),
            "l" => one(Target),
            "n" => one(Links),
            "u" => one(Owner),
            "g" => one(Group),
            "s" => one(Size),
            "b" => one(Blocks),
            "m" => one(Mtime),
            "c" => one(Ctime),
            "S" => Ok(AttrSet::from_attrs(&[Size, Growing])),
            "growing" => one(Growing),
            "acl" => one(Acl),
            "xattrs" => one(Xattrs),
            "sha256" => one(Sha256),
            "sha512" => one(Sha512),
            "a" => Err(unsupported(
                file,
                line,
                "`a` (atime): reading files to hash them changes it; leave it out",
            )),
            "I" => Err(unsupported(file, line, "`I` (ignore changed file names)")),
            "ANF" | "ARF" => Err(unsupported(
                file,
                line,
                &format!("`{token}` (allow new/removed files); use an exclusion"),
            )),
            "compressed" => Err(unsupported(file, line, "`compressed`")),
            "selinux" | "caps" => Err(unsupported(
                file,
                line,
                &format!(
                    "`{token}`; use `xattrs` (SELinux labels and capabilities are extended attributes)"
                ),
            )),
            "e2fsattrs" | "fstype" => Err(unsupported(file, line, &format!("`{token}`"))),
            "md5" | "sha1" | "rmd160" | "tiger" | "haval" | "crc32" | "crc32b" | "gost"
            | "whirlpool" | "stribog256" | "stribog512" | "sha3_256" | "sha3_512"
            | "sha512_256" => Err(unsupported(
                file,
                line,
                &format!("hash `{token}`; use sha256 or sha512"),
            )),
            _ => Err(syntax(
                file,
                line,
                format!("unknown attribute or group `{token}`"),
            )),
        }
    }

    fn selection(
        &mut self,
        line: &str,
        prefix: &str,
        file: &str,
        line_no: u32,
    ) -> Result<(), AideError> {
        let (kind, body) = match line.chars().next() {
            Some('!') => (RuleKind::Exclude, line.get(1..).unwrap_or_default()),
            Some('-') => (RuleKind::Prune, line.get(1..).unwrap_or_default()),
            Some('=') => (RuleKind::Equals, line.get(1..).unwrap_or_default()),
            _ => (RuleKind::Select, line),
        };
        let tokens = split_escaped(body);
        let (pattern, restriction, attrs) = match (kind, tokens.as_slice()) {
            (RuleKind::Exclude | RuleKind::Prune, [p]) => (p, None, None),
            (RuleKind::Exclude | RuleKind::Prune, [p, r]) => (p, Some(r), None),
            (RuleKind::Select | RuleKind::Equals, [p, a]) => (p, None, Some(a)),
            (RuleKind::Select | RuleKind::Equals, [p, r, a]) => (p, Some(r), Some(a)),
            (RuleKind::Select | RuleKind::Equals, [_]) => {
                return Err(syntax(
                    file,
                    line_no,
                    "a selection line needs an attribute group".into(),
                ));
            }
            _ => return Err(syntax(file, line_no, "too many fields".into())),
        };
        let pattern = format!("{prefix}{}", url_decode(pattern));
        if !pattern.starts_with('/') {
            return Err(syntax(
                file,
                line_no,
                format!("`{pattern}` does not start with /"),
            ));
        }
        let types = match restriction {
            Some(r) => self.restriction(r, file, line_no)?,
            None => None,
        };
        let attrs = match attrs {
            Some(a) => self.attr_expr(a, file, line_no)?,
            None => AttrSet::EMPTY,
        };
        let rule = Rule::from_regex(
            format!("{file}:{line_no}"),
            kind,
            &pattern,
            types,
            attrs,
            self.options.severity,
        )
        .map_err(|e| AideError::Regex {
            path: file.to_owned(),
            line: line_no,
            pattern: pattern.clone(),
            message: e.to_string(),
        })?;
        self.rules.push(rule);
        Ok(())
    }

    fn restriction(
        &self,
        text: &str,
        file: &str,
        line: u32,
    ) -> Result<Option<TypeMask>, AideError> {
        if text.contains('=') {
            return Err(unsupported(
                file,
                line,
                &format!("file system type restriction `{text}`"),
            ));
        }
        if text == "0" {
            return Ok(None);
        }
        let mut kinds = Vec::new();
        for t in text.split(',') {
            kinds.push(match t {
                "f" => FileKind::File,
                "d" => FileKind::Dir,
                "l" => FileKind::Symlink,
                "c" => FileKind::CharDevice,
                "b" => FileKind::BlockDevice,
                "p" => FileKind::Fifo,
                "s" => FileKind::Socket,
                "D" | "P" => {
                    return Err(unsupported(file, line, &format!("Solaris file type `{t}`")));
                }
                _ => {
                    return Err(syntax(
                        file,
                        line,
                        format!("unknown file type `{t}` in restriction `{text}`"),
                    ));
                }
            });
        }
        Ok(Some(TypeMask::from_kinds(&kinds)))
    }
}

/// Does the line start like a selection line (`/…`, `!/…`, `=/…`, `-/…`)?
fn is_selection(line: &str) -> bool {
    line.starts_with('/')
        || line.starts_with("!/")
        || line.starts_with("=/")
        || line.starts_with("-/")
}

/// Removes a `#` comment that starts the line or follows white space.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes.get(i - 1).is_some_and(|p| p.is_ascii_whitespace())) {
            // `\#` is not a comment.
            return line.get(..i).unwrap_or(line);
        }
    }
    line
}

fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(i) => (
            text.get(..i).unwrap_or(text),
            text.get(i..).unwrap_or_default(),
        ),
        None => (text, ""),
    }
}

/// Splits on white space; `\ `, `\@` and `\\` are AIDE's escapes (other backslashes stay,
/// they belong to the regex).
fn split_escaped(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ (' ' | '@')) => {
                    chars.next();
                    current.push(n);
                }
                Some('\\') => {
                    chars.next();
                    current.push('\\');
                }
                _ => current.push('\\'),
            },
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `%XX` to the byte it names: printable ASCII as itself, anything else as a regex byte
/// escape (the rule regexes match bytes, so non-UTF-8 names can be written).
fn url_decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'%')
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            if byte.is_ascii_graphic() || byte == b' ' {
                out.push(byte as char);
            } else {
                out.push_str(&format!("(?-u:\\x{byte:02x})"));
            }
            i += 3;
            continue;
        }
        // Copy the whole UTF-8 character starting here.
        let ch_len = text
            .get(i..)
            .and_then(|s| s.chars().next())
            .map_or(1, char::len_utf8);
        out.push_str(text.get(i..i + ch_len).unwrap_or_default());
        i += ch_len;
    }
    out
}

fn syntax(file: &str, line: u32, message: String) -> AideError {
    AideError::Syntax {
        path: file.to_owned(),
        line,
        message,
    }
}

fn unsupported(file: &str, line: u32, what: &str) -> AideError {
    AideError::Unsupported {
        path: file.to_owned(),
        line,
        what: what.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FimConfig, AideError> {
        parse_aide_bytes(
            text.as_bytes(),
            Path::new("aide.conf"),
            &AideOptions::default(),
            &NoIncludes,
        )
    }

    #[test]
    fn groups_and_selection() {
        let config = parse(
            "# comment\n\
             database_out=file:/var/lib/aide/aide.db.new\n\
             MyRule = p+i+n+u+g+s+m+c+sha256\n\
             /etc p+i+u+g     # inline comment\n\
             /bin MyRule\n\
             /var MyRule\n\
             !/var/log/.*\n\
             !/var/adm/utmp$\n\
             =/srv/ R-sha256+sha512\n",
        )
        .unwrap();
        let etc = config.rule_for(b"/etc/passwd", FileKind::File).unwrap();
        assert_eq!(etc.attrs.to_string(), "perms+owner+group+inode");
        assert_eq!(etc.name, "aide.conf:4");
        let bin = config.rule_for(b"/bin/ls", FileKind::File).unwrap();
        assert!(bin.attrs.contains(Attr::Sha256) && bin.attrs.contains(Attr::Links));
        assert!(
            config
                .rule_for(b"/var/log/syslog", FileKind::File)
                .is_none()
        );
        assert!(config.rule_for(b"/var/adm/utmp", FileKind::File).is_none());
        assert!(config.rule_for(b"/var/adm/utmpx", FileKind::File).is_some());
        let srv = config.rule_for(b"/srv/a", FileKind::File).unwrap();
        assert!(srv.attrs.contains(Attr::Sha512) && !srv.attrs.contains(Attr::Sha256));
        assert!(config.rule_for(b"/srv/a/b", FileKind::File).is_none());
        assert!(config.rule_for(b"/usr/bin/ls", FileKind::File).is_none());
    }

    #[test]
    fn restrictions_and_order() {
        let config = parse("/run d R-m-c-i\n/run f R\n!/run/x d\n").unwrap();
        let dir = config.rule_for(b"/run/a", FileKind::Dir).unwrap();
        assert!(!dir.attrs.contains(Attr::Mtime));
        let file = config.rule_for(b"/run/a/f", FileKind::File).unwrap();
        assert!(file.attrs.contains(Attr::Mtime));
        assert!(config.rule_for(b"/run/a", FileKind::Symlink).is_none());
        assert!(config.rule_for(b"/run/x", FileKind::Dir).is_none());
        assert!(config.rule_for(b"/run/x/f", FileKind::File).is_some());
    }

    #[test]
    fn macros() {
        let config = parse(
            "@@define BIN /usr/bin\n\
             @@ifdef BIN\n@@{BIN} R\n@@else\n/nope R\n@@endif\n\
             @@ifndef BIN\n/never R\n@@endif\n\
             @@if not defined NOPE\n/opt L\n@@endif\n",
        )
        .unwrap();
        assert!(config.rule_for(b"/usr/bin/ls", FileKind::File).is_some());
        assert!(config.rule_for(b"/nope/x", FileKind::File).is_none());
        assert!(config.rule_for(b"/never/x", FileKind::File).is_none());
        assert!(config.rule_for(b"/opt/x", FileKind::File).is_some());
    }

    #[test]
    fn url_escapes_and_backslashes() {
        let config =
            parse("/data/a%20b R\n/data/x%ffy R\n/etc/ca\\\\.crt$ R\n/sp/a\\ b R\n").unwrap();
        assert!(config.rule_for(b"/data/a b", FileKind::File).is_some());
        assert!(config.rule_for(b"/data/x\xffy", FileKind::File).is_some());
        assert!(config.rule_for(b"/etc/ca.crt", FileKind::File).is_some());
        assert!(config.rule_for(b"/etc/caxcrt", FileKind::File).is_none());
        assert!(config.rule_for(b"/sp/a b", FileKind::File).is_some());
    }

    #[test]
    fn unsupported_features_are_named_with_line() {
        let cases = [
            ("/etc p+md5\n", 1, "md5"),
            ("\n/etc p+a\n", 2, "atime"),
            ("/etc p+I\n", 1, "`I`"),
            ("/etc f=ext4 R\n", 1, "file system type"),
            ("@@ifhost web1\n@@endif\n", 1, "host name"),
            ("@@x_include_setenv A B\n", 1, "x_include_setenv"),
            ("@@bogus\n", 1, "@@bogus"),
            ("/etc R+selinux\n", 1, "selinux"),
        ];
        for (text, line, what) in cases {
            let err = parse(text).unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, AideError::Unsupported { line: l, .. } if l == line),
                "{text}: {message}"
            );
            assert!(message.contains(what), "{text}: {message}");
            assert!(
                message.starts_with(&format!("aide.conf:{line}:")),
                "{message}"
            );
        }
    }

    #[test]
    fn syntax_errors_are_named_with_line() {
        for (text, line) in [
            ("/etc\n", 1),
            ("@@endif\n", 1),
            ("@@ifdef X\n", 1),
            ("/etc NoSuchGroup\n", 1),
            ("etc R\n", 1),
            ("\n\n/etc/(x R\n", 3),
            ("/etc p+ +i\n", 1),
        ] {
            let err = parse(text).unwrap_err();
            let line_of = match &err {
                AideError::Syntax { line, .. } | AideError::Regex { line, .. } => *line,
                other => panic!("{text}: {other}"),
            };
            assert_eq!(line_of, line, "{text}: {err}");
        }
    }

    #[test]
    fn options_root_prefix_and_ignored_attrs() {
        let config =
            parse("root_prefix=/mnt/img/\nreport_ignore_changed_attrs = m+c\nverbose=5\n/etc R\n")
                .unwrap();
        assert_eq!(config.root, PathBuf::from("/mnt/img"));
        let rule = config.rule_for(b"/etc/x", FileKind::File).unwrap();
        assert!(!rule.attrs.contains(Attr::Mtime) && rule.attrs.contains(Attr::Size));
    }

    #[test]
    fn includes_are_read_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(dir.path().join("conf.d/10-bin"), "/usr/bin R\n").unwrap();
        std::fs::write(dir.path().join("conf.d/ignored.bak"), "/never R\n").unwrap();
        std::fs::write(dir.path().join("groups"), "Mine = p+u\n").unwrap();
        let main = dir.path().join("aide.conf");
        std::fs::write(
            &main,
            "@@include groups\n@@x_include conf.d ^[a-z0-9-]+$\n/etc Mine\n@@include self.conf\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("self.conf"), "@@include self.conf\n").unwrap();
        let err = parse_aide_config(&main, &AideOptions::default()).unwrap_err();
        assert!(err.to_string().contains("nested deeper"), "{err}");
        std::fs::write(
            &main,
            "@@include groups\n@@x_include conf.d ^[a-z0-9-]+$\n/etc Mine\n",
        )
        .unwrap();
        let config = parse_aide_config(&main, &AideOptions::default()).unwrap();
        assert!(config.rule_for(b"/usr/bin/ls", FileKind::File).is_some());
        assert!(config.rule_for(b"/never/x", FileKind::File).is_none());
        assert_eq!(
            config
                .rule_for(b"/etc/x", FileKind::File)
                .unwrap()
                .attrs
                .to_string(),
            "perms+owner"
        );
        let missing =
            parse_aide_config(&dir.path().join("nope"), &AideOptions::default()).unwrap_err();
        assert!(matches!(missing, AideError::Io { .. }));
    }
}
