"""Replay from the middle, overrides, and divergence when the code no longer matches the journal."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb import (
    CallStatus,
    ExecutionStatus,
    FailureOrigin,
    KitaruClient,
    KitaruDivergenceError,
    KitaruUsageError,
)

from .conftest import Scripts


def _four_step_flow(runs: Counter[str]) -> Any:
    @kitaru.checkpoint
    def rp_load(n: int) -> int:
        runs["load"] += 1
        return n

    @kitaru.checkpoint
    def rp_scale(x: int) -> int:
        runs["scale"] += 1
        return x * 10

    @kitaru.checkpoint
    def rp_shift(x: int) -> int:
        runs["shift"] += 1
        return x + 1

    @kitaru.checkpoint
    def rp_save(x: int) -> dict[str, int]:
        runs["save"] += 1
        return {"value": x}

    @kitaru.flow
    def rp_flow(n: int) -> dict[str, int]:
        return rp_save(rp_shift(rp_scale(rp_load(n))))

    return rp_flow


def test_replay_from_the_middle_reuses_before_and_runs_after(client: KitaruClient) -> None:
    runs = Counter[str]()
    rp_flow = _four_step_flow(runs)
    source = rp_flow.run(2)
    assert source.get() == {"value": 21}
    runs.clear()

    replay = client.executions.replay(source.exec_id, from_="rp_shift")
    assert replay.exec_id != source.exec_id
    assert replay.original_exec_id == source.exec_id
    assert replay.replay_from == "rp_shift"
    assert replay.status is ExecutionStatus.COMPLETED
    assert replay.result == {"value": 21}
    assert runs == {"shift": 1, "save": 1}
    assert [c.status for c in replay.checkpoints] == [
        CallStatus.REUSED,
        CallStatus.REUSED,
        CallStatus.COMPLETED,
        CallStatus.COMPLETED,
    ]
    original = client.executions.get(source.exec_id)
    assert [c.original_call_id for c in replay.checkpoints[:2]] == [c.call_id for c in original.checkpoints[:2]]
    assert replay.checkpoints[2].original_call_id is None
    assert all(len(c.attempts) == 0 for c in replay.checkpoints[:2])
    # the source execution is untouched
    assert original.status is ExecutionStatus.COMPLETED
    assert [c.status for c in original.checkpoints] == [CallStatus.COMPLETED] * 4


def test_replay_overrides_a_reused_output_and_a_flow_input(client: KitaruClient) -> None:
    runs = Counter[str]()
    rp_flow = _four_step_flow(runs)
    source = rp_flow.run(2)
    runs.clear()

    overridden = client.executions.replay(source.exec_id, from_="rp_shift", overrides={"checkpoint.rp_scale": 500})
    assert overridden.result == {"value": 501}
    assert runs == {"shift": 1, "save": 1}
    assert overridden.checkpoints[1].output_preview == "500"

    runs.clear()
    new_input = client.executions.replay(source.exec_id, from_="rp_load", n=7)
    assert new_input.inputs == {"n": 7}
    assert new_input.result == {"value": 71}
    assert runs == {"load": 1, "scale": 1, "shift": 1, "save": 1}

    # a reused checkpoint keeps its recorded output even when the input changes
    runs.clear()
    partial = client.executions.replay(source.exec_id, from_="rp_scale", n=7)
    assert partial.result == {"value": 21}
    assert runs == {"scale": 1, "shift": 1, "save": 1}

    # replay of a replay chains back to it
    again = client.executions.replay(overridden.exec_id, from_="rp_save")
    assert again.original_exec_id == overridden.exec_id
    assert again.result == {"value": 501}
    assert again.checkpoints[0].original_call_id == client.executions.get(source.exec_id).checkpoints[0].call_id


def test_replay_refuses_bad_arguments_and_changes_nothing(client: KitaruClient) -> None:
    runs = Counter[str]()
    rp_flow = _four_step_flow(runs)
    source = rp_flow.run(1)
    count = client.executions.count()

    with pytest.raises(KitaruUsageError) as info:
        client.executions.replay(source.exec_id, from_="rp_nope")
    for name in ("rp_load", "rp_scale", "rp_shift", "rp_save"):
        assert name in str(info.value)
    with pytest.raises(KitaruUsageError, match="call 2"):
        client.executions.replay(source.exec_id, from_="rp_shift#2")
    with pytest.raises(KitaruUsageError, match="not reused"):
        client.executions.replay(source.exec_id, from_="rp_scale", overrides={"checkpoint.rp_save": 1})
    with pytest.raises(KitaruUsageError, match=r"checkpoint\.NAME"):
        client.executions.replay(source.exec_id, from_="rp_scale", overrides={"rp_load": 1})
    with pytest.raises(KitaruUsageError, match=r"no input\(s\) \['m'\]"):
        client.executions.replay(source.exec_id, from_="rp_scale", m=3)
    with pytest.raises(KitaruUsageError, match="override for checkpoint 'rp_load' cannot be journaled"):
        client.executions.replay(source.exec_id, from_="rp_scale", overrides={"checkpoint.rp_load": threading.Lock()})
    with pytest.raises(KitaruUsageError, match="inputs cannot be journaled"):
        client.executions.replay(source.exec_id, from_="rp_scale", n=threading.Lock())
    assert client.executions.count() == count


def test_replay_from_the_k_th_call_and_waits_before_it_are_reused(client: KitaruClient) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint
    def rk_step(i: int) -> int:
        runs[f"step{i}"] += 1
        return i

    @kitaru.flow
    def rk_flow() -> list[int]:
        first = rk_step(1)
        factor = kitaru.wait(schema=int, name="factor")
        second = rk_step(2)
        third = rk_step(3)
        later = kitaru.wait(schema=int, name="later")
        return [first * factor, second, third, later]

    source = rk_flow.run()
    client.executions.input(source.exec_id, wait="factor", value=5)
    client.executions.input(source.exec_id, wait="later", value=9)
    assert source.get() == [5, 2, 3, 9]
    runs.clear()

    replay = client.executions.replay(source.exec_id, from_="rk_step#3")
    assert runs == {"step3": 1}
    # the answer before from_ is reused, the later wait asks again
    assert replay.status is ExecutionStatus.WAITING
    assert [w.name for w in replay.pending_waits] == ["later"]
    done = client.executions.input(replay.exec_id, wait="later", value=1)
    assert done.result == [5, 2, 3, 1]


def test_resume_against_changed_code_fails_with_divergence(client: KitaruClient) -> None:
    @kitaru.checkpoint
    def dv_prepare() -> int:
        return 1

    @kitaru.checkpoint
    def dv_other() -> int:
        return 2

    @kitaru.flow
    def dv_flow() -> int:
        a = dv_prepare()
        b = kitaru.wait(schema=int, name="b")
        return int(a + b)

    handle = dv_flow.run()
    assert handle.status is ExecutionStatus.WAITING

    @kitaru.flow  # type: ignore[no-redef]
    def dv_flow() -> int:
        a = dv_other()  # position 0 now calls another checkpoint
        b = kitaru.wait(schema=int, name="b")
        return int(a + b)

    ex = client.executions.input(handle.exec_id, wait="b", value=1)
    assert ex.status is ExecutionStatus.FAILED
    assert ex.failure is not None
    assert ex.failure.origin is FailureOrigin.DIVERGENCE
    msg = ex.failure.message
    assert "position 0" in msg and "'dv_prepare'" in msg and "'dv_other'" in msg
    with pytest.raises(KitaruDivergenceError) as info:
        handle.get()
    assert info.value.failure_origin is FailureOrigin.DIVERGENCE
    assert info.value.exec_id == handle.exec_id
    assert "position 0" in str(info.value)


def test_replay_against_code_that_waits_where_a_checkpoint_was(client: KitaruClient) -> None:
    @kitaru.checkpoint
    def dw_a() -> int:
        return 1

    @kitaru.checkpoint
    def dw_b(x: int) -> int:
        return x + 1

    @kitaru.checkpoint
    def dw_c(x: int) -> int:
        return x + 1

    @kitaru.flow
    def dw_flow() -> int:
        return dw_c(dw_b(dw_a()))

    source = dw_flow.run()

    @kitaru.flow  # type: ignore[no-redef]
    def dw_flow() -> int:
        a = dw_a()
        extra = kitaru.wait(schema=int, name="extra")  # a wait where dw_b was recorded
        return dw_c(a + extra)

    replay = client.executions.replay(source.exec_id, from_="dw_c")
    assert replay.status is ExecutionStatus.FAILED
    assert replay.failure is not None and replay.failure.origin is FailureOrigin.DIVERGENCE
    assert "position 1" in replay.failure.message
    assert "checkpoint 'dw_b'" in replay.failure.message and "wait 'extra'" in replay.failure.message


def test_replay_raises_at_submission_when_a_reused_checkpoint_no_longer_exists(
    client: KitaruClient, db_path: Path, scripts: Scripts
) -> None:
    # recorded by another process whose code had a checkpoint this process does not define
    source_id = scripts.run(
        """
        import json, sys
        import kitaru_nb as kitaru

        @kitaru.checkpoint
        def ds_legacy_loader_unique():
            return 1

        @kitaru.checkpoint
        def ds_finish(x):
            return x + 1

        @kitaru.flow
        def ds_flow():
            return ds_finish(ds_legacy_loader_unique())

        kitaru.configure(db=sys.argv[1])
        print(json.dumps(ds_flow.run().exec_id))
        """,
        str(db_path),
    )

    @kitaru.checkpoint
    def ds_new_loader() -> int:
        return 1

    @kitaru.checkpoint
    def ds_finish(x: int) -> int:
        return x + 1

    @kitaru.flow
    def ds_flow() -> int:
        return ds_finish(ds_new_loader())

    count = client.executions.count()
    with pytest.raises(KitaruDivergenceError) as info:
        client.executions.replay(source_id, from_="ds_finish")
    assert info.value.failure_origin is FailureOrigin.DIVERGENCE
    assert "position 0" in str(info.value) and "ds_legacy_loader_unique" in str(info.value)
    assert client.executions.count() == count


def test_retry_after_divergence_with_the_code_restored_completes(client: KitaruClient) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint
    def dr_first() -> int:
        runs["first"] += 1
        return 1

    @kitaru.checkpoint
    def dr_renamed() -> int:
        runs["renamed"] += 1
        return 1

    @kitaru.checkpoint
    def dr_last(x: int) -> int:
        runs["last"] += 1
        return x + 1

    def original() -> int:
        a = dr_first()
        kitaru.wait(schema=bool, name="ok")
        return dr_last(a)

    def changed() -> int:
        a = dr_renamed()
        kitaru.wait(schema=bool, name="ok")
        return dr_last(a)

    flow_v1 = kitaru.flow(name="dr_flow")(original)
    handle = flow_v1.run()
    kitaru.flow(name="dr_flow")(changed)
    failed = client.executions.input(handle.exec_id, wait="ok", value=True)
    assert failed.failure is not None and failed.failure.origin is FailureOrigin.DIVERGENCE
    assert "position 0" in failed.failure.message
    # the same code again: retry diverges again, and runs nothing
    again = client.executions.retry(handle.exec_id)
    assert again.status is ExecutionStatus.FAILED and again.failure is not None
    assert again.failure.origin is FailureOrigin.DIVERGENCE
    assert runs == {"first": 1}
    # restore the code that made the recorded calls: retry completes, reusing position 0
    kitaru.flow(name="dr_flow")(original)
    done = client.executions.retry(handle.exec_id)
    assert done.status is ExecutionStatus.COMPLETED and done.failure is None
    assert handle.get() == 2
    assert runs == {"first": 1, "last": 1}
