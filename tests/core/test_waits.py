"""Waits: the flow pauses, bad answers are refused with every problem listed, good answers resume it."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import Counter
from enum import Enum
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

import kitaru_nb as kitaru
from kitaru_nb import CallStatus, ExecutionStatus, KitaruClient, KitaruWaitValidationError

from .conftest import Scripts, wait_until


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Approval(BaseModel):
    approved: bool
    reviewer: str = Field(min_length=2)
    budget: int = Field(ge=0, le=1000)


def _journal_rows(db_path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT call_id, status, output FROM calls ORDER BY exec_id, idx").fetchall()


def test_wait_pauses_refuses_bad_answers_and_resumes_on_a_good_one(client: KitaruClient, db_path: Path) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint
    def draft() -> str:
        runs["draft"] += 1
        return "draft v1"

    @kitaru.checkpoint
    def send(text: str, approval: Approval) -> str:
        runs["send"] += 1
        return f"{text} sent by {approval.reviewer} with {approval.budget}"

    @kitaru.flow
    def review() -> str:
        text = draft()
        approval = kitaru.wait(schema=Approval, name="approval", question="Send it?", metadata={"team": "ops"})
        assert isinstance(approval, Approval)
        if not approval.approved:
            return "rejected"
        return send(text, approval)

    handle = review.run()
    assert handle.status is ExecutionStatus.WAITING
    (pending,) = client.executions.pending_waits(handle.exec_id)
    assert (pending.name, pending.question, pending.metadata) == ("approval", "Send it?", {"team": "ops"})
    assert pending.schema["properties"]["budget"]["maximum"] == 1000

    before = _journal_rows(db_path)
    with pytest.raises(KitaruWaitValidationError) as info:
        client.executions.input(
            handle.exec_id, wait="approval", value={"approved": "maybe", "reviewer": "x", "budget": 5000}
        )
    err = info.value
    assert sorted(e["loc"] for e in err.errors) == [("approved",), ("budget",), ("reviewer",)]
    assert all({"loc", "msg", "type"} <= e.keys() for e in err.errors)
    for field in ("approved", "reviewer", "budget"):
        assert field in str(err)
    assert err.exec_id == handle.exec_id and err.wait == "approval"
    assert isinstance(err, ValueError)
    # nothing recorded, still waiting
    assert _journal_rows(db_path) == before
    assert handle.status is ExecutionStatus.WAITING
    assert runs == {"draft": 1}

    with pytest.raises(KitaruWaitValidationError) as missing:
        client.executions.input(handle.exec_id, wait="approval", value={})
    assert sorted(e["loc"] for e in missing.value.errors) == [("approved",), ("budget",), ("reviewer",)]
    assert _journal_rows(db_path) == before

    ex = client.executions.input(
        handle.exec_id, wait="approval", value={"approved": True, "reviewer": "ada", "budget": 300}
    )
    assert ex.status is ExecutionStatus.COMPLETED
    assert handle.get() == "draft v1 sent by ada with 300"
    assert runs == {"draft": 1, "send": 1}
    assert ex.pending_waits == []
    # answering again is refused: the wait is no longer pending
    with pytest.raises(kitaru.KitaruStateError, match="not pending"):
        client.executions.input(
            handle.exec_id, wait="approval", value={"approved": True, "reviewer": "bo", "budget": 1}
        )


def test_scalar_enum_and_literal_waits(client: KitaruClient) -> None:
    @kitaru.flow
    def questionnaire() -> tuple[int, bool, str, Color]:
        n = kitaru.wait(schema=int, name="n")
        ok = kitaru.wait(schema=bool, name="ok")
        size = kitaru.wait(schema=Literal["S", "M", "L"], name="size")
        color = kitaru.wait(schema=Color, name="color")
        return n, ok, size, color

    handle = questionnaire.run()
    exec_id = handle.exec_id
    with pytest.raises(KitaruWaitValidationError):
        client.executions.input(exec_id, wait="n", value="eleven")
    client.executions.input(exec_id, wait="n", value=11)
    with pytest.raises(KitaruWaitValidationError):
        client.executions.input(exec_id, wait="ok", value="perhaps")
    client.executions.input(exec_id, wait="ok", value=True)
    with pytest.raises(KitaruWaitValidationError):
        client.executions.input(exec_id, wait="size", value="XL")
    client.executions.input(exec_id, wait="size", value="M")
    with pytest.raises(KitaruWaitValidationError):
        client.executions.input(exec_id, wait="color", value="green")
    ex = client.executions.input(exec_id, wait="color", value="blue")
    assert ex.status is ExecutionStatus.COMPLETED
    assert handle.get() == (11, True, "M", Color.BLUE)


def test_unknown_wait_name_and_abort(client: KitaruClient, db_path: Path) -> None:
    @kitaru.flow
    def gate() -> bool:
        return bool(kitaru.wait(schema=bool, name="go"))

    handle = gate.run()
    before = _journal_rows(db_path)
    with pytest.raises(kitaru.KitaruUsageError, match=r"no wait named 'og'.*\['go'\]"):
        client.executions.input(handle.exec_id, wait="og", value=True)
    assert _journal_rows(db_path) == before
    assert handle.status is ExecutionStatus.WAITING

    ex = client.executions.abort_wait(handle.exec_id, wait="go")
    assert ex.status is ExecutionStatus.FAILED
    assert ex.failure is not None and "'go'" in ex.failure.message and "aborted" in ex.failure.message
    with pytest.raises(kitaru.KitaruExecutionError, match="'go' was aborted"):
        handle.get()


def test_retry_after_abort_asks_the_wait_again(client: KitaruClient) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint
    def ab_prepare() -> int:
        runs["prepare"] += 1
        return 10

    @kitaru.flow
    def ab_flow() -> int:
        base = ab_prepare()
        return base + int(kitaru.wait(schema=int, name="extra"))

    handle = ab_flow.run()
    client.executions.abort_wait(handle.exec_id, wait="extra")
    again = client.executions.retry(handle.exec_id)
    assert again.status is ExecutionStatus.WAITING
    assert [w.name for w in again.pending_waits] == ["extra"]
    assert again.failure is None
    done = client.executions.input(handle.exec_id, wait="extra", value=5)
    assert done.status is ExecutionStatus.COMPLETED
    assert handle.get() == 15
    assert runs == {"prepare": 1}


def test_default_wait_names_follow_the_position(client: KitaruClient) -> None:
    @kitaru.checkpoint
    def one() -> int:
        return 1

    @kitaru.flow
    def unnamed() -> int:
        a = one()
        b = kitaru.wait(schema=int)
        return int(a + b)

    handle = unnamed.run()
    (pending,) = client.executions.pending_waits(handle.exec_id)
    assert pending.name == "wait_1" and pending.index == 1
    client.executions.input(handle.exec_id, wait="wait_1", value=41)
    assert handle.get() == 42
    ex = client.executions.get(handle.exec_id)
    assert [c.status for c in ex.checkpoints] == [CallStatus.COMPLETED]


FLOW_WITH_WAIT = """
import json, sys
import kitaru_nb as kitaru
from pydantic import BaseModel, Field

