//! What a file is for, from its path (and, for generated data, the shape of its start): the
//! context that decides how a finding in it is judged.
//!
//! - Tests, fixtures, examples and documentation hold sample credentials on purpose: a
//!   finding there is still reported, at a lower severity, with the context named.
//! - Translations hold prose, lockfiles and manifests hold package names and version
//!   ranges, generated files (minified code, source maps, icon fonts) hold whatever a tool
//!   wrote: the generic `key = value` rules do not apply there (a vendor-prefixed token or a
//!   URL with credentials still counts).
//! - Package metadata, AUTHORS and LICENSE files list people on purpose: they are not
//!   copies of personal data.
//!
//! Paths inside archives (`a.zip!tests/x.py`) are judged by every component, the archive's
//! own path included.

/// A kind of file whose credentials are samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sample {
    Test,
    Fixture,
    Example,
    Docs,
}

impl Sample {
    /// The context's name in a finding's `context` detail.
    pub fn as_str(self) -> &'static str {
        match self {
            Sample::Test => "test",
            Sample::Fixture => "fixture",
            Sample::Example => "example",
            Sample::Docs => "documentation",
        }
    }

    /// How a title says it.
    pub fn phrase(self) -> &'static str {
        match self {
            Sample::Test => "in a test file",
            Sample::Fixture => "in test data",
            Sample::Example => "in an example",
            Sample::Docs => "in documentation",
        }
    }
}

/// What a file is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FileContext {
    /// Tests, fixtures, examples, documentation: findings are lowered, not hidden.
    pub sample: Option<Sample>,
    /// Translations: values are prose.
    pub locale: bool,
    /// Lockfiles and package manifests: package names and version ranges.
    pub dependencies: bool,
    /// Files that list people on purpose (package metadata, AUTHORS, LICENSE).
    pub people: bool,
    /// Generated data: minified code, source maps, SVG, icon-font definitions.
    pub generated: bool,
}

impl FileContext {
    /// Whether the generic `key = value` rules are meaningless in this file.
    pub fn values_are_not_credentials(self) -> bool {
        self.locale || self.dependencies || self.generated
    }
}

const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "__tests__",
    "spec",
    "specs",
    "e2e",
    "cypress",
    "testing",
];
const FIXTURE_DIRS: &[&str] = &[
    "fixtures",
    "fixture",
    "testdata",
    "test-data",
    "test_data",
    "__fixtures__",
    "__mocks__",
    "mocks",
    "__snapshots__",
];
const EXAMPLE_DIRS: &[&str] = &[
    "example",
    "examples",
    ".examples",
    "sample",
    "samples",
    "demo",
    "demos",
];
const DOC_DIRS: &[&str] = &["doc", "docs", "documentation", "man"];
const DOC_EXTENSIONS: &[&str] = &[
    "md", "markdown", "mdx", "rst", "adoc", "asciidoc", "textile",
];
const LOCALE_DIRS: &[&str] = &[
    "locales",
    "locale",
    "i18n",
    "l10n",
    "lang",
    "langs",
    "languages",
    "translations",
];
/// Translation formats, wherever they are.
const LOCALE_EXTENSIONS: &[&str] = &["po", "pot", "xlf", "xliff", "arb", "strings", "resx"];
/// What a translation file in a locale directory may be written in (not code: `java/lang/`).
const LOCALE_DATA_EXTENSIONS: &[&str] = &[
    "json",
    "yml",
    "yaml",
    "properties",
    "toml",
    "ini",
    "php",
    "js",
    "ts",
    "xml",
];
/// Lockfiles and manifests, by file name (lowercase).
const DEPENDENCY_FILES: &[&str] = &[
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "deno.lock",
    "composer.json",
    "composer.lock",
    "gemfile",
    "gemfile.lock",
    "gems.rb",
    "gems.locked",
    "go.mod",
    "go.sum",
    "go.work.sum",
    "cargo.lock",
    "poetry.lock",
    "pipfile",
    "pipfile.lock",
    "uv.lock",
    "pdm.lock",
    "requirements.txt",
    "mix.lock",
    "pubspec.lock",
    "packages.lock.json",
    "podfile.lock",
    "gradle.lockfile",
    "flake.lock",
    "bower.json",
];
/// Files whose purpose is to name people: credits, licences, package metadata.
const PEOPLE_PREFIXES: &[&str] = &[
    "authors",
    "contributors",
    "maintainers",
    "credits",
    "license",
    "licence",
    "copying",
    "notice",
    "copyright",
    "thanks",
    "codeowners",
    ".mailmap",
    "patents",
];
const PEOPLE_FILES: &[&str] = &[
    "package.json",
    "composer.json",
    "composer.lock",
    "bower.json",
    "pom.xml",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "cargo.toml",
    "metadata.rb",
    "info.xml",
];
const PEOPLE_EXTENSIONS: &[&str] = &["gemspec", "nuspec", "cabal", "podspec"];
/// Generated files by extension or suffix.
const GENERATED_SUFFIXES: &[&str] = &[
    ".min.js",
    ".min.css",
    ".min.mjs",
    ".map",
    ".svg",
    ".bundle.js",
    ".chunk.js",
    ".snap",
];
/// Directories of generated assets.
const GENERATED_DIRS: &[&str] = &["fonts", "font", "icons", "dist"];
/// Icon-font tools' project files.
const GENERATED_NAMES: &[&str] = &["icomoon", "fontello", "selection.json", "glyphs"];

