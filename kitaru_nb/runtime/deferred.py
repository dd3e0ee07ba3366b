"""One commit per checkpoint on the happy path: the start of a first attempt is journaled late.

The rule: when a checkpoint's first attempt starts, its call and attempt rows are held in memory.
An attempt that ends within ``HOLD`` seconds is journaled once, completed (or failed), in one
transaction; one that runs longer gets its start journaled by a watchdog thread after ``HOLD`` to
``2 * HOLD`` seconds, so a crash during a long attempt still reads as an interrupted attempt, and
other processes (the sidebar, a resume) see it running. A crash during a burst of trivial
checkpoints loses at most the attempts that had not ended: a resume runs them again, and never one
that was journaled completed. The calls of a ``.map`` go one step further: their last writes (a whole
trivial attempt, or a completion) are journaled in groups (``concurrent.Batch``), their futures
resolved only after.
"""

from __future__ import annotations

import threading
import time

from kitaru_nb.journal.base import AttemptRow, CallRow, Journal

#: seconds an attempt runs before its start is journaled (the watchdog looks this often)
HOLD = 0.005

_lock = threading.Lock()
_held: dict[int, Held] = {}
_wake = threading.Event()
_thread: threading.Thread | None = None


class Held:
    """A first attempt whose start is not journaled yet."""

    __slots__ = ("attempt", "call", "done", "error", "journal", "started")

    def __init__(self, journal: Journal, call: CallRow, attempt: AttemptRow):
        self.journal = journal
        self.call = call
        self.attempt = attempt
        self.started = time.monotonic()
        self.done: threading.Event | None = None
        self.error: BaseException | None = None


def hold(journal: Journal, call: CallRow, attempt: AttemptRow) -> Held:
    """Keep the start of ``attempt`` (the first of ``call``) in memory; the watchdog journals it if the
    attempt outlives ``HOLD``."""
    held = Held(journal, call, attempt)
    with _lock:
        _held[id(held)] = held
    if not _wake.is_set():
        _start()
    return held


def take(held: Held) -> bool:
    """True: the start was never journaled, and now never will be (the caller journals the whole
    attempt in one write). False: the watchdog journaled it (waited for here)."""
    with _lock:
        if _held.pop(id(held), None) is not None:
            return True
    if held.done is not None:
        held.done.wait()
    return held.error is not None  # the watchdog's write failed: journal it all here


def journal_start(held: Held) -> None:
    """Make sure the start is journaled now (before a failure, a pause or an interrupt is recorded)."""
    if take(held):
        held.journal.insert_call(held.call, held.attempt)


def journal_start_of(call_id: str) -> None:
    """Journal the held start of ``call_id``'s running attempt, if it is held (``kitaru.log`` writes to
    the call's row, which must exist)."""
    with _lock:
        found = next((h for h in _held.values() if h.call.call_id == call_id), None)
    if found is not None:
        journal_start(found)


def _start() -> None:
    global _thread
    with _lock:
        _wake.set()
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_watch, name="kitaru-journal-starts", daemon=True)
            _thread.start()


def _watch() -> None:
    idle = 0.0
    while True:
        time.sleep(HOLD)
        now = time.monotonic()
        with _lock:
            due = [h for h in _held.values() if now - h.started >= HOLD]
            for h in due:
                del _held[id(h)]
                h.done = threading.Event()
            empty = not _held
        if due:
            _journal_starts(due)
        idle = idle + HOLD if empty else 0.0
        if idle >= 1.0:  # nothing held for a second: sleep until the next checkpoint
            with _lock:
                if _held:
                    idle = 0.0
                    continue
                _wake.clear()
            _wake.wait()
            idle = 0.0


def _journal_starts(due: list[Held]) -> None:
    """Journal the starts that came due together: one transaction per journal (a ``.map`` sent to a
    cluster starts hundreds at once), each on its own if that fails, so an error is its own."""
    by_journal: dict[int, list[Held]] = {}
    for h in due:
        by_journal.setdefault(id(h.journal), []).append(h)
    for group in by_journal.values():
        try:
            if len(group) > 1:
                try:
                    group[0].journal.insert_calls([h.call for h in group], [h.attempt for h in group])
                    continue
                except BaseException:
                    pass  # rolled back: one at a time below
            for h in group:
                try:
                    h.journal.insert_call(h.call, h.attempt)
                except BaseException as exc:  # the flow's thread journals it itself
                    h.error = exc
        finally:
            for h in group:
                assert h.done is not None
                h.done.set()


def pending_count() -> int:
    """How many held starts there are (tests)."""
    with _lock:
        return len(_held)


__all__ = ["HOLD", "Held", "hold", "journal_start", "journal_start_of", "pending_count", "take"]
