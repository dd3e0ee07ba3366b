"""Skipping: a skipped step is ``skipped`` (not failed) and the next step gets previous_step_content None."""

from __future__ import annotations

import pytest

from kitaru_nb import CallStatus, ExecutionStatus, KitaruClient
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import RunStatus
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput, StepOutput


def three_steps(db: SqliteDb, on_error: OnError | None, seen: list[StepInput]) -> Workflow:
    def first(step_input: StepInput) -> StepOutput:
        return StepOutput(content="first output")

    def broken(step_input: StepInput) -> StepOutput:
        raise TimeoutError("the model took too long")

    def last(step_input: StepInput) -> StepOutput:
        seen.append(step_input)
        return StepOutput(content=f"last saw {step_input.previous_step_content!r}")

    kwargs = {} if on_error is None else {"on_error": on_error}
    return Workflow(
        name=f"skip_{on_error.value if on_error else 'default'}",
        db=db,
        steps=[
            Step(name="first", executor=first),
            Step(name="broken", executor=broken, **kwargs),
            Step(name="last", executor=last),
        ],  # type: ignore[arg-type]
    )


def call_statuses(db: SqliteDb, run_id: str) -> dict[str, CallStatus]:
    return {c.name: c.status for c in KitaruClient(db=db).executions.get(run_id).checkpoints}


def test_skip_decision_marks_the_step_skipped_and_the_next_step_sees_none(db: SqliteDb) -> None:
    seen: list[StepInput] = []
    wf = three_steps(db, OnError.pause, seen)
    out = wf.run("in")
    assert out.is_paused and seen == []

    out.steps_with_errors[0].skip()
    out = wf.continue_run(out)

    assert out.status is RunStatus.completed
    assert out.content == "last saw None"
    [step_input] = seen
    assert step_input.previous_step_content is None
    assert step_input.input == "in"
    assert step_input.previous_step_outputs is not None
    assert step_input.previous_step_outputs["first"].content == "first output"
    assert step_input.previous_step_outputs["broken"].skipped
    skipped = next(r for r in out.step_results if r.step_name == "broken")
    assert skipped.skipped and skipped.content is None and skipped.error == "the model took too long"
    assert call_statuses(db, out.run_id) == {
        "first": CallStatus.COMPLETED,
        "broken": CallStatus.SKIPPED,
        "last": CallStatus.COMPLETED,
    }
    ex = KitaruClient(db=db).executions.get(out.run_id)
    assert ex.status is ExecutionStatus.COMPLETED and ex.failure is None
    broken = next(c for c in ex.checkpoints if c.name == "broken")
    assert [a.status.value for a in broken.attempts] == ["failed"]  # the attempt did fail; the step is skipped


def test_on_error_skip_goes_on_without_a_pause(db: SqliteDb) -> None:
    seen: list[StepInput] = []
    wf = three_steps(db, OnError.skip, seen)
    out = wf.run("in")
    assert out.status is RunStatus.completed and not out.is_paused
    assert out.content == "last saw None"
    assert seen[0].previous_step_content is None
    assert call_statuses(db, out.run_id)["broken"] is CallStatus.SKIPPED
    broken = next(c for c in KitaruClient(db=db).executions.get(out.run_id).checkpoints if c.name == "broken")
    assert broken.failure is not None and broken.failure.exception_type == "TimeoutError"


def test_default_on_error_fails_the_run_at_once_with_the_steps_error(db: SqliteDb) -> None:
    seen: list[StepInput] = []
    wf = three_steps(db, None, seen)
    with pytest.raises(TimeoutError, match="the model took too long") as raised:
        wf.run("in")
    out = wf.get_session().runs[-1]  # the failed run is journaled before the error is raised
    assert any(out.run_id in note for note in raised.value.__notes__)
    assert out.status is RunStatus.error and not out.is_paused
    assert seen == []  # the run stopped at the failing step
    assert out.failure is not None
    assert out.failure.exception_type == "TimeoutError"
    assert out.failure.message == "the model took too long"
    assert out.steps_with_errors == []
    failed = out.step_results[-1]
    assert failed.step_name == "broken" and not failed.success
    assert failed.error == "TimeoutError: the model took too long"
    ex = KitaruClient(db=db).executions.get(out.run_id)
    assert ex.status is ExecutionStatus.FAILED
    assert ex.failure is not None and ex.failure.exception_type == "TimeoutError"
    assert call_statuses(db, out.run_id) == {"first": CallStatus.COMPLETED, "broken": CallStatus.FAILED}


def test_skip_on_failure_is_on_error_skip(db: SqliteDb) -> None:
    def broken(step_input: StepInput) -> StepOutput:
        raise RuntimeError("no")

    wf = Workflow(
        name="legacy_skip",
        db=db,
        steps=[Step(name="broken", executor=broken, skip_on_failure=True), Step(name="after", executor=lambda s: 1)],
    )
    out = wf.run()
    assert out.status is RunStatus.completed and out.content == 1
