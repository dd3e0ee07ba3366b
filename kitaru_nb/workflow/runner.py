"""How a step workflow maps onto the one engine.

A run is an execution with ``kind="workflow"``; its body runs the steps in order. Each
step is a checkpoint (``type="step"``) at its position of the durable call sequence; a
step that needs confirmation is preceded by a ``wait(schema=bool)`` named
``confirm:STEP``. Resume, retry and skip therefore work the engine's way: the body runs
again from the top, finished steps return their journaled outputs.

Steps inside a ``Parallel`` / ``Loop`` / ``Condition`` / ``Router`` / ``Steps`` are journaled
under a path: ``research/web`` (a Parallel branch), ``refine#2/draft`` (the second iteration of
a Loop), ``gate:else/notify`` (a Condition's else branch), ``route/deep`` (the step a Router
chose). A Router's choice and a Condition's verdict are journaled too (checkpoints named after
the construct), so a continue after a restart takes the same route.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kitaru_nb.errors import KitaruDivergenceError, KitaruStateError
from kitaru_nb.journal.base import CallRow, ExecutionRow
from kitaru_nb.runtime import registry
from kitaru_nb.runtime.context import DurableRun, FlowPaused, call_id_at, current_run, diverged, notify, now
from kitaru_nb.runtime.watcher import watcher
from kitaru_nb.types import ANSWERED, DONE_STATUSES, CallKind, CallStatus, ExecutionStatus, FailureOrigin
from kitaru_nb.workflow import constructs
from kitaru_nb.workflow.step import AttemptTracker, Step
from kitaru_nb.workflow.types import OnReject, StepInput, StepOutput

if TYPE_CHECKING:
    from kitaru_nb.workflow.workflow import Workflow

CONFIRM_PREFIX = "confirm:"
CONFIRMATION_KIND = "confirmation"
DONE = ANSWERED


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
def signature(steps: list[Any]) -> list[list[Any]]:
    """What must stay the same for a run to be continued: step names, order, confirmation, nesting."""
    out: list[list[Any]] = []
    for s in steps:
        if isinstance(s, Step):
            out.append([s.name, s.requires_confirmation])
        else:
            out.append([s.name, s.kind, *[signature(group) for group in s.groups()]])
    return out


def check_steps_match(workflow: Workflow, row: ExecutionRow) -> None:
    recorded = row.meta.get("steps")
    current = signature(workflow.steps)
    if recorded is None or _plain(recorded) == current:
        return

    def show(sig: list[list[Any]]) -> str:
        return ", ".join(
            f"{x[0]}{' (confirm)' if x[1] is True else ''}" if len(x) == 2 else f"{x[1]} {x[0]}" for x in sig
        )

    raise KitaruDivergenceError(
        f"run {row.exec_id[:8]} of workflow {row.flow_name!r} was recorded with steps [{show(recorded)}], but "
        f"this workflow has steps [{show(current)}]. Continue it with the definition it was started with, or "
        "start a new run.",
        exec_id=row.exec_id,
        status=ExecutionStatus(row.status),
        failure_origin=FailureOrigin.DIVERGENCE,
    )


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


# -- the body -------------------------------------------------------------------------
@dataclass
class Ctx:
    """What every step of one body run shares."""

    run: DurableRun
    emit: Emit | None  # pause / continue / output events (any stream)
    step_emit: Emit | None  # step events (stream_events)
    fields: dict[str, Any]
    announce_skipped: frozenset[str] = frozenset()
    continued: frozenset[str] = frozenset()
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_body(
    workflow: Workflow,
    emit: Emit | None,
    fields: dict[str, Any],
    *,
    step_events: bool = True,
    announce_skipped: frozenset[str] = frozenset(),
    continued: frozenset[str] = frozenset(),
    results: list[StepOutput] | None = None,
) -> Callable[..., Any]:
    """The flow body of a run of ``workflow``.

    ``emit`` receives the run's pause, continue and step-output events (or None); step events
    too when ``step_events``. ``fields`` are the common fields of every event (run id, names).
    ``announce_skipped``: steps a decision skipped just now (their skip is news to this stream);
    ``continued``: the call ids of the confirmations and paused steps this continue resolved
    (each gets a ``StepContinuedEvent``). ``results`` receives the step outputs of a body run
    that finished.
    """
    steps = list(workflow.steps)
    function = workflow.function_step

    def body(input: Any = None, additional_data: dict[str, Any] | None = None) -> Any:
        from kitaru_nb.run import workflow as ev

        run = current_run.get()
        if run is None:  # pragma: no cover - the engine always sets it
            raise KitaruStateError("a workflow body runs only inside the engine")
        ctx = Ctx(run, emit, emit if step_events else None, fields, announce_skipped, continued)
        if function is not None:
            out = run_function(ctx, function, input, additional_data)
            if results is not None:
                results.append(out)
            return out.content
        outputs: dict[str, StepOutput] = {}
        last: StepOutput | None = None
        previous: Any = None
        for i, node in enumerate(steps):
            step_input = StepInput(
                input=input,
                previous_step_content=previous,
                previous_step_outputs=dict(outputs),
                additional_data=additional_data,
            )
            last, live = run_node(ctx, node, step_input, "", i)
            if live and emit is not None:
                emit(ev.StepOutputEvent(**fields, step_name=node.name, step_index=i, step_output=last))
            outputs[node.name] = last
            previous = None if last.skipped else last.content
            if last.stop:
                break
        if results is not None:
            results.extend(outputs.values())
        return None if last is None else last.content

    return body


def run_node(ctx: Ctx, node: Any, step_input: StepInput, scope: str, index: Any) -> tuple[StepOutput, bool]:
    """Run one step or construct at the run's next positions; returns its output and whether
    anything in it ran (or was decided) live in this body run."""
    if isinstance(node, Step):
        return run_step(ctx, node, step_input, scope, index)
    return constructs.run(ctx, node, step_input, scope, index)


def run_step(ctx: Ctx, step: Step, step_input: StepInput, scope: str, index: Any) -> tuple[StepOutput, bool]:
    from kitaru_nb.run import workflow as ev

    run, fields = ctx.run, ctx.fields
    path = scope + step.name
    if step.requires_confirmation:
        confirmed, reject, decided_now = confirm(ctx, path, step.name, step.confirmation_text, step.on_reject, index)
        if not confirmed:
            live = _record_skip(run, step, path)
            if reject is OnReject.cancel:
                cancel_run(run, step.name)
            out = StepOutput(step_name=step.name, success=False, skipped=True, step_id=step.step_id)
            if live and ctx.step_emit is not None:
                ctx.step_emit(ev.StepSkippedEvent(**fields, step_name=step.name, step_index=index, reason="rejected"))
            return out, live or decided_now
    rec = run.recorded.get(run.next_index)
    live = rec is None or rec.status not in DONE_STATUSES
    if rec is not None and rec.kind == CallKind.CHECKPOINT and rec.name == path:
        if rec.status == CallStatus.FAILED:
            _count_retry(ctx, rec.call_id)
        if rec.call_id in ctx.continued and ctx.emit is not None:
            ctx.emit(ev.StepContinuedEvent(**fields, step_name=step.name, step_index=index, step_id=rec.call_id))
    tracker = AttemptTracker(ctx.step_emit, index, fields, step.max_retries + 1)
    if live and ctx.step_emit is not None:
        ctx.step_emit(ev.StepStartedEvent(**fields, step_name=step.name, step_index=index))
    idx = run.next_index
    try:
        value = step.checkpoint_at(path).call_in(run, (step_input, tracker), {})
    except FlowPaused:
        error_paused(ctx, step, idx, index, tracker.error)
        raise
    decided_now = rec is not None and rec.call_id in ctx.continued
    return step_output(ctx, step, rec, live, tracker, value, index), live or decided_now


def step_output(
    ctx: Ctx, step: Step, rec: CallRow | None, live: bool, tracker: AttemptTracker, value: Any, index: Any
) -> StepOutput:
    """What a step call returned, as a ``StepOutput`` (skipped after an error, or completed)."""
    from kitaru_nb.run import workflow as ev

    fields = ctx.fields
    if (rec is not None and rec.status == CallStatus.SKIPPED) or (live and tracker.error is not None):
        message = (
            str(tracker.error) if tracker.error is not None else (rec.failure.message if rec and rec.failure else None)
        )
        out = StepOutput(step_name=step.name, success=False, error=message, skipped=True, step_id=step.step_id)
        announce = live or (rec is not None and rec.call_id in ctx.announce_skipped)
        if announce and ctx.step_emit is not None:
            ctx.step_emit(
                ev.StepSkippedEvent(**fields, step_name=step.name, step_index=index, reason="error", error=message)
            )
        return out
    out = tracker.output if live and tracker.output is not None else to_output(value, step.name)
    if live and ctx.step_emit is not None:
        ctx.step_emit(
            ev.StepCompletedEvent(
                **fields, step_name=step.name, step_index=index, content=out.content, step_response=out
            )
        )
    return out


def error_paused(ctx: Ctx, step: Step, idx: int, index: Any, error: BaseException | None) -> None:
    """A step failed under ``OnError.pause``: keep the requirement in the run's history, announce the pause."""
    from kitaru_nb.run import workflow as ev

    run = ctx.run
    call = next((c for c in run.journal.load_calls(run.exec_id, with_values=False) if c.idx == idx), None)
    if call is not None:
        with ctx.lock, _meta_lock:
            meta = _meta(run)
            count = int((meta.get("retry_counts") or {}).get(call.call_id, 0))
            history = list(meta.get("error_history") or [])
            if not any(e.get("step_id") == call.call_id and e.get("retry_count") == count for e in history):
                history.append(
                    {
                        "step_id": call.call_id,
                        "step_name": step.name,
                        "step_index": top_index(index),
                        "error_message": str(error) if error is not None else "",
                        "error_type": type(error).__name__ if error is not None else None,
                        "retry_count": count,
                    }
                )
                meta["error_history"] = history
                run.journal.set_execution_meta(run.exec_id, meta)
    if ctx.emit is not None:
        ctx.emit(
            ev.StepPausedEvent(
                **ctx.fields,
                step_name=step.name,
                step_index=index,
                step_id=call.call_id if call is not None else None,
                reason="error",
                error=str(error) if error is not None else None,
                error_type=type(error).__name__ if error is not None else None,
            )
        )


