"""The PostgreSQL journal: a team's shared journal, several kernels on several machines.

Selected by a URL: ``KITARU_NB_DB=postgresql://user:pass@host:5432/db`` or
``kitaru_nb.configure(db="postgresql://...")``. Needs the ``team`` extra (psycopg 3 with its pool),
imported only when such a URL is used.

It is the SQLite journal's twin: ``PostgresJournal`` inherits ``SqliteJournal``'s statements (written
in SQL both databases read; ``?`` placeholders become psycopg's ``%s``) and its row readers, and
replaces only what the two databases do differently: opening and migrating, one write transaction
(``_write``), one read (``_read``), the few queries in SQLite's dialect (sums of booleans, the new
row's ``seq``), a read-modify-write that needs a row lock in PostgreSQL, and the change token. A
method added to the SQLite journal works here as soon as its SQL is portable; the shared contract
suite (``tests/core/test_journal_contract.py``) says when it is not.

Races are decided by the database as in SQLite: an answer, a decision or a claim is one
``UPDATE ... WHERE status = ...`` whose row count says who won (PostgreSQL re-checks the condition
after a concurrent writer commits).

Changes are pushed, not polled: after a write, a ``NOTIFY kitaru_nb`` (payload: the writing journal
object's id) goes out on a pooled connection, one per burst of writes (every 10 ms at most: a NOTIFY
inside each write transaction doubled its cost), and one listening connection per journal object
counts the notifications of *other* writers. ``change_token()`` reads that count, so it costs no query (the
engine reads it before every checkpoint call), and moves within a few milliseconds of another
writer's commit; ``wait_for_change`` blocks until it moves.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kitaru_nb.errors import KitaruBackendError
from kitaru_nb.journal.base import ExecutionRow, interrupted_failure, merge_metadata
from kitaru_nb.journal.migrations import LATEST_VERSION, MIGRATIONS
from kitaru_nb.journal.postgres_schema import PG_MIGRATIONS
from kitaru_nb.journal.sqlite import (
    Cols,
    Many,
    SqliteJournal,
    _Done,
    _Entry,
    _failure_cols,
    _pid_start,
    _waiting_for,
)

__all__ = ["CHANNEL", "PostgresJournal", "is_postgres_url", "open_postgres", "redact"]

CHANNEL = "kitaru_nb"
_STOP = "stop:"
#: seconds between two notifications of one journal object while it writes
NOTIFY_INTERVAL = 0.01
SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
#: an advisory lock id ("KTNB") held while a process migrates, so two kernels never migrate at once
_MIGRATION_LOCK = 0x4B544E42
UNTOUCHED = "The database was left untouched; point KITARU_NB_DB or kitaru_nb.configure(db=...) to another database."

assert len(PG_MIGRATIONS) == len(MIGRATIONS), "every SQLite migration has its PostgreSQL counterpart"
assert [n for n, _ in PG_MIGRATIONS] == [n for n, _ in MIGRATIONS]


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL without its password (what messages, the panel and the sidebar show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _conninfo(url: str) -> str:
    url = url.strip()
    if url.lower().startswith("postgresql+psycopg://"):  # SQLAlchemy's spelling
        url = "postgresql://" + url[len("postgresql+psycopg://") :]
    return url


_SQL_CACHE: dict[str, str] = {}


def _pg(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    out = _SQL_CACHE.get(sql)
    if out is None:
        out = _SQL_CACHE[sql] = sql.replace("%", "%%").replace("?", "%s")
    return out


class _Conn:
    """The connection a function step of a write gets: ``execute(sql, params)`` in SQLite's words."""

    def __init__(self, cur: Any, trace: Callable[[str], object] | None):
        self._cur = cur
        self._trace = trace

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._trace is not None:
            self._trace(sql)
        self._cur.execute(_pg(sql), params)
        return self._cur


