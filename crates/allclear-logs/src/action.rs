//! Ban actions: nftables, iptables with ipset, or log only.
//!
//! nftables: one table `inet allclear` with a set per jail and family (`flags timeout`) and an
//! input chain that drops sources in those sets. A ban adds an element with a timeout, an unban
//! deletes it; every change is one `nft -f -` transaction fed on standard input, so it applies
//! completely or not at all. Commands are run with arguments, never through a shell, and every
//! address is an [`IpAddr`] (parsed, so nothing else can reach the ruleset).
//!
//! As in fail2ban, a banned address is dropped on the jail's ports only (the action's `port`
//! and `protocol` arguments, from the jail's `port =` and `protocol =`: `ssh`, `http,https`,
//! `1000:2000`), or on every port for an all-ports action (`*-allports`, `type=allports`,
//! `banaction_allports`) or `port = 0:65535` ([`Ports`]).
//!
//! iptables: an ipset per jail and family (`hash:ip timeout 0`), changed with `ipset restore`
//! (one batch on standard input), and `-m set --match-set … src -j DROP` rules per set in
//! `INPUT` (with `-p PROTO -m multiport --dports …` for a port list), inserted when missing;
//! rules of our sets that are no longer wanted (the ports changed) are deleted.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use crate::config::extract_options;
use crate::state::BanRecord;

/// The nftables table (family `inet`) that holds our sets and chain.
pub const NFT_TABLE: &str = "allclear";
/// The longest timeout given to the firewall (ipset's maximum, about 24 days). Longer bans
/// are added without a timeout and removed by the service when they end.
pub const MAX_TIMEOUT: u64 = 2_147_483;

/// A firewall change failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The command could not be started (not installed?).
    #[error("cannot run `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The command ran and failed.
    #[error("`{program} {args}` failed ({status}): {stderr}")]
    Failed {
        program: String,
        args: String,
        status: String,
        stderr: String,
    },
}

/// Which firewall does the banning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Nftables,
    Iptables,
    /// Bans are recorded and reported, the firewall is not touched.
    Log,
}

impl ActionKind {
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Nftables => "nftables",
            ActionKind::Iptables => "iptables",
            ActionKind::Log => "log",
        }
    }
}

/// Maps a jail's resolved `action` (one action a line, `name[arg=…]`) to ours. Actions that
/// only notify (mail, whois) are skipped; an action we do not know makes the jail log-only,
/// with a warning.
pub fn map_action(jail: &str, action: &str) -> (ActionKind, Vec<String>) {
    let mut kind = None;
    let mut warnings = Vec::new();
    for line in action.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let name = extract_options(line)
            .map(|(n, _)| n.trim().to_owned())
            .unwrap_or_else(|| line.to_owned());
        let found = if name.starts_with("nftables") {
            Some(ActionKind::Nftables)
        } else if name.starts_with("iptables") {
            Some(ActionKind::Iptables)
        } else if name.starts_with("sendmail")
            || name.starts_with("mail")
            || name.contains("whois")
            || name == "dummy"
        {
            warnings.push(format!(
                "jail `{jail}`: action `{name}` (notification) is not run"
            ));
            None
        } else {
            warnings.push(format!(
                "jail `{jail}`: action `{name}` is not supported; this jail only logs its bans"
            ));
            Some(ActionKind::Log)
        };
        if let Some(k) = found {
            if kind.is_some_and(|old| old != k) {
                warnings.push(format!(
                    "jail `{jail}`: several firewall actions; using {}",
                    kind.map_or("", |k: ActionKind| k.name())
                ));
            } else {
                kind = Some(k);
            }
        }
    }
    if kind.is_none() && action.trim().is_empty() {
        warnings.push(format!(
            "jail `{jail}`: no action; this jail only logs its bans"
        ));
    }
    (kind.unwrap_or(ActionKind::Log), warnings)
}

/// Which traffic of a banned address a jail drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    /// Port ranges (inclusive); `None`: every port (and every protocol).
    pub ranges: Option<Vec<(u16, u16)>>,
    /// `tcp`, `udp`, `sctp` or `udplite` (fail2ban's `protocol`, default `tcp`).
    pub protocol: String,
}

impl Default for Ports {
    /// Every port.
    fn default() -> Self {
        Ports {
            ranges: None,
            protocol: "tcp".to_owned(),
        }
    }
}

