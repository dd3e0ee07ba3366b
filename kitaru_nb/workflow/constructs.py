"""``Parallel``, ``Loop``, ``Condition``, ``Router`` and ``Steps``: steps arranged, each inner step
a journaled checkpoint of the run (see ``runner``), named as in the API this face mirrors.

What a construct's output tells follows that API: its ``StepOutput`` has ``step_type`` set to the
construct's kind, ``steps`` lists the inner outputs in order, and ``content`` is a summary
(``Parallel``: one section per branch; ``Loop``: ``"Loop NAME completed N iterations with M total
steps"``; ``Condition`` / ``Router`` / ``Steps``: ``"... completed with N results"``). Inside a
``Loop``, ``Condition``, ``Router`` or ``Steps`` each step gets the previous inner step's content;
the branches of a ``Parallel`` all get the input the ``Parallel`` got.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.runtime.checkpoint import Checkpoint, fingerprint
from kitaru_nb.runtime.context import FlowPaused
from kitaru_nb.types import DONE_STATUSES, CallKind, CallStatus, RetryPolicy
from kitaru_nb.workflow.types import OnReject, StepInput, StepOutput, parse_on_reject

if TYPE_CHECKING:
    from kitaru_nb.workflow.runner import Ctx

log = logging.getLogger("kitaru_nb.workflow")


class Construct:
    """What every construct has: a name, a kind, groups of steps."""

    kind = "Construct"
    name: str | None

    def groups(self) -> list[list[Any]]:
        raise NotImplementedError

    def _check_name(self) -> None:
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip() or "/" in self.name):
            raise KitaruUsageError(
                f"{self.kind}(name=...) must be a non-empty str without '/', got {self.name!r} (inner steps are "
                "journaled as 'NAME/step')"
            )

    def __repr__(self) -> str:
        return f"{self.kind}(name={self.name!r}, steps={[[getattr(s, 'name', s) for s in g] for g in self.groups()]})"


def prepare(steps: Any, owner: str) -> list[Any]:
    from kitaru_nb.workflow.step import as_step

    if callable(steps) and not isinstance(steps, (list, tuple)):
        steps = [steps]
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence) or not steps:
        raise KitaruUsageError(f"{owner}: steps must be a non-empty list of Step objects (or functions), got {steps!r}")
    return [as_step(s) for s in steps]


def _selection_checkpoint(name: str, fn: Callable[..., Any], kind: str) -> Checkpoint[..., Any]:
    cp: Checkpoint[..., Any] = Checkpoint(
        fn, policy=RetryPolicy(retries=0), on_error="fail", type=kind, name=name, register=False
    )
    return cp


def run(ctx: Ctx, node: Construct, step_input: StepInput, scope: str, index: Any) -> tuple[StepOutput, bool]:
    """Run a construct at the run's next positions (the runner's ``run_node`` for non-steps)."""
    from kitaru_nb.workflow.condition import Condition
    from kitaru_nb.workflow.loop import Loop
    from kitaru_nb.workflow.parallel import Parallel
    from kitaru_nb.workflow.router import Router
    from kitaru_nb.workflow.steps import Steps

    if isinstance(node, Parallel):
        return _parallel(ctx, node, step_input, scope, index)
    if isinstance(node, Loop):
        return _loop(ctx, node, step_input, scope, index)
    if isinstance(node, Condition):
        return _condition(ctx, node, step_input, scope, index)
    if isinstance(node, Router):
        return _router(ctx, node, step_input, scope, index)
    if isinstance(node, Steps):
        return _sequence(ctx, node, node.steps, step_input, scope, index, "Steps")
    raise KitaruUsageError(f"not a step or construct: {node!r}")  # pragma: no cover


def chain(step_input: StepInput, out: StepOutput, outputs: dict[str, StepOutput]) -> StepInput:
    """The input of the next step inside a construct: this step's content, every output so far."""
    merged = dict(step_input.previous_step_outputs or {})
    merged.update(outputs)
    return StepInput(
        input=step_input.input,
        previous_step_content=out.content,
        previous_step_outputs=merged,
        additional_data=step_input.additional_data,
    )


