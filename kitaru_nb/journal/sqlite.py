"""The SQLite journal: prepared SQL on one sqlite3 connection, WAL, one transaction per write.

Every write goes through ``SqliteJournal._write``: one ``BEGIN IMMEDIATE`` transaction of
prepared statements (the hot path of a checkpoint is two of them). Rows are read by column
name. ``journal.trace(print)`` shows every statement while debugging.

No sqlite-utils: the journal needs none of its table helpers, and its migrations (timestamps as
text, a deferred ``BEGIN``) do not fit a file that several processes may open and migrate at
once; ``migrations.py`` keeps named, atomic migrations recorded in ``_kitaru_migrations``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from kitaru_nb.errors import KitaruBackendError
from kitaru_nb.journal.base import (
    LAST_POSITION,
    ArtifactRow,
    AttemptRow,
    CallRow,
    Completed,
    ExecutionRow,
    RequestRow,
    StoredValue,
    calls_of,
    interrupted_failure,
    merge_metadata,
    misnamed,
)
from kitaru_nb.journal.files import (
    APPLICATION_ID,
    SQLITE_MAGIC,
    UNTOUCHED,
    Header,
    read_header,
    read_only_reason,
    refusal,
)
from kitaru_nb.journal.migrations import LATEST_VERSION, MIGRATIONS
from kitaru_nb.models import FailureInfo
from kitaru_nb.types import AttemptStatus, CallKind, CallStatus, ExecutionStatus, FailureOrigin

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT_MS", "SqliteJournal", "open_journal"]

BUSY_TIMEOUT_MS = 15_000
#: how much of the journal file reads map into memory (address space, not memory: pages are the
#: operating system's file cache, shared by every process reading the journal)
MMAP_BYTES = 1 << 30
#: WAL pages after which a commit copies the WAL into the journal file (SQLite's automatic checkpoint)
WAL_PAGES = 4000

_EXEC_COLS = (
    "seq, exec_id, flow_name, kind, status, started_at, ended_at, owner_pid, original_exec_id, "
    "replay_from, failure_origin, failure_type, failure_message, failure_traceback, meta, "
    "inputs_format, inputs_preview, result_format, result_preview, owner, metadata"
)
_CALL_COLS = (
    "call_id, exec_id, idx, kind, name, status, started_at, ended_at, fingerprint, original_call_id, "
    "failure_origin, failure_type, failure_message, failure_traceback, paused, wait_schema, "
    "wait_question, wait_metadata, wait_timeout, output_format, output_preview, answered_by, metadata, "
    "checkpoint_type, input_key, source_exec_id, checkpoint_name, first_attempt"
)
_ARTIFACT_COLS = "artifact_id, exec_id, call_id, attempt_id, name, kind, tags, format, preview, created_at"
_ATTEMPT_COLS = (
    "attempt_id, call_id, exec_id, number, status, started_at, ended_at, "
    "failure_origin, failure_type, failure_message, failure_traceback, worker"
)

#: column name -> position in the rows of one query (rows are read by name through it)
Cols = dict[str, int]


class Many(NamedTuple):
    """A statement run once per parameter row (``executemany``) inside a write."""

    sql: str
    rows: Sequence[Sequence[Any]]


#: a step of a write: (sql, params), Many(sql, rows), or a function of the connection
Step = tuple[str, Sequence[Any]] | Many | Callable[[sqlite3.Connection], Any]


# stored text -> enum member by dict lookup (calling the enum class costs ~0.6 us a row)
_EXEC_STATUS = {m.value: m for m in ExecutionStatus}
_CALL_STATUS = {m.value: m for m in CallStatus}
_ATTEMPT_STATUS = {m.value: m for m in AttemptStatus}
_CALL_KIND = {m.value: m for m in CallKind}
_FAILURE_ORIGIN = {m.value: m for m in FailureOrigin}


def _failure(r: Sequence[Any], c: Cols) -> FailureInfo | None:
    origin = r[c["failure_origin"]]
    if origin is None:
        return None
    return FailureInfo(
        origin=FailureOrigin(origin),
        message=r[c["failure_message"]] or "",
        exception_type=r[c["failure_type"]],
        traceback=r[c["failure_traceback"]],
    )


def _failure_cols(f: FailureInfo | None) -> tuple[str | None, str | None, str | None, str | None]:
    if f is None:
        return (None, None, None, None)
    return (f.origin.value, f.exception_type, f.message, f.traceback)


def _exec_row(r: Sequence[Any], c: Cols) -> ExecutionRow:
    fmt, rfmt = r[c["inputs_format"]], r[c["result_format"]]
    return ExecutionRow(
        seq=r[c["seq"]],
        exec_id=r[c["exec_id"]],
        flow_name=r[c["flow_name"]],
        kind=r[c["kind"]],
        status=_EXEC_STATUS[r[c["status"]]],
        started_at=r[c["started_at"]],
        ended_at=r[c["ended_at"]],
        owner_pid=r[c["owner_pid"]],
        original_exec_id=r[c["original_exec_id"]],
        replay_from=r[c["replay_from"]],
        failure=_failure(r, c),
        meta=json.loads(r[c["meta"]]) if r[c["meta"]] else {},
        inputs=StoredValue(fmt, r[c["inputs_preview"]] or "", (r[c["inputs"]] if "inputs" in c else None))
        if fmt
        else None,
        result=StoredValue(rfmt, r[c["result_preview"]] or "", (r[c["result"]] if "result" in c else None))
        if rfmt
        else None,
        owner=json.loads(r[c["owner"]]) if r[c["owner"]] else None,
        metadata=json.loads(r[c["metadata"]]) if r[c["metadata"]] else None,
    )


_CALL_FIELDS = (
    "call_id", "exec_id", "idx", "kind", "name", "status", "started_at", "ended_at", "fingerprint",
    "original_call_id", "failure_origin", "paused", "wait_schema", "wait_question", "wait_metadata",
    "wait_timeout", "output_format", "answered_by", "metadata", "checkpoint_type", "input_key",
    "source_exec_id", "checkpoint_name", "first_attempt", "output_preview",
)  # fmt: skip


def _call_rows(rows: Sequence[Sequence[Any]], c: Cols) -> list[CallRow]:
    """Rows of ``calls`` as CallRows: the column positions are looked up once per query, not per row
    (a resume reads every position of an execution)."""
    (
        i_call, i_exec, i_idx, i_kind, i_name, i_status, i_start, i_end, i_fp, i_orig, i_forig, i_paused,
        i_schema, i_question, i_wmeta, i_timeout, i_fmt, i_by, i_meta, i_type, i_key, i_src, i_cname, i_first,
        i_preview,
    ) = (c[name] for name in _CALL_FIELDS)  # fmt: skip
    i_out = c.get("output")
    kinds, statuses, loads = _CALL_KIND, _CALL_STATUS, json.loads
    out = []
    for r in rows:
        fmt = r[i_fmt]
        meta = r[i_meta]
        out.append(
            CallRow(
                r[i_call],
                r[i_exec],
                r[i_idx],
                kinds[r[i_kind]],
                r[i_name],
                statuses[r[i_status]],
                r[i_start],
                r[i_end],
                r[i_fp],
                r[i_orig],
                _failure(r, c) if r[i_forig] is not None else None,
                bool(r[i_paused]),
                r[i_schema],
                r[i_question],
                r[i_wmeta],
                r[i_timeout],
                StoredValue(fmt, r[i_preview] or "", r[i_out] if i_out is not None else None) if fmt else None,
                r[i_by],
                loads(meta) if meta else None,
                r[i_type],
                r[i_key],
                r[i_src],
                r[i_cname],
                r[i_first],
            )
        )
    return out


def _call_row(r: Sequence[Any], c: Cols) -> CallRow:
    return _call_rows([r], c)[0]


def _artifact_row(r: Sequence[Any], c: Cols) -> ArtifactRow:
    return ArtifactRow(
        artifact_id=r[c["artifact_id"]],
        exec_id=r[c["exec_id"]],
        call_id=r[c["call_id"]],
        attempt_id=r[c["attempt_id"]],
        name=r[c["name"]],
        kind=r[c["kind"]],
        tags=json.loads(r[c["tags"]]),
        value=StoredValue(r[c["format"]], r[c["preview"]] or "", r[c["data"]] if "data" in c else None),
        created_at=r[c["created_at"]],
    )


def _fits_in_row(call: CallRow, attempt: AttemptRow) -> bool:
    """A first attempt that completed and spans its call exactly can live in the call's row."""
    return (
        attempt.number == 1
        and attempt.status == AttemptStatus.COMPLETED
        and call.status == CallStatus.COMPLETED
        and attempt.failure is None
        and attempt.started_at == call.started_at
        and attempt.ended_at == call.ended_at
        and attempt.worker is None
    )


