"""``wait()``: a flow asks a human for a value; answers are validated against the wait's schema."""

from __future__ import annotations

import json
import math
import sys
import threading
from typing import Any

from kitaru_nb.errors import KitaruContextError, KitaruUsageError, KitaruWaitValidationError
from kitaru_nb.journal.base import CallRow, call_id_at
from kitaru_nb.runtime.context import FlowPaused, current_run, diverged, now
from kitaru_nb.types import ANSWERED, CallKind, CallStatus, ExecutionStatus

_lock = threading.Lock()
# stored JSON Schema text -> the live pydantic TypeAdapter of this process
_adapters: dict[str, Any] = {}
# (exec_id, wait name) -> (the stored answer's bytes, the value the live adapter made of it): the
# flow that resumes right after an answer given in this process takes the value without judging
# the answer a second time
_judged: dict[tuple[str, str], tuple[bytes, Any]] = {}
_adapter_by_schema_obj: dict[int, tuple[Any, Any, str]] = {}


def _adapter_for(schema: Any) -> tuple[Any, str]:
    """(TypeAdapter, JSON Schema text) for a wait schema; cached per schema object."""
    cached = _adapter_by_schema_obj.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1], cached[2]
    from pydantic import TypeAdapter
    from pydantic.errors import PydanticUserError

    target: Any = Any if schema is None else schema
    try:
        adapter = TypeAdapter(target)
        schema_text = json.dumps(adapter.json_schema())
    except (PydanticUserError, TypeError) as exc:
        raise KitaruUsageError(
            f"wait(schema=...) needs a type pydantic can validate (a BaseModel, bool, int, Literal, Enum, "
            f"dataclass, TypedDict, ...); {schema!r} is not one: {exc}"
        ) from None
    with _lock:
        _adapter_by_schema_obj[id(schema)] = (schema, adapter, schema_text)
        _adapters[schema_text] = adapter
    return adapter, schema_text


