"""Property: an answer given where the flow never ran gets pydantic's verdict, with pydantic's words.

The waits are left pending by another process (``tests.core.answer_schemas``), so this process
has no live adapter for them: ``client.executions.input`` and the REST route's service (the
function the ``POST .../input`` handler calls with the raw body) judge with the adapter rebuilt
from the stored JSON Schema. Over 10,000 generated answers across ten schemas (a pattern, a
bounded int, a bounded float, a bool, a Literal, an Enum, an IntEnum, a list, a nested model with
optional fields, a tagged union of models with keys that are not Python names), both must agree with ``TypeAdapter(schema).validate_python`` on every input:
the same acceptance, the same errors (location, message, type); a refused answer leaves the
journal as it was, and a recorded answer is one the flow's own adapter turns into the same value.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from kitaru_nb import KitaruClient, KitaruWaitValidationError, serde
from kitaru_nb.server.service import ApiError, JournalService
from kitaru_nb.wait import _adapters as live_adapters
from tests.core.answer_schemas import SCHEMAS
from tests.core.conftest import REPO

EXAMPLES_PER_SCHEMA = 1050  # x 10 schemas = 10,500 generated answers
POOL_BATCH = 600

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
integral_floats = st.integers(min_value=-200, max_value=200).map(float)
number_strings = st.sampled_from(["7", " 7 ", "7.0", "7.5", "1e2", "-0", "0x10", "1_000", "", "nan", "inf", "0.5"])
bool_words = st.sampled_from(
    ["yes", "no", "t", "f", "y", "n", "on", "off", "true", "False", "TRUE", "1", "0", "maybe", " yes", "2"]
)
codes = st.from_regex(r"\A[A-Z]{3}-\d{2}\Z") | st.sampled_from(
    ["ABC-12\n", "ABC-12", "abc-12", "ABC-123", " ABC-12", "ABC-12 ", "ABC12", "ÄBC-12", "ABC-١٢"]
)

SPECIFIC: dict[str, st.SearchStrategy[Any]] = {
    "code": codes | codes.map(lambda c: c + "\n") | st.text(max_size=8),
    "bounded_int": st.integers(-10, 110) | integral_floats | st.floats(-10, 110) | number_strings | st.booleans(),
    "ratio": st.floats(-0.5, 1.5) | st.sampled_from([math.nan, math.inf, -math.inf, 0, 1, 2]) | number_strings,
    "bool": bool_words | st.sampled_from([0, 1, 2, -1, 0.0, 1.0, 0.5, True, False]),
    "size": st.sampled_from(["S", "M", "L", "s", "XL", "", " S", 1, 0, None, True]),
    "color": st.sampled_from(["red", "blue", "RED", "green", "", 0, 1, None, True]),
    "level": st.sampled_from([1, 2, 3, 0, "1", "2", "3", "01", " 1", 1.0, 2.0, 1.5, True, False, "LOW", "1.0"]),
    "int_list": st.lists(st.integers(-5, 5) | integral_floats | number_strings | st.booleans(), max_size=6),
    "order": st.fixed_dictionaries(
        {"approved": st.booleans() | bool_words, "quantity": st.integers(-2, 55) | number_strings},
        optional={
            "ratio": st.floats(-0.5, 1.5) | st.sampled_from([math.nan, "0.5"]),
            "size": st.sampled_from(["S", "M", "L", "XL", 1]),
            "color": st.sampled_from(["red", "blue", "green", None, 1]),
            "level": st.sampled_from([1, 2, 3, "1", "2", 1.0, 1.5]),
            "tags": st.lists(st.text(max_size=3) | st.integers(0, 3), max_size=5),
            "ship_to": st.none()
            | st.fixed_dictionaries(
                {},
                optional={"city": st.text(max_size=14) | st.integers(0, 3), "code": codes},
            ),
            "note": st.none() | st.text(max_size=4) | st.integers(0, 3),
            "extra": json_scalars,
        },
    ),
    "pet": st.fixed_dictionaries(
        {"kind": st.sampled_from(["cat", "dog", "cow", "", 1, None])},
        optional={
            "lives": st.integers(-2, 12) | number_strings,
            "good": st.booleans() | bool_words,
            "class": st.text(max_size=3) | st.integers(0, 2),
            "model_config": st.integers(-1, 2) | number_strings,
        },
    ),
}


class Pool:
    """Pending waits made by another process, handed out one execution per recorded answer."""

    def __init__(self, db: Path):
        self.db = db
        self.free: dict[str, list[str]] = {key: [] for key in SCHEMAS}

    def take(self, key: str) -> str:
        if not self.free[key]:
            out = subprocess.run(
                [sys.executable, "-m", "tests.core.answer_schemas", str(self.db), key, str(POOL_BATCH)],
                capture_output=True,
                text=True,
                cwd=REPO,
                timeout=120,
                check=True,
            )
            self.free[key] = json.loads(out.stdout)
        return self.free[key][-1]

    def used(self, key: str) -> None:
        self.free[key].pop()


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pool, KitaruClient, JournalService]]:
    db = tmp_path_factory.mktemp("judged") / "kitaru.db"
    pool = Pool(db)
    for key in SCHEMAS:
        pool.take(key)
    client = KitaruClient(db=db, unpickle=False)
    stored = {c.wait_schema for key in SCHEMAS for c in client.journal.load_calls(pool.take(key))}
    # the flows ran elsewhere: no live adapter here, the stored schema is what judges
    assert not stored & set(live_adapters)
    yield pool, client, JournalService(db)


def _pydantic(schema: Any, value: Any) -> tuple[bool, Any]:
    try:
        return True, TypeAdapter(schema).validate_python(value)
    except ValidationError as exc:
        return False, [(tuple(e["loc"]), e["msg"], e["type"]) for e in exc.errors(include_url=False)]


def _errors(errors: list[dict[str, Any]]) -> list[tuple[tuple[Any, ...], str, str]]:
    return [(tuple(e["loc"]), e["msg"], e["type"]) for e in errors]


def _snapshot(client: KitaruClient, exec_id: str) -> Any:
    j = client.journal
    return j.get_execution(exec_id), j.load_calls(exec_id), j.count_executions()


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


@pytest.mark.parametrize("key", list(SCHEMAS))
@settings(
    max_examples=EXAMPLES_PER_SCHEMA,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_client_and_rest_route_judge_like_pydantic(
    key: str, data: st.DataObject, judged: tuple[Pool, KitaruClient, JournalService]
) -> None:
    pool, client, service = judged
    schema = SCHEMAS[key]
    value = data.draw(SPECIFIC[key] | json_values, label="value")
    ok, expected = _pydantic(schema, value)
    body = json.dumps({"wait": "answer", "value": value}).encode()
    event("accepted" if ok else "refused")

    for route in ("client", "rest"):
        exec_id = pool.take(key)
        before = _snapshot(client, exec_id)
        try:
            if route == "client":
                client.executions.input(exec_id, wait="answer", value=value, resume=False)
            else:
                service.answer(exec_id, body)
        except KitaruWaitValidationError as exc:
            assert not ok, f"{route}: {value!r} refused ({exc.errors}) but pydantic accepts it"
            assert _errors(exc.errors) == expected
            assert _snapshot(client, exec_id) == before, "a refused answer changed the journal"
            continue
        except ApiError as err:
            assert not ok, f"{route}: {value!r} refused ({err.message}) but pydantic accepts it"
            assert err.status == 400
            assert err.errors is not None
            assert _errors(err.errors) == expected  # locations of str keys and int indexes, as JSON carries them
            assert _snapshot(client, exec_id) == before, "a refused answer changed the journal"
            continue
        assert ok, f"{route}: {value!r} accepted but pydantic refuses it: {expected}"
        pool.used(key)
        (call,) = [c for c in client.journal.load_calls(exec_id) if c.name == "answer"]
        assert call.status == "completed" and call.output is not None
        stored = serde.loads(call.output.format, call.output.data)
        # what the flow's own adapter makes of the recorded answer is what it makes of the input
        assert _same_value(TypeAdapter(schema).validate_python(stored), expected)
