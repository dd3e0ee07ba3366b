"""SPEC 6: bad input and faults give a Kitaru error that says what to do, and change nothing."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb import (
    AttemptStatus,
    ExecutionStatus,
    FailureOrigin,
    KitaruBackendError,
    KitaruClient,
    KitaruContextError,
    KitaruExecutionError,
    KitaruUsageError,
    KitaruUserCodeError,
)
from kitaru_nb.journal.sqlite import SqliteJournal


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def _refused(path: Path, match: str) -> None:
    """Every way in refuses the file and leaves it byte-identical."""
    digest, names = _digest(path), _siblings(path)
    with pytest.raises(KitaruBackendError, match=match) as info:
        KitaruClient(db=path)
    assert "untouched" in str(info.value)

    @kitaru.flow
    def fault_probe() -> int:
        return 1

    kitaru.configure(db=path)
    try:
        with pytest.raises(KitaruBackendError, match=match):
            fault_probe.run()
    finally:
        kitaru.configure(db=None)
    assert _digest(path) == digest
    assert _siblings(path) == names


def test_a_text_file_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list: milk, eggs\n" * 100)
    _refused(path, "not a kitaru_nb journal")


def test_a_foreign_sqlite_database_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.close()
    _refused(path, "not a kitaru_nb journal")


def test_an_sqlite_file_of_another_application_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.commit()
    conn.close()
    _refused(path, "another application")


def test_a_journal_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    journal = SqliteJournal(path)
    version = journal.conn.execute("PRAGMA user_version").fetchone()[0]
    journal.close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {version + 1}")
    conn.commit()
    conn.close()
    _refused(path, f"newer kitaru_nb \\(schema version {version + 1}")


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(KitaruBackendError, match="does not exist"):
        KitaruClient(db=tmp_path / "nope" / "kitaru.db")
    assert not (tmp_path / "nope").exists()


def test_a_fresh_journal_is_migrated_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    KitaruClient(db=path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x4B544E42
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [r[0] for r in conn.execute("SELECT name FROM _kitaru_migrations")]
        assert names and names[0] == "001_initial"


@pytest.mark.parametrize(
    ("make", "type_name"),
    [(lambda: lambda x: x, "function"), (threading.Lock, "lock")],
    ids=["lambda", "lock"],
)
def test_an_unserializable_output_fails_the_attempt_with_origin_runtime(
    client: KitaruClient, make: Any, type_name: str
) -> None:
    runs = Counter[str]()

    @kitaru.checkpoint
    def fault_make_handle() -> Any:
        runs["n"] += 1
        return make()

    @kitaru.flow
    def fault_unserializable() -> None:
        fault_make_handle()

    handle = fault_unserializable.run()
    assert handle.status is ExecutionStatus.FAILED
    with pytest.raises(KitaruExecutionError) as info:
        handle.get()
    assert not isinstance(info.value, KitaruUserCodeError)
    assert info.value.failure_origin is FailureOrigin.RUNTIME
    ex = client.executions.get(handle.exec_id)
    (cp,) = ex.checkpoints
    (attempt,) = cp.attempts
    assert attempt.status is AttemptStatus.FAILED
    assert attempt.failure is not None and attempt.failure.origin is FailureOrigin.RUNTIME
    assert "fault_make_handle" in attempt.failure.message
    assert type_name in attempt.failure.message
    assert cp.failure == attempt.failure
    assert ex.failure is not None and ex.failure.origin is FailureOrigin.RUNTIME
    assert runs["n"] == 1


def test_unknown_exec_ids_are_reported_and_change_nothing(client: KitaruClient, db_path: Path) -> None:
    @kitaru.flow
    def fault_known() -> int:
        return 1

    fault_known.run()
    for verb in ("get", "resume", "retry", "cancel", "pending_waits"):
        with pytest.raises(KitaruUsageError, match=r"no execution 'deadbeef-nope'.*executions\.list\(\)"):
            getattr(client.executions, verb)("deadbeef-nope")
    with pytest.raises(KitaruUsageError, match="no execution"):
        client.executions.input("deadbeef-nope", wait="w", value=1)
    with pytest.raises(KitaruUsageError, match="no execution"):
        client.executions.replay("deadbeef-nope", from_="x")
    with pytest.raises(KitaruUsageError, match="exec_id must be a non-empty str"):
        client.executions.get("")
    with pytest.raises(KitaruUsageError, match="status must be one of"):
        client.executions.list(status="done")
    with pytest.raises(KitaruUsageError, match="limit must be"):
        client.executions.list(limit=-1)
    assert client.executions.count() == 1


def test_a_short_exec_id_prefix_finds_the_execution(client: KitaruClient) -> None:
    @kitaru.flow
    def fault_prefix() -> int:
        return 5

    handle = fault_prefix.run()
    assert client.executions.get(handle.exec_id[:8]).exec_id == handle.exec_id


def test_state_errors_for_verbs_that_do_not_fit(client: KitaruClient) -> None:
    @kitaru.flow
    def fault_done() -> int:
        return 1

    handle = fault_done.run()
    for verb in ("resume", "retry", "cancel", "skip"):
        with pytest.raises(kitaru.KitaruStateError, match="completed"):
            getattr(client.executions, verb)(handle.exec_id)
    with pytest.raises(KitaruUsageError, match="no wait named"):
        client.executions.input(handle.exec_id, wait="w", value=1)


def test_checkpoint_outside_a_flow() -> None:
    @kitaru.checkpoint
    def fault_lonely() -> int:
        return 1

    with pytest.raises(KitaruContextError, match=r"outside a flow.*fault_lonely\.fn"):
        fault_lonely()
    assert fault_lonely.fn() == 1


def test_wait_outside_a_flow() -> None:
    with pytest.raises(KitaruContextError, match="inside a flow body"):
        kitaru.wait(schema=int)


def test_checkpoint_inside_a_checkpoint(client: KitaruClient) -> None:
    @kitaru.checkpoint
    def fault_inner() -> int:
        return 1

    @kitaru.checkpoint
    def fault_outer() -> int:
        return fault_inner() + 1

    @kitaru.flow
    def fault_nesting() -> int:
        return fault_outer()

    handle = fault_nesting.run()
    with pytest.raises(KitaruUserCodeError) as info:
        handle.get()
    assert isinstance(info.value.__cause__, KitaruContextError)
    assert str(info.value.__cause__).startswith("Nested checkpoint calls are not supported")
    ex = client.executions.get(handle.exec_id)
    assert [c.name for c in ex.checkpoints] == ["fault_outer"]
    assert ex.checkpoints[0].failure is not None
    assert ex.checkpoints[0].failure.exception_type == "kitaru_nb.errors.KitaruContextError"


def test_wait_inside_a_checkpoint(client: KitaruClient) -> None:
    @kitaru.checkpoint
    def fault_asks() -> int:
        return int(kitaru.wait(schema=int))

    @kitaru.flow
    def fault_wait_nested() -> int:
        return fault_asks()

    handle = fault_wait_nested.run()
    with pytest.raises(KitaruUserCodeError) as info:
        handle.get()
    assert isinstance(info.value.__cause__, KitaruContextError)
    assert "inside checkpoint 'fault_asks'" in str(info.value.__cause__)
    assert client.executions.pending_waits(handle.exec_id) == []


def test_calling_a_flow_directly() -> None:
    @kitaru.flow
    def fault_direct(x: int) -> int:
        return x

    with pytest.raises(KitaruUsageError, match=r"called directly.*fault_direct\.run"):
        fault_direct(1)


def test_flow_arguments_that_do_not_bind(client: KitaruClient) -> None:
    @kitaru.flow
    def fault_args(x: int) -> int:
        return x

    with pytest.raises(KitaruUsageError, match="fault_args"):
        fault_args.run(1, 2)  # type: ignore[call-arg]
    with pytest.raises(KitaruUsageError, match="inputs cannot be journaled"):
        fault_args.run(threading.Lock())  # type: ignore[arg-type]
    assert client.executions.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"retries": -1}, "retries"),
        ({"retries": 1.5}, "retries"),
        ({"retry_delay": -1}, "retry_delay"),
        ({"backoff": 0.5}, "backoff"),
        ({"on_error": "explode"}, "on_error"),
        ({"type": 3}, "type"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_checkpoint_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(KitaruUsageError, match=match):
        kitaru.checkpoint(**kwargs)


def test_bad_decorator_targets_and_flow_arguments() -> None:
    with pytest.raises(KitaruUsageError, match="decorates a function"):
        kitaru.checkpoint()(42)  # type: ignore[arg-type]
    with pytest.raises(KitaruUsageError, match="decorates a function"):
        kitaru.flow()(42)  # type: ignore[arg-type]
    with pytest.raises(KitaruUsageError, match="name"):
        kitaru.flow(name="")
    with pytest.raises(KitaruUsageError, match="configure"):
        kitaru.configure(db=42)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timeout": -1}, "timeout"),
        ({"name": " "}, "name"),
        ({"question": 3}, "question"),
        ({"metadata": {"x": object()}}, "metadata"),
        ({"schema": object()}, "schema"),
    ],
)
def test_bad_wait_arguments_fail_the_flow_with_a_usage_error(
    client: KitaruClient, kwargs: dict[str, Any], match: str
) -> None:
    @kitaru.flow
    def fault_bad_wait() -> Any:
        return kitaru.wait(**kwargs)

    handle = fault_bad_wait.run()
    with pytest.raises(KitaruUserCodeError) as info:
        handle.get()
    assert isinstance(info.value.__cause__, KitaruUsageError)
    assert match in str(info.value.__cause__)
    assert client.executions.pending_waits(handle.exec_id) == []


def test_the_same_wait_name_twice(client: KitaruClient) -> None:
    @kitaru.flow
    def fault_twice() -> Any:
        kitaru.wait(schema=int, name="same")
        return kitaru.wait(schema=int, name="same")

    handle = fault_twice.run()
    client.executions.input(handle.exec_id, wait="same", value=1)
    with pytest.raises(KitaruUserCodeError, match="used twice"):
        handle.get()


def test_answering_a_wait_with_a_value_that_is_not_json(client: KitaruClient) -> None:
    @kitaru.flow
    def fault_any() -> Any:
        return kitaru.wait(name="anything")

    handle = fault_any.run()
    with pytest.raises(kitaru.KitaruWaitValidationError):
        client.executions.input(handle.exec_id, wait="anything", value=threading.Lock())
    assert handle.status is ExecutionStatus.WAITING
    client.executions.input(handle.exec_id, wait="anything", value={"any": ["json", 1, None]})
    assert handle.get() == {"any": ["json", 1, None]}


def test_an_older_journal_is_migrated_in_place_and_keeps_its_data(tmp_path: Path) -> None:
    from kitaru_nb.journal.migrations import LATEST_VERSION, MIGRATIONS
    from kitaru_nb.journal.sqlite import APPLICATION_ID

    path = tmp_path / "old.db"
    latest = LATEST_VERSION
    # a version-1 journal (only the first migration applied) with one execution in it
    conn = sqlite3.connect(path)
    MIGRATIONS[0][1](conn)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE _kitaru_migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    conn.execute("INSERT INTO _kitaru_migrations VALUES ('001_initial', 2460000.5)")  # a Julian day
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO executions (exec_id, flow_name, status, started_at) VALUES ('old1', 'legacy', 'completed', 1.0)"
    )
    conn.commit()
    conn.close()

    client = KitaruClient(db=path)
    assert client.executions.get("old1").flow_name == "legacy"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest
        names = [r[0] for r in conn.execute("SELECT name FROM _kitaru_migrations ORDER BY rowid")]
        assert names[0] == "001_initial" and len(names) == latest
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "attempts_running" not in indexes
        # times of migrations recorded before 004 (Julian days) now read as seconds since the epoch
        (applied,) = conn.execute("SELECT applied_at FROM _kitaru_migrations WHERE name = '001_initial'").fetchone()
        assert applied == pytest.approx((2460000.5 - 2440587.5) * 86400)


def test_starting_or_steering_a_flow_inside_a_flow_is_refused_and_leaves_nothing_behind(client: KitaruClient) -> None:
    @kitaru.flow
    def nest_inner() -> int:
        return int(kitaru.wait(schema=int, name="n"))

    waiting = nest_inner.run()
    seen: dict[str, str] = {}

    @kitaru.flow
    def nest_outer() -> str:
        for what, call in (
            ("run", lambda: nest_inner.run()),
            ("replay", lambda: client.executions.replay(waiting.exec_id, from_="x")),
            ("retry", lambda: client.executions.retry(waiting.exec_id)),
        ):
            try:
                call()
            except KitaruContextError as exc:
                seen[what] = str(exc)
            except kitaru.KitaruError as exc:
                seen[what] = f"{type(exc).__name__}: {exc}"
        # answering another execution's wait from inside a flow records the answer only
        client.executions.input(waiting.exec_id, wait="n", value=7)
        return "done"

    outer = nest_outer.run()
    assert outer.get() == "done"
    assert "inside another running flow" in seen["run"]
    assert "inside another running flow" in seen["replay"]
    assert "KitaruStateError" in seen["retry"]  # a waiting execution is not retried
    names = sorted((e.flow_name, e.status.value) for e in client.executions.list())
    assert names == [("nest_inner", "waiting"), ("nest_outer", "completed")]
    # outside the flow the recorded answer resumes it
    assert client.executions.resume(waiting.exec_id).result == 7


def test_a_flow_result_that_cannot_be_journaled(client: KitaruClient) -> None:
    @kitaru.checkpoint
    def fault_fine() -> int:
        return 1

    @kitaru.flow
    def fault_returns_lock() -> Any:
        fault_fine()
        return threading.Lock()

    handle = fault_returns_lock.run()
    with pytest.raises(KitaruExecutionError) as info:
        handle.get()
    assert info.value.failure_origin is FailureOrigin.RUNTIME
    ex = client.executions.get(handle.exec_id)
    assert ex.status is ExecutionStatus.FAILED
    assert ex.failure is not None
    assert "fault_returns_lock" in ex.failure.message and "lock" in ex.failure.message
    assert [c.status.value for c in ex.checkpoints] == ["completed"]