def _inline_attempt(call: CallRow) -> AttemptRow:
    assert call.first_attempt is not None
    return AttemptRow(
        call.first_attempt, call.call_id, call.exec_id, 1, AttemptStatus.COMPLETED, call.started_at, call.ended_at
    )


def _pid_start(owner: str | None) -> int | None:
    """The start time recorded with the owner's pid (so a reused pid is not taken for it)."""
    if not owner:
        return None
    try:
        start = json.loads(owner).get("pid_start")
    except (ValueError, AttributeError):
        return None
    return start if isinstance(start, int) else None


def _attempt_row(r: Sequence[Any], c: Cols) -> AttemptRow:
    return AttemptRow(
        attempt_id=r[c["attempt_id"]],
        call_id=r[c["call_id"]],
        exec_id=r[c["exec_id"]],
        number=r[c["number"]],
        status=_ATTEMPT_STATUS[r[c["status"]]],
        started_at=r[c["started_at"]],
        ended_at=r[c["ended_at"]],
        failure=_failure(r, c),
        worker=r[c["worker"]],
    )


def _check_file(path: Path) -> None:
    """Refuse, without opening it with SQLite, a file that is not a journal this kitaru_nb can use."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        head = b""
    except IsADirectoryError:
        raise KitaruBackendError(
            f"{path} is a folder; the journal is a file: use a path like {path / 'kitaru.db'}"
        ) from None
    except OSError as exc:
        raise KitaruBackendError(f"cannot read the journal file {path}: {exc}") from exc
    if head and head != SQLITE_MAGIC:
        raise KitaruBackendError(f"{path} is not a kitaru_nb journal (not an SQLite file). {UNTOUCHED}")
    try:
        header = read_header(path)
    except OSError as exc:
        raise KitaruBackendError(f"cannot read the journal file {path}: {exc}") from exc
    reason = refusal(path, header, LATEST_VERSION) if header is not None else None
    if reason is not None:
        raise KitaruBackendError(f"{reason} {UNTOUCHED}")


class _Done:
    """What a write leaves for its caller: the last statement's ``rowcount`` and ``lastrowid`` (never
    the cursor itself, see ``SqliteJournal._transaction``)."""

    __slots__ = ("lastrowid", "rowcount")

    def __init__(self, rowcount: int, lastrowid: int | None = None):
        self.rowcount = rowcount
        self.lastrowid = lastrowid


class _Entry:
    """A write asked for by one caller: its steps, then its outcome."""

    __slots__ = ("done", "error", "result", "steps")

    def __init__(self, steps: tuple[Step, ...]):
        self.steps = steps
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


#: positions not done; the partial index calls_open holds only these (a checkpoint written completed
#: in one write never enters it)
_OPEN = "status NOT IN ('completed', 'reused', 'skipped')"


def _waiting_for(open_from: str) -> dict[str, str]:
    """What an execution waits for, as conditions on its open positions (a waiting wait and a paused
    call are open: found through the partial index calls_open, read from ``open_from``)."""
    return {
        "input": f"EXISTS (SELECT 1 FROM {open_from} WHERE exec_id = executions.exec_id AND {_OPEN} "
        "AND kind = 'wait' AND status = 'waiting')",
        "decision": f"EXISTS (SELECT 1 FROM {open_from} WHERE exec_id = executions.exec_id AND {_OPEN} AND paused = 1)",
    }


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
        #: why this process cannot write the journal (None: it can); reads still work
        self.read_only = read_only_reason(self.path)
        if self.read_only is not None and not self.path.exists():
            raise KitaruBackendError(f"cannot create the journal {self.path}: {self.read_only}. {_WRITABLE}")
        self._lock = threading.RLock()
        #: execution id -> its seq, the high half of its calls' row keys (_rid); never changes
        self._seqs: dict[str, int] = {}
        # group commit (see _write): writes waiting for the one being committed
        self._group = threading.Condition(threading.Lock())
        self._queue: list[_Entry] = []
        self._writing = False
        try:
            conn = sqlite3.connect(
                self._uri(), uri=True, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as exc:
            raise KitaruBackendError(f"cannot open the journal {self.path}: {exc}") from exc
        self.conn = conn
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            conn.close()
            if self.read_only is not None:
                raise KitaruBackendError(
                    f"cannot read the journal {self.path} ({exc}): {self.read_only}. {_WRITABLE}"
                ) from exc
            raise KitaruBackendError(f"{self.path} is not a usable kitaru_nb journal ({exc}). {UNTOUCHED}") from exc
        except BaseException:
            conn.close()
            raise

    def _uri(self) -> str:
        uri = self.path.as_uri()
        if self.read_only is None:
            return uri
        if Path(f"{self.path}-wal").exists():
            return uri + "?mode=ro"  # another process is using it: read through its -wal and -shm
        # nobody writes it now and this process cannot: read the file as it is, creating no -wal or
        # -shm that a read-only process could not remove again
        return uri + "?mode=ro&immutable=1"

    # -- opening and migrations ---------------------------------------------------------
    def _open(self) -> None:
        ex = self.conn.execute
        ex(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # reads map the file instead of copying its pages: counting a big execution's positions (a walk
        # over its range of the calls' key) costs about half
        ex(f"PRAGMA mmap_size = {MMAP_BYTES}")
        # one read transaction: another process may be creating the journal right now, and the
        # header (application_id, user_version) and the tables must be seen as of one moment
        ex("BEGIN")
        try:
            app_id = ex("PRAGMA application_id").fetchone()[0] & 0xFFFFFFFF
            version = ex("PRAGMA user_version").fetchone()[0]
            tables = ex("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0]
        finally:
            ex("COMMIT")
        reason = refusal(self.path, Header(app_id, version, bool(tables)), LATEST_VERSION)
        if reason is not None:
            raise KitaruBackendError(f"{reason} {UNTOUCHED}")
        if self.read_only is not None:
            if version < LATEST_VERSION:
                raise KitaruBackendError(
                    f"the journal {self.path} needs upgrading to schema version {LATEST_VERSION} (it has "
                    f"{version}), but {self.read_only}. {_WRITABLE}"
                )
            return
        if ex("PRAGMA journal_mode").fetchone()[0] != "wal":
            ex("PRAGMA journal_mode = WAL")
        ex("PRAGMA synchronous = NORMAL")
        # copy the WAL into the file every WAL_PAGES pages, not SQLite's 1,000: a commit writes one or two
        # pages, mostly the same leaf again, which a checkpoint copies once; fewer, longer checkpoints
        # took 2-7 us off each trivial checkpoint (a 16 MB WAL at most, a ~10 ms copy every ~2,000)
        ex(f"PRAGMA wal_autocheckpoint = {WAL_PAGES}")
        if version < LATEST_VERSION:
            self._write(self._migrate)

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        # re-read inside the write lock: another process may have migrated meanwhile
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("CREATE TABLE IF NOT EXISTS _kitaru_migrations (name TEXT PRIMARY KEY, applied_at REAL)")
        for number, (name, apply) in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            apply(conn)
            # seconds since the epoch, like every other time in the journal
            conn.execute("INSERT INTO _kitaru_migrations VALUES (?, ?)", (name, time.time()))
            conn.execute(f"PRAGMA user_version = {number}")

    def _write(self, *steps: Step) -> Any:
        """Run ``steps`` in one ``BEGIN IMMEDIATE`` transaction; returns what the last step returned
        (a cursor: ``rowcount``, ``lastrowid``). Rolled back as a whole when a step fails.

        Group commit: writes that threads of this process ask for while another one is committing
        wait, then go together in the next transaction (each caller returns once its own steps are
        committed, with its own result or error), so concurrent checkpoints share commits."""
        if self.read_only is not None:
            raise KitaruBackendError(
                f"cannot write to the journal {self.path}: {self.read_only}. Nothing was written. {_WRITABLE}"
            )
        entry = _Entry(steps)
        group = self._group
        with group:
            self._queue.append(entry)
            while self._writing and not entry.done:
                group.wait()
            if not entry.done:
                self._writing = True
                batch, self._queue = self._queue, []
                if entry not in batch:  # taken by a writer that was interrupted before writing it
                    batch.append(entry)
        if not entry.done:
            try:
                self._commit_batch(batch, entry)
            finally:
                with group:
                    self._writing = False
                    if self._queue or len(batch) > 1:  # someone waits: for its turn, or for this commit
                        group.notify_all()
        if entry.error is not None:
            raise entry.error
        return entry.result

    def _commit_batch(self, batch: list[_Entry], own: _Entry) -> None:
        with self._lock:
            if len(batch) > 1:
                try:
                    self._transaction(batch)
                    return
                except Exception:
                    pass  # rolled back: each write on its own, so each gets its own outcome
                except BaseException:
                    # interrupted while writing for others: they go in the next transaction
                    with self._group:
                        self._queue[:0] = [e for e in batch if e is not own]
                    raise
            for i, e in enumerate(batch):
                try:
                    self._transaction([e])
                except Exception as exc:
                    e.error = exc
                    e.done = True
                except BaseException:
                    with self._group:  # interrupted: the others not written yet go in the next transaction
                        self._queue[:0] = [x for x in batch[i + 1 :] if x is not own]
                    raise

    def _transaction(self, entries: list[_Entry]) -> None:
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._error(exc) from exc
        try:
            for e in entries:
                result: Any = None
                for step in e.steps:
                    if type(step) is tuple:
                        result = conn.execute(step[0], step[1])
                    elif isinstance(step, Many):
                        result = conn.executemany(step.sql, step.rows)
                    else:
                        result = step(conn)  # type: ignore[operator]
                e.result = result
            conn.execute("COMMIT")
        except BaseException as exc:
            for e in entries:
                e.result = None  # (its cursor, see below)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise self._error(exc) from exc
            raise
        for e in entries:
            # a cursor must not outlive the lock: dropping one resets its statement, which the
            # connection's statement cache may have handed to another thread's write by then
            r = e.result
            if isinstance(r, sqlite3.Cursor):
                e.result = _Done(r.rowcount, r.lastrowid)
                r.close()
            e.done = True

    def _error(self, exc: sqlite3.OperationalError) -> KitaruBackendError:
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith("SQLITE_READONLY"):
            reason = read_only_reason(self.path) or f"SQLite refused to write ({exc})"
            return KitaruBackendError(
                f"cannot write to the journal {self.path}: {reason}. Nothing was written. {_WRITABLE}"
            )
        if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED"):
            return KitaruBackendError(f"the journal {self.path} is locked by another process ({exc}); try again")
        return KitaruBackendError(f"cannot write to the journal {self.path}: {exc}")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[Any], Cols]:
        """The rows of a query and where each column is in them: ``r[c["exec_id"]]``."""
        with self._lock:
            try:
                cur = self.conn.execute(sql, params)
                rows = cur.fetchall()
            except sqlite3.Error as exc:
                raise KitaruBackendError(f"cannot read the journal {self.path}: {exc}") from exc
            cols = {d[0]: i for i, d in enumerate(cur.description)}
            cur.close()  # inside the lock (see _transaction)
        return rows, cols

    @contextmanager
    def trace(self, fn: Callable[[str], object]) -> Iterator[None]:
        """Pass every SQL statement this journal runs to ``fn`` (``with journal.trace(print): ...``)."""
        self.conn.set_trace_callback(fn)
        try:
            yield
        finally:
            self.conn.set_trace_callback(None)

    # -- executions ---------------------------------------------------------------------
    _INSERT_EXECUTION = (
        "INSERT INTO executions (exec_id, flow_name, kind, status, started_at, ended_at, owner_pid, "
        "original_exec_id, replay_from, failure_origin, failure_type, failure_message, "
        "failure_traceback, meta, inputs_format, inputs_preview, result_format, result_preview, "
        "inputs, result, owner, metadata) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )

    @staticmethod
    def _execution_params(row: ExecutionRow) -> tuple[Any, ...]:
        i, r = row.inputs, row.result
        return (
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
            json.dumps(row.metadata) if row.metadata is not None else None,
        )

    def create_execution(self, row: ExecutionRow) -> None:
        cur = self._write((self._INSERT_EXECUTION, self._execution_params(row)))
        row.seq = cur.lastrowid or 0
        self._seqs[row.exec_id] = row.seq

    def get_execution(self, exec_id: str, *, with_values: bool = True, with_result: bool = True) -> ExecutionRow | None:
        values = (", inputs, result" if with_result else ", inputs, NULL") if with_values else ""
        rows, c = self._read(f"SELECT {_EXEC_COLS}{values} FROM executions WHERE exec_id = ?", (exec_id,))
        if not rows:
            return None
        return _exec_row(rows[0], c)

    def find_exec_ids(self, prefix: str, limit: int = 2) -> list[str]:
        hi = prefix + "\uffff"
        rows, c = self._read(
            "SELECT exec_id FROM executions WHERE exec_id >= ? AND exec_id < ? LIMIT ?", (prefix, hi, limit)
        )
        return [r[c["exec_id"]] for r in rows]

    @staticmethod
    def _where(**equal: Any) -> tuple[str, list[Any]]:
        """``WHERE col = ? AND ...`` for the columns given a value (None: no condition)."""
        given = [(column, value) for column, value in equal.items() if value is not None]
        where = (" WHERE " + " AND ".join(f"{column} = ?" for column, _ in given)) if given else ""
        return where, [value for _, value in given]

    def list_executions(
        self, *, flow: str | None = None, status: ExecutionStatus | None = None, limit: int = 50, offset: int = 0
    ) -> list[ExecutionRow]:
        where, params = self._where(flow_name=flow, status=status)
        rows, c = self._read(
            f"SELECT {_EXEC_COLS} FROM executions{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_exec_row(r, c) for r in rows]

    def count_executions(self, *, flow: str | None = None, status: ExecutionStatus | None = None) -> int:
        where, params = self._where(flow_name=flow, status=status)
        rows, c = self._read(f"SELECT count(*) AS n FROM executions{where}", params)
        return int(rows[0][c["n"]])

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
        return bool(self._write((sql, params)).rowcount == 1)

    def set_execution_meta(self, exec_id: str, meta: dict[str, Any]) -> None:
        self._write(("UPDATE executions SET meta = ? WHERE exec_id = ?", (json.dumps(meta), exec_id)))

    # -- calls and attempts -------------------------------------------------------------
    _INSERT_CALL = (
        "INSERT INTO calls (rid, call_id, exec_id, idx, kind, name, status, started_at, ended_at, fingerprint, "
        "original_call_id, failure_origin, failure_type, failure_message, failure_traceback, paused, "
        "wait_schema, wait_question, wait_metadata, wait_timeout, output_format, output_preview, output, "
        "answered_by, metadata, checkpoint_type, input_key, source_exec_id, checkpoint_name, first_attempt, "
        "original_rid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    _INSERT_ATTEMPT = (
        "INSERT INTO attempts (attempt_id, call_id, exec_id, number, status, started_at, ended_at, "
        "failure_origin, failure_type, failure_message, failure_traceback) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    )

    #: a call row with none of the optional columns (most checkpoints): the others take their
    #: defaults, which costs SQLite and the driver about a quarter less than binding them as NULL
    _INSERT_PLAIN_CALL = (
        "INSERT INTO calls (rid, call_id, exec_id, idx, kind, name, status, started_at, ended_at, fingerprint, "
        "output_format, output_preview, output, first_attempt) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )

    # -- the calls' row keys: (execution seq << 32) | position ----------------------------------
    def _seq(self, exec_id: str) -> int | None:
        """The seq of an execution (None: not in the journal), remembered: it never changes."""
        seq = self._seqs.get(exec_id)
        if seq is None:
            rows, _ = self._read("SELECT seq FROM executions WHERE exec_id = ?", (exec_id,))
            if not rows:
                return None
            seq = self._seqs[exec_id] = int(rows[0][0])
        return seq

    def _rid(self, call_id: str | None) -> int:
        """The row key of a call named by its id (-1, which no row has, for an id of no call here)."""
        if call_id is None:
            return -1
        exec_id, _, position = call_id.rpartition(".")
        seq = self._seq(exec_id) if len(position) == 8 else None
        if seq is None:
            return -1
        try:
            return (seq << 32) | int(position, 16)
        except ValueError:
            return -1

    def _span(self, exec_id: str) -> tuple[int, int]:
        """The row keys ``[low, high]`` an execution's calls have (an empty range if it is not here)."""
        seq = self._seq(exec_id)
        return (1, 0) if seq is None else (seq << 32, (seq << 32) | LAST_POSITION)

    def _call_step(self, c: CallRow, first_attempt: str | None = None) -> tuple[str, tuple[Any, ...]]:
        """The statement writing this call row and its parameters (``first_attempt``: the id of an
        attempt kept in the row)."""
        if c.call_id != f"{c.exec_id}.{c.idx:08x}" or not 0 <= c.idx <= LAST_POSITION:  # misnamed(c), inlined
            raise misnamed(c)  # type: ignore[misc]
        seq = self._seq(c.exec_id)
        if seq is None:
            raise KitaruBackendError(
                f"call {c.call_id}: there is no execution {c.exec_id} in the journal {self.location}"
            )
        o = c.output
        text = str.__str__  # an enum member as its value, which the driver binds without adapting it
        head = (c.call_id, c.exec_id, c.idx, text(c.kind), c.name, text(c.status), c.started_at, c.ended_at)
        output = (o.format, o.preview, o.data) if o else (None, None, None)
        first = first_attempt or c.first_attempt
        if (
            c.original_call_id is None
            and c.failure is None
            and not c.paused
            and c.wait_schema is None
            and c.wait_question is None
            and c.wait_metadata is None
            and c.wait_timeout is None
            and c.answered_by is None
            and c.metadata is None
            and c.checkpoint_type is None
            and c.input_key is None
            and c.source_exec_id is None
            and c.checkpoint_name is None
        ):
            return SqliteJournal._INSERT_PLAIN_CALL, ((seq << 32) | c.idx, *head, c.fingerprint, *output, first)
        return SqliteJournal._INSERT_CALL, (
            (seq << 32) | c.idx,
            *head,
            c.fingerprint,
            c.original_call_id,
            *_failure_cols(c.failure),
            int(c.paused),
            c.wait_schema,
            c.wait_question,
            c.wait_metadata,
            c.wait_timeout,
            *output,
            c.answered_by,
            json.dumps(c.metadata) if c.metadata is not None else None,
            c.checkpoint_type,
            c.input_key,
            c.source_exec_id,
            c.checkpoint_name,
            first,
            self._rid(c.original_call_id),
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
        if attempt is not None and _fits_in_row(call, attempt):
            # a checkpoint done in one write: its only attempt lives in the call's row (one B-tree
            # less per checkpoint); readers rebuild it (_inline_attempt)
            self._write(self._call_step(call, attempt.attempt_id))
            return
        if attempt is None:
            self._write(self._call_step(call))
        else:
            self._write(self._call_step(call), (self._INSERT_ATTEMPT, self._attempt_params(attempt)))

    def insert_calls(self, calls: Sequence[CallRow], attempts: Sequence[AttemptRow] = ()) -> None:
        # an attempt that spans its call exactly lives in the call's row, as in insert_call
        by_call = {c.call_id: c for c in calls}
        first_of = {
            a.call_id: a.attempt_id for a in attempts if a.call_id in by_call and _fits_in_row(by_call[a.call_id], a)
        }
        inline = set(first_of.values())
        by_statement: dict[str, list[tuple[Any, ...]]] = {}
        for c in calls:
            sql, params = self._call_step(c, first_of.get(c.call_id))
            by_statement.setdefault(sql, []).append(params)
        steps: list[Step] = [Many(sql, rows) for sql, rows in by_statement.items()]
        rest = [self._attempt_params(a) for a in attempts if a.attempt_id not in inline]
        if rest:
            steps.append(Many(self._INSERT_ATTEMPT, rest))
        self._write(*steps)

    def restart_call(self, call_id: str, attempt: AttemptRow, *, fingerprint: str | None = None) -> None:
        self._write(
            (
                "UPDATE calls SET status = 'running', ended_at = NULL, paused = 0, failure_origin = NULL, "
                "failure_type = NULL, failure_message = NULL, failure_traceback = NULL, "
                "fingerprint = coalesce(?, fingerprint) WHERE rid = ?",
                (fingerprint, self._rid(call_id)),
            ),
            (self._INSERT_ATTEMPT, self._attempt_params(attempt)),
        )

    def start_attempt(self, attempt: AttemptRow) -> None:
        self._write((self._INSERT_ATTEMPT, self._attempt_params(attempt)))

    def fail_attempt(
        self, attempt_id: str, *, call_id: str, ended_at: float, failure: FailureInfo, worker: str | None = None
    ) -> None:
        self._write(
            (
                "UPDATE attempts SET status = 'failed', ended_at = ?, failure_origin = ?, failure_type = ?, "
                "failure_message = ?, failure_traceback = ?, worker = coalesce(?, worker) "
                "WHERE call_id = ? AND attempt_id = ?",
                (ended_at, *_failure_cols(failure), worker, call_id, attempt_id),
            )
        )

    _FINISH_CALL = (
        "UPDATE calls SET status = ?, ended_at = ?, failure_origin = ?, failure_type = ?, "
        "failure_message = ?, failure_traceback = ?, paused = ?, output_format = ?, "
        "output_preview = ?, output = ? WHERE rid = ?"
    )
    _FINISH_ATTEMPT = (
        "UPDATE attempts SET status = ?, ended_at = ?, failure_origin = ?, failure_type = ?, "
        "failure_message = ?, failure_traceback = ?, worker = coalesce(?, worker) "
        "WHERE call_id = ? AND attempt_id = ?"
    )

    def _finish_params(
        self,
        call_id: str,
        attempt_id: str | None,
        status: CallStatus,
        ended_at: float,
        output: StoredValue | None,
        failure: FailureInfo | None,
        paused: bool,
        worker: str | None,
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The parameters of _FINISH_CALL and _FINISH_ATTEMPT."""
        fcols = _failure_cols(failure)
        o = output
        call = (status, ended_at, *fcols, int(paused), o.format if o else None, o.preview if o else None)
        attempt_status = AttemptStatus.COMPLETED if failure is None else AttemptStatus.FAILED
        return (
            (*call, o.data if o else None, self._rid(call_id)),
            (attempt_status, ended_at, *fcols, worker, call_id, attempt_id),
        )

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
        call, attempt = self._finish_params(call_id, attempt_id, status, ended_at, output, failure, paused, worker)
        if attempt_id is None:
            self._write((self._FINISH_CALL, call))
        else:
            self._write((self._FINISH_ATTEMPT, attempt), (self._FINISH_CALL, call))

    def complete_calls(self, done: Sequence[Completed]) -> None:
        # finish_call with status=COMPLETED for many calls: each statement run once per call
        rows = [
            self._finish_params(
                d.call_id, d.attempt_id, CallStatus.COMPLETED, d.ended_at, d.output, None, False, d.worker
            )
            for d in done
        ]
        self._write(Many(self._FINISH_ATTEMPT, [a for _, a in rows]), Many(self._FINISH_CALL, [c for c, _ in rows]))

    def answer_wait(
        self, call_id: str, value: StoredValue, *, answered_at: float, answered_by: str | None = None
    ) -> bool:
        cur = self._write(
            (
                "UPDATE calls SET status = 'completed', ended_at = ?, output_format = ?, output_preview = ?, "
                "output = ?, answered_by = ? WHERE rid = ? AND kind = 'wait' AND status = 'waiting'",
                (answered_at, value.format, value.preview, value.data, answered_by, self._rid(call_id)),
            )
        )
        return bool(cur.rowcount == 1)

    def reopen_wait(self, call_id: str) -> bool:
        cur = self._write(
            (
                "UPDATE calls SET status = 'waiting', ended_at = NULL, failure_origin = NULL, failure_type = NULL, "
                "failure_message = NULL, failure_traceback = NULL WHERE rid = ? AND kind = 'wait' "
                "AND status = 'failed'",
                (self._rid(call_id),),
            )
        )
        return bool(cur.rowcount == 1)

    def decide_call(self, call_id: str, *, status: CallStatus, ended_at: float | None) -> bool:
        cur = self._write(
            (
                "UPDATE calls SET status = ?, paused = 0, ended_at = ? WHERE rid = ? AND paused = 1",
                (status, ended_at, self._rid(call_id)),
            )
        )
        return bool(cur.rowcount == 1)

    # with the stored output: a reused call that keeps no copy of a big output (base.shared) reads
    # the original call's bytes
    _WITH_OUTPUT = (
        ", ".join(f"c.{col.strip()}" for col in _CALL_COLS.split(","))
        + ", coalesce(c.output, o.output) AS output FROM calls c LEFT JOIN calls o ON c.output IS NULL "
        "AND c.output_format IS NOT NULL AND c.original_rid IS NOT NULL AND o.rid = c.original_rid"
    )

    def load_calls(self, exec_id: str, *, with_values: bool = True) -> list[CallRow]:
        if with_values:
            rows, c = self._read(
                f"SELECT {self._WITH_OUTPUT} WHERE c.rid BETWEEN ? AND ? ORDER BY c.rid", self._span(exec_id)
            )
        else:
            rows, c = self._read(
                f"SELECT {_CALL_COLS} FROM calls WHERE rid BETWEEN ? AND ? ORDER BY rid", self._span(exec_id)
            )
        return _call_rows(rows, c)

    def load_recorded(self, exec_id: str) -> list[CallRow]:
        rows, _ = self._read(
            "SELECT c.call_id, c.idx, c.kind, c.name, c.status, c.paused, c.failure_origin, c.failure_type, "
            "c.failure_message, c.failure_traceback, c.output_format, coalesce(c.output, o.output) "
            "FROM calls c LEFT JOIN calls o ON c.output IS NULL AND c.output_format IS NOT NULL "
            "AND c.original_rid IS NOT NULL AND o.rid = c.original_rid "
            "WHERE c.rid BETWEEN ? AND ? ORDER BY c.rid",
            self._span(exec_id),
        )
        kinds, statuses, origins = _CALL_KIND, _CALL_STATUS, _FAILURE_ORIGIN
        return [
            CallRow(
                call_id,
                exec_id,
                idx,
                kinds[kind],
                name,
                statuses[status],
                0.0,
                failure=FailureInfo(origins[origin], message or "", ftype, tb) if origin is not None else None,
                paused=bool(paused),
                output=StoredValue(fmt, "", data) if fmt else None,
            )
            for call_id, idx, kind, name, status, paused, origin, ftype, message, tb, fmt, data in rows
        ]

    def get_call(self, call_id: str, *, with_values: bool = True) -> CallRow | None:
        if with_values:
            rows, c = self._read(f"SELECT {self._WITH_OUTPUT} WHERE c.rid = ?", (self._rid(call_id),))
        else:
            rows, c = self._read(f"SELECT {_CALL_COLS} FROM calls WHERE rid = ?", (self._rid(call_id),))
        return _call_row(rows[0], c) if rows else None

    def find_cached(self, name: str, fingerprint: str, input_key: str) -> CallRow | None:
        rows, c = self._read(
            f"SELECT {_CALL_COLS}, output FROM calls WHERE input_key = ? AND name = ? AND fingerprint = ? "
            "AND status = 'completed' AND kind = 'checkpoint' ORDER BY started_at DESC LIMIT 1",
            (input_key, name, fingerprint),
        )
        return _call_row(rows[0], c) if rows else None

    def log_metadata(self, exec_id: str, call_id: str | None, metadata: dict[str, Any]) -> None:
        table, key, value = self._metadata_row(exec_id, call_id)

        def merge(conn: sqlite3.Connection) -> None:
            # read and write in one transaction: two threads logging at once both land
            row = conn.execute(f"SELECT metadata FROM {table} WHERE {key} = ?", (value,)).fetchone()
            if row is None:
                raise KitaruBackendError(
                    f"kitaru.log(): no {table[:-1]} {call_id or exec_id} in the journal {self.location}"
                )
            merged = merge_metadata(json.loads(row[0]) if row[0] else None, metadata)
            conn.execute(f"UPDATE {table} SET metadata = ? WHERE {key} = ?", (json.dumps(merged), value))

        self._write(merge)

    def _metadata_row(self, exec_id: str, call_id: str | None) -> tuple[str, str, Any]:
        """Where ``kitaru.log`` writes: (table, key column, key)."""
        return ("calls", "rid", self._rid(call_id)) if call_id is not None else ("executions", "exec_id", exec_id)

    def save_artifact(self, row: ArtifactRow) -> None:
        v = row.value
        self._write(
            ("DELETE FROM artifacts WHERE call_id = ? AND name = ?", (row.call_id, row.name)),
            (
                "INSERT INTO artifacts (artifact_id, exec_id, call_id, attempt_id, name, kind, tags, format, "
                "preview, data, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row.artifact_id,
                    row.exec_id,
                    row.call_id,
                    row.attempt_id,
                    row.name,
                    row.kind,
                    json.dumps(row.tags),
                    v.format,
                    v.preview,
                    v.data,
                    row.created_at,
                ),
            ),
        )

    def list_artifacts(
        self, *, exec_id: str | None = None, call_ids: Sequence[str] = (), with_values: bool = False
    ) -> list[ArtifactRow]:
        out: list[ArtifactRow] = []
        cols = _ARTIFACT_COLS + (", data" if with_values else "")
        if exec_id is not None:
            rows, c = self._read(f"SELECT {cols} FROM artifacts WHERE exec_id = ? ORDER BY rowid", (exec_id,))
            out.extend(_artifact_row(r, c) for r in rows)
        seen = {a.artifact_id for a in out}
        ids = list(dict.fromkeys(call_ids))
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            chunk = ids[start : start + 500]
            rows, c = self._read(
                f"SELECT {cols} FROM artifacts WHERE call_id IN ({','.join('?' * len(chunk))}) ORDER BY rowid", chunk
            )
            out.extend(a for a in (_artifact_row(r, c) for r in rows) if a.artifact_id not in seen)
        out.sort(key=lambda a: a.created_at)
        return out

    def get_artifact(self, artifact_id: str) -> ArtifactRow | None:
        rows, c = self._read(f"SELECT {_ARTIFACT_COLS}, data FROM artifacts WHERE artifact_id = ?", (artifact_id,))
        return _artifact_row(rows[0], c) if rows else None

    def list_attempts(self, exec_id: str) -> list[AttemptRow]:
        rows, c = self._read(
            f"SELECT {_ATTEMPT_COLS} FROM attempts WHERE call_id >= ? AND call_id < ? "
            "UNION ALL SELECT first_attempt, call_id, exec_id, 1, 'completed', started_at, ended_at, NULL, NULL, "
            "NULL, NULL, NULL FROM calls WHERE rid BETWEEN ? AND ? AND first_attempt IS NOT NULL",
            (*calls_of(exec_id), *self._span(exec_id)),
        )
        out = [_attempt_row(r, c) for r in rows]
        out.sort(key=lambda a: (a.call_id, a.number))  # call ids sort by position
        return out

    def load_tail(self, exec_id: str, limit: int) -> tuple[list[CallRow], list[AttemptRow]]:
        return self.load_page(exec_id, limit=limit, newest_first=True)

    def load_page(
        self, exec_id: str, *, after: int = -1, limit: int = 100, newest_first: bool = False
    ) -> tuple[list[CallRow], list[AttemptRow]]:
        low, high = self._span(exec_id)
        if newest_first:
            # before position ``after`` when given
            high = high if after < 0 else min(high, low + after - 1)
            rows, c = self._read(
                f"SELECT {_CALL_COLS} FROM calls WHERE rid BETWEEN ? AND ? ORDER BY rid DESC LIMIT ?",
                (low, high, limit),
            )
            calls = _call_rows(rows[::-1], c)
        else:
            low = low if after < 0 else low + after + 1
            rows, c = self._read(
                f"SELECT {_CALL_COLS} FROM calls WHERE rid BETWEEN ? AND ? ORDER BY rid LIMIT ?",
                (low, high, limit),
            )
            calls = _call_rows(rows, c)
        return calls, self._attempts_of(calls)

    def _attempts_of(self, calls: list[CallRow]) -> list[AttemptRow]:
        """The attempts of these calls (a completed first attempt kept in its call's row included)."""
        out = [_inline_attempt(x) for x in calls if x.first_attempt]
        ids = [x.call_id for x in calls if not x.first_attempt]
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            chunk = ids[start : start + 500]
            arows, ac = self._read(
                f"SELECT {_ATTEMPT_COLS} FROM attempts WHERE call_id IN ({','.join('?' * len(chunk))})", chunk
            )
            out.extend(_attempt_row(r, ac) for r in arows)
        return out

    #: where open positions are read from (SQLite is told the partial index; other databases pick it)
    _OPEN_FROM = "calls INDEXED BY calls_open"

    #: how many calls an execution has: a count over its range of the calls' key
    _COUNT = "SELECT count(*) AS n FROM calls WHERE rid BETWEEN ? AND ?"

    def execution_summary(self, exec_id: str) -> tuple[dict[str, int], list[CallRow], list[AttemptRow]]:
        rows, c = self._read(
            f"SELECT {_CALL_COLS} FROM {self._OPEN_FROM} WHERE exec_id = ? AND {_OPEN} ORDER BY idx",
            (exec_id,),
        )
        open_calls = _call_rows(rows, c)
        total = self._read(self._COUNT, self._span(exec_id))[0][0][0]
        summary = {
            "done": int(total) - len(open_calls),
            "total": int(total),
            "open_waits": sum(1 for x in open_calls if x.kind == CallKind.WAIT and x.status == CallStatus.WAITING),
            "paused": sum(1 for x in open_calls if x.paused),
        }
        return summary, open_calls, self._attempts_of(open_calls)

    #: the running attempts of running executions (or ones cancelled while they ran), found through
    #: the range of attempt keys each such execution's calls have
    _RUNNING_ATTEMPTS = (
        "executions e JOIN attempts a ON a.call_id >= e.exec_id || '.' AND a.call_id < e.exec_id || '/' "
        "WHERE e.status IN ('running', 'cancelled') AND a.status = 'running'"
    )

    def recover_interrupted(self, is_alive: Callable[[int, int | None], bool]) -> int:
        if self.read_only is not None:
            return 0  # a process that cannot write leaves it to one that can
        # a running attempt belongs to a running execution (or one cancelled while it ran)
        rows, c = self._read(f"SELECT a.attempt_id, a.call_id, e.owner_pid, e.owner FROM {self._RUNNING_ATTEMPTS}")
        attempt, call, pid = c["attempt_id"], c["call_id"], c["owner_pid"]
        dead = [
            (r[attempt], r[call], r[pid])
            for r in rows
            if r[pid] is None or not is_alive(int(r[pid]), _pid_start(r[c["owner"]]))
        ]
        if not dead:
            return 0
        self._write(
            Many(
                "UPDATE attempts SET status = 'interrupted' WHERE call_id = ? AND attempt_id = ? AND status = 'running'",
                [(c, a) for a, c, _ in dead],
            ),
            # the call is not running any more either: it failed, and resume runs it again
            Many(
                "UPDATE calls SET status = 'failed', failure_origin = ?, failure_type = ?, failure_message = ?, "
                "failure_traceback = NULL WHERE rid = ? AND status = 'running'",
                [(*_failure_cols(interrupted_failure(pid))[:3], self._rid(c)) for _, c, pid in dead],
            ),
        )
        return len(dead)

    # -- what a kernel that defines a flow may carry out ------------------------------------
    def ready_to_continue(self, flow_names: Sequence[str]) -> list[ExecutionRow]:
        if not flow_names:
            return []
        marks = ",".join("?" * len(flow_names))
        rows, c = self._read(
            f"SELECT {_EXEC_COLS} FROM executions e WHERE e.status = 'waiting' AND e.flow_name IN ({marks}) "
            f"AND NOT EXISTS (SELECT 1 FROM {self._OPEN_FROM} WHERE exec_id = e.exec_id AND {_OPEN} AND "
            "((kind = 'wait' AND status = 'waiting') OR paused = 1)) ORDER BY e.seq",
            list(flow_names),
        )
        return [_exec_row(r, c) for r in rows]

    def last_completed_size(self, flow_name: str) -> int | None:
        rows, c = self._read(
            "SELECT exec_id FROM executions WHERE flow_name = ? AND status = 'completed' ORDER BY seq DESC LIMIT 1",
            (flow_name,),
        )
        if not rows:
            return None
        counted, cc = self._read(self._COUNT, self._span(rows[0][c["exec_id"]]))
        return int(counted[0][cc["n"]])

    def call_summaries(self, exec_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        out = {e: {"done": 0, "total": 0, "open_waits": 0, "paused": 0} for e in exec_ids}
        if not exec_ids:
            return out
        marks = ",".join("?" * len(exec_ids))
        # totals counted over each execution's range of the calls' key, what is not done from the partial
        # index calls_open: the done positions, nearly all of a big execution, are counted but never read
        for start in range(0, len(exec_ids), 200):  # SQLite allows 500 terms in one compound SELECT
            chunk = exec_ids[start : start + 200]
            totals, tc = self._read(
                " UNION ALL ".join(
                    ["SELECT ? AS exec_id, count(*) AS total FROM calls WHERE rid BETWEEN ? AND ?"] * len(chunk)
                ),
                [p for e in chunk for p in (e, *self._span(e))],
            )
            for r in totals:
                out[r[tc["exec_id"]]].update(total=int(r[tc["total"]]), done=int(r[tc["total"]]))
        rows, c = self._read(
            "SELECT exec_id, count(*) AS n, sum(CASE WHEN kind = 'wait' AND status = 'waiting' THEN 1 ELSE 0 END) "
            "AS open_waits, "
            f"sum(paused) AS paused FROM {self._OPEN_FROM} WHERE exec_id IN ({marks}) AND {_OPEN} "
            "GROUP BY exec_id",
            list(exec_ids),
        )
        for r in rows:
            counts = out[r[c["exec_id"]]]
            counts["done"] -= int(r[c["n"]])
            counts["open_waits"] = int(r[c["open_waits"]] or 0)
            counts["paused"] = int(r[c["paused"]] or 0)
        return out

    _REQUEST_COLS = (
        "request_id, exec_id, flow_name, kind, params, status, created_at, created_by, taken_by, ended_at, "
        "message, result_exec_id"
    )

    def add_request(self, row: RequestRow) -> None:
        self._write(
            (
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
        )

    def list_requests(
        self, *, exec_id: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[RequestRow]:
        where, params = self._where(exec_id=exec_id, status=status)
        rows, c = self._read(
            f"SELECT {self._REQUEST_COLS} FROM requests{where} ORDER BY created_at LIMIT ?", (*params, limit)
        )
        return [
            RequestRow(
                request_id=r[c["request_id"]],
                exec_id=r[c["exec_id"]],
                flow_name=r[c["flow_name"]],
                kind=r[c["kind"]],
                params=json.loads(r[c["params"]]) if r[c["params"]] else {},
                status=r[c["status"]],
                created_at=r[c["created_at"]],
                created_by=r[c["created_by"]],
                taken_by=r[c["taken_by"]],
                ended_at=r[c["ended_at"]],
                message=r[c["message"]],
                result_exec_id=r[c["result_exec_id"]],
            )
            for r in rows
        ]

    def take_request(self, request_id: str, taken_by: str) -> bool:
        cur = self._write(
            (
                "UPDATE requests SET status = 'taken', taken_by = ? WHERE request_id = ? AND status = 'pending'",
                (taken_by, request_id),
            )
        )
        return bool(cur.rowcount == 1)

    def finish_request(
        self, request_id: str, *, status: str, message: str | None = None, result_exec_id: str | None = None
    ) -> None:
        self._write(
            (
                "UPDATE requests SET status = ?, ended_at = ?, message = ?, result_exec_id = ? WHERE request_id = ?",
                (status, time.time(), message, result_exec_id, request_id),
            )
        )

    def change_token(self) -> int:
        # asked before every checkpoint call (has the execution been cancelled?): kept to one statement
        with self._lock:
            try:
                return int(self.conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise KitaruBackendError(f"cannot read the journal {self.path}: {exc}") from exc

    def integrity_check(self) -> str:
        rows, c = self._read("PRAGMA integrity_check")
        return str(rows[0][c["integrity_check"]])

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def delete_executions(self, exec_ids: Sequence[str]) -> int:
        ids = list(dict.fromkeys(exec_ids))
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        spans = [self._span(e) for e in ids]  # (an execution not here: an empty range, whose low >> 32 is 0)
        # artifacts saved by a call that a call of another execution reuses (replay, cache) stay
        reused = f"SELECT original_call_id FROM calls WHERE original_call_id IS NOT NULL AND exec_id NOT IN ({marks})"
        cur = self._write(
            # reused calls of other executions that share a big output of these take their own copy
            (
                "UPDATE calls SET output = (SELECT o.output FROM calls o WHERE o.rid = calls.original_rid) "
                "WHERE output IS NULL AND output_format IS NOT NULL AND original_rid IS NOT NULL "
                f"AND (original_rid >> 32) IN ({marks}) AND exec_id NOT IN ({marks})",
                [*(s >> 32 for s, _ in spans), *ids],
            ),
            (f"DELETE FROM artifacts WHERE exec_id IN ({marks}) AND call_id NOT IN ({reused})", [*ids, *ids]),
            Many("DELETE FROM attempts WHERE call_id >= ? AND call_id < ?", [calls_of(e) for e in ids]),
            Many("DELETE FROM calls WHERE rid BETWEEN ? AND ?", spans),
            (f"DELETE FROM requests WHERE exec_id IN ({marks})", ids),
            (f"DELETE FROM executions WHERE exec_id IN ({marks})", ids),
        )
        return int(cur.rowcount)

    def prunable(self, *, before: float, statuses: Sequence[ExecutionStatus], limit: int = 10_000) -> list[str]:
        if not statuses:
            return []
        marks = ",".join("?" * len(statuses))
        rows, c = self._read(
            f"SELECT exec_id FROM executions WHERE status IN ({marks}) AND coalesce(ended_at, started_at) < ? "
            "ORDER BY seq LIMIT ?",
            [*statuses, before, limit],
        )
        return [r[c["exec_id"]] for r in rows]

    def compact(self) -> None:
        with self._lock:
            if self.read_only is not None:
                raise KitaruBackendError(f"cannot compact the journal {self.path}: {self.read_only}. {_WRITABLE}")
            try:
                self.conn.execute("VACUUM")
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError as exc:
                raise self._error(exc) from exc

    _WAITING_FOR = _waiting_for(_OPEN_FROM)

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
        clauses: list[str] = []
        params: list[Any] = []
        if flow is not None:
            clauses.append("flow_name = ?")
            params.append(flow)
        if flow_contains:
            # the distinct flow names, walked through executions_by_flow (one seek per name), then
            # the matching rows by that index: ~1 ms on 100,000 executions where testing every
            # row's name costs ~17 ms
            found, nc = self._read(
                "WITH RECURSIVE names(n) AS (SELECT min(flow_name) FROM executions UNION ALL "
                "SELECT (SELECT min(flow_name) FROM executions WHERE flow_name > n) FROM names "
                "WHERE n IS NOT NULL) SELECT n FROM names WHERE n IS NOT NULL AND instr(lower(n), lower(?)) > 0",
                (flow_contains,),
            )
            names = [r[nc["n"]] for r in found]
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
            rows, c = self._read(
                f"SELECT {_EXEC_COLS} FROM executions{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
            counted, cc = self._read(f"SELECT count(*) AS n FROM executions{where}", params)
        return [_exec_row(r, c) for r in rows], int(counted[0][cc["n"]])

    def count_waiting_for_human(self) -> dict[str, int]:
        rows, c = self._read(
            "SELECT "
            + ", ".join(f"coalesce(sum({cond}), 0) AS {kind}" for kind, cond in self._WAITING_FOR.items())
            + " FROM executions WHERE status = 'waiting'"
        )
        return {kind: int(rows[0][c[kind]]) for kind in self._WAITING_FOR}


_WRITABLE = "Make it writable, or point KITARU_NB_DB or kitaru_nb.configure(db=...) to a writable path."

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
