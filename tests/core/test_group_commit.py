"""Group commit: writes that threads of one process ask for at once share transactions, and each
caller still gets its own outcome (a refused write fails alone)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru_nb.journal.base import CallRow, ExecutionRow, call_id_at
from kitaru_nb.journal.sqlite import SqliteJournal


def transactions(statements: list[str]) -> int:
    """How many transactions a traced statement sequence ran: each BEGIN ... COMMIT is one, and a
    statement outside them is one of its own (PostgreSQL runs a lone statement in autocommit)."""
    count, inside = 0, False
    for sql in statements:
        word = sql.lstrip().split(" ", 1)[0].upper()
        if word == "BEGIN":
            count, inside = count + 1, True
        elif word in ("COMMIT", "ROLLBACK"):
            inside = False
        elif not inside:
            count += 1
    return count


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteJournal]:
    if request.param == "postgres":
        from kitaru_nb.journal.postgres import PostgresJournal

        j: SqliteJournal = PostgresJournal(request.getfixturevalue("pg_url"))
    else:
        j = SqliteJournal(tmp_path / "j.db")
    yield j
    j.close()


def test_threads_share_commits_and_a_refused_write_fails_alone(journal: SqliteJournal) -> None:
    threads, per_thread = 8, 150
    for t in range(threads):
        journal.create_execution(ExecutionRow(f"e{t}", "f", "running", 1.0))
    journal.insert_call(CallRow(call_id_at("e0", 10_000), "e0", 10_000, "checkpoint", "step", "completed", 1.0))
    statements: list[str] = []
    errors: dict[int, list[BaseException]] = {t: [] for t in range(threads)}
    start = threading.Barrier(threads)

    def write(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            # thread 0 asks for a taken position every 25th write: refused, the others unaffected
            idx = 10_000 if t == 0 and i % 25 == 0 else i
            try:
                journal.insert_call(
                    CallRow(call_id_at(f"e{t}", idx), f"e{t}", idx, "checkpoint", "step", "completed", 1.0)
                )
            except (sqlite3.IntegrityError, ValueError) as exc:
                errors[t].append(exc)

    with journal.trace(statements.append):
        workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    assert len(errors[0]) == per_thread // 25 and all(not errors[t] for t in range(1, threads))
    for t in range(threads):
        expected = [i for i in range(per_thread) if not (t == 0 and i % 25 == 0)]
        assert [c.idx for c in journal.load_calls(f"e{t}")] == (expected + ([10_000] if t == 0 else []))
    writes = threads * per_thread
    assert transactions(statements) < writes  # some writes shared a transaction
