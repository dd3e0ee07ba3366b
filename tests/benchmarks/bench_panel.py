"""Benchmark: a 5,000-checkpoint flow with the live execution panel attached vs without.

Prints figures (never fails on time). Target (SPEC 7): the run with the live panel
takes <= 1.5x the run without. Widget traffic is measured by installing a counting
comm (what ipywidgets would hand to the kernel): every ``comm_open`` and state
``update`` the panel would send to the browser is counted, with its payload size.

    python tests/benchmarks/bench_panel.py [--checkpoints 5000] [--repeat 3] [--kernel]

``--kernel`` repeats the comparison in a real ipykernel driven over the Jupyter protocol
and counts the widget messages (comm_open + comm_msg) that reach the frontend on IOPub.

Under pytest (``pytest tests/benchmarks/bench_panel.py``) a small run checks only
correctness: the flow completes, the panel ends showing every checkpoint done, and the
number of refreshes respects the throttle.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import comm
from comm.base_comm import BaseComm

import kitaru_nb as kitaru


class CountingComm(BaseComm):  # type: ignore[misc]
    """A comm that counts what would travel to the frontend."""

    sent: list[tuple[str, int]] = []

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
    ) -> None:
        size = len(json.dumps(data, default=str)) if data is not None else 0
        CountingComm.sent.append((msg_type, size))


def install_counting_comm() -> Any:
    """Make new widgets use CountingComm; returns the previous factory (to put back)."""
    previous = comm.create_comm
    comm.create_comm = lambda *a, **kw: CountingComm(*a, **kw)
    return previous


def make_flow(n: int) -> Any:
    @kitaru.checkpoint
    def step(i: int) -> int:
        return i + 1

    @kitaru.flow(name=f"bench_{n}")
    def many(count: int) -> int:
        total = 0
        for i in range(count):
            total += step(i)
        return total

    return many


def run_once(flow: Any, n: int, db: Path, *, panel: bool) -> dict[str, Any]:
    kitaru.configure(db=db)
    live = None
    if panel:
        from kitaru_nb.widgets.panel import follow

        live = follow(kitaru.KitaruClient())
        live._repr_mimebundle_()  # "display" it
    CountingComm.sent.clear()
    t0 = time.perf_counter()
    handle = flow.run(n)
    elapsed = time.perf_counter() - t0
    assert handle.get() == n * (n + 1) // 2
    out: dict[str, Any] = {"seconds": elapsed, "messages": len(CountingComm.sent), "bytes": 0, "refreshes": 0}
    if live is not None:
        out["bytes"] = sum(size for _, size in CountingComm.sent)
        out["refreshes"] = live.refreshes
        out["header"] = live.header.value
        out["progress"] = (live.progress.value, live.progress.max)
        live.close()
        from kitaru_nb.runtime import engine
        from kitaru_nb.widgets.hub import hub

        engine.remove_listener(hub.on_event)  # the next run without a panel pays nothing for it
        hub.installed = False
    kitaru.configure(db=None)
    return out


def bench(n: int = 5000, repeat: int = 3) -> dict[str, Any]:
    previous = install_counting_comm()
    try:
        flow = make_flow(n)
        with tempfile.TemporaryDirectory() as tmp:
            base, live = [], []
            for i in range(repeat):  # interleaved, so load from other processes hits both sides alike
                base.append(run_once(flow, n, Path(tmp) / f"plain{i}.db", panel=False))
                live.append(run_once(flow, n, Path(tmp) / f"live{i}.db", panel=True))
    finally:
        comm.create_comm = previous
    plain_s = statistics.median(r["seconds"] for r in base)
    live_s = statistics.median(r["seconds"] for r in live)
    last = live[-1]
    return {
        "checkpoints": n,
        "without_panel_s": plain_s,
        "with_panel_s": live_s,
        "ratio": live_s / plain_s,
        "messages": last["messages"],
        "bytes": last["bytes"],
        "refreshes": last["refreshes"],
        "progress": last["progress"],
        "header": last["header"],
        "runs": {"without": [r["seconds"] for r in base], "with": [r["seconds"] for r in live]},
    }


KERNEL_SETUP = """
import time
import kitaru_nb as kitaru
kitaru.configure(db={db!r})

@kitaru.checkpoint
def step(i):
    return i + 1

