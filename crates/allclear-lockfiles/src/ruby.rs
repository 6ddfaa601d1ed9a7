//! Ruby: `Gemfile.lock`/`gems.locked`, `.ruby-version` and `.tool-versions`.
//!
//! Bundler's lockfile is indentation-structured text of its own (not YAML): sections start
//! in column 0, source options are indented two spaces, specs four, spec dependencies six.

use std::collections::HashSet;

use allclear_core::Ecosystem;

use crate::text::{check_conflict_markers, to_u32};
use crate::{Lockfile, Package, Problem, Source};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    /// A source section: GEM, GIT, PATH or PLUGIN SOURCE.
    Source(SourceKind),
    Dependencies,
    RubyVersion,
    Platforms,
    /// BUNDLED WITH, CHECKSUMS and anything newer: not ours to read.
    Other,
}

/// Distinct platforms kept per lockfile: real ones list a handful, and the list is keyed by
/// the file's text.
const MAX_PLATFORMS: usize = 64;

fn add_platform(lock: &mut Lockfile, platform: &str) {
    let platform = platform.trim();
    if platform.is_empty()
        || lock.platforms.len() >= MAX_PLATFORMS
        || lock.platforms.iter().any(|p| p == platform)
    {
        return;
    }
    lock.platforms.push(platform.to_owned());
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    Gem,
    Git,
    Path,
    Plugin,
}

/// Options of the current source section.
#[derive(Default)]
struct SourceOptions {
    remote: Option<String>,
    revision: Option<String>,
    reference: Option<String>,
}

impl SourceOptions {
    fn source(&self, kind: SourceKind) -> Source {
        let remote = self.remote.clone();
        match kind {
            SourceKind::Gem => Source::Registry { url: remote },
            SourceKind::Git => Source::Git {
                url: remote.unwrap_or_default(),
                reference: self.reference.clone(),
                commit: self.revision.clone(),
            },
            SourceKind::Path => Source::Path {
                path: remote.unwrap_or_default(),
            },
            SourceKind::Plugin => match remote {
                Some(url) => Source::Url { url },
                None => Source::registry(),
            },
        }
    }
}

pub(crate) fn parse_gemfile_lock(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    check_conflict_markers(text)?;
    let mut section = None;
    let mut options = SourceOptions::default();
    // (name, version) already listed: a gem locked for several platforms appears once per
    // platform with the same version; one finding per gem is enough.
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut direct: HashSet<String> = HashSet::new();
    let mut saw_section = false;

    for (i, raw) in text.lines().enumerate() {
        let line_no = to_u32(i + 1);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent == 0 {
            saw_section = true;
            options = SourceOptions::default();
            section = Some(match line {
                "GEM" => Section::Source(SourceKind::Gem),
                "GIT" => Section::Source(SourceKind::Git),
                "PATH" => Section::Source(SourceKind::Path),
                "PLUGIN SOURCE" => Section::Source(SourceKind::Plugin),
                "DEPENDENCIES" => Section::Dependencies,
                "RUBY VERSION" => Section::RubyVersion,
                "PLATFORMS" => Section::Platforms,
                _ if line.chars().all(|c| c.is_ascii_uppercase() || c == ' ') => Section::Other,
                _ => {
                    return Err(Problem::at(
                        line_no,
                        format!("unexpected line `{}` outside any section", shorten(line)),
                    ));
                }
            });
            continue;
        }
        let Some(current) = section else {
            return Err(Problem::at(line_no, "indented line before any section"));
        };
        let body = line.trim_start_matches(' ');
        match current {
            Section::Source(kind) => match indent {
                2 => {
                    if let Some((key, value)) = body.split_once(": ") {
                        let value = value.trim().to_owned();
                        match key {
                            // Old lockfiles list several GEM remotes; the first is the one
                            // users recognise.
                            "remote" if options.remote.is_none() => options.remote = Some(value),
                            "revision" => options.revision = Some(value),
                            "ref" | "branch" | "tag" => options.reference = Some(value),
                            _ => {}
                        }
                    }
                }
                4 => {
                    let (name, version) =
                        name_version(body).ok_or_else(|| Problem::at(line_no, bad_spec(body)))?;
                    let version = version.ok_or_else(|| Problem::at(line_no, bad_spec(body)))?;
                    if let Some(platform) = platform_of(body) {
                        add_platform(lock, platform);
                    }
                    if !seen.insert((name.to_owned(), version.to_owned())) {
                        continue;
                    }
                    lock.packages.push(Package {
                        ecosystem: Ecosystem::RubyGems,
                        name: name.to_owned(),
                        version: version.to_owned(),
                        line: line_no,
                        direct: None,
                        dev: None,
                        source: options.source(kind),
                    });
                }
                // Dependencies of a spec (six spaces): constraints, not locked versions.
                _ => {}
            },
            Section::Dependencies => {
                if indent == 2 {
                    let name = body.split([' ', '!']).next().unwrap_or(body);
                    direct.insert(name.to_owned());
                }
            }
            Section::RubyVersion => {
                if let Some(interpreter) = ruby_version_line(body, line_no) {
                    lock.interpreters.push(interpreter);
                }
            }
            Section::Platforms => {
                if indent == 2 {
                    add_platform(lock, body);
                }
            }
            Section::Other => {}
        }
    }
    if !saw_section && !text.trim().is_empty() {
        return Err(Problem::whole(
            "not a Gemfile.lock: no GEM, GIT, PATH or DEPENDENCIES section",
        ));
    }
    // Bundler writes DEPENDENCIES after the sources, so direct-ness is filled in at the end.
    // Without a DEPENDENCIES section (a truncated file) we cannot tell.
    let has_dependencies = text.lines().any(|l| l.trim_end() == "DEPENDENCIES");
    for package in &mut lock.packages {
        package.direct = has_dependencies.then(|| direct.contains(&package.name));
    }
    Ok(())
}

