use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Ecosystem;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
/// Deserializes case-insensitively and accepts `moderate` (GitHub's word for medium).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// The text is not a severity name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}` (expected info, low, medium, high or critical)")]
pub struct UnknownSeverity(pub String);

impl Severity {
    /// All severities from the most to the least severe (the order reports list them in).
    pub const DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The qualitative rating of a CVSS base score (CVSS v3.1 specification, table 14).
    pub fn from_cvss_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Info,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" | "none" | "informational" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" | "moderate" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(s.to_owned())),
        }
    }
}

/// Where a finding is: a path relative to the scanned root (always `/`-separated) and,
/// where it is known, a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
}

impl Location {
    pub fn new(path: impl Into<String>) -> Location {
        Location {
            path: path.into(),
            line: None,
        }
    }

    pub fn with_line(mut self, line: u32) -> Location {
        self.line = Some(line);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.path, line),
            None => f.write_str(&self.path),
        }
    }
}

/// The package a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageRef {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
}

/// What makes a finding go away.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// The smallest version that fixes every advisory on the package.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
    /// The command that performs the upgrade (`bundle update rack`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub command: Option<String>,
    /// What to do, in words, when there is no single command.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub advice: Option<String>,
}

/// One thing a check found. Every capability reports this shape (see docs/json-schema.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable across unrelated edits: built from the rule, the path and what was found,
    /// never from a line number, so baselines and ignores survive.
    pub fingerprint: String,
    /// The rule id (`deps.vulnerable`, `deps.prerelease`, `secrets.aws-access-key`, …).
    pub rule: String,
    pub severity: Severity,
    pub title: String,
    pub location: Location,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub package: Option<PackageRef>,
    /// Every advisory id that names this problem (GHSA, CVE, RUSTSEC, OSV, …).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub advisories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fix: Option<Fix>,
    /// A longer explanation (plain text, may span lines).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    /// Where to read more.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// CVSS base score when the severity was computed from a vector.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cvss: Option<f64>,
    /// Capability-specific details (for example the attributes a changed file changed).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// The part of the fingerprint that says what was found; kept so the fingerprint can be
    /// recomputed when a policy overrides the location. Not serialized.
    #[serde(skip)]
    key: String,
}

impl Finding {
    /// A finding at an empty location; set the location and key with the builder methods.
    pub fn new(rule: impl Into<String>, severity: Severity, title: impl Into<String>) -> Finding {
        let mut finding = Finding {
            fingerprint: String::new(),
            rule: rule.into(),
            severity,
            title: title.into(),
            location: Location::new(""),
            package: None,
            advisories: Vec::new(),
            fix: None,
            description: None,
            url: None,
            cvss: None,
            details: serde_json::Map::new(),
            key: String::new(),
        };
        finding.refresh_fingerprint();
        finding
    }

    pub fn with_location(mut self, location: Location) -> Finding {
        self.location = location;
        self.refresh_fingerprint();
        self
    }

    /// Sets what the fingerprint says was found (a package and advisory, a hash of a secret).
    /// Never pass a line number or anything that changes when unrelated lines move.
    pub fn with_key(mut self, key: impl Into<String>) -> Finding {
        self.key = key.into();
        self.refresh_fingerprint();
        self
    }

    pub fn with_package(mut self, package: PackageRef) -> Finding {
        self.package = Some(package);
        self
    }

    pub fn with_advisories(mut self, ids: Vec<String>) -> Finding {
        self.advisories = ids;
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Finding {
        self.fix = Some(fix);
        self
    }

    pub fn with_description(mut self, description: impl Into<String>) -> Finding {
        self.description = Some(description.into());
        self
    }

    pub fn with_url(mut self, url: impl Into<String>) -> Finding {
        self.url = Some(url.into());
        self
    }

    pub fn with_detail(mut self, name: &str, value: impl Into<serde_json::Value>) -> Finding {
        self.details.insert(name.to_owned(), value.into());
        self
    }

    fn refresh_fingerprint(&mut self) {
        self.fingerprint = fingerprint(&self.rule, &self.location.path, &self.key);
    }
}

/// The stable fingerprint of a finding: BLAKE3 over rule, path and key, 128 bits in hex.
pub fn fingerprint(rule: &str, path: &str, key: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    // Length-prefix each part so ("ab", "c") and ("a", "bc") differ.
    for part in [rule, path, key] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hasher.finalize();
    hash.to_hex()[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_line_numbers() {
        let a = Finding::new("deps.vulnerable", Severity::High, "x")
            .with_location(Location::new("Gemfile.lock").with_line(3))
            .with_key("rack@2.0.1");
        let b = Finding::new("deps.vulnerable", Severity::High, "x")
            .with_location(Location::new("Gemfile.lock").with_line(90))
            .with_key("rack@2.0.1");
        assert_eq!(a.fingerprint, b.fingerprint);
        let c = b.clone().with_key("rack@2.0.2");
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_eq!(a.fingerprint.len(), 32);
    }

    #[test]
    fn fingerprint_parts_are_delimited() {
        assert_ne!(fingerprint("ab", "c", ""), fingerprint("a", "bc", ""));
    }

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Info);
        assert_eq!("Moderate".parse::<Severity>().unwrap(), Severity::Medium);
        assert!("severe".parse::<Severity>().is_err());
        assert_eq!(Severity::from_cvss_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_cvss_score(7.0), Severity::High);
        assert_eq!(Severity::from_cvss_score(6.9), Severity::Medium);
        assert_eq!(Severity::from_cvss_score(0.1), Severity::Low);
        assert_eq!(Severity::from_cvss_score(0.0), Severity::Info);
    }
}
