"""Versioned schema migrations, applied in order, each atomic and recorded by name.

``PRAGMA user_version`` holds how many migrations a file has; a file with more
than this code knows was written by a newer kitaru_nb and is refused untouched.
``_kitaru_migrations`` records each name with ``applied_at`` in seconds since the epoch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

#: (name, apply): ``apply`` runs inside the migrating transaction on the journal's connection
Migration = tuple[str, Callable[[sqlite3.Connection], None]]


def _run_statements(db: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the surrounding transaction: run one by one.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _m001_initial(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        CREATE TABLE executions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            exec_id TEXT NOT NULL UNIQUE,
            flow_name TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'flow',
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            owner_pid INTEGER,
            original_exec_id TEXT,
            replay_from TEXT,
            failure_origin TEXT,
            failure_type TEXT,
            failure_message TEXT,
            failure_traceback TEXT,
            meta TEXT NOT NULL DEFAULT '{}',
            inputs_format TEXT,
            inputs_preview TEXT,
            result_format TEXT,
            result_preview TEXT,
            inputs BLOB,
            result BLOB
        );
        CREATE INDEX executions_by_status ON executions(status, seq);
        CREATE INDEX executions_by_flow ON executions(flow_name, seq);
        CREATE TABLE calls (
            call_id TEXT PRIMARY KEY,
            exec_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            fingerprint TEXT,
            original_call_id TEXT,
            failure_origin TEXT,
            failure_type TEXT,
            failure_message TEXT,
            failure_traceback TEXT,
            paused INTEGER NOT NULL DEFAULT 0,
            wait_schema TEXT,
            wait_question TEXT,
            wait_metadata TEXT,
            wait_timeout REAL,
            output_format TEXT,
            output_preview TEXT,
            output BLOB,
            UNIQUE (exec_id, idx)
        );
        CREATE TABLE attempts (
            attempt_id TEXT PRIMARY KEY,
            call_id TEXT NOT NULL,
            exec_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            failure_origin TEXT,
            failure_type TEXT,
            failure_message TEXT,
            failure_traceback TEXT
        );
        CREATE INDEX attempts_by_exec ON attempts(exec_id);
        CREATE INDEX attempts_running ON attempts(status) WHERE status = 'running';
        """,
    )


def _m002_drop_attempts_running(db: sqlite3.Connection) -> None:
    # The partial index cost two WAL frames per checkpoint (one when an attempt starts,
    # one when it ends) for a query run once per process; recovery now finds running
    # attempts through the executions that can have them (indexed by status).
    db.execute("DROP INDEX IF EXISTS attempts_running")


def _m003_attempts_by_call(db: sqlite3.Connection) -> None:
    # Attempts keyed by (call_id, attempt_id) in one B-tree: starting an attempt writes one index
    # instead of three (rowid table + primary-key index + exec index). An execution's attempts are
    # read through its calls, updates name the call.
    _run_statements(
        db,
        """
        CREATE TABLE attempts_by_call (
            call_id TEXT NOT NULL,
            attempt_id TEXT NOT NULL,
            exec_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            failure_origin TEXT,
            failure_type TEXT,
            failure_message TEXT,
            failure_traceback TEXT,
            PRIMARY KEY (call_id, attempt_id)
        ) WITHOUT ROWID;
        INSERT INTO attempts_by_call (call_id, attempt_id, exec_id, number, status, started_at, ended_at,
            failure_origin, failure_type, failure_message, failure_traceback)
        SELECT call_id, attempt_id, exec_id, number, status, started_at, ended_at,
            failure_origin, failure_type, failure_message, failure_traceback FROM attempts;
        DROP TABLE attempts;
        ALTER TABLE attempts_by_call RENAME TO attempts
        """,
    )


