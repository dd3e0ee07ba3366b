"""The jupyter_server extension: the REST API under ``/kitaru-nb/api/`` that the sidebar uses.

Which journal it reads (first that is set):

1. ``c.KitaruNb.db`` in the server config (or ``--KitaruNb.db=PATH``, or ``--KitaruNb.db=postgresql://...``);
2. the ``KITARU_NB_DB`` environment variable;
3. ``kitaru.db`` in the server's ``root_dir`` (the file notebooks in the Jupyter root use).

A relative path is taken relative to ``root_dir``. A ``postgresql://`` URL is a team's shared
journal: every JupyterLab pointed at it lists every member's executions and answers their waits. The server only reads executions and
records wait answers; it never runs flow code and never unpickles a stored value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traitlets import Float, Unicode
from traitlets.config import Configurable

from kitaru_nb.config import DEFAULT_FILENAME, ENV_VAR, is_database_url

__all__ = ["KitaruNb", "journal_path", "journal_target", "load", "start"]


class KitaruNb(Configurable):
    """Settings of the kitaru_nb server extension."""

    db = Unicode(
        "",
        help=(
            "Path of the kitaru_nb journal (SQLite file), or the postgresql:// URL of a shared journal, that "
            f"the Executions sidebar reads. Empty: ${ENV_VAR} if set, else {DEFAULT_FILENAME} in the server's "
            "root_dir. A relative path is relative to root_dir."
        ),
    ).tag(config=True)

    push_interval = Float(
        0.1,
        help=(
            "Seconds between two checks of the journal's change token (SQLite's data_version counter) by the "
            "loop that pushes changes to the Executions sidebar over Jupyter's event bus."
        ),
    ).tag(config=True)


def journal_path(configured: str, root_dir: str | os.PathLike[str], environ: dict[str, str] | None = None) -> Path:
    """The journal file the server reads: config, then ``KITARU_NB_DB``, then ``root_dir/kitaru.db``."""
    env = os.environ if environ is None else environ
    raw = configured or env.get(ENV_VAR, "") or DEFAULT_FILENAME
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path(root_dir).expanduser() / path
    return path.resolve()


def journal_target(
    configured: str, root_dir: str | os.PathLike[str], environ: dict[str, str] | None = None
) -> Path | str:
    """The journal the server reads: a PostgreSQL URL as given, else the file of ``journal_path``."""
    env = os.environ if environ is None else environ
    raw = configured or env.get(ENV_VAR, "")
    if is_database_url(raw):
        return raw.strip()
    return journal_path(configured, root_dir, environ)


def load(server_app: Any) -> None:
    """Register the handlers (see handlers.py) with the journal path taken from the server config."""
    from kitaru_nb.server.handlers import setup_handlers
    from kitaru_nb.server.service import JournalService

    settings = KitaruNb(parent=server_app)
    path = journal_target(settings.db, server_app.root_dir)
    service = JournalService(path)
    setup_handlers(server_app.web_app, service)
    server_app.log.info("kitaru_nb: Executions API at /kitaru-nb/api/ reads the journal %s", service.where)
    from kitaru_nb.server.live import JournalWatcher, event_bus_emitter

    watcher = JournalWatcher(path, event_bus_emitter(server_app), interval=settings.push_interval)
    server_app.web_app.settings["kitaru_nb_watcher"] = watcher


async def start(server_app: Any) -> None:
    """Once the server's event loop runs: start the loop that pushes journal changes to sidebars."""
    watcher = server_app.web_app.settings.get("kitaru_nb_watcher")
    if watcher is not None:
        watcher.start()
