"""A process killed in the middle of a fan-out: resuming runs only the calls that had not completed,
never one that had."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import kitaru_nb as kitaru

FLOW = """
import os, sys, time
import kitaru_nb as kitaru

LOG = sys.argv[2]

@kitaru.checkpoint
def fan_item(i: int) -> int:
    with open(LOG, "a") as fh:
        fh.write(f"start {i} {os.getpid()}\\n")
    if i >= 4 and os.environ.get("FAN_SLOW"):
        time.sleep(60)  # still running when the process is killed
    with open(LOG, "a") as fh:
        fh.write(f"done {i} {os.getpid()}\\n")
    return i * 10

@kitaru.flow
def fan_flow() -> int:
    return sum(fan_item.map(range(8)).result())

if __name__ == "__main__":
    kitaru.configure(db=sys.argv[1], max_workers=8)
    fan_flow.run()
"""


def test_resume_after_a_kill_mid_fan_out_reruns_only_unfinished_calls(tmp_path: Path) -> None:
    script, log, db = tmp_path / "fan.py", tmp_path / "log.txt", tmp_path / "k.db"
    script.write_text(FLOW)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(log)], env={**os.environ, "FAN_SLOW": "1"}, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = log.read_text().splitlines() if log.exists() else []
            if (
                sum(line.startswith("done") for line in lines) == 4
                and sum(line.startswith("start") for line in lines) == 8
            ):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"the fan-out did not get half-way: {log.read_text() if log.exists() else ''}")
        time.sleep(0.2)  # the completed calls' end records are committed right after their log lines
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()

    namespace: dict[str, object] = {"__name__": "fan_resume"}
    exec(compile(FLOW.replace("LOG = sys.argv[2]", f"LOG = {str(log)!r}"), str(script), "exec"), namespace)
    client = kitaru.KitaruClient(db=db)
    (ex,) = client.executions.list(flow="fan_flow")
    before = log.read_text().splitlines()
    done = client.executions.resume(ex.exec_id)
    assert done.status.value == "completed" and done.result == sum(i * 10 for i in range(8))
    rerun = [line for line in log.read_text().splitlines()[len(before) :] if line.startswith("start")]
    assert sorted(int(line.split()[1]) for line in rerun) == [4, 5, 6, 7]
    full = client.executions.get(ex.exec_id)
    assert [len(c.attempts) for c in full.checkpoints] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert [c.attempts[0].status.value for c in full.checkpoints[4:]] == ["interrupted"] * 4
