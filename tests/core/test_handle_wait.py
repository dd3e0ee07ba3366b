"""``FlowHandle.wait()`` as in Kitaru's SDK: it returns the flow's result, raises the flow's error,
and on a flow that waits for input raises KitaruStateError saying which wait and how to answer."""

from __future__ import annotations

import pytest

import kitaru_nb as kitaru


def test_wait_returns_the_result(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def hw_double(x: int) -> int:
        return 2 * x

    @kitaru.flow
    def hw_flow(x: int) -> int:
        return hw_double(x) + 1

    assert hw_flow.run(20).wait() == 41


def test_wait_raises_the_flows_error(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def hw_bad() -> int:
        raise ValueError("no data for today")

    @kitaru.flow
    def hw_failing() -> int:
        return hw_bad()

    handle = hw_failing.run()
    with pytest.raises(kitaru.KitaruUserCodeError, match="no data for today") as info:
        handle.wait()
    assert info.value.exec_id == handle.exec_id
    assert isinstance(info.value.__cause__, ValueError)


def test_wait_on_a_flow_waiting_for_input_says_how_to_answer(client: kitaru.KitaruClient) -> None:
    @kitaru.flow
    def hw_review() -> bool:
        return bool(kitaru.wait(schema=bool, name="approve", question="Ship it?"))

    handle = hw_review.run()
    with pytest.raises(kitaru.KitaruStateError, match=r"waits for 'approve'.*executions\.input") as info:
        handle.wait(timeout=5)
    assert not isinstance(info.value, kitaru.KitaruTimeoutError)  # it did not block on a human
    client.executions.input(handle.exec_id, wait="approve", value=True)
    assert handle.wait() is True