/// The context of a file from its path, `/`-separated (`!` separates archive entries).
pub(crate) fn classify(path: &str) -> FileContext {
    let lower = path.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split(['/', '!']).filter(|p| !p.is_empty()).collect();
    let Some((name, dirs)) = parts.split_last() else {
        return FileContext::default();
    };
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    let in_dir = |set: &[&str]| dirs.iter().any(|d| set.contains(d));

    let test_name = {
        let stem = name.rsplit_once('.').map_or(*name, |(s, _)| s);
        stem.ends_with("_test")
            || stem.ends_with("_tests")
            || stem.ends_with("_spec")
            || stem.ends_with(".test")
            || stem.ends_with(".spec")
            || stem.starts_with("test_")
            || path_stem_is_camel_test(path)
            || stem == "conftest"
    };
    let example_name = [
        ".example",
        ".sample",
        ".dist",
        ".template",
        ".tpl",
        ".tmpl",
        "example.",
        "sample.",
    ]
    .iter()
    .any(|m| name.contains(m));
    let docs_name = DOC_EXTENSIONS.contains(&ext)
        || ["readme", "changelog", "contributing"]
            .iter()
            .any(|p| name.starts_with(p));
    let sample = if in_dir(FIXTURE_DIRS) {
        Some(Sample::Fixture)
    } else if test_name || in_dir(TEST_DIRS) {
        Some(Sample::Test)
    } else if example_name || in_dir(EXAMPLE_DIRS) {
        Some(Sample::Example)
    } else if docs_name || in_dir(DOC_DIRS) {
        Some(Sample::Docs)
    } else {
        None
    };
    // Android's `res/values-fr/strings.xml`, Java's `messages_fr.properties`.
    let locale = LOCALE_EXTENSIONS.contains(&ext)
        || (in_dir(LOCALE_DIRS) && LOCALE_DATA_EXTENSIONS.contains(&ext))
        || (*name == "strings.xml" && dirs.last().is_some_and(|d| d.starts_with("values")))
        || (name.starts_with("messages") && ext == "properties");
    let dependencies = DEPENDENCY_FILES.contains(name)
        || ext == "gemspec"
        || (name.starts_with("requirements") && ext == "txt");
    let people = PEOPLE_FILES.contains(name)
        || PEOPLE_EXTENSIONS.contains(&ext)
        || PEOPLE_PREFIXES.iter().any(|p| name.starts_with(p))
        || dirs.last() == Some(&"debian") && matches!(*name, "control" | "changelog");
    let generated = GENERATED_SUFFIXES.iter().any(|s| name.ends_with(s))
        || GENERATED_NAMES.iter().any(|n| name.contains(n))
        || (in_dir(GENERATED_DIRS) && matches!(ext, "json" | "js" | "css"));
    FileContext {
        sample,
        locale,
        dependencies,
        people,
        generated,
    }
}

