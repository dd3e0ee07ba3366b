"""requires_confirmation: the run pauses before the step; confirm runs it (then an error pause may
follow), reject skips it."""

from __future__ import annotations

import pytest

from kitaru_nb import CallStatus, KitaruClient, KitaruStateError, KitaruUsageError
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import RunStatus
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput, StepOutput


def deploy_workflow(db: SqliteDb, failures: list[Exception], ran: list[str]) -> Workflow:
    def build(step_input: StepInput) -> StepOutput:
        ran.append("build")
        return StepOutput(content="artifact-1")

    def deploy(step_input: StepInput) -> StepOutput:
        ran.append("deploy")
        if failures:
            raise failures.pop(0)
        return StepOutput(content=f"deployed {step_input.previous_step_content}")

    def notify(step_input: StepInput) -> StepOutput:
        ran.append("notify")
        return StepOutput(content=f"notified: {step_input.previous_step_content}")

    return Workflow(
        name="deploy",
        db=db,
        steps=[
            Step(name="build", executor=build),
            Step(
                name="deploy",
                executor=deploy,
                requires_confirmation=True,
                confirmation_message="Deploy to production?",
                on_error=OnError.pause,
            ),
            Step(name="notify", executor=notify),
        ],
    )


def test_confirmation_then_error_pause_in_that_order(db: SqliteDb) -> None:
    ran: list[str] = []
    wf = deploy_workflow(db, [PermissionError("cluster refused the deploy")], ran)

    out = wf.run("v1")
    assert out.is_paused and ran == ["build"]  # paused before the step ran
    assert out.steps_with_errors == []
    [conf] = out.steps_requiring_confirmation
    assert (conf.step_name, conf.confirmation_message) == ("deploy", "Deploy to production?")
    assert out.paused_step_name == "deploy"

    conf.confirm()
    out = wf.continue_run(out)
    assert out.is_paused and ran == ["build", "deploy"]
    assert out.steps_requiring_confirmation == []  # the confirmation is not asked again
    [err] = out.steps_with_errors
    assert (err.step_name, err.error_type, err.retry_count) == ("deploy", "PermissionError", 0)

    err.retry()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed
    assert out.content == "notified: deployed artifact-1"
    assert ran == ["build", "deploy", "deploy", "notify"]


def test_reject_skips_the_step(db: SqliteDb) -> None:
    ran: list[str] = []
    wf = deploy_workflow(db, [], ran)
    out = wf.run("v1")
    out.steps_requiring_confirmation[0].reject()
    out = wf.continue_run(out)
    assert out.status is RunStatus.completed
    assert ran == ["build", "notify"]
    assert out.content == "notified: None"
    deploy = next(r for r in out.step_results if r.step_name == "deploy")
    assert deploy.skipped and deploy.content is None
    statuses = {c.name: c.status for c in KitaruClient(db=db).executions.get(out.run_id).checkpoints}
    assert statuses == {"build": CallStatus.COMPLETED, "deploy": CallStatus.SKIPPED, "notify": CallStatus.COMPLETED}


def test_the_confirmation_is_a_journaled_wait_the_panel_can_answer(db: SqliteDb) -> None:
    """The panel's Confirm button answers the wait through the client; the run resumes at once."""
    ran: list[str] = []
    wf = deploy_workflow(db, [], ran)
    out = wf.run("v1")
    client = KitaruClient(db=db)
    [wait] = client.executions.pending_waits(out.run_id)
    assert wait.name == "confirm:deploy"
    assert wait.question == "Deploy to production?"
    assert wait.metadata is not None
    assert {k: wait.metadata[k] for k in ("kitaru_kind", "step", "message", "on_reject")} == {
        "kitaru_kind": "confirmation",
        "step": "deploy",
        "message": "Deploy to production?",
        "on_reject": "skip",
    }
    assert wait.schema == {"type": "boolean"}

    client.executions.input(out.run_id, wait="confirm:deploy", value=True)
    done = wf.get_run(out.run_id)
    assert done.status is RunStatus.completed and done.content == "notified: deployed artifact-1"


def test_continuing_without_confirming_is_refused_and_changes_nothing(db: SqliteDb) -> None:
    ran: list[str] = []
    wf = deploy_workflow(db, [], ran)
    out = wf.run("v1")
    with pytest.raises(KitaruStateError, match=r"waits for confirmation: call confirm\(\) or reject\(\)"):
        wf.continue_run(out)
    assert wf.get_run(out.run_id).is_paused and ran == ["build"]
    out.steps_requiring_confirmation[0].confirm()
    assert wf.continue_run(out).status is RunStatus.completed


def test_default_confirmation_message_names_the_step(db: SqliteDb) -> None:
    wf = Workflow(name="ask", db=db, steps=[Step(name="wipe", executor=lambda s: "gone", requires_confirmation=True)])
    out = wf.run()
    assert out.steps_requiring_confirmation[0].confirmation_message == "Run step 'wipe'?"


def test_the_panels_reject_answer_skips_the_step(db: SqliteDb) -> None:
    ran: list[str] = []
    wf = deploy_workflow(db, [], ran)
    out = wf.run("v1")
    KitaruClient(db=db).executions.input(out.run_id, wait="confirm:deploy", value=False)
    done = wf.get_run(out.run_id)
    assert done.status is RunStatus.completed and ran == ["build", "notify"]
    assert next(r for r in done.step_results if r.step_name == "deploy").skipped


def test_reject_with_on_reject_cancel_cancels_the_run(db: SqliteDb) -> None:
    from kitaru_nb.run.workflow import WorkflowCancelledEvent
    from kitaru_nb.workflow.types import HumanReview, OnReject

    ran: list[str] = []

    def step(name: str) -> Step:
        def fn(step_input: StepInput) -> str:
            ran.append(name)
            return name

        return Step(name=name, executor=fn)

    gated = Step(
        name="publish",
        executor=lambda s: ran.append("publish"),
        human_review=HumanReview(requires_confirmation=True, on_reject=OnReject.cancel),
    )
    wf = Workflow(name="cancellable", db=db, steps=[step("draft"), gated, step("announce")])
    out = wf.run()
    out.steps_requiring_confirmation[0].reject()
    events = list(wf.continue_run(out, stream=True, stream_events=True))
    assert [type(e).__name__ for e in events] == [
        "WorkflowStartedEvent",
        "StepContinuedEvent",  # the counterpart of the pause, also for a rejection
        "WorkflowCancelledEvent",
    ]
    cancelled = events[-1]
    assert isinstance(cancelled, WorkflowCancelledEvent) and cancelled.reason == "step 'publish' was rejected"
    run = wf.get_run(out.run_id)
    assert run.status is RunStatus.cancelled and ran == ["draft"]
    statuses = {c.name: c.status for c in KitaruClient(db=db).executions.get(out.run_id).checkpoints}
    assert statuses == {"draft": CallStatus.COMPLETED, "publish": CallStatus.SKIPPED}
    with pytest.raises(KitaruUsageError, match=r"on_reject must be OnReject\.skip"):
        Step(name="x", executor=lambda s: 1, on_reject="else")
