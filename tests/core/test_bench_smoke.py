"""The core benchmark keeps working: a quick run checks its own results (never its timings)."""

from __future__ import annotations

import pytest

from tests.benchmarks import bench_core


def test_quick_benchmark_run_measures_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    rows = bench_core.main(["--quick"])
    figures = [r.figure for r in rows]
    for needle in (
        "raw SQLite",
        "overhead per checkpoint",
        "resume a completed",
        "import kitaru_nb",
        "same process",
        "another process",
        "list newest 50 of",
        "status=failed",
    ):
        assert any(needle in f for f in figures), needle
    assert all(r.value_us > 0 for r in rows[:1])
    out = capsys.readouterr().out
    assert "x raw commit" in out and out.count("\n") >= len(rows) + 2
