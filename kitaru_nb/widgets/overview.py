"""``kitaru_nb.panel()``: recent executions of the journal, each openable as its execution panel."""

from __future__ import annotations

from typing import Any

from kitaru_nb.models import Execution
from kitaru_nb.widgets import render as R


def static_overview_html(executions: list[Execution], location: str) -> str:
    cell = "padding:1px 8px;text-align:left"
    rows = "".join(
        f"<tr class='kitaru-overview-row'><td style='{cell}'>{R.badge(ex.status)}</td>"
        f"<td style='{cell}'>{R.E(ex.flow_name)}</td><td style='{cell}'><code>{R.E(ex.short_id)}</code></td>"
        f"<td style='{cell}'>{R.when_html(ex.started_at)}</td></tr>"
        for ex in executions
    )
    return (
        f"<div class='kitaru-overview'><b>Executions</b> <span style='opacity:.7'>{R.E(location)}</span>"
        f"<table style='border-collapse:collapse'>{rows}</table></div>"
        if executions
        else f"<div class='kitaru-overview'><b>Executions</b>: none yet in {R.E(location)}</div>"
    )


def overview(*, limit: int = 20, db: Any = None) -> Any:
    """Recent executions (newest first) with their status; "Open" shows an execution's panel."""
    from kitaru_nb.client import KitaruClient

    client = KitaruClient(db=db)
    try:
        from kitaru_nb.widgets.display import _widgets_available

        live = _widgets_available()
    except ImportError:
        live = False
    if not live:
        return StaticOverview(client, limit)
    from kitaru_nb.widgets.overview_widget import Overview

    return Overview(client, limit=limit)


class StaticOverview:
    """What ``panel()`` shows without a kernel: an escaped HTML table."""

    def __init__(self, client: Any, limit: int):
        self.executions: list[Execution] = client.executions.list(limit=limit)
        self.location = str(client.journal.location)

    def _repr_html_(self) -> str:
        return static_overview_html(self.executions, self.location)

    def __repr__(self) -> str:
        lines = [f"{R.status_text(e.status):9} {e.flow_name} {e.short_id}" for e in self.executions]
        return "\n".join(["executions in " + self.location, *lines])
