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


def test_a_replay_and_a_cached_call_share_a_big_output_instead_of_copying_it(db_path: Path) -> None:
    @kitaru.checkpoint
    def lo_big() -> str:
        return "y" * 2_000_000

    @kitaru.checkpoint
    def lo_small(text: str) -> int:
        return len(text)

    @kitaru.flow
    def lo_sharing() -> int:
        return lo_small(lo_big())

    client = kitaru.KitaruClient()
    source = lo_sharing.run(cache=True)
    assert source.wait() == 2_000_000
    size = db_path.stat().st_size + Path(f"{db_path}-wal").stat().st_size
    replays = [lo_sharing.replay(source.exec_id, from_="lo_small") for _ in range(3)]
    cached = lo_sharing.run(cache=True)
    assert [r.wait() for r in replays] + [cached.wait()] == [2_000_000] * 4
    grown = db_path.stat().st_size + Path(f"{db_path}-wal").stat().st_size - size
    assert grown < 500_000  # four reuses of a 2 MB output, no copy of it
    served = client.executions.get(cached.exec_id).checkpoints[0]
    assert served.cached_from == source.exec_id
    assert served.artifacts[0].load() == "y" * 2_000_000
    # the source goes: what shared its output keeps a copy, nothing else changes
    client.executions.delete(source.exec_id)
    for handle in [*replays, cached]:
        (big, small) = client.executions.get(handle.exec_id).checkpoints
        assert big.artifacts[0].load() == "y" * 2_000_000 and small.artifacts[0].load() == 2_000_000
    again = lo_sharing.replay(replays[0].exec_id, from_="lo_small")  # a replay of a replay still resolves
    assert again.wait() == 2_000_000
