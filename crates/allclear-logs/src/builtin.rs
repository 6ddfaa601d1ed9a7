//! `builtin`: detections that work with no configuration, for the stack small teams run:
//! sshd, sudo, su, PAM, nginx and Apache, Postfix and Dovecot, Drupal and Rails with Devise.
//!
//! Each detection is a fail2ban filter written by us in fail2ban's own syntax (so it runs
//! through the same engine as a team's `filter.d/*.conf`) plus jail rules. The patterns are
//! anchored at both ends where a field is attacker-controlled (a user name, an HTTP user), so
//! a crafted name such as `x from 192.0.2.1` cannot make another address take the blame.
//!
//! ```
//! use allclear_logs::builtin::{builtin_jail, builtin_jails};
//!
//! let sshd = builtin_jail("sshd").unwrap();
//! assert_eq!(sshd.rules.maxretry, 5);
//! assert!(sshd.logpaths.contains(&"/var/log/auth.log"));
//! assert!(builtin_jails().iter().all(|j| j.compile().is_ok()));
//! ```

use crate::config::FilterDefinition;
use crate::filter::{CompiledFilter, FilterError, FilterOptions};
use crate::scan::JailRules;

/// Which kind of log a detection reads (how a caller routes lines to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// syslog files (`auth.log`, `syslog`, `mail.log`) and the journal, as
    /// `DATE HOST PROGRAM[PID]: MESSAGE` lines.
    Syslog,
    /// nginx and Apache access logs (common and combined formats).
    HttpAccess,
    /// nginx and Apache error logs.
    HttpError,
    /// Rails `production.log` (the default logger format, with or without request ids).
    Rails,
}

/// What the failure id of a detection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// A remote address: a ban can block it.
    Address,
    /// A local user name (sudo, su): reported, never banned at the firewall.
    LocalUser,
}

/// How much a detection's verdict weighs when several jails see the same address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Priority {
    /// A failed authentication or a probe for something that must never be served.
    High,
    /// Noisy evidence (bursts of 4xx): a higher threshold, reported after the others.
    Low,
}

/// One built-in detection: filter, jail rules and where Debian keeps its log.
#[derive(Debug, Clone)]
pub struct BuiltinJail {
    /// The jail name (`sshd`, `http-probe` …), also `rules.name` and `filter.name`.
    pub name: &'static str,
    /// One sentence: what it catches.
    pub description: &'static str,
    /// Debian's default log files for it (shell globs where the path depends on the site).
    pub logpaths: &'static [&'static str],
    pub source: SourceKind,
    pub target: Target,
    pub priority: Priority,
    /// A literal that every line the filter matches contains: callers routing many lines can
    /// skip the filter for lines without it (`None`: every line must be offered).
    pub literal: Option<&'static str>,
    pub filter: FilterDefinition,
    pub rules: JailRules,
}

impl BuiltinJail {
    /// Compiles the filter with default options.
    pub fn compile(&self) -> Result<CompiledFilter, FilterError> {
        CompiledFilter::new(&self.filter, FilterOptions::default())
    }
}

/// Optional host name and then the program (with optional `[pid]`), as syslog writes it after
/// the date (which the date detector has removed).
fn syslog(program: &str) -> String {
    format!(r"^\s*(?:\S+\s+)?{program}(?:\[\d+\])?:\s+")
}

fn filter(name: &str, failregex: Vec<String>, maxlines: Option<usize>) -> FilterDefinition {
    FilterDefinition {
        name: name.to_owned(),
        files: Vec::new(),
        prefregex: None,
        failregex,
        ignoreregex: Vec::new(),
        maxlines,
        datepattern: None,
        journalmatch: Vec::new(),
        usedns: Some("no".to_owned()),
    }
}

fn rules(name: &str, maxretry: u32, findtime: f64, bantime: f64) -> JailRules {
    JailRules {
        name: name.to_owned(),
        maxretry,
        findtime,
        bantime,
        ..JailRules::default()
    }
}

const MINUTE: f64 = 60.0;
const HOUR: f64 = 3_600.0;
const DAY: f64 = 86_400.0;

