"""Checkpoint bodies on a Dask cluster: ``kitaru_nb.configure(executor=distributed.Client(...))``.

Only bodies travel. The flow body, the positions of its calls and every journal write stay in the
flow's process: a submitted call's thread here journals its attempt, hands the body to the cluster
(``client.submit``), waits, and journals the outcome with the address of the worker that ran it. The
retry policy, ``on_error``, resume, retry and replay therefore work as for threads.

What comes back is decided on the worker, so a failure is clear: the body's value pickled with
cloudpickle (a value that does not pickle fails the attempt saying so, origin ``runtime``), or its
exception as its own class with the worker's traceback (origin ``user_code``).

A worker that dies while it runs a body: Dask's scheduler would quietly run the task again on
another worker (up to ``distributed.scheduler.allowed-failures`` times), which the journal would
never see. Instead, each body announces its start (a ``kitaru-nb-start`` event naming its worker),
and the scheduler's ``remove-worker`` event lists the tasks the lost worker was processing: a task
of ours that had started there fails its attempt (origin ``runtime``, naming the worker) and its
Dask future is cancelled, so the retry policy decides what runs next, as a new attempt. A task that
was only queued on the lost worker is left to the scheduler (it had not started).

Cancelling the execution cancels the Dask futures of its calls still waiting.

Bodies go out and outcomes come back in groups. A ``.map`` sends the first attempts of all its new
calls in one ``client.map`` when it is submitted (``prefetch``; their starts are held for the journal
at that moment, see ``deferred``), and one collector thread fetches the outcomes with one
``client.gather`` for all those that finished since its last fetch; the calls' threads then journal
each outcome. Other bodies (``.submit``, retries, isolated calls) go through ``_Group``: one
``client.map`` sends all those queued meanwhile, one ``client.gather`` fetches those that are ready.
Each call still gets its own future, attempt and outcome.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from kitaru_nb.errors import KitaruRuntimeError, KitaruUsageError
from kitaru_nb.models import FailureInfo
from kitaru_nb.runtime import concurrent, isolated
from kitaru_nb.runtime.context import current_run, format_traceback, type_name
from kitaru_nb.types import FailureOrigin

START_TOPIC = "kitaru-nb-start"
#: seconds between two looks at the execution's status while a body runs (cancel)
CANCEL_CHECK_SECONDS = 0.25
#: seconds between two fetches of a ``.map``'s finished outcomes (the first one after a pause goes at once)
GATHER_PACE = 0.05


class DaskCheckpointError(KitaruRuntimeError):
    """A checkpoint body could not be sent to the cluster, or its outcome could not come back."""


class DaskWorkerDied(DaskCheckpointError):
    """The Dask worker running a checkpoint body left the cluster before the body returned."""

    def __init__(self, message: str, *, worker: str):
        super().__init__(message)
        self.worker = worker


class _Task:
    __slots__ = ("died", "done", "future", "group", "key", "reply", "started_on")

    def __init__(self, future: Any, key: str):
        self.future = future
        self.key = key
        self.done = threading.Event()
        self.started_on: str | None = None
        self.died: str | None = None
        #: (worker, reply) fetched for it by its group's collector (None: fetch it when it is done)
        self.reply: tuple[str, bytes] | None = None
        #: the tasks sent with it by one ``prefetch`` (a ``.map``), cancelled together
        self.group: list[_Task] | None = None


class _Group:
    """Group sending: each thread hands over one item and gets its own outcome, but the thread that
    finds no batch under way sends everything queued with one call (one message to the scheduler for
    a whole ``.map``, one fetch from the workers for many results), while the threads that arrive
    during that call queue theirs for the next batch. Nothing waits for a batch to fill. A batch
    that fails is sent again one item at a time, so an error is that item's alone."""

    def __init__(self, send: Callable[[list[Any]], list[Any]]):
        self._send = send
        self._queue: list[_Item] = []
        self._lock = threading.Lock()
        self._sending = threading.Lock()

    def __call__(self, payload: Any) -> Any:
        item = _Item(payload)
        with self._lock:
            self._queue.append(item)
        while not item.done.is_set():
            if not self._sending.acquire(timeout=0.05):
                continue
            try:
                with self._lock:
                    batch, self._queue = self._queue, []
                if batch:
                    self._run(batch)
            finally:
                self._sending.release()
        if item.error is not None:
            raise item.error
        return item.value

    def _run(self, batch: list[_Item]) -> None:
        try:
            values = self._send([i.payload for i in batch])
        except BaseException as exc:
            if len(batch) > 1:
                for one in batch:
                    self._run([one])
                return
            batch[0].error = exc
            batch[0].done.set()
            return
        for item, value in zip(batch, values, strict=True):
            item.value = value
            item.done.set()


