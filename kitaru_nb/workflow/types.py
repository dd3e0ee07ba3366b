"""Values a step workflow passes around: step input and output, ``OnError``, and the
requirements a paused run asks a human to resolve."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

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

    def _is_plain(self) -> bool:
        """Only ``content`` (and bookkeeping) is set: the journal can store the content alone."""
        return self.success and self.error is None and not self.stop and not self.skipped and self.metadata is None

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
            "metadata": to_jsonable(self.metadata),
        }


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
        return (self.previous_step_outputs or {}).get(step_name)

    def get_step_content(self, step_name: str) -> Any:
        out = self.get_step_output(step_name)
        return None if out is None else out.content

    def get_last_step_content(self) -> Any:
        outputs = self.previous_step_outputs or {}
        return next(reversed(outputs.values())).content if outputs else None

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
    """A step that failed under ``OnError.pause`` and waits for a decision.

    ``retry_count`` counts the retries decided so far (0 at the first failure, +1 per
    retry). Call ``retry()`` or ``skip()``, then ``workflow.continue_run(run_output)``.
    """

    step_name: str
    step_index: int | None = None
    error_message: str = ""
    error_type: str | None = None
    retry_count: int = 0
    traceback: str | None = field(default=None, repr=False)
    decision: str | None = None
    step_id: str | None = None

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
        }


@dataclass
class ConfirmationRequirement:
    """A step with ``requires_confirmation=True`` that waits, before it runs, for ``confirm()``
    or ``reject()`` (reject skips the step). Then ``workflow.continue_run(run_output)``."""

    step_name: str
    step_index: int | None = None
    confirmation_message: str | None = None
    confirmed: bool | None = None
    requires_confirmation: bool = True
    step_id: str | None = None
    wait_name: str | None = field(default=None, repr=False)

    def confirm(self) -> None:
        self.confirmed = True

    def reject(self, feedback: str | None = None) -> None:
        self.confirmed = False

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
            "requires_confirmation": self.requires_confirmation,
            "confirmation_message": self.confirmation_message,
            "confirmed": self.confirmed,
        }


# The step-workflow API calls the pre-step requirement a StepRequirement.
StepRequirement = ConfirmationRequirement
