"""Parity with the Workflow / Step / OnError API this face mirrors: requirement history, dict round
trips, events and their registry, async executors, and Parallel / Loop / Condition / Router / Steps."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from kitaru_nb import KitaruClient
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import (
    WORKFLOW_RUN_EVENT_TYPE_REGISTRY,
    RunStatus,
    WorkflowRunEvent,
    WorkflowRunOutput,
    workflow_run_output_event_from_dict,
)
from kitaru_nb.workflow import Condition, Loop, OnError, Parallel, Router, Steps, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput, StepOutput, WorkflowExecutionInput

from .steps_lib import parallel_workflow, run_script, set_control


def echo(name: str) -> Step:
    return Step(name=name, executor=lambda s: f"{name}({s.previous_step_content})")


def test_three_confirmations_are_all_kept_with_their_answers(db: SqliteDb) -> None:
    steps = [Step(name=n, executor=lambda s, n=n: n, requires_confirmation=True) for n in ("a", "b", "c")]
    wf = Workflow(name="three", db=db, steps=steps)
    out = wf.run()
    answers = {"a": True, "b": False, "c": True}
    while out.is_paused:
        for req in out.steps_requiring_confirmation:
            req.confirm() if answers[req.step_name] else req.reject()
        out = wf.continue_run(out)
    assert out.status is RunStatus.completed
    assert [(r.step_name, r.confirmed) for r in out.step_requirements] == [("a", True), ("b", False), ("c", True)]
    assert out.steps_requiring_confirmation == []
    again = wf.get_session().runs[-1]  # read back from the journal: the same history
    assert [(r.step_name, r.confirmed) for r in again.step_requirements] == [("a", True), ("b", False), ("c", True)]


def test_error_history_keeps_each_pause_and_its_decision(db: SqliteDb) -> None:
    failures = [ValueError("one"), ValueError("two")]

    def flaky(step_input: StepInput) -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    wf = Workflow(name="hist", db=db, steps=[Step(name="f", executor=flaky, on_error=OnError.pause)])
    out = wf.run()
    out.steps_with_errors[0].retry()
    out = wf.continue_run(out)
    out.steps_with_errors[0].retry()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed
    assert [(r.error_message, r.retry_count, r.decision) for r in out.error_requirements] == [
        ("one", 0, "retry"),
        ("two", 1, "retry"),
    ]


def test_a_paused_run_round_trips_through_a_dict_then_continues(db: SqliteDb) -> None:
    wf = Workflow(
        name="stored", db=db, steps=[echo("a"), Step(name="b", executor=lambda s: "B", requires_confirmation=True)]
    )
    out = wf.run("x")
    stored = json.dumps(out.to_dict())  # e.g. kept in a web session
    back = WorkflowRunOutput.from_dict(json.loads(stored))
    assert (back.run_id, back.paused_step_name, back.paused_step_index) == (out.run_id, "b", 1)
    assert back.is_paused and back.to_dict() == out.to_dict()
    back.steps_requiring_confirmation[0].confirm()
    done = wf.continue_run(back)
    assert done.status is RunStatus.completed and done.content == "B"


def test_event_sequence_of_a_pause_and_a_continue_and_the_registry(db: SqliteDb) -> None:
    wf = Workflow(
        name="evts", db=db, steps=[echo("a"), Step(name="b", executor=lambda s: "B", requires_confirmation=True)]
    )
    first = list(wf.run("x", stream=True, stream_events=True))
    out = wf.get_session().runs[-1]
    out.steps_requiring_confirmation[0].confirm()
    second = list(wf.continue_run(out, stream=True, stream_events=True))
    assert [e.event for e in first] == ["WorkflowStarted", "StepStarted", "StepCompleted", "StepOutput", "StepPaused"]
    assert [e.event for e in second] == [
        "WorkflowStarted",
        "StepContinued",
        "StepStarted",
        "StepCompleted",
        "StepOutput",
        "WorkflowCompleted",
    ]
    assert first[-1].step_id == second[1].step_id  # the continue answers that pause
    assert set(WORKFLOW_RUN_EVENT_TYPE_REGISTRY) == {e.value for e in WorkflowRunEvent}
    for event in first + second:
        back = workflow_run_output_event_from_dict(json.loads(json.dumps(event.to_dict())))
        assert type(back) is type(event) and back.event == event.event and back.run_id == event.run_id
    output_event = workflow_run_output_event_from_dict(second[4].to_dict())
    assert output_event.step_output is not None and output_event.step_output.content == "B"  # type: ignore[attr-defined]


def test_an_async_executor_runs_under_arun_and_run(db: SqliteDb) -> None:
    async def fetch(step_input: StepInput) -> str:
        await asyncio.sleep(0)
        return f"async {step_input.input}"

    wf = Workflow(name="asy", db=db, steps=[Step(name="fetch", executor=fetch)])
    out = asyncio.run(wf.arun("x"))
    assert out.content == "async x"
    assert wf.run("y").content == "async y"
    session = asyncio.run(wf.aget_session())
    assert [r.content for r in session.runs] == ["async x", "async y"]


def test_parallel_branch_paused_on_error_is_retried_in_a_new_process(db_path: Path, control: Path) -> None:
    wf = parallel_workflow(db_path)
    out = wf.run("q")
    assert out.is_paused
    [req] = out.steps_with_errors
    assert req.step_name == "fetch"
    assert control.with_suffix(".log").read_text() == "news\n"  # the other branch completed
    set_control(control, "ok")
    result = run_script(
        f"""
