//! What the baseline's checks read, parsed once per run: sshd's effective configuration,
//! sysctl settings, the dpkg database, enabled systemd units, mounts, accounts.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};

use crate::system::{AccessError, CommandOutput, Kind, System};

/// Include files followed while reading sshd_config (sshd's own limit is 16 levels).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Facts about one system, each read on first use.
pub struct Facts<'a> {
    pub system: &'a System,
    sshd: OnceCell<Result<Option<Sshd>, String>>,
    packages: OnceCell<Result<Option<BTreeSet<String>>, String>>,
    units: OnceCell<Result<BTreeSet<String>, String>>,
    sysctl: OnceCell<Result<Sysctl, String>>,
}

/// sshd's effective settings: lower-case keyword → first value (sshd uses the first).
#[derive(Debug, Clone, Default)]
pub struct Sshd {
    pub settings: BTreeMap<String, (String, String)>,
    /// Where the settings came from: `sshd -T`, or the files read.
    pub source: String,
}

impl Sshd {
    /// The value of `keyword` (lower case) and where it was set, or `None` when the
    /// default applies.
    pub fn get(&self, keyword: &str) -> Option<(&str, &str)> {
        self.settings
            .get(keyword)
            .map(|(value, from)| (value.as_str(), from.as_str()))
    }
}

/// sysctl values: configured ones (files) or live ones (/proc/sys).
#[derive(Debug, Clone, Default)]
pub struct Sysctl {
    pub values: BTreeMap<String, (String, String)>,
    pub live: bool,
}

