"""Execution control, in one place: continue an execution when it is ready, block until it ends,
read its result, and carry out requests (replay, retry) recorded by other processes.

The client records answers and decisions, then asks here to continue; handles, read models,
panels, the kernel watcher and the server all come here too. It reads the journal itself (never
the client) and finds the body of an execution through the registry (never a face directly).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from kitaru_nb import serde
from kitaru_nb.errors import (
    KitaruContextError,
    KitaruDivergenceError,
    KitaruError,
    KitaruExecutionError,
    KitaruStateError,
    KitaruTimeoutError,
    KitaruUsageError,
    KitaruUserCodeError,
)
from kitaru_nb.journal.base import CallRow, ExecutionRow, Journal, RequestRow
from kitaru_nb.models import FailureInfo
from kitaru_nb.runtime import engine, owner, registry
from kitaru_nb.runtime.context import current_run
from kitaru_nb.types import CallKind, CallStatus, ExecutionStatus, FailureOrigin


def body_of(row: ExecutionRow) -> Callable[..., Any]:
    """The callable that continues ``row``'s execution in this process, or KitaruStateError saying
    which cell to run."""
    if row.kind != "flow":
        found = registry.face(row.kind)
        if found is None:
            raise KitaruStateError(
                f"{row.kind} {row.flow_name!r} is not defined in this process; run the cell that defines it"
            )
        return found[0](row)
    flow = registry.get_flow(row.flow_name)
    if flow is None:
        raise KitaruStateError(
            f"flow {row.flow_name!r} is not defined in this process; {where_defined(row)}, then try again"
        )
    return flow.fn


def where_defined(row: ExecutionRow) -> str:
    """'run the cell that defines it' with the notebook and cell when the journal knows them."""
    o = row.owner or {}
    cell = f" (cell In[{o['cell']}] when it ran)" if o.get("cell") else ""
    if o.get("notebook"):
        return f"open {o['notebook']} and run the cell that defines it{cell}"
    return "run the cell that defines it"


def drive_claimed(
    journal: Journal, row: ExecutionRow, expect: tuple[ExecutionStatus, ...], body: Any = None
) -> ExecutionStatus:
    """Claim the execution (``expect``: the statuses it may have now) and run its body here."""
    body = body if body is not None else body_of(row)
    engine.ensure_outside_flow(row.flow_name)
    if not engine.claim(journal, row.exec_id, expect, body):
        now_row = journal.get_execution(row.exec_id, with_values=False)
        status = now_row.status if now_row else "gone"
        raise KitaruStateError(f"execution {row.exec_id[:8]} is {status} now: another caller continued it first")
    fresh = journal.get_execution(row.exec_id, with_values=True, with_result=False)
    inputs = engine.load_inputs(fresh) if fresh is not None else {}
    return engine.drive(journal, row.exec_id, row.flow_name, body, inputs)


def open_items(calls: Sequence[CallRow]) -> tuple[list[str], list[str]]:
    """(names of unanswered waits, names of checkpoints paused on error)."""
    waits = [c.name for c in calls if c.kind == CallKind.WAIT and c.status == CallStatus.WAITING]
    paused = [c.name for c in calls if c.paused]
    return waits, paused


def continue_if_ready(
    journal: Journal, exec_id: str, *, row: ExecutionRow | None = None, calls: Sequence[CallRow] | None = None
) -> bool:
    """Continue a waiting execution whose waits are all answered and whose paused checkpoints are all
    decided, if this process defines its flow. False when it is not ready, not ours to run, or
    another caller took it first. Never runs inside a running flow."""
    if current_run.get() is not None:
        return False
    row = row if row is not None else journal.get_execution(exec_id, with_values=False)
    if row is None or row.status != ExecutionStatus.WAITING:
        return False
    calls = calls if calls is not None else journal.execution_summary(exec_id)[1]  # the positions not done
    waits, paused = open_items(calls)
    if waits or paused:
        return False
    try:
        body = body_of(row)
    except KitaruStateError:
        return False
    try:
        drive_claimed(journal, row, (ExecutionStatus.WAITING,), body)
    except (KitaruStateError, KitaruContextError):  # taken by another caller
        return False
    return True


def raise_for(row: ExecutionRow) -> None:
    """Raise what a failed or cancelled execution's result raises."""
    if row.status == ExecutionStatus.FAILED:
        f = row.failure or FailureInfo(FailureOrigin.UNKNOWN, "unknown failure")
        cls: type[KitaruExecutionError] = KitaruExecutionError
        if f.origin is FailureOrigin.USER_CODE:
            cls = KitaruUserCodeError
        elif f.origin is FailureOrigin.DIVERGENCE:
            cls = KitaruDivergenceError
        what = f"{f.exception_type}: {f.message}" if f.exception_type else f.message
        err = cls(
            f"execution {row.exec_id[:8]} of flow {row.flow_name!r} failed ({f.origin.value}): {what}",
            exec_id=row.exec_id,
            status=ExecutionStatus.FAILED,
            failure_origin=f.origin,
        )
        raise err from engine.live_exception(row.exec_id)
    if row.status == ExecutionStatus.CANCELLED:
        raise KitaruStateError(f"execution {row.exec_id[:8]} of flow {row.flow_name!r} was cancelled")


