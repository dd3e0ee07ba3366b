"""The workflow benchmark runs end to end (on a small workflow); it prints figures, nothing is timed here."""

from __future__ import annotations

import pytest

from tests.benchmarks import bench_workflow


def test_benchmark_runs_and_reports_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    figures = bench_workflow.main(["--steps", "25", "--repeat", "1"])
    assert figures["steps"] == 25
    assert figures["raw_sqlite_commit_us"] > 0 and figures["overhead_per_step_us"] > 0
    out = capsys.readouterr().out
    assert "overhead per step" in out and "raw SQLite committed insert" in out and "ratio" in out
