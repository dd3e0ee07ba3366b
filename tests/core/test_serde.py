"""Values <-> journal bytes: round trips keep types, previews stay short and plain."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import kitaru_nb as kitaru
from kitaru_nb import KitaruClient, serde


class Point(BaseModel):
    x: float
    y: float
    label: str = ""


class Shape(BaseModel):
    name: str
    points: list[Point] = Field(default_factory=list)
    created: dt.datetime
    tags: set[str] = Field(default_factory=set)


finite_floats = st.floats(allow_nan=False, allow_infinity=False)
plain_json = st.recursive(
    st.none() | st.booleans() | st.integers() | finite_floats | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
# values that JSON cannot keep as they are: tuples, sets, bytes, dates, non-str keys, ...
python_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | finite_floats
    | st.text()
    | st.binary(max_size=20)
    | st.dates()
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.timedeltas()
    | st.decimals(allow_nan=False)
    | st.uuids()
    | st.complex_numbers(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers() | st.text(), max_size=3)
        | st.dictionaries(st.integers() | st.text() | st.tuples(st.integers()), inner, max_size=3)
    ),
    max_leaves=10,
)
points = st.builds(Point, x=finite_floats, y=finite_floats, label=st.text(max_size=10))
shapes = st.builds(
    Shape,
    name=st.text(max_size=10),
    points=st.lists(points, max_size=3),
    created=st.datetimes(timezones=st.just(dt.UTC)),
    tags=st.sets(st.text(max_size=5), max_size=3),
)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@settings(max_examples=150)
@given(plain_json)
def test_plain_json_is_stored_as_json_and_round_trips(value: Any) -> None:
    fmt, data = serde.dumps(value)
    assert fmt == serde.JSON
    assert _same(serde.loads(fmt, data), value)
    assert _same(serde.loads_json_only(fmt, data), value)


@settings(max_examples=150)
@given(python_values)
def test_python_values_round_trip_with_their_types(value: Any) -> None:
    fmt, data = serde.dumps(value)
    assert _same(serde.loads(fmt, data), value)
    if fmt == serde.PICKLE:
        assert serde.loads_json_only(fmt, data) is None  # never unpickled for the server


@settings(max_examples=80)
@given(shapes)
def test_pydantic_models_round_trip_as_json(shape: Shape) -> None:
    fmt, data = serde.dumps(shape)
    assert fmt == serde.PYDANTIC
    loaded = serde.loads(fmt, data)
    assert isinstance(loaded, Shape) and loaded == shape
    assert serde.loads_json_only(fmt, data) == shape.model_dump(mode="json")


def test_a_model_whose_class_is_gone_loads_as_its_data() -> None:
    data = b'{"cls":"no_such_module_xyz:Gone","data":{"a":1}}'
    assert serde.loads(serde.PYDANTIC, data) == {"a": 1}


@settings(max_examples=200)
@given(python_values | shapes | st.text(min_size=150, max_size=5000) | st.lists(st.text(), min_size=50))
def test_previews_are_never_longer_than_the_limit(value: Any) -> None:
    text = serde.preview(value)
    assert isinstance(text, str)
    assert len(text) <= serde.PREVIEW_CHARS


def test_preview_of_a_broken_repr() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    text = serde.preview(Broken())
    assert text.startswith("<Broken") and len(text) <= serde.PREVIEW_CHARS


def test_unserializable_values_raise_serialization_error() -> None:
    with pytest.raises(serde.SerializationError, match=r"_thread\.lock"):
        serde.dumps(__import__("threading").Lock())
    with pytest.raises(ValueError, match="unknown stored value format"):
        serde.loads("yaml", b"x: 1")
    assert serde.loads(serde.JSON, None) is None


def test_checkpoint_outputs_keep_their_types_through_resume(client: KitaruClient) -> None:
    runs = Counter[str]()
    when = dt.datetime(2024, 5, 17, 12, 30, tzinfo=dt.UTC)
    ident = uuid.UUID(int=7)

    @kitaru.checkpoint
    def sd_values() -> tuple[Any, ...]:
        runs["values"] += 1
        return (
            (1, 2),
            {3, 4},
            when,
            when.date(),
            decimal.Decimal("1.10"),
            ident,
            Point(x=1.5, y=-2, label="p"),
            {(1, 2): "tuple key"},
            b"\x00bytes",
            float("nan"),
        )

    @kitaru.flow
    def sd_flow() -> tuple[Any, ...]:
        values = sd_values()
        kitaru.wait(schema=bool, name="go")
        return values

    handle = sd_flow.run()
    client.executions.input(handle.exec_id, wait="go", value=True)
    assert runs == {"values": 1}
    out = handle.get()
    assert out[:9] == (
        (1, 2),
        {3, 4},
        when,
        when.date(),
        decimal.Decimal("1.10"),
        ident,
        Point(x=1.5, y=-2, label="p"),
        {(1, 2): "tuple key"},
        b"\x00bytes",
    )
    assert math.isnan(out[9])
    # the value the resumed flow got came from the journal, and the stored result reads the same
    assert client.executions.get(handle.exec_id).result[:9] == out[:9]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=python_values | shapes)
def test_execution_to_dict_is_always_json(client: KitaruClient, value: Any) -> None:
    @kitaru.checkpoint
    def sd_echo(v: Any) -> Any:
        return v

    @kitaru.flow
    def sd_to_dict(v: Any) -> Any:
        return sd_echo(v)

    handle = sd_to_dict.run(value)
    ex = client.executions.get(handle.exec_id)
    data = json.loads(json.dumps(ex.to_dict(), allow_nan=True))
    assert data["exec_id"] == handle.exec_id
    assert data["status"] == "completed"
    assert set(data["inputs"]) == {"v"}
    assert data["checkpoints"][0]["output_preview"] == serde.preview(value)


@given(st.one_of(st.integers(), st.floats(), st.booleans(), st.none()))
def test_numbers_are_stored_and_shown_as_json_and_reprlib_would(value: Any) -> None:
    # numbers skip json's encoder and reprlib (a trivial checkpoint's output): same bytes, same text
    fmt, data = serde.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        assert fmt == serde.PICKLE  # JSON has no NaN or infinity
    else:
        assert (fmt, data) == (serde.JSON, json.dumps(value).encode())
        loaded = serde.loads(fmt, data)
        assert loaded == value and type(loaded) is type(value)
    assert serde.preview(value) == serde._repr.repr(value)
