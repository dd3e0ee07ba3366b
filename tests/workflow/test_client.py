"""Step-workflow runs are executions of the one journal: the client lists them, shows their
checkpoints, attempts and failures, and steers them (retry, skip, input, resume)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitaru_nb import CallStatus, ExecutionStatus, KitaruClient, KitaruStateError, KitaruUsageError
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import RunStatus
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput

from .steps_lib import remote_workflow, run_script, set_control


def pipeline(db: SqliteDb | None, failures: list[Exception], on_error: OnError = OnError.pause) -> Workflow:
    def extract(step_input: StepInput) -> list[int]:
        return [1, 2, 3]

    def transform(step_input: StepInput) -> int:
        if failures:
            raise failures.pop(0)
        return sum(step_input.previous_step_content)

    return Workflow(
        name="etl",
        db=db,
        steps=[
            Step(name="extract", executor=extract),
            Step(name="transform", executor=transform, on_error=on_error, max_retries=1),
        ],
    )


def test_runs_appear_in_the_default_client_with_checkpoints_attempts_and_failures(db_path: Path) -> None:
    wf = pipeline(None, [ValueError("bad 1"), ValueError("bad 2")])  # db omitted: the configured journal
    paused = wf.run("go")
    failing = pipeline(None, [KeyError("gone"), KeyError("gone")], on_error=OnError.fail)
    with pytest.raises(KeyError, match="gone"):
        failing.run("go")
    failed = failing.get_session().runs[-1]

    client = KitaruClient()
    listed = client.executions.list()
    assert [(e.exec_id, e.kind, e.flow_name) for e in listed] == [
        (failed.run_id, "workflow", "etl"),
        (paused.run_id, "workflow", "etl"),
    ]
    assert [e.status for e in listed] == [ExecutionStatus.FAILED, ExecutionStatus.WAITING]
    assert [e.exec_id for e in client.executions.list(status="waiting")] == [paused.run_id]

    ex = client.executions.get(paused.run_id)
    assert [(c.name, c.index, c.status) for c in ex.checkpoints] == [
        ("extract", 0, CallStatus.COMPLETED),
        ("transform", 1, CallStatus.FAILED),
    ]
    assert ex.checkpoints[0].output_preview == "[1, 2, 3]"
    [pending] = ex.pending_errors
    assert pending.name == "transform" and pending.paused
    assert [(a.number, a.status.value, a.failure.message if a.failure else None) for a in pending.attempts] == [
        (1, "failed", "bad 1"),
        (2, "failed", "bad 2"),
    ]
    assert pending.failure is not None and pending.failure.exception_type == "ValueError"
    assert ex.inputs == {"input": "go", "additional_data": None}
    assert ex.meta["steps"] == [["extract", False], ["transform", False]]

    bad = client.executions.get(failed.run_id)
    assert bad.failure is not None and bad.failure.exception_type == "KeyError"
    assert [a.status.value for a in bad.checkpoints[1].attempts] == ["failed", "failed"]


def test_client_retry_and_skip_continue_workflow_runs(db: SqliteDb) -> None:
    """What the panel's Retry / Skip buttons do."""
    wf = pipeline(db, [ValueError("a"), ValueError("b")])
    run = wf.run("go")
    client = KitaruClient(db=db)
    ex = client.executions.retry(run.run_id)
    assert ex.status is ExecutionStatus.COMPLETED
    done = wf.get_run(run.run_id)
    assert done.content == 6 and done.status is RunStatus.completed

    wf = pipeline(db, [ValueError("a"), ValueError("b")])
    run = wf.run("go")
    ex = client.executions.skip(run.run_id, checkpoint="transform")
    assert ex.status is ExecutionStatus.COMPLETED
    assert wf.get_run(run.run_id).step_results[-1].skipped


