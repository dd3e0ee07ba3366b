"""The jupyter_server extension: the REST API under /kitaru-nb/api/."""

from __future__ import annotations

from typing import Any


def load(server_app: Any) -> None:
    """Register the handlers (see handlers.py)."""
    raise NotImplementedError("the server extension is being built")
