#!/usr/bin/env python3
"""Writes a realistic, deterministic Debian-style auth log for scripts/bench/logs.sh.

Usage: gen-authlog.py OUT [LINES]   (default 1,000,000 lines)

Mix (per 1000 lines, roughly): sshd brute force from many hosts (IPv4 and IPv6) in bursts —
failed passwords for root and for invalid users, invalid-user notices, preauth disconnects,
PAM authentication failures, "maximum authentication attempts exceeded", "Too many
authentication failures"; failed public keys (fail2ban's helper lines); accepted logins
(password and key) and their sessions; injection attempts (user names that carry a second
"from <ip> port N" to make a filter blame an innocent address); and noise from cron, systemd,
systemd-logind, sudo, su, kernel and sshd itself (kex errors, listening, "Connection from").
Dates are classic syslog (`Nov 23 10:00:00`), increasing, a few lines per second.
"""
import itertools
import random
import sys

out_path = sys.argv[1]
lines = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rng = random.Random(20261123)  # the same log every time

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
USERS = ["admin", "test", "oracle", "ubuntu", "guest", "user", "postgres", "git", "ftpuser",
         "pi", "support", "deploy", "www-data", "jenkins", "hadoop", "minecraft", "steam",
         "test1", "administrator", "ansible", "nagios", "ec2-user", "centos", "debian"]
STAFF = ["alice", "bob", "deploy", "carol"]
HOSTNAME = "web1"


def v4():
    first = rng.choice([5, 14, 27, 31, 36, 43, 45, 49, 58, 61, 78, 80, 91, 92, 103, 106, 110,
                        112, 115, 116, 117, 118, 119, 121, 122, 124, 125, 134, 139, 141, 159,
                        161, 164, 167, 170, 175, 178, 180, 181, 183, 185, 187, 188, 190, 193,
                        194, 195, 196, 197, 201, 202, 203, 206, 210, 211, 212, 213, 218, 219,
                        220, 221, 222, 223])
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def v6():
    return "2001:db8:%x:%x::%x" % (rng.randrange(65536), rng.randrange(65536),
                                   rng.randrange(1, 65536))


# Attackers: a few heavy hitters and a long tail; 10% IPv6.
attackers = [v6() if rng.random() < 0.1 else v4() for _ in range(20000)]
cum_weights = list(itertools.accumulate(1.0 / (i + 1) ** 0.8 for i in range(len(attackers))))
staff_hosts = [f"198.51.100.{i}" for i in range(2, 40)] + ["2001:db8:100::5"]

t = 1_700_000_000 % (86400 * 365)  # seconds within a year; only month/day/time are printed
pid = 1000


