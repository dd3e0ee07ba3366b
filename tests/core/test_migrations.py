"""A journal written by an earlier schema is migrated in place, atomically, keeping every row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import kitaru_nb as kitaru
from kitaru_nb.journal.migrations import LATEST_VERSION, MIGRATIONS
from kitaru_nb.journal.sqlite import APPLICATION_ID, SqliteJournal


def _journal_at_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE _kitaru_migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    for number, (name, apply) in enumerate(MIGRATIONS[:version], start=1):
        apply(conn)
        conn.execute("INSERT INTO _kitaru_migrations VALUES (?, 0)", (name,))
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("COMMIT")
    conn.close()


def test_a_version_2_journal_keeps_its_attempts_after_migrating(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _journal_at_version(path, 2)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO executions (exec_id, flow_name, status, started_at, owner_pid) "
            "VALUES ('e' || hex(randomblob(15)), 'old_flow', 'failed', 1.0, NULL)"
        )
        exec_id = conn.execute("SELECT exec_id FROM executions").fetchone()[0]
        conn.execute(
            "INSERT INTO calls (call_id, exec_id, idx, kind, name, status, started_at) "
            "VALUES ('c1', ?, 0, 'checkpoint', 'load', 'failed', 1.0)",
            (exec_id,),
        )
        for n, status in ((1, "failed"), (2, "failed")):
            conn.execute(
                "INSERT INTO attempts (attempt_id, call_id, exec_id, number, status, started_at, ended_at, "
                "failure_origin, failure_type, failure_message) VALUES (?, 'c1', ?, ?, ?, 1.0, 2.0, "
                "'user_code', 'ValueError', ?)",
                (f"a{n}", exec_id, n, status, f"boom {n}"),
            )
    journal = SqliteJournal(path)
    assert journal.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    applied = [r[0] for r in journal.conn.execute("SELECT name FROM _kitaru_migrations ORDER BY name")]
    assert applied == [name for name, _ in MIGRATIONS]
    assert [(a.number, a.failure.message if a.failure else None) for a in journal.list_attempts(exec_id)] == [
        (1, "boom 1"),
        (2, "boom 2"),
    ]
    assert journal.integrity_check() == "ok"
    journal.close()
    # and the client reads the story of that older execution
    (call,) = kitaru.KitaruClient(db=path).executions.get(exec_id).checkpoints
    assert [a.status.value for a in call.attempts] == ["failed", "failed"]


def test_migrations_are_recorded_by_name_with_the_time_in_seconds_since_the_epoch(tmp_path: Path) -> None:
    import time

    before = time.time()
    journal = SqliteJournal(tmp_path / "fresh.db")
    rows = journal.conn.execute("SELECT name, applied_at FROM _kitaru_migrations ORDER BY rowid").fetchall()
    journal.close()
    assert [name for name, _ in rows] == [name for name, _ in MIGRATIONS]
    # the unit every other time in the journal uses (started_at, ended_at, ...), not a Julian day
    assert all(before - 1 <= applied_at <= time.time() + 1 for _, applied_at in rows)
