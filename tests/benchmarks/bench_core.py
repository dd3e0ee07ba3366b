"""Core engine benchmark (SPEC 7): prints a table of figures, targets and ratios; never asserts on time.

Run: ``python -m tests.benchmarks.bench_core`` (``--quick`` for a fast smoke run with small sizes).

Everything is measured in one run on a journal on disk (WAL), next to the cost of a
raw committed SQLite insert (plain sqlite3, WAL, synchronous=NORMAL, one INSERT +
COMMIT per row), so the figures can be read as ratios on any machine.

What a trivial checkpoint costs: one transaction, the call row written completed with its only
attempt kept in the same row (the start of an attempt is journaled only when it outlives
``kitaru_nb.runtime.deferred.HOLD``); the Python around it is about 10 us.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kitaru_nb as kitaru
from kitaru_nb import ExecutionStatus, KitaruClient
from kitaru_nb.journal.base import StoredValue

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Sizes:
    checkpoints: int = 1_000
    runs: int = 5
    import_runs: int = 7
    answers: int = 30
    xproc_answers: int = 10
    executions: int = 100_000
    list_runs: int = 30
    raw_rows: int = 2_000


QUICK = Sizes(checkpoints=100, runs=2, import_runs=2, answers=5, xproc_answers=3, executions=2_000, list_runs=5)


@dataclass
class Row:
    figure: str
    value_us: float
    target_us: float | None
    note: str = ""


def _median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples))


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - t0, result


# -- raw SQLite -------------------------------------------------------------------------
def timed_commits_us(path: Path, create: str, insert: str, rows: Sequence[Sequence[Any]]) -> float:
    """Microseconds per one-row INSERT + COMMIT on a plain sqlite3 connection (WAL,
    synchronous=NORMAL), the rows made before the clock starts."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(create)
    t0 = time.perf_counter()
    for row in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(insert, row)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds / len(rows) * 1e6


def raw_commit_us(folder: Path, rows: int) -> float:
    """Plain sqlite3, WAL, synchronous=NORMAL: one INSERT + COMMIT per row."""
    path = folder / "raw.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, status TEXT, started_at REAL, payload BLOB)")
    payload = b"x" * 64
    samples = []
    for _ in range(3):
        t0 = time.perf_counter()
        for i in range(rows):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t VALUES (?,?,?,?,?)", (uuid.uuid4().hex, i, "running", time.time(), payload))
            conn.execute("COMMIT")
        samples.append((time.perf_counter() - t0) / rows)
    conn.close()
    return _median(samples) * 1e6


# -- checkpoints -------------------------------------------------------------------------
def checkpoint_overhead_us(sizes: Sizes) -> tuple[float, float, float]:
    """(median and best overhead per checkpoint, plain function call) for a flow of N trivial checkpoints."""
    n = sizes.checkpoints

    def plain_step(i: int) -> int:
        return i + 1

    step = kitaru.checkpoint(name="bench_step")(plain_step)

    @kitaru.flow(name="bench_many")
    def many(count: int) -> int:
        total = 0
        for i in range(count):
            total += step(i)
        return total

    def plain(count: int) -> int:
        total = 0
        for i in range(count):
            total += plain_step(i)
        return total

    many.run(10)  # warm up (open the journal, first statements)
    flow_times, plain_times = [], []
    for _ in range(sizes.runs):
        seconds, handle = _timed(many.run, n)
        flow_times.append(seconds)
        assert handle.status is ExecutionStatus.COMPLETED
        assert handle.get() == n * (n + 1) // 2
        plain_times.append(_timed(plain, n)[0])
    per_plain = _median(plain_times) / n
    return (
        (_median(flow_times) / n - per_plain) * 1e6,
        (min(flow_times) / n - per_plain) * 1e6,
        per_plain * 1e6,
    )


def resume_ms(client: KitaruClient, sizes: Sizes) -> tuple[float, float]:
    """Resume of an execution whose N checkpoints all completed: the body re-runs, every position reused.

    The flow has N checkpoints and a wait at the end. The answer is recorded in the journal
    beforehand; what is timed is ``executions.resume``: load the journal, re-run the body
    (N reused positions, outputs read back), take the answer, complete.
    """
    n = sizes.checkpoints

    @kitaru.checkpoint(name="bench_resume_step")
    def rstep(i: int) -> int:
        return i * 2

    @kitaru.flow(name="bench_resume")
    def long_flow(count: int) -> int:
        total = sum(rstep(i) for i in range(count))
        return total + int(kitaru.wait(schema=int, name="last"))

    samples = []
    for _ in range(sizes.runs):
        handle = long_flow.run(n)
        assert handle.status is ExecutionStatus.WAITING
        (wait_call,) = [c for c in client.journal.load_calls(handle.exec_id, with_values=False) if c.kind == "wait"]
        assert client.journal.answer_wait(wait_call.call_id, StoredValue("json", "1", b"1"), answered_at=time.time())
        seconds, ex = _timed(client.executions.resume, handle.exec_id)
        samples.append(seconds)
        assert ex.status is ExecutionStatus.COMPLETED, ex.failure
        assert handle.get() == n * (n - 1) + 1
        assert len(ex.checkpoints) == n and all(len(c.attempts) == 1 for c in ex.checkpoints)
    return _median(samples) * 1e3, min(samples) * 1e3


