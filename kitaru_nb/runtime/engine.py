"""The one engine: drive an execution's flow body against its journal.

Start, resume, retry and replay all come here: the flow body re-runs from the top,
recorded positions return their journaled outputs, new positions run live.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from kitaru_nb import serde
from kitaru_nb.errors import KitaruContextError, KitaruRuntimeError, KitaruUsageError
from kitaru_nb.journal.base import ExecutionRow, Journal, StoredValue
from kitaru_nb.models import FailureInfo
from kitaru_nb.runtime import concurrent
from kitaru_nb.runtime.context import (
    DurableRun,
    FlowCancelled,
    FlowDiverged,
    FlowPaused,
    current_run,
    format_traceback,
    listeners,
    notify,
    now,
    type_name,
)
from kitaru_nb.runtime.owner import this_owner
from kitaru_nb.types import ExecutionStatus, FailureOrigin

_MAX_REMEMBERED = 64
_lock = threading.Lock()
# in-process memory of the last outcomes, so a handle can give the live exception as __cause__
_exceptions: OrderedDict[str, BaseException] = OrderedDict()
_results: OrderedDict[str, Any] = OrderedDict()


def _remember(store: OrderedDict[str, Any], exec_id: str, value: Any) -> None:
    with _lock:
        store[exec_id] = value
        store.move_to_end(exec_id)
        while len(store) > _MAX_REMEMBERED:
            store.popitem(last=False)


# journals flows of this process used (the kernel watcher looks at each)
_journals: dict[int, Journal] = {}


_journal_by_exec: OrderedDict[str, Journal] = OrderedDict()


def journals_in_use() -> list[Journal]:
    return list(_journals.values())


def journal_of(exec_id: str) -> Journal | None:
    """The journal a recent drive in this process used for ``exec_id``."""
    return _journal_by_exec.get(exec_id)


def live_exception(exec_id: str) -> BaseException | None:
    return _exceptions.get(exec_id)


def live_result(exec_id: str) -> tuple[bool, Any]:
    with _lock:
        if exec_id in _results:
            return True, _results[exec_id]
    return False, None


def add_listener(fn: Callable[[str, str, int, str], None]) -> None:
    """Call ``fn(event, exec_id, index, name)`` on every call start/end and drive end in this process."""
    listeners.append(fn)


def remove_listener(fn: Callable[[str, str, int, str], None]) -> None:
    if fn in listeners:
        listeners.remove(fn)


def bind_inputs(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise KitaruUsageError(f"flow {fn.__name__!r}: {exc}") from None
    return dict(bound.arguments)


def call_with_inputs(fn: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, p in inspect.signature(fn).parameters.items():
        if name not in inputs:
            continue
        value = inputs[name]
        if p.kind is p.POSITIONAL_ONLY:
            args.append(value)
        elif p.kind is p.VAR_POSITIONAL:
            args.extend(value)
        elif p.kind is p.VAR_KEYWORD:
            kwargs.update(value)
        else:
            kwargs[name] = value
    return fn(*args, **kwargs)


def store_value(value: Any) -> StoredValue:
    fmt, data = serde.dumps(value)
    return StoredValue(fmt, serde.preview(value), data)


def load_inputs(row: ExecutionRow) -> dict[str, Any]:
    if row.inputs is None:
        return {}
    value = serde.loads(row.inputs.format, row.inputs.data)
    return value if isinstance(value, dict) else {}


def new_execution_row(
    exec_id: str, flow_name: str, inputs: dict[str, Any], *, kind: str = "flow", body: Any = None, **extra: Any
) -> ExecutionRow:
    try:
        stored = store_value(inputs)
    except serde.SerializationError as exc:
        raise KitaruUsageError(f"flow {flow_name!r}: its inputs cannot be journaled: {exc}") from None
    return ExecutionRow(
        exec_id=exec_id,
        flow_name=flow_name,
        kind=kind,
        status=ExecutionStatus.RUNNING,
        started_at=now(),
        owner_pid=os.getpid(),
        owner=this_owner(body),
        inputs=stored,
        **extra,
    )


def claim(journal: Journal, exec_id: str, expect: tuple[ExecutionStatus, ...], body: Any = None) -> bool:
    """Atomically make this process the one that runs the execution (recorded as its owner)."""
    return journal.set_execution_status(
        exec_id, ExecutionStatus.RUNNING, owner_pid=os.getpid(), owner=this_owner(body), expect=expect
    )


def ensure_outside_flow(flow_name: str) -> None:
    """Refuse to start, resume, retry or replay an execution from inside a running flow.

    Checked before anything is written, so a refused call leaves no execution behind.
    """
    if current_run.get() is not None:
        raise KitaruContextError(
            f"flow {flow_name!r} cannot start or resume inside another running flow; "
            "call its checkpoints directly instead"
        )


def drive(
    journal: Journal,
    exec_id: str,
    flow_name: str,
    body: Callable[..., Any],
    inputs: dict[str, Any],
    *,
    cache: bool | None = None,
) -> ExecutionStatus:
    """Run ``body`` for execution ``exec_id`` (already claimed: status running). Returns the new status.

    ``cache``: whether the execution was started with ``cache=True`` (None: read from its meta when a
    checkpoint asks)."""
    concurrent.ensure_env_executor()  # KITARU_NB_EXECUTOR: connect to the cluster on the first run
    ensure_outside_flow(flow_name)
    _journals.setdefault(id(journal), journal)
    _remember(_journal_by_exec, exec_id, journal)
    # the one bulk read of a resume: every recorded position with its output, served from memory
    run = DurableRun(journal, exec_id, flow_name, {c.idx: c for c in journal.load_recorded(exec_id)}, cache=cache)
    token = current_run.set(run)
    status = ExecutionStatus.RUNNING
    if listeners:
        notify(run, "drive_started", -1, flow_name)
    try:
        try:
            try:
                result = call_with_inputs(body, inputs)
            finally:
                run.join_pending()  # calls submitted concurrently end before the execution does
        except FlowPaused:
            status = ExecutionStatus.WAITING
        except FlowCancelled:
            status = ExecutionStatus.CANCELLED
        except FlowDiverged as exc:
            status = _fail(
                journal, exec_id, FailureInfo(FailureOrigin.DIVERGENCE, exc.message, "KitaruDivergenceError")
            )
        except KitaruRuntimeError as exc:
            _remember(_exceptions, exec_id, exc)
            status = _fail(
                journal, exec_id, FailureInfo(FailureOrigin.RUNTIME, str(exc), type_name(exc), format_traceback(exc))
            )
        except Exception as exc:  # user code (a KitaruError it let escape included)
            _remember(_exceptions, exec_id, exc)
            status = _fail(
                journal, exec_id, FailureInfo(FailureOrigin.USER_CODE, str(exc), type_name(exc), format_traceback(exc))
            )
        except BaseException as exc:
            _remember(_exceptions, exec_id, exc)
            _fail(
                journal,
                exec_id,
                FailureInfo(FailureOrigin.RUNTIME, _interrupted(run, exc), type_name(exc), format_traceback(exc)),
            )
            raise
        else:
            try:
                stored = store_value(result)
            except serde.SerializationError as exc:
                status = _fail(
                    journal,
                    exec_id,
                    FailureInfo(
                        FailureOrigin.RUNTIME,
                        f"flow {flow_name!r} returned a value that cannot be journaled: {exc}",
                        type_name(result),
                    ),
                )
            else:
                _remember(_results, exec_id, result)
                if journal.set_execution_status(
                    exec_id, ExecutionStatus.COMPLETED, ended_at=now(), result=stored, expect=(ExecutionStatus.RUNNING,)
                ):
                    status = ExecutionStatus.COMPLETED
                else:
                    status = _current_status(journal, exec_id)
    finally:
        current_run.reset(token)
        notify(None, "drive_ended", -1, status, exec_id=exec_id)
    return status


def _interrupted(run: DurableRun, exc: BaseException) -> str:
    where = (
        f"at checkpoint {run.last_call[1]!r} (#{run.last_call[0]})"
        if run.last_call is not None
        else f"at position {run.next_index}"
    )
    return f"interrupted ({type(exc).__name__}) {where}; Retry continues from there"


def _current_status(journal: Journal, exec_id: str) -> ExecutionStatus:
    row = journal.get_execution(exec_id, with_values=False)
    return row.status if row else ExecutionStatus.FAILED


def _fail(journal: Journal, exec_id: str, failure: FailureInfo) -> ExecutionStatus:
    if journal.set_execution_status(
        exec_id, ExecutionStatus.FAILED, ended_at=now(), failure=failure, expect=(ExecutionStatus.RUNNING,)
    ):
        return ExecutionStatus.FAILED
    return _current_status(journal, exec_id)
