"""A journal this user cannot write: reading works, running says why it cannot write, no files are left.

Root writes any file, so when the suite runs as root each case runs in a forked child that has
dropped to ``nobody`` (everything it needs is imported before the fork: the interpreter's own
files may not be readable by ``nobody``).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb import KitaruBackendError

from .conftest import Scripts


@kitaru.flow
def ro_report() -> int:
    return 1


def as_unprivileged(fn: Callable[[], Any]) -> Any:
    """``fn()`` in a forked child running as ``nobody`` (as this user when not root); its JSON result."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            result = ["ok", fn()]
        except BaseException as exc:
            result = ["raised", type(exc).__name__, str(exc)]
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(result))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder ``nobody`` can reach (pytest's tmp folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="kitaru-ro-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    for p in (folder, *folder.rglob("*")):
        p.chmod(0o777)
    shutil.rmtree(folder)


@pytest.fixture(autouse=True)
def warm_imports(tmp_path: Path) -> Iterator[None]:
    """Run once in this process what the child runs, so every module it needs is already imported."""
    kitaru.configure(db=tmp_path / "warm.db")
    ro_report.run()
    kitaru.KitaruClient().executions.list()
    kitaru.configure(db=None)
    yield


def journal_with_one_run(folder: Path, scripts: Scripts) -> Path:
    path = folder / "journals" / "kitaru.db"
    path.parent.mkdir()
    scripts.run(
        """
        import sys, kitaru_nb as kitaru
        kitaru.configure(db=sys.argv[1])
        @kitaru.flow
        def ro_report():
            return 1
        ro_report.run()
        print("{}")
        """,
        str(path),
    )
    assert not Path(f"{path}-wal").exists()  # closed cleanly
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def list_then_run(path: Path) -> Callable[[], Any]:
    def attempt() -> Any:
        listed = [e.flow_name for e in kitaru.KitaruClient(db=path).executions.list()]
        kitaru.configure(db=path)
        try:
            ro_report.run()
        except KitaruBackendError as exc:
            return [listed, str(exc)]
        return [listed, "ran"]

    return attempt


def side_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def test_a_read_only_journal_file_lists_and_refuses_to_run_naming_the_file(shared_dir: Path, scripts: Scripts) -> None:
    path = journal_with_one_run(shared_dir, scripts)
    path.parent.chmod(0o777)  # the folder is writable: only the file is read-only
    path.chmod(0o444)
    before = digest(path)

    outcome = as_unprivileged(list_then_run(path))

    assert outcome[0] == "ok", outcome
    listed, message = outcome[1]
    assert listed == ["ro_report"]
    assert str(path) in message and "read-only" in message and "0444" in message
    assert "Nothing was written" in message
    assert side_files(path) == []  # no -wal / -shm left behind
    assert digest(path) == before


def test_a_journal_in_a_read_only_folder_names_the_folder_as_the_cause(shared_dir: Path, scripts: Scripts) -> None:
    path = journal_with_one_run(shared_dir, scripts)
    path.chmod(0o666)  # the file is writable, its folder is not
    path.parent.chmod(0o555)
    before = digest(path)

    outcome = as_unprivileged(list_then_run(path))

    assert outcome[0] == "ok", outcome
    listed, message = outcome[1]
    assert listed == ["ro_report"]
    assert str(path) in message and f"its folder {path.parent} is read-only" in message
    assert side_files(path) == []
    assert digest(path) == before


def test_a_new_journal_in_a_read_only_folder_is_refused_naming_the_folder(shared_dir: Path) -> None:
    folder = shared_dir / "locked"
    folder.mkdir(mode=0o555)
    folder.chmod(0o555)
    path = folder / "kitaru.db"

    outcome = as_unprivileged(lambda: kitaru.KitaruClient(db=path).executions.list())

    assert outcome[0] == "raised" and outcome[1] == "KitaruBackendError", outcome
    assert f"cannot create the journal {path}" in outcome[2] and "read-only" in outcome[2]
    assert list(folder.iterdir()) == []
