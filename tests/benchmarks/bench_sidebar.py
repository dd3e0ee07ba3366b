"""The sidebar's queries on a journal of 100,000 executions: list by part of the flow name, by
"needs input", the counts of what waits for a human, and the change token the push loop reads.

    python -m tests.benchmarks.bench_sidebar
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kitaru_nb.journal.base import CallRow, ExecutionRow
from kitaru_nb.journal.sqlite import SqliteJournal

N = 100_000
NAMES = ["budget_request", "nightly_etl", "train_model", "report", "scrape"]


def best(fn: Callable[[], object], n: int = 20) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[0] * 1000, times[len(times) // 2] * 1000


def main() -> None:
    path = Path(tempfile.mkdtemp()) / "bench.db"
    j = SqliteJournal(path)
    t = time.perf_counter()
    for i in range(N):
        exec_id = uuid.uuid4().hex
        status = "waiting" if i % 100 == 0 else "completed"
        j.create_execution(
            ExecutionRow(exec_id=exec_id, flow_name=f"{NAMES[i % 5]}_{i % 7}", status=status, started_at=1000.0 + i)
        )
        if status == "waiting":
            j.insert_call(CallRow(uuid.uuid4().hex, exec_id, 0, "wait", "w", "waiting", 1000.0 + i))
    print(f"{N:,} executions ({len(NAMES) * 7} flow names) written in {time.perf_counter() - t:.1f} s")
    print(f"load average {os.getloadavg()[0]:.1f}")
    rows = [
        ("list, flow name contains 'budg' (page of 50 + total)", lambda: j.search_executions(flow_contains="budg")),
        ("list, needs input (page of 50 + total)", lambda: j.search_executions(waiting_for="input")),
        ("counts of executions waiting for a human", j.count_waiting_for_human),
    ]
    for label, fn in rows:
        b, m = best(fn)
        print(f"{label:<55} best {b:6.2f} ms  median {m:6.2f} ms")
    b, m = best(j.change_token, 200)
    print(f"{'change token (one check of the push loop)':<55} best {b * 1000:6.1f} us  median {m * 1000:6.1f} us")
    j.close()


if __name__ == "__main__":
    main()
