"""The SQLite journal (sqlite-utils connection, prepared SQL, WAL, one transaction per write)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from kitaru_nb.errors import KitaruBackendError
from kitaru_nb.journal.base import (
    AttemptRow,
    CallRow,
    ExecutionRow,
    RequestRow,
    StoredValue,
    interrupted_failure,
)
from kitaru_nb.journal.migrations import LATEST_VERSION, MIGRATIONS
from kitaru_nb.models import FailureInfo
from kitaru_nb.types import FailureOrigin

APPLICATION_ID = 0x4B544E42  # "KTNB": marks a file as a kitaru_nb journal
BUSY_TIMEOUT_MS = 15_000
_SQLITE_MAGIC = b"SQLite format 3\x00"

_EXEC_COLS = (
    "seq, exec_id, flow_name, kind, status, started_at, ended_at, owner_pid, original_exec_id, "
    "replay_from, failure_origin, failure_type, failure_message, failure_traceback, meta, "
    "inputs_format, inputs_preview, result_format, result_preview, owner"
)
_CALL_COLS = (
    "call_id, exec_id, idx, kind, name, status, started_at, ended_at, fingerprint, original_call_id, "
    "failure_origin, failure_type, failure_message, failure_traceback, paused, wait_schema, "
    "wait_question, wait_metadata, wait_timeout, output_format, output_preview, answered_by"
)
_ATTEMPT_COLS = (
    "attempt_id, call_id, exec_id, number, status, started_at, ended_at, "
    "failure_origin, failure_type, failure_message, failure_traceback"
)


def _failure(origin: str | None, etype: str | None, message: str | None, tb: str | None) -> FailureInfo | None:
    if origin is None:
        return None
    return FailureInfo(origin=FailureOrigin(origin), message=message or "", exception_type=etype, traceback=tb)


def _failure_cols(f: FailureInfo | None) -> tuple[str | None, str | None, str | None, str | None]:
    if f is None:
        return (None, None, None, None)
    return (f.origin.value, f.exception_type, f.message, f.traceback)


def _exec_row(r: Sequence[Any], blobs: Sequence[Any] | None = None) -> ExecutionRow:
    inputs = StoredValue(r[15], r[16] or "", blobs[0] if blobs else None) if r[15] else None
    result = StoredValue(r[17], r[18] or "", blobs[1] if blobs else None) if r[17] else None
    return ExecutionRow(
        seq=r[0],
        exec_id=r[1],
        flow_name=r[2],
        kind=r[3],
        status=r[4],
        started_at=r[5],
        ended_at=r[6],
        owner_pid=r[7],
        original_exec_id=r[8],
        replay_from=r[9],
        failure=_failure(r[10], r[11], r[12], r[13]),
        meta=json.loads(r[14]) if r[14] else {},
        inputs=inputs,
        result=result,
        owner=json.loads(r[19]) if r[19] else None,
    )


def _call_row(r: Sequence[Any], output: bytes | None = None) -> CallRow:
    return CallRow(
        call_id=r[0],
        exec_id=r[1],
        idx=r[2],
        kind=r[3],
        name=r[4],
        status=r[5],
        started_at=r[6],
        ended_at=r[7],
        fingerprint=r[8],
        original_call_id=r[9],
        failure=_failure(r[10], r[11], r[12], r[13]),
        paused=bool(r[14]),
        wait_schema=r[15],
        wait_question=r[16],
        wait_metadata=r[17],
        wait_timeout=r[18],
        output=StoredValue(r[19], r[20] or "", output) if r[19] else None,
        answered_by=r[21],
    )


def _attempt_row(r: Sequence[Any]) -> AttemptRow:
    return AttemptRow(
        attempt_id=r[0],
        call_id=r[1],
        exec_id=r[2],
        number=r[3],
        status=r[4],
        started_at=r[5],
        ended_at=r[6],
        failure=_failure(r[7], r[8], r[9], r[10]),
    )


def _check_file(path: Path) -> None:
    """Refuse, without touching it, a file that is not an SQLite database."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise KitaruBackendError(
            f"{path} is a folder; the journal is a file: use a path like {path / 'kitaru.db'}"
        ) from None
    except OSError as exc:
        raise KitaruBackendError(f"cannot read the journal file {path}: {exc}") from exc
    if head and head != _SQLITE_MAGIC:
        raise KitaruBackendError(
            f"{path} is not a kitaru_nb journal (not an SQLite file). The file was left untouched; "
            "point KITARU_NB_DB or kitaru_nb.configure(db=...) to another path."
        )


