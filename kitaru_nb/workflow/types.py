"""Values a step workflow passes around: step input and output, ``OnError``, and the
requirements a paused run asks a human to resolve."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.run.base import content_as_string

__all__ = [
    "ConfirmationRequirement",
    "ErrorRequirement",
    "HumanReview",
    "OnError",
    "OnReject",
    "StepInput",
    "StepOutput",
    "StepRequirement",
    "WorkflowExecutionInput",
]


class OnError(enum.StrEnum):
    """What a step does when its executor raises (after ``max_retries`` extra attempts).

    ``fail`` (the default): the run fails at once and ``run()`` / ``continue_run()`` raise the
    step's exception (the failed run stays in the journal: ``workflow.get_session().runs[-1]``). ``skip``: the step is marked skipped
    and the run goes on. ``pause``: the run pauses with an ``ErrorRequirement`` that a
    human resolves with ``retry()`` or ``skip()``.
    """

    fail = "fail"
    skip = "skip"
    pause = "pause"

    def __str__(self) -> str:
        return self.value


class OnReject(enum.StrEnum):
    """What rejecting a step's confirmation does: ``skip`` the step (the default here) or ``cancel``
    the run. (``else`` and ``retry`` belong to step kinds kitaru_nb does not have.)"""

    skip = "skip"
    cancel = "cancel"
    else_branch = "else"
    retry = "retry"

    def __str__(self) -> str:
        return self.value


@dataclass
class HumanReview:
    """The human-in-the-loop settings of a step in one object: ``Step(human_review=HumanReview(...))``.

    Supported: ``requires_confirmation``, ``confirmation_message``, ``on_error`` (None: the
    step's own, ``OnError.fail`` by default) and ``on_reject`` (skip or cancel). The other fields
    of the API exist so definitions load, and are refused when set.
    """

    requires_confirmation: bool = False
    confirmation_message: str | None = None
    on_error: OnError | str | None = None
    on_reject: OnReject | str = OnReject.skip
    requires_user_input: bool = False
    user_input_message: str | None = None
    user_input_schema: list[dict[str, Any]] | None = None
    requires_output_review: Any = False
    output_review_message: str | None = None
    requires_iteration_review: bool = False
    iteration_review_message: str | None = None
    allow_multiple_selections: bool = False
    max_retries: int = 3
    timeout: int | None = None
    on_timeout: str = "cancel"

    def unsupported(self) -> list[str]:
        """The fields set that kitaru_nb does not implement."""
        out = [
            name
            for name in ("requires_user_input", "requires_output_review", "requires_iteration_review", "timeout")
            if getattr(self, name)
        ]
        if str(self.on_reject) not in (OnReject.skip.value, OnReject.cancel.value):
            out.append(f"on_reject={self.on_reject!s}")
        return out


@dataclass
class StepOutput:
    """What a step produced. An executor may return one, or a plain value (it becomes ``content``).

    ``skipped`` is True for a step that was skipped (after an error, or because its
    confirmation was rejected); its ``content`` is None.
    """

    content: Any = None
    step_name: str | None = None
    success: bool = True
    error: str | None = None
    stop: bool = False
    skipped: bool = False
    step_id: str | None = None
    step_type: str | None = "Step"
    metadata: dict[str, Any] | None = None
    #: the outputs of the steps inside a Parallel, Loop, Condition, Router or Steps (in order)
    steps: list[StepOutput] | None = None
    executor_type: str | None = None
    executor_name: str | None = None

    def _is_plain(self) -> bool:
        """Only ``content`` (and bookkeeping) is set: the journal can store the content alone."""
        return (
            self.success
            and self.error is None
            and not self.stop
            and not self.skipped
            and self.metadata is None
            and self.steps is None
        )

    def get_content_as_string(self, **kwargs: Any) -> str:
        return content_as_string(self.content, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        from kitaru_nb.models import to_jsonable

        content = self.content
        dump = getattr(content, "model_dump", None)
        if callable(dump):
            content = dump(mode="json")
        try:
            json.dumps(content)
        except (TypeError, ValueError):
            content = str(content)
        return {
            "content": content,
            "step_name": self.step_name,
            "success": self.success,
            "error": self.error,
            "stop": self.stop,
            "skipped": self.skipped,
            "step_type": self.step_type,
            "step_id": self.step_id,
            "metadata": to_jsonable(self.metadata),
            **({"steps": [o.to_dict() for o in self.steps]} if self.steps is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepOutput:
        """The output ``to_dict()`` wrote (content as JSON: a model comes back as its dict)."""
        data = _mapping(data, "StepOutput")
        steps = data.get("steps")
        return cls(
            content=data.get("content"),
            step_name=data.get("step_name"),
            success=bool(data.get("success", True)),
            error=data.get("error"),
            stop=bool(data.get("stop", False)),
            skipped=bool(data.get("skipped", False)),
            step_id=data.get("step_id"),
            step_type=data.get("step_type", "Step"),
            metadata=data.get("metadata"),
            steps=[cls.from_dict(o) for o in steps] if steps is not None else None,
        )


@dataclass
class WorkflowExecutionInput:
    """What a ``Workflow(steps=fn)`` function gets: ``fn(workflow, execution_input)``."""

    input: Any = None
    additional_data: dict[str, Any] | None = None

    def get_input_as_string(self) -> str | None:
        return StepInput(input=self.input).get_input_as_string()


@dataclass
class StepInput:
    """What a step's executor receives.

    ``input`` is the run's input; ``previous_step_content`` the content of the step just
    before (None for the first step, and after a skipped step); ``previous_step_outputs``
    the outputs of every earlier step by name.
    """

    input: Any = None
    previous_step_content: Any = None
    previous_step_outputs: dict[str, StepOutput] | None = None
    additional_data: dict[str, Any] | None = None

    def get_step_output(self, step_name: str) -> StepOutput | None:
        """An earlier step's output by name, also a step inside a Parallel, Loop, Condition, Router or Steps."""
        outputs = self.previous_step_outputs or {}
        if outputs.get(step_name):
            return outputs[step_name]

        def search(out: StepOutput) -> StepOutput | None:
            for sub in out.steps or []:
                if sub.step_name == step_name:
                    return sub
                found = search(sub)
                if found is not None:
                    return found
            return None

        for out in outputs.values():
            found = search(out)
            if found is not None:
                return found
        return None

    def get_step_content(self, step_name: str) -> Any:
        """An earlier step's content. For a Parallel: ``{branch: str(content)}``; for the other
        constructs: the content of their last (deepest) inner step."""
        out = self.get_step_output(step_name)
        if out is None:
            return None
        if out.step_type == "Parallel" and out.steps:
            contents: dict[str, str] = {}
            for sub in out.steps:
                if sub.step_name and sub.content:
                    if sub.steps:
                        for nested in sub.steps:
                            if nested.step_name and nested.content:
                                contents[nested.step_name] = str(nested.content)
                    else:
                        contents[sub.step_name] = str(sub.content)
            return contents if contents else str(out.content)
        if out.steps:
            return _deepest(out.steps[-1])
        return out.content

    def get_last_step_content(self) -> Any:
        outputs = self.previous_step_outputs or {}
        return _deepest(next(reversed(outputs.values()))) if outputs else None

    def get_all_previous_content(self) -> str:
        parts = [
            f"=== {name} ===\n{out.content}" for name, out in (self.previous_step_outputs or {}).items() if out.content
        ]
        return "\n\n".join(parts)

    def get_input_as_string(self) -> str | None:
        if self.input is None:
            return None
        if isinstance(self.input, str):
            return self.input
        dump_json = getattr(self.input, "model_dump_json", None)
        if callable(dump_json):
            return str(dump_json(indent=2, exclude_none=True))
        return json.dumps(self.input, indent=2, default=str)


@dataclass
class ErrorRequirement:
    """A step that failed under ``OnError.pause`` and waits for a decision (or, in a run output's
    history, got one: ``decision`` is ``"retry"`` or ``"skip"``).

    ``retry_count`` counts the retries decided so far (0 at the first failure, +1 per
    retry). Call ``retry()`` or ``skip()``, then ``workflow.continue_run(run_output)``.
    """

    step_name: str | None = None
    step_index: int | None = None
    error_message: str = ""
    error_type: str | None = None
    retry_count: int = 0
    traceback: str | None = field(default=None, repr=False)
    decision: str | None = None
    step_id: str | None = None
    #: the step's name in the journal (``group/step`` inside a construct)
    call_name: str | None = field(default=None, repr=False)

    def retry(self) -> None:
        """Run the step again with the same input when the run continues."""
        self.decision = "retry"

    def skip(self) -> None:
        """Mark the step skipped (not failed); the next step gets ``previous_step_content=None``."""
        self.decision = "skip"

    @property
    def needs_decision(self) -> bool:
        return self.decision is None

    @property
    def is_resolved(self) -> bool:
        return self.decision is not None

    @property
    def should_retry(self) -> bool:
        return self.decision == "retry"

    @property
    def should_skip(self) -> bool:
        return self.decision == "skip"

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "step_name": self.step_name,
            "step_index": self.step_index,
            "error_message": self.error_message,
            "error_type": self.error_type,
            "retry_count": self.retry_count,
            "decision": self.decision,
            "traceback": self.traceback,
            "call_name": self.call_name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorRequirement:
        """The requirement ``to_dict()`` wrote (a decision taken on it is kept)."""
        data = _mapping(data, "ErrorRequirement")
        decision = data.get("decision")
        if decision not in (None, "retry", "skip"):
            raise KitaruUsageError(
                f"ErrorRequirement.from_dict: decision must be 'retry', 'skip' or None, got {decision!r}"
            )
        return cls(
            step_id=data.get("step_id"),
            step_name=data.get("step_name"),
            step_index=data.get("step_index"),
            error_message=data.get("error_message") or "",
            error_type=data.get("error_type"),
            retry_count=int(data.get("retry_count") or 0),
            decision=decision,
            traceback=data.get("traceback"),
            call_name=data.get("call_name"),
        )


@dataclass
class ConfirmationRequirement:
    """A step with ``requires_confirmation=True`` that waits, before it runs, for ``confirm()``
    or ``reject()``; then ``workflow.continue_run(run_output)``. In a run output's history,
    ``confirmed`` tells what was answered.

    ``on_reject`` says what a rejection does: ``"skip"`` the step, ``"cancel"`` the run, or
    ``"else"`` (a ``Condition``: run its ``else_steps``; elsewhere the same as skip). It starts as
    the step's own setting; changing it before ``continue_run`` applies to this answer.
    """

    step_name: str | None = None
    step_index: int | None = None
    confirmation_message: str | None = None
    confirmed: bool | None = None
    requires_confirmation: bool = True
    step_id: str | None = None
    wait_name: str | None = field(default=None, repr=False)
    step_type: str | None = "Step"
    on_reject: OnReject | str = OnReject.skip
    rejection_feedback: str | None = None

    def confirm(self) -> None:
        self.confirmed = True

    def reject(self, feedback: str | None = None) -> None:
        self.confirmed = False
        if feedback is not None:
            self.rejection_feedback = feedback

    @property
    def needs_confirmation(self) -> bool:
        return self.requires_confirmation and self.confirmed is None

    @property
    def is_resolved(self) -> bool:
        return self.confirmed is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "step_name": self.step_name,
            "step_index": self.step_index,
            "step_type": self.step_type,
            "requires_confirmation": self.requires_confirmation,
            "confirmation_message": self.confirmation_message,
            "confirmed": self.confirmed,
            "on_reject": str(self.on_reject),
            "rejection_feedback": self.rejection_feedback,
            "wait_name": self.wait_name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfirmationRequirement:
        """The requirement ``to_dict()`` wrote (an answer given on it is kept)."""
        data = _mapping(data, "StepRequirement")
        confirmed = data.get("confirmed")
        if confirmed not in (None, True, False):
            raise KitaruUsageError(
                f"StepRequirement.from_dict: confirmed must be True, False or None, got {confirmed!r}"
            )
        return cls(
            step_id=data.get("step_id"),
            step_name=data.get("step_name"),
            step_index=data.get("step_index"),
            step_type=data.get("step_type", "Step"),
            requires_confirmation=bool(data.get("requires_confirmation", True)),
            confirmation_message=data.get("confirmation_message"),
            confirmed=confirmed,
            on_reject=parse_on_reject(data.get("on_reject", OnReject.skip.value)),
            rejection_feedback=data.get("rejection_feedback"),
            wait_name=data.get("wait_name"),
        )


def _deepest(out: StepOutput) -> Any:
    while out.steps:
        out = out.steps[-1]
    return out.content


def parse_on_reject(value: Any) -> OnReject:
    try:
        return OnReject(value)
    except ValueError:
        raise KitaruUsageError(
            f"on_reject must be 'skip' (skip the step), 'cancel' (cancel the run) or 'else' (a Condition's "
            f"else_steps), got {value!r}"
        ) from None


def _mapping(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise KitaruUsageError(f"{what}.from_dict takes the dict that to_dict() returned, not {type(data).__name__}")
    return data


# The step-workflow API calls the pre-step requirement a StepRequirement.
StepRequirement = ConfirmationRequirement
