"""Several processes write flows to one journal at the same time: no error, no lost row."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from kitaru_nb import KitaruClient

from .conftest import Scripts

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


def test_four_processes_write_one_journal_at_once(db_path: Path, scripts: Scripts, tmp_path: Path) -> None:
    workers, flows = 4, 25
    go = tmp_path / "go"
    procs = [scripts.start(WRITER, str(db_path), str(go), f"w{i}", str(flows)) for i in range(workers)]
    go.touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert outputs == [["completed"] * flows] * workers

    client = KitaruClient(db=db_path)
    assert client.executions.count() == workers * flows
    assert client.executions.count(status="completed") == workers * flows
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        calls = conn.execute("SELECT count(*), sum(status = 'completed') FROM calls").fetchone()
        attempts = conn.execute(
            "SELECT count(*), sum(status = 'completed'), sum(status = 'failed') FROM attempts"
        ).fetchone()
        per_exec = conn.execute("SELECT count(DISTINCT exec_id) FROM calls").fetchone()[0]
    n = workers * flows
    assert calls == (6 * n, 6 * n)
    assert attempts == (7 * n, 6 * n, n)
    assert per_exec == n
    sample = client.executions.list(limit=1)[0]
    assert client.executions.get(sample.exec_id).result == 20
