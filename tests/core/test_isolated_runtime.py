"""Kitaru's ``@checkpoint(runtime="isolated")``: the body runs in a worker process, every attempt is
journaled in this one exactly as for an inline checkpoint, and a worker that crashes fails its
attempt (retries apply) while this process goes on."""

from __future__ import annotations

import os
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb import FailureOrigin, KitaruClient
from kitaru_nb.runtime import isolated
from kitaru_nb.runtime.isolated import IsolatedBodyError, IsolatedCheckpointError, IsolatedWorkerDied

DIED_SIGSEGV = "died (exit code -11, SIGSEGV)"


def attempts_of(client: KitaruClient, exec_id: str) -> list[tuple[str, str, list[str]]]:
    """(name, call status, [attempt statuses]) per position: what must not depend on the runtime."""
    ex = client.executions.get(exec_id)
    return [(c.name, c.status.value, [a.status.value for a in c.attempts]) for c in ex.checkpoints]


def bump(counter: Path) -> int:
    """Attempts made so far, counted in a file: the body runs in another process."""
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    return n


def test_the_body_runs_in_another_process_and_the_journal_reads_as_for_inline(
    client: KitaruClient, tmp_path: Path
) -> None:
    def flaky(counter: Path, x: int) -> tuple[int, int]:
        if bump(counter) < 3:
            raise ConnectionError("the service is warming up")
        return os.getpid(), x * 2

    pids = {}
    for runtime in ("inline", "isolated"):
        step = kitaru.checkpoint(retries=2, runtime=runtime, name=f"iso_flaky_{runtime}")(flaky)

        @kitaru.flow
        def iso_story(counter: Path, step: Any = step) -> tuple[int, int]:
            return step(counter, 21)

        handle = iso_story.run(tmp_path / f"{runtime}.count")
        pid, doubled = handle.get()
        assert doubled == 42
        pids[runtime] = pid
        story = attempts_of(client, handle.exec_id)
        assert story == [(f"iso_flaky_{runtime}", "completed", ["failed", "failed", "completed"])]
        first = client.executions.get(handle.exec_id).checkpoints[0].attempts[0].failure
        assert first is not None
        assert (first.origin, first.exception_type, first.message) == (
            FailureOrigin.USER_CODE,
            "ConnectionError",
            "the service is warming up",
        )
        assert first.traceback is not None and 'raise ConnectionError("the service is warming up")' in first.traceback
        assert "kitaru_nb" not in first.traceback  # the worker's own frames are left out, as inline
    assert pids["inline"] == os.getpid()
    assert pids["isolated"] != os.getpid()


def test_a_segfault_fails_the_attempt_and_the_retry_succeeds_in_a_fresh_worker(
    client: KitaruClient, tmp_path: Path
) -> None:
    @kitaru.checkpoint(retries=1, runtime="isolated")
    def iso_native(counter: Path) -> int:
        import ctypes

        if bump(counter) == 1:
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        return os.getpid()

    @kitaru.flow
    def iso_crashy(counter: Path) -> int:
        return iso_native(counter)

    handle = iso_crashy.run(tmp_path / "count")
    assert handle.get() != os.getpid()  # we are still here, and so is the answer
    (call,) = client.executions.get(handle.exec_id).checkpoints
    assert [a.status.value for a in call.attempts] == ["failed", "completed"]
    failure = call.attempts[0].failure
    assert failure is not None and failure.origin == FailureOrigin.RUNTIME
    assert f"the isolated worker running checkpoint 'iso_native' {DIED_SIGSEGV}" in failure.message
    assert "Retry" in failure.message and "retries=" in failure.message
    assert failure.exception_type == "kitaru_nb.runtime.isolated.IsolatedWorkerDied"


