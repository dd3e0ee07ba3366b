#!/usr/bin/env bash
# Shared set-up for scripts/lab.sh and scripts/test.sh: a venv with kitaru_nb installed
# (editable, labextension built and linked). Idempotent; safe to re-run.
#   EXTRAS=lab|test  which optional dependencies to install (default: lab)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
EXTRAS="${EXTRAS:-lab}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# the editable build runs jlpm and jupyter-builder from the venv
export PATH="$VENV/bin:$PATH"
# build tools in the venv: the editable install builds the labextension without isolation
"$VENV/bin/pip" install -q "hatchling>=1.21" "hatch-jupyter-builder>=0.9" "jupyter-builder>=1.2,<2" editables "jupyterlab>=4.2,<5"
# a previous `jupyter-builder develop` leaves install.json in the build output, which the wheel
# would then ship twice
rm -f "$ROOT/kitaru_nb/labextension/install.json"
# builds labextension/ (jlpm install from the committed yarn.lock + jlpm build) into kitaru_nb/labextension
"$VENV/bin/pip" install -q --no-build-isolation -e ".[$EXTRAS]"
# link the built assets into the venv's share/jupyter so `jupyter labextension list` sees them
"$VENV/bin/jupyter-builder" develop --overwrite . > /dev/null
# saved notebooks keep the panel's last state (JupyterLab shows it without a kernel); nbviewer and
# other renderers use the panel's static text/html summary
"$VENV/bin/python" - "$VENV/share/jupyter/lab/settings/overrides.json" <<'PY'
import json, pathlib, sys
path = pathlib.Path(sys.argv[1])
path.parent.mkdir(parents=True, exist_ok=True)
data = json.loads(path.read_text()) if path.exists() else {}
data.setdefault("@jupyter-widgets/jupyterlab-manager:plugin", {}).setdefault("saveState", True)
path.write_text(json.dumps(data, indent=2))
PY