/// `UserServiceTest.java`, `ParserTests.cs`: a capitalised `Test` after another word (so
/// `contest.rb` or `attest.go` is not a test).
fn path_stem_is_camel_test(path: &str) -> bool {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let stem = stem.strip_suffix('s').unwrap_or(stem);
    stem.strip_suffix("Test")
        .is_some_and(|before| before.chars().last().is_some_and(char::is_lowercase))
}

/// Whether the start of a file looks machine-written: long lines with few breaks
/// (minified code, one-line JSON exports).
pub(crate) fn looks_generated(head: &[u8]) -> bool {
    head.len() >= 4096 && memchr::memchr_iter(b'\n', head).count() * 1000 < head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(path: &str) -> Option<&'static str> {
        classify(path).sample.map(Sample::as_str)
    }

    #[test]
    fn samples_by_directory_and_name() {
        assert_eq!(sample("client/client_test.go"), Some("test"));
        assert_eq!(sample("hc/accounts/tests/test_login.py"), Some("test"));
        assert_eq!(sample("spec/models/user_spec.rb"), Some("test"));
        assert_eq!(sample("src/app.test.ts"), Some("test"));
        assert_eq!(sample("src/test/java/a/UserServiceTest.java"), Some("test"));
        assert_eq!(sample("src/main/java/a/UserServiceTest.java"), Some("test"));
        assert_eq!(sample("config/testdata/config.yaml"), Some("fixture"));
        assert_eq!(sample("test/fixtures/users.yml"), Some("fixture"));
        assert_eq!(sample(".examples/compose/compose.yaml"), Some("example"));
        assert_eq!(sample("config/database.example.yml"), Some("example"));
        assert_eq!(sample(".env.example"), Some("example"));
        assert_eq!(sample("config/settings.php.tpl"), Some("example"));
        assert_eq!(sample("README.md"), Some("documentation"));
        assert_eq!(sample("docs/SETUP.md"), Some("documentation"));
        assert_eq!(sample("fixtures.zip!a/b.txt"), None);
        assert_eq!(sample("data/fixtures.zip!a/b.txt"), None);
        assert_eq!(sample("tests/data.zip!a/b.txt"), Some("test"));
        // Not samples: production code and configuration.
        for path in [
            "config/secrets.yml",
            "app/models/contest.rb",
            "lib/latest.go",
            ".env",
            "src/attest.go",
            "config/settings.py",
        ] {
            assert_eq!(sample(path), None, "{path}");
        }
    }

    #[test]
    fn locales_lockfiles_people_and_generated() {
        assert!(classify("config/locales/es.yml").locale);
        assert!(classify("src/lang/ar-SY.json").locale);
        assert!(classify("po/fr.po").locale);
        assert!(classify("app/src/main/res/values-fr/strings.xml").locale);
        assert!(classify("src/main/resources/messages_de.properties").locale);
        assert!(!classify("src/main/resources/application.properties").locale);
        assert!(!classify("src/main/java/lang/Strings.java").locale);
        assert!(!classify("config/secrets.yml").locale);

        for path in [
            "package-lock.json",
            "a/yarn.lock",
            "Gemfile",
            "go.sum",
            "x.gemspec",
        ] {
            assert!(classify(path).dependencies, "{path}");
        }
        assert!(!classify("config/database.yml").dependencies);

        for path in [
            "composer.lock",
            "AUTHORS",
            "CONTRIBUTORS.md",
            "LICENSE.txt",
            "a.gemspec",
        ] {
            assert!(classify(path).people, "{path}");
        }
        assert!(!classify("db/users.csv").people);

        for path in [
            "static/js/zxcvbn.min.js",
            "stuff/icons_icomoon_project.json",
            "app.js.map",
            "img/logo.svg",
        ] {
            assert!(classify(path).generated, "{path}");
        }
        assert!(!classify("db/export.json").generated);
        assert!(looks_generated(&[b'a'; 8192]));
        assert!(!looks_generated("key: value\n".repeat(800).as_bytes()));
    }
}
