"""One answer given in the process that runs the flow: validated once, and a handful of journal
operations (record, claim, read what to replay, finish), not a dozen reads of the execution."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, field_validator

import kitaru_nb as kitaru

checked: list[str] = []


class Ticket(BaseModel):
    title: str

    @field_validator("title")
    @classmethod
    def count(cls, v: str) -> str:
        checked.append(v)
        return v


def test_an_answer_is_validated_once_and_costs_a_handful_of_journal_operations(tmp_path: Path) -> None:
    kitaru.configure(db=tmp_path / "k.db")
    try:

        @kitaru.checkpoint
        def prep() -> int:
            return 1

        @kitaru.flow
        def ticketing() -> str:
            prep()
            return kitaru.wait(schema=Ticket, name="ticket").title

        handle = ticketing.run()
        client = kitaru.KitaruClient()
        statements: list[str] = []
        checked.clear()
        with client.journal.trace(statements.append):  # type: ignore[attr-defined]
            done = client.executions.input(handle.exec_id, wait="ticket", value={"title": "fix it"})
        assert done.status.value == "completed" and done.result == "fix it"
        assert checked == ["fix it"]  # judged once, not again when the flow resumed
        writes = [s for s in statements if s.startswith("BEGIN")]
        reads = [s for s in statements if s.startswith("SELECT")]
        # record the answer, claim the execution, complete it
        assert len(writes) == 3, statements
        # before recording: the execution, its open positions and their count; for the run: its row
        # and every recorded position (the one bulk read); the returned Execution: its row, open
        # positions and count (its checkpoints are read only on access)
        assert len(reads) <= 9, reads
        full_reads = [s for s in reads if "FROM calls" in s and "count(*)" not in s and "calls_open" not in s]
        assert len(full_reads) == 1 and "LEFT JOIN" in full_reads[0], reads  # the resume's one bulk read
    finally:
        kitaru.configure(db=None)
