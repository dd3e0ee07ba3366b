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
    from kitaru_nb.workflow.types import ConfirmationRequirement, ErrorRequirement, StepOutput

__all__ = [
    "WORKFLOW_RUN_EVENT_TYPE_REGISTRY",
    "BaseWorkflowRunOutputEvent",
    "ConditionExecutionCompletedEvent",
    "ConditionExecutionStartedEvent",
    "CustomEvent",
    "LoopExecutionCompletedEvent",
    "LoopExecutionStartedEvent",
    "LoopIterationCompletedEvent",
    "LoopIterationStartedEvent",
    "ParallelExecutionCompletedEvent",
    "ParallelExecutionStartedEvent",
    "RouterExecutionCompletedEvent",
    "RouterExecutionStartedEvent",
    "RunStatus",
    "StepCompletedEvent",
    "StepContinuedEvent",
    "StepErrorEvent",
    "StepOutputEvent",
    "StepPausedEvent",
    "StepSkippedEvent",
    "StepStartedEvent",
    "StepsExecutionCompletedEvent",
    "StepsExecutionStartedEvent",
    "WorkflowCancelledEvent",
    "WorkflowCompletedEvent",
    "WorkflowErrorEvent",
    "WorkflowFailedEvent",
    "WorkflowRunEvent",
    "WorkflowRunOutput",
    "WorkflowRunOutputEvent",
    "WorkflowStartedEvent",
    "workflow_run_output_event_from_dict",
]


class WorkflowRunEvent(enum.StrEnum):
    """The ``event`` string of each event class (``WORKFLOW_RUN_EVENT_TYPE_REGISTRY`` maps it back)."""

    workflow_started = "WorkflowStarted"
    workflow_completed = "WorkflowCompleted"
    workflow_cancelled = "WorkflowCancelled"
    workflow_error = "WorkflowError"
    step_started = "StepStarted"
    step_completed = "StepCompleted"
    step_paused = "StepPaused"
    step_continued = "StepContinued"
    step_error = "StepError"
    step_skipped = "StepSkipped"
    loop_execution_started = "LoopExecutionStarted"
    loop_iteration_started = "LoopIterationStarted"
    loop_iteration_completed = "LoopIterationCompleted"
    loop_execution_completed = "LoopExecutionCompleted"
    parallel_execution_started = "ParallelExecutionStarted"
    parallel_execution_completed = "ParallelExecutionCompleted"
    condition_execution_started = "ConditionExecutionStarted"
    condition_execution_completed = "ConditionExecutionCompleted"
    router_execution_started = "RouterExecutionStarted"
    router_execution_completed = "RouterExecutionCompleted"
    steps_execution_started = "StepsExecutionStarted"
    steps_execution_completed = "StepsExecutionCompleted"
    step_output = "StepOutput"
    custom_event = "CustomEvent"


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
            if value is None or key.startswith("_") or key == "run_output":
                continue
            if hasattr(value, "to_dict") and not isinstance(value, type):
                out[key] = value.to_dict()
            elif isinstance(value, list) and value and all(hasattr(v, "to_dict") for v in value):
                out[key] = [v.to_dict() for v in value]
            else:
                out[key] = _jsonable(to_jsonable(value))
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaseWorkflowRunOutputEvent:
        """The event ``to_dict()`` wrote (step outputs come back as ``StepOutput``)."""
        from dataclasses import fields

        from kitaru_nb.workflow.types import StepOutput

        known = {f.name for f in fields(cls) if f.init}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key in ("step_response", "step_output") and isinstance(value, dict):
                value = StepOutput.from_dict(value)
            elif key in ("step_results", "iteration_results") and isinstance(value, list):
                value = [StepOutput.from_dict(v) if isinstance(v, dict) else v for v in value]
            elif key == "step_index" and isinstance(value, list):
                value = tuple(value)
            kwargs[key] = value
        return cls(**kwargs)


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
    step_index: Any = None


@dataclass
class StepCompletedEvent(BaseWorkflowRunOutputEvent):
    """A step returned; its output is journaled."""

    event: str = WorkflowRunEvent.step_completed.value
    step_name: str | None = None
    step_index: Any = None
    content: Any = None
    step_response: StepOutput | None = None


@dataclass
class StepErrorEvent(BaseWorkflowRunOutputEvent):
    """One attempt of a step raised (``attempt`` counts from 1 within this call)."""

    event: str = WorkflowRunEvent.step_error.value
    step_name: str | None = None
    step_index: Any = None
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
    step_index: Any = None
    reason: str = "error"
    error: str | None = None


@dataclass
class StepPausedEvent(BaseWorkflowRunOutputEvent):
    """The run paused at a step: ``reason`` is ``"confirmation"`` (before the step) or
    ``"error"`` (the step failed under ``OnError.pause`` and waits for retry or skip)."""

    event: str = WorkflowRunEvent.step_paused.value
    step_name: str | None = None
    step_index: Any = None
    reason: str = "confirmation"
    requires_confirmation: bool = False
    confirmation_message: str | None = None
    error: str | None = None
    error_type: str | None = None


