//! Insecure code in Rails and Drupal applications: the Brakeman and Drupal secure-coding job,
//! in `allclear scan`'s one walk of the tree.
//!
//! Rules are YAML (built in under `rules/`, or the user's own) matched against tree-sitter
//! syntax trees of Ruby, ERB (projected onto Ruby), PHP, Twig and Drupal routing files, with an
//! intra-procedural data-flow analysis that tells `where("name = '#{params[:q]}'")` (request
//! input in the SQL: high confidence) from `where("name = ?", params[:q])` (nothing).
//!
//! ```
//! use allclear_sast::{Confidence, Engine};
//!
//! let engine = Engine::builtin().unwrap();
//! let code = b"class UsersController\n  def index\n    User.where(\"name = '#{params[:q]}'\")\n  end\nend\n";
//! let scan = engine.scan_file("app/controllers/users_controller.rb", code).unwrap();
//! let outcome = engine.finish(vec![scan], Confidence::Weak);
//! assert_eq!(outcome.findings.len(), 1);
//! assert_eq!(outcome.findings[0].rule, "code.rails.sql-injection");
//! assert_eq!(outcome.findings[0].details["confidence"], "high");
//! ```

mod engine;
mod flow;
mod routes;
mod rules;
pub mod template;

use std::collections::BTreeMap;

use allclear_core::{Finding, Fix, Location};
use serde::Deserialize;

pub use engine::MAX_FILE_BYTES;
pub use rules::{Confidence, RuleDocs, RuleError};

/// The languages the rules are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Ruby,
    /// ERB templates: their code is Ruby, so Ruby rules run on them too.
    Erb,
    Php,
    Twig,
    /// Drupal routing files and Rails YAML configuration.
    Yaml,
    /// Files read only for what they say about the project (composer.json, `.info`).
    #[serde(skip)]
    Facts,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ruby => "ruby",
            Language::Erb => "erb",
            Language::Php => "php",
            Language::Twig => "twig",
            Language::Yaml => "yaml",
            Language::Facts => "facts",
        }
    }
}

/// Why a file was not scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The parser found a syntax error (tree-sitter recovers, but findings around the error
    /// would be guesses).
    Syntax { line: usize, message: String },
    /// Parsing took longer than its budget.
    Timeout,
    /// Too large to be hand-written code.
    TooLarge,
    /// Long lines or a generated-file marker: minified or generated.
    Generated,
    /// Dependencies' code (vendor/, contrib/, Drupal core): covered by the dependency audit.
    ThirdParty,
    /// Tests and their fixtures (`test/`, `tests/`, `spec/`): they do not run in production,
    /// and their fixtures are often insecure on purpose.
    TestCode,
    /// A template language with no grammar here (HAML, Slim).
    Unsupported(&'static str),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Syntax { line, message } => write!(f, "{message} at line {line}"),
            Skip::Timeout => f.write_str("parsing took too long"),
            Skip::TooLarge => write!(f, "larger than {} KiB", MAX_FILE_BYTES / 1024),
            Skip::Generated => f.write_str("minified or generated"),
            Skip::ThirdParty => f.write_str("third-party code"),
            Skip::TestCode => f.write_str("tests"),
            Skip::Unsupported(what) => write!(f, "{what} templates are not supported"),
        }
    }
}

/// What a file says about the project, for version-specific rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fact {
    /// From composer.json/composer.lock (`drupal/core`), or a module's `.info` file.
    DrupalMajor(u32),
    /// `config.load_defaults X.Y` in a Rails application.
    RailsLoadDefaults(f32),
}

/// What scanning one file gave.
#[derive(Debug, Clone)]
pub struct FileScan {
    path: String,
    hits: Vec<engine::Hit>,
    /// Why the file was not scanned, if it was not.
    pub skipped: Option<Skip>,
    facts: Vec<Fact>,
}

impl FileScan {
    /// The file's path as given to [`Engine::scan_file`].
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// What a whole scan found.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// Files not scanned, with the reason, sorted by path.
    pub skipped: Vec<(String, Skip)>,
    /// Files the rules ran on.
    pub scanned: usize,
    /// Findings below the requested confidence, not reported.
    pub below_confidence: usize,
    /// The Drupal major version the version-specific rules assumed, if one was found.
    pub drupal: Option<u32>,
}

/// The compiled rules.
pub struct Engine {
    rules: Vec<rules::Rule>,
    defaults: rules::Defaults,
}

