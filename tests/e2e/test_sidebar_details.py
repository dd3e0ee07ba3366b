"""The sidebar's execution detail in a real JupyterLab + Chromium: what a step logged and saved, and a
Parallel construct shown as a group of its branches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Page, expect

from .harness import JupyterLabServer
from .test_sidebar import PANEL, XSS, open_sidebar, row

WORKFLOW = """\
import kitaru_nb as kitaru
from kitaru_nb.workflow import Parallel, Workflow
from kitaru_nb.workflow.step import Step

XSS = "<img src=x onerror=alert(1)>"

def fetch(step_input):
    kitaru.log(source="web " + XSS, pages=3)
    kitaru.save("notes " + XSS, {"summary": "short " + XSS}, type="context", tags=["draft"])
    return "fetched"

wf = Workflow(name="sbd_research", steps=[
    Step(name="plan", executor=lambda si: "plan"),
    Parallel(Step(name="fetch", executor=fetch), Step(name="read", executor=lambda si: "read"), name="research"),
])
print(wf.run("x").run_id)
"""


def test_sidebar_detail_shows_saved_values_metadata_and_a_parallel_group(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # another process (a second kernel, a script) runs a step workflow in the Jupyter root's journal
    out = subprocess.run(
        [sys.executable, "-c", WORKFLOW], cwd=lab_root, capture_output=True, text=True, check=True, timeout=120
    )
    run_id = out.stdout.strip().splitlines()[-1]
    page.goto(lab.url("/lab/workspaces/sbd"))
    panel = open_sidebar(page)
    row(panel, run_id).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{run_id}']")

    # the Parallel is a group with its summary; its branches are in it, the plain step is not
    group = detail.locator("li.kitaru-nb-group[data-kind='parallel']")
    expect(group.locator(".kitaru-nb-group-summary")).to_have_text("research · parallel · 2/2 done")
    expect(group.locator(".kitaru-nb-checkpoint")).to_have_count(2)
    fetch = group.locator(".kitaru-nb-checkpoint[data-name='research/fetch']")
    expect(fetch.locator(".kitaru-nb-checkpoint-name")).to_have_text("fetch")
    expect(detail.locator(".kitaru-nb-checkpoints > .kitaru-nb-checkpoint[data-name='plan']")).to_have_count(1)

    # what the step logged and saved, as text
    expect(fetch.locator(".kitaru-nb-metadata")).to_have_text(f"source=web {XSS}, pages=3")
    artifact = fetch.locator(".kitaru-nb-artifact")
    expect(artifact).to_have_count(1)  # its output is not listed again
    expect(artifact.locator(".kitaru-nb-artifact-name")).to_have_text(f"notes {XSS}")
    expect(artifact.locator(".kitaru-nb-artifact-type")).to_have_text("context")
    expect(artifact.locator(".kitaru-nb-artifact-preview")).to_have_text(f"{{'summary': 'short {XSS}'}}")
    expect(artifact.locator(".kitaru-nb-tag")).to_have_text(" #draft")
    assert page.locator(f"{PANEL} img").count() == 0
    assert dialogs == []
    page.screenshot(path=str(artifacts / "sidebar_details_group.png"))

    # the group folds
    group.locator(".kitaru-nb-group-summary").click()
    expect(fetch).to_be_hidden()
    group.locator(".kitaru-nb-group-summary").click()
    expect(fetch).to_be_visible()
