"""Big executions and deleting, in a real JupyterLab + Chromium: the detail of a 600-checkpoint
execution shows its last rows and "Show older rows" reads the rest page by page; Delete (confirmed)
removes a finished execution, and running or waiting ones do not offer it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Page, expect

import kitaru_nb as kitaru

from .harness import JupyterLabServer
from .test_sidebar import open_sidebar, row


def test_a_big_execution_shows_its_last_rows_and_older_ones_on_demand(
    lab: JupyterLabServer, journal: Path, page: Page, artifacts: Path
) -> None:
    @kitaru.checkpoint
    def sp_row(i: int) -> int:
        return i

    @kitaru.flow
    def sp_big() -> int:
        return sum(sp_row(i) for i in range(600))

    exec_id = sp_big.run().exec_id
    page.goto(lab.url("/lab/workspaces/sp-big"))
    panel = open_sidebar(page)
    row(panel, exec_id).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{exec_id}']")
    rows = detail.locator(".kitaru-nb-timeline-row")

    expect(detail.locator(".kitaru-nb-progress")).to_contain_text("600/600")
    expect(rows).to_have_count(200)
    expect(rows.first).to_have_attribute("data-index", "400")
    expect(rows.last).to_have_attribute("data-index", "599")
    expect(detail.locator(".kitaru-nb-rows-shown")).to_have_text("200 of 600 rows shown")
    # Replay from here needs the rows before it (its name#k counts them): not offered yet
    expect(detail.locator(".kitaru-nb-replay-open")).to_have_count(0)
    page.screenshot(path=str(artifacts / "sidebar_big_execution.png"))

    more = detail.locator(".kitaru-nb-show-older")
    more.click()
    expect(rows).to_have_count(400)
    expect(rows.first).to_have_attribute("data-index", "200")
    expect(detail.locator(".kitaru-nb-rows-shown")).to_have_text("400 of 600 rows shown")
    more.click()
    expect(rows).to_have_count(600)
    expect(detail.locator(".kitaru-nb-older")).to_have_count(0)
    shown = [int(i) for i in rows.evaluate_all("els => els.map(e => e.dataset.index)")]
    assert shown == list(range(600))
    expect(detail.locator(".kitaru-nb-replay-open")).to_have_count(600)

    # a change in the journal refreshes the detail: it reads the default page again (not the 600
    # rows), and the rows read stay
    detail_url = f"/kitaru-nb/api/executions/{exec_id}"
    with page.expect_request(lambda r: urlparse(r.url).path.endswith(detail_url)) as refresh:
        sp_big.run()
    assert "before" not in refresh.value.url and "after" not in refresh.value.url
    page.wait_for_timeout(500)
    expect(rows).to_have_count(600)
    expect(detail.locator(".kitaru-nb-older")).to_have_count(0)


def test_delete_a_finished_execution_from_the_sidebar(
    lab: JupyterLabServer, journal: Path, page: Page, artifacts: Path
) -> None:
    @kitaru.checkpoint
    def sd_step() -> int:
        return 1

    @kitaru.flow
    def sd_done() -> int:
        return sd_step()

    @kitaru.flow
    def sd_waiting() -> bool:
        return bool(kitaru.wait(schema=bool, name="go", question="Go on?"))

    done = sd_done.run().exec_id
    kept = sd_done.run().exec_id
    waiting = sd_waiting.run().exec_id
    page.goto(lab.url("/lab/workspaces/sp-delete"))
    panel = open_sidebar(page)

    # a waiting execution does not offer Delete
    row(panel, waiting).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{waiting}']")
    expect(detail.locator(".kitaru-nb-title")).to_contain_text("sd_waiting")
    expect(detail.locator(".kitaru-nb-delete-open")).to_have_count(0)
    detail.locator(".kitaru-nb-back").click()

    row(panel, done).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{done}']")
    detail.locator(".kitaru-nb-delete-open").click()
    confirm = detail.locator(".kitaru-nb-delete-confirm")
    expect(confirm).to_contain_text(f"Delete sd_done {done[:8]}")
    # Cancel keeps it
    confirm.locator(".kitaru-nb-delete-no").click()
    expect(confirm).to_have_count(0)
    assert done in [e.exec_id for e in kitaru.KitaruClient(db=journal).executions.list()]

    detail.locator(".kitaru-nb-delete-open").click()
    page.screenshot(path=str(artifacts / "sidebar_delete_confirm.png"))
    detail.locator(".kitaru-nb-delete-confirm .kitaru-nb-delete-yes").click()

    # back in the list, which no longer shows it
    expect(panel.locator(".kitaru-nb-list")).to_be_visible()
    expect(panel.locator(".kitaru-nb-notice")).to_have_text(f"Deleted sd_done {done[:8]}.")
    expect(row(panel, done)).to_have_count(0)
    expect(row(panel, kept)).to_have_count(1)
    expect(row(panel, waiting)).to_have_count(1)
    ids = [e.exec_id for e in kitaru.KitaruClient(db=journal).executions.list()]
    assert done not in ids and kept in ids and waiting in ids