# -- import ------------------------------------------------------------------------------
def import_ms(sizes: Sizes) -> tuple[float, float]:
    """(wall time of `import kitaru_nb` minus an empty interpreter, -X importtime cumulative), medians."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    walls, empties, cumulative = [], [], []
    for _ in range(sizes.import_runs):
        empties.append(_timed(subprocess.run, [sys.executable, "-c", "pass"], env=env, check=True)[0])
        walls.append(_timed(subprocess.run, [sys.executable, "-c", "import kitaru_nb"], env=env, check=True)[0])
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import kitaru_nb"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for line in out.stderr.splitlines():
            m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s?kitaru_nb$", line)
            if m:
                cumulative.append(int(m.group(1)) / 1e3)
    return (_median(walls) - _median(empties)) * 1e3, _median(cumulative)


# -- wait answers ------------------------------------------------------------------------
def answer_same_process_ms(client: KitaruClient, sizes: Sizes) -> float:
    @kitaru.checkpoint(name="bench_before")
    def before() -> int:
        return 1

    @kitaru.flow(name="bench_answer")
    def asks() -> int:
        return before() + int(kitaru.wait(schema=int, name="n"))

    samples: list[float] = []
    for i in range(sizes.answers + 1):
        handle = asks.run()
        assert handle.status is ExecutionStatus.WAITING
        t, ex = _timed(client.executions.input, handle.exec_id, wait="n", value=i)
        assert ex.status is ExecutionStatus.COMPLETED and handle.get() == 1 + i
        if i:  # the first one warms the validator up
            samples.append(t)
    return _median(samples) * 1e3


XPROC_CHILD = """
import json, sys, time
import kitaru_nb as kitaru
from pydantic import BaseModel, Field

class Answer(BaseModel):  # a schema only this process knows: the answering one validates with JSON Schema
    n: int = Field(ge=0)

@kitaru.flow(name="bench_xproc_answer_only_in_child")
def asks():
    return kitaru.wait(schema=Answer, name="n").n * 2

kitaru.configure(db=sys.argv[1])
for i in range(int(sys.argv[2])):
    handle = asks.run()
    print(json.dumps({"exec_id": handle.exec_id}), flush=True)
    value = handle.get(timeout=60)
    done = time.time()
    print(json.dumps({"value": value, "done": done}), flush=True)
