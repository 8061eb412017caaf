#!/usr/bin/env bash
# Make sure the real services the tests talk to are up: PostgreSQL on 127.0.0.1:5432
# (trust auth, database `test`) and Mosquitto on 127.0.0.1:1883, and that the `prometheus`
# binary is installed (not started: tests/test_dashboard_prometheus.py starts a private
# Prometheus of its own), and Chromium with its driver for the console's browser tests. Installs them from Debian's packages on a fresh machine. Never
# skips: exits non-zero if it cannot.
# Needs no systemd (containers, CI images, chroots): the runtime directories that
# systemd's units would make are made here, and Mosquitto runs with a config of our own
# (loopback only, no pid file). Idempotent: a service whose port is open is left alone.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# alive PID: the process exists and is no zombie (no ps on minimal images; kill -0 cannot
# see through sudo)
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_port PORT NAME LOG [PID]: wait for PORT; on failure print LOG's tail and fail.
wait_port() {
  for _ in $(seq 1 60); do
    port_open "$1" && return 0
    if [ -n "${4:-}" ] && ! alive "$4"; then break; fi
    sleep 0.5
  done
  echo "services: $2 did not open port $1; last lines of $3:" >&2
  as_root tail -n 20 "$3" >&2 || true
  return 1
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq || echo "services: apt-get update failed; trying the package lists at hand" >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

state="${TMPDIR:-/tmp}/hotline-services"
mkdir -p "$state" && chmod 755 "$state"

# --- PostgreSQL ---------------------------------------------------------------------
if ! port_open 5432; then
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
  fi
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  [ -d "/etc/postgresql/$ver/main" ] || as_root pg_createcluster "$ver" main >/dev/null
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! as_root grep -q "hotline-trust" "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust # hotline-trust\nlocal all all trust # hotline-trust' "$hba"
  fi
  # what systemd-tmpfiles makes on a booted system (pg_ctlcluster also does, as root)
  as_root install -d -m 2775 -o postgres -g postgres /run/postgresql
  if ! as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start; then
    echo "services: pg_ctlcluster $ver main start failed" >&2
  fi
  wait_port 5432 PostgreSQL "/var/log/postgresql/postgresql-$ver-main.log"
fi
if ! psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='test'" 2>/dev/null | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null
fi

# --- Mosquitto ----------------------------------------------------------------------
# Not `mosquitto -d -c /etc/mosquitto/mosquitto.conf`: its pid file goes to /run/mosquitto,
# which only the systemd unit makes, and the daemon dies ("Unable to write pid file").
if ! port_open 1883; then
  command -v mosquitto >/dev/null || apt_install mosquitto
  cat >"$state/mosquitto.conf" <<'EOF'
# written by scripts/services.sh: the tests' broker, loopback only, no pid file
listener 1883 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
EOF
  chmod 644 "$state/mosquitto.conf"
  # started as root it drops to the `mosquitto` user once the port is bound
  mosquitto_bin=$(command -v mosquitto)
  as_root setsid "$mosquitto_bin" -c "$state/mosquitto.conf" \
    </dev/null >"$state/mosquitto.log" 2>&1 &
  wait_port 1883 Mosquitto "$state/mosquitto.log" "$!"
fi
# --- Prometheus (installed only) -------------------------------------------------------
# The dashboard test runs its own Prometheus (temp config and storage, a free loopback
# port) and stops it; nothing long-running is started here. Without recommends (no
# prometheus-node-exporter). The package's maintainer scripts would start the daemon
# through invoke-rc.d where no policy forbids it: a policy-rc.d that refuses (exit 101, as
# container images ship) is put in place for the install when the machine has none.
if ! command -v prometheus >/dev/null; then
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/services.sh: no service starts while prometheus installs\nexit 101\n' \
      | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    made_policy=1
  fi
  rc=0
  apt_install --no-install-recommends prometheus || rc=$?
  [ "$made_policy" = 0 ] || as_root rm -f "$policy"
  if [ "$rc" != 0 ] || ! command -v prometheus >/dev/null; then
    echo "services: could not install Debian's prometheus package" >&2
    exit 1
  fi
fi
# --- Chromium (installed only) ---------------------------------------------------------
# The web console's browser tests (tests/test_console_browser.py) drive Debian's Chromium
# headless through Debian's chromedriver (Selenium; no browser download of any kind); a
# CJK font so the Chinese labels render in their screenshots.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
   || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  apt_install --no-install-recommends chromium chromium-driver fonts-wqy-microhei
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "services: could not install Debian's chromium and chromium-driver" >&2
    exit 1
  fi
fi
echo "services: postgresql 127.0.0.1:5432 and mosquitto 127.0.0.1:1883 are up;" \
  "prometheus $(prometheus --version 2>&1 | awk 'NR == 1 { print $3 }') is installed;" \
  "chromium $(chromium --version 2>/dev/null | awk '{ print $2 }') for the browser tests"
