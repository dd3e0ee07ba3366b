"""Bad arguments get a KitaruUsageError that says what to do; the public modules export what they promise."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb
import kitaru_nb.run.workflow
import kitaru_nb.workflow
import kitaru_nb.workflow.types
from kitaru_nb import KitaruClient, KitaruRuntimeError, KitaruStateError, KitaruUsageError
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import RunStatus, WorkflowRunOutput
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput, StepOutput


def ok(step_input: StepInput) -> StepOutput:
    return StepOutput(content="ok")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "s"}, r"executor=\.\.\.\) must be a function"),
        ({"name": "", "executor": ok}, r"name=\.\.\.\) must be a non-empty str"),
        ({"name": "s", "executor": ok, "on_error": "explode"}, "on_error must be OnError.fail, OnError.skip or"),
        ({"name": "s", "executor": ok, "max_retries": -1}, "max_retries must be an int >= 0"),
        ({"name": "s", "executor": ok, "max_retries": True}, "max_retries must be an int >= 0"),
        ({"name": "s", "executor": ok, "requires_confirmation": "yes"}, "requires_confirmation must be True or False"),
        ({"name": "s", "executor": ok, "confirmation_message": 3}, "confirmation_message must be a str"),
        ({"name": "s", "agent": object()}, "wrap the call in a function"),
    ],
)
def test_bad_step_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(KitaruUsageError, match=message):
        Step(**kwargs)


def test_lambdas_without_a_name_are_refused() -> None:
    with pytest.raises(KitaruUsageError, match="must be a non-empty str"):
        Step(executor=lambda s: 1)


def test_executor_must_take_the_step_input() -> None:
    def no_args() -> str:
        return "x"

    with pytest.raises(KitaruUsageError, match="must take one argument, the StepInput"):
        Step(name="s", executor=no_args)
    Step(name="extra_defaults", executor=lambda step_input, retries=3: None)


def test_an_output_that_cannot_be_journaled_fails_the_run_naming_the_step(db: SqliteDb) -> None:
    wf = Workflow(name="unstorable", db=db, steps=[Step(name="lock", executor=lambda s: threading.Lock())])
    with pytest.raises(KitaruRuntimeError, match="checkpoint 'lock' returned a value that cannot be journaled"):
        wf.run()
    out = wf.get_session().runs[-1]
    assert out.status is RunStatus.error
    assert out.failure is not None and out.failure.origin.value == "runtime"
    assert "checkpoint 'lock' returned a value that cannot be journaled" in out.failure.message


def test_step_name_defaults_to_the_function_name_and_strings_map_to_on_error() -> None:
    step = Step(executor=ok, on_error="pause")
    assert (step.name, step.on_error, step.max_retries) == ("ok", OnError.pause, 0)


def test_bad_workflow_arguments(db: SqliteDb) -> None:
    with pytest.raises(KitaruUsageError, match=r"Workflow\(name=\.\.\.\) must be a non-empty str"):
        Workflow(steps=[ok])
    with pytest.raises(KitaruUsageError, match="steps must be a non-empty list"):
        Workflow(name="w", db=db, steps=[])
    with pytest.raises(KitaruUsageError, match="two steps are named 'ok'"):
        Workflow(name="w", db=db, steps=[ok, Step(name="ok", executor=ok)])
    with pytest.raises(
        KitaruUsageError, match="takes Step, Parallel, Loop, Condition, Router or Steps objects or functions"
    ):
        Workflow(name="w", db=db, steps=[42])
    with pytest.raises(KitaruUsageError, match="db must be a SqliteDb"):
        Workflow(name="w", db=42, steps=[ok])


def test_bad_run_and_continue_arguments(db: SqliteDb) -> None:
    wf = Workflow(name="w", db=db, steps=[ok])
    with pytest.raises(KitaruUsageError, match=r"does not support \['images'\]"):
        wf.run("x", images=[1])
    with pytest.raises(KitaruUsageError, match="additional_data must be a dict"):
        wf.run("x", additional_data=[1])
    with pytest.raises(KitaruUsageError, match="inputs cannot be journaled"):
        wf.run(threading.Lock())
    with pytest.raises(KitaruUsageError, match="continue_run needs the paused run"):
        wf.continue_run()
    with pytest.raises(KitaruUsageError, match="no workflow run 'nope'"):
        wf.continue_run(run_id="nope")
    with pytest.raises(KitaruUsageError, match="has no run 'nope'"):
        wf.get_run("nope")
    done = wf.run("x")
    with pytest.raises(KitaruStateError, match="is completed, not paused"):
        wf.continue_run(done)
    assert KitaruClient(db=db).executions.count() == 1  # nothing else was recorded


def test_sqlite_db_arguments(tmp_path: Path) -> None:
    assert SqliteDb(db_url=f"sqlite:///{tmp_path}/a.db").db_file == tmp_path / "a.db"
    assert SqliteDb(db_file=tmp_path / "b.db", session_table="sessions").db_file == tmp_path / "b.db"
    with pytest.raises(KitaruUsageError, match="does not take"):
        SqliteDb(db_file="x.db", pool_size=3)
    with pytest.raises(KitaruUsageError, match="sqlite:///"):
        SqliteDb(db_url="postgresql://x")
    nested = SqliteDb(db_file=tmp_path / "made" / "for" / "me.db")
    Workflow(name="nested", db=nested, steps=[ok]).run()
    assert (tmp_path / "made" / "for" / "me.db").exists()


def test_two_callers_continuing_one_run_one_wins(db: SqliteDb) -> None:
    def fails(step_input: StepInput) -> str:
        raise RuntimeError("down")

    wf = Workflow(name="race", db=db, steps=[Step(name="f", executor=fails, on_error=OnError.pause)])
    run = wf.run()
    copies = [wf.get_run(run.run_id) for _ in range(4)]
    for c in copies:
        c.steps_with_errors[0].skip()
    barrier = threading.Barrier(len(copies))
    outcomes: list[str] = []

    def go(copy: WorkflowRunOutput) -> None:
        barrier.wait()
        try:
            outcomes.append(wf.continue_run(copy).status.value)
        except KitaruStateError:
            outcomes.append("refused")

    threads = [threading.Thread(target=go, args=(c,)) for c in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["COMPLETED", "refused", "refused", "refused"]
    assert wf.get_run(run.run_id).status is RunStatus.completed


def test_a_workflow_cannot_run_inside_a_flow(db: SqliteDb) -> None:
    wf = Workflow(name="inner", db=db, steps=[ok])

    @kitaru_nb.flow
    def outer() -> Any:
        return wf.run()

    handle = outer.run()
    with pytest.raises(kitaru_nb.KitaruUserCodeError, match="a run cannot start inside another one"):
        handle.get()
    assert [e.kind for e in KitaruClient(db=db).executions.list()] == ["flow"]  # no workflow run was recorded


@pytest.mark.parametrize("module", [kitaru_nb.workflow, kitaru_nb.workflow.types, kitaru_nb.run.workflow])
def test_exported_members_are_sorted_and_importable(module: Any) -> None:
    names = module.__all__
    # ruff's order (RUF022): CONSTANTS, then Classes, then functions, each alphabetical
    assert names == sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))
    for name in names:
        assert hasattr(module, name), name


def test_agno_style_imports_resolve() -> None:
    from kitaru_nb.db.sqlite import SqliteDb as Db
    from kitaru_nb.run.workflow import StepPausedEvent, WorkflowErrorEvent, WorkflowFailedEvent
    from kitaru_nb.workflow import OnError as OE
    from kitaru_nb.workflow import Workflow as W
    from kitaru_nb.workflow.step import Step as S
    from kitaru_nb.workflow.types import ErrorRequirement, StepInput, StepOutput, StepRequirement

    assert WorkflowErrorEvent is WorkflowFailedEvent
    assert {OE.fail.value, OE.skip.value, OE.pause.value} == {"fail", "skip", "pause"}
    assert all([Db, StepPausedEvent, W, S, ErrorRequirement, StepInput, StepOutput, StepRequirement])


def test_arun_and_acontinue_run(db: SqliteDb) -> None:
    import asyncio

    failures = [RuntimeError("once")]

    def flaky(step_input: StepInput) -> str:
        if failures:
            raise failures.pop()
        return "done"

    wf = Workflow(name="async_wf", db=db, steps=[Step(name="f", executor=flaky, on_error=OnError.pause)])

    async def scenario() -> tuple[list[str], Any]:
        paused = await wf.arun("x")
        paused.steps_with_errors[0].retry()
        events = [type(e).__name__ async for e in wf.acontinue_run(paused, stream=True, stream_events=True)]
        return events, wf.get_session().runs[-1]

    events, latest = asyncio.run(scenario())
    assert events == [
        "WorkflowStartedEvent",
        "StepContinuedEvent",
        "StepStartedEvent",
        "StepCompletedEvent",
        "StepOutputEvent",
        "WorkflowCompletedEvent",
    ]
    assert latest.content == "done"


def test_stop_ends_the_run_early_and_stays_stopped_on_resume(db: SqliteDb) -> None:
    ran: list[str] = []

    def gate(step_input: StepInput) -> StepOutput:
        ran.append("gate")
        return StepOutput(content="nothing to do", stop=True)

    def after(step_input: StepInput) -> str:
        ran.append("after")
        return "should not run"

    wf = Workflow(name="stopper", db=db, steps=[Step(name="gate", executor=gate), Step(name="after", executor=after)])
    out = wf.run()
    assert out.status is RunStatus.completed and out.content == "nothing to do" and ran == ["gate"]
    assert wf.get_run(out.run_id).step_results[0].stop


def test_cancel_run(db: SqliteDb) -> None:
    def fails(step_input: StepInput) -> str:
        raise RuntimeError("x")

    wf = Workflow(name="cancel_me", db=db, steps=[Step(name="f", executor=fails, on_error=OnError.pause)])
    run = wf.run()
    assert wf.cancel_run(run.run_id) is True
    assert wf.get_run(run.run_id).is_cancelled
    assert wf.cancel_run(run.run_id) is False
    run.steps_with_errors[0].retry()
    with pytest.raises(KitaruStateError, match="is cancelled, not paused"):
        wf.continue_run(run)


def test_print_response(db: SqliteDb, capsys: pytest.CaptureFixture[str]) -> None:
    wf = Workflow(name="printer", db=db, steps=[ok])
    wf.print_response("x", markdown=True)
    assert capsys.readouterr().out.strip() == "ok"
    gated = Workflow(name="gated", db=db, steps=[Step(name="g", executor=ok, requires_confirmation=True)])
    assert gated.print_response().is_paused
    assert "paused: step 'g' asks \"Run step 'g'?\"" in capsys.readouterr().out


def test_human_review_object_sets_confirmation_and_on_error(db: SqliteDb) -> None:
    from kitaru_nb.workflow.types import HumanReview, OnReject

    failures = [RuntimeError("once")]

    def flaky(step_input: StepInput) -> str:
        if failures:
            raise failures.pop()
        return "ran"

    step = Step(
        name="f",
        executor=flaky,
        human_review=HumanReview(requires_confirmation=True, confirmation_message="Sure?", on_error=OnError.pause),
    )
    assert (step.requires_confirmation, step.confirmation_message, step.on_error) == (True, "Sure?", OnError.pause)
    wf = Workflow(name="reviewed", db=db, steps=[step])
    out = wf.run()
    out.steps_requiring_confirmation[0].confirm()
    out = wf.continue_run(out)
    out.steps_with_errors[0].retry()
    assert wf.continue_run(out).content == "ran"
    with pytest.raises(KitaruUsageError, match=r"\['requires_user_input'\] is not supported"):
        Step(name="g", executor=flaky, human_review=HumanReview(requires_user_input=True))
    with pytest.raises(KitaruUsageError, match="on_reject=else"):
        Step(
            name="g",
            executor=flaky,
            human_review=HumanReview(requires_confirmation=True, on_reject=OnReject.else_branch),
        )


def test_pause_decorator_marks_a_step_function(db: SqliteDb) -> None:
    from kitaru_nb.workflow.decorators import pause

    @pause(name="Process Research", requires_confirmation=True, confirmation_message="Proceed?")
    def process(step_input: StepInput) -> str:
        return "processed"

    step = Step(executor=process)
    assert (step.name, step.requires_confirmation, step.confirmation_message) == ("Process Research", True, "Proceed?")
    wf = Workflow(name="decorated", db=db, steps=[Step(name="process", executor=process)])
    out = wf.run()
    assert out.steps_requiring_confirmation[0].confirmation_message == "Proceed?"
    out.steps_requiring_confirmation[0].confirm()
    assert wf.continue_run(out).content == "processed"
    with pytest.raises(KitaruUsageError, match="@pause"):
        pause(requires_confirmation=True, colour="blue")


def test_run_metadata_is_kept_with_the_run(db: SqliteDb) -> None:
    wf = Workflow(name="tagged", db=db, steps=[ok])
    out = wf.run("x", metadata={"ticket": "OPS-12"}, user_id="ana")
    assert out.metadata == {"ticket": "OPS-12"}
    assert wf.get_run(out.run_id).metadata == {"ticket": "OPS-12"}
    assert KitaruClient(db=db).executions.get(out.run_id).meta["user_id"] == "ana"
    with pytest.raises(KitaruUsageError, match="metadata must be a JSON-ready dict"):
        wf.run("x", metadata={"lock": threading.Lock()})
