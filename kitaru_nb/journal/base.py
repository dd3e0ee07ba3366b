"""Journal rows and the storage protocol every journal implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from kitaru_nb.errors import KitaruBackendError
from kitaru_nb.models import FailureInfo
from kitaru_nb.types import AttemptStatus, CallKind, CallStatus, ExecutionStatus, FailureOrigin

#: a reused call (replay, cache) whose output is at least this big keeps no copy of it: its row holds
#: the output's format and preview, and readers take the bytes from the original call's row
SHARED_OUTPUT_BYTES = 64 * 1024


def call_id_at(exec_id: str, idx: int) -> str:
    """The id of the call at position ``idx`` of an execution: the execution's id, a dot, the position
    in 8 hex digits. Derived, never drawn: a journal finds a call from its id alone (the SQLite
    journal's row key is the execution's seq and the position), and an execution's calls and
    attempts are one range of ids (``calls_of``) in position order."""
    return f"{exec_id}.{idx:08x}"


#: the last position a call can have (8 hex digits; the SQLite journal keys a call by seq << 32 | position)
LAST_POSITION = 0xFFFFFFFF


def misnamed(call: CallRow) -> KitaruBackendError | None:
    """The error for a call row whose id is not ``call_id_at(exec_id, idx)`` or whose position is not
    in 0..LAST_POSITION (journals refuse it)."""
    if not 0 <= call.idx <= LAST_POSITION:
        return KitaruBackendError(f"call {call.call_id!r}: position {call.idx} is not in 0..{LAST_POSITION:,}")
    if call.call_id == f"{call.exec_id}.{call.idx:08x}":
        return None
    return KitaruBackendError(
        f"call {call.call_id!r} is not named by its position: a call's id is "
        f"call_id_at(exec_id, idx) = {call_id_at(call.exec_id, call.idx)!r}"
    )


def calls_of(exec_id: str) -> tuple[str, str]:
    """The range of call ids ``[low, high)`` an execution's calls have (execution ids are hex digits)."""
    return f"{exec_id}.", f"{exec_id}/"


def shared(value: StoredValue | None) -> StoredValue | None:
    """The output a reused call stores: the value itself, or (a big one) its format and preview only."""
    if value is None or value.data is None or len(value.data) < SHARED_OUTPUT_BYTES:
        return value
    return StoredValue(value.format, value.preview, None)


@dataclass(slots=True)
class StoredValue:
    """A serialized value: its format, a text preview and the bytes (None when not loaded)."""

    format: str
    preview: str
    data: bytes | None = None


class Completed(NamedTuple):
    """A call whose current attempt completed, for ``Journal.complete_calls`` (what ``finish_call``
    records with ``status=COMPLETED``)."""

    call_id: str
    attempt_id: str
    ended_at: float
    output: StoredValue | None
    worker: str | None = None


@dataclass(slots=True)
class ExecutionRow:
    exec_id: str
    flow_name: str
    status: ExecutionStatus
    started_at: float
    kind: str = "flow"
    ended_at: float | None = None
    owner_pid: int | None = None
    original_exec_id: str | None = None
    replay_from: str | None = None
    failure: FailureInfo | None = None
    inputs: StoredValue | None = None
    result: StoredValue | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    owner: dict[str, Any] | None = None
    #: what the flow body logged with ``kitaru.log(...)``
    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class CallRow:
    call_id: str
    exec_id: str
    idx: int
    kind: CallKind
    name: str
    status: CallStatus
    started_at: float
    ended_at: float | None = None
    fingerprint: str | None = None
    original_call_id: str | None = None
    failure: FailureInfo | None = None
    paused: bool = False
    wait_schema: str | None = None
    wait_question: str | None = None
    wait_metadata: str | None = None
    wait_timeout: float | None = None
    output: StoredValue | None = None
    answered_by: str | None = None
    #: what the checkpoint logged with ``kitaru.log(...)``
    metadata: dict[str, Any] | None = None
    #: the checkpoint's ``type`` label (``@checkpoint(type="llm_call")``)
    checkpoint_type: str | None = None
    #: hash of the call's inputs, recorded when the call may be served from (or serve) the cache
    input_key: str | None = None
    #: the execution a cached call's output came from
    source_exec_id: str | None = None
    #: the checkpoint a call named with ``id=`` ran (None: the checkpoint is its name)
    checkpoint_name: str | None = None
    #: journal-internal: the id of a completed first attempt kept in the call's own row (the SQLite
    #: journal writes a checkpoint done in one write as one row; readers see the attempt as usual)
    first_attempt: str | None = None