@dataclass
class StepContinuedEvent(BaseWorkflowRunOutputEvent):
    """A paused step continues (its confirmation was answered, or its error decided): the
    counterpart of its ``StepPausedEvent``, sent by ``continue_run`` when the run reaches the step."""

    event: str = WorkflowRunEvent.step_continued.value
    step_name: str | None = None
    step_index: Any = None


@dataclass
class StepOutputEvent(BaseWorkflowRunOutputEvent):
    """A top-level step (or construct) produced its output in this run: one per step, streamed
    with or without ``stream_events``."""

    event: str = WorkflowRunEvent.step_output.value
    step_name: str | None = None
    step_index: Any = None
    step_output: StepOutput | None = None

    @property
    def content(self) -> Any:
        return self.step_output.content if self.step_output else None

    @property
    def success(self) -> bool:
        return self.step_output.success if self.step_output else True

    @property
    def error(self) -> str | None:
        return self.step_output.error if self.step_output else None

    @property
    def stop(self) -> bool:
        return self.step_output.stop if self.step_output else False


@dataclass
class _ConstructEvent(BaseWorkflowRunOutputEvent):
    step_name: str | None = None
    step_index: Any = None


@dataclass
class LoopExecutionStartedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.loop_execution_started.value
    max_iterations: int | None = None


@dataclass
class LoopIterationStartedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.loop_iteration_started.value
    iteration: int = 0
    max_iterations: int | None = None


@dataclass
class LoopIterationCompletedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.loop_iteration_completed.value
    iteration: int = 0
    max_iterations: int | None = None
    iteration_results: list[StepOutput] = field(default_factory=list)
    should_continue: bool = True


@dataclass
class LoopExecutionCompletedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.loop_execution_completed.value
    total_iterations: int = 0
    max_iterations: int | None = None


@dataclass
class ParallelExecutionStartedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.parallel_execution_started.value
    parallel_step_count: int | None = None


@dataclass
class ParallelExecutionCompletedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.parallel_execution_completed.value
    parallel_step_count: int | None = None
    step_results: list[StepOutput] = field(default_factory=list)


@dataclass
class ConditionExecutionStartedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.condition_execution_started.value
    condition_result: bool | None = None


@dataclass
class ConditionExecutionCompletedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.condition_execution_completed.value
    condition_result: bool | None = None
    executed_steps: int | None = None
    branch: str | None = None
    step_results: list[StepOutput] = field(default_factory=list)


@dataclass
class RouterExecutionStartedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.router_execution_started.value
    selected_steps: list[str] = field(default_factory=list)


@dataclass
class RouterExecutionCompletedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.router_execution_completed.value
    selected_steps: list[str] = field(default_factory=list)
    executed_steps: int | None = None
    step_results: list[StepOutput] = field(default_factory=list)


@dataclass
class StepsExecutionStartedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.steps_execution_started.value
    steps_count: int | None = None


@dataclass
class StepsExecutionCompletedEvent(_ConstructEvent):
    event: str = WorkflowRunEvent.steps_execution_completed.value
    steps_count: int | None = None
    executed_steps: int | None = None
    step_results: list[StepOutput] = field(default_factory=list)


@dataclass
class CustomEvent(BaseWorkflowRunOutputEvent):
    """An event of the user's own."""

    event: str = WorkflowRunEvent.custom_event.value


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
    | StepContinuedEvent
    | StepOutputEvent
    | LoopExecutionStartedEvent
    | LoopIterationStartedEvent
    | LoopIterationCompletedEvent
    | LoopExecutionCompletedEvent
    | ParallelExecutionStartedEvent
    | ParallelExecutionCompletedEvent
    | ConditionExecutionStartedEvent
    | ConditionExecutionCompletedEvent
    | RouterExecutionStartedEvent
    | RouterExecutionCompletedEvent
    | StepsExecutionStartedEvent
    | StepsExecutionCompletedEvent
    | CustomEvent
)

