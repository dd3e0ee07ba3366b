"""The PostgreSQL journal beyond the contract: how it is selected, what it refuses, what it hides."""

from __future__ import annotations

import psycopg
import pytest

import kitaru_nb as kitaru
from kitaru_nb import KitaruBackendError, KitaruClient
from kitaru_nb.journal.migrations import LATEST_VERSION
from kitaru_nb.journal.postgres import PostgresJournal

from .conftest import Scripts

pytestmark = pytest.mark.postgres


def _tables(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
            )
        ]
        return [(n, conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names]  # type: ignore[index]


RUN_FLOW = """
import json
import kitaru_nb as kitaru

@kitaru.checkpoint
def double(x):
    return 2 * x

@kitaru.flow
def team_flow(x):
    return double(x) + 1

h = team_flow.run(20)
print(json.dumps([h.exec_id, h.get(), kitaru.KitaruClient().journal.location]))
"""


def test_kitaru_nb_db_with_a_url_selects_the_shared_journal(pg_url: str, scripts: Scripts) -> None:
    env_before = scripts.env

    def env() -> dict[str, str]:
        e = env_before()
        e["KITARU_NB_DB"] = pg_url
        return e

    scripts.env = env  # type: ignore[method-assign]
    exec_id, result, location = scripts.run(RUN_FLOW)
    assert result == 41
    assert ":***@" in location and pg_url.split(":")[2].split("@")[0] not in location  # no password shown
    got = KitaruClient(db=pg_url).executions.get(exec_id)
    assert got.status.value == "completed" and [c.name for c in got.checkpoints] == ["double"]
    assert not list(scripts.folder.glob("*.db"))  # no SQLite file next to it


def test_configure_with_a_url_and_a_flow_in_this_process(pg_client: KitaruClient) -> None:
    @kitaru.checkpoint(retries=1)
    def flaky(tries: list[int]) -> int:
        tries.append(1)
        if len(tries) == 1:
            raise OSError("first try fails")
        return len(tries)

    @kitaru.flow
    def pg_flow() -> int:
        return flaky([])

    handle = pg_flow.run()
    assert handle.get() == 2
    (call,) = pg_client.executions.get(handle.exec_id).checkpoints
    assert [a.status.value for a in call.attempts] == ["failed", "completed"]
    assert call.attempts[0].failure is not None and call.attempts[0].failure.message == "first try fails"


def test_a_database_of_another_application_is_refused_untouched(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int PRIMARY KEY, total numeric)")
        conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    before = _tables(pg_url)
    with pytest.raises(KitaruBackendError) as err:
        PostgresJournal(pg_url)
    message = str(err.value)
    assert "is a PostgreSQL database but not a kitaru_nb journal (it has tables: invoices)" in message
    assert "left untouched" in message and "KITARU_NB_DB" in message
    assert _tables(pg_url) == before


def test_a_journal_of_a_newer_kitaru_nb_is_refused_untouched(pg_url: str) -> None:
    PostgresJournal(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO _kitaru_migrations VALUES ('999_from_the_future', 0)")
    before = _tables(pg_url)
    with pytest.raises(KitaruBackendError) as err:
        PostgresJournal(pg_url)
    assert (
        f"written by a newer kitaru_nb (schema version {LATEST_VERSION + 1}, this one knows up to {LATEST_VERSION})"
        in str(err.value)
    )
    assert "Upgrade kitaru_nb" in str(err.value)
    assert _tables(pg_url) == before


def test_an_unreachable_server_says_which_and_why(pg_url: str) -> None:
    bad = pg_url.rsplit("@", 1)[0] + "@127.0.0.1:1/nowhere"
    with pytest.raises(
        KitaruBackendError, match=r"cannot connect to the journal postgresql://kitaru:\*\*\*@127\.0\.0\.1:1"
    ):
        PostgresJournal(bad)


def test_migrations_are_recorded_by_name(pg_url: str) -> None:
    PostgresJournal(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM _kitaru_migrations ORDER BY name")]
    from kitaru_nb.journal.migrations import MIGRATIONS

    assert names == [n for n, _ in MIGRATIONS]
