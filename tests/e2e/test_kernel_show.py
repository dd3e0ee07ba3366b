"""The kernel runs the show, in a real JupyterLab + Chromium: a run's panel is live in its cell while
it runs, an answer given through the sidebar's API resumes a flow whose handle was never displayed,
and "Replay from here" on a row starts a new execution that reuses the rows before it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
from playwright.sync_api import Page, expect

from .harness import JupyterLabServer, wait_kernel_idle
from .test_panel import own_folder, run_cell_containing, status
from .test_sidebar import open_sidebar
from .test_sidebar import row as sidebar_row

SUBDIR = "panel_tests"


def write_notebook(folder: Path, name: str, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / name)


def open_in(page: Page, lab: JupyterLabServer, path: str, workspace: str) -> None:
    page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/{path}"))
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)


LIVE_CELLS = [
    "import time\nimport kitaru_nb as kitaru",
    """\
@kitaru.checkpoint
def slow_step(i: int) -> int:
    time.sleep(0.3)
    return i

@kitaru.flow
def slow_twenty() -> int:
    return sum(slow_step(i) for i in range(20))

h = slow_twenty.run()
print("done:", h.get())""",
]


def test_live_progress_mid_run(lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path) -> None:
    folder = own_folder(lab_root, "live_progress.ipynb")
    write_notebook(folder, "live_progress.ipynb", LIVE_CELLS)
    open_in(page, lab, f"{SUBDIR}/live_progress/live_progress.ipynb", "live_progress")
    run_cell_containing(page, "import time")
    wait_kernel_idle(page)
    run_cell_containing(page, "h = slow_twenty.run()")  # a 6-second cell; its panel shows at once
    panel = page.locator(".kitaru-panel", has_text="slow_twenty").first
    expect(status(panel)).to_have_text("running", timeout=15_000)
    live = panel.locator(".kitaru-live")
    counts: list[int] = []
    shots = 0
    deadline = time.monotonic() + 20
    while shots < 2 and time.monotonic() < deadline:
        m = re.match(r"(\d+)/", live.inner_text())
        if m and status(panel).inner_text() == "running" and int(m.group(1)) > 0:
            n = int(m.group(1))
            if not counts or n > counts[-1]:
                counts.append(n)
                panel.screenshot(path=str(artifacts / f"panel_live_progress_{shots + 1}.png"))
                shots += 1
        time.sleep(0.4)
    assert shots == 2 and counts[0] < counts[1] < 20, counts  # two different counts, both mid-run
    expect(status(panel)).to_have_text("completed", timeout=30_000)
    expect(page.locator(".jp-OutputArea-output", has_text="done: 190")).to_be_visible()
    expect(panel.locator(".kitaru-header")).to_contain_text("20/20 done")


HIDDEN_CELLS = [
    "import kitaru_nb as kitaru\nkitaru.configure(auto_display=False)",
    """\
@kitaru.flow
def quiet_review() -> str:
    ok = kitaru.wait(schema=bool, name="ok", question="Ship it?")
    return "shipped" if ok else "held"