def _run_chain(
    ctx: Ctx, steps: list[Any], step_input: StepInput, scope: str, index: Any
) -> tuple[list[StepOutput], bool, StepInput, bool]:
    """Steps one after the other, each getting the previous one's content.
    Returns (outputs, anything live, the input after the last step, a step asked to stop)."""
    from kitaru_nb.workflow.runner import run_node

    results: list[StepOutput] = []
    outputs: dict[str, StepOutput] = {}
    live_any = False
    current = step_input
    for i, sub in enumerate(steps):
        sub_index = (*index, i) if isinstance(index, tuple) else (index, i)
        out, live = run_node(ctx, sub, current, scope, sub_index)
        live_any = live_any or live
        results.append(out)
        outputs[sub.name] = out
        if out.stop:
            return results, live_any, current, True
        current = chain(current, out, outputs)
    return results, live_any, current, False


def _summary(kind: str, name: str | None, content: str, results: list[StepOutput], **extra: Any) -> StepOutput:
    return StepOutput(
        step_name=name,
        step_type=kind,
        content=content,
        success=all(r.success or r.skipped for r in results) if results else True,
        stop=any(r.stop for r in results) if results else False,
        steps=results,
        **extra,
    )


def _started(ctx: Ctx, cls_name: str, node: Construct, index: Any, **fields: Any) -> None:
    from kitaru_nb.run import workflow as ev

    if ctx.step_emit is not None:
        ctx.step_emit(getattr(ev, cls_name)(**ctx.fields, step_name=node.name, step_index=index, **fields))


def _confirm_construct(
    ctx: Ctx, node: Any, scope: str, index: Any, default_message: str
) -> tuple[bool, OnReject, bool] | None:
    from kitaru_nb.workflow.runner import confirm

    if not getattr(node, "requires_confirmation", False):
        return None
    message = node.confirmation_message or default_message
    return confirm(ctx, scope + node.name, node.name, message, node.on_reject, index, node.kind)


def _rejected(ctx: Ctx, node: Any, reject: OnReject) -> StepOutput:
    from kitaru_nb.workflow.runner import cancel_run

    if reject is OnReject.cancel:
        cancel_run(ctx.run, node.name)
    return StepOutput(step_name=node.name, step_type=node.kind, success=False, skipped=True)


# -- Steps ---------------------------------------------------------------------------
def _sequence(
    ctx: Ctx, node: Any, steps: list[Any], step_input: StepInput, scope: str, index: Any, kind: str
) -> tuple[StepOutput, bool]:
    decided = _confirm_construct(ctx, node, scope, index, f"Execute steps '{node.name}'?")
    if decided is not None and not decided[0]:
        return _rejected(ctx, node, decided[1]), decided[2]
    _started(ctx, "StepsExecutionStartedEvent", node, index, steps_count=len(steps))
    results, live, _, _ = _run_chain(ctx, steps, step_input, f"{scope}{node.name}/", index)
    out = _summary(kind, node.name, f"Steps {node.name} completed with {len(results)} results", results)
    _started(
        ctx,
        "StepsExecutionCompletedEvent",
        node,
        index,
        steps_count=len(steps),
        executed_steps=len(results),
        step_results=results,
    )
    return out, live or bool(decided and decided[2])


# -- Parallel ------------------------------------------------------------------------
def aggregate_parallel(name: str | None, results: list[StepOutput]) -> StepOutput:
    """The Parallel's output: one section per branch, as the mirrored API writes it."""
    if not results:
        return StepOutput(step_name=name, step_type="Parallel", content="No parallel steps executed", steps=[])
    text = "## Parallel Execution Results\n\n"
    for i, out in enumerate(results):
        step_name = out.step_name or f"Step {i + 1}"
        icon = "❌ FAILURE:" if out.success is False else "✅ SUCCESS:"
        text += f"### {icon} {step_name}\n"
        content = out.content or ""
        text += f"{content}\n\n" if content and str(content).strip() else "*(No content)*\n\n"
    return StepOutput(
        step_name=name,
        step_type="Parallel",
        executor_type="parallel",
        executor_name=name,
        content=text.strip(),
        success=not any(r.success is False for r in results),
        stop=any(r.stop for r in results),
        steps=results,
    )


