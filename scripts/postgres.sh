#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: Debian's `postgresql` package (installed with apt when
# missing), a cluster in a temporary folder owned by the unprivileged `postgres` user (initdb refuses
# root), on a free loopback port. Prints `export KITARU_NB_TEST_PG=postgresql://...` and
# `export KITARU_NB_TEST_PG_DIR=...` for the caller to eval.
#   bash scripts/postgres.sh start        start a server, print the exports
#   bash scripts/postgres.sh stop DIR     stop the server started in DIR and remove DIR
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser > /dev/null; then
      runuser -u postgres -- "$@"
    else
      setpriv --reuid="$(id -u postgres)" --regid="$(id -g postgres)" --clear-groups "$@"
    fi
  else
    "$@"  # not root: initdb and pg_ctl run as this user
  fi
}

start() {
  local bin
  bin="$(pg_bin || true)"
  if [ -z "$bin" ]; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "== installing PostgreSQL (apt)" >&2
    $sudo apt-get update -q >&2
    $sudo apt-get install -y -q postgresql >&2
    bin="$(pg_bin)"
  fi
  local base port pass
  base="$(mktemp -d /tmp/kitaru-pg.XXXXXX)"
  chmod 755 "$base"
  pass="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$base/sock"
  printf '%s\n' "$pass" > "$base/pw"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres:postgres "$base"
  fi
  as_postgres "$bin/initdb" -D "$base/data" -U kitaru --pwfile="$base/pw" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync > "$base/initdb.log" 2>&1 \
    || { cat "$base/initdb.log" >&2; exit 1; }
  # fsync off: a test server, thrown away after the run
  as_postgres "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
    -o "-p $port -k $base/sock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start > /dev/null \
    || { cat "$base/server.log" >&2; exit 1; }
  echo "export KITARU_NB_TEST_PG=postgresql://kitaru:$pass@127.0.0.1:$port/postgres"
  echo "export KITARU_NB_TEST_PG_DIR=$base"
}

stop() {
  local base="$1" bin
  bin="$(pg_bin)"
  [ -d "$base/data" ] || return 0
  if ! as_postgres "$bin/pg_ctl" -D "$base/data" -m fast -w -t 30 stop > /dev/null 2>&1; then
    # by the postmaster's own pid (never by name)
    if [ -f "$base/data/postmaster.pid" ]; then
      kill -9 "$(head -n 1 "$base/data/postmaster.pid")" 2>/dev/null || true
    fi
  fi
  rm -rf "$base"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:?the folder printed as KITARU_NB_TEST_PG_DIR}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
