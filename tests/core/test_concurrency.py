"""Several processes write flows to one journal at the same time: no error, no lost row.

Each test runs on the SQLite file and on a PostgreSQL database (the team journal).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import KitaruClient

from .conftest import Scripts


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The journal every process of the test opens: a file path, or a PostgreSQL URL."""
    db = str(tmp_path / "kitaru.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    kitaru.configure(db=db)
    yield db
    kitaru.configure(db=None)


WRITER = """
import json, os, sys, time
import kitaru_nb as kitaru

db, go, worker, flows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tries = {}

@kitaru.checkpoint
def cc_step(i):
    return i * 2

@kitaru.checkpoint(retries=1)
def cc_flaky(key):
    tries[key] = tries.get(key, 0) + 1
    if tries[key] == 1:
        raise OSError("first try fails")
    return key

@kitaru.flow
def cc_flow(worker, n):
    total = sum(cc_step(i) for i in range(5))
    cc_flaky(f"{worker}-{n}")
    return total

kitaru.configure(db=db)
kitaru.KitaruClient()               # open (and migrate) before the start line
while not os.path.exists(go):
    time.sleep(0.001)
statuses = [cc_flow.run(worker, n).status.value for n in range(flows)]
print(json.dumps(statuses))
"""


def test_four_processes_write_one_journal_at_once(shared_db: str, scripts: Scripts, tmp_path: Path) -> None:
    workers, flows = 4, 50
    go = tmp_path / "go"
    procs = [scripts.start(WRITER, shared_db, str(go), f"w{i}", str(flows)) for i in range(workers)]
    go.touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert outputs == [["completed"] * flows] * workers

    client = KitaruClient(db=shared_db)
    n = workers * flows
    assert client.executions.count() == n
    assert client.executions.count(status="completed") == n
    calls = attempts = failed = 0
    for row in client.executions.list(limit=n):
        ex = client.executions.get(row.exec_id)
        assert [c.index for c in ex.checkpoints] == list(range(6))
        assert all(c.status.value == "completed" for c in ex.checkpoints)
        assert [len(c.attempts) for c in ex.checkpoints] == [1, 1, 1, 1, 1, 2]
        calls += len(ex.checkpoints)
        attempts += sum(len(c.attempts) for c in ex.checkpoints)
        failed += sum(a.status.value == "failed" for c in ex.checkpoints for a in c.attempts)
        assert ex.result == 20
    assert (calls, attempts, failed) == (6 * n, 7 * n, n)


def test_threads_of_one_process_run_flows_side_by_side(shared_db: str) -> None:
    client = KitaruClient()

    @kitaru.checkpoint
    def th_step(worker: int, i: int) -> int:
        return worker * 100 + i

    @kitaru.flow
    def th_flow(worker: int) -> int:
        return sum(th_step(worker, i) for i in range(10))

    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            results[worker] = [th_flow.run(worker).get() for _ in range(10)]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert results == {w: [w * 1000 + 45] * 10 for w in range(4)}
    assert client.executions.count(flow="th_flow", status="completed") == 40
    for ex in client.executions.list(flow="th_flow", limit=40):
        full = client.executions.get(ex.exec_id)
        assert [c.index for c in full.checkpoints] == list(range(10))
        assert all(len(c.attempts) == 1 for c in full.checkpoints)


ANSWERER = """
import json, os, sys, time
from kitaru_nb import KitaruClient, KitaruStateError

db, exec_id, go, value = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = KitaruClient(db=db)
client.executions.get(exec_id)
while not os.path.exists(go):
    time.sleep(0.001)
try:
    client.executions.input(exec_id, wait="pick", value=value)
    print(json.dumps("recorded"))
except KitaruStateError as exc:
    print(json.dumps(f"refused: {exc}"))
"""


def test_two_processes_answer_one_wait_at_once_and_exactly_one_wins(
    shared_db: str, scripts: Scripts, tmp_path: Path
) -> None:
    client = KitaruClient()

    @kitaru.flow
    def cc_pick() -> int:
        return int(kitaru.wait(schema=int, name="pick"))

    for round_ in range(3):
        handle = cc_pick.run()
        go = tmp_path / f"go{round_}"
        procs = [scripts.start(ANSWERER, shared_db, handle.exec_id, str(go), str(v)) for v in (1, 2)]
        go.touch()
        outcomes = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
        assert sorted(o.split(":")[0] for o in outcomes) == ["recorded", "refused"], outcomes
        winner = 1 + outcomes.index("recorded")
        # neither answering process knows the flow; this one does and resumes with the winner's value
        assert client.executions.resume(handle.exec_id).result == winner
