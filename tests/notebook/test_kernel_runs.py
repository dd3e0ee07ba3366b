"""The kernel runs the show: every run is visible and live in its cell, and answers given anywhere
are carried out by the kernel when it is idle (kernel-protocol tests: a fake front end over a real
ipykernel)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru_nb import KitaruClient

from .frontend import FakeFrontend

pytestmark = pytest.mark.notebook


@pytest.fixture
def fe(tmp_path: Path) -> Iterator[FakeFrontend]:
    frontend = FakeFrontend(tmp_path)
    frontend.run(f"import time\nimport kitaru_nb as kitaru\nkitaru.configure(db={str(tmp_path / 'kitaru.db')!r})\n")
    try:
        yield frontend
    finally:
        frontend.close()


def panels(fe: FakeFrontend) -> list[str]:
    return fe.find_all("VBoxModel", "kitaru-panel")


def part(fe: FakeFrontend, panel: str, model: str, css: str) -> str:
    return fe.within(panel, model, css)


FAILING = """
@kitaru.checkpoint
def fit_model(data):
    raise ValueError("singular matrix")

@kitaru.flow
def fit(data):
    return fit_model(data)

h = fit.run([1, 2, 3])
print("the cell went on")
"""


def test_a_run_that_is_not_the_cells_last_line_shows_its_panel(fe: FakeFrontend) -> None:
    out = fe.run(FAILING)
    assert "the cell went on" in out  # Kitaru's semantics: run() returns a handle, the cell goes on
    (panel,) = panels(fe)
    header = part(fe, panel, "HTMLModel", "kitaru-header")
    assert "kitaru-status-failed" in fe.value(header)
    cards = part(fe, panel, "VBoxModel", "kitaru-cards")
    failed = fe.within(cards, "VBoxModel", "kitaru-card-failed")
    assert fe.within(failed, "ButtonModel", "kitaru-retry", description="Retry")
    # displaying the handle in a later cell shows it again there; in the same cell it adds nothing
    fe.run("h2 = fit.run([4])\nh2")
    assert len(panels(fe)) == 2


def test_raise_on_failure_stops_the_cell_after_showing_the_panel(fe: FakeFrontend) -> None:
    from .frontend import CellError

    fe.run("kitaru.configure(raise_on_failure=True)")
    with pytest.raises(CellError, match="singular matrix"):
        fe.run(FAILING)
    (panel,) = panels(fe)
    assert "kitaru-status-failed" in fe.value(part(fe, panel, "HTMLModel", "kitaru-header"))


def test_auto_display_can_be_turned_off(fe: FakeFrontend) -> None:
    fe.run("kitaru.configure(auto_display=False)")
    fe.run(FAILING)
    assert panels(fe) == []
    fe.run("h")  # displaying the handle still shows it
    assert len(panels(fe)) == 1


LONG = """
@kitaru.checkpoint
def slow(i):
    time.sleep(0.3)
    return i

@kitaru.flow
def twenty():
    return sum(slow(i) for i in range(20))
"""


def test_progress_updates_arrive_while_the_flow_runs(fe: FakeFrontend) -> None:
    fe.run(LONG)
    fe.run("twenty.run()")  # a first run: the next one knows its total
    seen: list[tuple[float, int, int, str]] = []
    done = {"flag": False}
    old_bars = set(fe.find_all("IntProgressModel", "kitaru-progress"))
    old_labels = set(fe.find_all("LabelModel", "kitaru-live"))

    def watch(front: FakeFrontend, msg: dict[str, object]) -> None:
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":  # type: ignore[index]
            done["flag"] = True
        if done["flag"] or msg["msg_type"] != "comm_msg":
            return
        bars = [b for b in front.find_all("IntProgressModel", "kitaru-progress") if b not in old_bars]
        labels = [x for x in front.find_all("LabelModel", "kitaru-live") if x not in old_labels]
        if bars and labels:
            bar = front.models[bars[-1]]
            seen.append((time.monotonic(), bar.get("value", 0), bar.get("max", 0), front.value(labels[-1]) or ""))

    t0 = time.monotonic()
    fe.run("h = twenty.run()", on_iopub=watch, timeout=60)
    elapsed = time.monotonic() - t0
    during = [s for s in seen if s[0] - t0 < elapsed - 1.0]  # well before the cell ended
    values = sorted({v for _, v, _, _ in during})
    assert len(values) >= 3, seen  # the bar moved several times while the cell was running
    assert all(0 < m and v < m for _, v, m, _ in during if v), during  # never full before the end
    # the total is estimated from the last completed execution, with elapsed time, rate and ETA
    assert any("/20 (est.)" in text and "elapsed" in text and "ETA" in text for *_, text in during), during


def test_a_waiting_flows_bar_is_not_full(fe: FakeFrontend) -> None:
    fe.run("@kitaru.flow\ndef ask():\n    return kitaru.wait(schema=bool, name='go')\nh = ask.run()")
    (panel,) = panels(fe)
    bar = part(fe, panel, "IntProgressModel", "kitaru-progress")
    assert fe.value(bar) < fe.value(bar, "max")
    assert "waits for input" in fe.value(part(fe, panel, "LabelModel", "kitaru-live"))


WAITING = """
@kitaru.checkpoint
def prep():
    return 2

@kitaru.flow
def approve():
    x = prep()
    ok = kitaru.wait(schema=bool, name="ok", question="Approve?")
    print("approved:", ok)
    return x if ok else -1

