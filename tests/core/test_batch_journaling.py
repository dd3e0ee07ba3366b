"""A ``.map`` of trivial calls on threads journals them in groups (one transaction for many), and the
flow never sees an output the journal does not have; a kill mid-burst re-runs only what was not
committed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import CallStatus
from kitaru_nb.journal.base import AttemptRow, CallRow
from kitaru_nb.journal.sqlite import SqliteJournal
from kitaru_nb.runtime import concurrent, deferred
from kitaru_nb.runtime.context import current_run

from .conftest import Scripts
from .test_commit_rule import BURST, kill_during_burst


@pytest.mark.parametrize(
    ("n", "seconds", "most"),
    [(400, 0.0, 400 // 3), (120, 2 * deferred.HOLD, 120)],
    ids=["trivial calls: one write each", "calls that outlive the hold: start and completion"],
)
def test_a_map_shares_transactions_and_each_output_is_journaled_before_it_is_seen(
    client: kitaru.KitaruClient, n: int, seconds: float, most: int
) -> None:
    @kitaru.checkpoint
    def bj_item(i: int) -> int:
        if seconds:
            time.sleep(seconds)
        return i * 3

    seen_unjournaled: list[int] = []

    @kitaru.flow
    def bj_fan(n: int) -> int:
        run = current_run.get()
        assert run is not None
        futures = bj_item.map(range(n))
        for f in futures:
            value = f.result()
            # what the flow was handed is in the journal already (read back through the client)
            rows = client.executions.page(run.exec_id, after=f.index - 1, limit=1).checkpoints
            row = rows[0] if rows else None
            if (
                row is None
                or row.index != f.index
                or row.status != CallStatus.COMPLETED
                or row.output_preview != str(value)
            ):
                seen_unjournaled.append(f.index)
        return sum(f.result() for f in futures)

    journal = client.journal
    assert isinstance(journal, SqliteJournal)
    statements: list[str] = []
    with journal.trace(statements.append):
        handle = bj_fan.run(n)
    assert handle.get() == sum(i * 3 for i in range(n))
    assert seen_unjournaled == []
    calls = client.executions.get(handle.exec_id).checkpoints
    assert [c.index for c in calls] == list(range(n))
    assert all(c.status == CallStatus.COMPLETED and len(c.attempts) == 1 for c in calls)
    assert all(c.attempts[0].status.value == "completed" for c in calls)
    begins = sum(sql.lstrip().upper().startswith("BEGIN") for sql in statements)
    # far fewer transactions than writes: one write per trivial call, a start and a completion per
    # slow one (those go in fewer transactions than there are calls)
    assert begins < most


def test_a_refused_write_in_a_group_fails_its_own_call_only(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    from kitaru_nb.journal.base import ExecutionRow, call_id_at

    journal.create_execution(ExecutionRow("e1", "f", "running", 1.0))
    journal.insert_call(CallRow(call_id_at("e1", 2), "e1", 2, "checkpoint", "taken", "completed", 1.0, ended_at=1.0))

    def job(i: int) -> int:
        call = CallRow(call_id_at("e1", i), "e1", i, "checkpoint", "step", "completed", 5.0, ended_at=5.0)
        attempt = AttemptRow(f"a{i}", call.call_id, "e1", 1, "completed", 5.0, 5.0)
        assert concurrent.leave_to_batch("insert", journal, (call, attempt))
        return i * 10

    batch = concurrent.Batch()
    futures = [batch.add(job, i) for i in range(5)]
    batch.launch()
    outcomes = []
    for f in futures:
        exc = f.exception(timeout=30)
        outcomes.append(type(exc).__name__ if exc is not None else f.result())
    assert outcomes[2] in ("IntegrityError", "ValueError")  # position 2 was taken: that call alone fails
    assert [o for i, o in enumerate(outcomes) if i != 2] == [0, 10, 30, 40]
    assert [c.name for c in journal.load_calls("e1")] == ["step", "step", "taken", "step", "step"]
    assert sorted(a.attempt_id for a in journal.list_attempts("e1")) == ["a0", "a1", "a3", "a4"]
    journal.close()


# test_commit_rule's burst, its calls made by one .map: argv: journal path, run log, ready file, mode
MAP_BURST = (
    BURST.replace("sum(burst_step(i) for i in range(n))", "sum(burst_step.map(range(n)).result())")
    .replace("burst_flow.run(100_000)", "burst_flow.run(60_000)")
    .replace("i == 300 ", "i == 3000 ")
)
assert all(part in MAP_BURST for part in (".map(range(n))", "run(60_000)", "i == 3000 "))


def test_a_kill_during_a_burst_of_a_map_reruns_only_what_was_not_committed(tmp_path: Path, scripts: Scripts) -> None:
    committed, ran_before, rerun = kill_during_burst(tmp_path, scripts, MAP_BURST)
    assert len(committed) > 1000
    assert committed <= set(ran_before)
    # lost: only calls that ran in the last moments, a group (at most GROUP_ITEMS) per driver thread
    # waiting to be written and the calls in flight (the script's 6 threads)
    assert len(set(ran_before) - committed) <= 8 * concurrent.GROUP_ITEMS
    assert not committed & set(rerun)  # never a committed call again
    assert sorted(rerun) == sorted(set(range(60_000)) - committed)
