"""Concurrent checkpoints: ``.submit`` / ``.map`` / ``.product`` as in Kitaru's SDK.

Durable identity does not depend on completion order: each call takes its position in the
execution's durable call sequence when it is *submitted*, in program order, in the flow's
thread; only the body runs on the executor. Every attempt is journaled as for a plain call (the
journal is safe to share between threads), so resume, retry, replay and divergence detection
treat concurrent calls exactly as sequential ones: a completed submitted call is reused, not run.

The executor is a small protocol (``Executor.submit(fn, *args) -> concurrent.futures.Future``): a
thread pool by default (``kitaru_nb.configure(max_workers=N)``), or one given to
``configure(executor=...)``. It runs the journaling side of a submitted call (the attempt loop).

Where the *body* runs is a second, smaller choice: this thread, or a ``RemoteRunner`` such as a
Dask cluster (``configure(executor=distributed.Client(...))``, ``kitaru_nb.runtime.dask``). A remote
runner gets the bodies of submitted calls and of ``runtime="isolated"`` checkpoints (and of plain
calls with ``executor_runs="all"``); it only runs them and hands back outputs or exceptions, and
says who ran them (``take_ran_on``), so every journal write stays in the flow's process.
"""

from __future__ import annotations

import collections
import contextvars
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from kitaru_nb.errors import KitaruContextError

if TYPE_CHECKING:  # concurrent.futures loads on the first submission, not with ``import kitaru_nb``
    import concurrent.futures

R = TypeVar("R")

CONCURRENT_OUTSIDE_FLOW = "Concurrent checkpoint execution is only available inside a running @flow."
NESTED = "Nested checkpoint calls are not supported"


