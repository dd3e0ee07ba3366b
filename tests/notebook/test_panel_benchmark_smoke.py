"""Runs the panel benchmark's smoke check with the default suite (the benchmark file itself is
named bench_*.py, so pytest only collects it when given explicitly)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_panel.py"


def test_panel_benchmark_smoke() -> None:
    spec = importlib.util.spec_from_file_location("bench_panel", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.test_bench_panel_smoke()