impl Engine {
    /// The built-in Rails and Drupal rules.
    pub fn builtin() -> Result<Engine, RuleError> {
        Ok(Engine {
            rules: rules::builtin()?,
            defaults: rules::defaults(),
        })
    }

    /// Adds rules from a user's YAML file (same format as the built-in ones); `name` is shown
    /// in errors.
    pub fn add_rules(&mut self, name: &str, yaml: &str) -> Result<(), RuleError> {
        let added = rules::parse(name, yaml)?;
        for rule in &added {
            if self.rules.iter().any(|r| r.id == rule.id) {
                return Err(RuleError::Invalid {
                    file: name.to_owned(),
                    rule: rule.id.clone(),
                    message: "a rule with this id already exists".to_owned(),
                });
            }
        }
        self.rules.extend(added);
        Ok(())
    }

    /// Every rule id.
    pub fn rule_ids(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.id.as_str()).collect()
    }

    /// Whether the scan should read this file (by its `/`-separated path).
    pub fn wants(&self, path: &str) -> bool {
        language_of(path).is_some() || unsupported(path).is_some()
    }

    /// Scans one file. `None` when the engine does not read such files.
    pub fn scan_file(&self, path: &str, bytes: &[u8]) -> Option<FileScan> {
        let skip = |skip| FileScan {
            path: path.to_owned(),
            hits: Vec::new(),
            skipped: Some(skip),
            facts: Vec::new(),
        };
        if let Some(what) = unsupported(path) {
            return Some(skip(Skip::Unsupported(what)));
        }
        let language = language_of(path)?;
        if language != Language::Facts && third_party(path) {
            return Some(skip(Skip::ThirdParty));
        }
        if language != Language::Facts && test_code(path) {
            return Some(skip(Skip::TestCode));
        }
        if bytes.len() > MAX_FILE_BYTES && language != Language::Facts {
            return Some(skip(Skip::TooLarge));
        }
        let scanned = engine::scan(&self.rules, &self.defaults, language, path, bytes);
        Some(FileScan {
            path: path.to_owned(),
            hits: scanned.hits,
            skipped: scanned.skipped,
            facts: scanned.facts,
        })
    }

    /// Turns the files' matches into findings: version-specific rules the project's facts
    /// rule out are dropped, and matches below `min_confidence` are counted, not reported.
    pub fn finish(&self, files: Vec<FileScan>, min_confidence: Confidence) -> Outcome {
        let facts: Vec<Fact> = files.iter().flat_map(|f| f.facts.iter().copied()).collect();
        let drupal = facts
            .iter()
            .filter_map(|f| match f {
                Fact::DrupalMajor(major) => Some(*major),
                Fact::RailsLoadDefaults(_) => None,
            })
            .max();
        let csrf_by_default = facts
            .iter()
            .any(|f| matches!(f, Fact::RailsLoadDefaults(v) if *v >= 5.2));
        let mut outcome = Outcome {
            drupal,
            ..Outcome::default()
        };
        for file in files {
            if let Some(skip) = file.skipped {
                outcome.skipped.push((file.path, skip));
                continue;
            }
            if language_of(&file.path) != Some(Language::Facts) {
                outcome.scanned += 1;
            }
            for hit in file.hits {
                let Some(rule) = self.rules.get(hit.rule) else {
                    continue;
                };
                let version_fits = match (rule.drupal, drupal) {
                    (Some(rules::DrupalVersions::Seven), Some(major)) => major == 7,
                    (Some(rules::DrupalVersions::EightPlus), Some(major)) => major >= 8,
                    _ => true,
                };
                let missing_csrf = rule
                    .matchers
                    .iter()
                    .any(|m| matches!(m.kind, rules::Kind::MissingCall { .. }));
                if !version_fits || (missing_csrf && csrf_by_default) {
                    continue;
                }
                if hit.confidence < min_confidence {
                    outcome.below_confidence += 1;
                    continue;
                }
                outcome.findings.push(to_finding(rule, &file.path, hit));
            }
        }
        outcome.skipped.sort_by(|a, b| a.0.cmp(&b.0));
        outcome.findings.sort_by(|a, b| {
            (&a.location.path, a.location.line, &a.rule).cmp(&(
                &b.location.path,
                b.location.line,
                &b.rule,
            ))
        });
        outcome
    }
}

