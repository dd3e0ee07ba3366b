"""Beyond one machine, side by side in one run: the PostgreSQL journal and the Dask executor.

    eval "$(bash scripts/postgres.sh start)"       # or any server: KITARU_NB_TEST_PG=postgresql://.../postgres
    python -m tests.benchmarks.bench_team [--quick]

1. overhead per checkpoint on PostgreSQL (1,000 trivial checkpoints, every attempt journaled at
   start and end) vs a raw psycopg INSERT + COMMIT on the same server;
2. 1,000 trivial ``.map`` items on a LocalCluster (2 worker processes) vs a bare
   ``client.map`` + ``gather`` of the same function (target: at most 1.5x), journaled to the
   embedded SQLite file and to the PostgreSQL server;
3. resume past 1,000 completed checkpoints on PostgreSQL.

Figures only: nothing here fails on time. The load average is printed with the table.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import kitaru_nb as kitaru
from kitaru_nb import KitaruClient

from .bench_core import QUICK, Sizes, _median, _timed, checkpoint_overhead_us, resume_ms


def _database(server: str) -> tuple[str, str]:
    import psycopg

    name = f"kt_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(server)
    return name, urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


def raw_insert_commit_us(url: str, rows: int) -> float:
    """One INSERT + COMMIT per row on one connection (the floor of a durable write on this server)."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE raw_bench (id TEXT PRIMARY KEY, n INTEGER, at DOUBLE PRECISION)")
        conn.commit()
        samples = []
        for _ in range(3):
            conn.execute("TRUNCATE raw_bench")
            conn.commit()
            started = time.perf_counter()
            for i in range(rows):
                conn.execute("INSERT INTO raw_bench VALUES (%s, %s, %s)", (uuid.uuid4().hex, i, time.time()))
                conn.commit()
            samples.append((time.perf_counter() - started) / rows)
        conn.execute("DROP TABLE raw_bench")  # the journal refuses a database with foreign tables
        conn.commit()
    return _median(samples) * 1e6


def map_vs_bare(client: Any, items: int, runs: int) -> tuple[float, float]:
    """Seconds for ``items`` trivial checkpoints through ``.map`` on the cluster, and for a bare
    ``client.map`` + ``gather`` of the same function (medians)."""

    def trivial(x: int) -> int:
        return x + 1

    step = kitaru.checkpoint(name="bench_dask_step")(trivial)

    @kitaru.flow(name="bench_dask_map")
    def fan(n: int) -> int:
        return sum(step.map(range(n)).result())

    kitaru.configure(executor=client)
    fan.run(20)  # warm up: workers have the function, threads exist
    ours, bare = [], []
    for _ in range(runs):
        seconds, handle = _timed(fan.run, items)
        assert handle.get() == items * (items + 1) // 2
        ours.append(seconds)
        started = time.perf_counter()
        futures = client.map(trivial, range(items), pure=False)
        assert sum(client.gather(futures)) == items * (items + 1) // 2
        bare.append(time.perf_counter() - started)
        del futures
    kitaru.configure(executor=None)
    return _median(ours), _median(bare)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    sizes = QUICK if "--quick" in argv else Sizes()
    server = os.environ.get("KITARU_NB_TEST_PG")
    if not server:
        raise SystemExit('set KITARU_NB_TEST_PG to a server URL: eval "$(bash scripts/postgres.sh start)"')
    import distributed
    import psycopg

    name, url = _database(server)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    client = distributed.Client(cluster)
    try:
        raw = raw_insert_commit_us(url, 2_000 if sizes is not QUICK else 300)
        kitaru.configure(db=url)
        per_cp, per_cp_best, _ = checkpoint_overhead_us(sizes)
        resume, resume_best = resume_ms(KitaruClient(), sizes)
        items = 1_000 if sizes is not QUICK else 200
        ours_pg, bare_pg = map_vs_bare(client, items, sizes.runs)
        with tempfile.TemporaryDirectory() as folder:
            kitaru.configure(db=Path(folder) / "journal.db")  # the embedded default journal
            ours, bare = map_vs_bare(client, items, sizes.runs)
            kitaru.configure(db=None)
    finally:
        kitaru.configure(db=None, executor=None)
        client.close()
        cluster.close()
        from kitaru_nb.journal import postgres

        for journal in list(postgres._open.values()):
            journal.close()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    load = os.getloadavg()
    print(f"\nkitaru_nb beyond one machine ({os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})")
    print(f"{'figure':<72} {'measured':>14} {'ratio':>10}")
    rows = [
        ("raw psycopg INSERT + COMMIT, same server", f"{raw:.1f} us", "1.0"),
        (
            f"overhead per checkpoint on PostgreSQL ({sizes.checkpoints:,} trivial, 2 writes each)",
            f"{per_cp:.0f} us",
            f"{per_cp / raw:.1f}x raw",
        ),
        ("  best run", f"{per_cp_best:.0f} us", ""),
        (f"resume past {sizes.checkpoints:,} completed checkpoints on PostgreSQL", f"{resume:.1f} ms", ""),
        ("  best run", f"{resume_best:.1f} ms", ""),
        (
            f"{items:,} trivial .map items on a LocalCluster (2 worker processes), SQLite journal",
            f"{ours * 1e3:.0f} ms",
            "",
        ),
        (f"bare client.map + gather of {items:,} items, same cluster", f"{bare * 1e3:.0f} ms", ""),
        (".map through kitaru_nb vs bare Dask (target <= 1.5x)", "", f"{ours / bare:.2f}x"),
        (f"{items:,} trivial .map items on the LocalCluster, PostgreSQL journal", f"{ours_pg * 1e3:.0f} ms", ""),
        (f"bare client.map + gather of {items:,} items, same cluster", f"{bare_pg * 1e3:.0f} ms", ""),
        (".map through kitaru_nb (PostgreSQL journal) vs bare Dask", "", f"{ours_pg / bare_pg:.2f}x"),
    ]
    for label, value, ratio in rows:
        print(f"{label:<72} {value:>14} {ratio:>10}")


if __name__ == "__main__":
    main()
