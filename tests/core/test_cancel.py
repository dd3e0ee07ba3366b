"""Cancel: a waiting execution ends as cancelled and takes no more answers."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import ExecutionStatus, KitaruClient, KitaruStateError

from .conftest import Scripts, wait_until


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


SLOW_FLOW = """
import json, sys, time
import kitaru_nb as kitaru

log, ready = sys.argv[2], sys.argv[3]

@kitaru.checkpoint
def cn_slow_step(i):
    with open(log, "a") as fh:
        fh.write(f"{i}\\n")
    if i == 2:
        open(ready, "w").close()
    time.sleep(0.05)
    return i

@kitaru.flow
def cn_slow_flow():
    total = 0
    for i in range(200):
        try:
            total += cn_slow_step(i)
        except Exception:  # a cancel is not an Exception the flow can swallow
            pass
    return total

kitaru.configure(db=sys.argv[1])
handle = cn_slow_flow.run()
print(json.dumps({"exec_id": handle.exec_id, "status": handle.status.value}))
"""


def test_cancel_from_another_process_stops_a_running_flow_at_the_next_checkpoint(
    db_path: Path, scripts: Scripts, tmp_path: Path
) -> None:
    log, ready = tmp_path / "steps.log", tmp_path / "ready"
    proc = scripts.start(SLOW_FLOW, str(db_path), str(log), str(ready))
    try:
        wait_until(lambda: ready.exists() or proc.poll() is not None, what="the flow to start")
        client = KitaruClient(db=db_path)
        exec_id = client.executions.latest().exec_id  # type: ignore[union-attr]
        ex = client.executions.cancel(exec_id)
        assert ex.status is ExecutionStatus.CANCELLED
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    last = json.loads(out.strip().splitlines()[-1])
    assert last == {"exec_id": exec_id, "status": "cancelled"}
    ran = len(log.read_text().splitlines())
    assert 3 <= ran < 20  # stopped at the next checkpoint, not after all 200
    final = client.executions.get(exec_id)
    assert final.status is ExecutionStatus.CANCELLED
    assert len(final.checkpoints) == ran
    assert all(a.status.value == "completed" for c in final.checkpoints for a in c.attempts)


def test_cancel_from_another_thread_of_the_same_process(client: KitaruClient) -> None:
    started = threading.Event()
    release = threading.Event()
    ran: list[int] = []

    @kitaru.checkpoint
    def cn_thread_step(i: int) -> int:
        ran.append(i)
        if i == 1:
            started.set()
            release.wait(timeout=30)
        return i

    @kitaru.flow
    def cn_thread_flow() -> int:
        return sum(cn_thread_step(i) for i in range(50))

    box: dict[str, object] = {}
    worker = threading.Thread(target=lambda: box.setdefault("handle", cn_thread_flow.run()))
    worker.start()
    assert started.wait(timeout=30)
    exec_id = client.executions.latest(flow="cn_thread_flow").exec_id  # type: ignore[union-attr]
    assert client.executions.cancel(exec_id).status is ExecutionStatus.CANCELLED
    release.set()
    worker.join(timeout=30)
    assert ran == [0, 1]
    assert client.executions.get(exec_id).status is ExecutionStatus.CANCELLED
    with pytest.raises(KitaruStateError, match="cancelled"):
        box["handle"].get()  # type: ignore[attr-defined]
