//! Python: `poetry.lock`, `Pipfile.lock`, `uv.lock` and `requirements*.txt`.

use std::collections::{HashMap, HashSet, VecDeque};

use allclear_core::Ecosystem;
use serde::Deserialize;
use toml::Spanned;

use crate::text::{LineIndex, Pairs, Raw, json, json_at, to_u32, toml};
use crate::{Lockfile, Package, Problem, Source};

fn pypi(name: &str, version: &str, line: u32, source: Source) -> Package {
    Package {
        ecosystem: Ecosystem::PyPI,
        name: name.to_owned(),
        version: version.to_owned(),
        line,
        direct: None,
        dev: None,
        source,
    }
}

// ---------------------------------------------------------------- poetry.lock

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<Spanned<PoetryPackage>>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    /// Poetry before 1.2: `main` or `dev`.
    category: Option<String>,
    /// Poetry 2: the dependency groups that pull the package in.
    groups: Option<Vec<String>>,
    source: Option<PoetrySource>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: String,
    reference: Option<String>,
    resolved_reference: Option<String>,
}

pub(crate) fn parse_poetry(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let lines = LineIndex::new(text);
    let file: PoetryLock = toml(text, &lines)?;
    for spanned in &file.package {
        let p = spanned.get_ref();
        let source = match &p.source {
            None => Source::registry(),
            Some(s) => match s.kind.as_str() {
                "git" => Source::Git {
                    url: s.url.clone(),
                    reference: s.reference.clone(),
                    commit: s.resolved_reference.clone(),
                },
                "directory" | "file" => Source::Path {
                    path: s.url.clone(),
                },
                "url" => Source::Url { url: s.url.clone() },
                _ => Source::Registry {
                    url: Some(s.url.clone()),
                },
            },
        };
        let mut package = pypi(
            &p.name,
            &p.version,
            lines.line(spanned.span().start),
            source,
        );
        package.dev = match (&p.category, &p.groups) {
            (_, Some(groups)) => Some(!groups.iter().any(|g| g == "main")),
            (Some(category), None) => Some(category == "dev"),
            // Poetry 1.2–1.8 keeps groups only in pyproject.toml.
            (None, None) => None,
        };
        lock.packages.push(package);
    }
    Ok(())
}

// ---------------------------------------------------------------- Pipfile.lock

#[derive(Deserialize)]
struct PipfileLock<'a> {
    #[serde(borrow, default)]
    default: Option<Pairs<String, Raw<'a>>>,
    #[serde(borrow, default)]
    develop: Option<Pairs<String, Raw<'a>>>,
}

#[derive(Deserialize)]
struct PipfileEntry {
    version: Option<String>,
    git: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    path: Option<String>,
    file: Option<String>,
}

pub(crate) fn parse_pipfile_lock(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let lines = LineIndex::new(text);
    let file: PipfileLock<'_> = json(text)?;
    for (group, dev) in [(&file.default, false), (&file.develop, true)] {
        let Some(group) = group else { continue };
        for (name, raw) in &group.0 {
            let entry: PipfileEntry = json_at(raw, &lines, &format!("package `{name}`"))?;
            // Git, path and URL entries pin no version; they cannot be matched by version.
            let Some(version) = entry.version.as_deref() else {
                continue;
            };
            let version = version.trim_start_matches("===").trim_start_matches("==");
            let source = if let Some(url) = entry.git {
                Source::Git {
                    url,
                    reference: entry.reference,
                    commit: None,
                }
            } else if let Some(path) = entry.path {
                Source::Path { path }
            } else if let Some(url) = entry.file {
                Source::Url { url }
            } else {
                Source::registry()
            };
            let mut package = pypi(name, version, lines.line_of(raw.get()), source);
            package.dev = Some(dev);
            lock.packages.push(package);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- uv.lock

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<Spanned<UvPackage>>,
}

#[derive(Deserialize)]
struct UvPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: HashMap<String, String>,
    #[serde(default)]
    dependencies: Vec<UvDep>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: HashMap<String, Vec<UvDep>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: HashMap<String, Vec<UvDep>>,
}

#[derive(Deserialize)]
struct UvDep {
    name: String,
}

impl UvPackage {
    /// The project itself and its workspace members.
    fn is_member(&self) -> bool {
        self.source.contains_key("editable") || self.source.contains_key("virtual")
    }

    fn runtime_deps(&self) -> impl Iterator<Item = &str> {
        self.dependencies
            .iter()
            .chain(self.optional_dependencies.values().flatten())
            .map(|d| d.name.as_str())
    }
}

pub(crate) fn parse_uv(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let lines = LineIndex::new(text);
    let file: UvLock = toml(text, &lines)?;
    let by_name: HashMap<&str, Vec<&UvPackage>> =
        file.package.iter().fold(HashMap::new(), |mut map, p| {
            map.entry(p.get_ref().name.as_str())
                .or_default()
                .push(p.get_ref());
            map
        });
    let members: Vec<&UvPackage> = file
        .package
        .iter()
        .map(Spanned::get_ref)
        .filter(|p| p.is_member())
        .collect();
    let prod_roots: Vec<&str> = members.iter().flat_map(|m| m.runtime_deps()).collect();
    let dev_roots: Vec<&str> = members
        .iter()
        .flat_map(|m| {
            m.dev_dependencies
                .values()
                .flatten()
                .map(|d| d.name.as_str())
        })
        .collect();
    let direct: HashSet<&str> = prod_roots.iter().chain(&dev_roots).copied().collect();
    // Dependencies are by name (uv adds a version only to tell duplicates apart, which
    // we treat alike).
    let prod = walk(&by_name, &prod_roots);
    let dev = walk(&by_name, &dev_roots);
    let have_members = !members.is_empty();

    for spanned in &file.package {
        let p = spanned.get_ref();
        if p.is_member() {
            continue;
        }
        let line = lines.line(spanned.span().start);
        let Some(version) = &p.version else {
            // Only local projects with dynamic versions lack one.
            continue;
        };
        let source = uv_source(&p.source);
        let mut package = pypi(&p.name, version, line, source);
        if have_members {
            let name = p.name.as_str();
            package.direct = Some(direct.contains(name));
            package.dev = if prod.contains(name) {
                Some(false)
            } else if dev.contains(name) {
                Some(true)
            } else {
                None
            };
        }
        lock.packages.push(package);
    }
    Ok(())
}

/// Names reachable from `roots`. Dependencies are by name (uv adds a version only to tell
/// duplicates apart, which we treat alike).
fn walk<'a>(by_name: &HashMap<&'a str, Vec<&'a UvPackage>>, roots: &[&'a str]) -> HashSet<&'a str> {
    let mut seen: HashSet<&'a str> = HashSet::new();
    let mut queue: VecDeque<&'a str> = roots.iter().copied().collect();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name) {
            continue;
        }
        for package in by_name.get(name).into_iter().flatten() {
            queue.extend(package.runtime_deps());
        }
    }
    seen
}

