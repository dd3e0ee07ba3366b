"""``Workflow``: named steps run in order, every step attempt journaled, humans decide on pauses."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kitaru_nb.config import resolve_journal
from kitaru_nb.errors import KitaruStateError, KitaruUsageError
from kitaru_nb.journal.base import Journal
from kitaru_nb.run.base import RunStatus
from kitaru_nb.run.workflow import (
    WorkflowCancelledEvent,
    WorkflowCompletedEvent,
    WorkflowFailedEvent,
    WorkflowRunOutput,
    WorkflowStartedEvent,
)
from kitaru_nb.runtime import continuation, engine
from kitaru_nb.runtime.checkpoint import fingerprint
from kitaru_nb.runtime.context import current_run, new_id, type_name
from kitaru_nb.runtime.owner import is_alive
from kitaru_nb.types import ExecutionStatus
from kitaru_nb.workflow import outputs, runner, streaming
from kitaru_nb.workflow.constructs import Construct
from kitaru_nb.workflow.session import WorkflowSession
from kitaru_nb.workflow.step import Step, as_step
from kitaru_nb.workflow.types import ConfirmationRequirement, ErrorRequirement, StepOutput, parse_on_reject

if TYPE_CHECKING:
    from kitaru_nb.client import KitaruClient

_SESSION_NAMESPACE = uuid.UUID("6c1d1f5e-8f0e-4a43-9a55-6b69747a7275")
_PAGE = 500

Emit = Callable[[Any], None]


def default_session_id(workflow_name: str) -> str:
    """The session a workflow's runs belong to unless told otherwise: stable across kernels."""
    return uuid.uuid5(_SESSION_NAMESPACE, workflow_name).hex


