"""``@checkpoint``: a durable step. Every attempt is journaled when it starts and when it ends."""

from __future__ import annotations

import functools
import hashlib
import itertools
import time
import types
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar, overload

from kitaru_nb import serde
from kitaru_nb.errors import KitaruContextError, KitaruRuntimeError, KitaruUsageError
from kitaru_nb.journal.base import AttemptRow, CallRow, Completed, StoredValue, call_id_at, shared
from kitaru_nb.models import FailureInfo
from kitaru_nb.runtime import concurrent, deferred, isolated, registry
from kitaru_nb.runtime.concurrent import CheckpointFuture
from kitaru_nb.runtime.context import (
    DurableRun,
    FlowPaused,
    Scope,
    current_run,
    diverged,
    format_traceback,
    listeners,
    new_id,
    notify,
    now,
    type_name,
)
from kitaru_nb.types import ANSWERED, AttemptStatus, CallKind, CallStatus, ExecutionStatus, FailureOrigin, RetryPolicy

P = ParamSpec("P")
R = TypeVar("R")

_DONE = ANSWERED


def fingerprint(fn: Callable[..., Any]) -> str:
    """A short hash of a function's code (bytecode, constants and names), the same in every process."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return hashlib.blake2b(repr(fn).encode(), digest_size=8).hexdigest()
    h = hashlib.blake2b(digest_size=8)
    _hash_code(h, code)
    return h.hexdigest()


def _hash_code(h: Any, code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(_const_text(code.co_consts).encode())
    h.update(repr(code.co_names).encode())


def _const_text(value: Any) -> str:
    # repr() is not stable across processes for nested code objects (their address) and
    # frozensets of str (their order follows the per-process hash seed)
    if isinstance(value, types.CodeType):
        h = hashlib.blake2b(digest_size=8)
        _hash_code(h, value)
        return f"<code {value.co_name} {h.hexdigest()}>"
    if isinstance(value, tuple):
        return "(" + ", ".join(_const_text(v) for v in value) + ")"
    if isinstance(value, frozenset):
        return "frozenset({" + ", ".join(sorted(_const_text(v) for v in value)) + "})"
    return repr(value)


class Checkpoint(Generic[P, R]):
    """A durable step of a flow."""

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        policy: RetryPolicy,
        on_error: str,
        type: str | None,
        name: str | None = None,
        cache: bool | None = None,
        sleep: Callable[[float], None] = time.sleep,
        register: bool = True,
        runtime: str = "inline",
    ):
        self.fn = fn
        self.name = name or fn.__name__
        self.key = f"{fn.__module__}:{fn.__qualname__}" if name is None else f"name:{name}"
        self.policy = policy
        self.on_error = on_error
        self.type = type
        #: Kitaru's per-checkpoint cache switch: True / False, None follows the run's ``cache=``
        self.cache = cache
        #: "inline" (the body runs in this process) or "isolated" (in a worker process)
        self.runtime = runtime
        self.fingerprint = fingerprint(fn)
        self._sleep = sleep
        functools.update_wrapper(self, fn)
        if register:
            registry.register_checkpoint(self)

    def __repr__(self) -> str:
        return f"<checkpoint {self.name}>"

    def __call__(self, *args: Any, id: str | None = None, after: Any = None, **kwargs: Any) -> R:
        """Run the checkpoint at the flow's next position and return its output.

        Kitaru's call options: ``id`` names the call (its durable name; default: the checkpoint's
        name), ``after`` (futures of submitted calls) are waited for before it runs.
        """
        run = current_run.get()
        if run is None:
            raise KitaruContextError(
                f"Checkpoints can only run inside a @flow. Checkpoint {self.name!r} was called outside a flow: "
                "call it from a @flow function and start the flow with my_flow.run(...); to test the plain "
                f"function, call {self.name}.fn(...)."
            )
        if run.in_checkpoint is not None:
            raise KitaruContextError(
                f"{concurrent.NESTED}: checkpoint {self.name!r} was called inside checkpoint "
                f"{run.in_checkpoint!r}. Call it from the flow body, or call the plain function with "
                f"{self.name}.fn(...)."
            )
        if id is not None and (not isinstance(id, str) or not id):
            raise KitaruUsageError(f"{self.name}(id=...) must be a non-empty str, got {id!r}")
        # the notebook rule: the newest definition of this checkpoint runs
        impl = registry.current_checkpoint(self.key) or self
        if after is not None:
            concurrent.await_after(after)
        if id is None and (not args or not _has_future(args)) and (not kwargs or not _has_future(kwargs.values())):
            return impl.call_in(run, args, kwargs)
        args = tuple(concurrent.resolve(a) for a in args)
        kwargs = {k: concurrent.resolve(v) for k, v in kwargs.items()}
        return impl.call_in(run, args, kwargs, name=id)

    # -- concurrent calls (Kitaru's .submit / .map / .product) ---------------------------
    def submit(self, *args: Any, id: str | None = None, after: Any = None, **kwargs: Any) -> CheckpointFuture[R]:
        """Run this checkpoint concurrently; returns a future (``result()``, ``done()``, ``exception()``).

        The call takes its durable position now, in program order. ``id`` names the call (its durable
        name; default: the checkpoint's name); ``after`` (futures) are waited for before it starts.
        Futures given as arguments stand for their outputs.
        """
        run = current_run.get()
        concurrent.check_allowed(run, self.name)
        assert run is not None
        if id is not None and (not isinstance(id, str) or not id):
            raise KitaruUsageError(f"{self.name}.submit(id=...) must be a non-empty str, got {id!r}")
        impl = registry.current_checkpoint(self.key) or self
        return impl._submit_in(run, args, kwargs, id or impl.name, after)

    def _submit_all(
        self, rows: list[tuple[Any, ...]], after: Any, kwargs: dict[str, Any]
    ) -> concurrent.CheckpointFutures:
        """``.map`` / ``.product``: every call takes its position now, in order; their bodies start
        together (one batch on the executor)."""
        run = current_run.get()
        concurrent.check_allowed(run, self.name)
        assert run is not None
        impl = registry.current_checkpoint(self.key) or self
        batch = concurrent.Batch(prefetch=impl._can_prefetch(run, rows, after, kwargs))
        try:
            return concurrent.CheckpointFutures(
                impl._submit_in(run, row, kwargs, impl.name, after, batch) for row in rows
            )
        finally:
            batch.launch()  # what was submitted runs, even when a later position diverged

    def _can_prefetch(self, run: DurableRun, rows: list[tuple[Any, ...]], after: Any, kwargs: dict[str, Any]) -> bool:
        """Whether a ``.map``'s first attempts can go to a remote runner at once, when submitted: a
        runner that takes them together (Dask), nothing to wait for first (``after=``, futures as
        inputs) and no cache to look in first (a cached call must not run at all)."""
        remote = concurrent.remote
        if remote is None or not hasattr(remote, "prefetch") or after is not None or len(rows) < 2:
            return False
        if self.cache if self.cache is not None else run.cache_enabled():
            return False
        values = itertools.chain(itertools.chain.from_iterable(rows), kwargs.values())
        return not any(isinstance(v, CheckpointFuture) for v in values)

    def map(self, *iterables: Any, after: Any = None, **kwargs: Any) -> concurrent.CheckpointFutures:
        """One concurrent call per item (``zip`` of the iterables), futures in input order;
        ``.result()`` gives the list of outputs. Keyword arguments are passed to every call."""
        try:
            rows = concurrent.zip_inputs([list(it) for it in iterables])
        except (TypeError, ValueError) as exc:
            raise KitaruUsageError(f"{self.name}.map(...) takes iterables of the same length: {exc}") from None
        return self._submit_all(rows, after, kwargs)

    def product(self, *iterables: Any, after: Any = None, **kwargs: Any) -> concurrent.CheckpointFutures:
        """One concurrent call per combination of the iterables' items (their cartesian product)."""
        try:
            rows = list(itertools.product(*[list(it) for it in iterables]))
        except TypeError as exc:
            raise KitaruUsageError(f"{self.name}.product(...) takes iterables: {exc}") from None
        return self._submit_all(rows, after, kwargs)

    def _submit_in(
        self, run: DurableRun, args: Any, kwargs: Any, name: str, after: Any, batch: concurrent.Batch | None = None
    ) -> CheckpointFuture[R]:
        idx = run.take_index()
        rec = run.recorded.get(idx)
        if rec is None:
            run.check_cancelled()
            call_id, first, restart = call_id_at(run.exec_id, idx), 1, False
        else:
            if rec.kind != CallKind.CHECKPOINT or rec.name != name:
                raise diverged(idx, rec, CallKind.CHECKPOINT, name)
            if rec.status in _DONE:
                out = rec.output
                value = serde.loads(out.format, out.data) if out is not None else None
                return CheckpointFuture.resolved(name, idx, value)
            if rec.status == CallStatus.SKIPPED:
                return CheckpointFuture.resolved(name, idx, None)
            run.check_cancelled()
            call_id, first, restart = rec.call_id, run.attempts_made(rec.call_id) + 1, True
        pre = None  # a new call of a prefetching .map: its first attempt starts now, its body goes with the rest
        if batch is not None and batch.prefetch is not None and rec is None:
            pre = self._prefetch(run, idx, call_id, args, kwargs, name, batch)
        job = (self._run_submitted, run, idx, call_id, first, restart, args, kwargs, name, after, pre)
        future = batch.add(*job) if batch is not None else concurrent.start(*job)
        run.pending.append(future)
        return CheckpointFuture(name, idx, future)

    def _prefetch(
        self, run: DurableRun, idx: int, call_id: str, args: Any, kwargs: Any, name: str, batch: concurrent.Batch
    ) -> concurrent.Prefetched:
        """A new call of a prefetching ``.map``: its first attempt starts now (held for the journal from
        this moment, as any first attempt), its body goes to the remote runner with the others at
        launch, and a driver thread journals its outcome (``_run`` with ``pre``)."""
        attempt, held = self._first_attempt(run, idx, call_id, name, None)
        pre = concurrent.Prefetched(attempt, held)
        assert batch.prefetch is not None
        batch.prefetch.append((pre, (self.fn, tuple(args), dict(kwargs), self.name)))
        return pre

    def _first_attempt(
        self, run: DurableRun, idx: int, call_id: str, call_name: str, input_key: str | None
    ) -> tuple[AttemptRow, deferred.Held]:
        """The first attempt of a new call, its start held: journaled only if it outlives
        ``deferred.HOLD`` (one commit per trivial checkpoint); every other outcome journals it before
        recording itself."""
        attempt = AttemptRow(new_id(), call_id, run.exec_id, 1, AttemptStatus.RUNNING, now())
        held = deferred.hold(
            run.journal,
            CallRow(
                call_id,
                run.exec_id,
                idx,
                CallKind.CHECKPOINT,
                call_name,
                CallStatus.RUNNING,
                attempt.started_at,
                fingerprint=self.fingerprint,
                checkpoint_type=self.type,
                input_key=input_key,
                checkpoint_name=None if call_name == self.name else self.name,
            ),
            attempt,
        )
        return attempt, held

    def _run_submitted(
        self,
        run: DurableRun,
        idx: int,
        call_id: str,
        first: int,
        restart: bool,
        args: Any,
        kwargs: Any,
        name: str,
        after: Any,
        pre: concurrent.Prefetched | None = None,
    ) -> R:
        concurrent.await_after(after)
        args = tuple(concurrent.resolve(a) for a in args)
        kwargs = {k: concurrent.resolve(v) for k, v in kwargs.items()}
        return self._run(run, idx, call_id, first, restart, args, kwargs, name, pre)

    def call_in(self, run: DurableRun, args: Any, kwargs: Any, name: str | None = None) -> R:
        """Make this checkpoint's call at the run's next position (journaled, or reused when recorded)."""
        impl = self
        call_name = name or impl.name
        idx = run.take_index()
        rec = run.recorded.get(idx)
        if rec is None:
            run.check_cancelled()
            return impl._run(run, idx, call_id_at(run.exec_id, idx), 1, False, args, kwargs, name=name)
        if rec.kind != CallKind.CHECKPOINT or rec.name != call_name:
            raise diverged(idx, rec, CallKind.CHECKPOINT, call_name)
        if rec.status in _DONE:
            out = rec.output
            return serde.loads(out.format, out.data) if out is not None else None  # type: ignore[return-value]
        if rec.status == CallStatus.SKIPPED:
            return None  # type: ignore[return-value]
        # failed, interrupted or decided "retry": run again, appending attempts
        run.check_cancelled()
        return impl._run(run, idx, rec.call_id, run.attempts_made(rec.call_id) + 1, True, args, kwargs, name=name)

    def _run(
        self,
        run: DurableRun,
        idx: int,
        call_id: str,
        first_number: int,
        restart: bool,
        args: Any,
        kwargs: Any,
        name: str | None = None,
        pre: concurrent.Prefetched | None = None,
    ) -> R:
        journal, exec_id = run.journal, run.exec_id
        call_name = name or self.name
        input_key = None
        if pre is None and not restart and (self.cache if self.cache is not None else run.cache_enabled()):
            input_key = _input_key(args, kwargs)
            if input_key is not None:
                cached = journal.find_cached(call_name, self.fingerprint, input_key)
                if cached is not None and cached.output is not None:
                    return self._reuse_cached(run, idx, call_id, call_name, input_key, cached)
        policy = self.policy
        last = policy.max_attempts - 1
        held: deferred.Held | None = None
        for n in range(policy.max_attempts):
            if n:
                attempt = AttemptRow(new_id(), call_id, exec_id, first_number + n, AttemptStatus.RUNNING, now())
                journal.start_attempt(attempt)
            elif pre is not None:
                attempt, held = pre.attempt, pre.held  # started when submitted, its body already sent
            elif restart:
                attempt = AttemptRow(new_id(), call_id, exec_id, first_number, AttemptStatus.RUNNING, now())
                journal.restart_call(call_id, attempt, fingerprint=self.fingerprint)
            else:
                attempt, held = self._first_attempt(run, idx, call_id, call_name, input_key)
            if listeners:
                notify(run, "call_started", idx, self.name)
            run.scope = Scope(self.name, call_id, attempt.attempt_id, idx)
            run.last_call = (idx, self.name)
            try:
                if self.runtime == "inline" and concurrent.remote is None:
                    value = self.fn(*args, **kwargs)
                elif n == 0 and pre is not None and pre.task is not None:
                    value = pre.runner.run_prefetched(pre.task, name=self.name)
                else:  # a worker process, or a Dask cluster (which says who ran it: take_ran_on)
                    value = concurrent.run_body(self.fn, args, kwargs, name=self.name, runtime=self.runtime)
            except Exception as exc:
                if held is not None:
                    deferred.journal_start(held)
                    held = None
                failure = isolated.failure_of(exc)
                worker = concurrent.take_ran_on()
                if n < last:
                    journal.fail_attempt(
                        attempt.attempt_id, call_id=call_id, ended_at=now(), failure=failure, worker=worker
                    )
                    self._sleep(policy.delay_before(n + 1))
                    continue
                skip, pause = self.on_error == "skip", self.on_error == "pause"
                journal.finish_call(
                    call_id,
                    attempt.attempt_id,
                    status=CallStatus.SKIPPED if skip else CallStatus.FAILED,
                    ended_at=now(),
                    failure=failure,
                    paused=pause,
                    worker=worker,
                )
                notify(run, "call_ended", idx, self.name)
                if skip:
                    return None  # type: ignore[return-value]
                if pause:
                    journal.set_execution_status(exec_id, ExecutionStatus.WAITING, expect=(ExecutionStatus.RUNNING,))
                    raise FlowPaused(f"checkpoint {self.name!r} failed and waits for a retry or skip") from exc
                raise
            except BaseException as exc:
                # KeyboardInterrupt and friends: the attempt did not finish
                failure = FailureInfo(
                    FailureOrigin.RUNTIME,
                    f"interrupted ({type(exc).__name__}) at checkpoint {self.name!r} (#{idx}); Retry continues "
                    "from there",
                    type_name(exc),
                    format_traceback(exc),
                )
                _fail(journal, held, call_id, attempt.attempt_id, failure)
                raise
            finally:
                run.scope = None
            try:
                fmt, data = serde.dumps(value)
            except serde.SerializationError as exc:
                message = f"checkpoint {self.name!r} returned a value that cannot be journaled: {exc}"
                _fail(
                    journal,
                    held,
                    call_id,
                    attempt.attempt_id,
                    FailureInfo(FailureOrigin.RUNTIME, message, type_name(value), None),
                )
                raise CheckpointOutputError(message) from exc
            output = StoredValue(fmt, serde.preview(value), data)
            worker = concurrent.take_ran_on()
            if held is not None and deferred.take(held):
                # the whole attempt in one write (a batch's calls: one write for many, see Batch)
                call, ended = held.call, now()
                call.status, call.ended_at, call.output = CallStatus.COMPLETED, ended, output
                attempt.status, attempt.ended_at, attempt.worker = AttemptStatus.COMPLETED, ended, worker
                if not concurrent.leave_to_batch("insert", journal, (call, attempt)):
                    journal.insert_call(call, attempt)
            else:
                done = Completed(call_id, attempt.attempt_id, now(), output, worker)
                if not concurrent.leave_to_batch("complete", journal, done):
                    journal.complete_calls([done])
            if listeners:
                notify(run, "call_ended", idx, self.name)
            return value
        raise AssertionError("unreachable")  # pragma: no cover

    def _reuse_cached(self, run: DurableRun, idx: int, call_id: str, name: str, input_key: str, cached: CallRow) -> R:
        """Serve a call from an earlier execution's completed call of the same code and inputs."""
        out = cached.output
        assert out is not None
        value = serde.loads(out.format, out.data)
        at = now()
        run.journal.insert_call(
            CallRow(
                call_id,
                run.exec_id,
                idx,
                CallKind.CHECKPOINT,
                name,
                CallStatus.REUSED,
                at,
                ended_at=at,
                fingerprint=self.fingerprint,
                original_call_id=cached.original_call_id or cached.call_id,
                output=shared(out),
                checkpoint_type=self.type,
                input_key=input_key,
                source_exec_id=cached.source_exec_id or cached.exec_id,
                checkpoint_name=None if name == self.name else self.name,
            )
        )
        if listeners:
            notify(run, "call_ended", idx, self.name)
        return value  # type: ignore[no-any-return]


def _fail(journal: Any, held: deferred.Held | None, call_id: str, attempt_id: str, failure: FailureInfo) -> None:
    """Journal an attempt that ends the call failed (its held start first, when it has one)."""
    if held is not None:
        deferred.journal_start(held)
    journal.finish_call(
        call_id, attempt_id, status=CallStatus.FAILED, ended_at=now(), failure=failure, worker=concurrent.take_ran_on()
    )


def _has_future(values: Any) -> bool:
    return CheckpointFuture in map(type, values)  # C-level scan: this runs on every call


def _input_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """A hash of a call's inputs for the cache (None when they cannot be journaled: no caching)."""
    try:
        fmt, data = serde.dumps([list(args), sorted(kwargs.items())])
    except serde.SerializationError:
        return None
    return hashlib.blake2b(fmt.encode() + b"\0" + data, digest_size=16).hexdigest()


class CheckpointOutputError(KitaruRuntimeError):
    """A checkpoint returned a value the journal cannot store."""


@overload
def checkpoint(fn: Callable[P, R], /) -> Checkpoint[P, R]: ...


@overload
def checkpoint(
    *,
    retries: int = 0,
    retry_delay: float = 0.0,
    backoff: float = 1.0,
    on_error: str = "fail",
    type: str | None = None,
    name: str | None = None,
    cache: bool | None = None,
    runtime: str | None = "inline",
) -> Callable[[Callable[P, R]], Checkpoint[P, R]]: ...


def checkpoint(
    fn: Callable[P, R] | None = None,
    /,
    *,
    retries: int = 0,
    retry_delay: float = 0.0,
    backoff: float = 1.0,
    on_error: str = "fail",
    type: str | None = None,
    name: str | None = None,
    cache: bool | None = None,
    runtime: str | None = "inline",
) -> Checkpoint[P, R] | Callable[[Callable[P, R]], Checkpoint[P, R]]:
    """Mark a function as a durable step of a flow.

    ``retries`` extra attempts after a failure, ``retry_delay`` seconds before the first
    retry, multiplied by ``backoff`` for each further one; ``on_error="pause"`` makes the
    execution wait for a human retry/skip decision once retries are used up, ``"skip"``
    marks the call skipped (it returns None) and the flow goes on. ``cache=True`` serves a call
    from an earlier execution's completed call of the same code and inputs, ``False`` never does,
    None (the default) follows ``flow.run(cache=...)``.
    ``runtime="isolated"`` runs the body in a worker process (see ``kitaru_nb.runtime.isolated``);
    ``"inline"``, the default, in this one.
    """
    if isinstance(retries, int) and not isinstance(retries, bool) and retries < 0:
        raise KitaruUsageError(f"Checkpoint retries must be >= 0. @checkpoint(retries=...) got {retries}")
    try:
        policy = RetryPolicy(retries=retries, retry_delay=retry_delay, backoff=backoff)
    except ValueError as exc:
        raise KitaruUsageError(f"@checkpoint: {exc}") from None
    if on_error not in ("fail", "pause", "skip"):
        raise KitaruUsageError(f"@checkpoint: on_error must be 'fail', 'pause' or 'skip', got {on_error!r}")
    if type is not None and not isinstance(type, str):
        raise KitaruUsageError(f"@checkpoint: type must be a str label or None, got {type!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise KitaruUsageError(f"@checkpoint: name must be a non-empty str, got {name!r}")
    if cache is not None and not isinstance(cache, bool):
        raise KitaruUsageError(f"@checkpoint: cache must be True, False or None, got {cache!r}")
    runtime = isolated.normalize_runtime(runtime)

    def wrap(f: Callable[P, R]) -> Checkpoint[P, R]:
        if not callable(f):
            raise KitaruUsageError(f"@checkpoint decorates a function, not {f!r}")
        return Checkpoint(f, policy=policy, on_error=on_error, type=type, name=name, cache=cache, runtime=runtime)

    if fn is not None:
        return wrap(fn)
    return wrap
