//! `classify`: what one log line says, for the digest.
//!
//! [`split_syslog`] takes a syslog line apart once its date is gone (`HOST PROGRAM[PID]:
//! MESSAGE`); [`classify`] names the event in the message (a login, a sudo command, an OOM
//! kill …), says it is routine ([`Event::Known`]) or admits it does not know
//! ([`Event::Unrecognised`]). [`dpkg`] and [`access_status`] read dpkg's log and HTTP access
//! logs. Nothing here allocates in proportion to more than one line.

use std::sync::OnceLock;

use regex::Regex;

/// A syslog line without its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    pub host: Option<&'a str>,
    pub program: &'a str,
    pub pid: Option<&'a str>,
    pub message: &'a str,
}

/// How a user logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoginMethod {
    Publickey,
    Password,
    KeyboardInteractive,
    /// Kerberos, host-based or another method.
    Other,
}

impl LoginMethod {
    fn parse(text: &str) -> LoginMethod {
        match text {
            "publickey" => LoginMethod::Publickey,
            "password" => LoginMethod::Password,
            t if t.starts_with("keyboard-interactive") => LoginMethod::KeyboardInteractive,
            _ => LoginMethod::Other,
        }
    }

    /// Whether a secret typed by a person was enough (no key).
    pub fn is_password(self) -> bool {
        matches!(
            self,
            LoginMethod::Password | LoginMethod::KeyboardInteractive
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Publickey => "publickey",
            LoginMethod::Password => "password",
            LoginMethod::KeyboardInteractive => "keyboard-interactive",
            LoginMethod::Other => "other",
        }
    }
}

/// What a line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// sshd accepted a login.
    Login {
        user: &'a str,
        method: LoginMethod,
        source: &'a str,
        /// Key type and fingerprint (`ED25519 SHA256:…`) for public-key logins.
        key: Option<String>,
    },
    /// sudo ran a command.
    Sudo {
        user: &'a str,
        runas: &'a str,
        command: &'a str,
    },
    /// A su session opened.
    Su { user: &'a str, by: &'a str },
    /// Something started listening (sshd, systemd sockets, databases).
    Listening { what: String },
    /// The kernel's (or systemd-oomd's) OOM killer killed a process or unit.
    OomKill { process: &'a str },
    /// A process crashed (segfault, general protection fault).
    Segfault { process: &'a str },
    /// A write failed for lack of space.
    DiskFull,
    /// The kernel booted.
    Boot,
    /// Routine: understood, nothing to report.
    Known,
    /// Not understood.
    Unrecognised,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    // The patterns are constants of this file, compiled in tests: failure is a bug.
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|e| unreachable!("{e}")))
}

macro_rules! regex {
    ($pattern:expr) => {{
        static CELL: OnceLock<Regex> = OnceLock::new();
        re(&CELL, $pattern)
    }};
}

/// Splits `HOST PROGRAM[PID]: MESSAGE` (the host is optional; kernel lines may carry a
/// `[ 12.345678]` uptime, which is dropped).
pub fn split_syslog(text: &str) -> Option<SyslogLine<'_>> {
    let r = regex!(
        r"^\s*(?:(?P<host>[^\s:\[]+)\s+)?(?P<prog>[^\s:\[]+)(?:\[(?P<pid>[^\]\s]*)\])?:\s?(?P<msg>.*)$"
    );
    let caps = r.captures(text)?;
    let message = caps.name("msg").map_or("", |m| m.as_str());
    let program = caps.name("prog")?.as_str();
    let message = if program == "kernel" {
        regex!(r"^\[\s*\d+\.\d+\]\s?")
            .find(message)
            .map_or(message, |m| &message[m.end()..])
    } else {
        message
    };
    Some(SyslogLine {
        host: caps.name("host").map(|m| m.as_str()),
        program,
        pid: caps.name("pid").map(|m| m.as_str()),
        message,
    })
}

