#!/usr/bin/env bash
# Install everything the tests need on a fresh machine (Debian Chromium for the browser
# tests, Debian's PostgreSQL for the team journal, a venv with kitaru_nb + test dependencies
# including psycopg and dask distributed, the labextension build) and run the whole suite: lint,
# types, TypeScript checks, unit/integration, notebooks, browser tests. A throwaway PostgreSQL
# server runs for the duration (its URL in KITARU_NB_TEST_PG); the Dask tests start their own
# distributed.LocalCluster with worker processes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export ARTIFACTS_DIR="${ARTIFACTS_DIR:-$ROOT/artifacts}"
export DEBIAN_FRONTEND=noninteractive

if [ ! -x "$CHROMIUM_PATH" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q chromium fonts-dejavu-core
fi

EXTRAS=test VENV="$VENV" bash "$ROOT/scripts/setup.sh"

echo "== PostgreSQL test server"
if [ -z "${KITARU_NB_TEST_PG:-}" ]; then
  eval "$(bash "$ROOT/scripts/postgres.sh" start)"
  trap 'bash "$ROOT/scripts/postgres.sh" stop "$KITARU_NB_TEST_PG_DIR"' EXIT
fi
export KITARU_NB_TEST_PG
. "$VENV/bin/activate"

echo "== lint and types"
ruff check kitaru_nb tests
ruff format --check kitaru_nb tests
mypy

echo "== labextension: strict compile, lint, unit tests"
if [ -f labextension/package.json ]; then
  (cd labextension && jlpm run lint:check && jlpm run test)
fi

echo "== installed extensions"
labext="$(jupyter labextension list 2>&1)"
srvext="$(jupyter server extension list 2>&1)"
grep -q "kitaru-nb.*enabled.*OK" <<<"$labext" || { echo "$labext"; echo "kitaru-nb labextension is not enabled"; exit 1; }
grep -q "kitaru_nb.*enabled" <<<"$srvext" || { echo "$srvext"; echo "kitaru_nb server extension is not enabled"; exit 1; }

echo "== tests"
python -m pytest -q "$@"
