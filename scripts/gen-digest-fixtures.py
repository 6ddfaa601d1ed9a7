#!/usr/bin/env python3
"""Writes crates/allclear-digest/tests/fixtures/day/: one made-up day of a small Debian web
and mail server's logs (2026-11-22 12:00 to 2026-11-23 12:00 UTC), with a few older lines
and a few from the future. Deterministic: run it again and the files do not change.

The tests in crates/allclear-digest/tests/it/ and crates/allclear/tests/it/digest.rs count
on what is written here; change both together.
"""

import gzip
import json
import os
from datetime import datetime, timedelta, timezone

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "allclear-digest", "tests", "fixtures", "day")
UTC = timezone.utc
HOST = "web1"


def at(day, hh, mm, ss=0):
    return datetime(2026, 11, day, hh, mm, tzinfo=UTC) + timedelta(seconds=ss)


def classic(t):
    return t.strftime("%b %d %H:%M:%S")


def rfc(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class Log:
    def __init__(self, fmt):
        self.fmt = fmt
        self.rows = []

    def add(self, t, text):
        self.rows.append((t, text))

    def sys(self, t, prog, pid, msg):
        pfx = f"{prog}[{pid}]" if pid is not None else prog
        self.add(t, f"{self.fmt(t)} {HOST} {pfx}: {msg}")

    def lines(self):
        # Logs are written in time order; sorting keeps each generator section simple.
        return [text for _, text in sorted(self.rows, key=lambda r: r[0])]


def auth():
    log = Log(classic)
    pid = 4000

    def sshd(t, msg):
        nonlocal pid
        pid += 1
        log.sys(t, "sshd", pid, msg)

    # Older than the window: must not count.
    sshd(at(22, 8, 0), "Failed password for root from 203.0.113.200 port 40000 ssh2")
    sshd(at(22, 8, 1), "Accepted password for root from 203.0.113.201 port 40001 ssh2")
    # sshd restarted on a new port.
    sshd(at(22, 12, 30), "Server listening on 0.0.0.0 port 2222.")
    sshd(at(22, 12, 30), "Server listening on :: port 2222.")
    # Logins.
    for i, h in enumerate([13, 15, 17, 19]):  # alice: 4 here, 2 more in auth.log.1.gz
        t = at(22, h, 5)
        sshd(t, f"Accepted publickey for alice from 192.0.2.10 port {50100 + i} ssh2: ED25519 SHA256:YWxpY2VrZXkx")
        log.sys(t, "sshd", pid, "pam_unix(sshd:session): session opened for user alice(uid=1000) by alice(uid=0)")
        log.sys(t + timedelta(minutes=30), "sshd", pid, f"Disconnected from user alice 192.0.2.10 port {50100 + i}")
    for i in range(6):
        sshd(at(23, 1 + i, 0), f"Accepted publickey for deploy from 192.0.2.20 port {51000 + i} ssh2: RSA SHA256:ZGVwbG95a2V5")
    sshd(at(23, 3, 17), "Accepted password for root from 198.51.100.7 port 52000 ssh2")
    for i in range(2):
        sshd(at(23, 9, 10 + i), f"Accepted keyboard-interactive/pam for bob from 192.0.2.30 port {53000 + i} ssh2")
    # A brute force: 8 password failures for root in 2 minutes, each with its PAM line.
    for i in range(8):
        t = at(23, 4, 0, 15 * i)
        sshd(t, f"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.50  user=root")
        log.sys(t, "sshd", pid, f"Failed password for root from 203.0.113.50 port {41000 + i} ssh2")
    # A slow scanner: 3 invalid users over the day (no ban) ...
    for i, (h, u) in enumerate([(14, "oracle"), (18, "test"), (22, "ubnt")]):
        sshd(at(22, h, 44), f"Invalid user {u} from 203.0.113.51 port {42000 + i}")
    # ... and 6 pre-authentication disconnects, hours apart (no ban).
    for i in range(6):
        sshd(at(22, 13 + 2 * i, 2), f"Connection closed by 203.0.113.52 port {43000 + i} [preauth]")
    # sudo.
    for i in range(2):
        log.sys(at(23, 6, 20 + i), "sudo", 6000 + i, "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt upgrade")
        log.sys(at(23, 6, 20 + i), "sudo", 6000 + i, "pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)")
    log.sys(at(23, 6, 40), "sudo", 6010, "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx")
    for i in range(3):
        log.sys(at(23, 2 + i, 1), "sudo", 6020 + i, "  deploy : PWD=/srv/app ; USER=root ; COMMAND=/usr/bin/systemctl restart puma")
    log.sys(at(23, 7, 0), "sudo", 6030, "mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash")
    log.sys(at(23, 7, 5), "sudo", 6031, "     bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow")
    # su.
    log.sys(at(23, 8, 0), "su", 6100, "(to root) alice on pts/0")
    log.sys(at(23, 8, 0), "su", 6100, "pam_unix(su-l:session): session opened for user root(uid=0) by alice(uid=1000)")
    log.sys(at(23, 8, 30), "su", 6101, "pam_unix(su:auth): authentication failure; logname=carol uid=1001 euid=0 tty=/dev/pts/3 ruser=carol rhost=  user=root")
    log.sys(at(23, 8, 30), "su", 6101, "FAILED SU (to root) carol on pts/3")
    # Routine noise.
    for h in range(13, 24):
        log.sys(at(22, h, 17), "CRON", 7000 + h, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
    log.sys(at(23, 5, 0), "systemd-logind", 700, "New session 42 of user alice.")
    # A line dated in the future: not trusted, the login must not count.
    sshd(at(23, 18, 30), "Accepted password for root from 203.0.113.66 port 54000 ssh2")
    return log


def auth_rotated():
    log = Log(classic)
    log.sys(at(22, 10, 0), "sshd", 3000, "Accepted publickey for alice from 192.0.2.10 port 49000 ssh2: ED25519 SHA256:YWxpY2VrZXkx")
    for i, m in enumerate([0, 40]):
        log.sys(at(22, 12, m), "sshd", 3001 + i, f"Accepted publickey for alice from 192.0.2.10 port {49001 + i} ssh2: ED25519 SHA256:YWxpY2VrZXkx")
    return log


def syslog():
    log = Log(rfc)
    log.sys(at(22, 12, 29), "systemd", 1, "Listening on OpenBSD Secure Shell server socket.")
    log.sys(at(22, 12, 29), "systemd", 1, "Started ssh.service - OpenBSD Secure Shell server.")
    log.sys(at(22, 12, 31), "postgres", 700, '2026-11-22 12:31:00.000 UTC [700] LOG:  listening on IPv4 address "0.0.0.0", port 5432')
    for i in range(5):
        log.sys(at(22, 14 + 2 * i, 0), "myagent", 300, f"heartbeat ok seq={i}")
    for i in range(2):
        log.sys(at(23, 0, 30 + i), "backupd", 44, f"wrote snapshot {i}")
    for i in range(2):
        log.sys(at(23, 10, i), "postgres", 701, f"ERROR:  could not extend file \"base/16384/2619\": No space left on device")
    for i in range(6):
        t = at(23, 5, 10, 30 * i)
        log.sys(t, "drupal", None, f"https://www.example.org|{int(t.timestamp())}|user|203.0.113.120|https://www.example.org/user/login|https://www.example.org/user/login|0||Login attempt failed for editor.")
    for i in range(5):
        log.sys(at(23, 6, 0, 20 * i), "postfix/smtpd", 900 + i, f"warning: unknown[203.0.113.110]: SASL LOGIN authentication failed: UGFzc3dvcmQ6")
        log.sys(at(23, 6, 0, 20 * i), "postfix/smtpd", 900 + i, "disconnect from unknown[203.0.113.110] ehlo=1 auth=0/1 quit=1 commands=2/3")
    for i in range(2):
        log.sys(at(23, 7, 30 + i), "dovecot", None, f"imap-login: Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): user=<sales>, method=PLAIN, rip=203.0.113.113, lip=192.0.2.25, TLS, session=<s{i}>")
    log.sys(at(24, 3, 0), "myagent", 300, "heartbeat from tomorrow")
    return log


def kern():
    log = Log(classic)
    k = lambda t, msg: log.sys(t, "kernel", None, msg)
    k(at(22, 12, 28), "[    0.000000] Linux version 6.1.0-27-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)")
    k(at(22, 12, 28), "[    1.234567] EXT4-fs (vda1): mounted filesystem 3f1d2c4e with ordered data mode. Quota mode: none.")
    k(at(23, 2, 15), "[50000.100000] java invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0")
    k(at(23, 2, 15), "[50000.100500] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/app.service,task=java,pid=2311,uid=1001")
    k(at(23, 2, 15), "[50000.100600] Out of memory: Killed process 2311 (java) total-vm:4823136kB, anon-rss:1932120kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:4192kB oom_score_adj:0")
    for i in range(2):
        k(at(23, 3 + i, 0), f"[5{i}100.000000] imgconv[{3300 + i}]: segfault at 0 ip 000055d0c1a2b3c4 sp 00007ffd1e2f3a40 error 4 in imgconv[55d0c1a00000+2b000] likely on CPU 1 (core 1, socket 0)")
    return log


def dpkg():
    rows = [
        "2026-11-21 06:25:01 upgrade tzdata:all 2024a-0+deb12u1 2024b-0+deb12u1",
        "2026-11-23 06:25:01 startup archives unpack",
        "2026-11-23 06:25:02 upgrade openssl:amd64 3.0.11-1~deb12u2 3.0.15-1~deb12u1",
        "2026-11-23 06:25:02 status half-configured openssl:amd64 3.0.11-1~deb12u2",
        "2026-11-23 06:25:03 upgrade libssl3:amd64 3.0.11-1~deb12u2 3.0.15-1~deb12u1",
        "2026-11-23 06:25:04 configure openssl:amd64 3.0.15-1~deb12u1 <none>",
        "2026-11-23 06:25:04 status installed openssl:amd64 3.0.15-1~deb12u1",
        "2026-11-23 06:30:00 install htop:amd64 <none> 3.2.2-2",
        "2026-11-23 06:30:01 status installed htop:amd64 3.2.2-2",
        "2026-11-23 06:31:00 remove telnet:amd64 0.17+2.4-2 <none>",
        "2026-11-23 06:31:01 trigproc man-db:amd64 2.11.2-2 <none>",
    ]
    return rows


def access():
    log = Log(lambda t: t.strftime("[%d/%b/%Y:%H:%M:%S +0000]"))

    def req(t, ip, path, status, method="GET", user="-"):
        log.add(t, f'{ip} - {user} {t.strftime("[%d/%b/%Y:%H:%M:%S +0000]")} "{method} {path} HTTP/1.1" {status} 512 "-" "Mozilla/5.0 (X11; Linux x86_64)"')

    for i in range(40):
        req(at(22, 12, 0) + timedelta(minutes=30 * i), f"192.0.2.{100 + i % 5}", ["/", "/about", "/blog/", "/contact"][i % 4], 200)
    req(at(23, 9, 0), "192.0.2.10", "/admin/users", 200, user="alice")
    for i, path in enumerate(["/.env", "/.git/config", "/wp-login.php", "/phpmyadmin/"]):
        req(at(23, 4, 30, 5 * i), "203.0.113.90", path, 404)
    for i in range(35):
        req(at(23, 11, 0, i), "203.0.113.99", f"/catalog/item{i}", 404)
    return log


def error_log():
    log = Log(lambda t: t.strftime("%Y/%m/%d %H:%M:%S"))
    for i in range(2):
        t = at(23, 9, 30 + i)
        log.add(t, f'{t.strftime("%Y/%m/%d %H:%M:%S")} [error] 812#812: *{4400 + i} user "admin": password mismatch, client: 203.0.113.70, server: intranet.example.org, request: "GET /reports/ HTTP/1.1", host: "intranet.example.org"')
    t = at(23, 9, 45)
    log.add(t, f'{t.strftime("%Y/%m/%d %H:%M:%S")} [error] 812#812: *4500 open() "/var/www/html/favicon.ico" failed (2: No such file or directory), client: 192.0.2.101, server: _, request: "GET /favicon.ico HTTP/1.1", host: "www.example.org"')
    return log


def production():
    out = []
    n = 0

    def line(t, rid, msg):
        out.append(f"I, [{t.strftime('%Y-%m-%dT%H:%M:%S.%f')} #2100]  INFO -- : [{rid}] {msg}")

    for i in range(5):
        t = at(23, 10, 20, 30 * i)
        rid = f"0b1c2d3e-0000-4000-8000-{i:012d}"
        line(t, rid, f'Started POST "/users/sign_in" for 203.0.113.130 at {t.strftime("%Y-%m-%d %H:%M:%S")} +0000')
        line(t, rid, "Processing by Devise::SessionsController#create as HTML")
        line(t + timedelta(milliseconds=90), rid, "Completed 401 Unauthorized in 90ms (ActiveRecord: 2.1ms | Allocations: 4567)")
        n += 1
    t = at(23, 10, 30)
    rid = "0b1c2d3e-0000-4000-8000-000000000099"
    line(t, rid, f'Started POST "/users/sign_in" for 192.0.2.40 at {t.strftime("%Y-%m-%d %H:%M:%S")} +0000')
    line(t + timedelta(milliseconds=40), rid, "Completed 303 See Other in 40ms (ActiveRecord: 3.0ms | Allocations: 3456)")
    return out


def journal():
    def entry(t, ident, msg, pid=None, **extra):
        e = {"__REALTIME_TIMESTAMP": str(int(t.timestamp() * 1_000_000)), "_HOSTNAME": "web2", "SYSLOG_IDENTIFIER": ident, "MESSAGE": msg}
        if pid is not None:
            e["_PID"] = str(pid)
        e.update(extra)
        return json.dumps(e, sort_keys=True)

    rows = [
        entry(at(22, 11, 0), "sshd", "Accepted publickey for erin from 192.0.2.60 port 1 ssh2", 10),
        entry(at(23, 9, 0), "sshd", "Accepted publickey for erin from 192.0.2.60 port 2 ssh2", 11),
        entry(at(23, 9, 1), "kernel", "Out of memory: Killed process 901 (node) total-vm:1kB", _TRANSPORT="kernel"),
        # journalctl writes messages that are not UTF-8 as byte arrays.
        json.dumps({"__REALTIME_TIMESTAMP": str(int(at(23, 9, 2).timestamp() * 1_000_000)), "_HOSTNAME": "web2", "SYSLOG_IDENTIFIER": "weird", "MESSAGE": [104, 105, 255, 27, 91, 51, 49, 109]}),
        '{"__REALTIME_TIMESTAMP": "not even closed',
    ]
    for i in range(5):
        rows.append(entry(at(23, 9, 5, i * 10), "sshd", f"Failed password for invalid user admin from 203.0.113.140 port {60000 + i} ssh2", 20 + i))
    return rows


def write(name, lines, binary=False):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = "".join(l + "\n" for l in lines).encode()
    with open(path, "wb") as f:
        f.write(data)


def main():
    a = auth().lines()
    # One line that is not UTF-8 (a user name with invalid bytes), from the slow scanner.
    bad = (classic(at(23, 0, 44)) + f" {HOST} sshd[4999]: Invalid user ").encode() + b"\xff\xfeadm" + b" from 203.0.113.51 port 42999"
    write("auth.log", a)
    with open(os.path.join(OUT, "auth.log"), "ab") as f:
        f.write(bad + b"\n")
    rot = "".join(l + "\n" for l in auth_rotated().lines()).encode()
    # mtime 0 keeps the gzip bytes the same from run to run.
    with open(os.path.join(OUT, "auth.log.1.gz"), "wb") as raw:
        with gzip.GzipFile(filename="auth.log.1", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(rot)
    write("syslog", syslog().lines())
    write("kern.log", kern().lines())
    write("dpkg.log", dpkg())
    write("nginx/access.log", access().lines())
    write("nginx/error.log", error_log().lines())
    write("app/log/production.log", production())
    write("journal.json", journal())


if __name__ == "__main__":
    main()
