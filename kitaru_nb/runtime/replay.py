"""Replay: a new execution that reuses the journal of another one up to a checkpoint."""

from __future__ import annotations

import inspect
from typing import Any

from kitaru_nb import serde
from kitaru_nb.errors import KitaruDivergenceError, KitaruUsageError
from kitaru_nb.journal.base import CallRow, ExecutionRow, Journal, StoredValue, call_id_at, shared
from kitaru_nb.runtime import engine, registry
from kitaru_nb.runtime.context import new_id, now
from kitaru_nb.types import DONE_STATUSES, CallKind, CallStatus, ExecutionStatus, FailureOrigin


def _position(calls: list[CallRow], from_: str) -> int:
    if not isinstance(from_, str) or not from_:
        raise KitaruUsageError(f"from_ must be a checkpoint name (or 'name#k'), got {from_!r}")
    name, sep, k_text = from_.partition("#")
    k = 1
    if sep:
        if not k_text.isdigit() or int(k_text) < 1:
            raise KitaruUsageError(f"from_={from_!r}: after '#' comes the call number, 1 for the first call")
        k = int(k_text)
    matches = [c.idx for c in calls if c.kind == CallKind.CHECKPOINT and c.name == name]
    if len(matches) >= k:
        return matches[k - 1]
    names: list[str] = []
    for c in calls:
        if c.kind == CallKind.CHECKPOINT and c.name not in names:
            names.append(c.name)
    if matches:
        raise KitaruUsageError(
            f"checkpoint {name!r} was called {len(matches)} time(s); from_={from_!r} asks for call {k}"
        )
    raise KitaruUsageError(f"from_={from_!r} names no recorded checkpoint; recorded checkpoints: {names}")


_NO_OUTPUT: Any = object()


def prepare_replay(
    journal: Journal,
    source: ExecutionRow,
    flow: Any,
    from_: str,
    overrides: dict[str, Any] | None,
    flow_inputs: dict[str, Any],
    *,
    after: bool = False,
    output: Any = _NO_OUTPUT,
) -> str:
    """Create the replay execution (status running) with the reused prefix; return its exec_id.

    ``after=True``: the checkpoint ``from_`` is reused too and the replay runs live from the
    position after it; ``output`` (when given) replaces that checkpoint's output.
    """
    calls = journal.load_calls(source.exec_id)
    position = _position(calls, from_)
    at = position
    if after:
        position += 1
    prefix = [c for c in calls if c.idx < position]
    # submission-time divergence: the reused prefix names checkpoints this process does not have
    for c in prefix:
        if c.kind == CallKind.CHECKPOINT and registry.checkpoint_for_call(c) is None:
            raise KitaruDivergenceError(
                f"cannot replay execution {source.exec_id[:8]} from {from_!r}: position {c.idx} recorded "
                f"checkpoint {c.name!r}, which is not defined any more. Define it (run its cell) or replay "
                "from an earlier checkpoint.",
                exec_id=source.exec_id,
                status=ExecutionStatus(source.status),
                failure_origin=FailureOrigin.DIVERGENCE,
            )
    overrides = dict(overrides or {})
    reused_names = {c.name for c in prefix if c.kind == CallKind.CHECKPOINT}
    parsed: dict[str, StoredValue] = {}  # overrides, serialized before anything is written
    for key, value in overrides.items():
        if not isinstance(key, str) or not key.startswith("checkpoint."):
            raise KitaruUsageError(f"override keys look like 'checkpoint.NAME', got {key!r}")
        name = key.removeprefix("checkpoint.")
        if name not in reused_names:
            raise KitaruUsageError(
                f"override {key!r}: checkpoint {name!r} is not reused by this replay; reused: {sorted(reused_names)}"
            )
        try:
            parsed[name] = engine.store_value(value)
        except serde.SerializationError as exc:
            raise KitaruUsageError(f"override for checkpoint {name!r} cannot be journaled: {exc}") from None
    parsed_at: StoredValue | None = None
    if output is not _NO_OUTPUT:
        try:
            parsed_at = engine.store_value(output)
        except serde.SerializationError as exc:
            raise KitaruUsageError(f"the new output for {from_!r} cannot be journaled: {exc}") from None
    params = inspect.signature(flow.fn).parameters
    unknown = [k for k in flow_inputs if k not in params]
    if unknown:
        raise KitaruUsageError(f"flow {flow.name!r} has no input(s) {unknown}; its inputs are {list(params)}")
    inputs = engine.load_inputs(source)
    inputs.update(flow_inputs)
    exec_id = new_id()
    journal.create_execution(
        engine.new_execution_row(
            exec_id,
            source.flow_name,
            inputs,
            kind=source.kind,
            body=flow.fn,
            original_exec_id=source.exec_id,
            replay_from=from_,
            meta=dict(source.meta),
        )
    )
    copied: list[CallRow] = []
    t = now()
    for c in prefix:
        done = c.status in DONE_STATUSES
        if not done:
            break  # a gap (a failed call the flow handled): run the rest live
        output = c.output
        shareable = shared(output)
        if shareable is not output and journal.get_call(c.original_call_id or c.call_id, with_values=False):
            output = shareable  # a big output stays in the original call's row only
        if c.kind == CallKind.CHECKPOINT and c.name in parsed:
            output = parsed[c.name]
        if after and c.idx == at and parsed_at is not None:
            output = parsed_at
        status = c.status if c.kind == CallKind.WAIT or c.status == CallStatus.SKIPPED else CallStatus.REUSED
        copied.append(
            CallRow(
                call_id_at(exec_id, c.idx),
                exec_id,
                c.idx,
                c.kind,
                c.name,
                status,
                t,
                t,
                fingerprint=c.fingerprint,
                original_call_id=c.original_call_id or c.call_id,
                wait_schema=c.wait_schema,
                wait_question=c.wait_question,
                wait_metadata=c.wait_metadata,
                wait_timeout=c.wait_timeout,
                output=StoredValue(output.format, output.preview, output.data) if output else None,
            )
        )
    if copied:
        journal.insert_calls(copied)
    return exec_id


def run_replay(
    journal: Journal,
    exec_id: str,
    *,
    from_: str,
    overrides: dict[str, Any] | None = None,
    flow_inputs: dict[str, Any] | None = None,
    after: bool = False,
    output: Any = _NO_OUTPUT,
) -> str:
    """Replay ``exec_id`` from ``from_`` as a new execution and run it here; returns the new exec_id."""
    from kitaru_nb.runtime.continuation import where_defined

    source = journal.get_execution(exec_id, with_values=True)
    if source is None:
        raise KitaruUsageError(f"no execution {exec_id!r} in the journal {journal.location}")
    if source.kind != "flow":
        raise KitaruUsageError(
            f"execution {source.exec_id[:8]} is a run of step workflow {source.flow_name!r}; replay works for "
            "flows. Start a new run with workflow.run(...), or retry/skip its paused step."
        )
    flow = registry.get_flow(source.flow_name)
    if flow is None:
        from kitaru_nb.errors import KitaruStateError

        raise KitaruStateError(
            f"flow {source.flow_name!r} is not defined in this process; {where_defined(source)}, then try again"
        )
    engine.ensure_outside_flow(source.flow_name)
    new_id = prepare_replay(journal, source, flow, from_, overrides, flow_inputs or {}, after=after, output=output)
    new_row = journal.get_execution(new_id, with_values=True)
    assert new_row is not None
    engine.drive(journal, new_id, source.flow_name, flow.fn, engine.load_inputs(new_row))
    return new_id
