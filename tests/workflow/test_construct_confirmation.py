"""Confirmation on the constructs themselves (Condition, Steps, Loop, Router), a Condition's
``on_reject="else"``, rejection feedback kept in the journal, and the index a nested step's
requirement carries."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kitaru_nb import KitaruUsageError
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import RunStatus, WorkflowRunOutput
from kitaru_nb.workflow import Loop, Parallel, Router, Steps, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput

from .steps_lib import gated_workflow, run_script


def _inner(out: WorkflowRunOutput) -> object:
    """The content of the last inner step of the run's last construct."""
    return (out.step_results[-1].steps or [])[-1].content


def test_a_confirmed_condition_runs_its_steps(db: SqliteDb, db_path: Path) -> None:
    wf = gated_workflow(db_path)
    out = wf.run("essay")
    assert out.is_paused
    [req] = out.steps_requiring_confirmation
    assert (req.step_name, req.step_type, req.step_index, req.on_reject) == ("gate", "Condition", 1, "else")
    assert req.confirmation_message == "Publish the draft?"
    req.confirm()
    out = wf.continue_run(out)
    [req] = out.steps_requiring_confirmation
    assert (req.step_name, req.step_type, req.step_index) == ("announce", "Steps", 2)
    req.confirm()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed
    assert out.content == "Steps announce completed with 1 results"  # a construct's summary, as mirrored
    assert _inner(out) == "told: published draft of essay"
    assert [r.confirmed for r in out.step_requirements] == [True, True]
    gate = wf.get_run(out.run_id).step_results[1]
    assert gate.step_type == "Condition" and [s.step_name for s in gate.steps or []] == ["publish"]


def test_a_rejected_condition_runs_its_else_steps(db_path: Path) -> None:
    wf = gated_workflow(db_path)
    out = wf.run("essay")
    out.steps_requiring_confirmation[0].reject()
    out = wf.continue_run(out)
    out.steps_requiring_confirmation[0].confirm()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed
    assert _inner(out) == "told: archived draft of essay"
    read = wf.get_run(out.run_id)
    gate = read.step_results[1]
    assert [s.step_name for s in gate.steps or []] == ["archive"]
    assert [r.confirmed for r in read.step_requirements] == [False, True]


def test_a_rejected_steps_is_skipped_and_the_run_goes_on(db: SqliteDb) -> None:
    ran: list[str] = []

    def work(si: StepInput) -> str:
        ran.append("work")
        return "worked"

    wf = Workflow(
        name="skippable",
        db=db,
        steps=[
            Steps(name="batch", steps=[Step(name="work", executor=work)], requires_confirmation=True),
            Step(name="after", executor=lambda si: f"after {si.previous_step_content}"),
        ],
    )
    out = wf.run("x")
    out.steps_requiring_confirmation[0].reject()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed and ran == []
    assert out.content == "after None"


def test_a_rejected_loop_with_on_reject_cancel_cancels_the_run(db: SqliteDb) -> None:
    wf = Workflow(
        name="loopy",
        db=db,
        steps=[
            Loop(
                name="refine",
                steps=[Step(name="polish", executor=lambda si: "polished")],
                max_iterations=2,
                requires_confirmation=True,
                on_reject="cancel",
            ),
            Step(name="after", executor=lambda si: "after"),
        ],
    )
    out = wf.run("x")
    [req] = out.steps_requiring_confirmation
    assert (req.step_type, req.on_reject) == ("Loop", "cancel")
    req.reject()
    out = wf.continue_run(out)
    assert out.status is RunStatus.cancelled
    assert wf.get_run(out.run_id).status is RunStatus.cancelled


def test_a_confirmed_router_routes(db: SqliteDb) -> None:
    wf = Workflow(
        name="routed",
        db=db,
        steps=[
            Router(
                name="route",
                selector=lambda si: "deep",
                choices=[
                    Step(name="deep", executor=lambda si: "deep dive"),
                    Step(name="quick", executor=lambda si: "q"),
                ],
                requires_confirmation=True,
            ),
        ],
    )
    out = wf.run("x")
    [req] = out.steps_requiring_confirmation
    assert (req.step_name, req.step_type, req.step_index) == ("route", "Router", 0)
    req.confirm()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed and _inner(out) == "deep dive"


def test_parallel_refuses_requires_confirmation() -> None:
    with pytest.raises(KitaruUsageError, match="not supported on Parallel"):
        Parallel(Step(name="a", executor=lambda si: 1), name="p", requires_confirmation=True)


def test_a_nested_steps_requirement_carries_its_workflow_steps_index(db: SqliteDb) -> None:
    wf = Workflow(
        name="nested",
        db=db,
        steps=[
            Step(name="first", executor=lambda si: 1),
            Steps(name="inner", steps=[Step(name="careful", executor=lambda si: 2, requires_confirmation=True)]),
        ],
    )
    out = wf.run("x")
    [req] = out.steps_requiring_confirmation
    assert (req.step_name, req.step_index) == ("careful", 1)
    assert out.paused_step_index == 1
    req.confirm()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed
    assert [(r.step_name, r.step_index, r.confirmed) for r in wf.get_run(out.run_id).step_requirements] == [
        ("careful", 1, True)
    ]


def test_rejection_feedback_is_journaled_and_read_in_a_new_process(db_path: Path, tmp_path: Path) -> None:
    wf = gated_workflow(db_path)
    out = wf.run("essay")
    out.steps_requiring_confirmation[0].reject(feedback="too long, archive it")
    out = wf.continue_run(out)
    assert out.step_requirements[0].rejection_feedback == "too long, archive it"
    code = textwrap.dedent(f"""
        import json
        from tests.workflow.steps_lib import gated_workflow
        wf = gated_workflow({str(db_path)!r})
        run = wf.get_session().runs[-1]
        run.steps_requiring_confirmation[0].confirm()
        out = wf.continue_run(run)
        print(json.dumps({{"status": out.status.value, "content": out.step_results[-1].steps[-1].content,
                          "feedback": [r.rejection_feedback for r in out.step_requirements]}}))
        """)
    result = run_script(code, tmp_path / "control")
    assert result == {
        "status": "COMPLETED",
        "content": "told: archived draft of essay",
        "feedback": ["too long, archive it", None],
    }
    [run] = wf.get_session().runs
    assert [r.rejection_feedback for r in run.step_requirements] == ["too long, archive it", None]
    assert run.to_dict()["step_requirements"][0]["rejection_feedback"] == "too long, archive it"
