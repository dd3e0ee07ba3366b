"""Read models the client returns: what the journal tells about executions."""

from __future__ import annotations

import dataclasses
import enum
import reprlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kitaru_nb.types import ANSWERED, DONE_STATUSES, AttemptStatus, CallStatus, ExecutionStatus, FailureOrigin


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
    #: who ran the body when it was not the flow's process: a Dask worker's address (None: here)
    worker: str | None = None

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """A value an execution produced: a checkpoint's output (``save_type="step_output"``) or a named
    value saved with ``kitaru.save`` (``save_type="manual"``). ``load()`` gives the value."""

    artifact_id: str
    name: str
    kind: str | None
    save_type: str
    producing_call: str | None
    metadata: dict[str, Any]
    preview: str | None = None
    tags: list[str] = field(default_factory=list)
    exec_id: str | None = None
    call_id: str | None = None
    _client: Any = field(default=None, repr=False, compare=False)

    def load(self) -> Any:
        """The stored value (loaded from the journal now)."""
        return self._client.artifacts._load(self.artifact_id)


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
    #: what the checkpoint logged with ``kitaru.log(...)``
    metadata: dict[str, Any] = field(default_factory=dict)
    #: the ``type`` label of ``@checkpoint(type=...)``
    checkpoint_type: str | None = None
    #: its output first (when it has one), then what it saved with ``kitaru.save``
    artifacts: list[ArtifactRef] = field(default_factory=list)
    #: for a call served from the cache (``run(cache=True)``): the execution its output came from
    cached_from: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds spent running its attempts (time paused for a decision does not count)."""
        if self.attempts:
            spans = [a.duration for a in self.attempts]
            return None if any(d is None for d in spans) else sum(d for d in spans if d is not None)
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()

    @property
    def paused_seconds(self) -> float:
        """Seconds between its attempts (paused for a decision, or waiting to be retried)."""
        if len(self.attempts) < 2:
            return 0.0
        total = 0.0
        for prev, nxt in zip(self.attempts, self.attempts[1:], strict=False):
            if prev.ended_at is not None:
                total += max(0.0, (nxt.started_at - prev.ended_at).total_seconds())
        return total

    @property
    def display_status(self) -> str:
        """The status word panel, sidebar and REST use: ``paused`` for a checkpoint paused on error."""
        return "paused" if self.paused else self.status.value


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
    #: the wait's id (``client.executions.input(exec_id, wait=wait_id, ...)`` takes it, or the name)
    wait_id: str | None = None

    @property
    def entered_waiting_at(self) -> datetime:
        return self.created_at


@dataclass(frozen=True, slots=True)
class WaitRecord:
    """A wait (or a step confirmation) at its position: what was asked, what was answered, by whom."""

    name: str
    index: int
    kind: str  # "wait" or "confirmation"
    status: str  # waiting, completed (answered), reused (answered in the replayed execution), failed
    question: str | None
    created_at: datetime
    answered_at: datetime | None = None
    answered_by: str | None = None
    answer_preview: str | None = None
    #: the wait's id (its position's call id)
    wait_id: str | None = None
    #: what the flow attached to the wait (``wait(metadata=...)``)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Execution:
    """One run of a flow (or a step workflow), as the journal tells it.

    ``checkpoints`` and ``waits`` are read from the journal on first access (a big execution's
    summary costs the same as a small one's); an execution read as a page (``glance``, ``page``,
    list rows) holds only that page (``partial``).
    """

    exec_id: str
    flow_name: str
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    inputs: dict[str, Any]
    failure: FailureInfo | None
    pending_waits: list[PendingWait]
    original_exec_id: str | None = None
    replay_from: str | None = None
    kind: str = "flow"
    result_preview: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    owner: dict[str, Any] | None = None
    #: counts from the journal: done, total, open_waits, paused
    summary: dict[str, int] | None = None
    #: what the flow body logged with ``kitaru.log(...)``
    metadata: dict[str, Any] = field(default_factory=dict)
    #: True when ``checkpoints`` / ``waits`` hold only a page of the positions (the rest is not read)
    partial: bool = False
    _checkpoints: list[CheckpointCall] | None = field(default=None, repr=False)
    _waits: list[WaitRecord] | None = field(default=None, repr=False)
    #: checkpoints paused on error, read with the summary
    _paused: list[CheckpointCall] | None = field(default=None, repr=False)
    _client: Any = field(default=None, repr=False, compare=False)

    @property
    def checkpoints(self) -> list[CheckpointCall]:
        """Every checkpoint call in position order (read from the journal on first access)."""
        if self._checkpoints is None:
            self._load()
        assert self._checkpoints is not None
        return self._checkpoints

    @property
    def waits(self) -> list[WaitRecord]:
        """Every wait and confirmation, answered or not (read with ``checkpoints``)."""
        if self._waits is None:
            self._load()
        assert self._waits is not None
        return self._waits

    def _load(self) -> None:
        if self._client is None:
            self._checkpoints, self._waits = self._checkpoints or [], self._waits or []
            return
        self._checkpoints, self._waits = self._client.executions._positions(self.exec_id)

    @property
    def flow_id(self) -> str:
        """The flow's identity: its name (a flow is known by name in a journal)."""
        return self.flow_name

    @property
    def stack_name(self) -> str:
        return "local"

    @property
    def pending_wait(self) -> PendingWait | None:
        """The wait this execution waits on (the first, when several are open)."""
        return self.pending_waits[0] if self.pending_waits else None

    @property
    def artifacts(self) -> list[ArtifactRef]:
        """Every checkpoint's artifacts, in position order."""
        return [a for c in self.checkpoints for a in c.artifacts]

    @property
    def status_reason(self) -> str | None:
        """Why the execution is in its status, in a sentence (None for running and completed)."""
        if self.status is ExecutionStatus.WAITING:
            if self.pending_waits:
                w = self.pending_waits[0]
                return f"waiting for input on wait {w.name!r}" + (f": {w.question}" if w.question else "")
            paused = self.pending_errors
            if paused:
                return f"checkpoint {paused[0].name!r} failed and waits for a retry or skip decision"
            return "waiting"
        if self.status is ExecutionStatus.FAILED and self.failure is not None:
            kind = f"{self.failure.exception_type}: " if self.failure.exception_type else ""
            return f"failed ({self.failure.origin.value}): {kind}{self.failure.message}"
        if self.status is ExecutionStatus.CANCELLED:
            return "cancelled"
        return None

    @property
    def short_id(self) -> str:
        return self.exec_id[:8]

    @property
    def pending_errors(self) -> list[CheckpointCall]:
        """Checkpoints paused on error, waiting for a retry or skip decision."""
        if self._paused is not None:
            return self._paused
        return [c for c in self.checkpoints if c.paused]

    @property
    def progress(self) -> tuple[int, int]:
        """(finished positions, known positions): checkpoints done (completed, reused, skipped) and waits
        answered, out of every checkpoint and wait reached so far."""
        if self.summary is not None:
            return self.summary["done"], self.summary["total"]
        done = sum(1 for c in self.checkpoints if c.status in DONE_STATUSES)
        done += sum(1 for w in self.waits if w.status in ANSWERED)
        return done, len(self.checkpoints) + len(self.waits)

    @property
    def waiting_for(self) -> str | None:
        """For a waiting execution: ``"input"`` (a wait or confirmation) or ``"decision"`` (a checkpoint
        paused on error)."""
        if self.status is not ExecutionStatus.WAITING:
            return None
        if self.summary is not None:
            if self.summary["open_waits"]:
                return "input"
            return "decision" if self.summary["paused"] else None
        if self.pending_waits:
            return "input"
        return "decision" if self.pending_errors else None

    def timeline(self) -> list[dict[str, Any]]:
        """Checkpoints and waits in position order, as JSON-ready rows."""
        rows: list[tuple[int, dict[str, Any]]] = []
        for c in self.checkpoints:
            rows.append(
                (
                    c.index,
                    {
                        "index": c.index,
                        "kind": "checkpoint",
                        "name": c.name,
                        "status": c.display_status,
                        "attempts": len(c.attempts),
                        "duration": c.duration,
                    },
                )
            )
        for w in self.waits:
            rows.append(
                (
                    w.index,
                    {
                        "index": w.index,
                        "kind": w.kind,
                        "name": w.name,
                        "status": w.status,
                        "question": w.question,
                        "answered_at": w.answered_at.isoformat() if w.answered_at else None,
                        "answered_by": w.answered_by,
                        "answer_preview": w.answer_preview,
                    },
                )
            )
        return [r for _, r in sorted(rows, key=lambda x: x[0])]

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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as values, times as ISO strings); the positions it holds (all of
        them, or the page of a ``partial`` execution)."""
        out = _json_safe(to_jsonable(self))
        out["checkpoints"] = _json_safe(to_jsonable(self.checkpoints))
        out["waits"] = _json_safe(to_jsonable(self.waits))
        out["short_id"] = self.short_id
        out["pending_errors"] = [c.name for c in self.pending_errors]
        for c, d in zip(self.checkpoints, out["checkpoints"], strict=True):
            d["duration"] = c.duration
            d["paused_seconds"] = c.paused_seconds
            d["display_status"] = c.display_status
            for a, ad in zip(c.attempts, d["attempts"], strict=True):
                ad["duration"] = a.duration
        done, total = self.progress
        out["progress"] = {"done": done, "total": total}
        out["waiting_for"] = self.waiting_for
        out["status_reason"] = self.status_reason
        out["timeline"] = self.timeline()
        out.pop("summary", None)
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
