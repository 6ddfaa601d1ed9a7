//! `render`: the digest for a person (a terminal screen) and as Markdown (to mail or post).
//!
//! Both show the attention list first and cap every list, pointing to `--format json` for
//! the rest. Text from logs is already cleaned of control characters ([`crate::clean`]);
//! Markdown escapes what would change its layout.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::digest::Digest;

/// Rows shown per section.
const ROWS: usize = 5;

/// `1.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn when(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%b %d %H:%M").to_string()
}

fn span(first: Timestamp, last: Timestamp, tz: &TimeZone) -> String {
    if first == last {
        when(first, tz)
    } else {
        let a = first.to_zoned(tz.clone());
        let b = last.to_zoned(tz.clone());
        if a.date() == b.date() {
            format!("{}–{}", when(first, tz), b.strftime("%H:%M"))
        } else {
            format!("{} – {}", when(first, tz), when(last, tz))
        }
    }
}

fn more(n: usize) -> String {
    if n > ROWS {
        format!("  … {} more (--format json)", n - ROWS)
    } else {
        String::new()
    }
}

fn window(d: &Digest, tz: &TimeZone) -> String {
    let seconds = d.until.as_second() - d.since.as_second();
    let length = if seconds >= 2 * 86_400 && seconds % 86_400 == 0 {
        format!("{}d", seconds / 86_400)
    } else if seconds % 3600 == 0 {
        format!("{}h", seconds / 3600)
    } else {
        format!("{:.1}h", seconds as f64 / 3600.0)
    };
    format!(
        "{} → {} ({length})",
        d.since.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M"),
        d.until.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M %Z"),
    )
}

struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.on {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }
    fn head(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }
    fn alert(&self, text: &str) -> String {
        self.paint(
            Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
            text,
        )
    }
    fn ok(&self, text: &str) -> String {
        self.paint(Style::new().fg_color(Some(AnsiColor::Green.into())), text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }
}

/// The digest on one terminal screen: attention first, then one short section per topic
/// (sections with nothing to say are left out).
pub fn human(d: &Digest, tz: &TimeZone, color: bool) -> String {
    let p = Paint { on: color };
    let mut o = String::new();
    human_header(&mut o, d, tz, &p);
    human_attention(&mut o, d, &p);
    human_logins(&mut o, d, tz, &p);
    human_failures(&mut o, d, &p);
    human_privileges(&mut o, d, tz, &p);
    human_listening(&mut o, d, tz, &p);
    human_kernel(&mut o, d, tz, &p);
    human_packages(&mut o, d, &p);
    human_disk(&mut o, d, &p);
    human_web(&mut o, d, &p);
    human_unrecognised(&mut o, d, &p);
    // Padded columns leave trailing blanks on rows with empty last cells.
    o.lines()
        .map(str::trim_end)
        .fold(String::with_capacity(o.len()), |mut acc, l| {
            acc.push_str(l);
            acc.push('\n');
            acc
        })
}

/// The title line: the window, the hosts, and what was read.
fn human_header(o: &mut String, d: &Digest, tz: &TimeZone, p: &Paint) {
    let lines: u64 = d.inputs.iter().map(|i| i.in_window).sum();
    let hosts = if d.hosts.is_empty() {
        String::new()
    } else {
        format!(" · {}", d.hosts.join(", "))
    };
    let _ = writeln!(
        o,
        "{}{hosts}",
        p.head(&format!("allclear digest {}", window(d, tz)))
    );
    let skipped: u64 = d.inputs.iter().map(|i| i.before_window).sum();
    let _ = writeln!(
        o,
        "{}",
        p.dim(&format!(
            "{} inputs, {lines} lines in the window ({skipped} older skipped)",
            d.inputs.len()
        ))
    );
    let _ = writeln!(o);
}

/// What needs a person, first; or that nothing does.
fn human_attention(o: &mut String, d: &Digest, p: &Paint) {
    if d.attention.is_empty() {
        let _ = writeln!(o, "{}", p.ok("Nothing needs attention."));
    } else {
        let _ = writeln!(
            o,
            "{}",
            p.alert(&format!("NEEDS ATTENTION ({})", d.attention.len()))
        );
        for a in &d.attention {
            let _ = writeln!(o, "  {} {}", p.alert("!"), a.message);
        }
    }
}

