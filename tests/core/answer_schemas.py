"""Wait schemas used by the answer-judging tests, and a script entry point that leaves waits pending.

``python -m tests.core.answer_schemas DB KEY N`` runs N executions of a flow that waits on
``SCHEMAS[KEY]`` against the journal DB and prints their exec ids as JSON: the waits are then
pending in a journal whose flows this test process never ran (no live pydantic adapter here).
"""

from __future__ import annotations

import json
import sys
from enum import Enum, IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Level(IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    city: str = Field(min_length=1, max_length=12)
    code: Annotated[str, Field(pattern=r"^[A-Z]{3}-\d{2}$")]


class Order(BaseModel):
    approved: bool
    quantity: int = Field(ge=1, le=50)
    ratio: float = Field(default=0.5, ge=0, le=1)
    size: Literal["S", "M", "L"] = "M"
    color: Color | None = None
    level: Level = Level.LOW
    tags: list[str] = Field(default_factory=list, max_length=3)
    ship_to: Address | None = None
    note: str | None = None


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(ge=0, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool
    # keys that cannot be Python field names as they are
    class_: str | None = Field(default=None, alias="class")
    model_config_: int = Field(default=0, alias="model_config")


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]


SCHEMAS: dict[str, Any] = {
    "code": Annotated[str, Field(pattern=r"^[A-Z]{3}-\d{2}$")],
    "bounded_int": Annotated[int, Field(ge=-5, le=100)],
    "ratio": Annotated[float, Field(ge=0, le=1)],
    "bool": bool,
    "size": Literal["S", "M", "L"],
    "color": Color,
    "level": Level,
    "int_list": Annotated[list[int], Field(max_length=4)],
    "order": Order,
    "pet": Pet,
}


def _main(db: str, key: str, n: int) -> None:
    import kitaru_nb as kitaru

    kitaru.configure(db=db)
    schema = SCHEMAS[key]

    @kitaru.flow(name=f"ask_{key}")
    def ask() -> Any:
        return kitaru.wait(schema=schema, name="answer")

    print(json.dumps([ask.run().exec_id for _ in range(n)]))


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