def stamp():
    day_of_year = (t // 86400) % 336
    month, day = day_of_year // 28, day_of_year % 28 + 1
    rem = t % 86400
    return f"{MONTHS[month]} {day:>2} {rem // 3600:02}:{rem // 60 % 60:02}:{rem % 60:02}"


def next_pid():
    global pid
    pid = 1000 + (pid * 48271 + 11) % 4_000_000
    return pid


def sshd_attack(ip):
    """A short burst of lines from one attacking connection."""
    p = next_pid()
    port = rng.randrange(1024, 65536)
    user = rng.choice(USERS)
    kind = rng.random()
    if kind < 0.30:
        return [f"sshd[{p}]: Invalid user {user} from {ip} port {port}",
                f"sshd[{p}]: pam_unix(sshd:auth): check pass; user unknown",
                f"sshd[{p}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}",
                f"sshd[{p}]: Failed password for invalid user {user} from {ip} port {port} ssh2",
                f"sshd[{p}]: Connection closed by invalid user {user} {ip} port {port} [preauth]"]
    if kind < 0.55:
        out = [f"sshd[{p}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user=root"]
        for _ in range(rng.randrange(1, 4)):
            out.append(f"sshd[{p}]: Failed password for root from {ip} port {port} ssh2")
        if rng.random() < 0.3:
            out.append(f"sshd[{p}]: error: maximum authentication attempts exceeded for root from {ip} port {port} ssh2 [preauth]")
            out.append(f"sshd[{p}]: Disconnecting authenticating user root {ip} port {port}: Too many authentication failures [preauth]")
            out.append(f"sshd[{p}]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user=root")
        else:
            out.append(f"sshd[{p}]: Received disconnect from {ip} port {port}:11: Bye Bye [preauth]")
            out.append(f"sshd[{p}]: Disconnected from authenticating user root {ip} port {port} [preauth]")
        return out
    if kind < 0.70:
        return [f"sshd[{p}]: Connection closed by authenticating user root {ip} port {port} [preauth]"]
    if kind < 0.80:
        return [f"sshd[{p}]: Failed publickey for {user} from {ip} port {port} ssh2: RSA SHA256:{rng.getrandbits(128):032x}",
                f"sshd[{p}]: Connection closed by authenticating user {user} {ip} port {port} [preauth]"]
    if kind < 0.88:
        return [f"sshd[{p}]: Unable to negotiate with {ip} port {port}: no matching key exchange method found. Their offer: diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1 [preauth]"]
    if kind < 0.94:
        return [f"sshd[{p}]: Disconnected from invalid user {user} {ip} port {port} [preauth]"]
    if kind < 0.97:
        return [f"sshd[{p}]: error: kex_exchange_identification: Connection closed by remote host",
                f"sshd[{p}]: Connection closed by {ip} port {port}"]
    # Injection attempts: the user name carries a fake "from <innocent> port N".
    innocent = rng.choice(staff_hosts)
    forms = [
        f"sshd[{p}]: Failed password for invalid user {user} from {innocent} port 22 ssh2 from {ip} port {port} ssh2",
        f"sshd[{p}]: Failed password for invalid user root from {innocent} from {ip} port {port} ssh2",
        f"sshd[{p}]: Invalid user {user} from {innocent} from {ip} port {port}",
        f"sshd[{p}]: Failed password for invalid user {user}: from {innocent} port 22 ssh2 from {ip} port {port} ssh2",
    ]
    return [rng.choice(forms)]


def login():
    p = next_pid()
    user = rng.choice(STAFF)
    ip = rng.choice(staff_hosts)
    port = rng.randrange(1024, 65536)
    how = rng.choice(["publickey", "publickey", "password"])
    key = f": ED25519 SHA256:{rng.getrandbits(128):032x}" if how == "publickey" else ""
    return [f"sshd[{p}]: Accepted {how} for {user} from {ip} port {port} ssh2{key}",
            f"sshd[{p}]: pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)",
            f"systemd-logind[611]: New session {rng.randrange(1, 99999)} of user {user}.",
            f"systemd: pam_unix(systemd-user:session): session opened for user {user}(uid=1000) by (uid=0)",
            f"sshd[{p}]: Received disconnect from {ip} port {port}:11: disconnected by user",
            f"sshd[{p}]: Disconnected from user {user} {ip} port {port}",
            f"sshd[{p}]: pam_unix(sshd:session): session closed for user {user}",
            f"systemd-logind[611]: Session {rng.randrange(1, 99999)} logged out. Waiting for processes to exit."]


def noise():
    p = next_pid()
    r = rng.random()
    if r < 0.45:
        return [f"CRON[{p}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
                f"CRON[{p}]: pam_unix(cron:session): session closed for user root"]
    if r < 0.65:
        user = rng.choice(STAFF)
        cmd = rng.choice(["/usr/bin/systemctl restart nginx", "/usr/bin/apt-get update",
                          "/usr/bin/journalctl -u sshd", "/usr/bin/tail -f /var/log/syslog"])
        return [f"sudo:    {user} : TTY=pts/{rng.randrange(4)} ; PWD=/home/{user} ; USER=root ; COMMAND={cmd}",
                f"sudo: pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid=1000)",
                "sudo: pam_unix(sudo:session): session closed for user root"]
    if r < 0.72:
        return [f"su[{p}]: (to postgres) root on pts/1",
                f"su[{p}]: pam_unix(su-l:session): session opened for user postgres(uid=113) by root(uid=0)"]
    if r < 0.82:
        src = v4()
        return [f"kernel: [{rng.randrange(10**6)}.{rng.randrange(10**6):06}] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={src} DST=203.0.113.10 LEN=44 TOS=0x00 PREC=0x00 TTL=241 ID=54321 PROTO=TCP SPT={rng.randrange(1024, 65536)} DPT={rng.choice([22, 23, 3389, 8080])} WINDOW=1024 RES=0x00 SYN URGP=0"]
    if r < 0.90:
        return [f"systemd[1]: Starting {rng.choice(['apt-daily.service', 'logrotate.service', 'man-db.service', 'phpsessionclean.service'])} - Daily job...",
                f"systemd[1]: {rng.choice(['apt-daily.service', 'logrotate.service'])}: Deactivated successfully.",
                "systemd[1]: Finished logrotate.service - Rotate log files."]
    if r < 0.95:
        return [f"sshd[{p}]: Connection from {rng.choice(staff_hosts)} port {rng.randrange(1024, 65536)} on 203.0.113.10 port 22 rdomain \"\""]
    return [f"systemd-logind[611]: Watching system buttons on /dev/input/event0 (Power Button)",
            "sshd[611]: Server listening on 0.0.0.0 port 22.",
            "sshd[611]: Server listening on :: port 22."]


written = 0
with open(out_path, "w", encoding="utf-8") as out:
    while written < lines:
        r = rng.random()
        if r < 0.62:
            ip = rng.choices(attackers, cum_weights=cum_weights)[0]
            block = sshd_attack(ip)
        elif r < 0.70:
            block = login()
        else:
            block = noise()
        for msg in block:
            if written >= lines:
                break
            t += rng.choice((0, 0, 1, 1, 2))
            out.write(f"{stamp()} {HOSTNAME} {msg}\n")
            written += 1