def test_a_worker_that_dies_without_retries_fails_the_flow_and_the_next_call_works(
    client: KitaruClient, tmp_path: Path
) -> None:
    @kitaru.checkpoint(runtime="isolated")
    def iso_exit() -> None:
        os._exit(3)

    @kitaru.checkpoint(runtime="isolated")
    def iso_kill() -> None:
        import signal

        os.kill(os.getpid(), signal.SIGSEGV)

    @kitaru.checkpoint(runtime="isolated")
    def iso_fine() -> str:
        return "fine"

    @kitaru.flow
    def iso_dies(which: str) -> str:
        (iso_exit if which == "exit" else iso_kill)()
        return "unreachable"

    @kitaru.flow
    def iso_after() -> str:
        return iso_fine()

    for which, wording in (("exit", "died (exit code 3)"), ("kill", DIED_SIGSEGV)):
        handle = iso_dies.run(which)
        ex = client.executions.get(handle.exec_id)
        assert ex.status.value == "failed"
        assert ex.failure is not None and wording in ex.failure.message
        assert ex.failure.origin == FailureOrigin.RUNTIME
        with pytest.raises(kitaru.KitaruExecutionError) as info:
            handle.get()
        assert isinstance(info.value.__cause__, IsolatedWorkerDied)
        assert info.value.__cause__.exitcode == (3 if which == "exit" else -11)
        assert iso_after.run().get() == "fine"


def test_an_exception_comes_back_as_itself_with_the_workers_traceback(client: KitaruClient) -> None:
    class QuotaExceeded(Exception):
        def __init__(self, message: str, *, limit: int = 0):
            super().__init__(message)
            self.limit = limit

    @kitaru.checkpoint(runtime="isolated")
    def iso_call_api(n: int) -> int:
        if n > 2:
            raise QuotaExceeded(f"{n} calls, over the quota", limit=2)
        return n

    @kitaru.checkpoint(runtime="isolated")
    def iso_parse(text: str) -> int:
        return int(text)

    caught: dict[str, Any] = {}

    @kitaru.flow
    def iso_errors() -> int:
        try:
            iso_parse("not a number")
        except ValueError as exc:  # a user's except around the call still works
            caught["value"] = exc
        future = iso_call_api.submit(5)
        try:
            future.result()
        except QuotaExceeded as exc:
            caught["quota"] = exc
        return iso_call_api(1)

    handle = iso_errors.run()
    assert handle.get() == 1
    assert "invalid literal for int()" in str(caught["value"])
    assert type(caught["quota"]) is QuotaExceeded and caught["quota"].limit == 2
    # the worker's traceback is the exception's cause, as concurrent.futures does it
    assert isinstance(caught["quota"].__cause__, isolated.RemoteTraceback)
    assert "raise QuotaExceeded" in str(caught["quota"].__cause__)
    calls = client.executions.get(handle.exec_id).checkpoints
    parse, api = calls[0].attempts[0].failure, calls[1].attempts[0].failure
    assert parse is not None and api is not None
    assert (parse.exception_type, api.exception_type) == (
        "ValueError",
        f"{__name__}.test_an_exception_comes_back_as_itself_with_the_workers_traceback.<locals>.QuotaExceeded",
    )
    assert api.message == "5 calls, over the quota"
    assert api.traceback is not None and "raise QuotaExceeded" in api.traceback


def test_an_exception_that_does_not_pickle_comes_back_by_type_message_and_traceback(client: KitaruClient) -> None:
    class HoldsALock(Exception):
        def __init__(self, message: str):
            super().__init__(message)
            self.lock = threading.Lock()

    @kitaru.checkpoint(runtime="isolated")
    def iso_locked() -> None:
        raise HoldsALock("cannot travel")

    @kitaru.flow
    def iso_unpicklable_error() -> None:
        iso_locked()

    handle = iso_unpicklable_error.run()
    with pytest.raises(kitaru.KitaruUserCodeError) as info:
        handle.get()
    err = info.value.__cause__
    assert isinstance(err, IsolatedBodyError)
    assert err.exception_type.endswith("HoldsALock") and "cannot travel" in str(err)
    (call,) = client.executions.get(handle.exec_id).checkpoints
    failure = call.attempts[0].failure
    assert failure is not None and failure.exception_type.endswith("HoldsALock")
    assert failure.message == "cannot travel" and failure.origin == FailureOrigin.USER_CODE


NOTEBOOK_CELL = """
import os
import kitaru_nb as kitaru

SCALE = 10

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

def scaled(v):
    return v * SCALE

@kitaru.checkpoint(runtime="isolated")
def nb_point(x):
    return Point(scaled(x), os.getpid())

@kitaru.flow
def nb_flow(x):
    return nb_point(x)
"""


