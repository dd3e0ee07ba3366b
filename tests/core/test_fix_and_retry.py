"""Fix the cell, then Retry: the same execution completes with the new code, completed work is reused."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kitaru_nb import CallStatus, ExecutionStatus, KitaruClient, KitaruStateError, KitaruUserCodeError

from .conftest import Scripts


def _cell(ns: dict[str, Any], source: str) -> None:
    """Run notebook-cell source in a shared namespace, as IPython does (``__name__ == '__main__'``)."""
    exec(compile(textwrap.dedent(source), "<cell>", "exec"), ns)


def test_redefined_checkpoint_runs_on_retry_and_completed_ones_are_reused(client: KitaruClient) -> None:
    runs = Counter[str]()
    ns: dict[str, Any] = {"__name__": "__main__", "runs": runs}
    _cell(
        ns,
        """
        import kitaru_nb as kitaru

        @kitaru.checkpoint
        def fr_extract():
            runs["extract"] += 1
            return [3, 1, 2]

        @kitaru.checkpoint
        def fr_clean(rows):
            runs["clean"] += 1
            return sorted(rows)

        @kitaru.checkpoint
        def fr_score(rows):
            runs["score_v1"] += 1
            return rows[10]          # the bug

        @kitaru.checkpoint
        def fr_publish(score):
            runs["publish"] += 1
            return f"score={score}"

        @kitaru.flow
        def fr_pipeline():
            rows = fr_clean(fr_extract())
            return fr_publish(fr_score(rows))
        """,
    )
    handle = ns["fr_pipeline"].run()
    with pytest.raises(KitaruUserCodeError) as info:
        handle.get()
    assert isinstance(info.value.__cause__, IndexError)
    assert runs == {"extract": 1, "clean": 1, "score_v1": 1}

    # a retry with the buggy code appends an attempt and fails again
    again = client.executions.retry(handle.exec_id)
    assert again.status is ExecutionStatus.FAILED
    assert runs == {"extract": 1, "clean": 1, "score_v1": 2}

    # fix the cell: same name, decorated again
    _cell(
        ns,
        """
        @kitaru.checkpoint
        def fr_score(rows):
            runs["score_v2"] += 1
            return rows[-1] * 10
        """,
    )
    old_fingerprint = again.checkpoints[2].fingerprint
    fixed = client.executions.retry(handle.exec_id)
    assert fixed.exec_id == handle.exec_id
    assert fixed.status is ExecutionStatus.COMPLETED
    assert handle.get() == "score=30"
    assert runs == {"extract": 1, "clean": 1, "score_v1": 2, "score_v2": 1, "publish": 1}

    names = [c.name for c in fixed.checkpoints]
    assert names == ["fr_extract", "fr_clean", "fr_score", "fr_publish"]
    assert [c.status for c in fixed.checkpoints] == [CallStatus.COMPLETED] * 4
    score = fixed.checkpoints[2]
    assert [a.number for a in score.attempts] == [1, 2, 3]
    assert [a.status.value for a in score.attempts] == ["failed", "failed", "completed"]
    assert score.failure is None
    assert [len(c.attempts) for c in fixed.checkpoints] == [1, 1, 3, 1]
    # the output of fr_score came from the fixed code: the journal says so
    assert score.fingerprint != old_fingerprint
    assert [c.code_changed for c in fixed.checkpoints] == [False] * 4
    # a completed execution is not retried
    with pytest.raises(KitaruStateError, match="completed"):
        client.executions.retry(handle.exec_id)


def test_redefined_checkpoint_wins_even_when_the_flow_holds_the_old_object(client: KitaruClient) -> None:
    runs = Counter[str]()
    ns: dict[str, Any] = {"__name__": "__main__", "runs": runs}
    _cell(
        ns,
        """
        import kitaru_nb as kitaru

        @kitaru.checkpoint
        def fr2_step():
            runs["v1"] += 1
            raise ValueError("v1 is broken")

        steps = [fr2_step]       # the flow keeps a reference to the first definition

        @kitaru.flow
        def fr2_flow():
            return steps[0]()
        """,
    )
    handle = ns["fr2_flow"].run()
    assert handle.status is ExecutionStatus.FAILED
    _cell(
        ns,
        """
        @kitaru.checkpoint
        def fr2_step():
            runs["v2"] += 1
            return "v2"
        """,
    )
    assert client.executions.retry(handle.exec_id).status is ExecutionStatus.COMPLETED
    assert handle.get() == "v2"
    assert runs == {"v1": 1, "v2": 1}


def test_retry_needs_the_flow_defined_in_this_process(client: KitaruClient, scripts: Any, db_path: Any) -> None:
    exec_id = scripts.run(
        """
        import json, sys
        import kitaru_nb as kitaru

        @kitaru.checkpoint
        def boom():
            raise RuntimeError("no")

        @kitaru.flow
        def only_in_another_process_flow():
            boom()

        kitaru.configure(db=sys.argv[1])
        print(json.dumps(only_in_another_process_flow.run().exec_id))
        """,
        str(db_path),
    )
    before = client.executions.get(exec_id)
    with pytest.raises(KitaruStateError, match=r"'only_in_another_process_flow' is not defined.*run the cell"):
        client.executions.retry(exec_id)
    count = client.executions.count()
    with pytest.raises(KitaruStateError, match=r"'only_in_another_process_flow' is not defined"):
        client.executions.replay(exec_id, from_="boom")
    assert client.executions.count() == count
    after = client.executions.get(exec_id)
    assert after.status is ExecutionStatus.FAILED
    assert [len(c.attempts) for c in after.checkpoints] == [len(c.attempts) for c in before.checkpoints]


def test_the_client_tells_when_a_reused_output_came_from_code_that_changed(client: KitaruClient) -> None:
    ns: dict[str, Any] = {"__name__": "__main__"}
    _cell(
        ns,
        """
        import kitaru_nb as kitaru

        @kitaru.checkpoint
        def fp_a():
            return 1

        @kitaru.checkpoint
        def fp_b(x):
            return x + 1

        @kitaru.checkpoint
        def fp_c(x):
            return x * 2

        @kitaru.flow
        def fp_flow():
            return fp_c(fp_b(fp_a()))
        """,
    )
    source = ns["fp_flow"].run()
    assert source.get() == 4
    before = client.executions.get(source.exec_id)
    assert [c.code_changed for c in before.checkpoints] == [False, False, False]

    _cell(
        ns,
        """
        @kitaru.checkpoint
        def fp_b(x):
            return x + 100          # changed code
        """,
    )
    after = client.executions.get(source.exec_id)
    assert [c.code_changed for c in after.checkpoints] == [False, True, False]

    replay = client.executions.replay(source.exec_id, from_="fp_c")
    assert replay.result == 4  # fp_b's output was reused, from the old code
    assert [c.code_changed for c in replay.checkpoints] == [False, True, False]
    # redefining with the same code again is not a change
    _cell(
        ns,
        """
        @kitaru.checkpoint
        def fp_b(x):
            return x + 1
        """,
    )
    assert [c.code_changed for c in client.executions.get(source.exec_id).checkpoints] == [False, False, False]


FINGERPRINT_FLOW = """
import json, sys
import kitaru_nb as kitaru

