"""How a step workflow maps onto the one engine.

A run is an execution with ``kind="workflow"``; its body runs the steps in order. Each
step is a checkpoint (``type="step"``) at its position of the durable call sequence; a
step that needs confirmation is preceded by a ``wait(schema=bool)`` named
``confirm:STEP``. Resume, retry and skip therefore work the engine's way: the body runs
again from the top, finished steps return their journaled outputs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kitaru_nb.errors import KitaruDivergenceError, KitaruStateError
from kitaru_nb.journal.base import CallRow, ExecutionRow
from kitaru_nb.runtime import registry
from kitaru_nb.runtime.context import DurableRun, FlowPaused, current_run, diverged, new_id, notify, now
from kitaru_nb.runtime.watcher import watcher
from kitaru_nb.types import ExecutionStatus, FailureOrigin
from kitaru_nb.workflow.step import AttemptTracker, Step
from kitaru_nb.workflow.types import OnReject, StepInput, StepOutput

if TYPE_CHECKING:
    from kitaru_nb.workflow.workflow import Workflow

CONFIRM_PREFIX = "confirm:"
CONFIRMATION_KIND = "confirmation"
DONE = ("completed", "reused")


class RunCancelled(FlowPaused):
    """The run was cancelled from inside (a rejected step with ``OnReject.cancel``): the body stops here."""


_lock = threading.Lock()
_workflows: dict[str, Workflow] = {}

Emit = Callable[[Any], None]


# -- the registry of workflows defined in this process (newest definition wins) ----------
def register(workflow: Workflow) -> None:
    with _lock:
        _workflows[workflow.name] = workflow
    watcher.ensure_started()


def get_workflow(name: str) -> Workflow | None:
    return _workflows.get(name)


def body_for(row: ExecutionRow) -> Callable[..., Any]:
    """The body that continues a workflow run (for ``KitaruClient``'s resume, retry and skip)."""
    workflow = get_workflow(row.flow_name)
    if workflow is None:
        raise KitaruStateError(
            f"workflow {row.flow_name!r} is not defined in this process; run the cell that defines it"
        )
    check_steps_match(workflow, row)
    return make_body(workflow, None, {})


registry.register_face("workflow", body=body_for, names=lambda: list(_workflows))


# -- the definition signature, kept in the execution's meta ------------------------------
def signature(steps: list[Step]) -> list[list[Any]]:
    """What must stay the same for a run to be continued: step names, order, confirmation."""
    return [[s.name, s.requires_confirmation] for s in steps]


def check_steps_match(workflow: Workflow, row: ExecutionRow) -> None:
    recorded = row.meta.get("steps")
    current = signature(workflow.steps)
    if recorded is None or [list(x) for x in recorded] == current:
        return

    def show(sig: list[list[Any]]) -> str:
        return ", ".join(f"{n}{' (confirm)' if c else ''}" for n, c in sig)

    raise KitaruDivergenceError(
        f"run {row.exec_id[:8]} of workflow {row.flow_name!r} was recorded with steps [{show(recorded)}], but "
        f"this workflow has steps [{show(current)}]. Continue it with the definition it was started with, or "
        "start a new run.",
        exec_id=row.exec_id,
        status=ExecutionStatus(row.status),
        failure_origin=FailureOrigin.DIVERGENCE,
    )


# -- the body -------------------------------------------------------------------------
def make_body(
    workflow: Workflow,
    emit: Emit | None,
    fields: dict[str, Any],
    *,
    step_events: bool = True,
    announce_skipped: frozenset[str] = frozenset(),
    results: list[StepOutput] | None = None,
) -> Callable[..., Any]:
    """The flow body of a run of ``workflow``.

    ``emit`` receives the run's pause events (or None); step events too when ``step_events``.
    ``fields`` are the common fields of every event (run id, names). ``announce_skipped``:
    steps a decision skipped just now (their skip is news to this stream). ``results``
    receives the step outputs of a body run that finished.
    """
    steps = list(workflow.steps)
    step_emit = emit if step_events else None

    def body(input: Any = None, additional_data: dict[str, Any] | None = None) -> Any:
        from kitaru_nb.run import workflow as ev

        run = current_run.get()
        if run is None:  # pragma: no cover - the engine always sets it
            raise KitaruStateError("a workflow body runs only inside the engine")
        outputs: dict[str, StepOutput] = {}
        last: StepOutput | None = None
        previous: Any = None
        for i, step in enumerate(steps):
            if step.requires_confirmation and not _confirmed(run, step, i, emit, fields):
                live = _record_skip(run, step)
                if step.on_reject is OnReject.cancel:
                    run.journal.set_execution_status(run.exec_id, "cancelled", ended_at=now(), expect=("running",))
                    raise RunCancelled(f"step {step.name!r} was rejected; the run is cancelled")
                last = StepOutput(step_name=step.name, success=False, skipped=True, step_id=step.step_id)
                if live and step_emit is not None:
                    step_emit(ev.StepSkippedEvent(**fields, step_name=step.name, step_index=i, reason="rejected"))
                outputs[step.name] = last
                previous = None
                continue
            rec = run.recorded.get(run.next_index)
            live = rec is None or rec.status not in (*DONE, "skipped")
            if rec is not None and rec.status == "failed" and rec.kind == "checkpoint" and rec.name == step.name:
                _count_retry(run, step.name)
            tracker = AttemptTracker(step_emit, i, fields, step.max_retries + 1)
            step_input = StepInput(
                input=input,
                previous_step_content=previous,
                previous_step_outputs=dict(outputs),
                additional_data=additional_data,
            )
            if live and step_emit is not None:
                step_emit(ev.StepStartedEvent(**fields, step_name=step.name, step_index=i))
            try:
                value = step._checkpoint.call_in(run, (step_input, tracker), {})
            except FlowPaused:
                if emit is not None:
                    err = tracker.error
                    emit(
                        ev.StepPausedEvent(
                            **fields,
                            step_name=step.name,
                            step_index=i,
                            reason="error",
                            error=str(err) if err is not None else None,
                            error_type=type(err).__name__ if err is not None else None,
                        )
                    )
                raise
            if (rec is not None and rec.status == "skipped") or (live and tracker.error is not None):
                message = (
                    str(tracker.error)
                    if tracker.error is not None
                    else (rec.failure.message if rec and rec.failure else None)
                )
                last = StepOutput(step_name=step.name, success=False, error=message, skipped=True, step_id=step.step_id)
                if (live or step.name in announce_skipped) and step_emit is not None:
                    step_emit(
                        ev.StepSkippedEvent(**fields, step_name=step.name, step_index=i, reason="error", error=message)
                    )
                previous = None
            else:
                last = tracker.output if live and tracker.output is not None else to_output(value, step.name)
                if live and step_emit is not None:
                    step_emit(
                        ev.StepCompletedEvent(
                            **fields, step_name=step.name, step_index=i, content=last.content, step_response=last
                        )
                    )
                previous = last.content
            outputs[step.name] = last
            if last.stop:
                break
        if results is not None:
            results.extend(outputs.values())
        return None if last is None else last.content

    return body


def _confirmed(run: DurableRun, step: Step, index: int, emit: Emit | None, fields: dict[str, Any]) -> bool:
    from kitaru_nb.wait import wait

    try:
        answer = wait(
            schema=bool,
            name=CONFIRM_PREFIX + step.name,
            question=step.confirmation_text,
            metadata={"kitaru_kind": CONFIRMATION_KIND, "step": step.name, "message": step.confirmation_text},
        )
    except FlowPaused:
        if emit is not None:
            from kitaru_nb.run.workflow import StepPausedEvent

            emit(
                StepPausedEvent(
                    **fields,
                    step_name=step.name,
                    step_index=index,
                    reason="confirmation",
                    requires_confirmation=True,
                    confirmation_message=step.confirmation_text,
                )
            )
        raise
    return bool(answer)


def _record_skip(run: DurableRun, step: Step) -> bool:
    """Journal the step's position as skipped (its confirmation was rejected). True when new."""
    idx = run.take_index()
    rec = run.recorded.get(idx)
    if rec is not None:
        if rec.kind != "checkpoint" or rec.name != step.name:
            raise diverged(idx, rec, "checkpoint", step.name)
        return False
    t = now()
    run.journal.insert_call(
        CallRow(
            new_id(),
            run.exec_id,
            idx,
            "checkpoint",
            step.name,
            "skipped",
            t,
            t,
            fingerprint=step._checkpoint.fingerprint,
        )
    )
    notify(run, "call_ended", idx, step.name)
    return True


def _count_retry(run: DurableRun, step_name: str) -> None:
    """A failed step runs again (a retry decision): count it in the run's meta (ErrorRequirement.retry_count)."""
    row = run.journal.get_execution(run.exec_id, with_values=False)
    if row is None:  # pragma: no cover
        return
    meta = dict(row.meta)
    counts = dict(meta.get("retry_counts") or {})
    counts[step_name] = int(counts.get(step_name, 0)) + 1
    meta["retry_counts"] = counts
    run.journal.set_execution_meta(run.exec_id, meta)


def to_output(value: Any, step_name: str) -> StepOutput:
    if isinstance(value, StepOutput):
        return value
    return StepOutput(content=value, step_name=step_name)
