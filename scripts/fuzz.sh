#!/usr/bin/env bash
# Runs every cargo-fuzz target of the workspace for a fixed time budget (CI calls this).
#
#   scripts/fuzz.sh                  # every target, FUZZ_SECONDS (default 25) each
#   scripts/fuzz.sh allclear-logs    # only the targets of these crates
#
# For each target, first every input under crates/X/fuzz/regressions/TARGET/ is replayed (a
# crash found once stays found), then libFuzzer runs for the budget on the target's corpus.
# A crash, a timeout or an out-of-memory input fails the run; libFuzzer writes the input into
# the regressions folder, so committing it (with the fix) turns it into a regression test.
#
# Corpora are kept between runs in FUZZ_CORPUS (default ~/.cache/allclear/fuzz-corpus), not in
# the repository: they grow to thousands of files, and a fresh machine starts from the
# regressions and the targets' own dictionaries just the same.
#
# Needs cargo-fuzz (installed here if missing). The stable compiler builds the targets with
# RUSTC_BOOTSTRAP=1; no sanitizer (`-s none`): our crates forbid unsafe code, and the budget
# buys about twice as many executions without AddressSanitizer (docs/decisions/0008-fuzzing-in-ci.md).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-25}"
corpus_root="${FUZZ_CORPUS:-${XDG_CACHE_HOME:-$HOME/.cache}/allclear/fuzz-corpus}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/fuzz}"

if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked --version 0.13.2 --quiet
fi

crates=("$@")
if [ "${#crates[@]}" -eq 0 ]; then
    for fuzz in crates/*/fuzz; do
        [ -f "$fuzz/Cargo.toml" ] && crates+=("$(basename "$(dirname "$fuzz")")")
    done
fi

failed=()
for crate in "${crates[@]}"; do
    fuzz="crates/$crate/fuzz"
    cargo fuzz build --fuzz-dir "$fuzz" -s none --target-dir "$CARGO_TARGET_DIR" >/dev/null
    for target in $(cargo fuzz list --fuzz-dir "$fuzz"); do
        regressions="$fuzz/regressions/$target"
        corpus="$corpus_root/$crate/$target"
        mkdir -p "$regressions" "$corpus"
        # run DIR LIBFUZZER-FLAG
        run() {
            cargo fuzz run --fuzz-dir "$fuzz" -s none --target-dir "$CARGO_TARGET_DIR" \
                "$target" "$1" -- "$2" -artifact_prefix="$regressions/" -timeout=10 \
                -rss_limit_mb=2048 -print_final_stats=1 2>&1
        }
        log="$(mktemp)"
        # -runs=0 executes every input of the folders given, then stops.
        if [ -n "$(ls -A "$regressions")" ] && ! run "$regressions" -runs=0 >"$log"; then
            tail -30 "$log"
            failed+=("$crate/$target (a committed regression input)")
            rm -f "$log"
            continue
        fi
        if run "$corpus" -max_total_time="$seconds" >"$log"; then
            printf '%-28s %-18s %s\n' "$crate" "$target" \
                "$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs, corpus $(ls "$corpus" | wc -l)"
        else
            tail -30 "$log"
            failed+=("$crate/$target")
        fi
        rm -f "$log"
    done
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]}" >&2
    echo "hint: the inputs are in crates/*/fuzz/regressions/; reproduce with" \
        "'RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir crates/CRATE/fuzz -s none TARGET FILE'," \
        "fix the cause, and commit the input with the fix" >&2
    exit 1
fi