def result(journal: Journal, row: ExecutionRow, *, unpickle: bool = True) -> Any:
    """The flow's return value (``row`` read with its values); raises for a failed or unfinished one."""
    if row.status == ExecutionStatus.COMPLETED:
        known, value = engine.live_result(row.exec_id)
        if known:
            return value
        if row.result is None:
            return None
        if row.result.data is None:
            full = journal.get_execution(row.exec_id, with_values=True)
            if full is None or full.result is None:
                return None
            row = full
        assert row.result is not None
        if not unpickle:
            return serde.loads_json_only(row.result.format, row.result.data)
        return serde.loads(row.result.format, row.result.data)
    raise_for(row)
    raise KitaruStateError(
        f"execution {row.exec_id[:8]} of flow {row.flow_name!r} is {row.status}; it has no result yet"
    )


def waiting_hint(journal: Journal, row: ExecutionRow) -> str:
    """What a waiting execution waits for and how to answer it."""
    waits, paused = open_items(journal.execution_summary(row.exec_id)[1])
    short = row.exec_id[:8]
    if waits:
        return (
            f"waits for {waits[0]!r}: answer it in the panel (shown in the cell that ran it), the Executions "
            f"sidebar, with `await handle`, or with KitaruClient().executions.input({short!r}, "
            f"wait={waits[0]!r}, value=...)"
        )
    if paused:
        return (
            f"has checkpoint {paused[0]!r} paused on error: click Retry or Skip in the panel, or call "
            f"KitaruClient().executions.retry({short!r}) / .skip({short!r})"
        )
    return f"has every answer it needs; it continues in the kernel that defines flow {row.flow_name!r}"


