"""Kitaru's fan-out: ``.submit`` / ``.map`` / ``.product`` run checkpoint bodies concurrently, while
positions are taken at submission in program order, so resume, retry and replay treat them exactly
as sequential calls."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb.runtime.concurrent import CheckpointFutures


def test_map_runs_concurrently_with_positions_in_submission_order(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def cc_fetch(i: int) -> int:
        time.sleep(0.2)
        return i * i

    @kitaru.flow
    def cc_fan() -> list[int]:
        futures = cc_fetch.map(range(8))
        assert isinstance(futures, CheckpointFutures) and len(futures) == 8
        return futures.result()

    t0 = time.monotonic()
    handle = cc_fan.run()
    elapsed = time.monotonic() - t0
    assert handle.get() == [i * i for i in range(8)]
    assert elapsed < 8 * 0.2 * 0.6, elapsed  # well under one after another
    ex = client.executions.get(handle.exec_id)
    assert [c.index for c in ex.checkpoints] == list(range(8))
    assert all(c.status.value == "completed" and len(c.attempts) == 1 for c in ex.checkpoints)
    # each call's output is at its own position, whatever order they finished in
    assert [c.output_preview for c in ex.checkpoints] == [str(i * i) for i in range(8)]


def test_random_completion_orders_give_the_same_positions_and_resumed_result(client: kitaru.KitaruClient) -> None:
    runs = {"n": 0}

    @kitaru.checkpoint
    def cc_jitter(i: int) -> str:
        runs["n"] += 1
        time.sleep(random.uniform(0, 0.03))
        return f"item {i}"

    @kitaru.flow
    def cc_random() -> list[str]:
        got = [cc_jitter.submit(i) for i in range(12)]
        ok = kitaru.wait(schema=bool, name="go")
        return [f.result() for f in got] if ok else []

    layouts = []
    for seed in range(4):
        random.seed(seed)
        handle = cc_random.run()
        ex = client.executions.get(handle.exec_id)
        layouts.append([(c.index, c.output_preview) for c in ex.checkpoints])
        before = runs["n"]
        client.executions.input(handle.exec_id, wait="go", value=True)  # resumes: every call is reused
        assert runs["n"] == before
        assert handle.get() == [f"item {i}" for i in range(12)]
    assert all(layout == layouts[0] for layout in layouts)
    assert layouts[0] == [(i, f"'item {i}'") for i in range(12)]


def test_retry_with_a_fixed_function_reruns_only_the_failed_calls(client: kitaru.KitaruClient) -> None:
    ran: list[int] = []
    lock = threading.Lock()

    @kitaru.checkpoint
    def cc_parse(i: int) -> int:
        with lock:
            ran.append(i)
        if i % 3 == 0:
            raise ValueError(f"bad row {i}")
        return i

    @kitaru.flow
    def cc_parse_all() -> int:
        return sum(cc_parse.map(range(6)).result())

    handle = cc_parse_all.run()
    ex = client.executions.get(handle.exec_id)
    assert ex.status.value == "failed"
    assert sorted(ran) == list(range(6))
    failed = sorted(c.index for c in ex.checkpoints if c.status.value == "failed")
    assert failed == [0, 3]

    @kitaru.checkpoint
    def cc_parse(i: int) -> int:  # noqa: F811 - the fix
        with lock:
            ran.append(i)
        return i

    ran.clear()
    done = client.executions.retry(handle.exec_id)
    assert done.status.value == "completed" and done.result == 15
    assert sorted(ran) == [0, 3]  # only the failed calls ran again


def test_a_failed_future_fails_the_flow_only_if_its_error_escapes(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def cc_flaky(i: int) -> int:
        if i == 1:
            raise RuntimeError("one is bad")
        return i

    @kitaru.flow
    def cc_tolerant() -> list[int | str]:
        out: list[int | str] = []
        for f in cc_flaky.map([0, 1, 2]):
            try:
                out.append(f.result())
            except RuntimeError as exc:
                assert isinstance(f.exception(), RuntimeError) and f.done()
                out.append(str(exc))
        return out

    assert cc_tolerant.run().get() == [0, "one is bad", 2]


def test_replay_after_a_fan_out_reuses_the_fan_out(client: kitaru.KitaruClient) -> None:
    ran = {"fetch": 0, "total": 0}
    lock = threading.Lock()

    @kitaru.checkpoint
    def cc_get(i: int) -> int:
        with lock:
            ran["fetch"] += 1
        return i + 1

    @kitaru.checkpoint
    def cc_total(xs: list[int]) -> int:
        ran["total"] += 1
        return sum(xs)

    @kitaru.flow
    def cc_report() -> int:
        return cc_total(cc_get.map(range(5)).result())

    first = cc_report.run()
    assert first.get() == 15 and ran == {"fetch": 5, "total": 1}
    replayed = client.executions.replay(first.exec_id, from_="cc_total")
    assert replayed.result == 15
    assert ran == {"fetch": 5, "total": 2}  # the fan-out was reused
    assert [c.status.value for c in replayed.checkpoints] == ["reused"] * 5 + ["completed"]


def test_product_submit_with_futures_as_arguments_and_after(client: kitaru.KitaruClient) -> None:
    order: list[str] = []

    @kitaru.checkpoint
    def cc_pair(a: int, b: str) -> str:
        return f"{a}{b}"

    @kitaru.checkpoint
    def cc_slow() -> int:
        time.sleep(0.1)
        order.append("slow")
        return 5

    @kitaru.checkpoint
    def cc_next(x: int) -> int:
        order.append("next")
        return x + 1

    @kitaru.flow
    def cc_combo() -> tuple[list[str], int]:
        pairs = cc_pair.product([1, 2], ["a", "b"]).result()
        first = cc_slow.submit()
        follow = cc_next.submit(first, after=[first])
        return pairs, follow.result()

    pairs, value = cc_combo.run().get()
    assert pairs == ["1a", "1b", "2a", "2b"] and value == 6 and order == ["slow", "next"]


def test_outside_a_flow_or_inside_a_checkpoint_it_is_refused(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def cc_leaf(x: int) -> int:
        return x

    with pytest.raises(kitaru.KitaruContextError, match="only available inside a running @flow"):
        cc_leaf.submit(1)
    with pytest.raises(kitaru.KitaruContextError):
        cc_leaf.map([1, 2])

    @kitaru.checkpoint
    def cc_outer() -> int:
        return cc_leaf.submit(1).result()

    @kitaru.flow
    def cc_nested() -> int:
        return cc_outer()

    handle = cc_nested.run()
    ex = client.executions.get(handle.exec_id)
    assert ex.status.value == "failed" and "Nested checkpoint calls are not supported" in ex.failure.message  # type: ignore[union-attr]


def test_map_of_unequal_iterables_is_a_usage_error(client: kitaru.KitaruClient, tmp_path: Path) -> None:
    @kitaru.checkpoint
    def cc_two(a: int, b: int) -> int:
        return a + b

    @kitaru.flow
    def cc_unequal() -> list[int]:
        return cc_two.map([1, 2], [1]).result()

    ex = client.executions.get(cc_unequal.run().exec_id)
    assert ex.status.value == "failed" and "iterables of the same length" in ex.failure.message  # type: ignore[union-attr]