class _Item:
    __slots__ = ("done", "error", "payload", "value")

    def __init__(self, payload: Any):
        self.payload = payload
        self.value: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()


class DaskExecutor:
    """Runs checkpoint bodies on the Dask cluster of ``client`` (see the module docstring)."""

    def __init__(self, client: Any, *, runs: str = "concurrent", owned: bool = False):
        self.client = client
        self.runs = runs
        self._owned = owned
        self._tasks: dict[str, _Task] = {}
        self._early: dict[str, str] = {}  # start events that came before their task was registered
        self._lock = threading.Lock()
        self._submit = _Group(self._submit_batch)  # bodies to the cluster, many per message
        self._gather = _Group(self._gather_batch)  # outcomes back, many per fetch
        client.subscribe_topic(START_TOPIC, self._on_start)
        client.subscribe_topic("all", self._on_cluster_event)

    @classmethod
    def of(cls, target: Any, *, runs: str = "concurrent") -> DaskExecutor:
        """A ``distributed.Client`` or a scheduler address (a client is connected, and closed with this)."""
        try:
            import distributed
        except ImportError as exc:
            raise KitaruUsageError(
                "configure(executor=...) with a Dask cluster needs distributed: pip install 'kitaru-nb[team]' "
                "(or distributed)"
            ) from exc
        if isinstance(target, str):
            try:
                client = distributed.Client(target, timeout="20s", set_as_default=False)  # type: ignore[no-untyped-call]
            except OSError as exc:
                raise KitaruUsageError(
                    f"cannot reach the Dask scheduler at {target!r} ({exc}); start it (dask scheduler) or fix the "
                    "address in KITARU_NB_EXECUTOR / configure(executor=...)"
                ) from exc
            return cls(client, runs=runs, owned=True)
        if not isinstance(target, distributed.Client):
            raise KitaruUsageError(f"configure(executor=...) takes a distributed.Client, not {type(target).__name__}")
        return cls(target, runs=runs)

    @property
    def dashboard_link(self) -> str | None:
        try:
            link = self.client.dashboard_link
        except Exception:
            return None
        return str(link) if link else None

    def driver_threads(self) -> int:
        try:
            cluster_threads = sum(self.client.nthreads().values())
        except Exception:
            cluster_threads = 0
        return max(32, 4 * int(cluster_threads))

    def close(self) -> None:
        for topic in (START_TOPIC, "all"):
            try:
                self.client.unsubscribe_topic(topic)
            except Exception:
                pass
        if self._owned:
            self.client.close()

    # -- events from the cluster ---------------------------------------------------------------
    def _on_start(self, event: Any) -> None:
        _, msg = event
        key, worker = msg.get("key"), msg.get("worker")
        with self._lock:
            task = self._tasks.get(key)
            if task is None:
                self._early[key] = worker
                return
            task.started_on = worker

    def _on_cluster_event(self, event: Any) -> None:
        _, msg = event
        if not isinstance(msg, dict) or msg.get("action") != "remove-worker" or msg.get("expected"):
            return
        worker = msg.get("worker")
        with self._lock:
            for key in msg.get("processing-tasks") or ():
                task = self._tasks.get(key)
                if task is not None and task.started_on == worker and task.died is None:
                    task.died = worker
                    task.done.set()

    # -- running a body ------------------------------------------------------------------------
    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, name: str) -> Any:
        key = f"kitaru-{name}-{uuid.uuid4().hex}"
        try:
            future = self._submit((fn, args, kwargs, name, key))
        except Exception as exc:
            message = (
                f"checkpoint {name!r} cannot be sent to the Dask cluster: {type_name(exc)}: {exc}. Its function, "
                "its arguments and the globals it uses must pickle (cloudpickle): pass plain data or a path instead "
                "of open files, connections, locks or threads."
            )
            raise _with_failure(
                DaskCheckpointError(message),
                FailureInfo(FailureOrigin.RUNTIME, message, type_name(exc), format_traceback(exc)),
            ) from exc
        task = self._register(future, key)
        future.add_done_callback(lambda _f: task.done.set())
        return self._outcome_of(task, name)

    def prefetch(
        self, calls: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], str]]
    ) -> list[Any] | None:
        """Send the first attempts of a ``.map``'s calls to the cluster now, all in one message (one
        ``client.map``); one collector thread fetches their outcomes in groups as they finish. Each
        call's attempt then waits for its own with ``run_prefetched``. None: they could not be sent
        together (something does not pickle), and each call sends its own (and gets its own error)."""
        if not calls:
            return []
        keys = [f"kitaru-{name}-{uuid.uuid4().hex}" for _, _, _, name in calls]
        try:
            futures = self._submit_batch([(*call, key) for call, key in zip(calls, keys, strict=True)])
        except Exception:
            return None
        group = [self._register(future, key) for future, key in zip(futures, keys, strict=True)]
        for task in group:
            task.group = group
        threading.Thread(target=self._collect, args=(group,), name="kitaru-dask-collect", daemon=True).start()
        return group

    def run_prefetched(self, task: Any, *, name: str) -> Any:
        """The outcome of a body sent by ``prefetch`` (its value, or its exception raised here)."""
        return self._outcome_of(task, name)

    def _register(self, future: Any, key: str) -> _Task:
        task = _Task(future, key)
        with self._lock:
            self._tasks[key] = task
            early = self._early.pop(key, None)
            if early is not None:
                task.started_on = early
        return task

    def _collect(self, group: list[_Task]) -> None:
        """Fetch the outcomes of a prefetched group as they finish: one ``gather`` for all those that
        finished since the last one, at most one every ``GATHER_PACE`` seconds (a fetch goes through
        the scheduler: hundreds of small ones cost the cluster more than the bodies did)."""
        from distributed import as_completed

        by_key = {t.key: t for t in group}
        last = 0.0
        try:
            completed = as_completed([t.future for t in group], loop=self.client.loop)  # type: ignore[no-untyped-call]
            for batch in completed.batches():  # type: ignore[no-untyped-call]
                finished = [f for f in batch if f.status == "finished"]
                if finished:
                    gap = GATHER_PACE - (time.monotonic() - last)
                    if gap > 0:
                        time.sleep(gap)
                    last = time.monotonic()
                    try:
                        replies = self.client.gather(finished)
                    except Exception:
                        replies = None  # each call fetches its own, and gets its own error
                    if replies is not None:
                        for f, reply in zip(finished, replies, strict=True):
                            by_key[f.key].reply = reply
                for f in batch:
                    by_key[f.key].done.set()
        finally:
            for task in group:  # the collector failed: each call waits for its own future, as a .submit does
                if not task.done.is_set():
                    task.future.add_done_callback(lambda _f, task=task: task.done.set())

    def _outcome_of(self, task: _Task, name: str) -> Any:
        key, future = task.key, task.future
        try:
            self._wait(task, name)
            if task.died is not None:
                future.cancel()
                concurrent.set_ran_on(task.died)
                message = (
                    f"the Dask worker {task.died} running checkpoint {name!r} left the cluster before the body returned "
                    "(its process died or was killed, often by the out-of-memory killer or a crash in native code). "
                    "The flow is unaffected: give the checkpoint retries=N to run it again on another worker, or Retry."
                )
                raise _with_failure(
                    DaskWorkerDied(message, worker=task.died),
                    FailureInfo(FailureOrigin.RUNTIME, message, type_name(DaskWorkerDied)),
                )
            try:
                worker, reply = task.reply if task.reply is not None else self._gather(future)
            except BaseException as exc:
                raise self._lost(exc, name, task) from exc
        finally:
            with self._lock:
                self._tasks.pop(key, None)
            future.release()  # the scheduler forgets the task: a later lost worker cannot make it run again
        concurrent.set_ran_on(worker)
        return _outcome(reply, name, worker)

    def _submit_batch(self, calls: list[tuple[Any, ...]]) -> list[Any]:
        fns, argses, kwargses, names, keys = (list(column) for column in zip(*calls, strict=True))
        futures: list[Any] = self.client.map(_remote_body, fns, argses, kwargses, names, key=keys, pure=False)
        return futures

    def _gather_batch(self, futures: list[Any]) -> list[Any]:
        values: list[Any] = self.client.gather(futures)
        return values

    def _wait(self, task: _Task, name: str) -> None:
        run = current_run.get()
        check = getattr(run, "check_cancelled", None)
        timeout = 0.0 if task.group is not None else CANCEL_CHECK_SECONDS  # a queued call looks at once
        while not task.done.wait(timeout):
            timeout = CANCEL_CHECK_SECONDS
            if check is not None:
                try:
                    check()
                except BaseException:
                    # the execution was cancelled: its waiting bodies go too (a .map's all at once)
                    waiting = [t.future for t in (task.group or [task]) if not t.done.is_set()]
                    self.client.cancel(waiting)
                    concurrent.set_ran_on(task.started_on)
                    raise

    def _lost(self, exc: BaseException, name: str, task: _Task) -> BaseException:
        """The future itself failed: the scheduler gave up on the task (KilledWorker) or it was cancelled."""
        worker = getattr(getattr(exc, "last_worker", None), "address", None) or task.started_on
        concurrent.set_ran_on(worker)
        what = type_name(exc)
        if what.endswith("KilledWorker"):
            message = (
                f"Dask gave up on checkpoint {name!r}: the workers that ran it died ({exc}). Retry once the cluster "
                "is healthy."
            )
        else:
            message = f"the Dask task of checkpoint {name!r} ended without an outcome: {what}: {exc}"
        return _with_failure(DaskCheckpointError(message), FailureInfo(FailureOrigin.RUNTIME, message, what))


