#!/usr/bin/env bash
# Benchmark of `allclear host logs scan` side by side with Debian's `fail2ban-regex` (issue 5).
#
# Both tools read the SAME filter: Debian's /etc/fail2ban/filter.d/sshd.conf (with its
# common.conf), unchanged, in its default mode (normal). They read the same generated auth log
# (scripts/bench/gen-authlog.py, LINES lines, default 1,000,000) on one core (`taskset -c 0`),
# with a warm page cache.
#
#   1. time: hyperfine medians (RUNS runs for allclear, F2B_RUNS for fail2ban-regex, which is
#      slow), lines/s for both and the ratio
#   2. peak RSS of both (/usr/bin/time -f %M)
#   3. agreement: the set of matched (failure) lines and the set of hosts, from
#      `fail2ban-regex --print-all-matched` and `-o id`, and from
#      `allclear host logs scan --all-matches --format json`
#
# fail2ban-regex gets `-r` (no DNS) and `--print-no-missed --print-no-ignored` in the timed
# runs so it spends its time matching, not printing.
#
# Usage: scripts/bench/logs.sh   (LINES=N, RUNS=N default 5, F2B_RUNS=N default 3,
#                                 LOG=path to reuse a log, ALLCLEAR_BIN=path skips the build,
#                                 CONFIG_DIR=dir, default /etc/fail2ban)
# Needs: fail2ban (installed with apt-get if missing and running as root), hyperfine,
# python3, GNU time (/usr/bin/time), taskset (util-linux).
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES="${LINES:-1000000}"
RUNS="${RUNS:-5}"
F2B_RUNS="${F2B_RUNS:-3}"
CONFIG_DIR="${CONFIG_DIR:-/etc/fail2ban}"
if ! command -v fail2ban-regex >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y fail2ban >/dev/null
    else
        echo "install fail2ban (sudo apt-get install fail2ban)" >&2; exit 2
    fi
fi
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "install GNU time (apt-get install time)" >&2; exit 2; }

if [ -n "${ALLCLEAR_BIN:-}" ]; then
    BIN="$(realpath "$ALLCLEAR_BIN")"
else
    cargo build --release --quiet -p allclear
    BIN="$PWD/target/release/allclear"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "## machine"
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
grep -m1 'model name' /proc/cpuinfo | sed 's/^.*: /cpu: /'
"$BIN" --version
echo "fail2ban-regex $(fail2ban-regex --version 2>&1 | head -1 | awk '{print $NF}') ($(dpkg-query -W -f '${Version}' fail2ban 2>/dev/null || echo '?')), $(python3 --version)"
echo "filter: $CONFIG_DIR/filter.d/sshd.conf"

echo
if [ -n "${LOG:-}" ]; then
    log="$LOG"
else
    log="$work/auth.log"
    python3 scripts/bench/gen-authlog.py "$log" "$LINES"
fi
lines=$(wc -l <"$log")
echo "## log: $lines lines, $(numfmt --to=iec-i --suffix=B "$(stat -c %s "$log")")"
cat "$log" >/dev/null  # warm the page cache

f2b=(fail2ban-regex -r --print-no-missed --print-no-ignored "$log" "$CONFIG_DIR/filter.d/sshd.conf")
ac=("$BIN" host logs scan -q --filter sshd --config-dir "$CONFIG_DIR" "$log")
echo
echo "## commands (each under taskset -c 0)"
echo "fail2ban-regex: ${f2b[*]}"
echo "allclear:       ${ac[*]}"

echo
echo "## time"
# allclear exits 1 when it finds something to ban (-i); the agreement run below checks it ran.
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$work/ac.json" -i \
    -n allclear "taskset -c 0 ${ac[*]}"
hyperfine --style basic --runs "$F2B_RUNS" --export-json "$work/f2b.json" \
    -n fail2ban-regex "taskset -c 0 ${f2b[*]}"

