"""Which journal is used (SPEC 5), and a journal locked by another process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import ExecutionStatus, KitaruBackendError, KitaruClient
from kitaru_nb.journal.sqlite import SqliteJournal


@kitaru.flow
def cfg_flow() -> str:
    return "ok"


def test_default_journal_is_kitaru_db_in_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KITARU_NB_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    kitaru.configure(db=None)
    handle = cfg_flow.run()
    assert (tmp_path / "kitaru.db").exists()
    assert KitaruClient(db=tmp_path / "kitaru.db").executions.get(handle.exec_id).status is ExecutionStatus.COMPLETED


def test_the_sqlite_memory_spelling_is_refused_not_taken_for_a_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    kitaru.configure(db=":memory:")
    try:
        with pytest.raises(kitaru.KitaruUsageError, match="MemoryJournal"):
            cfg_flow.run()
        with pytest.raises(kitaru.KitaruUsageError, match="file path"):
            KitaruClient()
    finally:
        kitaru.configure(db=None)
    assert list(tmp_path.iterdir()) == []
    from kitaru_nb.journal.memory import MemoryJournal

    kitaru.configure(db=MemoryJournal())  # the way the message points to works
    try:
        assert cfg_flow.run().wait() == "ok"
    finally:
        kitaru.configure(db=None)


def test_env_var_then_configure_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env_db, conf_db = tmp_path / "from_env.db", tmp_path / "configured.db"
    monkeypatch.setenv("KITARU_NB_DB", str(env_db))
    kitaru.configure(db=None)
    first = cfg_flow.run()
    kitaru.configure(db=conf_db)
    try:
        second = cfg_flow.run()
    finally:
        kitaru.configure(db=None)
    assert not (tmp_path / "kitaru.db").exists()
    assert [e.exec_id for e in KitaruClient(db=env_db).executions.list()] == [first.exec_id]
    assert [e.exec_id for e in KitaruClient(db=conf_db).executions.list()] == [second.exec_id]


def test_configure_with_a_journal_object(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "obj.db")
    kitaru.configure(db=journal)
    try:
        handle = cfg_flow.run()
        assert KitaruClient().journal is journal
    finally:
        kitaru.configure(db=None)
    assert journal.get_execution(handle.exec_id) is not None
    journal.close()


def test_a_journal_locked_by_another_process_gives_a_backend_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    journal = SqliteJournal(path)
    journal.conn.execute("PRAGMA busy_timeout = 50")  # do not wait the default 15 s in a test
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    kitaru.configure(db=journal)
    try:
        with pytest.raises(KitaruBackendError, match=r"locked by another process.*try again"):
            cfg_flow.run()
        other.execute("ROLLBACK")
        assert cfg_flow.run().get() == "ok"
    finally:
        kitaru.configure(db=None)
        other.close()
    assert KitaruClient(db=journal).executions.count() == 1
    assert journal.integrity_check() == "ok"
    journal.close()