import json
from tests.workflow.steps_lib import parallel_workflow
wf = parallel_workflow({str(db_path)!r})
out = wf.get_session().runs[-1]
out.steps_with_errors[0].retry()
out = wf.continue_run(out)
print(json.dumps({{"status": out.status.value, "content": out.content}}))
""",
        control,
    )
    assert result["status"] == "COMPLETED"
    assert control.with_suffix(".log").read_text() == "news\n"  # the completed branch was not run again
    done = wf.get_session().runs[-1]
    research = done.step_results[1]
    assert research.step_type == "Parallel" and [s.step_name for s in research.steps or []] == ["news", "fetch"]
    names = [c.name for c in KitaruClient(db=SqliteDb(db_file=db_path)).executions.get(done.run_id).checkpoints]
    assert names == ["gather", "research/news", "research/fetch", "finish"]


def test_a_loop_pauses_in_its_second_iteration_and_resumes_there(db: SqliteDb) -> None:
    calls: list[int] = []

    def work(step_input: StepInput) -> int:
        n = (step_input.previous_step_content or 0) + 1
        calls.append(n)
        if n == 2 and calls.count(2) == 1:
            raise ConnectionError("flaky in iteration 2")
        return n

    loop = Loop(
        name="refine",
        steps=[Step(name="work", executor=work, on_error=OnError.pause)],
        max_iterations=3,
        end_condition=lambda outs: outs[-1].content >= 3,
    )
    wf = Workflow(name="looping", db=db, steps=[loop])
    out = wf.run()
    assert out.is_paused and out.steps_with_errors[0].step_name == "work"
    out.steps_with_errors[0].retry()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed
    assert calls == [1, 2, 2, 3]  # iteration 1 was reused, iteration 2 ran again
    [result] = out.step_results
    assert result.content == "Loop refine completed 3 iterations with 3 total steps"
    names = [c.name for c in KitaruClient(db=db).executions.get(out.run_id).checkpoints]
    assert names == ["refine#1/work", "refine#2/work", "refine#3/work"]


def test_a_router_whose_chosen_step_asks_for_confirmation(db: SqliteDb) -> None:
    picks: list[str] = []

    def selector(step_input: StepInput) -> Any:
        picks.append("pick")
        return "deep" if "hard" in step_input.input else "quick"

    router = Router(
        name="route",
        selector=selector,
        choices=[echo("quick"), Step(name="deep", executor=lambda s: "deep dive", requires_confirmation=True)],
    )
    wf = Workflow(name="routing", db=db, steps=[router, echo("report")])
    out = wf.run("a hard question")
    assert out.is_paused and out.steps_requiring_confirmation[0].step_name == "deep"
    out.steps_requiring_confirmation[0].confirm()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed
    assert picks == ["pick"]  # the choice is journaled: the continue took the same route
    assert out.content == "report(Router route completed with 1 results)"
    assert out.step_results[0].steps is not None and out.step_results[0].steps[0].content == "deep dive"


def test_condition_steps_and_get_step_content(db: SqliteDb) -> None:
    seen: dict[str, Any] = {}

    def last(step_input: StepInput) -> str:
        seen["par"] = step_input.get_step_content("par")
        seen["check"] = step_input.get_step_content("check")
        seen["x"] = step_input.get_step_output("x")
        return "end"

    wf = Workflow(
        name="mixed",
        db=db,
        steps=[
            Parallel(echo("x"), echo("y"), name="par"),
            Condition(name="check", evaluator=lambda s: False, steps=[echo("yes")], else_steps=[echo("no")]),
            Steps(name="grp", steps=[echo("s1"), echo("s2")]),
            Step(name="last", executor=last),
        ],
    )
    out = wf.run()
    assert out.status is RunStatus.completed
    assert seen["par"] == {"x": "x(None)", "y": "y(None)"}
    assert (
        seen["check"] == "no(## Parallel Execution Results\n\n### ✅ SUCCESS: x\nx(None)\n\n### ✅ SUCCESS: y\ny(None))"
    )
    assert seen["x"].content == "x(None)"
    assert out.step_results[2].content == "Steps grp completed with 2 results"


def test_workflow_steps_can_be_one_function(db: SqliteDb) -> None:
    def pipeline(workflow: Workflow, execution_input: WorkflowExecutionInput) -> str:
        return f"{workflow.name}: {execution_input.input}"

    wf = Workflow(name="fn", db=db, steps=pipeline)
    out = wf.run("hello")
    assert out.content == "fn: hello"
    assert isinstance(out.step_results[0], StepOutput)
