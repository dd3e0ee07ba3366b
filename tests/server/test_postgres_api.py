"""The sidebar's REST routes on a shared PostgreSQL journal (``--KitaruNb.db=postgresql://...``).

The route tests of the SQLite journal run here unchanged: this module gives them a ``journal`` that
is the URL of a fresh database on the test server, so the server, the flows of the test and the
processes it starts all use PostgreSQL. Then the team's case: an answer given through one Jupyter
server resumes the flow in a process attached to another.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb.server.service import JournalService

from .test_api import (  # noqa: F401  # collected here again, with a PostgreSQL journal
    test_a_bad_answer_gets_400_with_per_field_errors_and_changes_nothing,
    test_a_good_answer_is_recorded_and_the_flow_resumes_with_it,
    test_a_short_id_prefix_opens_the_execution,
    test_answers_from_another_process_are_validated_against_the_stored_schema,
    test_detail_has_checkpoints_attempts_failures_and_pending_waits,
    test_list_returns_the_journal_newest_first_with_filters_and_paging,
    test_stored_pickles_are_never_loaded,
    test_unknown_executions_and_waits_are_404,
)
from .test_decisions import (  # noqa: F401
    test_a_recorded_retry_is_carried_out_by_the_process_that_knows_the_flow,
    test_a_recorded_skip_makes_the_checkpoint_return_none,
)
from .test_detail_pages import (  # noqa: F401
    test_after_and_limit_page_through_every_row_exactly_once,
    test_before_pages_back_to_the_first_row,
    test_delete_removes_a_finished_execution_and_refuses_open_ones,
    test_the_default_detail_of_a_big_execution_is_the_last_rows_with_counts,
)
from .test_requests import test_replay_request_is_recorded_then_carried_out_by_the_defining_process  # noqa: F401
from .test_sidebar_api import (  # noqa: F401
    test_a_change_in_the_journal_is_pushed_on_the_event_bus_within_half_a_second,
    test_counts_of_executions_waiting_for_a_human_go_up_and_down,
    test_list_filters_by_part_of_the_flow_name_and_by_what_a_waiting_execution_needs,
)

pytestmark = pytest.mark.postgres
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def journal(pg_url: str) -> Iterator[str]:
    """The shared journal flows in this test write to, and that the server is configured to read."""
    kitaru.configure(db=pg_url)
    yield pg_url
    kitaru.configure(db=None)


async def answer_approval(api: Any, exec_id: str, *, first_a_bad_answer: bool = False) -> None:
    """As a team member in their JupyterLab: the execution is listed as needing input, (a bad answer
    is refused by the stored schema,) and the approval is taken."""
    code, listed = await api("GET", "executions", params={"status": "needs_input"})
    assert code == 200 and [e["exec_id"] for e in listed["executions"]] == [exec_id]
    if first_a_bad_answer:
        code, bad = await api("POST", "executions", exec_id, "input", body={"wait": "approve", "value": {}})
        assert code == 400 and {tuple(e["loc"]) for e in bad["errors"]} == {("approved",), ("reviewer",)}
    code, _ = await api(
        "POST", "executions", exec_id, "input", body={"wait": "approve", "value": {"approved": True, "reviewer": "ada"}}
    )
    assert code == 200


async def test_status_names_the_database_without_its_password(journal: str, api: Any) -> None:
    code, status = await api("GET", "status")
    assert code == 200 and status["exists"] is True
    assert status["journal"].startswith("postgresql://kitaru:***@127.0.0.1:")
    assert journal.split("@")[0].split(":")[-1] not in json.dumps(status)


OWNER = """
import json, sys
import kitaru_nb as kitaru
from pydantic import BaseModel

class Approval(BaseModel):
    approved: bool
    reviewer: str

@kitaru.checkpoint
def tally(n):
    return n * 3

@kitaru.flow
def team_review(n):
    total = tally(n)
    answer = kitaru.wait(schema=Approval, name="approve", question="publish?")
    return {"total": total, "by": answer.reviewer if answer.approved else None}

