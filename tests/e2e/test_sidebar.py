"""The Executions sidebar in a real JupyterLab + Chromium: it lists what a notebook ran, shows a
failure's traceback as text, and answers a pending wait through the server extension."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import Page, expect

from .conftest import copy_notebook
from .harness import JupyterLabServer, run_all_cells, wait_kernel_idle

PANEL = "#kitaru-nb-executions"
TAB = ".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='kitaru-nb-executions']"
XSS = "<img src=x onerror=alert(1)>"

SETUP = """\
import kitaru_nb as kitaru
from pydantic import BaseModel, Field

class Approval(BaseModel):
    approved: bool
    reviewer: str = Field(min_length=2, description="who signs off")
"""

FLOWS = """\
calls = {"n": 0}

@kitaru.checkpoint(retries=1)
def {p}load(n: int) -> list[int]:
    calls["n"] += 1
    if calls["n"] == 1:
        raise ConnectionError("flaky source")
    return list(range(n))

@kitaru.flow
def {p}summed(n: int) -> int:
    return sum({p}load(n))

@kitaru.checkpoint
def {p}explode() -> None:
    raise ValueError("bad row <img src=x onerror=alert(1)>")

@kitaru.flow
def {p}broken() -> None:
    {p}explode()

@kitaru.flow
def {p}review(n: int) -> int:
    answer = kitaru.wait(schema=Approval, name="approve", question=f"Publish total {{n}}?")
    return n if answer.approved else -1
