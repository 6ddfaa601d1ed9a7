//! Restricted files: things that must not be in a repository or on a developer machine at
//! all, recognised by name and by content whatever their extension — database dumps, SQLite
//! databases, key stores, SSH private keys, .htpasswd, Terraform state, shell histories,
//! backups of configuration.

use allclear_core::{Finding, Fix, Location, Severity};
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::config::RestrictedConfig;
use crate::scanner::ScannerError;

/// One kind of restricted file.
#[derive(Debug, Clone, Copy)]
pub struct RestrictedKind {
    /// Rule id, `restricted.NAME`; `NAME` is what `[restricted] disable` takes.
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub description: &'static str,
    pub remedy: &'static str,
}

const DUMP: RestrictedKind = RestrictedKind {
    id: "restricted.database-dump",
    name: "Database dump",
    severity: Severity::High,
    description: "A dump of a database (SQL with data rows, a PostgreSQL custom-format \
        archive, a SQL Server backup): production data on a developer machine or in a \
        repository, against the policy of using only sanitized databases.",
    remedy: "Delete it (and purge it from git history); work from a sanitized dump or \
        generated fixtures instead.",
};
const SQLITE: RestrictedKind = RestrictedKind {
    id: "restricted.sqlite-database",
    name: "SQLite database",
    severity: Severity::Medium,
    description: "A SQLite database file: often a copy of application data (or a browser's \
        or app's credentials store).",
    remedy: "Remove it unless it is a deliberate, sanitized fixture (then allow it in \
        `[restricted] allow`).",
};
const KEYSTORE: RestrictedKind = RestrictedKind {
    id: "restricted.keystore",
    name: "Key store",
    severity: Severity::High,
    description: "A key or password store (Java KeyStore, PKCS#12 .p12/.pfx, KeePass \
        database): private keys and passwords, protected only by a store password that is \
        often weak or committed nearby.",
    remedy: "Remove it from the repository and history, rotate the keys and passwords it \
        holds, and keep key stores in a secret manager.",
};
const SSH_KEY: RestrictedKind = RestrictedKind {
    id: "restricted.ssh-private-key",
    name: "SSH private key file",
    severity: Severity::High,
    description: "An SSH private key file (id_rsa, id_ed25519, .ppk): logs in wherever its \
        public key is authorised, encrypted or not (passphrases can be brute-forced offline).",
    remedy: "Remove it, generate a new key pair, and replace the public key in every \
        authorized_keys and forge account.",
};
const HTPASSWD: RestrictedKind = RestrictedKind {
    id: "restricted.htpasswd",
    name: "htpasswd file",
    severity: Severity::High,
    description: "An Apache/nginx password file: user names and crackable password hashes.",
    remedy: "Remove it, change the passwords it holds, and generate it on the server.",
};
const TFSTATE: RestrictedKind = RestrictedKind {
    id: "restricted.terraform-state",
    name: "Terraform state",
    severity: Severity::High,
    description: "Terraform state holds every resource attribute in clear text, including \
        generated passwords, private keys and access keys.",
    remedy: "Remove it, move state to an encrypted remote backend, and rotate the secrets it \
        contained.",
};
const HISTORY: RestrictedKind = RestrictedKind {
    id: "restricted.shell-history",
    name: "Shell or client history",
    severity: Severity::Medium,
    description: "A shell or database-client history: the commands people typed, with the \
        passwords and tokens they typed on command lines.",
    remedy: "Remove it and rotate any credential it shows; histories belong in home \
        directories.",
};
const BACKUP: RestrictedKind = RestrictedKind {
    id: "restricted.config-backup",
    name: "Backup of a configuration file",
    severity: Severity::Medium,
    description: "An editor or manual backup of a configuration file (`settings.php.bak`, \
        `.env.orig`, `database.yml~`): the same secrets as the original, without the care.",
    remedy: "Delete the backup and check the original's secrets.",
};
const CUSTOM: RestrictedKind = RestrictedKind {
    id: "restricted.custom",
    name: "File restricted by policy",
    severity: Severity::High,
    description: "A file matching a pattern in the policy's `[restricted] patterns`.",
    remedy: "Remove it, or change the policy if it is allowed after all.",
};

/// Every restricted-file kind, for documentation.
pub fn restricted_kinds() -> &'static [RestrictedKind] {
    &[
        DUMP, SQLITE, KEYSTORE, SSH_KEY, HTPASSWD, TFSTATE, HISTORY, BACKUP, CUSTOM,
    ]
}

