"""Benchmark: a 1,000-step workflow, every step attempt journaled.

Prints the overhead per step (the run's wall time minus the time spent in the step
functions, divided by the steps) next to the cost of one raw committed SQLite insert
on the same disk with the same settings (WAL, synchronous=NORMAL), and their ratio.
Each step makes two journal writes (the call and its attempt start, then its end).
Also: the same chain as a plain ``@flow`` (the engine without the step face),
continuing a paused 1,000-step run (999 steps reused from the journal), and reading
the run back. Figures only; nothing here asserts on time.

    python -m tests.benchmarks.bench_workflow [--steps 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import RunStatus
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput

from .bench_core import timed_commits_us


def raw_insert_us(path: Path, n: int) -> float:
    """Microseconds per committed INSERT on a plain sqlite3 connection (WAL, synchronous=NORMAL)."""
    return timed_commits_us(
        path,
        "CREATE TABLE t (id TEXT PRIMARY KEY, idx INTEGER, name TEXT, status TEXT, started REAL, data BLOB)",
        "INSERT INTO t VALUES (?,?,?,?,?,?)",
        [(f"id{i}", i, f"step_{i}", "completed", time.time(), b"1") for i in range(n)],
    )


def make_workflow(db: SqliteDb, n: int, name: str, busy: list[float], fail_last: bool = False) -> Workflow:
    def work(step_input: StepInput) -> int:
        t0 = time.perf_counter()
        value = (step_input.previous_step_content or 0) + 1
        busy[0] += time.perf_counter() - t0
        return value

    def last(step_input: StepInput) -> int:
        if fail_last and not busy[1]:
            busy[1] = 1.0
            raise RuntimeError("pause here")
        return int(step_input.previous_step_content or 0) + 1

    steps = [Step(name=f"step_{i}", executor=work) for i in range(n - 1)]
    steps.append(Step(name="last", executor=last, on_error=OnError.pause))
    return Workflow(name=name, db=db, steps=steps)


def flow_baseline_ms(path: Path, n: int) -> float:
    """The same chain of trivial steps as a plain flow with ``n`` checkpoints (the engine alone)."""
    import kitaru_nb

    @kitaru_nb.checkpoint(name="bench_add_one")
    def add_one(x: int) -> int:
        return x + 1

    @kitaru_nb.flow(name="bench_chain")
    def chain() -> int:
        value = 0
        for _ in range(n):
            value = add_one(value)
        return value

    kitaru_nb.configure(db=path)
    try:
        elapsed, handle = timed(chain.run)
        assert handle.get() == n
    finally:
        kitaru_nb.configure(db=None)
    return elapsed * 1e3


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    n, repeat = args.steps, args.repeat

    raws: list[float] = []
    per_step: list[float] = []
    totals: list[float] = []
    flows: list[float] = []
    resumes: list[float] = []
    reads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="kitaru-bench-") as tmp:
        root = Path(tmp)
        # each round measures everything back to back, so a busy machine skews a round, not a figure
        for r in range(repeat):
            raws.append(raw_insert_us(root / f"raw{r}.db", n))

            db = SqliteDb(db_file=root / f"wf{r}.db")
            busy = [0.0, 0.0]
            wf = make_workflow(db, n, f"bench_{r}", busy)
            db.journal  # open (and migrate) the file outside the timing
            elapsed, out = timed(lambda wf=wf: wf.run(0))
            assert out.status is RunStatus.completed and out.content == n
            totals.append(elapsed * 1e3)
            per_step.append((elapsed - busy[0]) / n * 1e6)

            flows.append(flow_baseline_ms(root / f"flow{r}.db", n))

            # a paused run whose first n-1 steps completed: continuing reuses them from the journal
            db = SqliteDb(db_file=root / f"resume{r}.db")
            wf = make_workflow(db, n, f"bench_resume_{r}", [0.0, 0.0], fail_last=True)
            paused = wf.run(0)
            assert paused.is_paused
            paused.steps_with_errors[0].retry()
            resume_s, done = timed(lambda wf=wf, paused=paused: wf.continue_run(paused))
            assert done.status is RunStatus.completed and done.content == n
            resumes.append(resume_s * 1e3)
            read_s, _ = timed(lambda wf=wf, done=done: wf.get_run(done.run_id))
            reads.append(read_s * 1e3)

    med = statistics.median
    ratios = [step / raw for step, raw in zip(per_step, raws, strict=True)]
    figures = {
        "steps": float(n),
        "run_total_ms": med(totals),
        "overhead_per_step_us": med(per_step),
        "overhead_per_step_best_us": min(per_step),
        "raw_sqlite_commit_us": med(raws),
        "ratio_step_to_raw_commit": med(ratios),
        "engine_flow_same_chain_ms": med(flows),
        "continue_paused_run_ms": med(resumes),
        "read_run_output_ms": med(reads),
    }
    print(f"kitaru_nb step workflow, {n} steps, median of {repeat} rounds (SQLite file, WAL, synchronous=NORMAL)")
    print(f"  run(), whole workflow             {figures['run_total_ms']:10.1f} ms")
    print(
        f"  overhead per step                 {figures['overhead_per_step_us']:10.1f} us   "
        f"(best {figures['overhead_per_step_best_us']:.1f} us; 2 journal writes per step)"
    )
    print(f"  raw SQLite committed insert       {figures['raw_sqlite_commit_us']:10.1f} us")
    print(
        f"  ratio step / raw commit           {figures['ratio_step_to_raw_commit']:10.2f} x   (per round, then median)"
    )
    print(f"  same chain as a plain @flow       {figures['engine_flow_same_chain_ms']:10.1f} ms   (the engine alone)")
    print(f"  continue a paused run ({n - 1} reused) {figures['continue_paused_run_ms']:7.1f} ms")
    print(f"  read the run back (get_run)       {figures['read_run_output_ms']:10.1f} ms")
    return figures


if __name__ == "__main__":
    main()