fn to_finding(rule: &rules::Rule, path: &str, hit: engine::Hit) -> Finding {
    let mut finding = Finding::new(rule.id.clone(), rule.severity, rule.title.clone())
        .with_location(Location::new(path).with_line(hit.line as u32))
        // Brakeman's fingerprint: rule, file and the expression's code, never the line.
        .with_key(hit.code.clone())
        .with_description(format!("{}\n\n{}", rule.docs.what, rule.docs.why))
        .with_fix(Fix {
            advice: Some(rule.docs.fix.clone()),
            ..Fix::default()
        })
        .with_detail("confidence", hit.confidence.as_str())
        .with_detail(
            "code",
            if rule.redact {
                redact(&hit.code)
            } else {
                hit.code
            },
        )
        .with_detail("column", hit.column as u64);
    if let Some(source) = hit.source {
        finding = finding.with_detail("input", source);
    }
    finding
}

/// Secrets are never printed in full: every run of 12 or more key-like characters keeps its
/// first four.
fn redact(code: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 12 {
            out.extend(run.chars().take(4));
            out.push_str("…(redacted)");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in code.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The language the rules read a file as, by its path.
pub fn language_of(path: &str) -> Option<Language> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match extension {
        "rb" | "rake" => Some(Language::Ruby),
        "erb" | "rhtml" => Some(Language::Erb),
        "php" | "module" | "inc" | "install" | "theme" | "profile" | "engine" => {
            Some(Language::Php)
        }
        "twig" => Some(Language::Twig),
        "info" => Some(Language::Facts),
        _ if name == "composer.json" || name == "composer.lock" || name.ends_with(".info.yml") => {
            Some(Language::Facts)
        }
        _ if name.ends_with(".routing.yml") => Some(Language::Yaml),
        _ => None,
    }
}

fn unsupported(path: &str) -> Option<&'static str> {
    if path.ends_with(".haml") {
        Some("HAML")
    } else if path.ends_with(".slim") {
        Some("Slim")
    } else {
        None
    }
}

/// Dependencies' code: vendored gems and Composer packages, Drupal contrib and core.
fn third_party(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts.iter().enumerate().any(|(i, part)| {
        matches!(
            *part,
            "vendor" | "contrib" | "node_modules" | "bower_components"
        ) || (*part == "core"
            && parts.get(i + 1).is_some_and(|next| {
                matches!(
                    *next,
                    "lib" | "modules" | "themes" | "includes" | "profiles"
                )
            }))
    })
}

/// Test code, by directory.
fn test_code(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop(); // the file name
    parts
        .iter()
        .any(|part| matches!(*part, "test" | "tests" | "spec" | "Tests" | "fixtures"))
}

/// Minified or generated: a generated-file marker near the top, or lines too long to be
/// written by hand.
fn generated(bytes: &[u8]) -> Option<Skip> {
    let head = &bytes[..bytes.len().min(1024)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    if head.contains("@generated")
        || head.contains("do not edit")
        || head.contains("auto-generated")
        || head.contains("autogenerated")
    {
        return Some(Skip::Generated);
    }
    let lines = bytes.split(|&b| b == b'\n').count().max(1);
    let longest = bytes
        .split(|&b| b == b'\n')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    if bytes.len() > 4096 && (bytes.len() / lines > 300 || longest > 20_000) {
        return Some(Skip::Generated);
    }
    None
}

/// What a file says about the project.
fn facts(path: &str, bytes: &[u8]) -> Vec<Fact> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let text = String::from_utf8_lossy(bytes);
    let mut facts = Vec::new();
    let major = |version: &str| -> Option<u32> {
        version
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    match name {
        "composer.json" => {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
                for package in ["drupal/core", "drupal/core-recommended", "drupal/drupal"] {
                    if let Some(version) = json["require"][package].as_str().and_then(major) {
                        facts.push(Fact::DrupalMajor(version));
                    }
                }
            }
        }
        "composer.lock" => {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(packages) = json["packages"].as_array()
            {
                for package in packages {
                    if matches!(
                        package["name"].as_str(),
                        Some("drupal/core" | "drupal/drupal")
                    ) && let Some(version) = package["version"].as_str().and_then(major)
                    {
                        facts.push(Fact::DrupalMajor(version));
                    }
                }
            }
        }
        _ if name.ends_with(".info") => {
            for line in text.lines() {
                if let Some(value) = line.trim().strip_prefix("core")
                    && let Some(value) = value.trim_start().strip_prefix('=')
                    && let Some(version) = major(value.trim().trim_matches('"'))
                {
                    facts.push(Fact::DrupalMajor(version));
                }
            }
        }
        _ if name.ends_with(".info.yml") && text.contains("core_version_requirement") => {
            facts.push(Fact::DrupalMajor(8));
        }
        "application.rb" => {
            for line in text.lines() {
                if let Some(rest) = line.trim().strip_prefix("config.load_defaults")
                    && let Ok(version) = rest.trim().trim_matches(|c| c == '"' || c == '\'').parse()
                {
                    facts.push(Fact::RailsLoadDefaults(version));
                }
            }
        }
        _ => {}
    }
    facts
}

