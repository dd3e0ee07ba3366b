"""Small real flows that put executions of every kind into the journal the server reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

import kitaru_nb as kitaru

XSS = "<img src=x onerror=alert(1)>"


class Approval(BaseModel):
    approved: bool
    reviewer: str = Field(min_length=2, description="who signs off")


class Tripwire:
    """Unpickling it creates ``marker``: proof that a stored pickle was loaded."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (Path(self.marker),))


def make_all(tmp: Path) -> dict[str, str]:
    """One completed (with a retried checkpoint), one failed, one waiting execution; their ids."""
    calls = {"load": 0}

    @kitaru.checkpoint(retries=1)
    def load(n: int) -> list[int]:
        calls["load"] += 1
        if calls["load"] == 1:
            raise ConnectionError("flaky source, first attempt")
        return list(range(n))

    @kitaru.checkpoint
    def total(xs: list[int]) -> int:
        return sum(xs)

    @kitaru.flow
    def summed(n: int) -> int:
        return total(load(n))

    @kitaru.checkpoint
    def explode() -> None:
        raise ValueError(f"bad row {XSS}")

    @kitaru.flow
    def broken() -> None:
        explode()

    @kitaru.flow
    def review(n: int) -> int:
        answer = kitaru.wait(schema=Approval, name="approve", question=f"Publish total {n}?")
        return n if answer.approved else -1

    done = summed.run(4)
    failed = broken.run()
    waiting = review.run(7)
    return {"completed": done.exec_id, "failed": failed.exec_id, "waiting": waiting.exec_id}


def make_pickled(marker: Path) -> str:
    """A completed execution whose checkpoint output and result are stored as pickle."""

    @kitaru.checkpoint
    def make() -> Tripwire:
        return Tripwire(str(marker))

    @kitaru.flow
    def pickled() -> Tripwire:
        return make()

    return pickled.run().exec_id
