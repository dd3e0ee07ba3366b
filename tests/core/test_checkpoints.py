"""Checkpoints: every attempt journaled, retries with backoff, failures told the same way everywhere."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import (
    AttemptStatus,
    CallStatus,
    ExecutionStatus,
    FailureOrigin,
    KitaruClient,
    KitaruUserCodeError,
    RetryPolicy,
)
from kitaru_nb.runtime.checkpoint import Checkpoint

from .conftest import Scripts


def test_flaky_checkpoint_journals_every_attempt(client: KitaruClient) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint(retries=2)
    def flaky(x: int) -> int:
        runs["flaky"] += 1
        if runs["flaky"] < 3:
            raise ConnectionError(f"flaky network, try {runs['flaky']}")
        return x * 10

    @kitaru.flow
    def pipeline(x: int) -> int:
        return flaky(x) + 1

    handle = pipeline.run(4)
    assert handle.get() == 41
    assert handle.status is ExecutionStatus.COMPLETED
    assert runs["flaky"] == 3

    ex = client.executions.get(handle.exec_id)
    (cp,) = ex.checkpoints
    assert cp.name == "flaky"
    assert cp.status is CallStatus.COMPLETED
    assert cp.failure is None
    assert [a.number for a in cp.attempts] == [1, 2, 3]
    assert [a.status for a in cp.attempts] == [AttemptStatus.FAILED, AttemptStatus.FAILED, AttemptStatus.COMPLETED]
    for n, attempt in enumerate(cp.attempts[:2], start=1):
        assert attempt.failure is not None
        assert attempt.failure.origin is FailureOrigin.USER_CODE
        assert attempt.failure.exception_type == "ConnectionError"
        assert attempt.failure.message == f"flaky network, try {n}"
        assert attempt.failure.traceback is not None and "ConnectionError" in attempt.failure.traceback
        assert attempt.ended_at is not None and attempt.ended_at >= attempt.started_at
    assert cp.attempts[2].failure is None
    assert cp.attempts[0].started_at <= cp.attempts[1].started_at <= cp.attempts[2].started_at
    assert ex.failure is None
    assert ex.result == 41


READ_FAILURE = """
import json, sys
from kitaru_nb import KitaruClient
ex = KitaruClient(db=sys.argv[1]).executions.get(sys.argv[2])
print(json.dumps(ex.to_dict()))
"""


def test_failing_checkpoint_tells_the_same_story_everywhere(
    client: KitaruClient, db_path: Path, scripts: Scripts
) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint
    def load() -> list[int]:
        runs["load"] += 1
        return [1, 2, 3]

    @kitaru.checkpoint(retries=1)
    def divide(values: list[int]) -> float:
        runs["divide"] += 1
        return sum(values) / 0

    @kitaru.flow
    def report() -> float:
        return divide(load())

    handle = report.run()
    with pytest.raises(KitaruUserCodeError) as info:
        handle.get()
    err = info.value
    assert err.exec_id == handle.exec_id
    assert err.status is ExecutionStatus.FAILED
    assert err.failure_origin is FailureOrigin.USER_CODE
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert "division by zero" in str(err)
    assert isinstance(err, kitaru.KitaruExecutionError) and isinstance(err, RuntimeError)
    assert runs == {"load": 1, "divide": 2}

    # a fresh client in another process reads the same story from the journal file
    other = scripts.run(READ_FAILURE, str(db_path), handle.exec_id)
    assert other["status"] == "failed"
    assert other["failure"]["origin"] == "user_code"
    assert other["failure"]["exception_type"] == "ZeroDivisionError"
    assert other["failure"]["message"] == "division by zero"
    load_call, divide_call = other["checkpoints"]
    assert (load_call["name"], load_call["status"], load_call["failure"]) == ("load", "completed", None)
    assert divide_call["name"] == "divide" and divide_call["status"] == "failed"
    assert divide_call["failure"]["origin"] == "user_code"
    assert divide_call["failure"]["message"] == "division by zero"
    assert [(a["number"], a["status"]) for a in divide_call["attempts"]] == [(1, "failed"), (2, "failed")]
    assert all(a["failure"]["exception_type"] == "ZeroDivisionError" for a in divide_call["attempts"])

    # and this process's client agrees
    ex = client.executions.get(handle.exec_id)
    assert ex.status is ExecutionStatus.FAILED
    assert ex.failure is not None and ex.failure.origin is FailureOrigin.USER_CODE
    assert ex.failure.message == other["failure"]["message"]
    assert ex.checkpoints[1].failure == ex.checkpoints[1].attempts[-1].failure


def test_retry_delays_grow_with_backoff_through_the_injected_sleep(client: KitaruClient) -> None:
    slept: list[float] = []
    runs = Counter[str]()

    def always_fails() -> None:
        runs["n"] += 1
        raise TimeoutError("service down")

    cp = Checkpoint(
        always_fails,
        policy=RetryPolicy(retries=3, retry_delay=0.5, backoff=2.0),
        on_error="fail",
        type=None,
        sleep=slept.append,
    )

    @kitaru.flow
    def call_service() -> None:
        cp()

    handle = call_service.run()
    assert handle.status is ExecutionStatus.FAILED
    assert slept == [0.5, 1.0, 2.0]
    assert runs["n"] == 4
    attempts = client.executions.get(handle.exec_id).checkpoints[0].attempts
    assert [a.status for a in attempts] == [AttemptStatus.FAILED] * 4


def test_retry_delay_really_waits_between_attempts(client: KitaruClient) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint(retries=2, retry_delay=0.05, backoff=2)
    def slow_to_recover() -> str:
        runs["n"] += 1
        if runs["n"] < 3:
            raise OSError("not yet")
        return "ok"

    @kitaru.flow
    def patient() -> str:
        return slow_to_recover()

    handle = patient.run()
    assert handle.get() == "ok"
    a1, a2, a3 = client.executions.get(handle.exec_id).checkpoints[0].attempts
    assert a1.ended_at is not None and a2.ended_at is not None
    # lower bounds only: the delays are at least what the policy asks
    assert (a2.started_at - a1.ended_at).total_seconds() >= 0.05
    assert (a3.started_at - a2.ended_at).total_seconds() >= 0.1


def test_retry_policy_value_object() -> None:
    policy = RetryPolicy(retries=2, retry_delay=1.5, backoff=3)
    assert policy.max_attempts == 3
    assert [policy.delay_before(n) for n in (1, 2, 3)] == [1.5, 4.5, 13.5]
    with pytest.raises(AttributeError):
        policy.retries = 5  # type: ignore[misc]
    for bad in ({"retries": -1}, {"retries": True}, {"retry_delay": -0.1}, {"backoff": 0.5}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)


def test_on_error_pause_then_retry_with_a_human_decision(client: KitaruClient) -> None:
    runs = Counter[str]()
    state = {"broken": True}

    @kitaru.checkpoint
    def fetch() -> int:
        runs["fetch"] += 1
        return 7

    @kitaru.checkpoint(on_error="pause")
    def upload(v: int) -> str:
        runs["upload"] += 1
        if state["broken"]:
            raise PermissionError("token expired")
        return f"uploaded {v}"

    @kitaru.flow
    def publish() -> str:
        return upload(fetch())

    handle = publish.run()
    assert handle.status is ExecutionStatus.WAITING
    ex = client.executions.get(handle.exec_id)
    assert [c.name for c in ex.pending_errors] == ["upload"]
    paused = ex.pending_errors[0]
    assert paused.status is CallStatus.FAILED
    assert paused.failure is not None and paused.failure.message == "token expired"
    assert ex.pending_waits == []

    # resume is refused: a decision is needed
    with pytest.raises(kitaru.KitaruStateError, match=r"retry\(\.\.\.\) or executions\.skip"):
        client.executions.resume(handle.exec_id)

    state["broken"] = False
    done = client.executions.retry(handle.exec_id)
    assert done.status is ExecutionStatus.COMPLETED
    assert done.exec_id == handle.exec_id
    assert handle.get() == "uploaded 7"
    assert runs == {"fetch": 1, "upload": 2}
    upload_call = done.checkpoints[1]
    assert upload_call.failure is None and not upload_call.paused
    assert [a.status for a in upload_call.attempts] == [AttemptStatus.FAILED, AttemptStatus.COMPLETED]


def test_on_error_pause_then_skip(client: KitaruClient) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint(on_error="pause", retries=1)
    def optional_enrichment() -> dict[str, int]:
        runs["enrich"] += 1
        raise RuntimeError("enrichment API is down")

    @kitaru.checkpoint
    def finish(extra: dict[str, int] | None) -> str:
        runs["finish"] += 1
        return "plain" if extra is None else "enriched"

    @kitaru.flow
    def enrich() -> str:
        return finish(optional_enrichment())

    handle = enrich.run()
    assert handle.status is ExecutionStatus.WAITING
    assert runs == {"enrich": 2}
    with pytest.raises(kitaru.KitaruStateError, match="no checkpoint paused on error named 'finish'"):
        client.executions.skip(handle.exec_id, checkpoint="finish")

    done = client.executions.skip(handle.exec_id)
    assert done.status is ExecutionStatus.COMPLETED
    assert handle.get() == "plain"
    assert runs == {"enrich": 2, "finish": 1}
    skipped = done.checkpoints[0]
    assert skipped.status is CallStatus.SKIPPED and not skipped.paused
    assert len(skipped.attempts) == 2
    # a finished execution cannot be skipped again
    with pytest.raises(kitaru.KitaruStateError):
        client.executions.skip(handle.exec_id)


def test_call_duration_counts_running_time_not_the_pause(db_path: Path) -> None:
    import time as _time

    state = {"fail": True}

    @kitaru.checkpoint(on_error="pause")
    def dur_step() -> int:
        _time.sleep(0.05)
        if state["fail"]:
            raise RuntimeError("not yet")
        return 1

    @kitaru.flow
    def dur_flow() -> int:
        return dur_step()

    handle = dur_flow.run()
    _time.sleep(0.5)  # the execution sits paused, waiting for a decision
    state["fail"] = False
    client = kitaru.KitaruClient()
    (call,) = client.executions.retry(handle.exec_id).checkpoints
    assert [a.status.value for a in call.attempts] == ["failed", "completed"]
    assert call.duration is not None
    assert 0.1 <= call.duration < 0.4
    assert call.ended_at is not None and (call.ended_at - call.started_at).total_seconds() >= 0.5
