#!/usr/bin/env bash
# Start JupyterLab on the demo notebooks with kitaru_nb installed (panel, sidebar, server
# extension) and the embedded SQLite journal (notebooks/kitaru.db). Nothing else to run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
EXTRAS=lab VENV="$VENV" bash "$ROOT/scripts/setup.sh"
cd "$ROOT/notebooks"
ARGS=(--ServerApp.root_dir="$ROOT/notebooks")
if [ "$(id -u)" -eq 0 ]; then ARGS+=(--allow-root); fi
exec "$VENV/bin/jupyter" lab "${ARGS[@]}" "$@"