class SqliteJournal:
    """A journal in one SQLite file. Safe to share between threads of a process."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).expanduser().resolve()
        self.location = str(self.path)
        _check_file(self.path)
        if not self.path.parent.exists():
            raise KitaruBackendError(
                f"the folder of the journal {self.path} does not exist; create it or choose another path"
            )
        self._lock = threading.RLock()
        try:
            conn = sqlite3.connect(
                self.location, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as exc:
            raise KitaruBackendError(f"cannot open the journal {self.path}: {exc}") from exc
        self.db = sqlite_utils.Database(conn)
        self._conn = conn
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise KitaruBackendError(
                f"{self.path} is not a usable kitaru_nb journal ({exc}). The file was left untouched; "
                "point KITARU_NB_DB or kitaru_nb.configure(db=...) to another path."
            ) from exc
        except BaseException:
            conn.close()
            raise

    # -- opening and migrations ---------------------------------------------------------
    def _open(self) -> None:
        ex = self.db.execute
        ex(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # one read transaction: another process may be creating the journal right now, and the
        # header (application_id, user_version) and the tables must be seen as of one moment
        ex("BEGIN")
        try:
            app_id = ex("PRAGMA application_id").fetchone()[0]
            version = ex("PRAGMA user_version").fetchone()[0]
            tables = ex("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0]
        finally:
            ex("COMMIT")
        if app_id not in (0, APPLICATION_ID):
            raise KitaruBackendError(
                f"{self.path} is an SQLite file of another application (application_id {app_id:#x}), "
                "not a kitaru_nb journal. It was left untouched; choose another path."
            )
        if app_id == 0:
            if tables:
                raise KitaruBackendError(
                    f"{self.path} is an SQLite database but not a kitaru_nb journal. It was left untouched; "
                    "choose another path for the journal."
                )
        if version > LATEST_VERSION:
            raise KitaruBackendError(
                f"{self.path} was written by a newer kitaru_nb (schema version {version}, this one knows "
                f"up to {LATEST_VERSION}). Upgrade kitaru_nb to use it; the file was left untouched."
            )
        if ex("PRAGMA journal_mode").fetchone()[0] != "wal":
            ex("PRAGMA journal_mode = WAL")
        ex("PRAGMA synchronous = NORMAL")
        if version < LATEST_VERSION:
            self._migrate()

    def _migrate(self) -> None:
        with self._write() as db:
            # re-read inside the write lock: another process may have migrated meanwhile
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute("CREATE TABLE IF NOT EXISTS _kitaru_migrations (name TEXT PRIMARY KEY, applied_at REAL)")
            for number, (name, apply) in enumerate(MIGRATIONS, start=1):
                if number <= version:
                    continue
                apply(db)
                db.execute("INSERT INTO _kitaru_migrations VALUES (?, julianday('now'))", (name,))
                db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise KitaruBackendError(
                    f"the journal {self.path} is locked by another process ({exc}); try again"
                ) from exc
            try:
                yield self.db
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _write_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """One transaction of prepared statements on the sqlite-utils connection (the hot path:
        no context manager, no wrapper per statement)."""
        conn = self._conn
        with self._lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise KitaruBackendError(
                    f"the journal {self.path} is locked by another process ({exc}); try again"
                ) from exc
            try:
                for sql, params in statements:
                    conn.execute(sql, params)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise KitaruBackendError(f"cannot read the journal {self.path}: {exc}") from exc

    # -- executions ---------------------------------------------------------------------
    def create_execution(self, row: ExecutionRow) -> None:
        i, r = row.inputs, row.result
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO executions (exec_id, flow_name, kind, status, started_at, ended_at, owner_pid, "
                "original_exec_id, replay_from, failure_origin, failure_type, failure_message, "
                "failure_traceback, meta, inputs_format, inputs_preview, result_format, result_preview, "
                "inputs, result, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row.exec_id,
                    row.flow_name,
                    row.kind,
                    row.status,
                    row.started_at,
                    row.ended_at,
                    row.owner_pid,
                    row.original_exec_id,
                    row.replay_from,
                    *_failure_cols(row.failure),
                    json.dumps(row.meta),
                    i.format if i else None,
                    i.preview if i else None,
                    r.format if r else None,
                    r.preview if r else None,
                    i.data if i else None,
                    r.data if r else None,
                    json.dumps(row.owner) if row.owner is not None else None,
                ),
            )
            row.seq = cur.lastrowid or 0

    def get_execution(self, exec_id: str, *, with_values: bool = True, with_result: bool = True) -> ExecutionRow | None:
        values = (", inputs, result" if with_result else ", inputs, NULL") if with_values else ""
        rows = self._read(f"SELECT {_EXEC_COLS}{values} FROM executions WHERE exec_id = ?", (exec_id,))
        if not rows:
            return None
        r = rows[0]
        return _exec_row(r, r[20:22] if with_values else None)

    def find_exec_ids(self, prefix: str, limit: int = 2) -> list[str]:
        hi = prefix + "\uffff"
        return [
            r[0]
            for r in self._read(
                "SELECT exec_id FROM executions WHERE exec_id >= ? AND exec_id < ? LIMIT ?", (prefix, hi, limit)
            )
        ]

    def _where(self, flow: str | None, status: str | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if flow is not None:
            clauses.append("flow_name = ?")
            params.append(flow)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def list_executions(
        self, *, flow: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[ExecutionRow]:
        where, params = self._where(flow, status)
        rows = self._read(
            f"SELECT {_EXEC_COLS} FROM executions{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_exec_row(r) for r in rows]

    def count_executions(self, *, flow: str | None = None, status: str | None = None) -> int:
        where, params = self._where(flow, status)
        return int(self._read(f"SELECT count(*) FROM executions{where}", params)[0][0])

    def set_execution_status(
        self,
        exec_id: str,
        status: str,
        *,
        ended_at: float | None = None,
        failure: FailureInfo | None = None,
        result: StoredValue | None = None,
        owner_pid: int | None = None,
        owner: dict[str, Any] | None = None,
        expect: Sequence[str] | None = None,
    ) -> bool:
        sql = (
            "UPDATE executions SET status = ?, ended_at = ?, failure_origin = ?, failure_type = ?, "
            "failure_message = ?, failure_traceback = ?, owner_pid = coalesce(?, owner_pid)"
        )
        params: list[Any] = [status, ended_at, *_failure_cols(failure), owner_pid]
        if owner is not None:
            sql += ", owner = ?"
            params.append(json.dumps(owner))
        if result is not None:
            sql += ", result_format = ?, result_preview = ?, result = ?"
            params += [result.format, result.preview, result.data]
        sql += " WHERE exec_id = ?"
        params.append(exec_id)
        if expect is not None:
            sql += f" AND status IN ({','.join('?' * len(expect))})"
            params += list(expect)
        with self._write() as db:
            return db.execute(sql, params).rowcount == 1

    def set_execution_meta(self, exec_id: str, meta: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute("UPDATE executions SET meta = ? WHERE exec_id = ?", (json.dumps(meta), exec_id))

    # -- calls and attempts -------------------------------------------------------------
    _INSERT_CALL = (
        "INSERT INTO calls (call_id, exec_id, idx, kind, name, status, started_at, ended_at, fingerprint, "
        "original_call_id, failure_origin, failure_type, failure_message, failure_traceback, paused, "
        "wait_schema, wait_question, wait_metadata, wait_timeout, output_format, output_preview, output, "
        "answered_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    _INSERT_ATTEMPT = (
        "INSERT INTO attempts (attempt_id, call_id, exec_id, number, status, started_at, ended_at, "
        "failure_origin, failure_type, failure_message, failure_traceback) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    )

    @staticmethod
    def _call_params(c: CallRow) -> tuple[Any, ...]:
        o = c.output
        return (
            c.call_id,
            c.exec_id,
            c.idx,
            c.kind,
            c.name,
            c.status,
            c.started_at,
            c.ended_at,
            c.fingerprint,
            c.original_call_id,
            *_failure_cols(c.failure),
            int(c.paused),
            c.wait_schema,
            c.wait_question,
            c.wait_metadata,
            c.wait_timeout,
            o.format if o else None,
            o.preview if o else None,
            o.data if o else None,
            c.answered_by,
        )

    @staticmethod
    def _attempt_params(a: AttemptRow) -> tuple[Any, ...]:
        return (
            a.attempt_id,
            a.call_id,
            a.exec_id,
            a.number,
            a.status,
            a.started_at,
            a.ended_at,
            *_failure_cols(a.failure),
        )

    def insert_call(self, call: CallRow, attempt: AttemptRow | None = None) -> None:
        if attempt is None:
            self._write_many(((self._INSERT_CALL, self._call_params(call)),))
        else:
            self._write_many(
                ((self._INSERT_CALL, self._call_params(call)), (self._INSERT_ATTEMPT, self._attempt_params(attempt)))
            )

    def insert_calls(self, calls: Sequence[CallRow]) -> None:
        with self._write() as db:
            db.conn.executemany(self._INSERT_CALL, [self._call_params(c) for c in calls])

    def restart_call(self, call_id: str, attempt: AttemptRow, *, fingerprint: str | None = None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE calls SET status = 'running', ended_at = NULL, paused = 0, failure_origin = NULL, "
                "failure_type = NULL, failure_message = NULL, failure_traceback = NULL, "
                "fingerprint = coalesce(?, fingerprint) WHERE call_id = ?",
                (fingerprint, call_id),
            )
            db.execute(self._INSERT_ATTEMPT, self._attempt_params(attempt))

    def start_attempt(self, attempt: AttemptRow) -> None:
        with self._write() as db:
            db.execute(self._INSERT_ATTEMPT, self._attempt_params(attempt))

    def fail_attempt(self, attempt_id: str, *, call_id: str, ended_at: float, failure: FailureInfo) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE attempts SET status = 'failed', ended_at = ?, failure_origin = ?, failure_type = ?, "
                "failure_message = ?, failure_traceback = ? WHERE call_id = ? AND attempt_id = ?",
                (ended_at, *_failure_cols(failure), call_id, attempt_id),
            )

    def finish_call(
        self,
        call_id: str,
        attempt_id: str | None,
        *,
        status: str,
        ended_at: float,
        output: StoredValue | None = None,
        failure: FailureInfo | None = None,
        paused: bool = False,
    ) -> None:
        fcols = _failure_cols(failure)
        call_update = (
            "UPDATE calls SET status = ?, ended_at = ?, failure_origin = ?, failure_type = ?, "
            "failure_message = ?, failure_traceback = ?, paused = ?, output_format = ?, "
            "output_preview = ?, output = ? WHERE call_id = ?",
            (
                status,
                ended_at,
                *fcols,
                int(paused),
                output.format if output else None,
                output.preview if output else None,
                output.data if output else None,
                call_id,
            ),
        )
        if attempt_id is None:
            self._write_many((call_update,))
            return
        attempt_update = (
            "UPDATE attempts SET status = ?, ended_at = ?, failure_origin = ?, failure_type = ?, "
            "failure_message = ?, failure_traceback = ? WHERE call_id = ? AND attempt_id = ?",
            ("completed" if failure is None else "failed", ended_at, *fcols, call_id, attempt_id),
        )
        self._write_many((attempt_update, call_update))

    def answer_wait(
        self, call_id: str, value: StoredValue, *, answered_at: float, answered_by: str | None = None
    ) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE calls SET status = 'completed', ended_at = ?, output_format = ?, output_preview = ?, "
                "output = ?, answered_by = ? WHERE call_id = ? AND kind = 'wait' AND status = 'waiting'",
                (answered_at, value.format, value.preview, value.data, answered_by, call_id),
            )
            return cur.rowcount == 1

    def reopen_wait(self, call_id: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE calls SET status = 'waiting', ended_at = NULL, failure_origin = NULL, failure_type = NULL, "
                "failure_message = NULL, failure_traceback = NULL WHERE call_id = ? AND kind = 'wait' "
                "AND status = 'failed'",
                (call_id,),
            )
            return cur.rowcount == 1

    def decide_call(self, call_id: str, *, status: str, ended_at: float | None) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE calls SET status = ?, paused = 0, ended_at = ? WHERE call_id = ? AND paused = 1",
                (status, ended_at, call_id),
            )
            return cur.rowcount == 1

    def load_calls(self, exec_id: str, *, with_values: bool = True) -> list[CallRow]:
        cols = _CALL_COLS + (", output" if with_values else "")
        rows = self._read(f"SELECT {cols} FROM calls WHERE exec_id = ? ORDER BY idx", (exec_id,))
        if with_values:
            return [_call_row(r, r[22]) for r in rows]
        return [_call_row(r) for r in rows]

    def list_attempts(self, exec_id: str) -> list[AttemptRow]:
        cols = ", ".join(f"a.{c.strip()}" for c in _ATTEMPT_COLS.split(","))
        rows = self._read(
            f"SELECT {cols} FROM calls c JOIN attempts a ON a.call_id = c.call_id WHERE c.exec_id = ? "
            "ORDER BY c.idx, a.number",
            (exec_id,),
        )
        return [_attempt_row(r) for r in rows]

    def recover_interrupted(self, is_alive: Callable[[int], bool]) -> int:
        # a running attempt belongs to a running execution (or one cancelled while it ran)
        rows = self._read(
            "SELECT a.attempt_id, a.call_id, e.owner_pid FROM executions e JOIN calls c ON c.exec_id = e.exec_id "
            "JOIN attempts a ON a.call_id = c.call_id WHERE e.status IN ('running', 'cancelled') AND a.status = 'running'"
        )
        dead = [(r[0], r[1], r[2]) for r in rows if r[2] is None or not is_alive(int(r[2]))]
        if not dead:
            return 0
        with self._write() as db:
            db.conn.executemany(
                "UPDATE attempts SET status = 'interrupted' WHERE call_id = ? AND attempt_id = ? AND status = 'running'",
                [(c, a) for a, c, _ in dead],
            )
            # the call is not running any more either: it failed, and resume runs it again
            db.conn.executemany(
                "UPDATE calls SET status = 'failed', failure_origin = ?, failure_type = ?, failure_message = ?, "
                "failure_traceback = NULL WHERE call_id = ? AND status = 'running'",
                [(*_failure_cols(interrupted_failure(pid))[:3], c) for _, c, pid in dead],
            )
        return len(dead)

    # -- what a kernel that defines a flow may carry out ------------------------------------
    def ready_to_continue(self, flow_names: Sequence[str]) -> list[ExecutionRow]:
        if not flow_names:
            return []
        marks = ",".join("?" * len(flow_names))
        rows = self._read(
            f"SELECT {_EXEC_COLS} FROM executions e WHERE e.status = 'waiting' AND e.flow_name IN ({marks}) "
            "AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.exec_id = e.exec_id AND "
            "((c.kind = 'wait' AND c.status = 'waiting') OR c.paused = 1)) ORDER BY e.seq",
            list(flow_names),
        )
        return [_exec_row(r) for r in rows]

    def last_completed_size(self, flow_name: str) -> int | None:
        rows = self._read(
            "SELECT exec_id FROM executions WHERE flow_name = ? AND status = 'completed' ORDER BY seq DESC LIMIT 1",
            (flow_name,),
        )
        if not rows:
            return None
        return int(self._read("SELECT count(*) FROM calls WHERE exec_id = ?", (rows[0][0],))[0][0])

    def call_summaries(self, exec_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        if not exec_ids:
            return {}
        marks = ",".join("?" * len(exec_ids))
        rows = self._read(
            "SELECT exec_id, count(*), "
            "sum(status IN ('completed', 'reused', 'skipped')), "
            "sum(kind = 'wait' AND status = 'waiting'), sum(paused) "
            f"FROM calls WHERE exec_id IN ({marks}) GROUP BY exec_id",
            list(exec_ids),
        )
        out = {e: {"done": 0, "total": 0, "open_waits": 0, "paused": 0} for e in exec_ids}
        for e, total, done, waits, paused in rows:
            out[e] = {
                "done": int(done or 0),
                "total": int(total),
                "open_waits": int(waits or 0),
                "paused": int(paused or 0),
            }
        return out

    _REQUEST_COLS = (
        "request_id, exec_id, flow_name, kind, params, status, created_at, created_by, taken_by, ended_at, "
        "message, result_exec_id"
    )

    def add_request(self, row: RequestRow) -> None:
        with self._write() as db:
            db.execute(
                f"INSERT INTO requests ({self._REQUEST_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row.request_id,
                    row.exec_id,
                    row.flow_name,
                    row.kind,
                    json.dumps(row.params),
                    row.status,
                    row.created_at,
                    row.created_by,
                    row.taken_by,
                    row.ended_at,
                    row.message,
                    row.result_exec_id,
                ),
            )

    def list_requests(
        self, *, exec_id: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[RequestRow]:
        clauses, params = [], []
        if exec_id is not None:
            clauses.append("exec_id = ?")
            params.append(exec_id)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._read(
            f"SELECT {self._REQUEST_COLS} FROM requests{where} ORDER BY created_at LIMIT ?", (*params, limit)
        )
        return [
            RequestRow(
                request_id=r[0],
                exec_id=r[1],
                flow_name=r[2],
                kind=r[3],
                params=json.loads(r[4]) if r[4] else {},
                status=r[5],
                created_at=r[6],
                created_by=r[7],
                taken_by=r[8],
                ended_at=r[9],
                message=r[10],
                result_exec_id=r[11],
            )
            for r in rows
        ]

    def take_request(self, request_id: str, taken_by: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE requests SET status = 'taken', taken_by = ? WHERE request_id = ? AND status = 'pending'",
                (taken_by, request_id),
            )
            return cur.rowcount == 1

    def finish_request(
        self, request_id: str, *, status: str, message: str | None = None, result_exec_id: str | None = None
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE requests SET status = ?, ended_at = ?, message = ?, result_exec_id = ? WHERE request_id = ?",
                (status, time.time(), message, result_exec_id, request_id),
            )

    def change_token(self) -> int:
        return int(self._read("PRAGMA data_version")[0][0])

    def integrity_check(self) -> str:
        return str(self._read("PRAGMA integrity_check")[0][0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    _WAITING_FOR = {
        "input": "EXISTS (SELECT 1 FROM calls c WHERE c.exec_id = executions.exec_id "
        "AND c.kind = 'wait' AND c.status = 'waiting')",
        "decision": "EXISTS (SELECT 1 FROM calls c WHERE c.exec_id = executions.exec_id AND c.paused = 1)",
    }

    def search_executions(
        self,
        *,
        flow_contains: str | None = None,
        status: str | None = None,
        waiting_for: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[ExecutionRow], int]:
        clauses: list[str] = []
        params: list[Any] = []
        if flow_contains:
            # the distinct flow names, walked through executions_by_flow (one seek per name), then
            # the matching rows by that index: ~1 ms on 100,000 executions where testing every
            # row's name costs ~17 ms
            names = [
                r[0]
                for r in self._read(
                    "WITH RECURSIVE names(n) AS (SELECT min(flow_name) FROM executions UNION ALL "
                    "SELECT (SELECT min(flow_name) FROM executions WHERE flow_name > n) FROM names "
                    "WHERE n IS NOT NULL) SELECT n FROM names WHERE n IS NOT NULL AND instr(lower(n), lower(?)) > 0",
                    (flow_contains,),
                )
            ]
            if not names:
                return [], 0
            if len(names) <= 500:
                clauses.append(f"flow_name IN ({','.join('?' * len(names))})")
                params.extend(names)
            else:
                clauses.append("instr(lower(flow_name), lower(?)) > 0")
                params.append(flow_contains)
        if waiting_for is not None:
            clauses.append("status = 'waiting'")
            clauses.append(self._WAITING_FOR[waiting_for])
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._lock:
            rows = self._read(
                f"SELECT {_EXEC_COLS} FROM executions{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
            total = int(self._read(f"SELECT count(*) FROM executions{where}", params)[0][0])
        return [_exec_row(r) for r in rows], total

    def count_waiting_for_human(self) -> dict[str, int]:
        row = self._read(
            "SELECT "
            + ", ".join(f"coalesce(sum({cond}), 0)" for cond in self._WAITING_FOR.values())
            + " FROM executions WHERE status = 'waiting'"
        )[0]
        return {"input": int(row[0]), "decision": int(row[1])}


_open_journals: dict[str, tuple[SqliteJournal, tuple[int, int] | None]] = {}
_open_lock = threading.Lock()


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def open_journal(path: str | os.PathLike[str]) -> SqliteJournal:
    """The process-wide journal for ``path`` (opened, checked and migrated once).

    When the file was deleted or replaced since it was opened, the new file is opened.
    """
    key = str(Path(path).expanduser().resolve())
    ident = _identity(key)
    with _open_lock:
        cached = _open_journals.get(key)
        if cached is not None and ident is not None and cached[1] == ident:
            return cached[0]
        journal = SqliteJournal(key)
        _open_journals[key] = (journal, _identity(key))
        return journal
