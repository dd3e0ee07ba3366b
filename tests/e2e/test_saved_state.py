"""A saved notebook keeps its execution panel: saved widget state shows it after a reload with a
fresh kernel, and the static summary is in the saved outputs for viewers without widgets."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import copy_notebook
from .harness import JupyterLabServer, run_all_cells, wait_kernel_idle
from .test_panel import open_notebook, own_folder, run_cell_containing, status


def test_saved_notebook_shows_its_panel_after_reload(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    folder = own_folder(lab_root, "saved_state.ipynb")
    name = copy_notebook("01_quickstart.ipynb", folder, "saved_state.ipynb")
    open_notebook(page, lab, name)
    run_all_cells(page)
    panel = page.locator(".kitaru-panel").first
    expect(status(panel)).to_have_text("completed", timeout=60_000)
    expect(page.locator(".jp-OutputArea-output", has_text="daily_report")).not_to_have_count(0)
    wait_kernel_idle(page)
    before = (folder / name).stat().st_mtime
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while (folder / name).stat().st_mtime == before and time.monotonic() < deadline:
        time.sleep(0.2)
    saved = json.loads((folder / name).read_text())

    # viewers without widgets (nbviewer, GitHub, plain renderers): a static, escaped summary
    outputs = [o for c in saved["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    htmls = ["".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})]
    assert any("daily_report" in h for h in htmls)
    # JupyterLab: the widget state is saved with the notebook
    state = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert "completed" in json.dumps(state)

    # reload: a new kernel that never ran the flow, the panel is drawn from the saved state
    lab.api("DELETE", f"/api/sessions/{_session_id(lab, name)}")
    page.reload()
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    restored = page.locator(".kitaru-panel").first
    expect(restored).to_be_visible(timeout=60_000)
    expect(status(restored)).to_have_text("completed")
    expect(page.locator("text=Error displaying widget")).to_have_count(0)
    # not connected to a kernel: it says so in one line, and its buttons do not look live
    expect(restored).to_have_class(re.compile(r"\bjupyter-widgets-disconnected\b"))
    line = restored.locator(".kitaru-disconnected-line")
    expect(line).to_be_visible()
    expect(line).to_have_text("not connected to a kernel: re-run this cell, or kitaru.panel()")
    replay = restored.locator("button", has_text="Replay from here").first
    assert replay.evaluate("b => getComputedStyle(b).pointerEvents") == "none"
    # one line instead of a broken-link icon on every part of the panel
    icons = restored.evaluate(
        "p => [p, ...p.querySelectorAll('.jupyter-widgets-disconnected')]"
        ".filter(e => !['none', 'normal'].includes(getComputedStyle(e, '::before').content)).length"
    )
    assert icons == 0
    restored.screenshot(path=str(artifacts / "panel_saved_state_reloaded.png"))

    # in the new kernel, running the cells again draws a live panel
    for code in ("import kitaru_nb as kitaru", "def daily_report", 'handle = daily_report.run("2024-06-01")'):
        wait_kernel_idle(page)
        run_cell_containing(page, code)
    fresh = page.locator(".kitaru-panel", has_text="daily_report").first
    expect(status(fresh)).to_have_text("completed", timeout=60_000)
    expect(fresh).not_to_have_class(re.compile(r"\bjupyter-widgets-disconnected\b"))
    expect(fresh.locator(".kitaru-disconnected-line")).to_be_hidden()


def _session_id(lab: JupyterLabServer, name: str) -> str:
    sessions = lab.api("GET", "/api/sessions")
    return next(s["id"] for s in sessions if s["path"].endswith(name))
