#!/usr/bin/env bash
# `make docker-test`: build the cpu image for real with Debian's podman and run deploy/smoke.sh
# against it, on a root Debian machine with no Docker engine and no reachable container
# registry (the CI machines). docs/DEPLOY.md, "Offline or podman", explains each step.
#
#   deploy/docker-test.sh [PYTHON]    # PYTHON: whose pip configuration the build uses
#
# 1. apt-get installs podman, buildah, runc, catatonit (podman run --init) and debootstrap where
#    missing.
# 2. /etc/containers/containers.conf selects runc and fixed ulimits (crun refuses these VMs'
#    hybrid cgroup layout, and they lack CAP_SYS_RESOURCE to raise the default ulimits).
# 3. The base image localhost/debian-base:bookworm is debootstrapped from this machine's Debian
#    mirror with its apt sources, once: later runs find it in podman's storage.
# 4. deploy/host_pip.py mounts this machine's pip configuration, CA bundle and wheel folders
#    into the build. Layers and the pip cache mount stay in podman's storage between runs.
# Environment: DOCKER_TEST_IMAGE (tag, default unnatural:ci-cpu).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${1:-python3}"
image="${DOCKER_TEST_IMAGE:-unnatural:ci-cpu}"
base=localhost/debian-base:bookworm
conf=/etc/containers/containers.conf

if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
    echo "docker-test: needs root and apt-get (a Debian CI machine); elsewhere run deploy/smoke.sh" >&2
    exit 2
fi

missing=""
for p in podman buildah runc catatonit debootstrap; do
    dpkg -s "$p" > /dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "docker-test: installing$missing"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

if [ ! -e "$conf" ]; then
    mkdir -p "$(dirname "$conf")"
    cat > "$conf" << 'CONF'
# Written by unnatural's deploy/docker-test.sh: crun refuses this VM's hybrid cgroup layout, and
# without CAP_SYS_RESOURCE the default ulimits cannot be raised.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
elif ! grep -Eq '^[[:space:]]*runtime[[:space:]]*=[[:space:]]*"runc"' "$conf"; then
    echo "docker-test: $conf exists without runtime = \"runc\"; left as it is" >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The Debian mirror the machine's apt uses for bookworm (one-line or deb822 sources).
debian_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            /^deb[ \t]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { url = $i; suite = $(i + 1); break }
                          if (suite == "bookworm") { print url; exit } }
            /^URIs:/ { url = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") found = 1 }
            /^[ \t]*$/ { if (found && url) { print url; exit } found = 0; url = "" }
            END { if (found && url) print url }
        ' "$f"
    done | head -n 1
}

if podman image exists "$base"; then
    echo "docker-test: base image $base is cached"
else
    mirror="$(debian_mirror)"
    mirror="${mirror:-http://deb.debian.org/debian}"
    echo "docker-test: debootstrapping $base from $mirror"
    rootfs="$work/rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
    # The machine's apt sources (its mirror, updates, security), but only those whose signing
    # keys the new system has: a third-party source would break `apt-get update` in the build.
    copied=0
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        keys_present=1
        for key in $(grep -Eo '(Signed-By:|signed-by=)[[:space:]]*[^] ]+' "$f" | sed -E 's/^(Signed-By:|signed-by=)[[:space:]]*//'); do
            [ -e "$rootfs$key" ] || keys_present=0
        done
        if [ "$keys_present" = 1 ] && grep -q bookworm "$f"; then
            mkdir -p "$rootfs$(dirname "$f")"
            cp "$f" "$rootfs$f"
            copied=1
        fi
    done
    if [ "$copied" = 1 ] && [ ! -e /etc/apt/sources.list ]; then
        rm -f "$rootfs/etc/apt/sources.list"   # debootstrap's one-line copy of the mirror
    fi
    rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
    tar -C "$rootfs" -c . | podman import - "$base" > /dev/null
    rm -rf "$rootfs"
fi

"$python" "$root/deploy/host_pip.py" "$work" "$python" > "$work/build-args"
build_args="--network=host --build-arg=BASE_IMAGE=$base $(tr '\n' ' ' < "$work/build-args")"
echo "docker-test: build flags: $build_args"

DOCKER=podman SMOKE_IMAGE="$image" SMOKE_BUILD_ARGS="$build_args" "$root/deploy/smoke.sh" cpu
