"""Helpers for the core tests: run small scripts in other processes, count real runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


class Scripts:
    """Writes a script into the test's tmp folder and runs it with this interpreter."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._n = 0

    def write(self, source: str, name: str | None = None) -> Path:
        self._n += 1
        path = self.folder / (name or f"script_{self._n}.py")
        path.write_text(textwrap.dedent(source))
        return path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("KITARU_NB_DB", None)
        return env

    def run(self, source: str, *args: str, timeout: float = 60) -> Any:
        """Run ``source`` as a script; it prints one JSON document as its last stdout line."""
        path = self.write(source)
        proc = subprocess.run(
            [sys.executable, str(path), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
            cwd=self.folder,
        )
        assert proc.returncode == 0, f"script failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def start(self, source: str, *args: str) -> subprocess.Popen[str]:
        path = self.write(source)
        return subprocess.Popen(
            [sys.executable, str(path), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
            cwd=self.folder,
        )


@pytest.fixture
def scripts(tmp_path: Path) -> Scripts:
    return Scripts(tmp_path)


def wait_until(predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def count_lines(path: Path) -> dict[str, int]:
    """Run log: one line per real run of a checkpoint, appended by whichever process ran it."""
    counts: dict[str, int] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            counts[line] = counts.get(line, 0) + 1
    return counts
