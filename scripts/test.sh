#!/usr/bin/env bash
# Runs the whole test suite: starts the FHIR test server (sekmet-fhir, loopback) loaded with the
# fixture patients, makes sure PostgreSQL is reachable, checks the import layers (lint-imports), the lint
# (ruff) and the types (mypy), then runs pytest. A missing server is a failure, never a skip.
# This script changes nothing on the machine unless asked: only with CI=true or
# ANAKINRA_INSTALL_SYSTEM_PACKAGES=1 does it start, install (apt-get) or set up PostgreSQL; otherwise it
# says what is missing and how to get it, and fails. (`make test-fast` needs none of it.)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
FHIR_PORT="${FHIR_TEST_PORT:-8923}"
VAR="$(mktemp -d "${TMPDIR:-/tmp}/anakinra-test.XXXXXX")"
export ANAKINRA_TEST_FHIR_BASE="http://127.0.0.1:${FHIR_PORT}/fhir"
# Hypothesis and Schemathesis tests are derandomized; a fixed hash seed also fixes the order of sets they
# sample from, so every run checks the same examples (run the fuzzers unseeded locally to explore more).
export PYTHONHASHSEED="${PYTHONHASHSEED:-0}"

cleanup() {
  if [ -f "$VAR/fhir.pid" ]; then kill "$(cat "$VAR/fhir.pid")" 2>/dev/null || true; fi
  rm -rf "$VAR"
}
trap cleanup EXIT

# --- the layer contract (pyproject.toml [tool.importlinter]): a broken layer fails the run ----------
"$BIN/lint-imports" --no-cache
# --- ruff (pyproject.toml [tool.ruff]): a lint finding fails the run -------------------------------
"$BIN/ruff" check --no-cache .
"$BIN/ruff" format --no-cache --check .

# --- types (pyproject.toml [tool.mypy]: strict for policy/ and facts/, checked elsewhere): an error fails the run
"$BIN/python" -m mypy

# --- PostgreSQL --------------------------------------------------------------------------------
pg_ok() { "$BIN/python" - "$1" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
except Exception as exc:
    sys.exit(1)
PY
}
PG_URL="${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
may_change_system() { [ "${CI:-}" = "true" ] || [ "${ANAKINRA_INSTALL_SYSTEM_PACKAGES:-}" = "1" ]; }
shown_url() { printf '%s' "$1" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#'; }
if ! pg_ok "$PG_URL"; then
  if ! may_change_system; then
    cat >&2 <<EOF
PostgreSQL is not reachable at $(shown_url "$PG_URL"): the PostgreSQL variants of the store tests are
SKIPPED in this run (under CI they fail). Nothing was installed or started. To run them, either
  - point TEST_POSTGRES_URL at a PostgreSQL you have (postgresql+psycopg://USER[:PASSWORD]@HOST:PORT/DB; the
    user creates and drops a schema per test), or
  - install and start one yourself (Debian/Ubuntu: sudo apt-get install postgresql, then
    sudo pg_ctlcluster <version> main start; TEST_POSTGRES_URL as above), or
  - let this script install and start it with apt-get: ANAKINRA_INSTALL_SYSTEM_PACKAGES=1 make test
The unit tests alone need no PostgreSQL: make test-fast
EOF
  else
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  echo "PostgreSQL not reachable at $(shown_url "$PG_URL"): starting it (CI or ANAKINRA_INSTALL_SYSTEM_PACKAGES=1)" >&2
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  elif command -v apt-get >/dev/null 2>&1; then
    ($SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q 2>/dev/null && break; sleep 1; done
  if ! pg_ok "$PG_URL"; then
    # A fresh Debian install uses password auth on TCP: give postgres a password and a test database.
    $SUDO su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1 || true
    $SUDO su postgres -c "createdb test" >/dev/null 2>&1 || true
    PG_URL="postgresql+psycopg://postgres:postgres@127.0.0.1:5432/test"
  fi
  pg_ok "$PG_URL" || { echo "PostgreSQL is required for the test suite and could not be started" >&2; exit 1; }
  fi
fi
export TEST_POSTGRES_URL="$PG_URL"

# --- FHIR test server ----------------------------------------------------------------------------
"$BIN/anakinra-cds" fhir-server --port "$FHIR_PORT" --var-dir "$VAR" --detach --pid-file "$VAR/fhir.pid"

# --- the suite -----------------------------------------------------------------------------------
set +e
"$BIN/python" -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
exit $rc
