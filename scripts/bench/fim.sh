#!/usr/bin/env bash
# Benchmark of `allclear host fim` side by side with Debian's `aide` (issue 4).
#
# Both tools read the SAME aide.conf (one rule, `p+ftype+i+l+n+u+g+s+m+c+sha256`, over the
# same tree), so they record the same attributes with the same hash; allclear reads it with
# `--aide-config`. AIDE is given `num_workers=2` (its default is 1) so both use both cores,
# and `gzip_dbout=no` (Debian's default is yes) so it does not spend time compressing: both
# choices favour AIDE. Cache is warm (one warm-up run before the timed runs).
#
#   1. init:  `allclear host fim init`  vs `aide --init`
#   2. check with nothing changed: `allclear host fim check` vs `aide --check`
#   3. peak RSS of all four (/usr/bin/time -f %M)
#
# The tree is generated: FILES files (default 100,000) in directories of 100; most are small
# (0..SMALL_MAX bytes, default 32 KiB), every BIG_EVERY-th (default 1000th) is BIG_SIZE
# (default 16 MiB). TREE=/usr benchmarks an existing tree instead (read-only).
#
# Usage: scripts/bench/fim.sh     (RUNS=N timed runs, default 5; FILES, SMALL_MAX, BIG_EVERY,
#                                  BIG_SIZE, TREE as above; ALLCLEAR_BIN=path skips the build)
# Needs: aide (apt-get install aide), hyperfine (apt), python3, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
RUNS="${RUNS:-5}"
FILES="${FILES:-100000}"
SMALL_MAX="${SMALL_MAX:-32768}"
BIG_EVERY="${BIG_EVERY:-1000}"
BIG_SIZE="${BIG_SIZE:-16777216}"
command -v aide >/dev/null || { echo "install aide (apt-get install aide)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "install GNU time (apt-get install time)" >&2; exit 2; }

bench_binary
bench_workdir

bench_machine
echo "sha extensions: $(grep -q -m1 -w sha_ni /proc/cpuinfo && echo yes || echo no)"
aide --version 2>&1 | head -1

echo
if [ -n "${TREE:-}" ]; then
    tree="$TREE"
    echo "## tree: $tree (existing)"
else
    tree="$work/tree"
    echo "## tree: generated, $FILES files"
    python3 - "$tree" "$FILES" "$SMALL_MAX" "$BIG_EVERY" "$BIG_SIZE" <<'PY'
import os, random, sys
root, files, small_max, big_every, big_size = sys.argv[1], *map(int, sys.argv[2:])
rng = random.Random(4)  # the same tree every time
pool = os.urandom(max(big_size, small_max) * 2)
for i in range(files):
    d = os.path.join(root, f"d{i // 10000:02}", f"s{i // 100 % 100:02}")
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    size = big_size if big_every and i % big_every == big_every - 1 else rng.randrange(small_max + 1)
    off = rng.randrange(len(pool) - size + 1)
    with open(os.path.join(d, f"f{i}.bin"), "wb") as f:
        f.write(f"{i}\n".encode() + pool[off:off + size])
PY
fi
entries=$(find "$tree" -xdev | wc -l)
bytes=$(du -sb --apparent-size "$tree" 2>/dev/null | cut -f1)
regular=$(find "$tree" -xdev -type f | wc -l)
echo "$entries entries ($regular regular files), $(numfmt --to=iec-i --suffix=B "$bytes") apparent size"

conf="$work/aide.conf"
cat > "$conf" <<EOF
# One configuration for both tools.
database_in=file:$work/aide.db
database_out=file:$work/aide.db.new
gzip_dbout=no
num_workers=2
report_url=stdout
Bench = p+ftype+i+l+n+u+g+s+m+c+sha256
$tree Bench
EOF
echo
echo "## aide.conf (read by both)"
cat "$conf"

ac_init="$BIN host fim init --aide-config $conf --baseline $work/ac.baseline --force"
ac_check="$BIN host fim check --aide-config $conf --baseline $work/ac.baseline --format json"
aide_init="aide --init -c $conf"
aide_check="aide --check -c $conf"

# Warm the cache and make the databases the checks compare with.
cat_tree() { find "$tree" -xdev -type f -print0 | xargs -0 cat > /dev/null 2>&1 || true; }
cat_tree
$aide_init > /dev/null
mv "$work/aide.db.new" "$work/aide.db"
$ac_init > /dev/null

echo
echo "## nothing changed: both must say so (exit 0)"
set +e
$aide_check > "$work/aide-check.txt" 2>&1; aide_rc=$?
$ac_check > "$work/ac-check.json" 2> "$work/ac-check.err"; ac_rc=$?
set -e
echo "aide --check exit $aide_rc; allclear check exit $ac_rc: $(cat "$work/ac-check.err")"
if [ "$aide_rc" != 0 ] || [ "$ac_rc" != 0 ]; then
    echo "a check found changes in an unchanged tree; stopping" >&2
    head -40 "$work/aide-check.txt" "$work/ac-check.json" >&2
    exit 1
fi

median() { # hyperfine JSON → "median_seconds"
    python3 -c 'import json,statistics,sys; print(statistics.median(json.load(open(sys.argv[1]))["results"][0]["times"]))' "$1"
}

echo
echo "## 1. init"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$work/init-ac.json" -n "allclear init" \
    --prepare "rm -f $work/ac.baseline" "$ac_init"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$work/init-aide.json" -n "aide --init" \
    --prepare "rm -f $work/aide.db.new" "$aide_init"

echo
echo "## 2. check, nothing changed"
$ac_init > /dev/null
hyperfine --warmup 1 --runs "$RUNS" --export-json "$work/check-ac.json" -n "allclear check" "$ac_check"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$work/check-aide.json" -n "aide --check" "$aide_check"

echo
echo "## 3. peak RSS (/usr/bin/time -f %M, one run each)"
peak_kib() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
rm -f "$work/ac.baseline" "$work/aide.db.new"
rss_ac_init=$(peak_kib $ac_init)
rss_aide_init=$(peak_kib $aide_init)
rss_ac_check=$(peak_kib $ac_check)
rss_aide_check=$(peak_kib $aide_check)

echo
echo "## summary (medians of $RUNS runs; ratio = aide / allclear)"
python3 - "$(median "$work/init-ac.json")" "$(median "$work/init-aide.json")" \
    "$(median "$work/check-ac.json")" "$(median "$work/check-aide.json")" \
    "$rss_ac_init" "$rss_aide_init" "$rss_ac_check" "$rss_aide_check" <<'PY'
import sys
ai, di, ac, dc = map(float, sys.argv[1:5])
ri_a, ri_d, rc_a, rc_d = (int(x) / 1024 for x in sys.argv[5:9])
print(f"init : allclear {ai:8.3f} s   aide {di:8.3f} s   {di / ai:5.1f}x faster (target >= 3x)")
print(f"check: allclear {ac:8.3f} s   aide {dc:8.3f} s   {dc / ac:5.1f}x faster (target >= 10x)")
print(f"peak RSS init : allclear {ri_a:7.1f} MiB   aide {ri_d:7.1f} MiB   ratio {ri_a / ri_d:.2f} (target <= 1)")
print(f"peak RSS check: allclear {rc_a:7.1f} MiB   aide {rc_d:7.1f} MiB   ratio {rc_a / rc_d:.2f} (target <= 1)")
PY
echo "baseline sizes: allclear $(stat -c %s "$work/ac.baseline") B, aide $(stat -c %s "$work/aide.db") B (uncompressed)"
