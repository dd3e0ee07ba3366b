"""How handles and executions display themselves in a notebook."""

from __future__ import annotations

import html
from typing import Any


def text_summary(obj: Any) -> str:
    exec_id = getattr(obj, "exec_id", "?")
    name = getattr(obj, "flow_name", "?")
    status = getattr(obj, "status", "?")
    return f"{name} {str(exec_id)[:8]} {getattr(status, 'value', status)}"


def mimebundle(obj: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    text = text_summary(obj)
    return {"text/plain": text, "text/html": f"<pre>{html.escape(text)}</pre>"}
