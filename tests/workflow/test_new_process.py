"""A run paused in one process is continued from a new process (a fresh interpreter) with a new
Workflow object on the same SqliteDb; step outputs keep their types across the pause."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from kitaru_nb import KitaruStateError
from kitaru_nb.run.workflow import RunStatus

from .steps_lib import Report, remote_workflow, run_script, set_control, typed_workflow

PRELUDE = """
import json
from kitaru_nb import KitaruDivergenceError, KitaruStateError
from tests.workflow.steps_lib import remote_workflow, typed_workflow
"""


def script(body: str) -> str:
    return PRELUDE + textwrap.dedent(body)


def test_retry_and_skip_from_a_new_process(db_path: Path, control: Path) -> None:
    wf = remote_workflow(db_path)
    paused = wf.run("report.csv")
    assert paused.is_paused and paused.steps_with_errors[0].step_name == "fetch"

    set_control(control, "ok")
    result = run_script(
        script(f"""
        wf = remote_workflow({str(db_path)!r})
        run = wf.get_session().runs[-1]
        assert run.run_id == {paused.run_id!r} and run.is_paused
        req = run.steps_with_errors[0]
        req.retry()
        out = wf.continue_run(run)
        print(json.dumps({{"status": out.status.value, "content": out.content, "retry_count": req.retry_count}}))
        """),
        control,
    )
    assert result == {
        "status": "COMPLETED",
        "content": {"previous": "fetched report.csv", "input": "report.csv"},
        "retry_count": 0,
    }
    # this process sees the run the other one finished
    assert wf.get_run(paused.run_id).status is RunStatus.completed
    # the copy read before is stale: continuing it again is refused
    paused.steps_with_errors[0].retry()
    with pytest.raises(KitaruStateError, match="completed, not paused"):
        wf.continue_run(paused)

    set_control(control, "fail")
    paused = wf.run("second.csv")
    result = run_script(
        script(f"""
        wf = remote_workflow({str(db_path)!r})
        run = wf.get_session().runs[-1]
        run.steps_with_errors[0].skip()
        out = wf.continue_run(run)
        statuses = [(r.step_name, r.skipped) for r in out.step_results]
        print(json.dumps({{"status": out.status.value, "content": out.content, "steps": statuses}}))
        """),
        control,
    )
    assert result == {
        "status": "COMPLETED",
        "content": {"previous": None, "input": "second.csv"},
        "steps": [["fetch", True], ["finish", False]],
    }


def test_stale_copy_divergent_steps_and_missing_decision_are_refused(db_path: Path, control: Path) -> None:
    wf = remote_workflow(db_path)
    paused = wf.run("a.csv")
    result = run_script(
        script(f"""
        out = {{}}
        run_id = {paused.run_id!r}
        # a workflow whose steps differ from the run's recorded steps
        run = remote_workflow({str(db_path)!r}).get_run(run_id)
        renamed = remote_workflow({str(db_path)!r}, variant="renamed")
        run.steps_with_errors[0].retry()
        try:
            renamed.continue_run(run)
        except KitaruDivergenceError as exc:
            out["divergence"] = str(exc)
        # no decision
        wf = remote_workflow({str(db_path)!r})
        fresh = wf.get_run(run_id)
        try:
            wf.continue_run(fresh)
        except KitaruStateError as exc:
            out["no_decision"] = str(exc)
        try:
            wf.continue_run(run_id=run_id)
        except KitaruStateError as exc:
            out["no_decision_by_id"] = str(exc)
        # continue once (the retry fails again: the run pauses again), then the stale copy
        fresh.steps_with_errors[0].retry()
        again = wf.continue_run(fresh)
        out["again"] = [again.status.value, again.steps_with_errors[0].retry_count]
        try:
            wf.continue_run(fresh)
        except KitaruStateError as exc:
            out["stale"] = str(exc)
        print(json.dumps(out))
        """),
        control,
    )
    assert "recorded with steps [fetch, finish]" in result["divergence"]
    assert "this workflow has steps [download, finish]" in result["divergence"]
    assert "waits for a decision: call retry() or skip()" in result["no_decision"]
    assert "waits for a decision" in result["no_decision_by_id"]
    assert result["again"] == ["PAUSED", 1]
    assert "is stale" in result["stale"]
    # and the first process's copy, read before all that, is stale too
    paused.steps_with_errors[0].retry()
    with pytest.raises(KitaruStateError, match="is stale"):
        wf.continue_run(paused)
    run = wf.get_run(paused.run_id)
    assert run.is_paused and run.steps_with_errors[0].retry_count == 1


def test_step_outputs_keep_their_types_across_a_pause_and_a_new_process(db_path: Path, control: Path) -> None:
    wf = typed_workflow(db_path)
    paused = wf.run("typed")
    assert paused.is_paused
    contents = {r.step_name: r.content for r in paused.step_results}
    assert contents == {
        "count": 41,
        "day": date(2024, 2, 29),
        "report": Report(title="q1", day=date(2024, 3, 31), scores=[3, 1, 4]),
    }
    assert type(contents["count"]) is int

    set_control(control, "ok")
    result = run_script(
        script(f"""
        wf = typed_workflow({str(db_path)!r})
        run = wf.get_run({paused.run_id!r})
        before = {{r.step_name: type(r.content).__name__ for r in run.step_results}}
        run.steps_with_errors[0].retry()
        out = wf.continue_run(run)
        print(json.dumps({{"before": before, "seen_by_step": out.content, "status": out.status.value}}))
        """),
        control,
    )
    assert result["status"] == "COMPLETED"
    assert result["before"] == {"count": "int", "day": "date", "report": "Report"}
    # the last step ran in the new process; it got the first steps' outputs from the journal
    assert result["seen_by_step"] == {"count": "int", "day": "date", "report": "Report", "gate": "str"}

    done = wf.get_run(paused.run_id)
    contents = {r.step_name: r.content for r in done.step_results}
    assert type(contents["count"]) is int and contents["count"] == 41
    assert type(contents["day"]) is date
    assert isinstance(contents["report"], Report) and contents["report"].day == date(2024, 3, 31)


def test_types_survive_an_in_process_pause_too(db_path: Path, control: Path) -> None:
    wf = typed_workflow(db_path)
    paused = wf.run("typed")
    set_control(control, "ok")
    paused.steps_with_errors[0].retry()
    out = wf.continue_run(paused)
    assert out.content == {"count": "int", "day": "date", "report": "Report", "gate": "str"}
