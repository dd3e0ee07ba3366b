"""Benchmark: what ``@checkpoint(runtime="isolated")`` costs per call over an inline checkpoint, with
every attempt journaled either way. Prints figures, never fails on time.

    python -m tests.benchmarks.bench_isolated [--calls 300] [--repeat 3]

Figures: a sequential flow of trivial checkpoints (warm pool), the same through ``.map``, the bare
round trip to a warm worker (no journal), and the first call of a fresh pool (a worker starts).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kitaru_nb as kitaru
from kitaru_nb.runtime import isolated


def trivial(i: int) -> int:
    return i + 1


def flows(runtime: str) -> tuple[Any, Any]:
    step = kitaru.checkpoint(runtime=runtime, name=f"bi_{runtime}")(trivial)

    @kitaru.flow(name=f"bi_seq_{runtime}")
    def seq(n: int) -> int:
        return sum(step(i) for i in range(n))

    @kitaru.flow(name=f"bi_map_{runtime}")
    def fan(n: int) -> int:
        return sum(step.map(range(n)).result())

    return seq, fan


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_flow(flow: Any, n: int) -> None:
    assert flow.run(n).get() == n * (n + 1) // 2


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n = args.calls
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        kitaru.configure(db=Path(tmp) / "bench.db")
        seq_in, fan_in = flows("inline")
        seq_iso, fan_iso = flows("isolated")
        for _ in range(args.repeat):
            # the first call of a fresh pool: a worker process starts (interpreter + import kitaru_nb)
            isolated.shutdown()
            out.setdefault("cold", []).append(timed(lambda: run_flow(seq_iso, 1)) - timed(lambda: run_flow(seq_in, 1)))
            run_flow(fan_iso, 8)  # every worker of the pool started: the figures below are warm
            out.setdefault("seq_inline", []).append(timed(lambda: run_flow(seq_in, n)))
            out.setdefault("seq_isolated", []).append(timed(lambda: run_flow(seq_iso, n)))
            out.setdefault("map_inline", []).append(timed(lambda: run_flow(fan_in, n)))
            out.setdefault("map_isolated", []).append(timed(lambda: run_flow(fan_iso, n)))
            out.setdefault("bare", []).append(
                timed(lambda: [isolated.run_isolated(trivial, (i,), {}, name="bare") for i in range(n)])
            )
        kitaru.configure(db=None)
    m = {k: statistics.median(v) for k, v in out.items()}
    workers = getattr(isolated.runner(), "max_workers", "?")
    us = 1e6 / n
    print(f"{n} trivial checkpoints, SQLite journal on disk, {workers} worker processes, median of {args.repeat}")
    print(f"  sequential, inline                    : {m['seq_inline'] * us:8.0f} us/call")
    print(f"  sequential, isolated (warm pool)      : {m['seq_isolated'] * us:8.0f} us/call")
    print(f"  overhead of isolated, sequential      : {(m['seq_isolated'] - m['seq_inline']) * us:8.0f} us/call")
    print(f"  .map, inline (threads)                : {m['map_inline'] * us:8.0f} us/call")
    print(f"  .map, isolated                        : {m['map_isolated'] * us:8.0f} us/call")
    print(f"  overhead of isolated, .map            : {(m['map_isolated'] - m['map_inline']) * us:8.0f} us/call")
    print(f"  bare round trip to a warm worker      : {m['bare'] * us:8.0f} us/call (no journal)")
    print(f"  first call of a fresh pool, extra     : {m['cold'] * 1e3:8.0f} ms (a worker starts)")
    print(f"  (cpus: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f})")
    return m


if __name__ == "__main__":
    main()
