"""The notebook panel (ipywidgets). Imported lazily: ``import kitaru_nb`` does not load widgets.

``follow()`` gives a panel that shows the next execution started in this kernel, live;
``ExecutionPanel(exec_id, client)`` shows a given one. Both load ipywidgets on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ExecutionPanel", "follow"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from kitaru_nb.widgets import panel

        return getattr(panel, name)
    raise AttributeError(f"module 'kitaru_nb.widgets' has no attribute {name!r}")