const KEYSTORE_EXTENSIONS: &[&str] = &[
    "jks", "keystore", "jceks", "bks", "p12", "pfx", "pkcs12", "kdbx", "kdb",
];
const SSH_KEY_NAMES: &[&str] = &[
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
    "identity",
];
const HISTORY_NAMES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".sh_history",
    ".history",
    ".psql_history",
    ".mysql_history",
    ".python_history",
    ".node_repl_history",
    ".rediscli_history",
    ".irb_history",
    ".sqlite_history",
    ".lesshst",
    "fish_history",
    ".dbshell",
    ".mongosh_history",
];
const BACKUP_SUFFIXES: &[&str] = &[".bak", ".old", ".orig", ".backup", ".save", ".swp", "~"];
const CONFIG_STEMS: &[&str] = &[
    "settings",
    "config",
    "configuration",
    "database",
    "secrets",
    "credentials",
    "wp-config",
    "local",
    "application",
    "appsettings",
    "web",
    "parameters",
];
const CONFIG_EXTENSIONS: &[&str] = &[
    "php",
    "yml",
    "yaml",
    "json",
    "xml",
    "ini",
    "conf",
    "cfg",
    "properties",
    "toml",
    "env",
    "config",
    "rb",
    "py",
];
/// Tables whose rows are schema bookkeeping, not data.
const BOOKKEEPING_TABLES: &[&str] = &[
    "schema_migrations",
    "ar_internal_metadata",
    "django_migrations",
    "migrations",
    "flyway_schema_history",
    "doctrine_migration_versions",
    "knex_migrations",
    "__efmigrationshistory",
    "key_value",
];

pub(crate) struct Detector {
    enabled: bool,
    custom: GlobSet,
    allow: GlobSet,
    disabled: Vec<String>,
    min_rows: usize,
}

fn globset(patterns: &[String]) -> Result<GlobSet, ScannerError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|source| ScannerError::Glob {
            pattern: pattern.clone(),
            source,
        })?;
        builder.add(glob);
    }
    builder.build().map_err(|source| ScannerError::Glob {
        pattern: patterns.join(", "),
        source,
    })
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '!']).next().unwrap_or(path)
}

fn extension(name: &str) -> Option<String> {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
}

impl Detector {
    pub fn new(config: &RestrictedConfig) -> Result<Detector, ScannerError> {
        Ok(Detector {
            enabled: config.enabled,
            custom: globset(&config.patterns)?,
            allow: globset(&config.allow)?,
            disabled: config.disable.clone(),
            min_rows: config.min_insert_rows.max(1),
        })
    }

    /// True when the file is restricted by name or magic, so a binary file is still read.
    pub fn wants(&self, path: &str, head: &[u8]) -> bool {
        self.enabled && !self.kinds(path, head, false).is_empty()
    }

    /// Restricted-file findings for one file (content may be only its head).
    pub fn check(&self, path: &str, content: &[u8]) -> Vec<Finding> {
        if !self.enabled {
            return Vec::new();
        }
        self.kinds(path, content, true)
            .into_iter()
            .map(|(kind, why)| {
                Finding::new(kind.id, kind.severity, format!("{}: {why}", kind.name))
                    .with_location(Location::new(path))
                    .with_key(kind.id)
                    .with_description(kind.description)
                    .with_fix(Fix {
                        advice: Some(kind.remedy.to_owned()),
                        ..Fix::default()
                    })
            })
            .collect()
    }