@kitaru.checkpoint
def fp_rich(xs):
    doubled = [x * 2 for x in xs]            # a nested code object
    keep = {"a", "b", "c"}                   # a frozenset constant
    return sorted(k for k in keep if k) + doubled

@kitaru.flow
def fp_rich_flow():
    return fp_rich([1, 2])

kitaru.configure(db=sys.argv[1])
client = kitaru.KitaruClient()
if sys.argv[2] == "run":
    exec_id = fp_rich_flow.run().exec_id
else:
    exec_id = sys.argv[3]
ex = client.executions.get(exec_id)
print(json.dumps({"exec_id": exec_id, "changed": [c.code_changed for c in ex.checkpoints],
                  "fingerprint": fp_rich.fingerprint}))
"""


def test_fingerprints_are_stable_across_processes(
    db_path: Path, scripts: Scripts, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = scripts.run(FINGERPRINT_FLOW, str(db_path), "run")
    assert first["changed"] == [False]
    seen = {first["fingerprint"]}
    for seed in ("1", "2", "3"):
        monkeypatch.setenv("PYTHONHASHSEED", seed)
        later = scripts.run(FINGERPRINT_FLOW, str(db_path), "read", first["exec_id"])
        # a restarted kernel with the same code: nothing changed
        assert later["changed"] == [False]
        seen.add(later["fingerprint"])
    assert len(seen) == 1
