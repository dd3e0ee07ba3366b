"""Cancel: a waiting execution ends as cancelled and takes no more answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import ExecutionStatus, KitaruClient, KitaruStateError


def _calls(db_path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT call_id, status, output FROM calls ORDER BY idx").fetchall()


def test_cancel_a_waiting_execution(client: KitaruClient, db_path: Path) -> None:
    @kitaru.flow
    def cn_flow() -> int:
        return int(kitaru.wait(schema=int, name="n"))

    handle = cn_flow.run()
    ex = client.executions.cancel(handle.exec_id)
    assert ex.status is ExecutionStatus.CANCELLED
    assert ex.ended_at is not None
    with pytest.raises(KitaruStateError, match="cancelled"):
        handle.get()

    before = _calls(db_path)
    with pytest.raises(KitaruStateError, match="cancelled"):
        client.executions.input(handle.exec_id, wait="n", value=1)
    with pytest.raises(KitaruStateError, match="cancelled"):
        client.executions.abort_wait(handle.exec_id, wait="n")
    assert _calls(db_path) == before
    assert client.executions.get(handle.exec_id).status is ExecutionStatus.CANCELLED
    for verb in ("cancel", "resume", "retry"):
        with pytest.raises(KitaruStateError, match="cancelled"):
            getattr(client.executions, verb)(handle.exec_id)
