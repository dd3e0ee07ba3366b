"""Status enums, failure origins, ids and the retry policy value object."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ExecutionStatus(enum.StrEnum):
    """Where an execution stands."""

    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


class CallStatus(enum.StrEnum):
    """Status of one checkpoint call (or wait) in the durable call sequence."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    REUSED = "reused"
    WAITING = "waiting"


class AttemptStatus(enum.StrEnum):
    """Status of one attempt of a checkpoint call."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


#: call statuses that count as done (progress, replay): ran, reused from another execution, skipped
DONE_STATUSES = frozenset({CallStatus.COMPLETED, CallStatus.REUSED, CallStatus.SKIPPED})
#: call statuses whose output (or answer) a resume returns without running
ANSWERED = frozenset({CallStatus.COMPLETED, CallStatus.REUSED})


class FailureOrigin(enum.StrEnum):
    """Who is to blame for a failure."""

    USER_CODE = "user_code"
    RUNTIME = "runtime"
    BACKEND = "backend"
    DIVERGENCE = "divergence"
    UNKNOWN = "unknown"


class CallKind(enum.StrEnum):
    """What sits at a position of the durable call sequence."""

    CHECKPOINT = "checkpoint"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a checkpoint is retried.

    ``retries`` extra attempts after the first; the delay before retry ``n``
    (1-based) is ``retry_delay * backoff ** (n - 1)``.
    """

    retries: int = 0
    retry_delay: float = 0.0
    backoff: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries must be an int >= 0, got {self.retries!r}")
        if not isinstance(self.retry_delay, (int, float)) or self.retry_delay < 0:
            raise ValueError(f"retry_delay must be a number >= 0 (seconds), got {self.retry_delay!r}")
        if not isinstance(self.backoff, (int, float)) or self.backoff < 1:
            raise ValueError(f"backoff must be a number >= 1, got {self.backoff!r}")

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    def delay_before(self, retry_number: int) -> float:
        """Seconds to sleep before retry ``retry_number`` (1-based)."""
        return float(self.retry_delay) * float(self.backoff) ** (retry_number - 1)
