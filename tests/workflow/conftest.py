"""Fixtures of the step-workflow tests: a journal file per test and a control file for flaky steps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru_nb.db.sqlite import SqliteDb

from .steps_lib import CONTROL_ENV, set_control


@pytest.fixture
def db(db_path: Path) -> SqliteDb:
    """A SqliteDb on this test's journal file (also the configured default, for KitaruClient())."""
    return SqliteDb(db_file=db_path)


@pytest.fixture
def control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "control"
    set_control(path, "fail")
    monkeypatch.setenv(CONTROL_ENV, str(path))
    yield path
