"""The execution panel driven through the Jupyter protocol, as a browser would drive it.

A real ipykernel runs the flows; the test sends the comm messages of clicks and of
typing, then reads the widget state the kernel sends back and the journal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru_nb import KitaruClient

from .frontend import FakeFrontend

pytestmark = pytest.mark.notebook


@pytest.fixture
def fe(tmp_path: Path) -> Iterator[FakeFrontend]:
    frontend = FakeFrontend(tmp_path)
    frontend.run(
        "import kitaru_nb as kitaru\n"
        "from IPython.display import display\n"
        "from pydantic import BaseModel, Field\n"
        f"kitaru.configure(db={str(tmp_path / 'kitaru.db')!r})\n"
    )
    try:
        yield frontend
    finally:
        frontend.close()


PAUSING_FLOW = """
@kitaru.checkpoint(on_error="pause")
def load(n):
    raise ValueError("source <b>offline</b>")

@kitaru.flow
def pipeline(n):
    v = load(n)
    print("pipeline got", v)
    return "skipped" if v is None else v + 1

h = pipeline.run(41)
display(h)
"""

FIXED_CHECKPOINT = """
@kitaru.checkpoint(on_error="pause")
def load(n):
    print("loading", n)
    return n
"""


def panel_parts(fe: FakeFrontend) -> dict[str, str]:
    panel = fe.find("VBoxModel", "kitaru-panel")
    return {
        "panel": panel,
        "header": fe.within(panel, "HTMLModel", "kitaru-header"),
        "notice": fe.within(panel, "HTMLModel", "kitaru-notice"),
        "output": fe.within(panel, "OutputModel", "kitaru-output"),
        "cards": fe.within(panel, "VBoxModel", "kitaru-cards"),
    }


def timeline(fe: FakeFrontend, panel: str) -> str:
    """The HTML of the panel's timeline: the live table, or the rows of a settled execution."""
    ids = [fe.within(panel, "HTMLModel", "kitaru-table-live")]
    rows = fe.within(panel, "VBoxModel", "kitaru-rows")
    ids += [c for c in fe.descendants(rows) if fe.models.get(c, {}).get("_model_name") == "HTMLModel"]
    return "".join(str(fe.value(c) or "") for c in ids)


def status_of(fe: FakeFrontend, header: str) -> str:
    html = fe.value(header)
    for s in ("completed", "waiting", "failed", "running", "cancelled"):
        if f"kitaru-status-{s}" in html:
            return s
    return "?"


def journal_status(fe: FakeFrontend) -> str:
    return fe.run("print(kitaru.KitaruClient().executions.get(h.exec_id).status)").strip()


def test_retry_click_runs_the_fixed_checkpoint_in_the_kernel(fe: FakeFrontend) -> None:
    fe.run(PAUSING_FLOW)
    p = panel_parts(fe)
    assert status_of(fe, p["header"]) == "waiting"
    card = fe.within(p["cards"], "VBoxModel", "kitaru-card-error")
    failure = fe.within(card, "HTMLModel", "kitaru-card-failure")
    assert "source &lt;b&gt;offline&lt;/b&gt;" in fe.value(failure)  # user text is escaped
    retry = fe.within(card, "ButtonModel", "kitaru-retry", description="Retry")

    fe.run(FIXED_CHECKPOINT)  # "fix the cell"
    fe.click(retry)  # no cell runs: the comm message alone resumes the flow
    fe.pump_until(lambda: status_of(fe, p["header"]) == "completed")

    assert fe.run("print(h.get())").strip() == "42"
    assert journal_status(fe) == "completed"
    # the continuation's prints went to the panel's output area
    assert "loading 41" in fe.captured(p["output"])
    assert "pipeline got 41" in fe.captured(p["output"])
    assert fe.children(p["cards"]) == []  # nothing left to decide


def test_retry_without_the_fix_pauses_again(fe: FakeFrontend) -> None:
    fe.run(PAUSING_FLOW)
    p = panel_parts(fe)
    retry = fe.within(p["cards"], "ButtonModel", "kitaru-retry")
    fe.click(retry)
    fe.pump_until(lambda: "attempt history (2)" in timeline(fe, p["panel"]))
    assert status_of(fe, p["header"]) == "waiting"

    # the card shows the second failure, and its Retry button is enabled again (the panel showed the
    # execution running meanwhile, without cards: wait for the new card)
    def retry_enabled() -> bool:
        found = [
            c for c in fe.descendants(p["cards"]) if "kitaru-retry" in fe.models.get(c, {}).get("_dom_classes", [])
        ]
        return bool(found) and fe.value(found[-1], "disabled") is False

    fe.pump_until(retry_enabled)
    card = fe.within(p["cards"], "VBoxModel", "kitaru-card-error")
    texts = [fe.value(c) for c in fe.descendants(card) if fe.models[c].get("_model_name") == "HTMLModel"]
    assert any("after 2 attempt(s)" in t for t in texts), texts
    assert journal_status(fe) == "waiting"


