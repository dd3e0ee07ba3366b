"""The commit rule: a checkpoint whose first attempt ends within ``deferred.HOLD`` is journaled in one
write; a longer one has its start journaled while it runs. Crash safety holds either way."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import kitaru_nb as kitaru
from kitaru_nb import AttemptStatus, CallStatus, ExecutionStatus
from kitaru_nb.runtime import deferred

from .conftest import Scripts, wait_until

# argv: journal path, run log, ready file, mode (run | resume EXEC_ID)
BURST = """
import json, os, sys
import kitaru_nb as kitaru

db, log, ready, mode = sys.argv[1:5]
fh = open(log, "a")

@kitaru.checkpoint
def burst_step(i):
    fh.write(f"{i}\\n")
    fh.flush()
    if i == 300 and mode == "run":
        open(ready, "w").close()
    return i

@kitaru.flow
def burst_flow(n):
    return sum(burst_step(i) for i in range(n))

kitaru.configure(db=db)
if mode == "run":
    burst_flow.run(100_000)
else:
    ex = kitaru.KitaruClient().executions.resume(sys.argv[5])
    print(json.dumps({"status": ex.status.value, "result": ex.result}))
"""


def kill_during_burst(tmp_path: Path, scripts: Scripts, source: str) -> tuple[set[int], list[int], Any]:
    """Run a burst script, kill it well into the burst, then resume the execution in a new process:
    (positions journaled completed at the kill, positions that ran before it, positions that ran
    on resume), after checking that the resume completed with the full sum."""
    db, log, ready = tmp_path / "j.db", tmp_path / "ran.log", tmp_path / "ready"
    proc = scripts.start(source, str(db), str(log), str(ready), "run")
    wait_until(ready.exists, timeout=120)
    time.sleep(0.05)  # well into the burst
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    client = kitaru.KitaruClient(db)
    (row,) = client.executions.list(flow="burst_flow")
    before = client.executions.get(row.exec_id)
    committed = {c.index for c in before.checkpoints if c.status == CallStatus.COMPLETED}
    ran_before = [int(x) for x in log.read_text().split()]
    log.write_text("")
    out = scripts.run(source, str(db), str(log), str(ready), "resume", row.exec_id, timeout=300)
    total = int(source.split("burst_flow.run(")[1].split(")")[0])
    assert out == {"status": "completed", "result": sum(range(total))}
    return committed, ran_before, [int(x) for x in log.read_text().split()]


def test_a_kill_during_a_burst_of_trivial_checkpoints_reruns_only_what_was_not_committed(
    tmp_path: Path, scripts: Scripts
) -> None:
    committed, ran_before, rerun = kill_during_burst(tmp_path, scripts, BURST)
    assert len(committed) > 300
    assert committed == set(range(len(committed)))  # a sequential flow commits in order, without gaps
    # at most the attempt in flight was lost: it ran but was never journaled
    assert len(ran_before) - len(committed) <= 1
    assert not committed & set(rerun)  # never a committed checkpoint again
    assert rerun == list(range(len(committed), 100_000))


def test_a_long_attempt_is_journaled_running_and_reads_interrupted_after_a_kill(
    tmp_path: Path, scripts: Scripts
) -> None:
    db, ready = tmp_path / "j.db", tmp_path / "ready"
    proc = scripts.start(
        """
        import sys, time
        import kitaru_nb as kitaru

        @kitaru.checkpoint
        def long_step():
            open(sys.argv[2], "w").close()
            time.sleep(120)

        @kitaru.flow
        def long_flow():
            long_step()

        kitaru.configure(db=sys.argv[1])
        long_flow.run()
        """,
        str(db),
        str(ready),
    )
    wait_until(ready.exists, timeout=60)
    client = kitaru.KitaruClient(db)
    # another process sees the running attempt once it outlives the hold
    wait_until(lambda: any(e.progress[1] == 1 for e in client.executions.list(flow="long_flow")), timeout=10)
    running = client.executions.get(client.executions.list(flow="long_flow")[0].exec_id)
    assert running.checkpoints[0].status == CallStatus.RUNNING
    assert running.checkpoints[0].attempts[0].status == AttemptStatus.RUNNING
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    kitaru.configure(db=None)
    from kitaru_nb.journal.sqlite import SqliteJournal

    fresh = kitaru.KitaruClient(SqliteJournal(db))  # a new connection: recovery runs on first use
    ex = fresh.executions.get(running.exec_id)
    assert ex.checkpoints[0].attempts[0].status == AttemptStatus.INTERRUPTED
    assert ex.status == ExecutionStatus.RUNNING and ex.checkpoints[0].status == CallStatus.FAILED


def test_trivial_checkpoints_take_one_write_and_long_ones_two(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def cr_quick() -> int:
        return 1

    @kitaru.checkpoint
    def cr_slow() -> int:
        time.sleep(deferred.HOLD * 4)
        return 2

    @kitaru.flow
    def cr_mixed() -> int:
        return cr_quick() + cr_slow()

    statements: list[str] = []
    with client.journal.trace(statements.append):  # type: ignore[attr-defined]
        handle = cr_mixed.run()
    assert handle.wait() == 3
    inserts = [s for s in statements if s.startswith("INSERT INTO calls")]
    updates = [s for s in statements if s.startswith("UPDATE calls")]
    assert len(inserts) == 2  # each call's row is written once
    assert len(updates) == 1  # only the slow one is updated at its end
    assert "'cr_slow'" in inserts[1] and "'running'" in inserts[1]
    assert "'cr_quick'" in inserts[0] and "'completed'" in inserts[0]
    assert deferred.pending_count() == 0
    ex = client.executions.get(handle.exec_id)
    assert [(c.status, len(c.attempts), c.attempts[0].status) for c in ex.checkpoints] == [
        (CallStatus.COMPLETED, 1, AttemptStatus.COMPLETED),
        (CallStatus.COMPLETED, 1, AttemptStatus.COMPLETED),
    ]


def test_log_inside_a_held_attempt_journals_its_start_first(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def cr_logs() -> int:
        kitaru.log(rows=3)
        return 1

    @kitaru.flow
    def cr_log_flow() -> int:
        return cr_logs()

    handle = cr_log_flow.run()
    assert handle.wait() == 1
    assert client.executions.get(handle.exec_id).checkpoints[0].metadata == {"rows": 3}
