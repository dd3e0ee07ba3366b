"""OnError.pause: the run pauses with an ErrorRequirement; retry runs the step again, every attempt journaled."""

from __future__ import annotations

import pytest

from kitaru_nb import CallStatus, ExecutionStatus, KitaruClient
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import RunStatus
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput, StepOutput


def flaky_workflow(db: SqliteDb, failures: list[BaseException], calls: dict[str, int], **step: object) -> Workflow:
    """load -> fetch (raises the exceptions in ``failures`` in order, then succeeds) -> process."""

    def load(step_input: StepInput) -> StepOutput:
        calls["load"] = calls.get("load", 0) + 1
        return StepOutput(content=20)

    def fetch(step_input: StepInput) -> StepOutput:
        calls["fetch"] = calls.get("fetch", 0) + 1
        if failures:
            raise failures.pop(0)
        return StepOutput(content=step_input.previous_step_content + 1)

    def process(step_input: StepInput) -> StepOutput:
        calls["process"] = calls.get("process", 0) + 1
        return StepOutput(content=step_input.previous_step_content * 2)

    return Workflow(
        name="api_workflow",
        db=db,
        steps=[
            Step(name="load", executor=load),
            Step(name="fetch", executor=fetch, on_error=OnError.pause, **step),  # type: ignore[arg-type]
            Step(name="process", executor=process),
        ],
    )


def test_fails_twice_then_succeeds_with_two_retries(db: SqliteDb) -> None:
    calls: dict[str, int] = {}
    wf = flaky_workflow(db, [ConnectionError("timeout talking to api"), ValueError("bad payload")], calls)

    out = wf.run("go")
    assert out.is_paused and out.status is RunStatus.paused
    assert out.content is None
    [req] = out.steps_with_errors
    assert (req.step_name, req.error_type, req.error_message, req.retry_count) == (
        "fetch",
        "ConnectionError",
        "timeout talking to api",
        0,
    )
    assert req.traceback is not None and "ConnectionError: timeout talking to api" in req.traceback
    assert out.paused_step_name == "fetch"
    assert [r.step_name for r in out.step_results] == ["load"]

    req.retry()
    out = wf.continue_run(out)
    assert out.is_paused
    [req] = out.steps_with_errors
    assert (req.error_type, req.error_message, req.retry_count) == ("ValueError", "bad payload", 1)

    req.retry()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed and not out.is_paused
    assert out.content == 42  # the last step's content: (20 + 1) * 2
    assert [r.content for r in out.step_results] == [20, 21, 42]
    assert out.steps_with_errors == []
    # completed steps ran once; the flaky one three times
    assert calls == {"load": 1, "fetch": 3, "process": 1}

    ex = KitaruClient(db=db).executions.get(out.run_id)
    assert ex.kind == "workflow" and ex.status is ExecutionStatus.COMPLETED
    fetch_call = next(c for c in ex.checkpoints if c.name == "fetch")
    assert fetch_call.status is CallStatus.COMPLETED and fetch_call.failure is None
    attempts = [(a.number, a.status.value) for a in fetch_call.attempts]
    assert attempts == [(1, "failed"), (2, "failed"), (3, "completed")]
    failures = [(a.failure.exception_type, a.failure.message) for a in fetch_call.attempts if a.failure]
    assert failures == [("ConnectionError", "timeout talking to api"), ("ValueError", "bad payload")]
    assert all(a.failure.traceback for a in fetch_call.attempts if a.failure)
    assert all(a.ended_at is not None for a in fetch_call.attempts)


def test_max_retries_run_at_once_and_each_attempt_is_journaled(db: SqliteDb) -> None:
    calls: dict[str, int] = {}
    errors: list[BaseException] = [RuntimeError(f"attempt {n}") for n in range(1, 6)]
    wf = flaky_workflow(db, errors, calls, max_retries=2)

    out = wf.run("go")  # three attempts fail at once, then the run pauses
    assert out.is_paused
    [req] = out.steps_with_errors
    assert (req.error_message, req.retry_count) == ("attempt 3", 0)
    assert calls["fetch"] == 3

    req.retry()  # attempts 4 and 5 fail, the 6th succeeds
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed and out.content == 42
    fetch_call = next(c for c in KitaruClient(db=db).executions.get(out.run_id).checkpoints if c.name == "fetch")
    assert [a.status.value for a in fetch_call.attempts] == ["failed"] * 5 + ["completed"]
    assert [a.failure.message for a in fetch_call.attempts if a.failure] == [f"attempt {n}" for n in range(1, 6)]


def test_retry_that_fails_again_pauses_again(db: SqliteDb) -> None:
    calls: dict[str, int] = {}
    wf = flaky_workflow(db, [OSError("down"), OSError("still down"), OSError("down again")], calls)
    out = wf.run("go")
    for expected in (1, 2):
        out.steps_with_errors[0].retry()
        out = wf.continue_run(out)
        assert out.is_paused and out.steps_with_errors[0].retry_count == expected
    assert out.steps_with_errors[0].error_message == "down again"
    out.steps_with_errors[0].retry()
    assert wf.continue_run(out).content == 42


def test_continue_by_run_id_reads_the_decisions_from_the_requirements_given(db: SqliteDb) -> None:
    calls: dict[str, int] = {}
    wf = flaky_workflow(db, [OSError("down")], calls)
    out = wf.run("go")
    req = out.steps_with_errors[0]
    req.retry()
    done = wf.continue_run(run_id=out.run_id, error_requirements=[req])
    assert done.status is RunStatus.completed and done.content == 42


def test_executor_exception_cannot_swallow_the_pause(db: SqliteDb) -> None:
    """A pause is a control-flow signal: an ``except Exception`` around the run does not see it."""
    calls: dict[str, int] = {}
    wf = flaky_workflow(db, [KeyError("k")], calls)
    try:
        out = wf.run("go")
    except Exception:  # pragma: no cover - must not happen
        pytest.fail("a paused run must return, not raise")
    assert out.is_paused and out.steps_with_errors[0].error_type == "KeyError"
