"""What the REST API does, without HTTP: parse and check requests, read the journal, record answers.

Every failure is an ``ApiError`` carrying the HTTP status and a message that says what to do;
the handlers only turn it into a response. The journal is read through ``KitaruClient`` with
``unpickle=False``, and the client used here never resumes an execution: recording an answer is
all the server does, the kernel that runs the flow resumes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kitaru_nb.client import KitaruClient
from kitaru_nb.errors import (
    KitaruBackendError,
    KitaruStateError,
    KitaruUsageError,
    KitaruWaitValidationError,
)
from kitaru_nb.journal.base import RequestRow
from kitaru_nb.models import Execution
from kitaru_nb.runtime.owner import describe, owner_alive
from kitaru_nb.types import ExecutionStatus

#: exec ids are uuid4 hex (32 digits); a prefix of at least 8 (the short id) is accepted too
EXEC_ID_RE = re.compile(r"[0-9a-f]{8,32}")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_BODY_BYTES = 1_000_000
#: the body object counts as one level: an answer may nest 63 lists / objects deep
MAX_BODY_DEPTH = 64
MAX_NAME_CHARS = 500
#: timeline rows of an execution's detail: the last ``DETAIL_ROWS`` by default, at most ``MAX_DETAIL_ROWS``
DETAIL_ROWS = 200
MAX_DETAIL_ROWS = 1000
STATUSES = tuple(s.value for s in ExecutionStatus)


class ApiError(Exception):
    """An answer other than 200: HTTP status, message, and per-field errors for a bad wait answer."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def check_exec_id(exec_id: str) -> str:
    if not EXEC_ID_RE.fullmatch(exec_id):
        raise ApiError(400, "exec_id must be an execution id: 8 to 32 lowercase hex digits")
    return exec_id


def _int_param(params: Mapping[str, str], name: str, default: int, maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\d{1,9}", raw):
        raise ApiError(400, f"{name} must be an integer >= 0, got {raw!r}")
    value = int(raw)
    if maximum is not None and value > maximum:
        raise ApiError(400, f"{name} must be at most {maximum}, got {value}")
    return value


def _position_param(params: Mapping[str, str], name: str, minimum: int) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"-?\d{1,9}", raw) or int(raw) < minimum:
        raise ApiError(400, f"{name} must be a position (an integer >= {minimum}), got {raw!r}")
    return int(raw)


def parse_detail_query(params: Mapping[str, str]) -> dict[str, Any]:
    """Which timeline rows of an execution to read: ``limit`` rows (default ``DETAIL_ROWS``), the last
    ones, those after position ``after``, or the last ones before position ``before``; checked. Other
    parameters are ignored, as on every route (JupyterLab adds a cache-busting one to each GET)."""
    after = _position_param(params, "after", -1)
    before = _position_param(params, "before", 0)
    if after is not None and before is not None:
        raise ApiError(400, "give after (rows after a position) or before (rows before a position), not both")
    raw_limit = params.get("limit")
    limit = _int_param(params, "limit", DETAIL_ROWS, MAX_DETAIL_ROWS)
    if raw_limit and limit < 1:
        raise ApiError(400, f"limit must be at least 1, got {limit}")
    return {"after": after, "before": before, "limit": limit}


def parse_force(raw: str | None) -> bool:
    """``?force=true`` / ``false`` (absent: false), or a 400."""
    if raw is None or raw == "" or raw == "false":
        return False
    if raw == "true":
        return True
    raise ApiError(400, f"force must be true or false, got {raw!r}")


def parse_list_query(params: Mapping[str, str]) -> dict[str, Any]:
    """``status``, ``flow``, ``limit``, ``offset`` from a query string, checked."""
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    flow = params.get("flow") or None
    if flow is not None and len(flow) > MAX_NAME_CHARS:
        raise ApiError(400, f"flow must be a flow name of at most {MAX_NAME_CHARS} characters")
    return {
        "status": status,
        "flow": flow,
        "limit": _int_param(params, "limit", DEFAULT_LIMIT, MAX_LIMIT),
        "offset": _int_param(params, "offset", 0),
    }


