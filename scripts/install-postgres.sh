#!/usr/bin/env bash
# Install Debian's PostgreSQL server for the registry tests, if it is not there yet.
# Idempotent: does nothing when initdb and pg_ctl are already installed. The tests
# start their own private server (tests/registry_pg.py); no system cluster is used.
set -euo pipefail

found() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; }

if found; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-postgres: no PostgreSQL server and no apt-get: install PostgreSQL (initdb, pg_ctl) first" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-postgres: installing Debian's postgresql" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
found || { echo "install-postgres: postgresql installed but initdb/pg_ctl not found" >&2; exit 1; }