/// Successful logins per user, method and source.
fn human_logins(o: &mut String, d: &Digest, tz: &TimeZone, p: &Paint) {
    if !d.logins.is_empty() {
        let total: u64 = d.logins.iter().map(|l| l.count).sum();
        let _ = writeln!(o, "\n{}", p.head(&format!("Logins: {total}")));
        let uw = d
            .logins
            .iter()
            .take(ROWS)
            .map(|l| l.user.chars().count())
            .max()
            .unwrap_or(0);
        let sw = d
            .logins
            .iter()
            .take(ROWS)
            .map(|l| l.source.chars().count())
            .max()
            .unwrap_or(0);
        for l in d.logins.iter().take(ROWS) {
            let _ = writeln!(
                o,
                "  {:uw$}  {:20}  {:sw$}  ×{:<4} {}",
                l.user,
                l.method.as_str(),
                l.source,
                l.count,
                span(l.first, l.last, tz)
            );
        }
        o.push_str(&line(more(d.logins.len())));
    }
}

/// Failed logins per source, with the jails that would ban it.
fn human_failures(o: &mut String, d: &Digest, p: &Paint) {
    if d.failures.total > 0 {
        let banned = d
            .failures
            .sources
            .iter()
            .filter(|s| !s.banned_by.is_empty())
            .count();
        let _ = writeln!(
            o,
            "\n{}",
            p.head(&format!(
                "Failures: {} from {} sources, {banned} would be banned",
                d.failures.total,
                d.failures.sources.len() as u64 + d.failures.sources_dropped
            ))
        );
        let sw = d
            .failures
            .sources
            .iter()
            .take(ROWS)
            .map(|s| s.source.chars().count())
            .max()
            .unwrap_or(0);
        let jw = d
            .failures
            .sources
            .iter()
            .take(ROWS)
            .map(|s| {
                s.jails
                    .keys()
                    .map(|k| k.len() + 1)
                    .sum::<usize>()
                    .saturating_sub(1)
            })
            .max()
            .unwrap_or(0);
        for s in d.failures.sources.iter().take(ROWS) {
            let jails: Vec<&str> = s.jails.keys().map(String::as_str).collect();
            let mut users = s
                .users
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let hidden = s.users.len().saturating_sub(3) as u64 + s.users_more;
            if hidden > 0 {
                users.push_str(&format!(" +{hidden}"));
            }
            let ban = if s.banned_by.is_empty() {
                String::new()
            } else {
                format!("  {}", p.alert(&format!("ban: {}", s.banned_by.join(", "))))
            };
            let _ = writeln!(
                o,
                "  {:sw$}  {:>5}  {:jw$}{}{ban}",
                s.source,
                s.failures,
                jails.join(","),
                if users.is_empty() {
                    String::new()
                } else {
                    format!("  users: {users}")
                },
            );
        }
        o.push_str(&line(more(d.failures.sources.len())));
    }
}

/// sudo commands and su sessions.
fn human_privileges(o: &mut String, d: &Digest, tz: &TimeZone, p: &Paint) {
    if !d.sudo.is_empty() || !d.su.is_empty() {
        let total: u64 = d.sudo.iter().map(|s| s.count).sum();
        let su: u64 = d.su.iter().map(|s| s.count).sum();
        let _ = writeln!(
            o,
            "\n{}",
            p.head(&format!("sudo: {total} commands · su: {su} sessions"))
        );
        for s in d.sudo.iter().take(ROWS) {
            let _ = writeln!(
                o,
                "  {} → {}  ×{:<3} {}",
                s.user, s.runas, s.count, s.command
            );
        }
        o.push_str(&line(more(d.sudo.len())));
        for s in d.su.iter().take(3) {
            let _ = writeln!(
                o,
                "  su: {} → {}  ×{}  last {}",
                s.by,
                s.user,
                s.count,
                when(s.last, tz)
            );
        }
    }
}

/// Services that started listening (systemd's own sockets only counted).
fn human_listening(o: &mut String, d: &Digest, tz: &TimeZone, p: &Paint) {
    if !d.listening.is_empty() {
        // systemd's sockets come back at every boot: counted, not listed.
        let daemons: Vec<_> = d
            .listening
            .iter()
            .filter(|l| l.program != "systemd")
            .collect();
        let sockets = d.listening.len() - daemons.len();
        let sockets = if sockets > 0 {
            format!(" (+{sockets} systemd sockets)")
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "\n{}",
            p.head(&format!("Listening: {}{sockets}", daemons.len()))
        );
        for l in daemons.iter().take(ROWS) {
            let _ = writeln!(o, "  {}: {}  ({})", l.program, l.what, when(l.first, tz));
        }
        o.push_str(&line(more(daemons.len())));
    }
}

