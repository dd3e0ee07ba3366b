"""``Step``: one durable step of a workflow, run as a checkpoint of the one engine."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.runtime.checkpoint import Checkpoint, fingerprint
from kitaru_nb.runtime.context import type_name
from kitaru_nb.types import RetryPolicy
from kitaru_nb.workflow.types import HumanReview, OnError, OnReject, StepInput, StepOutput

__all__ = ["Step", "StepInput", "StepOutput"]

_ENGINE_ON_ERROR = {OnError.fail: "fail", OnError.skip: "skip", OnError.pause: "pause"}


@dataclass
class AttemptTracker:
    """What the body of one run learns from the attempts of one step call."""

    emit: Callable[[Any], None] | None
    step_index: Any
    event_fields: dict[str, Any]
    max_attempts: int
    attempts: int = 0
    error: BaseException | None = None
    output: StepOutput | None = field(default=None, repr=False)


class Step:
    """A step of a workflow: ``executor(step_input) -> StepOutput`` (a plain return value is wrapped).

    ``on_error``: ``OnError.fail`` (default), ``OnError.skip`` or ``OnError.pause``.
    ``max_retries`` extra attempts run at once after a failure; every attempt is journaled.
    ``requires_confirmation=True`` pauses the run before the step until someone confirms
    (the step runs) or rejects (the step is skipped; ``on_reject=OnReject.cancel`` cancels the
    run instead). ``human_review=HumanReview(...)`` sets
    the same in one object.
    """

    def __init__(
        self,
        name: str | None = None,
        executor: Callable[..., Any] | None = None,
        *,
        on_error: OnError | str = OnError.fail,
        max_retries: int = 0,
        requires_confirmation: bool = False,
        confirmation_message: str | None = None,
        description: str | None = None,
        step_id: str | None = None,
        skip_on_failure: bool = False,
        on_reject: OnReject | str = OnReject.skip,
        human_review: HumanReview | None = None,
        agent: Any = None,
        team: Any = None,
    ):
        if human_review is None and not requires_confirmation:
            from kitaru_nb.workflow.decorators import ATTRIBUTE, NAME_ATTRIBUTE

            human_review = getattr(executor, ATTRIBUTE, None)
            if name is None:
                name = getattr(executor, NAME_ATTRIBUTE, None)
        if human_review is not None:
            if not isinstance(human_review, HumanReview):
                raise KitaruUsageError(f"Step(human_review=...) takes a HumanReview, got {type(human_review).__name__}")
            refused = human_review.unsupported()
            if refused:
                raise KitaruUsageError(
                    f"Step {name or getattr(executor, '__name__', '')!r}: HumanReview {refused} is not supported by "
                    "kitaru_nb; supported: requires_confirmation, confirmation_message, on_error, on_reject (skip, cancel). "
                    "For a form, call kitaru_nb.wait(schema=...) in a flow."
                )
            requires_confirmation = human_review.requires_confirmation
            confirmation_message = human_review.confirmation_message
            on_reject = human_review.on_reject
            if human_review.on_error is not None:
                on_error = human_review.on_error
        if agent is not None or team is not None:
            raise KitaruUsageError(
                "Step(agent=...) / Step(team=...) are not supported by kitaru_nb; wrap the call in a function "
                "and pass it as Step(name=..., executor=fn)"
            )
        if executor is None or not callable(executor):
            raise KitaruUsageError(
                f"Step(executor=...) must be a function taking the StepInput, got {executor!r}; "
                "e.g. Step(name='load', executor=load) with def load(step_input): ..."
            )
        try:
            inspect.signature(executor).bind(None)
        except TypeError:
            raise KitaruUsageError(
                f"Step executor {getattr(executor, '__name__', executor)!r} must take one argument, the StepInput: "
                "def my_step(step_input: StepInput) -> StepOutput"
            ) from None
        except ValueError:  # no signature to check (some builtins)
            pass
        if name is None:
            name = getattr(executor, "__name__", None)
        if not isinstance(name, str) or not name.strip() or name == "<lambda>":
            raise KitaruUsageError(f"Step(name=...) must be a non-empty str, got {name!r}")
        try:
            mode = OnError(on_error)
        except ValueError:
            raise KitaruUsageError(
                f"Step {name!r}: on_error must be OnError.fail, OnError.skip or OnError.pause, got {on_error!r}"
            ) from None
        if skip_on_failure and mode is OnError.fail:
            mode = OnError.skip
        try:
            reject = OnReject(on_reject)
        except ValueError:
            reject = None
        if reject not in (OnReject.skip, OnReject.cancel):
            raise KitaruUsageError(
                f"Step {name!r}: on_reject must be OnReject.skip (the step is skipped) or OnReject.cancel "
                f"(the run is cancelled), got {on_reject!r}"
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise KitaruUsageError(f"Step {name!r}: max_retries must be an int >= 0, got {max_retries!r}")
        if not isinstance(requires_confirmation, bool):
            raise KitaruUsageError(
                f"Step {name!r}: requires_confirmation must be True or False, got {requires_confirmation!r}"
            )
        if confirmation_message is not None and not isinstance(confirmation_message, str):
            raise KitaruUsageError(f"Step {name!r}: confirmation_message must be a str, got {confirmation_message!r}")
        self.name = name
        self.executor = executor
        self.on_error = mode
        self.max_retries = max_retries
        self.requires_confirmation = requires_confirmation
        self.confirmation_message = confirmation_message
        self.on_reject = reject
        self.description = description if description is not None else (inspect.getdoc(executor) or None)
        self.step_id = step_id
        if "/" in name:
            raise KitaruUsageError(
                f"Step name {name!r} contains '/', which kitaru_nb uses to journal steps inside Parallel, Loop, "
                "Condition, Router and Steps (e.g. 'research/web'); pick a name without '/'"
            )
        self._fingerprint = fingerprint(executor)
        self._checkpoints: dict[str, Checkpoint[..., Any]] = {}
        self._checkpoint = self.checkpoint_at(name)

    def checkpoint_at(self, path: str) -> Checkpoint[..., Any]:
        """The checkpoint that journals this step under ``path`` (its name, or ``group/name`` inside a construct)."""
        cp = self._checkpoints.get(path)
        if cp is None:
            cp = Checkpoint(
                self._attempt,
                policy=RetryPolicy(retries=self.max_retries),
                on_error=_ENGINE_ON_ERROR[self.on_error],
                type="step",
                name=path,
                register=False,
            )
            # the journal fingerprints the user's code, not this adapter
            cp.fingerprint = self._fingerprint
            self._checkpoints[path] = cp
        return cp

    def __repr__(self) -> str:
        return f"Step(name={self.name!r}, on_error={self.on_error.value}, max_retries={self.max_retries})"

    @property
    def confirmation_text(self) -> str:
        return self.confirmation_message or f"Run step {self.name!r}?"

    def _attempt(self, step_input: StepInput, tracker: AttemptTracker) -> Any:
        """One attempt (the checkpoint's code): run the executor, report failures, return what to journal."""
        tracker.attempts += 1
        tracker.error = None
        try:
            result = self.executor(step_input)
            if inspect.isawaitable(result):
                result = _run_coroutine(result)
            elif inspect.isasyncgen(result):
                result = _run_coroutine(_last_async_item(result))
            elif inspect.isgenerator(result):
                result = _last_item(result)
        except Exception as exc:
            tracker.error = exc
            if tracker.emit is not None:
                from kitaru_nb.run.workflow import StepErrorEvent

                tracker.emit(
                    StepErrorEvent(
                        **tracker.event_fields,
                        step_name=self.name,
                        step_index=tracker.step_index,
                        error=str(exc),
                        error_type=type(exc).__name__,
                        attempt=tracker.attempts,
                        will_retry=tracker.attempts < tracker.max_attempts,
                    )
                )
            raise
        output = result if isinstance(result, StepOutput) else StepOutput(content=result)
        output.step_name = self.name
        if output.step_id is None:
            output.step_id = self.step_id
        tracker.output = output
        # plain outputs are journaled as their content (typed by serde, readable in previews)
        return output.content if output._is_plain() else output


def _run_coroutine(awaitable: Any) -> Any:
    """An async executor's result. Steps run in a thread with no running event loop (``arun`` runs the
    body in a worker thread), so the coroutine gets a loop of its own there."""
    import asyncio

    async def wrap() -> Any:
        return await awaitable

    return asyncio.run(wrap())


async def _last_async_item(gen: Any) -> Any:
    items = [item async for item in gen]
    return _last_item(iter(items))


def _last_item(gen: Any) -> Any:
    last: Any = None
    chunks: list[str] = []
    for item in gen:
        if isinstance(item, StepOutput):
            last = item
        elif isinstance(item, str):
            chunks.append(item)
        else:
            last = item
    if last is None and chunks:
        return "".join(chunks)
    return last


def as_step(obj: Any) -> Any:
    """A ``Step`` (or construct) for each entry of ``Workflow(steps=[...])`` (a plain function becomes a step)."""
    from kitaru_nb.workflow.constructs import Construct

    if isinstance(obj, (Step, Construct)):
        return obj
    if callable(obj) and not isinstance(obj, type):
        return Step(name=getattr(obj, "__name__", None), executor=obj)
    raise KitaruUsageError(
        f"Workflow(steps=[...]) takes Step, Parallel, Loop, Condition, Router or Steps objects or functions, "
        f"not {type_name(obj)}; wrap it as Step(name=..., executor=fn)"
    )
