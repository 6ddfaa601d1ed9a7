//! Rules about whole files rather than strings in them: Rails keys committed, Rails
//! credentials beside their key, `.env` files with real values.

use std::path::Path;

use allclear_core::{Finding, Fix, Location, Severity};

use crate::filter;

/// A rule that looks at a file's path (and content) as a whole.
#[derive(Debug, Clone, Copy)]
pub struct FileRule {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub description: &'static str,
    pub remedy: &'static str,
    /// `(path, content)` pairs the rule must report.
    pub examples: &'static [(&'static str, &'static str)],
    /// `(path, content)` pairs it must not.
    pub counter_examples: &'static [(&'static str, &'static str)],
}

const MASTER_KEY: FileRule = FileRule {
    id: "secrets.rails-master-key",
    name: "Rails master key committed",
    severity: Severity::Critical,
    description: "`config/master.key` decrypts `config/credentials.yml.enc`, which holds the \
        application's secrets (secret_key_base, database and API credentials). Committed, it \
        gives all of them to everyone with the repository.",
    remedy: "Remove the file from the repository and its history, add it to .gitignore, \
        rotate every secret in credentials.yml.enc (`bin/rails credentials:edit` with a new \
        key), and deliver the key through RAILS_MASTER_KEY.",
    examples: &[("config/master.key", "0d3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b\n")],
    counter_examples: &[
        (
            "config/master.key.example",
            "0d3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b\n",
        ),
        ("config/master.key", "put the key here\n"),
    ],
};

const CREDENTIALS_KEY: FileRule = FileRule {
    id: "secrets.rails-credentials-key",
    name: "Rails per-environment credentials key committed",
    severity: Severity::Critical,
    description: "`config/credentials/<environment>.key` decrypts that environment's \
        credentials file; committed, the environment's secrets are public to the repository.",
    remedy: "Remove the key from the repository and history, rotate the secrets of that \
        environment, and deliver the key through RAILS_MASTER_KEY on the servers.",
    examples: &[(
        "config/credentials/production.key",
        "a1f09e3c7d6b5a4f3e2d1c0b9a8f7e6d",
    )],
    counter_examples: &[("config/credentials/production.yml.enc", "abc--def--ghi")],
};

const CREDENTIALS_BESIDE_KEY: FileRule = FileRule {
    id: "secrets.rails-credentials-with-key",
    name: "Rails encrypted credentials committed beside their key",
    severity: Severity::Critical,
    description: "An encrypted credentials file is safe to commit only while its key is not: \
        here both are in the tree, so the encryption protects nothing.",
    remedy: "Remove the key file (and purge it from history), rotate every secret in the \
        credentials, and re-encrypt them with a new key kept out of the repository.",
    examples: &[],
    counter_examples: &[],
};

const ENV_FILE: FileRule = FileRule {
    id: "secrets.env-file",
    name: ".env file with real values",
    severity: Severity::Medium,
    description: "A committed `.env` file whose secret-named variables hold values rather \
        than placeholders: environment files are meant to stay on the machine they configure. \
        (Each value is also reported by the rule that recognises it.)",
    remedy: "Remove the file from the repository (and history), add `.env*` to .gitignore \
        with an exception for `.env.example`, and commit an example with placeholders.",
    examples: &[(".env.production", "DB_HOST=db\nDB_PASSWORD=Tr0ub4dor&3x\n")],
    counter_examples: &[
        (".env.example", "DB_PASSWORD=Tr0ub4dor&3x\n"),
        (".env", "DB_PASSWORD=\nAPI_KEY=changeme\n"),
    ],
};

/// Every file rule, for documentation and `allclear rules check`.
pub fn file_rules() -> &'static [FileRule] {
    &[
        MASTER_KEY,
        CREDENTIALS_KEY,
        CREDENTIALS_BESIDE_KEY,
        ENV_FILE,
    ]
}

fn finding(rule: &FileRule, path: &str, key: &str, title: String) -> Finding {
    Finding::new(rule.id, rule.severity, title)
        .with_location(Location::new(path))
        .with_key(key)
        .with_description(rule.description)
        .with_fix(Fix {
            advice: Some(rule.remedy.to_owned()),
            ..Fix::default()
        })
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '!']).next().unwrap_or(path)
}

fn is_rails_key(content: &[u8]) -> bool {
    let key = content.trim_ascii();
    key.len() == 32 && key.iter().all(u8::is_ascii_hexdigit)
}

/// File-rule findings for one file's path and content.
pub(crate) fn check(path: &str, content: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    let name = file_name(path);
    let in_config = path.ends_with(&format!("config/{name}")) || path == name;
    if name == "master.key" && in_config && is_rails_key(content) {
        out.push(finding(
            &MASTER_KEY,
            path,
            &crate::scanner::secret_key(content.trim_ascii()),
            "Rails master key committed".to_owned(),
        ));
    }
    if name.ends_with(".key")
        && path.ends_with(&format!("config/credentials/{name}"))
        && is_rails_key(content)
    {
        out.push(finding(
            &CREDENTIALS_KEY,
            path,
            &crate::scanner::secret_key(content.trim_ascii()),
            format!("Rails credentials key {name} committed"),
        ));
    }
    if let Some(count) = env_file_values(name, content) {
        out.push(finding(
            &ENV_FILE,
            path,
            "env-file",
            format!("{name} holds {count} secret value(s)"),
        ));
    }
    out
}