/// OOM kills, crashes and boots.
fn human_kernel(o: &mut String, d: &Digest, tz: &TimeZone, p: &Paint) {
    if !d.oom_kills.is_empty() || !d.segfaults.is_empty() || d.boots > 0 {
        let ooms: u64 = d.oom_kills.iter().map(|e| e.count).sum();
        let segv: u64 = d.segfaults.iter().map(|e| e.count).sum();
        let _ = writeln!(
            o,
            "\n{}",
            p.head(&format!(
                "Kernel: {ooms} OOM kills, {segv} crashes, {} boots",
                d.boots
            ))
        );
        for e in d.oom_kills.iter().take(3) {
            let _ = writeln!(
                o,
                "  oom-kill {} ×{}  last {}",
                e.process,
                e.count,
                when(e.last, tz)
            );
        }
        for e in d.segfaults.iter().take(3) {
            let _ = writeln!(
                o,
                "  crash    {} ×{}  last {}",
                e.process,
                e.count,
                when(e.last, tz)
            );
        }
    }
}

/// Package installs, removals and upgrades.
fn human_packages(o: &mut String, d: &Digest, p: &Paint) {
    if !d.packages.counts.is_empty() {
        let counts: Vec<String> = d
            .packages
            .counts
            .iter()
            .map(|(a, n)| format!("{n} {a}"))
            .collect();
        let _ = writeln!(
            o,
            "\n{}",
            p.head(&format!("Packages: {}", counts.join(", ")))
        );
        for c in d.packages.changes.iter().take(ROWS) {
            let version = match (&c.from, &c.to) {
                (Some(f), Some(t)) => format!("{f} → {t}"),
                (None, Some(t)) => t.clone(),
                (Some(f), None) => f.clone(),
                (None, None) => String::new(),
            };
            let _ = writeln!(o, "  {:8} {}  {version}", c.action, c.package);
        }
        o.push_str(&line(more(d.packages.changes.len())));
    }
}

/// Filesystems low on space and full-disk errors in logs; else the fullest filesystem.
fn human_disk(o: &mut String, d: &Digest, p: &Paint) {
    let filesystems: Vec<_> = d.disk.filesystems.iter().flatten().collect();
    let low: Vec<_> = filesystems.iter().filter(|f| f.low).collect();
    if !low.is_empty() || !d.disk.log_errors.is_empty() {
        let _ = writeln!(o, "\n{}", p.head("Disk"));
        for f in low.iter().take(ROWS) {
            let text = format!(
                "  {:20} {:>3.0}% used, {} free of {}",
                f.mount,
                f.used_percent,
                bytes(f.avail_bytes),
                bytes(f.size_bytes)
            );
            let _ = writeln!(o, "{}", p.alert(&text));
        }
        for e in d.disk.log_errors.iter().take(3) {
            let _ = writeln!(o, "  {} ×{}: {}", e.process, e.count, e.sample);
        }
    } else if let Some(fullest) = filesystems
        .iter()
        .max_by(|a, b| a.used_percent.total_cmp(&b.used_percent))
    {
        let _ = writeln!(
            o,
            "\n{} {} filesystem(s) checked, fullest {} at {:.0}% ({} free)",
            p.head("Disk:"),
            filesystems.len(),
            fullest.mount,
            fullest.used_percent,
            bytes(fullest.avail_bytes)
        );
    }
}

/// Requests per web log, by status class.
fn human_web(o: &mut String, d: &Digest, p: &Paint) {
    if !d.http.is_empty() {
        let _ = writeln!(o, "\n{}", p.head("Web"));
        for h in &d.http {
            let st: Vec<String> = h.statuses.iter().map(|(c, n)| format!("{c} {n}")).collect();
            let _ = writeln!(
                o,
                "  {}: {} requests ({})",
                h.log,
                h.requests,
                st.join(", ")
            );
        }
    }
}

/// Lines no detection knew, per program, with a sample.
fn human_unrecognised(o: &mut String, d: &Digest, p: &Paint) {
    if d.unrecognised.total > 0 {
        let _ = writeln!(
            o,
            "\n{}",
            p.head(&format!(
                "Unrecognised: {} lines from {} programs",
                d.unrecognised.total,
                d.unrecognised.programs.len()
            ))
        );
        for u in d.unrecognised.programs.iter().take(ROWS) {
            let sample: String = u
                .samples
                .first()
                .map(|s| s.chars().take(70).collect())
                .unwrap_or_default();
            let _ = writeln!(o, "  {:>5}  {}: {}", u.count, u.program, p.dim(&sample));
        }
        o.push_str(&line(more(d.unrecognised.programs.len())));
    }
}

