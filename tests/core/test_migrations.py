"""A journal written by an earlier schema is migrated in place, atomically, keeping every row."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb.journal.base import CallRow
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


# -- 007: a call's id is its execution's id and its position ---------------------------------------
E1, E2 = "a1" * 16, "b2" * 16  # execution ids are hex digits
BIG = b"x" * 70_000  # above base.SHARED_OUTPUT_BYTES: a reused call keeps no copy of it

#: a version 6 journal's rows, ids drawn at random as version 6 drew them: E1 ran three positions
#: (a big output, a call failed twice with an artifact, a wait); E2 replayed it, reusing position 0's
#: big output by reference; one attempt names a call that is no longer in the journal
V6_ROWS: list[tuple[str, tuple[object, ...]]] = [
    (
        "INSERT INTO executions (exec_id, flow_name, status, started_at) VALUES (?, 'old_flow', ?, 1.0)",
        (E1, "waiting"),
    ),
    (
        "INSERT INTO executions (exec_id, flow_name, status, started_at, original_exec_id) "
        "VALUES (?, 'old_flow', 'completed', 2.0, ?)",
        (E2, E1),
    ),
    (
        "INSERT INTO calls (call_id, exec_id, idx, kind, name, status, started_at, output_format, output_preview, "
        "output, first_attempt) VALUES ('0190aaaa', ?, 0, 'checkpoint', 'load', 'completed', 1.0, 'pickle', 'big', ?, "
        "'att-0')",
        (E1, BIG),
    ),
    (
        "INSERT INTO calls (call_id, exec_id, idx, kind, name, status, started_at) "
        "VALUES ('0190bbbb', ?, 1, 'checkpoint', 'train', 'failed', 1.0)",
        (E1,),
    ),
    (
        "INSERT INTO calls (call_id, exec_id, idx, kind, name, status, started_at) "
        "VALUES ('0190cccc', ?, 2, 'wait', 'approve', 'waiting', 1.0)",
        (E1,),
    ),
    (
        "INSERT INTO calls (call_id, exec_id, idx, kind, name, status, started_at, original_call_id, "
        "output_format, output_preview) VALUES ('0190dddd', ?, 0, 'checkpoint', 'load', 'reused', 2.0, "
        "'0190aaaa', 'pickle', 'big')",
        (E2,),
    ),
    (
        "INSERT INTO attempts (attempt_id, call_id, exec_id, number, status, started_at, ended_at, "
        "failure_origin, failure_type, failure_message) VALUES (?, ?, ?, ?, 'failed', 1.0, 2.0, 'user_code', "
        "'ValueError', ?)",
        ("att-1", "0190bbbb", E1, 1, "boom 1"),
    ),
    (
        "INSERT INTO attempts (attempt_id, call_id, exec_id, number, status, started_at, ended_at, "
        "failure_origin, failure_type, failure_message) VALUES (?, ?, ?, ?, 'failed', 1.0, 2.0, 'user_code', "
        "'ValueError', ?)",
        ("att-2", "0190bbbb", E1, 2, "boom 2"),
    ),
    (
        "INSERT INTO attempts (attempt_id, call_id, exec_id, number, status, started_at) "
        "VALUES ('att-gone', '0190gone', ?, 1, 'completed', 1.0)",
        (E1,),
    ),
    (
        "INSERT INTO artifacts (artifact_id, exec_id, call_id, name, kind, format, data, created_at) "
        "VALUES ('art-1', ?, '0190bbbb', 'report', 'context', 'json', ?, 1.5)",
        (E1, b'"r"'),
    ),
]


def _assert_migrated_v6_rows(journal: Any) -> None:
    from kitaru_nb.journal.base import call_id_at

    calls = journal.load_calls(E1)
    assert [(c.call_id, c.name) for c in calls] == [
        (call_id_at(E1, 0), "load"),
        (call_id_at(E1, 1), "train"),
        (call_id_at(E1, 2), "approve"),
    ]
    (reused,) = journal.load_calls(E2)
    assert reused.call_id == call_id_at(E2, 0) and reused.original_call_id == call_id_at(E1, 0)
    assert reused.output is not None and reused.output.data == BIG  # read through the rewritten reference
    attempts = {a.attempt_id: a for a in journal.list_attempts(E1)}
    assert attempts["att-0"].call_id == call_id_at(E1, 0)  # the first attempt kept in its call's row
    assert [(attempts[a].call_id, attempts[a].number) for a in ("att-1", "att-2")] == [
        (call_id_at(E1, 1), 1),
        (call_id_at(E1, 1), 2),
    ]
    (art,) = journal.list_artifacts(call_ids=[call_id_at(E1, 1)])
    assert art.artifact_id == "art-1"
    summary, open_calls, _ = journal.execution_summary(E1)
    assert summary["total"] == 3 and summary["open_waits"] == 1 and [c.idx for c in open_calls] == [1, 2]
    # the migrated journal takes new calls at the next position
    journal.insert_call(CallRow(call_id_at(E2, 1), E2, 1, "checkpoint", "more", "completed", 3.0, ended_at=3.0))
    assert [c.idx for c in journal.load_calls(E2)] == [0, 1]


def test_a_version_6_journal_names_its_calls_by_position_keeping_every_reference(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    _journal_at_version(path, 6)
    with sqlite3.connect(path) as conn:
        for sql, params in V6_ROWS:
            conn.execute(sql, params)
    journal = SqliteJournal(path)
    assert journal.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    _assert_migrated_v6_rows(journal)
    # the reference to a call no longer in the journal keeps its old id
    gone = journal.conn.execute("SELECT call_id FROM attempts WHERE attempt_id = 'att-gone'").fetchone()
    assert gone == ("0190gone",)
    # one B-tree per trivial checkpoint: the calls are keyed by (execution seq << 32) | position, with
    # no index but the partial ones (open positions, cache keys) that a completed call never enters
    assert journal.conn.execute("SELECT count(*) FROM pragma_index_list('calls') WHERE partial = 0").fetchone() == (0,)
    seqs = dict(journal.conn.execute("SELECT exec_id, seq FROM executions"))
    keys = journal.conn.execute("SELECT exec_id, idx, rid, original_rid FROM calls ORDER BY rid").fetchall()
    assert [(e, i, rid) for e, i, rid, _ in keys] == [(e, i, (seqs[e] << 32) | i) for e, i, _, _ in keys]
    assert [orig for e, i, _, orig in keys if (e, i) == (E2, 0)] == [seqs[E1] << 32]  # the reused call's original
    assert journal.integrity_check() == "ok"
    journal.close()
    # and the client reads the migrated story
    got = kitaru.KitaruClient(db=path).executions.get(E1)
    assert [c.name for c in got.checkpoints] == ["load", "train"]


@pytest.mark.postgres
def test_a_version_6_postgresql_journal_names_its_calls_by_position(pg_url: str) -> None:
    import psycopg

    from kitaru_nb.journal.postgres import PostgresJournal
    from kitaru_nb.journal.postgres_schema import PG_MIGRATIONS

    with psycopg.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE _kitaru_migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION)")
        for name, apply in PG_MIGRATIONS[:6]:
            apply(cur)
            cur.execute("INSERT INTO _kitaru_migrations VALUES (%s, 0)", (name,))
        for sql, params in V6_ROWS:
            cur.execute(sql.replace("?", "%s"), params)
    journal = PostgresJournal(pg_url)
    try:
        _assert_migrated_v6_rows(journal)
    finally:
        journal.close()
