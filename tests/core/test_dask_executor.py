"""Checkpoint bodies on a real Dask cluster (a LocalCluster with two worker processes).

The flow body and every journal write stay in this process; workers run bodies and send back
outputs or exceptions, and each attempt records the worker that ran it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb import KitaruClient

pytestmark = pytest.mark.dask


def workers(client: Any) -> set[str]:
    return set(client.scheduler_info()["workers"])


def test_map_submit_and_product_run_on_workers_and_every_attempt_names_its_worker(
    client: KitaruClient, dask_client: Any
) -> None:
    @kitaru.checkpoint
    def where(x: int) -> tuple[int, int]:
        return x * x, os.getpid()

    @kitaru.checkpoint
    def add(a: int, b: int) -> int:
        return a + b

    @kitaru.flow
    def fan_out(n: int) -> dict[str, Any]:
        mapped = where.map(range(n)).result()
        one = add.submit(mapped[1][0], 10).result()
        grid = add.product([1, 2], [10, 20]).result()
        plain = add(1, 1)  # plain calls stay in this process unless asked for
        return {
            "squares": [s for s, _ in mapped],
            "pids": sorted({p for _, p in mapped}),
            "one": one,
            "grid": grid,
            "plain": plain,
        }

    handle = fan_out.run(8)
    out = handle.get()
    assert out["squares"] == [x * x for x in range(8)]
    assert os.getpid() not in out["pids"]
    assert out["one"] == 11 and out["grid"] == [11, 21, 12, 22] and out["plain"] == 2
    ex = client.executions.get(handle.exec_id)
    assert [c.index for c in ex.checkpoints] == list(range(14))
    remote = [a.worker for c in ex.checkpoints[:13] for a in c.attempts]
    assert all(w in workers(dask_client) for w in remote), remote
    assert ex.checkpoints[13].attempts[0].worker is None  # the plain call ran here
    # resume / retry semantics are the journal's: a second run of the same execution reuses everything
    assert client.executions.get(handle.exec_id).to_dict()["checkpoints"][0]["attempts"][0]["worker"] in workers(
        dask_client
    )


def test_an_error_comes_back_as_itself_and_the_retry_policy_applies(
    client: KitaruClient, dask_client: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "tries"

    class BudgetError(Exception):
        pass

    @kitaru.checkpoint(retries=1)
    def flaky(path: str) -> str:
        with open(path, "a") as fh:
            fh.write("x")
        if os.path.getsize(path) == 1:
            raise BudgetError("over budget on the first try")
        return "ok"

    @kitaru.checkpoint
    def always(x: int) -> int:
        raise ValueError(f"cannot take {x}")

    @kitaru.flow
    def errors() -> str:
        got = flaky.submit(str(marker)).result()
        try:
            always.submit(3).result()
        except ValueError as exc:
            return f"{got}, caught {exc}"
        return "not raised"

    handle = errors.run()
    assert handle.get() == "ok, caught cannot take 3"
    first, second = client.executions.get(handle.exec_id).checkpoints
    assert [a.status.value for a in first.attempts] == ["failed", "completed"]
    failure = first.attempts[0].failure
    assert failure is not None and failure.origin.value == "user_code"
    assert failure.exception_type.endswith("BudgetError") and "over budget" in failure.message
    assert "flaky" in (failure.traceback or "")  # the worker's traceback, with the body's frame
    assert second.status.value == "failed" and second.attempts[0].worker in workers(dask_client)


def test_a_result_that_cannot_be_pickled_fails_the_attempt_clearly(client: KitaruClient, dask_client: Any) -> None:
    @kitaru.checkpoint
    def make_lock(_: int) -> Any:
        return threading.Lock()

    @kitaru.flow
    def locks() -> None:
        make_lock.submit(1).result()

    handle = locks.run()
    assert handle.status.value == "failed"
    (call,) = client.executions.get(handle.exec_id).checkpoints
    failure = call.attempts[0].failure
    assert failure is not None and failure.origin.value == "runtime"
    assert "returned a _thread.lock that cannot be sent back from the Dask worker tcp://" in failure.message
    assert "Return plain data" in failure.message


def test_isolated_bodies_go_to_the_cluster_and_plain_calls_when_asked(client: KitaruClient, dask_client: Any) -> None:
    @kitaru.checkpoint(runtime="isolated")
    def iso() -> int:
        return os.getpid()

    @kitaru.checkpoint
    def plain() -> int:
        return os.getpid()

    @kitaru.flow
    def mix() -> list[int]:
        return [iso(), plain()]

    iso_pid, plain_pid = mix.run().get()
    assert iso_pid != os.getpid() and plain_pid == os.getpid()
    kitaru.configure(executor_runs="all")
    handle = mix.run()
    assert os.getpid() not in handle.get()
    assert all(c.attempts[0].worker for c in client.executions.get(handle.exec_id).checkpoints)


def test_a_worker_killed_during_a_map_fails_its_attempt_and_the_retry_runs_elsewhere(
    client: KitaruClient, dask_client: Any, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    victim = tmp_path / "victim.pid"

    @kitaru.checkpoint(retries=2)
    def work(x: int, folder: str, victim_file: str) -> int:
        (Path(folder) / f"{x}-{os.getpid()}-{time.monotonic_ns()}").touch()
        if x == 0 and not os.path.exists(victim_file):
            Path(victim_file + ".tmp").write_text(str(os.getpid()))
            os.replace(victim_file + ".tmp", victim_file)
            time.sleep(60)  # killed here
        else:
            time.sleep(0.05)
        return x * 10

    @kitaru.flow
    def fan(n: int) -> list[int]:
        return work.map(range(n), folder=str(runs), victim_file=str(victim)).result()

    pid_to_worker = {pid: addr for addr, pid in dask_client.run(os.getpid).items()}
    killed: list[str] = []

    def killer() -> None:
        deadline = time.monotonic() + 60
        while not victim.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        pid = int(victim.read_text())
        time.sleep(0.3)  # the body is well under way
        killed.append(pid_to_worker[pid])
        os.kill(pid, signal.SIGKILL)  # that one worker process, by its pid

    t = threading.Thread(target=killer)
    t.start()
    handle = fan.run(6)
    t.join()
    assert handle.get() == [x * 10 for x in range(6)]
    ex = client.executions.get(handle.exec_id)
    first = ex.checkpoints[0]
    assert first.attempts[0].status.value == "failed"
    failure = first.attempts[0].failure
    assert failure is not None and failure.origin.value == "runtime"
    assert killed[0] in failure.message and "left the cluster" in failure.message
    assert first.attempts[0].worker == killed[0]
    assert first.attempts[-1].status.value == "completed" and first.attempts[-1].worker != killed[0]
    assert [a.status.value for a in first.attempts].count("completed") == 1
    # no completed call ran twice: every other item ran its body exactly once, with one attempt
    for c in ex.checkpoints[1:]:
        assert [a.status.value for a in c.attempts] == ["completed"], c
    for x in range(1, 6):
        assert len(list(runs.glob(f"{x}-*"))) == 1, x


def test_a_map_sends_all_its_bodies_at_once_and_the_journal_shows_them_running(
    client: KitaruClient, dask_client: Any, tmp_path: Path
) -> None:
    """Two threads wait for six calls: all six go to the cluster when the .map is submitted, and
    each reads running in the journal from then on (its start is not left to its thread)."""
    gate = tmp_path / "go"

    @kitaru.checkpoint
    def held(x: int, gate_file: str) -> int:
        deadline = time.monotonic() + 30
        while not os.path.exists(gate_file) and time.monotonic() < deadline:
            time.sleep(0.01)
        return x * 2

    @kitaru.flow
    def gated(n: int) -> list[int]:
        return held.map(range(n), gate_file=str(gate)).result()

    kitaru.configure(max_workers=2)
    try:
        holder: dict[str, Any] = {}
        t = threading.Thread(target=lambda: holder.setdefault("handle", gated.run(6)))
        t.start()
        deadline = time.monotonic() + 30
        running: list[Any] = []
        while time.monotonic() < deadline:
            rows = client.executions.list(flow="gated", limit=1)
            running = [c for c in client.executions.get(rows[0].exec_id).checkpoints] if rows else []
            if len(running) == 6:
                break
            time.sleep(0.02)
        assert [c.status.value for c in running] == ["running"] * 6
        assert all(len(c.attempts) == 1 and c.attempts[0].status.value == "running" for c in running)
        gate.touch()
        t.join(30)
        assert holder["handle"].get() == [x * 2 for x in range(6)]
        done = client.executions.get(holder["handle"].exec_id).checkpoints
        assert [len(c.attempts) for c in done] == [1] * 6
        assert all(c.attempts[0].worker in workers(dask_client) for c in done)
    finally:
        kitaru.configure(max_workers=None)


def test_a_cached_map_on_the_cluster_runs_no_body_again(client: KitaruClient, dask_client: Any, tmp_path: Path) -> None:
    """The bodies of a .map go out when it is submitted, except where the cache answers first."""
    runs = tmp_path / "runs"
    runs.mkdir()

    @kitaru.checkpoint
    def counted(x: int, folder: str) -> int:
        (Path(folder) / f"{x}-{time.monotonic_ns()}").touch()
        return x + 100

    @kitaru.flow
    def cached_fan(n: int) -> list[int]:
        return counted.map(range(n), folder=str(runs)).result()

    assert cached_fan.run(4, cache=True).get() == [100, 101, 102, 103]
    assert cached_fan.run(5, cache=True).get() == [100, 101, 102, 103, 104]
    assert sorted(p.name.split("-")[0] for p in runs.iterdir()) == ["0", "1", "2", "3", "4"]


def test_cancel_cancels_the_bodies_still_running_on_the_cluster(client: KitaruClient, dask_client: Any) -> None:
    @kitaru.checkpoint
    def slow(x: int) -> int:
        time.sleep(30)
        return x

    @kitaru.flow
    def long_fan() -> list[int]:
        return slow.map(range(4)).result()

    holder: dict[str, Any] = {}

    def run() -> None:
        holder["handle"] = long_fan.run()

    t = threading.Thread(target=run)
    started = time.monotonic()
    t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = client.executions.list(flow="long_fan", limit=1)
        if rows and len(client.executions.get(rows[0].exec_id).checkpoints) == 4:
            break
        time.sleep(0.05)
    exec_id = rows[0].exec_id
    time.sleep(0.5)
    client.executions.cancel(exec_id)
    t.join(20)
    assert not t.is_alive() and time.monotonic() - started < 20
    assert client.executions.get(exec_id).status.value == "cancelled"
    deadline = time.monotonic() + 10
    while any(dask_client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(dask_client.processing().values())  # nothing of it left on the cluster


def test_the_panel_links_the_dask_dashboard_when_bodies_run_on_a_cluster(
    client: KitaruClient, dask_client: Any
) -> None:
    from kitaru_nb.widgets.panel import ExecutionPanel

    @kitaru.checkpoint
    def one(x: int) -> int:
        return x

    @kitaru.flow
    def linked() -> list[int]:
        return one.map([1, 2]).result()

    handle = linked.run()
    link = dask_client.dashboard_link
    assert link.startswith("http")
    header = ExecutionPanel(handle.exec_id, client, poll=False).header.value
    assert "class='kitaru-dashboard'" in header and f'href="{link}"' in header
    assert "rel='noopener noreferrer'" in header and "target='_blank'" in header
    kitaru.configure(executor=None)  # threads: no cluster, no link
    assert "kitaru-dashboard" not in ExecutionPanel(handle.exec_id, client, poll=False).header.value


def test_a_dashboard_link_is_only_ever_an_escaped_http_address() -> None:
    from kitaru_nb.widgets import render

    assert render.dashboard_html(None) == ""
    assert render.dashboard_html("javascript:alert(1)") == ""
    assert render.dashboard_html("  JavaScript:alert(1)") == ""
    assert render.dashboard_html("file:///etc/passwd") == ""
    html = render.dashboard_html('http://h:8787/status"><script>alert(1)</script>')
    assert "<script>" not in html and "&quot;&gt;&lt;script&gt;" in html


def test_an_argument_that_cannot_be_sent_fails_only_its_own_item_of_a_map(
    client: KitaruClient, dask_client: Any
) -> None:
    @kitaru.checkpoint
    def describe(x: Any) -> str:
        return type(x).__name__

    @kitaru.flow
    def mixed() -> list[str]:
        futures = describe.map([1, "a", threading.Lock(), 2.5, [3]])
        out = []
        for f in futures:
            try:
                out.append(f.result())
            except Exception as exc:
                out.append(f"error: {exc}")
        return out

    handle = mixed.run()
    out = handle.get()
    assert out[:2] == ["int", "str"] and out[3:] == ["float", "list"]
    assert "cannot be sent to the Dask cluster" in out[2]
    calls = client.executions.get(handle.exec_id).checkpoints
    assert [c.status.value for c in calls] == ["completed", "completed", "failed", "completed", "completed"]
    failure = calls[2].attempts[0].failure
    assert failure is not None and failure.origin.value == "runtime" and "must pickle" in failure.message