/// Well-known service names, for hosts without `/etc/services` (containers) and so that the
/// common jails never depend on it.
const SERVICES: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("http", 80),
    ("www", 80),
    ("pop3", 110),
    ("sunrpc", 111),
    ("imap", 143),
    ("imap2", 143),
    ("ldap", 389),
    ("https", 443),
    ("smtps", 465),
    ("submissions", 465),
    ("submission", 587),
    ("ldaps", 636),
    ("imaps", 993),
    ("pop3s", 995),
    ("openvpn", 1194),
    ("mysql", 3306),
    ("asterisk", 5038),
    ("sip", 5060),
    ("sip-tls", 5061),
    ("postgresql", 5432),
    ("http-alt", 8080),
];

/// The port of a service name: the built-in table, then `services` (the text of
/// `/etc/services`, when the caller has it).
fn service_port(name: &str, protocol: &str, services: Option<&str>) -> Option<u16> {
    if let Some((_, port)) = SERVICES.iter().find(|(n, _)| *n == name) {
        return Some(*port);
    }
    services?.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let service = words.next()?;
        let (port, proto) = words.next()?.split_once('/')?;
        let named = service == name || words.any(|alias| alias == name);
        (named && proto == protocol).then(|| port.parse().ok())?
    })
}

impl Ports {
    /// The ports of a jail's resolved `action` (its first firewall action's `port` and
    /// `protocol` arguments; all ports for an all-ports action or when it names none).
    /// `services` is the text of `/etc/services` for names not in the built-in table.
    /// Returns warnings for what cannot be read (then every port is dropped: a ban that
    /// blocks too much is safer than one that blocks nothing).
    pub fn of_action(action: &str, services: Option<&str>) -> (Ports, Vec<String>) {
        let mut warnings = Vec::new();
        let firewall = action.lines().map(str::trim).find_map(|line| {
            let (name, args) = extract_options(line)?;
            let name = name.trim().to_owned();
            (name.starts_with("nftables") || name.starts_with("iptables")).then_some((name, args))
        });
        let Some((name, args)) = firewall else {
            return (Ports::default(), warnings);
        };
        let protocol = args
            .get("protocol")
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "tcp".to_owned());
        let allports = name.contains("allports")
            || args.get("type").is_some_and(|t| t.trim() == "allports")
            || protocol == "all";
        let Some(spec) = args.get("port").filter(|_| !allports) else {
            return (Ports::default(), warnings);
        };
        if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp" | "udplite") {
            warnings.push(format!(
                "protocol {protocol:?} is not tcp, udp, sctp or udplite: banning every port"
            ));
            return (Ports::default(), warnings);
        }
        match parse_ports(spec, &protocol, services) {
            Ok(ranges) => {
                let every = ranges.iter().any(|&(lo, hi)| lo <= 1 && hi == u16::MAX);
                let ranges = (!every && !ranges.is_empty()).then_some(ranges);
                (Ports { ranges, protocol }, warnings)
            }
            Err(bad) => {
                warnings.push(format!(
                    "port {bad:?} is not a port number, range or known service name: banning every port"
                ));
                (Ports::default(), warnings)
            }
        }
    }
}

/// `ssh`, `http,https`, `1000:2000`, `0:65535` → port ranges; `Err` names the bad entry.
pub fn parse_ports(
    spec: &str,
    protocol: &str,
    services: Option<&str>,
) -> Result<Vec<(u16, u16)>, String> {
    let port = |p: &str| -> Result<u16, String> {
        let p = p.trim();
        p.parse::<u16>()
            .ok()
            .or_else(|| service_port(p, protocol, services))
            .ok_or_else(|| p.to_owned())
    };
    let mut ranges = Vec::new();
    for entry in spec
        .split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let range = match entry.split_once(':') {
            Some((lo, hi)) => (port(lo)?, port(hi)?),
            None => {
                let p = port(entry)?;
                (p, p)
            }
        };
        if range.0 > range.1 {
            return Err(entry.to_owned());
        }
        ranges.push(range);
    }
    ranges.sort_unstable();
    ranges.dedup();
    Ok(ranges)
}

/// One jail as the firewall sees it: its name and the traffic its bans drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub jail: String,
    pub ports: Ports,
}