class Workflow:
    """Steps that run in order, in this kernel, each one a journaled checkpoint.

    ``db``: a ``SqliteDb`` (or a path or journal); omitted, the configured journal.
    A later ``Workflow`` with the same name replaces the older one in this process
    (the notebook rule), and is the one the panel and the client continue runs with.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        db: Any = None,
        steps: Sequence[Step | Callable[..., Any]] | None = None,
        description: str | None = None,
        id: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        stream: bool = False,
        stream_events: bool = False,
        debug_mode: bool = False,
        telemetry: bool = False,
    ):
        if not isinstance(name, str) or not name.strip():
            raise KitaruUsageError(
                f"Workflow(name=...) must be a non-empty str (runs are found by it, also in a new kernel), got {name!r}"
            )
        self.function_step: Step | None = None
        if callable(steps) and not isinstance(steps, (Step, Construct)):
            self.function_step = _function_step(self, steps)
            parsed: list[Any] = []
        else:
            if steps is None or isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence) or not steps:
                raise KitaruUsageError(
                    f"Workflow {name!r}: steps must be a non-empty list of Step objects (or functions, or Parallel, "
                    f"Loop, Condition, Router, Steps), or one function fn(workflow, execution_input), got {steps!r}"
                )
            parsed = [as_step(s) for s in steps]
            for i, s in enumerate(parsed):
                if s.name is None:  # the mirrored API's default names for unnamed constructs
                    s.name = f"{s.kind.lower()}_{i + 1}"
            seen: set[str] = set()
            for s in parsed:
                if s.name in seen:
                    raise KitaruUsageError(
                        f"Workflow {name!r}: two steps are named {s.name!r}; give each step its own name "
                        "(the journal and previous_step_outputs find steps by name)"
                    )
                seen.add(s.name)
                _name_inner(s, f"Workflow {name!r}")
        if session_id is not None and (not isinstance(session_id, str) or not session_id):
            raise KitaruUsageError(f"Workflow {name!r}: session_id must be a non-empty str, got {session_id!r}")
        if db is not None and not isinstance(db, str) and not hasattr(db, "journal") and not hasattr(db, "load_calls"):
            import os

            if not isinstance(db, os.PathLike):
                raise KitaruUsageError(
                    f"Workflow {name!r}: db must be a SqliteDb(db_file=...), a file path or a journal, "
                    f"not {type(db).__name__}"
                )
        self.name = name
        self.id = id
        self.db = db
        self.steps: list[Any] = parsed
        self.description = description
        self.session_id = session_id or default_session_id(name)
        self.user_id = user_id
        self.stream = stream
        self.stream_events = stream_events
        self.debug_mode = debug_mode
        runner.register(self)

    def __repr__(self) -> str:
        steps = [s.name for s in self.steps] if self.function_step is None else self.function_step.name
        return f"Workflow(name={self.name!r}, steps={steps})"

    # -- the journal ----------------------------------------------------------------------
    @property
    def journal(self) -> Journal:
        return resolve_journal(self.db)

    @property
    def client(self) -> KitaruClient:
        """The client over this workflow's db: runs are read and decided through it."""
        from kitaru_nb.client import KitaruClient

        return KitaruClient(db=self.journal)

    # -- running --------------------------------------------------------------------------
    def run(
        self,
        input: Any = None,
        *,
        additional_data: dict[str, Any] | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        stream: bool | None = None,
        stream_events: bool | None = None,
        stream_intermediate_steps: bool | None = None,
        **unsupported: Any,
    ) -> Any:
        """Run the steps in this thread until the run completes, fails or pauses.

        Returns a ``WorkflowRunOutput``; with ``stream=True`` an iterator of events instead
        (with ``stream_events=True`` also the step events), after which the run is
        ``workflow.get_session().runs[-1]``. A step with ``OnError.fail`` that raises fails the run
        and its exception is raised here (after the run is journaled as failed; streamed, after the
        ``WorkflowFailedEvent``).
        """
        _refuse(unsupported, "run")
        self._not_nested("run")
        if additional_data is not None and not isinstance(additional_data, dict):
            raise KitaruUsageError(f"additional_data must be a dict, got {type(additional_data).__name__}")
        if session_id is not None and (not isinstance(session_id, str) or not session_id):
            raise KitaruUsageError(f"session_id must be a non-empty str, got {session_id!r}")
        if metadata is not None:
            try:
                json.dumps(metadata)
            except (TypeError, ValueError) as exc:
                raise KitaruUsageError(f"metadata must be a JSON-ready dict: {exc}") from None
            if not isinstance(metadata, dict):
                raise KitaruUsageError(f"metadata must be a dict, got {type(metadata).__name__}")
        journal = self.journal
        exec_id = new_id()
        sid = session_id or self.session_id
        meta: dict[str, Any] = {
            "steps": runner.signature(self.steps if self.function_step is None else [self.function_step]),
            "session_id": sid,
            "workflow_id": self.id,
            "user_id": user_id or self.user_id,
            "description": self.description,
            "metadata": metadata,
        }
        inputs = {"input": input, "additional_data": additional_data}
        row = engine.new_execution_row(exec_id, self.name, inputs, kind="workflow", meta=meta)
        stream_on, step_events = _stream_mode(self, stream, stream_events, stream_intermediate_steps)

        def start(emit: Emit | None) -> WorkflowRunOutput:
            journal.create_execution(row)
            return self._drive(journal, exec_id, inputs, sid, emit, step_events)

        if stream_on:
            return streaming.events_of(start, f"kitaru-workflow-{self.name}")
        return start(None)

    def continue_run(
        self,
        run_response: WorkflowRunOutput | str | None = None,
        *,
        run_id: str | None = None,
        session_id: str | None = None,
        step_requirements: Sequence[ConfirmationRequirement] | None = None,
        error_requirements: Sequence[ErrorRequirement] | None = None,
        stream: bool | None = None,
        stream_events: bool | None = None,
        stream_intermediate_steps: bool | None = None,
        **unsupported: Any,
    ) -> Any:
        """Apply the decisions on a paused run (``retry()``/``skip()``, ``confirm()``/``reject()``)
        and continue it, in this thread, until it completes, fails or pauses again.

        Give the paused ``WorkflowRunOutput`` (or its ``run_id``); works in a new kernel with the
        same db and workflow definition. Raises ``KitaruStateError`` when a pending step has no
        decision, or the run was continued already; ``KitaruDivergenceError`` when this
        workflow's steps differ from the run's.
        """
        _refuse(unsupported, "continue_run")
        self._not_nested("continue_run")
        if isinstance(run_response, str):
            run_id, run_response = run_response, None
        if run_response is not None and not isinstance(run_response, WorkflowRunOutput):
            raise KitaruUsageError(
                f"continue_run takes the paused WorkflowRunOutput (or run_id=...), not {type(run_response).__name__}"
            )
        if run_response is None and not run_id:
            raise KitaruUsageError("continue_run needs the paused run: continue_run(run_output) or run_id=...")
        exec_id = run_response.run_id if run_response is not None else str(run_id)
        journal = self.journal
        row = journal.get_execution(exec_id, with_values=False)
        if row is None or row.kind != "workflow":
            raise KitaruUsageError(
                f"no workflow run {exec_id!r} in the journal {journal.location}; list the runs with "
                "workflow.get_session().runs"
            )
        if row.flow_name != self.name:
            raise KitaruUsageError(
                f"run {exec_id[:8]} belongs to workflow {row.flow_name!r}, not {self.name!r}; continue it with "
                f"the workflow named {row.flow_name!r}"
            )
        runner.check_steps_match(self, row)
        stream_on, step_events = _stream_mode(self, stream, stream_events, stream_intermediate_steps)
        session = row.meta.get("session_id") or session_id
        expect = ExecutionStatus.WAITING
        skipped: frozenset[str] = frozenset()
        continued: frozenset[str] = frozenset()
        if row.status == ExecutionStatus.RUNNING:
            if row.owner_pid is None or continuation.owner_is_alive(row):
                raise KitaruStateError(
                    f"run {exec_id[:8]} of workflow {self.name!r} is running (process {row.owner_pid}), not "
                    "paused: another caller continued it. Wait for it, or cancel it with workflow.cancel_run(run_id)."
                )
            # the process that ran it died mid-step: finish it here (completed steps are not run again)
            owner = row.owner_pid
            journal.recover_interrupted(lambda pid, start: pid != owner and is_alive(pid, start))
            expect = ExecutionStatus.RUNNING
        elif row.status != ExecutionStatus.WAITING:
            raise KitaruStateError(
                f"run {exec_id[:8]} of workflow {self.name!r} is {row.status}, not paused: it was continued "
                "already or it has ended. Read it again with workflow.get_run(run_id)."
            )
        else:
            client = self.client
            current = outputs.build_output(client, exec_id, with_results=False)
            if run_response is not None and _is_stale(run_response, current):
                raise KitaruStateError(
                    f"this copy of run {exec_id[:8]} is stale: the run was continued since it was read and is "
                    "paused at a new point. Read it again with workflow.get_run(run_id) (or "
                    "workflow.get_session().runs[-1]) and decide on that."
                )
            given_errors = list(error_requirements or []) + (run_response.error_requirements if run_response else [])
            given_confirms = list(step_requirements or []) + (run_response.step_requirements if run_response else [])
            skipped, continued = self._apply_decisions(client, current, given_errors, given_confirms)

        def resume(emit: Emit | None) -> WorkflowRunOutput:
            if not engine.claim(journal, exec_id, (expect,)):
                raise KitaruStateError(f"run {exec_id[:8]} was continued by another caller first")
            fresh = journal.get_execution(exec_id, with_values=True)
            inputs = engine.load_inputs(fresh) if fresh is not None else {}
            return self._drive(journal, exec_id, inputs, session, emit, step_events, skipped, continued)

        if stream_on:
            return streaming.events_of(resume, f"kitaru-workflow-{self.name}")
        return resume(None)

    def _not_nested(self, verb: str) -> None:
        if current_run.get() is not None:
            raise KitaruStateError(
                f"workflow {self.name!r}: {verb}() was called inside a running flow or step; a run cannot "
                "start inside another one. Call it from the notebook cell (or call the step functions directly)."
            )

    def _apply_decisions(
        self,
        client: KitaruClient,
        current: WorkflowRunOutput,
        given_errors: list[ErrorRequirement],
        given_confirms: list[ConfirmationRequirement],
    ) -> tuple[frozenset[str], frozenset[str]]:
        """Record the decisions through the client's verbs (all pending steps must have one).
        Returns the call ids skipped on error, and every call id decided."""

        def pick(pending: Any, given: list[Any]) -> Any:
            same = [g for g in given if g.step_id is not None and g.step_id == pending.step_id]
            if isinstance(pending, ErrorRequirement):
                same = [g for g in same if g.retry_count == pending.retry_count] or same
            for g in reversed(same):  # the caller's own list first, then the run output's
                if (g.decision if isinstance(pending, ErrorRequirement) else g.confirmed) is not None:
                    return g
            for g in given:
                if g.step_id is None and g.step_name == pending.step_name:
                    return g
            return same[-1] if same else None

        plan: list[tuple[str, Any, Any]] = []
        for req in current.steps_with_errors:
            got = pick(req, given_errors)
            if got is None or got.decision not in ("retry", "skip"):
                raise KitaruStateError(
                    f"step {req.step_name!r} failed ({req.error_type}: {req.error_message}) and waits for a "
                    "decision: call retry() or skip() on it (run_output.steps_with_errors), then continue_run"
                )
            plan.append(("error", req, got))
        for creq in current.steps_requiring_confirmation:
            got = pick(creq, given_confirms)
            if got is None or got.confirmed is None:
                raise KitaruStateError(
                    f"step {creq.step_name!r} waits for confirmation: call confirm() or reject() on it "
                    "(run_output.steps_requiring_confirmation), then continue_run"
                )
            plan.append(("confirm", creq, got))
        executions = client.executions
        overrides: dict[str, str] = {}
        feedback: dict[str, str] = {}
        for kind, req, got in plan:
            try:
                if kind == "error":
                    verb = executions.retry if got.decision == "retry" else executions.skip
                    verb(current.run_id, checkpoint=req.call_name or req.step_name, resume=False)
                else:
                    executions.input(current.run_id, wait=req.wait_name, value=bool(got.confirmed), resume=False)
                    if not got.confirmed and str(got.on_reject) != str(req.on_reject):
                        overrides[req.step_id] = parse_on_reject(got.on_reject).value
                    if not got.confirmed and got.rejection_feedback is not None:
                        feedback[req.step_id] = str(got.rejection_feedback)
            except KitaruStateError:
                raise KitaruStateError(
                    f"step {req.step_name!r} of run {current.run_id[:8]} was decided by another caller first"
                ) from None
        if overrides or feedback:
            self._record_rejections(client, current.run_id, overrides, feedback)
        skipped = frozenset(req.step_id for kind, req, got in plan if kind == "error" and got.decision == "skip")
        return skipped, frozenset(req.step_id for _kind, req, _got in plan)

    def _record_rejections(
        self, client: KitaruClient, exec_id: str, overrides: dict[str, str], feedback: dict[str, str]
    ) -> None:
        """What a rejection says beyond its answer, kept in the run's meta by confirmation id: another
        ``on_reject`` than the step's, and the ``rejection_feedback`` (read back into the run's
        ``step_requirements``, in this kernel or another)."""
        meta = dict(client.executions.get(exec_id).meta)
        if overrides:
            meta["on_reject"] = {**(meta.get("on_reject") or {}), **overrides}
        if feedback:
            meta["rejection_feedback"] = {**(meta.get("rejection_feedback") or {}), **feedback}
        client.journal.set_execution_meta(exec_id, meta)

    def _drive(
        self,
        journal: Journal,
        exec_id: str,
        inputs: dict[str, Any],
        session_id: str | None,
        emit: Emit | None,
        step_events: bool,
        announce_skipped: frozenset[str] = frozenset(),
        continued: frozenset[str] = frozenset(),
    ) -> WorkflowRunOutput:
        fields: dict[str, Any] = {
            "workflow_id": self.id,
            "workflow_name": self.name,
            "session_id": session_id,
            "run_id": exec_id,
        }
        if emit is not None:
            emit(WorkflowStartedEvent(**fields))
        results: list[StepOutput] = []
        body = runner.make_body(
            self,
            emit,
            fields,
            step_events=step_events,
            announce_skipped=announce_skipped,
            continued=continued,
            results=results,
        )
        status = engine.drive(journal, exec_id, self.name, body, inputs)
        out = outputs.build_output(self.client, exec_id, live=results, live_input=inputs.get("input"))
        if emit is not None:
            if out.status is RunStatus.completed:
                emit(
                    WorkflowCompletedEvent(**fields, content=out.content, step_results=out.step_results, run_output=out)
                )
            elif out.status is RunStatus.cancelled:
                rejected = [r.step_name for r in out.step_results if r.skipped]
                reason = f"step {rejected[-1]!r} was rejected" if rejected else "the run was cancelled"
                emit(WorkflowCancelledEvent(**fields, reason=reason))
            elif out.status is RunStatus.error:
                failed = [r for r in out.step_results if not r.success and not r.skipped]
                f = out.failure
                emit(
                    WorkflowFailedEvent(
                        **fields,
                        error=f.message if f else None,
                        error_type=outputs.short_type(f.exception_type) if f else None,
                        step_name=failed[-1].step_name if failed else None,
                        run_output=out,
                    )
                )
        if status == ExecutionStatus.FAILED:
            _raise_step_error(out)
        return out

    # -- async and control ----------------------------------------------------------------
    def arun(self, input: Any = None, **kwargs: Any) -> Any:
        """``run`` for async code: ``await workflow.arun(...)``, or ``async for event in
        workflow.arun(..., stream=True)``. The steps run in a worker thread, the event loop stays free."""
        streamed = _stream_mode(self, kwargs.get("stream"), None, None)[0]
        return streaming.in_async(self.run, streamed, (input,), kwargs)

    def acontinue_run(self, run_response: WorkflowRunOutput | str | None = None, **kwargs: Any) -> Any:
        """``continue_run`` for async code (awaitable, or an async iterator with ``stream=True``)."""
        streamed = _stream_mode(self, kwargs.get("stream"), None, None)[0]
        return streaming.in_async(self.continue_run, streamed, (run_response,), kwargs)

    def print_response(self, input: Any = None, **kwargs: Any) -> WorkflowRunOutput:
        """Run and print the outcome: the last step's content, or what a paused run waits for."""
        kwargs.pop("markdown", None)
        out: WorkflowRunOutput = self.run(input, stream=False, **kwargs)
        if out.is_paused:
            for e in out.steps_with_errors:
                print(f"paused: step {e.step_name!r} failed ({e.error_type}: {e.error_message}); retry() or skip()")
            for c in out.steps_requiring_confirmation:
                print(f"paused: step {c.step_name!r} asks {c.confirmation_message!r}; confirm() or reject()")
        elif out.failure is not None:
            print(f"failed: {out.failure.exception_type}: {out.failure.message}")
        else:
            print(out.content)
        return out

    def cancel_run(self, run_id: str) -> bool:
        """Cancel a running or paused run (through the client, like the panel's Cancel); False when it
        had ended already."""
        try:
            self.client.executions.cancel(run_id)
        except KitaruStateError:
            return False
        return True

    # -- reading runs ---------------------------------------------------------------------
    def get_run(self, run_id: str) -> WorkflowRunOutput:
        """One run of this workflow, read from the db now."""
        if not isinstance(run_id, str) or not run_id:
            raise KitaruUsageError(f"run_id must be a non-empty str, got {run_id!r}")
        client = self.client
        try:
            ex = client.executions.get(run_id)
        except KitaruUsageError:
            ex = None
        if ex is None or ex.kind != "workflow" or ex.flow_name != self.name:
            raise KitaruUsageError(
                f"workflow {self.name!r} has no run {run_id!r} in the journal {client.journal.location}; "
                "list them with workflow.get_session().runs"
            )
        return outputs.build_output(client, ex.exec_id, ex)

    def get_run_output(self, run_id: str, session_id: str | None = None) -> WorkflowRunOutput:
        return self.get_run(run_id)

    def get_session(self, session_id: str | None = None) -> WorkflowSession:
        """The session's runs of this workflow, read from the db (oldest first)."""
        sid = session_id or self.session_id
        client = self.client
        ids: list[str] = []
        offset = 0
        while True:
            page = client.executions.list(flow=self.name, limit=_PAGE, offset=offset)
            ids.extend(e.exec_id for e in page if e.kind == "workflow" and e.meta.get("session_id") == sid)
            if len(page) < _PAGE:
                break
            offset += _PAGE
        ids.reverse()
        runs = [outputs.build_output(client, exec_id) for exec_id in ids]
        return WorkflowSession(session_id=sid, workflow_name=self.name, workflow_id=self.id, runs=runs)

    def get_last_run_output(self, session_id: str | None = None) -> WorkflowRunOutput | None:
        runs = self.get_session(session_id).runs
        return runs[-1] if runs else None

    # the async session methods read the db in a worker thread, so the event loop stays free
    async def aget_session(self, session_id: str | None = None) -> WorkflowSession:
        return await asyncio.to_thread(self.get_session, session_id)

    async def aget_run(self, run_id: str) -> WorkflowRunOutput:
        return await asyncio.to_thread(self.get_run, run_id)

    async def aget_run_output(self, run_id: str, session_id: str | None = None) -> WorkflowRunOutput:
        return await asyncio.to_thread(self.get_run_output, run_id, session_id)

    async def aget_last_run_output(self, session_id: str | None = None) -> WorkflowRunOutput | None:
        return await asyncio.to_thread(self.get_last_run_output, session_id)

    async def acancel_run(self, run_id: str) -> bool:
        return await asyncio.to_thread(self.cancel_run, run_id)


