"""Big executions: what a run, a read, an answer and a panel refresh cost at 1,000 / 10,000 / 100,000
checkpoints (issue "Big executions stay fast"). Prints figures and targets; never asserts on time.

    python -m tests.benchmarks.bench_big [--sizes 1000,10000,100000] [--repeat 5]

One journal file per size (SQLite, WAL). The flow: N trivial checkpoints, then a wait. Figures:
run per checkpoint (next to a raw INSERT + COMMIT of a checkpoint's row, and of a bare two-column
row, measured in the same run), the summary read (``executions.get``), the full read (every
checkpoint with its attempts), the first page of rows,
the panel's refresh (``ExecutionPanel.refresh`` with real widgets, after one more checkpoint of
another execution changed the journal), answer + resume (``executions.input``: record, resume past
N reused checkpoints, complete) and the journal's bytes per checkpoint.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kitaru_nb as kitaru

from .bench_core import timed_commits_us


def raw_commit_us(folder: Path, rows: int = 3000) -> float:
    """The floor: plain sqlite3, WAL, synchronous=NORMAL, one two-column row per INSERT + COMMIT."""
    return timed_commits_us(
        folder / "raw.db",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
        "INSERT INTO t (v) VALUES (?)",
        [(f"row {i}",) for i in range(rows)],
    )


def raw_checkpoint_row_us(folder: Path, rows: int = 3000) -> float:
    """What a hand-written journal writes per checkpoint at the least: one row with the execution,
    the position (unique per execution, to find it again on resume), name, status, times and the
    output, one INSERT + COMMIT each."""
    exec_id = os.urandom(16).hex()
    return timed_commits_us(
        folder / "raw_cp.db",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, exec_id TEXT, position INTEGER, name TEXT, status TEXT, "
        "started_at REAL, ended_at REAL, output BLOB, UNIQUE (exec_id, position))",
        "INSERT INTO t (exec_id, position, name, status, started_at, ended_at, output) VALUES (?,?,?,?,?,?,?)",
        [(exec_id, i, "step", "completed", time.time(), time.time(), str(i).encode()) for i in range(rows)],
    )


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e3


@kitaru.checkpoint
def bb_step(i: int) -> int:
    return i


@kitaru.flow
def bb_flow(n: int) -> int:
    total = sum(bb_step(i) for i in range(n))
    if not kitaru.wait(schema=bool, name="go", question="finish?"):
        return -1
    return total


@kitaru.flow
def bb_other() -> int:
    return bb_step(1)


def measure(n: int, folder: Path, repeat: int) -> dict[str, float]:
    from kitaru_nb.widgets.panel import ExecutionPanel

    db = folder / f"big{n}.db"
    kitaru.configure(db=db)
    client = kitaru.KitaruClient()
    out: dict[str, float] = {}
    bb_flow.run(1)  # the journal file is open and the wait's schema built before the clock starts
    t0 = time.perf_counter()
    handle = bb_flow.run(n)
    out["run_us"] = (time.perf_counter() - t0) / n * 1e6
    assert handle.status.value == "waiting"
    exec_id = handle.exec_id
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out["bytes"] = (db.stat().st_size + (Path(f"{db}-wal").stat().st_size if Path(f"{db}-wal").exists() else 0)) / n
    out["summary_ms"] = median_ms(lambda: client.executions.get(exec_id), repeat)
    out["full_ms"] = median_ms(lambda: len(client.executions.get(exec_id).checkpoints), max(1, repeat // 2))
    out["page_ms"] = median_ms(lambda: client.executions.page(exec_id, limit=50), repeat)
    panel = ExecutionPanel(exec_id, client)

    def refresh_after_a_change() -> None:
        bb_other.run()  # one more checkpoint in the journal: the panel reads what it shows again
        t = time.perf_counter()
        panel.refresh()
        samples.append(time.perf_counter() - t)

    samples: list[float] = []
    for _ in range(repeat):
        refresh_after_a_change()
    out["panel_ms"] = statistics.median(samples) * 1e3
    panel.close()
    t0 = time.perf_counter()
    done = client.executions.input(exec_id, wait="go", value=True)
    out["answer_ms"] = (time.perf_counter() - t0) * 1e3
    assert done.status.value == "completed", done.status
    kitaru.configure(db=None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = raw_commit_us(folder)
        raw_cp = raw_checkpoint_row_us(folder)
        rows = {n: measure(n, folder, args.repeat) for n in sizes}
    load = os.getloadavg()[0]
    print(
        f"big executions, SQLite WAL, {os.cpu_count()} CPUs, load {load:.1f}; raw INSERT + COMMIT {raw:.1f} us "
        f"(two-column row), {raw_cp:.1f} us (a checkpoint's row by hand)"
    )
    head = f"{'figure':<38}" + "".join(f"{n:>14,}" for n in sizes) + "   target"
    print(head)
    print("-" * len(head))
    lines = [
        ("run, per checkpoint (us)", "run_us", "<= 2x raw"),
        # the target's raw commit is one of what a checkpoint records (its execution, a unique
        # position to find it again by, name, status, times, output); the two-column row, which
        # records nothing to find it by, is the floor of any SQLite commit, shown for scale
        ("  x a checkpoint's row by hand", "cp", "<= 2.0"),
        ("  x a two-column row (the floor)", None, ""),
        ("summary read: executions.get (ms)", "summary_ms", "<= 20 ms"),
        ("full read: every checkpoint (ms)", "full_ms", ""),
        ("first page of 50 rows (ms)", "page_ms", "<= 20 ms"),
        ("panel refresh after a change (ms)", "panel_ms", "<= 20 ms"),
        ("answer + resume past N (ms)", "answer_ms", "<= 1 s"),
        ("journal bytes per checkpoint", "bytes", ""),
    ]
    for label, key, target in lines:
        if key is None or key == "cp":
            base = raw if key is None else raw_cp
            cells = "".join(f"{rows[n]['run_us'] / base:>14.2f}" for n in sizes)
        else:
            cells = "".join(f"{rows[n][key]:>14,.1f}" for n in sizes)
        print(f"{label:<38}{cells}   {target}")


if __name__ == "__main__":
    main()
