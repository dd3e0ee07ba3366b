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
from kitaru_nb.workflow.types import ConfirmationRequirement, ErrorRequirement, StepOutput

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
            return WorkflowRunOutput(
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
    positions = {name: i for i, (name, *_rest) in enumerate(meta.get("steps") or [])}
    retry_counts: dict[str, int] = meta.get("retry_counts") or {}
    results: list[StepOutput] = []
    errors: list[ErrorRequirement] = []
    confirmations: list[ConfirmationRequirement] = []
    token: list[str] = []
    for call in journal.load_calls(row.exec_id, with_values=with_results):
        if call.kind == CallKind.WAIT:
            if call.status == CallStatus.WAITING and call.name.startswith(CONFIRM_PREFIX):
                md = json.loads(call.wait_metadata) if call.wait_metadata else {}
                name = md.get("step") or call.name.removeprefix(CONFIRM_PREFIX)
                confirmations.append(
                    ConfirmationRequirement(
                        step_name=name,
                        step_index=positions.get(name),
                        confirmation_message=md.get("message") or call.wait_question,
                        step_id=call.call_id,
                        wait_name=call.name,
                    )
                )
                token.append(f"wait:{call.call_id}")
            continue
        f = call.failure
        if call.paused:
            errors.append(
                ErrorRequirement(
                    step_name=call.name,
                    step_index=positions.get(call.name),
                    error_message=f.message if f else "",
                    error_type=short_type(f.exception_type) if f else None,
                    retry_count=int(retry_counts.get(call.name, 0)),
                    traceback=f.traceback if f else None,
                    step_id=call.call_id,
                )
            )
            token.append(f"error:{call.call_id}@{call.ended_at!r}")
        elif not with_results:
            continue
        elif call.status in DONE:
            results.append(to_output(_load(call), call.name))
        elif call.status == CallStatus.SKIPPED:
            results.append(StepOutput(step_name=call.name, success=False, skipped=True, error=f.message if f else None))
        elif call.status == CallStatus.FAILED:
            what = (
                f"{short_type(f.exception_type)}: {f.message}" if f and f.exception_type else (f.message if f else None)
            )
            results.append(StepOutput(step_name=call.name, success=False, error=what))
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
    paused = (errors or confirmations or [None])[0]
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
        _pause_token=tuple(token),
    )
