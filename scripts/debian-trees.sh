#!/usr/bin/env bash
# The Debian trees `allclear host audit --root` is tested on (issue 16).
#
#   scripts/debian-trees.sh                 debootstrap bookworm (minbase, with openssh-server,
#                                           sudo, nftables, unattended-upgrades,
#                                           systemd-timesyncd) into the cache as default/, and
#                                           a hardened/ copy; cache: DEBIAN_TREES, default
#                                           ~/.cache/allclear/debian-trees
#   scripts/debian-trees.sh from-host DIR   a tree assembled from this host's own files, for
#                                           machines without the mirror
#   scripts/debian-trees.sh harden DIR      applies the baseline's fixes to a tree
#
# The tests (crates/allclear/tests/it/audit.rs) use the cached trees when they exist, else
# assemble one with from-host; they never download. debootstrap needs root and
# `apt-get install debootstrap`; MIRROR defaults to deb.debian.org.
set -euo pipefail

harden() {
    local h="$1"
    if [ -d "$h/etc/ssh" ]; then
        mkdir -p "$h/etc/ssh/sshd_config.d"
        printf 'PermitRootLogin no\nPasswordAuthentication no\nMaxAuthTries 4\nX11Forwarding no\n' \
            > "$h/etc/ssh/sshd_config.d/10-hardening.conf"
        # Debian's sshd_config includes sshd_config.d first; a tree without the Include line
        # gets the settings in the main file, before anything else.
        if ! grep -q '^Include /etc/ssh/sshd_config.d' "$h/etc/ssh/sshd_config" 2>/dev/null; then
            { cat "$h/etc/ssh/sshd_config.d/10-hardening.conf"; cat "$h/etc/ssh/sshd_config" 2>/dev/null || true; } \
                > "$h/etc/ssh/sshd_config.new"
            mv "$h/etc/ssh/sshd_config.new" "$h/etc/ssh/sshd_config"
        fi
        chmod 0600 "$h/etc/ssh/sshd_config"
    fi
    mkdir -p "$h/etc/sysctl.d"
    printf 'net.ipv4.conf.all.accept_redirects = 0\nnet.ipv4.conf.all.send_redirects = 0\n' \
        > "$h/etc/sysctl.d/60-hardening.conf"
    sed -i '\#[[:space:]]/tmp[[:space:]]#d; \#[[:space:]]/dev/shm[[:space:]]#d' "$h/etc/fstab"
    printf 'tmpfs /tmp tmpfs defaults,rw,nosuid,nodev,noexec,relatime,size=2G 0 0\n' >> "$h/etc/fstab"
    printf 'tmpfs /dev/shm tmpfs defaults,rw,nosuid,nodev,noexec,relatime 0 0\n' >> "$h/etc/fstab"
    mkdir -p "$h/etc/apt/apt.conf.d"
    printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' \
        > "$h/etc/apt/apt.conf.d/20auto-upgrades"
    cat > "$h/etc/nftables.conf" <<'CONF'
#!/usr/sbin/nft -f
flush ruleset
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif lo accept
		tcp dport { 22, 443 } accept
	}
}
CONF
    mkdir -p "$h/lib/systemd/system" "$h/etc/systemd/system/sysinit.target.wants" \
        "$h/etc/systemd/system/multi-user.target.wants" "$h/var/lib/allclear"
    [ -f "$h/lib/systemd/system/nftables.service" ] ||
        printf '[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n' > "$h/lib/systemd/system/nftables.service"
    ln -sfn /lib/systemd/system/nftables.service "$h/etc/systemd/system/sysinit.target.wants/nftables.service"
    # allclear's own log analysis and file integrity, as a team would install them.
    printf '[Service]\nExecStart=/usr/local/bin/allclear host logs run\n' > "$h/etc/systemd/system/allclear-logs.service"
    ln -sfn /etc/systemd/system/allclear-logs.service "$h/etc/systemd/system/multi-user.target.wants/allclear-logs.service"
    : > "$h/var/lib/allclear/fim.baseline"
}

from_host() {
    local t="$1"
    mkdir -p "$t/etc" "$t/var/lib/dpkg"
    for f in passwd group shadow gshadow fstab sysctl.conf debian_version os-release sudoers; do
        [ -e "/etc/$f" ] && cp -aL "/etc/$f" "$t/etc/$f"
    done
    for d in ssh sysctl.d apt/apt.conf.d pam.d sudoers.d systemd/system; do
        if [ -d "/etc/$d" ]; then
            mkdir -p "$t/etc/$(dirname "$d")"
            cp -a "/etc/$d" "$t/etc/$d"
        fi
    done
    cp -a /var/lib/dpkg/status "$t/var/lib/dpkg/status"
    # The systemd units the enabled-unit links point at.
    if [ -d /lib/systemd/system ]; then
        mkdir -p "$t/lib/systemd"
        cp -a /lib/systemd/system "$t/lib/systemd/system"
    fi
    rm -f "$t"/etc/ssh/ssh_host_*
}

case "${1:-}" in
    harden) harden "$2" ;;
    from-host) from_host "$2" ;;
    "")
        trees="${DEBIAN_TREES:-${XDG_CACHE_HOME:-$HOME/.cache}/allclear/debian-trees}"
        mirror="${MIRROR:-http://deb.debian.org/debian}"
        mkdir -p "$trees"
        if [ ! -f "$trees/default/etc/debian_version" ]; then
            rm -rf "$trees/default.partial"
            debootstrap --variant=minbase \
                --include=openssh-server,sudo,nftables,unattended-upgrades,systemd-timesyncd \
                bookworm "$trees/default.partial" "$mirror"
            # Host keys are no one's secret here, but they need not sit in a cache.
            rm -f "$trees/default.partial"/etc/ssh/ssh_host_*
            mv "$trees/default.partial" "$trees/default"
        fi
        rm -rf "$trees/hardened"
        cp -a "$trees/default" "$trees/hardened"
        harden "$trees/hardened"
        echo "$trees/default and $trees/hardened are ready"
        ;;
    *) echo "usage: $0 [from-host DIR | harden DIR]" >&2; exit 2 ;;
esac
