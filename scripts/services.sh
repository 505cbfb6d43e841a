#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are up for the tests:
# install them from Debian's packages when missing, start them when down. The secured-cluster
# tests (tests/secured/) also need socat (the TLS proxy) and openssl (their certificates).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  as_root apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "services: nothing listens on 127.0.0.1:$1 after 30 s" >&2
  return 1
}

if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port 5432
  # Trust local TCP connections for the postgres user, as on the developers' machines.
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q "flex-tests" "$hba"; then
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust # flex-tests' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
fi

if ! port_open 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_port 6379
fi
missing=()
command -v socat >/dev/null || missing+=(socat)
command -v openssl >/dev/null || missing+=(openssl)
# nginx: the real reverse proxy of the deployment tests (tests/deploy/).
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

echo "services: PostgreSQL and Redis are up; socat, openssl and nginx are installed"
