//! Generic rules: credentials recognised by where they sit (an assignment to a key named like a
//! password, a URL's user information, a connection string, a command-line flag) rather than
//! by a vendor's token format. They yield to a service rule that found the same secret.

use allclear_core::Severity;

use super::{Anchor, Context, Filter, Rule};

/// `key <op> value`, anchored at the start of the key. Groups: `key`, `close` (the quote or
/// bracket closing a quoted key), `op` or `comma`, and the value in `secret…` (quoted) or
/// `bare`.
///
/// The values are unbounded here and held to [`MAX_ASSIGNED_VALUE`] by the engine: six
/// bounded repeats of 300 made this one regex ~3,900 NFA states that took 2-5 ms to compile,
/// half of a small repository's whole scan.
pub(crate) const ASSIGNMENT: &str = concat!(
    r#"^(?P<key>[A-Za-z0-9_.\-]{1,80})(?P<close>(?:\\?["'`])?\]?(?:\\?["'`])?)[ \t]{0,20}"#,
    r#"(?:(?P<op>=>|:=|\|\|=|\?\?=|=|:|->)|(?P<comma>,))?[ \t]{0,20}"#,
    r#"(?:"(?P<secret>[^"\r\n]+)"|'(?P<secret2>[^'\r\n]+)'|`(?P<secret3>[^`\r\n]+)`"#,
    r#"|\\"(?P<secret4>[^"\\\r\n]+)\\"|\\'(?P<secret5>[^'\\\r\n]+)\\'"#,
    r#"|(?P<bare>[^\s"'`,;()\[\]{}<>|&\\]+))"#
);

