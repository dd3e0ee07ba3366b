"""Every demo notebook runs top to bottom in a real kernel (nbclient), in a temp copy.

Besides "no cell raised", each test checks what the notebook promises: printed results,
and the panels' widget state as nbclient recorded it after the last cell.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

pytestmark = pytest.mark.notebook


class Ran:
    def __init__(self, nb: Any, workdir: Path, seconds: float):
        self.nb, self.workdir, self.seconds = nb, workdir, seconds
        self.state: dict[str, Any] = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})

    def text(self, index: int | None = None) -> str:
        cells = [c for c in self.nb.cells if c.cell_type == "code"]
        chosen = cells if index is None else [cells[index]]
        return "".join(o.get("text", "") for c in chosen for o in c.outputs if o.output_type == "stream")

    def panels(self) -> list[str]:
        """Header HTML of every execution panel, in display order."""
        out = []
        for cell in self.nb.cells:
            for o in cell.get("outputs", []):
                view = o.get("data", {}).get(WIDGET_VIEW)
                if view and "kitaru-panel" in self.state[view["model_id"]]["state"].get("_dom_classes", []):
                    out.append(self.child_value(view["model_id"], "kitaru-header"))
        return out

    def child_value(self, model_id: str, css: str) -> str:
        for ref in self.state[model_id]["state"].get("children", []):
            child = self.state[ref.removeprefix("IPY_MODEL_")]["state"]
            if css in child.get("_dom_classes", []):
                return str(child.get("value", ""))
        raise AssertionError(f"no child {css} in {model_id}")

    def static_html(self) -> list[str]:
        return [
            o["data"]["text/html"]
            for c in self.nb.cells
            for o in c.get("outputs", [])
            if "text/html" in o.get("data", {})
        ]


def run_notebook(name: str, tmp_path: Path) -> Ran:
    workdir = tmp_path / "nb"
    workdir.mkdir()
    shutil.copy(NOTEBOOKS / name, workdir / name)
    nb = nbformat.read(workdir / name, as_version=4)
    t0 = time.monotonic()
    NotebookClient(
        nb, kernel_name="python3", timeout=120, startup_timeout=60, resources={"metadata": {"path": str(workdir)}}
    ).execute()
    ran = Ran(nb, workdir, time.monotonic() - t0)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    assert (workdir / "kitaru.db").exists(), "the notebook uses the default journal in its folder"
    assert not (NOTEBOOKS / "kitaru.db").exists(), "the repo's notebooks folder must stay clean"
    return ran


def test_01_quickstart(tmp_path: Path) -> None:
    ran = run_notebook("01_quickstart.ipynb", tmp_path)
    assert "completed -> 2024-06-01: 5 orders, 150 EUR" in ran.text()
    assert "sum of squares: 1113775" in ran.text()
    headers = ran.panels()
    # every run shows its panel in its own cell, with no display call; displaying the handle as the
    # cell's last line updated that panel instead of adding a second one
    assert len(headers) == 2, headers
    assert "daily_report" in headers[0] and "kitaru-status-completed" in headers[0]
    assert "crunch_all" in headers[1] and "kitaru-status-completed" in headers[1] and "150/150" in headers[1]
    code = [c for c in ran.nb.cells if c.cell_type == "code"]
    # `handle` as the last line: the run's panel comes first (before the flow's prints), nothing after
    assert [o.output_type for o in code[2].outputs] == ["display_data", "stream"]
    # without a widget front end the saved output is the static summary, brought up to date at the end
    assert "kitaru-status-completed" in code[2].outputs[0]["data"]["text/html"]
    assert any("kitaru-overview" in h and "crunch_all" in h for h in ran.static_html())


def test_02_retry_and_skip(tmp_path: Path) -> None:
    ran = run_notebook("02_retry_and_skip.ipynb", tmp_path)
    text = ran.text()
    assert "waiting waiting ['enrich']" in text
    assert "completed 28.31" in text
    assert "completed 23.59 [2]" in text  # the failed checkpoint got a second attempt
    headers = ran.panels()
    # the first panel is left for a human: paused on error, with its Retry/Skip card
    assert "price_report" in headers[0] and "kitaru-status-waiting" in headers[0]
    # the failed execution's panel (shown by its run) turned completed when a later cell retried it
    split = [h for h in headers if "split_bill" in h]
    assert split and all("kitaru-status-completed" in h for h in split)


def test_03_wait_form(tmp_path: Path) -> None:
    ran = run_notebook("03_wait_form.ipynb", tmp_path)
    text = ran.text()
    assert "amount -> Input should be a valid integer" in text
    assert "still waiting" in text
    assert "completed -> plan for platform team: 2500 EUR" in text
    assert "result: plan for design team: 900 EUR" in text  # await handle
    headers = ran.panels()
    assert "kitaru-status-waiting" in headers[0]  # left for a human to fill in
    assert "kitaru-status-completed" in headers[-1]  # the awaited one updated live


def test_04_replay_after_restart(tmp_path: Path) -> None:
    ran = run_notebook("04_replay_after_restart.ipynb", tmp_path)
    text = ran.text()
    assert "load_data ran again: 0 time(s); train ran: 1" in text
    assert "weight=2.475 (good)" in text
    assert "weight=3.0 (good)" in text
    assert any("replay of" in h for h in ran.panels())
    assert any("kitaru-row-reused" in h for h in ran.static_html())


def test_05_step_workflows(tmp_path: Path) -> None:
    ran = run_notebook("05_step_workflows.ipynb", tmp_path)
    text = ran.text()
    assert "COMPLETED -> published '3 regions, 245 units'" in text
    headers = ran.panels()
    assert "sales_report" in headers[0] and "kitaru-status-waiting" in headers[0]
    assert "kitaru-status-completed" in headers[-1]
