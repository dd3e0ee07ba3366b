"""wait(timeout=...): a blocking get() outside a kernel gives up after the wait's own timeout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import kitaru_nb as kitaru


def test_blocking_get_stops_at_the_wait_timeout_and_the_execution_stays_answerable(db_path: Path) -> None:
    @kitaru.flow
    def asks() -> int:
        return int(kitaru.wait(schema=int, name="n", timeout=0.3)) * 2

    handle = asks.run()
    started = time.monotonic()
    with pytest.raises(kitaru.KitaruTimeoutError) as err:
        handle.get()
    assert time.monotonic() - started < 5
    assert "'n'" in str(err.value) and "timeout of 0.3 s" in str(err.value)
    assert isinstance(err.value, TimeoutError)
    assert handle.status is kitaru.ExecutionStatus.WAITING
    kitaru.KitaruClient().executions.input(handle.exec_id, wait="n", value=21)
    assert handle.get() == 42


def test_an_explicit_get_timeout_wins_over_the_wait_timeout(db_path: Path) -> None:
    @kitaru.flow
    def asks_long() -> int:
        return int(kitaru.wait(schema=int, name="n", timeout=60))

    handle = asks_long.run()
    started = time.monotonic()
    with pytest.raises(kitaru.KitaruTimeoutError, match=r"still waiting after 0\.2 s"):
        handle.get(timeout=0.2)
    assert time.monotonic() - started < 5
