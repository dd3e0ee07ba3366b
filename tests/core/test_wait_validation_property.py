"""Property: in the process that runs the flow, a wait accepts exactly what its schema accepts.

Answers are validated by the wait's live pydantic ``TypeAdapter`` (lax mode: ``"12"`` is an int,
``"yes"`` a bool), so ``client.executions.input`` must accept exactly what
``TypeAdapter(schema).validate_python`` accepts and journal the adapter's JSON form of the value.
Answers given where the flow never ran (another process, the REST API) are held to the same
verdict in test_answer_judge_property.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

import kitaru_nb as kitaru
from kitaru_nb import ExecutionStatus, KitaruClient, KitaruWaitValidationError, serde


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Approval(BaseModel):
    approved: bool
    reviewer: str = Field(min_length=2, max_length=8)
    budget: int = Field(ge=0, le=1000)


SCHEMAS: dict[str, Any] = {
    "int": int,
    "bool": bool,
    "literal": Literal["S", "M", "L"],
    "enum": Color,
    "model": Approval,
}

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
integral_floats = st.integers(min_value=-2000, max_value=2000).map(float) | st.sampled_from(
    [9.223372036854776e18, 1e19]
)

SPECIFIC: dict[str, st.SearchStrategy[Any]] = {
    "int": st.integers() | integral_floats | st.integers(-99, 99).map(str) | st.sampled_from(["1.5", " 7 ", "x", 2.5]),
    "bool": st.sampled_from([True, False, 0, 1, 2, "true", "False", "yes", "off", "1", "maybe", 0.0, 1.0]),
    "literal": st.sampled_from(["S", "M", "L", "s", "XL", "", 1]),
    "enum": st.sampled_from(["red", "blue", "RED", "green", Color.RED, Color.BLUE, 1]),
    "model": st.fixed_dictionaries(
        {
            "approved": st.booleans(),
            "reviewer": st.text(min_size=2, max_size=8),
            "budget": st.integers(0, 1000) | st.integers(0, 1000).map(float),
        },
        optional={"extra": json_scalars},
    )
    | st.builds(Approval, approved=st.booleans(), reviewer=st.just("ada"), budget=st.integers(0, 1000))
    | st.fixed_dictionaries(
        {},
        optional={
            "approved": st.sampled_from([True, False, "yes", 1, 0.5, None]),
            "reviewer": st.text(max_size=10) | st.integers(0, 5),
            "budget": st.integers(-5, 1005) | integral_floats | st.sampled_from(["10", 2.5, None]),
            "extra": json_scalars,
        },
    ),
}


class Asker:
    """One execution per schema that asks again after every accepted answer."""

    def __init__(self, key: str):
        schema = SCHEMAS[key]

        def body() -> None:
            i = 0
            while True:
                kitaru.wait(schema=schema, name=f"v{i}")
                i += 1

        self.flow = kitaru.flow(name=f"prop_asker_{key}")(body)
        self.handle = self.flow.run()
        self.next = 0


@pytest.fixture(scope="module")
def prop_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitaruClient]:
    path: Path = tmp_path_factory.mktemp("prop") / "kitaru.db"
    kitaru.configure(db=path)
    yield KitaruClient()
    kitaru.configure(db=None)


@pytest.fixture(scope="module")
def askers(prop_client: KitaruClient) -> dict[str, Asker]:
    return {key: Asker(key) for key in SCHEMAS}


def _pydantic(schema: Any, value: Any) -> tuple[bool, Any]:
    adapter = TypeAdapter(schema)
    try:
        return True, adapter.dump_python(adapter.validate_python(value), mode="json")
    except ValidationError as exc:
        return False, sorted(tuple(map(str, e["loc"])) for e in exc.errors())


@pytest.mark.parametrize("key", list(SCHEMAS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_input_accepts_exactly_what_the_adapter_accepts(
    key: str, data: st.DataObject, prop_client: KitaruClient, askers: dict[str, Asker]
) -> None:
    value = data.draw(SPECIFIC[key] | json_values, label="value")
    asker = askers[key]
    exec_id, wait = asker.handle.exec_id, f"v{asker.next}"
    expected_ok, expected = _pydantic(SCHEMAS[key], value)
    try:
        ex = prop_client.executions.input(exec_id, wait=wait, value=value)
    except KitaruWaitValidationError as exc:
        event("refused")
        assert not expected_ok, f"{value!r} refused but pydantic accepts it"
        assert sorted(tuple(map(str, e["loc"])) for e in exc.errors) == expected
        assert [w.name for w in prop_client.executions.pending_waits(exec_id)] == [wait]
        return
    event("accepted")
    assert expected_ok, f"{value!r} accepted but pydantic refuses it"
    asker.next += 1
    # the flow resumed at once and now asks the next question
    assert ex.status is ExecutionStatus.WAITING
    assert [w.name for w in ex.pending_waits] == [f"v{asker.next}"]
    stored = next(c for c in prop_client.journal.load_calls(exec_id) if c.name == wait)
    assert stored.output is not None
    assert serde.loads(stored.output.format, stored.output.data) == expected
