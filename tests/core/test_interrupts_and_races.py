"""Interrupts in a checkpoint, and two processes that could both continue one execution."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import AttemptStatus, ExecutionStatus, FailureOrigin, KitaruClient

from .conftest import Scripts, count_lines, wait_until


def test_keyboard_interrupt_in_a_checkpoint_is_journaled_and_retry_continues(client: KitaruClient) -> None:
    runs = Counter[str]()
    state = {"interrupt": True}

    @kitaru.checkpoint
    def ki_first() -> int:
        runs["first"] += 1
        return 1

    @kitaru.checkpoint
    def ki_long(x: int) -> int:
        runs["long"] += 1
        if state["interrupt"]:
            raise KeyboardInterrupt  # the user pressed "interrupt the kernel"
        return x + 1

    @kitaru.flow
    def ki_flow() -> int:
        return ki_long(ki_first())

    with pytest.raises(KeyboardInterrupt):
        ki_flow.run()
    ex = client.executions.latest(flow="ki_flow")
    assert ex is not None
    assert ex.status is ExecutionStatus.FAILED
    assert ex.failure is not None and ex.failure.origin is FailureOrigin.RUNTIME
    # the message says where it stopped and that nothing needs fixing
    assert (
        ex.failure.message == "interrupted (KeyboardInterrupt) at checkpoint 'ki_long' (#1); Retry continues from there"
    )
    (attempt,) = ex.checkpoints[1].attempts
    assert attempt.status is AttemptStatus.FAILED
    assert attempt.failure is not None and attempt.failure.message == ex.failure.message

    state["interrupt"] = False
    done = client.executions.retry(ex.exec_id)
    assert done.status is ExecutionStatus.COMPLETED
    assert done.result == 2
    assert runs == {"first": 1, "long": 2}


RACE_FLOW = """
import json, os, sys
import kitaru_nb as kitaru

LOG = None

def ran(name):
    with open(LOG, "a") as fh:
        fh.write(name + "\\n")

@kitaru.checkpoint
def race_before():
    ran("before")
    return 10

@kitaru.checkpoint
def race_after(x, y):
    ran("after")
    return x + y

@kitaru.flow
def race_flow():
    return race_after(race_before(), kitaru.wait(schema=int, name="y"))

if __name__ == "__main__":
    LOG = sys.argv[2]
    kitaru.configure(db=sys.argv[1])
    handle = race_flow.run()
    print(json.dumps(handle.exec_id), flush=True)
    print(json.dumps({"result": handle.get(timeout=60), "pid": os.getpid()}), flush=True)
"""


def test_the_process_that_answers_and_a_blocked_get_do_not_both_continue(
    db_path: Path, scripts: Scripts, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    module = scripts.write(RACE_FLOW, "race_module.py")
    proc = scripts.start(module.read_text(), str(db_path), str(log))
    try:
        assert proc.stdout is not None
        exec_id = json.loads(proc.stdout.readline())
        # this process knows the same flow (the same cell run in another kernel) and answers
        namespace: dict[str, object] = {"__name__": "race_module_in_test"}
        exec(compile(module.read_text(), str(module), "exec"), namespace)
        namespace["LOG"] = str(log)
        client = KitaruClient(db=db_path)
        wait_until(lambda: client.executions.get(exec_id).status is ExecutionStatus.WAITING, what="waiting")
        client.executions.input(exec_id, wait="y", value=5)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["result"] == 15
        final = client.executions.get(exec_id)
        assert final.status is ExecutionStatus.COMPLETED
        # whichever process continued, every checkpoint ran exactly once
        assert count_lines(log) == {"before": 1, "after": 1}
        assert [len(c.attempts) for c in final.checkpoints] == [1, 1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
