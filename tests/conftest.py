"""Shared fixtures: every test gets its own journal file, configured as the default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import kitaru_nb


@pytest.fixture
def db_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "kitaru.db"
    kitaru_nb.configure(db=path)
    yield path
    kitaru_nb.configure(db=None)


@pytest.fixture
def client(db_path: Path) -> kitaru_nb.KitaruClient:
    return kitaru_nb.KitaruClient()
