#!/usr/bin/env bash
# Benchmark of `allclear host audit` with a published Wazuh SCA policy (issue 16).
#
#   0. the built-in baseline (31 typed checks) on this host, and on a tree (target < 1 s);
#   1. CIS Debian 12 (../shared/conformance/sca/cis_debian12.yml) on this host, file rules
#      only (commands not allowed): the part allclear evaluates by itself.
#   2. The same with --allow-commands: most of the time is then the policy's ~130 commands
#      (findmnt, systemctl, dpkg-query, sshd -T…), not allclear.
#   3. The same policy on a tree (--root): this host's /etc copied to a scratch directory.
#
# Side by side with OpenSCAP: only when `oscap` and the SCAP Security Guide content for
# Debian are installed (apt-get install openscap-scanner ssg-debian); else said and skipped.
# Usage: scripts/bench/audit.sh   (RUNS=N timed runs, default 10; ALLCLEAR_BIN=path skips
#                                  the build; ALLCLEAR_SHARED=dir for the shared test data)
# Needs: hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
RUNS="${RUNS:-10}"
SHARED="${ALLCLEAR_SHARED:-$PWD/../shared}"
POLICY="$SHARED/conformance/sca/cis_debian12.yml"
[ -f "$POLICY" ] || { echo "no $POLICY (set ALLCLEAR_SHARED)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 2; }

bench_binary
bench_workdir
bench_machine
echo

mkdir -p "$work/root"
cp -a /etc "$work/root/etc" 2>/dev/null || true

for mode in "" "--allow-commands"; do
    "$BIN" host audit --policy "$POLICY" $mode --format json >/dev/null 2>"$work/counts" || true
    echo "counts ($mode): $(cat "$work/counts")"
done
"$BIN" host audit --policy "$POLICY" --root "$work/root" --format json >/dev/null 2>"$work/counts" || true
echo "counts (--root): $(cat "$work/counts")"
echo

hyperfine --warmup 2 --runs "$RUNS" -N --ignore-failure --export-markdown "$work/table.md" \
    -n "baseline, host" "$BIN host audit --format json" \
    -n "baseline, --root (copy of /etc)" "$BIN host audit --root $work/root --format json" \
    -n "cis_debian12, host, files only" "$BIN host audit --policy $POLICY --format json" \
    -n "cis_debian12, host, --allow-commands" "$BIN host audit --policy $POLICY --allow-commands --format json" \
    -n "cis_debian12, --root (copy of /etc)" "$BIN host audit --policy $POLICY --root $work/root --format json"
cat "$work/table.md"

if command -v oscap >/dev/null && ls /usr/share/xml/scap/ssg/content/ssg-debian*-ds.xml >/dev/null 2>&1; then
    # Debian 12's ssg-debian (0.1.65) has content for Debian 10 and 11 only: on a Debian 12
    # host every rule's platform check fails and the result is "notapplicable". The timing is
    # still what running OpenSCAP's Debian content costs; the counts say what it decided.
    content="$(ls /usr/share/xml/scap/ssg/content/ssg-debian*-ds.xml | sort -V | tail -1)"
    profile=xccdf_org.ssgproject.content_profile_standard
    echo
    echo "oscap: $(oscap --version | head -1), $content, $profile"
    oscap xccdf eval --profile "$profile" "$content" 2>/dev/null | awk '/^Result/ {n[$2]++} END {for (r in n) printf "oscap results: %s %d\n", r, n[r]}' || true
    hyperfine --warmup 1 --runs 3 -N --ignore-failure \
        -n "oscap xccdf eval (standard profile)" \
        "oscap xccdf eval --profile $profile $content"
else
    echo
    echo "oscap or ssg-debian not installed: no side-by-side run (apt-get install openscap-scanner ssg-debian)"
fi
