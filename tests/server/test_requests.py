"""POST executions/{id}/replay and /retry: the sidebar records a request, the kernel that defines the
flow carries it out when it is idle; the detail shows who owns an execution and its requests."""

from __future__ import annotations

from pathlib import Path

import kitaru_nb as kitaru
from kitaru_nb.runtime import continuation


def three_steps(state: dict[str, int]) -> str:
    @kitaru.checkpoint
    def rq_load() -> int:
        state["load"] = state.get("load", 0) + 1
        return 10

    @kitaru.checkpoint
    def rq_double(x: int) -> int:
        state["double"] = state.get("double", 0) + 1
        if state.get("broken"):
            raise ValueError("double is broken")
        return 2 * x

    @kitaru.flow
    def rq_flow() -> int:
        return rq_double(rq_load()) + 1

    return rq_flow.run().exec_id


async def test_replay_request_is_recorded_then_carried_out_by_the_defining_process(journal: Path, api) -> None:
    state: dict[str, int] = {}
    exec_id = three_steps(state)
    code, data = await api("POST", "executions", exec_id, "replay", body={"from": "rq_double"})
    assert code == 202, data
    req = data["request"]
    assert (req["kind"], req["status"], req["params"]) == ("replay", "pending", {"from": "rq_double"})
    assert req["created_by"] == "sidebar"
    assert "carries it out when it is idle" in data["message"]
    assert state == {"load": 1, "double": 1}  # nothing ran in the server

    j = kitaru.KitaruClient(db=journal).journal
    (pending,) = continuation.pending_requests(j)
    continuation.carry_out(j, pending)
    assert state == {"load": 1, "double": 2}  # rq_load reused, rq_double ran again

    code, detail = await api("GET", "executions", exec_id)
    (done,) = detail["requests"]
    assert done["status"] == "done" and done["result_exec_id"]
    code, replayed = await api("GET", "executions", done["result_exec_id"])
    assert replayed["status"] == "completed" and replayed["original_exec_id"] == exec_id
    assert [c["display_status"] for c in replayed["checkpoints"]] == ["reused", "completed"]


async def test_replay_with_an_override_after_the_checkpoint(journal: Path, api) -> None:
    state: dict[str, int] = {}
    exec_id = three_steps(state)
    code, _data = await api(
        "POST",
        "executions",
        exec_id,
        "replay",
        body={"from": "rq_load", "overrides": {"checkpoint.rq_load": 50}, "after": False},
    )
    # an override names a reused checkpoint; replaying from rq_load runs rq_load live
    assert code == 202
    j = kitaru.KitaruClient(db=journal).journal
    (pending,) = continuation.pending_requests(j)
    continuation.carry_out(j, pending)
    (r,) = j.list_requests(exec_id=exec_id)
    assert r.status == "failed" and "not reused by this replay" in (r.message or "")


async def test_bad_replay_requests_are_refused_and_record_nothing(journal: Path, api) -> None:
    exec_id = three_steps({})
    code, data = await api("POST", "executions", exec_id, "replay", body={"from": "nope"})
    assert code == 400 and "rq_load" in data["message"] and "rq_double" in data["message"]
    code, data = await api("POST", "executions", exec_id, "replay", body={"from": "rq_load", "x": 1})
    assert code == 400 and "unexpected keys" in data["message"]
    code, data = await api("POST", "executions", exec_id, "replay", body={"from": 3})
    assert code == 400
    code, data = await api("POST", "executions", exec_id, "replay", body={"from": "rq_load", "overrides": [1]})
    assert code == 400
    code, data = await api("POST", "executions", "0" * 32, "replay", body={"from": "rq_load"})
    assert code == 404
    assert kitaru.KitaruClient(db=journal).executions.requests(exec_id) == []


async def test_retry_request_for_a_failed_execution(journal: Path, api) -> None:
    state = {"broken": 1}
    exec_id = three_steps(state)
    code, data = await api("GET", "executions", exec_id)
    assert data["status"] == "failed"
    code, data = await api("POST", "executions", exec_id, "retry", body={})
    assert code == 202 and data["request"]["kind"] == "retry"
    state["broken"] = 0  # "fix the cell"
    j = kitaru.KitaruClient(db=journal).journal
    (pending,) = continuation.pending_requests(j)
    continuation.carry_out(j, pending)
    code, data = await api("GET", "executions", exec_id)
    assert data["status"] == "completed"
    assert data["requests"][0]["status"] == "done"
    code, data = await api("POST", "executions", exec_id, "retry", body={})
    assert code == 409 and "only a failed execution retries" in data["message"]


async def test_detail_tells_who_owns_the_execution_and_the_timeline(journal: Path, api) -> None:
    @kitaru.checkpoint
    def tl_prep() -> int:
        return 1

    @kitaru.flow
    def tl_flow() -> bool:
        tl_prep()
        return bool(kitaru.wait(schema=bool, name="go", question="Go on?"))

    exec_id = tl_flow.run().exec_id
    code, data = await api("GET", "executions", exec_id)
    assert data["owner"]["pid"] > 0 and data["owner_alive"] is True
    assert "runs in process" in data["owner_hint"]
    assert data["waiting_for"] == "input" and data["progress"] == {"done": 1, "total": 2}
    code, data = await api("POST", "executions", exec_id, "input", body={"wait": "go", "value": True})
    assert code == 200
    rows = data["timeline"]
    assert [(r["index"], r["kind"], r["name"]) for r in rows] == [(0, "checkpoint", "tl_prep"), (1, "wait", "go")]
    assert rows[1]["answered_by"] == "sidebar" and rows[1]["answer_preview"] == "True"
    assert rows[1]["answered_at"] is not None
    code, listed = await api("GET", "executions", params={"flow": "tl_flow"})
    (row,) = listed["executions"]
    assert row["progress"] == {"done": 2, "total": 2} and row["waiting_for"] is None
