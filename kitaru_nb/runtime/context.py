"""The durable context of a running flow: which execution, which position, what was recorded.

Step identity is the position in the execution's durable call sequence, kept in a
ContextVar; a name check at each recorded position catches divergence.
"""

from __future__ import annotations

import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kitaru_nb.journal.base import CallRow, Journal
from kitaru_nb.journal.base import call_id_at as call_id_at  # the engine's: the faces name calls by it
from kitaru_nb.types import ExecutionStatus


class FlowPaused(BaseException):
    """The flow stops here until a human answers (a wait, or a decision after an error).

    A BaseException so that ``except Exception:`` in user code cannot swallow it.
    """


class FlowDiverged(BaseException):
    """The code called something other than what the journal recorded at a position."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FlowCancelled(BaseException):
    """The execution was cancelled while it ran: the flow stops before its next call.

    A BaseException, like FlowPaused, so that user code cannot swallow it.
    """


# executions cancelled by this process (its own journal connection does not see its own
# commits as changes, so the change token alone would miss them)
cancelled_here: set[str] = set()


class Scope(NamedTuple):
    """The checkpoint attempt whose body runs in a context: what ``kitaru.log`` / ``save`` attach to."""

    name: str
    call_id: str
    attempt_id: str
    position: int


#: seconds between two looks at the journal for a cancel from another process (before each call)
CANCEL_CHECK = 0.005

# the checkpoint attempt whose body runs in this context (each thread of a concurrent fan-out has its own)
_scope: ContextVar[Scope | None] = ContextVar("kitaru_nb_scope", default=None)


@dataclass(slots=True)
class DurableRun:
    journal: Journal
    exec_id: str
    flow_name: str
    recorded: dict[int, CallRow]
    next_index: int = 0
    wait_names: set[str] = field(default_factory=set)
    attempt_counts: dict[str, int] | None = None
    seen_token: int | None = None
    #: when the journal was last asked whether the execution was cancelled (time.monotonic)
    checked_at: float = 0.0
    last_call: tuple[int, str] | None = None
    #: checkpoint calls submitted to run concurrently (``.submit`` / ``.map`` / ``.product``)
    pending: list[Any] = field(default_factory=list)
    #: ``run(cache=True)``: checkpoints are served from earlier executions (None: not looked up yet)
    cache: bool | None = None

    def cache_enabled(self) -> bool:
        """Whether the execution was started with ``cache=True`` (kept in its meta across resumes)."""
        if self.cache is None:
            row = self.journal.get_execution(self.exec_id, with_values=False)
            self.cache = bool(row is not None and row.meta.get("cache"))
        return self.cache

    @property
    def in_checkpoint(self) -> str | None:
        """The checkpoint whose body runs in the current context (None in the flow body)."""
        scope = _scope.get()
        return None if scope is None else scope.name

    @property
    def scope(self) -> Scope | None:
        """The checkpoint attempt whose body runs in the current context (None in the flow body)."""
        return _scope.get()

    @scope.setter
    def scope(self, scope: Scope | None) -> None:
        _scope.set(scope)

    def join_pending(self) -> None:
        """Wait for every submitted call to end (their outcomes are in the journal and their futures)."""
        import concurrent.futures

        while self.pending:
            waiting, self.pending = self.pending, []
            concurrent.futures.wait(waiting)

    def check_cancelled(self) -> None:
        """Raise FlowCancelled when the execution was cancelled meanwhile.

        Cheap: the journal is asked at most every ``CANCEL_CHECK`` seconds (a cancel from this process
        is seen at once), and the status is read only when the journal changed since the last look.
        """
        if self.exec_id not in cancelled_here:
            t = time.monotonic()
            if t - self.checked_at < CANCEL_CHECK:
                return
            self.checked_at = t
        token = self.journal.change_token()
        if token == self.seen_token and self.exec_id not in cancelled_here:
            return
        self.seen_token = token
        row = self.journal.get_execution(self.exec_id, with_values=False)
        if row is not None and row.status == ExecutionStatus.CANCELLED:
            raise FlowCancelled(f"execution {self.exec_id[:8]} was cancelled")

    def take_index(self) -> int:
        idx = self.next_index
        self.next_index = idx + 1
        return idx

    def attempts_made(self, call_id: str) -> int:
        """How many attempts a recorded call already has (loaded once, only when a call re-runs)."""
        if self.attempt_counts is None:
            counts: dict[str, int] = {}
            for a in self.journal.list_attempts(self.exec_id):
                counts[a.call_id] = max(counts.get(a.call_id, 0), a.number)
            self.attempt_counts = counts
        return self.attempt_counts.get(call_id, 0)


# Observers of running flows (the live panel). Each gets (event, exec_id, index, name);
# events: "call_started", "call_ended", "drive_ended" (index -1, name = the new status).
listeners: list[Callable[[str, str, int, str], None]] = []


_notify_lock = threading.RLock()


def notify(run: DurableRun | None, event: str, idx: int, name: str, exec_id: str | None = None) -> None:
    target = exec_id if exec_id is not None else (run.exec_id if run is not None else "")
    # calls submitted concurrently end in worker threads: observers hear one event at a time
    with _notify_lock:
        for fn in list(listeners):
            try:
                fn(event, target, idx, name)
            except Exception:  # a broken display must never break a flow
                pass


current_run: ContextVar[DurableRun | None] = ContextVar("kitaru_nb_current_run", default=None)


class Recorder:
    """What ``current_run`` holds while a checkpoint body runs away from its flow (a worker process):
    ``kitaru.save`` / ``kitaru.log`` record here, and the flow's process journals the records with
    the body's outcome (``artifacts.apply_records``)."""

    def __init__(self) -> None:
        self.records: list[tuple[Any, ...]] = []

    def record(self, entry: tuple[Any, ...]) -> None:
        self.records.append(entry)


