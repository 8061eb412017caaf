#!/usr/bin/env bash
# Bare-machine check: run CI (`.ci/run`, i.e. `bash scripts/test.sh`) on a fresh Debian 12
# made by debootstrap, as a container or CI image would be: no systemd, no PostgreSQL or
# Mosquitto installed or running, only this repository's committed HEAD cloned into it,
# and no `../shared` beside the clone.
#
#   sudo bash scripts/bare-machine-check.sh [ROOTFS]      # default /var/tmp/hotline-bare
#   sudo REUSE=1 bash scripts/bare-machine-check.sh       # keep the debootstrap made before
#
# Needs root, debootstrap (installed with apt-get if missing), unshare and ip.
# 1. With the network: debootstrap --variant=minbase bookworm into ROOTFS (removed first),
#    then in the chroot `apt-get install python3 python3-venv` (what the README asks for),
#    `apt-get install --download-only postgresql mosquitto` and, without recommends,
#    `prometheus` (the .debs go to apt's cache; nothing is installed) and `pip download` of
#    the project's dependencies into a local wheelhouse. A policy-rc.d that refuses to
#    start services, as container images have.
# 2. Without the network: in new network, mount and PID namespaces (only a loopback, so
#    this host's own PostgreSQL and Mosquitto on 127.0.0.1 are out of sight and nothing
#    leaves the machine), chroot into ROOTFS and run `.ci/run` with
#    PIP_NO_INDEX=1 PIP_FIND_LINKS=<wheelhouse>. scripts/test.sh makes the venv and
#    installs the project; scripts/services.sh installs PostgreSQL, Mosquitto and Prometheus
#    with apt-get (from the cache: the namespace has no network) and starts the first two
#    without systemd (the dashboard test starts a Prometheus of its own).
# Everything started inside dies with the PID namespace. Exit status: that of `.ci/run`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rootfs=${1:-/var/tmp/hotline-bare}
suite=bookworm
mirror=${MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources \
  2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
clone=/home/ci/hotline
wheels=/var/cache/hotline-wheels

[ "$(id -u)" = 0 ] || { echo "bare-machine-check: run as root" >&2; exit 2; }
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi

if grep -q " $rootfs/" /proc/mounts; then
  echo "bare-machine-check: something is mounted below $rootfs" >&2; exit 2
fi
if [ "${REUSE:-0}" = 1 ] && [ -e "$rootfs/.hotline-debootstrap-done" ]; then
  echo "== REUSE=1: the Debian 12 made earlier in $rootfs (its postgresql/mosquitto not installed)"
else
  echo "== fresh Debian 12 ($suite, minbase) from $mirror into $rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.debootstrap.log" 2>&1 \
    || { tail -n 20 "$rootfs.debootstrap.log" >&2; exit 1; }
  touch "$rootfs/.hotline-debootstrap-done"
fi
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"
# A host whose HTTPS goes through a proxy with its own CA (pip's `cert`, PIP_CERT, ...): pip
# in the chroot needs that public CA certificate to reach the package index.
host_ca=${HOST_CA:-${PIP_CERT:-${REQUESTS_CA_BUNDLE:-${SSL_CERT_FILE:-}}}}
pip_cert=
if [ -n "$host_ca" ] && [ -f "$host_ca" ]; then
  cp "$host_ca" "$rootfs/etc/ssl/host-ca-bundle.crt"; pip_cert=/etc/ssl/host-ca-bundle.crt
fi

echo "== clone of $(git -C "$repo" rev-parse --short HEAD) into $clone (no ../shared)"
rm -rf "$rootfs/home/ci"
mkdir -p "$rootfs/home/ci"
git clone -q --no-hardlinks "$repo" "$rootfs$clone"
[ ! -e "$rootfs/home/ci/shared" ]

# chroot_run net|nonet COMMAND...: COMMAND in the chroot, in new mount and PID namespaces
# and, for `nonet`, a new network namespace with only its loopback up
chroot_run() {
  local ns=()
  [ "$1" = nonet ] && ns=(--net)
  rootfs_net=$1 unshare --mount --pid --fork --mount-proc="$rootfs/proc" "${ns[@]}" /bin/bash -c '
    set -e
    rootfs=$1; shift
    if [ "$rootfs_net" = nonet ]; then ip link set lo up; fi
    mount --rbind /dev "$rootfs/dev"
    exec chroot "$rootfs" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
  ' bash "$rootfs" "${@:2}"
}

echo "== with the network: python3 + venv; postgresql, mosquitto, prometheus downloaded only; wheelhouse"
chroot_run net /bin/bash -euc "
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # REUSE=1: a previous run's services.sh installed the servers in this chroot; take them
  # away again so this run starts bare
  apt-get purge -y -qq 'postgresql*' mosquitto prometheus chromium chromium-driver \
    fonts-wqy-microhei >/dev/null 2>&1 || true
  apt-get autoremove -y -qq --purge >/dev/null 2>&1 || true
  rm -rf /etc/postgresql /var/lib/postgresql /run/postgresql
  apt-get install -y -qq python3 python3-venv >/dev/null
  apt-get install -y -qq --download-only postgresql mosquitto >/dev/null
  # what scripts/services.sh may install besides (downloaded only, no recommends)
  apt-get install -y -qq --download-only --no-install-recommends prometheus >/dev/null
  apt-get install -y -qq --download-only --no-install-recommends chromium chromium-driver \
    fonts-wqy-microhei >/dev/null
  python3 -m venv /tmp/dl
  ${pip_cert:+PIP_CERT=$pip_cert} /tmp/dl/bin/pip download -q --disable-pip-version-check -d $wheels \
    'setuptools>=68' wheel '$clone[dev]'
  rm -rf /tmp/dl $wheels/hotline-*
  ! command -v psql >/dev/null && ! command -v mosquitto >/dev/null && ! command -v prometheus >/dev/null
  ! command -v chromium >/dev/null
"

echo "== without the network (own namespace, loopback only): .ci/run"
set +e
chroot_run nonet /bin/bash -c "
  cd $clone && test ! -e ../shared && PIP_NO_INDEX=1 PIP_FIND_LINKS=$wheels exec bash .ci/run
"
rc=$?
set -e
echo "== .ci/run in the bare chroot exited $rc"
exit "$rc"