def _parallel(ctx: Ctx, node: Any, step_input: StepInput, scope: str, index: Any) -> tuple[StepOutput, bool]:
    """Plain steps run concurrently on the engine's executor, each at the position it took when submitted
    (in branch order); a branch that is itself a construct, or asks for confirmation, runs in turn."""
    from kitaru_nb.run import workflow as ev
    from kitaru_nb.workflow.runner import _count_retry, error_paused, run_node, step_output
    from kitaru_nb.workflow.step import AttemptTracker, Step

    run = ctx.run
    prefix = f"{scope}{node.name}/"
    _started(ctx, "ParallelExecutionStartedEvent", node, index, parallel_step_count=len(node.steps))
    slots: list[Any] = []
    live_any = False
    for i, sub in enumerate(node.steps):
        sub_index = (*index, i) if isinstance(index, tuple) else (index, i)
        if isinstance(sub, Step) and not sub.requires_confirmation:
            path = prefix + sub.name
            idx = run.next_index
            rec = run.recorded.get(idx)
            live = rec is None or rec.status not in DONE_STATUSES
            if rec is not None and rec.kind == CallKind.CHECKPOINT and rec.name == path:
                if rec.status == CallStatus.FAILED:
                    _count_retry(ctx, rec.call_id)
                if rec.call_id in ctx.continued and ctx.emit is not None:
                    ctx.emit(
                        ev.StepContinuedEvent(
                            **ctx.fields, step_name=sub.name, step_index=sub_index, step_id=rec.call_id
                        )
                    )
            tracker = AttemptTracker(ctx.step_emit, sub_index, ctx.fields, sub.max_retries + 1)
            if live and ctx.step_emit is not None:
                ctx.step_emit(ev.StepStartedEvent(**ctx.fields, step_name=sub.name, step_index=sub_index))
            future = sub.checkpoint_at(path)._submit_in(run, (step_input, tracker), {}, path, None)
            slots.append(("submitted", sub, sub_index, idx, rec, live, tracker, future))
        else:
            try:
                out, live = run_node(ctx, sub, step_input, prefix, sub_index)
            except FlowPaused:
                slots.append(("paused", sub, sub_index))
                continue
            slots.append(("done", out, live))
    results: list[StepOutput] = []
    paused = False
    failure: BaseException | None = None
    for slot in slots:
        if slot[0] == "done":
            results.append(slot[1])
            live_any = live_any or slot[2]
            continue
        if slot[0] == "paused":
            paused = True
            continue
        _, sub, sub_index, idx, rec, live, tracker, future = slot
        live_any = live_any or live
        try:
            value = future.result()
        except FlowPaused:
            error_paused(ctx, sub, idx, sub_index, tracker.error)
            paused = True
            continue
        except BaseException as exc:  # OnError.fail in a branch: the run fails once every branch ended
            failure = failure or exc
            continue
        results.append(step_output(ctx, sub, rec, live, tracker, value, sub_index))
    if failure is not None:
        raise failure
    if paused:
        raise FlowPaused(f"a branch of parallel {node.name!r} waits for a human")
    out = aggregate_parallel(node.name, results)
    _started(
        ctx, "ParallelExecutionCompletedEvent", node, index, parallel_step_count=len(node.steps), step_results=results
    )
    return out, live_any


# -- Loop ----------------------------------------------------------------------------
def _loop(ctx: Ctx, node: Any, step_input: StepInput, scope: str, index: Any) -> tuple[StepOutput, bool]:
    decided = _confirm_construct(ctx, node, scope, index, f"Execute loop '{node.name}'?")
    if decided is not None and not decided[0]:
        return _rejected(ctx, node, decided[1]), decided[2]
    _started(ctx, "LoopExecutionStartedEvent", node, index, max_iterations=node.max_iterations)
    all_results: list[StepOutput] = []
    live_any = bool(decided and decided[2])
    current = step_input
    iteration = 0
    while iteration < node.max_iterations:
        iteration += 1
        _started(ctx, "LoopIterationStartedEvent", node, index, iteration=iteration, max_iterations=node.max_iterations)
        results, live, current, stop = _run_chain(ctx, node.steps, current, f"{scope}{node.name}#{iteration}/", index)
        live_any = live_any or live
        all_results.extend(results)
        done = stop or node.should_end(results)
        _started(
            ctx,
            "LoopIterationCompletedEvent",
            node,
            index,
            iteration=iteration,
            max_iterations=node.max_iterations,
            iteration_results=results,
            should_continue=not done,
        )
        if done:
            break
    _started(
        ctx, "LoopExecutionCompletedEvent", node, index, total_iterations=iteration, max_iterations=node.max_iterations
    )
    content = f"Loop {node.name} completed {iteration} iterations with {len(all_results)} total steps"
    return _summary("Loop", node.name, content, all_results), live_any


