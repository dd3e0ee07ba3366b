"""POST /kitaru-nb/api/executions/{id}/decision: the sidebar records Retry / Skip for a checkpoint
paused on error; the kernel that runs the flow carries it out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kitaru_nb as kitaru


def paused_execution(state: dict[str, bool]) -> str:
    @kitaru.checkpoint(on_error="pause")
    def sd_fetch() -> str:
        if state["broken"]:
            raise ConnectionError("source <b>down</b>")
        return "rows"

    @kitaru.flow
    def sd_report() -> str | None:
        return sd_fetch()

    handle = sd_report.run()
    assert handle.status is kitaru.ExecutionStatus.WAITING
    return handle.exec_id


async def test_a_recorded_retry_is_carried_out_by_the_process_that_knows_the_flow(journal: Path, api) -> None:
    state = {"broken": True}
    exec_id = paused_execution(state)
    code, data = await api("GET", "executions", exec_id)
    assert data["pending_errors"] == ["sd_fetch"]

    code, data = await api(
        "POST", "executions", exec_id, "decision", body={"checkpoint": "sd_fetch", "decision": "retry"}
    )
    assert code == 200, data
    assert data["status"] == "waiting" and data["pending_errors"] == []
    # nothing ran in the server: still one attempt
    assert [len(c["attempts"]) for c in data["checkpoints"]] == [1]

    code, again = await api(
        "POST", "executions", exec_id, "decision", body={"checkpoint": "sd_fetch", "decision": "skip"}
    )
    assert code == 409 and "no checkpoint paused on error" in again["message"]

    state["broken"] = False  # "fix the cell"
    done = kitaru.KitaruClient(db=journal).executions.resume(exec_id)
    assert (done.status.value, done.result) == ("completed", "rows")


async def test_a_recorded_skip_makes_the_checkpoint_return_none(journal: Path, api) -> None:
    exec_id = paused_execution({"broken": True})
    code, data = await api(
        "POST", "executions", exec_id, "decision", body={"checkpoint": "sd_fetch", "decision": "skip"}
    )
    assert code == 200, data
    done = kitaru.KitaruClient(db=journal).executions.resume(exec_id)
    assert done.status.value == "completed" and done.result is None
    assert done.checkpoints[0].status.value == "skipped"


@pytest.mark.parametrize(
    ("raw", "code", "word"),
    [
        (b"not json", 400, "must be JSON"),
        (b"[]", 400, "JSON object"),
        (json.dumps({"decision": "retry"}).encode(), 400, '"checkpoint"'),
        (json.dumps({"checkpoint": "sd_fetch", "decision": "redo"}).encode(), 400, '"decision" must be one of'),
        (json.dumps({"checkpoint": "sd_fetch", "decision": "retry", "x": 1}).encode(), 400, "unexpected keys"),
        (json.dumps({"checkpoint": "nope", "decision": "retry"}).encode(), 409, "named 'nope'"),
    ],
)
async def test_bad_decisions_are_refused_and_change_nothing(
    journal: Path, api, raw: bytes, code: int, word: str
) -> None:
    exec_id = paused_execution({"broken": True})
    got, data = await api("POST", "executions", exec_id, "decision", raw=raw)
    assert got == code, data
    assert word in data["message"]
    assert kitaru.KitaruClient(db=journal).executions.paused_checkpoints(exec_id) == ["sd_fetch"]


async def test_decisions_need_a_token_and_a_known_execution(jp_fetch, journal: Path, api) -> None:
    exec_id = paused_execution({"broken": True})
    resp = await jp_fetch(
        "kitaru-nb",
        "api",
        "executions",
        exec_id,
        "decision",
        method="POST",
        body=json.dumps({"checkpoint": "sd_fetch", "decision": "skip"}),
        headers={"Authorization": ""},
        raise_error=False,
    )
    assert resp.code == 403
    assert kitaru.KitaruClient(db=journal).executions.paused_checkpoints(exec_id) == ["sd_fetch"]
    code, data = await api(
        "POST",
        "executions",
        "0123456789abcdef0123456789abcdef",
        "decision",
        body={"checkpoint": "sd_fetch", "decision": "skip"},
    )
    assert code == 404 and "no execution" in data["message"]
    code, _ = await api("POST", "executions", "../etc", "decision", body={"checkpoint": "x", "decision": "skip"})
    assert code in (400, 404)