"""

RUN = """\
ids = [{p}summed.run(4).exec_id, {p}broken.run().exec_id, {p}review.run(7).exec_id]
print("ran {p}", ids)
"""


def write_notebook(root: Path, name: str, prefix: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(FLOWS.replace("{p}", prefix).replace("{{n}}", "{n}")),
        nbformat.v4.new_code_cell(RUN.replace("{p}", prefix)),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / name)
    return name


def executions(lab: JupyterLabServer, **query: str) -> list[dict[str, Any]]:
    qs = urllib.parse.urlencode(query)
    data = lab.api("GET", f"/kitaru-nb/api/executions?{qs}")
    return data["executions"]  # type: ignore[no-any-return]


def run_all_in_own_workspace(page: Page, lab: JupyterLabServer, name: str, workspace: str, done_text: str) -> None:
    """Open ``name`` in a workspace of its own (only this notebook open, so Run All runs this one), Run All."""
    page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/{name}"))
    expect(page.locator(".jp-NotebookPanel")).to_have_count(1, timeout=60_000)
    wait_kernel_idle(page)
    run_all_cells(page)
    current = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(current.locator(".jp-OutputArea-output", has_text=done_text).first).to_be_visible(timeout=90_000)
    wait_kernel_idle(page)


def run_notebook_flows(page: Page, lab: JupyterLabServer, lab_root: Path, prefix: str) -> dict[str, str]:
    """Run All in the browser; returns {flow name: exec_id} as the server sees them."""
    name = write_notebook(lab_root, f"{prefix}flows.ipynb", prefix)
    run_all_in_own_workspace(page, lab, name, prefix.strip("_"), f"ran {prefix} [")
    ids = {}
    for flow in ("summed", "broken", "review"):
        (row,) = executions(lab, flow=prefix + flow)
        ids[flow] = row["exec_id"]
    return ids


def open_sidebar(page: Page) -> Any:
    tab = page.locator(TAB)
    expect(tab).to_be_visible(timeout=60_000)
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    return panel


def row(panel: Any, exec_id: str) -> Any:
    return panel.locator(f"li.kitaru-nb-row[data-exec-id='{exec_id}']")


def field_errors(field: Any) -> Any:
    """The inline error area of the form group that holds ``field``."""
    group = field.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' form-group ')][1]")
    return group.locator(".validationErrors")


def test_sidebar_lists_notebook_executions_and_shows_failures_as_text(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ids = run_notebook_flows(page, lab, lab_root, "sb1_")
    panel = open_sidebar(page)

    # the list: newest first, with status badges
    for flow, status in (("summed", "completed"), ("broken", "failed"), ("review", "waiting")):
        r = row(panel, ids[flow])
        expect(r).to_be_visible()
        expect(r).to_have_attribute("data-status", status)
        expect(r.locator(".kitaru-nb-badge")).to_have_text(status)
        expect(r.locator(".kitaru-nb-flow")).to_have_text("sb1_" + flow)
    order = panel.locator("li.kitaru-nb-row").evaluate_all("rows => rows.map(r => r.dataset.execId)")
    assert order.index(ids["review"]) < order.index(ids["broken"]) < order.index(ids["summed"])
    page.screenshot(path=str(artifacts / "sidebar_list.png"))

    # the status filter
    panel.locator("select.kitaru-nb-status-filter").select_option("failed")
    expect(row(panel, ids["broken"])).to_be_visible()
    expect(row(panel, ids["summed"])).to_have_count(0)
    expect(row(panel, ids["review"])).to_have_count(0)
    expect(panel.locator("li.kitaru-nb-row[data-status='completed']")).to_have_count(0)

    # a failure: message with HTML markup shown as text, traceback shown
    row(panel, ids["broken"]).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{ids['broken']}']")
    expect(detail.locator(".kitaru-nb-title .kitaru-nb-badge")).to_have_text("failed")
    failure = detail.locator(".kitaru-nb-failure").first
    expect(failure.locator(".kitaru-nb-failure-type")).to_contain_text("ValueError")
    expect(failure.locator(".kitaru-nb-failure-message")).to_have_text(f"bad row {XSS}")
    expect(failure.locator("pre.kitaru-nb-traceback")).to_contain_text("Traceback (most recent call last)")
    expect(failure.locator("pre.kitaru-nb-traceback")).to_contain_text(f'raise ValueError("bad row {XSS}")')
    expect(detail.locator(".kitaru-nb-checkpoint[data-name='sb1_explode']")).to_have_attribute("data-status", "failed")
    assert page.locator(f"{PANEL} img").count() == 0
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []
    page.screenshot(path=str(artifacts / "sidebar_failure_traceback.png"))

    # back to the list; a retried checkpoint shows both attempts, the first with its error
    detail.locator("button.kitaru-nb-back").click()
    panel.locator("select.kitaru-nb-status-filter").select_option("")
    row(panel, ids["summed"]).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{ids['summed']}']")
    load = detail.locator(".kitaru-nb-checkpoint[data-name='sb1_load']")
    expect(load.locator(".kitaru-nb-attempt")).to_have_count(2)
    expect(load.locator(".kitaru-nb-attempt[data-number='1']")).to_have_attribute("data-status", "failed")
    expect(load.locator(".kitaru-nb-attempt[data-number='1'] .kitaru-nb-failure-message")).to_have_text("flaky source")
    expect(load.locator(".kitaru-nb-attempt[data-number='2']")).to_have_attribute("data-status", "completed")
    page.screenshot(path=str(artifacts / "sidebar_attempts.png"))


def test_sidebar_answers_a_pending_wait_with_inline_errors_from_the_server(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    ids = run_notebook_flows(page, lab, lab_root, "sb2_")
    exec_id = ids["review"]
    panel = open_sidebar(page)
    row(panel, exec_id).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{exec_id}']")
    form = detail.locator(".kitaru-nb-wait[data-wait='approve']")
    expect(form.locator(".kitaru-nb-question")).to_have_text("Publish total 7?")
    reviewer = form.locator("input[id$='_reviewer']")
    approved = form.locator("input[type='checkbox'][id$='_approved']")
    expect(reviewer).to_be_visible()

    # invalid: the server says why, under the field; nothing is recorded
    reviewer.fill("x")
    form.locator("button[type='submit']").click()
    expect(form.locator(".kitaru-nb-form-message")).to_contain_text("does not fit")
    # pydantic's words, as the panel shows them
    expect(field_errors(reviewer)).to_have_text("String should have at least 2 characters")
    # an unchecked box is an answer (False), as in the panel: no "Field required"
    expect(field_errors(approved)).to_have_text("")
    page.screenshot(path=str(artifacts / "sidebar_wait_invalid.png"))
    after_bad = lab.api("GET", f"/kitaru-nb/api/executions/{exec_id}")
    assert [w["name"] for w in after_bad["pending_waits"]] == ["approve"]
    assert after_bad["status"] == "waiting"

    # valid: recorded, the form goes away, the sidebar says so
    reviewer.fill("ada")
    approved.check()
    form.locator("button[type='submit']").click()
    expect(detail.locator(".kitaru-nb-notice")).to_contain_text("Answer to approve recorded")
    expect(detail.locator(".kitaru-nb-wait")).to_have_count(0)
    page.screenshot(path=str(artifacts / "sidebar_wait_answered.png"))
    after_good = lab.api("GET", f"/kitaru-nb/api/executions/{exec_id}")
    assert after_good["pending_waits"] == []
    print(json.dumps({"status_after_answer": after_good["status"]}))


WORKFLOW = """\
from kitaru_nb.workflow import Workflow
from kitaru_nb.workflow.step import Step
wf = Workflow("sb3_publish", steps=[
    Step("draft", lambda si: "text"),
    Step("publish", lambda si: "done", requires_confirmation=True, confirmation_message="Publish <b>now</b>?"),
])
print(wf.run("x").run_id)
"""


def test_sidebar_confirms_a_step_workflow_confirmation(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    # another process (like a second kernel) runs a step workflow in the Jupyter root's journal
    out = subprocess.run(
        [sys.executable, "-c", WORKFLOW], cwd=lab_root, capture_output=True, text=True, check=True, timeout=120
    )
    run_id = out.stdout.strip().splitlines()[-1]
    page.goto(lab.url("/lab/workspaces/sb3"))
    panel = open_sidebar(page)
    row(panel, run_id).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{run_id}']")
    wait = detail.locator(".kitaru-nb-wait[data-wait='confirm:publish']")
    expect(wait.locator(".kitaru-nb-question")).to_have_text("Publish <b>now</b>?")
    assert panel.locator("b").count() == 0
    page.screenshot(path=str(artifacts / "sidebar_confirmation.png"))
    wait.get_by_role("button", name="Confirm").click()
    expect(detail.locator(".kitaru-nb-notice")).to_contain_text("Answer to confirm:publish recorded")
    expect(detail.locator(".kitaru-nb-wait")).to_have_count(0)
    assert lab.api("GET", f"/kitaru-nb/api/executions/{run_id}")["pending_waits"] == []


def test_sidebar_answers_the_demo_wait_form_notebook(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    """notebooks/03_wait_form.ipynb leaves one budget request waiting: a nested pydantic model."""
    before = {e["exec_id"] for e in executions(lab, flow="budget_request", limit="500")}
    name = copy_notebook("03_wait_form.ipynb", lab_root, "sb4_wait_form.ipynb")
    run_all_in_own_workspace(page, lab, name, "sb4", "result:")
    new = [e for e in executions(lab, flow="budget_request") if e["exec_id"] not in before]
    assert sorted(e["status"] for e in new) == ["completed", "completed", "waiting"], new
    (exec_id,) = [e["exec_id"] for e in new if e["status"] == "waiting"]

    panel = open_sidebar(page)
    panel.locator("input.kitaru-nb-flow-filter").fill("budget_request")
    panel.locator("input.kitaru-nb-flow-filter").press("Enter")
    for e in new:
        expect(row(panel, e["exec_id"])).to_have_attribute("data-status", e["status"])
    expect(panel.locator("li.kitaru-nb-row").filter(has_not_text="budget_request")).to_have_count(0)
    row(panel, exec_id).locator("button").click()
    form = panel.locator(f".kitaru-nb-detail[data-exec-id='{exec_id}'] .kitaru-nb-wait[data-wait='budget']")
    expect(form.locator(".kitaru-nb-question")).to_have_text("What budget should data team get?")
    amount = form.locator("input[id$='_amount']")
    name_field = form.locator("input[id$='_contact_name']")
    email = form.locator("input[id$='_contact_email']")
    expect(name_field).to_be_visible()

    # invalid: errors land under the nested fields they belong to
    amount.fill("0")
    name_field.fill("A")
    email.fill("not-an-email")
    form.locator("button[type='submit']").click()
    expect(form.locator(".kitaru-nb-form-message")).to_contain_text("does not fit")
    expect(field_errors(amount)).not_to_be_empty()
    expect(field_errors(name_field)).to_contain_text("String should have at least 2 characters")
    expect(field_errors(email)).to_contain_text("String should match pattern")
    page.screenshot(path=str(artifacts / "sidebar_demo_form_invalid.png"))
    assert executions(lab, flow="budget_request", status="waiting")[0]["exec_id"] == exec_id

    amount.fill("2500")
    name_field.fill("Ana")
    email.fill("ana@example.com")
    form.locator("button[type='submit']").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{exec_id}']")
    expect(detail.locator(".kitaru-nb-notice")).to_contain_text("Answer to budget recorded")
    page.screenshot(path=str(artifacts / "sidebar_demo_form_answered.png"))
    assert lab.api("GET", f"/kitaru-nb/api/executions/{exec_id}")["pending_waits"] == []

    # the notebook's panel picks the answer up once its kernel is idle and resumes the flow there
    notebook_panel = (
        page.locator(".jp-NotebookPanel .kitaru-panel")
        .filter(has=page.locator(".kitaru-short-id", has_text=exec_id[:8]))
        .first
    )
    expect(notebook_panel.locator(".kitaru-header .kitaru-status")).to_have_text("completed", timeout=30_000)
    expect(notebook_panel.locator(".kitaru-result-box")).to_contain_text("2500")
    assert lab.api("GET", f"/kitaru-nb/api/executions/{exec_id}")["status"] == "completed"
    # the page, not the panel element: the live panel may replace its widgets as it settles
    page.screenshot(path=str(artifacts / "panel_completed_after_sidebar_answer.png"))


DECISION_NB = """\
import kitaru_nb as kitaru