@dataclass(slots=True)
class AttemptRow:
    attempt_id: str
    call_id: str
    exec_id: str
    number: int
    status: AttemptStatus
    started_at: float
    ended_at: float | None = None
    failure: FailureInfo | None = None
    #: who ran the body, when not this process (a Dask worker's address)
    worker: str | None = None


@dataclass(slots=True)
class ArtifactRow:
    """A named value a checkpoint saved with ``kitaru.save(...)``."""

    artifact_id: str
    exec_id: str
    call_id: str
    name: str
    kind: str
    value: StoredValue
    created_at: float
    attempt_id: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RequestRow:
    """Something recorded for the kernel that owns a flow to carry out (a replay, a retry)."""

    request_id: str
    exec_id: str
    flow_name: str
    kind: str
    status: str
    created_at: float
    params: dict[str, Any] = field(default_factory=dict)
    created_by: str | None = None
    taken_by: str | None = None
    ended_at: float | None = None
    message: str | None = None
    result_exec_id: str | None = None


def merge_metadata(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Logged metadata after one more ``kitaru.log(...)``: dict values merge, others are replaced."""
    out = dict(old or {})
    for key, value in new.items():
        prev = out.get(key)
        out[key] = {**prev, **value} if isinstance(prev, dict) and isinstance(value, dict) else value
    return out


def interrupted_failure(pid: int | None) -> FailureInfo:
    """What a call whose process ended mid-attempt failed of (set when the journal is next opened)."""
    who = f"process {pid}" if pid is not None else "the process that ran it"
    return FailureInfo(
        FailureOrigin.RUNTIME,
        f"interrupted: {who} ended before the checkpoint finished; resume the execution to run it again",
        "Interrupted",
    )


class Journal(Protocol):
    """What the engine and the client need from storage.

    Every method is one atomic write or one consistent read.
    """

    location: str

    def create_execution(self, row: ExecutionRow) -> None: ...

    def get_execution(self, exec_id: str, *, with_values: bool = True, with_result: bool = True) -> ExecutionRow | None:
        """One execution; ``with_values`` loads the stored inputs (and, unless ``with_result`` is
        False, the result) bytes, which may be large."""
        ...

    def find_exec_ids(self, prefix: str, limit: int = 2) -> list[str]: ...

    def list_executions(
        self, *, flow: str | None = None, status: ExecutionStatus | None = None, limit: int = 50, offset: int = 0
    ) -> list[ExecutionRow]: ...

    def count_executions(self, *, flow: str | None = None, status: ExecutionStatus | None = None) -> int: ...

    def set_execution_status(
        self,
        exec_id: str,
        status: ExecutionStatus,
        *,
        ended_at: float | None = None,
        failure: FailureInfo | None = None,
        result: StoredValue | None = None,
        owner_pid: int | None = None,
        owner: dict[str, Any] | None = None,
        expect: Sequence[ExecutionStatus] | None = None,
    ) -> bool:
        """Set status (and clear or set failure/result); False when ``expect`` did not match.

        ``owner_pid`` / ``owner`` (host, pid, notebook, ...) are set when given, kept otherwise."""
        ...

    def set_execution_meta(self, exec_id: str, meta: dict[str, Any]) -> None: ...

    def insert_call(self, call: CallRow, attempt: AttemptRow | None = None) -> None: ...

    def insert_calls(self, calls: Sequence[CallRow], attempts: Sequence[AttemptRow] = ()) -> None:
        """Insert ``calls`` and ``attempts`` in one transaction (all or none)."""
        ...

    def restart_call(self, call_id: str, attempt: AttemptRow, *, fingerprint: str | None = None) -> None:
        """Mark a failed/interrupted call running again and append its next attempt.

        ``fingerprint``: the code that runs now (the output will come from it)."""
        ...

    def start_attempt(self, attempt: AttemptRow) -> None: ...

    def fail_attempt(
        self, attempt_id: str, *, call_id: str, ended_at: float, failure: FailureInfo, worker: str | None = None
    ) -> None:
        """End an attempt as failed; ``worker``: who ran its body (a Dask worker), kept when None."""
        ...

    def finish_call(
        self,
        call_id: str,
        attempt_id: str | None,
        *,
        status: CallStatus,
        ended_at: float,
        output: StoredValue | None = None,
        failure: FailureInfo | None = None,
        paused: bool = False,
        worker: str | None = None,
    ) -> None:
        """End a call (and its current attempt, if any) in one write; ``worker``: who ran the
        attempt's body (a Dask worker), kept when None."""
        ...

    def complete_calls(self, done: Sequence[Completed]) -> None:
        """Record many calls completed (each with its current attempt) in one transaction, all or none."""
        ...

    def answer_wait(
        self, call_id: str, value: StoredValue, *, answered_at: float, answered_by: str | None = None
    ) -> bool:
        """Record a wait answer (and where it came from); False when the wait was no longer pending."""
        ...

    def reopen_wait(self, call_id: str) -> bool:
        """An aborted (failed) wait asks again: status waiting, no end, no failure. False otherwise."""
        ...

    def decide_call(self, call_id: str, *, status: CallStatus, ended_at: float | None) -> bool:
        """Apply a decision to a paused call (retry: status running; skip: status skipped)."""
        ...

    def load_calls(self, exec_id: str, *, with_values: bool = True) -> list[CallRow]: ...

    def get_call(self, call_id: str, *, with_values: bool = True) -> CallRow | None: ...

    def load_recorded(self, exec_id: str) -> list[CallRow]:
        """What a resume needs of every position, in position order: ``call_id``, ``idx``, ``kind``,
        ``name``, ``status``, ``paused``, ``failure`` and the stored output with its bytes (other fields
        are left at their defaults): the one bulk read of a resume, kept lean."""
        ...

    def find_cached(self, name: str, fingerprint: str, input_key: str) -> CallRow | None:
        """The newest completed checkpoint call of this name, code and inputs (with its output)."""
        ...

    def log_metadata(self, exec_id: str, call_id: str | None, metadata: dict[str, Any]) -> None:
        """Merge ``metadata`` into a call's (or, with ``call_id`` None, the execution's) logged
        metadata: a key whose old and new values are both dicts gets them merged, any other key
        takes the new value."""
        ...

    def save_artifact(self, row: ArtifactRow) -> None:
        """Store a named value; it replaces one of the same name saved earlier by the same call."""
        ...

    def list_artifacts(
        self, *, exec_id: str | None = None, call_ids: Sequence[str] = (), with_values: bool = False
    ) -> list[ArtifactRow]:
        """Artifacts saved in execution ``exec_id`` and those saved by the calls ``call_ids`` (the
        originals of reused calls live in other executions), oldest first."""
        ...

    def get_artifact(self, artifact_id: str) -> ArtifactRow | None:
        """One artifact with its stored value."""
        ...

    def list_attempts(self, exec_id: str) -> list[AttemptRow]: ...

    def load_page(
        self, exec_id: str, *, after: int = -1, limit: int = 100, newest_first: bool = False
    ) -> tuple[list[CallRow], list[AttemptRow]]:
        """Up to ``limit`` positions after position ``after`` (``newest_first``: the last ones before
        ``after``, or the last ones when ``after`` is -1), in position order, without stored values,
        with their attempts: a read whose cost does not grow with the execution's size."""
        ...

    def execution_summary(self, exec_id: str) -> tuple[dict[str, int], list[CallRow], list[AttemptRow]]:
        """The counts of ``call_summaries`` for one execution, and its positions that are not done
        (running, failed, paused, waiting for an answer) with their attempts; the done positions are
        not read, so the cost stays flat as an execution grows."""
        ...

    def load_tail(self, exec_id: str, limit: int) -> tuple[list[CallRow], list[AttemptRow]]:
        """The last ``limit`` positions (in position order, without stored values) and their attempts:
        what a live view of a running execution shows, at a cost that does not grow with its size."""
        ...

    def recover_interrupted(self, is_alive: Callable[[int, int | None], bool]) -> int:
        """Mark running attempts whose owning process is gone as interrupted.

        ``is_alive(pid, pid_start)``: ``pid_start`` is the start time recorded with the owner (None
        when unknown), so a pid reused by another process does not count as the owner.

        Running attempts belong to running executions (or ones cancelled while a checkpoint
        ran): only those are looked at, so recovery stays cheap on a large journal."""
        ...

    def ready_to_continue(self, flow_names: Sequence[str]) -> list[ExecutionRow]:
        """Waiting executions of these flows with every wait answered and every paused checkpoint
        decided: what a kernel that defines the flow may continue now."""
        ...

    def last_completed_size(self, flow_name: str) -> int | None:
        """How many positions the flow's newest completed execution had (None: none completed)."""
        ...

    def call_summaries(self, exec_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Per execution, counts of its positions by state: ``done`` (completed, reused, skipped, answered),
        ``total``, ``open_waits``, ``paused``."""
        ...

    def add_request(self, row: RequestRow) -> None: ...

    def list_requests(
        self, *, exec_id: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[RequestRow]:
        """Requests, oldest first."""
        ...

    def take_request(self, request_id: str, taken_by: str) -> bool:
        """Mark a pending request taken by ``taken_by``; False when another took it first."""
        ...

    def finish_request(
        self, request_id: str, *, status: str, message: str | None = None, result_exec_id: str | None = None
    ) -> None: ...

    def delete_executions(self, exec_ids: Sequence[str]) -> int:
        """Remove these executions with their calls, attempts, requests and saved artifacts in one
        transaction (artifacts that calls of other executions reuse stay); returns how many were removed."""
        ...

    def prunable(self, *, before: float, statuses: Sequence[ExecutionStatus], limit: int = 10_000) -> list[str]:
        """Ids of executions in one of ``statuses`` that ended (or, unended, started) before ``before``,
        oldest first."""
        ...

    def compact(self) -> None:
        """Give the space of removed rows back to the file system."""
        ...

    def change_token(self) -> int:
        """A number that changes whenever another connection commits (cheap to poll)."""
        ...

    def close(self) -> None: ...

    def search_executions(
        self,
        *,
        flow: str | None = None,
        flow_contains: str | None = None,
        status: ExecutionStatus | None = None,
        waiting_for: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[ExecutionRow], int]:
        """Executions newest first whose flow name is ``flow``, or contains ``flow_contains``
        (case-insensitive), and whose status is ``status``; ``waiting_for`` keeps waiting executions that wait for
        ``"input"`` (an unanswered wait or confirmation) or a ``"decision"`` (a checkpoint paused on
        error). Returns the page and how many match in all."""
        ...

    def count_waiting_for_human(self) -> dict[str, int]:
        """``{"input": n, "decision": m}``: waiting executions that wait for an answer, and those
        with a checkpoint paused on error."""
        ...
