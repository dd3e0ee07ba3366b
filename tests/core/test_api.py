"""The public surface: exported members, the error tree, and pause signals user code cannot swallow."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

import pytest

import kitaru_nb
import kitaru_nb as kitaru
from kitaru_nb import ExecutionStatus, KitaruClient
from kitaru_nb.errors import (
    KitaruBackendError,
    KitaruContextError,
    KitaruDivergenceError,
    KitaruError,
    KitaruExecutionError,
    KitaruRuntimeError,
    KitaruStateError,
    KitaruTimeoutError,
    KitaruUsageError,
    KitaruUserCodeError,
    KitaruWaitValidationError,
)
from kitaru_nb.types import FailureOrigin

from .conftest import REPO


def test_all_is_sorted_and_complete() -> None:
    exported = kitaru_nb.__all__
    assert exported == sorted(exported)
    assert len(set(exported)) == len(exported)
    public = {
        name
        for name, value in vars(kitaru_nb).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations", "Any"}
    assert public == set(exported)
    for name in exported:
        assert getattr(kitaru_nb, name) is not None
        namespace: dict[str, object] = {}
        exec(f"from kitaru_nb import {name}", namespace)
        assert namespace[name] is getattr(kitaru_nb, name)


def test_the_kitaru_flow_sdk_names_are_there() -> None:
    for name in (
        "flow",
        "checkpoint",
        "wait",
        "KitaruClient",
        "configure",
        "KitaruError",
        "KitaruUsageError",
        "KitaruWaitValidationError",
        "KitaruContextError",
        "KitaruStateError",
        "KitaruTimeoutError",
        "KitaruRuntimeError",
        "KitaruBackendError",
        "KitaruExecutionError",
        "KitaruUserCodeError",
        "KitaruDivergenceError",
    ):
        assert callable(getattr(kitaru, name)), name


def test_import_has_no_side_effects_and_loads_no_ui(tmp_path: Path) -> None:
    code = (
        "import sys, json, kitaru_nb; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ipywidgets', 'IPython', 'jupyter_server', 'tornado', 'kitaru_nb', 'sqlite_utils', 'psycopg', "
        "'psycopg_pool', 'distributed', 'dask'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    loaded = json.loads(out.stdout)
    assert not [m for m in loaded if not m.startswith("kitaru_nb")], loaded
    assert "kitaru_nb.widgets" not in loaded and "kitaru_nb.server" not in loaded
    # the team extra (PostgreSQL, Dask) loads only when a postgresql:// journal or a cluster is used
    assert "kitaru_nb.journal.postgres" not in loaded and "kitaru_nb.runtime.dask" not in loaded
    assert list(tmp_path.iterdir()) == []  # no journal file created on import


ERROR_TREE: dict[type[BaseException], tuple[type[BaseException], ...]] = {
    KitaruError: (Exception,),
    KitaruUsageError: (KitaruError, ValueError),
    KitaruWaitValidationError: (KitaruUsageError, ValueError),
    KitaruContextError: (KitaruError, RuntimeError),
    KitaruStateError: (KitaruError, RuntimeError),
    KitaruTimeoutError: (KitaruStateError, TimeoutError, RuntimeError),
    KitaruRuntimeError: (KitaruError, RuntimeError),
    KitaruBackendError: (KitaruRuntimeError,),
    KitaruExecutionError: (KitaruRuntimeError,),
    KitaruUserCodeError: (KitaruExecutionError,),
    KitaruDivergenceError: (KitaruExecutionError,),
}


@pytest.mark.parametrize("cls", list(ERROR_TREE), ids=lambda c: c.__name__)
def test_error_tree(cls: type[BaseException]) -> None:
    for parent in ERROR_TREE[cls]:
        assert issubclass(cls, parent), f"{cls.__name__} should derive from {parent.__name__}"
    assert issubclass(cls, KitaruError)
    assert getattr(kitaru_nb, cls.__name__) is cls
    # no unexpected cross links: the Kitaru ancestors are exactly those the tree draws
    expected: set[type[BaseException]] = set()
    todo = [p for p in ERROR_TREE[cls] if p in ERROR_TREE]
    while todo:
        parent = todo.pop()
        expected.add(parent)
        todo.extend(p for p in ERROR_TREE[parent] if p in ERROR_TREE)
    assert {c for c in cls.__mro__ if c in ERROR_TREE} - {cls} == expected


def test_structured_fields_of_errors() -> None:
    err = KitaruUserCodeError("m", exec_id="e1", status=ExecutionStatus.FAILED, failure_origin=FailureOrigin.USER_CODE)
    assert (err.exec_id, err.status, err.failure_origin, str(err)) == (
        "e1",
        ExecutionStatus.FAILED,
        FailureOrigin.USER_CODE,
        "m",
    )
    werr = KitaruWaitValidationError("bad", exec_id="e1", wait="w", errors=[{"loc": ("x",), "msg": "m", "type": "t"}])
    assert (werr.exec_id, werr.wait, werr.errors[0]["loc"]) == ("e1", "w", ("x",))


def test_pause_signals_pass_through_except_exception(client: KitaruClient) -> None:
    swallowed = Counter[str]()

    @kitaru.checkpoint(on_error="pause")
    def api_fragile() -> int:
        raise ValueError("down")

    @kitaru.flow
    def api_greedy() -> str:
        try:
            answer = kitaru.wait(schema=str, name="name")
        except Exception:
            swallowed["wait"] += 1
            answer = "swallowed"
        try:
            api_fragile()
        except Exception:
            swallowed["checkpoint"] += 1
        return str(answer)

    handle = api_greedy.run()
    assert handle.status is ExecutionStatus.WAITING
    client.executions.input(handle.exec_id, wait="name", value="ada")
    # the checkpoint paused on error: the pause is not an Exception either
    assert handle.status is ExecutionStatus.WAITING
    assert [c.name for c in client.executions.get(handle.exec_id).pending_errors] == ["api_fragile"]
    assert swallowed == {}
    from kitaru_nb.runtime.context import FlowCancelled, FlowDiverged, FlowPaused

    for signal in (FlowPaused, FlowCancelled, FlowDiverged):
        assert issubclass(signal, BaseException) and not issubclass(signal, Exception)
