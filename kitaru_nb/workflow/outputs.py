"""Run outputs, read from the journal: what a workflow run tells now, in this kernel or a new one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kitaru_nb import serde
from kitaru_nb.errors import KitaruStateError
from kitaru_nb.journal.base import CallRow, ExecutionRow, Journal
from kitaru_nb.runtime import engine
from kitaru_nb.types import CallKind, CallStatus, ExecutionStatus
from kitaru_nb.workflow.runner import CONFIRM_PREFIX, DONE, to_output
from kitaru_nb.workflow.types import ConfirmationRequirement, ErrorRequirement, OnReject, StepOutput

if TYPE_CHECKING:
    from kitaru_nb.run.workflow import WorkflowRunOutput


def short_type(exception_type: str | None) -> str | None:
    return None if exception_type is None else exception_type.rsplit(".", 1)[-1]


def _load(call: CallRow) -> Any:
    out = call.output
    if out is None:
        return None
    try:
        return serde.loads(out.format, out.data)
    except Exception:  # a class this process does not define (yet): show the preview
        return out.preview


def build_output(
    journal: Journal,
    exec_id: str,
    row: ExecutionRow | None = None,
    *,
    live: list[StepOutput] | None = None,
    live_input: Any = None,
    with_results: bool = True,
) -> WorkflowRunOutput:
    """The ``WorkflowRunOutput`` of a run, as the journal tells it now.

    ``live``: the step outputs of a body run that just finished in this process (and
    ``live_input`` its input); a run that completed then needs nothing read back but its row.
    ``with_results=False``: only what is pending (no step outputs are loaded).
    """
    from kitaru_nb.run.base import RunStatus
    from kitaru_nb.run.workflow import WorkflowRunOutput

    if live is not None:
        done = journal.get_execution(exec_id, with_values=False)
        known, live_content = engine.live_result(exec_id)
        if done is not None and done.status == ExecutionStatus.COMPLETED and known:
            calls = journal.load_calls(exec_id, with_values=False)
            confirmations, errors = _requirements(done.meta, calls)
            return WorkflowRunOutput(
                step_requirements=confirmations,
                error_requirements=errors,
                run_id=done.exec_id,
                workflow_name=done.flow_name,
                session_id=done.meta.get("session_id"),
                input=live_input,
                content=live_content,
                status=RunStatus.completed,
                step_results=list(live),
                created_at=done.started_at,
                workflow_id=done.meta.get("workflow_id"),
                metadata=done.meta.get("metadata"),
                _journal=journal,
            )
    if row is None or row.inputs is None or row.inputs.data is None:
        row = journal.get_execution(exec_id, with_values=True)
    if row is None:
        raise KitaruStateError(f"no workflow run {exec_id!r} in the journal {journal.location}")
    meta = row.meta
    kinds = {sig[0]: sig[1] for sig in meta.get("steps") or [] if len(sig) > 2}
    calls = journal.load_calls(row.exec_id, with_values=with_results)
    results: list[StepOutput] = []
    groups: dict[str, StepOutput] = {}
    confirmations, errors = _requirements(meta, calls)
    for call in calls:
        if call.kind == CallKind.WAIT:
            continue
        top, _, inner = call.name.partition("/")
        top = top.split("#")[0].split(":")[0]
        out = _call_output(call, inner.rsplit("/", 1)[-1] if inner else call.name) if with_results else None
        if top in kinds:
            group = groups.get(top)
            if group is None:
                group = groups[top] = StepOutput(step_name=top, step_type=kinds[top], steps=[])
                if with_results:
                    results.append(group)
            if inner and out is not None and group.steps is not None:
                group.steps.append(out)
            continue
        if out is not None:
            results.append(out)
    for group in groups.values():
        _summarize(group)
    pending_errors = [e for e in errors if e.decision is None]
    pending_confirms = [c for c in confirmations if c.confirmed is None]
    inputs: dict[str, Any] = {}
    try:
        inputs = engine.load_inputs(row)
    except Exception:
        inputs = {"input": row.inputs.preview if row.inputs else None}
    content: Any = None
    if row.status == ExecutionStatus.COMPLETED and row.result is not None:
        try:
            content = serde.loads(row.result.format, row.result.data)
        except Exception:
            content = row.result.preview
    paused = (pending_errors or pending_confirms or [None])[0]
    return WorkflowRunOutput(
        run_id=row.exec_id,
        workflow_name=row.flow_name,
        session_id=meta.get("session_id"),
        input=inputs.get("input"),
        content=content,
        status=RunStatus.from_execution(row.status),
        step_results=results,
        step_requirements=confirmations,
        error_requirements=errors,
        paused_step_name=paused.step_name if paused is not None else None,
        paused_step_index=paused.step_index if paused is not None else None,
        failure=row.failure,
        created_at=row.started_at,
        workflow_id=meta.get("workflow_id"),
        metadata=meta.get("metadata"),
        _journal=journal,
    )


def _requirements(
    meta: dict[str, Any], calls: list[CallRow]
) -> tuple[list[ConfirmationRequirement], list[ErrorRequirement]]:
    """Every requirement of the run so far: answered confirmations and decided errors, then the pending ones."""
    positions = {sig[0]: i for i, sig in enumerate(meta.get("steps") or [])}
    confirmations = [
        _confirmation(c, positions) for c in calls if c.kind == CallKind.WAIT and c.name.startswith(CONFIRM_PREFIX)
    ]
    by_id = {c.call_id: c for c in calls}
    errors = _error_requirements(meta, calls, by_id, positions, meta.get("retry_counts") or {})
    return confirmations, errors


def _confirmation(call: CallRow, positions: dict[str, int]) -> ConfirmationRequirement:
    md = json.loads(call.wait_metadata) if call.wait_metadata else {}
    name = md.get("step") or call.name.removeprefix(CONFIRM_PREFIX)
    confirmed: bool | None = None
    if call.status != CallStatus.WAITING and call.output is not None:
        try:
            confirmed = bool(serde.loads(call.output.format, call.output.data)) if call.output.data else None
        except Exception:
            confirmed = None
        if confirmed is None:
            confirmed = call.output.preview.strip().lower() == "true"
    index = md.get("step_index")
    return ConfirmationRequirement(
        step_name=name,
        step_index=index if index is not None else positions.get(name),
        confirmation_message=md.get("message") or call.wait_question,
        confirmed=confirmed,
        step_id=call.call_id,
        wait_name=call.name,
        step_type=md.get("step_type", "Step"),
        on_reject=OnReject(md.get("on_reject", OnReject.skip.value)),
    )


def _call_output(call: CallRow, name: str) -> StepOutput | None:
    f = call.failure
    if call.status in DONE:
        out = to_output(_load(call), name)
        if out.step_name is None:
            out.step_name = name
        return out
    if call.status == CallStatus.SKIPPED:
        return StepOutput(step_name=name, success=False, skipped=True, error=f.message if f else None)
    if call.status == CallStatus.FAILED and not call.paused:
        what = f"{short_type(f.exception_type)}: {f.message}" if f and f.exception_type else (f.message if f else None)
        return StepOutput(step_name=name, success=False, error=what)
    return None


def _summarize(group: StepOutput) -> None:
    """A construct's output read back from the journal: its inner outputs and the summary the run wrote."""
    from kitaru_nb.workflow.constructs import aggregate_parallel

    inner = list(group.steps or [])
    n = len(inner)
    if group.step_type == "Parallel":
        agg = aggregate_parallel(group.step_name, inner)
        group.content, group.success = agg.content, agg.success
        return
    group.success = all(o.success or o.skipped for o in inner) if inner else True
    group.content = f"{group.step_type} {group.step_name} completed with {n} results"