"""


def answer_cross_process_ms(db: Path, folder: Path, sizes: Sizes) -> tuple[float, float, bool]:
    """An answer given in this process; a `get()` blocked in another process notices, resumes, completes.

    Returns (median of the answers after the first, the first one, whether the first one had
    to load the stored-schema judge: a process that does not know the flow rebuilds a pydantic
    type from the stored JSON Schema, once per schema).
    """
    cold = "kitaru_nb.stored_schema" not in sys.modules
    script = folder / "xproc_child.py"
    script.write_text(textwrap.dedent(XPROC_CHILD))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, str(script), str(db), str(sizes.xproc_answers)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    other = KitaruClient(db=db)
    samples = []
    try:
        for i in range(sizes.xproc_answers):
            exec_id = json.loads(child.stdout.readline())["exec_id"]
            deadline = time.monotonic() + 30
            while other.executions.get(exec_id).status is not ExecutionStatus.WAITING:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            time.sleep(0.1)  # let the child settle into its blocked get()
            t0 = time.time()
            other.executions.input(exec_id, wait="n", value={"n": i})  # records only: this process lacks the flow
            out = json.loads(child.stdout.readline())
            assert out["value"] == 2 * i
            samples.append(out["done"] - t0)
    finally:
        child.wait(timeout=60)
    return _median(samples[1:]) * 1e3, samples[0] * 1e3, cold


# -- listing -----------------------------------------------------------------------------
def list_ms(db: Path, client: KitaruClient, sizes: Sizes) -> dict[str, float]:
    """Newest 50 of many executions, plain and with a status filter (rows inserted in bulk)."""
    before = client.executions.count()
    statuses = ["completed"] * 6 + ["failed", "waiting", "cancelled", "running"]
    base = time.time() - sizes.executions
    rows = [
        {
            "exec_id": uuid.uuid4().hex,
            "flow_name": f"bulk_flow_{i % 20}",
            "kind": "flow",
            "status": statuses[i % len(statuses)],
            "started_at": base + i,
            "ended_at": base + i + 0.5,
            "owner_pid": None,
            "meta": "{}",
            "inputs_format": "json",
            "inputs_preview": f"{{'i': {i}}}",
            "inputs": json.dumps({"i": i}).encode(),
        }
        for i in range(sizes.executions)
    ]
    bulk = sqlite3.connect(db)
    bulk.execute("PRAGMA busy_timeout = 15000")
    columns = list(rows[0])
    with bulk:
        bulk.executemany(
            f"INSERT INTO executions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [tuple(r[c] for c in columns) for r in rows],
        )
    bulk.close()
    assert client.executions.count() == before + sizes.executions

    out = {}
    filters: tuple[tuple[str, dict[str, Any]], ...] = (
        ("newest 50", {}),
        ("newest 50, status=failed", {"status": "failed"}),
        ("newest 50, flow + status", {"flow": "bulk_flow_3", "status": "completed"}),
    )
    for label, kwargs in filters:
        client.executions.list(limit=50, **kwargs)  # warm
        samples: list[float] = []
        for _ in range(sizes.list_runs):
            seconds, listed = _timed(client.executions.list, limit=50, **kwargs)
            samples.append(seconds)
            assert len(listed) == 50
        out[label] = _median(samples) * 1e3
    return out


# -- report ------------------------------------------------------------------------------
def _fmt_us(us: float) -> str:
    return f"{us / 1e3:,.1f} ms" if us >= 10_000 else f"{us:,.1f} us"


def print_table(rows: list[Row], raw_us: float) -> None:
    header = ("figure", "measured", "target", "vs target", "x raw commit", "note")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.figure,
                _fmt_us(r.value_us),
                "" if r.target_us is None else _fmt_us(r.target_us),
                "" if r.target_us is None else f"{r.value_us / r.target_us:.2f}",
                f"{r.value_us / raw_us:,.1f}",
                r.note,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            print("-+-".join("-" * w for w in widths))


def main(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, figures not meaningful")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kitaru-bench-") as tmp:
        folder = Path(tmp)
        db = folder / "kitaru.db"
        kitaru.configure(db=db)
        try:
            client = KitaruClient()
            raw = raw_commit_us(folder, sizes.raw_rows)
            rows = [Row("raw SQLite INSERT + COMMIT (WAL, synchronous=NORMAL)", raw, None, "baseline")]
            overhead, best, plain = checkpoint_overhead_us(sizes)
            rows.append(
                Row(
                    f"overhead per checkpoint ({sizes.checkpoints:,} trivial, every attempt journaled)",
                    overhead,
                    100,
                    f"median of {sizes.runs}, best {best:.1f} us; 1 commit per checkpoint; plain call {plain:.2f} us",
                )
            )
            resume, resume_best = resume_ms(client, sizes)
            rows.append(
                Row(
                    f"resume a completed {sizes.checkpoints:,}-checkpoint execution",
                    resume * 1e3,
                    30_000,
                    f"median of {sizes.runs}, best {resume_best:.1f} ms; body re-runs, every position reused",
                )
            )
            wall, cumulative = import_ms(sizes)
            rows.append(Row("import kitaru_nb (wall, minus empty interpreter)", wall * 1e3, 250_000))
            rows.append(Row("import kitaru_nb (-X importtime, cumulative)", cumulative * 1e3, 250_000))
            rows.append(
                Row(
                    "wait answer -> flow completed, same process",
                    answer_same_process_ms(client, sizes) * 1e3,
                    10_000,
                    "input() validates, records, resumes",
                )
            )
            warm, first, cold = answer_cross_process_ms(db, folder, sizes)
            rows.append(
                Row(
                    "wait answer -> flow completed, another process",
                    warm * 1e3,
                    250_000,
                    "blocked get() polls the journal",
                )
            )
            rows.append(
                Row(
                    "  the first such answer of the answering process",
                    first * 1e3,
                    250_000,
                    "includes rebuilding the schema's pydantic type" if cold else "the judge was already loaded",
                )
            )
            for label, ms in list_ms(db, client, sizes).items():
                rows.append(Row(f"list {label} of {sizes.executions:,} executions", ms * 1e3, 20_000))
        finally:
            kitaru.configure(db=None)
    print(
        f"kitaru_nb core benchmark, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after"
    )
    print_table(rows, raw)
    return rows


if __name__ == "__main__":
    main()
