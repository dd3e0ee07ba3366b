"""Which journal the server reads when nothing is configured: KITARU_NB_DB, else kitaru.db in root_dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb

from .flows import make_all


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"kitaru_nb": True}}}


@pytest.fixture
def root_journal(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("KITARU_NB_DB", raising=False)
    path = jp_root_dir / "kitaru.db"
    kitaru_nb.configure(db=path)
    yield path
    kitaru_nb.configure(db=None)


async def test_default_is_kitaru_db_in_the_server_root(root_journal, tmp_path, api):
    ids = make_all(tmp_path)
    code, status = await api("GET", "status")
    assert (code, status["journal"], status["exists"]) == (200, str(root_journal.resolve()), True)
    code, data = await api("GET", "executions")
    assert {e["exec_id"] for e in data["executions"]} == set(ids.values())


@pytest.fixture
def env_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "elsewhere.db"
    monkeypatch.setenv("KITARU_NB_DB", str(path))
    kitaru_nb.configure(db=path)
    yield path
    kitaru_nb.configure(db=None)


async def test_the_environment_variable_is_honoured(env_journal, tmp_path, api):
    ids = make_all(tmp_path)
    code, status = await api("GET", "status")
    assert (code, status["journal"]) == (200, str(env_journal.resolve()))
    code, data = await api("GET", "executions", params={"status": "failed"})
    assert code == 200
    assert [e["exec_id"] for e in data["executions"]] == [ids["failed"]]
