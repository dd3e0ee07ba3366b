"""The step-workflow face sits on the client: it reads runs through ``KitaruClient`` and its models,
not through the journal, and the client does not know the face.

Every import counts, including the ones inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kitaru_nb"
FACE = ("workflow", "run", "db")

#: journal names the face may use, and why; the test fails when one is no longer imported, so the
#: list only shrinks
ALLOWED = {
    # the run body lives inside the engine: it journals a rejected step's position as skipped
    ("kitaru_nb.workflow.runner", "kitaru_nb.journal.base", "CallRow"),
    # the runtime's registry hands the body builder the execution's row
    ("kitaru_nb.workflow.runner", "kitaru_nb.journal.base", "ExecutionRow"),
    # Workflow(db=...) resolves its journal, which the engine drives a run on
    ("kitaru_nb.workflow.workflow", "kitaru_nb.journal.base", "Journal"),
    # SqliteDb is the face's name for a journal file
    ("kitaru_nb.db.sqlite", "kitaru_nb.journal.base", "Journal"),
    ("kitaru_nb.db.sqlite", "kitaru_nb.journal.sqlite", "open_journal"),
}


def journal_imports() -> set[tuple[str, str, str]]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        if len(parts) < 2 or parts[1] not in FACE:
            continue
        module = ".".join(parts)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("kitaru_nb.journal"):
                    found |= {(module, node.module, a.name) for a in node.names}
                elif node.module == "kitaru_nb" and any(a.name == "journal" for a in node.names):
                    found.add((module, "kitaru_nb", "journal"))
            elif isinstance(node, ast.Import):
                found |= {(module, a.name, "*") for a in node.names if a.name.startswith("kitaru_nb.journal")}
    return found


def test_the_face_reads_runs_through_the_client_not_the_journal() -> None:
    found = journal_imports()
    assert found - ALLOWED == set(), "the step-workflow face reaches into the journal; read through the client"
    assert ALLOWED - found == set(), "an allowed journal import is gone: remove it from ALLOWED"


def test_run_outputs_are_built_from_client_models() -> None:
    found = {m for m, _, _ in journal_imports()}
    assert not found & {"kitaru_nb.workflow.outputs", "kitaru_nb.workflow.session", "kitaru_nb.run.workflow"}


def test_importing_the_client_does_not_import_the_face() -> None:
    code = (
        "import sys, kitaru_nb.client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['kitaru_nb', 'workflow'], ['kitaru_nb', 'run'])))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]"
