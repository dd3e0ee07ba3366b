"""The sidebar as good as the panel, in a real JupyterLab + Chromium: forms that fit the schema
(answered wrong, then right), the flow filter as you type, the waiting badge on the tab, and a
journal change reaching the sidebar by push, without polling."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import Page, expect
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

import kitaru_nb as kitaru

from .harness import JupyterLabServer
from .test_sidebar import TAB, open_sidebar, row, run_all_in_own_workspace

SETTINGS = "/lab/api/settings/kitaru-nb:executions"


class Contact(BaseModel):
    name: str = Field(min_length=2)
    email: str = Field(pattern=r"^\S+@\S+$")


class BudgetRequest(BaseModel):
    max_rows: int | None = None
    approved: bool
    team: str = Field(pattern=r"^[a-z]+$", description="the team that spends it")
    amount: int = Field(ge=1, le=10_000)
    contact: Contact


def put_settings(lab: JupyterLabServer, values: dict[str, Any]) -> None:
    lab.api("PUT", SETTINGS, {"raw": json.dumps(values)})


def waiting_budget(name: str = "budget_request") -> Any:
    @kitaru.flow(name=name)
    def budget_request(n: int) -> int:
        answer = kitaru.wait(schema=BudgetRequest, name="budget", question="What budget should data team get?")
        return answer.amount

    return budget_request


def pydantic_messages(value: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    try:
        TypeAdapter(BudgetRequest).validate_python(value)
    except ValidationError as exc:
        return {tuple(e["loc"]): e["msg"] for e in exc.errors()}
    return {}


def server_errors(lab: JupyterLabServer, exec_id: str, value: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    """What the REST API answers (400) for ``value``, by location."""
    try:
        lab.api("POST", f"/kitaru-nb/api/executions/{exec_id}/input", {"wait": "budget", "value": value})
    except urllib.error.HTTPError as err:
        assert err.code == 400
        body = json.loads(err.read())
        out: dict[tuple[Any, ...], list[str]] = {}
        for e in body["errors"]:
            out.setdefault(tuple(e["loc"]), []).append(e["msg"])
        return {loc: " ".join(msgs) for loc, msgs in out.items()}
    raise AssertionError("the server accepted an invalid answer")


def field(form: Any, name: str) -> Any:
    return form.locator(f".kitaru-nb-field[data-field$='_{name}']").first


def test_a_wait_form_fits_its_schema_and_shows_the_errors_inline_then_records_the_answer(
    lab: JupyterLabServer, journal: Path, page: Page, artifacts: Path
) -> None:
    flow = waiting_budget()
    exec_id = flow.run(1).exec_id
    page.goto(lab.url("/lab/workspaces/sbform"))
    panel = open_sidebar(page)
    row(panel, exec_id).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{exec_id}']")
    form = detail.locator(".kitaru-nb-wait[data-wait='budget']")
    expect(form.locator(".kitaru-nb-question")).to_have_text("What budget should data team get?")

    # an optional int is one input, no "option 1 / option 2" chooser, no stray field name
    max_rows = field(form, "max_rows")
    expect(max_rows.locator("input")).to_have_count(1)
    expect(max_rows.locator("select")).to_have_count(0)
    expect(form.locator("form")).not_to_contain_text("option 1")
    expect(form.locator("form")).not_to_contain_text("max_rows")
    expect(max_rows.locator("label")).to_have_text("Max Rows")
    # required marks: on what must be filled in, not on the optional field
    for name in ("approved", "team", "amount", "name", "email"):
        expect(field(form, name).locator(".kitaru-nb-required")).to_have_count(1)
    expect(max_rows.locator(".kitaru-nb-required")).to_have_count(0)
    # constraints as help before submitting
    expect(field(form, "amount").locator(".kitaru-nb-constraints")).to_have_text("between 1 and 10000")
    expect(field(form, "team").locator(".kitaru-nb-constraints")).to_have_text("only lowercase letters, at least one")
    expect(field(form, "team").locator(".kitaru-nb-description")).to_have_text("the team that spends it")
    expect(field(form, "name").locator(".kitaru-nb-constraints")).to_have_text("at least 2 characters")
    # a JupyterLab button; inputs fit the sidebar
    submit = form.locator("button[type='submit']")
    expect(submit).to_have_class("jp-mod-styled jp-mod-accept kitaru-nb-submit")
    panel_box = panel.bounding_box()
    for inp in form.locator("input:not([type='checkbox'])").all():
        box = inp.bounding_box()
        assert box is not None and panel_box is not None
        assert box["x"] + box["width"] <= panel_box["x"] + panel_box["width"] + 0.5
    page.screenshot(path=str(artifacts / "sidebar_form_fits_schema.png"))

    # wrong: every error under its field, in the server's wording (pydantic's), no browser tooltip
    field(form, "max_rows").locator("input").fill("abc")
    field(form, "team").locator("input").fill("Bob!")
    field(form, "amount").locator("input").fill("0")
    field(form, "name").locator("input").fill("A")
    field(form, "email").locator("input").fill("ana@example.com")
    submit.click()
    expect(form.locator(".kitaru-nb-form-message")).to_contain_text("nothing was recorded")
    sent = {
        "max_rows": "abc",
        "approved": False,
        "team": "Bob!",
        "amount": 0,
        "contact": {"name": "A", "email": "ana@example.com"},
    }
    server = server_errors(lab, exec_id, sent)
    places = {("max_rows",): "max_rows", ("team",): "team", ("amount",): "amount", ("contact", "name"): "name"}
    # the server judges as pydantic does (the panel's words); each error is shown under its field
    assert server == pydantic_messages(sent)
    assert set(server) == set(places)
    for loc, name in places.items():
        expect(field(form, name).locator(".kitaru-nb-field-error")).to_have_text(server[loc])
    expect(field(form, "approved").locator(".kitaru-nb-field-error")).to_have_count(0)
    expect(field(form, "email").locator(".kitaru-nb-field-error")).to_have_count(0)
    page.screenshot(path=str(artifacts / "sidebar_form_errors_inline.png"))
    assert lab.api("GET", f"/kitaru-nb/api/executions/{exec_id}")["pending_waits"][0]["name"] == "budget"

    # right: the bool left unchecked means False, the empty optional int means None
    field(form, "max_rows").locator("input").fill("")
    field(form, "team").locator("input").fill("data")
    field(form, "amount").locator("input").fill("2500")
    field(form, "name").locator("input").fill("Ana")
    submit.click()
    expect(detail.locator(".kitaru-nb-notice")).to_contain_text("Answer to budget recorded")
    expect(detail.locator(".kitaru-nb-wait")).to_have_count(0)
    after = lab.api("GET", f"/kitaru-nb/api/executions/{exec_id}")
    assert after["pending_waits"] == []
    (wait,) = after["waits"]
    assert "'approved': False" in wait["answer_preview"] and "'max_rows': None" in wait["answer_preview"]
    assert wait["answered_by"] == "sidebar"
    human = detail.locator(".kitaru-nb-human[data-name='budget']")
    expect(human.locator(".kitaru-nb-answered-by")).to_contain_text("sidebar")
    page.screenshot(path=str(artifacts / "sidebar_form_answered.png"))


def list_requests(page: Page) -> list[tuple[float, str]]:
    seen: list[tuple[float, str]] = []
    page.on(
        "request",
        lambda r: seen.append((time.time(), urllib.parse.urlparse(r.url).path)) if "/kitaru-nb/api/" in r.url else None,
    )
    return seen


def test_the_flow_filter_finds_budget_request_as_you_type_and_the_status_filter_tells_what_waits(
    lab: JupyterLabServer, journal: Path, page: Page, artifacts: Path
) -> None:
    asking = waiting_budget().run(1).exec_id

    @kitaru.checkpoint(on_error="pause")
    def sbf_fetch() -> str:
        raise ConnectionError("warehouse offline")

    @kitaru.flow
    def sbf_nightly_etl() -> str:
        return sbf_fetch()

    paused = sbf_nightly_etl.run().exec_id
    page.goto(lab.url("/lab/workspaces/sbfilter"))
    panel = open_sidebar(page)
    expect(row(panel, paused)).to_be_visible()

    # "budg": no Enter, no blur
    panel.locator("input.kitaru-nb-flow-filter").press_sequentially("budg", delay=40)
    expect(row(panel, asking)).to_be_visible()
    expect(row(panel, paused)).to_have_count(0)
    expect(panel.locator("li.kitaru-nb-row").filter(has_not_text="budget_request")).to_have_count(0)
    # each row: what it waits for, progress, how long ago (exact time on hover)
    r = row(panel, asking)
    expect(r.locator(".kitaru-nb-waiting-for")).to_have_text("needs input")
    expect(r.locator(".kitaru-nb-progress")).to_contain_text("/")
    expect(r.locator("time.kitaru-nb-time")).to_have_text(re.compile(r"^(now|\d+ seconds? ago)$"))
    assert r.locator("time.kitaru-nb-time").get_attribute("title")
    page.screenshot(path=str(artifacts / "sidebar_filter_budg.png"))

    panel.locator("input.kitaru-nb-flow-filter").fill("")
    status = panel.locator("select.kitaru-nb-status-filter")
    status.select_option("paused_on_error")
    expect(row(panel, paused)).to_be_visible()
    expect(row(panel, paused).locator(".kitaru-nb-waiting-for")).to_have_text("paused on error")
    expect(row(panel, asking)).to_have_count(0)
    status.select_option("needs_input")
    expect(row(panel, asking)).to_be_visible()
    expect(row(panel, paused)).to_have_count(0)
    page.screenshot(path=str(artifacts / "sidebar_filter_needs_input.png"))


def badge(page: Page) -> Any:
    return page.locator(TAB)


def test_the_badge_on_the_tab_counts_executions_waiting_for_a_human_up_and_down(
    lab: JupyterLabServer, journal: Path, page: Page, artifacts: Path
) -> None:
    page.goto(lab.url("/lab/workspaces/sbbadge"))
    open_sidebar(page)
    start = lab.api("GET", "/kitaru-nb/api/counts")["total"]
    expect(badge(page)).to_have_attribute("data-waiting", str(start))
    flow = waiting_budget()
    ids = [flow.run(i).exec_id for i in range(2)]
    expect(badge(page)).to_have_attribute("data-waiting", str(start + 2))
    assert "need input" in (badge(page).get_attribute("title") or "")
    page.screenshot(path=str(artifacts / "sidebar_badge_counting.png"))
    good = {"approved": True, "team": "data", "amount": 5, "contact": {"name": "Ana", "email": "a@b.c"}}
    for i, exec_id in enumerate(ids):
        lab.api("POST", f"/kitaru-nb/api/executions/{exec_id}/input", {"wait": "budget", "value": good})
        expect(badge(page)).to_have_attribute("data-waiting", str(start + 1 - i))
    page.screenshot(path=str(artifacts / "sidebar_badge_down.png"))


def test_a_journal_change_reaches_the_sidebar_by_push_in_under_half_a_second_without_polling(
    lab: JupyterLabServer, journal: Path, page: Page, artifacts: Path
) -> None:
    put_settings(lab, {"pollInterval": 3600, "push": True})
    try:
        flow = waiting_budget("sbpush")
        flow.run(0)  # the journal exists, the list is not empty
        page.goto(lab.url("/lab/workspaces/sbpush"))
        panel = open_sidebar(page)
        expect(panel.locator("li.kitaru-nb-row").first).to_be_visible()
        expect(panel.locator(".kitaru-nb-list")).to_have_attribute("data-live", "push", timeout=20_000)
        seen = list_requests(page)
        page.evaluate(
            """() => {
                window.__kitaruRows = [];
                const list = document.querySelector('#kitaru-nb-executions .kitaru-nb-rows');
                new MutationObserver(() => {
                    for (const li of list.querySelectorAll('li.kitaru-nb-row')) {
                        if (!window.__kitaruRows.some(r => r.id === li.dataset.execId)) {
                            window.__kitaruRows.push({id: li.dataset.execId, t: Date.now()});
                        }
                    }
                }).observe(list, {childList: true, subtree: true});
                for (const li of list.querySelectorAll('li.kitaru-nb-row')) {
                    window.__kitaruRows.push({id: li.dataset.execId, t: 0});
                }
            }"""
        )
        time.sleep(1.0)  # nothing is polled meanwhile
        latencies = []
        for i in range(3):
            t0 = time.time()
            exec_id = flow.run(i + 1).exec_id  # a new execution is committed, as a kernel would
            expect(row(panel, exec_id)).to_be_visible(timeout=5_000)
            shown = page.evaluate("id => window.__kitaruRows.find(r => r.id === id).t", exec_id)
            latencies.append(shown / 1000 - t0)
            time.sleep(0.3)
        counts_polled = [p for t, p in seen if p.endswith("/counts")]
        print(json.dumps({"push_latency_ms": [round(x * 1000) for x in latencies], "counts_polls": len(counts_polled)}))
        page.screenshot(path=str(artifacts / "sidebar_push.png"))
        assert counts_polled == [], "the sidebar polled although pushes arrive"
        assert max(latencies) < 0.5, latencies
    finally:
        put_settings(lab, {})


def carry_out_pending(journal: Path) -> int:
    """What the kernel that defines the flows does when it is idle: carry out pending requests."""
    from kitaru_nb.runtime.continuation import carry_out, pending_requests

    j = kitaru.KitaruClient().journal
    requests = pending_requests(j)
    for req in requests:
        carry_out(j, req)
    return len(requests)


def test_retry_and_replay_from_the_sidebar_are_recorded_carried_out_by_the_kernel_and_copyable_as_code(
    lab: JupyterLabServer, journal: Path, page: Page, artifacts: Path
) -> None:
    tries = {"n": 0}

    @kitaru.checkpoint
    def sba_load() -> list[int]:
        return [1, 2, 3]

    @kitaru.checkpoint
    def sba_total(xs: list[int]) -> int:
        tries["n"] += 1
        if tries["n"] == 1:
            raise ValueError("first run fails")
        return sum(xs)

    @kitaru.flow
    def sba_report() -> int:
        return sba_total(sba_load())

    failed = sba_report.run().exec_id
    page.goto(lab.url("/lab/workspaces/sbactions"))
    panel = open_sidebar(page)
    row(panel, failed).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{failed}']")

    # a failed execution offers Retry and the same call as code
    retry = detail.locator("button.kitaru-nb-retry-execution")
    expect(retry).to_have_text("Retry")
    code = detail.locator(".kitaru-nb-copy-code[data-what='retry']")
    code.locator("summary").click()
    expect(code.locator("pre")).to_contain_text(f'executions.retry("{failed}")')
    retry.click()
    expect(detail.locator(".kitaru-nb-notice")).to_contain_text("recorded")
    req = detail.locator(".kitaru-nb-request[data-kind='retry']")
    expect(req).to_have_attribute("data-status", "pending")
    expect(retry).to_have_text("Retry requested")
    expect(retry).to_be_disabled()
    page.screenshot(path=str(artifacts / "sidebar_retry_requested.png"))

    # the kernel carries it out; the push brings the outcome
    assert carry_out_pending(journal) == 1
    expect(detail.locator(".kitaru-nb-title .kitaru-nb-badge")).to_have_text("completed")
    expect(req).to_have_attribute("data-status", "done")
    expect(detail.locator("button.kitaru-nb-retry-execution")).to_have_count(0)

    # Replay from here on a completed row, with its output overridden
    total_row = detail.locator(".kitaru-nb-checkpoint[data-name='sba_load']")
    total_row.locator("summary").click()
    total_row.locator("button.kitaru-nb-replay-open").click()
    replay = total_row.locator(".kitaru-nb-replay")
    replay.locator("textarea").fill("[10, 20]")
    replay.locator(".kitaru-nb-copy-code summary").click()
    expect(replay.locator("pre")).to_contain_text(
        f'executions.replay("{failed}", from_="sba_total", overrides={{"checkpoint.sba_load": [10, 20]}})'
    )
    page.screenshot(path=str(artifacts / "sidebar_replay_override.png"))
    replay.locator("button.kitaru-nb-replay-submit").click()
    expect(detail.locator(".kitaru-nb-notice")).to_contain_text("recorded")
    rep = detail.locator(".kitaru-nb-request[data-kind='replay']")
    expect(rep).to_have_attribute("data-status", "pending")
    assert carry_out_pending(journal) == 1
    expect(rep).to_have_attribute("data-status", "done")
    rep.locator("button.kitaru-nb-open-result").click()
    new = panel.locator(".kitaru-nb-detail").filter(has_not=page.locator(f"[data-exec-id='{failed}']"))
    expect(new.locator(".kitaru-nb-title .kitaru-nb-badge")).to_have_text("completed")
    expect(new.locator(".kitaru-nb-checkpoint[data-name='sba_load']")).to_have_attribute("data-status", "reused")
    expect(new.locator("dd code").first).to_have_text("30")
    page.screenshot(path=str(artifacts / "sidebar_replay_result.png"))

    # an override the server cannot take is refused with its reason, nothing recorded
    new.locator("button.kitaru-nb-back").click()
    row(panel, failed).locator("button").click()
    total_row = detail.locator(".kitaru-nb-checkpoint[data-name='sba_load']")
    total_row.locator("summary").click()
    total_row.locator("button.kitaru-nb-replay-open").click()
    total_row.locator("textarea").fill("{not json")
    total_row.locator("button.kitaru-nb-replay-submit").click()
    expect(total_row.locator(".kitaru-nb-replay .kitaru-nb-error")).to_contain_text("not JSON")


KERNEL_NB = """\
import kitaru_nb as kitaru

