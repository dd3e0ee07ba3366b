"""A test that blocks forever fails with a timeout instead of hanging the suite (pytest-timeout)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_suite_has_a_per_test_timeout() -> None:
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert 60 <= int(options["timeout"]) <= 600


def test_a_test_that_blocks_forever_fails_with_a_timeout(tmp_path: Path) -> None:
    (tmp_path / "test_blocked.py").write_text(
        "import threading\n\ndef test_blocked():\n    threading.Event().wait()  # nobody sets it\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(REPO / "pyproject.toml"),
            "-o",
            "timeout=2",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_blocked.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Timeout" in proc.stdout + proc.stderr
    assert "1 failed" in proc.stdout