kitaru.configure(auto_display=False)
h = approve.run()
print(h.exec_id)
"""


def test_an_answer_from_another_process_completes_the_flow_once_the_kernel_is_idle(
    fe: FakeFrontend, tmp_path: Path
) -> None:
    exec_id = fe.run(WAITING).strip().splitlines()[-1]
    assert panels(fe) == []  # no panel anywhere: the watcher alone carries it out
    client = KitaruClient(db=tmp_path / "kitaru.db")
    # a long cell runs while the answer arrives: nothing resumes in the middle of it
    msg_id = fe.kc.execute("time.sleep(2.0)\nprint('status during the cell:', h.status)")
    time.sleep(0.5)
    client.executions.input(exec_id, wait="ok", value=True, answered_by="sidebar")
    out: list[str] = []
    idle_at = None
    while idle_at is None:
        msg = fe.kc.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            idle_at = time.monotonic()
    assert "status during the cell: waiting" in "".join(out)
    while client.executions.get(exec_id).status.value != "completed":
        assert time.monotonic() - idle_at < 2.0, "not completed within 2 s of the kernel going idle"
        time.sleep(0.05)
    assert client.executions.get(exec_id).result == 2
    (wait_row,) = client.executions.get(exec_id).waits
    assert (wait_row.answered_by, wait_row.answer_preview) == ("sidebar", "True")


REPLAYABLE = """
runs = {"train": 0, "score": 0}

@kitaru.checkpoint
def train() -> int:
    runs["train"] += 1
    return 3

@kitaru.checkpoint
def score(w: int) -> str:
    runs["score"] += 1
    return f"score {w * 10}"

@kitaru.flow
def model() -> str:
    return score(train())

h = model.run()
"""


def test_replay_from_a_row_with_its_output_overridden(fe: FakeFrontend) -> None:
    fe.run(REPLAYABLE)
    (panel,) = panels(fe)
    rows = part(fe, panel, "VBoxModel", "kitaru-rows")
    train_row = fe.children(rows)[0]
    fe.click(fe.within(train_row, "ButtonModel", "kitaru-replay-from"))
    cards = part(fe, panel, "VBoxModel", "kitaru-cards")
    fe.pump_until(lambda: any("kitaru-card-replay" in fe.models[c].get("_dom_classes", []) for c in fe.children(cards)))
    card = fe.within(cards, "VBoxModel", "kitaru-card-replay")
    fe.set_state(fe.within(card, "RadioButtonsModel", "kitaru-replay-mode"), index=1)
    editor = fe.within(card, "TextareaModel", "kitaru-replay-output")
    go = fe.within(card, "ButtonModel", "kitaru-replay-go")
    fe.set_state(editor, value='"not a number"')  # train() -> int: checked like a wait form's answer
    fe.click(go)
    error = fe.within(card, "HTMLModel", "kitaru-replay-error")
    fe.pump_until(lambda: "valid integer" in (fe.value(error) or ""))
    assert fe.run("print(len(kitaru.KitaruClient().executions.list()))").strip() == "1"  # nothing started

    fe.set_state(editor, value="7")
    fe.click(go)
    fe.pump_until(lambda: len(panels(fe)) == 2, timeout=20)  # the replay's panel, in this panel's output
    out = fe.run(
        "ex = kitaru.KitaruClient().executions.latest()\n"
        "print(ex.status, ex.result, [c.status.value for c in ex.checkpoints], ex.original_exec_id == h.exec_id, runs)"
    )
    assert out.strip() == "completed score 70 ['reused', 'completed'] True {'train': 1, 'score': 2}"


def test_tracebacks_name_cells_and_leave_out_the_engine(fe: FakeFrontend) -> None:
    fe.run("def helper(x):\n    return 1 / x")
    fe.run(
        "@kitaru.checkpoint(retries=1)\ndef divide(x):\n    return helper(x)\n\n"
        "@kitaru.flow\ndef div_flow():\n    return divide(0)\n\nh = div_flow.run()"
    )
    out = fe.run(
        "ex = h.execution\n"
        "print(ex.failure.traceback)\n"
        "print('ATTEMPTS', [a.failure.traceback == ex.checkpoints[0].attempts[0].failure.traceback "
        "for a in ex.checkpoints[0].attempts])"
    )
    assert "Cell In[" in out and ", line 2, in helper" in out and "ZeroDivisionError" in out
    assert "kitaru_nb" not in out.split("ATTEMPTS")[0] and "ipykernel_" not in out
    assert "ATTEMPTS [True, True]" in out
    (panel,) = panels(fe)
    html = "".join(
        str(fe.value(c) or "") for c in fe.descendants(panel) if fe.models[c].get("_model_name") == "HTMLModel"
    )
    assert "same traceback as attempt 1" in html  # the second identical traceback is not repeated


def test_defining_a_flow_in_a_kernel_creates_no_journal(tmp_path: Path) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()
    frontend = FakeFrontend(folder)
    try:
        frontend.run(
            "import kitaru_nb as kitaru\n@kitaru.flow\ndef nothing_yet():\n    return 1\nimport time; time.sleep(0.6)"
        )
        assert not (folder / "kitaru.db").exists()  # the watcher looked, and created nothing
        frontend.run("nothing_yet.run()")
        assert (folder / "kitaru.db").exists()
    finally:
        frontend.close()
