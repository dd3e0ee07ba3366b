"""One watcher per kernel: carry out, when the kernel is idle, what was recorded elsewhere.

An answer given in the sidebar or by another process, a Retry / Skip / Confirm / Reject decision,
a replay or retry request: when it concerns a flow defined in this kernel, the kernel continues
the execution as soon as no cell runs, whether or not a panel shows it.

Each idle tick costs one ``change_token()`` per journal (for SQLite its data version, which
changes when another connection commits); only when it changed (or when something in this process
recorded without continuing, see ``poke``, or every few seconds) are the journal's ready
executions and pending requests read. The ticks run on the kernel's event loop, which runs
callbacks only between cells, and never in a flow's context: they are scheduled with a fresh
``contextvars.Context``.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from kitaru_nb.journal.base import Journal
from kitaru_nb.runtime import continuation, engine, registry
from kitaru_nb.runtime.context import current_run

TICK_SECONDS = 0.2
FULL_CHECK_SECONDS = 3.0
#: modules that add to the kernel when the watcher starts (the panel's auto-display); imported by
#: name so the runtime does not depend on them
INTEGRATIONS = ("kitaru_nb.widgets.kernel",)

Runner = Callable[[str, Callable[[], Any]], Any]


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where blocking on a human would freeze the notebook)."""
    if "ipykernel" not in sys.modules:
        return False
    shell = _shell()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _shell() -> Any:
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None) if ipython else None
    return get() if get else None


def kernel_loop() -> Any:
    """The kernel's asyncio loop (callbacks on it run only when no cell is executing), or None."""
    kernel = getattr(_shell(), "kernel", None)
    io_loop = getattr(kernel, "io_loop", None)
    return getattr(io_loop, "asyncio_loop", None)


class Watcher:
    def __init__(self) -> None:
        self.started = False
        self.busy = False  # a cell is running
        self.cell = 0  # counts cells run since the watcher started
        self._tokens: dict[int, int] = {}
        self._next_full = 0.0
        self._poked = True
        self._handle: Any = None
        self._lock = threading.Lock()
        #: wraps every continuation the watcher starts (the panel routes its output); (exec_id, fn)
        self.runner: Runner = lambda _exec_id, fn: fn()
        self.carried_out = 0

    # -- starting ---------------------------------------------------------------------------
    def ensure_started(self) -> None:
        """Start watching in a Jupyter kernel (a no-op elsewhere, and after the first call)."""
        if self.started or not in_kernel():
            return
        with self._lock:
            if self.started:
                return
            shell = _shell()
            loop = kernel_loop()
            if shell is None or loop is None:
                return
            self.started = True
            shell.events.register("pre_run_cell", self._pre_cell)
            shell.events.register("post_run_cell", self._post_cell)
            # a flow defined inside the cell that is running now: the cell is busy
            self.busy = True
            for name in INTEGRATIONS:
                try:
                    importlib.import_module(name).install(self)
                except Exception:  # an integration that can't load (no ipywidgets) leaves the watcher working
                    pass
            self._schedule(loop)

    def _pre_cell(self, *_args: Any) -> None:
        self.busy = True
        self.cell += 1

    def _post_cell(self, *_args: Any) -> None:
        self.busy = False

    def poke(self) -> None:
        """Something was recorded in this process without continuing: look at the next idle tick."""
        self._poked = True

    def _schedule(self, loop: Any) -> None:
        try:
            if threading.current_thread() is threading.main_thread():
                self._handle = loop.call_later(TICK_SECONDS, self._tick, context=contextvars.Context())
            else:
                loop.call_soon_threadsafe(self._schedule, loop, context=contextvars.Context())
        except RuntimeError:  # the loop is closed: the kernel is shutting down
            self._handle = None

    # -- ticking ----------------------------------------------------------------------------
    def _tick(self) -> None:
        self._handle = None
        try:
            if not self.busy and current_run.get() is None:
                self.check()
        finally:
            loop = kernel_loop()
            if loop is not None:
                self._schedule(loop)

    def journals(self) -> list[Journal]:
        """The journals flows of this kernel used, and the configured one (the default file only when
        it exists: watching never creates a journal)."""
        from kitaru_nb import config

        seen = {id(j): j for j in engine.journals_in_use()}
        if config._configured is not None or config.default_exists():
            try:
                j = config.resolve_journal()
                seen.setdefault(id(j), j)
            except Exception:  # no usable configured journal: watch the ones flows used
                pass
        return list(seen.values())

    def check(self) -> int:
        """Carry out everything ready in every journal this kernel uses; returns how many."""
        full = self._poked or time.monotonic() >= self._next_full
        self._poked = False
        if full:
            self._next_full = time.monotonic() + FULL_CHECK_SECONDS
        done = 0
        for journal in self.journals():
            try:
                token = journal.change_token()
            except Exception:  # noqa: S112  # a journal that can't be read now is looked at next tick
                continue
            key = id(journal)
            if not full and self._tokens.get(key) == token:
                continue
            self._tokens[key] = token
            done += self._carry_out(journal)
        return done

    def _carry_out(self, journal: Journal) -> int:
        names = registry.defined_names()
        if not names:
            return 0
        done = 0
        for row in journal.ready_to_continue(names):
            if not continuation.may_continue_here(row):
                continue
            self.runner(row.exec_id, functools.partial(continuation.continue_if_ready, journal, row.exec_id, row=row))
            done += 1
        for req in continuation.pending_requests(journal):
            source = journal.get_execution(req.exec_id, with_values=False)
            if source is None or not continuation.may_continue_here(source):
                continue
            self.runner(req.exec_id, functools.partial(continuation.carry_out, journal, req))
            done += 1
        self.carried_out += done
        return done


watcher = Watcher()