_ids = random.Random()  # noqa: S311 - ids, not secrets; seeded from os.urandom, again in a forked child
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.seed)


def new_id() -> str:
    """32 random hex digits (128 bits from a generator seeded by ``os.urandom``): unlike a call to
    ``os.urandom`` per id, it never releases the GIL, which threads of a fan-out contend for."""
    return f"{_ids.getrandbits(128):032x}"


def ordered_id() -> str:
    """32 hex digits that sort by creation time: 12 of milliseconds since the epoch, then 80 random
    bits. The ids of artifacts: each new row's key lands at the same end of its table's id index (one
    page, already in the cache, rewritten per commit) instead of on a random page of an index that
    outgrows the cache as the journal grows. Executions keep ``new_id`` (their short prefixes are
    shown and typed, so they must differ); calls are named by their position (``journal.base.call_id_at``)."""
    return f"{time.time_ns() // 1_000_000:012x}{_ids.getrandbits(80):020x}"


now = time.time


def describe(kind: str, name: str) -> str:
    return f"wait {name!r}" if kind == "wait" else f"checkpoint {name!r}"


def diverged(idx: int, rec: CallRow, kind: str, name: str) -> FlowDiverged:
    return FlowDiverged(
        f"divergence at position {idx}: the journal recorded {describe(rec.kind, rec.name)} there, "
        f"but the code now called {describe(kind, name)}. Replay from an earlier checkpoint, or restore "
        "the code that made the recorded calls."
    )


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CELL_MARK = "\x00cell:"


def cell_numbers() -> dict[str, int]:
    """IPython's map from a cell's compiled file name to its execution count (``In[n]``)."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None) if ipython else None
    shell = get() if get else None
    mapping = getattr(getattr(shell, "compile", None), "_filename_map", None)
    return mapping if isinstance(mapping, dict) else {}


def _tidy(te: Any, cells: dict[str, int], seen: set[int]) -> None:
    import traceback

    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    frames = []
    for f in te.stack:
        if f.filename.startswith(_PACKAGE_DIR + os.sep):
            continue  # kitaru_nb's own frames say nothing about the user's code
        if f.filename in cells:
            f.filename = f"{_CELL_MARK}{cells[f.filename]}"
        frames.append(f)
    te.stack = traceback.StackSummary.from_list(frames)
    _tidy(te.__cause__, cells, seen)
    _tidy(te.__context__, cells, seen)


def format_traceback(exc: BaseException) -> str:
    """The traceback as the user reads it: notebook cells named as IPython names them
    (``Cell In[3], line 12``), kitaru_nb's own frames left out."""
    import traceback

    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    _tidy(te, cell_numbers(), set())
    text = "".join(te.format())
    return re.sub(r'File "\x00cell:(\d+)", line (\d+)', r"Cell In[\1], line \2", text)


def type_name(obj: Any) -> str:
    t = obj if isinstance(obj, type) else type(obj)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
