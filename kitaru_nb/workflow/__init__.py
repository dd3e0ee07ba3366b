"""The step-workflow face: ``Workflow``, ``Step`` and ``OnError`` on kitaru_nb's one engine.

Code written for the ``Workflow``/``Step``/``OnError`` human-in-the-loop API runs with its
imports pointed here (``kitaru_nb.workflow``, ``kitaru_nb.workflow.step``,
``kitaru_nb.workflow.types``, ``kitaru_nb.db.sqlite``, ``kitaru_nb.run.workflow``).

::

    wf = Workflow(
        name="api_workflow",
        db=SqliteDb(db_file="workflow.db"),
        steps=[
            Step(name="fetch", executor=fetch, on_error=OnError.pause, max_retries=1),
            Step(name="publish", executor=publish, requires_confirmation=True),
        ],
    )
    run = wf.run("input")
    while run.is_paused:
        for req in run.steps_with_errors:
            req.retry()                     # or req.skip()
        for req in run.steps_requiring_confirmation:
            req.confirm()                   # or req.reject(): the step is skipped
        run = wf.continue_run(run)

A run is an execution (``kind="workflow"``) of the one journal: every step attempt is a
checkpoint attempt, ``run.run_id`` is its ``exec_id``, and ``KitaruClient``, the panel and
the sidebar show and steer it like any flow. ``continue_run`` works in a new kernel given
the same db and a workflow with the same steps.
"""

from __future__ import annotations

from kitaru_nb.workflow.condition import Condition
from kitaru_nb.workflow.loop import Loop
from kitaru_nb.workflow.parallel import Parallel
from kitaru_nb.workflow.router import Router
from kitaru_nb.workflow.session import WorkflowSession
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.steps import Steps
from kitaru_nb.workflow.types import (
    ConfirmationRequirement,
    ErrorRequirement,
    HumanReview,
    OnError,
    OnReject,
    StepInput,
    StepOutput,
    StepRequirement,
    WorkflowExecutionInput,
)
from kitaru_nb.workflow.workflow import Workflow

__all__ = [
    "Condition",
    "ConfirmationRequirement",
    "ErrorRequirement",
    "HumanReview",
    "Loop",
    "OnError",
    "OnReject",
    "Parallel",
    "Router",
    "Step",
    "StepInput",
    "StepOutput",
    "StepRequirement",
    "Steps",
    "Workflow",
    "WorkflowExecutionInput",
    "WorkflowSession",
]
