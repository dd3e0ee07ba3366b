"""The sidebar's queries on a journal of 100,000 executions: list by part of the flow name, by
"needs input", the counts of what waits for a human, and the change token the push loop reads.
Then the REST detail of one execution with 1,000 and 10,000 checkpoints: the default page (the last
200 rows), a "show older rows" page, and the whole execution as the detail read it before pages.

    python -m tests.benchmarks.bench_sidebar
    python -m tests.benchmarks.bench_sidebar --detail-only
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import kitaru_nb as kitaru
from kitaru_nb.client import KitaruClient
from kitaru_nb.journal.base import CallRow, ExecutionRow, call_id_at
from kitaru_nb.journal.sqlite import SqliteJournal
from kitaru_nb.server.service import JournalService, detail

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


def big_execution(n: int) -> str:
    @kitaru.checkpoint
    def bench_row(i: int) -> int:
        return i

    @kitaru.flow
    def bench_big() -> int:
        return sum(bench_row(i) for i in range(n))

    return bench_big.run().exec_id


def detail_figures(sizes: tuple[int, ...] = (1_000, 10_000)) -> None:
    """What ``GET executions/{id}`` costs on a big execution (the service and the JSON encoding, as
    the handler runs them; no HTTP)."""
    path = Path(tempfile.mkdtemp()) / "detail.db"
    kitaru.configure(db=path)
    try:
        ids = {n: big_execution(n) for n in sizes}
        print(f"REST detail of one execution (load average {os.getloadavg()[0]:.1f})")
        for n, exec_id in ids.items():
            detail_figure(path, n, exec_id)
    finally:
        kitaru.configure(db=None)


def detail_figure(path: Path, n: int, exec_id: str) -> None:
    service = JournalService(path)
    first = service.get(exec_id)["page"]["first_index"]

    def whole() -> str:
        """The whole execution, as the detail read it before pages (``to_dict`` reads every position)."""
        client = KitaruClient(db=path, unpickle=False)
        return json.dumps(detail(client, client.executions.get(exec_id)))

    rows = [
        ("default page (last 200 rows + open ones)", lambda: json.dumps(service.get(exec_id)), 10),
        ("show older rows (?before=first_index)", lambda: json.dumps(service.get(exec_id, {"before": str(first)})), 10),
        ("whole execution (the detail before pages)", whole, 3 if n > 5_000 else 10),
    ]
    for label, fn, times in rows:
        b, m = best(fn, times)
        print(f"  {n:>6,} checkpoints, {label:<43} best {b:8.2f} ms  median {m:8.2f} ms")
    page_kib, whole_kib = len(json.dumps(service.get(exec_id))) / 1024, len(whole()) / 1024
    print(f"  {n:>6,} checkpoints, JSON: default page {page_kib:,.0f} KiB, whole execution {whole_kib:,.0f} KiB")


def main() -> None:
    if "--detail-only" in sys.argv:
        detail_figures()
        return
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
            j.insert_call(CallRow(call_id_at(exec_id, 0), exec_id, 0, "wait", "w", "waiting", 1000.0 + i))
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
    detail_figures()


if __name__ == "__main__":
    main()