fn sshd() -> BuiltinJail {
    let p = syslog(r"sshd(?:-session)?");
    // `error: ` appears in front of some messages since OpenSSH 7.
    let p = format!("{p}(?:error: )?");
    BuiltinJail {
        name: "sshd",
        description: "SSH: failed passwords and keys, invalid users, pre-authentication disconnects and scanners",
        logpaths: &["/var/log/auth.log"],
        source: SourceKind::Syslog,
        target: Target::Address,
        priority: Priority::High,
        literal: Some("sshd"),
        filter: filter(
            "sshd",
            vec![
                // The end anchor (port, protocol, optional key) keeps a crafted user name
                // such as `x from 192.0.2.1` from naming another address.
                format!(
                    r"{p}Failed (?:password|publickey|keyboard-interactive/pam|none|hostbased) for (?:invalid user )?<F-USER>.*?</F-USER> from <HOST> port \d+(?: ssh\d)?(?:: [\w-]+ SHA256:[\w+/=]+)?\s*$"
                ),
                format!(
                    r"{p}[iI](?:llegal|nvalid) user <F-USER>.*?</F-USER> from <HOST>(?: port \d+)?\s*$"
                ),
                format!(
                    r"{p}(?:Connection closed by|Disconnected from) (?:(?:authenticating|invalid) user <F-USER>.*?</F-USER> )?<HOST> port \d+ \[preauth\]\s*$"
                ),
                format!(
                    r"{p}Received disconnect from <HOST> port \d+:\s*\d+: [^\[]*\[preauth\]\s*$"
                ),
                format!(
                    r"{p}maximum authentication attempts exceeded for (?:invalid user )?<F-USER>.*?</F-USER> from <HOST> port \d+(?: ssh\d)? \[preauth\]\s*$"
                ),
                format!(r"{p}Unable to negotiate with <HOST> port \d+: no matching [\w ]+ found\."),
                format!(r"{p}Timeout before authentication for <HOST> port \d+\s*$"),
                format!(r"{p}banner exchange: Connection from <HOST> port \d+: invalid format\s*$"),
            ],
            None,
        ),
        rules: rules("sshd", 5, 10.0 * MINUTE, HOUR),
    }
}

fn sudo() -> BuiltinJail {
    let p = syslog("sudo");
    BuiltinJail {
        name: "sudo",
        description: "sudo: wrong passwords, users not in sudoers, commands not allowed",
        logpaths: &["/var/log/auth.log"],
        source: SourceKind::Syslog,
        target: Target::LocalUser,
        priority: Priority::High,
        literal: Some("sudo"),
        filter: filter(
            "sudo",
            vec![format!(
                r"{p}<F-ID><F-USER>\S+</F-USER></F-ID> : (?:\d+ incorrect password attempts?|user NOT in sudoers|command not allowed|a password is required) ; TTY="
            )],
            None,
        ),
        rules: rules("sudo", 3, 10.0 * MINUTE, HOUR),
    }
}

fn su() -> BuiltinJail {
    let p = syslog("su");
    BuiltinJail {
        name: "su",
        description: "su: failed attempts to become another user",
        logpaths: &["/var/log/auth.log"],
        source: SourceKind::Syslog,
        target: Target::LocalUser,
        priority: Priority::High,
        literal: Some("FAILED SU"),
        filter: filter(
            "su",
            // Both util-linux's and shadow's su log this; the PAM line beside it is not
            // counted again.
            vec![format!(
                r"{p}FAILED SU \(to <F-TARGET>\S+</F-TARGET>\) <F-ID><F-USER>\S+</F-USER></F-ID> on \S+\s*$"
            )],
            None,
        ),
        rules: rules("su", 3, 10.0 * MINUTE, HOUR),
    }
}

fn pam() -> BuiltinJail {
    BuiltinJail {
        name: "pam",
        description: "PAM: remote authentication failures of any service (pam_unix with rhost)",
        logpaths: &["/var/log/auth.log"],
        source: SourceKind::Syslog,
        target: Target::Address,
        priority: Priority::High,
        literal: Some("pam_unix("),
        filter: filter(
            "pam",
            vec![format!(
                r"{}pam_unix\([\w-]+:auth\): authentication failure; logname=\S* uid=\d* euid=\d* tty=\S* ruser=\S* rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?\s*$",
                syslog(r"[\w.-]+")
            )],
            None,
        ),
        rules: rules("pam", 5, 10.0 * MINUTE, HOUR),
    }
}

fn nginx_http_auth() -> BuiltinJail {
    BuiltinJail {
        name: "nginx-http-auth",
        description: "nginx: HTTP basic authentication with a wrong password or unknown user",
        logpaths: &["/var/log/nginx/error.log"],
        source: SourceKind::HttpError,
        target: Target::Address,
        priority: Priority::High,
        literal: Some("[error]"),
        filter: filter(
            "nginx-http-auth",
            // Quoted fields cannot hold a quote, and the end anchor stops a crafted user
            // name from supplying its own `client:`.
            vec![
                r#"^\s*\[error\] \d+#\d+: \*\d+ user "<F-USER>[^"]*</F-USER>":? (?:password mismatch|was not found in "[^"]*"), client: <HOST>, server: \S*, request: "[^"]*"(?:, host: "[^"]*")?(?:, referrer: "[^"]*")?\s*$"#.to_owned(),
            ],
            None,
        ),
        rules: rules("nginx-http-auth", 5, 10.0 * MINUTE, HOUR),
    }
}

