"""Events a streamed workflow run yields, and ``WorkflowRunOutput``, what a run returns.

A run output is a view of one execution (``kind="workflow"``) of the journal: ``run_id``
is its ``exec_id``. It is built from the journal, so a run output read in a new kernel
tells the same as the one the run returned.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from time import time
from typing import TYPE_CHECKING, Any

from kitaru_nb.models import FailureInfo
from kitaru_nb.run.base import RunStatus, content_as_string

if TYPE_CHECKING:
    from kitaru_nb.journal.base import Journal
    from kitaru_nb.workflow.types import ConfirmationRequirement, ErrorRequirement, StepOutput

__all__ = [
    "BaseWorkflowRunOutputEvent",
    "RunStatus",
    "StepCompletedEvent",
    "StepErrorEvent",
    "StepPausedEvent",
    "StepSkippedEvent",
    "StepStartedEvent",
    "WorkflowCancelledEvent",
    "WorkflowCompletedEvent",
    "WorkflowErrorEvent",
    "WorkflowFailedEvent",
    "WorkflowRunEvent",
    "WorkflowRunOutput",
    "WorkflowRunOutputEvent",
    "WorkflowStartedEvent",
]


class WorkflowRunEvent(enum.StrEnum):
    """The ``event`` string of each event class."""

    workflow_started = "WorkflowStarted"
    workflow_completed = "WorkflowCompleted"
    workflow_error = "WorkflowError"
    workflow_cancelled = "WorkflowCancelled"
    step_started = "StepStarted"
    step_completed = "StepCompleted"
    step_error = "StepError"
    step_skipped = "StepSkipped"
    step_paused = "StepPaused"


@dataclass
class BaseWorkflowRunOutputEvent:
    """Fields every workflow event carries."""

    created_at: float = field(default_factory=time)
    event: str = ""
    workflow_id: str | None = None
    workflow_name: str | None = None
    session_id: str | None = None
    run_id: str | None = None
    step_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        from kitaru_nb.models import to_jsonable

        out: dict[str, Any] = {}
        for key, value in vars(self).items():
            if value is None or key.startswith("_"):
                continue
            out[key] = _jsonable(to_jsonable(value))
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=str)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


@dataclass
class WorkflowStartedEvent(BaseWorkflowRunOutputEvent):
    """The run started (or a paused run continues)."""

    event: str = WorkflowRunEvent.workflow_started.value


@dataclass
class WorkflowCompletedEvent(BaseWorkflowRunOutputEvent):
    """The run completed; ``content`` is the last step's content."""

    event: str = WorkflowRunEvent.workflow_completed.value
    content: Any = None
    step_results: list[StepOutput] = field(default_factory=list)
    run_output: WorkflowRunOutput | None = field(default=None, repr=False)


@dataclass
class WorkflowFailedEvent(BaseWorkflowRunOutputEvent):
    """The run failed (a step with ``OnError.fail`` raised, or the run diverged)."""

    event: str = WorkflowRunEvent.workflow_error.value
    error: str | None = None
    error_type: str | None = None
    step_name: str | None = None
    run_output: WorkflowRunOutput | None = field(default=None, repr=False)


WorkflowErrorEvent = WorkflowFailedEvent


@dataclass
class WorkflowCancelledEvent(BaseWorkflowRunOutputEvent):
    """The run was cancelled (a step's confirmation was rejected with ``OnReject.cancel``)."""

    event: str = WorkflowRunEvent.workflow_cancelled.value
    reason: str | None = None


@dataclass
class StepStartedEvent(BaseWorkflowRunOutputEvent):
    """A step starts running (not sent for steps reused from the journal)."""

    event: str = WorkflowRunEvent.step_started.value
    step_name: str | None = None
    step_index: int | None = None


@dataclass
class StepCompletedEvent(BaseWorkflowRunOutputEvent):
    """A step returned; its output is journaled."""

    event: str = WorkflowRunEvent.step_completed.value
    step_name: str | None = None
    step_index: int | None = None
    content: Any = None
    step_response: StepOutput | None = None


@dataclass
class StepErrorEvent(BaseWorkflowRunOutputEvent):
    """One attempt of a step raised (``attempt`` counts from 1 within this call)."""

    event: str = WorkflowRunEvent.step_error.value
    step_name: str | None = None
    step_index: int | None = None
    error: str | None = None
    error_type: str | None = None
    attempt: int = 1
    will_retry: bool = False