tries = {"n": 0}

@kitaru.checkpoint
def sbk_load() -> list[int]:
    return [1, 2, 3]

@kitaru.checkpoint
def sbk_total(xs: list[int]) -> int:
    tries["n"] += 1
    if tries["n"] == 1:
        raise ValueError("first run fails")
    return sum(xs)

@kitaru.flow
def sbk_report() -> int:
    return sbk_total(sbk_load())

h = sbk_report.run()
print("started", h.exec_id)
"""


def test_sidebar_retry_and_replay_are_carried_out_by_the_notebook_kernel_that_defines_the_flow(
    lab: JupyterLabServer, lab_root: Path, page: Page, artifacts: Path
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(KERNEL_NB)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab_root / "sbk_actions.ipynb")
    run_all_in_own_workspace(page, lab, "sbk_actions.ipynb", "sbk", "started ")
    (entry,) = lab.api("GET", "/kitaru-nb/api/executions?flow=sbk_report")["executions"]
    failed = entry["exec_id"]
    assert entry["status"] == "failed"
    assert entry["owner"]["notebook"].endswith("sbk_actions.ipynb")

    panel = open_sidebar(page)
    expect(row(panel, failed).locator(".kitaru-nb-owner-notebook")).to_have_text("sbk_actions.ipynb")
    row(panel, failed).locator("button").click()
    detail = panel.locator(f".kitaru-nb-detail[data-exec-id='{failed}']")
    expect(detail.locator(".kitaru-nb-owner-notebook")).to_contain_text("sbk_actions.ipynb")
    expect(detail.locator(".kitaru-nb-owner-hint")).not_to_be_empty()
    detail.locator("button.kitaru-nb-retry-execution").click()
    expect(detail.locator(".kitaru-nb-notice")).to_contain_text("recorded")
    # the idle kernel of the notebook carries the retry out; the push brings the outcome
    expect(detail.locator(".kitaru-nb-title .kitaru-nb-badge")).to_have_text("completed", timeout=30_000)
    expect(detail.locator(".kitaru-nb-request[data-kind='retry']")).to_have_attribute("data-status", "done")
    page.screenshot(path=str(artifacts / "sidebar_retry_carried_out_by_kernel.png"))

    load = detail.locator(".kitaru-nb-checkpoint[data-name='sbk_load']")
    load.locator("summary").click()
    load.locator("button.kitaru-nb-replay-open").click()
    load.locator("textarea").fill("[10, 20]")
    load.locator("button.kitaru-nb-replay-submit").click()
    rep = detail.locator(".kitaru-nb-request[data-kind='replay']")
    expect(rep).to_have_attribute("data-status", "done", timeout=30_000)
    rep.locator("button.kitaru-nb-open-result").click()
    new = panel.locator(".kitaru-nb-detail").filter(has_not=page.locator(f"[data-exec-id='{failed}']"))
    expect(new.locator(".kitaru-nb-title .kitaru-nb-badge")).to_have_text("completed", timeout=30_000)
    expect(new.locator(".kitaru-nb-checkpoint[data-name='sbk_load']")).to_have_attribute("data-status", "reused")
    expect(new.locator("dd code").first).to_have_text("30")
    page.screenshot(path=str(artifacts / "sidebar_replay_carried_out_by_kernel.png"))
