"""The panel's part of the kernel: every run started from a cell shows its live panel in that cell,
and what the kernel watcher carries out is shown in the panels of that execution.

Installed by the kernel watcher when it starts (``runtime/watcher.py``), so ``import kitaru_nb``
loads no widgets and a process without a kernel never gets here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from kitaru_nb.config import settings
from kitaru_nb.runtime import engine
from kitaru_nb.widgets.hub import hub


class AutoDisplay:
    """Panels shown at the start of a run, by execution, with the cell they were shown in."""

    def __init__(self, watcher: Any):
        self.watcher = watcher
        # exec_id -> (panel, display handle, cell number)
        self.shown: dict[str, tuple[Any, Any, int]] = {}

    def on_event(self, event: str, exec_id: str, index: int, name: str) -> None:
        if event == "drive_started":
            self._started(exec_id)
        elif event == "drive_ended":
            self._ended(exec_id)

    def _started(self, exec_id: str) -> None:
        w = self.watcher
        if not settings.auto_display or not w.busy or threading.current_thread() is not threading.main_thread():
            return  # not a cell's own run (a panel click, the watcher, a worker thread)
        current = self.shown.get(exec_id)
        if current is not None and current[2] == w.cell and not current[0]._closed:
            return  # this cell shows it already (a retry or resume in the same cell)
        journal = engine.journal_of(exec_id)
        if journal is None:
            return
        from IPython.display import display

        from kitaru_nb.client import KitaruClient
        from kitaru_nb.widgets.panel import ExecutionPanel

        panel = ExecutionPanel(exec_id, KitaruClient(db=journal), auto=True)
        handle = display(panel._repr_mimebundle_(), raw=True, display_id=True)  # type: ignore[no-untyped-call]
        self.shown[exec_id] = (panel, handle, w.cell)
        # a panel replaced by a new run of the same cell stays usable; old entries are dropped
        if len(self.shown) > 64:
            for key in list(self.shown)[:-64]:
                del self.shown[key]

    def _ended(self, exec_id: str) -> None:
        entry = self.shown.get(exec_id)
        if entry is None:
            return
        panel, handle, _cell = entry
        if panel._closed or handle is None:
            return
        # the panel has just read the final state (its own drive_ended event came first)
        with contextlib.suppress(Exception):  # a display that can't be updated keeps its last state
            handle.update(panel._repr_mimebundle_(), raw=True)

    def in_this_cell(self, exec_id: str) -> Any:
        """The panel this cell shows for ``exec_id`` (so displaying the handle adds no second one)."""
        entry = self.shown.get(exec_id)
        if entry is None or entry[2] != self.watcher.cell or entry[0]._closed:
            return None
        return entry[0]


auto: AutoDisplay | None = None


def run_in_panels(exec_id: str, fn: Callable[[], Any]) -> Any:
    """How the watcher runs a continuation: its output goes to the output area of the execution's panel."""
    panels = hub.panels_for(exec_id)
    if not panels:
        return fn()
    try:
        with panels[0].capture_text():
            return fn()
    finally:
        for p in panels:
            p.refresh()


def register_display(shell: Any) -> None:
    """Handles, executions and workflow run outputs display as the live panel (with a static
    text/html summary for saved notebooks and renderers without widgets)."""
    from kitaru_nb.models import Execution
    from kitaru_nb.run.workflow import WorkflowRunOutput
    from kitaru_nb.runtime.flow import FlowHandle
    from kitaru_nb.widgets.display import ipython_display

    formatter = shell.display_formatter.ipython_display_formatter
    for cls in (FlowHandle, Execution, WorkflowRunOutput):
        formatter.for_type(cls, ipython_display)


def install(watcher: Any) -> None:
    """Called once by the kernel watcher."""
    global auto
    auto = AutoDisplay(watcher)
    hub.install()  # panels hear drive_ended before the display is brought up to date
    engine.add_listener(auto.on_event)
    watcher.runner = run_in_panels
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        register_display(shell)