@dataclass
class StepSkippedEvent(BaseWorkflowRunOutputEvent):
    """A step was skipped: ``reason`` is ``"error"`` (``OnError.skip`` or a skip decision)
    or ``"rejected"`` (its confirmation was rejected)."""

    event: str = WorkflowRunEvent.step_skipped.value
    step_name: str | None = None
    step_index: int | None = None
    reason: str = "error"
    error: str | None = None


@dataclass
class StepPausedEvent(BaseWorkflowRunOutputEvent):
    """The run paused at a step: ``reason`` is ``"confirmation"`` (before the step) or
    ``"error"`` (the step failed under ``OnError.pause`` and waits for retry or skip)."""

    event: str = WorkflowRunEvent.step_paused.value
    step_name: str | None = None
    step_index: int | None = None
    reason: str = "confirmation"
    requires_confirmation: bool = False
    confirmation_message: str | None = None
    error: str | None = None
    error_type: str | None = None


WorkflowRunOutputEvent = (
    WorkflowStartedEvent
    | WorkflowCompletedEvent
    | WorkflowFailedEvent
    | WorkflowCancelledEvent
    | StepStartedEvent
    | StepCompletedEvent
    | StepErrorEvent
    | StepSkippedEvent
    | StepPausedEvent
)


@dataclass
class WorkflowRunOutput:
    """One run of a step workflow, as the journal tells it.

    ``content`` is the last step's content (None when the last step was skipped);
    ``steps_with_errors`` and ``steps_requiring_confirmation`` list what a paused run
    needs: decide on each, then ``workflow.continue_run(run_output)``.
    """

    run_id: str
    workflow_name: str
    session_id: str | None = None
    input: Any = None
    content: Any = None
    status: RunStatus = RunStatus.pending
    step_results: list[StepOutput] = field(default_factory=list)
    step_requirements: list[ConfirmationRequirement] = field(default_factory=list)
    error_requirements: list[ErrorRequirement] = field(default_factory=list)
    paused_step_name: str | None = None
    paused_step_index: int | None = None
    failure: FailureInfo | None = None
    created_at: float = 0.0
    workflow_id: str | None = None
    metadata: dict[str, Any] | None = None
    _journal: Journal | None = field(default=None, repr=False, compare=False)
    _pause_token: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def exec_id(self) -> str:
        """The id of this run's execution in the journal (the same as ``run_id``)."""
        return self.run_id

    @property
    def flow_name(self) -> str:
        return self.workflow_name

    @property
    def is_paused(self) -> bool:
        return self.status is RunStatus.paused

    @property
    def is_cancelled(self) -> bool:
        return self.status is RunStatus.cancelled

    def has_completed(self) -> bool:
        """True when the run ended (completed or failed)."""
        return self.status in (RunStatus.completed, RunStatus.error)

    @property
    def steps_with_errors(self) -> list[ErrorRequirement]:
        """Steps paused on error that still need a decision (``retry()`` or ``skip()``)."""
        return [r for r in self.error_requirements if r.needs_decision]

    @property
    def active_error_requirements(self) -> list[ErrorRequirement]:
        return [r for r in self.error_requirements if not r.is_resolved]

    @property
    def steps_requiring_confirmation(self) -> list[ConfirmationRequirement]:
        """Steps waiting for ``confirm()`` or ``reject()``."""
        return [r for r in self.step_requirements if r.needs_confirmation]

    @property
    def active_step_requirements(self) -> list[ConfirmationRequirement]:
        return [r for r in self.step_requirements if not r.is_resolved]

    def get_content_as_string(self, **kwargs: Any) -> str:
        return content_as_string(self.content, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        from kitaru_nb.models import to_jsonable

        return {
            "run_id": self.run_id,
            "workflow_name": self.workflow_name,
            "session_id": self.session_id,
            "status": self.status.value,
            "content": _jsonable(to_jsonable(self.content)),
            "step_results": [r.to_dict() for r in self.step_results],
            "step_requirements": [r.to_dict() for r in self.step_requirements],
            "error_requirements": [r.to_dict() for r in self.error_requirements],
            "paused_step_name": self.paused_step_name,
            "failure": to_jsonable(self.failure),
            "created_at": self.created_at,
        }
