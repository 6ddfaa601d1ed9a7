//! `attention`: what in a digest needs a person, in words, most urgent first.

use std::collections::BTreeMap;

use allclear_logs::builtin::Target;

use crate::digest::{Attention, AttentionKind, Digest};

/// At most this many names in one attention line.
const NAMES: usize = 4;

fn list(items: &[String], total: usize) -> String {
    let mut text = items
        .iter()
        .take(NAMES)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if total > NAMES {
        text.push_str(&format!(" (+{} more)", total - NAMES));
    }
    text
}

fn times(n: u64) -> String {
    if n == 1 {
        String::new()
    } else {
        format!(" ×{n}")
    }
}

/// The attention list of `d` (everything but `d.attention` must be filled in).
pub fn attention(d: &Digest) -> Vec<Attention> {
    let mut out = Vec::new();
    let mut push = |kind, message: String| out.push(Attention { kind, message });

    let root: Vec<String> = d
        .logins
        .iter()
        .filter(|l| l.user == "root")
        .map(|l| {
            format!(
                "from {} ({}){}",
                l.source,
                l.method.as_str(),
                times(l.count)
            )
        })
        .collect();
    if !root.is_empty() {
        push(
            AttentionKind::RootLogin,
            format!("root logged in {}", list(&root, root.len())),
        );
    }
    let password: Vec<String> = d
        .logins
        .iter()
        .filter(|l| l.method.is_password())
        .map(|l| format!("{} from {}{}", l.user, l.source, times(l.count)))
        .collect();
    if !password.is_empty() {
        push(
            AttentionKind::PasswordLogin,
            format!("password logins: {}", list(&password, password.len())),
        );
    }
    let mut banned: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for b in d.bans.iter().filter(|b| b.target == Target::Address) {
        let jails = banned.entry(&b.host).or_default();
        if !jails.contains(&b.jail.as_str()) {
            jails.push(&b.jail);
        }
    }
    if !banned.is_empty() {
        // Most failures first: the sources table is sorted that way.
        let mut hosts: Vec<(&str, &Vec<&str>)> = banned.iter().map(|(h, j)| (*h, j)).collect();
        let rank = |h: &str| d.failures.sources.iter().position(|s| s.source == h);
        hosts.sort_by_key(|(h, _)| rank(h));
        let names: Vec<String> = hosts
            .iter()
            .map(|(h, j)| format!("{h} ({})", j.join(", ")))
            .collect();
        push(
            AttentionKind::Ban,
            format!(
                "{} address(es) would be banned: {}",
                banned.len(),
                list(&names, names.len())
            ),
        );
    }
    let local: Vec<String> = d
        .failures
        .sources
        .iter()
        .filter(|s| s.target == Target::LocalUser)
        .map(|s| {
            let jails: Vec<&str> = s.jails.keys().map(String::as_str).collect();
            format!("{} ×{} ({})", s.source, s.failures, jails.join(", "))
        })
        .collect();
    if !local.is_empty() {
        push(
            AttentionKind::LocalAuthFailure,
            format!("failed sudo/su: {}", list(&local, local.len())),
        );
    }
    // systemd opens its sockets at every boot: only daemons that say where they listen count.
    let services: Vec<String> = d
        .listening
        .iter()
        .filter(|l| l.program != "systemd")
        .map(|l| format!("{} on {}", l.program, l.what))
        .collect();
    if !services.is_empty() {
        push(
            AttentionKind::NewService,
            format!("started listening: {}", list(&services, services.len())),
        );
    }
    if !d.oom_kills.is_empty() {
        let names: Vec<String> = d
            .oom_kills
            .iter()
            .map(|e| format!("{}{}", e.process, times(e.count)))
            .collect();
        push(
            AttentionKind::OomKill,
            format!("out of memory, killed: {}", list(&names, names.len())),
        );
    }
    if !d.segfaults.is_empty() {
        let names: Vec<String> = d
            .segfaults
            .iter()
            .map(|e| format!("{}{}", e.process, times(e.count)))
            .collect();
        push(
            AttentionKind::Segfault,
            format!("crashed: {}", list(&names, names.len())),
        );
    }
    if !d.disk.log_errors.is_empty() {
        let names: Vec<String> = d
            .disk
            .log_errors
            .iter()
            .map(|e| format!("{}{}", e.process, times(e.count)))
            .collect();
        push(
            AttentionKind::LowDisk,
            format!(
                "\"No space left on device\" from {}",
                list(&names, names.len())
            ),
        );
    }
    for fs in d.disk.filesystems.iter().flatten().filter(|f| f.low) {
        let inodes = fs
            .inodes_used_percent
            .filter(|p| *p > fs.used_percent)
            .map(|p| format!(", inodes {p:.0}%"))
            .unwrap_or_default();
        push(
            AttentionKind::LowDisk,
            format!(
                "{} is {:.0}% full ({} free{inodes})",
                fs.mount,
                fs.used_percent,
                crate::render::bytes(fs.avail_bytes)
            ),
        );
    }
    if d.future_lines.count > 0 {
        push(
            AttentionKind::FutureLines,
            format!(
                "{} line(s) dated in the future, not trusted (clock change or forged logs?)",
                d.future_lines.count
            ),
        );
    }
    for input in &d.inputs {
        if let Some(e) = &input.error {
            push(
                AttentionKind::UnreadableInput,
                format!("could not read {}: {e}", input.name),
            );
        } else if input.invalid_json > 0 {
            push(
                AttentionKind::UnreadableInput,
                format!(
                    "{}: {} entries were not valid JSON",
                    input.name, input.invalid_json
                ),
            );
        }
    }
    out
}
