"""KitaruClient: read and steer executions without running them yourself."""

from __future__ import annotations

import builtins
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from kitaru_nb import serde
from kitaru_nb.config import resolve_journal
from kitaru_nb.errors import (
    KitaruRuntimeError,
    KitaruStateError,
    KitaruUsageError,
)
from kitaru_nb.journal.base import ArtifactRow, AttemptRow, CallRow, ExecutionRow, Journal, RequestRow, StoredValue
from kitaru_nb.models import (
    ArtifactRef,
    CheckpointAttempt,
    CheckpointCall,
    Execution,
    FailureInfo,
    PendingWait,
    WaitRecord,
)
from kitaru_nb.runtime import continuation, engine, owner, registry
from kitaru_nb.runtime.context import new_id
from kitaru_nb.runtime.watcher import watcher
from kitaru_nb.types import ANSWERED, AttemptStatus, CallKind, CallStatus, ExecutionStatus, FailureOrigin

_STATUSES = {s.value for s in ExecutionStatus}


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def _ts_req(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _attempt_model(a: AttemptRow) -> CheckpointAttempt:
    return CheckpointAttempt(
        attempt_id=a.attempt_id,
        number=a.number,
        status=a.status if isinstance(a.status, AttemptStatus) else AttemptStatus(a.status),
        started_at=_ts_req(a.started_at),
        ended_at=_ts(a.ended_at),
        failure=a.failure,
        worker=a.worker,
    )


OUTPUT_SUFFIX = ":output"


def _output_ref(c: CallRow, client: Any) -> ArtifactRef:
    """A checkpoint's stored output as an artifact (id: the call id + ``:output``)."""
    return ArtifactRef(
        artifact_id=c.call_id + OUTPUT_SUFFIX,
        name="output",
        kind="output",
        save_type="step_output",
        producing_call=c.name,
        metadata={},
        preview=c.output.preview if c.output else None,
        exec_id=c.exec_id,
        call_id=c.call_id,
        _client=client,
    )


def _saved_ref(a: ArtifactRow, producing_call: str | None, client: Any) -> ArtifactRef:
    return ArtifactRef(
        artifact_id=a.artifact_id,
        name=a.name,
        kind=a.kind,
        save_type="manual",
        producing_call=producing_call,
        metadata={"kitaru_artifact_type": a.kind},
        preview=a.value.preview,
        tags=list(a.tags),
        exec_id=a.exec_id,
        call_id=a.call_id,
        _client=client,
    )


def _call_model(
    c: CallRow, attempts: list[CheckpointAttempt], artifacts: list[ArtifactRef] | None = None
) -> CheckpointCall:
    current = registry.checkpoint_for_call(c)
    changed = None if current is None or c.fingerprint is None else current.fingerprint != c.fingerprint
    return CheckpointCall(
        call_id=c.call_id,
        name=c.name,
        index=c.idx,
        status=c.status if isinstance(c.status, CallStatus) else CallStatus(c.status),
        started_at=_ts_req(c.started_at),
        ended_at=_ts(c.ended_at),
        failure=c.failure,
        attempts=attempts,
        original_call_id=c.original_call_id,
        fingerprint=c.fingerprint,
        output_preview=c.output.preview if c.output else None,
        paused=c.paused,
        code_changed=changed,
        metadata=c.metadata or {},
        checkpoint_type=c.checkpoint_type,
        artifacts=artifacts or [],
        cached_from=c.source_exec_id,
    )


def _wait_model(c: CallRow) -> PendingWait:
    return PendingWait(
        exec_id=c.exec_id,
        name=c.name,
        index=c.idx,
        question=c.wait_question,
        schema=json.loads(c.wait_schema) if c.wait_schema else {},
        metadata=json.loads(c.wait_metadata) if c.wait_metadata else {},
        created_at=_ts_req(c.started_at),
        timeout=c.wait_timeout,
        wait_id=c.call_id,
    )


def _wait_record(c: CallRow) -> WaitRecord:
    kind = "wait"
    metadata: dict[str, Any] = {}
    if c.wait_metadata:
        try:
            loaded = json.loads(c.wait_metadata)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            metadata = loaded
            if loaded.get("kitaru_kind") == "confirmation":
                kind = "confirmation"
    answered = c.status in ANSWERED
    return WaitRecord(
        name=c.name,
        index=c.idx,
        kind=kind,
        status=c.status,
        question=c.wait_question,
        created_at=_ts_req(c.started_at),
        answered_at=_ts(c.ended_at) if answered else None,
        answered_by=c.answered_by if answered else None,
        answer_preview=c.output.preview if answered and c.output else None,
        wait_id=c.call_id,
        metadata=metadata,
    )


class KitaruClient:
    """Reads the journal and steers executions: ``KitaruClient(db=None).executions``."""

    def __init__(self, db: Any = None, *, unpickle: bool = True):
        self.journal: Journal = resolve_journal(db)
        # unpickle=False: values stored as pickle are shown by their preview only (servers use this)
        self.unpickle = unpickle
        self.executions = Executions(self)
        self.artifacts = Artifacts(self)
        # in a notebook kernel: executions display as panels, answers given elsewhere are carried out
        watcher.ensure_started()

    def compact(self) -> None:
        """Give the space of deleted executions back to the file system (SQLite ``VACUUM``; it rewrites
        the file, so it takes a while on a big journal and waits for other writers)."""
        self.journal.compact()


class Executions:
    """``client.executions``: queries and control verbs."""

    def __init__(self, client: KitaruClient):
        self._client = client
        self._j = client.journal

    # -- reading ------------------------------------------------------------------------
    def _row(self, exec_id: str, *, with_values: bool = False, with_result: bool = True) -> ExecutionRow:
        if not isinstance(exec_id, str) or not exec_id:
            raise KitaruUsageError(f"exec_id must be a non-empty str, got {exec_id!r}")
        row = self._j.get_execution(exec_id, with_values=with_values, with_result=with_result)
        if row is None and len(exec_id) < 32:
            found = self._j.find_exec_ids(exec_id)
            if len(found) == 1:
                row = self._j.get_execution(found[0], with_values=with_values, with_result=with_result)
            elif len(found) > 1:
                raise KitaruUsageError(f"exec id prefix {exec_id!r} matches several executions; give more characters")
        if row is None:
            raise KitaruUsageError(
                f"no execution {exec_id!r} in the journal {self._j.location}; list them with "
                "KitaruClient().executions.list()"
            )
        return row

    def _calls(
        self, exec_id: str, calls: list[CallRow], attempts: list[AttemptRow], *, whole: bool
    ) -> tuple[list[CheckpointCall], list[WaitRecord]]:
        """Models of these positions: checkpoint calls (with attempts and artifacts) and wait records."""
        by_call: dict[str, list[CheckpointAttempt]] = {}
        for a in attempts:
            by_call.setdefault(a.call_id, []).append(_attempt_model(a))
        for lst in by_call.values():
            lst.sort(key=lambda a: a.number)
        artifacts = self._client.artifacts._by_call(exec_id, calls, whole=whole) if calls else {}
        checkpoints = [
            _call_model(c, by_call.get(c.call_id, []), artifacts.get(c.call_id))
            for c in calls
            if c.kind == CallKind.CHECKPOINT
        ]
        return checkpoints, [_wait_record(c) for c in calls if c.kind == CallKind.WAIT]

    def _positions(self, exec_id: str) -> tuple[list[CheckpointCall], list[WaitRecord]]:
        """Every position of an execution (what ``Execution.checkpoints`` reads on first access)."""
        calls = self._j.load_calls(exec_id, with_values=False)
        attempts = self._j.list_attempts(exec_id) if calls else []
        return self._calls(exec_id, calls, attempts, whole=True)

    def _model(
        self,
        row: ExecutionRow,
        *,
        summary: dict[str, int] | None,
        open_calls: list[CallRow],
        open_attempts: list[AttemptRow] | None = None,
        page: tuple[list[CallRow], list[AttemptRow]] | None = None,
    ) -> Execution:
        """An execution: its row, counts and open positions (pending waits, paused checkpoints); the
        other positions are read on access, or are the given ``page`` (a ``partial`` execution)."""
        waits = [_wait_model(c) for c in open_calls if c.kind == CallKind.WAIT and c.status == CallStatus.WAITING]
        paused_rows = [c for c in open_calls if c.paused]
        paused: list[CheckpointCall] | None = None
        if open_attempts is not None:
            paused = self._calls(row.exec_id, paused_rows, open_attempts, whole=False)[0] if paused_rows else []
        checkpoints: list[CheckpointCall] | None = None
        records: list[WaitRecord] | None = None
        if page is not None:
            checkpoints, records = self._calls(row.exec_id, page[0], page[1], whole=False)
        inputs: dict[str, Any] = {}
        if row.inputs is not None:
            try:
                if row.inputs.data is None:
                    inputs = {"preview": row.inputs.preview}
                elif self._client.unpickle:
                    inputs = engine.load_inputs(row)
                else:
                    loaded = serde.loads_json_only(row.inputs.format, row.inputs.data)
                    inputs = loaded if isinstance(loaded, dict) else {"preview": row.inputs.preview}
            except Exception:
                inputs = {"preview": row.inputs.preview}
        return Execution(
            exec_id=row.exec_id,
            flow_name=row.flow_name,
            status=row.status if isinstance(row.status, ExecutionStatus) else ExecutionStatus(row.status),
            started_at=_ts_req(row.started_at),
            ended_at=_ts(row.ended_at),
            inputs=inputs,
            failure=row.failure,
            pending_waits=waits,
            original_exec_id=row.original_exec_id,
            replay_from=row.replay_from,
            kind=row.kind,
            result_preview=row.result.preview if row.result else None,
            meta=row.meta,
            owner=row.owner,
            summary=summary,
            metadata=row.metadata or {},
            partial=page is not None,
            _checkpoints=checkpoints,
            _waits=records,
            _paused=paused,
            _client=self._client,
        )

    def get(self, exec_id: str) -> Execution:
        """One execution: status, failure, counts, pending waits and paused checkpoints, read at a cost
        that does not grow with its size; ``checkpoints`` (with attempts and artifacts) and ``waits``
        are read on first access."""
        # the inputs are shown; the result (maybe large) is loaded only on access
        row = self._row(exec_id, with_values=True, with_result=False)
        summary, open_calls, open_attempts = self._j.execution_summary(row.exec_id)
        return self._model(row, summary=summary, open_calls=open_calls, open_attempts=open_attempts)

    def glance(self, exec_id: str, *, last: int = 25) -> Execution:
        """An execution as a live view shows it: its counts (``progress``, ``summary``), its last ``last``
        positions and those not done (paused, failed, waiting) with their attempts (``partial``), at a
        cost that does not grow with its size. Use ``get`` for the complete execution, ``page`` to read
        it page by page."""
        row = self._row(exec_id, with_values=True, with_result=False)
        summary, open_calls, open_attempts = self._j.execution_summary(row.exec_id)
        calls, attempts = self._j.load_page(row.exec_id, limit=last, newest_first=True) if last > 0 else ([], [])
        # the positions not done (paused, failed, waiting) belong in every view, however far back
        seen = {c.call_id for c in calls}
        earlier = [c for c in open_calls if c.call_id not in seen]
        if earlier:
            ids = {c.call_id for c in earlier}
            calls = sorted([*earlier, *calls], key=lambda c: c.idx)
            attempts = [*attempts, *(a for a in open_attempts if a.call_id in ids)]
        return self._model(
            row, summary=summary, open_calls=open_calls, open_attempts=open_attempts, page=(calls, attempts)
        )

    def page(self, exec_id: str, *, after: int = -1, limit: int = 100, newest_first: bool = False) -> Execution:
        """The execution with only the positions after position ``after`` (at most ``limit``, in
        position order; ``newest_first``: the last ones before ``after``) in ``checkpoints`` and
        ``waits`` (``partial``): how the panel, the sidebar and the REST API read a big execution."""
        if isinstance(after, bool) or not isinstance(after, int) or after < -1:
            raise KitaruUsageError(f"after must be a position (an int >= -1), got {after!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise KitaruUsageError(f"limit must be an int from 1 to 10000, got {limit!r}")
        row = self._row(exec_id, with_values=True, with_result=False)
        summary, open_calls, open_attempts = self._j.execution_summary(row.exec_id)
        page = self._j.load_page(row.exec_id, after=after, limit=limit, newest_first=newest_first)
        return self._model(row, summary=summary, open_calls=open_calls, open_attempts=open_attempts, page=page)

    def _check_filters(self, status: Any, limit: Any, offset: Any) -> ExecutionStatus | None:
        if status is not None and status not in _STATUSES:
            raise KitaruUsageError(f"status must be one of {sorted(_STATUSES)}, got {status!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise KitaruUsageError(f"limit must be an int >= 0, got {limit!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise KitaruUsageError(f"offset must be an int >= 0, got {offset!r}")
        return None if status is None else ExecutionStatus(status)

    def list(
        self, *, flow: str | None = None, status: ExecutionStatus | str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Execution]:
        """Executions, newest first (summaries: checkpoints are not loaded; use get() for them)."""
        st = self._check_filters(status, limit, offset)
        rows = self._j.list_executions(flow=flow, status=st, limit=limit, offset=offset)
        sums = self._j.call_summaries([r.exec_id for r in rows])
        return [self._model(r, summary=sums.get(r.exec_id), open_calls=[], page=([], [])) for r in rows]

    def count(self, *, flow: str | None = None, status: ExecutionStatus | str | None = None) -> int:
        st = self._check_filters(status, 0, 0)
        return self._j.count_executions(flow=flow, status=st)

    def latest(self, *, flow: str | None = None, status: ExecutionStatus | str | None = None) -> Execution | None:
        st = self._check_filters(status, 1, 0)
        rows = self._j.list_executions(flow=flow, status=st, limit=1)
        return self.get(rows[0].exec_id) if rows else None

    def pending_waits(self, exec_id: str) -> builtins.list[PendingWait]:
        row = self._row(exec_id)
        _, open_calls, _ = self._j.execution_summary(row.exec_id)
        return [_wait_model(c) for c in open_calls if c.kind == CallKind.WAIT and c.status == CallStatus.WAITING]

    def outputs(self, exec_id: str) -> dict[int, Any]:
        """The values of an execution in one read, by position: each checkpoint's output and each
        wait's answer (``Execution.checkpoints`` / ``waits`` tell what sits at each position). A
        position with no value is left out, and so is a value this client cannot load (a class this
        process does not define, or a pickle with ``unpickle=False``): its preview is on the model."""
        row = self._row(exec_id)
        out: dict[int, Any] = {}
        for c in self._j.load_recorded(row.exec_id):
            stored = c.output
            if stored is None or stored.data is None:
                continue
            try:
                if self._client.unpickle:
                    out[c.idx] = serde.loads(stored.format, stored.data)
                elif stored.format in (serde.JSON, serde.PYDANTIC):
                    out[c.idx] = serde.loads_json_only(stored.format, stored.data)
            except Exception:  # noqa: S112 - unloadable here: the model's preview stands for it
                continue
        return out

    def _result(self, exec_id: str) -> Any:
        row = self._row(exec_id, with_values=True)
        return continuation.result(self._j, row, unpickle=self._client.unpickle)

    # -- control ------------------------------------------------------------------------
    def _drive(self, row: ExecutionRow, expect: tuple[ExecutionStatus, ...]) -> Execution:
        continuation.drive_claimed(self._j, row, expect)
        return self.get(row.exec_id)

    def input(
        self, exec_id: str, *, wait: str, value: Any, resume: bool = True, answered_by: str | None = None
    ) -> Execution:
        """Answer a pending wait; resumes the execution at once when this process knows the flow
        (``resume=False``: only record the answer; the kernel that defines the flow carries on when
        it is idle). ``answered_by`` says where the answer came from (default: this process)."""
        from kitaru_nb.wait import validate_answer

        row = self._row(exec_id)
        calls = self._open(row)
        call = self._pending_wait(row, wait, calls)
        answer = validate_answer(row.exec_id, wait, call.wait_schema or "{}", value)
        if not self._j.answer_wait(
            call.call_id,
            StoredValue(serde.JSON, serde.preview(answer), json.dumps(answer).encode()),
            answered_at=time.time(),
            answered_by=answered_by or owner.describe(owner.this_owner()),
        ):
            raise KitaruStateError(f"wait {wait!r} of execution {row.exec_id[:8]} was answered meanwhile")
        if resume:
            call.status = CallStatus.COMPLETED
            continuation.continue_if_ready(self._j, row.exec_id, row=row, calls=calls)
        return self.get(row.exec_id)

    def _open(self, row: ExecutionRow) -> builtins.list[CallRow]:
        """The execution's positions that are not done (pending waits, paused or failed checkpoints):
        read through an index that holds only those, whatever the execution's size."""
        return self._j.execution_summary(row.exec_id)[1]

    def _pending_wait(self, row: ExecutionRow, wait: str, calls: builtins.list[CallRow] | None = None) -> CallRow:
        """The pending wait named (or with the id) ``wait``; ``calls``: the positions not done, when read."""
        if not isinstance(wait, str) or not wait:
            raise KitaruUsageError(f"wait must be the wait's name (a non-empty str), got {wait!r}")
        calls = calls if calls is not None else self._open(row)
        found = [c for c in calls if c.kind == CallKind.WAIT and (c.name == wait or c.call_id == wait)]
        if not found:  # answered already, or no such wait: every position, for the message
            calls = self._j.load_calls(row.exec_id, with_values=False)
        for c in calls:
            if c.kind != CallKind.WAIT:
                continue
            if c.name == wait or c.call_id == wait:
                if c.status != CallStatus.WAITING:
                    raise KitaruStateError(
                        f"wait {wait!r} of execution {row.exec_id[:8]} is not pending (it is {c.status})"
                    )
                if ExecutionStatus(row.status).is_terminal:
                    raise KitaruStateError(
                        f"execution {row.exec_id[:8]} is {row.status}; it takes no more answers. Start a new "
                        "execution, or replay this one"
                    )
                return c
        pending = [c.name for c in calls if c.kind == CallKind.WAIT and c.status == CallStatus.WAITING]
        raise KitaruUsageError(
            f"execution {row.exec_id[:8]} has no wait named {wait!r}; pending waits: {pending or 'none'}"
        )

    def abort_wait(self, exec_id: str, *, wait: str) -> Execution:
        """End the execution as failed, naming the wait that was aborted."""
        row = self._row(exec_id)
        call = self._pending_wait(row, wait)
        message = f"wait {wait!r} was aborted; the execution ended without an answer"
        self._j.finish_call(
            call.call_id,
            None,
            status=CallStatus.FAILED,
            ended_at=time.time(),
            failure=FailureInfo(FailureOrigin.RUNTIME, message, "KitaruWaitAborted"),
        )
        self._j.set_execution_status(
            row.exec_id,
            ExecutionStatus.FAILED,
            ended_at=time.time(),
            failure=FailureInfo(FailureOrigin.RUNTIME, message, "KitaruWaitAborted"),
            expect=(ExecutionStatus.WAITING,),
        )
        return self.get(row.exec_id)

    def resume(self, exec_id: str) -> Execution:
        """Continue a waiting execution whose input arrived, or one left running by a dead process."""
        row = self._row(exec_id)
        if row.status == ExecutionStatus.WAITING:
            calls = self._open(row)
            open_waits = [c.name for c in calls if c.kind == CallKind.WAIT and c.status == CallStatus.WAITING]
            if open_waits:
                raise KitaruStateError(
                    f"execution {row.exec_id[:8]} still waits for {open_waits}; answer with "
                    f"executions.input({row.exec_id[:8]!r}, wait={open_waits[0]!r}, value=...)"
                )
            paused = [c.name for c in calls if c.paused]
            if paused:
                raise KitaruStateError(
                    f"checkpoint {paused[0]!r} of execution {row.exec_id[:8]} failed and waits for a decision; "
                    "call executions.retry(...) or executions.skip(...)"
                )
            return self._drive(row, (ExecutionStatus.WAITING,))
        if row.status == ExecutionStatus.RUNNING:
            continuation.resume_interrupted(self._j, row)
            return self.get(row.exec_id)
        raise KitaruStateError(
            f"execution {row.exec_id[:8]} is {row.status}; only waiting or interrupted executions resume"
            + ("; use retry() for a failed one" if row.status == ExecutionStatus.FAILED else "")
        )

    def retry(self, exec_id: str, *, checkpoint: str | None = None, resume: bool = True) -> Execution:
        """Run a failed execution again (same exec_id) with the current code, or retry a checkpoint
        that is paused on error. Completed checkpoints are reused, new attempts appended.

        ``resume=False`` only records the decision for a paused checkpoint; the kernel that runs the
        flow (its panel) carries it out when it is idle. ``checkpoint`` picks one of several paused.
        """
        row = self._row(exec_id)
        if row.status == ExecutionStatus.FAILED and resume:
            return self._drive(row, (ExecutionStatus.FAILED,))
        if row.status == ExecutionStatus.WAITING:
            call = self._paused_call(row, checkpoint)
            if resume:
                continuation.body_of(row)
            self._decide(row, call, CallStatus.FAILED, call.ended_at)
            if resume:
                continuation.continue_if_ready(self._j, row.exec_id, row=row) or self._drive_if_open(row)
            return self.get(row.exec_id)
        if row.status == ExecutionStatus.FAILED:
            raise KitaruStateError(
                f"execution {row.exec_id[:8]} failed; a failed execution is retried by a process that defines "
                f"flow {row.flow_name!r} (the notebook's panel, or executions.retry there)"
            )
        raise KitaruStateError(
            f"execution {row.exec_id[:8]} is {row.status}; retry() continues failed executions and checkpoints "
            "paused on error"
        )

    def skip(self, exec_id: str, *, checkpoint: str | None = None, resume: bool = True) -> Execution:
        """Skip a checkpoint paused on error (it returns None) and continue the execution
        (``resume=False``: only record the decision, see ``retry``)."""
        row = self._row(exec_id)
        if row.status != ExecutionStatus.WAITING:
            raise KitaruStateError(
                f"execution {row.exec_id[:8]} is {row.status}; only a paused checkpoint can be skipped"
            )
        call = self._paused_call(row, checkpoint)
        if resume:
            continuation.body_of(row)
        self._decide(row, call, CallStatus.SKIPPED, time.time())
        if resume:
            continuation.continue_if_ready(self._j, row.exec_id, row=row) or self._drive_if_open(row)
        return self.get(row.exec_id)

    def _drive_if_open(self, row: ExecutionRow) -> bool:
        """After a decision: continue even though other waits or pauses are open (the flow stops at the
        first of them again), as long as nobody else took the execution."""
        fresh = self._j.get_execution(row.exec_id, with_values=False)
        if fresh is None or fresh.status != ExecutionStatus.WAITING:
            return False
        try:
            continuation.drive_claimed(self._j, fresh, (ExecutionStatus.WAITING,))
        except KitaruStateError:
            return False
        return True

    def _decide(self, row: ExecutionRow, call: CallRow, status: CallStatus, ended_at: float | None) -> None:
        if not self._j.decide_call(call.call_id, status=status, ended_at=ended_at):
            raise KitaruStateError(
                f"checkpoint {call.name!r} of execution {row.exec_id[:8]} got its decision meanwhile"
            )

    def paused_checkpoints(self, exec_id: str) -> builtins.list[str]:
        """Names of the checkpoints paused on error that wait for a retry or skip decision."""
        row = self._row(exec_id)
        return [c.name for c in self._open(row) if c.paused]

    def _paused_call(self, row: ExecutionRow, name: str | None = None) -> CallRow:
        paused = [c for c in self._open(row) if c.paused]
        if name is not None:
            paused = [c for c in paused if c.name == name]
        if not paused:
            raise KitaruStateError(
                f"execution {row.exec_id[:8]} has no checkpoint paused on error"
                + (f" named {name!r}" if name else "")
                + "; answer its pending waits with executions.input(...)"
            )
        return paused[0]

    def cancel(self, exec_id: str) -> Execution:
        """End a running or waiting execution; a flow that is running stops before its next call."""
        from kitaru_nb.runtime.context import cancelled_here

        row = self._row(exec_id)
        if not self._j.set_execution_status(
            row.exec_id,
            ExecutionStatus.CANCELLED,
            ended_at=time.time(),
            expect=(ExecutionStatus.RUNNING, ExecutionStatus.WAITING),
        ):
            raise KitaruStateError(f"execution {row.exec_id[:8]} is {row.status}; only running or waiting ones cancel")
        cancelled_here.add(row.exec_id)
        return self.get(row.exec_id)

    def delete(self, exec_id: str, *, force: bool = False) -> None:
        """Remove an execution with its calls, attempts, waits, requests, stored outputs and saved
        artifacts, in one transaction. A running or waiting execution is refused unless ``force=True``
        (its kernel would find nothing left to write to: cancel it first)."""
        row = self._row(exec_id)
        if row.status in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING) and not force:
            raise KitaruStateError(
                f"execution {row.exec_id[:8]} is {row.status}; delete refuses running and waiting executions. "
                f"Cancel it first (KitaruClient().executions.cancel({row.exec_id[:8]!r})), or pass force=True."
            )
        self._j.delete_executions([row.exec_id])

    def prune(
        self,
        *,
        older_than: float | timedelta | datetime,
        status: ExecutionStatus | str | builtins.list[ExecutionStatus | str] | None = None,
        force: bool = False,
    ) -> int:
        """Delete the executions that ended before ``older_than`` (seconds or a timedelta ago, or a
        datetime) and are in ``status`` (default: completed, failed and cancelled); returns how many.
        Running and waiting executions are kept unless ``force=True`` (and they are named in status).
        ``KitaruClient().compact()`` then gives the space back to the file system."""
        if isinstance(older_than, datetime):
            if older_than.tzinfo is None:
                raise KitaruUsageError("prune(older_than=datetime) needs an aware datetime (with a tzinfo)")
            before = older_than.timestamp()
        elif isinstance(older_than, timedelta):
            before = time.time() - older_than.total_seconds()
        elif isinstance(older_than, (int, float)) and not isinstance(older_than, bool) and older_than >= 0:
            before = time.time() - float(older_than)
        else:
            raise KitaruUsageError(
                f"prune(older_than=...) takes seconds (>= 0), a timedelta or a datetime, got {older_than!r}"
            )
        wanted = status if isinstance(status, builtins.list) else [status] if status is not None else None
        statuses = [self._check_filters(s, 0, 0) for s in wanted] if wanted is not None else None
        chosen = [s for s in statuses if s is not None] if statuses else [s for s in ExecutionStatus if s.is_terminal]
        if not force:
            open_ones = [s.value for s in chosen if not s.is_terminal]
            if open_ones:
                raise KitaruStateError(
                    f"prune refuses {open_ones} executions (they may still run or get an answer); "
                    "pass force=True to delete them too"
                )
        deleted = 0
        while True:
            ids = self._j.prunable(before=before, statuses=chosen, limit=500)
            if not ids:
                return deleted
            deleted += self._j.delete_executions(ids)

    def replay(
        self, exec_id: str, *, from_: str, overrides: dict[str, Any] | None = None, **flow_inputs: Any
    ) -> Execution:
        """A new execution that reuses everything before ``from_`` and runs the rest live."""
        from kitaru_nb.runtime.replay import run_replay

        row = self._row(exec_id)
        new_id = run_replay(self._j, row.exec_id, from_=from_, overrides=overrides, flow_inputs=flow_inputs)
        return self.get(new_id)

    # -- requests for the kernel that defines the flow ------------------------------------
    def request_replay(
        self,
        exec_id: str,
        *,
        from_: str,
        overrides: dict[str, Any] | None = None,
        after: bool = False,
        requested_by: str | None = None,
    ) -> RequestRow:
        """Record a replay for the kernel that defines the flow to carry out when it is idle (the
        sidebar's "Replay from here"). Checked now: ``from_`` must name a recorded checkpoint and
        ``overrides`` must be JSON with keys ``checkpoint.NAME``."""
        from kitaru_nb.runtime.replay import _position

        row = self._row(exec_id)
        if row.kind != "flow":
            raise KitaruUsageError(
                f"execution {row.exec_id[:8]} is a run of step workflow {row.flow_name!r}; replay works for flows"
            )
        _position(self._j.load_calls(row.exec_id, with_values=False), from_)
        if overrides is not None:
            if not isinstance(overrides, dict) or not all(
                isinstance(k, str) and k.startswith("checkpoint.") for k in overrides
            ):
                raise KitaruUsageError("overrides is a dict like {'checkpoint.NAME': value}")
            try:
                json.dumps(overrides)
            except (TypeError, ValueError) as exc:
                raise KitaruUsageError(f"overrides must be JSON values: {exc}") from None
        params: dict[str, Any] = {"from": from_}
        if overrides:
            params["overrides"] = overrides
        if after:
            params["after"] = True
        return self._request(row, "replay", params, requested_by)

    def request_retry(self, exec_id: str, *, requested_by: str | None = None) -> RequestRow:
        """Record a retry of a failed execution for the kernel that defines the flow."""
        row = self._row(exec_id)
        if row.status != ExecutionStatus.FAILED:
            raise KitaruStateError(f"execution {row.exec_id[:8]} is {row.status}; only a failed execution retries")
        return self._request(row, "retry", {}, requested_by)

    def _request(self, row: ExecutionRow, kind: str, params: dict[str, Any], by: str | None) -> RequestRow:
        req = RequestRow(
            request_id=new_id(),
            exec_id=row.exec_id,
            flow_name=row.flow_name,
            kind=kind,
            status="pending",
            created_at=time.time(),
            params=params,
            created_by=by or owner.describe(owner.this_owner()),
        )
        self._j.add_request(req)
        return req

    def requests(self, exec_id: str) -> builtins.list[RequestRow]:
        """Requests recorded for this execution (oldest first)."""
        return self._j.list_requests(exec_id=self._row(exec_id).exec_id)

    # -- blocking -----------------------------------------------------------------------
    def _block(self, exec_id: str, *, timeout: float | None, in_kernel: bool) -> ExecutionStatus:
        return continuation.block(self._j, self._row(exec_id).exec_id, timeout=timeout, in_kernel=in_kernel)

    def estimated_size(self, flow_name: str) -> int | None:
        """How many positions the flow's newest completed execution had: the estimated total of a
        running one (None when none completed yet)."""
        return self._j.last_completed_size(flow_name)

    def defined_here(self, exec_id: str) -> bool:
        """This process defines the flow (or workflow) of ``exec_id``, so it can continue it."""
        try:
            continuation.body_of(self._row(exec_id))
        except KitaruStateError:
            return False
        return True

    def where_defined(self, exec_id: str) -> str:
        """What to run so that a kernel defines the flow of ``exec_id`` (which notebook, which cell)."""
        return continuation.where_defined(self._row(exec_id))

    def search(
        self,
        *,
        flow: str | None = None,
        flow_contains: str | None = None,
        status: ExecutionStatus | str | None = None,
        waiting_for: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[builtins.list[Execution], int]:
        """Executions newest first whose flow name is ``flow`` or contains ``flow_contains`` (any case), with
        ``status``; ``waiting_for="input"`` keeps those waiting for an answer, ``"decision"`` those
        with a checkpoint paused on error. Returns the page (summaries, as ``list()``) and the total."""
        st = self._check_filters(status, limit, offset)
        if waiting_for not in (None, "input", "decision"):
            raise KitaruUsageError(f'waiting_for must be "input", "decision" or None, got {waiting_for!r}')
        rows, total = self._j.search_executions(
            flow=flow, flow_contains=flow_contains, status=st, waiting_for=waiting_for, limit=limit, offset=offset
        )
        sums = self._j.call_summaries([r.exec_id for r in rows])
        return [self._model(r, summary=sums.get(r.exec_id), open_calls=[], page=([], [])) for r in rows], total

    def waiting_counts(self) -> dict[str, int]:
        """How many executions wait for a human: ``{"input": n, "decision": m, "total": n + m}``."""
        counts = self._j.count_waiting_for_human()
        return {"input": counts["input"], "decision": counts["decision"], "total": counts["input"] + counts["decision"]}


class Artifacts:
    """``client.artifacts``: what executions produced (checkpoint outputs and ``kitaru.save`` values)."""

    def __init__(self, client: KitaruClient):
        self._client = client
        self._j = client.journal

    def _by_call(
        self, exec_id: str, calls: builtins.list[CallRow], *, whole: bool
    ) -> dict[str, builtins.list[ArtifactRef]]:
        """Per checkpoint call of an execution: its output, then what it saved (for a reused call, what
        its original call saved). ``whole``: the calls are the whole execution (one indexed query)."""
        origin = {c.original_call_id: c for c in calls if c.original_call_id}
        extra = builtins.list(origin) if whole else [*origin, *(c.call_id for c in calls)]
        saved = self._j.list_artifacts(exec_id=exec_id if whole else None, call_ids=extra)
        names = {c.call_id: c for c in calls}
        out: dict[str, builtins.list[ArtifactRef]] = {}
        for c in calls:
            if c.kind == CallKind.CHECKPOINT and c.output is not None:
                out[c.call_id] = [_output_ref(c, self._client)]
        for a in saved:
            call = names.get(a.call_id) or origin.get(a.call_id)
            if call is None:
                continue
            out.setdefault(call.call_id, []).append(_saved_ref(a, call.name, self._client))
        return out

    def list(
        self,
        exec_id: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        producing_call: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[ArtifactRef]:
        """An execution's artifacts in position order (each checkpoint's output, then what it saved),
        filtered by artifact name, kind (artifact type) and the checkpoint that produced them."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise KitaruUsageError(f"`limit` must be >= 1 when provided. Got {limit!r}")
        _, _, found = self._of_execution(exec_id)
        if name is not None:
            found = [a for a in found if a.name == name]
        if kind is not None:
            found = [a for a in found if a.kind == kind]
        if producing_call is not None:
            found = [a for a in found if a.producing_call == producing_call]
        return found[:limit] if limit is not None else found

    def get(self, artifact_id: str) -> ArtifactRef:
        """One artifact by id (``ArtifactRef.artifact_id``)."""
        if not isinstance(artifact_id, str) or not artifact_id:
            raise KitaruUsageError(f"artifact_id must be a non-empty str, got {artifact_id!r}")
        if artifact_id.endswith(OUTPUT_SUFFIX):
            call = self._j.get_call(artifact_id.removesuffix(OUTPUT_SUFFIX), with_values=False)
            if call is not None and call.kind == CallKind.CHECKPOINT and call.output is not None:
                return _output_ref(call, self._client)
        else:
            saved = self._j.get_artifact(artifact_id)
            if saved is not None:
                producer = self._j.get_call(saved.call_id, with_values=False)
                return _saved_ref(saved, producer.name if producer else None, self._client)
        raise KitaruUsageError(
            f"no artifact {artifact_id!r} in the journal {self._j.location}; list an execution's artifacts "
            "with KitaruClient().artifacts.list(exec_id)"
        )

    def _load(self, artifact_id: str) -> Any:
        if artifact_id.endswith(OUTPUT_SUFFIX):
            call = self._j.get_call(artifact_id.removesuffix(OUTPUT_SUFFIX))
            stored = call.output if call is not None else None
        else:
            saved = self._j.get_artifact(artifact_id)
            stored = saved.value if saved is not None else None
        if stored is None:
            raise KitaruUsageError(f"no artifact {artifact_id!r} in the journal {self._j.location}")
        if not self._client.unpickle:
            return serde.loads_json_only(stored.format, stored.data)
        return serde.loads(stored.format, stored.data)

    def _of_execution(self, exec_id: str) -> tuple[ExecutionRow, builtins.list[CallRow], builtins.list[ArtifactRef]]:
        """An execution's row, positions and artifacts in position order."""
        row = self._client.executions._row(exec_id)
        calls = self._j.load_calls(row.exec_id, with_values=False)
        by_call = self._by_call(row.exec_id, calls, whole=True)
        return row, calls, [a for c in calls for a in by_call.get(c.call_id, [])]

    def find(self, exec_id: str, name: str) -> ArtifactRef:
        """The one artifact ``kitaru.load(exec_id, name)`` means: a value saved under ``name``, or the
        output of the checkpoint called ``name``."""
        row, calls, every = self._of_execution(exec_id)
        matches = [
            a
            for a in every
            if (a.save_type == "manual" and a.name == name)
            or (a.save_type == "step_output" and (a.producing_call == name or a.name == name))
        ]
        if not matches:
            saved = sorted({a.name for a in every if a.save_type == "manual"})
            outputs = sorted({c.name for c in calls if c.kind == CallKind.CHECKPOINT and c.output is not None})
            raise KitaruRuntimeError(
                f"No artifact named {name!r} was found in execution {row.exec_id}. Saved artifacts: "
                f"{saved or 'none'}; checkpoint outputs: {outputs or 'none'}."
            )
        if len(matches) > 1:
            details = ", ".join(
                f"step='{a.producing_call}', artifact='{a.name}', save_type='{a.save_type}'" for a in matches
            )
            raise KitaruRuntimeError(
                f"Multiple artifacts named {name!r} were found in execution {row.exec_id}. Please disambiguate "
                f"by choosing a unique artifact name. Matches: {details}."
            )
        return matches[0]
