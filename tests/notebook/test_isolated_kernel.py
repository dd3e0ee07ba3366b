"""``@checkpoint(runtime="isolated")`` in a real Jupyter kernel: a body that segfaults fails its
attempt and the kernel lives on; the fixed cell and Retry finish the same execution."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .frontend import FakeFrontend

pytestmark = pytest.mark.notebook


@pytest.fixture
def fe(tmp_path: Path) -> Iterator[FakeFrontend]:
    frontend = FakeFrontend(tmp_path)
    frontend.run(
        "import os\nimport kitaru_nb as kitaru\n"
        f"kitaru.configure(db={str(tmp_path / 'kitaru.db')!r}, auto_display=False)\n"
    )
    try:
        yield frontend
    finally:
        frontend.close()


CRASHING = """
import ctypes

@kitaru.checkpoint(runtime="isolated")
def native_fit(n):
    print("fitting", n)
    ctypes.string_at(0)  # a C library reading address 0

@kitaru.flow
def fit(n):
    return native_fit(n)

h = fit.run(3)
print("status:", h.status.value)
"""

FIXED = """
@kitaru.checkpoint(runtime="isolated")
def native_fit(n):
    if n < 0:
        raise ValueError("n must be >= 0")
    return n * 2, os.getpid()
"""


def test_a_segfaulting_isolated_checkpoint_leaves_the_kernel_alive(fe: FakeFrontend) -> None:
    pid = fe.run("print(os.getpid())").strip()
    out = fe.run(CRASHING)
    assert "fitting 3" in out  # the body's prints reach the cell
    assert "status: failed" in out
    message = fe.run("print(kitaru.KitaruClient().executions.get(h.exec_id).failure.message)")
    assert "the isolated worker running checkpoint 'native_fit' died (exit code -11, SIGSEGV)" in message
    assert fe.run("print(os.getpid())").strip() == pid  # the same kernel, still running
    # fix the cell, then Retry: the same execution completes in a fresh worker
    fe.run(FIXED)
    out = fe.run("r = kitaru.KitaruClient().executions.retry(h.exec_id)\nprint(r.status.value, fit.run(3).get()[0])")
    assert out.split() == ["completed", "6"]
    # an error in the worker names the notebook cell, as an inline error would
    tb = fe.run(
        "h2 = fit.run(-1)\nprint(kitaru.KitaruClient().executions.get(h2.exec_id).checkpoints[0].failure.traceback)"
    )
    assert "Cell In[" in tb and 'raise ValueError("n must be >= 0")' in tb, tb


SLOW = """
@kitaru.checkpoint(runtime="isolated")
def slow_fit(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    import time
    time.sleep(120)

@kitaru.flow
def slow(path):
    return slow_fit(path)

h = slow.run({path!r})
"""


def test_interrupting_the_kernel_ends_the_worker_of_the_interrupted_call(fe: FakeFrontend, tmp_path: Path) -> None:
    import os
    import time

    marker = tmp_path / "worker.pid"
    msg_id = fe.kc.execute(SLOW.format(path=str(marker)))
    deadline = time.monotonic() + 30
    while not (marker.exists() and marker.read_text()):
        assert time.monotonic() < deadline, "the isolated body never started"
        time.sleep(0.05)
    worker = int(marker.read_text())
    fe.km.interrupt_kernel()
    # the interrupted cell ends first (a cell sent before it ends would be aborted with it)
    while True:
        msg = fe.kc.get_iopub_msg(timeout=30)
        state = msg["content"].get("execution_state") if msg["msg_type"] == "status" else None
        if state == "idle" and msg["parent_header"].get("msg_id") == msg_id:
            break
    out = fe.run(
        "ex = kitaru.KitaruClient().executions.latest(flow='slow')\n"
        "print(ex.status.value, '|', ex.checkpoints[0].attempts[0].failure.message)"
    )
    assert out.startswith("failed | interrupted (KeyboardInterrupt) at checkpoint 'slow_fit'"), out
    while True:  # the kernel killed and reaped its worker
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the worker of the interrupted call still runs"
        time.sleep(0.05)
