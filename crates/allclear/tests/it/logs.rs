//! `allclear host logs run|status|ban|unban` end to end: our fail2ban-style configuration
//! (tests/fixtures/fail2ban) with fail2ban's own sshd filter (read from the shared
//! conformance copy), real log files, and for nftables a real network namespace.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::{allclear, fixtures, stderr, stdout, text};

/// fail2ban's filter.d from the shared test data, or `None` (with a notice) when absent.
fn shared_filters() -> Option<PathBuf> {
    crate::shared("conformance/fail2ban/config/filter.d/sshd.conf")
        .and_then(|sshd| sshd.parent().map(Path::to_path_buf))
}

struct Setup {
    _tmp: tempfile::TempDir,
    config: PathBuf,
    state: PathBuf,
    log: PathBuf,
}

/// A configuration directory like Debian's /etc/fail2ban (our jail.conf + jail.local, the
/// real sshd and common filters) with `jail.d/test.local` pointing sshd at a log of ours and
/// adding `local` to the [sshd] section.
fn setup(local: &str) -> Option<Setup> {
    let filters = shared_filters()?;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("fail2ban");
    std::fs::create_dir_all(config.join("filter.d")).unwrap();
    std::fs::create_dir_all(config.join("jail.d")).unwrap();
    for name in ["jail.conf", "jail.local", "paths-test.conf"] {
        std::fs::copy(fixtures().join("fail2ban").join(name), config.join(name)).unwrap();
    }
    for name in ["sshd.conf", "common.conf"] {
        std::fs::copy(filters.join(name), config.join("filter.d").join(name)).unwrap();
    }
    let log = tmp.path().join("auth.log");
    std::fs::write(
        config.join("jail.d/test.local"),
        format!(
            "[DEFAULT]\nsshd_log = {}\n\n[sshd]\nignoreip = 127.0.0.1/8 ::1 203.0.113.0/24\n{local}\n",
            log.display()
        ),
    )
    .unwrap();
    Some(Setup {
        state: tmp.path().join("state"),
        config,
        log,
        _tmp: tmp,
    })
}

/// An sshd failure line as rsyslog on Debian 12 writes it, `ago` seconds in the past.
fn failure(ago: i64, ip: &str, user: &str, port: u32) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(ago);
    format!(
        "{} web1 sshd[4242]: Failed password for {user} from {ip} port {port} ssh2\n",
        t.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
    )
}

fn noise(ago: i64) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(ago);
    format!(
        "{} web1 CRON[99]: pam_unix(cron:session): session opened for user root\n",
        t.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
    )
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

impl Setup {
    fn cmd(&self, sub: &str) -> assert_cmd::Command {
        let mut cmd = allclear();
        cmd.env("TZ", "UTC")
            .args(["host", "logs", sub, "--config"])
            .arg(&self.config)
            .arg("--state")
            .arg(&self.state);
        cmd
    }

    fn run_once(&self) -> Output {
        self.cmd("run")
            .args(["--action", "log", "--once"])
            .output()
            .unwrap()
    }

