"""``SqliteDb``: a handle on a kitaru_nb journal file, for ``Workflow(db=...)`` and ``KitaruClient(db=...)``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.journal.base import Journal

__all__ = ["SqliteDb"]

# table options of the step-workflow API: kitaru_nb keeps everything in its one journal
_IGNORED = frozenset(
    {"session_table", "memory_table", "metrics_table", "eval_table", "knowledge_table", "traces_table", "spans_table"}
)


class SqliteDb:
    """The SQLite journal at ``db_file`` (``db_url="sqlite:///path"`` works too).

    Omitted, the configured journal's file (``KITARU_NB_DB`` or ``./kitaru.db``).
    """

    def __init__(
        self,
        db_file: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        id: str | None = None,
        **options: Any,
    ):
        unknown = sorted(set(options) - _IGNORED)
        if unknown:
            raise KitaruUsageError(
                f"SqliteDb does not take {unknown}; give the journal file as SqliteDb(db_file='workflow.db')"
            )
        if db_file is not None and db_url is not None:
            raise KitaruUsageError("SqliteDb takes db_file or db_url, not both")
        if db_url is not None:
            if not isinstance(db_url, str) or not db_url.startswith("sqlite:///"):
                raise KitaruUsageError(
                    f"SqliteDb(db_url=...) must look like 'sqlite:///path/to/file.db', got {db_url!r}"
                )
            db_file = db_url.removeprefix("sqlite:///")
        if db_file is None:
            from kitaru_nb.config import default_path

            db_file = default_path()
        if not isinstance(db_file, (str, os.PathLike)) or not os.fspath(db_file):
            raise KitaruUsageError(f"SqliteDb(db_file=...) must be a file path, got {db_file!r}")
        self.db_file = Path(db_file)
        self.id = id or f"sqlite:{self.db_file}"

    def __repr__(self) -> str:
        return f"SqliteDb(db_file={str(self.db_file)!r})"

    @property
    def journal(self) -> Journal:
        """The journal in ``db_file`` (opened once per process; the folder is created if missing)."""
        from kitaru_nb.journal.sqlite import open_journal

        parent = self.db_file.parent
        if not parent.exists():
            parent.mkdir(parents=True, exist_ok=True)
        return open_journal(self.db_file)
