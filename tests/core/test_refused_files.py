"""A file kitaru_nb refuses stays byte-identical, its -wal and -shm files included, and is diagnosed right.

The files are left by processes that died with their last writes still in the ``-wal`` file (as
a crashed kernel or another program leaves them): closing an SQLite connection on such a file
would checkpoint the WAL into it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import KitaruBackendError
from kitaru_nb.journal.migrations import LATEST_VERSION
from kitaru_nb.journal.sqlite import SqliteJournal

from .conftest import Scripts

# the process dies without closing: the last transactions stay in the -wal file only
DIE_WITH_WAL = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA wal_autocheckpoint = 0")
for statement in sys.argv[2:]:
    conn.execute(statement)
print("{}", flush=True)
os._exit(0)
"""


def digests(path: Path) -> dict[str, str]:
    """sha256 of the file and of its -wal and -shm files ("missing" when absent)."""
    out = {}
    for suffix in ("", "-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        out[suffix or "db"] = hashlib.sha256(side.read_bytes()).hexdigest() if side.exists() else "missing"
    return out


def assert_refused_untouched(path: Path, *words: str) -> str:
    before = digests(path)
    assert before["-wal"] != "missing", "the test needs a file whose last writes are in its -wal"
    messages = []
    for open_it in (lambda: SqliteJournal(path), lambda: kitaru.KitaruClient(db=path).executions.list()):
        with pytest.raises(KitaruBackendError) as info:
            open_it()
        messages.append(str(info.value))
        assert digests(path) == before
    for message in messages:
        assert str(path) in message and "left untouched" in message
        for word in words:
            assert word in message, message
    return messages[0]


def test_a_journal_of_a_newer_kitaru_nb_with_its_last_writes_in_the_wal_is_refused_byte_identical(
    tmp_path: Path, scripts: Scripts
) -> None:
    path = tmp_path / "newer.db"
    scripts.run(
        """
        import sys, kitaru_nb as kitaru
        kitaru.configure(db=sys.argv[1])
        @kitaru.flow
        def f():
            return 1
        f.run()
        print("{}")
        """,
        str(path),
    )
    # a newer kitaru_nb migrates the file further and is killed before any checkpoint of the WAL
    scripts.run(
        DIE_WITH_WAL,
        str(path),
        "BEGIN IMMEDIATE",
        "CREATE TABLE newer_things (x)",
        f"PRAGMA user_version = {LATEST_VERSION + 1}",
        "COMMIT",
    )
    message = assert_refused_untouched(path, "newer kitaru_nb", f"schema version {LATEST_VERSION + 1}")
    assert "Upgrade kitaru_nb" in message


def test_a_foreign_wal_database_with_its_last_writes_in_the_wal_is_refused_byte_identical(
    tmp_path: Path, scripts: Scripts
) -> None:
    path = tmp_path / "app.db"
    scripts.run(
        DIE_WITH_WAL,
        str(path),
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO customers (name) VALUES ('ada')",
        "INSERT INTO customers (name) VALUES ('grace')",
    )
    assert_refused_untouched(path, "not a kitaru_nb journal")


def test_a_database_of_another_application_id_in_the_wal_is_refused_byte_identical(
    tmp_path: Path, scripts: Scripts
) -> None:
    path = tmp_path / "other.db"
    scripts.run(DIE_WITH_WAL, str(path), "PRAGMA application_id = 1234", "CREATE TABLE t (x)")
    assert_refused_untouched(path, "another application", "0x4d2")


def test_an_empty_foreign_database_with_a_user_version_is_not_called_a_newer_journal(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "foreign.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    before = digests(path)
    with pytest.raises(KitaruBackendError) as info:
        SqliteJournal(path)
    message = str(info.value)
    assert "not a kitaru_nb journal" in message and "user_version 7" in message
    assert "newer" not in message
    assert digests(path) == before


def test_an_empty_file_and_an_empty_database_become_journals(tmp_path: Path) -> None:
    import sqlite3

    empty = tmp_path / "empty.db"
    empty.touch()
    blank = tmp_path / "blank.db"
    sqlite3.connect(blank).execute("PRAGMA page_size = 4096").close()
    for path in (empty, blank):
        journal = SqliteJournal(path)
        assert journal.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        journal.close()