fn bad_spec(body: &str) -> String {
    format!("expected `name (version)`, found `{}`", shorten(body))
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Splits `name (version-platform)` as Bundler does: the version runs to the first `-`,
/// which RubyGems versions never contain in lockfiles; the rest is the platform.
fn name_version(body: &str) -> Option<(&str, Option<&str>)> {
    let Some((name, rest)) = body.split_once(" (") else {
        return (!body.contains(' ') && !body.is_empty()).then_some((body, None));
    };
    let inner = rest.strip_suffix(')')?;
    let version = inner.split('-').next().unwrap_or(inner);
    if name.is_empty() || version.is_empty() || version.contains([' ', '(', ')']) {
        return None;
    }
    Some((name, Some(version)))
}

/// The platform of a platform-specific gem (`java` in `nokogiri (1.13.10-java)`).
fn platform_of(body: &str) -> Option<&str> {
    let inner = body.split_once(" (")?.1.strip_suffix(')')?;
    inner.split_once('-').map(|(_, platform)| platform)
}

/// `ruby 3.2.2p53`, or `ruby 2.5.7p0 (jruby 9.2.13.0)` where the engine's own version counts.
fn ruby_version_line(body: &str, line: u32) -> Option<Package> {
    let body = body.trim();
    let (engine, version) = match body.split_once(" (") {
        Some((_, engine_part)) => {
            let engine_part = engine_part.trim_end_matches(')');
            let (engine, version) = engine_part.split_once(' ')?;
            (engine, version)
        }
        None => {
            let (engine, version) = body.split_once(' ')?;
            (engine, version)
        }
    };
    interpreter(engine, version, line)
}

/// Builds the interpreter package, dropping the patch level (`p53`) that advisories do not use.
fn interpreter(engine: &str, version: &str, line: u32) -> Option<Package> {
    let version = version.trim();
    let version = match version.find(['p', '-']) {
        // `3.2.2p53`, `2.6.0-p0`; but keep `3.3.0.preview1` whole.
        Some(at)
            if version.get(at..).is_some_and(|rest| {
                rest.trim_start_matches(['-', 'p'])
                    .chars()
                    .all(|c| c.is_ascii_digit())
            }) =>
        {
            version.get(..at).unwrap_or(version)
        }
        _ => version,
    };
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(Package {
        ecosystem: Ecosystem::Ruby,
        name: engine.to_owned(),
        version: version.to_owned(),
        line,
        direct: Some(true),
        dev: Some(false),
        source: Source::registry(),
    })
}

/// `3.2.2`, `ruby-3.2.2`, `jruby-9.4.0.0`, `truffleruby-23.0.0`; `system` means none.
fn engine_and_version(spec: &str) -> Option<(&str, &str)> {
    if spec.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(("ruby", spec));
    }
    for engine in [
        "ruby",
        "jruby",
        "truffleruby",
        "truffleruby+graalvm",
        "mruby",
    ] {
        if let Some(version) = spec
            .strip_prefix(engine)
            .and_then(|rest| rest.strip_prefix('-'))
        {
            let engine = if engine == "truffleruby+graalvm" {
                "truffleruby"
            } else {
                engine
            };
            return Some((engine, version));
        }
    }
    None
}

