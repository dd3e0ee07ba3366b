"""The PostgreSQL journal's schema: the same named migrations as the SQLite journal, in PostgreSQL's words.

A PostgreSQL journal starts at today's schema: ``001_initial`` creates the tables as SQLite's
001-005 left them, and 002-005 are recorded without changing anything, so both journals count the
same schema versions and a newer kitaru_nb (more migrations than this one knows) is refused from
either. ``_kitaru_migrations`` records each name with ``applied_at`` in seconds since the epoch; the
version is how many rows it has.

Names and ids are ``COLLATE "C"`` (byte order, as SQLite compares text), so prefix searches and
orderings do not depend on the database's locale. ``artifacts.rowid`` is the insertion order SQLite
keeps implicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: (name, statements): run in order inside the migrating transaction
PgMigration = tuple[str, Callable[[Any], None]]

_FAILURE = "failure_origin TEXT, failure_type TEXT, failure_message TEXT, failure_traceback TEXT"

_INITIAL = f"""
CREATE TABLE executions (
    seq BIGSERIAL PRIMARY KEY,
    exec_id TEXT COLLATE "C" NOT NULL UNIQUE,
    flow_name TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL DEFAULT 'flow',
    status TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    owner_pid BIGINT,
    original_exec_id TEXT COLLATE "C",
    replay_from TEXT,
    {_FAILURE},
    meta TEXT NOT NULL DEFAULT '{{}}',
    inputs_format TEXT,
    inputs_preview TEXT,
    result_format TEXT,
    result_preview TEXT,
    inputs BYTEA,
    result BYTEA,
    owner TEXT,
    metadata TEXT
);
CREATE INDEX executions_by_status ON executions(status, seq);
CREATE INDEX executions_by_flow ON executions(flow_name, seq);
CREATE TABLE calls (
    call_id TEXT COLLATE "C" PRIMARY KEY,
    exec_id TEXT COLLATE "C" NOT NULL,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    fingerprint TEXT,
    original_call_id TEXT COLLATE "C",
    {_FAILURE},
    paused INTEGER NOT NULL DEFAULT 0,
    wait_schema TEXT,
    wait_question TEXT,
    wait_metadata TEXT,
    wait_timeout DOUBLE PRECISION,
    output_format TEXT,
    output_preview TEXT,
    output BYTEA,
    answered_by TEXT,
    metadata TEXT,
    checkpoint_type TEXT,
    input_key TEXT,
    source_exec_id TEXT COLLATE "C",
    checkpoint_name TEXT,
    first_attempt TEXT,
    UNIQUE (exec_id, idx)
);
CREATE INDEX calls_by_input_key ON calls(input_key, name) WHERE input_key IS NOT NULL;
CREATE INDEX calls_open ON calls(exec_id, idx) WHERE status NOT IN ('completed', 'reused', 'skipped');
CREATE TABLE attempts (
    call_id TEXT COLLATE "C" NOT NULL,
    attempt_id TEXT COLLATE "C" NOT NULL,
    exec_id TEXT COLLATE "C" NOT NULL,
    number INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    {_FAILURE},
    PRIMARY KEY (call_id, attempt_id)
);
CREATE TABLE requests (
    request_id TEXT COLLATE "C" PRIMARY KEY,
    exec_id TEXT COLLATE "C" NOT NULL,
    flow_name TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{{}}',
    status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    created_by TEXT,
    taken_by TEXT,
    ended_at DOUBLE PRECISION,
    message TEXT,
    result_exec_id TEXT
);
CREATE INDEX requests_by_status ON requests(status, created_at);
CREATE INDEX requests_by_exec ON requests(exec_id, created_at);
CREATE TABLE artifacts (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY,
    artifact_id TEXT COLLATE "C" PRIMARY KEY,
    exec_id TEXT COLLATE "C" NOT NULL,
    call_id TEXT COLLATE "C" NOT NULL,
    attempt_id TEXT,
    name TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    format TEXT NOT NULL,
    preview TEXT,
    data BYTEA,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX artifacts_by_call ON artifacts(call_id, name);
CREATE INDEX artifacts_by_exec ON artifacts(exec_id);
CREATE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT strpos($1, $2)'
"""


def _statements(script: str) -> Callable[[Any], None]:
    def apply(cur: Any) -> None:
        for statement in script.split(";\n"):
            if statement.strip():
                cur.execute(statement)

    return apply


def _nothing(cur: Any) -> None:
    """Part of 001 here: a PostgreSQL journal was first created with this schema."""


_NEW_ID = "{t}exec_id || '.' || lpad(to_hex({t}idx), 8, '0')"
_MAPPED = "(SELECT " + _NEW_ID.format(t="o.") + " FROM calls o WHERE o.call_id = {ref})"

# a call's id is its execution's id and its position (journal.base.call_id_at), as in SQLite's 007; the
# references of other rows follow (a reference to a call no longer in the journal keeps its old id)
_CALLS_BY_POSITION = f"""
UPDATE attempts SET call_id = coalesce({_MAPPED.format(ref="attempts.call_id")}, call_id);
UPDATE artifacts SET call_id = coalesce({_MAPPED.format(ref="artifacts.call_id")}, call_id);
UPDATE calls SET original_call_id = coalesce({_MAPPED.format(ref="calls.original_call_id")}, original_call_id)
    WHERE original_call_id IS NOT NULL;
UPDATE calls SET call_id = {_NEW_ID.format(t="")}
"""

# the calls' keys as SQLite's 008 makes them (PostgreSQL keeps call_id as the primary key too: a
# round trip to the server costs more than an index more)
_CALLS_BY_RID = """
ALTER TABLE calls ADD COLUMN rid BIGINT;
ALTER TABLE calls ADD COLUMN original_rid BIGINT;
UPDATE calls SET rid = (e.seq << 32) | calls.idx FROM executions e WHERE e.exec_id = calls.exec_id;
UPDATE calls SET original_rid = o.rid FROM calls o WHERE o.call_id = calls.original_call_id;
CREATE UNIQUE INDEX calls_by_rid ON calls(rid)
"""

PG_MIGRATIONS: list[PgMigration] = [
    # instr(): SQLite's name for strpos, so the journal's shared queries read the same on both
    ("001_initial", _statements(_INITIAL)),
    ("002_drop_attempts_running_index", _nothing),
    ("003_attempts_by_call", _nothing),
    ("004_owner_answers_requests", _nothing),
    ("005_artifacts_metadata_cache", _nothing),
    ("006_attempt_worker", _statements("ALTER TABLE attempts ADD COLUMN worker TEXT")),
    ("007_calls_by_position", _statements(_CALLS_BY_POSITION)),
    ("008_calls_by_rid", _statements(_CALLS_BY_RID)),
]
