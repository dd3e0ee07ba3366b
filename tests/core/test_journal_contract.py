"""One contract, every journal: the in-memory one, the SQLite one and the PostgreSQL one pass the
same tests (PostgreSQL: a fresh database on the server scripts/test.sh starts).

Each test covers one method (or a pair) of the ``Journal`` protocol in ``kitaru_nb.journal.base``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kitaru_nb.errors import KitaruBackendError
from kitaru_nb.journal.base import (
    ArtifactRow,
    AttemptRow,
    CallRow,
    Completed,
    ExecutionRow,
    Journal,
    RequestRow,
    StoredValue,
)
from kitaru_nb.journal.base import call_id_at as cid
from kitaru_nb.journal.memory import MemoryJournal
from kitaru_nb.journal.sqlite import SqliteJournal
from kitaru_nb.models import FailureInfo
from kitaru_nb.types import FailureOrigin

FAILURE = FailureInfo(FailureOrigin.USER_CODE, "boom <b>html</b>", "ValueError", "Traceback...\nValueError: boom")


@dataclass
class Pair:
    journal: Journal
    #: writes as another connection would (SQLite: a second connection to the same file)
    other: Journal
    #: the same journal opened again (None: nothing survives closing it)
    reopen: Callable[[], Journal] | None = None


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pair]:
    if request.param == "memory":
        mem = MemoryJournal()
        yield Pair(mem, mem)
        mem.close()
        return
    if request.param == "postgres":
        from kitaru_nb.journal.postgres import PostgresJournal

        url = request.getfixturevalue("pg_url")
        pa, pb = PostgresJournal(url), PostgresJournal(url)
        yield Pair(pa, pb, lambda: PostgresJournal(url))
        pa.close()
        pb.close()
        return
    path = tmp_path / "contract.db"
    a, b = SqliteJournal(path), SqliteJournal(path)
    yield Pair(a, b, lambda: SqliteJournal(path))
    a.close()
    b.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture
def j(pair: Pair) -> Journal:
    return pair.journal


def ex(exec_id: str, *, flow: str = "f", status: str = "running", t: float = 1000.5, **kw: object) -> ExecutionRow:
    return ExecutionRow(exec_id=exec_id, flow_name=flow, status=status, started_at=t, **kw)  # type: ignore[arg-type]


def call(exec_id: str, idx: int, *, name: str = "step", kind: str = "checkpoint", status: str = "running") -> CallRow:
    return CallRow(cid(exec_id, idx), exec_id, idx, kind, name, status, 2000.25 + idx, fingerprint="fp1")


def attempt(exec_id: str, idx: int, number: int = 1) -> AttemptRow:
    return AttemptRow(f"{exec_id}-c{idx}-a{number}", cid(exec_id, idx), exec_id, number, "running", 3000.0 + number)


def test_location(j: Journal) -> None:
    assert isinstance(j.location, str) and j.location


def test_create_and_get_execution_round_trips_every_field(j: Journal) -> None:
    row = ex(
        "e1",
        kind="workflow",
        ended_at=1001.75,
        owner_pid=4242,
        original_exec_id="e0",
        replay_from="step#2",
        failure=FAILURE,
        inputs=StoredValue("json", "{'x': 1}", b'{"x":1}'),
        result=StoredValue("pickle", "<obj>", b"\x80\x05N."),
        meta={"fingerprint": "abc", "nested": [1, 2]},
        owner={"host": "h", "pid": 4242, "notebook": "a/b.ipynb"},
    )
    j.create_execution(row)
    assert row.seq > 0
    got = j.get_execution("e1")
    assert got is not None
    assert got == row
    assert j.get_execution("missing") is None


def test_get_execution_without_values_keeps_formats_and_previews(j: Journal) -> None:
    j.create_execution(ex("e1", inputs=StoredValue("json", "[1]", b"[1]"), result=StoredValue("json", "2", b"2")))
    got = j.get_execution("e1", with_values=False)
    assert got is not None and got.inputs is not None and got.result is not None
    assert (got.inputs.format, got.inputs.preview, got.inputs.data) == ("json", "[1]", None)
    assert (got.result.format, got.result.preview, got.result.data) == ("json", "2", None)


def test_create_execution_twice_is_refused(j: Journal) -> None:
    j.create_execution(ex("e1"))
    with pytest.raises((ValueError, sqlite3.IntegrityError)):
        j.create_execution(ex("e1", flow="other"))
    got = j.get_execution("e1")
    assert got is not None and got.flow_name == "f"
    assert j.count_executions() == 1


def test_find_exec_ids_by_prefix(j: Journal) -> None:
    for e in ("abc1", "abc2", "abd3", "zzz"):
        j.create_execution(ex(e))
    assert j.find_exec_ids("abc") == ["abc1", "abc2"]
    assert j.find_exec_ids("abc", limit=1) == ["abc1"]
    assert j.find_exec_ids("abd") == ["abd3"]
    assert j.find_exec_ids("q") == []


def test_list_and_count_executions_newest_first_with_filters(j: Journal) -> None:
    for i in range(10):
        j.create_execution(
            ex(f"e{i}", flow="a" if i % 2 else "b", status="completed" if i % 3 else "failed", t=float(i))
        )
    assert [r.exec_id for r in j.list_executions()] == [f"e{i}" for i in range(9, -1, -1)]
    assert [r.exec_id for r in j.list_executions(limit=3, offset=2)] == ["e7", "e6", "e5"]
    assert [r.exec_id for r in j.list_executions(flow="a")] == ["e9", "e7", "e5", "e3", "e1"]
    assert [r.exec_id for r in j.list_executions(status="failed")] == ["e9", "e6", "e3", "e0"]
    assert [r.exec_id for r in j.list_executions(flow="a", status="failed")] == ["e9", "e3"]
    assert j.list_executions(flow="nope") == []
    assert j.count_executions() == 10
    assert j.count_executions(flow="b") == 5
    assert j.count_executions(status="completed") == 6
    assert j.count_executions(flow="a", status="failed") == 2


def test_list_executions_leaves_value_bytes_out(j: Journal) -> None:
    j.create_execution(ex("e1", inputs=StoredValue("json", "{}", b"{}")))
    (row,) = j.list_executions()
    assert row.inputs is not None and row.inputs.preview == "{}" and row.inputs.data is None


def test_set_execution_status_with_and_without_expect(j: Journal) -> None:
    j.create_execution(ex("e1"))
    assert j.set_execution_status("e1", "waiting", expect=("running",))
    assert not j.set_execution_status("e1", "completed", expect=("running",))
    got = j.get_execution("e1")
    assert got is not None and got.status == "waiting"

    assert j.set_execution_status("e1", "failed", ended_at=5.5, failure=FAILURE, owner_pid=77)
    got = j.get_execution("e1")
    assert got is not None
    assert (got.status, got.ended_at, got.failure, got.owner_pid) == ("failed", 5.5, FAILURE, 77)

    # a new status clears the failure; owner_pid stays when not given; a result is set
    assert j.set_execution_status("e1", "completed", ended_at=6.0, result=StoredValue("json", "3", b"3"))
    got = j.get_execution("e1")
    assert got is not None
    assert (got.status, got.failure, got.owner_pid) == ("completed", None, 77)
    assert got.result == StoredValue("json", "3", b"3")
    assert not j.set_execution_status("missing", "completed")


def test_set_execution_meta(j: Journal) -> None:
    j.create_execution(ex("e1", meta={"a": 1}))
    j.set_execution_meta("e1", {"b": [1, "two"]})
    got = j.get_execution("e1")
    assert got is not None and got.meta == {"b": [1, "two"]}


def test_insert_call_with_its_first_attempt(j: Journal) -> None:
    j.create_execution(ex("e1"))
    c, a = call("e1", 0), attempt("e1", 0)
    j.insert_call(c, a)
    assert j.load_calls("e1") == [c]
    assert j.list_attempts("e1") == [a]


def test_insert_call_at_a_taken_position_is_refused(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0, name="first"))
    with pytest.raises((ValueError, sqlite3.IntegrityError)):
        j.insert_call(call("e1", 0, name="second"))
    assert [c.name for c in j.load_calls("e1")] == ["first"]


def test_a_call_not_named_by_its_position_is_refused_and_nothing_is_written(j: Journal) -> None:
    # an execution's calls are read as one range of ids: a row outside it would be lost to every read
    j.create_execution(ex("e1"))
    stray = call("e1", 1)
    stray.call_id = "other-id"
    with pytest.raises(KitaruBackendError, match=r"call_id_at\(exec_id, idx\) = 'e1\.00000001'"):
        j.insert_call(stray)
    with pytest.raises(KitaruBackendError, match="not named by its position"):
        j.insert_calls([call("e1", 0), stray])
    beyond = call("e1", 1 << 32)  # a position past 8 hex digits would run into the next execution's keys
    with pytest.raises(KitaruBackendError, match=r"position 4294967296 is not in 0\.\.4,294,967,295"):
        j.insert_call(beyond)
    assert j.load_calls("e1") == []
    assert cid("e1", 0) == "e1.00000000" and cid("e1", 255) == "e1.000000ff"


def test_insert_calls_and_load_calls_in_position_order(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.create_execution(ex("e2"))
    rows = [call("e1", i, name=f"s{i}", status="reused") for i in (2, 0, 1)]
    rows[1].original_call_id = "orig-0"
    rows[1].output = StoredValue("json", "[1, 2]", b"[1,2]")
    j.insert_calls(rows)
    j.insert_call(call("e2", 0))
    loaded = j.load_calls("e1")
    assert [c.idx for c in loaded] == [0, 1, 2]
    assert loaded[0] == rows[1]
    light = j.load_calls("e1", with_values=False)
    assert light[0].output is not None
    assert (light[0].output.format, light[0].output.preview, light[0].output.data) == ("json", "[1, 2]", None)
    assert j.load_calls("nope") == []


def test_insert_calls_with_their_attempts_is_all_or_nothing(j: Journal) -> None:
    """Starts journaled together (a .map sent to a cluster): every call with its running attempt in
    one transaction; a batch with a taken position writes none of its rows."""
    j.create_execution(ex("e1"))
    j.insert_calls([call("e1", i) for i in range(3)], [attempt("e1", i) for i in range(3)])
    assert [c.status for c in j.load_calls("e1")] == ["running"] * 3
    assert sorted(a.attempt_id for a in j.list_attempts("e1")) == [f"e1-c{i}-a1" for i in range(3)]
    with pytest.raises((ValueError, sqlite3.IntegrityError)):
        j.insert_calls([call("e1", 3), call("e1", 1)], [attempt("e1", 3)])
    assert [c.idx for c in j.load_calls("e1")] == [0, 1, 2]
    assert len(j.list_attempts("e1")) == 3


def test_complete_calls_ends_many_calls_and_their_attempts_in_one_write(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.insert_calls([call("e1", i) for i in range(3)], [attempt("e1", i) for i in range(3)])
    j.fail_attempt("e1-c2-a1", call_id=cid("e1", 2), ended_at=3001.0, failure=FailureInfo(FailureOrigin.USER_CODE, "x"))
    j.start_attempt(attempt("e1", 2, number=2))
    out = StoredValue("json", "7", b"7")
    j.complete_calls(
        [
            Completed(cid("e1", 0), "e1-c0-a1", 4000.5, out, "tcp://w1"),
            Completed(cid("e1", 2), "e1-c2-a2", 4001.5, None),
        ]
    )
    calls = {c.idx: c for c in j.load_calls("e1")}
    assert (calls[0].status, calls[0].ended_at, calls[0].output) == ("completed", 4000.5, out)
    assert (calls[2].status, calls[2].ended_at, calls[2].output) == ("completed", 4001.5, None)
    assert calls[1].status == "running"  # not named: untouched
    attempts = {a.attempt_id: a for a in j.list_attempts("e1")}
    assert (attempts["e1-c0-a1"].status, attempts["e1-c0-a1"].worker) == ("completed", "tcp://w1")
    assert attempts["e1-c2-a1"].status == "failed" and attempts["e1-c2-a2"].status == "completed"
    assert attempts["e1-c1-a1"].status == "running"


def test_wait_calls_round_trip(j: Journal) -> None:
    j.create_execution(ex("e1"))
    w = call("e1", 0, name="approval", kind="wait", status="waiting")
    w.wait_schema, w.wait_question, w.wait_metadata, w.wait_timeout = '{"type": "integer"}', "How many?", "{}", 30.0
    j.insert_call(w)
    assert j.load_calls("e1") == [w]


def test_start_attempt_fail_attempt_and_finish_call(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0), attempt("e1", 0, 1))
    j.fail_attempt("e1-c0-a1", call_id=cid("e1", 0), ended_at=3001.5, failure=FAILURE)
    j.start_attempt(attempt("e1", 0, 2))
    out = StoredValue("pydantic", "Model(x=1)", b'{"cls":"m:M","data":{"x":1}}')
    j.finish_call(cid("e1", 0), "e1-c0-a2", status="completed", ended_at=3002.5, output=out)
    a1, a2 = j.list_attempts("e1")
    assert (a1.number, a1.status, a1.ended_at, a1.failure) == (1, "failed", 3001.5, FAILURE)
    assert (a2.number, a2.status, a2.ended_at, a2.failure) == (2, "completed", 3002.5, None)
    (c,) = j.load_calls("e1")
    assert (c.status, c.ended_at, c.failure, c.output, c.paused) == ("completed", 3002.5, None, out, False)


def test_finish_call_with_a_failure_and_pause(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0), attempt("e1", 0))
    j.finish_call(cid("e1", 0), "e1-c0-a1", status="failed", ended_at=9.0, failure=FAILURE, paused=True)
    (c,) = j.load_calls("e1")
    assert (c.status, c.failure, c.paused, c.output) == ("failed", FAILURE, True, None)
    (a,) = j.list_attempts("e1")
    assert (a.status, a.failure) == ("failed", FAILURE)


def test_finish_call_without_an_attempt(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0, kind="wait", status="waiting"))
    j.finish_call(cid("e1", 0), None, status="failed", ended_at=4.0, failure=FAILURE)
    (c,) = j.load_calls("e1")
    assert (c.status, c.failure) == ("failed", FAILURE)
    assert j.list_attempts("e1") == []


def test_restart_call_appends_the_next_attempt_and_clears_the_failure(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0), attempt("e1", 0, 1))
    j.finish_call(cid("e1", 0), "e1-c0-a1", status="failed", ended_at=5.0, failure=FAILURE, paused=True)
    j.restart_call(cid("e1", 0), attempt("e1", 0, 2), fingerprint="fp2")
    (c,) = j.load_calls("e1")
    assert (c.status, c.ended_at, c.failure, c.paused, c.fingerprint) == ("running", None, None, False, "fp2")
    assert [(a.number, a.status) for a in j.list_attempts("e1")] == [(1, "failed"), (2, "running")]
    j.restart_call(cid("e1", 0), attempt("e1", 0, 3))
    (c,) = j.load_calls("e1")
    assert c.fingerprint == "fp2"  # kept when not given


def test_answer_wait_only_once_and_only_for_waits(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0, kind="wait", name="w", status="waiting"))
    j.insert_call(call("e1", 1, kind="checkpoint", status="waiting"))
    value = StoredValue("json", "42", b"42")
    assert j.answer_wait(cid("e1", 0), value, answered_at=7.0)
    assert not j.answer_wait(cid("e1", 0), StoredValue("json", "1", b"1"), answered_at=8.0)
    assert not j.answer_wait(cid("e1", 1), value, answered_at=8.0)
    assert not j.answer_wait("missing", value, answered_at=8.0)
    w, cp = j.load_calls("e1")
    assert (w.status, w.ended_at, w.output) == ("completed", 7.0, value)
    assert (cp.status, cp.output) == ("waiting", None)


def test_reopen_wait_only_reopens_failed_waits(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0, kind="wait", name="w", status="waiting"))
    j.insert_call(call("e1", 1), attempt("e1", 1))
    assert not j.reopen_wait(cid("e1", 0))  # still pending: nothing to reopen
    j.finish_call(cid("e1", 0), None, status="failed", ended_at=4.0, failure=FAILURE)
    j.finish_call(cid("e1", 1), "e1-c1-a1", status="failed", ended_at=4.0, failure=FAILURE)
    assert not j.reopen_wait(cid("e1", 1))  # a checkpoint is not a wait
    assert not j.reopen_wait("missing")
    assert j.reopen_wait(cid("e1", 0))
    w, cp = j.load_calls("e1")
    assert (w.status, w.ended_at, w.failure) == ("waiting", None, None)
    assert w.started_at == 2000.25
    assert (cp.status, cp.failure) == ("failed", FAILURE)
    assert not j.reopen_wait(cid("e1", 0))


def test_decide_call_only_applies_to_paused_calls(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0), attempt("e1", 0))
    assert not j.decide_call(cid("e1", 0), status="skipped", ended_at=1.0)
    j.finish_call(cid("e1", 0), "e1-c0-a1", status="failed", ended_at=5.0, failure=FAILURE, paused=True)
    assert j.decide_call(cid("e1", 0), status="skipped", ended_at=6.0)
    (c,) = j.load_calls("e1")
    assert (c.status, c.paused, c.ended_at) == ("skipped", False, 6.0)
    assert not j.decide_call(cid("e1", 0), status="failed", ended_at=7.0)
    assert not j.decide_call("missing", status="failed", ended_at=7.0)


def test_list_attempts_per_execution_in_order(j: Journal) -> None:
    for e in ("e1", "e2"):
        j.create_execution(ex(e))
    j.insert_call(call("e1", 0), attempt("e1", 0, 1))
    j.insert_call(call("e2", 0), attempt("e2", 0, 1))
    j.start_attempt(attempt("e1", 0, 2))
    j.insert_call(call("e1", 1), attempt("e1", 1, 1))
    assert [(a.call_id, a.number) for a in j.list_attempts("e1")] == [
        (cid("e1", 0), 1),
        (cid("e1", 0), 2),
        (cid("e1", 1), 1),
    ]
    assert [a.attempt_id for a in j.list_attempts("e2")] == ["e2-c0-a1"]
    assert j.list_attempts("nope") == []


def test_recover_interrupted_marks_only_running_attempts_of_dead_owners(j: Journal) -> None:
    j.create_execution(ex("dead", owner_pid=111))
    j.create_execution(ex("alive", owner_pid=222))
    j.create_execution(ex("orphan", owner_pid=None))
    j.create_execution(ex("cancelled", status="cancelled", owner_pid=111))  # cancelled while a checkpoint ran
    for e in ("dead", "alive", "orphan", "cancelled"):
        j.insert_call(call(e, 0), attempt(e, 0, 1))
    j.finish_call(cid("dead", 0), "dead-c0-a1", status="completed", ended_at=1.0)
    j.insert_call(call("dead", 1), attempt("dead", 1, 1))
    asked: list[int] = []

    def is_alive(pid: int, start: int | None) -> bool:
        asked.append(pid)
        return pid == 222

    assert j.recover_interrupted(is_alive) == 3
    status = {a.attempt_id: a.status for e in ("dead", "alive", "orphan", "cancelled") for a in j.list_attempts(e)}
    assert status == {
        "dead-c0-a1": "completed",
        "dead-c1-a1": "interrupted",
        "alive-c0-a1": "running",
        "orphan-c0-a1": "interrupted",
        "cancelled-c0-a1": "interrupted",
    }
    assert 222 in asked and 111 in asked
    calls = {c.call_id: c for e in ("dead", "alive", "orphan") for c in j.load_calls(e)}
    assert calls[cid("dead", 1)].status == "failed"
    assert calls[cid("dead", 1)].failure is not None and calls[cid("dead", 1)].failure.origin.value == "runtime"
    assert "process 111 ended" in calls[cid("dead", 1)].failure.message
    assert calls[cid("orphan", 0)].status == "failed"
    assert calls[cid("dead", 0)].status == "completed" and calls[cid("dead", 0)].failure is None
    assert calls[cid("alive", 0)].status == "running" and calls[cid("alive", 0)].failure is None
    assert j.recover_interrupted(is_alive) == 0


def test_change_token_moves_on_every_write_of_another_connection(pair: Pair) -> None:
    j, other = pair.journal, pair.other
    writes: list[Callable[[], object]] = [
        lambda: other.create_execution(ex("e1", owner_pid=None)),
        lambda: other.set_execution_status("e1", "waiting"),
        lambda: other.set_execution_meta("e1", {"k": 1}),
        lambda: other.insert_call(call("e1", 0), attempt("e1", 0, 1)),
        lambda: other.fail_attempt("e1-c0-a1", call_id=cid("e1", 0), ended_at=1.0, failure=FAILURE),
        lambda: other.start_attempt(attempt("e1", 0, 2)),
        lambda: other.finish_call(
            cid("e1", 0), "e1-c0-a2", status="failed", ended_at=2.0, failure=FAILURE, paused=True
        ),
        lambda: other.decide_call(cid("e1", 0), status="failed", ended_at=2.0),
        lambda: other.restart_call(cid("e1", 0), attempt("e1", 0, 3)),
        lambda: other.set_execution_status("e1", "running"),
        lambda: other.recover_interrupted(lambda pid, start: False),
        lambda: other.insert_calls([call("e1", 1, kind="wait", status="waiting")]),
        lambda: other.finish_call(cid("e1", 1), None, status="failed", ended_at=3.0, failure=FAILURE),
        lambda: other.reopen_wait(cid("e1", 1)),
        lambda: other.answer_wait(cid("e1", 1), StoredValue("json", "1", b"1"), answered_at=3.0),
    ]
    for i, write in enumerate(writes):
        before = j.change_token()
        assert j.change_token() == before  # stable while nothing is written
        write()
        # SQLite: at once; PostgreSQL: when the notification arrives (milliseconds)
        assert moved(j, before), f"write #{i} did not move the change token"


def moved(j: Journal, before: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while j.change_token() == before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def test_values_written_by_one_connection_are_read_by_another(pair: Pair) -> None:
    pair.other.create_execution(ex("e1", inputs=StoredValue("json", "1", b"1")))
    pair.other.insert_call(call("e1", 0), attempt("e1", 0))
    got = pair.journal.get_execution("e1")
    assert got is not None and got.inputs == StoredValue("json", "1", b"1")
    assert [c.call_id for c in pair.journal.load_calls("e1")] == [cid("e1", 0)]


def test_get_execution_loads_the_result_bytes_only_when_asked(j: Journal) -> None:
    j.create_execution(ex("e1", inputs=StoredValue("json", "{}", b"{}")))
    assert j.set_execution_status("e1", "completed", ended_at=5.0, result=StoredValue("json", "big", b'"big"'))
    full = j.get_execution("e1")
    assert full is not None and full.result == StoredValue("json", "big", b'"big"')
    lean = j.get_execution("e1", with_result=False)
    assert lean is not None and lean.inputs == StoredValue("json", "{}", b"{}")
    assert lean.result == StoredValue("json", "big", None)  # format and preview, not the bytes
    bare = j.get_execution("e1", with_values=False)
    assert bare is not None and bare.inputs is not None and bare.inputs.data is None


def test_close_keeps_what_was_written(pair: Pair, tmp_path: Path) -> None:
    j = pair.journal
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0), attempt("e1", 0))
    j.close()
    if pair.reopen is not None:
        again = pair.reopen()
        assert [c.call_id for c in again.load_calls("e1")] == [cid("e1", 0)]
        again.close()


def test_owner_is_kept_and_replaced_by_a_claim(pair: Pair) -> None:
    j = pair.journal
    j.create_execution(ex("o1", owner={"host": "h", "pid": 1}))
    assert j.set_execution_status("o1", "waiting", expect=("running",))
    assert j.get_execution("o1").owner == {"host": "h", "pid": 1}  # type: ignore[union-attr]
    assert j.set_execution_status("o1", "running", owner={"host": "h", "pid": 2}, expect=("waiting",))
    assert pair.other.get_execution("o1").owner == {"host": "h", "pid": 2}  # type: ignore[union-attr]


def test_an_answer_records_where_it_came_from(pair: Pair) -> None:
    j = pair.journal
    j.create_execution(ex("w1", status="waiting"))
    j.insert_call(call("w1", 0, kind="wait", status="waiting", name="ok"))
    assert j.answer_wait(cid("w1", 0), StoredValue("json", "true", b"true"), answered_at=5.0, answered_by="sidebar")
    (c,) = pair.other.load_calls("w1")
    assert (c.status, c.answered_by, c.ended_at) == ("completed", "sidebar", 5.0)


def test_ready_to_continue_lists_waiting_executions_with_nothing_open(pair: Pair) -> None:
    j = pair.journal
    for e in ("r1", "r2", "r3", "r4"):
        j.create_execution(ex(e, flow="g" if e != "r4" else "other", status="waiting"))
    j.insert_call(call("r1", 0, kind="wait", status="waiting"))  # open wait: not ready
    j.insert_call(call("r2", 0, kind="wait", status="completed"))  # answered: ready
    c = call("r3", 0)
    j.insert_call(c)
    j.finish_call(c.call_id, None, status="failed", ended_at=1.0, failure=FAILURE, paused=True)  # paused: not ready
    j.insert_call(call("r4", 0, kind="wait", status="completed"))  # another flow
    assert [r.exec_id for r in pair.other.ready_to_continue(["g"])] == ["r2"]
    assert j.decide_call(c.call_id, status="failed", ended_at=None)
    assert [r.exec_id for r in pair.other.ready_to_continue(["g", "other"])] == ["r2", "r3", "r4"]
    assert j.ready_to_continue([]) == []


def test_call_summaries_and_last_completed_size(pair: Pair) -> None:
    j = pair.journal
    assert j.last_completed_size("f") is None
    j.create_execution(ex("s1", status="completed"))
    j.insert_calls([call("s1", i, status="completed") for i in range(3)])
    j.create_execution(ex("s2", status="waiting"))
    j.insert_calls([call("s2", 0, status="reused"), call("s2", 1, kind="wait", status="waiting")])
    assert pair.other.last_completed_size("f") == 3
    sums = pair.other.call_summaries(["s1", "s2", "none"])
    assert sums["s1"] == {"done": 3, "total": 3, "open_waits": 0, "paused": 0}
    assert sums["s2"] == {"done": 1, "total": 2, "open_waits": 1, "paused": 0}
    assert sums["none"] == {"done": 0, "total": 0, "open_waits": 0, "paused": 0}


def test_call_summaries_of_a_thousand_executions_at_once(j: Journal) -> None:
    # client.executions.list(limit=1000): more executions than SQLite takes terms in one compound query
    ids = [f"m{i:04d}" for i in range(1000)]
    for e in ids:
        j.create_execution(ex(e))
    j.insert_calls([call(e, 0, status="completed") for e in ids[::7]])
    sums = j.call_summaries(ids)
    assert sum(s["total"] for s in sums.values()) == len(ids[::7])
    assert sums["m0007"] == {"done": 1, "total": 1, "open_waits": 0, "paused": 0}
    assert sums["m0001"]["total"] == 0


def test_requests_are_taken_once(pair: Pair) -> None:
    j = pair.journal
    j.add_request(RequestRow("q1", "e1", "f", "replay", "pending", 10.0, params={"from": "a#2"}, created_by="sidebar"))
    j.add_request(RequestRow("q2", "e2", "f", "retry", "pending", 11.0))
    assert [r.request_id for r in pair.other.list_requests(status="pending")] == ["q1", "q2"]
    assert pair.other.list_requests(exec_id="e1")[0].params == {"from": "a#2"}
    assert j.take_request("q1", "kernel 1")
    assert not pair.other.take_request("q1", "kernel 2")
    j.finish_request("q1", status="done", message="replayed", result_exec_id="e9")
    (r,) = pair.other.list_requests(exec_id="e1")
    assert (r.status, r.taken_by, r.message, r.result_exec_id) == ("done", "kernel 1", "replayed", "e9")
    assert r.ended_at is not None
    assert [x.request_id for x in j.list_requests(status="pending")] == ["q2"]


def test_load_tail_reads_the_last_positions_and_their_attempts(pair: Pair) -> None:
    j = pair.journal
    j.create_execution(ex("t1"))
    for i in range(6):
        j.insert_call(call("t1", i), attempt("t1", i, 1))
    j.start_attempt(attempt("t1", 5, 2))
    calls, attempts = pair.other.load_tail("t1", 2)
    assert [c.idx for c in calls] == [4, 5]
    assert all(c.output is None or c.output.data is None for c in calls)
    assert sorted((a.call_id, a.number) for a in attempts) == [(cid("t1", 4), 1), (cid("t1", 5), 1), (cid("t1", 5), 2)]
    assert pair.other.load_tail("t1", 0) == ([], [])
    assert pair.other.load_tail("none", 5) == ([], [])


def test_a_call_written_completed_with_its_attempt_reads_back_with_it(j: Journal) -> None:
    # the one-write path of a trivial checkpoint: call and first attempt both completed
    j.create_execution(ex("e1"))
    c = CallRow(cid("e1", 0), "e1", 0, "checkpoint", "step", "completed", 5.0, ended_at=6.0, fingerprint="fp1")
    c.output = StoredValue("json", "1", b"1")
    a = AttemptRow("e1-c0-a1", cid("e1", 0), "e1", 1, "completed", 5.0, 6.0)
    j.insert_call(c, a)
    j.insert_call(call("e1", 1), attempt("e1", 1))
    expected = [
        ("e1-c0-a1", cid("e1", 0), 1, "completed", 5.0, 6.0),
        ("e1-c1-a1", cid("e1", 1), 1, "running", 3001.0, None),
    ]
    got = [(x.attempt_id, x.call_id, x.number, x.status, x.started_at, x.ended_at) for x in j.list_attempts("e1")]
    assert got == expected
    calls, attempts = j.load_tail("e1", 5)
    assert [x.call_id for x in calls] == [cid("e1", 0), cid("e1", 1)]
    assert sorted((x.attempt_id, x.status, x.ended_at) for x in attempts) == [
        ("e1-c0-a1", "completed", 6.0),
        ("e1-c1-a1", "running", None),
    ]
    assert j.load_calls("e1")[0].output.data == b"1"  # type: ignore[union-attr]


def test_load_page_reads_positions_forward_and_backward_with_their_attempts(j: Journal) -> None:
    j.create_execution(ex("e1"))
    for i in range(10):
        j.insert_call(call("e1", i), attempt("e1", i))
    calls, attempts = j.load_page("e1", after=3, limit=4)
    assert [c.idx for c in calls] == [4, 5, 6, 7]
    assert sorted(a.call_id for a in attempts) == [cid("e1", i) for i in (4, 5, 6, 7)]
    assert [c.idx for c in j.load_page("e1", limit=3, newest_first=True)[0]] == [7, 8, 9]
    assert [c.idx for c in j.load_page("e1", after=5, limit=3, newest_first=True)[0]] == [2, 3, 4]
    assert j.load_page("e1", after=9, limit=5) == ([], [])
    assert all(c.output is None or c.output.data is None for c in calls)


def test_execution_summary_counts_and_reads_only_what_is_not_done(j: Journal) -> None:
    j.create_execution(ex("e1"))
    j.create_execution(ex("e2"))
    done = CallRow(cid("e1", 0), "e1", 0, "checkpoint", "a", "completed", 5.0, ended_at=6.0)
    j.insert_call(done, AttemptRow("e1-c0-a1", cid("e1", 0), "e1", 1, "completed", 5.0, 6.0))
    j.insert_call(call("e1", 1, status="skipped"))
    j.insert_call(call("e1", 2), attempt("e1", 2))  # running
    paused = call("e1", 3, status="failed")
    paused.paused = True
    j.insert_call(paused, attempt("e1", 3))
    j.insert_call(call("e1", 4, kind="wait", name="ok", status="waiting"))
    j.insert_call(call("e2", 0, status="completed"))
    summary, open_calls, attempts = j.execution_summary("e1")
    assert summary == {"done": 2, "total": 5, "open_waits": 1, "paused": 1}
    assert [c.idx for c in open_calls] == [2, 3, 4]
    assert sorted(a.call_id for a in attempts) == [cid("e1", 2), cid("e1", 3)]
    assert j.call_summaries(["e1", "e2"])["e1"] == summary
    # a position done later leaves the open ones
    j.finish_call(cid("e1", 2), "e1-c2-a1", status="completed", ended_at=9.0)
    assert j.execution_summary("e1")[0]["done"] == 3
    assert j.execution_summary("nope") == ({"done": 0, "total": 0, "open_waits": 0, "paused": 0}, [], [])


def test_delete_executions_removes_every_row_but_artifacts_other_executions_reuse(pair: Pair) -> None:
    j = pair.journal
    for exec_id in ("e1", "e2", "keep"):
        j.create_execution(ex(exec_id, status="completed", t=10.0))
    j.insert_call(call("e1", 0), attempt("e1", 0))
    j.insert_call(call("e1", 1), attempt("e1", 1))
    reused = CallRow(cid("keep", 0), "keep", 0, "checkpoint", "step", "reused", 20.0, original_call_id=cid("e1", 1))
    j.insert_call(reused)
    j.insert_call(call("e2", 0), attempt("e2", 0))
    value = StoredValue("json", "1", b"1")
    j.save_artifact(ArtifactRow("a-e1-0", "e1", cid("e1", 0), "only", "blob", value, 1.0))
    j.save_artifact(ArtifactRow("a-e1-1", "e1", cid("e1", 1), "shared", "blob", value, 2.0))
    j.add_request(RequestRow("r1", "e1", "f", "retry", "pending", 3.0))
    assert pair.other.delete_executions(["e1", "e2", "missing"]) == 2
    assert j.get_execution("e1") is None and j.get_execution("e2") is None
    assert j.load_calls("e1") == [] and j.list_attempts("e1") == [] and j.list_requests(exec_id="e1") == []
    assert j.get_artifact("a-e1-0") is None
    assert j.get_artifact("a-e1-1") is not None  # "keep" reuses the call that saved it
    assert [c.call_id for c in j.load_calls("keep")] == [cid("keep", 0)]
    assert j.delete_executions([]) == 0
    j.compact()
    assert j.get_execution("keep") is not None


def test_prunable_lists_old_executions_of_the_given_statuses_oldest_first(j: Journal) -> None:
    j.create_execution(ex("old-done", status="completed", t=10.0, ended_at=20.0))
    j.create_execution(ex("old-failed", status="failed", t=5.0, ended_at=15.0))
    j.create_execution(ex("old-waiting", status="waiting", t=5.0))
    j.create_execution(ex("new-done", status="completed", t=10.0, ended_at=500.0))
    assert j.prunable(before=100.0, statuses=["completed", "failed"]) == ["old-done", "old-failed"]  # type: ignore[list-item]
    assert j.prunable(before=100.0, statuses=["waiting"]) == ["old-waiting"]  # type: ignore[list-item]
    assert j.prunable(before=100.0, statuses=["completed"], limit=1) == ["old-done"]  # type: ignore[list-item]
    assert j.prunable(before=100.0, statuses=[]) == []


def test_load_recorded_gives_what_a_resume_needs_with_outputs(j: Journal) -> None:
    j.create_execution(ex("e1"))
    done = CallRow(cid("e1", 0), "e1", 0, "checkpoint", "a", "completed", 5.0, ended_at=6.0)
    done.output = StoredValue("json", "1", b"1")
    j.insert_call(done)
    failed = call("e1", 1, status="failed")
    failed.failure, failed.paused = FAILURE, True
    j.insert_call(failed)
    answered = call("e1", 2, kind="wait", name="ok", status="completed")
    answered.output = StoredValue("json", "true", b"true")
    j.insert_call(answered)
    got = j.load_recorded("e1")
    assert [(c.call_id, c.idx, c.kind, c.name, c.status, c.paused) for c in got] == [
        (cid("e1", 0), 0, "checkpoint", "a", "completed", False),
        (cid("e1", 1), 1, "checkpoint", "step", "failed", True),
        (cid("e1", 2), 2, "wait", "ok", "completed", False),
    ]
    assert got[0].output is not None and got[0].output.data == b"1" and got[1].output is None
    assert got[1].failure is not None and got[1].failure.message == FAILURE.message
    assert got[2].output is not None and got[2].output.data == b"true"


def test_get_call_with_and_without_its_output(j: Journal) -> None:
    j.create_execution(ex("e1"))
    c = call("e1", 0, status="completed")
    c.output, c.checkpoint_type, c.metadata = StoredValue("json", "1", b"1"), "llm_call", {"tokens": 3}
    j.insert_call(c)
    got = j.get_call(c.call_id)
    assert got is not None and got.output is not None and got.output.data == b"1"
    assert got.checkpoint_type == "llm_call" and got.metadata == {"tokens": 3}
    bare = j.get_call(c.call_id, with_values=False)
    assert bare is not None and bare.output is not None and bare.output.data is None and bare.output.preview == "1"
    assert j.get_call("nope") is None


def test_find_cached_finds_the_newest_completed_call_of_that_code_and_inputs(pair: Pair) -> None:
    j = pair.journal
    for exec_id, t in (("e1", 10.0), ("e2", 20.0)):
        j.create_execution(ex(exec_id))
        c = CallRow(cid(exec_id, 0), exec_id, 0, "checkpoint", "step", "completed", t, fingerprint="fp1")
        c.input_key, c.output = "k1", StoredValue("json", exec_id, f'"{exec_id}"'.encode())
        j.insert_call(c)
    failed = CallRow(cid("e2", 1), "e2", 1, "checkpoint", "step", "failed", 30.0, fingerprint="fp1", input_key="k1")
    j.insert_call(failed)
    found = pair.other.find_cached("step", "fp1", "k1")
    assert found is not None and found.call_id == cid("e2", 0) and found.output is not None
    assert found.output.data == b'"e2"'
    assert j.find_cached("step", "fp2", "k1") is None  # other code
    assert j.find_cached("step", "fp1", "k2") is None  # other inputs
    assert j.find_cached("other", "fp1", "k1") is None


def test_log_metadata_merges_dicts_and_replaces_other_values(pair: Pair) -> None:
    j = pair.journal
    j.create_execution(ex("e1"))
    j.insert_call(call("e1", 0))
    j.log_metadata("e1", cid("e1", 0), {"cost": {"usd": 0.1}, "model": "a"})
    pair.other.log_metadata("e1", cid("e1", 0), {"cost": {"tokens": 4}, "model": "b"})
    j.log_metadata("e1", None, {"stage": "started"})
    j.log_metadata("e1", None, {"stage": "done", "n": 1})
    got = j.get_call(cid("e1", 0), with_values=False)
    assert got is not None and got.metadata == {"cost": {"usd": 0.1, "tokens": 4}, "model": "b"}
    row = pair.other.get_execution("e1", with_values=False)
    assert row is not None and row.metadata == {"stage": "done", "n": 1}
    assert j.load_calls("e1")[0].metadata == got.metadata


def test_artifacts_are_saved_replaced_by_name_listed_and_loaded(pair: Pair) -> None:
    j = pair.journal
    j.create_execution(ex("e1"))
    j.create_execution(ex("e2"))
    for exec_id in ("e1", "e2"):
        j.insert_call(call(exec_id, 0))

    def art(artifact_id: str, exec_id: str, name: str, data: bytes, t: float) -> ArtifactRow:
        value = StoredValue("json", data.decode(), data)
        return ArtifactRow(artifact_id, exec_id, cid(exec_id, 0), name, "context", value, t, "a1", ["x", "y"])

    j.save_artifact(art("a1", "e1", "notes", b'"first"', 1.0))
    j.save_artifact(art("a2", "e1", "draft", b'"d"', 2.0))
    pair.other.save_artifact(art("a3", "e1", "notes", b'"second"', 3.0))  # same call and name: replaces a1
    j.save_artifact(art("a4", "e2", "notes", b'"other"', 4.0))
    listed = j.list_artifacts(exec_id="e1")
    assert [(a.artifact_id, a.name) for a in listed] == [("a2", "draft"), ("a3", "notes")]
    assert all(a.value.data is None for a in listed) and listed[1].value.preview == '"second"'
    assert listed[1].tags == ["x", "y"] and listed[1].kind == "context" and listed[1].attempt_id == "a1"
    with_other = j.list_artifacts(exec_id="e1", call_ids=[cid("e2", 0), cid("e1", 0)], with_values=True)
    assert [a.artifact_id for a in with_other] == ["a2", "a3", "a4"]
    assert with_other[2].value.data == b'"other"'
    assert [a.artifact_id for a in j.list_artifacts(call_ids=[cid("e2", 0)])] == ["a4"]
    loaded = pair.other.get_artifact("a3")
    assert loaded is not None and loaded.value.data == b'"second"' and loaded.name == "notes"
    assert j.get_artifact("a1") is None


def test_every_protocol_method_is_exercised_here() -> None:
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    methods = [name for name, value in vars(Journal).items() if not name.startswith("_") and callable(value)]
    assert len(methods) >= 20
    missing = [name for name in methods if f".{name}(" not in source]
    assert missing == [], f"Journal methods without a contract test: {missing}"


# -- the sidebar's queries: flow-name substring, status, waiting for input / a decision ---------


def _add(j: Journal, exec_id: str, flow: str, status: str, *calls: tuple[str, str, bool]) -> None:
    j.create_execution(ExecutionRow(exec_id=exec_id, flow_name=flow, status=status, started_at=1000.0))
    for idx, (kind, call_status, paused) in enumerate(calls):
        j.insert_call(
            CallRow(cid(exec_id, idx), exec_id, idx, kind, f"c{idx}", call_status, 1001.0 + idx, paused=paused)
        )


@pytest.fixture
def filled(j: Journal) -> Journal:
    _add(j, "e1", "budget_request", "completed", ("checkpoint", "completed", False))
    _add(j, "e2", "Budget_Review", "waiting", ("checkpoint", "completed", False), ("wait", "waiting", False))
    _add(j, "e3", "etl", "waiting", ("checkpoint", "failed", True))
    _add(j, "e4", "budget_request", "failed", ("checkpoint", "failed", False))
    _add(j, "e5", "etl", "waiting", ("wait", "completed", False), ("wait", "waiting", False))
    return j


def _ids(result: tuple[list[ExecutionRow], int]) -> tuple[list[str], int]:
    rows, total = result
    return [r.exec_id for r in rows], total


def test_flow_substring_matches_any_case_newest_first(filled: Journal) -> None:
    assert _ids(filled.search_executions(flow_contains="budg")) == (["e4", "e2", "e1"], 3)
    assert _ids(filled.search_executions(flow_contains="REQUEST")) == (["e4", "e1"], 2)
    assert _ids(filled.search_executions(flow_contains="nothing")) == ([], 0)
    assert _ids(filled.search_executions()) == (["e5", "e4", "e3", "e2", "e1"], 5)


def test_characters_that_are_special_in_like_patterns_match_literally(j: Journal) -> None:
    _add(j, "p1", "a%b_c", "completed")
    _add(j, "p2", "axbyc", "completed")
    assert _ids(j.search_executions(flow_contains="%b_")) == (["p1"], 1)


def test_status_and_waiting_for_narrow_the_list(filled: Journal) -> None:
    assert _ids(filled.search_executions(status="waiting")) == (["e5", "e3", "e2"], 3)
    assert _ids(filled.search_executions(waiting_for="input")) == (["e5", "e2"], 2)
    assert _ids(filled.search_executions(waiting_for="decision")) == (["e3"], 1)
    assert _ids(filled.search_executions(waiting_for="input", flow_contains="etl")) == (["e5"], 1)
    assert _ids(filled.search_executions(status="failed", flow_contains="budget")) == (["e4"], 1)
    assert _ids(filled.search_executions(flow="etl", waiting_for="decision")) == (["e3"], 1)
    assert _ids(filled.search_executions(flow="etl", waiting_for="input")) == (["e5"], 1)
    assert _ids(filled.search_executions(flow="budget_request")) == (["e4", "e1"], 2)


def test_paging_keeps_the_total(filled: Journal) -> None:
    assert _ids(filled.search_executions(limit=2, offset=1)) == (["e4", "e3"], 5)


def test_count_waiting_for_human_follows_answers_and_decisions(filled: Journal) -> None:
    assert filled.count_waiting_for_human() == {"input": 2, "decision": 1}
    assert filled.decide_call(cid("e3", 0), status="running", ended_at=None)
    assert filled.count_waiting_for_human() == {"input": 2, "decision": 0}
