"""Run outputs, read through the client: what a workflow run tells now, in this kernel or a new one.

A ``WorkflowRunOutput`` is a translation of the client's ``Execution``: its checkpoints are the
steps (inner steps under a path), its confirmation waits the step requirements, its meta the
error-pause history; values come from ``client.executions.outputs`` in one read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru_nb.errors import KitaruStateError, KitaruUsageError
from kitaru_nb.models import CheckpointCall, Execution, WaitRecord
from kitaru_nb.runtime import engine
from kitaru_nb.types import CallStatus, ExecutionStatus
from kitaru_nb.workflow.runner import CONFIRM_PREFIX, DONE, to_output
from kitaru_nb.workflow.types import ConfirmationRequirement, ErrorRequirement, OnReject, StepOutput

if TYPE_CHECKING:
    from kitaru_nb.client import KitaruClient
    from kitaru_nb.run.workflow import WorkflowRunOutput

_MISSING = object()


def short_type(exception_type: str | None) -> str | None:
    return None if exception_type is None else exception_type.rsplit(".", 1)[-1]


def read_run(client: KitaruClient, exec_id: str) -> Execution:
    """The run's execution, read through the client (``KitaruStateError`` when it is not there)."""
    try:
        return client.executions.get(exec_id)
    except KitaruUsageError:
        raise KitaruStateError(f"no workflow run {exec_id!r} in the journal {client.journal.location}") from None


def build_output(
    client: KitaruClient,
    exec_id: str,
    ex: Execution | None = None,
    *,
    live: list[StepOutput] | None = None,
    live_input: Any = None,
    with_results: bool = True,
) -> WorkflowRunOutput:
    """The ``WorkflowRunOutput`` of a run, as the client tells it now.

    ``ex``: the run's ``Execution`` when read already (``client.executions.get``).
    ``live``: the step outputs of a body run that just finished in this process (and
    ``live_input`` its input); a run that completed then needs nothing read back but its requirements.
    ``with_results=False``: only what is pending (no step outputs are loaded).
    """
    from kitaru_nb.run.base import RunStatus
    from kitaru_nb.run.workflow import WorkflowRunOutput

    if ex is None:
        ex = read_run(client, exec_id)
    meta = ex.meta
    if live is not None:
        known, live_content = engine.live_result(exec_id)
        if ex.status == ExecutionStatus.COMPLETED and known:
            confirmations, errors = _requirements(ex)
            return WorkflowRunOutput(
                step_requirements=confirmations,
                error_requirements=errors,
                run_id=ex.exec_id,
                workflow_name=ex.flow_name,
                session_id=meta.get("session_id"),
                input=live_input,
                content=live_content,
                status=RunStatus.completed,
                step_results=list(live),
                created_at=ex.started_at.timestamp(),
                workflow_id=meta.get("workflow_id"),
                metadata=meta.get("metadata"),
                _client=client,
            )
    kinds = {sig[0]: sig[1] for sig in meta.get("steps") or [] if len(sig) > 2}
    values = client.executions.outputs(ex.exec_id) if with_results else {}
    results: list[StepOutput] = []
    groups: dict[str, StepOutput] = {}
    confirmations, errors = _requirements(ex)
    for call in ex.checkpoints:
        top, _, inner = call.name.partition("/")
        top = top.split("#")[0].split(":")[0]
        out = _call_output(call, inner.rsplit("/", 1)[-1] if inner else call.name, values) if with_results else None
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
    inputs = ex.inputs
    content: Any = None
    if ex.status == ExecutionStatus.COMPLETED and with_results:
        try:
            content = ex.result
        except Exception:  # a class this process does not define (yet): show the preview
            content = ex.result_preview
    paused = (pending_errors or pending_confirms or [None])[0]
    return WorkflowRunOutput(
        run_id=ex.exec_id,
        workflow_name=ex.flow_name,
        session_id=meta.get("session_id"),
        input=inputs["input"] if "input" in inputs else inputs.get("preview"),
        content=content,
        status=RunStatus.from_execution(ex.status),
        step_results=results,
        step_requirements=confirmations,
        error_requirements=errors,
        paused_step_name=paused.step_name if paused is not None else None,
        paused_step_index=paused.step_index if paused is not None else None,
        failure=ex.failure,
        created_at=ex.started_at.timestamp(),
        workflow_id=meta.get("workflow_id"),
        metadata=meta.get("metadata"),
        _client=client,
    )


def top_name(path: str) -> str:
    """The top-level step a journaled path belongs to (``refine#2/work`` -> ``refine``)."""
    return path.partition("/")[0].split("#")[0].split(":")[0]


def _requirements(ex: Execution) -> tuple[list[ConfirmationRequirement], list[ErrorRequirement]]:
    """Every requirement of the run so far: answered confirmations and decided errors, then the pending ones."""
    meta = ex.meta
    positions = {sig[0]: i for i, sig in enumerate(meta.get("steps") or [])}
    feedback = meta.get("rejection_feedback") or {}
    confirmations = [
        _confirmation(w, positions, feedback)
        for w in ex.waits
        if w.kind == "confirmation" and w.name.startswith(CONFIRM_PREFIX)
    ]
    errors = _error_requirements(meta, ex.checkpoints, positions, meta.get("retry_counts") or {})
    return confirmations, errors


def _confirmation(w: WaitRecord, positions: dict[str, int], feedback: dict[str, str]) -> ConfirmationRequirement:
    md = w.metadata
    path = w.name.removeprefix(CONFIRM_PREFIX)
    name = md.get("step") or path
    confirmed: bool | None = None
    if w.status != CallStatus.WAITING and w.answer_preview is not None:
        # the answer of a wait(schema=bool): its preview is the bool's text
        confirmed = w.answer_preview.strip().lower() == "true"
    index = md.get("step_index")
    return ConfirmationRequirement(
        step_name=name,
        step_index=index if index is not None else positions.get(top_name(path)),
        confirmation_message=md.get("message") or w.question,
        confirmed=confirmed,
        step_id=w.wait_id,
        wait_name=w.name,
        step_type=md.get("step_type", "Step"),
        on_reject=OnReject(md.get("on_reject", OnReject.skip.value)),
        rejection_feedback=feedback.get(w.wait_id or "") if confirmed is False else None,
    )


def _call_output(call: CheckpointCall, name: str, values: dict[int, Any]) -> StepOutput | None:
    f = call.failure
    if call.status in DONE:
        value = values.get(call.index, _MISSING)
        out = to_output(call.output_preview if value is _MISSING else value, name)
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
    calls: list[CheckpointCall],
    positions: dict[str, int],
    retry_counts: dict[str, int],
) -> list[ErrorRequirement]:
    """Every error pause of the run, in order: the decided ones with their decision, the pending one last."""
    by_id = {c.call_id: c for c in calls}
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
                step_index=_index(entry.get("step_index"), entry.get("step_name"), call, positions),
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
                step_index=positions.get(top_name(call.name)),
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


def _index(recorded: Any, name: Any, call: CheckpointCall | None, positions: dict[str, int]) -> int | None:
    """A requirement's ``step_index``: the top-level step it sits in (as recorded, else from its path)."""
    if isinstance(recorded, int):
        return recorded
    if call is not None:
        return positions.get(top_name(call.name))
    return positions.get(name) if isinstance(name, str) else None
