"""A process killed mid-step: the journal stays intact, the attempt reads interrupted, and the run is
finished from another process; every completed step ran exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from kitaru_nb import AttemptStatus, CallStatus, ExecutionStatus, KitaruClient
from kitaru_nb.run.workflow import RunStatus, StepCompletedEvent, StepStartedEvent

from .steps_lib import REPO, crashy_workflow

RUN = """
import sys
from tests.workflow.steps_lib import crashy_workflow
db, log, ready = sys.argv[1:4]
crashy_workflow(db, log, ready).run("data")
"""


def start_and_kill(db_path: Path, log: Path, ready: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("KITARU_NB_DB", None)
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(db_path), str(log), str(ready)], cwd=REPO, env=env)
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, "the workflow process ended before the step that is killed"
        assert time.monotonic() < deadline, "the workflow process never reached the step"
        time.sleep(0.02)
    # the commit rule: a step is journaled running once it outlives the hold (a few ms)
    while not _journaled_running(db_path):
        assert time.monotonic() < deadline, "the running step was never journaled"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _journaled_running(db_path: Path) -> bool:
    # read with plain sqlite3: opening the journal with kitaru_nb here would run its crash recovery
    # now, while the process still lives
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
            return bool(conn.execute("SELECT count(*) FROM calls WHERE status = 'running'").fetchone()[0])
    except sqlite3.Error:
        return False


def test_killed_mid_step_then_continued_in_this_process(db_path: Path, tmp_path: Path) -> None:
    log, ready = tmp_path / "ran.log", tmp_path / "ready"
    start_and_kill(db_path, log, ready)

    wf = crashy_workflow(db_path, log, None)  # a new definition in a new process
    client = KitaruClient(db=db_path)
    [ex] = client.executions.list()
    assert ex.kind == "workflow" and ex.status is ExecutionStatus.RUNNING
    train = client.executions.get(ex.exec_id).checkpoints[1]
    assert train.name == "train" and [a.status for a in train.attempts] == [AttemptStatus.INTERRUPTED]

    events = list(wf.continue_run(run_id=ex.exec_id, stream=True, stream_events=True))
    assert [
        (type(e).__name__, getattr(e, "step_name", None))
        for e in events
        if isinstance(e, (StepStartedEvent, StepCompletedEvent))
    ] == [
        ("StepStartedEvent", "train"),
        ("StepCompletedEvent", "train"),
        ("StepStartedEvent", "report"),
        ("StepCompletedEvent", "report"),
    ]
    done = wf.get_run(ex.exec_id)
    assert done.status is RunStatus.completed and done.content == "total=6"
    assert log.read_text().split() == ["prepare", "train", "train", "report"]
    calls = client.executions.get(ex.exec_id).checkpoints
    assert [c.status for c in calls] == [CallStatus.COMPLETED] * 3
    assert [a.status for a in calls[1].attempts] == [AttemptStatus.INTERRUPTED, AttemptStatus.COMPLETED]


def test_killed_mid_step_then_resumed_by_the_client(db_path: Path, tmp_path: Path) -> None:
    log, ready = tmp_path / "ran.log", tmp_path / "ready"
    start_and_kill(db_path, log, ready)
    crashy_workflow(db_path, log, None)
    client = KitaruClient(db=db_path)
    [ex] = client.executions.list()
    assert client.executions.resume(ex.exec_id).status is ExecutionStatus.COMPLETED
    assert log.read_text().split() == ["prepare", "train", "train", "report"]