def _error_requirements(
    meta: dict[str, Any],
    calls: list[CallRow],
    by_id: dict[str, CallRow],
    positions: dict[str, int],
    retry_counts: dict[str, int],
) -> list[ErrorRequirement]:
    """Every error pause of the run, in order: the decided ones with their decision, the pending one last."""
    out: list[ErrorRequirement] = []
    history: list[dict[str, Any]] = list(meta.get("error_history") or [])
    latest: dict[str, int] = {}
    for entry in history:
        latest[entry["step_id"]] = max(latest.get(entry["step_id"], -1), int(entry.get("retry_count", 0)))
    seen: set[tuple[str, int]] = set()
    for entry in history:
        call = by_id.get(entry["step_id"])
        count = int(entry.get("retry_count", 0))
        decision: str | None = "retry"
        tb: str | None = None
        if count == latest[entry["step_id"]] and call is not None:
            if call.paused:
                decision, tb = None, call.failure.traceback if call.failure else None
            elif call.status == CallStatus.SKIPPED:
                decision = "skip"
        seen.add((entry["step_id"], count))
        out.append(
            ErrorRequirement(
                step_id=entry["step_id"],
                step_name=entry.get("step_name"),
                step_index=entry.get("step_index"),
                error_message=entry.get("error_message") or "",
                error_type=entry.get("error_type"),
                retry_count=count,
                decision=decision,
                traceback=tb,
                call_name=call.name if call is not None else None,
            )
        )
    for call in calls:  # a pause the history does not know (a run journaled before it was kept)
        if not call.paused:
            continue
        count = int(retry_counts.get(call.call_id, retry_counts.get(call.name, 0)))
        if (call.call_id, count) in seen:
            continue
        f = call.failure
        name = call.name.rsplit("/", 1)[-1]
        out.append(
            ErrorRequirement(
                step_id=call.call_id,
                step_name=name,
                step_index=positions.get(call.name),
                error_message=f.message if f else "",
                error_type=short_type(f.exception_type) if f else None,
                retry_count=count,
                traceback=f.traceback if f else None,
                call_name=call.name,
            )
        )
    # the pending requirement reads its error from the journal (the attempt that failed last)
    for req in out:
        call = by_id.get(req.step_id or "")
        if req.decision is None and call is not None and call.failure is not None:
            req.error_message = call.failure.message
            req.error_type = short_type(call.failure.exception_type)
    return out
