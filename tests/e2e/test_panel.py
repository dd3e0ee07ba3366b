"""The execution panel in a real JupyterLab + Chromium: error card -> fix -> Retry, the wait form
with inline pydantic errors, and user text shown as text (never HTML)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from playwright.sync_api import Page, expect

from .conftest import copy_notebook
from .harness import JupyterLabServer, run_all_cells, wait_kernel_idle

XSS = "<img src=x onerror=alert(1)>"
SUBDIR = "panel_tests"


def own_folder(lab_root: Path, name: str) -> Path:
    """Each panel test's notebook lives in a folder of its own: its kernel uses that folder's
    kitaru.db, so no other browser test sharing the server sees (or adds to) its executions."""
    folder = lab_root / SUBDIR / Path(name).stem
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_notebook(page: Page, lab: JupyterLabServer, name: str) -> None:
    """Open ``name`` in a workspace of its own, so tabs restored from other tests don't take focus."""
    stem = Path(name).stem
    page.goto(lab.url(f"/lab/workspaces/{stem}/tree/{SUBDIR}/{stem}/{name}"))
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)


def run_cell_containing(page: Page, text: str) -> None:
    """Select the code cell that contains ``text`` and run it with Shift+Enter, as a person would."""
    cell = page.locator(".jp-CodeCell", has_text=text).first
    cell.locator(".jp-InputArea-editor").click()
    # Shift+Enter runs the active cell: wait until the click made this one active (just after a
    # notebook opens, JupyterLab may still be settling which cell is)
    expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"), timeout=10_000)
    page.keyboard.press("Shift+Enter")


def status(panel: object) -> object:
    return panel.locator(".kitaru-header .kitaru-status")  # type: ignore[attr-defined]


def test_error_card_fix_the_cell_then_retry(lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path) -> None:
    name = copy_notebook("02_retry_and_skip.ipynb", own_folder(lab_root, "panel_retry.ipynb"), "panel_retry.ipynb")
    open_notebook(page, lab, name)
    run_all_cells(page)
    panel = page.locator(".kitaru-panel").first
    card = panel.locator(".kitaru-card-error")
    expect(card).to_be_visible(timeout=60_000)
    expect(card).to_contain_text("parse_prices")
    expect(card.locator(".kitaru-card-failure")).to_contain_text("could not convert string to float: '7,99'")
    expect(status(panel)).to_have_text("waiting")
    # Run All finishes (the later cells continue other executions, not this one)
    expect(page.locator(".jp-OutputArea-output", has_text="completed 23.59 [2]")).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)
    expect(status(panel)).to_have_text("waiting")
    panel.screenshot(path=str(artifacts / "panel_error_card.png"))

    run_cell_containing(page, 'p.replace(",", ".")')  # the cell that fixes the checkpoint
    wait_kernel_idle(page)
    panel.locator("button", has_text="Retry").click()
    expect(status(panel)).to_have_text("completed", timeout=30_000)
    expect(card).to_have_count(0)
    expect(panel.locator(".kitaru-output")).to_contain_text("parsed [12.5, 7.99, 3.1]")
    expect(panel.locator(".kitaru-result-box")).to_contain_text("23.59")
    # the attempt history shows the two failed attempts and the successful one
    panel.locator("summary", has_text="attempt history (3)").click()
    expect(panel.locator(".kitaru-attempt")).to_have_count(3)
    panel.screenshot(path=str(artifacts / "panel_after_retry.png"))


def test_wait_form_inline_error_then_submit(lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path) -> None:
    name = copy_notebook("03_wait_form.ipynb", own_folder(lab_root, "panel_form.ipynb"), "panel_form.ipynb")
    open_notebook(page, lab, name)
    run_all_cells(page)
    panel = page.locator(".kitaru-panel").first
    form = panel.locator(".kitaru-card-wait")
    expect(form).to_be_visible(timeout=60_000)
    expect(form.locator(".kitaru-question")).to_have_text("What budget should data team get?")
    expect(form.locator(".kitaru-field-amount .kitaru-field-label")).to_have_text("Amount *")
    expect(form.locator(".kitaru-field-amount")).to_contain_text("whole euros, at most 10,000")
    expect(page.locator(".jp-OutputArea-output", has_text="result: plan for design team")).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)

    amount = form.locator(".kitaru-field-amount input")
    amount.fill("lots")
    amount.press("Tab")
    form.locator(".kitaru-field-contact-name input").fill("Ana")
    form.locator(".kitaru-field-contact-email input").fill("ana@example.com")
    form.locator("button", has_text="Submit").click()
    expect(form.locator(".kitaru-error-amount")).to_contain_text("Input should be a valid integer")
    expect(form.locator(".kitaru-error-contact-name")).to_have_text("")
    expect(panel.locator(".kitaru-notice")).to_contain_text("still waiting")
    expect(status(panel)).to_have_text("waiting")
    panel.screenshot(path=str(artifacts / "panel_form_invalid.png"))

    amount.fill("1200")
    amount.press("Tab")
    form.locator("button", has_text="Submit").click()
    expect(status(panel)).to_have_text("completed", timeout=30_000)
    expect(panel.locator(".kitaru-output")).to_contain_text("booking plan for data team with 1200 EUR for Ana")
    expect(panel.locator(".kitaru-result-box")).to_contain_text("plan for data team: 1200 EUR")
    panel.screenshot(path=str(artifacts / "panel_form_completed.png"))


XSS_CELLS = [
    "import kitaru_nb as kitaru",
    f"""\
@kitaru.checkpoint(on_error="pause")
def render_row():
    raise ValueError({XSS!r})

@kitaru.flow
def xss_flow():
    render_row()
    print({XSS!r})

handle = xss_flow.run()
handle""",
]


