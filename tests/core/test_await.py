"""``await handle`` outside a kernel: waits for the terminal state without blocking the event loop."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb import ExecutionStatus, KitaruClient, KitaruUserCodeError

from .conftest import Scripts


def test_await_a_completed_handle_returns_the_result(client: KitaruClient) -> None:
    @kitaru.flow
    def aw_done(x: int) -> int:
        return x + 1

    handle = aw_done.run(1)

    async def main() -> tuple[int, int]:
        return await handle, await handle.result()

    assert asyncio.run(main()) == (2, 2)


def test_await_a_failed_handle_raises(client: KitaruClient) -> None:
    @kitaru.flow
    def aw_fails() -> None:
        raise KeyError("missing")

    handle = aw_fails.run()

    async def main() -> None:
        await handle

    with pytest.raises(KitaruUserCodeError) as info:
        asyncio.run(main())
    assert isinstance(info.value.__cause__, KeyError)
    assert info.value.exec_id == handle.exec_id


def test_await_a_waiting_handle_while_the_loop_answers_it(client: KitaruClient) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint
    def aw_after(n: int) -> int:
        runs["after"] += 1
        return n * 3

    @kitaru.flow
    def aw_wait() -> int:
        return aw_after(kitaru.wait(schema=int, name="n"))

    handle = aw_wait.run()
    assert handle.status is ExecutionStatus.WAITING
    ticks = Counter[str]()

    async def ticker() -> None:
        while True:
            ticks["tick"] += 1
            await asyncio.sleep(0.005)

    async def answer() -> None:
        await asyncio.sleep(0.05)
        assert handle.status is ExecutionStatus.WAITING
        client.executions.input(handle.exec_id, wait="n", value=5)

    async def main() -> int:
        tick = asyncio.create_task(ticker())
        asyncio.create_task(answer())  # noqa: RUF006
        try:
            return await handle
        finally:
            tick.cancel()

    assert asyncio.run(main()) == 15
    assert runs == {"after": 1}
    assert ticks["tick"] >= 3  # the loop kept running while the handle was awaited


def test_await_resumes_when_another_process_answers(client: KitaruClient, db_path: Path, scripts: Scripts) -> None:
    @kitaru.flow
    def aw_remote() -> str:
        return "got " + str(kitaru.wait(schema=str, name="who"))

    handle = aw_remote.run()
    answer = """
    import json, sys
    from kitaru_nb import KitaruClient
    ex = KitaruClient(db=sys.argv[1]).executions.input(sys.argv[2], wait="who", value="bob")
    print(json.dumps(ex.exec_id))
    """

    async def main() -> str:
        waiter = asyncio.create_task(handle.result(poll=0.01))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        # the other process does not know the flow: it records the answer, this loop resumes it
        await asyncio.to_thread(scripts.run, answer, str(db_path), handle.exec_id)
        return await asyncio.wait_for(waiter, timeout=30)

    assert asyncio.run(main()) == "got bob"
    assert handle.status is ExecutionStatus.COMPLETED