#: event string -> event class, so events round-trip through ``to_dict()`` / ``from_dict()``
WORKFLOW_RUN_EVENT_TYPE_REGISTRY: dict[str, type[BaseWorkflowRunOutputEvent]] = {
    WorkflowRunEvent.workflow_started.value: WorkflowStartedEvent,
    WorkflowRunEvent.workflow_completed.value: WorkflowCompletedEvent,
    WorkflowRunEvent.workflow_cancelled.value: WorkflowCancelledEvent,
    WorkflowRunEvent.workflow_error.value: WorkflowFailedEvent,
    WorkflowRunEvent.step_started.value: StepStartedEvent,
    WorkflowRunEvent.step_completed.value: StepCompletedEvent,
    WorkflowRunEvent.step_paused.value: StepPausedEvent,
    WorkflowRunEvent.step_continued.value: StepContinuedEvent,
    WorkflowRunEvent.step_error.value: StepErrorEvent,
    WorkflowRunEvent.step_skipped.value: StepSkippedEvent,
    WorkflowRunEvent.loop_execution_started.value: LoopExecutionStartedEvent,
    WorkflowRunEvent.loop_iteration_started.value: LoopIterationStartedEvent,
    WorkflowRunEvent.loop_iteration_completed.value: LoopIterationCompletedEvent,
    WorkflowRunEvent.loop_execution_completed.value: LoopExecutionCompletedEvent,
    WorkflowRunEvent.parallel_execution_started.value: ParallelExecutionStartedEvent,
    WorkflowRunEvent.parallel_execution_completed.value: ParallelExecutionCompletedEvent,
    WorkflowRunEvent.condition_execution_started.value: ConditionExecutionStartedEvent,
    WorkflowRunEvent.condition_execution_completed.value: ConditionExecutionCompletedEvent,
    WorkflowRunEvent.router_execution_started.value: RouterExecutionStartedEvent,
    WorkflowRunEvent.router_execution_completed.value: RouterExecutionCompletedEvent,
    WorkflowRunEvent.steps_execution_started.value: StepsExecutionStartedEvent,
    WorkflowRunEvent.steps_execution_completed.value: StepsExecutionCompletedEvent,
    WorkflowRunEvent.step_output.value: StepOutputEvent,
    WorkflowRunEvent.custom_event.value: CustomEvent,
}


def workflow_run_output_event_from_dict(data: dict[str, Any]) -> BaseWorkflowRunOutputEvent:
    """The event a ``to_dict()`` wrote, as its class (by its ``event`` string)."""
    cls = WORKFLOW_RUN_EVENT_TYPE_REGISTRY.get(str(data.get("event", "")))
    if cls is None:
        raise ValueError(
            f"unknown workflow event type {data.get('event')!r}; known: {sorted(WORKFLOW_RUN_EVENT_TYPE_REGISTRY)}"
        )
    return cls.from_dict(data)


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
    #: the client that read it (the panel shows the run through it)
    _client: Any = field(default=None, repr=False, compare=False)

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
        """A JSON-ready dict; ``WorkflowRunOutput.from_dict`` reads it back, and ``continue_run`` takes
        the result (with the decisions taken on its requirements)."""
        from kitaru_nb.models import to_jsonable

        return {
            "run_id": self.run_id,
            "workflow_name": self.workflow_name,
            "workflow_id": self.workflow_id,
            "session_id": self.session_id,
            "input": _jsonable(to_jsonable(self.input)),
            "status": self.status.value,
            "content": _jsonable(to_jsonable(self.content)),
            "step_results": [r.to_dict() for r in self.step_results],
            "step_requirements": [r.to_dict() for r in self.step_requirements],
            "error_requirements": [r.to_dict() for r in self.error_requirements],
            "paused_step_index": self.paused_step_index,
            "paused_step_name": self.paused_step_name,
            "failure": to_jsonable(self.failure),
            "created_at": self.created_at,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkflowRunOutput:
        """The run output ``to_dict()`` wrote: store a paused run's dict, continue it later with
        ``workflow.continue_run(WorkflowRunOutput.from_dict(data))``."""
        from kitaru_nb.errors import KitaruUsageError
        from kitaru_nb.models import FailureInfo
        from kitaru_nb.types import FailureOrigin
        from kitaru_nb.workflow.types import ConfirmationRequirement, ErrorRequirement, StepOutput

        if not isinstance(data, dict) or not data.get("run_id") or not data.get("workflow_name"):
            raise KitaruUsageError(
                "WorkflowRunOutput.from_dict takes the dict that run_output.to_dict() returned (with run_id and "
                f"workflow_name), got {type(data).__name__}"
            )
        f = data.get("failure")
        failure = (
            FailureInfo(FailureOrigin(f["origin"]), f.get("message", ""), f.get("exception_type"), f.get("traceback"))
            if isinstance(f, dict)
            else None
        )
        return cls(
            run_id=data["run_id"],
            workflow_name=data["workflow_name"],
            workflow_id=data.get("workflow_id"),
            session_id=data.get("session_id"),
            input=data.get("input"),
            content=data.get("content"),
            status=RunStatus(data.get("status", RunStatus.pending.value)),
            step_results=[StepOutput.from_dict(r) for r in data.get("step_results") or []],
            step_requirements=[ConfirmationRequirement.from_dict(r) for r in data.get("step_requirements") or []],
            error_requirements=[ErrorRequirement.from_dict(r) for r in data.get("error_requirements") or []],
            paused_step_index=data.get("paused_step_index"),
            paused_step_name=data.get("paused_step_name"),
            failure=failure,
            created_at=float(data.get("created_at") or 0.0),
            metadata=data.get("metadata"),
        )
