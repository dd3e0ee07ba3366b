"""Read models the client returns: what the journal tells about executions."""

from __future__ import annotations

import dataclasses
import enum
import reprlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kitaru_nb.types import AttemptStatus, CallStatus, ExecutionStatus, FailureOrigin


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


@dataclass(frozen=True, slots=True)
class FailureInfo:
    """Why something failed: who is to blame, the exception and its traceback."""

    origin: FailureOrigin
    message: str
    exception_type: str | None = None
    traceback: str | None = None


@dataclass(frozen=True, slots=True)
class CheckpointAttempt:
    """One run of a checkpoint's code."""

    attempt_id: str
    number: int
    status: AttemptStatus
    started_at: datetime
    ended_at: datetime | None
    failure: FailureInfo | None

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class CheckpointCall:
    """One position of the durable call sequence that called a checkpoint."""

    call_id: str
    name: str
    index: int
    status: CallStatus
    started_at: datetime
    ended_at: datetime | None
    failure: FailureInfo | None
    attempts: list[CheckpointAttempt]
    original_call_id: str | None = None
    fingerprint: str | None = None
    output_preview: str | None = None
    paused: bool = False
    code_changed: bool | None = None

    @property
    def duration(self) -> float | None:
        """Seconds spent running its attempts (time paused for a decision does not count)."""
        if self.attempts:
            spans = [a.duration for a in self.attempts]
            return None if any(d is None for d in spans) else sum(d for d in spans if d is not None)
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class PendingWait:
    """A wait that asks a human and has no answer yet."""

    exec_id: str
    name: str
    index: int
    question: str | None
    schema: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    timeout: float | None = None


@dataclass(slots=True)
class Execution:
    """One run of a flow (or a step workflow), as the journal tells it."""

    exec_id: str
    flow_name: str
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    inputs: dict[str, Any]
    failure: FailureInfo | None
    checkpoints: list[CheckpointCall]
    pending_waits: list[PendingWait]
    original_exec_id: str | None = None
    replay_from: str | None = None
    kind: str = "flow"
    result_preview: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    _client: Any = field(default=None, repr=False, compare=False)

    @property
    def short_id(self) -> str:
        return self.exec_id[:8]

    @property
    def pending_errors(self) -> list[CheckpointCall]:
        """Checkpoints paused on error, waiting for a retry or skip decision."""
        return [c for c in self.checkpoints if c.paused]

    @property
    def result(self) -> Any:
        """The flow's return value (loaded from the journal on access)."""
        return self._client.executions._result(self.exec_id)

    def refresh(self) -> Execution:
        fresh: Execution = self._client.executions.get(self.exec_id)
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(fresh, f.name))
        return self

    def retry(self) -> Execution:
        out: Execution = self._client.executions.retry(self.exec_id)
        return out

    def resume(self) -> Execution:
        out: Execution = self._client.executions.resume(self.exec_id)
        return out

    def replay(self, *, from_: str, overrides: dict[str, Any] | None = None, **flow_inputs: Any) -> Execution:
        out: Execution = self._client.executions.replay(self.exec_id, from_=from_, overrides=overrides, **flow_inputs)
        return out

    def cancel(self) -> Execution:
        out: Execution = self._client.executions.cancel(self.exec_id)
        return out

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from kitaru_nb.widgets.display import mimebundle

        return mimebundle(self, include=include, exclude=exclude)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as values, times as ISO strings)."""
        out = _json_safe(to_jsonable(self))
        out["short_id"] = self.short_id
        out["pending_errors"] = [c.name for c in self.pending_errors]
        return out  # type: ignore[no-any-return]


def to_jsonable(obj: Any) -> Any:
    """Models -> JSON-ready values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj) if not f.name.startswith("_")
        }
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj


def _json_safe(value: Any) -> Any:
    """Make sure a value is JSON: containers element by element, other values as a short text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v) for v in value]
    return reprlib.repr(value)
