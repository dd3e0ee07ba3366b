"""Benchmark: 1,000 trivial checkpoints through ``.map`` on threads vs a bare ThreadPoolExecutor
doing the same calls plus one commit per call (SPEC 7: <= 1.5x), and vs a bare pool that commits
the calls in groups as the journal does for a batch's trivial calls (one transaction per
``GROUP_ITEMS``). Prints figures, never fails on time.

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
from collections.abc import Callable
from pathlib import Path

import kitaru_nb as kitaru
from kitaru_nb.runtime.concurrent import GROUP_ITEMS


def _table(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (i INTEGER, phase TEXT)")
    return conn


def _pool_runs(call: Callable[[int], int], n: int, workers: int, finish: Callable[[], None]) -> tuple[float, float]:
    """Seconds for ``call`` over ``range(n)`` on a bare pool (then ``finish``), twice on the same file."""
    runs = []
    for _ in range(2):
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            out = list(pool.map(call, range(n)))
        finish()
        runs.append(time.perf_counter() - t0)
        assert out[-1] == n
    return runs[0], runs[1]


def bare(n: int, db: Path, workers: int) -> tuple[float, float]:
    """The same calls on a bare pool, each followed by one commit on one shared connection: seconds
    on the fresh file, then again on the same file (its WAL already grown)."""
    conn = _table(db)
    lock = threading.Lock()

    def call(i: int) -> int:
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?, ?)", (i, "done"))
            conn.execute("COMMIT")
        return i + 1

    runs = _pool_runs(call, n, workers, lambda: None)
    conn.close()
    return runs


def bare_grouped(n: int, db: Path, workers: int, group: int) -> float:
    """The same calls on a bare pool, committed as the journal commits a batch's trivial calls: one
    transaction per ``group`` calls (the rest at the end), on a table already written once."""
    conn = _table(db)
    lock = threading.Lock()
    waiting: list[tuple[int, str]] = []

    def flush() -> None:
        rows = waiting[:]
        waiting.clear()
        if rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
            conn.execute("COMMIT")

    def call(i: int) -> int:
        with lock:
            waiting.append((i, "done"))
            if len(waiting) >= group:
                flush()
        return i + 1

    def finish() -> None:
        with lock:
            flush()

    _, again = _pool_runs(call, n, workers, finish)
    conn.close()
    return again


def mapped(n: int, db: Path) -> tuple[float, float]:
    """Seconds for the flow with one ``.map`` of ``n`` items on a fresh journal file, then again."""
    kitaru.configure(db=db)

    @kitaru.checkpoint
    def bc_item(i: int) -> int:
        return i + 1

    @kitaru.flow
    def bc_fan(count: int) -> int:
        return sum(bc_item.map(range(count)).result())

    bc_fan.run(2)  # the journal file is created and open before the clock starts, as the bare table is
    runs = []
    for _ in range(2):
        t0 = time.perf_counter()
        handle = bc_fan.run(n)
        runs.append(time.perf_counter() - t0)
        assert handle.get() == n * (n + 1) // 2
    kitaru.configure(db=None)
    return runs[0], runs[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workers = min(32, (os.cpu_count() or 1) + 4)
    kitaru.configure(max_workers=workers)
    base, ours, base_again, ours_again, grouped = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            first, again = bare(args.items, Path(tmp) / f"bare{i}.db", workers)
            base.append(first)
            base_again.append(again)
            grouped.append(bare_grouped(args.items, Path(tmp) / f"grouped{i}.db", workers, GROUP_ITEMS))
            first, again = mapped(args.items, Path(tmp) / f"ours{i}.db")
            ours.append(first)
            ours_again.append(again)
    print(f"{args.items} trivial checkpoints through .map on {workers} threads, median of {args.repeat}")
    for label, b_runs, o_runs in (
        ("on a fresh file", base, ours),
        ("again on the same file", base_again, ours_again),
    ):
        b, o = statistics.median(b_runs), statistics.median(o_runs)
        print(f"  {label}:")
        print(
            f"    bare ThreadPoolExecutor + 1 commit per call  : {b * 1e3:8.1f} ms ({b / args.items * 1e6:.0f} us/call)"
        )
        print(
            f"    checkpoint.map (every attempt journaled)     : {o * 1e3:8.1f} ms ({o / args.items * 1e6:.0f} us/call)"
        )
        print(f"    ratio                                        : {o / b:.2f}x  (target <= 1.5x)")
    g, o = statistics.median(grouped), statistics.median(ours_again)
    print(f"  against a bare pool committing as the journal does (one transaction per {GROUP_ITEMS} calls):")
    print(f"    bare ThreadPoolExecutor, grouped commits     : {g * 1e3:8.1f} ms ({g / args.items * 1e6:.0f} us/call)")
    print(f"    ratio                                        : {o / g:.2f}x")


if __name__ == "__main__":
    main()