def block(journal: Journal, exec_id: str, *, timeout: float | None, in_kernel: bool) -> ExecutionStatus:
    """Wait until the execution is completed, failed or cancelled.

    In a notebook kernel a waiting execution raises KitaruStateError at once (blocking would
    freeze the notebook the human answers in); elsewhere another process's answer is picked up
    from the journal and the flow continues here.
    """
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0):
        raise KitaruUsageError(f"timeout must be a number of seconds >= 0, got {timeout!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    token = None
    while True:
        row = journal.get_execution(exec_id, with_values=False)
        if row is None:
            raise KitaruUsageError(f"no execution {exec_id!r} in the journal {journal.location}")
        status = ExecutionStatus(row.status)
        if status.is_terminal:
            return status
        if status is ExecutionStatus.WAITING:
            if continue_if_ready(journal, exec_id, row=row):
                continue
            if in_kernel:
                raise KitaruStateError(
                    f"execution {row.exec_id[:8]} of flow {row.flow_name!r} {waiting_hint(journal, row)}"
                )
            if timeout is None:
                _check_wait_timeouts(journal, row)
        elif status is ExecutionStatus.RUNNING and row.owner_pid is not None and not owner_is_alive(row):
            try:
                resume_interrupted(journal, row)
                continue
            except KitaruStateError:
                pass
        if deadline is not None and time.monotonic() >= deadline:
            raise KitaruTimeoutError(
                f"execution {row.exec_id[:8]} of flow {row.flow_name!r} is still {row.status} after {timeout} s"
            )
        # sleep until another process commits (cheap to poll), at most 250 ms per look
        stop = time.monotonic() + 0.25
        while time.monotonic() < stop and (deadline is None or time.monotonic() < deadline):
            new = journal.change_token()
            if token is not None and new != token:
                token = new
                break
            token = new
            time.sleep(0.01)


def owner_is_alive(row: ExecutionRow) -> bool:
    """The process recorded as running ``row`` still runs (its start time checked when recorded)."""
    alive = owner.owner_alive(row.owner)
    if alive is not None:
        return alive
    if owner.on_another_host(row.owner):
        return True  # a kernel on another machine sharing the journal: its pid means nothing here
    return owner.is_alive(row.owner_pid)


def resume_interrupted(journal: Journal, row: ExecutionRow) -> str:
    """Finish an execution left running by a process that died (its running attempts read
    interrupted; completed checkpoints are not run again)."""
    if row.owner_pid is not None and owner_is_alive(row) and not owner.is_me(row.owner):
        raise KitaruStateError(
            f"execution {row.exec_id[:8]} is running in {owner.describe(row.owner)}; wait for it or cancel it"
        )
    body = body_of(row)
    dead = row.owner_pid
    journal.recover_interrupted(lambda pid, start: pid != dead and owner.is_alive(pid, start))
    return drive_claimed(journal, row, (ExecutionStatus.RUNNING,), body)


def _check_wait_timeouts(journal: Journal, row: ExecutionRow) -> None:
    """A blocking get() gives up once a pending wait's own ``timeout`` has passed unanswered."""
    now = time.time()
    for c in journal.execution_summary(row.exec_id)[1]:
        if c.kind != CallKind.WAIT or c.status != CallStatus.WAITING or c.wait_timeout is None:
            continue
        if now >= c.started_at + c.wait_timeout:
            raise KitaruTimeoutError(
                f"wait {c.name!r} of execution {row.exec_id[:8]} (flow {row.flow_name!r}) got no answer "
                f"within its timeout of {c.wait_timeout} s. The execution stays waiting: answer it later with "
                f"KitaruClient().executions.input({row.exec_id[:8]!r}, wait={c.name!r}, value=...), or end "
                "it with executions.abort_wait(...)"
            )


# -- requests recorded elsewhere (the sidebar, another process) ---------------------------------
def carry_out(journal: Journal, request: RequestRow, *, on_started: Callable[[str], None] | None = None) -> None:
    """Take ``request`` (if nobody else has) and carry it out here; the outcome is recorded on it."""
    if not journal.take_request(request.request_id, owner.describe(owner.this_owner())):
        return
    try:
        if request.kind == "replay":
            from kitaru_nb.runtime.replay import run_replay

            new_id = run_replay(
                journal,
                request.exec_id,
                from_=str(request.params.get("from", "")),
                overrides=request.params.get("overrides") or None,
                after=bool(request.params.get("after", False)),
            )
            row = journal.get_execution(new_id, with_values=False)
            journal.finish_request(
                request.request_id,
                status="done",
                message=f"replayed as {new_id[:8]} ({row.status if row else 'gone'})",
                result_exec_id=new_id,
            )
        elif request.kind == "retry":
            row = journal.get_execution(request.exec_id, with_values=False)
            if row is None or row.status != ExecutionStatus.FAILED:
                raise KitaruStateError(
                    f"execution {request.exec_id[:8]} is {row.status if row else 'gone'}; only a failed one retries"
                )
            status = drive_claimed(journal, row, (ExecutionStatus.FAILED,))
            journal.finish_request(request.request_id, status="done", message=f"retried: {status}")
        else:
            raise KitaruUsageError(f"unknown request kind {request.kind!r}")
    except KitaruError as exc:
        journal.finish_request(request.request_id, status="failed", message=str(exc))
    except Exception as exc:  # a request must never break the kernel that carries it out
        journal.finish_request(request.request_id, status="failed", message=f"{type(exc).__name__}: {exc}")


def pending_requests(journal: Journal) -> list[RequestRow]:
    """Pending requests for flows this process defines."""
    names = set(registry.defined_names())
    if not names:
        return []
    return [r for r in journal.list_requests(status="pending", limit=100) if r.flow_name in names]


def may_continue_here(row: ExecutionRow) -> bool:
    """This process may continue ``row``: it owns it, or its owner is gone (or unknown)."""
    if owner.is_me(row.owner):
        return True
    return owner_is_alive(row) is False or row.owner is None
