//! The systemd journal as a source (`backend = systemd`): `journalctl -o json` with the
//! filter's `journalmatch`, resumed after a persisted cursor.
//!
//! Each entry becomes the line fail2ban's systemd backend builds (`HOST IDENT[PID]: MESSAGE`)
//! with the entry's own time, so `logtype = journal` filters match it unchanged.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Journal lines longer than this are refused (journalctl's JSON of one entry).
pub const MAX_JSON_LINE: usize = 1 << 20;

/// A journal entry could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The line is not a JSON object.
    #[error("journal line {line}: not a JSON object: {message}")]
    Json { line: u64, message: String },
    /// The entry has no `__CURSOR` or `__REALTIME_TIMESTAMP`.
    #[error("journal line {line}: missing field {field}")]
    Missing { line: u64, field: &'static str },
    /// The line is longer than [`MAX_JSON_LINE`].
    #[error("journal line {line}: {len} bytes, more than {MAX_JSON_LINE}")]
    TooLong { line: u64, len: usize },
    /// journalctl could not be started or read.
    #[error("journalctl")]
    Io(#[from] std::io::Error),
}

/// One journal entry, as a filter sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub cursor: String,
    /// Seconds since the epoch.
    pub time: f64,
    /// `HOST IDENT[PID]: MESSAGE`.
    pub line: String,
}

/// journalctl writes a field as a string, or as an array of bytes when it is not UTF-8 text
/// (or an array of those when the field repeats).
fn field_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => {
            if items.iter().all(|i| i.is_u64()) {
                let bytes: Vec<u8> = items
                    .iter()
                    .filter_map(|i| i.as_u64().and_then(|n| u8::try_from(n).ok()))
                    .collect();
                Some(String::from_utf8_lossy(&bytes).into_owned())
            } else {
                items.first().and_then(field_text)
            }
        }
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses one line of `journalctl -o json` (`line` numbers the entry for messages).
pub fn parse_entry(json: &[u8], line: u64) -> Result<JournalEntry, JournalError> {
    if json.len() > MAX_JSON_LINE {
        return Err(JournalError::TooLong {
            line,
            len: json.len(),
        });
    }
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| JournalError::Json {
            line,
            message: e.to_string(),
        })?;
    let obj = value.as_object().ok_or_else(|| JournalError::Json {
        line,
        message: "not an object".into(),
    })?;
    let get = |k: &str| obj.get(k).and_then(field_text);
    let cursor = get("__CURSOR").ok_or(JournalError::Missing {
        line,
        field: "__CURSOR",
    })?;
    let usec: u64 = get("__REALTIME_TIMESTAMP")
        .and_then(|t| t.trim().parse().ok())
        .ok_or(JournalError::Missing {
            line,
            field: "__REALTIME_TIMESTAMP",
        })?;
    let ident = get("SYSLOG_IDENTIFIER")
        .or_else(|| get("_COMM"))
        .unwrap_or_default();
    let pid = get("SYSLOG_PID").or_else(|| get("_PID"));
    let mut text = get("_HOSTNAME").unwrap_or_default();
    if !ident.is_empty() {
        text.push(' ');
        text.push_str(&ident);
    }
    if let Some(pid) = pid {
        text.push_str(&format!("[{pid}]"));
    }
    text.push_str(": ");
    text.push_str(&get("MESSAGE").unwrap_or_default());
    Ok(JournalEntry {
        cursor,
        time: usec as f64 / 1e6,
        line: text,
    })
}

/// The arguments of `journalctl` for `journalmatch` (one match group a line, as fail2ban
/// writes them, joined with `+`), resuming after `cursor`, or without one from `findtime`
/// seconds ago (older entries could not count anyway).
pub fn journalctl_args(
    journalmatch: &[Vec<String>],
    cursor: Option<&str>,
    follow: bool,
    findtime: f64,
) -> Vec<String> {
    let mut args = vec!["-o".to_owned(), "json".to_owned(), "--no-pager".to_owned()];
    if follow {
        args.push("--follow".into());
    }
    match cursor {
        Some(c) => args.push(format!("--after-cursor={c}")),
        None => args.push(format!(
            "--since=-{}s",
            findtime.clamp(1.0, 400.0 * 86_400.0).ceil() as u64
        )),
    }
    for (i, group) in journalmatch.iter().enumerate() {
        if i > 0 {
            args.push("+".into());
        }
        args.extend(group.iter().cloned());
    }
    args
}

/// A running `journalctl`.
#[derive(Debug)]
pub struct Journal {
    child: Child,
    reader: BufReader<ChildStdout>,
    lines: u64,
}

impl Journal {
    /// Starts `journalctl` with `args` (see [`journalctl_args`]).
    pub fn spawn(args: &[String]) -> Result<Journal, JournalError> {
        let mut child = Command::new("journalctl")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("journalctl has no standard output"))?;
        Ok(Journal {
            child,
            reader: BufReader::new(stdout),
            lines: 0,
        })
    }

    /// The next entry; `None` at the end (only without `--follow`). Bad entries are errors
    /// the caller may skip.
    pub fn next_entry(&mut self) -> Option<Result<JournalEntry, JournalError>> {
        let mut buf = Vec::new();
        match (&mut self.reader)
            .take(MAX_JSON_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) => None,
            Ok(_) => {
                self.lines += 1;
                if !buf.ends_with(b"\n") && buf.len() > MAX_JSON_LINE {
                    // Skip the rest of the oversized line.
                    let mut rest = Vec::new();
                    let _ = self.reader.read_until(b'\n', &mut rest);
                }
                Some(parse_entry(&buf, self.lines))
            }
            Err(e) => Some(Err(e.into())),
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn entries_become_syslog_like_lines() {
        let json = br#"{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1700000000500000","_HOSTNAME":"web1","SYSLOG_IDENTIFIER":"sshd","_PID":"77","MESSAGE":"Failed password for root from 198.51.100.7 port 22 ssh2"}"#;
        let e = parse_entry(json, 1).unwrap();
        assert_eq!(e.cursor, "s=1;i=2");
        assert_eq!(e.time, 1_700_000_000.5);
        assert_eq!(
            e.line,
            "web1 sshd[77]: Failed password for root from 198.51.100.7 port 22 ssh2"
        );
        // A message that is not UTF-8 comes as bytes.
        let json = br#"{"__CURSOR":"c","__REALTIME_TIMESTAMP":"1","MESSAGE":[104,105,255]}"#;
        assert_eq!(parse_entry(json, 2).unwrap().line, ": hi\u{fffd}");
        assert!(matches!(
            parse_entry(br#"{"MESSAGE":"x"}"#, 3),
            Err(JournalError::Missing {
                field: "__CURSOR",
                ..
            })
        ));
        assert!(parse_entry(b"[1]", 4).is_err());
    }

    #[test]
    fn args_join_match_groups() {
        let m = vec![
            vec!["_SYSTEMD_UNIT=sshd.service".to_owned()],
            vec!["_COMM=sshd".to_owned()],
        ];
        let a = journalctl_args(&m, Some("s=1"), true, 600.0);
        assert!(journalctl_args(&m, None, false, 600.0).contains(&"--since=-600s".to_owned()));
        assert_eq!(
            a,
            [
                "-o",
                "json",
                "--no-pager",
                "--follow",
                "--after-cursor=s=1",
                "_SYSTEMD_UNIT=sshd.service",
                "+",
                "_COMM=sshd"
            ]
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_entry(&bytes, 1);
        }
    }
}
