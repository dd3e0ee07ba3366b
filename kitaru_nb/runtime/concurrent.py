"""Concurrent checkpoints: ``.submit`` / ``.map`` / ``.product`` as in Kitaru's SDK.

Durable identity does not depend on completion order: each call takes its position in the
execution's durable call sequence when it is *submitted*, in program order, in the flow's
thread; only the body runs on the executor. Every attempt is journaled as for a plain call (the
journal is safe to share between threads), so resume, retry, replay and divergence detection
treat concurrent calls exactly as sequential ones: a completed submitted call is reused, not run.

The executor is a small protocol (``Executor.submit(fn, *args) -> concurrent.futures.Future``): a
thread pool by default (``kitaru_nb.configure(max_workers=N)``); another executor can be plugged
in (a cluster's client) without touching the engine.
"""

from __future__ import annotations

import contextvars
import os
import threading
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


_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_max_workers: int | None = None


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
        if _pool is None:
            workers = _max_workers or min(32, (os.cpu_count() or 1) + 4)
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kitaru-checkpoint")
        return _pool


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
        return [f.result(timeout) for f in self]

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
    return executor().submit(ctx.run, body, *args)


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
