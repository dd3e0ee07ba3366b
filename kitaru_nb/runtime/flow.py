"""``@flow`` and ``FlowHandle``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from typing import Any, Generic, ParamSpec, TypeVar, overload

from kitaru_nb.config import resolve_journal, settings
from kitaru_nb.errors import KitaruFeatureNotAvailableError, KitaruStateError, KitaruUsageError
from kitaru_nb.journal.base import Journal
from kitaru_nb.runtime import continuation, engine, registry
from kitaru_nb.runtime.checkpoint import fingerprint
from kitaru_nb.runtime.context import new_id
from kitaru_nb.runtime.watcher import in_kernel, watcher
from kitaru_nb.types import ExecutionStatus

P = ParamSpec("P")
R = TypeVar("R")


class Flow(Generic[P, R]):
    """A flow: call ``.run(...)`` to start a durable execution."""

    def __init__(self, fn: Callable[P, R], *, name: str | None = None, description: str | None = None):
        self.fn = fn
        self.name = name or fn.__name__
        self.description = description if description is not None else (fn.__doc__ or "").strip() or None
        self.fingerprint = fingerprint(fn)
        functools.update_wrapper(self, fn)
        registry.register_flow(self)
        watcher.ensure_started()

    def __repr__(self) -> str:
        return f"<flow {self.name}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        raise KitaruUsageError(
            f"flow {self.name!r} was called directly; start it with {self.name}.run(...), which journals "
            "the execution and returns a FlowHandle (handle.get() gives the result)"
        )

    def run(  # type: ignore[valid-type]
        self,
        *args: P.args,
        stack: str | None = None,
        image: Any = None,
        cache: bool | None = None,
        retries: int | None = None,
        **kwargs: P.kwargs,
    ) -> FlowHandle[R]:
        """Run the flow in this thread until it completes, fails or waits; return its handle.

        Kitaru's run options: ``retries`` runs the flow again when it fails, up to that many times
        (same execution: completed checkpoints are reused, each failure is kept in the execution's
        ``meta["flow_attempts"]``). ``cache=True`` serves each checkpoint call from an earlier
        execution's completed call of the same checkpoint code and inputs (shown as "cached from
        <exec>"); ``@checkpoint(cache=False)`` opts a checkpoint out. ``stack`` and ``image`` other
        than the local default are not available here (KitaruFeatureNotAvailableError names the option).
        """
        _check_run_options(stack, image, cache, retries)
        handle = self._start(None, args, kwargs, retries=retries or 0, cache=bool(cache))
        return handle

    def start(self, *args: Any, **kwargs: Any) -> FlowHandle[R]:
        """The same as ``run`` (the name earlier Kitaru releases used)."""
        return self.run(*args, **kwargs)

    def replay(
        self, exec_id: str, *, from_: str, overrides: dict[str, Any] | None = None, **flow_inputs: Any
    ) -> FlowHandle[R]:
        """Replay an execution of this flow from a checkpoint as a new execution (see the client's
        ``executions.replay``); returns the new execution's handle."""
        from kitaru_nb.runtime.replay import run_replay

        journal = resolve_journal(None)
        row = journal.get_execution(exec_id, with_values=False)
        if row is not None and row.flow_name != self.name:
            raise KitaruUsageError(
                f"execution {exec_id[:8]} is a run of flow {row.flow_name!r}, not {self.name!r}; replay it with "
                f"{row.flow_name}.replay(...) or KitaruClient().executions.replay(...)"
            )
        new_id = run_replay(journal, exec_id, from_=from_, overrides=overrides, flow_inputs=flow_inputs)
        return FlowHandle(new_id, self.name, journal)

    def _start(
        self, db: Any, args: tuple[Any, ...], kwargs: dict[str, Any], retries: int = 0, cache: bool = False
    ) -> FlowHandle[R]:
        engine.ensure_outside_flow(self.name)
        journal = resolve_journal(db)
        inputs = engine.bind_inputs(self.fn, args, kwargs)
        exec_id = new_id()
        meta: dict[str, Any] = {"fingerprint": self.fingerprint}
        if cache:
            meta["cache"] = True
        journal.create_execution(engine.new_execution_row(exec_id, self.name, inputs, body=self.fn, meta=meta))
        handle: FlowHandle[R] = FlowHandle(exec_id, self.name, journal)
        status = engine.drive(journal, exec_id, self.name, self.fn, inputs, cache=cache)
        for _ in range(retries):
            if status != ExecutionStatus.FAILED:
                break
            row = journal.get_execution(exec_id, with_values=False)
            if row is None:
                break
            attempts = [*row.meta.get("flow_attempts", []), _failure_record(row)]
            journal.set_execution_meta(exec_id, {**row.meta, "flow_attempts": attempts})
            status = continuation.drive_claimed(journal, row, (ExecutionStatus.FAILED,))
        if status == ExecutionStatus.FAILED and settings.raise_on_failure:
            row = journal.get_execution(exec_id, with_values=False)
            if row is not None:
                continuation.raise_for(row)
        return handle


