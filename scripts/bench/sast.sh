#!/usr/bin/env bash
# Benchmarks of the code check (issue 17: insecure code in Rails and Drupal, allclear-sast).
#
#   1. `allclear scan --only code` on a real Rails codebase (../shared/realworld/dcaf_case_management)
#      and on Drupal core (DRUPAL_TREE: a checkout of https://github.com/drupal/core, scanned
#      from its root so its own paths are not taken for a vendored core/), pinned to one core
#      with taskset: files per second per core, and peak RSS.
#   2. Semgrep side by side, when `semgrep` is on PATH and SEMGREP_RULES points at a checkout of
#      https://github.com/semgrep/semgrep-rules (its ruby/ and php/ folders are used): time
#      ratio on the same trees.
#
# Usage: DRUPAL_TREE=~/src/drupal-core scripts/bench/sast.sh     (RUNS=N for more timed runs)
# Needs: hyperfine (apt), GNU time (apt: time), util-linux taskset.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
SHARED="${ALLCLEAR_SHARED:-$(cd .. && pwd)/shared}"
RUNS="${RUNS:-10}"
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 2; }

bench_binary
bench_workdir
bench_machine

# The files the code check reads (its languages; third-party and test folders left out).
code_files() {
    find "$1" \( -name vendor -o -name contrib -o -name node_modules -o -name .git -o -name test \
        -o -name tests -o -name Tests -o -name spec -o -name fixtures \) -prune -o -type f \
        \( -name '*.rb' -o -name '*.rake' -o -name '*.erb' -o -name '*.php' -o -name '*.module' \
        -o -name '*.inc' -o -name '*.install' -o -name '*.theme' -o -name '*.profile' \
        -o -name '*.engine' -o -name '*.twig' -o -name '*.routing.yml' \) -print | wc -l
}

peak_rss_mb() { # command… → peak resident set size in MB
    /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'
}

bench_tree() { # name dir
    local name="$1" dir="$2"
    local files
    files=$(code_files "$dir")
    echo
    echo "## $name: $files code files"
    hyperfine --warmup 2 --runs "$RUNS" -i --export-json "$work/$name.json" \
        "taskset -c 0 $BIN scan --only code --min-confidence weak --format json -o $work/$name.out $dir"
    python3 - "$work/$name.json" "$files" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))["results"][0]
files = int(sys.argv[2])
print(f"median {result['median']*1000:.0f} ms on one core: {files / result['median']:.0f} files/s/core")
PY
    echo "findings: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$work/$name.out")"
    echo "peak RSS (both cores): $(peak_rss_mb "$BIN" scan --only code --min-confidence weak --format json -o "$work/$name.rss" "$dir") MB"
    if command -v semgrep >/dev/null && [ -n "${SEMGREP_RULES:-}" ]; then
        hyperfine --runs "${SEMGREP_RUNS:-1}" -i \
            "SEMGREP_ENABLE_VERSION_CHECK=0 taskset -c 0 semgrep scan --metrics=off --disable-version-check --quiet --jobs 1 --config $SEMGREP_RULES/ruby --config $SEMGREP_RULES/php --json -o $work/$name.semgrep.json $dir"
    fi
}

bench_tree rails "$SHARED/realworld/dcaf_case_management"
bench_tree drupal-site "$SHARED/realworld/vote-gov-drupal"
if [ -n "${DRUPAL_TREE:-}" ]; then
    bench_tree drupal-core "$DRUPAL_TREE"
else
    echo "DRUPAL_TREE not set: Drupal core not measured (git clone https://github.com/drupal/core)" >&2
fi