def _m004_owner_answers_requests(db: sqlite3.Connection) -> None:
    # who owns an execution (host, pid and its start time, notebook, kernel), where a wait's answer
    # came from, and requests (replay, retry) recorded by one process for the kernel that owns the flow;
    # migrations recorded before 004 get their times in seconds since the epoch (they were Julian days)
    _run_statements(
        db,
        """
        ALTER TABLE executions ADD COLUMN owner TEXT;
        ALTER TABLE calls ADD COLUMN answered_by TEXT;
        CREATE TABLE requests (
            request_id TEXT PRIMARY KEY,
            exec_id TEXT NOT NULL,
            flow_name TEXT NOT NULL,
            kind TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            created_by TEXT,
            taken_by TEXT,
            ended_at REAL,
            message TEXT,
            result_exec_id TEXT
        );
        CREATE INDEX requests_by_status ON requests(status, created_at);
        CREATE INDEX requests_by_exec ON requests(exec_id, created_at);
        UPDATE _kitaru_migrations SET applied_at = (applied_at - 2440587.5) * 86400 WHERE applied_at < 1e7
        """,
    )


def _m005_artifacts_metadata_cache(db: sqlite3.Connection) -> None:
    # kitaru.save() artifacts, kitaru.log() metadata on calls and executions, the checkpoint's type
    # label, and what the cache needs: a hash of a call's inputs (indexed only where recorded) and the
    # execution a cached output came from
    _run_statements(
        db,
        """
        ALTER TABLE calls ADD COLUMN metadata TEXT;
        ALTER TABLE calls ADD COLUMN checkpoint_type TEXT;
        ALTER TABLE calls ADD COLUMN input_key TEXT;
        ALTER TABLE calls ADD COLUMN source_exec_id TEXT;
        ALTER TABLE calls ADD COLUMN checkpoint_name TEXT;
        ALTER TABLE calls ADD COLUMN first_attempt TEXT;
        CREATE INDEX calls_by_input_key ON calls(input_key, name) WHERE input_key IS NOT NULL;
        ALTER TABLE executions ADD COLUMN metadata TEXT;
        CREATE TABLE artifacts (
            artifact_id TEXT PRIMARY KEY,
            exec_id TEXT NOT NULL,
            call_id TEXT NOT NULL,
            attempt_id TEXT,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            format TEXT NOT NULL,
            preview TEXT,
            data BLOB,
            created_at REAL NOT NULL
        );
        CREATE INDEX calls_open ON calls(exec_id, idx) WHERE status NOT IN ('completed', 'reused', 'skipped');
        CREATE INDEX artifacts_by_call ON artifacts(call_id, name);
        CREATE INDEX artifacts_by_exec ON artifacts(exec_id)
        """,
    )


def _m006_attempt_worker(db: sqlite3.Connection) -> None:
    # who ran an attempt's body when it was not the flow's process: the Dask worker's address
    db.execute("ALTER TABLE attempts ADD COLUMN worker TEXT")


def _calls_columns(db: sqlite3.Connection, *, call_id: str) -> tuple[list[str], str]:
    """The calls table's columns as earlier migrations left them, and their definitions for the table
    that replaces it (``call_id``: the constraint of its call_id column)."""
    info = list(db.execute("PRAGMA table_info(calls)"))  # (cid, name, type, notnull, default, pk)
    definitions = ", ".join(
        f"{name} {kind}"
        + (f" {call_id}" if name == "call_id" else " NOT NULL" if notnull else "")
        + (f" DEFAULT {default}" if default is not None else "")
        for _, name, kind, notnull, default, _ in info
    )
    return [r[1] for r in info], definitions


#: a call's id from its execution and position, in SQL (``journal.base.call_id_at`` in Python)
CALL_ID_SQL = "{t}exec_id || '.' || printf('%08x', {t}idx)"


