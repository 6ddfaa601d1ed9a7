#!/usr/bin/env bash
# Builds the Debian package of allclear (cargo-deb), installs it into a scratch root, checks
# every file it must ship, runs the installed binary, and verifies the systemd units.
#
#   scripts/package-deb.sh            # builds the release binary if needed; prints the .deb path
#   KEEP_ROOT=1 scripts/package-deb.sh  # keep the scratch root for a look
#   PROFILE=dev scripts/package-deb.sh  # package a debug build: checks the packaging in
#                                       # minutes, not what ships
#
# Installs what it needs when missing: cargo-deb (cargo install), dpkg and systemd's tools
# (apt-get, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
profile="${PROFILE:-release}"
# Cargo's `dev` profile builds into target/debug; every other profile into its own name.
if [ "$profile" = dev ]; then release="$target/debug"; else release="$target/$profile"; fi

if ! cargo deb --version >/dev/null 2>&1; then
    echo "==> installing cargo-deb" >&2
    cargo install cargo-deb --locked --quiet
fi
missing=()
command -v dpkg-deb >/dev/null || missing+=(dpkg)
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "error: ${missing[*]} missing and cannot be installed here (not root)" >&2
        exit 2
    fi
fi

echo "==> $profile build" >&2
cargo build --profile "$profile" --locked --quiet -p allclear
bin="$release/allclear"

echo "==> man pages and completions (allclear generate)" >&2
assets="$release/deb-assets"
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
"$bin" generate man "$assets/man"
"$bin" generate completions bash >"$assets/completions/allclear.bash"
"$bin" generate completions zsh >"$assets/completions/_allclear"
"$bin" generate completions fish >"$assets/completions/allclear.fish"

echo "==> cargo deb" >&2
mkdir -p "$target/debian"
deb="$target/debian/allclear.deb"
cargo deb -p allclear --profile "$profile" --no-build --locked --quiet --output "$deb" >/dev/null

scratch="$(mktemp -d)"
if [ -z "${KEEP_ROOT:-}" ]; then
    trap 'rm -rf "$scratch"' EXIT
else
    echo "scratch root kept at $scratch" >&2
fi
root="$scratch/root"

echo "==> install into a scratch root ($root)" >&2
if [ "$(id -u)" = 0 ]; then
    # A dpkg database of its own: the package is really installed (dpkg records its files),
    # without touching this machine's. Its dependencies (libc) are not in the scratch root.
    mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
    touch "$root/var/lib/dpkg/status"
    dpkg --root="$root" --force-depends --force-script-chrootless -i "$deb" >/dev/null
    installed="$(dpkg --root="$root" -L allclear)"
else
    dpkg-deb -x "$deb" "$root"
    installed="$(dpkg-deb -c "$deb" | awk '{print substr($6, 2)}')"
fi

fail=0
expect() {
    if [ ! -s "$root/$1" ]; then
        echo "missing from the package: /$1" >&2
        fail=1
    fi
}
expect usr/bin/allclear
for page in allclear.1 allclear-scan.1 allclear-rules.1 allclear-host.1; do
    if [ ! -s "$root/usr/share/man/man1/$page" ] && [ ! -s "$root/usr/share/man/man1/$page.gz" ]; then
        echo "missing from the package: /usr/share/man/man1/$page(.gz)" >&2
        fail=1
    fi
done
expect usr/share/bash-completion/completions/allclear
expect usr/share/zsh/vendor-completions/_allclear
expect usr/share/fish/vendor_completions.d/allclear.fish
expect usr/lib/systemd/system/allclear-logs.service
expect usr/lib/systemd/system/allclear-fim.service
expect usr/share/doc/allclear/README.md
expect usr/share/doc/allclear/rules/README.md
expect usr/share/doc/allclear/copyright
if [ "$(id -u)" = 0 ] && ! grep -qx /usr/bin/allclear <<<"$installed"; then
    echo "dpkg does not list /usr/bin/allclear as installed by the package" >&2
    fail=1
fi
grep -Eq '^[[:space:]]*complete .*allclear$' "$root/usr/share/bash-completion/completions/allclear" || {
    echo "the bash completion does not complete allclear" >&2
    fail=1
}

echo "==> the installed binary runs" >&2
"$root/usr/bin/allclear" --version
"$root/usr/bin/allclear" rules explain logs.ban >/dev/null
if command -v file >/dev/null && file "$root/usr/bin/allclear" | grep -q 'not stripped'; then
    echo "the packaged binary is not stripped" >&2
    fail=1
fi

echo "==> systemd-analyze verify" >&2
# verify checks each unit's syntax and directives, that ExecStart's binary exists and that
# its Documentation= man pages open: inside the scratch root (--root, MANPATH), so it is the
# packaged binary and pages that are checked. The targets our units order against come
# from this machine's systemd (copied in, never over the package's files).
cp -an /lib/systemd/system/. "$root/usr/lib/systemd/system/"
for unit in allclear-logs.service allclear-fim.service; do
    if ! out="$(MANPATH="$root/usr/share/man" systemd-analyze verify --root="$root" \
        "$root/usr/lib/systemd/system/$unit" 2>&1)"; then
        echo "$out" >&2
        echo "systemd-analyze verify failed for $unit" >&2
        fail=1
    elif grep "allclear" <<<"$out" >&2; then
        # Warnings about the host's own units are not ours; any about ours fail.
        fail=1
    fi
    # The hardening must not erode: exposure (0 best, 10 worst) at most 2.5; fim watch is at
    # 1.4 and logs run at 2.0 (it changes the host's firewall, so it keeps the network).
    if ! systemd-analyze security --offline=true --threshold=25 --root="$root" \
        "$root/usr/lib/systemd/system/$unit" >"$scratch/security.txt" 2>&1; then
        grep -E "✗|Overall" "$scratch/security.txt" >&2 || cat "$scratch/security.txt" >&2
        echo "systemd-analyze security: $unit is more exposed than 2.5" >&2
        fail=1
    fi
done

if [ "$fail" != 0 ]; then
    echo "package check failed" >&2
    exit 1
fi
echo "package ok: $deb ($(du -h "$deb" | cut -f1))"
