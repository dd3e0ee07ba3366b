"""Shared fixtures: every test gets its own journal file, configured as the default."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

import kitaru_nb


@pytest.fixture
def db_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "kitaru.db"
    kitaru_nb.configure(db=path)
    yield path
    kitaru_nb.configure(db=None)


@pytest.fixture
def client(db_path: Path) -> kitaru_nb.KitaruClient:
    return kitaru_nb.KitaruClient()


# -- a team journal: the PostgreSQL server scripts/test.sh starts -----------------------------------

PG_ENV = "KITARU_NB_TEST_PG"


def pg_server_url() -> str:
    """The test server's maintenance URL (``scripts/test.sh`` starts the server and sets it).

    In CI a missing server fails the test; locally the test is skipped saying how to get one."""
    url = os.environ.get(PG_ENV, "")
    if not url:
        message = (
            f"no PostgreSQL test server: {PG_ENV} is not set. scripts/test.sh starts one; by hand: "
            "eval $(bash scripts/postgres.sh start)"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return url


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty database on the test server, dropped after the test."""
    import psycopg

    from kitaru_nb.journal import postgres

    server = pg_server_url()
    name = f"kt_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = _with_db(server, name)
    yield url
    kitaru_nb.configure(db=None)
    journal = postgres._open.get(postgres._conninfo(url))  # keyed as open_postgres keys it
    if journal is not None:
        journal.close()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_client(pg_url: str) -> kitaru_nb.KitaruClient:
    """The configured journal is a fresh PostgreSQL database."""
    kitaru_nb.configure(db=pg_url)
    return kitaru_nb.KitaruClient()


# -- a real Dask cluster: a LocalCluster with worker processes ----------------------------------------


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    """Two worker processes, one thread each (started once per session: 2-4 s)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    from kitaru_nb.runtime import concurrent

    concurrent.set_remote(None)
    client.close()
    cluster.close()


@pytest.fixture
def dask_client(dask_cluster: Any) -> Iterator[Any]:
    """Checkpoint bodies go to the session's cluster (two live workers); threads again afterwards."""
    dask_cluster.wait_for_workers(2, timeout=60)
    kitaru_nb.configure(executor=dask_cluster)
    yield dask_cluster
    kitaru_nb.configure(executor=None, executor_runs="concurrent")
