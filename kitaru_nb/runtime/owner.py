"""Who owns an execution: the host and process (with its start time, so a reused pid is not taken
for the owner), and in a notebook kernel the notebook, the kernel and the cell that defines the flow.

Recorded with the execution when it starts and whenever a process claims it, so the panel and
the sidebar can say where it runs and, when that kernel is gone, exactly what to open and run.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import Any


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None where it can't be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: fields are counted after its ')'
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


@cache
def _host() -> str:
    import socket

    return socket.gethostname()


@cache
def _me() -> tuple[int, int | None]:
    pid = os.getpid()
    return pid, process_start(pid)


def is_alive(pid: int | None, start: int | None = None) -> bool:
    """True when process ``pid`` runs on this host and, if ``start`` is known, is the same process."""
    if pid is None:
        return False
    me, my_start = _me()
    if pid == me and os.getpid() == me:
        return start is None or my_start is None or start == my_start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    if start is not None:
        now_start = process_start(pid)
        if now_start is not None and now_start != start:
            return False  # the pid was reused by another process
    return True


def owner_alive(owner: dict[str, Any] | None) -> bool | None:
    """Is the recorded owner still running? None when it can't be told (another host, no owner)."""
    if not owner:
        return None
    if owner.get("host") not in (None, _host()):
        return None
    pid = owner.get("pid")
    return is_alive(int(pid), owner.get("pid_start")) if isinstance(pid, int) else None


def on_another_host(owner: dict[str, Any] | None) -> bool:
    """Recorded by a process on another machine (a shared PostgreSQL journal)."""
    return bool(owner) and owner.get("host") not in (None, _host())  # type: ignore[union-attr]


def is_me(owner: dict[str, Any] | None) -> bool:
    if not owner:
        return False
    pid, start = _me()
    return owner.get("host") == _host() and owner.get("pid") == pid and owner.get("pid_start") == start


def _kernel_id() -> str | None:
    """The Jupyter kernel id of this process, when it is a running kernel (nothing is imported)."""
    app_module = sys.modules.get("ipykernel.kernelapp")
    app = getattr(app_module, "IPKernelApp", None)
    try:
        if app is None or not app.initialized():
            return None
        path = app.instance().connection_file
    except Exception:
        return None
    if not path:
        return None
    name = os.path.basename(str(path))
    return name.removeprefix("kernel-").removesuffix(".json") or None


def _cell_of(fn: Any) -> int | None:
    """The execution count of the notebook cell that defined ``fn`` (IPython's ``In[n]``), if any."""
    from kitaru_nb.runtime.context import cell_numbers

    code = getattr(fn, "__code__", None)
    count = cell_numbers().get(code.co_filename) if code is not None else None
    return count if isinstance(count, int) else None


def this_owner(fn: Any = None) -> dict[str, Any]:
    """The owner record of this process (``fn``: the flow body, to name the cell that defines it)."""
    pid, start = _me()
    out: dict[str, Any] = {"host": _host(), "pid": pid, "pid_start": start}
    notebook = os.environ.get("JPY_SESSION_NAME")
    if notebook:
        out["notebook"] = notebook
    kernel = _kernel_id()
    if kernel:
        out["kernel_id"] = kernel
    cell = _cell_of(fn) if fn is not None else None
    if cell is not None:
        out["cell"] = cell
    return out


def describe(owner: dict[str, Any] | None) -> str:
    """'the kernel of notebooks/a.ipynb (pid 12, host h)' or 'process 12 on host h'."""
    if not owner:
        return "an unknown process"
    where = f"pid {owner.get('pid')}, host {owner.get('host')}"
    if owner.get("notebook"):
        return f"the kernel of {owner['notebook']} ({where})"
    return f"process {owner.get('pid')} on host {owner.get('host')}"
