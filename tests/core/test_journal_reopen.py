"""A journal file replaced on disk is picked up; answers can be recorded without resuming."""

from __future__ import annotations

from pathlib import Path

import kitaru_nb as kitaru
from kitaru_nb.journal.sqlite import open_journal


def test_replaced_journal_file_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "kitaru.db"

    @kitaru.checkpoint
    def one() -> int:
        return 1

    @kitaru.flow
    def f() -> int:
        return one()

    kitaru.configure(db=path)
    try:
        first = f.run().exec_id
        assert [e.exec_id for e in kitaru.KitaruClient().executions.list()] == [first]
        for p in tmp_path.glob("kitaru.db*"):
            p.unlink()
        # a new, empty journal at the same path: the old executions are gone, new ones land there
        assert kitaru.KitaruClient().executions.list() == []
        second = f.run().exec_id
        assert [e.exec_id for e in kitaru.KitaruClient().executions.list()] == [second]
        assert open_journal(path) is open_journal(path)
    finally:
        kitaru.configure(db=None)


def test_input_with_resume_false_records_only(db_path: Path) -> None:
    @kitaru.flow
    def asks() -> int:
        return int(kitaru.wait(schema=int, name="n")) + 1

    handle = asks.run()
    client = kitaru.KitaruClient()
    after = client.executions.input(handle.exec_id, wait="n", value=41, resume=False)
    assert after.status is kitaru.ExecutionStatus.WAITING
    assert after.pending_waits == []
    assert client.executions.resume(handle.exec_id).status is kitaru.ExecutionStatus.COMPLETED
    assert handle.get() == 42


def test_a_folder_as_journal_path_says_to_give_a_file(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(
        kitaru.KitaruBackendError, match=r"is a folder; the journal is a file: use a path like .*kitaru\.db"
    ):
        kitaru.KitaruClient(db=tmp_path)
