"""Over HTTP, the server judges answers as pydantic does, and refuses bodies it cannot take with a 400.

The waits are left pending by another process, as when a notebook kernel ran the flow: the server
has only the stored JSON Schema, and must still give pydantic's verdict in pydantic's words.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

import kitaru_nb as kitaru
from tests.core.answer_schemas import SCHEMAS

from .test_decisions import paused_execution

REPO = Path(__file__).resolve().parents[2]


def pending(journal: Path, key: str, n: int) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.core.answer_schemas", str(journal), key, str(n)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    ids: list[str] = json.loads(out.stdout)
    return ids


# (schema, answer, pydantic's verdict) for the answers that used to be judged otherwise
CASES: list[tuple[str, Any, bool]] = [
    ("code", "ABC-12\n", False),  # Python's `$` matches before a final newline; pydantic's regex does not
    ("code", "ABC-12", True),
    ("ratio", math.nan, False),  # NaN is not >= 0
    ("code", "a\ud800", False),  # a lone surrogate is not a unicode string
    ("bounded_int", "7", True),
    ("bounded_int", 1.0, True),
    ("ratio", "0.5", True),
    ("bool", "yes", True),
    ("bool", "t", True),
    ("bool", 0, True),
    ("bool", 1, True),
    ("level", "1", True),  # an IntEnum takes "1" in lax mode
    ("order", {"approved": "yes", "quantity": "3", "ship_to": {"city": "Oslo", "code": "NOR-01\n"}}, False),
    ("pet", {"kind": "cow"}, False),  # a tagged union names the tag it expected
    ("pet", {"kind": "dog", "good": "yes", "class": "terrier"}, True),
]


@pytest.mark.parametrize(("key", "value", "accepted"), CASES)
async def test_the_server_gives_pydantics_verdict_in_pydantics_words(journal: Path, api, key, value, accepted) -> None:
    (exec_id,) = pending(journal, key, 1)
    try:
        TypeAdapter(SCHEMAS[key]).validate_python(value)
        expected: list[dict[str, Any]] = []
    except ValidationError as exc:
        expected = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors(include_url=False)]
    assert (not expected) == accepted  # the case list says what pydantic says

    code, data = await api("POST", "executions", exec_id, "input", body={"wait": "answer", "value": value})
    if accepted:
        assert code == 200, data
        assert data["status"] == "waiting" and data["pending_waits"] == []
        return
    assert code == 400, data
    assert data["errors"] == expected
    assert "Nothing was recorded" in data["message"]
    _, detail = await api("GET", "executions", exec_id)
    assert [w["name"] for w in detail["pending_waits"]] == ["answer"]


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize("route", ["input", "decision"])
async def test_a_body_nested_200000_levels_deep_gets_400_and_records_nothing(journal: Path, api, route) -> None:
    exec_id = paused_execution({"broken": True}) if route == "decision" else pending(journal, "int_list", 1)[0]
    _, before = await api("GET", "executions", exec_id)
    if route == "input":
        raw = b'{"wait":"w","value":' + _deep(200_000) + b"}"
    else:
        raw = b'{"checkpoint":' + _deep(200_000) + b',"decision":"retry"}'

    code, data = await api("POST", "executions", exec_id, route, raw=raw)
    assert code == 400, data
    assert "levels deep" in data["message"]
    _, after = await api("GET", "executions", exec_id)
    assert after == before
    assert kitaru.KitaruClient(db=journal).executions.get(exec_id).status == "waiting"


async def test_an_answer_nested_63_levels_is_still_judged(journal: Path, api) -> None:
    (exec_id,) = pending(journal, "int_list", 1)
    raw = b'{"wait":"answer","value":' + _deep(63) + b"}"
    code, data = await api("POST", "executions", exec_id, "input", raw=raw)
    assert code == 400
    assert data["errors"][0]["msg"] == "Input should be a valid integer"