def _json_object(body: bytes, shape: str) -> dict[str, Any]:
    """The request body as a JSON object, or a 413/400 that shows the expected ``shape``."""
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    too_deep = ApiError(
        400,
        f"the request body nests lists and objects more than {MAX_BODY_DEPTH} levels deep; "
        f"send an answer like {shape} with at most {MAX_BODY_DEPTH} levels",
    )
    try:
        text = body.decode("utf-8")
        # checked before parsing: Python's parser recurses once per level and would hit the
        # interpreter's recursion limit (a RecursionError, a 500) on a deep enough body
        if _nesting(text) > MAX_BODY_DEPTH:
            raise too_deep
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"the request body must be JSON like {shape}: {exc}") from None
    except RecursionError:
        raise too_deep from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the request body must be a JSON object {shape}, not {type(data).__name__}")
    return data


_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _nesting(text: str) -> int:
    """How deep ``[`` / ``{`` nest in JSON text, brackets inside strings not counted (no recursion)."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(text):
        part = m.group()
        if part in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif part in ("]", "}"):
            depth -= 1
    return deepest


def parse_input_body(body: bytes) -> tuple[str, Any]:
    """``{"wait": NAME, "value": ...}`` -> (NAME, value), or a 400 that says what is wrong."""
    data = _json_object(body, '{"wait": NAME, "value": ...}')
    wait = data.get("wait")
    if not isinstance(wait, str) or not wait or len(wait) > MAX_NAME_CHARS:
        raise ApiError(400, '"wait" must be the name of a pending wait (a non-empty string)')
    if "value" not in data:
        raise ApiError(400, '"value" is missing: send the answer as {"wait": NAME, "value": ...}')
    extra = sorted(set(data) - {"wait", "value"})
    if extra:
        raise ApiError(400, f'unexpected keys {extra}: the body is {{"wait": NAME, "value": ...}}')
    return wait, data["value"]


DECISIONS = ("retry", "skip")


def parse_decision_body(body: bytes) -> tuple[str, str]:
    """``{"checkpoint": NAME, "decision": "retry" | "skip"}`` -> (NAME, decision), or a 400."""
    data = _json_object(body, '{"checkpoint": NAME, "decision": "retry" | "skip"}')
    checkpoint = data.get("checkpoint")
    if not isinstance(checkpoint, str) or not checkpoint or len(checkpoint) > MAX_NAME_CHARS:
        raise ApiError(400, '"checkpoint" must be the name of a checkpoint paused on error (a non-empty string)')
    decision = data.get("decision")
    if decision not in DECISIONS:
        raise ApiError(400, f'"decision" must be one of {list(DECISIONS)}, got {decision!r}')
    extra = sorted(set(data) - {"checkpoint", "decision"})
    if extra:
        raise ApiError(400, f'unexpected keys {extra}: the body is {{"checkpoint": NAME, "decision": ...}}')
    return checkpoint, decision


def _jsonable_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        loc = [p if isinstance(p, (int, str)) else str(p) for p in e.get("loc", ())]
        out.append({"loc": loc, "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))})
    return out


class JournalService:
    """The API's operations on one journal file."""

    def __init__(self, path: Path | str):
        #: the SQLite file, or the URL of a PostgreSQL journal
        self.path = path
        if isinstance(path, str):
            from kitaru_nb.journal.postgres import redact

            self.where = redact(path)
        else:
            self.where = str(path)

    def _exists(self) -> bool:
        return isinstance(self.path, str) or self.path.exists()

    def _client(self) -> KitaruClient | None:
        """A client on the journal, or None when the file does not exist yet (nothing ran)."""
        if not self._exists():
            return None
        try:
            client = KitaruClient(db=self.path, unpickle=False)
        except KitaruBackendError as exc:
            raise ApiError(503, str(exc)) from None
        return client

    def _need_client(self, exec_id: str) -> KitaruClient:
        client = self._client()
        if client is None:
            raise ApiError(404, f"no execution {exec_id!r}: the journal {self.where} does not exist yet")
        return client

    @staticmethod
    def _execution(client: KitaruClient, exec_id: str) -> Execution:
        """The execution (its row and counts, no checkpoints: the verbs read what they need), or a 404
        that says it is not in the journal."""
        try:
            return client.executions.glance(exec_id, last=0)
        except KitaruUsageError as exc:
            raise ApiError(404, str(exc)) from None

    def status(self) -> dict[str, Any]:
        return {"journal": self.where, "exists": self._exists()}

    def list(self, params: Mapping[str, str]) -> dict[str, Any]:
        query = parse_list_query(params)
        client = self._client()
        if client is None:
            return {"executions": [], "total": 0, "limit": query["limit"], "offset": query["offset"]}
        try:
            rows = client.executions.list(**query)
            total = client.executions.count(flow=query["flow"], status=query["status"])
        except KitaruBackendError as exc:
            raise ApiError(503, str(exc)) from None
        return page(rows, total, query)

    def get(self, exec_id: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The detail: the execution's counts, pending waits and open positions, and one page of its
        timeline (``parse_detail_query``), read at a cost that does not grow with its size."""
        check_exec_id(exec_id)
        query = parse_detail_query(params or {})
        client = self._need_client(exec_id)
        try:
            return paged_detail(client, exec_id, **query)
        except KitaruUsageError as exc:
            raise ApiError(404, str(exc)) from None
        except KitaruBackendError as exc:
            raise ApiError(503, str(exc)) from None

    def delete(self, exec_id: str, force_raw: str | None = None) -> None:
        """Delete a finished execution with everything journaled for it; a running or waiting one only
        with ``force`` (409 otherwise, saying to cancel it first)."""
        check_exec_id(exec_id)
        force = parse_force(force_raw)
        client = self._need_client(exec_id)
        execution = self._execution(client, exec_id)
        try:
            client.executions.delete(execution.exec_id, force=force)
        except KitaruStateError as exc:
            raise ApiError(409, str(exc)) from None
        except KitaruUsageError as exc:
            raise ApiError(404, str(exc)) from None
        except KitaruBackendError as exc:
            raise ApiError(503, str(exc)) from None

    def answer(self, exec_id: str, body: bytes) -> dict[str, Any]:
        """Validate the answer against the wait's stored JSON Schema and record it."""
        check_exec_id(exec_id)
        wait, value = parse_input_body(body)
        client = self._need_client(exec_id)
        execution = self._execution(client, exec_id)
        try:
            client.executions.input(execution.exec_id, wait=wait, value=value, resume=False, answered_by="sidebar")
            return paged_detail(client, execution.exec_id)
        except KitaruWaitValidationError as exc:
            raise ApiError(400, str(exc), _jsonable_errors(exc.errors)) from None
        except KitaruStateError as exc:
            raise ApiError(409, str(exc)) from None
        except KitaruUsageError as exc:
            raise ApiError(404, str(exc)) from None
        except KitaruBackendError as exc:
            raise ApiError(503, str(exc)) from None

    def decide(self, exec_id: str, body: bytes) -> dict[str, Any]:
        """Record a retry or skip decision for a checkpoint paused on error. Nothing runs here: the
        kernel that runs the flow carries the decision out (its panel resumes when it is idle)."""
        check_exec_id(exec_id)
        checkpoint, decision = parse_decision_body(body)
        client = self._need_client(exec_id)
        execution = self._execution(client, exec_id)
        verbs = client.executions
        try:
            if decision == "retry":
                verbs.retry(execution.exec_id, checkpoint=checkpoint, resume=False)
            else:
                verbs.skip(execution.exec_id, checkpoint=checkpoint, resume=False)
            return paged_detail(client, execution.exec_id)
        except KitaruStateError as exc:
            raise ApiError(409, str(exc)) from None
        except KitaruBackendError as exc:
            raise ApiError(503, str(exc)) from None

    def replay(self, exec_id: str, body: bytes) -> dict[str, Any]:
        """Record a replay from a checkpoint; the kernel that defines the flow carries it out."""
        check_exec_id(exec_id)
        from_, overrides, after = parse_replay_body(body)
        client = self._need_client(exec_id)
        execution = self._execution(client, exec_id)
        try:
            req = client.executions.request_replay(
                execution.exec_id, from_=from_, overrides=overrides, after=after, requested_by="sidebar"
            )
        except KitaruUsageError as exc:
            raise ApiError(400, str(exc)) from None
        except KitaruBackendError as exc:
            raise ApiError(503, str(exc)) from None
        return {"request": request_dict(req), "message": carried_out_by(execution)}

    def retry(self, exec_id: str, body: bytes) -> dict[str, Any]:
        """Record a retry of a failed execution; the kernel that defines the flow carries it out."""
        check_exec_id(exec_id)
        data = _json_object(body or b"{}", "{}")
        if data:
            raise ApiError(400, f"unexpected keys {sorted(data)}: the body of a retry is {{}}")
        client = self._need_client(exec_id)
        execution = self._execution(client, exec_id)
        try:
            req = client.executions.request_retry(execution.exec_id, requested_by="sidebar")
        except KitaruStateError as exc:
            raise ApiError(409, str(exc)) from None
        except KitaruBackendError as exc:
            raise ApiError(503, str(exc)) from None
        return {"request": request_dict(req), "message": carried_out_by(execution)}


def parse_replay_body(body: bytes) -> tuple[str, dict[str, Any] | None, bool]:
    """``{"from": "name" | "name#k", "overrides"?: {"checkpoint.NAME": value}, "after"?: bool}``."""
    shape = '{"from": "name" or "name#k", "overrides": {"checkpoint.NAME": value}}'
    data = _json_object(body, shape)
    from_ = data.get("from")
    if not isinstance(from_, str) or not from_ or len(from_) > MAX_NAME_CHARS:
        raise ApiError(400, f'"from" must name a recorded checkpoint ("name" or "name#k"); the body is {shape}')
    overrides = data.get("overrides")
    if overrides is not None and not isinstance(overrides, dict):
        raise ApiError(400, '"overrides" must be an object like {"checkpoint.NAME": value}')
    after = data.get("after", False)
    if not isinstance(after, bool):
        raise ApiError(400, '"after" must be true or false')
    extra = sorted(set(data) - {"from", "overrides", "after"})
    if extra:
        raise ApiError(400, f"unexpected keys {extra}: the body is {shape}")
    return from_, overrides or None, after


def request_dict(req: RequestRow) -> dict[str, Any]:
    return {
        "request_id": req.request_id,
        "kind": req.kind,
        "params": req.params,
        "status": req.status,
        "message": req.message,
        "created_at": datetime.fromtimestamp(req.created_at, tz=UTC).isoformat(),
        "created_by": req.created_by,
        "taken_by": req.taken_by,
        "result_exec_id": req.result_exec_id,
    }


def carried_out_by(execution: Execution, alive: bool | None = None) -> str:
    """Who carries out what the sidebar records for ``execution``, and what to do when nobody can
    (``alive``: whether its owner runs, when the caller knows already)."""
    o = execution.owner or {}
    what = "flow" if execution.kind == "flow" else execution.kind
    if alive is None:
        alive = owner_alive(o) if o else None
    if alive:
        return f"recorded; {describe(o)} carries it out when it is idle"
    where = f"open {o['notebook']}" if o.get("notebook") else "open the notebook that defines it"
    cell = f" (it was cell In[{o['cell']}])" if o.get("cell") else ""
    return (
        f"recorded; no live kernel is known to define {what} {execution.flow_name!r}: {where} and run the cell "
        f"that defines {what} {execution.flow_name!r}{cell}; that kernel carries it out when it is idle"
    )


def detail(client: KitaruClient, execution: Execution) -> dict[str, Any]:
    """The detail payload: the execution, who owns it, and its requests."""
    out = execution.to_dict()
    o = execution.owner or {}
    alive = owner_alive(o) if o else None
    out["owner_alive"] = alive
    if execution.status.is_terminal and execution.status is not ExecutionStatus.FAILED:
        out["owner_hint"] = f"ran in {describe(o)}" if o else ""
    elif alive:
        out["owner_hint"] = f"runs in {describe(o)}; answers and decisions given here are carried out there"
    else:
        out["owner_hint"] = carried_out_by(execution, alive).removeprefix("recorded; ")
    out["requests"] = [request_dict(r) for r in client.executions.requests(execution.exec_id)]
    return out


def paged_detail(
    client: KitaruClient,
    exec_id: str,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = DETAIL_ROWS,
) -> dict[str, Any]:
    """The detail payload with one page of the timeline, and ``page`` saying which rows it holds.

    Default: the last ``limit`` positions plus every position not done (paused, failed, waiting),
    however far back. ``after``: the first ``limit`` positions after that one. ``before``: the last
    ``limit`` positions before that one. ``page``: ``total`` positions, the range ``first_index`` ..
    ``last_index`` the page covers (open rows of the default page before it come on top), and
    whether positions before (``older``) and after it (``newer``) were left out; ``partial`` is true
    when the payload holds fewer rows than the execution has."""
    verbs = client.executions
    if before is not None:
        execution = verbs.page(exec_id, after=before, limit=limit + 1, newest_first=True)
    elif after is not None:
        execution = verbs.page(exec_id, after=after, limit=limit + 1)
    else:
        execution = verbs.glance(exec_id, last=limit)
    out = detail(client, execution)
    total = execution.progress[1]
    held = sorted({int(r["index"]) for r in out["timeline"]})
    older = newer = False
    if before is not None:
        older = len(held) > limit
        window = held[1:] if older else held
    elif after is not None:
        newer = len(held) > limit
        window = held[:-1] if newer else held
        older = bool(window) and window[0] > 0  # positions are numbered from 0
    else:
        window = held[-min(limit, total) :] if total else []
        older = total > limit
    # the default page keeps the open rows before its window too; a page only its window
    keep = set(held) if before is None and after is None else set(window)
    for key in ("timeline", "checkpoints", "waits"):
        out[key] = [r for r in out[key] if int(r["index"]) in keep]
    out["partial"] = len(keep) < total
    out["page"] = {
        "total": total,
        "first_index": window[0] if window else None,
        "last_index": window[-1] if window else None,
        "older": older,
        "newer": newer,
        "limit": limit,
    }
    return out


#: list filters beyond the execution statuses: what a waiting execution waits for
WAITING_STATUSES = {"needs_input": "input", "paused_on_error": "decision"}
LIST_STATUSES = (*STATUSES, *WAITING_STATUSES)


def parse_search_query(params: Mapping[str, str]) -> dict[str, Any]:
    """The list query: ``flow`` (exact name) or ``flow_contains`` (a substring of the flow name, any
    case), ``status`` (an execution status, ``needs_input`` or ``paused_on_error``), ``limit``,
    ``offset``; checked, a 400 says what is wrong."""
    raw_status = params.get("status") or None
    if raw_status is not None and raw_status not in LIST_STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(LIST_STATUSES)}; got {raw_status!r}")
    waiting_for = WAITING_STATUSES.get(raw_status or "")
    query = parse_list_query({k: v for k, v in params.items() if k != "status" or waiting_for is None})
    contains = params.get("flow_contains") or None
    if contains is not None and len(contains) > MAX_NAME_CHARS:
        raise ApiError(400, f"flow_contains must be at most {MAX_NAME_CHARS} characters")
    if contains is not None and query["flow"] is not None:
        raise ApiError(400, "give flow (an exact name) or flow_contains (part of a name), not both")
    query["flow_contains"] = contains
    query["waiting_for"] = waiting_for
    return query