def wait(
    *,
    schema: Any = None,
    name: str | None = None,
    question: str | None = None,
    timeout: float | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Pause the flow until a human gives a value that fits ``schema``; return that value.

    The first time the flow reaches the wait, the execution becomes ``waiting`` and
    ``run()`` returns. Answer with the panel, the sidebar, or
    ``KitaruClient().executions.input(exec_id, wait=name, value=...)``.

    ``name`` defaults to ``wait_<position>``; ``question`` and ``metadata`` are shown with the
    form; ``timeout`` (seconds) bounds how long a blocking ``handle.get()`` outside a kernel
    waits for the answer (``KitaruTimeoutError``; the execution stays answerable).
    """
    run = current_run.get()
    if run is None:
        raise KitaruContextError("wait() can only be called inside a flow body (a @flow function started with .run())")
    if run.in_checkpoint is not None:
        raise KitaruContextError(
            f"wait() was called inside checkpoint {run.in_checkpoint!r}; call it from the flow body, between "
            "checkpoints, so the answer is journaled at its own position"
        )
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise KitaruUsageError(f"wait(name=...) must be a non-empty str, got {name!r}")
    if question is not None and not isinstance(question, str):
        raise KitaruUsageError(f"wait(question=...) must be a str, got {type(question).__name__}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0
    ):
        raise KitaruUsageError(f"wait(timeout=...) must be a positive number of seconds, got {timeout!r}")
    try:
        metadata_text = json.dumps(metadata or {})
    except (TypeError, ValueError) as exc:
        raise KitaruUsageError(f"wait(metadata=...) must be JSON-serializable: {exc}") from None
    adapter, schema_text = _adapter_for(schema)
    idx = run.take_index()
    wait_name = name or f"wait_{idx}"
    if wait_name in run.wait_names:
        raise KitaruUsageError(
            f"wait name {wait_name!r} is used twice in one execution; give each wait its own name=..."
        )
    run.wait_names.add(wait_name)
    rec = run.recorded.get(idx)
    if rec is not None:
        if rec.kind != CallKind.WAIT or rec.name != wait_name:
            raise diverged(idx, rec, CallKind.WAIT, wait_name)
        if rec.status in ANSWERED and rec.output is not None:
            return _recorded_answer(run, rec, adapter, wait_name)
        if rec.status == CallStatus.FAILED:  # aborted, and the execution is being retried: ask again
            run.journal.reopen_wait(rec.call_id)
        run.journal.set_execution_status(run.exec_id, ExecutionStatus.WAITING, expect=(ExecutionStatus.RUNNING,))
        raise FlowPaused(f"waiting for {wait_name!r}")
    run.check_cancelled()
    run.journal.insert_call(
        CallRow(
            call_id_at(run.exec_id, idx),
            run.exec_id,
            idx,
            CallKind.WAIT,
            wait_name,
            CallStatus.WAITING,
            now(),
            wait_schema=schema_text,
            wait_question=question,
            wait_metadata=metadata_text,
            wait_timeout=timeout,
        )
    )
    run.journal.set_execution_status(run.exec_id, ExecutionStatus.WAITING, expect=(ExecutionStatus.RUNNING,))
    raise FlowPaused(f"waiting for {wait_name!r}")


def _recorded_answer(run: Any, rec: CallRow, adapter: Any, wait_name: str) -> Any:
    """The journaled answer, validated by the flow's schema.

    An answer given from a process that did not know the flow was checked against the
    stored JSON Schema only, which cannot hold every rule (a custom validator, say). When
    it does not fit, the wait is marked failed with the reasons and the flow fails with a
    KitaruWaitValidationError: retrying the execution asks the wait again.
    """
    from pydantic import ValidationError

    from kitaru_nb import serde
    from kitaru_nb.models import FailureInfo
    from kitaru_nb.types import FailureOrigin

    assert rec.output is not None
    judged = _judged.pop((run.exec_id, wait_name), None)
    if judged is not None and rec.output.data is not None and judged[0] == rec.output.data:
        return judged[1]  # judged by this adapter when it was given here: not validated twice
    try:
        return adapter.validate_python(serde.loads(rec.output.format, rec.output.data))
    except ValidationError as exc:
        errors = [{"loc": tuple(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors(include_url=False)]
    lines = "; ".join(f"{_loc_text(tuple(e['loc']))}: {e['msg']}" for e in errors)
    message = (
        f"the answer recorded for wait {wait_name!r} does not fit the flow's schema: {lines}. It was given "
        "where the flow was not defined, and checked only against the stored JSON Schema. Retry the "
        "execution to ask again."
    )
    run.journal.finish_call(
        rec.call_id,
        None,
        status=CallStatus.FAILED,
        ended_at=now(),
        failure=FailureInfo(FailureOrigin.USER_CODE, message, "KitaruWaitValidationError"),
    )
    raise KitaruWaitValidationError(message, exec_id=run.exec_id, wait=wait_name, errors=errors)


def _loc_text(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) if loc else "(value)"


def validation_error(exec_id: str, wait_name: str, errors: list[dict[str, Any]]) -> KitaruWaitValidationError:
    lines = "; ".join(f"{_loc_text(tuple(e['loc']))}: {e['msg']}" for e in errors)
    return KitaruWaitValidationError(
        f"the answer to wait {wait_name!r} of execution {exec_id[:8]} does not fit its schema: {lines}. "
        "Nothing was recorded; the execution is still waiting.",
        exec_id=exec_id,
        wait=wait_name,
        errors=errors,
    )


_NOT_JSON: dict[str, Any] = {
    "loc": (),
    "msg": "the value must be JSON (str, number, bool, list, dict, null)",
    "type": "json_type",
}


def validate_answer(exec_id: str, wait_name: str, schema_text: str, value: Any) -> Any:
    """Validate ``value``; returns the JSON-ready answer to store, or raises KitaruWaitValidationError.

    Pydantic judges, in lax mode, wherever the answer is given: the live adapter when this
    process ran the wait, else an adapter rebuilt from the stored JSON Schema (see
    ``kitaru_nb.stored_schema``), so another process, the REST API and the flow give the same
    verdict with the same wording. Only a schema whose features cannot be rebuilt is checked
    with JSON Schema (jsonschema, draft 2020-12). An answer must be storable as UTF-8 JSON: a
    string with a lone surrogate (``"a\\ud800"``) is refused wherever it is given.
    """
    adapter = _adapters.get(schema_text)
    live = adapter is not None
    dump: dict[str, Any] = {}
    if adapter is None:
        from kitaru_nb.stored_schema import Unmappable, adapter_for_schema_text

        try:
            adapter = adapter_for_schema_text(schema_text)
        except Unmappable:
            return _storable(
                exec_id, wait_name, validate_with_json_schema(exec_id, wait_name, json.loads(schema_text), value)
            )
        # keys as stored (aliases), and only what was given: the flow fills in its own defaults
        dump = {"by_alias": True, "exclude_unset": True}
    from pydantic import ValidationError
    from pydantic_core import PydanticSerializationError

    try:
        validated = adapter.validate_python(value)
    except ValidationError as exc:
        errors = [{"loc": tuple(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors(include_url=False)]
        raise validation_error(exec_id, wait_name, errors) from None
    try:
        answer = adapter.dump_python(validated, mode="json", **dump)
    except PydanticSerializationError:
        # schema None (any value) let a non-JSON value through: it cannot be journaled as an answer
        raise validation_error(exec_id, wait_name, [_NOT_JSON]) from None
    stored = _storable(exec_id, wait_name, answer)
    if live:
        with _lock:
            _judged[(exec_id, wait_name)] = (json.dumps(stored).encode(), validated)
            while len(_judged) > 256:
                del _judged[next(iter(_judged))]
    return stored


_NOT_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"


def _storable(exec_id: str, wait_name: str, answer: Any) -> Any:
    """``answer`` if it encodes as UTF-8 JSON; else the places of the strings that do not (lone surrogates)."""
    try:
        json.dumps(answer, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return answer
    errors: list[dict[str, Any]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), answer)]
    while stack:
        loc, item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if isinstance(k, str) and not _encodes(k):
                    errors.append({"loc": (*loc, k), "msg": _NOT_UNICODE, "type": "string_unicode"})
                stack.append(((*loc, k), v))
        elif isinstance(item, list):
            stack.extend(((*loc, i), v) for i, v in enumerate(item))
        elif isinstance(item, str) and not _encodes(item):
            errors.append({"loc": loc, "msg": _NOT_UNICODE, "type": "string_unicode"})
    errors.sort(key=lambda e: tuple(map(str, e["loc"])))
    raise validation_error(exec_id, wait_name, errors)


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_validator_cls: Any = None


def _import_jsonschema() -> Any:
    """``import jsonschema``, without letting it build the IRI format checker on first import.

    On import, jsonschema registers format checkers from optional packages; with
    ``rfc3987-syntax`` installed (Jupyter installs it) that builds a parser grammar and
    takes about a second, which the first answer given from another process would pay.
    Wait schemas are validated without format checking, so the checker is not needed: it is
    left out only when jsonschema is not imported yet and nobody has imported the package.
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        import jsonschema

        return jsonschema
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes its import fail
    try:
        import jsonschema
    finally:
        del sys.modules["rfc3987_syntax"]
    return jsonschema


def _strict_validator_cls() -> Any:
    """Draft 2020-12 with a strict ``integer``: a JSON integer, not ``1.0``.

    The answer is validated again by the flow's pydantic adapter when it resumes; plain
    JSON Schema would let through integral floats (``1.0``, ``9.3e18``) that pydantic may
    refuse then, failing the flow after the answer was accepted.
    """
    global _validator_cls
    if _validator_cls is None:
        jsonschema = _import_jsonschema()
        base = jsonschema.Draft202012Validator
        checker = base.TYPE_CHECKER.redefine(
            "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
        )
        _validator_cls = jsonschema.validators.extend(base, type_checker=checker)
    return _validator_cls


def validate_with_json_schema(exec_id: str, wait_name: str, schema: dict[str, Any], value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise validation_error(exec_id, wait_name, [_NOT_JSON]) from None
    validator = _strict_validator_cls()(schema)
    problems = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    if problems:
        errors = []
        for p in problems:
            loc: tuple[Any, ...] = tuple(p.absolute_path)
            if p.validator == "required" and isinstance(p.instance, dict):
                missing = [r for r in p.validator_value if r not in p.instance]
                for m in missing:
                    errors.append({"loc": (*loc, m), "msg": "Field required", "type": "missing"})
                continue
            errors.append({"loc": loc, "msg": p.message, "type": str(p.validator)})
        raise validation_error(exec_id, wait_name, errors)
    return value