def test_skip_click_continues_without_the_checkpoint(fe: FakeFrontend) -> None:
    fe.run(PAUSING_FLOW)
    p = panel_parts(fe)
    skip = fe.within(p["cards"], "ButtonModel", "kitaru-skip", description="Skip")
    fe.click(skip)
    fe.pump_until(lambda: status_of(fe, p["header"]) == "completed")
    assert fe.run("print(h.get())").strip() == "skipped"
    assert "kitaru-row-skipped" in timeline(fe, p["panel"])
    assert "pipeline got None" in fe.captured(p["output"])


WAIT_FLOW = """
class Shipment(BaseModel):
    city: str = Field(min_length=2, description="where the boxes go")
    boxes: int = Field(ge=1, le=100)

@kitaru.flow
def ship():
    s = kitaru.wait(schema=Shipment, name="shipment", question="Where to, and how many boxes?")
    print("shipping", s.boxes, "boxes to", s.city)
    return s.boxes

h = ship.run()
display(h)
"""


def form_input(fe: FakeFrontend, cards: str, field: str) -> str:
    box = fe.within(cards, "VBoxModel", f"kitaru-field-{field}")
    return fe.within(box, "TextModel")


def test_form_shows_pydantic_errors_inline_then_completes(fe: FakeFrontend) -> None:
    fe.run(WAIT_FLOW)
    p = panel_parts(fe)
    card = fe.within(p["cards"], "VBoxModel", "kitaru-card-wait")
    assert fe.value(fe.within(card, "LabelModel", "kitaru-question")) == "Where to, and how many boxes?"
    labels = [fe.value(c) for c in fe.descendants(card) if "kitaru-field-label" in fe.models[c].get("_dom_classes", [])]
    assert labels[:2] == ["City *", "Boxes *"]  # declaration order, required marked
    helps = [fe.value(c) for c in fe.descendants(card) if "kitaru-help" in fe.models[c].get("_dom_classes", [])]
    assert "where the boxes go" in helps
    city, boxes = form_input(fe, card, "city"), form_input(fe, card, "boxes")
    submit = fe.within(card, "ButtonModel", "kitaru-submit", description="Submit")
    err_boxes = fe.within(card, "HTMLModel", "kitaru-error-boxes")
    err_city = fe.within(card, "HTMLModel", "kitaru-error-city")

    fe.set_state(city, value="Oslo")
    fe.set_state(boxes, value="many")
    fe.click(submit)
    fe.pump_until(lambda: "valid integer" in (fe.value(err_boxes) or ""))
    fe.pump_until(lambda: "still waiting" in fe.value(p["notice"]))
    assert fe.value(err_city) == ""
    assert journal_status(fe) == "waiting"
    assert status_of(fe, p["header"]) == "waiting"

    fe.set_state(boxes, value="500")
    fe.click(submit)
    fe.pump_until(lambda: "less than or equal to 100" in (fe.value(err_boxes) or ""))
    assert journal_status(fe) == "waiting"

    fe.set_state(boxes, value="12")
    fe.click(submit)
    fe.pump_until(lambda: status_of(fe, p["header"]) == "completed")
    assert fe.run("print(h.get())").strip() == "12"
    assert "shipping 12 boxes to Oslo" in fe.captured(p["output"])


def test_answer_given_elsewhere_resumes_when_the_kernel_is_idle(fe: FakeFrontend, tmp_path: Path) -> None:
    fe.run(WAIT_FLOW)
    p = panel_parts(fe)
    fe.run("display(h)")  # the same execution shown twice (a re-run cell, a second view)
    second = panel_parts(fe)
    assert second["panel"] != p["panel"]
    exec_id = fe.run("print(h.exec_id)").strip()
    fe.run("import time; time.sleep(1.2)")  # let the idle checks start
    # another process (like the JupyterLab sidebar's server) records the answer; it cannot resume the flow
    KitaruClient(db=tmp_path / "kitaru.db").executions.input(
        exec_id, wait="shipment", value={"city": "Rome", "boxes": 3}
    )
    fe.pump_until(lambda: status_of(fe, p["header"]) == "completed", timeout=20)
    fe.pump_until(lambda: status_of(fe, second["header"]) == "completed", timeout=20)
    assert fe.run("print(h.get())").strip() == "3"
    # the kernel's one watcher continued it once, however many panels show it
    assert fe.run("from kitaru_nb.runtime.watcher import watcher\nprint(watcher.carried_out)").strip() == "1"
    polling = "from kitaru_nb.widgets.hub import hub\nprint(sum(x.polling for x in hub.panels_for(h.exec_id)))"
    assert fe.run(polling).strip() == "0"  # a finished execution's panels stop looking at the journal
    assert "shipping 3 boxes to Rome" in fe.captured(p["output"]) + fe.captured(second["output"])


