#!/usr/bin/env bash
# Baton's whole check, from a fresh machine with only Python: installs the system services the tests use
# (PostgreSQL, Redis, Chromium) when missing, builds a virtualenv from pyproject.toml, then runs lint, the
# type check, the migrations check, the test suite on SQLite and again on a real PostgreSQL server, and schemathesis against a
# live `baton serve`. Usage: scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${BATON_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

step() { printf '\n=== %s ===\n' "$*"; }

# --- System packages ----------------------------------------------------------------------------------------
need=()
command -v pg_virtualenv >/dev/null 2>&1 || need+=(postgresql postgresql-common)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    step "installing ${need[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts the packaged services on their default ports; the tests start their own, so stop those.
if command -v systemctl >/dev/null 2>&1; then systemctl stop redis-server postgresql >/dev/null 2>&1 || true; fi

# --- Python environment -------------------------------------------------------------------------------------
step "virtualenv $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[dev]"
export PATH="$VENV/bin:$PATH"

step "ruff"
ruff check .
ruff format --check .

export BATON_DATA_DIR
BATON_DATA_DIR=$(mktemp -d)
trap 'rm -rf "$BATON_DATA_DIR"' EXIT

step "mypy (strict: engine, planner, services, hot-path SQL helpers)"
mypy

step "migrations are complete"
python manage.py makemigrations --check --dry-run

step "tests on SQLite"
python -m pytest -q "$@"

step "tests on PostgreSQL"
# pg_virtualenv creates a throw-away cluster on a free port and exports PGHOST/PGPORT/PGUSER/PGPASSWORD.
pg_virtualenv bash -c 'DATABASE_URL="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:${PGPORT:-5432}/postgres" \
    python -m pytest -q "$@"' pytest "$@"

step "schemathesis against a live server"
python scripts/schemathesis_live.py
