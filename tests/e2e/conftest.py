"""Fixtures for the real-browser tests: one JupyterLab server per session, a fresh Chromium per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import kitaru_nb as kitaru

from .harness import CHROMIUM_PATH, JupyterLabServer, launch_chromium

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", REPO / "artifacts"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM_PATH).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM_PATH}: CI must install Debian's chromium package")
        pytest.skip(f"Chromium not found at {CHROMIUM_PATH} (apt-get install chromium); browser tests need it")
    return CHROMIUM_PATH


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lab") / "nbroot"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def lab(lab_root: Path, chromium: str) -> Iterator[JupyterLabServer]:
    server = JupyterLabServer(lab_root).start()
    yield server
    server.stop()


@pytest.fixture
def page(chromium: str) -> Iterator[object]:
    with launch_chromium() as ctx:
        pg = ctx.pages[0] if ctx.pages else ctx.new_page()
        pg.set_default_timeout(30_000)
        yield pg


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def copy_notebook(name: str, root: Path, new_name: str | None = None) -> str:
    """Copy a demo notebook into the server root; returns its name there."""
    target = new_name or name
    shutil.copy(NOTEBOOKS / name, root / target)
    return target


@pytest.fixture
def journal(lab: JupyterLabServer, lab_root: Path) -> Iterator[Path]:
    """The test process writes to the journal the server reads (as a notebook kernel would)."""
    path = lab_root / "kitaru.db"
    kitaru.configure(db=path)
    yield path
    kitaru.configure(db=None)