def test_await_handle_keeps_the_panel_live(fe: FakeFrontend) -> None:
    fe.run(WAIT_FLOW.replace("display(h)", ""))
    acted = {"done": False}

    def answer(fe: FakeFrontend, msg: dict[str, object]) -> None:
        # act once the panel is displayed (all its models exist by then)
        if acted["done"] or msg["msg_type"] != "display_data":
            return
        cards = fe.find("VBoxModel", "kitaru-cards")
        acted["done"] = True
        fe.set_state(form_input(fe, cards, "city"), value="Lima")
        fe.set_state(form_input(fe, cards, "boxes"), value="7")
        fe.click(fe.within(cards, "ButtonModel", "kitaru-submit"))

    out = fe.run("display(h)\nresult = await h\nprint('RESULT', result)", on_iopub=answer, timeout=30)
    assert acted["done"]
    assert "RESULT 7" in out
    assert journal_status(fe) == "completed"


CONFIRM_WORKFLOW = """
from kitaru_nb.workflow import Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepOutput

def fetch(step_input):
    return StepOutput(content=f"numbers for {step_input.input}")

def publish(step_input):
    print("publishing", step_input.previous_step_content)
    return "published"

wf = Workflow(name="report", steps=[
    Step(name="fetch", executor=fetch),
    Step(name="publish", executor=publish, requires_confirmation=True,
         confirmation_message="Publish to <i>everyone</i>?"),
])
out = wf.run("Q3")
display(out)
"""


@pytest.mark.parametrize(
    ("button", "css", "content"), [("Confirm", "kitaru-confirm", "published"), ("Reject", "kitaru-reject", "None")]
)
def test_confirmation_buttons_continue_the_workflow(fe: FakeFrontend, button: str, css: str, content: str) -> None:
    fe.run(CONFIRM_WORKFLOW)
    p = panel_parts(fe)
    assert status_of(fe, p["header"]) == "waiting"
    card = fe.within(p["cards"], "VBoxModel", "kitaru-card-confirmation")
    assert fe.value(fe.within(card, "LabelModel", "kitaru-confirm-message")) == "Publish to <i>everyone</i>?"
    fe.click(fe.within(card, "ButtonModel", css, description=button))
    fe.pump_until(lambda: status_of(fe, p["header"]) == "completed")
    got = fe.run("print(wf.get_session().runs[-1].status, wf.get_session().runs[-1].content)").split()
    assert got[-1] == content
    assert ("kitaru-row-skipped" in timeline(fe, p["panel"])) == (button == "Reject")
    assert ("publishing numbers for Q3" in fe.captured(p["output"])) == (button == "Confirm")


FAILING_FLOW = """
@kitaru.checkpoint
def divide(a, b):
    return a / b

@kitaru.flow
def ratio(a, b):
    return divide(a, b)

h = ratio.run(1, 0)
display(h)
"""


def test_failed_execution_retry_click(fe: FakeFrontend) -> None:
    fe.run(FAILING_FLOW)
    p = panel_parts(fe)
    assert status_of(fe, p["header"]) == "failed"
    card = fe.within(p["cards"], "VBoxModel", "kitaru-card-failed")
    assert "ZeroDivisionError" in fe.value(fe.within(card, "HTMLModel", "kitaru-card-failure"))
    fe.run("@kitaru.checkpoint\ndef divide(a, b):\n    return a / (b or 1)\n")
    fe.click(fe.within(card, "ButtonModel", "kitaru-retry"))
    fe.pump_until(lambda: status_of(fe, p["header"]) == "completed")
    assert fe.run("print(h.get(), h.exec_id == kitaru.KitaruClient().executions.latest().exec_id)").split() == [
        "1.0",
        "True",
    ]


def test_overview_open_click_shows_the_execution(fe: FakeFrontend) -> None:
    fe.run(FAILING_FLOW.replace("display(h)", "") + "\nok = ratio.run(6, 3)\nkitaru.panel()\n")
    overview = fe.find("VBoxModel", "kitaru-overview")
    rows = fe.children(fe.within(overview, "VBoxModel", "kitaru-overview-rows"))
    assert len(rows) == 2
    newest = fe.value(fe.within(rows[0], "HTMLModel"))
    assert "ratio" in newest and "kitaru-status-completed" in newest
    fe.click(fe.within(rows[1], "ButtonModel", "kitaru-open", description="Open"))
    detail = fe.within(overview, "VBoxModel", "kitaru-overview-detail")
    fe.pump_until(lambda: len(fe.children(detail)) == 1)
    panel = fe.children(detail)[0]
    fe.pump_until(lambda: panel in fe.models and "kitaru-panel" in fe.models[panel].get("_dom_classes", []))
    header = fe.within(panel, "HTMLModel", "kitaru-header")
    assert "kitaru-status-failed" in fe.value(header)
    assert fe.within(panel, "ButtonModel", "kitaru-retry")