    fn kinds(&self, path: &str, content: &[u8], full: bool) -> Vec<(RestrictedKind, String)> {
        // Inside an archive the walk's own path is the archive's; match the inner path too.
        let inner = path.rsplit('!').next().unwrap_or(path);
        if self.allow.is_match(path) || self.allow.is_match(inner) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let name = file_name(path);
        let lower = name.to_ascii_lowercase();
        let ext = extension(&lower);
        let ext = ext.as_deref();

        if self.custom.is_match(path) || self.custom.is_match(inner) {
            out.push((CUSTOM, "matches a [restricted] pattern".to_owned()));
        }
        if content.starts_with(b"SQLite format 3\0") {
            out.push((SQLITE, "SQLite database file".to_owned()));
        }
        if content.starts_with(b"PGDMP") {
            out.push((DUMP, "PostgreSQL custom-format dump".to_owned()));
        } else if content.starts_with(b"TAPE") && matches!(ext, Some("bak")) {
            out.push((DUMP, "SQL Server backup".to_owned()));
        } else if full && let Some(rows) = sql_data_rows(content, self.min_rows) {
            out.push((DUMP, format!("SQL with at least {rows} data rows")));
        } else if !full && matches!(ext, Some("sql" | "dump" | "pgdump")) {
            // Decided on the full content.
            out.push((DUMP, String::new()));
        }
        let keystore_magic = content.starts_with(&[0xFE, 0xED, 0xFE, 0xED])
            || content.starts_with(&[0xCE, 0xCE, 0xCE, 0xCE])
            || content.starts_with(&[0x03, 0xD9, 0xA2, 0x9A]);
        if keystore_magic || ext.is_some_and(|e| KEYSTORE_EXTENSIONS.contains(&e)) {
            out.push((KEYSTORE, format!("{name} is a key store")));
        }
        let ssh_name = SSH_KEY_NAMES.contains(&lower.as_str()) || matches!(ext, Some("ppk"));
        // A readable PEM key is reported by `secrets.private-key` already (searched for
        // only in files named like keys: it is a pass over the whole content).
        let pem = || memchr::memmem::find(content, b"PRIVATE KEY-----").is_some();
        if ssh_name && !(full && pem()) {
            out.push((SSH_KEY, format!("{name} is an SSH private key file")));
        }
        if lower == ".htpasswd" || lower.ends_with(".htpasswd") {
            out.push((HTPASSWD, "password file".to_owned()));
        }
        if lower.ends_with(".tfstate")
            || lower.ends_with(".tfstate.backup")
            || (content.trim_ascii_start().starts_with(b"{")
                && memchr::memmem::find(
                    content.get(..512).unwrap_or(content),
                    b"\"terraform_version\"",
                )
                .is_some())
        {
            out.push((TFSTATE, "Terraform state".to_owned()));
        }
        if HISTORY_NAMES.contains(&lower.as_str()) {
            out.push((HISTORY, format!("{name} history")));
        }
        if let Some(original) = backup_of_config(&lower) {
            out.push((BACKUP, format!("backup of {original}")));
        }
        out.retain(|(kind, _)| {
            let short = kind.id.trim_start_matches("restricted.");
            !self.disabled.iter().any(|d| d == short || d == kind.id)
        });
        out.dedup_by_key(|(kind, _)| kind.id);
        out
    }
}

/// `settings.php.bak` → `settings.php`, when the original is a configuration file.
fn backup_of_config(lower: &str) -> Option<&str> {
    let original = BACKUP_SUFFIXES
        .iter()
        .find_map(|s| lower.strip_suffix(s))?
        .trim_end_matches(['.', '-', '_']);
    let is_env = original == ".env" || original.starts_with(".env.");
    let (stem, ext) = original.rsplit_once('.').unwrap_or((original, ""));
    let config_like = is_env
        || (CONFIG_EXTENSIONS.contains(&ext)
            && CONFIG_STEMS
                .iter()
                .any(|s| stem.trim_start_matches('.').starts_with(s)));
    config_like.then_some(original)
}

