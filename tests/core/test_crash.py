"""A process killed mid-checkpoint: the journal stays intact, the attempt reads interrupted, resume finishes."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

from kitaru_nb import AttemptStatus, CallStatus, ExecutionStatus

from .conftest import Scripts, count_lines, wait_until

# argv: journal path, run log, ready file, mode (run | resume EXEC_ID)
CRASHY_FLOW = """
import json, os, sys, time
import kitaru_nb as kitaru

db, log, ready, mode = sys.argv[1:5]

def ran(name):
    with open(log, "a") as fh:
        fh.write(name + "\\n")
        fh.flush()
        os.fsync(fh.fileno())

@kitaru.checkpoint
def crash_fetch():
    ran("fetch")
    return list(range(5))

@kitaru.checkpoint
def crash_double(xs):
    ran("double")
    return [x * 2 for x in xs]

@kitaru.checkpoint
def crash_train(xs):
    ran("train")
    if mode == "run":
        open(ready, "w").close()
        time.sleep(120)            # killed here
    return sum(xs)

@kitaru.checkpoint
def crash_report(total):
    ran("report")
    return f"total={total}"

@kitaru.flow
def crash_flow():
    return crash_report(crash_train(crash_double(crash_fetch())))

kitaru.configure(db=db)
if mode == "run":
    crash_flow.run()
else:
    client = kitaru.KitaruClient()
    ex = client.executions.resume(sys.argv[5])
    print(json.dumps({"status": ex.status.value, "result": ex.result}))
"""

STEAL_ATTEMPT = """
import json, sys
from kitaru_nb import KitaruClient, KitaruError
client = KitaruClient(db=sys.argv[1])
ex = client.executions.latest()
try:
    client.executions.resume(ex.exec_id)
    outcome = "resumed"
except KitaruError as exc:
    outcome = f"{type(exc).__name__}: {exc}"
print(json.dumps({"resume": outcome, "status": client.executions.get(ex.exec_id).status.value}))
"""

READ_ATTEMPTS = """
import json, sys
from kitaru_nb import KitaruClient
ex = KitaruClient(db=sys.argv[1]).executions.latest()
print(json.dumps(ex.to_dict()))
"""


def test_sigkill_mid_checkpoint_then_resume_runs_completed_checkpoints_once(tmp_path: Path, scripts: Scripts) -> None:
    db = tmp_path / "crash.db"
    log = tmp_path / "runs.log"
    ready = tmp_path / "ready"
    script = scripts.write(CRASHY_FLOW, "crashy.py")
    child = scripts.start(script.read_text(), str(db), str(log), str(ready), "run")
    try:
        wait_until(lambda: ready.exists() or child.poll() is not None, what="the child to reach crash_train")
        assert child.poll() is None, child.communicate()
        # while its process lives, nobody else continues the execution
        alive = scripts.run(STEAL_ATTEMPT, str(db))
        assert alive["resume"].startswith("KitaruStateError") and f"process {child.pid}" in alive["resume"]
        assert alive["status"] == "running"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert count_lines(log) == {"fetch": 1, "double": 1, "train": 1}

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (status,) = conn.execute("SELECT status FROM attempts WHERE status = 'running'").fetchone()
        assert status == "running"  # nobody has opened the journal since the crash

    seen = scripts.run(READ_ATTEMPTS, str(db))
    assert seen["status"] == "running"
    calls = {c["name"]: c for c in seen["checkpoints"]}
    assert [a["status"] for a in calls["crash_train"]["attempts"]] == [AttemptStatus.INTERRUPTED.value]
    # the call failed (origin runtime, naming the dead process); resume runs it again
    assert calls["crash_train"]["status"] == "failed"
    assert calls["crash_train"]["failure"]["origin"] == "runtime"
    assert f"process {child.pid} ended" in calls["crash_train"]["failure"]["message"]
    assert calls["crash_fetch"]["status"] == calls["crash_double"]["status"] == "completed"

    resumed = scripts.run(CRASHY_FLOW, str(db), str(log), str(ready), "resume", seen["exec_id"])
    assert resumed == {"status": "completed", "result": "total=20"}
    assert count_lines(log) == {"fetch": 1, "double": 1, "train": 2, "report": 1}

    final = scripts.run(READ_ATTEMPTS, str(db))
    assert final["status"] == ExecutionStatus.COMPLETED.value
    train = next(c for c in final["checkpoints"] if c["name"] == "crash_train")
    assert [a["status"] for a in train["attempts"]] == ["interrupted", "completed"]
    assert [a["number"] for a in train["attempts"]] == [1, 2]
    assert [c["status"] for c in final["checkpoints"]] == [CallStatus.COMPLETED.value] * 4
    assert all(len(c["attempts"]) == 1 for c in final["checkpoints"] if c["name"] != "crash_train")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert final["failure"] is None
