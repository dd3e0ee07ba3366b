"""The sidebar's TypeScript payload types (labextension/src/types.ts) against what the server sends.

types.ts is parsed (interfaces, type aliases of string literals) and real payloads of a real
server on a real journal are checked against it: every key the server sends is declared, every
declared non-optional key is sent, and every value has the declared type. A field added on either
side without the other fails here. Also: the REST payload reports the same status words and
durations as the client's ``Execution`` (what the panel renders).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb.widgets.render import call_status, fmt_duration

from .flows import make_all

TYPES_TS = Path(__file__).resolve().parents[2] / "labextension" / "src" / "types.ts"


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def parse_types(text: str) -> tuple[dict[str, dict[str, tuple[str, bool]]], dict[str, str]]:
    """({interface: {field: (type, optional)}}, {alias: type})."""
    text = _strip_comments(text)
    interfaces: dict[str, dict[str, tuple[str, bool]]] = {}
    for m in re.finditer(r"export interface (\w+) \{(.*?)\n\}", text, flags=re.S):
        fields: dict[str, tuple[str, bool]] = {}
        for line in re.split(r";\s*\n", m.group(2)):
            line = " ".join(line.split()).rstrip(";")
            if not line:
                continue
            fm = re.fullmatch(r"(\w+)(\??): (.+)", line)
            assert fm, f"cannot read the field {line!r} of {m.group(1)}"
            fields[fm.group(1)] = (fm.group(3), fm.group(2) == "?")
        interfaces[m.group(1)] = fields
    aliases = {
        m.group(1): " ".join(m.group(2).split()) for m in re.finditer(r"export type (\w+) =\s*(.+?);", text, re.S)
    }
    return interfaces, aliases


def _split_top(expr: str, sep: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in expr:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


class TypeChecker:
    def __init__(self, interfaces: dict[str, dict[str, tuple[str, bool]]], aliases: dict[str, str]):
        self.interfaces = interfaces
        self.aliases = aliases
        self.seen_optional: dict[str, set[str]] = {}

    def problems(self, value: Any, expr: str, where: str) -> list[str]:
        expr = expr.strip()
        members = _split_top(expr, "|")
        if len(members) > 1:
            results = [self.problems(value, m, where) for m in members]
            if any(not r for r in results):
                return []
            return [f"{where}: {value!r:.80} is none of {expr}: " + "; ".join(r[0] for r in results if r)]
        if expr.startswith("(") and expr.endswith(")"):
            return self.problems(value, expr[1:-1], where)
        if expr == "unknown":
            return []
        if expr == "string":
            return [] if isinstance(value, str) else [f"{where}: {value!r:.80} is not a string"]
        if expr == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return [] if ok else [f"{where}: {value!r:.80} is not a number"]
        if expr == "boolean":
            return [] if isinstance(value, bool) else [f"{where}: {value!r:.80} is not a boolean"]
        if expr == "null":
            return [] if value is None else [f"{where}: {value!r:.80} is not null"]
        if re.fullmatch(r"'[^']*'", expr):
            return [] if value == expr[1:-1] else [f"{where}: {value!r:.80} is not {expr}"]
        if expr.endswith("[]"):
            if not isinstance(value, list):
                return [f"{where}: {value!r:.80} is not an array"]
            return [p for i, v in enumerate(value) for p in self.problems(v, expr[:-2], f"{where}[{i}]")]
        m = re.fullmatch(r"Array<(.+)>", expr)
        if m:
            return (
                self.problems(value, m.group(1) + "[]", where)
                if " " not in m.group(1)
                else self._array(value, m.group(1), where)
            )
        m = re.fullmatch(r"Record<string, (.+)>", expr)
        if m:
            if not isinstance(value, dict):
                return [f"{where}: {value!r:.80} is not an object"]
            return [p for k, v in value.items() for p in self.problems(v, m.group(1), f"{where}.{k}")]
        if expr in self.aliases:
            return self.problems(value, self.aliases[expr], where)
        if expr in self.interfaces:
            return self.check(value, expr, where)
        raise AssertionError(f"{where}: types.ts uses a type this test cannot read: {expr}")

    def _array(self, value: Any, inner: str, where: str) -> list[str]:
        if not isinstance(value, list):
            return [f"{where}: {value!r:.80} is not an array"]
        return [p for i, v in enumerate(value) for p in self.problems(v, inner, f"{where}[{i}]")]

    def check(self, value: Any, interface: str, where: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where}: {value!r:.80} is not an object ({interface})"]
        fields = self.interfaces[interface]
        out = [f"{where}.{k}: sent by the server, not declared in {interface}" for k in value if k not in fields]
        for name, (expr, optional) in fields.items():
            if name not in value:
                if not optional:
                    out.append(f"{where}.{name}: declared in {interface}, not sent by the server")
                continue
            if optional:
                self.seen_optional.setdefault(interface, set()).add(name)
            out += self.problems(value[name], expr, f"{where}.{name}")
        return out


@pytest.fixture
def checker() -> TypeChecker:
    return TypeChecker(*parse_types(TYPES_TS.read_text()))


def rich_flows() -> dict[str, str]:
    """Executions with a paused checkpoint, an answered wait, a replay request and a retry request."""
    ids = make_all(Path("."))
    tries = {"n": 0}

    @kitaru.checkpoint(on_error="pause")
    def fetch() -> str:
        tries["n"] += 1
        if tries["n"] == 1:
            raise ConnectionError("warehouse offline")
        return "rows"

    @kitaru.flow
    def nightly() -> str:
        return fetch()

    ids["paused"] = nightly.run().exec_id
    client = kitaru.KitaruClient()
    ids["answered"] = ids["waiting"]
    client.executions.input(ids["waiting"], wait="approve", value={"approved": True, "reviewer": "ada"}, resume=False)
    client.executions.request_retry(ids["failed"], requested_by="sidebar")
    client.executions.request_replay(ids["completed"], from_="total", requested_by="sidebar")
    return ids


async def test_the_typescript_types_match_every_payload_the_sidebar_reads(api, journal, checker):
    ids = rich_flows()
    problems: list[str] = []

    code, page = await api("GET", "executions")
    assert code == 200
    problems += checker.check(page, "IExecutionPage", "list")
    code, page = await api("GET", "executions", params={"status": "needs_input"})
    problems += checker.check(page, "IExecutionPage", "list?needs_input")
    for name, exec_id in ids.items():
        code, body = await api("GET", "executions", exec_id)
        assert code == 200
        problems += checker.check(body, "IExecution", f"detail[{name}]")
    code, counts = await api("GET", "counts")
    problems += checker.check(counts, "IWaitingCounts", "counts")
    code, status = await api("GET", "status")
    problems += checker.check(status, "IJournalStatus", "status")
    code, bad = await api("POST", "executions", ids["completed"], "input", body={"wait": "approve", "value": 1})
    code, bad = await api(
        "POST",
        "executions",
        make_all(Path("."))["waiting"],
        "input",
        body={"wait": "approve", "value": {"reviewer": "x"}},
    )
    assert code == 400
    problems += [p for e in bad["errors"] for p in checker.check(e, "IFieldError", "400.errors")]
    code, accepted = await api("POST", "executions", ids["completed"], "replay", body={"from": "load"})
    assert code == 202
    problems += checker.check(accepted, "IRequestAccepted", "replay")
    code, accepted = await api("POST", "executions", ids["failed"], "retry", body={})
    assert code in (202, 409)
    assert problems == []
    # the optional fields the detail view relies on were really seen
    assert {"owner_hint", "requests", "owner_alive"} <= checker.seen_optional["IExecution"]


def test_the_parser_reads_what_types_ts_declares() -> None:
    interfaces, aliases = parse_types(TYPES_TS.read_text())
    assert interfaces["IExecution"]["status"] == ("ExecutionStatus", False)
    assert interfaces["IExecution"]["owner_hint"] == ("string | null", True)
    assert "'needs_input'" in aliases["ListStatus"]
    checker = TypeChecker(interfaces, aliases)
    assert checker.problems({"done": 1, "total": "2"}, "IProgress", "p") == ["p.total: '2' is not a number"]
    assert checker.problems({"done": 1, "total": 2, "x": 0}, "IProgress", "p") == [
        "p.x: sent by the server, not declared in IProgress"
    ]


async def test_rest_reports_the_same_status_words_and_durations_as_the_client(api, journal):
    ids = rich_flows()
    client = kitaru.KitaruClient()
    for exec_id in ids.values():
        code, body = await api("GET", "executions", exec_id)
        model = client.executions.get(exec_id)
        assert body["status"] == model.status.value
        assert len(body["checkpoints"]) == len(model.checkpoints)
        for wire, call in zip(body["checkpoints"], model.checkpoints, strict=True):
            assert wire["status"] == call.status.value
            # the word the panel shows ("paused" for a checkpoint paused on error)
            assert wire["display_status"] == call_status(call)
            assert wire["duration"] == call.duration
            assert fmt_duration(wire["duration"]) == fmt_duration(call.duration)
            for wa, a in zip(wire["attempts"], call.attempts, strict=True):
                assert wa["status"] == a.status.value
                assert wa["duration"] == a.duration
    code, body = await api("GET", "executions", ids["paused"])
    assert code == 200
    (fetch,) = body["checkpoints"]
    assert (fetch["status"], fetch["display_status"]) == ("failed", "paused")
