"""Streaming: run and continue_run with stream=True, stream_events=True yield the run's events in order."""

from __future__ import annotations

from typing import Any

import pytest

from kitaru_nb import KitaruStateError
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import (
    RunStatus,
    StepCompletedEvent,
    StepErrorEvent,
    StepPausedEvent,
    StepSkippedEvent,
    StepStartedEvent,
    WorkflowCompletedEvent,
    WorkflowFailedEvent,
    WorkflowStartedEvent,
)
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput, StepOutput


def names(events: list[Any]) -> list[tuple[str, str | None]]:
    """(event class, step name) for each event."""
    return [(type(e).__name__, getattr(e, "step_name", None)) for e in events]


def make(
    db: SqliteDb, failures: list[Exception], *, on_error: OnError = OnError.pause, confirm: bool = False
) -> Workflow:
    def a(step_input: StepInput) -> StepOutput:
        return StepOutput(content="A")

    def b(step_input: StepInput) -> StepOutput:
        if failures:
            raise failures.pop(0)
        return StepOutput(content=f"B after {step_input.previous_step_content}")

    def c(step_input: StepInput) -> StepOutput:
        return StepOutput(content=f"C after {step_input.previous_step_content}")

    return Workflow(
        name="streamed",
        db=db,
        steps=[
            Step(name="a", executor=a),
            Step(name="b", executor=b, on_error=on_error, requires_confirmation=confirm, confirmation_message="Go?"),
            Step(name="c", executor=c),
        ],
    )


def test_error_pause_stream_then_continue_after_retry(db: SqliteDb) -> None:
    wf = make(db, [ConnectionError("refused")])
    events = list(wf.run("x", stream=True, stream_events=True))
    assert names(events) == [
        ("WorkflowStartedEvent", None),
        ("StepStartedEvent", "a"),
        ("StepCompletedEvent", "a"),
        ("StepOutputEvent", "a"),
        ("StepStartedEvent", "b"),
        ("StepErrorEvent", "b"),
        ("StepPausedEvent", "b"),
    ]
    started, paused, error = events[0], events[-1], events[5]
    assert isinstance(started, WorkflowStartedEvent) and started.workflow_name == "streamed"
    assert isinstance(error, StepErrorEvent) and (error.error, error.error_type) == ("refused", "ConnectionError")
    assert isinstance(paused, StepPausedEvent)
    assert (paused.reason, paused.error, paused.error_type) == ("error", "refused", "ConnectionError")
    assert isinstance(events[2], StepCompletedEvent) and events[2].content == "A"
    assert {e.run_id for e in events} == {started.run_id}

    run_output = wf.get_session().runs[-1]
    assert run_output.run_id == started.run_id and run_output.is_paused
    run_output.steps_with_errors[0].retry()
    events = list(wf.continue_run(run_output, stream=True, stream_events=True))
    assert names(events) == [
        ("WorkflowStartedEvent", None),
        ("StepContinuedEvent", "b"),  # the counterpart of the StepPausedEvent above
        ("StepStartedEvent", "b"),
        ("StepCompletedEvent", "b"),
        ("StepOutputEvent", "b"),
        ("StepStartedEvent", "c"),
        ("StepCompletedEvent", "c"),
        ("StepOutputEvent", "c"),
        ("WorkflowCompletedEvent", None),
    ]
    done = events[-1]
    assert isinstance(done, WorkflowCompletedEvent) and done.content == "C after B after A"
    assert [r.content for r in done.step_results] == ["A", "B after A", "C after B after A"]
    latest = wf.get_session().runs[-1]
    assert latest.run_id == started.run_id and latest.status is RunStatus.completed


def test_confirmation_pause_stream(db: SqliteDb) -> None:
    wf = make(db, [], confirm=True)
    events = list(wf.run("x", stream=True, stream_events=True))
    assert names(events) == [
        ("WorkflowStartedEvent", None),
        ("StepStartedEvent", "a"),
        ("StepCompletedEvent", "a"),
        ("StepOutputEvent", "a"),
        ("StepPausedEvent", "b"),
    ]
    paused = events[-1]
    assert isinstance(paused, StepPausedEvent)
    assert (paused.reason, paused.requires_confirmation, paused.confirmation_message) == ("confirmation", True, "Go?")
    run_output = wf.get_session().runs[-1]
    assert run_output.is_paused and run_output.steps_requiring_confirmation[0].step_name == "b"

    run_output.steps_requiring_confirmation[0].reject()
    events = list(wf.continue_run(run_output, stream=True, stream_events=True))
    assert names(events) == [
        ("WorkflowStartedEvent", None),
        ("StepContinuedEvent", "b"),  # the counterpart of the pause
        ("StepSkippedEvent", "b"),
        ("StepOutputEvent", "b"),
        ("StepStartedEvent", "c"),
        ("StepCompletedEvent", "c"),
        ("StepOutputEvent", "c"),
        ("WorkflowCompletedEvent", None),
    ]
    skipped = events[2]
    assert isinstance(skipped, StepSkippedEvent) and skipped.reason == "rejected"