/// Names the event in a syslog message from `program`.
pub fn classify<'a>(program: &'a str, message: &'a str) -> Event<'a> {
    if message.contains("No space left on device") {
        return Event::DiskFull;
    }
    let base = program.rsplit('/').next().unwrap_or(program);
    let event = match base {
        "sshd" | "sshd-session" => sshd(message),
        "sudo" => sudo(message),
        "su" => su(message),
        "kernel" => kernel(message),
        "systemd" => systemd(message),
        "systemd-oomd" => regex!(r"^Killed (\S+) due to memory")
            .captures(message)
            .and_then(|c| c.get(1))
            .map(|m| Event::OomKill {
                process: m.as_str(),
            }),
        "systemd-logind" => regex!(
            r"^(?:New session|Removed session|Session \S+ logged out|New seat|Watching system buttons|Power key pressed|System is )"
        )
        .is_match(message)
        .then_some(Event::Known),
        "CRON" | "cron" | "anacron" => Some(Event::Known),
        "smtpd" | "qmgr" | "cleanup" | "pickup" | "local" | "smtp" | "postfix" | "anvil"
        | "scache" | "bounce" | "master" => postfix(message),
        "dovecot" => dovecot(message),
        _ => None,
    };
    if let Some(e) = event {
        return e;
    }
    // Sessions, and local authentication failures (the sudo and su detections count those
    // from their own lines; remote ones are the pam detection's).
    if message.starts_with("pam_unix(")
        && regex!(r"^pam_unix\([\w-]+:(?:session\): session (?:opened|closed) for user|auth\): (?:authentication failure|conversation failed|auth could not identify password))")
            .is_match(message)
    {
        return Event::Known;
    }
    // Databases and daemons that say where they listen (PostgreSQL, Redis, Dovecot …).
    if let Some(m) = regex!(r"(?i)\blistening on\b:?\s*(.*)$").captures(message)
        && let Some(what) = m.get(1)
    {
        return Event::Listening {
            what: what.as_str().trim_end_matches('.').to_owned(),
        };
    }
    Event::Unrecognised
}

fn sshd(message: &str) -> Option<Event<'_>> {
    if let Some(c) = regex!(
        r"^Accepted (\S+) for (\S+) from (\S+) port \d+(?: ssh\d)?(?:: ([\w-]+ SHA256:[\w+/=]+))?"
    )
    .captures(message)
    {
        return Some(Event::Login {
            method: LoginMethod::parse(c.get(1)?.as_str()),
            user: c.get(2)?.as_str(),
            source: c.get(3)?.as_str(),
            key: c.get(4).map(|m| m.as_str().to_owned()),
        });
    }
    if let Some(c) = regex!(r"^Server listening on (\S+) port (\d+)").captures(message) {
        let addr = c.get(1)?.as_str();
        let port = c.get(2)?.as_str();
        let what = if addr.contains(':') {
            format!("[{addr}]:{port}")
        } else {
            format!("{addr}:{port}")
        };
        return Some(Event::Listening { what });
    }
    regex!(
        r"^(?:pam_unix\(sshd:session\)|Disconnected from user|Received disconnect from \S+ port \d+:\d+: disconnected by user|Connection closed by \S+ port \d+$|Connection from |Received signal|Server listening|error: kex_exchange_identification|Close session|Starting session|User child is|Postponed |Connection reset by \S+ port \d+$|debug|pam_env|Accepted)"
    )
    .is_match(message)
    .then_some(Event::Known)
}

fn sudo(message: &str) -> Option<Event<'_>> {
    if let Some(c) =
        regex!(r"^\s*(\S+) : (?:TTY=\S+ ; )?PWD=.*? ; USER=(\S+) ;(?: GROUP=\S+ ;)?(?: ENV=.*? ;)? COMMAND=(.+)$")
            .captures(message)
    {
        return Some(Event::Sudo {
            user: c.get(1)?.as_str(),
            runas: c.get(2)?.as_str(),
            command: c.get(3)?.as_str(),
        });
    }
    regex!(r"^pam_unix\(sudo(?:-i)?:session\)")
        .is_match(message)
        .then_some(Event::Known)
}

fn su(message: &str) -> Option<Event<'_>> {
    if let Some(c) = regex!(
        r"^pam_unix\(su(?:-l)?:session\): session opened for user ([^\s(]+)(?:\(uid=\d+\))? by ([^\s(]*)(?:\(uid=\d+\))?"
    )
    .captures(message)
    {
        return Some(Event::Su {
            user: c.get(1)?.as_str(),
            by: c.get(2)?.as_str(),
        });
    }
    // util-linux su logs `(to root) alice on pts/0` beside the PAM line counted above.
    regex!(r"^(?:\(to \S+\) \S+ on |pam_unix\(su(?:-l)?:session\): session closed)")
        .is_match(message)
        .then_some(Event::Known)
}

