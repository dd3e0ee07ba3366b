"""The shape of the package: dependencies point one way, and only the journal speaks SQL.

::

    errors, types  <-  models, serde  <-  journal  <-  runtime, wait  <-  client  <-  widgets, server

Every import counts, including the ones inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kitaru_nb"

#: the modules and packages below the client
BELOW_CLIENT = {"errors", "types", "models", "serde", "config", "stored_schema", "journal", "runtime", "wait"}
#: what they must not import
ABOVE = ("kitaru_nb.client", "kitaru_nb.widgets", "kitaru_nb.server", "kitaru_nb.workflow")

#: imports that break the rule today, each to be removed by moving the code where it belongs; the
#: test fails when one disappears, so the list only shrinks
KNOWN_UPWARD = {
    # FlowHandle.execution reads its execution as a read model through the client
    ("kitaru_nb.runtime.flow", "kitaru_nb.client"),
}

SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|"
    r"DROP\s+(TABLE|INDEX)|ALTER\s+TABLE|PRAGMA\s+\w+|BEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED))\b",
    re.DOTALL,
)


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        yield ".".join(parts), ast.parse(path.read_text(), filename=str(path))


def imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            if node.module == "kitaru_nb":  # from kitaru_nb import client
                yield from (f"kitaru_nb.{a.name}" for a in node.names)


def test_no_module_below_the_client_imports_the_client_the_faces_or_the_ui() -> None:
    found = set()
    for name, tree in modules():
        if name == "kitaru_nb" or name.split(".")[1] not in BELOW_CLIENT:
            continue
        for target in imported(tree):
            if target.startswith(ABOVE):
                found.add((name, target))
    assert found - KNOWN_UPWARD == set(), "a module below the client imports upward; move the code up instead"
    assert KNOWN_UPWARD - found == set(), "this known upward import is gone: remove it from KNOWN_UPWARD"


def test_no_sql_and_no_sqlite_outside_the_journal_package() -> None:
    offenders = []
    for name, tree in modules():
        if name.startswith("kitaru_nb.journal"):
            continue
        for target in imported(tree):
            if target.split(".")[0] in ("sqlite3", "sqlite_utils"):
                offenders.append(f"{name} imports {target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                offenders.append(f"{name}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


def test_the_sql_detector_sees_the_journals_sql() -> None:
    """Guards the test above: the same scan finds the statements in the journal package."""
    hits = {
        name
        for name, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)
    }
    assert {"kitaru_nb.journal.sqlite", "kitaru_nb.journal.migrations"} <= hits
