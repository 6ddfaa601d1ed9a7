use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A package ecosystem, named as OSV names it (`RubyGems`, `Packagist`, `npm`, `crates.io`,
/// `PyPI`, `Go`). `Ruby` is the Ruby interpreter itself (RubySec's `rubies/`), whose package
/// names are engines (`ruby`, `jruby`, `truffleruby`) and whose versions order as RubyGems does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ecosystem {
    #[serde(rename = "RubyGems")]
    RubyGems,
    #[serde(rename = "Ruby")]
    Ruby,
    #[serde(rename = "Packagist")]
    Packagist,
    #[serde(rename = "npm")]
    Npm,
    #[serde(rename = "crates.io")]
    CratesIo,
    #[serde(rename = "PyPI")]
    PyPI,
    #[serde(rename = "Go")]
    Go,
}

/// The name is not one of the ecosystems allclear knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ecosystem `{0}`")]
pub struct UnknownEcosystem(pub String);

impl Ecosystem {
    /// Every ecosystem, in a stable order.
    pub const ALL: [Ecosystem; 7] = [
        Ecosystem::RubyGems,
        Ecosystem::Ruby,
        Ecosystem::Packagist,
        Ecosystem::Npm,
        Ecosystem::CratesIo,
        Ecosystem::PyPI,
        Ecosystem::Go,
    ];

    /// The OSV name (also the name in JSON output and in OSV's per-ecosystem zip paths).
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Ruby => "Ruby",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Npm => "npm",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
        }
    }

    /// Parses an OSV ecosystem string. OSV allows a `:suffix` (for example
    /// `Packagist:https://packages.drupal.org/8`); the suffix is ignored here because
    /// package names (`drupal/views`) already say where a package comes from.
    pub fn from_osv(name: &str) -> Option<Ecosystem> {
        let base = name.split(':').next().unwrap_or(name);
        Ecosystem::ALL
            .into_iter()
            .find(|eco| eco.as_str().eq_ignore_ascii_case(base))
            .or(match base.to_ascii_lowercase().as_str() {
                "rubygem" | "gem" | "gems" => Some(Ecosystem::RubyGems),
                "composer" => Some(Ecosystem::Packagist),
                "cargo" | "crates" | "rust" => Some(Ecosystem::CratesIo),
                "pypi" | "pip" | "python" => Some(Ecosystem::PyPI),
                "golang" => Some(Ecosystem::Go),
                _ => None,
            })
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ecosystem {
    type Err = UnknownEcosystem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ecosystem::from_osv(s).ok_or_else(|| UnknownEcosystem(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_names_round_trip() {
        for eco in Ecosystem::ALL {
            assert_eq!(eco.as_str().parse::<Ecosystem>().unwrap(), eco);
            let json = serde_json::to_string(&eco).unwrap();
            assert_eq!(json, format!("\"{}\"", eco.as_str()));
        }
    }

    #[test]
    fn drupal_suffix_is_packagist() {
        assert_eq!(
            Ecosystem::from_osv("Packagist:https://packages.drupal.org/8"),
            Some(Ecosystem::Packagist)
        );
        assert_eq!(Ecosystem::from_osv("Maven"), None);
    }
}