/// Rows of data in SQL (INSERT tuples, COPY lines), when at least `min`; bookkeeping tables
/// (schema_migrations and friends) do not count.
pub(crate) fn sql_data_rows(content: &[u8], min: usize) -> Option<usize> {
    let insert = memchr::memmem::Finder::new(b"INSERT INTO ");
    let copy = memchr::memmem::Finder::new(b"COPY ");
    let at_line_start = |pos: usize| pos == 0 || content.get(pos - 1) == Some(&b'\n');
    let line_end = |pos: usize| {
        content
            .get(pos..)
            .and_then(|rest| memchr::memchr(b'\n', rest))
            .map_or(content.len(), |i| pos + i)
    };
    let enough = |rows: usize| rows >= min && rows >= 1_000;
    let mut rows = 0usize;
    // Only lines starting with `INSERT INTO ` or `COPY ` matter (and the data lines after a
    // `COPY … FROM stdin;`): jump from one to the next instead of splitting every line.
    let find_from = |finder: &memchr::memmem::Finder<'_>, pos: usize| {
        content
            .get(pos..)
            .and_then(|rest| finder.find(rest))
            .map(|i| pos + i)
    };
    let mut next_insert = find_from(&insert, 0);
    let mut next_copy = find_from(&copy, 0);
    let mut pos = 0usize;
    loop {
        if next_insert.is_some_and(|i| i < pos) {
            next_insert = find_from(&insert, pos);
        }
        if next_copy.is_some_and(|i| i < pos) {
            next_copy = find_from(&copy, pos);
        }
        let (at, is_insert) = match (next_insert, next_copy) {
            (Some(i), Some(c)) if i <= c => (i, true),
            (Some(i), None) => (i, true),
            (_, Some(c)) => (c, false),
            (None, None) => break,
        };
        let end = line_end(at);
        pos = end + 1;
        if !at_line_start(at) {
            // Not a statement (a mention inside a line); look further on.
            pos = at + 1;
            continue;
        }
        let line = content.get(at..end).unwrap_or_default();
        if is_insert {
            let rest = line.get(b"INSERT INTO ".len()..).unwrap_or_default();
            if !bookkeeping(rest) {
                // MySQL's extended inserts put many tuples on one line.
                rows += 1 + memchr::memmem::find_iter(line, b"),(").count();
            }
        } else {
            let rest = line.get(b"COPY ".len()..).unwrap_or_default();
            if line.ends_with(b"FROM stdin;") && !bookkeeping(rest) {
                // Data lines up to `\.`.
                let mut start = pos;
                // (Like splitting on `\n`: text ending in a break has an empty last line.)
                while start <= content.len() && !enough(rows) {
                    let end = line_end(start);
                    let data = content.get(start..end).unwrap_or_default();
                    start = end + 1;
                    if data == b"\\." || data == b"\\.\r" {
                        break;
                    }
                    rows += 1;
                }
                pos = start;
            }
        }
        if enough(rows) {
            break;
        }
    }
    (rows >= min).then_some(rows)
}