/// The longest value an [`ASSIGNMENT`] match may assign: a longer quoted value is not a
/// match, and a longer bare value ends here (what a `{1,300}` repeat in the pattern would do).
pub(crate) const MAX_ASSIGNED_VALUE: usize = 300;

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "secrets.connection-string-password",
        name: "Password in a database connection string",
        severity: Severity::High,
        keywords: &["password=", "pwd=", "password =", "pwd ="],
        patterns: &[concat!(
            r#"(?i:(?:^|[;"'\s])(?:password|pwd)[ \t]*=[ \t]*)"#,
            r#"(?P<secret>[^;"'\s<>{}\[][^;"'<>\r\n]{0,100}?)[ \t]*(?:;|"|'|\r|\n|\z)"#
        )],
        near: &[
            "user id",
            "userid",
            "uid=",
            "user=",
            "username=",
            "server=",
            "data source",
            "database=",
            "initial catalog",
            "host=",
            "provider=",
            "driver=",
            "dbname=",
        ],
        filter: Filter::Password,
        generic: true,
        description: "A password inside an ADO.NET, ODBC, JDBC or libpq connection string: \
            direct access to the database.",
        remedy: "Change the database user's password, and build the connection string from \
            the environment or a secret store at run time (or use integrated/IAM auth).",
        examples: &[
            "Server=db;Database=app;User Id=app;Password=IhRO15NBftNF;",
            "Provider=SQLNCLI;Server=s,1433;Database=d;Uid=u;Pwd=xcxyeq8BBB;",
        ],
        counter_examples: &[
            "Server=db;Database=app;User Id=app;Password=<password>;",
            "Server=db;User Id=app;Password=${DB_PASSWORD};",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.url-credentials",
        name: "Credentials in a URL",
        severity: Severity::High,
        keywords: &["://"],
        patterns: &[concat!(
            r#"\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://(?P<user>[^\s:@/"'`<>\[\]{}]{0,100}):"#,
            r#"(?P<secret>[^\s/"'`<>\[\]{}?#,]{1,200})@(?P<host>[A-Za-z0-9][A-Za-z0-9.\-_]{0,253})"#
        )],
        filter: Filter::UrlPassword,
        // Every match has one; most `://` in code and lockfiles are plain URLs.
        near: &["@"],
        generic: true,
        description: "A password (or token) in the user information of a URL: database URLs \
            (postgres://, mysql://, mongodb+srv://, redis://), AMQP brokers, HTTP basic auth, \
            git remotes.",
        remedy: "Change the password or revoke the token, and build the URL from the \
            environment at run time (DATABASE_URL from a secret store).",
        examples: &[
            "DATABASE_URL=postgres://app:lkcBvA9QAQHn8G3M@db.internal:5432/app",
            "mongodb+srv://svc:7A1Td98sdIgC@cluster0.abcde.mongodb.net/?retryWrites=true",
            "redis://:EySDevy9uc8aZvDW4yKD@cache:6379/0",
        ],
        counter_examples: &[
            "postgres://user:password@localhost/db",
            "postgres://app:${DB_PASSWORD}@db/app",
            "http://localhost:8080/path@v2",
            "ftp://rms:secret123@example.com",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.credential-constructor",
        name: "Password passed to a credential constructor",
        severity: Severity::High,
        keywords: &[
            "networkcredential",
            "passwordauthentication",
            "usernamepasswordcredential",
            "basicawscredentials",
            "directoryentry",
            "passwordcredential",
        ],
        patterns: &[
            r#"(?i:NetworkCredential|PasswordAuthentication|UsernamePasswordCredentials?|BasicAWSCredentials|PasswordCredential)[ \t]*\(\s*"[^"\n]*"\s*,\s*"(?P<secret>[^"\n]{3,200})""#,
            r#"(?i:DirectoryEntry)[ \t]*\(\s*"[^"\n]*"\s*,\s*"[^"\n]*"\s*,\s*"(?P<secret2>[^"\n]{3,200})""#,
        ],
        context: Context::around(0, 4),
        filter: Filter::Password,
        generic: true,
        description: "A literal password handed to a credential object (.NET NetworkCredential \
            or DirectoryEntry, Java PasswordAuthentication, Apache HttpClient, AWS SDK).",
        remedy: "Change the password and read it from configuration or a secret store.",
        examples: &[
            "new NetworkCredential(\"ci\", \"MbNlVYYLxb6Hf5\");",
            "new DirectoryEntry(\"LDAP://dc1\",\n  \"svc@corp\",\n  \"oznUMZs7Tq\");",
        ],
        counter_examples: &["new NetworkCredential(user, password);"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.xml-config-value",
        name: "Secret in an XML configuration value",
        severity: Severity::High,
        keywords: &[
            "value=",
            "value =",
            "password>",
            "passwd>",
            "secret>",
            "token>",
            "apikey>",
            "api_key>",
            "api-key>",
        ],
        patterns: &[
            r#"(?i:<add[ \t]+key)[ \t]*=[ \t]*"(?P<key>[^"]{1,100})"[ \t]+(?i:value)[ \t]*=[ \t]*"(?P<secret>[^"]{1,300})""#,
            r#"(?i:name)[ \t]*=[ \t]*"(?P<key>[^"]{1,100})"[ \t]+(?i:value)[ \t]*=[ \t]*"(?P<secret>[^"]{1,300})""#,
            r#"<(?P<key>[A-Za-z0-9_.:\-]{0,60}(?i:password|passwd|secret|token|apikey|api_key|api-key)[A-Za-z0-9_.:\-]{0,60})>(?P<secret>[^<\s][^<\r\n]{0,300})</"#,
        ],
        filter: Filter::KeyedValue,
        generic: true,
        description: "A password or token as an XML setting: .NET appSettings `<add key=… \
            value=…>`, Java/Maven `<property name=… value=…>` or `<password>…</password>`.",
        remedy: "Change the secret, and move it to user secrets, environment variables or a \
            secret store (Maven: settings-security.xml with encryption).",
        examples: &[
            "<add key=\"FromEmailPassword\" value=\"EpJcRuY2HZdr\"/>",
            "<server><id>repo</id><password>ITr6yAiJbhxkzM</password></server>",
        ],
        counter_examples: &[
            "<add key=\"FromEmailAddress\" value=\"ops@example.com\"/>",
            "<password>${env.REPO_PASSWORD}</password>",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.netrc-password",
        name: "Password in netrc syntax",
        severity: Severity::High,
        keywords: &["machine"],
        patterns: &[
            r"\bmachine[ \t]+[^\s]+\s+login[ \t]+[^\s]+\s+password[ \t]+(?P<secret>[^\s]+)",
        ],
        context: Context::around(0, 3),
        filter: Filter::Password,
        generic: true,
        description: "A `machine … login … password …` entry (.netrc, _netrc, .authinfo): \
            credentials curl, git and FTP clients send to that host.",
        remedy: "Change the password or revoke the token, and keep .netrc in the home \
            directory with mode 600, never in a repository.",
        examples: &["machine api.example.org login deploy password o2Xm0KSwGjHVIP1E"],
        counter_examples: &["machine api.example.org login deploy password $TOKEN"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.cli-password",
        name: "Password on a command line",
        severity: Severity::High,
        keywords: &[
            "psexec",
            "viserver",
            "sshpass",
            "docker",
            "smbclient",
            "sqlcmd",
            "mysql",
            "redis-cli",
            "ldapsearch",
            "ldapmodify",
            "ldapadd",
            "net use",
        ],
        patterns: &[
            r#"(?i:psexec(?:\.exe)?|connect-viserver|sshpass|docker[ \t]+login|smbclient|sqlcmd)[^\n]{0,200}?[ \t](?:-p|-P|--password|-[Pp]assword)(?:[ \t]+|=)["']?(?P<secret>[^\s"']{3,100})"#,
            r#"(?i:mysql(?:dump|admin|sh)?)\b[^\n]{0,200}?[ \t](?:-p(?P<secret2>[^\s"'\-][^\s"']{2,100})|--password=["']?(?P<secret3>[^\s"']{3,100}))"#,
            r#"(?i:redis-cli)[^\n]{0,200}?[ \t]-a[ \t]+["']?(?P<secret4>[^\s"']{3,100})"#,
            r#"(?i:ldap(?:search|modify|add|delete))[^\n]{0,200}?[ \t]-w[ \t]+["']?(?P<secret5>[^\s"']{3,100})"#,
            r#"(?i:net[ \t]+use)[^\n]{0,200}?[ \t]/user:[^\s]+[ \t]+["']?(?P<secret6>[^\s"'/][^\s"']{2,100})"#,
        ],
        filter: Filter::Password,
        generic: true,
        description: "A password given as a command-line argument (PsExec, PowerCLI, sshpass, \
            docker login, mysql, sqlcmd, redis-cli, ldapsearch, net use). It also ends up in \
            shell histories and process lists.",
        remedy: "Change the password and pass it through an environment variable, a prompt or \
            a credential file readable only by its owner.",
        examples: &[
            "psexec \\\\10.0.0.5 -u Administrator -p GZsd0CLES2 cmd",
            "mysql -u root -pc6Syy4humD app",
            "Connect-VIServer -Server vc -User admin -Password a2f59gVIos",
        ],
        counter_examples: &[
            "mysql -u root -p app",
            "psexec \\\\host -u admin -p $Password cmd",
            "mysql -P 3306",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.curl-user",
        name: "Credentials passed to curl",
        severity: Severity::High,
        keywords: &["curl"],
        patterns: &[concat!(
            r#"(?i:\bcurl\b)(?s:.){0,400}?\s(?:-u|--user)(?:[ \t]+|=)["']?(?P<user>[^\s:"']{1,100}):"#,
            r#"(?P<secret>[^\s"']{3,200})"#
        )],
        context: Context::around(0, 3),
        filter: Filter::Password,
        generic: true,
        description: "A user:password (or client id:secret) pair given to curl with -u.",
        remedy: "Change the password or rotate the client secret, and let curl read it from \
            a netrc file or the environment.",
        examples: &[
            "curl -X POST https://api.example.org/token -u client:h7awdroBGDwKKzOH74XdNraD",
        ],
        counter_examples: &["curl -u \"$USER:$PASS\" https://api.example.org"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.http-basic-auth",
        name: "HTTP Basic credentials",
        severity: Severity::High,
        keywords: &["basic "],
        patterns: &[
            r"(?i:\bbasic)[ \t]+(?P<secret>[A-Za-z0-9+/]{6,400}={0,2})(?:[^A-Za-z0-9+/=]|\z)",
        ],
        near: &["authorization", "auth"],
        filter: Filter::BasicAuth,
        generic: true,
        description: "An `Authorization: Basic` header value: base64 of user:password, not \
            encryption.",
        remedy: "Change the password and set the header from configuration at run time.",
        examples: &["Authorization: Basic ZGVwbG95OmhvcnNlYmF0dGVyeTQ3"],
        counter_examples: &[
            "Authorization: Basic $CREDENTIALS",
            "Authorization: Basic realm",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.http-bearer-token",
        name: "HTTP Bearer token",
        severity: Severity::Medium,
        keywords: &["bearer"],
        patterns: &[
            r"(?i:\bbearer)[ \t]+(?P<secret>[A-Za-z0-9._~+/\-]{12,1200}={0,2})(?:[^A-Za-z0-9._~+/=\-]|\z)",
        ],
        filter: Filter::Random(12),
        generic: true,
        description: "A literal token after `Bearer`: whatever API accepts it treats the holder \
            as its owner.",
        remedy: "Revoke the token with its issuer and set the header from configuration.",
        examples: &[
            "curl -H \"Authorization: Bearer 6yY6CuJHsrQck4vGRmXIPRFieABBY5IWTRyPs5mQ\" https://api.example.org",
        ],
        counter_examples: &[
            "Authorization: Bearer $TOKEN",
            "Bearer authentication",
            "Bearer YOUR_ACCESS_TOKEN",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.terraform-variable-default",
        name: "Secret as a Terraform variable default",
        severity: Severity::High,
        keywords: &["variable"],
        patterns: &[
            r#"\bvariable[ \t]+"(?P<key>[A-Za-z0-9_\-]{1,80})"[ \t]*\{[^}]{0,300}?\bdefault[ \t]*=[ \t]*"(?P<secret>[^"\n]{1,300})""#,
        ],
        context: Context::around(0, 8),
        filter: Filter::KeyedValue,
        generic: true,
        description: "A Terraform variable named like a secret whose default value is the \
            secret itself: it is in every plan and in the state.",
        remedy: "Rotate the secret, drop the default, and pass the value with TF_VAR_… or a \
            secret-store data source; mark the variable `sensitive = true`.",
        examples: &["variable \"db_password\" {\n  default = \"UrUbzdh2LUwa9l\"\n}"],
        counter_examples: &["variable \"db_password\" {\n  sensitive = true\n}"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.password-comparison",
        name: "Password compared with a literal",
        severity: Severity::Medium,
        keywords: &["pass", "pwd", "secret"],
        patterns: &[
            r#"(?i:(?:password|passwd|pwd|pass|secret|passphrase)[A-Za-z0-9_]*)[ \t]*(?:===?|!==?)[ \t]*["'](?P<secret>[^"'\n]{3,100})["']"#,
        ],
        // Every match compares with one of these.
        near: &["==", "!="],
        filter: Filter::Password,
        generic: true,
        description: "A password checked against a literal in code: a hard-coded backdoor or \
            shared login.",
        remedy: "Remove the literal, check credentials against hashed values from storage, and \
            change the password everywhere it was used.",
        examples: &["if username == \"ops\" and password == \"j3pz04fYRh\":"],
        counter_examples: &["if password == \"\":", "if (password !== confirmation)"],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.password-in-prose",
        name: "Password stated in text",
        severity: Severity::Low,
        keywords: &["password"],
        patterns: &[
            r#"(?i:\bpassword\b)[^\n.;]{0,60}?\bis\b[ \t]*:?[ \t]*["'`](?P<secret>[^"'`\s]{3,64})["'`]"#,
        ],
        filter: Filter::Password,
        generic: true,
        description: "A sentence that gives a password away (\"the password is 'hunter2'\") in \
            a README, a script's output or a comment.",
        remedy: "Change the password, and document where to obtain it instead of its value.",
        examples: &["The default password for user \"ops\" is \"9Ukib6ieu\"."],
        counter_examples: &[
            "The password is stored in the vault.",
            "The password is '<your password>'",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.generic-password",
        name: "Password assigned in code or configuration",
        severity: Severity::High,
        keywords: &["pass", "pwd", "pswd", "pword"],
        patterns: &[ASSIGNMENT],
        anchor: Anchor::KeyStart,
        filter: Filter::AssignedPassword,
        generic: true,
        description: "A literal assigned to a key named like a password (`password`, \
            `DB_PASS`, `smtp_pwd`, `AdminPassword`), in code, YAML, JSON, INI or .env syntax. \
            Placeholders (`changeme`, `${VAR}`, `<password>`, `xxxx`), references to variables \
            and expressions are left out.",
        remedy: "Change the password, then read it from the environment or a secret store; \
            commit an example file with a placeholder instead.",
        examples: &[
            "password = \"VGhXyhw5HZoS\"",
            "DB_PASSWORD=kX9nbh90xCeBz6",
            "  smtp_pwd: 'roGGpOn8iT'",
            "define('DB_PASSWORD', 'qfSf84saAdJb');",
            // A key inside a longer quoted value is still a key.
            "environment: \"DB_PASSWORD=kX9nbh90xCeBz6\"",
        ],
        counter_examples: &[
            "password = \"changeme\"",
            "password = os.environ[\"DB_PASSWORD\"]",
            "DB_PASSWORD=${DB_PASSWORD}",
            "password_length = 12",
            "bypass = \"always\"",
            "s.write(\"etc/passwd\", \"root:x:0:0\\n\");",
            // A quoted value is no key: what follows its comma is the next element.
            "{\"type\": \"m.login.password\", \"identifier\": {\"user\": \"bot\"}}",
        ],
        ..Rule::DEFAULT
    },
    Rule {
        id: "secrets.generic-secret",
        name: "Secret, token or key assigned in code or configuration",
        severity: Severity::High,
        keywords: &[
            "secret",
            "token",
            "key",
            "credential",
            "creds",
            "salt",
            "pepper",
            "auth",
            "_pat",
            "signature",
        ],
        patterns: &[ASSIGNMENT],
        anchor: Anchor::KeyStart,
        filter: Filter::AssignedSecret,
        generic: true,
        description: "A literal assigned to a key named like a secret (`client_secret`, \
            `API_KEY`, `auth_token`, `hash_salt`). Machine-made tokens must look random \
            (length, character mix, entropy); secrets people choose (`secret`, `salt`) are held \
            to the password tests.",
        remedy: "Revoke or rotate the secret with whoever issued it, then load it from the \
            environment or a secret store.",
        examples: &[
            "API_KEY = \"1ca29abacc267aff8365c0fce2e805f3\"",
            "client_secret: 'kOzuIoLWGtXTUCIC5QGgpHUxLXDXKjfv'",
            "jwt:\n  secret: \"Ki6mmPGhCQkWITy1MUGP\"",
        ],
        counter_examples: &[
            // A list of words, not a key and its value.
            "areas.extend([\"secrets\", \"restricted\", \"personal\"]);",
            "API_KEY = \"your-api-key\"",
            "token = request.headers.get('X-Token')",
            "primary_key = 'id'",
            "secret_name = \"prod/db\"",
        ],
        ..Rule::DEFAULT
    },
];
