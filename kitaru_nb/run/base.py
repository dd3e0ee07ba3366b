"""The status of a step-workflow run, as the step-workflow API names it."""

from __future__ import annotations

import enum
import json
from typing import Any

from kitaru_nb.types import ExecutionStatus


class RunStatus(enum.StrEnum):
    """Where a workflow run stands (mapped from the execution's status in the journal)."""

    pending = "PENDING"
    running = "RUNNING"
    completed = "COMPLETED"
    paused = "PAUSED"
    cancelled = "CANCELLED"
    error = "ERROR"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_execution(cls, status: ExecutionStatus | str) -> RunStatus:
        return _FROM_EXECUTION[ExecutionStatus(status)]


_FROM_EXECUTION = {
    ExecutionStatus.RUNNING: RunStatus.running,
    ExecutionStatus.WAITING: RunStatus.paused,
    ExecutionStatus.COMPLETED: RunStatus.completed,
    ExecutionStatus.FAILED: RunStatus.error,
    ExecutionStatus.CANCELLED: RunStatus.cancelled,
}


def content_as_string(content: Any, **kwargs: Any) -> str:
    """A step or run content as text: strings as they are, pydantic models as JSON, else JSON."""
    if isinstance(content, str):
        return content
    dump_json = getattr(content, "model_dump_json", None)
    if callable(dump_json):
        return str(dump_json(**kwargs))
    return json.dumps(content, default=str, **kwargs)
