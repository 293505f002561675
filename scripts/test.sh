#!/usr/bin/env bash
# The test command: installs what the tests need (a virtual environment, and PostgreSQL and Redis
# from Debian when they are missing), starts both on loopback, then runs ruff, mypy --strict,
# import-linter and pytest. Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${PORTGUARD_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}

step() { printf '\n== %s\n' "$*"; }

step "python environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]"

# --- services: PostgreSQL and Redis on loopback, private to this run -------------------------
RUN_DIR=$(mktemp -d /tmp/portguard-test.XXXXXX)
cleanup() {
  [ -n "${PG_STARTED:-}" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$RUN_DIR/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -n "${PG_STARTED_SELF:-}" ] && "$PG_BIN/pg_ctl" -D "$RUN_DIR/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
  rm -rf "$RUN_DIR" 2>/dev/null || true
}
trap cleanup EXIT

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || true
  fi
}

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "PostgreSQL"
if [ -z "${PORTGUARD_TEST_PG_URL:-}" ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    apt_install postgresql
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  fi
  if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; then
    PG_PORT=$(free_port)
    mkdir -p "$RUN_DIR/pg"
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
      chown postgres "$RUN_DIR" "$RUN_DIR/pg"
      chmod 755 "$RUN_DIR"
      AS="runuser -u postgres --"
      PG_STARTED=1
    else
      AS=""
      PG_STARTED_SELF=1
    fi
    if $AS "$PG_BIN/initdb" -D "$RUN_DIR/pg" -A trust -U portguard >"$RUN_DIR/initdb.log" 2>&1 \
      && $AS "$PG_BIN/pg_ctl" -D "$RUN_DIR/pg" -l "$RUN_DIR/pg.log" -w \
           -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $RUN_DIR/pg -c fsync=off" start >/dev/null; then
      export PORTGUARD_TEST_PG_URL="postgresql+psycopg://portguard@127.0.0.1:$PG_PORT/postgres"
      echo "started on 127.0.0.1:$PG_PORT"
    else
      unset PG_STARTED PG_STARTED_SELF
      echo "could not start PostgreSQL; its tests will be skipped:"; tail -5 "$RUN_DIR"/*.log || true
    fi
  else
    echo "PostgreSQL is not installed and could not be installed; its tests will be skipped"
  fi
else
  echo "using PORTGUARD_TEST_PG_URL"
fi

step "Redis"
if [ -z "${PORTGUARD_TEST_REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null || apt_install redis-server
  if command -v redis-server >/dev/null; then
    REDIS_PORT=$(free_port)
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly yes \
      --appendfsync everysec --dir "$RUN_DIR" --daemonize no >"$RUN_DIR/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 50); do
      "$VENV/bin/python" -c "import redis,sys; redis.Redis(port=$REDIS_PORT).ping()" 2>/dev/null && break
      sleep 0.1
    done
    export PORTGUARD_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    echo "started on 127.0.0.1:$REDIS_PORT"
  else
    echo "redis-server is not installed and could not be installed; its tests will be skipped"
  fi
else
  echo "using PORTGUARD_TEST_REDIS_URL"
fi

step "Chromium (console browser tests)"
[ -x /usr/bin/chromium ] || apt_install chromium fonts-dejavu-core
if [ -x /usr/bin/chromium ]; then echo "using /usr/bin/chromium"; else echo "chromium missing: browser tests will be skipped"; fi

step "ruff"
"$VENV/bin/ruff" check src tests bench
"$VENV/bin/ruff" format --check src tests bench

step "mypy --strict src"
"$VENV/bin/mypy" src

step "import-linter"
"$VENV/bin/lint-imports"

step "pytest"
set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests"; exit 1
fi
exit "$rc"
