"""What the panel shows besides status: logged metadata, saved artifacts, checkpoint types, cached calls,
and step-workflow constructs as nested groups. Real journals and flows, no front end (the widgets'
dummy comm), as in test_widgets_plain.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb.widgets import groups as G
from kitaru_nb.widgets import render as R
from kitaru_nb.widgets.display import mimebundle
from kitaru_nb.widgets.panel import ExecutionPanel
from kitaru_nb.workflow import Condition, Loop, OnError, Parallel, Router, Steps, Workflow
from kitaru_nb.workflow.step import Step

XSS = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
PATHS = Path(__file__).parents[2] / "labextension" / "test" / "construct_paths.json"


def panel_text(panel: ExecutionPanel) -> str:
    return str(panel.header.value) + panel.timeline_html()


# -- (A) metadata, artifacts, types, cache ---------------------------------------------------------
def test_rows_show_type_metadata_and_saved_artifacts_as_text(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint(type=f"llm {XSS}")
    def pd_ask(q: str) -> str:
        kitaru.log(tokens=1234, model=XSS, usage={"in": 3, "out": [1, 2]}, long="y" * 300)
        kitaru.save(f"prompt {XSS}", f"say {XSS}", type="prompt", tags=["draft", XSS])
        return "answer"

    @kitaru.checkpoint
    def pd_plain(x: int) -> int:
        return x

    @kitaru.flow
    def pd_flow(q: str) -> str:
        kitaru.log(run_by=XSS, attempt=2)
        pd_plain(1)
        return pd_ask(q)

    handle = pd_flow.run("hi")
    panel = ExecutionPanel(handle.exec_id, client)
    text = panel_text(panel)
    assert XSS not in text
    # the checkpoint's type label, its metadata line and what it saved, escaped
    assert f"<span class='kitaru-type'>llm {ESCAPED}</span>" in text
    assert f"tokens=1234, model={ESCAPED}, usage={{&quot;in&quot;:3,&quot;out&quot;:[1,2]}}" in text
    assert "y" * 300 not in text.split("title=")[0]  # the line is truncated ...
    assert "long=" + "y" * 300 in text  # ... the whole of it is on hover
    assert f"<b class='kitaru-artifact-name'>prompt {ESCAPED}</b>" in text
    assert "<i class='kitaru-artifact-type'>prompt</i>" in text
    assert f"say {ESCAPED}" in text
    assert "#draft" in text and f"#{ESCAPED}" in text
    # the flow body's metadata in the header
    assert f"run_by={ESCAPED}, attempt=2" in str(panel.header.value)
    # a row with nothing logged or saved gets no extra line (its output is not repeated as an artifact)
    rows = [ch.children[0].value for ch in panel.rows_box.children]
    assert "pd_plain" in rows[0] and "kitaru-row-extra" not in rows[0]
    assert "kitaru-row-extra" in rows[1]
    # the static summary a saved notebook shows carries the same, escaped
    html = mimebundle(client.executions.get(handle.exec_id))["text/html"]
    assert XSS not in html
    assert f"prompt {ESCAPED}" in html and f"run_by={ESCAPED}" in html and "kitaru-type" in html
    panel.close()


def test_a_cached_call_says_which_execution_it_came_from(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def pd_square(x: int) -> int:
        return x * x

    @kitaru.flow
    def pd_cached(x: int) -> int:
        return pd_square(x)

    first = pd_cached.run(3, cache=True)
    second = pd_cached.run(3, cache=True)
    panel = ExecutionPanel(second.exec_id, client)
    assert f"cached from <code>{first.exec_id[:8]}</code>" in panel.timeline_html()
    assert "cached from" not in ExecutionPanel(first.exec_id, client).timeline_html()
    panel.close()


def test_a_waiting_execution_says_why_in_its_header(client: kitaru.KitaruClient) -> None:
    @kitaru.flow
    def pd_asks() -> object:
        return kitaru.wait(schema=int, name="size", question=f"how big {XSS}?")

    handle = pd_asks.run()
    panel = ExecutionPanel(handle.exec_id, client)
    header = str(panel.header.value)
    assert f"waiting for input on wait &#x27;size&#x27;: how big {ESCAPED}?" in header
    assert XSS not in header
    client.executions.input(handle.exec_id, wait="size", value=3)
    panel.refresh()
    assert "kitaru-status-reason" not in str(panel.header.value)  # completed: nothing to explain
    panel.close()


# -- (B) constructs as groups -----------------------------------------------------------------------
@pytest.mark.parametrize("case", json.loads(PATHS.read_text())["cases"], ids=lambda c: c["name"])
def test_parse_path_reads_the_workflow_names(case: dict[str, Any]) -> None:
    segments, leaf = G.parse_path(case["name"])
    assert leaf == case["leaf"]
    assert [{"name": s.name, "iteration": s.iteration, "branch": s.branch} for s in segments] == case["segments"]
    assert "/".join([*(s.text for s in segments), leaf]) == case["name"]  # nothing lost


def _text(step_input: Any) -> str:
    return "x"


def _counter() -> Any:
    n = {"i": 0}

    def work(step_input: Any) -> int:
        n["i"] += 1
        return n["i"]

    return work


def constructs_workflow(name: str, *, fail_read: bool = False, step_name: str = "fetch") -> Workflow:
    def read(step_input: Any) -> str:
        if fail_read:
            raise ValueError("read failed")
        return "r"

    return Workflow(
        name=name,
        steps=[
            Step(name="first", executor=_text),
            Parallel(
                Step(name=step_name, executor=_text),
                Step(name="read", executor=read, on_error=OnError.pause),
                Step(name="third", executor=_text),
                name="research",
            ),
            Loop(
                name="refine",
                steps=[Step(name="work", executor=_counter())],
                end_condition=lambda results: results[-1].content >= 2,
                max_iterations=5,
            ),
            Condition(
                name="check",
                evaluator=lambda si: False,
                steps=[Step(name="yes", executor=_text)],
                else_steps=[Step(name="no", executor=_text)],
            ),
            Router(
                name="route",
                selector=lambda si: "deep",
                choices=[Step(name="deep", executor=_text), Step(name="shallow", executor=_text)],
            ),
            Steps(name="seq", steps=[Step(name="a", executor=_text), Step(name="b", executor=_text)]),
        ],
    )


def test_constructs_show_as_groups_with_their_summary(client: kitaru.KitaruClient) -> None:
    out = constructs_workflow("pd_constructs").run("in")
    panel = ExecutionPanel(out.run_id, client)
    groups = [ch for ch in panel.rows_box.children if getattr(ch, "_kitaru_group", None) is not None]
    labels = [g.children[0].description for g in groups]
    assert labels == [
        "\u25be research \u00b7 parallel \u00b7 3/3 done",
        "\u25be refine \u00b7 loop \u00b7 iteration 2",
        "\u25be check \u00b7 condition \u2192 else",
        "\u25be route \u00b7 router \u2192 deep",
        "\u25be seq \u00b7 steps \u00b7 2/2 done",
    ]
    # a plain step stays a plain row, first in the timeline
    first = panel.rows_box.children[0]
    assert getattr(first, "_kitaru_group", None) is None and ">first<" in first.children[0].value
    # the loop nests one group per iteration; rows inside show the step's own name, the path on hover
    loop_body = groups[1].children[1]
    iterations = [g.children[0].description for g in loop_body.children]
    assert iterations == ["\u25be iteration 1", "\u25be iteration 2"]
    row = loop_body.children[1].children[1].children[0].children[0].value
    assert "<span title='refine#2/work'>work</span>" in row
    # the Router's choice and the Condition's verdict are the first rows of their groups
    route_rows = [w.children[0].value for w in groups[3].children[1].children]
    assert "<span title='route'>route</span> <span class='kitaru-type'>router</span>" in route_rows[0]
    assert "title='route/deep'>deep<" in route_rows[1]
    panel.close()


def test_a_group_folds_and_keeps_folded_across_refreshes(client: kitaru.KitaruClient) -> None:
    out = constructs_workflow("pd_fold").run("in")
    panel = ExecutionPanel(out.run_id, client)

    def research() -> Any:
        return next(ch for ch in panel.rows_box.children if getattr(ch, "_kitaru_group", None) is not None)

    toggle, body = research().children
    toggle.click()
    assert body.layout.display == "none" and toggle.description.startswith("\u25b8 research")
    panel.toggle_rows()  # the rows are built again: the group stays folded
    toggle, body = research().children
    assert body.layout.display == "none"
    toggle.click()
    assert body.layout.display == "" and len(body.children) == 3
    panel.close()


def test_a_paused_branch_shows_in_its_group_summary_and_names_are_text(client: kitaru.KitaruClient) -> None:
    out = constructs_workflow("pd_paused", fail_read=True, step_name=f"f{XSS}").run("in")
    assert out.is_paused
    panel = ExecutionPanel(out.run_id, client)
    text = panel.timeline_html()
    assert "research \u00b7 parallel \u00b7 2/3 done \u00b7 1 paused" in text
    assert XSS not in text and f"<span title='research/f{ESCAPED}'>f{ESCAPED}</span>" in text
    # the static summary groups the same way, as collapsible <details>
    html = mimebundle(client.executions.get(out.run_id))["text/html"]
    assert XSS not in html
    assert "<details open class='kitaru-group kitaru-group-parallel' data-status='paused'" in html
    assert "research \u00b7 parallel \u00b7 2/3 done \u00b7 1 paused" in html
    panel.close()


def test_flows_and_plain_workflows_keep_the_flat_table(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint(name="io/read")
    def pd_slash() -> int:
        return 1

    @kitaru.flow
    def pd_flat() -> int:
        return pd_slash()

    ex = client.executions.get(pd_flat.run().exec_id)
    assert R.timeline_tree(ex, R.rows(ex), R.rows(ex)) is None  # a flow's names are never paths
    plain = Workflow(name="pd_plain_wf", steps=[Step(name="one", executor=_text)]).run("in")
    ex = client.executions.get(plain.run_id)
    assert R.timeline_tree(ex, R.rows(ex), R.rows(ex)) is None
    assert "kitaru-group" not in R.checkpoints_html(ex)


def test_a_folded_timeline_keeps_group_summaries_of_all_rows(client: kitaru.KitaruClient) -> None:
    wf = Workflow(
        name="pd_big",
        steps=[
            Loop(
                name="many",
                steps=[Step(name="w", executor=_counter())],
                end_condition=lambda results: results[-1].content >= 40,
                max_iterations=50,
            )
        ],
    )
    out = wf.run("in")
    ex = client.executions.get(out.run_id)
    all_rows = R.rows(ex)
    shown, hidden = R.visible_rows(all_rows, expanded=False)
    assert hidden == 40 - R.COLLAPSED_ROWS
    tree = R.timeline_tree(ex, all_rows, shown)
    assert tree is not None
    (loop,) = tree
    assert loop.label == "many \u00b7 loop \u00b7 iteration 40"
    assert len(loop.items) == R.COLLAPSED_ROWS  # only the shown iterations are drawn
