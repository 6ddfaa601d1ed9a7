# Shared by the scripts in scripts/bench/ (sourced, not run). Each script cds to the workspace
# root first, then calls these.

# The allclear binary to time: $ALLCLEAR_BIN when set (to compare builds), else a fresh
# release build. Sets BIN to an absolute path.
bench_binary() {
    if [ -n "${ALLCLEAR_BIN:-}" ]; then
        BIN="$(realpath "$ALLCLEAR_BIN")"
    else
        cargo build --release --quiet -p allclear
        BIN="$PWD/target/release/allclear"
    fi
}

# A scratch directory, removed when the script exits. Sets work.
bench_workdir() {
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
}

# What the numbers were measured on, for docs/PERFORMANCE.md.
bench_machine() {
    echo "## machine"
    echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
    grep -m1 'model name' /proc/cpuinfo | sed 's/^.*: /cpu: /'
    "$BIN" --version
}
