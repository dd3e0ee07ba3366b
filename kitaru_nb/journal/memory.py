"""An in-memory journal: same contract as the SQLite one, nothing survives the process."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from kitaru_nb.errors import KitaruBackendError
from kitaru_nb.journal.base import (
    ArtifactRow,
    AttemptRow,
    CallRow,
    Completed,
    ExecutionRow,
    RequestRow,
    StoredValue,
    interrupted_failure,
    merge_metadata,
    misnamed,
)
from kitaru_nb.models import FailureInfo
from kitaru_nb.types import DONE_STATUSES, AttemptStatus, CallKind, CallStatus, ExecutionStatus


def _refuse_misnamed(calls: Sequence[CallRow]) -> None:
    for call in calls:
        error = misnamed(call)
        if error is not None:
            raise error


class MemoryJournal:
    """Keeps rows in dicts; for tests and throwaway runs."""

    def __init__(self) -> None:
        self.location = ":memory:"
        self._lock = threading.RLock()
        self._execs: dict[str, ExecutionRow] = {}
        self._calls: dict[str, CallRow] = {}
        self._attempts: dict[str, AttemptRow] = {}
        self._requests: dict[str, RequestRow] = {}
        self._artifacts: dict[str, ArtifactRow] = {}
        self._seq = 0
        self._version = 0

    def create_execution(self, row: ExecutionRow) -> None:
        with self._lock:
            if row.exec_id in self._execs:
                raise ValueError(f"execution {row.exec_id} exists")
            self._seq += 1
            row.seq = self._seq
            self._execs[row.exec_id] = copy.deepcopy(row)
            self._version += 1

    def get_execution(self, exec_id: str, *, with_values: bool = True, with_result: bool = True) -> ExecutionRow | None:
        with self._lock:
            row = self._execs.get(exec_id)
            if row is None:
                return None
            out = copy.deepcopy(row)
            if not with_values:
                for v in (out.inputs, out.result):
                    if v is not None:
                        v.data = None
            elif not with_result and out.result is not None:
                out.result.data = None
            return out

    def find_exec_ids(self, prefix: str, limit: int = 2) -> list[str]:
        with self._lock:
            return sorted(e for e in self._execs if e.startswith(prefix))[:limit]

    def _matching(self, flow: str | None, status: ExecutionStatus | None) -> list[ExecutionRow]:
        rows = [
            r
            for r in self._execs.values()
            if (flow is None or r.flow_name == flow) and (status is None or r.status == status)
        ]
        rows.sort(key=lambda r: r.seq, reverse=True)
        return rows

    def list_executions(
        self, *, flow: str | None = None, status: ExecutionStatus | None = None, limit: int = 50, offset: int = 0
    ) -> list[ExecutionRow]:
        with self._lock:
            out = []
            for r in self._matching(flow, status)[offset : offset + limit]:
                c = copy.deepcopy(r)
                for v in (c.inputs, c.result):
                    if v is not None:
                        v.data = None
                out.append(c)
            return out

    def count_executions(self, *, flow: str | None = None, status: ExecutionStatus | None = None) -> int:
        with self._lock:
            return len(self._matching(flow, status))

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
        with self._lock:
            row = self._execs.get(exec_id)
            if row is None or (expect is not None and row.status not in expect):
                return False
            row.status, row.ended_at, row.failure = status, ended_at, failure
            if result is not None:
                row.result = copy.deepcopy(result)
            if owner_pid is not None:
                row.owner_pid = owner_pid
            if owner is not None:
                row.owner = copy.deepcopy(owner)
            self._version += 1
            return True

    def set_execution_meta(self, exec_id: str, meta: dict[str, Any]) -> None:
        with self._lock:
            self._execs[exec_id].meta = copy.deepcopy(meta)
            self._version += 1

    def insert_call(self, call: CallRow, attempt: AttemptRow | None = None) -> None:
        _refuse_misnamed([call])
        with self._lock:
            if call.call_id in self._calls:  # named by its position: one id per position
                raise ValueError(f"call {call.exec_id}#{call.idx} exists")
            self._calls[call.call_id] = copy.deepcopy(call)
            if attempt is not None:
                self._attempts[attempt.attempt_id] = replace(attempt)
            self._version += 1

    def insert_calls(self, calls: Sequence[CallRow], attempts: Sequence[AttemptRow] = ()) -> None:
        _refuse_misnamed(calls)
        with self._lock:
            ids = [c.call_id for c in calls]
            if any(i in self._calls for i in ids) or len(set(ids)) < len(ids):
                raise ValueError("a call at one of these positions exists")
            for c in calls:
                self._calls[c.call_id] = copy.deepcopy(c)
            for a in attempts:
                self._attempts[a.attempt_id] = replace(a)
            self._version += 1

    def restart_call(self, call_id: str, attempt: AttemptRow, *, fingerprint: str | None = None) -> None:
        with self._lock:
            c = self._calls[call_id]
            c.status, c.ended_at, c.paused, c.failure = CallStatus.RUNNING, None, False, None
            if fingerprint is not None:
                c.fingerprint = fingerprint
            self._attempts[attempt.attempt_id] = replace(attempt)
            self._version += 1

    def start_attempt(self, attempt: AttemptRow) -> None:
        with self._lock:
            self._attempts[attempt.attempt_id] = replace(attempt)
            self._version += 1

    def fail_attempt(
        self, attempt_id: str, *, call_id: str, ended_at: float, failure: FailureInfo, worker: str | None = None
    ) -> None:
        with self._lock:
            a = self._attempts[attempt_id]
            a.status, a.ended_at, a.failure = AttemptStatus.FAILED, ended_at, failure
            a.worker = worker or a.worker
            self._version += 1

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
        with self._lock:
            if attempt_id is not None:
                a = self._attempts[attempt_id]
                a.status = AttemptStatus.COMPLETED if failure is None else AttemptStatus.FAILED
                a.ended_at, a.failure = ended_at, failure
                a.worker = worker or a.worker
            c = self._calls[call_id]
            c.status, c.ended_at, c.failure, c.paused = status, ended_at, failure, paused
            c.output = copy.deepcopy(output)
            self._version += 1

    def complete_calls(self, done: Sequence[Completed]) -> None:
        with self._lock:
            if any(d.call_id not in self._calls or d.attempt_id not in self._attempts for d in done):
                raise ValueError("a completed call or attempt is not in the journal")
            for d in done:
                self.finish_call(
                    d.call_id,
                    d.attempt_id,
                    status=CallStatus.COMPLETED,
                    ended_at=d.ended_at,
                    output=d.output,
                    worker=d.worker,
                )

    def answer_wait(
        self, call_id: str, value: StoredValue, *, answered_at: float, answered_by: str | None = None
    ) -> bool:
        with self._lock:
            c = self._calls.get(call_id)
            if c is None or c.kind != CallKind.WAIT or c.status != CallStatus.WAITING:
                return False
            c.status, c.ended_at, c.output = CallStatus.COMPLETED, answered_at, copy.deepcopy(value)
            c.answered_by = answered_by
            self._version += 1
            return True

    def reopen_wait(self, call_id: str) -> bool:
        with self._lock:
            c = self._calls.get(call_id)
            if c is None or c.kind != CallKind.WAIT or c.status != CallStatus.FAILED:
                return False
            c.status, c.ended_at, c.failure = CallStatus.WAITING, None, None
            self._version += 1
            return True

    def decide_call(self, call_id: str, *, status: CallStatus, ended_at: float | None) -> bool:
        with self._lock:
            c = self._calls.get(call_id)
            if c is None or not c.paused:
                return False
            c.status, c.paused, c.ended_at = status, False, ended_at
            self._version += 1
            return True

    def load_calls(self, exec_id: str, *, with_values: bool = True) -> list[CallRow]:
        with self._lock:
            rows = sorted((c for c in self._calls.values() if c.exec_id == exec_id), key=lambda c: c.idx)
            out = [copy.deepcopy(c) for c in rows]
            for c in out:
                if c.output is not None:
                    if not with_values:
                        c.output.data = None
                    elif c.output.data is None:
                        self._share(c)
            return out

    def _share(self, c: CallRow) -> None:
        """A reused call that keeps no copy of a big output reads the original call's bytes."""
        original = self._calls.get(c.original_call_id or "")
        if c.output is not None and original is not None and original.output is not None:
            c.output.data = original.output.data

    def load_recorded(self, exec_id: str) -> list[CallRow]:
        return self.load_calls(exec_id)

    def get_call(self, call_id: str, *, with_values: bool = True) -> CallRow | None:
        with self._lock:
            c = self._calls.get(call_id)
            if c is None:
                return None
            out = copy.deepcopy(c)
            if not with_values and out.output is not None:
                out.output.data = None
            elif out.output is not None and out.output.data is None:
                self._share(out)
            return out

    def find_cached(self, name: str, fingerprint: str, input_key: str) -> CallRow | None:
        with self._lock:
            found = [
                c
                for c in self._calls.values()
                if c.input_key == input_key
                and c.name == name
                and c.fingerprint == fingerprint
                and c.status == CallStatus.COMPLETED
                and c.kind == CallKind.CHECKPOINT
            ]
            return copy.deepcopy(max(found, key=lambda c: c.started_at)) if found else None

    def log_metadata(self, exec_id: str, call_id: str | None, metadata: dict[str, Any]) -> None:
        with self._lock:
            target: CallRow | ExecutionRow | None = (
                self._calls.get(call_id) if call_id is not None else self._execs.get(exec_id)
            )
            if target is None:
                raise KitaruBackendError(f"kitaru.log(): no call {call_id} / execution {exec_id} in this journal")
            target.metadata = merge_metadata(target.metadata, copy.deepcopy(metadata))
            self._version += 1

    def save_artifact(self, row: ArtifactRow) -> None:
        with self._lock:
            for key, a in list(self._artifacts.items()):
                if a.call_id == row.call_id and a.name == row.name:
                    del self._artifacts[key]
            self._artifacts[row.artifact_id] = copy.deepcopy(row)
            self._version += 1

    def list_artifacts(
        self, *, exec_id: str | None = None, call_ids: Sequence[str] = (), with_values: bool = False
    ) -> list[ArtifactRow]:
        ids = set(call_ids)
        with self._lock:
            out = [copy.deepcopy(a) for a in self._artifacts.values() if a.call_id in ids or a.exec_id == exec_id]
        if not with_values:
            for a in out:
                a.value.data = None
        out.sort(key=lambda a: a.created_at)
        return out

    def get_artifact(self, artifact_id: str) -> ArtifactRow | None:
        with self._lock:
            a = self._artifacts.get(artifact_id)
            return copy.deepcopy(a) if a is not None else None

    def list_attempts(self, exec_id: str) -> list[AttemptRow]:
        with self._lock:
            return [replace(a) for a in self._attempts.values() if a.exec_id == exec_id]

    def load_tail(self, exec_id: str, limit: int) -> tuple[list[CallRow], list[AttemptRow]]:
        return self.load_page(exec_id, limit=limit, newest_first=True)

    def load_page(
        self, exec_id: str, *, after: int = -1, limit: int = 100, newest_first: bool = False
    ) -> tuple[list[CallRow], list[AttemptRow]]:
        calls = self.load_calls(exec_id, with_values=False)
        if newest_first:
            before = [c for c in calls if after < 0 or c.idx < after]
            calls = before[-limit:] if limit > 0 else []
        else:
            calls = [c for c in calls if c.idx > after][:limit]
        return calls, self._attempts_of(calls)

    def _attempts_of(self, calls: list[CallRow]) -> list[AttemptRow]:
        ids = {c.call_id for c in calls}
        with self._lock:
            return [replace(a) for a in self._attempts.values() if a.call_id in ids]

    def execution_summary(self, exec_id: str) -> tuple[dict[str, int], list[CallRow], list[AttemptRow]]:
        summary = self.call_summaries([exec_id])[exec_id]
        open_calls = [c for c in self.load_calls(exec_id, with_values=False) if c.status not in DONE_STATUSES]
        return summary, open_calls, self._attempts_of(open_calls)

    def recover_interrupted(self, is_alive: Callable[[int, int | None], bool]) -> int:
        n = 0
        with self._lock:
            for a in self._attempts.values():
                if a.status != AttemptStatus.RUNNING or self._execs[a.exec_id].status not in (
                    ExecutionStatus.RUNNING,
                    ExecutionStatus.CANCELLED,
                ):
                    continue
                row = self._execs[a.exec_id]
                pid = row.owner_pid
                start = (row.owner or {}).get("pid_start")
                if pid is None or not is_alive(pid, start if isinstance(start, int) else None):
                    a.status = AttemptStatus.INTERRUPTED
                    c = self._calls.get(a.call_id)
                    if c is not None and c.status == CallStatus.RUNNING:
                        c.status, c.failure = CallStatus.FAILED, interrupted_failure(pid)
                    n += 1
            self._version += n > 0
        return n

    def ready_to_continue(self, flow_names: Sequence[str]) -> list[ExecutionRow]:
        with self._lock:
            names = set(flow_names)
            out = []
            for r in sorted(self._execs.values(), key=lambda r: r.seq):
                if r.status != ExecutionStatus.WAITING or r.flow_name not in names:
                    continue
                calls = [c for c in self._calls.values() if c.exec_id == r.exec_id]
                if any((c.kind == CallKind.WAIT and c.status == CallStatus.WAITING) or c.paused for c in calls):
                    continue
                out.append(copy.deepcopy(r))
            return out

    def last_completed_size(self, flow_name: str) -> int | None:
        with self._lock:
            done = [
                r for r in self._execs.values() if r.flow_name == flow_name and r.status == ExecutionStatus.COMPLETED
            ]
            if not done:
                return None
            last = max(done, key=lambda r: r.seq)
            return sum(1 for c in self._calls.values() if c.exec_id == last.exec_id)

    def call_summaries(self, exec_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        with self._lock:
            out = {e: {"done": 0, "total": 0, "open_waits": 0, "paused": 0} for e in exec_ids}
            for c in self._calls.values():
                s = out.get(c.exec_id)
                if s is None:
                    continue
                s["total"] += 1
                s["done"] += c.status in DONE_STATUSES
                s["open_waits"] += c.kind == CallKind.WAIT and c.status == CallStatus.WAITING
                s["paused"] += c.paused
            return out

    def add_request(self, row: RequestRow) -> None:
        with self._lock:
            self._requests[row.request_id] = copy.deepcopy(row)
            self._version += 1

    def list_requests(
        self, *, exec_id: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[RequestRow]:
        with self._lock:
            rows = [
                copy.deepcopy(r)
                for r in self._requests.values()
                if (exec_id is None or r.exec_id == exec_id) and (status is None or r.status == status)
            ]
            rows.sort(key=lambda r: r.created_at)
            return rows[:limit]

    def take_request(self, request_id: str, taken_by: str) -> bool:
        with self._lock:
            r = self._requests.get(request_id)
            if r is None or r.status != "pending":
                return False
            r.status, r.taken_by = "taken", taken_by
            self._version += 1
            return True

    def finish_request(
        self, request_id: str, *, status: str, message: str | None = None, result_exec_id: str | None = None
    ) -> None:
        with self._lock:
            r = self._requests[request_id]
            r.status, r.ended_at, r.message, r.result_exec_id = status, time.time(), message, result_exec_id
            self._version += 1

    def delete_executions(self, exec_ids: Sequence[str]) -> int:
        ids = set(exec_ids)
        with self._lock:
            for c in self._calls.values():  # reused calls that share a big output take their own copy
                if c.exec_id not in ids and c.output is not None and c.output.data is None:
                    self._share(c)
            kept_calls = {c.original_call_id for c in self._calls.values() if c.exec_id not in ids}
            n = sum(1 for e in ids if self._execs.pop(e, None) is not None)
            for table in (self._calls, self._attempts, self._requests):
                for key in [k for k, v in table.items() if v.exec_id in ids]:
                    del table[key]
            for key in [k for k, a in self._artifacts.items() if a.exec_id in ids and a.call_id not in kept_calls]:
                del self._artifacts[key]
            self._version += 1
            return n

    def prunable(self, *, before: float, statuses: Sequence[ExecutionStatus], limit: int = 10_000) -> list[str]:
        with self._lock:
            rows = sorted(self._execs.values(), key=lambda r: r.seq)
            return [
                r.exec_id
                for r in rows
                if r.status in statuses and (r.ended_at if r.ended_at is not None else r.started_at) < before
            ][:limit]

    def compact(self) -> None:
        return None

    def change_token(self) -> int:
        with self._lock:
            return self._version

    def close(self) -> None:
        pass

    def _waits_for(self, exec_id: str) -> set[str]:
        out = set()
        for c in self._calls.values():
            if c.exec_id != exec_id:
                continue
            if c.kind == "wait" and c.status == "waiting":
                out.add("input")
            if c.paused:
                out.add("decision")
        return out

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
        with self._lock:
            needle = (flow_contains or "").lower()
            rows = [
                r
                for r in self._matching(flow, status)
                if needle in r.flow_name.lower()
                and (
                    waiting_for is None
                    or (r.status == ExecutionStatus.WAITING and waiting_for in self._waits_for(r.exec_id))
                )
            ]
            page = []
            for r in rows[offset : offset + limit]:
                c = copy.deepcopy(r)
                for v in (c.inputs, c.result):
                    if v is not None:
                        v.data = None
                page.append(c)
            return page, len(rows)

    def count_waiting_for_human(self) -> dict[str, int]:
        with self._lock:
            out = {"input": 0, "decision": 0}
            for r in self._execs.values():
                if r.status == "waiting":
                    for kind in self._waits_for(r.exec_id):
                        out[kind] += 1
            return out