fn line(text: String) -> String {
    if text.is_empty() {
        text
    } else {
        format!("{text}\n")
    }
}

/// Escapes text for a Markdown table cell or list item.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The digest as Markdown: a title, the attention list, then a table per section.
pub fn markdown(d: &Digest, tz: &TimeZone) -> String {
    let mut o = String::new();
    markdown_title(&mut o, d, tz);
    markdown_attention(&mut o, d);
    markdown_logins(&mut o, d, tz);
    markdown_failures(&mut o, d);
    markdown_privileges(&mut o, d);
    markdown_listening(&mut o, d, tz);
    markdown_kernel(&mut o, d, tz);
    markdown_packages(&mut o, d);
    markdown_disk(&mut o, d);
    markdown_unrecognised(&mut o, d);
    markdown_inputs(&mut o, d);
    o
}

/// The title: the hosts and the window.
fn markdown_title(o: &mut String, d: &Digest, tz: &TimeZone) {
    let hosts = if d.hosts.is_empty() {
        String::new()
    } else {
        format!(" — {}", md(&d.hosts.join(", ")))
    };
    let _ = writeln!(o, "# Log digest{hosts}\n\n{}\n", md(&window(d, tz)));
}

/// What needs a person, first; or that nothing does.
fn markdown_attention(o: &mut String, d: &Digest) {
    if d.attention.is_empty() {
        let _ = writeln!(o, "**Nothing needs attention.**\n");
    } else {
        let _ = writeln!(o, "## Needs attention\n");
        for a in &d.attention {
            let _ = writeln!(o, "- {}", md(&a.message));
        }
        o.push('\n');
    }
}

/// Successful logins, as a table.
fn markdown_logins(o: &mut String, d: &Digest, tz: &TimeZone) {
    if !d.logins.is_empty() {
        let _ = writeln!(
            o,
            "## Logins\n\n| user | method | from | count | when |\n|---|---|---|---:|---|"
        );
        for l in &d.logins {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                md(&l.user),
                l.method.as_str(),
                md(&l.source),
                l.count,
                md(&span(l.first, l.last, tz))
            );
        }
        o.push('\n');
    }
}

/// Failed logins per source, as a table.
fn markdown_failures(o: &mut String, d: &Digest) {
    if d.failures.total > 0 {
        let _ = writeln!(
            o,
            "## Failures\n\n{} failures from {} sources.\n\n| source | failures | detections | users | would be banned by |\n|---|---:|---|---|---|",
            d.failures.total,
            d.failures.sources.len() as u64 + d.failures.sources_dropped
        );
        for s in d.failures.sources.iter().take(50) {
            let jails: Vec<&str> = s.jails.keys().map(String::as_str).collect();
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                md(&s.source),
                s.failures,
                md(&jails.join(", ")),
                md(&s.users.join(", ")),
                md(&s.banned_by.join(", "))
            );
        }
        o.push('\n');
    }
}

/// sudo commands and su sessions.
fn markdown_privileges(o: &mut String, d: &Digest) {
    if !d.sudo.is_empty() || !d.su.is_empty() {
        let _ = writeln!(
            o,
            "## sudo and su\n\n| user | as | command | count |\n|---|---|---|---:|"
        );
        for s in &d.sudo {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                md(&s.user),
                md(&s.runas),
                md(&s.command),
                s.count
            );
        }
        for s in &d.su {
            let _ = writeln!(
                o,
                "| {} | {} | (su session) | {} |",
                md(&s.by),
                md(&s.user),
                s.count
            );
        }
        o.push('\n');
    }
}

/// Services that started listening.
fn markdown_listening(o: &mut String, d: &Digest, tz: &TimeZone) {
    if !d.listening.is_empty() {
        let _ = writeln!(o, "## Listening\n");
        for l in &d.listening {
            let _ = writeln!(
                o,
                "- {}: {} ({})",
                md(&l.program),
                md(&l.what),
                md(&when(l.first, tz))
            );
        }
        o.push('\n');
    }
}

