"""Crash recovery does not take a reused pid for the process that owned an execution: the owner is
recorded with its start time, and a process with the same pid but another start time is not it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from kitaru_nb.journal.base import AttemptRow, CallRow, ExecutionRow, call_id_at
from kitaru_nb.journal.sqlite import SqliteJournal
from kitaru_nb.runtime.owner import is_alive as _alive
from kitaru_nb.runtime.owner import process_start, this_owner


def test_a_live_pid_with_another_start_time_is_not_the_owner() -> None:
    parent = os.getppid()
    start = process_start(parent)
    assert start is not None
    assert _alive(parent, start)
    assert not _alive(parent, start + 1)  # the same pid, started at another time: reused
    assert _alive(parent)  # unknown start: the pid alone decides


def test_recovery_marks_attempts_of_a_reused_pid_interrupted(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "k.db")
    parent = os.getppid()  # alive, but not the process that ran these executions
    start = process_start(parent)
    assert start is not None
    for exec_id, pid_start in (("reused", start + 7), ("same", start)):
        owner = {"host": socket.gethostname(), "pid": parent, "pid_start": pid_start}
        journal.create_execution(
            ExecutionRow(
                exec_id=exec_id, flow_name="f", status="running", started_at=1.0, owner_pid=parent, owner=owner
            )
        )
        journal.insert_call(
            CallRow(call_id_at(exec_id, 0), exec_id, 0, "checkpoint", "step", "running", 2.0),
            AttemptRow(f"{exec_id}-a", call_id_at(exec_id, 0), exec_id, 1, "running", 2.0),
        )
    assert journal.recover_interrupted(_alive) == 1
    assert [a.status for a in journal.list_attempts("reused")] == ["interrupted"]
    assert [a.status for a in journal.list_attempts("same")] == ["running"]
    journal.close()


def test_this_process_records_its_start_time() -> None:
    me = this_owner()
    assert me["pid"] == os.getpid() and me["pid_start"] == process_start(os.getpid())
