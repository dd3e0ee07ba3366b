"""Large outputs must not make the journal slow to query: reading executions for the client,
the panel and the sidebar never reads stored output bytes; resume does (it needs them)."""

from __future__ import annotations

import re
from pathlib import Path

import kitaru_nb as kitaru
from kitaru_nb.journal.sqlite import SqliteJournal


def test_reads_for_display_skip_the_stored_output_bytes(db_path: Path) -> None:
    @kitaru.checkpoint
    def lo_blob(i: int) -> str:
        return str(i) * 1_000_000  # 1 MB of text per checkpoint

    @kitaru.flow
    def lo_flow(n: int) -> int:
        return sum(len(lo_blob(i)) for i in range(n))

    handle = lo_flow.run(8)
    assert handle.get() == 8_000_000
    client = kitaru.KitaruClient()
    journal = client.journal
    assert isinstance(journal, SqliteJournal)
    statements: list[str] = []
    with journal.trace(statements.append):
        execution = client.executions.get(handle.exec_id)
        listed = client.executions.list(flow="lo_flow")
        waits = client.executions.pending_waits(handle.exec_id)
    assert [c.status.value for c in execution.checkpoints] == ["completed"] * 8
    assert all(c.output_preview is not None and len(c.output_preview) <= 200 for c in execution.checkpoints)
    assert [e.exec_id for e in listed] == [handle.exec_id] and waits == []
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert selects, statements
    for sql in selects:
        assert not re.search(r"\boutput\s*(,|FROM)", sql), sql  # the output column (not output_format/preview)
        if "FROM executions" in sql:
            assert not re.search(r"\bresult\s*(,|FROM)", sql), sql  # the flow's result: loaded on access
            if "WHERE exec_id =" not in sql:
                assert not re.search(r"\binputs\s*(,|FROM)", sql), sql  # lists skip the inputs too
    assert execution.result == 8_000_000  # on access