def test_skip_streams(db: SqliteDb) -> None:
    """OnError.skip skips within the run; a skip decision shows in the continue stream."""
    wf = make(db, [ValueError("bad row")], on_error=OnError.skip)
    events = list(wf.run("x", stream=True, stream_events=True))
    assert names(events) == [
        ("WorkflowStartedEvent", None),
        ("StepStartedEvent", "a"),
        ("StepCompletedEvent", "a"),
        ("StepOutputEvent", "a"),
        ("StepStartedEvent", "b"),
        ("StepErrorEvent", "b"),
        ("StepSkippedEvent", "b"),
        ("StepOutputEvent", "b"),
        ("StepStartedEvent", "c"),
        ("StepCompletedEvent", "c"),
        ("StepOutputEvent", "c"),
        ("WorkflowCompletedEvent", None),
    ]
    skipped = events[6]
    assert isinstance(skipped, StepSkippedEvent) and (skipped.reason, skipped.error) == ("error", "bad row")
    done = events[-1]
    assert isinstance(done, WorkflowCompletedEvent) and done.content == "C after None"

    wf = make(db, [ValueError("bad row")], on_error=OnError.pause)
    list(wf.run("x", stream=True, stream_events=True))
    run_output = wf.get_session().runs[-1]
    run_output.steps_with_errors[0].skip()
    events = list(wf.continue_run(run_output, stream=True, stream_events=True))
    assert names(events) == [
        ("WorkflowStartedEvent", None),
        ("StepContinuedEvent", "b"),
        ("StepSkippedEvent", "b"),
        ("StepOutputEvent", "b"),
        ("StepStartedEvent", "c"),
        ("StepCompletedEvent", "c"),
        ("StepOutputEvent", "c"),
        ("WorkflowCompletedEvent", None),
    ]


def test_failing_run_stream(db: SqliteDb) -> None:
    wf = make(db, [RuntimeError("disk full")], on_error=OnError.fail)
    events: list[Any] = []
    with pytest.raises(RuntimeError, match="disk full"):  # after the error event, the stream raises
        for event in wf.run("x", stream=True, stream_events=True):
            events.append(event)
    assert names(events) == [
        ("WorkflowStartedEvent", None),
        ("StepStartedEvent", "a"),
        ("StepCompletedEvent", "a"),
        ("StepOutputEvent", "a"),
        ("StepStartedEvent", "b"),
        ("StepErrorEvent", "b"),
        ("WorkflowFailedEvent", "b"),  # names the step that failed the run
    ]
    failed = events[-1]
    assert isinstance(failed, WorkflowFailedEvent)
    assert (failed.error, failed.error_type) == ("disk full", "RuntimeError")
    latest = wf.get_session().runs[-1]
    assert latest.run_id == failed.run_id and latest.status is RunStatus.error


def test_retries_within_a_step_stream_one_error_per_attempt(db: SqliteDb) -> None:
    def b(step_input: StepInput) -> StepOutput:
        raise OSError("flaky")

    wf = Workflow(name="retrying", db=db, steps=[Step(name="b", executor=b, max_retries=2, on_error=OnError.pause)])
    events = list(wf.run(stream=True, stream_events=True))
    errors = [e for e in events if isinstance(e, StepErrorEvent)]
    assert [(e.attempt, e.will_retry) for e in errors] == [(1, True), (2, True), (3, False)]
    assert isinstance(events[-1], StepPausedEvent)


def test_without_stream_events_only_run_level_pause_and_output_events(db: SqliteDb) -> None:
    wf = make(db, [ConnectionError("refused")])
    events = list(wf.run("x", stream=True))
    # StepOutputEvent comes for each step that produced its output, also without stream_events
    assert names(events) == [("WorkflowStartedEvent", None), ("StepOutputEvent", "a"), ("StepPausedEvent", "b")]
    assert not any(isinstance(e, StepStartedEvent) for e in events)


def test_a_stale_streamed_continue_raises_before_streaming(db: SqliteDb) -> None:
    wf = make(db, [ConnectionError("refused")])
    list(wf.run("x", stream=True, stream_events=True))
    run_output = wf.get_session().runs[-1]
    run_output.steps_with_errors[0].retry()
    list(wf.continue_run(run_output, stream=True, stream_events=True))
    with pytest.raises(KitaruStateError, match="completed, not paused"):
        wf.continue_run(run_output, stream=True, stream_events=True)


def test_prints_of_streamed_steps_reach_the_caller(db: SqliteDb, capsys: pytest.CaptureFixture[str]) -> None:
    def talk(step_input: StepInput) -> str:
        print("hello from the step")
        return "ok"

    wf = Workflow(name="talker", db=db, steps=[Step(name="talk", executor=talk)])
    assert [type(e).__name__ for e in wf.run(stream=True)] == [
        "WorkflowStartedEvent",
        "StepOutputEvent",
        "WorkflowCompletedEvent",
    ]
    assert "hello from the step" in capsys.readouterr().out
