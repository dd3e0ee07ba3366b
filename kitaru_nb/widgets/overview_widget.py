"""The ipywidgets side of ``kitaru_nb.panel()``."""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as W

from kitaru_nb.models import Execution
from kitaru_nb.widgets import render as R
from kitaru_nb.widgets.cards import close_tree
from kitaru_nb.widgets.hub import hub
from kitaru_nb.widgets.overview import static_overview_html
from kitaru_nb.widgets.panel import ExecutionPanel


class Overview(W.VBox):  # type: ignore[misc]
    """A list of recent executions; "Open" shows the execution's panel below the list."""

    def __init__(self, client: Any, *, limit: int = 20):
        self.client = client
        self.limit = limit
        self.title = W.HTML(value="")
        self.rows = W.VBox([])
        self.rows.add_class("kitaru-overview-rows")
        self.detail = W.VBox([])
        self.detail.add_class("kitaru-overview-detail")
        refresh = W.Button(description="Refresh", icon="refresh")
        refresh.add_class("kitaru-refresh")
        refresh.on_click(lambda _b: self.refresh())
        super().__init__([W.HBox([self.title, refresh]), self.rows, self.detail])
        self.add_class("kitaru-overview")
        self.opened: ExecutionPanel | None = None
        self.executions: list[Execution] = []
        self._listed: set[str] = set()
        self._next = 0.0
        self.refresh()
        hub.watch(self)

    def on_any(self, event: str, exec_id: str) -> None:
        """Flows running in this kernel: show new executions and finished ones without a click."""
        if event == "drive_ended" or (exec_id not in self._listed and time.monotonic() >= self._next):
            self.refresh()

    def close(self) -> None:
        hub.unwatch(self)
        if self.opened is not None:
            self.opened.close()
            self.opened = None
        for child in list(self.children):
            close_tree(child)
        super().close()

    def refresh(self) -> None:
        self.executions = self.client.executions.list(limit=self.limit)
        total = self.client.executions.count()
        self.title.value = (
            f"<b>Executions</b> <span style='opacity:.7'>{len(self.executions)} of {total} in "
            f"{R.E(str(self.client.journal.location))}</span>"
        )
        old = list(self.rows.children)
        self.rows.children = [self._row(ex) for ex in self.executions]
        for row in old:  # a refresh replaces its rows: the old widgets are closed, not left registered
            close_tree(row)
        self._listed = {ex.exec_id for ex in self.executions}
        self._next = time.monotonic() + 0.5

    def _row(self, ex: Execution) -> W.HBox:
        info = W.HTML(
            value=f"{R.badge(ex.status)} <b>{R.E(ex.flow_name)}</b> <code>{R.E(ex.short_id)}</code> "
            f"<span style='opacity:.7'>{R.when_html(ex.started_at)}</span>"
        )
        button = W.Button(description="Open", layout=W.Layout(width="70px"))
        button.add_class("kitaru-open")
        button.on_click(lambda _b, exec_id=ex.exec_id: self.show(exec_id))
        row = W.HBox([button, info])
        row.add_class("kitaru-overview-row")
        return row

    def show(self, exec_id: str) -> ExecutionPanel:
        """Show one execution's panel under the list (replacing the one shown before)."""
        if self.opened is not None:
            self.opened.close()
        self.opened = ExecutionPanel(exec_id, self.client)
        self.detail.children = [self.opened]
        return self.opened

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        data["text/html"] = static_overview_html(self.executions, str(self.client.journal.location))
        return data