fn kernel(message: &str) -> Option<Event<'_>> {
    if let Some(c) =
        regex!(r"(?:Out of memory|Memory cgroup out of memory): Killed process \d+ \(([^)]*)\)")
            .captures(message)
    {
        return Some(Event::OomKill {
            process: c.get(1)?.as_str(),
        });
    }
    if let Some(c) =
        regex!(r"^(?:traps: )?(\S+?)\[\d+\]:? (?:segfault at|general protection fault|trap )")
            .captures(message)
    {
        return Some(Event::Segfault {
            process: c.get(1)?.as_str(),
        });
    }
    if message.starts_with("Linux version ") {
        return Some(Event::Boot);
    }
    // The lines of an OOM report around the kill.
    regex!(r"(?:invoked oom-killer|^oom-kill:|^oom_reaper:|^\[\s*pid\s*\]|^Mem-Info:|^Tasks state)")
        .is_match(message)
        .then_some(Event::Known)
}

fn systemd(message: &str) -> Option<Event<'_>> {
    if let Some(c) = regex!(r"^Listening on (.+?)\.?$").captures(message) {
        return Some(Event::Listening {
            what: c.get(1)?.as_str().to_owned(),
        });
    }
    regex!(
        r"^(?:Started|Starting|Stopped|Stopping|Finished|Reached target|Stopped target|Created slice|Removed slice|Reloading|Reloaded|Startup finished|Condition check|Mounted|Unmounted|Queued start job|\S+\.(?:service|scope|timer|socket|mount|slice|target): (?:Deactivated|Consumed|Succeeded|Scheduled restart|Main process exited|Failed with result)|session-\S+|user@\d+|Closed |Received SIG)"
    )
    .is_match(message)
    .then_some(Event::Known)
}

fn postfix(message: &str) -> Option<Event<'_>> {
    regex!(
        r"^(?:connect from|disconnect from|lost connection after|[0-9A-Z]{6,}: |warning: hostname \S+ does not resolve|NOQUEUE: |statistics: |daemon started|reload|warning: non-SMTP command)"
    )
    .is_match(message)
    .then_some(Event::Known)
}

fn dovecot(message: &str) -> Option<Event<'_>> {
    regex!(r"^(?:(?:imap|pop3|submission|managesieve|lmtp)(?:-login)?(?:\([^)]*\))?(?:<[^>]*>)?: (?:Login|Logged out|Disconnected|Connect from|Disconnected: )|master: Dovecot v|auth: )")
        .is_match(message)
        .then_some(Event::Known)
}

/// A package change in dpkg's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgChange<'a> {
    /// `install`, `upgrade`, `remove` or `purge`.
    pub action: &'a str,
    pub package: &'a str,
    /// `None` for `<none>`.
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
}

/// Reads a dpkg log line without its date: `Some(Ok(change))` for a package change,
/// `Some(Err(()))` for a routine line (status, configure, trigproc …), `None` when the line is
/// not dpkg's.
#[allow(clippy::result_unit_err)]
pub fn dpkg(text: &str) -> Option<Result<DpkgChange<'_>, ()>> {
    if let Some(c) =
        regex!(r"^\s*(install|upgrade|remove|purge) (\S+) (\S+) (\S+)\s*$").captures(text)
    {
        let version = |i: usize| c.get(i).map(|m| m.as_str()).filter(|v| *v != "<none>");
        return Some(Ok(DpkgChange {
            action: c.get(1)?.as_str(),
            package: c.get(2)?.as_str(),
            from: version(3),
            to: version(4),
        }));
    }
    regex!(r"^\s*(?:status|configure|trigproc|startup|conffile|purge|remove) ")
        .is_match(text)
        .then_some(Err(()))
}