def confirm(
    ctx: Ctx, path: str, name: str, message: str, on_reject: OnReject, index: Any, step_type: str = "Step"
) -> tuple[bool, OnReject, bool]:
    """The confirmation before a step or construct: (confirmed, what a rejection does, answered just now)."""
    from kitaru_nb.run import workflow as ev
    from kitaru_nb.wait import wait

    run = ctx.run
    idx = run.next_index
    try:
        answer = wait(
            schema=bool,
            name=CONFIRM_PREFIX + path,
            question=message,
            metadata={
                "kitaru_kind": CONFIRMATION_KIND,
                "step": name,
                "message": message,
                "on_reject": on_reject.value,
                "step_type": step_type,
                "step_index": top_index(index),
            },
        )
    except FlowPaused:
        if ctx.emit is not None:
            rows = run.journal.load_calls(run.exec_id, with_values=False)
            wait_id = next((c.call_id for c in rows if c.idx == idx), None)
            ctx.emit(
                ev.StepPausedEvent(
                    **ctx.fields,
                    step_name=name,
                    step_index=index,
                    step_id=wait_id,
                    reason="confirmation",
                    requires_confirmation=True,
                    confirmation_message=message,
                )
            )
        raise
    rec = run.recorded.get(idx)
    decided_now = rec is not None and rec.call_id in ctx.continued
    if decided_now and ctx.emit is not None and rec is not None:
        ctx.emit(ev.StepContinuedEvent(**ctx.fields, step_name=name, step_index=index, step_id=rec.call_id))
    reject = on_reject
    if rec is not None:
        override = (_meta(run).get("on_reject") or {}).get(rec.call_id) if not answer else None
        if override is not None:
            reject = OnReject(override)
    return bool(answer), reject, decided_now


