"""``executions.glance``: what a live view of a running execution reads, the counts and the last rows,
with a number of SQL statements that does not depend on the execution's size."""

from __future__ import annotations

from pathlib import Path

import kitaru_nb as kitaru


def test_glance_reads_counts_and_the_last_rows_only(tmp_path: Path) -> None:
    kitaru.configure(db=tmp_path / "k.db")
    try:

        @kitaru.checkpoint
        def g_step(i: int) -> int:
            if i == 3:
                raise ValueError("three")
            return i

        @kitaru.flow
        def g_flow(n: int) -> int:
            total = 0
            for i in range(n):
                try:
                    total += g_step(i)
                except ValueError:
                    pass
            return total

        small, big = g_flow.run(40), g_flow.run(400)
        client = kitaru.KitaruClient()
        statements: dict[str, int] = {}
        for handle in (small, big):
            seen: list[str] = []
            with client.journal.trace(seen.append):  # type: ignore[attr-defined]
                view = client.executions.glance(handle.exec_id, last=25)
            statements[handle.exec_id] = len(seen)
            n = 40 if handle is small else 400
            # the last 25 rows, and the failed one however far back (positions not done are always shown)
            assert [c.index for c in view.checkpoints] == [3, *range(n - 25, n)]
            assert view.progress == (n - 1, n)  # every position counted; the failed one is not done
            assert view.summary is not None and view.summary["total"] == n
            assert all(c.attempts for c in view.checkpoints)
        assert statements[small.exec_id] == statements[big.exec_id]
        full = client.executions.get(big.exec_id)  # the summary at once, every position on access
        assert full.summary == {"done": 399, "total": 400, "open_waits": 0, "paused": 0} and not full.partial
        assert len(full.checkpoints) == 400 and view.partial
    finally:
        kitaru.configure(db=None)