fn bookkeeping(rest: &[u8]) -> bool {
    let table: Vec<u8> = rest
        .iter()
        .take_while(|&&b| b != b' ' && b != b'(')
        .filter(|&&b| !matches!(b, b'"' | b'`' | b'[' | b']'))
        .map(u8::to_ascii_lowercase)
        .collect();
    let table = table.rsplit(|&b| b == b'.').next().unwrap_or(&table);
    BOOKKEEPING_TABLES.iter().any(|t| t.as_bytes() == table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain line-by-line count `sql_data_rows` must agree with.
    fn rows_line_by_line(content: &[u8], min: usize) -> Option<usize> {
        let mut rows = 0usize;
        let mut in_copy = false;
        for line in content.split(|&b| b == b'\n') {
            if in_copy {
                if line == b"\\." || line == b"\\.\r" {
                    in_copy = false;
                } else {
                    rows += 1;
                }
            } else if let Some(rest) = line.strip_prefix(b"INSERT INTO ") {
                if !bookkeeping(rest) {
                    rows += 1 + memchr::memmem::find_iter(line, b"),(").count();
                }
            } else if let Some(rest) = line.strip_prefix(b"COPY ")
                && line.ends_with(b"FROM stdin;")
                && !bookkeeping(rest)
            {
                in_copy = true;
            }
            if rows >= min && rows >= 1_000 {
                break;
            }
        }
        (rows >= min).then_some(rows)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn row_count_matches_line_by_line(
            lines in prop::collection::vec(prop::sample::select(vec![
                "INSERT INTO users VALUES (1,'a'),(2,'b');",
                "INSERT INTO schema_migrations VALUES ('1');",
                "  INSERT INTO users VALUES (3);",
                "-- INSERT INTO users",
                "COPY public.users (id, email) FROM stdin;",
                "COPY schema_migrations (version) FROM stdin;",
                "COPY x TO stdout;",
                "1\tann@example.org",
                "\\.",
                "\\.\r",
                "SELECT 1;",
                "",
                "xINSERT INTO users VALUES (4);",
            ]), 0..60),
            min in 0usize..8,
        ) {
            let text = lines.join("\n");
            prop_assert_eq!(
                sql_data_rows(text.as_bytes(), min),
                rows_line_by_line(text.as_bytes(), min)
            );
        }
    }

    fn detector() -> Detector {
        Detector::new(&RestrictedConfig::default()).unwrap()
    }

    fn ids(found: &[Finding]) -> Vec<&str> {
        found.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn by_name() {
        let d = detector();
        for (path, id) in [
            ("deploy/keystore.jks", "restricted.keystore"),
            ("certs/client.p12", "restricted.keystore"),
            ("Passwords.kdbx", "restricted.keystore"),
            ("home/.ssh/id_ed25519", "restricted.ssh-private-key"),
            ("public/.htpasswd", "restricted.htpasswd"),
            ("infra/terraform.tfstate", "restricted.terraform-state"),
            (
                "infra/terraform.tfstate.backup",
                "restricted.terraform-state",
            ),
            ("home/.bash_history", "restricted.shell-history"),
            ("sites/default/settings.php.bak", "restricted.config-backup"),
            ("config/database.yml~", "restricted.config-backup"),
            (".env.orig", "restricted.config-backup"),
        ] {
            assert!(d.wants(path, b""), "{path}");
            assert_eq!(ids(&d.check(path, b"")), [id], "{path}");
        }
        assert!(d.check("src/main.rs.orig", b"").is_empty());
        assert!(d.check("notes.old", b"").is_empty());
        assert!(d.check("id_rsa.pub", b"ssh-rsa AAAA").is_empty());
    }

    #[test]
    fn by_content_whatever_the_name() {
        let d = detector();
        let cases: [(&[u8], &str); 4] = [
            (b"SQLite format 3\0rest", "restricted.sqlite-database"),
            (b"PGDMP\x01\x0e\x00", "restricted.database-dump"),
            (&[0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2], "restricted.keystore"),
            (
                &[0x03, 0xD9, 0xA2, 0x9A, 0x67, 0xFB, 0x4B, 0xB5],
                "restricted.keystore",
            ),
        ];
        for (content, id) in cases {
            assert!(d.wants("download/blob", content), "{id}");
            assert_eq!(ids(&d.check("download/blob", content)), [id]);
        }
        let state = b"{\n  \"version\": 4,\n  \"terraform_version\": \"1.6.0\",\n";
        assert_eq!(
            ids(&d.check("x.json", state)),
            ["restricted.terraform-state"]
        );
    }

    #[test]
    fn sql_dumps_need_data_rows() {
        let d = detector();
        let schema = b"CREATE TABLE users (id int);\nINSERT INTO schema_migrations (version) VALUES ('1');\n";
        assert!(d.check("db/structure.sql", schema).is_empty());
        let mut dump = b"-- MySQL dump\n".to_vec();
        dump.extend_from_slice(
            b"INSERT INTO `users` VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e');\n",
        );
        dump.extend_from_slice(
            b"INSERT INTO `users` VALUES (6,'a'),(7,'b'),(8,'c'),(9,'d'),(10,'e');\n",
        );
        assert_eq!(
            ids(&d.check("backup.txt", &dump)),
            ["restricted.database-dump"]
        );
        let mut copy = b"COPY public.patients (id, name) FROM stdin;\n".to_vec();
        for i in 0..12 {
            copy.extend_from_slice(format!("{i}\tname{i}\n").as_bytes());
        }
        copy.extend_from_slice(b"\\.\n");
        assert_eq!(sql_data_rows(&copy, 10), Some(12));
        assert_eq!(sql_data_rows(&copy, 20), None);
    }

    #[test]
    fn ssh_key_with_readable_pem_is_left_to_the_secret_rule() {
        let d = detector();
        let pem = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n";
        assert!(d.check(".ssh/id_rsa", pem).is_empty());
        assert_eq!(
            ids(&d.check(".ssh/id_rsa", b"\x00binary")),
            ["restricted.ssh-private-key"]
        );
    }

    #[test]
    fn configuration_adds_allows_and_disables() {
        let config = RestrictedConfig {
            patterns: vec!["exports/**/*.csv".to_owned()],
            allow: vec!["test/fixtures/**".to_owned()],
            disable: vec!["sqlite-database".to_owned()],
            ..RestrictedConfig::default()
        };
        let d = Detector::new(&config).unwrap();
        assert_eq!(
            ids(&d.check("exports/2024/patients.csv", b"a,b")),
            ["restricted.custom"]
        );
        assert!(d.check("test/fixtures/keys/client.p12", b"").is_empty());
        assert!(d.check("app.db", b"SQLite format 3\0").is_empty());
        assert!(
            Detector::new(&RestrictedConfig {
                enabled: false,
                ..RestrictedConfig::default()
            })
            .unwrap()
            .check("a.jks", b"")
            .is_empty()
        );
    }
}
