"""Property: whatever a step returns comes back with the same types and values after a pause,
when later steps read it from the journal and when the run is read back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import RunStatus
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput

from .steps_lib import Report

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.dates(),
    st.datetimes(timezones=st.just(dt.UTC) | st.none()),
    st.decimals(allow_nan=False, places=3, min_value=-(10**6), max_value=10**6),
    st.binary(max_size=8),
    st.builds(Report, title=st.text(max_size=5), day=st.dates(), scores=st.lists(st.integers(), max_size=3)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
        st.dictionaries(st.integers(), inner, max_size=3),
    ),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    """Equal values of exactly the same types, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a == 0.0:
        return str(a) == str(b)  # keeps the sign of zero
    return bool(a == b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=values)
def test_step_output_types_survive_a_pause(db: SqliteDb, value: Any) -> None:
    gate_failures = [RuntimeError("paused once")]

    def make(step_input: StepInput) -> Any:
        return value

    def gate(step_input: StepInput) -> str:
        if gate_failures:
            raise gate_failures.pop()
        return "open"

    def echo(step_input: StepInput) -> Any:
        assert step_input.previous_step_outputs is not None
        return step_input.previous_step_outputs["make"].content

    wf = Workflow(
        name="types_property",
        db=db,
        steps=[
            Step(name="make", executor=make),
            Step(name="gate", executor=gate, on_error=OnError.pause),
            Step(name="echo", executor=echo),
        ],
    )
    paused = wf.run()
    assert paused.is_paused and same(value, paused.step_results[0].content)
    paused.steps_with_errors[0].retry()
    done = wf.continue_run(paused)
    assert done.status is RunStatus.completed
    assert same(value, done.content)  # echoed by a step that read it from the journal
    again = wf.get_run(done.run_id)
    assert same(value, again.step_results[0].content) and same(value, again.content)


def test_decimal_and_datetime_examples(db: SqliteDb) -> None:
    """A few values by name, so a failure here reads plainly."""
    for value in (Decimal("1.10"), dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC), (1, "a"), {1: "int key"}, -0.0):
        wf = Workflow(name="one_value", db=db, steps=[Step(name="v", executor=lambda s, v=value: v)])
        out = wf.run()
        assert same(value, wf.get_run(out.run_id).content)