def _is_stale(given: WorkflowRunOutput, current: WorkflowRunOutput) -> bool:
    """The copy was read at another pause than the run's current one: some pending requirement of
    the run is not in it (errors: the same step call and the same retry count)."""
    errors = {(r.step_id, r.retry_count) for r in given.error_requirements}
    confirms = {r.step_id for r in given.step_requirements}
    return any((r.step_id, r.retry_count) not in errors for r in current.steps_with_errors) or any(
        r.step_id not in confirms for r in current.steps_requiring_confirmation
    )


def _name_inner(node: Any, owner: str) -> None:
    """Unnamed constructs inside a construct get the mirrored API's default names."""
    if isinstance(node, Step):
        return
    for group in node.groups():
        for i, sub in enumerate(group):
            if sub.name is None:
                sub.name = f"{sub.kind.lower()}_{i + 1}"
            _name_inner(sub, owner)


def _function_step(workflow: Workflow, fn: Callable[..., Any]) -> Step:
    """``Workflow(steps=fn)``: one step that calls ``fn(workflow, execution_input)``."""
    import inspect

    params = list(inspect.signature(fn).parameters)
    by_name = "execution_input" in params

    def run_function(execution_input: Any) -> Any:
        if by_name:
            kwargs = {"execution_input": execution_input}
            if "workflow" in params:
                kwargs["workflow"] = workflow
            return fn(**kwargs)
        return fn(workflow, execution_input) if len(params) >= 2 else fn(execution_input)

    name = getattr(fn, "__name__", None) or "steps"
    step = Step(name=name if name != "<lambda>" else "steps", executor=run_function)
    step._fingerprint = fingerprint(fn)
    step._checkpoints.clear()
    step._checkpoint = step.checkpoint_at(step.name)
    return step