fn apache_auth() -> BuiltinJail {
    BuiltinJail {
        name: "apache-auth",
        description: "Apache: HTTP basic authentication with a wrong password or unknown user",
        logpaths: &["/var/log/apache2/error.log"],
        source: SourceKind::HttpError,
        target: Target::Address,
        priority: Priority::High,
        literal: Some("AH0161"),
        filter: filter(
            "apache-auth",
            vec![
                r#"^\s*(?:\[\]\s*)?\[[\w:]+:error\] \[pid \d+(?::tid \d+)?\] \[client <HOST>(?::\d+)?\] AH0161[78]: user <F-USER>[^:]*?</F-USER>(?:: authentication failure for "[^"]*": Password Mismatch| not found: \S*)(?:, referer: \S+)?\s*$"#.to_owned(),
            ],
            None,
        ),
        rules: rules("apache-auth", 5, 10.0 * MINUTE, HOUR),
    }
}

/// The start of an access-log line up to the opening quote of the request, once the date
/// detector has removed the `[23/Nov/2026:10:00:00 +0000]` date (its brackets may stay).
const ACCESS: &str = r#"^<HOST> \S+ \S+ \[?[^"\]]*\]? ?""#;

fn http_probe() -> BuiltinJail {
    BuiltinJail {
        name: "http-probe",
        description: "nginx/Apache: requests for .env, .git/, wp-login.php, xmlrpc.php, phpMyAdmin, and /admin answered with 4xx",
        logpaths: &["/var/log/nginx/access.log", "/var/log/apache2/access.log"],
        source: SourceKind::HttpAccess,
        target: Target::Address,
        priority: Priority::High,
        literal: None,
        filter: filter(
            "http-probe",
            vec![
                // Files no site of ours serves: a request for one is a probe whatever the answer.
                format!(
                    r#"{ACCESS}[A-Z]+ (?:https?://[^/" ]+)?/(?:[^" ]*/)?(?:\.env(?:\.\w+)?|\.git/[^" ]*|\.git|wp-login\.php|xmlrpc\.php|(?i:phpmyadmin|pma|myadmin)/?[^" ]*)(?:\?[^" ]*)? HTTP/[\d.]+" \d{{3}} "#
                ),
                // `/admin` is real on many sites: only refused requests count.
                format!(
                    r#"{ACCESS}[A-Z]+ (?:https?://[^/" ]+)?/(?:[^" ]*/)?(?:admin|administrator|wp-admin)(?:/[^" ]*)?(?:\?[^" ]*)? HTTP/[\d.]+" 4\d\d "#
                ),
            ],
            None,
        ),
        rules: rules("http-probe", 3, 10.0 * MINUTE, DAY),
    }
}