/// For a `.env`-style file, how many secret-named variables hold real values.
fn env_file_values(name: &str, content: &[u8]) -> Option<usize> {
    let is_env = name == ".env" || name.starts_with(".env.") || name.ends_with(".env");
    const EXAMPLES: &[&str] = &[
        "example", "sample", "template", "dist", "defaults", "default", "tpl", "schema", "tmpl",
    ];
    if !is_env
        || EXAMPLES
            .iter()
            .any(|e| name.to_ascii_lowercase().contains(e))
    {
        return None;
    }
    let count = content
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.trim_ascii();
            let line = line.strip_prefix(b"export ").unwrap_or(line);
            if line.starts_with(b"#") {
                return None;
            }
            let eq = line.iter().position(|&b| b == b'=')?;
            let (key, value) = (
                line.get(..eq)?.trim_ascii(),
                line.get(eq + 1..)?.trim_ascii(),
            );
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .or_else(|| value.strip_prefix(b"'").and_then(|v| v.strip_suffix(b"'")))
                .unwrap_or(value);
            let real = match filter::classify_key(key) {
                filter::KeyKind::Password | filter::KeyKind::HumanSecret => {
                    filter::password_value(value, key, 4)
                }
                filter::KeyKind::Token => {
                    value.len() >= 8
                        && !filter::is_placeholder(value)
                        && !filter::is_reference(value)
                }
                filter::KeyKind::Other => false,
            };
            real.then_some(())
        })
        .count();
    (count > 0).then_some(count)
}

/// `credentials.yml.enc` (or `credentials/<env>.yml.enc`) whose key file is beside it on
/// disk. `file` is the real path of the encrypted file.
pub(crate) fn credentials_beside_key(path: &str, file: &Path) -> Option<Finding> {
    let name = file_name(path);
    let stem = name.strip_suffix(".yml.enc")?;
    let dir = file.parent()?;
    let key_name = if stem == "credentials" {
        "master.key".to_owned()
    } else {
        format!("{stem}.key")
    };
    let key_path = dir.join(&key_name);
    let content = fs_err::read(&key_path).ok()?;
    is_rails_key(&content).then(|| paired(path, &key_name, &content))
}

fn paired(path: &str, key_name: &str, key: &[u8]) -> Finding {
    finding(
        &CREDENTIALS_BESIDE_KEY,
        path,
        &crate::scanner::secret_key(key.trim_ascii()),
        format!("{} committed beside {key_name}", file_name(path)),
    )
}

/// The same check over a list of paths and key contents (a git tree): every encrypted
/// credentials file whose key is in the list too.
pub fn paired_credentials(files: &[(&str, &[u8])]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (path, _) in files {
        let name = file_name(path);
        let Some(stem) = name.strip_suffix(".yml.enc") else {
            continue;
        };
        let dir = &path[..path.len() - name.len()];
        let key_name = if stem == "credentials" {
            "master.key".to_owned()
        } else {
            format!("{stem}.key")
        };
        let key_path = format!("{dir}{key_name}");
        if let Some((_, key)) = files.iter().find(|(p, _)| *p == key_path)
            && is_rails_key(key)
        {
            out.push(paired(path, &key_name, key));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_examples_hold() {
        for rule in file_rules() {
            for (path, content) in rule.examples {
                assert!(
                    check(path, content.as_bytes())
                        .iter()
                        .any(|f| f.rule == rule.id),
                    "{}: {path}",
                    rule.id
                );
            }
            for (path, content) in rule.counter_examples {
                assert!(
                    !check(path, content.as_bytes())
                        .iter()
                        .any(|f| f.rule == rule.id),
                    "{}: {path}",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn credentials_beside_key_on_disk_and_in_lists() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::create_dir(&config).unwrap();
        std::fs::write(config.join("credentials.yml.enc"), "x--y--z").unwrap();
        let enc = config.join("credentials.yml.enc");
        assert!(credentials_beside_key("config/credentials.yml.enc", &enc).is_none());
        std::fs::write(
            config.join("master.key"),
            "0d3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b",
        )
        .unwrap();
        let found = credentials_beside_key("config/credentials.yml.enc", &enc).unwrap();
        assert_eq!(found.rule, "secrets.rails-credentials-with-key");

        let key = b"a1f09e3c7d6b5a4f3e2d1c0b9a8f7e6d";
        let files: Vec<(&str, &[u8])> = vec![
            ("config/credentials/production.yml.enc", b"x--y"),
            ("config/credentials/production.key", key),
            ("config/credentials/staging.yml.enc", b"x--y"),
        ];
        let paired = paired_credentials(&files);
        assert_eq!(paired.len(), 1);
        assert_eq!(
            paired[0].location.path,
            "config/credentials/production.yml.enc"
        );
    }
}
