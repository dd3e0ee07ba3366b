"""``run(cache=True)`` across executions, ``@checkpoint(cache=)``, and Kitaru's call options ``id=`` and
``after=`` on plain checkpoint calls."""

from __future__ import annotations

import threading
import time

import pytest

import kitaru_nb as kitaru
from kitaru_nb.types import CallStatus


def test_cache_serves_a_call_of_the_same_code_and_inputs_from_an_earlier_execution(
    client: kitaru.KitaruClient,
) -> None:
    runs: list[str] = []

    @kitaru.checkpoint
    def ca_fetch(url: str, *, depth: int = 1) -> str:
        runs.append(url)
        kitaru.save("raw", url.upper(), type="response")
        return f"page {url} depth {depth}"

    @kitaru.flow
    def ca_crawl(urls: list[str]) -> list[str]:
        return [ca_fetch(u, depth=2) for u in urls]

    first = ca_crawl.run(["a", "b"], cache=True)
    assert first.wait() == ["page a depth 2", "page b depth 2"]
    second = ca_crawl.run(["b", "c"], cache=True)
    assert second.wait() == ["page b depth 2", "page c depth 2"]
    assert runs == ["a", "b", "c"]  # "b" was served from the first execution
    ex = client.executions.get(second.exec_id)
    served, ran = ex.checkpoints
    assert served.status == CallStatus.REUSED and served.cached_from == first.exec_id
    assert served.attempts == [] and ran.cached_from is None and ran.status == CallStatus.COMPLETED
    # the cached call's saved artifacts come along with its output
    assert [a.load() for a in served.artifacts] == ["page b depth 2", "B"]
    assert ex.to_dict()["checkpoints"][0]["cached_from"] == first.exec_id


def test_without_cache_every_call_runs_and_code_changes_miss_the_cache(client: kitaru.KitaruClient) -> None:
    runs: list[int] = []

    @kitaru.checkpoint
    def ca_square(x: int) -> int:
        runs.append(x)
        return x * x

    @kitaru.flow
    def ca_squares() -> int:
        return ca_square(3)

    assert ca_squares.run().wait() == 9
    assert ca_squares.run(cache=True).wait() == 9  # no cached call yet: the default run recorded none
    assert ca_squares.run(cache=True).wait() == 9
    assert ca_squares.run().wait() == 9  # cache off (the default): it runs
    assert runs == [3, 3, 3]

    @kitaru.checkpoint  # a new definition with other code: its calls are not served from the old one's
    def ca_square(x: int) -> int:  # noqa: F811
        runs.append(-x)
        return x * x * 1

    assert ca_squares.run(cache=True).wait() == 9
    assert runs == [3, 3, 3, -3]


def test_checkpoint_cache_option_overrides_the_run(client: kitaru.KitaruClient) -> None:
    runs = {"always": 0, "never": 0}

    @kitaru.checkpoint(cache=True)
    def ca_always() -> int:
        runs["always"] += 1
        return 1

    @kitaru.checkpoint(cache=False)
    def ca_never() -> int:
        runs["never"] += 1
        return 2

    @kitaru.flow
    def ca_mixed() -> int:
        return ca_always() + ca_never()

    for _ in range(3):
        assert ca_mixed.run(cache=True).wait() == 3
    assert ca_mixed.run().wait() == 3  # the checkpoint's cache=True holds without run(cache=...)
    assert runs == {"always": 1, "never": 4}


def test_a_resumed_cached_execution_keeps_caching(client: kitaru.KitaruClient) -> None:
    runs: list[str] = []

    @kitaru.checkpoint
    def ca_step(name: str) -> str:
        runs.append(name)
        return name

    @kitaru.flow
    def ca_gate() -> str:
        ca_step("before")
        ok = kitaru.wait(schema=bool, name="go")
        return ca_step("after" if ok else "no")

    first = ca_gate.run(cache=True)  # runs until the wait
    assert first.status.value == "waiting"
    client.executions.input(first.exec_id, wait="go", value=True)
    assert first.wait() == "after"
    second = ca_gate.run(cache=True)
    client.executions.input(second.exec_id, wait="go", value=True)  # resumes: "after" comes from the cache
    assert second.wait() == "after"
    assert runs == ["before", "after"]


def test_bad_cache_values_are_refused(client: kitaru.KitaruClient) -> None:
    with pytest.raises(kitaru.KitaruUsageError, match=r"cache must be True, False or None, got 'yes'"):
        kitaru.checkpoint(cache="yes")  # type: ignore[call-overload]

    @kitaru.flow
    def ca_any() -> int:
        return 1

    with pytest.raises(kitaru.KitaruUsageError, match=r"run\(cache=\.\.\.\) must be True, False or None"):
        ca_any.run(cache=1)  # type: ignore[arg-type]
    assert client.executions.list(flow="ca_any") == []


def test_id_names_a_plain_call_durably(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def ca_fetch(n: int) -> int:
        return n * 2

    @kitaru.flow
    def ca_named() -> int:
        return ca_fetch(1, id="fetch_first") + ca_fetch(2)

    handle = ca_named.run()
    assert handle.wait() == 6
    assert [c.name for c in client.executions.get(handle.exec_id).checkpoints] == ["fetch_first", "ca_fetch"]
    # a replay finds the call by its id
    assert ca_named.replay(handle.exec_id, from_="ca_fetch", overrides={"checkpoint.fetch_first": 10}).wait() == 14

    @kitaru.flow
    def ca_bad_id() -> int:
        return ca_fetch(1, id="")

    with pytest.raises(kitaru.KitaruUserCodeError, match=r"ca_fetch\(id=\.\.\.\) must be a non-empty str"):
        ca_bad_id.run().wait()


def test_after_waits_for_submitted_calls_and_futures_stand_for_their_outputs(client: kitaru.KitaruClient) -> None:
    order: list[str] = []
    lock = threading.Lock()

    @kitaru.checkpoint
    def ca_slow(tag: str) -> str:
        time.sleep(0.15)
        with lock:
            order.append(tag)
        return tag

    @kitaru.checkpoint
    def ca_join(first: str, *rest: str) -> str:
        with lock:
            order.append("join")
        return "+".join((first, *rest))

    @kitaru.flow
    def ca_fan_in() -> str:
        a = ca_slow.submit("a")
        b = ca_slow.submit("b")
        return ca_join(a, "x", after=[b])  # a future as an argument, another one in after=

    handle = ca_fan_in.run()
    assert handle.wait() == "a+x"
    assert order[-1] == "join" and sorted(order[:2]) == ["a", "b"]
    assert [c.name for c in client.executions.get(handle.exec_id).checkpoints] == ["ca_slow", "ca_slow", "ca_join"]


def test_plain_calls_outside_a_flow_or_nested_use_kitarus_wording(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def ca_inner() -> int:
        return 1

    with pytest.raises(kitaru.KitaruContextError, match=r"^Checkpoints can only run inside a @flow\. "):
        ca_inner()
