"""One engine listener for every panel of this process, dispatching events by exec_id."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from kitaru_nb.runtime import engine

if TYPE_CHECKING:
    from kitaru_nb.widgets.panel import ExecutionPanel


class Hub:
    """Panels by the execution they show, and followers waiting for the next execution."""

    def __init__(self) -> None:
        self.panels: dict[str, list[weakref.ref[ExecutionPanel]]] = {}
        self.followers: list[weakref.ref[ExecutionPanel]] = []
        self.watchers: list[weakref.ref[Any]] = []
        self.installed = False

    def install(self) -> None:
        if not self.installed:
            engine.add_listener(self.on_event)
            self.installed = True

    def add(self, panel: ExecutionPanel) -> None:
        self.install()
        assert panel.exec_id is not None
        refs = [r for r in self.panels.get(panel.exec_id, []) if r() is not None]
        refs.append(weakref.ref(panel))
        self.panels[panel.exec_id] = refs

    def follow(self, panel: ExecutionPanel) -> None:
        self.install()
        self.followers.append(weakref.ref(panel))

    def remove(self, panel: ExecutionPanel) -> None:
        for key in list(self.panels):
            self.panels[key] = [r for r in self.panels[key] if r() not in (None, panel)]
            if not self.panels[key]:
                del self.panels[key]
        self.followers = [r for r in self.followers if r() not in (None, panel)]

    def panels_for(self, exec_id: str) -> list[ExecutionPanel]:
        return [p for p in (r() for r in self.panels.get(exec_id, [])) if p is not None]

    def watch(self, watcher: Any) -> None:
        """``watcher.on_any(event, exec_id)`` for every event of every execution (the overview)."""
        self.install()
        self.watchers.append(weakref.ref(watcher))

    def unwatch(self, watcher: Any) -> None:
        self.watchers = [r for r in self.watchers if r() not in (None, watcher)]

    def on_event(self, event: str, exec_id: str, index: int, name: str) -> None:
        for wref in self.watchers:
            w = wref()
            if w is not None:
                w.on_any(event, exec_id)
        refs = self.panels.get(exec_id)
        if self.followers and (refs is None or event == "drive_started"):
            followers, self.followers = self.followers, []
            for ref in followers:
                p = ref()
                if p is not None and p.exec_id is None:
                    p.adopt(exec_id)
            refs = self.panels.get(exec_id)
        if refs is None:
            return
        for ref in refs:
            p = ref()
            if p is not None:
                p.on_event(event, index, name)


hub = Hub()
