"""The demo notebook 06 runs unchanged on a laptop and on a team's setup: only its configure cell
differs. It runs twice in a real kernel (nbclient): once on an SQLite file with threads, once on a
PostgreSQL database with checkpoint bodies on a Dask LocalCluster (reached by its scheduler address,
as a team would), and the two journals, read through KitaruClient, say the same: statuses,
positions, names, attempt counts and attempt statuses (not ids, times or workers)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from kitaru_nb import KitaruClient

REPO = Path(__file__).resolve().parents[2]
NAME = "06_team_journal_and_cluster.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.postgres, pytest.mark.dask]


def run_with(configure: str, workdir: Path) -> str:
    """Run the demo notebook with its configure cell replaced by ``configure``; returns its printed text."""
    workdir.mkdir()
    nb = nbformat.read(REPO / "notebooks" / NAME, as_version=4)
    (cell,) = [c for c in nb.cells if "configure" in c.metadata.get("tags", [])]
    assert "kitaru.configure(" in cell.source
    cell.source = f"import kitaru_nb as kitaru\n\n{configure}"
    NotebookClient(
        nb, kernel_name="python3", timeout=120, startup_timeout=60, resources={"metadata": {"path": str(workdir)}}
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")


def journal_contents(client: KitaruClient) -> list[dict[str, Any]]:
    """What a user reads in the journal, without ids, times, where bodies ran or which process answered."""
    out = []
    for row in reversed(client.executions.list(limit=50)):
        ex = client.executions.get(row.exec_id)
        out.append(
            {
                "flow": ex.flow_name,
                "status": ex.status.value,
                "result": ex.result,
                "checkpoints": [
                    (c.index, c.name, c.status.value, [(a.number, a.status.value) for a in c.attempts])
                    for c in ex.checkpoints
                ],
                "waits": [(w.index, w.kind, w.name, str(w.status), w.answered_by is not None) for w in ex.waits],
            }
        )
    return out


def workers_of(client: KitaruClient) -> set[str | None]:
    (row,) = client.executions.list(limit=50)
    return {a.worker for c in client.executions.get(row.exec_id).checkpoints for a in c.attempts}


def test_the_demo_gives_the_same_journal_on_sqlite_with_threads_and_on_postgres_with_a_dask_cluster(
    tmp_path: Path, pg_url: str, dask_cluster: Any
) -> None:
    dask_cluster.wait_for_workers(2, timeout=60)
    address = dask_cluster.scheduler.address

    laptop_db = tmp_path / "laptop" / "kitaru.db"
    laptop_text = run_with('kitaru.configure(db="kitaru.db", executor=None)', tmp_path / "laptop")
    team_text = run_with(f"kitaru.configure(db={pg_url!r}, executor={address!r})", tmp_path / "team")
    assert not (tmp_path / "team" / "kitaru.db").exists()  # the team run wrote to PostgreSQL only
    shutil.rmtree(tmp_path / "team")

    laptop, team = KitaruClient(db=laptop_db), KitaruClient(db=pg_url)
    expected = journal_contents(laptop)
    assert journal_contents(team) == expected
    # and that journal is the one the notebook promises
    (ex,) = expected
    assert ex["flow"] == "regional_report" and ex["status"] == "completed"
    assert ex["result"].endswith("approved by ada")
    assert ex["checkpoints"] == [
        (0, "score", "completed", [(1, "completed")]),
        (1, "score", "completed", [(1, "completed")]),
        (2, "score", "completed", [(1, "completed")]),
        (3, "score", "completed", [(1, "completed")]),
        (4, "fetch_rates", "completed", [(1, "failed"), (2, "completed")]),
        (6, "publish", "completed", [(1, "completed")]),
    ]
    assert ex["waits"] == [(5, "wait", "approve", "completed", True)]
    for text in (laptop_text, team_text):
        assert "waiting ['approve']" in text and "completed -> total" in text

    # the configure line is what changed: bodies ran in the kernel's threads, then on the cluster's workers
    assert workers_of(laptop) == {None}
    cluster_workers = set(dask_cluster.scheduler_info()["workers"])
    team_workers = workers_of(team)
    assert None in team_workers  # publish, a plain call, stays in the kernel
    assert team_workers - {None} and team_workers - {None} <= cluster_workers