def search(service: JournalService, params: Mapping[str, str]) -> dict[str, Any]:
    """``GET executions``: newest first, filtered as ``parse_search_query`` reads the query."""
    query = parse_search_query(params)
    if query["flow_contains"] is None and query["waiting_for"] is None:
        return service.list(params)
    client = service._client()
    if client is None:
        return {"executions": [], "total": 0, "limit": query["limit"], "offset": query["offset"]}
    try:
        rows, total = client.executions.search(
            flow=query["flow"],
            flow_contains=query["flow_contains"],
            status=query["status"],
            waiting_for=query["waiting_for"],
            limit=query["limit"],
            offset=query["offset"],
        )
    except KitaruBackendError as exc:
        raise ApiError(503, str(exc)) from None
    return page(rows, total, query)


def page(rows: list[Execution], total: int, query: Mapping[str, Any]) -> dict[str, Any]:
    """One page of the list: the executions, the total that matched, and the paging asked for."""
    return {
        "executions": [e.to_dict() for e in rows],
        "total": total,
        "limit": query["limit"],
        "offset": query["offset"],
    }


def counts(service: JournalService) -> dict[str, Any]:
    """``GET counts``: how many executions wait for a human (``input``: an answer, ``decision``: a
    checkpoint paused on error, ``total``), and the journal's change token."""
    client = service._client()
    if client is None:
        return {"input": 0, "decision": 0, "total": 0, "token": 0}
    try:
        return {**client.executions.waiting_counts(), "token": client.journal.change_token()}
    except KitaruBackendError as exc:
        raise ApiError(503, str(exc)) from None