@kitaru.flow
def many(count):
    total = 0
    for i in range(count):
        total += step(i)
    return total

def timed(n, panel, db):
    # a fresh journal per run, like the in-process figures; the run shows its own live panel
    # (auto-display, the default) or nothing
    kitaru.configure(db=db, auto_display=panel)
    t0 = time.perf_counter()
    handle = many.run(n)
    seconds = time.perf_counter() - t0
    assert handle.get() == n * (n + 1) // 2
    print("SECONDS", seconds)
"""


def bench_in_kernel(n: int = 5000, repeat: int = 3) -> dict[str, Any]:
    """The same comparison in a real ipykernel; widget messages counted on IOPub, as a browser gets them."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.notebook.frontend import FakeFrontend

    with tempfile.TemporaryDirectory() as tmp:
        fe = FakeFrontend(Path(tmp))
        try:
            fe.run(KERNEL_SETUP.format(db=str(Path(tmp) / "kitaru.db")))
            runs: dict[str, list[float]] = {"without": [], "with": []}
            messages: list[int] = []
            for i in range(repeat):
                for panel in (False, True):
                    fe.widget_messages = 0
                    db = str(Path(tmp) / f"run{i}{panel}.db")
                    out = fe.run(f"timed({n}, {panel}, {db!r})", timeout=600)
                    runs["with" if panel else "without"].append(float(out.split("SECONDS")[-1]))
                    if panel:
                        messages.append(fe.widget_messages)
        finally:
            fe.close()
    plain_s, live_s = statistics.median(runs["without"]), statistics.median(runs["with"])
    return {
        "checkpoints": n,
        "without_panel_s": plain_s,
        "with_panel_s": live_s,
        "ratio": live_s / plain_s,
        "messages": statistics.median(messages),
        "messages_per_s": statistics.median(messages) / live_s,
        "runs": runs,
    }


def test_bench_panel_smoke() -> None:
    from kitaru_nb.widgets.panel import MIN_REFRESH

    n = 400
    fig = bench(n, repeat=1)
    assert fig["progress"] == (n, n)
    assert "kitaru-status-completed" in fig["header"] and f"{n}/{n} done" in fig["header"]
    # throttled: at most one refresh per MIN_REFRESH of run time, plus the first and the final one
    assert 1 <= fig["refreshes"] <= fig["with_panel_s"] / MIN_REFRESH + 2
    assert 0 < fig["messages"] < n  # far fewer widget messages than checkpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kernel", action="store_true", help="also measure in a real ipykernel (IOPub messages)")
    args = parser.parse_args()
    fig = bench(args.checkpoints, args.repeat)
    n = fig["checkpoints"]
    print(f"{n} checkpoints, median of {args.repeat} interleaved runs each, SQLite journal on disk")
    print(
        f"  without panel : {fig['without_panel_s'] * 1e3:8.1f} ms  ({fig['without_panel_s'] / n * 1e6:.0f} us/checkpoint)"
    )
    print(
        f"  with live panel: {fig['with_panel_s'] * 1e3:8.1f} ms  ({fig['with_panel_s'] / n * 1e6:.0f} us/checkpoint)"
    )
    print(f"  ratio          : {fig['ratio']:.2f}x  (target <= 1.5x)")
    print(
        f"  widget messages: {fig['messages']} ({fig['bytes'] / 1024:.0f} KiB) for {fig['refreshes']} panel refreshes"
    )
    print("  runs (s):", {k: [round(v, 3) for v in vs] for k, vs in fig["runs"].items()})
    if args.kernel:
        k = bench_in_kernel(args.checkpoints, args.repeat)
        print(
            f"in a real ipykernel (flow timed inside the kernel, panel shown by auto-display), "
            f"median of {args.repeat} runs"
        )
        print(f"  without panel : {k['without_panel_s'] * 1e3:8.1f} ms")
        print(f"  with live panel: {k['with_panel_s'] * 1e3:8.1f} ms")
        print(f"  ratio          : {k['ratio']:.2f}x  (target <= 1.5x)")
        print(
            f"  widget messages on IOPub (comm_open + comm_msg) per run: {k['messages']:.0f} "
            f"({k['messages_per_s']:.0f} per second of run time)"
        )
        print("  runs (s):", {key: [round(v, 3) for v in vs] for key, vs in k["runs"].items()})


if __name__ == "__main__":
    main()