tries = {"n": 0}

@kitaru.checkpoint(on_error="pause")
def sb5_fetch() -> str:
    tries["n"] += 1
    if tries["n"] == 1:
        raise ConnectionError("warehouse offline <b>now</b>")
    return "rows"

@kitaru.flow
def sb5_report() -> str:
    return "report of " + sb5_fetch()

handle = sb5_report.run()
display(handle)
print("started", handle.exec_id)
"""


def test_sidebar_retry_of_a_paused_checkpoint_resumes_the_flow_in_the_kernel(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(DECISION_NB)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab_root / "sb5_decision.ipynb")
    run_all_in_own_workspace(page, lab, "sb5_decision.ipynb", "sb5", "started ")
    (entry,) = executions(lab, flow="sb5_report")
    exec_id = entry["exec_id"]
    assert entry["status"] == "waiting"

    panel = open_sidebar(page)
    row(panel, exec_id).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{exec_id}']")
    decision = detail.locator(".kitaru-nb-decision[data-checkpoint='sb5_fetch']")
    expect(decision).to_be_visible()
    expect(detail.locator(".kitaru-nb-failure-message").first).to_have_text("warehouse offline <b>now</b>")
    page.screenshot(path=str(artifacts / "sidebar_paused_checkpoint.png"))
    decision.get_by_role("button", name="Retry").click()
    expect(detail.locator(".kitaru-nb-notice")).to_contain_text("Retry of sb5_fetch recorded")

    # the notebook's panel (idle kernel) carries the decision out: the checkpoint runs again there
    notebook_panel = (
        page.locator(".jp-NotebookPanel .kitaru-panel")
        .filter(has=page.locator(".kitaru-short-id", has_text=exec_id[:8]))
        .first
    )
    expect(notebook_panel.locator(".kitaru-header .kitaru-status")).to_have_text("completed", timeout=30_000)
    expect(notebook_panel.locator(".kitaru-result-box")).to_contain_text("report of rows")
    after = lab.api("GET", f"/kitaru-nb/api/executions/{exec_id}")
    assert after["status"] == "completed"
    assert [a["status"] for a in after["checkpoints"][0]["attempts"]] == ["failed", "completed"]
    expect(detail.locator(".kitaru-nb-decision")).to_have_count(0, timeout=10_000)
    page.screenshot(path=str(artifacts / "sidebar_retry_carried_out.png"))
