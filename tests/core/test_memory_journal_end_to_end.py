"""The whole engine on either journal: flows, retries, waits, retry with fixed code, replay."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import CallStatus, ExecutionStatus, KitaruClient
from kitaru_nb.journal.base import Journal
from kitaru_nb.journal.memory import MemoryJournal
from kitaru_nb.journal.sqlite import SqliteJournal


@pytest.fixture(params=["memory", "sqlite"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journal]:
    j: Journal = MemoryJournal() if request.param == "memory" else SqliteJournal(tmp_path / "e2e.db")
    kitaru.configure(db=j)
    yield j
    kitaru.configure(db=None)
    j.close()


def test_a_flow_lives_its_whole_life_on_either_journal(journal: Journal) -> None:
    runs = Counter[str]()
    broken = {"score": True}

    @kitaru.checkpoint(retries=1)
    def mj_load() -> list[int]:
        runs["load"] += 1
        if runs["load"] == 1:
            raise ConnectionError("first try")
        return [1, 2, 3]

    @kitaru.checkpoint
    def mj_score(rows: list[int], factor: int) -> int:
        runs["score"] += 1
        if broken["score"]:
            raise ValueError("bug")
        return sum(rows) * factor

    @kitaru.flow
    def mj_flow(factor: int) -> int:
        rows = mj_load()
        ok = kitaru.wait(schema=bool, name="go")
        return mj_score(rows, factor) if ok else -1

    client = KitaruClient(db=journal)
    handle = mj_flow.run(2)
    assert handle.status is ExecutionStatus.WAITING
    ex = client.executions.input(handle.exec_id, wait="go", value=True)
    assert ex.status is ExecutionStatus.FAILED
    broken["score"] = False
    ex = client.executions.retry(handle.exec_id)
    assert ex.status is ExecutionStatus.COMPLETED
    assert handle.get() == 12
    assert runs == {"load": 2, "score": 2}
    assert [len(c.attempts) for c in ex.checkpoints] == [2, 2]

    replay = client.executions.replay(handle.exec_id, from_="mj_score", factor=10)
    assert replay.result == 60
    assert [c.status for c in replay.checkpoints] == [CallStatus.REUSED, CallStatus.COMPLETED]
    assert runs == {"load": 2, "score": 3}
    assert client.executions.count() == 2
    assert [e.exec_id for e in client.executions.list()] == [replay.exec_id, handle.exec_id]
