"""``kitaru_nb.panel()``: recent executions of the journal."""

from __future__ import annotations

from typing import Any


def overview(*, limit: int = 20, db: Any = None) -> Any:
    raise NotImplementedError("the overview panel is being built")