def test_html_in_user_text_is_shown_as_text(lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in XSS_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, own_folder(lab_root, "panel_xss.ipynb") / "panel_xss.ipynb")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    open_notebook(page, lab, "panel_xss.ipynb")
    run_all_cells(page)
    panel = page.locator(".kitaru-panel").first
    failure = panel.locator(".kitaru-card-failure")
    expect(failure).to_contain_text(f"ValueError: {XSS}", timeout=60_000)
    panel.locator(".kitaru-card-failure summary", has_text="traceback").click()
    expect(panel.locator(".kitaru-card-failure .kitaru-traceback")).to_contain_text(XSS)
    panel.locator(".kitaru-table summary", has_text="attempt history").click()
    expect(panel.locator(".kitaru-table")).to_contain_text(XSS)
    expect(page.locator(".jp-Notebook img")).to_have_count(0)
    # Skip it: the flow prints the same text into the panel's output area, still as text
    panel.locator("button", has_text="Skip").click()
    expect(status(panel)).to_have_text("completed", timeout=30_000)
    expect(panel.locator(".kitaru-output")).to_contain_text(XSS)
    expect(page.locator(".jp-Notebook img")).to_have_count(0)
    panel.screenshot(path=str(artifacts / "panel_xss_as_text.png"))
    assert dialogs == []


REMOTE_CELLS = [
    "import kitaru_nb as kitaru\nfrom pydantic import BaseModel, Field",
    """\
class Go(BaseModel):
    reviewer: str = Field(min_length=2)

@kitaru.flow
def panel_remote_review() -> str:
    answer = kitaru.wait(schema=Go, name="go", question="Who signs off?")
    print("signed off by", answer.reviewer)
    return answer.reviewer

handle = panel_remote_review.run()
handle""",
]


def test_answer_given_through_the_server_resumes_the_flow_in_the_kernel(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    """The sidebar answers through the server (another process, which cannot resume the flow): the
    kernel whose panel shows the execution picks the answer up when idle and finishes the flow."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in REMOTE_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab_root / "panel_remote.ipynb")  # the Jupyter root: the journal the server reads
    page.goto(lab.url("/lab/workspaces/panel_remote/tree/panel_remote.ipynb"))
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)
    run_all_cells(page)
    panel = page.locator(".kitaru-panel").first
    expect(panel.locator(".kitaru-card-wait")).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)

    listed = lab.api("GET", "/kitaru-nb/api/executions?flow=panel_remote_review&status=waiting")
    items = listed["executions"] if isinstance(listed, dict) else listed
    (item,) = items
    lab.api("POST", f"/kitaru-nb/api/executions/{item['exec_id']}/input", {"wait": "go", "value": {"reviewer": "Mo"}})

    expect(status(panel)).to_have_text("completed", timeout=30_000)
    expect(panel.locator(".kitaru-output")).to_contain_text("signed off by Mo")
    expect(panel.locator(".kitaru-card-wait")).to_have_count(0)
    panel.screenshot(path=str(artifacts / "panel_answered_elsewhere.png"))


def test_quickstart_live_panel_and_overview(lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path) -> None:
    name = copy_notebook(
        "01_quickstart.ipynb", own_folder(lab_root, "panel_quickstart.ipynb"), "panel_quickstart.ipynb"
    )
    open_notebook(page, lab, name)
    run_all_cells(page)
    first = page.locator(".kitaru-panel", has_text="daily_report").first
    expect(status(first)).to_have_text("completed", timeout=60_000)
    expect(first.locator(".kitaru-table")).to_contain_text("fetch_orders")
    live = page.locator(".kitaru-panel", has_text="crunch_all").first
    expect(status(live)).to_have_text("completed", timeout=60_000)
    expect(live.locator(".kitaru-header")).to_contain_text("150/150 done")
    first.screenshot(path=str(artifacts / "panel_quickstart.png"))

    overview = page.locator(".kitaru-overview").first
    expect(overview.locator(".kitaru-overview-row")).to_have_count(2)
    wait_kernel_idle(page)
    overview.locator(".kitaru-overview-row", has_text="daily_report").locator("button", has_text="Open").click()
    opened = overview.locator(".kitaru-overview-detail .kitaru-panel")
    expect(status(opened)).to_have_text("completed")
    expect(opened.locator(".kitaru-table")).to_contain_text("total")
    overview.screenshot(path=str(artifacts / "panel_overview.png"))


def test_workflow_run_retry_then_confirm(lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path) -> None:
    name = copy_notebook(
        "05_step_workflows.ipynb", own_folder(lab_root, "panel_workflow.ipynb"), "panel_workflow.ipynb"
    )
    open_notebook(page, lab, name)
    run_all_cells(page)
    panel = page.locator(".kitaru-panel", has_text="sales_report").first
    card = panel.locator(".kitaru-card-error")
    expect(card).to_contain_text("the sales API is down", timeout=60_000)
    expect(page.locator(".jp-OutputArea-output", has_text="workflow completed")).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)  # Run All has set source_up = True by now

    card.locator("button", has_text="Retry").click()
    confirm = panel.locator(".kitaru-card-confirmation")
    expect(confirm).to_contain_text("Publish the sales summary to the team channel?")
    expect(status(panel)).to_have_text("waiting")
    panel.screenshot(path=str(artifacts / "panel_workflow_confirm.png"))
    confirm.locator("button", has_text="Confirm").click()
    expect(status(panel)).to_have_text("completed", timeout=30_000)
    expect(panel.locator(".kitaru-output")).to_contain_text("publishing: 3 regions, 245 units")
    panel.screenshot(path=str(artifacts / "panel_workflow_completed.png"))
