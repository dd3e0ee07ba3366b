"""How handles, executions and workflow runs display themselves in a notebook.

In a kernel with ipywidgets: the live execution panel (widget view) plus a static
text/html summary and text/plain, so a saved notebook viewed without a kernel
still shows what happened. Elsewhere: only the static summary.
"""

from __future__ import annotations

import html
from typing import Any

from kitaru_nb.widgets import render as R


def client_for(obj: Any) -> Any:
    """The client that reads ``obj``'s journal: its own, or the configured one."""
    try:
        client = getattr(obj, "_client", None)
    except Exception:
        client = None
    if client is not None and hasattr(client, "executions"):
        return client
    from kitaru_nb.client import KitaruClient

    journal = getattr(obj, "_journal", None)
    if journal is not None:
        return KitaruClient(db=journal)
    db = getattr(obj, "_db", None)
    return KitaruClient(db=db) if db is not None else KitaruClient()


def _widgets_available() -> bool:
    from kitaru_nb.runtime.watcher import in_kernel

    if not in_kernel():
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def panel_for(obj: Any) -> Any:
    """A new live ExecutionPanel for anything with an ``exec_id``."""
    from kitaru_nb.widgets.panel import ExecutionPanel

    return ExecutionPanel(str(obj.exec_id), client_for(obj))


def mimebundle(obj: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """The display bundle of ``obj`` (FlowHandle, Execution, WorkflowRunOutput, ...)."""
    exec_id = getattr(obj, "exec_id", None)
    data: dict[str, Any]
    try:
        if exec_id is None:
            raise LookupError("no exec_id")
        if _widgets_available():
            data = dict(panel_for(obj)._repr_mimebundle_())
        else:
            ex = client_for(obj).executions.get(str(exec_id))
            data = {"text/plain": R.text_summary(ex), "text/html": R.static_html(ex)}
    except Exception as exc:
        text = f"<{type(obj).__name__} {exec_id!s}: cannot show it: {type(exc).__name__}: {exc}>"
        data = {"text/plain": text, "text/html": f"<pre>{html.escape(text)}</pre>"}
    if include:
        data = {k: v for k, v in data.items() if k in include}
    if exclude:
        data = {k: v for k, v in data.items() if k not in exclude}
    return data


def ipython_display(obj: Any) -> None:
    """Display ``obj`` in a notebook: when this cell already shows its execution's live panel (the
    run's auto-display), bring that panel up to date instead of adding a second one."""
    from IPython.display import display

    exec_id = getattr(obj, "exec_id", None)
    if exec_id is not None:
        from kitaru_nb.widgets import kernel

        shown = kernel.auto.in_this_cell(str(exec_id)) if kernel.auto is not None else None
        if shown is not None:
            shown.refresh()
            return
    display(mimebundle(obj), raw=True)  # type: ignore[no-untyped-call]