class PostgresJournal(SqliteJournal):
    """A journal in a PostgreSQL database, through a psycopg connection pool. Thread-safe."""

    def __init__(self, url: str, *, pool_size: int | None = None):
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise KitaruBackendError(
                f"the journal {redact(url)} is a PostgreSQL database, which needs psycopg 3 and its pool: "
                "pip install 'kitaru-nb[team]' (or psycopg[binary,pool])"
            ) from exc
        self._psycopg = psycopg
        self.url = _conninfo(url)
        self.location = redact(self.url)
        self.read_only: str | None = None
        self._origin = uuid.uuid4().hex
        self._tracer: Callable[[str], object] | None = None
        self._lock = threading.RLock()
        # group commit (SqliteJournal._write): writes waiting for the one being committed
        self._seqs: dict[str, int] = {}  # execution id -> seq (SqliteJournal._seq)
        self._group = threading.Condition(threading.Lock())
        self._queue: list[_Entry] = []
        self._writing = False
        self._token = 0
        self._changed = threading.Condition()
        self._closed = False
        self._listener: threading.Thread | None = None
        self._listen_conn: Any = None
        size = pool_size or int(os.environ.get("KITARU_NB_PG_POOL", "0") or 0) or 8
        try:
            first = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise KitaruBackendError(f"cannot connect to the journal {self.location}: {_reason(exc)}") from exc
        try:
            self._open_db(first)
        finally:
            first.close()
        self._pool = ConnectionPool(
            self.url,
            min_size=1,
            max_size=size,
            kwargs={"autocommit": True},
            open=True,
            name="kitaru_nb",
        )
        self._dirty = threading.Event()
        self._start_listener()
        threading.Thread(target=self._notifier, name="kitaru-nb-notify", daemon=True).start()

    # -- opening and migrations ---------------------------------------------------------
    def _open_db(self, conn: Any) -> None:
        """Refuse a foreign database or a newer journal; migrate an older one (one process at a time)."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            version, tables = self._version(conn)
            reason = self._refusal(version, tables)
            if reason is not None:
                raise KitaruBackendError(f"{reason} {UNTOUCHED}")
            if version == LATEST_VERSION:
                return
            if version == 0:
                conn.execute("CREATE TABLE _kitaru_migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION)")
            with conn.cursor() as cur:
                for number, (name, apply) in enumerate(PG_MIGRATIONS, start=1):
                    if number <= version:
                        continue
                    apply(cur)
                    cur.execute("INSERT INTO _kitaru_migrations VALUES (%s, %s)", (name, time.time()))

    @staticmethod
    def _version(conn: Any) -> tuple[int, list[str]]:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "ORDER BY table_name"
            ).fetchall()
        ]
        if "_kitaru_migrations" not in tables:
            return 0, tables
        (count,) = conn.execute("SELECT count(*) FROM _kitaru_migrations").fetchone()
        return int(count), tables

    def _refusal(self, version: int, tables: list[str]) -> str | None:
        if version == 0 and tables:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            return f"{self.location} is a PostgreSQL database but not a kitaru_nb journal (it has tables: {shown})."
        if version > LATEST_VERSION:
            return (
                f"{self.location} was written by a newer kitaru_nb (schema version {version}, this one knows up to "
                f"{LATEST_VERSION}). Upgrade kitaru_nb to use it."
            )
        return None

    # -- one write, one read ---------------------------------------------------------------
    # _write is SQLite's: group commit, writes asked for by other threads while one is in flight
    # go together in the next transaction (one pipeline), each caller getting its own outcome

    def _transaction(self, entries: list[_Entry]) -> None:
        """Run the writes of ``entries`` in one transaction: one statement alone in autocommit, more as
        ``BEGIN`` ... ``COMMIT`` sent as one pipeline. Each entry's result is its last statement's row
        count. Rolled back as a whole when a step fails. Other journals hear of it by a coalesced
        NOTIFY (``_notifier``)."""
        psycopg = self._psycopg
        trace = self._tracer
        try:
            with self._pool.connection() as conn:
                results: list[Any] = []
                try:
                    only = entries[0].steps if len(entries) == 1 else ()
                    if len(only) == 1 and type(only[0]) is tuple:
                        if trace is not None:
                            trace(only[0][0])
                        cur = conn.cursor()
                        cur.execute(_pg(only[0][0]), only[0][1])
                        results.append(cur)
                    else:
                        with conn.pipeline():
                            if trace is not None:
                                trace("BEGIN")
                            conn.execute("BEGIN")
                            for e in entries:
                                cur = conn.cursor()
                                result: Any = None
                                for step in e.steps:
                                    if type(step) is tuple:
                                        if trace is not None:
                                            trace(step[0])
                                        cur.execute(_pg(step[0]), step[1])
                                        result = cur
                                    elif isinstance(step, Many):
                                        if trace is not None:
                                            trace(step.sql)
                                        cur.executemany(_pg(step.sql), step.rows)
                                        result = cur
                                    else:
                                        result = step(_Conn(cur, trace))  # type: ignore[operator,arg-type]
                                results.append(result)
                            if trace is not None:
                                trace("COMMIT")
                            conn.execute("COMMIT")
                except BaseException:
                    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        conn.rollback()
                    raise
                # the pipeline is synced: each caller's last statement's row count is in its cursor
                for e, result in zip(entries, results, strict=True):
                    if isinstance(result, psycopg.Cursor):
                        e.result = _Done(int(result.rowcount))
                        result.close()
                    else:
                        e.result = result
        except psycopg.errors.IntegrityError as exc:
            raise ValueError(f"the journal {self.location} refused a duplicate row: {_reason(exc)}") from exc
        except psycopg.Error as exc:
            raise KitaruBackendError(
                f"cannot write to the journal {self.location}: {_reason(exc)}. Nothing was written."
            ) from exc
        for e in entries:
            e.done = True
        self._dirty.set()

    def _notifier(self) -> None:
        """One NOTIFY per burst of writes (at most every ``NOTIFY_INTERVAL`` s), off the write path: a
        NOTIFY inside every write transaction costs more than the write itself."""
        while not self._closed:
            if not self._dirty.wait(1.0):
                continue
            self._dirty.clear()
            self._send_notify(self._origin)
            time.sleep(NOTIFY_INTERVAL)

    def _send_notify(self, payload: str) -> None:
        try:
            with self._pool.connection(timeout=5) as conn:
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
        except Exception:
            pass

    def _read(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[Any], Cols]:
        if self._tracer is not None:
            self._tracer(sql)
        try:
            with self._pool.connection() as conn, conn.cursor() as cur:
                cur.execute(_pg(sql), params)
                rows = cur.fetchall()
                desc = cur.description
        except self._psycopg.Error as exc:
            raise KitaruBackendError(f"cannot read the journal {self.location}: {_reason(exc)}") from exc
        return rows, {d.name: i for i, d in enumerate(desc or ())}

    @contextmanager
    def trace(self, fn: Callable[[str], object]) -> Iterator[None]:
        """Pass every SQL statement this journal runs to ``fn`` (SQLite's spelling, before ``?`` -> ``%s``)."""
        self._tracer = fn
        try:
            yield
        finally:
            self._tracer = None

    # -- what PostgreSQL says differently ---------------------------------------------------
    def create_execution(self, row: ExecutionRow) -> None:
        params = self._execution_params(row)

        def insert(conn: _Conn) -> int:
            cur = conn.execute(self._INSERT_EXECUTION + " RETURNING seq", params)
            return int(cur.fetchone()[0])

        row.seq = self._write(insert)  # type: ignore[arg-type]  # a step gets a connection-like object
        self._seqs[row.exec_id] = row.seq

    def log_metadata(self, exec_id: str, call_id: str | None, metadata: dict[str, Any]) -> None:
        table, key, value = self._metadata_row(exec_id, call_id)

        def merge(conn: _Conn) -> None:
            # the row is locked until the transaction ends: two processes logging at once both land
            row = conn.execute(f"SELECT metadata FROM {table} WHERE {key} = ? FOR UPDATE", (value,)).fetchone()
            if row is None:
                raise KitaruBackendError(
                    f"kitaru.log(): no {table[:-1]} {call_id or exec_id} in the journal {self.location}"
                )
            merged = merge_metadata(json.loads(row[0]) if row[0] else None, metadata)
            conn.execute(f"UPDATE {table} SET metadata = ? WHERE {key} = ?", (json.dumps(merged), value))

        self._write(merge)  # type: ignore[arg-type]

    def recover_interrupted(self, is_alive: Callable[[int, int | None], bool]) -> int:
        # several machines share this journal: only owners on this host can be judged by their pid
        rows, c = self._read(f"SELECT a.attempt_id, a.call_id, e.owner_pid, e.owner FROM {self._RUNNING_ATTEMPTS}")
        here = socket.gethostname()
        dead = []
        for r in rows:
            owner = json.loads(r[c["owner"]]) if r[c["owner"]] else None
            if isinstance(owner, dict) and owner.get("host") not in (None, here):
                continue
            pid = r[c["owner_pid"]]
            if pid is None or not is_alive(int(pid), _pid_start(r[c["owner"]])):
                dead.append((r[c["attempt_id"]], r[c["call_id"]], pid))
        if not dead:
            return 0
        self._write(
            Many(
                "UPDATE attempts SET status = 'interrupted' WHERE call_id = ? AND attempt_id = ? AND status = 'running'",
                [(call, a) for a, call, _ in dead],
            ),
            Many(
                "UPDATE calls SET status = 'failed', failure_origin = ?, failure_type = ?, failure_message = ?, "
                "failure_traceback = NULL WHERE rid = ? AND status = 'running'",
                [(*_failure_cols(interrupted_failure(pid))[:3], self._rid(call)) for _, call, pid in dead],
            ),
        )
        return len(dead)

    _OPEN_FROM = "calls"
    _WAITING_FOR = _waiting_for(_OPEN_FROM)

    def compact(self) -> None:
        self._write(("VACUUM", ()))  # one statement: runs outside a transaction, as VACUUM must

    def count_waiting_for_human(self) -> dict[str, int]:
        rows, c = self._read(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {cond}) AS {kind}" for kind, cond in self._WAITING_FOR.items())
            + " FROM executions WHERE status = 'waiting'"
        )
        return {kind: int(rows[0][c[kind]]) for kind in self._WAITING_FOR}

    # -- change notification -----------------------------------------------------------------
    def change_token(self) -> int:
        """How many commits of other writers this journal object has been notified of (no query)."""
        return self._token

    def wait_for_change(self, token: int, timeout: float) -> int:
        """Block until the change token differs from ``token`` or ``timeout`` seconds pass; the token."""
        with self._changed:
            self._changed.wait_for(lambda: self._token != token or self._closed, timeout)
            return self._token

    def _start_listener(self) -> None:
        ready = threading.Event()
        self._listener = threading.Thread(target=self._listen, args=(ready,), name="kitaru-nb-listen", daemon=True)
        self._listener.start()
        ready.wait(15)  # LISTEN is in place before the journal is handed out: no commit after it is missed

    def _listen(self, ready: threading.Event) -> None:
        psycopg = self._psycopg
        backoff = 0.2
        while not self._closed:
            try:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            except psycopg.Error:
                ready.set()
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            try:
                self._listen_conn = conn
                conn.execute(f"LISTEN {CHANNEL}")
                self._bump()  # (re)connected: changes made while not listening count as one
                ready.set()
                backoff = 0.2
                while not self._closed:
                    for note in conn.notifies(timeout=5.0):
                        if self._closed:
                            break
                        if note.payload != self._origin and not note.payload.startswith(_STOP):
                            self._bump()
            except psycopg.Error:
                if not self._closed:
                    time.sleep(backoff)
            finally:
                self._listen_conn = None
                try:
                    conn.close()
                except Exception:
                    pass

    def _bump(self) -> None:
        with self._changed:
            self._token += 1
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
        if self._listener is not None:
            try:  # wake the listening connection now rather than at its next timeout
                with self._pool.connection(timeout=2) as conn:
                    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, _STOP + self._origin))
            except Exception:
                pass
            self._listener.join(6)
        self._pool.close()
        _forget(self)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


_open: dict[str, PostgresJournal] = {}
_open_lock = threading.Lock()


def open_postgres(url: str) -> PostgresJournal:
    """The process-wide journal for ``url`` (connected, checked and migrated once)."""
    key = _conninfo(url)
    with _open_lock:
        journal = _open.get(key)
        if journal is None or journal._closed:
            journal = _open[key] = PostgresJournal(key)
        return journal


def _forget(journal: PostgresJournal) -> None:
    with _open_lock:
        if _open.get(journal.url) is journal:
            del _open[journal.url]