/// A name usable as an nftables identifier or ipset name: letters, digits and `_` only.
fn ident(jail: &str) -> String {
    let mut s: String = jail
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    s.truncate(20);
    s
}

/// The nftables set for `jail` and the family of `ip`.
pub fn nft_set(jail: &str, v6: bool) -> String {
    format!("{}_v{}", ident(jail), if v6 { 6 } else { 4 })
}

/// The firewall timeout of a ban in seconds; `None`: no timeout (forever, or longer than
/// [`MAX_TIMEOUT`]).
fn timeout_of(ban: &BanRecord, now: f64) -> Option<u64> {
    ban.remaining(now)
        .map(|r| (r.ceil() as u64).max(1))
        .filter(|&t| t <= MAX_TIMEOUT)
}

/// The nftables transaction that (re)creates our table with every jail's sets and the live
/// `bans`: delete-and-recreate in one transaction, so the ruleset is never half there.
pub fn nft_sync_script(targets: &[Target], bans: &[&BanRecord], now: f64) -> String {
    let mut s = format!("table inet {NFT_TABLE} {{}}\ndelete table inet {NFT_TABLE}\n");
    s.push_str(&format!("table inet {NFT_TABLE} {{\n"));
    for jail in targets.iter().map(|t| &t.jail) {
        for v6 in [false, true] {
            s.push_str(&format!(
                "  set {} {{ type {}; flags timeout; }}\n",
                nft_set(jail, v6),
                if v6 { "ipv6_addr" } else { "ipv4_addr" }
            ));
        }
    }
    // Before the usual filter chains (priority 0), so our drop wins over their accepts.
    s.push_str("  chain input {\n    type filter hook input priority -10; policy accept;\n");
    for t in targets {
        let ports = match &t.ports.ranges {
            None => String::new(),
            Some(ranges) => {
                let list: Vec<String> = ranges
                    .iter()
                    .map(|&(lo, hi)| {
                        if lo == hi {
                            lo.to_string()
                        } else {
                            format!("{lo}-{hi}")
                        }
                    })
                    .collect();
                format!("{} dport {{ {} }} ", t.ports.protocol, list.join(", "))
            }
        };
        for (family, v6) in [("ip", false), ("ip6", true)] {
            s.push_str(&format!(
                "    {family} saddr @{} {ports}drop\n",
                nft_set(&t.jail, v6)
            ));
        }
    }
    s.push_str("  }\n}\n");
    for ban in bans {
        if targets.iter().any(|t| t.jail == ban.jail) && ban.live_at(now) {
            s.push_str(&nft_add_line(ban, now));
        }
    }
    s
}

fn nft_add_line(ban: &BanRecord, now: f64) -> String {
    let timeout = timeout_of(ban, now)
        .map(|t| format!(" timeout {t}s"))
        .unwrap_or_default();
    format!(
        "add element inet {NFT_TABLE} {} {{ {}{timeout} }}\n",
        nft_set(&ban.jail, ban.ip.is_ipv6()),
        ban.ip
    )
}

/// The transaction that adds one ban.
pub fn nft_ban_script(ban: &BanRecord, now: f64) -> String {
    nft_add_line(ban, now)
}

/// The transaction that removes `ip` from `jail`'s set. Adding it first (a no-op when
/// present) keeps the delete from failing when the set's own timeout already removed it.
pub fn nft_unban_script(jail: &str, ip: IpAddr) -> String {
    let set = nft_set(jail, ip.is_ipv6());
    format!(
        "add element inet {NFT_TABLE} {set} {{ {ip} timeout 1s }}\ndelete element inet {NFT_TABLE} {set} {{ {ip} }}\n"
    )
}