def top_index(index: Any) -> int | None:
    """The index a requirement carries: its top-level step's (a nested step's events carry the whole
    path of indexes; its requirement, as in the mirrored API, the index of the workflow step it is in)."""
    if isinstance(index, tuple):
        index = index[0] if index else None
    return index if isinstance(index, int) else None


def cancel_run(run: DurableRun, name: str) -> None:
    run.journal.set_execution_status(
        run.exec_id, ExecutionStatus.CANCELLED, ended_at=now(), expect=(ExecutionStatus.RUNNING,)
    )
    raise RunCancelled(f"step {name!r} was rejected; the run is cancelled")


def run_function(ctx: Ctx, step: Step, input: Any, additional_data: dict[str, Any] | None) -> StepOutput:
    """``Workflow(steps=fn)``: the function is the body, journaled as one step named after it; its
    executor gets the ``WorkflowExecutionInput`` (``input``, ``additional_data``)."""
    from kitaru_nb.workflow.types import WorkflowExecutionInput

    execution_input = WorkflowExecutionInput(input=input, additional_data=additional_data)
    rec = ctx.run.recorded.get(ctx.run.next_index)
    live = rec is None or rec.status not in DONE_STATUSES
    tracker = AttemptTracker(ctx.step_emit, 0, ctx.fields, 1)
    value = step.checkpoint_at(step.name).call_in(ctx.run, (execution_input, tracker), {})
    return step_output(ctx, step, rec, live, tracker, value, 0)


def _record_skip(run: DurableRun, step: Step, path: str) -> bool:
    """Journal the step's position as skipped (its confirmation was rejected). True when new."""
    idx = run.take_index()
    rec = run.recorded.get(idx)
    if rec is not None:
        if rec.kind != CallKind.CHECKPOINT or rec.name != path:
            raise diverged(idx, rec, CallKind.CHECKPOINT, path)
        return False
    t = now()
    run.journal.insert_call(
        CallRow(
            call_id_at(run.exec_id, idx),
            run.exec_id,
            idx,
            CallKind.CHECKPOINT,
            path,
            CallStatus.SKIPPED,
            t,
            t,
            fingerprint=step.checkpoint_at(path).fingerprint,
        )
    )
    notify(run, "call_ended", idx, path)
    return True


_meta_lock = threading.Lock()


def _meta(run: DurableRun) -> dict[str, Any]:
    row = run.journal.get_execution(run.exec_id, with_values=False)
    return dict(row.meta) if row is not None else {}


def _count_retry(ctx: Ctx, call_id: str) -> None:
    """A failed step runs again (a retry decision): count it in the run's meta (ErrorRequirement.retry_count)."""
    run = ctx.run
    with ctx.lock, _meta_lock:
        meta = _meta(run)
        counts = dict(meta.get("retry_counts") or {})
        counts[call_id] = int(counts.get(call_id, 0)) + 1
        meta["retry_counts"] = counts
        run.journal.set_execution_meta(run.exec_id, meta)


def to_output(value: Any, step_name: str) -> StepOutput:
    if isinstance(value, StepOutput):
        return value
    return StepOutput(content=value, step_name=step_name)