h = quiet_review.run()
print("started", h.exec_id)""",
    "print('now', h.status, h.get())",
]


def test_a_sidebar_answer_resumes_a_flow_whose_handle_was_never_displayed(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    write_notebook(lab_root, "never_displayed.ipynb", HIDDEN_CELLS)  # the root: the journal the server reads
    open_in(page, lab, "never_displayed.ipynb", "never_displayed")
    run_cell_containing(page, "auto_display=False")
    wait_kernel_idle(page)
    run_cell_containing(page, "h = quiet_review.run()")
    expect(page.locator(".jp-OutputArea-output", has_text="started")).to_be_visible(timeout=30_000)
    wait_kernel_idle(page)
    expect(page.locator(".kitaru-panel")).to_have_count(0)  # nothing displayed anywhere

    listed = lab.api("GET", "/kitaru-nb/api/executions?flow=quiet_review&status=waiting")
    (item,) = listed["executions"]
    detail = lab.api("GET", f"/kitaru-nb/api/executions/{item['exec_id']}")
    assert "runs in" in detail["owner_hint"] and detail["owner_alive"] is True
    # answer it in the Executions sidebar
    sidebar = open_sidebar(page)
    sidebar_row(sidebar, item["exec_id"]).locator("button").click()
    shown = sidebar.locator(f".kitaru-nb-detail[data-exec-id='{item['exec_id']}']")
    form = shown.locator(".kitaru-nb-wait[data-wait='ok']")
    expect(form.locator(".kitaru-nb-question")).to_have_text("Ship it?")
    form.locator("input[type='checkbox']").check()
    form.locator("button[type='submit']").click()

    deadline = time.monotonic() + 15
    while lab.api("GET", f"/kitaru-nb/api/executions/{item['exec_id']}")["status"] != "completed":
        assert time.monotonic() < deadline, "the idle kernel did not carry out the answer"
        time.sleep(0.2)
    done = lab.api("GET", f"/kitaru-nb/api/executions/{item['exec_id']}")
    (row,) = [r for r in done["timeline"] if r["kind"] == "wait"]
    assert row["answered_by"] == "sidebar"
    run_cell_containing(page, "print('now'")
    expect(page.locator(".jp-OutputArea-output", has_text="now completed shipped")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(artifacts / "never_displayed_completed.png"))


REPLAY_CELLS = [
    "import kitaru_nb as kitaru\nruns = {'load': 0, 'train': 0, 'score': 0}",
    """\
@kitaru.checkpoint
def load() -> list[int]:
    runs["load"] += 1
    return [1, 2, 3]

@kitaru.checkpoint
def train(xs: list[int]) -> int:
    runs["train"] += 1
    return sum(xs)

@kitaru.checkpoint
def score(w: int) -> str:
    runs["score"] += 1
    return f"score {w * 10}"

@kitaru.flow
def pipeline() -> str:
    return score(train(load()))

h = pipeline.run()""",
    "print('runs', runs)",
]


def test_replay_from_here_on_a_row(lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path) -> None:
    folder = own_folder(lab_root, "replay_row.ipynb")
    write_notebook(folder, "replay_row.ipynb", REPLAY_CELLS)
    open_in(page, lab, f"{SUBDIR}/replay_row/replay_row.ipynb", "replay_row")
    run_cell_containing(page, "runs = {")
    wait_kernel_idle(page)
    run_cell_containing(page, "h = pipeline.run()")
    panel = page.locator(".kitaru-panel", has_text="pipeline").first
    expect(status(panel)).to_have_text("completed", timeout=30_000)
    wait_kernel_idle(page)
    rows = panel.locator(".kitaru-rows > .kitaru-row-box")
    expect(rows).to_have_count(3)
    rows.nth(1).locator("button", has_text="Replay from here").click()  # train
    card = panel.locator(".kitaru-card-replay")
    expect(card).to_contain_text("Replay from checkpoint train")
    panel.screenshot(path=str(artifacts / "panel_replay_card.png"))
    card.locator("button", has_text="Replay").first.click()

    replayed = panel.locator(".kitaru-output .kitaru-panel")
    expect(status(replayed)).to_have_text("completed", timeout=30_000)
    expect(replayed.locator(".kitaru-header")).to_contain_text("replay of")
    new_rows = replayed.locator(".kitaru-rows > .kitaru-row-box")
    expect(new_rows).to_have_count(3)
    expect(new_rows.nth(0).locator(".kitaru-row-status")).to_have_text("reused")
    expect(new_rows.nth(1).locator(".kitaru-row-status")).to_have_text("completed")
    replayed.screenshot(path=str(artifacts / "panel_replayed.png"))
    wait_kernel_idle(page)
    run_cell_containing(page, "print('runs', runs)")
    # load was reused: it ran once in all; train and score ran again
    expect(page.locator(".jp-OutputArea-output", has_text="runs {'load': 1, 'train': 2, 'score': 2}")).to_be_visible()