pub(crate) fn parse_ruby_version(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    for (i, line) in text.lines().enumerate() {
        let spec = line.split('#').next().unwrap_or("").trim();
        if spec.is_empty() {
            continue;
        }
        let line_no = to_u32(i + 1);
        if spec == "system" {
            return Ok(());
        }
        let parsed = engine_and_version(spec)
            .and_then(|(engine, version)| interpreter(engine, version, line_no));
        return match parsed {
            Some(p) => {
                lock.interpreters.push(p);
                Ok(())
            }
            None => Err(Problem::at(
                line_no,
                format!("unrecognised Ruby version `{}`", shorten(spec)),
            )),
        };
    }
    Ok(())
}

pub(crate) fn parse_tool_versions(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    for (i, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or("");
        let mut words = content.split_whitespace();
        if words.next() != Some("ruby") {
            continue;
        }
        let line_no = to_u32(i + 1);
        // Later words are fallbacks; the first is what asdf installs. `system`, `ref:…`
        // and `path:…` name no released version.
        let Some(spec) = words.next() else {
            return Err(Problem::at(line_no, "`ruby` without a version"));
        };
        if spec == "system" || spec.starts_with("ref:") || spec.starts_with("path:") {
            continue;
        }
        match engine_and_version(spec).and_then(|(e, v)| interpreter(e, v, line_no)) {
            Some(p) => lock.interpreters.push(p),
            None => {
                return Err(Problem::at(
                    line_no,
                    format!("unrecognised Ruby version `{}`", shorten(spec)),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_recorded() {
        let text = "GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.13.10-java)\n    rack (2.2.3)\n\nPLATFORMS\n  ruby\n  x86_64-linux\n\nDEPENDENCIES\n  rack\n";
        let lock = crate::parse(
            crate::FileKind::GemfileLock,
            "Gemfile.lock",
            text.as_bytes(),
        )
        .unwrap();
        assert_eq!(lock.platforms, ["java", "ruby", "x86_64-linux"]);
    }

    #[test]
    fn splits_platform_suffix() {
        assert_eq!(
            name_version("nokogiri (1.13.10-x86_64-linux)"),
            Some(("nokogiri", Some("1.13.10")))
        );
        assert_eq!(name_version("rack (2.0.1)"), Some(("rack", Some("2.0.1"))));
        assert_eq!(name_version("rack (2.0.1"), None);
        assert_eq!(name_version("rack"), Some(("rack", None)));
    }

    #[test]
    fn interpreter_versions() {
        let p = ruby_version_line("ruby 3.2.2p53", 7).unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str(), p.line),
            ("ruby", "3.2.2", 7)
        );
        let p = ruby_version_line("ruby 2.5.7p0 (jruby 9.2.13.0)", 1).unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("jruby", "9.2.13.0"));
        let p = interpreter("ruby", "3.3.0.preview1", 1).unwrap();
        assert_eq!(p.version, "3.3.0.preview1");
        let p = interpreter("ruby", "2.6.0-p0", 1).unwrap();
        assert_eq!(p.version, "2.6.0");
    }
}