def test_client_retry_counts_as_a_retry(db: SqliteDb) -> None:
    wf = pipeline(db, [ValueError(str(n)) for n in range(4)])  # two rounds of two attempts fail
    run = wf.run("go")
    assert run.steps_with_errors[0].retry_count == 0
    KitaruClient(db=db).executions.retry(run.run_id)
    again = wf.get_run(run.run_id)
    assert again.is_paused and again.steps_with_errors[0].retry_count == 1
    assert again.steps_with_errors[0].error_message == "3"


def test_a_failed_run_is_retried_with_fixed_code(db: SqliteDb) -> None:
    wf = pipeline(db, [RuntimeError("x"), RuntimeError("y")], on_error=OnError.fail)
    with pytest.raises(RuntimeError, match="y"):
        wf.run("go")
    run = wf.get_session().runs[-1]
    assert run.status is RunStatus.error
    pipeline(db, [])  # "fix the cell": the newest definition is the one that runs
    ex = KitaruClient(db=db).executions.retry(run.run_id)
    assert ex.status is ExecutionStatus.COMPLETED
    out = wf.get_run(run.run_id)
    assert out.content == 6
    transform = ex.checkpoints[1]
    assert [a.status.value for a in transform.attempts] == ["failed", "failed", "completed"]


def test_display_uses_the_panel(db: SqliteDb) -> None:
    run = pipeline(db, []).run("go")
    from kitaru_nb.widgets.display import mimebundle

    bundle = mimebundle(run)
    assert "text/plain" in bundle
    assert run.exec_id == run.run_id
    assert run._client is not None
    assert run._client.executions.get(run.exec_id).flow_name == "etl"


def test_client_in_a_process_that_does_not_define_the_workflow(db_path: Path, control: Path) -> None:
    paused = remote_workflow(db_path).run("x")
    set_control(control, "ok")
    result = run_script(
        f"""
import json
from kitaru_nb import KitaruClient, KitaruStateError
client = KitaruClient(db={str(db_path)!r})
ex = client.executions.get({paused.run_id!r})
out = {{"kind": ex.kind, "status": ex.status.value, "pending": [c.name for c in ex.pending_errors]}}
try:
    client.executions.retry({paused.run_id!r})
except KitaruStateError as exc:
    out["error"] = str(exc)
out["after"] = client.executions.get({paused.run_id!r}).status.value
print(json.dumps(out))
""",
        control,
    )
    assert result["kind"] == "workflow" and result["status"] == "waiting" and result["pending"] == ["fetch"]
    assert "workflow 'remote' is not defined in this process; run the cell that defines it" in result["error"]
    assert result["after"] == "waiting"  # nothing changed


def test_continue_run_refuses_a_run_of_another_workflow(db: SqliteDb) -> None:
    run = pipeline(db, [ValueError("a"), ValueError("b")]).run("go")
    other = Workflow(name="other", db=db, steps=[Step(name="s", executor=lambda s: 1)])
    with pytest.raises(KitaruUsageError, match="belongs to workflow 'etl', not 'other'"):
        other.continue_run(run)
    with pytest.raises(KitaruStateError):
        pipeline(db, []).continue_run(run)  # no decision


def test_client_refuses_to_continue_with_a_workflow_whose_steps_changed(db: SqliteDb) -> None:
    from kitaru_nb import KitaruDivergenceError

    run = pipeline(db, [ValueError("a"), ValueError("b")]).run("go")
    Workflow(
        name="etl", db=db, steps=[Step(name="extract", executor=lambda s: [1]), Step(name="load", executor=lambda s: 1)]
    )
    with pytest.raises(KitaruDivergenceError, match=r"recorded with steps \[extract, transform\]"):
        KitaruClient(db=db).executions.retry(run.run_id)
    assert KitaruClient(db=db).executions.get(run.run_id).status is ExecutionStatus.WAITING


def test_replay_of_a_workflow_run_says_what_to_do_instead(db: SqliteDb) -> None:
    run = pipeline(db, []).run("go")
    with pytest.raises(KitaruUsageError, match="is a run of step workflow 'etl'; replay works for flows"):
        KitaruClient(db=db).executions.replay(run.run_id, from_="transform")
    assert KitaruClient(db=db).executions.count() == 1
