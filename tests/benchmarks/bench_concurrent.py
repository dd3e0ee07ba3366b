"""Benchmark: 1,000 trivial checkpoints through ``.map`` on threads vs a bare ThreadPoolExecutor
doing the same calls plus one commit per call, what the journal writes for a trivial checkpoint
(SPEC 7: <= 1.5x). Prints figures,
never fails on time.

    python -m tests.benchmarks.bench_concurrent [--items 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

import kitaru_nb as kitaru


def bare(n: int, db: Path, workers: int) -> float:
    """The same calls on a bare pool, each followed by one commit on one shared connection."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (i INTEGER, phase TEXT)")
    lock = threading.Lock()

    def call(i: int) -> int:
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?, ?)", (i, "done"))
            conn.execute("COMMIT")
        return i + 1

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        out = list(pool.map(call, range(n)))
    seconds = time.perf_counter() - t0
    assert out[-1] == n
    conn.close()
    return seconds


def mapped(n: int, db: Path) -> float:
    kitaru.configure(db=db)

    @kitaru.checkpoint
    def bc_item(i: int) -> int:
        return i + 1

    @kitaru.flow
    def bc_fan(count: int) -> int:
        return sum(bc_item.map(range(count)).result())

    t0 = time.perf_counter()
    handle = bc_fan.run(n)
    seconds = time.perf_counter() - t0
    assert handle.get() == n * (n + 1) // 2
    kitaru.configure(db=None)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workers = min(32, (os.cpu_count() or 1) + 4)
    kitaru.configure(max_workers=workers)
    base, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            base.append(bare(args.items, Path(tmp) / f"bare{i}.db", workers))
            ours.append(mapped(args.items, Path(tmp) / f"ours{i}.db"))
    b, o = statistics.median(base), statistics.median(ours)
    print(f"{args.items} trivial checkpoints through .map on {workers} threads, median of {args.repeat}")
    print(f"  bare ThreadPoolExecutor + 1 commit per call  : {b * 1e3:8.1f} ms ({b / args.items * 1e6:.0f} us/call)")
    print(f"  checkpoint.map (every attempt journaled)     : {o * 1e3:8.1f} ms ({o / args.items * 1e6:.0f} us/call)")
    print(f"  ratio                                        : {o / b:.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