/// The HTTP status of an access-log line (common or combined format).
pub fn access_status(text: &str) -> Option<u16> {
    regex!(r#"^\S+ \S+ \S+ .*?"(?:[^"\\]|\\.)*" (\d{3}) "#)
        .captures(text)
        .and_then(|c| c.get(1))
        .and_then(|m| m.as_str().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: &str) -> Event<'_> {
        let s = split_syslog(line).unwrap();
        classify(s.program, s.message)
    }

    #[test]
    fn splits_syslog_lines() {
        let s = split_syslog(" web1 sshd[4121]: Failed password for root").unwrap();
        assert_eq!(s.host, Some("web1"));
        assert_eq!(s.program, "sshd");
        assert_eq!(s.pid, Some("4121"));
        assert_eq!(s.message, "Failed password for root");
        let s = split_syslog("web1 kernel: [ 1234.567890] Out of memory: Killed process 77 (java)")
            .unwrap();
        assert_eq!(s.message, "Out of memory: Killed process 77 (java)");
        let s = split_syslog("mail postfix/smtpd[1]: connect from x").unwrap();
        assert_eq!(s.program, "postfix/smtpd");
        assert!(split_syslog("").is_none());
    }

    #[test]
    fn names_events() {
        assert_eq!(
            ev(
                "web1 sshd[1]: Accepted publickey for alice from 192.0.2.10 port 50000 ssh2: ED25519 SHA256:YWxpY2U"
            ),
            Event::Login {
                user: "alice",
                method: LoginMethod::Publickey,
                source: "192.0.2.10",
                key: Some("ED25519 SHA256:YWxpY2U".into())
            }
        );
        assert!(matches!(
            ev(
                "web1 sshd[1]: Accepted keyboard-interactive/pam for bob from 2001:db8::5 port 1 ssh2"
            ),
            Event::Login {
                method: LoginMethod::KeyboardInteractive,
                source: "2001:db8::5",
                ..
            }
        ));
        assert_eq!(
            ev(
                "web1 sudo[2]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt upgrade -y"
            ),
            Event::Sudo {
                user: "alice",
                runas: "root",
                command: "/usr/bin/apt upgrade -y"
            }
        );
        // A failure is not a command that ran.
        assert_eq!(
            ev(
                "web1 sudo[2]:    bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh"
            ),
            Event::Unrecognised
        );
        assert_eq!(
            ev(
                "web1 su[3]: pam_unix(su-l:session): session opened for user root(uid=0) by alice(uid=1000)"
            ),
            Event::Su {
                user: "root",
                by: "alice"
            }
        );
        assert_eq!(ev("web1 su[3]: (to root) alice on pts/0"), Event::Known);
        assert_eq!(
            ev("web1 kernel: [99.1] Out of memory: Killed process 4242 (java) total-vm:123kB"),
            Event::OomKill { process: "java" }
        );
        assert_eq!(
            ev(
                "web1 kernel: myapp[4243]: segfault at 0 ip 000055 sp 00007ff error 4 in myapp[55+1000]"
            ),
            Event::Segfault { process: "myapp" }
        );
        assert_eq!(
            ev("web1 kernel: traps: worker[17] general protection fault ip:1 sp:2 error:0"),
            Event::Segfault { process: "worker" }
        );
        assert_eq!(
            ev("web1 sshd[900]: Server listening on :: port 2222."),
            Event::Listening {
                what: "[::]:2222".into()
            }
        );
        assert_eq!(
            ev("web1 systemd[1]: Listening on OpenBSD Secure Shell server socket."),
            Event::Listening {
                what: "OpenBSD Secure Shell server socket".into()
            }
        );
        assert_eq!(
            ev(
                r#"db1 postgres[700]: 2026-11-23 10:00:00 UTC [700] LOG:  listening on IPv4 address "0.0.0.0", port 5432"#
            ),
            Event::Listening {
                what: r#"IPv4 address "0.0.0.0", port 5432"#.into()
            }
        );
        assert_eq!(
            ev("web1 postgres[700]: could not write to file: No space left on device"),
            Event::DiskFull
        );
        assert_eq!(ev("web1 kernel: Linux version 6.1.0-27-amd64"), Event::Boot);
        assert_eq!(
            ev("web1 CRON[5]: (root) CMD (run-parts /etc/cron.hourly)"),
            Event::Known
        );
        assert_eq!(
            ev("web1 systemd[1]: Started session-4.scope - Session 4 of User alice."),
            Event::Known
        );
        assert_eq!(
            ev("web1 myd[9]: frobnicated the widget"),
            Event::Unrecognised
        );
    }

    #[test]
    fn reads_dpkg_and_access_lines() {
        assert_eq!(
            dpkg(" upgrade openssl:amd64 3.0.11-1~deb12u2 3.0.15-1~deb12u1"),
            Some(Ok(DpkgChange {
                action: "upgrade",
                package: "openssl:amd64",
                from: Some("3.0.11-1~deb12u2"),
                to: Some("3.0.15-1~deb12u1")
            }))
        );
        assert_eq!(
            dpkg(" install htop:amd64 <none> 3.2.2-2")
                .unwrap()
                .unwrap()
                .from,
            None
        );
        assert_eq!(dpkg(" status installed htop:amd64 3.2.2-2"), Some(Err(())));
        assert_eq!(dpkg("garbage"), None);
        assert_eq!(
            access_status(r#"192.0.2.1 - - [] "GET / HTTP/1.1" 200 612 "-" "curl/8""#),
            Some(200)
        );
        assert_eq!(access_status("not an access line"), None);
    }
}