/// OOM kills, crashes and boots.
fn markdown_kernel(o: &mut String, d: &Digest, tz: &TimeZone) {
    if !d.oom_kills.is_empty() || !d.segfaults.is_empty() || d.boots > 0 {
        let _ = writeln!(o, "## Kernel\n\nBoots: {}\n", d.boots);
        for e in &d.oom_kills {
            let _ = writeln!(
                o,
                "- OOM kill: {} ×{} (last {})",
                md(&e.process),
                e.count,
                md(&when(e.last, tz))
            );
        }
        for e in &d.segfaults {
            let _ = writeln!(
                o,
                "- crash: {} ×{} (last {})",
                md(&e.process),
                e.count,
                md(&when(e.last, tz))
            );
        }
        o.push('\n');
    }
}

/// Package changes.
fn markdown_packages(o: &mut String, d: &Digest) {
    if !d.packages.counts.is_empty() {
        let _ = writeln!(
            o,
            "## Packages\n\n| action | package | from | to |\n|---|---|---|---|"
        );
        for c in &d.packages.changes {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                c.action,
                md(&c.package),
                md(c.from.as_deref().unwrap_or("")),
                md(c.to.as_deref().unwrap_or(""))
            );
        }
        o.push('\n');
    }
}

/// Filesystems and full-disk errors in logs.
fn markdown_disk(o: &mut String, d: &Digest) {
    let fs: Vec<_> = d.disk.filesystems.iter().flatten().collect();
    if !fs.is_empty() || !d.disk.log_errors.is_empty() {
        let _ = writeln!(o, "## Disk\n");
        for f in fs {
            let _ = writeln!(
                o,
                "- {}{}: {:.0}% used, {} free{}",
                if f.low { "**LOW** " } else { "" },
                md(&f.mount),
                f.used_percent,
                bytes(f.avail_bytes),
                f.inodes_used_percent
                    .map(|p| format!(", inodes {p:.0}%"))
                    .unwrap_or_default()
            );
        }
        for e in &d.disk.log_errors {
            let _ = writeln!(
                o,
                "- {} ×{}: `{}`",
                md(&e.process),
                e.count,
                e.sample.replace('`', "'")
            );
        }
        o.push('\n');
    }
}

/// Lines no detection knew, per program, with samples.
fn markdown_unrecognised(o: &mut String, d: &Digest) {
    if d.unrecognised.total > 0 {
        let _ = writeln!(
            o,
            "## Unrecognised lines\n\n{} lines from {} programs.\n",
            d.unrecognised.total,
            d.unrecognised.programs.len()
        );
        for u in d.unrecognised.programs.iter().take(20) {
            let _ = writeln!(o, "- {} ×{}", md(&u.program), u.count);
            for s in &u.samples {
                let _ = writeln!(o, "  - `{}`", s.replace('`', "'"));
            }
        }
        o.push('\n');
    }
}

/// The footer: what was read.
fn markdown_inputs(o: &mut String, d: &Digest) {
    let _ = writeln!(
        o,
        "---\n{} inputs: {}",
        d.inputs.len(),
        md(&d
            .inputs
            .iter()
            .map(|i| format!("{} ({} lines)", i.name, i.in_window))
            .collect::<Vec<_>>()
            .join(", "))
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{Attention, AttentionKind};

    fn digest() -> Digest {
        let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let d = crate::Digester::new(crate::DigestOptions {
            since: now - jiff::SignedDuration::from_hours(48),
            now,
            tz: TimeZone::UTC,
            jails: Vec::new(),
        })
        .unwrap();
        let mut d = d.finish();
        d.attention.push(Attention {
            kind: AttentionKind::NewService,
            message: "started listening: evil | [link](x) on *".into(),
        });
        d
    }

    #[test]
    fn colour_only_when_asked() {
        let d = digest();
        assert!(human(&d, &TimeZone::UTC, true).contains("\u{1b}["));
        let plain = human(&d, &TimeZone::UTC, false);
        assert!(!plain.contains('\u{1b}'));
        assert!(
            plain.starts_with("allclear digest 2026-11-21 12:00 → 2026-11-23 12:00 UTC (2d)\n"),
            "{plain}"
        );
        assert!(plain.contains("  ! started listening"));
    }

    #[test]
    fn markdown_escapes_log_text() {
        let md = markdown(&digest(), &TimeZone::UTC);
        assert!(
            md.contains(r"- started listening: evil \| \[link\](x) on \*"),
            "{md}"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }
}