/// A rule's example that did not behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCheckFailure {
    pub rule: String,
    pub message: String,
}

/// Runs every built-in rule against its own `valid` and `invalid` examples: each invalid one
/// must be reported by its rule (at any confidence), each valid one not at all.
pub fn check_rules() -> Vec<RuleCheckFailure> {
    match Engine::builtin() {
        Ok(engine) => engine.check(),
        Err(err) => vec![RuleCheckFailure {
            rule: "(rule files)".to_owned(),
            message: match std::error::Error::source(&err) {
                Some(source) => format!("{err}: {source}"),
                None => err.to_string(),
            },
        }],
    }
}

impl Engine {
    /// [`check_rules`] for this engine's rules (built-in and added).
    pub fn check(&self) -> Vec<RuleCheckFailure> {
        let mut failures = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let path = rule.example_path.clone().unwrap_or_else(|| {
                match rule.language {
                    Language::Ruby => "app/controllers/example_controller.rb",
                    Language::Erb => "app/views/example/show.html.erb",
                    Language::Php => "web/modules/custom/example/src/Example.php",
                    Language::Twig => "web/themes/custom/example/templates/example.html.twig",
                    Language::Yaml => "web/modules/custom/example/example.routing.yml",
                    Language::Facts => "composer.json",
                }
                .to_owned()
            });
            if rule.invalid.is_empty() || rule.valid.is_empty() {
                failures.push(RuleCheckFailure {
                    rule: rule.id.clone(),
                    message: "needs at least one valid and one invalid example".to_owned(),
                });
            }
            let hits_of = |code: &str| -> Result<usize, String> {
                let scan = engine::scan(
                    &self.rules[index..=index],
                    &self.defaults,
                    language_of(&path).unwrap_or(rule.language),
                    &path,
                    code.as_bytes(),
                );
                if let Some(skip) = scan.skipped {
                    return Err(format!(
                        "example not scanned ({skip}): {}",
                        first_line(code)
                    ));
                }
                Ok(scan.hits.len())
            };
            for example in &rule.invalid {
                match hits_of(example) {
                    Ok(0) => failures.push(RuleCheckFailure {
                        rule: rule.id.clone(),
                        message: format!("misses its invalid example: {}", first_line(example)),
                    }),
                    Ok(_) => {}
                    Err(message) => failures.push(RuleCheckFailure {
                        rule: rule.id.clone(),
                        message,
                    }),
                }
            }
            for example in &rule.valid {
                match hits_of(example) {
                    Ok(0) => {}
                    Ok(_) => failures.push(RuleCheckFailure {
                        rule: rule.id.clone(),
                        message: format!("reports its valid example: {}", first_line(example)),
                    }),
                    Err(message) => failures.push(RuleCheckFailure {
                        rule: rule.id.clone(),
                        message,
                    }),
                }
            }
        }
        failures
    }

    /// Each rule's documentation, by id, for `allclear rules explain` and the reference.
    pub fn docs(&self) -> BTreeMap<&str, (&str, allclear_core::Severity, &RuleDocs)> {
        self.rules
            .iter()
            .map(|r| (r.id.as_str(), (r.title.as_str(), r.severity, &r.docs)))
            .collect()
    }
}

/// The built-in rules' documentation: (id, title, severity, docs), sorted by id.
pub fn rule_docs() -> Vec<(String, String, allclear_core::Severity, RuleDocs)> {
    match Engine::builtin() {
        Ok(engine) => engine
            .docs()
            .into_iter()
            .map(|(id, (title, severity, docs))| {
                (id.to_owned(), title.to_owned(), severity, docs.clone())
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn first_line(code: &str) -> String {
    flow::short(
        code.lines().find(|l| !l.trim().is_empty()).unwrap_or(code),
        100,
    )
}
