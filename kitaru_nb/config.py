"""Which journal to use: ``configure(db=...)`` > ``KITARU_NB_DB`` > ``./kitaru.db``.

A ``postgresql://`` URL in either place selects the shared PostgreSQL journal (the ``team`` extra);
anything else is the path of an SQLite file. Where checkpoint bodies run: ``configure(executor=...)``
> ``KITARU_NB_EXECUTOR`` (a Dask scheduler address) > this process's threads.
"""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import Any

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.journal.base import Journal

DEFAULT_FILENAME = "kitaru.db"
ENV_VAR = "KITARU_NB_DB"
_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_database_url(value: object) -> bool:
    """A PostgreSQL URL (the shared journal), as opposed to the path of an SQLite file."""
    return isinstance(value, str) and value.strip().lower().startswith(_PG_SCHEMES)


_lock = threading.Lock()
_configured: Any = None
_UNSET: Any = object()
# journals whose interrupted attempts this process has recovered: held weakly, so a journal
# object that is collected cannot be mistaken for a new one that reuses its id(); a journal that
# cannot be weakly referenced is held for good (its id cannot be reused while it is held)
_recovered: weakref.WeakSet[Any] = weakref.WeakSet()
_recovered_held: dict[int, Any] = {}


def _first_use(journal: Any) -> bool:
    """True once per journal object (the caller holds ``_lock``)."""
    try:
        if journal in _recovered:
            return False
        _recovered.add(journal)
    except TypeError:
        if _recovered_held.get(id(journal)) is journal:
            return False
        _recovered_held[id(journal)] = journal
    return True


class Settings:
    """Process-wide switches set with ``configure``."""

    #: a run started from a notebook cell shows its live panel in that cell at once
    auto_display: bool = True
    #: ``flow.run()`` raises the flow's error (after showing the panel) when the execution failed
    raise_on_failure: bool = False


settings = Settings()


def configure(
    *,
    db: str | os.PathLike[str] | Journal | Any | None = _UNSET,
    auto_display: bool | None = None,
    raise_on_failure: bool | None = None,
    max_workers: int | None = None,
    executor: Any = _UNSET,
    executor_runs: str | None = None,
) -> None:
    """Set up kitaru_nb for this process. Only the options given change.

    ``db``: a path to the SQLite journal, a ``postgresql://user:pass@host:5432/db`` URL (a shared
    PostgreSQL journal), a journal object, a ``SqliteDb``, or None to go back to the default
    (``KITARU_NB_DB`` or ``kitaru.db`` in the working folder).
    ``auto_display`` (default True): a run started from a notebook cell shows its live panel in
    that cell at once; False leaves displaying to you (``display(handle)``).
    ``raise_on_failure`` (default False, Kitaru's semantics): True makes ``flow.run()`` raise the
    flow's error after showing the panel, so Run All and papermill stop at a failed flow.
    ``max_workers``: threads that run checkpoints submitted with ``.submit`` / ``.map`` / ``.product``
    (default ``min(32, cpus + 4)``), and worker processes that run ``runtime="isolated"`` checkpoint
    bodies (default ``min(cpus, 4)``).
    ``executor``: a ``distributed.Client`` (or a scheduler address such as ``"tcp://host:8786"``)
    sends checkpoint bodies to a Dask cluster: those of ``.submit`` / ``.map`` / ``.product`` and of
    ``runtime="isolated"`` checkpoints, and with ``executor_runs="all"`` plain calls too. The flow
    and every journal write stay in this process. None goes back to this process's threads (and
    worker processes for isolated bodies).
    """
    global _configured
    for name, value in (("auto_display", auto_display), ("raise_on_failure", raise_on_failure)):
        if value is not None and not isinstance(value, bool):
            raise KitaruUsageError(f"configure({name}=...) takes True or False, got {value!r}")
    if max_workers is not None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise KitaruUsageError(f"configure(max_workers=...) takes an int >= 1, got {max_workers!r}")
        from kitaru_nb.runtime import concurrent, isolated

        concurrent.set_max_workers(max_workers)
        isolated.set_max_workers(max_workers)
    if executor_runs is not None and executor_runs not in ("concurrent", "all"):
        raise KitaruUsageError(
            f"configure(executor_runs=...) takes 'concurrent' (.submit / .map / .product and isolated bodies) or "
            f"'all' (plain calls too), got {executor_runs!r}"
        )
    if executor is not _UNSET or executor_runs is not None:
        from kitaru_nb.runtime import concurrent

        concurrent.set_remote(concurrent._UNSET_TARGET if executor is _UNSET else executor, runs=executor_runs)
    if db is _UNSET:
        db = _configured
    elif (
        db is not None
        and not isinstance(db, (str, os.PathLike))
        and not hasattr(db, "load_calls")
        and not hasattr(db, "journal")
    ):
        raise KitaruUsageError(f"configure(db=...) takes a file path, a journal or a SqliteDb, not {type(db).__name__}")
    with _lock:
        _configured = db
        if auto_display is not None:
            settings.auto_display = auto_display
        if raise_on_failure is not None:
            settings.raise_on_failure = raise_on_failure


def default_path() -> Path:
    env = os.environ.get(ENV_VAR)
    return Path(env) if env and not is_database_url(env) else Path.cwd() / DEFAULT_FILENAME


def default_target() -> str | Path:
    """``KITARU_NB_DB`` (a URL or a path), else ``kitaru.db`` in the working folder."""
    env = os.environ.get(ENV_VAR)
    if env and is_database_url(env):
        return env.strip()
    return default_path()


def default_exists() -> bool:
    """Is there a default journal to watch (watching never creates an SQLite file)?"""
    target = default_target()
    return isinstance(target, str) or target.exists()


def resolve_journal(db: Any = None) -> Journal:
    """The journal for ``db`` (see ``configure``), opened once per process and path."""
    from kitaru_nb.journal.sqlite import open_journal

    target = db if db is not None else _configured
    if target is None:
        target = default_target()
    journal: Journal
    if is_database_url(target):
        from kitaru_nb.journal.postgres import open_postgres

        journal = open_postgres(target)
    elif isinstance(target, (str, os.PathLike)):
        if os.fspath(target).strip() == ":memory:":
            raise KitaruUsageError(
                "db=':memory:' is not a journal kitaru_nb can use: it would create a file named ':memory:' in the "
                "working folder. Give a file path (db='kitaru.db'), a postgresql:// URL, or, for a journal that "
                "lives only in this process, a journal object: db=kitaru_nb.journal.memory.MemoryJournal()"
            )
        journal = open_journal(target)
    elif hasattr(target, "journal"):
        journal = target.journal
    elif hasattr(target, "load_calls"):
        journal = target
    else:
        raise KitaruUsageError(f"db must be a file path, a journal or a SqliteDb, not {type(target).__name__}")
    with _lock:  # held while recovering: another thread waits rather than reading half-recovered state
        if _first_use(journal):
            from kitaru_nb.runtime.owner import is_alive

            journal.recover_interrupted(is_alive)
    return journal