def test_functions_and_classes_defined_in_a_notebook_main_module_work(
    client: KitaruClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a notebook cell runs in the kernel's __main__, which a worker process cannot import: what the
    # body uses travels by value
    main = types.ModuleType("__main__")
    monkeypatch.setitem(sys.modules, "__main__", main)
    exec(compile(NOTEBOOK_CELL, "<ipython-input-1>", "exec"), main.__dict__)
    ns = main.__dict__
    assert ns["nb_point"].fn.__module__ == "__main__"
    point = ns["nb_flow"].run(4).get()
    assert isinstance(point, ns["Point"])  # the very class of the "notebook", not a copy
    assert (point.x, point.y != os.getpid()) == (40, True)


def test_map_over_an_isolated_checkpoint_takes_distinct_positions(client: KitaruClient) -> None:
    @kitaru.checkpoint(runtime="isolated")
    def iso_square(i: int) -> tuple[int, int]:
        time.sleep(0.05)
        return i * i, os.getpid()

    @kitaru.flow
    def iso_fan() -> list[tuple[int, int]]:
        return iso_square.map(range(6)).result() + iso_square.product([6]).result()

    handle = iso_fan.run()
    out = handle.get()
    assert [v for v, _ in out] == [i * i for i in range(7)]
    assert os.getpid() not in {pid for _, pid in out}
    ex = client.executions.get(handle.exec_id)
    assert [c.index for c in ex.checkpoints] == list(range(7))
    assert all(c.status.value == "completed" and len(c.attempts) == 1 for c in ex.checkpoints)


def test_max_workers_bounds_the_worker_processes(client: KitaruClient) -> None:
    @kitaru.checkpoint(runtime="isolated")
    def iso_busy(i: int) -> int:
        time.sleep(0.1)
        return os.getpid()

    @kitaru.flow
    def iso_bounded() -> list[int]:
        return iso_busy.map(range(6)).result()

    kitaru.configure(max_workers=2)
    try:
        pids = iso_bounded.run().get()
        assert len(set(pids)) <= 2
        pool = isolated.runner()
        assert isinstance(pool, isolated.WorkerPool) and pool.max_workers == 2 and pool.workers <= 2
    finally:
        kitaru.configure(max_workers=isolated.default_workers())


def test_bad_runtime_values_are_refused_with_kitarus_wording() -> None:
    for bad in ("remote", 123, ""):
        with pytest.raises(kitaru.KitaruUsageError) as info:
            kitaru.checkpoint(runtime=bad)(lambda: None)  # type: ignore[arg-type]
        assert str(info.value).startswith(f"Unsupported checkpoint runtime {bad!r}. Expected one of: inline, isolated.")
        assert isinstance(info.value, ValueError)
    # as in Kitaru: any case, surrounding blanks; None is the default, inline here
    assert kitaru.checkpoint(runtime=" Isolated ")(lambda: None).runtime == "isolated"
    assert kitaru.checkpoint(runtime=None)(lambda: None).runtime == "inline"
    assert kitaru.checkpoint(lambda: None).runtime == "inline"


def test_flow_context_inside_an_isolated_body_says_it_is_not_available(client: KitaruClient) -> None:
    @kitaru.checkpoint
    def iso_inner() -> int:
        return 1

    @kitaru.checkpoint(runtime="isolated")
    def iso_uses_context(what: str) -> Any:
        if what == "checkpoint":
            return iso_inner()
        if what == "submit":
            return iso_inner.submit()
        return kitaru.wait(schema=bool)

    @kitaru.flow
    def iso_context(what: str) -> Any:
        return iso_uses_context(what)

    for what in ("checkpoint", "submit", "wait"):
        handle = iso_context.run(what)
        with pytest.raises(kitaru.KitaruUserCodeError) as info:
            handle.get()
        err = info.value.__cause__
        assert isinstance(err, kitaru.KitaruContextError), what
        assert 'runs with runtime="isolated" in a worker process' in str(err)
        assert "not available yet" in str(err)


def test_values_and_arguments_that_cannot_cross_the_boundary_say_so(client: KitaruClient) -> None:
    @kitaru.checkpoint(runtime="isolated")
    def iso_returns_lock() -> Any:
        return threading.Lock()

    @kitaru.checkpoint(runtime="isolated")
    def iso_takes(x: Any) -> int:
        return 1

    @kitaru.flow
    def iso_boundary(what: str) -> Any:
        return iso_returns_lock() if what == "return" else iso_takes(threading.Lock())

    for what, wording in (("return", "cannot be sent back from its worker process"), ("arg", "cannot be sent to its")):
        handle = iso_boundary.run(what)
        ex = client.executions.get(handle.exec_id)
        failure = ex.checkpoints[0].attempts[0].failure
        assert failure is not None and wording in failure.message, failure
        assert failure.origin == FailureOrigin.RUNTIME
        with pytest.raises(kitaru.KitaruExecutionError) as info:
            handle.get()
        assert isinstance(info.value.__cause__, IsolatedCheckpointError)


def test_prints_of_the_body_come_back_to_this_process(client: KitaruClient, capsys: pytest.CaptureFixture[str]) -> None:
    @kitaru.checkpoint(runtime="isolated")
    def iso_chatty(n: int) -> int:
        import sys

        print(f"working on {n}")
        print("a warning", file=sys.stderr)
        return n

    @kitaru.flow
    def iso_prints() -> int:
        return iso_chatty(7)

    assert iso_prints.run().get() == 7
    captured = capsys.readouterr()
    assert "working on 7" in captured.out and "a warning" in captured.err


def test_on_error_skip_and_pause_apply_to_isolated_bodies(client: KitaruClient) -> None:
    @kitaru.checkpoint(runtime="isolated", on_error="skip")
    def iso_optional() -> int:
        os._exit(1)

    @kitaru.checkpoint(runtime="isolated", on_error="pause")
    def iso_needs_human() -> int:
        raise RuntimeError("needs a look")

    @kitaru.flow
    def iso_policies() -> Any:
        return iso_optional(), iso_needs_human()

    handle = iso_policies.run()
    ex = client.executions.get(handle.exec_id)
    assert ex.status.value == "waiting"
    assert [c.status.value for c in ex.checkpoints] == ["skipped", "failed"]
    assert ex.pending_errors and ex.checkpoints[1].failure is not None
    assert ex.checkpoints[1].failure.message == "needs a look"


def test_the_isolated_benchmark_runs_and_measures_every_figure(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.benchmarks import bench_isolated

    figures = bench_isolated.main(["--calls", "10", "--repeat", "1"])
    assert set(figures) == {"cold", "seq_inline", "seq_isolated", "map_inline", "map_isolated", "bare"}
    assert "overhead of isolated, sequential" in capsys.readouterr().out


def test_a_worker_killed_while_idle_is_replaced_before_the_next_call(client: KitaruClient) -> None:
    import signal

    @kitaru.checkpoint(runtime="isolated")
    def iso_whoami() -> int:
        return os.getpid()

    @kitaru.flow
    def iso_again() -> int:
        return iso_whoami()

    first = iso_again.run().get()
    os.kill(first, signal.SIGKILL)  # from outside, between two calls
    time.sleep(0.3)
    second = iso_again.run()
    assert second.status.value == "completed" and second.get() != first


def test_save_and_log_in_an_isolated_body_are_journaled_with_its_attempt(client: KitaruClient, tmp_path: Path) -> None:
    counter = tmp_path / "n"

    @kitaru.checkpoint(runtime="isolated", retries=1)
    def iso_saves(x: int) -> int:
        n = bump(counter)
        kitaru.save("notes", {"attempt": n, "pid": os.getpid()}, type="context", tags=["iso"])
        kitaru.log(rows=x, attempt=n)
        if n == 1:
            raise ValueError("first attempt fails after saving")
        return x * 2

    @kitaru.checkpoint(runtime="isolated")
    def iso_loads() -> object:
        return kitaru.load("whatever", "notes")

    @kitaru.flow
    def iso_recording() -> int:
        return iso_saves(21)

    @kitaru.flow
    def iso_loading() -> object:
        return iso_loads()

    handle = iso_recording.run()
    assert handle.wait() == 42
    call = client.executions.get(handle.exec_id).checkpoints[0]
    assert call.metadata == {"rows": 21, "attempt": 2}  # both attempts logged; the newest value wins
    (output, notes) = call.artifacts
    assert output.load() == 42
    assert notes.name == "notes" and notes.kind == "context" and notes.tags == ["iso"]
    saved = notes.load()
    assert saved["attempt"] == 2 and saved["pid"] != os.getpid()  # the retry replaced the first save
    with pytest.raises(kitaru.KitaruUserCodeError, match=r"kitaru\.load work in the flow body"):
        iso_loading.run().wait()