    fn status(&self) -> serde_json::Value {
        let out = allclear()
            .args(["host", "logs", "status", "--format", "json", "--state"])
            .arg(&self.state)
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn banned(&self) -> Vec<String> {
        self.status()["bans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["ip"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[test]
fn run_once_bans_explains_and_ignores() {
    let Some(s) = setup("") else { return };
    let mut log = String::new();
    for i in 0..5 {
        log.push_str(&failure(
            120 - i,
            "198.51.100.7",
            ["root", "admin"][i as usize % 2],
            40000 + i as u32,
        ));
        log.push_str(&noise(119 - i));
        // An address in ignoreip, and one with too few failures.
        log.push_str(&failure(118 - i, "203.0.113.5", "root", 1));
    }
    log.push_str(&failure(60, "192.0.2.44", "pi", 2));
    // Old failures (beyond findtime) do not count.
    for i in 0..6 {
        log.push_str(&failure(5000 - i, "192.0.2.99", "root", 3));
    }
    std::fs::write(&s.log, log).unwrap();
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stderr(&out).contains("ban: 198.51.100.7 in jail sshd"),
        "{}",
        text(&out)
    );
    assert_eq!(s.banned(), ["198.51.100.7"]);
    let status = s.status();
    let ban = &status["bans"][0];
    assert_eq!(ban["jail"], "sshd");
    assert_eq!(ban["failures"], 5);
    assert_eq!(ban["nth"], 1);
    assert_eq!(ban["bantime"], 600.0);
    assert_eq!(ban["users"], serde_json::json!(["admin", "root"]));
    assert_eq!(ban["samples"].as_array().unwrap().len(), 5);
    assert!(
        ban["samples"][4].as_str().unwrap().contains("port 40004"),
        "{ban}"
    );
    let remaining = ban["remaining"].as_f64().unwrap();
    assert!(remaining > 0.0 && remaining <= 600.0, "{remaining}");
    // Human status: the reason and time left, exit 1 while something is banned.
    let out = allclear()
        .args(["host", "logs", "status", "--state"])
        .arg(&s.state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let human = stdout(&out);
    assert!(human.contains("jail sshd: 1 banned"), "{human}");
    assert!(
        human.contains("5 failures within 4s (maxretry 5, findtime 10m)"),
        "{human}"
    );
    assert!(human.contains("left"), "{human}");
    assert!(human.contains("> "), "{human}");
}

#[test]
fn restart_rotation_and_copytruncate_neither_recount_nor_miss() {
    let Some(s) = setup("") else { return };
    let ip = "198.51.100.20";
    let mut log = String::new();
    for i in 0..3 {
        log.push_str(&failure(200 - i, ip, "root", 1000 + i as u32));
    }
    std::fs::write(&s.log, &log).unwrap();
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(s.banned().is_empty());
    // A restart with nothing new: re-reading would make 6 failures and ban.
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        s.banned().is_empty(),
        "failures were counted twice: {}",
        text(&out)
    );
    // While stopped: one more failure, then logrotate renames the log and starts a new one.
    append(&s.log, &failure(150, ip, "root", 1003));
    let mut rotated = s.log.as_os_str().to_owned();
    rotated.push(".1");
    std::fs::rename(&s.log, &rotated).unwrap();
    std::fs::write(&s.log, noise(140)).unwrap();
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr(&out).contains("was rotated"), "{}", text(&out));
    assert!(s.banned().is_empty(), "{}", text(&out));
    // copytruncate: the log is emptied in place and written again.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&s.log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&s.log, &failure(100, ip, "root", 1004));
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr(&out).contains("was truncated"), "{}", text(&out));
    // Five failures, each read exactly once across three restarts and two rotations.
    assert_eq!(s.banned(), [ip], "{}", text(&out));
    let status = s.status();
    let samples: Vec<&str> = status["bans"][0]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for port in 1000..1005 {
        assert_eq!(
            samples
                .iter()
                .filter(|l| l.contains(&format!("port {port} ")))
                .count(),
            1,
            "{samples:?}"
        );
    }
}

#[test]
fn bantime_increment_counts_bans_across_restarts() {
    let Some(s) =
        setup("maxretry = 2\nbantime = 1m\nbantime.increment = true\nbantime.maxtime = 3m")
    else {
        return;
    };
    let ip = "198.51.100.30";
    // First offence, long enough ago that its one-minute ban is over.
    std::fs::write(
        &s.log,
        format!("{}{}", failure(300, ip, "a", 1), failure(299, ip, "a", 2)),
    )
    .unwrap();
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(s.banned().is_empty(), "the first ban is already over");
    // Second offence, in a new run: twice as long.
    append(
        &s.log,
        &format!("{}{}", failure(5, ip, "a", 3), failure(4, ip, "a", 4)),
    );
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = s.status();
    assert_eq!(status["bans"][0]["nth"], 2, "{status}");
    assert_eq!(status["bans"][0]["bantime"], 120.0, "{status}");
    // Third, after lifting it by hand: 4m, capped by bantime.maxtime at 3m.
    let out = s
        .cmd("unban")
        .args([ip, "--action", "log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    append(
        &s.log,
        &format!("{}{}", failure(2, ip, "a", 5), failure(1, ip, "a", 6)),
    );
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = s.status();
    assert_eq!(status["bans"][0]["nth"], 3, "{status}");
    assert_eq!(status["bans"][0]["bantime"], 180.0, "{status}");
}

#[test]
fn manual_ban_and_unban() {
    let Some(s) = setup("") else { return };
    std::fs::write(&s.log, noise(1)).unwrap();
    let out = s
        .cmd("ban")
        .args([
            "192.0.2.200",
            "--jail",
            "sshd",
            "--time",
            "1h",
            "--action",
            "log",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stdout(&out).contains("banned 192.0.2.200 in jail sshd for 1h"),
        "{}",
        text(&out)
    );
    let status = s.status();
    assert_eq!(status["bans"][0]["manual"], true);
    assert!(status["bans"][0]["remaining"].as_f64().unwrap() > 3000.0);
    // Unknown jail, bad address: errors.
    let out = s
        .cmd("ban")
        .args(["192.0.2.201", "--jail", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("nope"), "{}", text(&out));
    let out = s
        .cmd("ban")
        .args(["192.0.2.300", "--jail", "sshd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = s
        .cmd("unban")
        .args(["192.0.2.200", "--action", "log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(s.banned().is_empty());
    let out = s
        .cmd("unban")
        .args(["192.0.2.200", "--action", "log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn a_broken_jail_is_reported_and_the_others_run() {
    let Some(s) = setup("") else { return };
    std::fs::write(
        s.config.join("filter.d/broken.conf"),
        "[Definition]\nfailregex = x <HOST>\nthis line is not an option\n",
    )
    .unwrap();
    append(
        &s.config.join("jail.local"),
        "\n[broken]\nenabled = true\nfilter = broken\nlogpath = /dev/null\n",
    );
    let mut log = String::new();
    for i in 0..5 {
        log.push_str(&failure(30 - i, "198.51.100.40", "root", 1));
    }
    std::fs::write(&s.log, log).unwrap();
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("jail `broken` does not run"), "{err}");
    assert!(
        err.contains("broken.conf:3"),
        "the error names file and line: {err}"
    );
    assert_eq!(s.banned(), ["198.51.100.40"]);
    // Status of one jail only.
    let out = allclear()
        .args(["host", "logs", "status", "--jail", "broken", "--state"])
        .arg(&s.state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stdout(&out), "no bans\n");
    // No configuration at all: exit 2 with advice.
    let out = allclear()
        .args([
            "host", "logs", "run", "--once", "--action", "log", "--config",
        ])
        .arg(s.config.join("missing"))
        .arg("--state")
        .arg(&s.state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("no jail.conf or jail.local"),
        "{}",
        text(&out)
    );
    assert!(stderr(&out).contains("hint: "), "{}", text(&out));
}

/// A network namespace pair for the nftables test, deleted on drop.
struct Netns {
    server: String,
    client: String,
}

impl Netns {
    fn ip(args: &[&str]) {
        let out = std::process::Command::new("ip")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "ip {args:?}: {}", text(&out));
    }

    /// `tag` keeps parallel tests apart (interface names have at most 15 bytes).
    fn new(tag: char) -> Netns {
        let id = std::process::id() % 100_000;
        let ns = Netns {
            server: format!("acl-srv-{id}{tag}"),
            client: format!("acl-cli-{id}{tag}"),
        };
        let (vs, vc) = (format!("acs{id}{tag}"), format!("acc{id}{tag}"));
        // Leftovers of a killed run with the same process id would make `add` fail.
        drop(Netns {
            server: ns.server.clone(),
            client: ns.client.clone(),
        });
        Self::ip(&["netns", "add", &ns.server]);
        Self::ip(&["netns", "add", &ns.client]);
        Self::ip(&["link", "add", &vs, "type", "veth", "peer", "name", &vc]);
        Self::ip(&["link", "set", &vs, "netns", &ns.server]);
        Self::ip(&["link", "set", &vc, "netns", &ns.client]);
        for (n, dev, addrs) in [
            (&ns.server, &vs, &["10.231.0.1/24", "10.231.9.1/32"][..]),
            (&ns.client, &vc, &["10.231.0.2/24", "10.231.0.3/24"][..]),
        ] {
            for a in addrs {
                Self::ip(&["-n", n, "addr", "add", a, "dev", dev]);
            }
            Self::ip(&["-n", n, "link", "set", dev, "up"]);
            Self::ip(&["-n", n, "link", "set", "lo", "up"]);
        }
        // The server's second address is reached from the client's second address, so the
        // client picks its source by destination (std cannot bind before connecting).
        Self::ip(&[
            "-n",
            &ns.client,
            "route",
            "add",
            "10.231.9.1/32",
            "dev",
            &vc,
            "src",
            "10.231.0.3",
        ]);
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in [&self.server, &self.client] {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", n])
                .output();
        }
    }
}

const ROLE: &str = "ALLCLEAR_TEST_NETNS_ROLE";

/// Runs this test binary in namespace `ns` as a helper (`listen`/`connect`), with `arg`.
fn helper(ns: &str, role: &str, arg: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["netns", "exec", ns])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "logs::nftables_bans_in_a_network_namespace",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env("ALLCLEAR_TEST_NETNS_ARG", arg);
    cmd
}

/// Whether a TCP connection from the client namespace to `addr` succeeds (the server
/// greets with "hello").
fn connects(ns: &Netns, addr: &str) -> bool {
    let out = helper(&ns.client, "connect", addr).output().unwrap();
    match out.status.code() {
        Some(0) => true,
        Some(3) => false,
        _ => panic!("connect helper: {}", text(&out)),
    }
}

/// The helper side of the nftables test, when this binary runs inside a namespace.
fn netns_helper(role: &str) {
    use std::io::{Read, Write};
    let arg = std::env::var("ALLCLEAR_TEST_NETNS_ARG").unwrap_or_default();
    match role {
        "listen" => {
            // The jail's port (7022) and another one (7023), which a ban must leave open.
            let listeners =
                [7022, 7023].map(|port| std::net::TcpListener::bind(("0.0.0.0", port)).unwrap());
            std::fs::write(&arg, "ready").unwrap();
            std::thread::scope(|scope| {
                for listener in &listeners {
                    scope.spawn(move || {
                        for mut stream in listener.incoming().flatten() {
                            let _ = stream.write_all(b"hello\n");
                        }
                    });
                }
            });
        }
        "connect" => {
            let addr: std::net::SocketAddr = arg.parse().unwrap();
            let ok = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))
                .and_then(|mut s| {
                    let mut buf = String::new();
                    s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
                    s.read_to_string(&mut buf)?;
                    Ok(buf)
                })
                .is_ok_and(|b| b == "hello\n");
            std::process::exit(if ok { 0 } else { 3 });
        }
        _ => panic!("unknown role {role}"),
    }
}

#[test]
fn nftables_bans_in_a_network_namespace() {
    if let Ok(role) = std::env::var(ROLE) {
        netns_helper(&role);
        return;
    }
    firewall_in_a_network_namespace("nftables", &[("nft", "--version")]);
}

#[test]
fn iptables_ipset_bans_in_a_network_namespace() {
    firewall_in_a_network_namespace(
        "iptables",
        &[
            ("iptables", "--version"),
            ("ip6tables", "--version"),
            ("ipset", "--version"),
        ],
    );
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// The banned address's connection to the jail's port (`port = 7022`) is dropped, to another
/// port it passes, and the other address passes; after a restart with the firewall emptied
/// the ban is back; after `unban` it passes. Everything happens inside two network namespaces
/// the test creates, joined by a veth pair.
fn firewall_in_a_network_namespace(action: &str, tools: &[(&str, &str)]) {
    let present = tools.iter().chain(&[("ip", "-V")]).all(|(t, v)| {
        std::process::Command::new(t)
            .arg(v)
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !is_root() || !present {
        let names: Vec<&str> = tools.iter().map(|t| t.0).collect();
        eprintln!(
            "skipped: the {action} test needs root, ip (iproute2) and {}",
            names.join(", ")
        );
        return;
    }
    let Some(s) = setup("port = 7022") else {
        return;
    };
    let ns = Netns::new(action.chars().next().unwrap_or('x'));
    let ready = s.state.with_extension("ready");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let listener = Kill(
        helper(&ns.server, "listen", ready.to_str().unwrap())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ready.exists(), "the listener did not start");
    let attacker_route = "10.231.0.1:7022"; // from 10.231.0.2
    let attacker_other_port = "10.231.0.1:7023";
    let other_route = "10.231.9.1:7022"; // from 10.231.0.3
    assert!(connects(&ns, attacker_route), "before any ban");
    assert!(connects(&ns, other_route), "before any ban");

    // The scripted attacker: five failed passwords from 10.231.0.2.
    // One mistyped password from the other address.
    let mut log = failure(21, "10.231.0.3", "alice", 1);
    for i in 0..5 {
        log.push_str(&failure(20 - i, "10.231.0.2", "root", 50000 + i as u32));
    }
    std::fs::write(&s.log, log).unwrap();
    let allclear = assert_cmd::cargo::cargo_bin("allclear");
    let run_in_ns = |args: &[&str]| -> Output {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &ns.server])
            .arg(&allclear)
            .args(["host", "logs"])
            .args(args)
            .arg("--config")
            .arg(&s.config)
            .arg("--state")
            .arg(&s.state)
            .args(["--action", action])
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        out
    };
    let out = run_in_ns(&["run", "--once"]);
    assert!(
        stderr(&out).contains("ban: 10.231.0.2 in jail sshd"),
        "{}",
        text(&out)
    );
    assert!(
        !connects(&ns, attacker_route),
        "the banned address is dropped"
    );
    assert!(
        connects(&ns, attacker_other_port),
        "the banned address still reaches a port the jail does not guard"
    );
    assert!(
        connects(&ns, other_route),
        "the other address still connects"
    );

    // The firewall loses our table (reboot, flush); a restart restores the ban.
    let flush: &[&str] = if action == "nftables" {
        &["nft", "delete", "table", "inet", "allclear"]
    } else {
        &["ipset", "flush", "allclear-sshd-4"]
    };
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.server])
        .args(flush)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(connects(&ns, attacker_route));
    run_in_ns(&["run", "--once"]);
    assert!(
        !connects(&ns, attacker_route),
        "the ban was restored at start"
    );
    assert!(connects(&ns, attacker_other_port));

    run_in_ns(&["unban", "10.231.0.2"]);
    assert!(connects(&ns, attacker_route), "unbanned");
    assert!(connects(&ns, other_route));
    drop(listener);
}

#[test]
fn sigterm_stops_the_daemon_cleanly_with_the_ban_saved() {
    let Some(s) = setup("") else { return };
    let mut log = String::new();
    for i in 0..5 {
        log.push_str(&failure(30 - i, "198.51.100.30", "root", 1 + i as u32));
    }
    std::fs::write(&s.log, log).unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("allclear"))
        .env("TZ", "UTC")
        .args([
            "host",
            "logs",
            "run",
            "--action",
            "log",
            "--interval",
            "0.2",
            "--config",
        ])
        .arg(&s.config)
        .arg("--state")
        .arg(&s.state)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first poll's ban to be saved, then stop it as systemd does.
    let file = s.state.join("state.json");
    for _ in 0..600 {
        if std::fs::read_to_string(&file).is_ok_and(|t| t.contains("198.51.100.30")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stderr(&out).contains("stopped by a signal"),
        "{}",
        text(&out)
    );
    assert_eq!(s.banned(), ["198.51.100.30"]);
}

#[test]
fn run_reports_overlong_lines_and_never_reads_their_rest_as_a_line() {
    let Some(s) = setup("maxretry = 1") else {
        return;
    };
    // The rest of a 100 KB line is shaped like a failure of another address.
    let fake = failure(10, "198.51.100.66", "root", 1);
    let mut log = format!("{} {}", "x".repeat(100_000), fake);
    log.push_str(&failure(5, "198.51.100.67", "root", 2));
    std::fs::write(&s.log, log).unwrap();
    let out = s.run_once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stderr(&out).contains("1 line(s) of") && stderr(&out).contains("longer than 64 KiB"),
        "{}",
        text(&out)
    );
    assert_eq!(s.banned(), ["198.51.100.67"]);
}

/// One journal entry as `journalctl -o json` prints it.
fn journal_entry(cursor: u32, ago: i64, ip: &str) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(ago);
    serde_json::json!({
        "__CURSOR": format!("s=abc;i={cursor}"),
        "__REALTIME_TIMESTAMP": (t.as_microsecond()).to_string(),
        "_HOSTNAME": "web1",
        "SYSLOG_IDENTIFIER": "sshd",
        "_PID": "4242",
        "_SYSTEMD_UNIT": "ssh.service",
        "MESSAGE": format!("Failed password for root from {ip} port {cursor} ssh2"),
    })
    .to_string()
}

#[test]
fn systemd_backend_reads_the_journal_after_the_saved_cursor() {
    let Some(s) = setup("backend = systemd") else {
        return;
    };
    // A stand-in journalctl: prints the entries after --after-cursor and records its
    // arguments.
    let bin = s.state.with_extension("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let entries = s.state.with_extension("entries");
    let args_log = s.state.with_extension("args");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{args}'\nafter=''\nfor a in \"$@\"; do case \"$a\" in --after-cursor=*) after=\"${{a#--after-cursor=}}\";; esac; done\n\
         emit=0; [ -z \"$after\" ] && emit=1\nwhile IFS= read -r line; do\n  [ $emit = 1 ] && printf '%s\\n' \"$line\"\n  case \"$line\" in *\"\\\"$after\\\"\"*) emit=1;; esac\ndone < '{entries}'\n",
        args = args_log.display(),
        entries = entries.display()
    );
    let fake = bin.join("journalctl");
    std::fs::write(&fake, script).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = || {
        s.cmd("run")
            .args(["--action", "log", "--once"])
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let ip = "198.51.100.60";
    let mut journal = String::new();
    for i in 1..=3 {
        journal.push_str(&journal_entry(i, 60 - i64::from(i), ip));
        journal.push('\n');
    }
    std::fs::write(&entries, &journal).unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(s.banned().is_empty(), "{}", text(&out));
    // Two more entries: five in all only if the first three are not read again.
    for i in 4..=5 {
        journal.push_str(&journal_entry(i, 60 - i64::from(i), ip));
        journal.push('\n');
    }
    std::fs::write(&entries, &journal).unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s.banned(), [ip], "{}", text(&out));
    let args = std::fs::read_to_string(&args_log).unwrap();
    let calls: Vec<&str> = args.lines().collect();
    assert_eq!(calls.len(), 2, "{args}");
    // The filter's journalmatch, and the second run resumes after the first run's last entry.
    assert!(
        calls[0].contains("_SYSTEMD_UNIT=sshd.service + _COMM=sshd"),
        "{args}"
    );
    assert!(calls[1].contains("--after-cursor=s=abc;i=3"), "{args}");
    let status = s.status();
    assert_eq!(status["bans"][0]["failures"], 5);
}

/// With no fail2ban configuration, the built-in detections run on the Debian log files that
/// exist (here under `--log-root`): an sshd attacker is banned, a web prober is banned by
/// the probe jail, and jails whose logs are absent do not run.
#[test]
fn builtin_detections_run_without_a_fail2ban_configuration() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let logs = root.path().join("var/log");
    std::fs::create_dir_all(logs.join("nginx")).unwrap();
    let mut auth = String::new();
    for i in 0..8 {
        auth.push_str(&failure(100 - i, "198.51.100.23", "root", 50000 + i as u32));
    }
    auth.push_str(&failure(50, "192.0.2.8", "alice", 2));
    std::fs::write(logs.join("auth.log"), auth).unwrap();
    let mut access = String::new();
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(30);
    let when = t.strftime("%d/%b/%Y:%H:%M:%S +0000");
    for path in [
        "/.env",
        "/.git/config",
        "/wp-login.php",
        "/phpmyadmin/",
        "/xmlrpc.php",
        "/.env.bak",
    ] {
        access.push_str(&format!(
            "203.0.113.77 - - [{when}] \"GET {path} HTTP/1.1\" 404 153 \"-\" \"curl/8.0\"\n"
        ));
    }
    access.push_str(&format!(
        "192.0.2.10 - - [{when}] \"GET / HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n"
    ));
    std::fs::write(logs.join("nginx/access.log"), access).unwrap();

    let out = allclear()
        .env("TZ", "UTC")
        .args([
            "host",
            "logs",
            "run",
            "--builtin",
            "--once",
            "--action",
            "log",
        ])
        .arg("--log-root")
        .arg(root.path())
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = allclear()
        .args(["host", "logs", "status", "--format", "json", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let mut bans: Vec<(String, String)> = json["bans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["ip"].as_str().unwrap().to_owned(),
                b["jail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    bans.sort();
    bans.dedup_by(|a, b| a.0 == b.0);
    let ips: Vec<&str> = bans.iter().map(|(ip, _)| ip.as_str()).collect();
    assert_eq!(ips, ["198.51.100.23", "203.0.113.77"], "{}", text(&out));
    assert!(
        bans.iter()
            .any(|(ip, jail)| ip == "198.51.100.23" && jail == "sshd")
    );
    assert!(
        bans.iter()
            .any(|(ip, jail)| ip == "203.0.113.77" && jail == "http-probe"),
        "{bans:?}"
    );
}