handle = team_review.run(14)
print(json.dumps({"exec_id": handle.exec_id, "status": handle.status.value}), flush=True)
# outside a kernel get() blocks until another process answers, then resumes the flow here
print(json.dumps({"result": handle.get(timeout=60)}), flush=True)
"""


async def test_an_answer_given_in_one_server_resumes_the_flow_in_a_process_attached_to_another(
    journal: str, api: Any, tmp_path: Path
) -> None:
    """Two team members: one's process runs the flow on the shared journal (its own machine in real
    life, here another process that reaches the database by URL); the other answers in their
    JupyterLab, whose server is this test's server."""
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    env = {**os.environ, "KITARU_NB_DB": journal, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["status"] == "waiting"
        exec_id = first["exec_id"]
        # the other member's server lists it as needing input and judges a bad answer by the stored schema
        await answer_approval(api, exec_id, first_a_bad_answer=True)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == {"result": {"total": 42, "by": "ada"}}
    _, detail = await api("GET", "executions", exec_id)
    assert detail["status"] == "completed"


KERNEL_OWNER = """
import json
import kitaru_nb as kitaru
from pydantic import BaseModel
from kitaru_nb.runtime.watcher import watcher

kitaru.configure(db={url!r})

class Approval(BaseModel):
    approved: bool
    reviewer: str

tallied = []

@kitaru.checkpoint
def tally(n):
    tallied.append(n)
    return n * 3

@kitaru.flow
def team_review(n):
    total = tally(n)
    answer = kitaru.wait(schema=Approval, name="approve", question="publish?")
    return {{"total": total, "by": answer.reviewer if answer.approved else None}}

handle = team_review.run(14)
journal = kitaru.config.resolve_journal()
token = journal.change_token()
print(json.dumps({{"exec_id": handle.exec_id, "status": handle.status.value}}))
"""


async def test_an_answer_given_in_one_server_resumes_the_flow_in_a_kernel_attached_to_another(
    journal: str, api: Any, tmp_path: Path
) -> None:
    """The team's case with a real Jupyter kernel: one member's notebook kernel runs the flow on the
    shared journal and goes idle; the other answers in their JupyterLab (this test's server, its own
    connection to the database). The kernel's watcher hears of the answer through PostgreSQL's
    LISTEN / NOTIFY and continues the flow while no cell runs."""
    import asyncio

    from kitaru_nb import KitaruClient
    from tests.notebook.frontend import FakeFrontend

    fe = FakeFrontend(tmp_path)
    try:
        first = json.loads(fe.run(KERNEL_OWNER.format(url=journal)).strip().splitlines()[-1])
        assert first["status"] == "waiting"
        exec_id = first["exec_id"]
        await answer_approval(api, exec_id)
        # no cell runs in the kernel: its watcher continues the flow on its own
        reader = KitaruClient(db=journal)
        deadline = time.monotonic() + 30
        while reader.executions.get(exec_id).status.value != "completed" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert reader.executions.get(exec_id).status.value == "completed"
        seen = json.loads(
            fe.run(
                "print(json.dumps({'result': handle.get(), 'tallied': tallied, 'by_watcher': watcher.carried_out, "
                "'journal': type(journal).__name__, 'notified': journal.change_token() > token}))"
            )
            .strip()
            .splitlines()[-1]
        )
    finally:
        fe.close()
    assert seen["result"] == {"total": 42, "by": "ada"}
    assert seen["tallied"] == [14]  # the checkpoint ran once; the continuation reused it
    assert seen["by_watcher"] == 1 and seen["journal"] == "PostgresJournal"
    assert seen["notified"]  # the server's commit reached the kernel as a notification, not by polling
    _, detail = await api("GET", "executions", exec_id)
    assert detail["status"] == "completed"
    assert [c["name"] for c in detail["checkpoints"]] == ["tally"]


def test_a_second_server_on_the_same_database_sees_the_same_executions(journal: str) -> None:
    kitaru_flow = _tiny_flow()
    handle = kitaru_flow.run()
    one, two = JournalService(journal), JournalService(journal)
    assert one.list({})["executions"] == two.list({})["executions"]
    assert [e["exec_id"] for e in two.list({})["executions"]] == [handle.exec_id]


def _tiny_flow() -> Any:
    @kitaru.checkpoint
    def pg_one() -> int:
        return 1

    @kitaru.flow
    def pg_tiny() -> int:
        return pg_one()

    return pg_tiny
