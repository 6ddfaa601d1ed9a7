//! Settings of the scanner, from the `[secrets]`, `[restricted]` and `[personal-data]`
//! sections of `allclear.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A section of `allclear.toml` does not have the expected shape.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The section's TOML does not match what the scanner expects.
    #[error("[{section}]: {message}")]
    Invalid { section: String, message: String },
    /// A glob in the section does not parse.
    #[error("[{section}]: `{pattern}` is not a valid glob")]
    Glob {
        section: String,
        pattern: String,
        #[source]
        source: globset::Error,
    },
}

/// Limits on what is read and how deep archives are opened.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// The most text held in memory for one scan (used up to 8 MiB, at least 256 KiB):
    /// larger files and archive entries are read in overlapping chunks of this size, to
    /// their end, never skipped. Default 32 MiB.
    pub max_file_bytes: u64,
    /// How many archives deep to look (`a.zip!b.tar.gz!c.txt` is depth 2). Default 3.
    pub archive_depth: u32,
    /// Total bytes one archive (with everything nested in it) may expand to before the rest
    /// is skipped, with a note saying how much was read (zip-bomb guard). Default 256 MiB.
    pub archive_max_bytes: u64,
    /// Entries one archive (with everything nested in it) may have before the rest is
    /// skipped, with a note. Default 10,000.
    pub archive_max_entries: u64,
    /// Rule ids not to run (`[rules]` in the policy can also turn rules off).
    pub disable: Vec<String>,
    #[serde(skip)]
    pub restricted: RestrictedConfig,
    #[serde(skip)]
    pub personal: PersonalConfig,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            max_file_bytes: 32 * 1024 * 1024,
            archive_depth: 3,
            archive_max_bytes: 256 * 1024 * 1024,
            archive_max_entries: 10_000,
            disable: Vec::new(),
            restricted: RestrictedConfig::default(),
            personal: PersonalConfig::default(),
        }
    }
}

/// `[restricted]`: files that must not be in a repository or on a developer machine.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct RestrictedConfig {
    pub enabled: bool,
    /// Extra gitignore-style globs of restricted files (`exports/**/*.csv`), reported as
    /// `restricted.custom`.
    pub patterns: Vec<String>,
    /// Globs never reported as restricted (`test/fixtures/**/*.sqlite`).
    pub allow: Vec<String>,
    /// Kinds not to report, by rule id without the `restricted.` prefix
    /// (`sqlite-database`, `shell-history`).
    pub disable: Vec<String>,
    /// How many rows of INSERT or COPY data make a SQL file a dump. Default 10.
    pub min_insert_rows: usize,
}

impl Default for RestrictedConfig {
    fn default() -> Self {
        RestrictedConfig {
            enabled: true,
            patterns: Vec::new(),
            allow: Vec::new(),
            disable: Vec::new(),
            min_insert_rows: 10,
        }
    }
}

/// `[personal-data]`: when values that identify people mean a copy of production data.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PersonalConfig {
    pub enabled: bool,
    /// Distinct real (not test-looking) values of one kind a file needs before it is
    /// reported. Default 10: one address in a comment is not a finding, a table is.
    pub min_values: usize,
    /// Globs of files never checked for personal data.
    pub allow: Vec<String>,
}

impl Default for PersonalConfig {
    fn default() -> Self {
        PersonalConfig {
            enabled: true,
            min_values: 10,
            allow: Vec::new(),
        }
    }
}

impl SecretsConfig {
    /// Reads `[secrets]`, `[restricted]` and `[personal-data]` from the sections the policy
    /// did not know (`Policy::sections`). Missing sections take the defaults.
    pub fn from_sections(sections: &BTreeMap<String, toml::Value>) -> Result<Self, ConfigError> {
        let mut config: SecretsConfig = section(sections, "secrets")?;
        config.restricted = section(sections, "restricted")?;
        config.personal = section(sections, "personal-data")?;
        for (name, globs) in [
            ("restricted", &config.restricted.patterns),
            ("restricted", &config.restricted.allow),
            ("personal-data", &config.personal.allow),
        ] {
            for pattern in globs {
                globset::Glob::new(pattern).map_err(|source| ConfigError::Glob {
                    section: name.to_owned(),
                    pattern: pattern.clone(),
                    source,
                })?;
            }
        }
        Ok(config)
    }
}

fn section<T: for<'de> Deserialize<'de> + Default>(
    sections: &BTreeMap<String, toml::Value>,
    name: &str,
) -> Result<T, ConfigError> {
    match sections.get(name) {
        None => Ok(T::default()),
        Some(value) => {
            value
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    section: name.to_owned(),
                    message: e.message().to_owned(),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(text: &str) -> BTreeMap<String, toml::Value> {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_when_absent() {
        let config = SecretsConfig::from_sections(&BTreeMap::new()).unwrap();
        assert_eq!(config, SecretsConfig::default());
        assert!(config.restricted.enabled);
        assert_eq!(config.personal.min_values, 10);
    }

    #[test]
    fn reads_the_three_sections() {
        let s = sections(
            "[secrets]\narchive-depth = 1\n[restricted]\npatterns = [\"exports/**\"]\n\
             disable = [\"sqlite-database\"]\n[personal-data]\nmin-values = 50\n",
        );
        let config = SecretsConfig::from_sections(&s).unwrap();
        assert_eq!(config.archive_depth, 1);
        assert_eq!(config.restricted.patterns, ["exports/**"]);
        assert_eq!(config.restricted.disable, ["sqlite-database"]);
        assert_eq!(config.personal.min_values, 50);
    }

    #[test]
    fn bad_sections_name_themselves() {
        let err = SecretsConfig::from_sections(&sections("[restricted]\npaterns = []\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("[restricted]:") && err.contains("paterns"),
            "{err}"
        );
        let err = SecretsConfig::from_sections(&sections("[restricted]\nallow = [\"a[\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a["), "{err}");
    }
}