fn uv_source(source: &HashMap<String, String>) -> Source {
    if let Some(url) = source.get("registry") {
        return Source::Registry {
            url: Some(url.clone()),
        };
    }
    if let Some(git) = source.get("git") {
        let (rest, commit) = match git.split_once('#') {
            Some((r, c)) => (r, Some(c.to_owned())),
            None => (git.as_str(), None),
        };
        let (url, reference) = match rest.split_once('?') {
            Some((url, query)) => (
                url,
                query.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    matches!(k, "rev" | "branch" | "tag").then(|| v.to_owned())
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
    if let Some(url) = source.get("url") {
        return Source::Url { url: url.clone() };
    }
    if let Some(path) = source.get("path").or_else(|| source.get("directory")) {
        return Source::Path { path: path.clone() };
    }
    Source::registry()
}

// ---------------------------------------------------------------- requirements.txt

pub(crate) fn parse_requirements(text: &str, lock: &mut Lockfile) -> Result<(), Problem> {
    let mut logical = String::new();
    let mut start_line = 0u32;
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if logical.is_empty() {
            start_line = to_u32(i + 1);
        }
        // A trailing backslash joins the next line (pip joins before stripping comments).
        if let Some(joined) = raw.strip_suffix('\\') {
            logical.push_str(joined);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        requirement_line(&logical, start_line, lock);
        logical.clear();
    }
    if !logical.is_empty() {
        requirement_line(&logical, start_line, lock);
    }
    Ok(())
}

/// One logical line. Only `name==version` pins give packages; anything else (options,
/// `-r`, `-e`, ranges, URLs) is not a locked version and is skipped.
fn requirement_line(line: &str, line_no: u32, lock: &mut Lockfile) {
    // Comments start at `#` at the beginning or after whitespace.
    let mut end = line.len();
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace)) {
            end = i;
            break;
        }
    }
    let line = line.get(..end).unwrap_or(line).trim();
    if line.is_empty() || line.starts_with('-') {
        return;
    }
    // Environment markers and per-requirement options (`--hash=…`) follow the specifier.
    let line = line.split(';').next().unwrap_or(line);
    let line = line.split(" --").next().unwrap_or(line).trim();
    if line.contains(" @ ") || line.contains("://") {
        return;
    }
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let (name, mut rest) = line.split_at(name_end);
    if name.is_empty() {
        return;
    }
    // Extras: `name[a,b]==1.0`.
    if let Some(after) = rest.trim_start().strip_prefix('[') {
        let Some((_, after)) = after.split_once(']') else {
            return;
        };
        rest = after;
    }
    let mut pinned = None;
    for spec in rest.split(',') {
        let spec = spec.trim();
        if let Some(v) = spec.strip_prefix("===").or_else(|| spec.strip_prefix("==")) {
            let v = v.trim();
            if v.is_empty() || v.contains('*') || pinned.is_some() {
                return;
            }
            pinned = Some(v);
        }
    }
    if let Some(version) = pinned {
        lock.packages
            .push(pypi(name, version, line_no, Source::registry()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(text: &str) -> Vec<(String, String, u32)> {
        let mut lock = Lockfile {
            kind: crate::FileKind::Requirements,
            packages: vec![],
            interpreters: vec![],
            platforms: vec![],
        };
        parse_requirements(text, &mut lock).unwrap();
        lock.packages
            .into_iter()
            .map(|p| (p.name, p.version, p.line))
            .collect()
    }

    #[test]
    fn requirement_forms() {
        let text = "# top\nA==1.0 # pinned\nB>=2\nC[x,y] == 3.0 ; python_version < '3.9'\n\
                    -r other.txt\n-e git+https://x/y#egg=y\nD==4.0 \\\n    --hash=sha256:abc\n\
                    E==5.*\nF @ https://x/f.whl\n";
        assert_eq!(
            pins(text),
            vec![
                ("A".into(), "1.0".into(), 2),
                ("C".into(), "3.0".into(), 4),
                ("D".into(), "4.0".into(), 7),
            ]
        );
    }
}
