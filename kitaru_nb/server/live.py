"""Push: one loop per server watches the journal's change token and tells every sidebar at once.

The loop checks ``journal.change_token()`` (SQLite's ``data_version``: a counter of commits
by *other* connections, a few microseconds to read) every ``interval`` seconds on a connection of
its own, so commits by kernels, other processes and this server's own request handlers all move it.
When it moves, the loop emits a ``journal_changed`` event on Jupyter's event bus (the
``/api/events/subscribe`` websocket every JupyterLab page already holds) with the counts of
executions waiting for a human. A heartbeat event every ``heartbeat`` seconds tells the sidebar the
push is alive, so it can keep its fallback polling slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from kitaru_nb.journal.sqlite import SqliteJournal

EVENT_SCHEMA_ID = "https://events.kitaru-nb.dev/journal_changed/v1"
EVENT_SCHEMA_PATH = Path(__file__).parent / "events" / "journal_changed.yaml"

log = logging.getLogger(__name__)


class JournalWatcher:
    """Watches one journal file; ``emit(data)`` is called with each event's data."""

    def __init__(self, path: Path | str, emit: Any, *, interval: float = 0.1, heartbeat: float = 10.0):
        self.path = path
        self.emit = emit
        self.interval = interval
        self.heartbeat = heartbeat
        self._journal: SqliteJournal | None = None
        self._token: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._pending: asyncio.Future[dict[str, Any] | None] | None = None
        self._last_emit = 0.0
        self._lock = threading.Lock()
        self._identity: tuple[int, int] | None = None

    def check(self) -> dict[str, Any] | None:
        """One tick (blocking, run off the event loop): the event to emit, or None."""
        journal = self._open()
        if journal is None:
            return None
        token = journal.change_token()
        changed = self._token is not None and token != self._token
        first = self._token is None
        self._token = token
        due = time.monotonic() - self._last_emit >= self.heartbeat
        if not (changed or first or due):
            return None
        counts = journal.count_waiting_for_human()
        self._last_emit = time.monotonic()
        return {"reason": "changed" if changed or first else "heartbeat", "token": token, **counts}

    def token(self) -> int:
        """The change token as the pushes carry it (blocking; 0 before the journal exists)."""
        journal = self._open()
        return 0 if journal is None else journal.change_token()

    def _where(self) -> str:
        if isinstance(self.path, str):
            from kitaru_nb.journal.postgres import redact

            return redact(self.path)  # never log the password
        return str(self.path)

    def _open(self) -> SqliteJournal | None:
        """The watcher's own connection; reopened when the file was deleted or replaced. A PostgreSQL
        journal (a URL) gets its own journal object, whose LISTEN connection moves the change token
        when another writer commits: the ticks then read a counter, not the database."""
        if isinstance(self.path, str):
            with self._lock:
                if self._journal is None:
                    from kitaru_nb.journal.postgres import PostgresJournal

                    self._journal = PostgresJournal(self.path, pool_size=2)
                return self._journal
        try:
            st = os.stat(self.path)
            identity: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except OSError:
            identity = None
        with self._lock:
            if self._journal is not None and identity != self._identity:
                self._journal.close()
                self._journal = None
                self._token = None
            if self._journal is None and identity is not None:
                self._journal = SqliteJournal(self.path)
                self._identity = identity
            return self._journal

    # The loop is a chain of call_later ticks, each running check() in a worker thread: no task
    # lives across the server's shutdown, and a failing tick only delays the next one.
    def start(self) -> None:
        """Start the loop on the running event loop (idempotent)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._schedule(0)

    def _schedule(self, delay: float) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._handle = self._loop.call_later(delay, self._tick)

    def _tick(self) -> None:
        if self._loop is None:
            return
        self._pending = self._loop.run_in_executor(None, self.check)
        self._pending.add_done_callback(self._ticked)

    def _ticked(self, future: asyncio.Future[dict[str, Any] | None]) -> None:
        self._pending = None
        if future.cancelled() or self._loop is None:
            return
        delay = self.interval
        exc = future.exception()
        if exc is not None:
            log.warning("kitaru_nb: cannot watch the journal %s: %s", self._where(), exc)
            self._close()
            delay = 5.0
        else:
            event = future.result()
            if event is not None:
                try:
                    self.emit(event)
                except Exception:  # an event bus problem must not end the loop
                    log.exception("kitaru_nb: cannot emit a journal_changed event")
        self._schedule(delay)

    async def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        pending, self._pending = self._pending, None
        self._loop = None
        if pending is not None:
            with contextlib.suppress(Exception):
                await pending
        self._close()

    def _close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
                self._token = None


def event_bus_emitter(server_app: Any) -> Any:
    """``emit(data)`` on the server's event bus, with the journal_changed schema registered."""
    logger = server_app.event_logger
    if EVENT_SCHEMA_ID not in logger.schemas.schema_ids:
        logger.register_event_schema(EVENT_SCHEMA_PATH)

    def emit(data: dict[str, Any]) -> None:
        logger.emit(schema_id=EVENT_SCHEMA_ID, data=data)

    return emit