def _raise_step_error(out: WorkflowRunOutput) -> None:
    """``OnError.fail``: re-raise the exception that failed the run (journaled already, the run marked
    failed), as the mirrored API does. A failure with no live exception (a divergence) is not raised."""
    exc = engine.live_exception(out.run_id)
    f = out.failure
    if exc is None or f is None or f.exception_type != type_name(exc) or f.message != str(exc):
        return
    failed = [r.step_name for r in out.step_results if not r.success and not r.skipped]
    where = f" at step {failed[-1]!r}" if failed else ""
    note = (
        f"workflow {out.workflow_name!r}: run {out.run_id} failed{where} and is journaled; read it with "
        "workflow.get_run(run_id) or workflow.get_session().runs[-1]"
    )
    if note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)
    raise exc


_SUPPORTED = "input, additional_data, user_id, session_id, metadata, stream, stream_events"


def _refuse(unsupported: dict[str, Any], verb: str) -> None:
    if unsupported:
        raise KitaruUsageError(
            f"workflow.{verb}() does not support {sorted(unsupported)} in kitaru_nb; it takes {_SUPPORTED}"
        )


def _stream_mode(
    workflow: Workflow, stream: bool | None, stream_events: bool | None, intermediate: bool | None
) -> tuple[bool, bool]:
    streaming = workflow.stream if stream is None else bool(stream)
    events = workflow.stream_events if stream_events is None else bool(stream_events)
    if intermediate:
        events = True
    return streaming, events


__all__ = ["Workflow", "default_session_id"]
