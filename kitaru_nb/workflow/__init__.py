"""The step-workflow face: ``Workflow``, ``Step`` and ``OnError`` on kitaru_nb's one engine.

Code written for the ``Workflow``/``Step``/``OnError`` human-in-the-loop API runs with its
imports pointed here (``kitaru_nb.workflow``, ``kitaru_nb.workflow.step``,
``kitaru_nb.workflow.types``, ``kitaru_nb.db.sqlite``, ``kitaru_nb.run.workflow``).
"""

from __future__ import annotations

from kitaru_nb.workflow.session import WorkflowSession
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import (
    ConfirmationRequirement,
    ErrorRequirement,
    OnError,
    StepInput,
    StepOutput,
    StepRequirement,
)
from kitaru_nb.workflow.workflow import Workflow

__all__ = [
    "ConfirmationRequirement",
    "ErrorRequirement",
    "OnError",
    "Step",
    "StepInput",
    "StepOutput",
    "StepRequirement",
    "Workflow",
    "WorkflowSession",
]
