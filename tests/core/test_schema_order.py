"""The stored wait schema keeps the fields in declaration order (forms in other processes show them so)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

import kitaru_nb as kitaru


class Order(BaseModel):
    zebra: str
    apple: int
    mango: bool = False


def test_stored_schema_lists_fields_in_declaration_order(db_path: Path) -> None:
    @kitaru.flow
    def asks() -> Order:
        return kitaru.wait(schema=Order, name="order")

    handle = asks.run()
    (pending,) = kitaru.KitaruClient().executions.pending_waits(handle.exec_id)
    assert list(pending.schema["properties"]) == ["zebra", "apple", "mango"]
    assert pending.schema["required"] == ["zebra", "apple"]