/// Runs `program args…` with `input` on standard input.
fn run(program: &str, args: &[&str], input: &str) -> Result<String, ActionError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ActionError::Spawn {
            program: program.to_owned(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A failed write shows up as the command's own error below.
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|source| ActionError::Spawn {
            program: program.to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(ActionError::Failed {
            program: program.to_owned(),
            args: args.join(" "),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The ipset for `jail` and a family (ipset names are at most 31 bytes).
pub fn ipset_name(jail: &str, v6: bool) -> String {
    format!("allclear-{}-{}", ident(jail), if v6 { 6 } else { 4 })
}

/// The `ipset restore` batch that creates the jails' sets and adds the live `bans`.
pub fn ipset_sync_script(targets: &[Target], bans: &[&BanRecord], now: f64) -> String {
    let mut s = String::new();
    for jail in targets.iter().map(|t| &t.jail) {
        for v6 in [false, true] {
            let set = ipset_name(jail, v6);
            s.push_str(&format!(
                "create {set} hash:ip family {} timeout 0 -exist\nflush {set}\n",
                if v6 { "inet6" } else { "inet" }
            ));
        }
    }
    for ban in bans {
        if targets.iter().any(|t| t.jail == ban.jail) && ban.live_at(now) {
            s.push_str(&ipset_add_line(ban, now));
        }
    }
    s
}

fn ipset_add_line(ban: &BanRecord, now: f64) -> String {
    // ipset: timeout 0 means permanent.
    format!(
        "add {} {} timeout {} -exist\n",
        ipset_name(&ban.jail, ban.ip.is_ipv6()),
        ban.ip,
        timeout_of(ban, now).unwrap_or(0)
    )
}

/// `iptables -multiport` takes at most 15 ports, a range counting as two.
const MULTIPORT_RANGES: usize = 7;

/// The `INPUT` rules (arguments after `-I INPUT`/`-D INPUT`) that drop `set`'s sources on the
/// jail's ports: one rule for every port, else one per 7 ranges.
pub fn iptables_rules(set: &str, ports: &Ports) -> Vec<Vec<String>> {
    let tail = ["-m", "set", "--match-set", set, "src", "-j", "DROP"].map(str::to_owned);
    match &ports.ranges {
        None => vec![tail.to_vec()],
        Some(ranges) => ranges
            .chunks(MULTIPORT_RANGES)
            .map(|chunk| {
                let list: Vec<String> = chunk
                    .iter()
                    .map(|&(lo, hi)| {
                        if lo == hi {
                            lo.to_string()
                        } else {
                            format!("{lo}:{hi}")
                        }
                    })
                    .collect();
                let mut rule: Vec<String> = [
                    "-p",
                    &ports.protocol,
                    "-m",
                    "multiport",
                    "--dports",
                    &list.join(","),
                ]
                .map(str::to_owned)
                .to_vec();
                rule.extend(tail.iter().cloned());
                rule
            })
            .collect(),
    }
}

/// Puts exactly `wanted` in `INPUT` for `set`: deletes our other rules for it (the jail's
/// ports changed, or an older allclear dropped every port), inserts the missing ones.
fn iptables_converge(program: &str, set: &str, wanted: &[Vec<String>]) -> Result<(), ActionError> {
    let listing = run(program, &["-w", "-S", "INPUT"], "")?;
    let needle = format!("--match-set {set} src");
    for line in listing.lines() {
        let Some(rest) = line.strip_prefix("-A INPUT ") else {
            continue;
        };
        if !rest.contains(&needle) {
            continue;
        }
        let Some(args) = shlex::split(rest) else {
            continue;
        };
        // iptables -S spells the rule as it was inserted, modules and all.
        if !wanted.contains(&args) {
            let mut delete = vec!["-w", "-D", "INPUT"];
            delete.extend(args.iter().map(String::as_str));
            run(program, &delete, "")?;
        }
    }
    for rule in wanted {
        let mut check = vec!["-w", "-C", "INPUT"];
        check.extend(rule.iter().map(String::as_str));
        if run(program, &check, "").is_err() {
            let mut insert = vec!["-w", "-I", "INPUT"];
            insert.extend(rule.iter().map(String::as_str));
            run(program, &insert, "")?;
        }
    }
    Ok(())
}

/// A firewall that bans and unbans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firewall {
    pub kind: ActionKind,
}

impl Firewall {
    pub fn new(kind: ActionKind) -> Firewall {
        Firewall { kind }
    }

    /// Creates our table/sets/rules for `jails` (replacing what was there) with the live
    /// `bans` in them. Run at start, so restored bans are in force again.
    pub fn sync(
        &self,
        targets: &[Target],
        bans: &[&BanRecord],
        now: f64,
    ) -> Result<(), ActionError> {
        match self.kind {
            ActionKind::Log => Ok(()),
            ActionKind::Nftables => {
                run("nft", &["-f", "-"], &nft_sync_script(targets, bans, now)).map(drop)
            }
            ActionKind::Iptables => {
                run(
                    "ipset",
                    &["restore"],
                    &ipset_sync_script(targets, bans, now),
                )?;
                for t in targets {
                    for v6 in [false, true] {
                        let program = if v6 { "ip6tables" } else { "iptables" };
                        let set = ipset_name(&t.jail, v6);
                        iptables_converge(program, &set, &iptables_rules(&set, &t.ports))?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Whether our table (nftables) or the jail's set (ipset) exists, so that a ban can be
    /// added without a full [`Firewall::sync`].
    pub fn ready(&self, jail: &str) -> bool {
        match self.kind {
            ActionKind::Log => true,
            ActionKind::Nftables => run(
                "nft",
                &["list", "set", "inet", NFT_TABLE, &nft_set(jail, false)],
                "",
            )
            .is_ok(),
            ActionKind::Iptables => {
                run("ipset", &["list", "-n", &ipset_name(jail, false)], "").is_ok()
            }
        }
    }

    /// Adds one ban.
    pub fn ban(&self, ban: &BanRecord, now: f64) -> Result<(), ActionError> {
        match self.kind {
            ActionKind::Log => Ok(()),
            ActionKind::Nftables => run("nft", &["-f", "-"], &nft_ban_script(ban, now)).map(drop),
            ActionKind::Iptables => run("ipset", &["restore"], &ipset_add_line(ban, now)).map(drop),
        }
    }

    /// Removes one ban.
    pub fn unban(&self, jail: &str, ip: IpAddr) -> Result<(), ActionError> {
        match self.kind {
            ActionKind::Log => Ok(()),
            ActionKind::Nftables => run("nft", &["-f", "-"], &nft_unban_script(jail, ip)).map(drop),
            ActionKind::Iptables => {
                let line = format!("del {} {ip} -exist\n", ipset_name(jail, ip.is_ipv6()));
                run("ipset", &["restore"], &line).map(drop)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ban(ip: &str, until: Option<f64>) -> BanRecord {
        BanRecord {
            jail: "nginx-http-auth".into(),
            ip: ip.parse().unwrap(),
            start: 0.0,
            until,
            bantime: 600.0,
            nth: 1,
            failures: 1,
            first_failure: None,
            maxretry: 1,
            findtime: 600.0,
            users: vec![],
            samples: vec![],
            reason: String::new(),
            manual: false,
        }
    }

    #[test]
    fn maps_fail2ban_action_names() {
        let cases = [
            ("nftables[type=multiport]", ActionKind::Nftables),
            ("nftables-allports[name=x]", ActionKind::Nftables),
            (
                "iptables-multiport[port=\"ssh\", protocol=\"tcp\", chain=\"INPUT\"]",
                ActionKind::Iptables,
            ),
            ("iptables-ipset-proto6", ActionKind::Iptables),
            ("ufw", ActionKind::Log),
            ("", ActionKind::Log),
        ];
        for (text, kind) in cases {
            assert_eq!(map_action("j", text).0, kind, "{text}");
        }
        let (kind, warnings) = map_action(
            "j",
            "nftables-multiport[name=j]\nsendmail-whois[name=j, dest=root]",
        );
        assert_eq!(kind, ActionKind::Nftables);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(!map_action("j", "firewallcmd-ipset").1.is_empty());
    }

    fn every_port(jail: &str) -> Vec<Target> {
        vec![Target {
            jail: jail.to_owned(),
            ports: Ports::default(),
        }]
    }

    #[test]
    fn ports_of_the_jail_action() {
        let services = "# comment\nfoo-svc\t4321/tcp\tfooalias\nfoo-svc 4322/udp\n";
        let of = |a: &str| Ports::of_action(a, Some(services));
        let ranges = |a: &str| of(a).0.ranges;
        assert_eq!(
            ranges(r#"nftables[port="ssh", protocol="tcp", chain="INPUT"]"#),
            Some(vec![(22, 22)])
        );
        assert_eq!(
            ranges(r#"iptables-multiport[port="http,https", protocol="tcp"]"#),
            Some(vec![(80, 80), (443, 443)])
        );
        assert_eq!(
            ranges(r#"nftables[port="1000:2000,fooalias"]"#),
            Some(vec![(1000, 2000), (4321, 4321)])
        );
        // All ports: the all-ports actions, 0:65535, protocol all, no port argument.
        for all in [
            r#"nftables[type=allports, port="ssh"]"#,
            r#"nftables-allports[port="ssh"]"#,
            r#"iptables-allports[port="ssh", protocol="all"]"#,
            r#"nftables[port="0:65535"]"#,
            "nftables-multiport",
            "",
        ] {
            assert_eq!(of(all), (Ports::default(), vec![]), "{all}");
        }
        let (ports, warnings) = of(r#"nftables[port="nosuchservice"]"#);
        assert_eq!(ports.ranges, None);
        assert_eq!(warnings.len(), 1);
        let udp = of(r#"nftables[port="foo-svc", protocol="udp"]"#).0;
        assert_eq!(
            (udp.ranges, udp.protocol.as_str()),
            (Some(vec![(4322, 4322)]), "udp")
        );
        assert!(parse_ports("2000:1000", "tcp", None).is_err());
    }

    #[test]
    fn rules_drop_only_the_jail_ports() {
        let ports = Ports {
            ranges: Some(vec![(22, 22), (1000, 2000)]),
            protocol: "tcp".into(),
        };
        let t = vec![Target {
            jail: "sshd".into(),
            ports: ports.clone(),
        }];
        let s = nft_sync_script(&t, &[], 0.0);
        assert!(
            s.contains("ip saddr @sshd_v4 tcp dport { 22, 1000-2000 } drop"),
            "{s}"
        );
        assert!(
            s.contains("ip6 saddr @sshd_v6 tcp dport { 22, 1000-2000 } drop"),
            "{s}"
        );
        assert!(nft_sync_script(&every_port("sshd"), &[], 0.0).contains("ip saddr @sshd_v4 drop"));
        assert_eq!(
            iptables_rules("S", &ports),
            [[
                "-p",
                "tcp",
                "-m",
                "multiport",
                "--dports",
                "22,1000:2000",
                "-m",
                "set",
                "--match-set",
                "S",
                "src",
                "-j",
                "DROP"
            ]]
        );
        let many = Ports {
            ranges: Some((1..=10).map(|p| (p, p)).collect()),
            protocol: "udp".into(),
        };
        assert_eq!(iptables_rules("S", &many).len(), 2);
        assert_eq!(iptables_rules("S", &Ports::default()).len(), 1);
    }

    #[test]
    fn nft_scripts() {
        let jails = every_port("nginx-http-auth");
        let b4 = ban("198.51.100.7", Some(600.0));
        let b6 = ban("2001:db8::1", None);
        let s = nft_sync_script(&jails, &[&b4, &b6], 100.0);
        assert!(s.starts_with("table inet allclear {}\ndelete table inet allclear\n"));
        assert!(s.contains("set nginx_http_auth_v4 { type ipv4_addr; flags timeout; }"));
        assert!(s.contains("ip6 saddr @nginx_http_auth_v6 drop"));
        assert!(s.contains(
            "add element inet allclear nginx_http_auth_v4 { 198.51.100.7 timeout 500s }"
        ));
        assert!(s.contains("add element inet allclear nginx_http_auth_v6 { 2001:db8::1 }"));
        let long = ban("198.51.100.9", Some(1e9));
        assert!(nft_ban_script(&long, 0.0).ends_with("{ 198.51.100.9 }\n"));
        let expired = ban("198.51.100.8", Some(50.0));
        assert!(!nft_sync_script(&jails, &[&expired], 100.0).contains("198.51.100.8"));
        let u = nft_unban_script("nginx-http-auth", b4.ip);
        assert!(u.ends_with("delete element inet allclear nginx_http_auth_v4 { 198.51.100.7 }\n"));
    }

    #[test]
    fn ipset_scripts() {
        let jails = every_port("sshd");
        let b = ban("198.51.100.7", None);
        let mut b = b.clone();
        b.jail = "sshd".into();
        let s = ipset_sync_script(&jails, &[&b], 0.0);
        assert!(s.contains("create allclear-sshd-6 hash:ip family inet6 timeout 0 -exist"));
        assert!(s.contains("add allclear-sshd-4 198.51.100.7 timeout 0 -exist"));
        assert!(ipset_name("a-very-long-jail-name-indeed-yes", true).len() <= 31);
    }
}
