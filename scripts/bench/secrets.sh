#!/usr/bin/env bash
# Benchmarks of the secrets scan (issue: secrets, restricted files and personal data).
#
#   1. a directory of real source (default: the crates in ~/.cargo/registry/src, ~500 MB),
#      allclear vs Kingfisher (--no-validate), ripsecrets and detect-secrets: wall time,
#      MB/s, peak memory
#   2. a git history (generated: successive versions of real crates committed one after
#      another), allclear --history vs Kingfisher's history scan
#   3. a pre-commit scan of a typical staged change (allclear scan --staged)
#
# Usage: scripts/bench/secrets.sh         (TREE=DIR to scan another tree, RUNS=N timed runs)
# Needs: hyperfine (apt), kingfisher and detect-secrets (pip install kingfisher-bin
# detect-secrets), ripsecrets (cargo install ripsecrets --locked), git, python3.
# Warm cache: every tool gets a warm-up run first.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
RUNS="${RUNS:-5}"
TREE="${TREE:-$HOME/.cargo/registry/src}"
for tool in hyperfine kingfisher ripsecrets detect-secrets git python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (see the header of $0)" >&2; exit 2; }
done

bench_binary
bench_workdir

bench_machine
echo "kingfisher $(kingfisher --version | awk '{print $2}'), ripsecrets $(ripsecrets --version | awk '{print $2}'), detect-secrets $(detect-secrets --version)"

peak_rss_mb() { # command… → peak resident set size in MB
    # Scanners exit non-zero when they find something: that is not a failure here.
    { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null || true; } | tail -1 | awk '{printf "%.0f", $1/1024}'
}
# hyperfine's median of a command, in seconds
median() {
    local name="$1"; shift
    hyperfine -N -i --warmup 1 --runs "$RUNS" --export-json "$work/$name.json" "$@" >/dev/null 2>&1
    python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/$name.json"
}

bytes=$(du -sb "$TREE" | cut -f1)
mb=$(python3 -c "print(round($bytes/1e6))")
files=$(find "$TREE" -type f | wc -l)
echo
echo "## 1. directory: $TREE ($mb MB, $files files), warm cache"
printf '| tool | command | median | MB/s | peak RSS |\n|---|---|---|---|---|\n'
row() { # name, command…
    local name="$1"; shift
    local t; t=$(median "$name" "$*")
    local rss; rss=$(peak_rss_mb "$@")
    printf '| %s | `%s` | %s s | %s | %s MB |\n' "$name" "$*" "$t" \
        "$(python3 -c "print(round($mb/$t))")" "$rss"
}
row allclear "$BIN" scan "$TREE" --only secrets --no-ignore --format json -o "$work/a.json"
row kingfisher kingfisher scan "$TREE" --no-validate --git-history none --format json -o "$work/k.json"
row ripsecrets ripsecrets "$TREE"
# detect-secrets is pure Python (about half a MB/s here): one run on a twentieth of the tree.
# It only scans below its working directory, hence `env -C`.
sub="$work/subset"
mkdir -p "$sub"
find "$TREE" -mindepth 2 -maxdepth 2 -type d | sort | awk 'NR % 20 == 0' | while read -r d; do
    cp -r "$d" "$sub/"
done
sub_mb=$(python3 -c "print(round($(du -sb "$sub" | cut -f1)/1e6, 1))")
t=$(RUNS=1 median detect-secrets-sub "env -C $sub detect-secrets scan --all-files .")
printf '| detect-secrets (a twentieth: %s MB) | `detect-secrets scan --all-files .` in SUBSET | %s s | %s | %s MB |\n' \
    "$sub_mb" "$t" "$(python3 -c "print(round($sub_mb/$t, 1))")" \
    "$(peak_rss_mb env -C "$sub" detect-secrets scan --all-files .)"
t=$(median allclear-sub "$BIN scan $sub --only secrets --no-ignore --format json -o $work/as.json")
printf '| allclear (same twentieth) | `allclear scan SUBSET --only secrets --no-ignore` | %s s | %s | |\n' \
    "$t" "$(python3 -c "print(round($sub_mb/$t))")"

echo
echo "## 2. git history"
repo="$work/history"
python3 - "$TREE" "$repo" <<'PY'
# Successive versions of the same crates, one commit each: a history of real code with
# many changed blobs, like a long-lived repository.
import os, re, shutil, subprocess, sys
tree, repo = sys.argv[1], sys.argv[2]
os.makedirs(repo)
run = lambda *a: subprocess.run(a, cwd=repo, check=True, stdout=subprocess.DEVNULL)
run("git", "init", "-q", "-b", "main", ".")
run("git", "config", "user.email", "bench@example.org")
run("git", "config", "user.name", "bench")
versions = {}
for index in sorted(os.listdir(tree)):
    for name in os.listdir(os.path.join(tree, index)):
        m = re.match(r"(.+)-(\d+\.\d+\.\d+.*)$", name)
        if m:
            versions.setdefault(m.group(1), []).append(os.path.join(tree, index, name))
crates = sorted((c for c, v in versions.items() if len(v) >= 2), key=lambda c: -len(versions[c]))[:40]
commits = 0
for step in range(max(len(versions[c]) for c in crates)):
    for crate in crates:
        if step < len(versions[crate]):
            dest = os.path.join(repo, crate)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(sorted(versions[crate])[step], dest)
    run("git", "add", "-A", ".")
    run("git", "commit", "-q", "--no-verify", "-m", f"step {step}")
    commits += 1
print(f"{commits} commits of {len(crates)} crates")
PY
pack_mb=$(du -sm "$repo/.git" | cut -f1)
blobs=$(git -C "$repo" rev-list --objects --all | cut -d' ' -f1 | git -C "$repo" cat-file --batch-check='%(objecttype) %(objectsize)' | awk '$1=="blob" {n++; s+=$2} END {printf "%d blobs, %.0f MB", n, s/1e6}')
echo "repository: $blobs uncompressed, .git $pack_mb MB"
printf '| tool | command | median | peak RSS |\n|---|---|---|---|\n'
t=$(median allclear-history "$BIN scan $repo --only secrets --history --format json -o $work/h.json")
printf '| allclear | `allclear scan REPO --only secrets --history` | %s s | %s MB |\n' "$t" \
    "$(peak_rss_mb "$BIN" scan "$repo" --only secrets --history --format json -o "$work/h2.json")"
t=$(median kingfisher-history "kingfisher scan $repo --no-validate --git-history full --format json -o $work/kh.json")
printf '| kingfisher | `kingfisher scan REPO --no-validate --git-history full` | %s s | %s MB |\n' "$t" \
    "$(peak_rss_mb kingfisher scan "$repo" --no-validate --git-history full --format json -o "$work/kh2.json")"

echo
echo "## 3. pre-commit: a typical staged change (3 files, ~200 lines) in that repository"
crate_dir=$(find "$repo" -mindepth 1 -maxdepth 1 -type d ! -name .git | head -1)
for f in $(find "$crate_dir" -name '*.rs' | head -3); do
    printf '\n// a local change\nfn added_%s() {}\n' "$RANDOM" >> "$f"
    git -C "$repo" add "$f"
done
t=$(median staged "$BIN scan $repo --staged --format json -o $work/s.json")
printf '| allclear | `allclear scan REPO --staged` | %s ms |\n' "$(python3 -c "print(round($t*1000, 1))")"
t=$(median kingfisher-staged "kingfisher scan $repo --no-validate --staged --format json -o $work/ks.json")
printf '| kingfisher | `kingfisher scan REPO --no-validate --staged` | %s ms |\n' "$(python3 -c "print(round($t*1000, 1))")"
