"""Kitaru's run options and flow methods: ``run(stack=, image=, cache=, retries=)``,
``flow.replay(...)``, and Kitaru's wording for bad retries."""

from __future__ import annotations

import pytest

import kitaru_nb as kitaru


def test_retries_run_a_failed_flow_again_keeping_each_failure(client: kitaru.KitaruClient) -> None:
    runs = {"load": 0, "flaky": 0}

    @kitaru.checkpoint
    def ro_load() -> int:
        runs["load"] += 1
        return 2

    @kitaru.checkpoint
    def ro_flaky(x: int) -> int:
        runs["flaky"] += 1
        if runs["flaky"] < 3:
            raise ConnectionError(f"try {runs['flaky']} failed")
        return x * 10

    @kitaru.flow
    def ro_flow() -> int:
        return ro_flaky(ro_load())

    handle = ro_flow.run(retries=2)
    assert handle.wait() == 20
    assert runs == {"load": 1, "flaky": 3}  # the completed checkpoint was reused, not run again
    ex = client.executions.get(handle.exec_id)
    assert [a["message"] for a in ex.meta["flow_attempts"]] == ["try 1 failed", "try 2 failed"]
    assert len(ex.checkpoints[1].attempts) == 3


def test_retries_used_up_leave_the_execution_failed(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def ro_always() -> int:
        raise ValueError("never works")

    @kitaru.flow
    def ro_hopeless() -> int:
        return ro_always()

    handle = ro_hopeless.run(retries=1)
    with pytest.raises(kitaru.KitaruUserCodeError, match="never works"):
        handle.wait()
    assert len(client.executions.get(handle.exec_id).meta["flow_attempts"]) == 1


@pytest.mark.parametrize(
    ("options", "named"),
    [({"stack": "k8s-prod"}, "stack="), ({"image": {"base": "python:3.11"}}, "image=")],
)
def test_remote_options_are_refused_naming_the_option(
    client: kitaru.KitaruClient, options: dict[str, object], named: str
) -> None:
    @kitaru.flow
    def ro_plain() -> int:
        return 1

    with pytest.raises(kitaru.KitaruFeatureNotAvailableError, match=named) as info:
        ro_plain.run(**options)  # type: ignore[arg-type]
    assert isinstance(info.value, NotImplementedError)
    assert client.executions.list(flow="ro_plain") == []  # nothing was started
    assert ro_plain.run(stack="local", cache=False).wait() == 1


def test_bad_retries_get_kitarus_wording(client: kitaru.KitaruClient) -> None:
    with pytest.raises(kitaru.KitaruUsageError, match=r"^Checkpoint retries must be >= 0\."):

        @kitaru.checkpoint(retries=-1)
        def ro_bad() -> None:
            return None

    @kitaru.flow
    def ro_ok() -> int:
        return 1

    with pytest.raises(kitaru.KitaruUsageError, match=r"^Flow retries must be >= 0\."):
        ro_ok.run(retries=-2)


def test_flow_replay_returns_the_new_executions_handle(client: kitaru.KitaruClient) -> None:
    runs = {"a": 0, "b": 0}

    @kitaru.checkpoint
    def ro_a() -> int:
        runs["a"] += 1
        return 1

    @kitaru.checkpoint
    def ro_b(x: int, k: int) -> int:
        runs["b"] += 1
        return x * k

    @kitaru.flow
    def ro_twice(k: int) -> int:
        return ro_b(ro_a(), k)

    first = ro_twice.run(2)
    assert first.wait() == 2
    again = ro_twice.replay(first.exec_id, from_="ro_b", k=5)
    assert isinstance(again, kitaru.FlowHandle) and again.exec_id != first.exec_id
    assert again.wait() == 5 and runs == {"a": 1, "b": 2}

    @kitaru.flow
    def ro_other() -> int:
        return 0

    with pytest.raises(kitaru.KitaruUsageError, match="is a run of flow 'ro_twice'"):
        ro_other.replay(first.exec_id, from_="ro_b")
