"""``kitaru.save`` / ``kitaru.load`` / ``kitaru.log``: named values and metadata, as in Kitaru's SDK.

``save(name, value, type=..., tags=...)`` stores a named value of the running checkpoint attempt (a
later save of the same name by the same call replaces it, so a retried attempt does not leave two);
``load(exec_id, name)`` reads a value saved under ``name`` in another execution, or the output of
the checkpoint called ``name`` there; ``log(**metadata)`` attaches metadata to the running
checkpoint call or, in the flow body, to the execution.
"""

from __future__ import annotations

import json
from typing import Any

from kitaru_nb import serde
from kitaru_nb.errors import KitaruContextError, KitaruUsageError
from kitaru_nb.journal.base import ArtifactRow, StoredValue
from kitaru_nb.runtime import deferred
from kitaru_nb.runtime.context import DurableRun, Recorder, Scope, current_run, now, ordered_id

#: Kitaru's artifact types
ARTIFACT_TYPES = ("blob", "context", "input", "output", "prompt", "response")


def _scope(api: str) -> tuple[DurableRun, Scope]:
    run = current_run.get()
    scope = run.scope if run is not None else None
    if run is None or scope is None:
        where = "in a flow body" if run is not None else "outside a flow"
        raise KitaruContextError(
            f"kitaru.{api}() can only be called inside a @checkpoint. It was called {where}; call it from a "
            "checkpoint's function while its flow runs."
        )
    return run, scope


def _artifact_type(value: Any) -> str:
    normalized = value.strip().lower() if isinstance(value, str) else None
    if normalized not in ARTIFACT_TYPES:
        raise KitaruUsageError(
            f"Unsupported Kitaru artifact type {value!r}. Expected one of: {', '.join(ARTIFACT_TYPES)}."
        )
    return normalized


def _recorder() -> Recorder | None:
    """The body runs in a worker process (runtime="isolated"): save and log are recorded there."""
    run = current_run.get()
    return run if isinstance(run, Recorder) else None


def save(name: str, value: Any, *, type: str = "output", tags: list[str] | None = None) -> None:
    """Store ``value`` under ``name`` with the running checkpoint call.

    ``type`` is one of Kitaru's artifact types (prompt, response, context, input, output, blob);
    ``tags`` a list of strings. The value is journaled like a checkpoint output (JSON, pydantic or
    pickle) and shown by its preview in the panel and the sidebar.
    """
    recorder = _recorder()
    if recorder is None:
        run, scope = _scope("save")
    if not isinstance(name, str) or not name.strip():
        raise KitaruUsageError(f"kitaru.save(name, ...): name must be a non-empty str, got {name!r}")
    kind = _artifact_type(type)
    if tags is not None and (not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags)):
        raise KitaruUsageError(f"kitaru.save(..., tags=...) takes a list of str, got {tags!r}")
    try:
        fmt, data = serde.dumps(value)
    except serde.SerializationError as exc:
        raise KitaruUsageError(f"kitaru.save({name!r}, ...): the value cannot be journaled: {exc}") from None
    if recorder is not None:
        recorder.record(("save", name, kind, fmt, serde.preview(value), data, list(tags or []), now()))
        return
    run.journal.save_artifact(
        ArtifactRow(
            artifact_id=ordered_id(),
            exec_id=run.exec_id,
            call_id=scope.call_id,
            attempt_id=scope.attempt_id,
            name=name,
            kind=kind,
            value=StoredValue(fmt, serde.preview(value), data),
            created_at=now(),
            tags=list(tags or []),
        )
    )


def load(exec_id: str, name: str) -> Any:
    """The value saved under ``name`` in execution ``exec_id`` (an id or a unique prefix), or the output
    of its checkpoint called ``name``; ``KitaruRuntimeError`` when there is none or several."""
    run, _ = _scope("load")
    if not isinstance(exec_id, str) or not exec_id:
        raise KitaruUsageError(f"kitaru.load() expected `exec_id` to be an execution id (a str), got {exec_id!r}.")
    if not isinstance(name, str) or not name:
        raise KitaruUsageError(f"kitaru.load(exec_id, name): name must be a non-empty str, got {name!r}")
    from kitaru_nb.client import KitaruClient

    client = KitaruClient(run.journal)
    return client.artifacts.find(exec_id, name).load()


def log(**metadata: Any) -> None:
    """Attach metadata (JSON values) to the running checkpoint call, or in the flow body to the
    execution. Several calls merge: a key whose old and new values are dicts gets them merged, any
    other key takes the newest value."""
    run = current_run.get()
    if run is None:
        raise KitaruContextError(
            "kitaru.log() can only be called inside a @kitaru.flow. Call it from a flow body or a checkpoint "
            "while the flow runs."
        )
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise KitaruUsageError(
            f"kitaru.log() takes JSON values (str, numbers, bools, None, lists, dicts): {exc}"
        ) from None
    if isinstance(run, Recorder):  # a body in a worker process: journaled by the flow's process
        run.record(("log", metadata))
        return
    scope = run.scope
    if scope is not None:
        deferred.journal_start_of(scope.call_id)  # the call's row takes the metadata
    run.journal.log_metadata(run.exec_id, scope.call_id if scope is not None else None, metadata)


def apply_records(records: list[tuple[Any, ...]]) -> None:
    """Journal what a body that ran in a worker process saved and logged, with the checkpoint attempt
    that ran it (the flow's process, in the context of that attempt)."""
    run = current_run.get()
    scope = run.scope if isinstance(run, DurableRun) else None
    if run is None or scope is None or not records:
        return
    for entry in records:
        if entry[0] == "save":
            _, name, kind, fmt, preview, data, tags, at = entry
            run.journal.save_artifact(
                ArtifactRow(
                    ordered_id(),
                    run.exec_id,
                    scope.call_id,
                    name,
                    kind,
                    StoredValue(fmt, preview, data),
                    at,
                    scope.attempt_id,
                    tags,
                )
            )
        elif entry[0] == "log":
            deferred.journal_start_of(scope.call_id)
            run.journal.log_metadata(run.exec_id, scope.call_id, entry[1])