def _m007_calls_by_position(db: sqlite3.Connection) -> None:
    # A call's id is its execution's id and its position (journal.base.call_id_at), and the calls
    # are one B-tree keyed by it (WITHOUT ROWID, the columns as earlier migrations left them): an
    # execution's calls are one range of that key in position order, so the rowid table and the two
    # unique indexes (call_id; exec_id, idx) a checkpoint's row was written into become one.
    # Existing ids are rewritten with their references (a reused call's original, attempts,
    # artifacts); a reference to a call no longer in the journal keeps its old id.
    columns, definitions = _calls_columns(db, call_id="PRIMARY KEY")
    new_id = CALL_ID_SQL.format(t="")
    mapped = "(SELECT " + CALL_ID_SQL.format(t="o.") + " FROM calls o WHERE o.call_id = {ref})"
    select = ", ".join(
        new_id
        if col == "call_id"
        else f"coalesce({mapped.format(ref='calls.original_call_id')}, original_call_id)"
        if col == "original_call_id"
        else col
        for col in columns
    )
    _run_statements(
        db,
        f"""
        CREATE TABLE calls_by_position ({definitions}) WITHOUT ROWID;
        INSERT INTO calls_by_position ({", ".join(columns)}) SELECT {select} FROM calls;
        UPDATE attempts SET call_id = coalesce({mapped.format(ref="attempts.call_id")}, call_id);
        UPDATE artifacts SET call_id = coalesce({mapped.format(ref="artifacts.call_id")}, call_id);
        DROP TABLE calls;
        ALTER TABLE calls_by_position RENAME TO calls;
        CREATE INDEX calls_by_input_key ON calls(input_key, name) WHERE input_key IS NOT NULL;
        CREATE INDEX calls_open ON calls(exec_id, idx) WHERE status NOT IN ('completed', 'reused', 'skipped')
        """,
    )


#: a call's row key from its execution's ``seq`` and its position, in SQL (``SqliteJournal._rid``)
RID_SQL = "(CAST({t}seq AS INTEGER) << 32) | {c}idx"


def _m008_calls_by_rid(db: sqlite3.Connection) -> None:
    # The calls become a rowid table keyed by (execution seq << 32) | position: a new call's row is
    # appended at the end of the table's B-tree, which SQLite does without rebalancing its last
    # pages, so a trivial checkpoint's commit writes 1.1 WAL pages instead of 1.8 (007's key was a
    # text id, an index B-tree). call_id stays a column (the calls' public id, unindexed): the journal
    # turns an id into its key (``_rid``). A reused call's original is also kept as a key
    # (original_rid). A call whose execution is not in the journal (none should be) keeps its row,
    # under a negative key no execution's range holds.
    columns, definitions = _calls_columns(db, call_id="NOT NULL")
    key = RID_SQL.format(t="e.", c="c.")
    original = (
        "(SELECT " + RID_SQL.format(t="oe.", c="o.") + " FROM calls o JOIN executions oe ON oe.exec_id = o.exec_id "
        "WHERE o.call_id = c.original_call_id)"
    )
    _run_statements(
        db,
        f"""
        CREATE TABLE calls_by_rid (rid INTEGER PRIMARY KEY, {definitions}, original_rid INTEGER);
        INSERT INTO calls_by_rid (rid, {", ".join(columns)}, original_rid)
            SELECT coalesce({key}, -ROW_NUMBER() OVER (ORDER BY c.call_id)), {", ".join("c." + col for col in columns)},
            CASE WHEN c.original_call_id IS NULL THEN NULL ELSE {original} END
            FROM calls c LEFT JOIN executions e ON e.exec_id = c.exec_id ORDER BY 1;
        DROP TABLE calls;
        ALTER TABLE calls_by_rid RENAME TO calls;
        CREATE INDEX calls_by_input_key ON calls(input_key, name) WHERE input_key IS NOT NULL;
        CREATE INDEX calls_open ON calls(exec_id, idx) WHERE status NOT IN ('completed', 'reused', 'skipped')
        """,
    )


MIGRATIONS: list[Migration] = [
    ("001_initial", _m001_initial),
    ("002_drop_attempts_running_index", _m002_drop_attempts_running),
    ("003_attempts_by_call", _m003_attempts_by_call),
    ("004_owner_answers_requests", _m004_owner_answers_requests),
    ("005_artifacts_metadata_cache", _m005_artifacts_metadata_cache),
    ("006_attempt_worker", _m006_attempt_worker),
    ("007_calls_by_position", _m007_calls_by_position),
    ("008_calls_by_rid", _m008_calls_by_rid),
]

LATEST_VERSION = len(MIGRATIONS)
