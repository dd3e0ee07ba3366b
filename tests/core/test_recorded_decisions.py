"""Retry / skip decisions recorded without running the flow (what the server does for the sidebar):
the kernel that defines the flow carries them out."""

from __future__ import annotations

from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import ExecutionStatus, KitaruClient, KitaruStateError


def _paused(state: dict[str, bool]) -> kitaru.FlowHandle[int | None]:
    @kitaru.checkpoint(on_error="pause")
    def rd_load() -> int:
        state["runs"] = state.get("runs", 0) + 1  # type: ignore[assignment]
        if state["broken"]:
            raise ValueError("source offline")
        return 7

    @kitaru.flow
    def rd_flow() -> int | None:
        return rd_load()

    handle = rd_flow.run()
    assert handle.status is ExecutionStatus.WAITING
    return handle


def test_recorded_retry_is_carried_out_by_resume(db_path: Path) -> None:
    state = {"broken": True}
    handle = _paused(state)
    client = KitaruClient()
    state["broken"] = False
    recorded = client.executions.retry(handle.exec_id, checkpoint="rd_load", resume=False)
    assert recorded.status is ExecutionStatus.WAITING
    assert recorded.pending_errors == [] and client.executions.paused_checkpoints(handle.exec_id) == []
    assert state["runs"] == 1  # recording ran nothing
    with pytest.raises(KitaruStateError, match="no checkpoint paused on error"):
        client.executions.retry(handle.exec_id, resume=False)  # decided already
    done = client.executions.resume(handle.exec_id)
    assert done.status is ExecutionStatus.COMPLETED and handle.get() == 7
    (call,) = done.checkpoints
    assert [a.status.value for a in call.attempts] == ["failed", "completed"]


def test_recorded_skip_is_carried_out_by_resume(db_path: Path) -> None:
    handle = _paused({"broken": True})
    client = KitaruClient()
    client.executions.skip(handle.exec_id, checkpoint="rd_load", resume=False)
    done = client.executions.resume(handle.exec_id)
    assert done.status is ExecutionStatus.COMPLETED and handle.get() is None
    assert done.checkpoints[0].status.value == "skipped"


def test_recording_needs_a_paused_checkpoint_and_a_failed_execution_needs_the_flow(db_path: Path) -> None:
    handle = _paused({"broken": True})
    client = KitaruClient()
    with pytest.raises(KitaruStateError, match="no checkpoint paused on error named 'other'"):
        client.executions.skip(handle.exec_id, checkpoint="other", resume=False)
    client.executions.abort_wait
    client.executions.cancel(handle.exec_id)
    with pytest.raises(KitaruStateError, match="cancelled"):
        client.executions.retry(handle.exec_id, resume=False)

    @kitaru.checkpoint
    def rd_boom() -> None:
        raise RuntimeError("boom")

    @kitaru.flow
    def rd_fails() -> None:
        rd_boom()

    failed = rd_fails.run()
    with pytest.raises(KitaruStateError, match="retried by a process that defines flow 'rd_fails'"):
        client.executions.retry(failed.exec_id, resume=False)
    assert failed.status is ExecutionStatus.FAILED
