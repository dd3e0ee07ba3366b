"""Errors survive the trip from a worker process; crash recovery runs for every new journal object.

A ``KitaruError`` raised where a checkpoint body runs (a process pool, a Dask worker) is pickled
back to the flow's process: it must arrive with its type, message and fields. And a journal
object created after another was collected may get the same ``id()``: it must still be recovered.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from kitaru_nb import errors
from kitaru_nb.config import resolve_journal
from kitaru_nb.errors import (
    KitaruDivergenceError,
    KitaruError,
    KitaruExecutionError,
    KitaruUserCodeError,
    KitaruWaitValidationError,
)
from kitaru_nb.journal.base import AttemptRow, CallRow, ExecutionRow, call_id_at
from kitaru_nb.journal.memory import MemoryJournal
from kitaru_nb.types import ExecutionStatus, FailureOrigin

WAIT_ERRORS = [{"loc": ("reviewer",), "msg": "String should have at least 2 characters", "type": "string_too_short"}]


def samples() -> list[KitaruError]:
    """One of every error class, the ones with keyword fields filled in."""
    out: list[KitaruError] = []
    for cls in vars(errors).values():
        if not (isinstance(cls, type) and issubclass(cls, KitaruError)):
            continue
        if issubclass(cls, KitaruExecutionError):
            out.append(
                cls(
                    "execution 1234abcd failed: boom",
                    exec_id="1234abcd" * 4,
                    status=ExecutionStatus.FAILED,
                    failure_origin=FailureOrigin.USER_CODE,
                )
            )
        elif issubclass(cls, KitaruWaitValidationError):
            out.append(cls("the answer does not fit", exec_id="e" * 32, wait="approve", errors=WAIT_ERRORS))
        else:
            out.append(cls(f"a {cls.__name__}"))
    return out


def fields(err: BaseException) -> tuple[Any, ...]:
    return (type(err), str(err), err.args, dict(vars(err)))


@pytest.mark.parametrize("err", samples(), ids=lambda e: type(e).__name__)
def test_every_kitaru_error_pickles_with_its_fields(err: KitaruError) -> None:
    err.add_note("raised in a worker")
    back = pickle.loads(pickle.dumps(err))
    assert fields(back) == fields(err)
    assert back.__notes__ == ["raised in a worker"]


def raise_in_worker(kind: str) -> None:
    cls = {"execution": KitaruExecutionError, "user": KitaruUserCodeError, "divergence": KitaruDivergenceError}[kind]
    raise cls(
        f"execution ab12cd34 failed ({kind})",
        exec_id="ab12cd34" * 4,
        status=ExecutionStatus.FAILED,
        failure_origin=FailureOrigin.DIVERGENCE if kind == "divergence" else FailureOrigin.USER_CODE,
    )


def raise_wait_error() -> None:
    raise KitaruWaitValidationError("the answer does not fit", exec_id="e" * 32, wait="approve", errors=WAIT_ERRORS)


def test_errors_raised_in_a_worker_process_arrive_whole() -> None:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        for kind, cls in (
            ("execution", KitaruExecutionError),
            ("user", KitaruUserCodeError),
            ("divergence", KitaruDivergenceError),
        ):
            with pytest.raises(cls) as info:
                pool.submit(raise_in_worker, kind).result(timeout=120)
            assert type(info.value) is cls
            assert info.value.exec_id == "ab12cd34" * 4
            assert info.value.status is ExecutionStatus.FAILED
            assert str(info.value) == f"execution ab12cd34 failed ({kind})"
        with pytest.raises(KitaruWaitValidationError) as wait_info:
            pool.submit(raise_wait_error).result(timeout=120)
        assert (wait_info.value.wait, wait_info.value.errors) == ("approve", WAIT_ERRORS)


def journal_with_an_interrupted_attempt(dead_pid: int) -> MemoryJournal:
    journal = MemoryJournal()
    journal.create_execution(ExecutionRow("x" * 32, "crashed", "running", 1.0, owner_pid=dead_pid))
    journal.insert_call(
        CallRow(call_id_at("x" * 32, 0), "x" * 32, 0, "checkpoint", "load", "running", 1.0),
        AttemptRow("a" * 32, call_id_at("x" * 32, 0), "x" * 32, 1, "running", 1.0),
    )
    return journal


def test_each_new_journal_object_is_recovered_even_when_it_reuses_a_collected_ones_id() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    seen_ids = set()
    for _ in range(30):
        journal = journal_with_an_interrupted_attempt(dead_pid)
        seen_ids.add(id(journal))
        assert resolve_journal(journal) is journal
        (attempt,) = journal.list_attempts("x" * 32)
        assert attempt.status == "interrupted"
        del journal, attempt
        gc.collect()
    # the point of the loop: ids were reused (with id() as the key, those journals went unrecovered)
    assert len(seen_ids) < 30
