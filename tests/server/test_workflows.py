"""Step workflows show up in the same API: a confirmation is a bool wait the sidebar can answer."""

from __future__ import annotations

from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.workflow import Workflow
from kitaru_nb.workflow.step import Step


async def test_a_workflow_confirmation_is_answered_through_the_api(journal, api):
    ran: list[str] = []
    wf = Workflow(
        "publish",
        db=SqliteDb(db_file=str(journal)),
        steps=[
            Step("draft", lambda si: "text"),
            Step(
                "publish",
                lambda si: ran.append("publish") or "done",
                requires_confirmation=True,
                confirmation_message="Publish <b>now</b>?",
            ),
        ],
    )
    run = wf.run("x")
    assert run.is_paused

    code, detail = await api("GET", "executions", run.run_id)
    assert (code, detail["kind"], detail["status"]) == (200, "workflow", "waiting")
    (wait,) = detail["pending_waits"]
    assert wait["schema"] == {"type": "boolean"}
    assert {k: wait["metadata"][k] for k in ("kitaru_kind", "step", "message", "on_reject")} == {
        "kitaru_kind": "confirmation",
        "step": "publish",
        "message": "Publish <b>now</b>?",
        "on_reject": "skip",
    }
    assert [c["name"] for c in detail["checkpoints"]] == ["draft"]

    code, bad = await api("POST", "executions", run.run_id, "input", body={"wait": wait["name"], "value": "maybe"})
    assert code == 400
    assert [e["loc"] for e in bad["errors"]] == [[]]
    assert ran == []

    code, good = await api("POST", "executions", run.run_id, "input", body={"wait": wait["name"], "value": True})
    assert (code, good["pending_waits"]) == (200, [])
    assert ran == [], "the server records the answer; it never runs a step"

    done = wf.continue_run(run.run_id)
    assert (str(done.status), done.content, ran) == ("COMPLETED", "done", ["publish"])