def _with_failure(exc: BaseException, failure: FailureInfo) -> BaseException:
    exc._kitaru_failure = failure  # type: ignore[attr-defined]
    return exc


def _outcome(reply: bytes, name: str, worker: str) -> Any:
    import pickle

    kind, *rest = pickle.loads(reply)  # our own worker-side function's reply
    if kind == "unpicklable":
        value_type, problem, records = rest
        from kitaru_nb.artifacts import apply_records

        apply_records(records)  # what the body saved and logged before its value failed to pickle
        message = (
            f"checkpoint {name!r} returned a {value_type} that cannot be sent back from the Dask worker {worker}: "
            f"{problem}. Return plain data (numbers, str, lists, dicts, arrays, dataframes, models), or write it "
            "to shared storage and return the path."
        )
        raise _with_failure(DaskCheckpointError(message), FailureInfo(FailureOrigin.RUNTIME, message, value_type))
    return isolated._outcome(reply, name)  # a value, or the body's exception as itself


# -- the worker side ---------------------------------------------------------------------------


def _remote_body(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> tuple[str, bytes]:
    """Runs on a Dask worker: announce the start, run the body, reply with its outcome as bytes."""
    import pickle

    from distributed import get_worker
    from distributed.worker import thread_state  # type: ignore[attr-defined]

    from kitaru_nb.runtime.context import current_run

    worker = get_worker()
    worker.log_event(START_TOPIC, {"key": thread_state.key, "worker": worker.address, "at": time.time()})
    # kitaru.save / kitaru.log are recorded here and journaled by the flow's process with the outcome
    body = isolated._IsolatedBody(name)
    token = current_run.set(body)  # type: ignore[arg-type]
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:  # SystemExit included: the body's outcome, not the worker's
        return worker.address, isolated._raised(exc, body.records)
    finally:
        current_run.reset(token)
    try:
        return worker.address, pickle.dumps(("ok", isolated._dumps(value), body.records))
    except Exception as exc:
        return worker.address, pickle.dumps(("unpicklable", type_name(value), f"{type_name(exc)}: {exc}", body.records))
