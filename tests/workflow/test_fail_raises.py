"""OnError.fail raises, as the mirrored API does: run() and continue_run() re-raise the step's
exception after journaling the failed attempt and marking the run failed."""

from __future__ import annotations

import pytest

from kitaru_nb import ExecutionStatus, KitaruClient
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import RunStatus
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput


class QuotaExceeded(Exception):
    pass


def test_continue_run_raises_when_a_later_fail_step_raises(db: SqliteDb) -> None:
    ran: list[str] = []

    def approve(step_input: StepInput) -> str:
        ran.append("approve")
        return "ok"

    def charge(step_input: StepInput) -> str:
        ran.append("charge")
        raise QuotaExceeded("card declined")

    wf = Workflow(
        name="billing",
        db=db,
        steps=[
            Step(name="approve", executor=approve, requires_confirmation=True),
            Step(name="charge", executor=charge, max_retries=1),  # OnError.fail by default
        ],
    )
    out = wf.run("order-1")
    assert out.is_paused
    out.steps_requiring_confirmation[0].confirm()
    with pytest.raises(QuotaExceeded, match="card declined") as raised:
        wf.continue_run(out)
    assert raised.type is QuotaExceeded  # the step's own exception class, not a wrapper
    assert ran == ["approve", "charge", "charge"]  # max_retries ran before the run failed

    latest = wf.get_session().runs[-1]
    assert latest.run_id == out.run_id and latest.status is RunStatus.error and not latest.is_paused
    assert latest.failure is not None and latest.failure.message == "card declined"
    ex = KitaruClient(db=db).executions.get(out.run_id)
    assert ex.status is ExecutionStatus.FAILED
    charge_call = next(c for c in ex.checkpoints if c.name == "charge")
    assert [(a.status.value, a.failure.message if a.failure else None) for a in charge_call.attempts] == [
        ("failed", "card declined"),
        ("failed", "card declined"),
    ]


def test_skip_and_pause_do_not_raise(db: SqliteDb) -> None:
    def boom(step_input: StepInput) -> str:
        raise ValueError("boom")

    skipping = Workflow(name="skipping", db=db, steps=[Step(name="b", executor=boom, on_error=OnError.skip)])
    assert skipping.run().status is RunStatus.completed
    pausing = Workflow(name="pausing", db=db, steps=[Step(name="b", executor=boom, on_error=OnError.pause)])
    assert pausing.run().is_paused