class Order(BaseModel):
    quantity: int = Field(gt=0)
    sku: str

runs = []

@kitaru.checkpoint
def price(order: Order) -> float:
    runs.append("price")
    return order.quantity * 2.5

@kitaru.flow
def xproc_order_flow(customer: str) -> dict:
    order = kitaru.wait(schema=Order, name="order", question=f"What does {customer} want?")
    return {"customer": customer, "sku": order.sku, "total": price(order)}

kitaru.configure(db=sys.argv[1])
handle = xproc_order_flow.run("acme")
print(json.dumps({"exec_id": handle.exec_id, "status": handle.status.value}), flush=True)
result = handle.get(timeout=60)
print(json.dumps({"result": result, "status": handle.status.value, "runs": runs}), flush=True)
"""


def test_answer_from_another_process_while_get_blocks(db_path: Path, scripts: Scripts) -> None:
    proc = scripts.start(FLOW_WITH_WAIT, str(db_path))
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["status"] == "waiting"
        exec_id = first["exec_id"]
        # this process does not know the flow: input only records the answer
        other = KitaruClient(db=db_path)
        with pytest.raises(KitaruWaitValidationError) as info:
            other.executions.input(exec_id, wait="order", value={"quantity": 0})
        assert sorted(e["loc"] for e in info.value.errors) == [("quantity",), ("sku",)]
        assert other.executions.get(exec_id).status is ExecutionStatus.WAITING

        ex = other.executions.input(exec_id, wait="order", value={"quantity": 4, "sku": "X-1"})
        assert ex.pending_waits == []  # recorded here; the blocked process resumes it
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        last = json.loads(out.strip().splitlines()[-1])
        assert last == {
            "result": {"customer": "acme", "sku": "X-1", "total": 10.0},
            "status": "completed",
            "runs": ["price"],
        }
        done = wait_until(lambda: other.executions.get(exec_id), what="execution")
        assert done.status is ExecutionStatus.COMPLETED
        assert done.result == last["result"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_get_times_out_when_nobody_answers(client: KitaruClient) -> None:
    @kitaru.flow
    def lonely() -> int:
        return int(kitaru.wait(schema=int, name="never"))

    handle = lonely.run()
    with pytest.raises(kitaru.KitaruTimeoutError) as info:
        handle.get(timeout=0.2)
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, kitaru.KitaruStateError)
    assert handle.status is ExecutionStatus.WAITING


EVEN_FLOW = """
import json, sys
import kitaru_nb as kitaru
from pydantic import BaseModel, field_validator