class Executor(Protocol):
    """What runs checkpoint bodies: ``submit(fn, *args)`` returns a ``concurrent.futures.Future``."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> concurrent.futures.Future[Any]: ...


class RemoteRunner(Protocol):
    """Runs checkpoint bodies away from this process (a Dask cluster): ``run`` returns the body's
    value or raises its exception, and sets ``ran_on`` to who ran it."""

    #: "concurrent" (submitted calls and isolated bodies) or "all" (plain calls too)
    runs: str

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, name: str) -> Any: ...

    def driver_threads(self) -> int:
        """How many submitted calls this process should keep in flight (threads that wait for bodies)."""
        ...

    def close(self) -> None: ...


_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_max_workers: int | None = None
_custom: Executor | None = None
#: where bodies run when not here (None: here); read on every checkpoint call, so a plain global
remote: RemoteRunner | None = None
_env_checked = False
ENV_EXECUTOR = "KITARU_NB_EXECUTOR"
#: True inside a submitted call's thread (its body goes to the remote runner)
_submitted: contextvars.ContextVar[bool] = contextvars.ContextVar("kitaru_submitted", default=False)
#: who ran the body of the attempt that just ended in this context (None: this process)
_ran_on: contextvars.ContextVar[str | None] = contextvars.ContextVar("kitaru_ran_on", default=None)
#: where a batch's call leaves its last write (None: not in a batch, write it at once)
_slot: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar("kitaru_slot", default=None)


def set_max_workers(n: int | None) -> None:
    """Threads of the default executor (None: ``min(32, cpus + 4)``); takes effect for new submissions."""
    global _pool, _max_workers
    with _lock:
        old, _pool, _max_workers = _pool, None, n
    if old is not None:
        old.shutdown(wait=False)


def executor() -> Executor:
    global _pool
    import concurrent.futures

    with _lock:
        if _custom is not None:
            return _custom
        if _pool is None:
            workers = _max_workers or min(32, (os.cpu_count() or 1) + 4)
            if remote is not None and _max_workers is None:
                workers = remote.driver_threads()  # threads that wait on the cluster: cheap, and many
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kitaru-checkpoint")
        return _pool


def set_remote(target: Any, *, runs: str | None = None) -> None:
    """``configure(executor=...)``: a ``distributed.Client`` or a scheduler address (bodies on Dask), an
    ``Executor`` (submitted calls on it, bodies in its threads), or None (this process's threads)."""
    global remote, _custom, _pool, _env_checked
    from kitaru_nb.errors import KitaruUsageError

    _NO = object()
    new_remote: Any = _NO
    new_custom: Any = _NO
    if target is _UNSET_TARGET:
        pass
    elif target is None:
        new_remote, new_custom = None, None
    elif isinstance(target, str) or type(target).__module__.split(".")[0] == "distributed":
        from kitaru_nb.runtime.dask import DaskExecutor

        new_remote, new_custom = DaskExecutor.of(target, runs=runs or "concurrent"), None
    elif callable(getattr(target, "submit", None)):
        new_remote, new_custom = None, target
    else:
        raise KitaruUsageError(
            "configure(executor=...) takes a distributed.Client, a Dask scheduler address ('tcp://host:8786'), "
            f"an executor with .submit(fn, *args) returning a concurrent.futures.Future, or None; got "
            f"{type(target).__name__}"
        )
    with _lock:
        _env_checked = True  # an explicit choice wins over KITARU_NB_EXECUTOR
        old_remote, old_pool = remote, _pool
        if new_remote is not _NO:
            remote = new_remote
            _pool = None  # sized for the new runner on next use
        if new_custom is not _NO:
            _custom = new_custom
        if runs is not None and remote is not None:
            remote.runs = runs
    if new_remote is not _NO and old_remote is not None and old_remote is not remote:
        old_remote.close()
    if new_remote is not _NO and old_pool is not None:
        old_pool.shutdown(wait=False)


_UNSET_TARGET: Any = object()


def ensure_env_executor() -> None:
    """``KITARU_NB_EXECUTOR=tcp://scheduler:8786``: connect on the first flow run (once per process)."""
    global _env_checked
    if _env_checked:
        return
    address = os.environ.get(ENV_EXECUTOR, "").strip()
    with _lock:
        if _env_checked:
            return
        _env_checked = True
    if address:
        set_remote(address)


def run_body(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, name: str, runtime: str) -> Any:
    """Run a checkpoint's body where it belongs: the remote runner, a worker process, or here."""
    r = remote
    if r is not None and (runtime == "isolated" or r.runs == "all" or _submitted.get()):
        return r.run(fn, args, kwargs, name=name)
    if runtime == "inline":
        return fn(*args, **kwargs)
    from kitaru_nb.runtime import isolated

    return isolated.run_isolated(fn, args, kwargs, name=name)


def dashboard_link() -> str | None:
    """The dashboard of the cluster that runs bodies (None: no remote runner, or it has none)."""
    r = remote
    link = getattr(r, "dashboard_link", None) if r is not None else None
    return link if isinstance(link, str) and link else None


def set_ran_on(worker: str | None) -> None:
    _ran_on.set(worker)


def take_ran_on() -> str | None:
    """Who ran the body that just returned or raised in this context (once; None: this process)."""
    worker = _ran_on.get()
    if worker is not None:
        _ran_on.set(None)
    return worker


class CheckpointFuture(Generic[R]):
    """The outcome of a submitted checkpoint call: ``result(timeout)``, ``done()``, ``exception()``."""

    def __init__(self, name: str, index: int, future: concurrent.futures.Future[Any]):
        self.name = name
        #: the call's position in the execution's durable call sequence (fixed at submission)
        self.index = index
        self._future = future

    @classmethod
    def resolved(cls, name: str, index: int, value: Any) -> CheckpointFuture[Any]:
        """A call the journal already completed: its output, without running anything."""
        import concurrent.futures

        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        fut.set_result(value)
        return cls(name, index, fut)

    def result(self, timeout: float | None = None) -> R:
        """The checkpoint's output; raises the checkpoint's error when it failed."""
        out: R = self._future.result(timeout)
        return out

    def done(self) -> bool:
        return self._future.done()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(timeout)

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        return f"<CheckpointFuture {self.name} #{self.index} {state}>"


class CheckpointFutures(list[CheckpointFuture[Any]]):
    """The futures of a ``.map`` or ``.product``, in input order; ``result()`` gives the list of outputs."""

    def result(self, timeout: float | None = None) -> list[Any]:
        import concurrent.futures

        # one wait for all of them (one wake-up, not one per future), then the outputs in order
        _, pending = concurrent.futures.wait([f._future for f in self], timeout)
        if pending:
            raise concurrent.futures.TimeoutError(f"{len(pending)} of {len(self)} calls did not end within {timeout} s")
        return [f.result(0) for f in self]

    def done(self) -> bool:
        return all(f.done() for f in self)


def resolve(value: Any) -> Any:
    """A future passed as an argument stands for its output (``b.submit(a.submit(1))``)."""
    if isinstance(value, CheckpointFuture):
        return value.result()
    return value


def await_after(after: Any) -> None:
    """Wait until every future in ``after`` has ended (its error, if any, is not raised here)."""
    if after is None:
        return
    items: Iterable[Any] = after if isinstance(after, (list, tuple, set, CheckpointFutures)) else [after]
    for item in items:
        if isinstance(item, CheckpointFuture):
            item._future.exception()  # waits; an error stays the other call's business


def start(body: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
    """Run ``body(*args)`` on the executor, in a copy of the caller's context (the durable run)."""
    ctx = contextvars.copy_context()
    return executor().submit(ctx.run, _as_submitted, body, *args)


#: seconds every driver of a batch must have been busy with its current call before another starts
RAMP = 0.01
#: a batch journals its calls' last writes together: at most this many ...
GROUP_ITEMS = 64
#: ... or those that ended within this many seconds of the first one waiting
GROUP_SECONDS = 0.002


class _Slot:
    """The last write of a call whose attempt completed, left by ``Checkpoint._run`` for its batch to
    journal with others: ("insert", journal, (call row, attempt row)) for an attempt that ended
    within ``deferred.HOLD`` (its one write), ("complete", journal, Completed) for one whose start
    is journaled already."""

    __slots__ = ("write",)

    def __init__(self) -> None:
        self.write: tuple[str, Any, Any] | None = None


def leave_to_batch(kind: str, journal: Any, payload: Any) -> bool:
    """Leave a call's last write to its batch (True), or say it is not in one (False: the caller
    writes it). ``kind``: "insert" with (call row, attempt row), or "complete" with a ``Completed``."""
    slot = _slot.get()
    if slot is None:
        return False
    slot.write = (kind, journal, payload)
    return True


class Prefetched:
    """A submitted call whose first attempt started at submission: its start held for the journal
    (``deferred``), its body sent to the remote runner with the rest of its ``.map`` (``task``, None
    when they could not be sent together: the call then sends its own)."""

    __slots__ = ("attempt", "held", "runner", "task")

    def __init__(self, attempt: Any, held: Any):
        self.attempt = attempt
        self.held = held
        self.task: Any = None
        self.runner: Any = None


class Batch:
    """Calls submitted together (``.map``, ``.product``): driver tasks on the executor run them, each
    taking the next call in submission order, instead of one executor task (and one thread wake-up)
    per call. Drivers are added while every running one has been busy for ``RAMP`` seconds, up to
    the executor's size: calls that wait (I/O, a remote worker) soon run side by side, while trivial
    ones run on one thread instead of handing the GIL between threads after every call. Each call
    still runs in its own copy of the caller's context and has its own future."""

    # Group journaling: each call's last write (its call and completed attempt, or the completion of
    # a call whose start is journaled) waits in ``_written`` with the call's value, and one
    # transaction writes them all (at most GROUP_ITEMS, or those that ended within GROUP_SECONDS of
    # the first, or when no call is left), after which their futures resolve: the flow never sees an
    # output the journal does not have. A crash loses at most the calls waiting, and a resume runs
    # them again, as the commit rule says of attempts in flight (deferred).

    def __init__(self, *, prefetch: bool = False) -> None:
        #: bodies to send to the remote runner together at launch (``Prefetched``, (fn, args, kwargs, name))
        self.prefetch: list[tuple[Prefetched, tuple[Any, ...]]] | None = [] if prefetch else None
        self._jobs: collections.deque[
            tuple[concurrent.futures.Future[Any], contextvars.Context, Callable[..., Any], tuple[Any, ...]]
        ] = collections.deque()
        self._lock = threading.Lock()
        self._busy: dict[int, float] = {}  # driver -> when it started its current call
        self._drivers = 0
        #: calls that ended with their last write left to the batch: (future, value, _Slot.write)
        self._written: list[tuple[concurrent.futures.Future[Any], Any, tuple[str, Any, Any]]] = []
        self._written_since = 0.0

    def add(self, body: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        import concurrent.futures

        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.append((fut, contextvars.copy_context(), body, args))
        return fut

    def launch(self) -> None:
        if not self._jobs:
            return
        runner = remote
        if self.prefetch and runner is not None:
            tasks = runner.prefetch([body for _, body in self.prefetch])  # type: ignore[attr-defined]
            if tasks is not None:
                for (pre, _), task in zip(self.prefetch, tasks, strict=True):
                    pre.task, pre.runner = task, runner
        ex = executor()
        most = min(len(self._jobs), getattr(ex, "_max_workers", None) or 8)
        several = len(self._jobs) > 1
        if runner is not None or _custom is not None:
            for _ in range(most):  # bodies elsewhere: the threads only wait, start them all
                self._start(ex)
        else:
            self._start(ex)
        if several:
            threading.Thread(target=self._tend, args=(ex, most), name="kitaru-batch-tend", daemon=True).start()

    def _start(self, ex: Executor) -> None:
        with self._lock:
            self._drivers += 1
        ex.submit(self._drive)

    def _tend(self, ex: Executor, most: int) -> None:
        """While the batch runs: journal the calls waiting behind drivers busy in slow bodies, and add
        a driver when every running one has been busy for ``RAMP``."""
        while True:
            time.sleep(RAMP)
            self._flush(age=GROUP_SECONDS)
            with self._lock:
                if not self._jobs and not self._drivers:
                    return  # the last driver journaled what was left
                now = time.monotonic()
                grow = (
                    bool(self._jobs)
                    and self._drivers < most
                    and len(self._busy) == self._drivers
                    and all(now - t >= RAMP for t in self._busy.values())
                )
            if grow:
                self._start(ex)

    def _drive(self) -> None:
        me = threading.get_ident()
        while True:
            with self._lock:
                if not self._jobs:
                    self._busy.pop(me, None)
                    self._drivers -= 1
                    last = True
                else:
                    last = False
                    fut, ctx, body, args = self._jobs.popleft()
                    self._busy[me] = time.monotonic()
            if last:
                self._flush()
                return
            if not fut.set_running_or_notify_cancel():
                continue
            slot = _Slot()
            try:
                value = ctx.run(_as_submitted, body, *args, slot=slot)
            except BaseException as exc:
                fut.set_exception(exc)
                continue
            if slot.write is None:
                fut.set_result(value)
                continue
            with self._lock:
                if not self._written:
                    self._written_since = time.monotonic()
                self._written.append((fut, value, slot.write))
                full = len(self._written) >= GROUP_ITEMS
            if full or time.monotonic() - self._written_since >= GROUP_SECONDS:
                self._flush()

    def _flush(self, *, age: float = 0.0) -> None:
        """Journal the calls waiting in ``_written`` in one transaction, then resolve their futures
        (``age``: only if the first has waited that long). A refused group is written call by call, so
        an error is its own call's."""
        with self._lock:
            if not self._written or time.monotonic() - self._written_since < age:
                return
            group, self._written = self._written, []
        groups: dict[tuple[int, str], list[tuple[concurrent.futures.Future[Any], Any, tuple[str, Any, Any]]]] = {}
        for item in group:
            kind, journal, _ = item[2]
            groups.setdefault((id(journal), kind), []).append(item)
        for (_, kind), items in groups.items():
            journal = items[0][2][1]
            try:
                if kind == "insert":
                    journal.insert_calls([w[2][0] for _, _, w in items], [w[2][1] for _, _, w in items])
                else:
                    journal.complete_calls([w[2] for _, _, w in items])
            except Exception:
                for fut, value, (k, j, payload) in items:
                    try:
                        if k == "insert":
                            j.insert_call(*payload)
                        else:
                            j.complete_calls([payload])
                    except Exception as exc:
                        fut.set_exception(exc)
                    else:
                        fut.set_result(value)
                continue
            for fut, value, _ in items:
                fut.set_result(value)


def _as_submitted(body: Callable[..., Any], *args: Any, slot: _Slot | None = None) -> Any:
    _submitted.set(True)  # in the submission's own context copy
    if slot is not None:
        _slot.set(slot)
    return body(*args)


def check_allowed(run: Any, name: str) -> None:
    """Kitaru's rules: only inside a running flow, never inside a checkpoint."""
    if run is None:
        raise KitaruContextError(
            f"{CONCURRENT_OUTSIDE_FLOW} Checkpoint {name!r} was submitted outside a flow: call .submit / .map / "
            ".product from a @flow function started with my_flow.run(...)."
        )
    if run.in_checkpoint is not None:
        raise KitaruContextError(
            f"{NESTED}: checkpoint {name!r} was submitted inside checkpoint {run.in_checkpoint!r}. Submit it "
            "from the flow body."
        )


def zip_inputs(iterables: Sequence[Any]) -> list[tuple[Any, ...]]:
    return list(zip(*iterables, strict=True))