def test_double_submit_records_once_and_buttons_are_disabled_while_the_flow_runs(fe: FakeFrontend) -> None:
    fe.run(WAIT_FLOW.replace('print("shipping"', 'import time; time.sleep(0.3); print("shipping"'))
    p = panel_parts(fe)
    card = fe.within(p["cards"], "VBoxModel", "kitaru-card-wait")
    submit = fe.within(card, "ButtonModel", "kitaru-submit")
    fe.set_state(form_input(fe, card, "city"), value="Kyiv")
    fe.set_state(form_input(fe, card, "boxes"), value="4")
    fe.click(submit)
    fe.click(submit)  # an impatient second click, sent before the first one was handled
    fe.pump_until(lambda: status_of(fe, p["header"]) == "completed")
    assert (submit, {"disabled": True}) in fe.updates  # disabled while the continuation ran
    assert fe.run("print(h.get())").strip() == "4"
    assert fe.captured(p["output"]).count("shipping 4 boxes to Kyiv") == 1
    fe.run("import time; time.sleep(0.2)")
    assert fe.value(p["notice"]) == ""  # the second click did nothing, not even an error


FLOW_SOURCE = """
import kitaru_nb as kitaru

@kitaru.flow
def approve_budget(amount: int) -> str:
    ok = kitaru.wait(schema=bool, name="ok", question="Approve?")
    print("decision:", ok)
    return f"{amount} {'approved' if ok else 'refused'}"
"""


def test_a_new_kernel_resumes_once_the_flow_is_defined(fe: FakeFrontend, tmp_path: Path) -> None:
    """The execution was started by another process (like a kernel before a restart)."""
    import subprocess
    import sys

    db = tmp_path / "kitaru.db"
    started = subprocess.run(
        [sys.executable, "-c", FLOW_SOURCE + f"kitaru.configure(db={str(db)!r})\nprint(approve_budget.run(5).exec_id)"],
        capture_output=True,
        text=True,
        check=True,
    )
    exec_id = started.stdout.strip().splitlines()[-1]
    fe.run(f"ex = kitaru.KitaruClient().executions.get({exec_id!r})\ndisplay(ex)")
    p = panel_parts(fe)
    assert status_of(fe, p["header"]) == "waiting"
    KitaruClient(db=db).executions.input(exec_id, wait="ok", value=True)  # recorded; nobody can resume yet
    fe.pump_until(lambda: "run the cell that defines it" in (fe.value(p["notice"]) or ""), timeout=20)
    fe.pump_until(lambda: fe.children(p["cards"]) == [])  # the answered wait no longer asks
    assert status_of(fe, p["header"]) == "waiting"

    fe.run(FLOW_SOURCE)  # the user runs the cell that defines the flow
    fe.pump_until(lambda: status_of(fe, p["header"]) == "completed", timeout=20)
    fe.pump_until(lambda: fe.value(p["notice"]) == "")
    fe.pump_until(lambda: "decision: True" in fe.captured(p["output"]))  # its output went to the panel
    assert KitaruClient(db=db).executions.get(exec_id).result == "5 approved"


@pytest.mark.parametrize(
    ("decision", "expected", "printed"), [("retry", "42", "loading 41"), ("skip", "skipped", "pipeline got None")]
)
def test_decision_given_elsewhere_resumes_when_the_kernel_is_idle(
    fe: FakeFrontend, tmp_path: Path, decision: str, expected: str, printed: str
) -> None:
    fe.run(PAUSING_FLOW)
    p = panel_parts(fe)
    assert fe.within(p["cards"], "VBoxModel", "kitaru-card-error")
    fe.run(FIXED_CHECKPOINT)  # the cell is fixed; nobody clicks in this notebook
    exec_id = fe.run("print(h.exec_id)").strip()
    # another process (the JupyterLab sidebar's server) records the decision; it cannot run the flow
    verbs = KitaruClient(db=tmp_path / "kitaru.db").executions
    recorded = getattr(verbs, decision)(exec_id, checkpoint="load", resume=False)
    # recorded, not run here; the idle kernel may already have taken it up by the time this reads it
    assert recorded.pending_errors == [] and recorded.status.value in ("waiting", "running", "completed")
    fe.pump_until(lambda: status_of(fe, p["header"]) == "completed", timeout=20)
    assert fe.run("print(h.get())").strip() == expected
    assert printed in fe.captured(p["output"])
    fe.pump_until(lambda: fe.children(p["cards"]) == [])
