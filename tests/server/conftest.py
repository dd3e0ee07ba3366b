"""A real jupyter_server (pytest-jupyter) with the kitaru_nb extension, reading a real journal file."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, ...) and its async-test hooks, for this folder only
from pytest_jupyter.jupyter_server import *  # noqa: F403

import kitaru_nb

Fetch = Callable[..., Awaitable[Any]]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Path]:
    """The journal file flows in this test write to, and that the server is configured to read."""
    path = tmp_path / "journal" / "kitaru.db"
    path.parent.mkdir()
    kitaru_nb.configure(db=path)
    yield path
    kitaru_nb.configure(db=None)


@pytest.fixture
def jp_server_config(journal: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"kitaru_nb": True}},
        "KitaruNb": {"db": str(journal)},
    }


@pytest.fixture
def api(jp_fetch: Fetch) -> Callable[..., Awaitable[Any]]:
    """``await api("GET", "executions", params=...)`` -> (status, JSON body), never raising on 4xx."""

    async def call(method: str, *parts: str, body: Any = None, raw: bytes | None = None, **kw: Any) -> Any:
        if method == "POST":
            kw["body"] = raw if raw is not None else json.dumps(body)
        resp = await jp_fetch("kitaru-nb", "api", *parts, method=method, raise_error=False, **kw)
        text = resp.body.decode() if resp.body else ""
        return resp.code, (json.loads(text) if text else None)

    return call