# -- Condition -----------------------------------------------------------------------
def _condition(ctx: Ctx, node: Any, step_input: StepInput, scope: str, index: Any) -> tuple[StepOutput, bool]:
    decided = _confirm_construct(
        ctx, node, scope, index, f"Execute condition '{node.name}'? (yes=if branch, no=else branch)"
    )
    live_any = bool(decided and decided[2])
    if decided is not None:
        met = decided[0]
        if not met and decided[1] is not OnReject.else_branch:
            return _rejected(ctx, node, decided[1]), live_any
        if not met and not node.else_steps:
            content = f"Condition {node.name} rejected - skipped (no else branch)"
            return StepOutput(step_name=node.name, step_type="Condition", content=content), live_any
    else:
        cp = _selection_checkpoint(scope + node.name, node.evaluate, "condition")
        cp.fingerprint = node.fingerprint
        live_any = live_any or _is_live(ctx)
        met = bool(cp.call_in(ctx.run, (step_input,), {}))
    _started(ctx, "ConditionExecutionStartedEvent", node, index, condition_result=met)
    if met:
        steps, branch = node.steps, "if"
    elif node.else_steps:
        steps, branch = node.else_steps, "else"
    else:
        content = f"Condition {node.name} not met - skipped {len(node.steps)} steps"
        return StepOutput(step_name=node.name, step_type="Condition", content=content), live_any
    results, live, _, _ = _run_chain(ctx, steps, step_input, f"{scope}{node.name}:{branch}/", index)
    _started(
        ctx,
        "ConditionExecutionCompletedEvent",
        node,
        index,
        condition_result=met,
        executed_steps=len(results),
        branch=branch,
        step_results=results,
    )
    content = f"Condition {node.name} completed with {len(results)} results ({branch} branch)"
    return _summary("Condition", node.name, content, results), live_any or live


def _is_live(ctx: Ctx) -> bool:
    rec = ctx.run.recorded.get(ctx.run.next_index)
    return rec is None or rec.status not in DONE_STATUSES


# -- Router --------------------------------------------------------------------------
def _router(ctx: Ctx, node: Any, step_input: StepInput, scope: str, index: Any) -> tuple[StepOutput, bool]:
    decided = _confirm_construct(ctx, node, scope, index, f"Execute router '{node.name}'?")
    if decided is not None and not decided[0]:
        return _rejected(ctx, node, decided[1]), decided[2]
    cp = _selection_checkpoint(scope + node.name, node.select, "router")
    cp.fingerprint = node.fingerprint
    live_any = bool(decided and decided[2]) or _is_live(ctx)
    chosen_names: list[str] = list(cp.call_in(ctx.run, (step_input,), {}) or [])
    by_name = {s.name: s for s in node.choices}
    chosen = [by_name[n] for n in chosen_names if n in by_name]
    _started(ctx, "RouterExecutionStartedEvent", node, index, selected_steps=chosen_names)
    if not chosen:
        content = f"Router {node.name} completed with 0 results (no steps selected)"
        return StepOutput(step_name=node.name, step_type="Router", content=content, steps=[]), live_any
    results, live, _, _ = _run_chain(ctx, chosen, step_input, f"{scope}{node.name}/", index)
    _started(
        ctx,
        "RouterExecutionCompletedEvent",
        node,
        index,
        selected_steps=chosen_names,
        executed_steps=len(results),
        step_results=results,
    )
    content = f"Router {node.name} completed with {len(results)} results"
    return _summary("Router", node.name, content, results), live_any or live


def reject_setting(value: Any, owner: str, allowed: tuple[OnReject, ...]) -> OnReject:
    reject = parse_on_reject(value)
    if reject not in allowed:
        raise KitaruUsageError(f"{owner}: on_reject must be one of {[r.value for r in allowed]}, got {value!r}")
    return reject


def fingerprint_of(fn: Any) -> str:
    return fingerprint(fn) if callable(fn) else fingerprint(lambda: fn)