echo
echo "## peak memory"
/usr/bin/time -f %M -o "$work/ac.mem" taskset -c 0 "${ac[@]}" >/dev/null || [ $? = 1 ]
/usr/bin/time -f %M -o "$work/f2b.mem" taskset -c 0 "${f2b[@]}" >/dev/null
echo "allclear:       $(tail -1 "$work/ac.mem" | awk '{printf "%.1f MB", $1/1024}')"
echo "fail2ban-regex: $(tail -1 "$work/f2b.mem" | awk '{printf "%.1f MB", $1/1024}')"

echo
echo "## agreement"
fail2ban-regex -r --print-all-matched --print-no-missed --print-no-ignored "$log" \
    "$CONFIG_DIR/filter.d/sshd.conf" >"$work/f2b.matched"
fail2ban-regex -r -o id "$log" "$CONFIG_DIR/filter.d/sshd.conf" >"$work/f2b.ids"
"$BIN" host logs scan -q --filter sshd --config-dir "$CONFIG_DIR" --all-matches \
    --format json "$log" >"$work/ac.json.out" || [ $? = 1 ]

python3 - "$log" "$work" "$lines" <<'PY'
import json, statistics, sys
log, work, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])

# fail2ban-regex: matched lines follow "|- Matched line(s):" as "|  <line>" until "`-".
f2b_lines, inside = [], False
for row in open(f"{work}/f2b.matched", encoding="utf-8", errors="replace"):
    row = row.rstrip("\n")
    if row.startswith("|- Matched line(s):"):
        inside = True
    elif inside and row.startswith("|  "):
        f2b_lines.append(row[3:])
    elif inside:
        break
f2b_hosts = {r.strip() for r in open(f"{work}/f2b.ids") if r.strip()}

doc = json.load(open(f"{work}/ac.json.out"))
scan = doc["scan"]
counted = sorted({m["line"] for m in scan["matches"] if m["counts"]})
ac_hosts = {m["host"] for m in scan["matches"] if m["counts"] and m["host"]}
text = open(log, encoding="utf-8", errors="replace").read().split("\n")
ac_lines = [text[n - 1] for n in counted]

same_lines = sorted(f2b_lines) == sorted(ac_lines)
print(f"matched lines: fail2ban-regex {len(f2b_lines)}, allclear {len(ac_lines)} "
      f"({scan['matched_lines']} reported), same set: {'yes' if same_lines else 'NO'}")
if not same_lines:
    a, b = set(f2b_lines), set(ac_lines)
    for l in sorted(a - b)[:5]:
        print(f"  only fail2ban-regex: {l}")
    for l in sorted(b - a)[:5]:
        print(f"  only allclear:       {l}")
print(f"hosts: fail2ban-regex {len(f2b_hosts)}, allclear {len(ac_hosts)}, same set: "
      f"{'yes' if f2b_hosts == ac_hosts else 'NO'}")
if f2b_hosts != ac_hosts:
    print(f"  only fail2ban-regex: {sorted(f2b_hosts - ac_hosts)[:5]}")
    print(f"  only allclear:       {sorted(ac_hosts - f2b_hosts)[:5]}")

med, cpu = {}, {}
for name in ("ac", "f2b"):
    r = json.load(open(f"{work}/{name}.json"))["results"][0]
    med[name] = statistics.median(r["times"])
    # CPU seconds (user + system, mean over the runs): robust when other processes compete
    # for the core, which stretches wall-clock time but not CPU time.
    cpu[name] = r["user"] + r["system"]
print()
print("## result")
print(f"allclear:       median {med['ac']:.3f} s wall, {lines / med['ac']:,.0f} lines/s; "
      f"{cpu['ac']:.3f} s CPU, {lines / cpu['ac']:,.0f} lines/s")
print(f"fail2ban-regex: median {med['f2b']:.3f} s wall, {lines / med['f2b']:,.0f} lines/s; "
      f"{cpu['f2b']:.3f} s CPU, {lines / cpu['f2b']:,.0f} lines/s")
print(f"ratio: {med['f2b'] / med['ac']:.1f}x (wall), {cpu['f2b'] / cpu['ac']:.1f}x (CPU)")
PY
