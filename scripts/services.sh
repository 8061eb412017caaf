#!/usr/bin/env bash
# Make sure the real services the tests talk to are up: PostgreSQL on 127.0.0.1:5432
# (trust auth, database `test`) and Mosquitto on 127.0.0.1:1883. Installs them from
# Debian's packages on a fresh machine. Never skips: exits non-zero if it cannot.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "services: port $1 did not open" >&2; return 1
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! grep -q "hotline-trust" "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust # hotline-trust\nlocal all all trust # hotline-trust' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  wait_port 5432
fi
if ! psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='test'" 2>/dev/null | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null
fi

if ! port_open 1883; then
  command -v mosquitto >/dev/null || apt_install mosquitto
  if [ -f /etc/mosquitto/mosquitto.conf ]; then
    as_root mosquitto -d -c /etc/mosquitto/mosquitto.conf
  else
    as_root mosquitto -d -p 1883
  fi
  wait_port 1883
fi
echo "services: postgresql 127.0.0.1:5432 and mosquitto 127.0.0.1:1883 are up"