fn http_4xx() -> BuiltinJail {
    BuiltinJail {
        name: "http-4xx",
        description: "nginx/Apache: a burst of client errors (4xx) from one address",
        logpaths: &["/var/log/nginx/access.log", "/var/log/apache2/access.log"],
        source: SourceKind::HttpAccess,
        target: Target::Address,
        priority: Priority::Low,
        literal: None,
        filter: filter(
            "http-4xx",
            vec![format!(r#"{ACCESS}(?:[^"\\]|\\.)*" 4\d\d "#)],
            None,
        ),
        rules: rules("http-4xx", 30, MINUTE, 10.0 * MINUTE),
    }
}

fn postfix_sasl() -> BuiltinJail {
    BuiltinJail {
        name: "postfix-sasl",
        description: "Postfix: SMTP AUTH (SASL) failures",
        logpaths: &["/var/log/mail.log"],
        source: SourceKind::Syslog,
        target: Target::Address,
        priority: Priority::High,
        literal: Some("SASL"),
        filter: filter(
            "postfix-sasl",
            vec![format!(
                r"{}warning: [-._\w]+\[<HOST>\]: SASL (?:LOGIN|PLAIN|(?:CRAM|DIGEST|SCRAM-SHA-\d+)-MD5|SCRAM-SHA-\d+|XOAUTH2|OAUTHBEARER|NTLM) authentication failed(?::.*)?$",
                syslog(r"postfix(?:-\w+)?/(?:\w+/)?smtpd")
            )],
            None,
        ),
        rules: rules("postfix-sasl", 5, 10.0 * MINUTE, HOUR),
    }
}

fn dovecot() -> BuiltinJail {
    BuiltinJail {
        name: "dovecot",
        description: "Dovecot: IMAP/POP3 logins that failed authentication",
        logpaths: &["/var/log/mail.log"],
        source: SourceKind::Syslog,
        target: Target::Address,
        priority: Priority::High,
        literal: Some("-login: "),
        filter: filter(
            "dovecot",
            vec![format!(
                r"{}(?:imap|pop3|submission|managesieve)-login: (?:Disconnected|Aborted login|Login aborted)[^(]*\((?:auth failed|tried to use (?:disallowed|disabled) [\w-]+ auth)[^)]*\): (?:user=<<F-USER>[^>]*</F-USER>>, )?(?:method=[\w-]+, )?rip=<HOST>, lip=",
                syslog("dovecot")
            )],
            None,
        ),
        rules: rules("dovecot", 5, 10.0 * MINUTE, HOUR),
    }
}

fn drupal() -> BuiltinJail {
    BuiltinJail {
        name: "drupal",
        description: "Drupal: failed logins reported by the syslog module",
        logpaths: &["/var/log/syslog"],
        source: SourceKind::Syslog,
        target: Target::Address,
        priority: Priority::High,
        literal: Some("|user|"),
        filter: filter(
            "drupal",
            // base_url|timestamp|type|ip|request_uri|referer|uid|link|message
            vec![format!(
                r"{}[^|]*\|\d+\|user\|<HOST>\|[^|]*\|[^|]*\|\d+\|[^|]*\|Login attempt failed (?:for <F-USER>.+?</F-USER>|from \S+?)\.?\s*$",
                syslog("drupal")
            )],
            None,
        ),
        rules: rules("drupal", 5, 10.0 * MINUTE, HOUR),
    }
}

fn rails_devise() -> BuiltinJail {
    // The request id (Rails' default `log_tags = [:request_id]`) ties the `Completed 401`
    // line to the `Started POST` line that holds the address: the first is remembered as a
    // pending, not-yet-failed connection (`<F-NOFAIL>`), the second turns it into a failure.
    let tag = r"\[<F-MLFID>[0-9a-fA-F-]{8,}</F-MLFID>\]";
    let pid = r"#<F-MLFID>\d+</F-MLFID>\]\s+INFO -- :";
    BuiltinJail {
        name: "rails-devise",
        description: "Rails with Devise: sign-ins answered 401 Unauthorized",
        logpaths: &[
            "/var/www/*/log/production.log",
            "/srv/*/shared/log/production.log",
        ],
        source: SourceKind::Rails,
        target: Target::Address,
        priority: Priority::High,
        literal: None,
        filter: filter(
            "rails-devise",
            vec![
                format!(
                    r#"{tag} <F-NOFAIL>Started POST</F-NOFAIL> "/(?:[\w-]+/)*sign_in(?:\.json)?" for <HOST> at "#
                ),
                format!(r"{tag} Completed 401 Unauthorized\b"),
                // Without request ids, the process id (`#2100`) ties the lines together:
                // right for single-threaded servers (Unicorn, Passenger), a best effort
                // for threaded ones.
                format!(
                    r#"{pid} <F-NOFAIL>Started POST</F-NOFAIL> "/(?:[\w-]+/)*sign_in(?:\.json)?" for <HOST> at "#
                ),
                format!(r"{pid} Completed 401 Unauthorized\b"),
            ],
            None,
        ),
        rules: rules("rails-devise", 5, 10.0 * MINUTE, HOUR),
    }
}

/// Every built-in detection, high priority first.
pub fn builtin_jails() -> Vec<BuiltinJail> {
    vec![
        sshd(),
        sudo(),
        su(),
        pam(),
        nginx_http_auth(),
        apache_auth(),
        http_probe(),
        postfix_sasl(),
        dovecot(),
        drupal(),
        rails_devise(),
        http_4xx(),
    ]
}

/// The built-in detection called `name`.
pub fn builtin_jail(name: &str) -> Option<BuiltinJail> {
    builtin_jails().into_iter().find(|j| j.name == name)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::date::Clock;
    use crate::scan::{ScanOptions, scan_lines};

    fn clock() -> Clock {
        Clock::new(
            "2026-11-23T12:00:00Z".parse().unwrap(),
            jiff::tz::TimeZone::UTC,
        )
    }

    /// (host, user) of each counted failure in `lines`.
    fn run(jail: &str, lines: &[&str]) -> Vec<(String, Option<String>)> {
        let jail = builtin_jail(jail).unwrap();
        let filter = Arc::new(jail.compile().unwrap());
        let report = scan_lines(
            filter,
            lines.iter().map(|l| l.as_bytes()),
            ScanOptions {
                clock: clock(),
                jail: jail.rules.clone(),
                keep_matches: true,
            },
        );
        report
            .matches
            .iter()
            .filter(|m| m.counts)
            .map(|m| (m.host.clone().unwrap_or_default(), m.user.clone()))
            .collect()
    }

    fn one(jail: &str, line: &str) -> (String, Option<String>) {
        if let Some(literal) = builtin_jail(jail).unwrap().literal {
            assert!(
                line.contains(literal),
                "{jail}: `{literal}` missing from {line}"
            );
        }
        let found = run(jail, &[line]);
        assert_eq!(
            found.len(),
            1,
            "{jail} should match once: {line}\n{found:?}"
        );
        found.into_iter().next().unwrap()
    }

    fn none(jail: &str, line: &str) {
        let found = run(jail, &[line]);
        assert!(
            found.is_empty(),
            "{jail} should not match: {line}\n{found:?}"
        );
    }

    fn user(u: &str) -> Option<String> {
        Some(u.to_owned())
    }

    #[test]
    fn every_jail_compiles_and_is_named_consistently() {
        let jails = builtin_jails();
        assert_eq!(jails.len(), 12);
        for j in &jails {
            assert!(j.compile().is_ok(), "{}", j.name);
            assert_eq!(j.filter.name, j.name);
            assert_eq!(j.rules.name, j.name);
            assert!(!j.logpaths.is_empty());
        }
        assert_eq!(builtin_jail("http-4xx").unwrap().priority, Priority::Low);
        // The linear engine only: no line can make a built-in detection backtrack.
        for j in &jails {
            let compiled = j.compile().unwrap();
            assert_eq!(compiled.backtracking_count(), 0, "{}", j.name);
        }
        assert!(builtin_jail("nope").is_none());
    }

    #[test]
    fn sshd_failures_invalid_users_and_preauth() {
        let cases = [
            (
                "Nov 23 10:01:02 web1 sshd[4121]: Failed password for root from 203.0.113.5 port 52144 ssh2",
                "203.0.113.5",
                user("root"),
            ),
            (
                "2026-11-23T10:01:02.123456+00:00 web1 sshd[4121]: Failed password for invalid user oracle from 203.0.113.6 port 40022 ssh2",
                "203.0.113.6",
                user("oracle"),
            ),
            (
                "Nov 23 10:01:02 web1 sshd[4121]: Failed publickey for deploy from 2001:db8::7 port 50122 ssh2: ED25519 SHA256:Zm9vYmFyYmF6cXV4",
                "2001:db8::7",
                user("deploy"),
            ),
            (
                "Nov 23 10:01:03 web1 sshd[4122]: Invalid user admin from 198.51.100.23 port 39910",
                "198.51.100.23",
                user("admin"),
            ),
            (
                "Nov 23 10:01:04 web1 sshd-session[4123]: Connection closed by invalid user ubnt 198.51.100.24 port 41234 [preauth]",
                "198.51.100.24",
                user("ubnt"),
            ),
            (
                "Nov 23 10:01:05 web1 sshd[4124]: Disconnected from authenticating user root 198.51.100.25 port 41235 [preauth]",
                "198.51.100.25",
                user("root"),
            ),
            (
                "Nov 23 10:01:06 web1 sshd[4125]: Connection closed by 198.51.100.26 port 41236 [preauth]",
                "198.51.100.26",
                None,
            ),
            (
                "Nov 23 10:01:07 web1 sshd[4126]: Received disconnect from 198.51.100.27 port 41237:11: Bye Bye [preauth]",
                "198.51.100.27",
                None,
            ),
            (
                "Nov 23 10:01:08 web1 sshd[4127]: error: maximum authentication attempts exceeded for root from 198.51.100.28 port 41238 ssh2 [preauth]",
                "198.51.100.28",
                user("root"),
            ),
            (
                "Nov 23 10:01:09 web1 sshd[4128]: Unable to negotiate with 198.51.100.29 port 41239: no matching host key type found. Their offer: ssh-rsa,ssh-dss [preauth]",
                "198.51.100.29",
                None,
            ),
        ];
        for (line, host, u) in cases {
            assert_eq!(one("sshd", line), (host.to_owned(), u), "{line}");
        }
    }

    #[test]
    fn sshd_ignores_successes_and_resists_injected_addresses() {
        for line in [
            "Nov 23 10:02:00 web1 sshd[4200]: Accepted publickey for alice from 192.0.2.10 port 50000 ssh2: ED25519 SHA256:YWxpY2VrZXk",
            "Nov 23 10:02:01 web1 sshd[4200]: pam_unix(sshd:session): session opened for user alice(uid=1000) by alice(uid=0)",
            "Nov 23 10:02:02 web1 sshd[4200]: Disconnected from user alice 192.0.2.10 port 50000",
            "Nov 23 10:02:03 web1 sshd[4200]: Received disconnect from 192.0.2.10 port 50000:11: disconnected by user",
            "Nov 23 10:02:04 web1 sshd[900]: Server listening on 0.0.0.0 port 22.",
            "Nov 23 10:02:05 web1 CRON[4300]: Failed password for root from 203.0.113.5 port 1 ssh2",
        ] {
            none("sshd", line);
        }
        // A user name that carries its own "from <address>": the real address is the last one.
        let (host, u) = one(
            "sshd",
            "Nov 23 10:03:00 web1 sshd[4301]: Failed password for invalid user x from 192.0.2.99 port 22 ssh2 from 203.0.113.77 port 51000 ssh2",
        );
        assert_eq!(host, "203.0.113.77");
        assert_eq!(u.as_deref(), Some("x from 192.0.2.99 port 22 ssh2"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever a user name holds (spaces, a forged `from <address> port`), a failure is
        /// blamed on the address sshd wrote last, never on one inside the name.
        #[test]
        fn sshd_blames_the_real_address(
            name in "[a-z]{1,8}( from 192\\.0\\.2\\.[0-9]{1,2}( port [0-9]{1,5}( ssh2)?)?)?[ a-z]{0,6}",
            octet in 1u8..=254,
            invalid in proptest::bool::ANY,
        ) {
            let real = format!("203.0.113.{octet}");
            let line = format!(
                "Nov 23 10:03:00 web1 sshd[4301]: Failed password for {}{name} from {real} port 51000 ssh2",
                if invalid { "invalid user " } else { "" }
            );
            let found = run("sshd", &[line.as_str()]);
            proptest::prop_assert_eq!(found.len(), 1, "{}", line);
            proptest::prop_assert_eq!(&found[0].0, &real);
            let line = format!("Nov 23 10:03:01 web1 sshd[4302]: Invalid user {name} from {real} port 51001");
            let found = run("sshd", &[line.as_str()]);
            proptest::prop_assert_eq!(found.into_iter().map(|f| f.0).collect::<Vec<_>>(), vec![real]);
        }
    }

    #[test]
    fn sshd_bans_after_five_failures() {
        let lines: Vec<String> = (0..6)
            .map(|i| format!("Nov 23 10:10:{i:02} web1 sshd[50{i}]: Failed password for root from 203.0.113.50 port 4{i}000 ssh2"))
            .collect();
        let jail = builtin_jail("sshd").unwrap();
        let report = scan_lines(
            Arc::new(jail.compile().unwrap()),
            lines.iter().map(|l| l.as_bytes()),
            ScanOptions {
                clock: clock(),
                jail: jail.rules.clone(),
                keep_matches: false,
            },
        );
        assert_eq!(report.bans.len(), 1);
        assert_eq!(report.bans[0].host, "203.0.113.50");
        assert_eq!(report.bans[0].lines, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn sudo_and_su_failures_are_keyed_on_the_user() {
        assert_eq!(
            one(
                "sudo",
                "Nov 23 11:00:00 web1 sudo[5100]:    bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow"
            ),
            ("bob".to_owned(), user("bob"))
        );
        assert_eq!(
            one(
                "sudo",
                "Nov 23 11:00:01 web1 sudo[5101]:    mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash"
            ),
            ("mallory".to_owned(), user("mallory"))
        );
        none(
            "sudo",
            "Nov 23 11:00:02 web1 sudo[5102]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt upgrade",
        );
        none(
            "sudo",
            "Nov 23 11:00:03 web1 sudo[5102]: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
        );
        assert_eq!(
            one(
                "su",
                "Nov 23 11:01:00 web1 su[5200]: FAILED SU (to root) carol on pts/3"
            ),
            ("carol".to_owned(), user("carol"))
        );
        none(
            "su",
            "Nov 23 11:01:01 web1 su[5201]: (to root) alice on pts/0",
        );
        assert_eq!(builtin_jail("su").unwrap().target, Target::LocalUser);
    }

    #[test]
    fn pam_needs_a_remote_host() {
        assert_eq!(
            one(
                "pam",
                "Nov 23 11:02:00 web1 sshd[5300]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.61  user=root"
            ),
            ("203.0.113.61".to_owned(), user("root"))
        );
        assert_eq!(
            one(
                "pam",
                "Nov 23 11:02:01 mail dovecot[5301]: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=sales rhost=203.0.113.62"
            ),
            ("203.0.113.62".to_owned(), None)
        );
        none(
            "pam",
            "Nov 23 11:02:02 web1 su[5302]: pam_unix(su:auth): authentication failure; logname=carol uid=1001 euid=0 tty=/dev/pts/3 ruser=carol rhost=  user=root",
        );
    }

    #[test]
    fn nginx_and_apache_basic_auth() {
        assert_eq!(
            one(
                "nginx-http-auth",
                r#"2026/11/23 11:03:00 [error] 812#812: *4411 user "admin": password mismatch, client: 203.0.113.70, server: intranet.example.org, request: "GET /reports/ HTTP/1.1", host: "intranet.example.org""#
            ),
            ("203.0.113.70".to_owned(), user("admin"))
        );
        assert_eq!(
            one(
                "nginx-http-auth",
                r#"2026/11/23 11:03:01 [error] 812#812: *4412 user "guest" was not found in "/etc/nginx/.htpasswd", client: 203.0.113.71, server: intranet.example.org, request: "GET / HTTP/1.1", host: "intranet.example.org""#
            ),
            ("203.0.113.71".to_owned(), user("guest"))
        );
        none(
            "nginx-http-auth",
            r#"2026/11/23 11:03:02 [error] 812#812: *4413 open() "/var/www/html/favicon.ico" failed (2: No such file or directory), client: 203.0.113.72, server: _, request: "GET /favicon.ico HTTP/1.1", host: "example.org""#,
        );
        // A user name forging its own client field does not get 192.0.2.1 blamed.
        none(
            "nginx-http-auth",
            r#"2026/11/23 11:03:03 [error] 812#812: *4414 user "x": password mismatch, client: 192.0.2.1, server: a, request: "b": password mismatch, client: 203.0.113.73, server: s, request: "GET / HTTP/1.1", host: "s""#,
        );
        assert_eq!(
            one(
                "apache-auth",
                r#"[Mon Nov 23 11:04:00.123456 2026] [auth_basic:error] [pid 2211:tid 140233] [client 203.0.113.80:51234] AH01617: user bob: authentication failure for "/private": Password Mismatch"#
            ),
            ("203.0.113.80".to_owned(), user("bob"))
        );
        assert_eq!(
            one(
                "apache-auth",
                "[Mon Nov 23 11:04:01.000001 2026] [auth_basic:error] [pid 2211] [client 203.0.113.81:40000] AH01618: user nobody not found: /private"
            ),
            ("203.0.113.81".to_owned(), user("nobody"))
        );
        none(
            "apache-auth",
            "[Mon Nov 23 11:04:02.000001 2026] [core:error] [pid 2211] [client 203.0.113.82:40001] AH00126: Invalid URI in request GET /%%% HTTP/1.1",
        );
    }

    #[test]
    fn http_probes_and_4xx_bursts() {
        for (line, host) in [
            (
                r#"203.0.113.90 - - [23/Nov/2026:11:05:00 +0000] "GET /.env HTTP/1.1" 404 162 "-" "Mozilla/5.0 (compatible; scan)""#,
                "203.0.113.90",
            ),
            (
                r#"203.0.113.91 - - [23/Nov/2026:11:05:01 +0000] "GET /app/.git/config HTTP/1.1" 403 153 "-" "curl/8.5.0""#,
                "203.0.113.91",
            ),
            (
                r#"203.0.113.92 - - [23/Nov/2026:11:05:02 +0000] "POST /wp-login.php HTTP/1.1" 404 162 "-" "Mozilla/5.0""#,
                "203.0.113.92",
            ),
            (
                r#"203.0.113.93 - - [23/Nov/2026:11:05:03 +0000] "POST /xmlrpc.php HTTP/1.0" 404 162 "-" "-""#,
                "203.0.113.93",
            ),
            (
                r#"203.0.113.94 - - [23/Nov/2026:11:05:04 +0000] "GET /phpMyAdmin/index.php HTTP/1.1" 404 162 "-" "-""#,
                "203.0.113.94",
            ),
            (
                r#"203.0.113.95 - - [23/Nov/2026:11:05:05 +0000] "GET /admin HTTP/1.1" 404 162 "-" "-""#,
                "203.0.113.95",
            ),
        ] {
            assert_eq!(one("http-probe", line).0, host, "{line}");
        }
        for line in [
            // Our own admin answering normally, and ordinary pages.
            r#"192.0.2.10 - alice [23/Nov/2026:11:05:06 +0000] "GET /admin/users HTTP/1.1" 200 5123 "-" "Mozilla/5.0""#,
            r#"192.0.2.11 - - [23/Nov/2026:11:05:07 +0000] "GET /environment-policy HTTP/1.1" 200 812 "-" "Mozilla/5.0""#,
            r#"192.0.2.12 - - [23/Nov/2026:11:05:08 +0000] "GET /blog/git-tips HTTP/1.1" 404 162 "-" "Mozilla/5.0""#,
        ] {
            none("http-probe", line);
        }
        let burst: Vec<String> = (0..31)
            .map(|i| format!(r#"203.0.113.99 - - [23/Nov/2026:11:06:{:02} +0000] "GET /page{i} HTTP/1.1" 404 162 "-" "-""#, i))
            .collect();
        let refs: Vec<&str> = burst.iter().map(String::as_str).collect();
        assert_eq!(run("http-4xx", &refs).len(), 31);
        none(
            "http-4xx",
            r#"192.0.2.13 - - [23/Nov/2026:11:06:00 +0000] "GET /page HTTP/1.1" 200 162 "-" "-""#,
        );
    }

    #[test]
    fn postfix_dovecot_drupal() {
        assert_eq!(
            one(
                "postfix-sasl",
                "Nov 23 11:07:00 mail postfix/smtpd[6100]: warning: unknown[203.0.113.110]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"
            ),
            ("203.0.113.110".to_owned(), None)
        );
        assert_eq!(
            one(
                "postfix-sasl",
                "Nov 23 11:07:01 mail postfix/submission/smtpd[6101]: warning: host.example.net[203.0.113.111]: SASL PLAIN authentication failed: authentication failure"
            )
            .0,
            "203.0.113.111"
        );
        none(
            "postfix-sasl",
            "Nov 23 11:07:02 mail postfix/smtpd[6102]: connect from unknown[203.0.113.112]",
        );
        assert_eq!(
            one(
                "dovecot",
                "Nov 23 11:07:03 mail dovecot: imap-login: Disconnected: Connection closed (auth failed, 3 attempts in 12 secs): user=<sales>, method=PLAIN, rip=203.0.113.113, lip=192.0.2.25, TLS, session=<AbCd>"
            ),
            ("203.0.113.113".to_owned(), user("sales"))
        );
        none(
            "dovecot",
            "Nov 23 11:07:04 mail dovecot: imap-login: Login: user=<sales>, method=PLAIN, rip=192.0.2.50, lip=192.0.2.25, mpid=6200, TLS, session=<EfGh>",
        );
        assert_eq!(
            one(
                "drupal",
                "Nov 23 11:08:00 web1 drupal: https://www.example.org|1795950480|user|203.0.113.120|https://www.example.org/user/login|https://www.example.org/user/login|0||Login attempt failed for editor."
            ),
            ("203.0.113.120".to_owned(), user("editor"))
        );
        assert_eq!(
            one(
                "drupal",
                "Nov 23 11:08:01 web1 drupal[811]: https://www.example.org|1795950481|user|203.0.113.121|https://www.example.org/user/login||0||Login attempt failed from 203.0.113.121."
            )
            .0,
            "203.0.113.121"
        );
        none(
            "drupal",
            "Nov 23 11:08:02 web1 drupal: https://www.example.org|1795950482|user|192.0.2.30|https://www.example.org/user/login||5||Session opened for editor.",
        );
    }

    #[test]
    fn rails_devise_ties_401_to_the_request_address() {
        let lines = [
            r#"I, [2026-11-23T11:09:00.100000 #2100]  INFO -- : [0b1c2d3e-0000-4000-8000-000000000001] Started POST "/users/sign_in" for 203.0.113.130 at 2026-11-23 11:09:00 +0000"#,
            r#"I, [2026-11-23T11:09:00.100100 #2100]  INFO -- : [0b1c2d3e-0000-4000-8000-000000000002] Started POST "/users/sign_in" for 192.0.2.40 at 2026-11-23 11:09:00 +0000"#,
            r#"I, [2026-11-23T11:09:00.101000 #2100]  INFO -- : [0b1c2d3e-0000-4000-8000-000000000001] Processing by Devise::SessionsController#create as HTML"#,
            r#"I, [2026-11-23T11:09:00.150000 #2100]  INFO -- : [0b1c2d3e-0000-4000-8000-000000000002] Completed 303 See Other in 40ms (ActiveRecord: 3.0ms)"#,
            r#"I, [2026-11-23T11:09:00.200000 #2100]  INFO -- : [0b1c2d3e-0000-4000-8000-000000000001] Completed 401 Unauthorized in 95ms (ActiveRecord: 2.1ms)"#,
            // An API 401 with no sign-in in front of it is not a failed sign-in.
            r#"I, [2026-11-23T11:09:01.000000 #2100]  INFO -- : [0b1c2d3e-0000-4000-8000-000000000003] Completed 401 Unauthorized in 2ms"#,
        ];
        let found = run("rails-devise", &lines);
        assert_eq!(found, vec![("203.0.113.130".to_owned(), None)]);
        let untagged = [
            r#"I, [2026-11-23T11:09:00.100000 #2100]  INFO -- : Started POST "/admins/sign_in" for 203.0.113.131 at 2026-11-23 11:09:00 +0000"#,
            r#"I, [2026-11-23T11:09:00.101000 #2100]  INFO -- : Processing by Devise::SessionsController#create as HTML"#,
            r#"I, [2026-11-23T11:09:00.102000 #2101]  INFO -- : Started GET "/" for 192.0.2.41 at 2026-11-23 11:09:00 +0000"#,
            r#"I, [2026-11-23T11:09:00.103000 #2101]  INFO -- : Completed 401 Unauthorized in 1ms"#,
            r#"I, [2026-11-23T11:09:00.200000 #2100]  INFO -- : Completed 401 Unauthorized in 95ms (ActiveRecord: 2.1ms)"#,
        ];
        assert_eq!(
            run("rails-devise", &untagged),
            vec![("203.0.113.131".to_owned(), None)]
        );
    }
}