_LOCAL_STACKS = (None, "local", "default")


def _check_run_options(stack: Any, image: Any, cache: Any, retries: Any) -> None:
    if stack not in _LOCAL_STACKS:
        raise KitaruFeatureNotAvailableError(
            f"run(stack={stack!r}) is not available: kitaru_nb runs flows in this kernel (the local stack). "
            "Leave stack= out, or run the flow with Kitaru on that stack."
        )
    if image is not None:
        raise KitaruFeatureNotAvailableError(
            "run(image=...) is not available: kitaru_nb runs flows in this kernel's environment, not in a "
            "container image. Leave image= out."
        )
    if cache is not None and not isinstance(cache, bool):
        raise KitaruUsageError(f"run(cache=...) must be True, False or None, got {cache!r}")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise KitaruUsageError(f"Flow retries must be >= 0. run(retries=...) got {retries!r}")


def _failure_record(row: Any) -> dict[str, Any]:
    f = row.failure
    return {
        "ended_at": row.ended_at,
        "exception_type": f.exception_type if f else None,
        "message": f.message if f else None,
        "origin": f.origin.value if f else None,
    }


@overload
def flow(fn: Callable[P, R], /) -> Flow[P, R]: ...


@overload
def flow(
    *, name: str | None = None, description: str | None = None, **options: Any
) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(
    fn: Callable[P, R] | None = None, /, *, name: str | None = None, description: str | None = None, **options: Any
) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """Mark a function as a flow. Bare (``@flow``) or with options (``@flow(name=...)``).

    Deployment options of other runners (``stack=``, ``image=``, ...) are accepted and ignored:
    a kitaru_nb flow always runs in the calling kernel.
    """
    if name is not None and (not isinstance(name, str) or not name):
        raise KitaruUsageError(f"@flow: name must be a non-empty str, got {name!r}")

    def wrap(f: Callable[P, R]) -> Flow[P, R]:
        if not callable(f):
            raise KitaruUsageError(f"@flow decorates a function, not {f!r}")
        return Flow(f, name=name, description=description)

    if fn is not None:
        return wrap(fn)
    return wrap


class FlowHandle(Generic[R]):
    """A started execution: its id, live status, and its result when there is one."""

    def __init__(self, exec_id: str, flow_name: str, journal: Journal):
        self.exec_id = exec_id
        self.flow_name = flow_name
        self._journal = journal

    def __repr__(self) -> str:
        return f"<FlowHandle {self.flow_name} {self.exec_id[:8]} {self.status.value}>"

    @property
    def _client(self) -> Any:
        from kitaru_nb.client import KitaruClient

        return KitaruClient(db=self._journal)

    @property
    def status(self) -> ExecutionStatus:
        """The execution's status, read from the journal now."""
        row = self._journal.get_execution(self.exec_id, with_values=False)
        return ExecutionStatus(row.status) if row else ExecutionStatus.FAILED

    def refresh(self) -> FlowHandle[R]:
        return self

    @property
    def execution(self) -> Any:
        return self._client.executions.get(self.exec_id)

    def get(self, timeout: float | None = None) -> R:
        """The flow's return value; raises its error if it failed. On a waiting execution: in a notebook
        kernel KitaruStateError saying how to answer; elsewhere it blocks until another process answers
        (``timeout`` seconds at most), then the flow continues here."""
        continuation.block(self._journal, self.exec_id, timeout=timeout, in_kernel=in_kernel())
        return self._result()

    def _result(self) -> R:
        row = self._journal.get_execution(self.exec_id, with_values=True)
        if row is None:
            raise KitaruStateError(f"execution {self.exec_id[:8]} is gone from the journal {self._journal.location}")
        out: R = continuation.result(self._journal, row)
        return out

    def wait(self, timeout: float | None = None) -> R:
        """As in Kitaru: block until the execution ends and return the flow's result, or raise its error.

        A flow that waits for input raises KitaruStateError naming the wait and how to answer it (it
        never blocks on a human); ``timeout`` bounds the wait for a flow running in another process
        (KitaruTimeoutError). ``get()`` is the same, except that outside a kernel it waits for an
        answer given elsewhere.
        """
        continuation.block(self._journal, self.exec_id, timeout=timeout, in_kernel=True)
        return self._result()

    async def result(self, poll: float = 0.02) -> R:
        """Await the terminal state without blocking the kernel, then return the result."""
        import asyncio  # here, not at import: asyncio (and ssl with it) is a third of kitaru_nb's import time

        while True:
            status = self.status
            if status.is_terminal:
                break
            if status is ExecutionStatus.WAITING:
                continuation.continue_if_ready(self._journal, self.exec_id)
            await asyncio.sleep(poll)
        return self._result()

    def __await__(self) -> Generator[Any, None, R]:
        return self.result().__await__()
