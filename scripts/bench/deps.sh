#!/usr/bin/env bash
# Benchmarks of the dependency audit (issue: allclear scan, dependency vulnerability audit).
#
#   1. import every advisory source under ../shared/advisories
#   2. scan a generated monorepo of 200 lockfiles / ~50,000 package entries (time and peak RSS)
#   3. allclear vs the `cargo-audit` binary (`cargo-audit audit --db DIR --no-fetch --no-yanked`)
#      on the same Cargo.lock and RustSec database, and whether both find the same advisories.
#      The binary is called directly: `cargo audit` goes through rustup's `cargo` proxy, which
#      adds 25-30 ms per run that is not cargo-audit's own time. `--no-yanked` keeps it from
#      spending time on (offline) yanked-crate lookups, which allclear does not do either.
#      CARGO_LOCK=FILE benchmarks another Cargo.lock (uv's has ~750 packages).
#
# Usage: scripts/bench/deps.sh            (RUNS=N to change the number of timed runs)
# Needs: hyperfine (apt), cargo-audit (cargo install cargo-audit --locked), python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
SHARED="${ALLCLEAR_SHARED:-$(cd .. && pwd)/shared}"
RUNS="${RUNS:-10}"
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 2; }
CARGO_AUDIT="${CARGO_AUDIT:-$(command -v cargo-audit || true)}"
[ -x "$CARGO_AUDIT" ] || { echo "install cargo-audit (cargo install cargo-audit --locked) or set CARGO_AUDIT" >&2; exit 2; }

bench_binary
bench_workdir

bench_machine
"$CARGO_AUDIT" audit --version

peak_rss_mb() { # command… → peak resident set size in MB
    /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'
}

echo
echo "## 1. import every source in $SHARED/advisories"
hyperfine --runs 5 --prepare "rm -rf $work/db-import" \
    "$BIN db import --quiet --db $work/db-import $SHARED/advisories/*"
echo "peak RSS: $(peak_rss_mb "$BIN" db import --quiet --db "$work/db-rss" "$SHARED"/advisories/*) MB"

echo
echo "## 2. monorepo scan"
python3 scripts/bench/gen-monorepo.py "$work/monorepo" --shared "$SHARED"
"$BIN" db import --quiet --db "$work/db" "$SHARED"/advisories/*
packages=$("$BIN" scan --db "$work/db" "$work/monorepo" --format json --fail-on critical 2>/dev/null \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["summary"]["findings"])' || true)
echo "findings on the monorepo: $packages"
hyperfine --warmup 3 --runs "$RUNS" -i \
    "$BIN scan --db $work/db $work/monorepo --format json -o $work/out.json"
echo "peak RSS: $(peak_rss_mb "$BIN" scan --db "$work/db" "$work/monorepo" --format json -o "$work/out2.json") MB"

echo
echo "## 3. allclear vs cargo-audit on the same Cargo.lock and RustSec database"
cp -r "$SHARED/advisories/rustsec" "$work/rustsec-db"
"$BIN" db import --quiet --db "$work/db-rust" "$work/rustsec-db"
mkdir -p "$work/cargo"
# This repository's own Cargo.lock, plus old releases of popular crates with known advisories,
# so both tools have real matching to do.
if [ -n "${CARGO_LOCK:-}" ]; then
    cp "$CARGO_LOCK" "$work/cargo/Cargo.lock"
else
cp Cargo.lock "$work/cargo/Cargo.lock"
while read -r name version; do
    printf '\n[[package]]\nname = "%s"\nversion = "%s"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n' \
        "$name" "$version" >> "$work/cargo/Cargo.lock"
done <<'CRATES'
time 0.1.43
smallvec 1.6.0
hyper 0.14.10
tokio 1.8.0
regex 1.5.4
chrono 0.4.19
openssl 0.10.38
h2 0.3.16
rustls 0.20.0
tar 0.4.35
crossbeam-channel 0.5.7
sqlx 0.7.4
zip 0.6.6
idna 0.4.0
ring 0.16.20
yaml-rust 0.4.5
atty 0.2.14
ansi_term 0.12.1
CRATES
fi
packages=$(grep -c '^\[\[package\]\]' "$work/cargo/Cargo.lock")
echo "Cargo.lock with $packages packages"
hyperfine --warmup 3 --runs "$RUNS" -i --export-json "$work/vs-cargo-audit.json" \
    -n allclear "$BIN scan --db $work/db-rust $work/cargo --format json -o $work/ac.json" \
    -n allclear-deps-only "$BIN scan --db $work/db-rust $work/cargo --only deps --format json -o $work/ad.json" \
    -n cargo-audit "$CARGO_AUDIT audit --db $work/rustsec-db --no-fetch --no-yanked --stale --json --file $work/cargo/Cargo.lock > $work/ca.json"
python3 - "$work/vs-cargo-audit.json" <<'PY'
import json, statistics, sys
runs = {r["command"]: statistics.median(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
for ours in ("allclear", "allclear-deps-only"):
    print(f"median {ours} {runs[ours]*1000:.1f} ms, cargo-audit {runs['cargo-audit']*1000:.1f} ms, "
          f"ratio {runs['cargo-audit']/runs[ours]:.1f}x")
PY
"$BIN" scan --db "$work/db-rust" "$work/cargo" --format json -o "$work/ac.json" || true
"$CARGO_AUDIT" audit --db "$work/rustsec-db" --no-fetch --no-yanked --stale --json --file "$work/cargo/Cargo.lock" > "$work/ca.json" || true
python3 - "$work/ac.json" "$work/ca.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
theirs = json.load(open(sys.argv[2]))
def ours_ids():
    found = set()
    for f in ours["findings"]:
        if f["rule"] in ("deps.vulnerable", "deps.unsupported") and f.get("package"):
            for i in f.get("advisories", []):
                if i.startswith("RUSTSEC-"):
                    found.add((f["package"]["name"], f["package"]["version"], i))
    return found
def theirs_ids():
    found = set()
    for v in theirs["vulnerabilities"]["list"]:
        found.add((v["package"]["name"], v["package"]["version"], v["advisory"]["id"]))
    for kind, items in theirs.get("warnings", {}).items():
        for w in items:
            if w.get("advisory"):
                found.add((w["package"]["name"], w["package"]["version"], w["advisory"]["id"]))
    return found
a, b = ours_ids(), theirs_ids()
print(f"allclear: {len(a)} (package, version, advisory) triples; cargo-audit: {len(b)}; in both: {len(a & b)}")
for t in sorted(a - b): print("  only allclear:", *t)
for t in sorted(b - a): print("  only cargo-audit:", *t)
PY
