"""What the sidebar's list, badge and push need from the REST API and the event bus."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import kitaru_nb as kitaru
from kitaru_nb.server.live import EVENT_SCHEMA_ID

from .flows import Approval


def waiting_flows() -> dict[str, Any]:
    tries = {"n": 0}

    @kitaru.checkpoint(on_error="pause")
    def fetch() -> str:
        tries["n"] += 1
        if tries["n"] == 1:
            raise ConnectionError("warehouse offline")
        return "rows"

    @kitaru.flow
    def budget_request(n: int) -> int:
        answer = kitaru.wait(schema=Approval, name="approve", question="ok?")
        return n if answer.approved else -1

    @kitaru.flow
    def nightly_etl() -> str:
        return fetch()

    return {"budget_request": budget_request, "nightly_etl": nightly_etl}


async def test_list_filters_by_part_of_the_flow_name_and_by_what_a_waiting_execution_needs(api, journal):
    flows = waiting_flows()
    asking = flows["budget_request"].run(1).exec_id
    paused = flows["nightly_etl"].run().exec_id

    code, body = await api("GET", "executions", params={"flow_contains": "budg"})
    assert code == 200
    assert [e["exec_id"] for e in body["executions"]] == [asking]
    assert body["total"] == 1
    code, body = await api("GET", "executions", params={"flow_contains": "ETL"})
    assert [e["exec_id"] for e in body["executions"]] == [paused]

    code, body = await api("GET", "executions", params={"status": "needs_input"})
    assert (code, [e["exec_id"] for e in body["executions"]]) == (200, [asking])
    assert body["executions"][0]["waiting_for"] == "input"
    assert body["executions"][0]["progress"] == {"done": 0, "total": 1}
    code, body = await api("GET", "executions", params={"status": "paused_on_error"})
    assert (code, [e["exec_id"] for e in body["executions"]]) == (200, [paused])
    assert body["executions"][0]["waiting_for"] == "decision"
    code, body = await api("GET", "executions", params={"status": "waiting", "flow_contains": "request"})
    assert [e["exec_id"] for e in body["executions"]] == [asking]

    code, body = await api("GET", "executions", params={"status": "needs_input", "flow": "nightly_etl"})
    assert (code, body["executions"], body["total"]) == (200, [], 0)
    code, body = await api("GET", "executions", params={"status": "paused_on_error", "flow": "nightly_etl"})
    assert [e["exec_id"] for e in body["executions"]] == [paused]

    code, body = await api("GET", "executions", params={"status": "stuck"})
    assert code == 400
    assert "needs_input" in body["message"] and "paused_on_error" in body["message"]
    code, body = await api("GET", "executions", params={"flow": "a", "flow_contains": "b"})
    assert code == 400


async def test_counts_of_executions_waiting_for_a_human_go_up_and_down(api, journal):
    code, body = await api("GET", "counts")
    assert (code, body["total"]) == (200, 0)
    flows = waiting_flows()
    asking = flows["budget_request"].run(1).exec_id
    paused = flows["nightly_etl"].run().exec_id
    code, body = await api("GET", "counts")
    assert {k: body[k] for k in ("input", "decision", "total")} == {"input": 1, "decision": 1, "total": 2}

    code, _ = await api(
        "POST", "executions", asking, "input", body={"wait": "approve", "value": {"approved": True, "reviewer": "ada"}}
    )
    assert code == 200
    code, body = await api("GET", "counts")
    assert {k: body[k] for k in ("input", "decision", "total")} == {"input": 0, "decision": 1, "total": 1}
    kitaru.KitaruClient().executions.retry(paused, checkpoint="fetch")
    code, body = await api("GET", "counts")
    assert body["total"] == 0


async def test_a_change_in_the_journal_is_pushed_on_the_event_bus_within_half_a_second(
    api, journal: Path, jp_serverapp: Any
) -> None:
    events: list[tuple[float, dict[str, Any]]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        events.append((time.perf_counter(), dict(data)))

    jp_serverapp.event_logger.add_listener(schema_id=EVENT_SCHEMA_ID, listener=listener)
    flows = waiting_flows()
    flows["budget_request"].run(1)  # the journal file exists
    code, _ = await api("GET", "counts")  # starts the push loop (the server's start hook does too)
    assert code == 200
    for _ in range(50):
        if events:
            break
        await asyncio.sleep(0.02)
    assert events, "the push loop emitted nothing"
    events.clear()

    # another connection commits: a wait starts (as a kernel would), the badge count goes up
    started = time.perf_counter()
    await asyncio.to_thread(lambda: flows["budget_request"].run(2))
    for _ in range(100):
        if any(e["reason"] == "changed" and e["input"] == 2 for _, e in events):
            break
        await asyncio.sleep(0.01)
    changed = [(t, e) for t, e in events if e["reason"] == "changed" and e["input"] == 2]
    assert changed, events
    latency = changed[0][0] - started
    print(f"journal change -> event on the bus: {latency * 1000:.0f} ms")
    assert latency < 0.5
    assert changed[0][1]["decision"] == 0
    watcher = jp_serverapp.web_app.settings["kitaru_nb_watcher"]
    await watcher.stop()


def test_the_watcher_sees_commits_of_other_connections_and_a_replaced_journal_file(tmp_path: Path) -> None:
    from kitaru_nb.journal.base import ExecutionRow
    from kitaru_nb.journal.sqlite import SqliteJournal
    from kitaru_nb.server.live import JournalWatcher

    path = tmp_path / "kitaru.db"
    watcher = JournalWatcher(path, emit=None, heartbeat=3600)
    assert watcher.check() is None  # no journal yet: nothing to tell
    writer = SqliteJournal(path)
    first = watcher.check()
    assert first is not None and first["reason"] == "changed"
    assert watcher.check() is None  # nothing changed
    writer.create_execution(ExecutionRow(exec_id="a" * 32, flow_name="f", status="waiting", started_at=1.0))
    changed = watcher.check()
    assert changed is not None and changed["reason"] == "changed" and changed["token"] != first["token"]
    assert watcher.check() is None

    # the file is deleted and a new journal created in its place: the watcher follows it
    writer.close()
    for p in tmp_path.glob("kitaru.db*"):
        p.unlink()
    SqliteJournal(path).close()
    again = watcher.check()
    assert again is not None and again["reason"] == "changed"

    # a heartbeat when nothing changed for `heartbeat` seconds
    watcher.heartbeat = 0
    beat = watcher.check()
    assert beat is not None and beat["reason"] == "heartbeat"
