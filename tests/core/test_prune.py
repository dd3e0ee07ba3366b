"""Deleting and pruning executions: nothing left behind, open executions refused, the file compacted."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import ExecutionStatus, KitaruClient, KitaruStateError, KitaruUsageError


def _rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("executions", "calls", "attempts", "artifacts", "requests")
        }


@kitaru.checkpoint(retries=1)
def pr_step(i: int) -> str:
    kitaru.save("big", "x" * 20_000, type="blob")
    if i == 0 and not pr_step.fn.__dict__.setdefault("failed_once", False):
        pr_step.fn.__dict__["failed_once"] = True
        raise ConnectionError("first attempt fails")
    return f"step {i}"


@kitaru.flow
def pr_flow(n: int, ask: bool = False) -> list[str]:
    out = [pr_step(i) for i in range(n)]
    if ask:
        kitaru.wait(schema=bool, name="go")
    return out


def test_delete_leaves_nothing_of_the_execution_behind(client: KitaruClient, db_path: Path) -> None:
    keep = pr_flow.run(2)
    gone = pr_flow.run(3)
    client.executions.request_replay(gone.exec_id, from_="pr_step#2")  # a request row too
    before = _rows(db_path)
    client.executions.delete(gone.exec_id[:10])
    after = _rows(db_path)
    assert after["executions"] == before["executions"] - 1
    assert after["calls"] == 2 and after["artifacts"] == 2 and after["requests"] == 0
    with pytest.raises(KitaruUsageError, match="no execution"):
        client.executions.get(gone.exec_id)
    assert client.executions.get(keep.exec_id).status == ExecutionStatus.COMPLETED
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_running_and_waiting_executions_are_refused_unless_forced(client: KitaruClient, db_path: Path) -> None:
    waiting = pr_flow.run(1, ask=True)
    assert waiting.status == ExecutionStatus.WAITING
    with pytest.raises(KitaruStateError, match=r"is waiting; delete refuses running and waiting executions\. Cancel"):
        client.executions.delete(waiting.exec_id)
    assert client.executions.get(waiting.exec_id).status == ExecutionStatus.WAITING  # untouched
    with pytest.raises(KitaruStateError, match=r"prune refuses \['waiting'\]"):
        client.executions.prune(older_than=0, status="waiting")
    client.executions.delete(waiting.exec_id, force=True)
    assert client.executions.count() == 0


def test_prune_removes_old_finished_executions_and_compact_shrinks_the_file(
    client: KitaruClient, db_path: Path
) -> None:
    old = [pr_flow.run(20) for _ in range(5)]
    waiting = pr_flow.run(1, ask=True)
    time.sleep(0.05)
    cutoff = datetime.now(tz=UTC)
    new = pr_flow.run(1)
    client.compact()
    size_before = db_path.stat().st_size
    assert client.executions.prune(older_than=cutoff) == 5
    assert {e.exec_id for e in client.executions.list()} == {waiting.exec_id, new.exec_id}
    client.compact()
    assert db_path.stat().st_size < size_before / 2
    assert client.executions.prune(older_than=timedelta(hours=1)) == 0
    assert client.executions.prune(older_than=0, status=["completed"]) == 1
    assert [e.exec_id for e in client.executions.list()] == [waiting.exec_id]
    assert all(client.journal.get_execution(e.exec_id) is None for e in old)


def test_a_replay_keeps_what_it_reuses_when_its_source_is_deleted(client: KitaruClient) -> None:
    source = pr_flow.run(2)
    replay = pr_flow.replay(source.exec_id, from_="pr_step#2")
    assert replay.wait() == ["step 0", "step 1"]
    client.executions.delete(source.exec_id)
    reused = client.executions.get(replay.exec_id).checkpoints[0]
    assert [a.name for a in reused.artifacts] == ["output", "big"]
    assert reused.artifacts[1].load() == "x" * 20_000


@pytest.mark.parametrize(
    ("older_than", "message"),
    [(-1, "takes seconds"), ("1d", "takes seconds"), (datetime(2026, 1, 1), "needs an aware datetime")],
)
def test_bad_prune_arguments_get_clear_errors(client: KitaruClient, older_than: object, message: str) -> None:
    with pytest.raises(KitaruUsageError, match=message):
        client.executions.prune(older_than=older_than)  # type: ignore[arg-type]
    with pytest.raises(KitaruUsageError, match="status must be one of"):
        client.executions.prune(older_than=0, status="done")