impl<'a> Facts<'a> {
    pub fn new(system: &'a System) -> Facts<'a> {
        Facts {
            system,
            sshd: OnceCell::new(),
            packages: OnceCell::new(),
            units: OnceCell::new(),
            sysctl: OnceCell::new(),
        }
    }

    pub fn sshd(&self) -> Result<Option<&Sshd>, String> {
        self.sshd
            .get_or_init(|| read_sshd(self.system))
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }

    /// Installed package names (dpkg status `install ok installed`); `None` when the
    /// system has no dpkg database.
    pub fn packages(&self) -> Result<Option<&BTreeSet<String>>, String> {
        self.packages
            .get_or_init(|| read_packages(self.system).map_err(|e| e.to_string()))
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }

    /// systemd units enabled in /etc/systemd/system/*.wants (names such as `ssh.service`).
    pub fn enabled_units(&self) -> Result<&BTreeSet<String>, String> {
        self.units
            .get_or_init(|| read_units(self.system).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn sysctl(&self) -> Result<&Sysctl, String> {
        self.sysctl
            .get_or_init(|| read_sysctl(self.system).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn read(&self, path: &str) -> Result<Option<String>, String> {
        self.system.read(path).map_err(|e| error_text(&e))
    }

    /// Files under `dir` whose names end with `suffix` (`""` for all), not recursive.
    pub fn files_in(&self, dir: &str, suffix: &str) -> Result<Vec<String>, String> {
        Ok(self
            .system
            .list(dir)
            .map_err(|e| error_text(&e))?
            .unwrap_or_default()
            .into_iter()
            .filter(|name| name.ends_with(suffix) && !name.starts_with('.'))
            .map(|name| format!("{}/{name}", dir.trim_end_matches('/')))
            .collect())
    }
}

pub fn error_text(err: &AccessError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn read_sshd(system: &System) -> Result<Option<Sshd>, String> {
    if system.root().is_none() && system.commands_allowed() {
        let argv = ["sshd".to_owned(), "-T".to_owned()];
        if let Ok(CommandOutput::Text(text)) = system.run(&argv)
            && text.contains("permitrootlogin")
        {
            let mut sshd = Sshd {
                source: "sshd -T".to_owned(),
                ..Sshd::default()
            };
            for line in text.lines() {
                if let Some((key, value)) = line.split_once(' ') {
                    sshd.settings
                        .entry(key.to_ascii_lowercase())
                        .or_insert_with(|| (value.trim().to_owned(), "sshd -T".to_owned()));
                }
            }
            return Ok(Some(sshd));
        }
        // Without host keys or privileges `sshd -T` fails: the files say the same thing,
        // Match blocks aside.
    }
    let main = "/etc/ssh/sshd_config";
    if system.kind(main).map_err(|e| error_text(&e))? != Kind::File {
        return Ok(None);
    }
    let mut sshd = Sshd {
        source: main.to_owned(),
        ..Sshd::default()
    };
    read_sshd_file(system, main, 0, &mut sshd)?;
    Ok(Some(sshd))
}

/// Reads one sshd_config file: the first value of each keyword wins; settings inside
/// `Match` blocks apply to some connections only, so they are not the global setting.
fn read_sshd_file(
    system: &System,
    path: &str,
    depth: usize,
    sshd: &mut Sshd,
) -> Result<(), String> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(format!(
            "{path}: Include nested more than {MAX_INCLUDE_DEPTH} levels"
        ));
    }
    let Some(text) = system.read(path).map_err(|e| error_text(&e))? else {
        return Ok(());
    };
    let mut in_match = false;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keyword, value) = split_keyword(line);
        let keyword = keyword.to_ascii_lowercase();
        if keyword == "match" {
            in_match = !value.trim().eq_ignore_ascii_case("all");
            continue;
        }
        if in_match {
            continue;
        }
        if keyword == "include" {
            for pattern in value.split_whitespace() {
                let pattern = if pattern.starts_with('/') {
                    pattern.to_owned()
                } else {
                    format!("/etc/ssh/{pattern}")
                };
                for file in expand_glob(system, &pattern)? {
                    read_sshd_file(system, &file, depth + 1, sshd)?;
                }
            }
            continue;
        }
        sshd.settings
            .entry(keyword)
            .or_insert_with(|| (value.trim().to_owned(), format!("{path}:{}", index + 1)));
    }
    Ok(())
}

fn split_keyword(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    (keyword, rest.trim())
}

/// Files matching a glob whose wildcards are in the last component, sorted (as sshd does).
fn expand_glob(system: &System, pattern: &str) -> Result<Vec<String>, String> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if !name.contains(['*', '?', '[']) {
        return Ok(vec![pattern.to_owned()]);
    }
    let matcher = globset::Glob::new(name)
        .map_err(|e| format!("Include {pattern}: {e}"))?
        .compile_matcher();
    let dir = if dir.is_empty() { "/" } else { dir };
    let names = system
        .list(dir)
        .map_err(|e| error_text(&e))?
        .unwrap_or_default();
    Ok(names
        .into_iter()
        .filter(|n| matcher.is_match(n))
        .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
        .collect())
}

fn read_packages(system: &System) -> Result<Option<BTreeSet<String>>, AccessError> {
    let Some(text) = system.read("/var/lib/dpkg/status")? else {
        return Ok(None);
    };
    let mut installed = BTreeSet::new();
    for stanza in text.split("\n\n") {
        let mut name = None;
        let mut ok = false;
        for line in stanza.lines() {
            if let Some(value) = line.strip_prefix("Package: ") {
                name = Some(value.trim());
            } else if let Some(value) = line.strip_prefix("Status: ") {
                ok = value.trim().ends_with(" installed") && value.starts_with("install ");
            }
        }
        if let (Some(name), true) = (name, ok) {
            installed.insert(name.to_owned());
        }
    }
    Ok(Some(installed))
}

fn read_units(system: &System) -> Result<BTreeSet<String>, AccessError> {
    let mut units = BTreeSet::new();
    for base in [
        "/etc/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ] {
        let Some(names) = system.list(base)? else {
            continue;
        };
        for dir in names.iter().filter(|n| n.ends_with(".wants")) {
            // A vendor directory's `.wants` are static dependencies, always on. A link
            // counts only when its unit file exists (in the tree under --root): a masked
            // unit points at /dev/null, a removed package leaves a dangling link.
            let wants = format!("{base}/{dir}");
            for entry in system.list(&wants)?.unwrap_or_default() {
                if system.kind(&format!("{wants}/{entry}"))? == Kind::File {
                    units.insert(entry);
                }
            }
        }
    }
    Ok(units)
}

/// Kernel defaults for the settings the baseline checks, used when nothing sets them.
pub const SYSCTL_DEFAULTS: &[(&str, &str)] = &[
    ("kernel.randomize_va_space", "2"),
    ("net.ipv4.ip_forward", "0"),
    ("net.ipv4.conf.all.accept_redirects", "1"),
    ("net.ipv4.conf.all.send_redirects", "1"),
    ("net.ipv4.conf.all.accept_source_route", "0"),
    ("net.ipv4.tcp_syncookies", "1"),
    ("net.ipv4.conf.all.log_martians", "0"),
    ("fs.suid_dumpable", "0"),
];

fn read_sysctl(system: &System) -> Result<Sysctl, AccessError> {
    let mut sysctl = Sysctl::default();
    if system.root().is_none() {
        sysctl.live = true;
        for (key, _) in SYSCTL_DEFAULTS {
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            if let Some(value) = system.read(&path)? {
                sysctl
                    .values
                    .insert((*key).to_owned(), (value.trim().to_owned(), path));
            }
        }
        return Ok(sysctl);
    }
    // systemd-sysctl's order: every *.conf of these directories sorted by file name, a name
    // in an earlier directory hiding the same name in a later one; /etc/sysctl.conf last.
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for dir in ["/usr/lib/sysctl.d", "/lib/sysctl.d", "/etc/sysctl.d"] {
        for name in system.list(dir)?.unwrap_or_default() {
            if name.ends_with(".conf") {
                by_name.insert(name.clone(), format!("{dir}/{name}"));
            }
        }
    }
    let mut files: Vec<String> = by_name.into_values().collect();
    files.push("/etc/sysctl.conf".to_owned());
    for file in files {
        let Some(text) = system.read(&file)? else {
            continue;
        };
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some((key, value)) = line.split_once('=') {
                let key = key.trim().trim_start_matches('-').replace('/', ".");
                sysctl.values.insert(
                    key,
                    (value.trim().to_owned(), format!("{file}:{}", index + 1)),
                );
            }
        }
    }
    Ok(sysctl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshd_first_value_wins_includes_and_match_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs_err::create_dir_all(root.join("etc/ssh/sshd_config.d")).unwrap();
        fs_err::write(
            root.join("etc/ssh/sshd_config"),
            "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nPasswordAuthentication yes\nMatch User backup\n  PermitRootLogin yes\n  X11Forwarding yes\n",
        )
        .unwrap();
        fs_err::write(
            root.join("etc/ssh/sshd_config.d/10-hardening.conf"),
            "PermitRootLogin no\nMatch Address 10.0.0.0/8\n  PasswordAuthentication yes\n",
        )
        .unwrap();
        fs_err::write(
            root.join("etc/ssh/sshd_config.d/20-x.conf"),
            "passwordauthentication=no\n",
        )
        .unwrap();
        let system = System::rooted(root);
        let facts = Facts::new(&system);
        let sshd = facts.sshd().unwrap().unwrap();
        assert_eq!(sshd.get("permitrootlogin").unwrap().0, "no");
        assert!(
            sshd.get("permitrootlogin")
                .unwrap()
                .1
                .ends_with("10-hardening.conf:1")
        );
        // The Match block in the first include ends with that file.
        assert_eq!(sshd.get("passwordauthentication").unwrap().0, "no");
        assert_eq!(sshd.get("x11forwarding"), None);
    }

    #[test]
    fn sysctl_files_in_systemd_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs_err::create_dir_all(root.join("etc/sysctl.d")).unwrap();
        fs_err::create_dir_all(root.join("usr/lib/sysctl.d")).unwrap();
        fs_err::write(
            root.join("usr/lib/sysctl.d/50-default.conf"),
            "net.ipv4.ip_forward = 1\n",
        )
        .unwrap();
        fs_err::write(
            root.join("etc/sysctl.d/50-default.conf"),
            "net.ipv4.tcp_syncookies=1\n",
        )
        .unwrap();
        fs_err::write(
            root.join("etc/sysctl.d/99-x.conf"),
            "net/ipv4/ip_forward = 1\n",
        )
        .unwrap();
        fs_err::write(root.join("etc/sysctl.conf"), "# net.ipv4.ip_forward=1\n").unwrap();
        let system = System::rooted(root);
        let facts = Facts::new(&system);
        let sysctl = facts.sysctl().unwrap();
        assert_eq!(sysctl.values["net.ipv4.ip_forward"].0, "1");
        assert!(sysctl.values["net.ipv4.ip_forward"].1.contains("99-x.conf"));
        assert_eq!(sysctl.values["net.ipv4.tcp_syncookies"].0, "1");
    }
}