class Even(BaseModel):
    n: int

    @field_validator("n")
    @classmethod
    def even(cls, v):
        if v % 2:
            raise ValueError("must be even")
        return v

@kitaru.flow
def even_only_in_script_flow():
    return kitaru.wait(schema=Even, name="e").n * 10

kitaru.configure(db=sys.argv[1])
client = kitaru.KitaruClient()
mode = sys.argv[2]
if mode == "run":
    ex = client.executions.get(even_only_in_script_flow.run().exec_id)
else:
    ex = getattr(client.executions, mode)(sys.argv[3])
print(json.dumps({"exec_id": ex.exec_id, "status": ex.status.value, "failure": ex.failure and ex.failure.message,
                  "pending": [w.name for w in ex.pending_waits], "result": ex.result if ex.status.value == "completed" else None}))
"""


def test_an_answer_the_stored_schema_cannot_judge_fails_the_flow_and_retry_asks_again(
    db_path: Path, scripts: Scripts
) -> None:
    started = scripts.run(EVEN_FLOW, str(db_path), "run")
    exec_id = started["exec_id"]
    assert started["pending"] == ["e"]
    # this process does not know the flow: the JSON Schema cannot see the custom validator
    here = KitaruClient(db=db_path)
    here.executions.input(exec_id, wait="e", value={"n": 3})

    resumed = scripts.run(EVEN_FLOW, str(db_path), "resume", exec_id)
    assert resumed["status"] == "failed"
    assert "wait 'e' does not fit the flow's schema" in resumed["failure"]
    assert "must be even" in resumed["failure"] and "Retry" in resumed["failure"]
    with pytest.raises(kitaru.KitaruUserCodeError, match="must be even"):
        here.executions.get(exec_id).result

    retried = scripts.run(EVEN_FLOW, str(db_path), "retry", exec_id)
    assert (retried["status"], retried["pending"], retried["failure"]) == ("waiting", ["e"], None)
    here.executions.input(exec_id, wait="e", value={"n": 4})
    done = scripts.run(EVEN_FLOW, str(db_path), "resume", exec_id)
    assert (done["status"], done["result"]) == ("completed", 40)


@dataclasses.dataclass
class Shipment:
    address: str
    express: bool = False


class Rating(TypedDict):
    stars: int
    comment: str


def test_dataclass_and_typeddict_schemas(client: KitaruClient) -> None:
    @kitaru.flow
    def dc_flow() -> tuple[Shipment, Rating]:
        shipment = kitaru.wait(schema=Shipment, name="shipment")
        rating = kitaru.wait(schema=Rating, name="rating")
        return shipment, rating

    handle = dc_flow.run()
    with pytest.raises(KitaruWaitValidationError) as info:
        client.executions.input(handle.exec_id, wait="shipment", value={"express": "very"})
    assert sorted(e["loc"] for e in info.value.errors) == [("address",), ("express",)]
    client.executions.input(handle.exec_id, wait="shipment", value={"address": "1 Main St", "express": True})
    with pytest.raises(KitaruWaitValidationError):
        client.executions.input(handle.exec_id, wait="rating", value={"stars": "many", "comment": "ok"})
    client.executions.input(handle.exec_id, wait="rating", value={"stars": 5, "comment": "fast"})
    shipment, rating = handle.get()
    assert shipment == Shipment(address="1 Main St", express=True)
    assert rating == {"stars": 5, "comment": "fast"}
