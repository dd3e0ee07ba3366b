"""Panel logic without a kernel: ipywidgets falls back to a dummy comm, callbacks fire with ``click()``.

Real journals (tmp SQLite files), real flows; only the frontend is absent.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Literal

import pytest
from pydantic import BaseModel, Field, model_validator

import kitaru_nb as kitaru
from kitaru_nb.widgets.display import mimebundle
from kitaru_nb.widgets.form import SchemaForm
from kitaru_nb.widgets.overview import overview
from kitaru_nb.widgets.overview_widget import Overview
from kitaru_nb.widgets.panel import ExecutionPanel, follow

XSS = "<img src=x onerror=alert(1)>"


class Size(enum.Enum):
    small = "S"
    large = "L"


class Address(BaseModel):
    city: str = Field(description="city name")
    zip: int


class Order(BaseModel):
    item: str = Field(min_length=2, description="what to buy")
    qty: int = 1
    price: float | None = None
    gift: bool = False
    size: Size
    speed: Literal["slow", "fast"] = "slow"
    when: dt.date = dt.date(2024, 5, 1)
    tags: list[str] = ["a"]
    address: Address

    @model_validator(mode="after")
    def _gift_needs_city(self) -> Order:
        if self.gift and self.address.city == "nowhere":
            raise ValueError("gifts cannot go nowhere")
        return self


def run_wait(schema: object, name: str = "answer") -> kitaru.FlowHandle[object]:
    @kitaru.flow(name=f"asks_{name}")
    def asks() -> object:
        return kitaru.wait(schema=schema, name=name, question=f"give {XSS}")

    return asks.run()


def test_form_widgets_follow_the_schema(client: kitaru.KitaruClient) -> None:
    form = SchemaForm(Order.model_json_schema())
    kinds = {f.path: (f.kind, f.required) for f in form.fields()}
    assert kinds[("item",)] == ("str", True)
    assert kinds[("qty",)] == ("int", False)
    assert kinds[("price",)] == ("float", False)
    assert kinds[("gift",)] == ("bool", False)
    assert kinds[("size",)] == ("enum", True)
    assert kinds[("speed",)] == ("enum", False)
    assert kinds[("when",)] == ("date", False)
    assert kinds[("tags",)] == ("tags", False)
    assert kinds[("address",)] == ("object", True)
    assert kinds[("address", "zip")] == ("int", True)
    f = form.field
    assert type(f(("item",)).input).__name__ == "Text"
    assert type(f(("qty",)).input).__name__ == "Text" and f(("qty",)).input.value == "1"  # default prefilled
    assert type(f(("gift",)).input).__name__ == "Checkbox"
    assert type(f(("size",)).input).__name__ == "Dropdown"
    assert f(("speed",)).input.value == "slow"
    assert type(f(("when",)).input).__name__ == "DatePicker" and f(("when",)).input.value == dt.date(2024, 5, 1)
    assert type(f(("tags",)).input).__name__ == "TagsInput" and f(("tags",)).input.value == ["a"]
    labels = [w.value for w in f(("item",)).box.children if "kitaru-field-label" in w._dom_classes]
    helps = [w.value for w in f(("item",)).box.children if "kitaru-help" in w._dom_classes]
    assert labels == ["Item *"] and helps == ["what to buy"]


def test_submit_maps_errors_to_fields_and_records_nothing(client: kitaru.KitaruClient) -> None:
    handle = run_wait(Order)
    panel = ExecutionPanel(handle.exec_id, client)
    (card,) = panel.cards
    form = card.form
    assert form is not None
    form.field(("item",)).input.value = "x"
    form.field(("qty",)).input.value = "two"
    form.field(("address", "zip")).input.value = "12a"
    card.buttons[0].click()
    errors = {f.path: f.error.value for f in form.fields() if f.error.value}
    assert "at least 2 characters" in errors[("item",)]
    assert "valid integer" in errors[("qty",)]
    assert "valid integer" in errors[("address", "zip")]
    assert "Field required" in errors[("address", "city")]
    assert "Field required" in errors[("size",)]  # nothing chosen in its dropdown
    assert client.executions.get(handle.exec_id).status == "waiting"
    assert not card.buttons[0].disabled  # ready for another try

    # fields valid, the model validator fails: its error goes on top of the form
    form.field(("item",)).input.value = "book"
    form.field(("qty",)).input.value = "2"
    form.field(("size",)).input.value = Size.large.value
    form.field(("gift",)).input.value = True
    form.field(("address", "city")).input.value = "nowhere"
    form.field(("address", "zip")).input.value = "123"
    card.buttons[0].click()
    assert "gifts cannot go nowhere" in form.form_error.value
    assert all(not f.error.value for f in form.fields())

    form.field(("address", "city")).input.value = "Porto"
    card.buttons[0].click()
    result = handle.get()
    assert isinstance(result, Order)
    assert (result.item, result.qty, result.size, result.address.zip, result.when) == (
        "book",
        2,
        Size.large,
        123,
        dt.date(2024, 5, 1),
    )
    assert panel.cards == [] and "kitaru-status-completed" in panel.header.value


@pytest.mark.parametrize(
    ("schema", "kind", "bad", "good", "expected"),
    [
        (int, "int", "ten", "10", 10),
        (Literal["yes", "no"], "enum", None, "no", "no"),
        (bool, "bool", None, True, True),
        (list[str], "tags", None, ["x", "y"], ["x", "y"]),
        (None, "json", "{oops", '{"k": [1, 2]}', {"k": [1, 2]}),
    ],
)
def test_root_schemas(
    client: kitaru.KitaruClient, schema: object, kind: str, bad: object, good: object, expected: object
) -> None:
    handle = run_wait(schema, name=f"root_{kind}")
    panel = ExecutionPanel(handle.exec_id, client)
    (card,) = panel.cards
    assert card.form is not None
    root = card.form.root
    assert root.kind == kind
    if bad is not None:
        root.input.value = bad
        card.buttons[0].click()
        assert root.error.value, "the error of a scalar answer goes under its only field"
        assert client.executions.get(handle.exec_id).status == "waiting"
    root.input.value = good
    card.buttons[0].click()
    assert handle.get() == expected


def test_failed_execution_card_retries_with_the_fixed_code(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def shaky() -> int:
        raise RuntimeError(XSS)

    @kitaru.flow
    def uses_shaky() -> int:
        return shaky() + 1

    handle = uses_shaky.run()
    panel = ExecutionPanel(handle.exec_id, client)
    (card,) = panel.cards
    assert "kitaru-card-failed" in card.widget._dom_classes
    assert XSS not in panel.timeline_html() and "&lt;img src=x onerror=alert(1)&gt;" in panel.timeline_html()
    assert "&lt;img" in panel.result.value

    @kitaru.checkpoint
    def shaky() -> int:  # noqa: F811 - the fix: same name, replaces the definition above
        return 41

    card.buttons[0].click()
    assert handle.get() == 42
    assert "kitaru-status-completed" in panel.header.value
    assert "attempt history (2)" in panel.timeline_html()


def test_verb_errors_show_in_the_panel(client: kitaru.KitaruClient) -> None:
    handle = run_wait(int, name="gone")
    panel = ExecutionPanel(handle.exec_id, client)
    client.executions.cancel(handle.exec_id)
    (card,) = panel.cards
    card.form.root.input.value = "3"  # type: ignore[union-attr]
    card.buttons[0].click()
    assert "is cancelled; it takes no more answers" in panel.notice.value
    assert "kitaru-status-cancelled" in panel.header.value
    assert panel.cards == []  # nothing left to answer


def test_static_summary_outside_a_kernel_is_escaped(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint(on_error="pause")
    def bad() -> None:
        raise ValueError(XSS)

    @kitaru.flow(name=f"flow {XSS}")
    def f() -> None:
        bad()

    handle = f.run()
    for obj in (handle, client.executions.get(handle.exec_id)):
        data = mimebundle(obj)
        assert set(data) == {"text/plain", "text/html"}  # no kernel: no widget view
        assert XSS not in data["text/html"]
        assert "&lt;img src=x onerror=alert(1)&gt;" in data["text/html"]
        assert "paused on error" in data["text/plain"]
    assert mimebundle(handle, include={"text/plain"}).keys() == {"text/plain"}

    class NoId:
        exec_id = "nope"

    assert "cannot show it" in mimebundle(NoId())["text/plain"]


def test_widget_bundle_carries_the_static_html(client: kitaru.KitaruClient) -> None:
    @kitaru.flow
    def tiny() -> int:
        return 1

    handle = tiny.run()
    data = ExecutionPanel(handle.exec_id, client)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "kitaru-static-summary" in data["text/html"] and "completed" in data["text/plain"]


def test_follow_attaches_to_the_next_run_and_throttles(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def inc(i: int) -> int:
        return i + 1

    @kitaru.flow
    def loop(n: int) -> int:
        return sum(inc(i) for i in range(n))

    panel = follow(client)
    assert panel.exec_id is None
    handle = loop.run(300)
    assert panel.exec_id == handle.exec_id
    assert "300/300 done" in panel.header.value
    assert (panel.progress.value, panel.progress.max) == (300, 300)
    assert panel.refreshes < 20  # not one refresh per checkpoint
    other = loop.run(3)  # a follower adopts one execution only
    assert panel.exec_id != other.exec_id
    panel.close()


def test_overview_lists_and_opens_executions(client: kitaru.KitaruClient) -> None:
    @kitaru.flow(name=f"listed {XSS}")
    def listed(x: int) -> int:
        return x

    handles = [listed.run(i) for i in range(3)]
    view = Overview(client, limit=2)
    assert len(view.rows.children) == 2
    assert XSS not in view.rows.children[0].children[1].value
    opened = view.show(handles[-1].exec_id)
    assert view.detail.children == (opened,)
    view.rows.children[1].children[0].click()  # "Open" on the second row
    assert view.opened is not None and view.opened.exec_id == handles[-2].exec_id
    static = overview(limit=5)  # outside a kernel: a static, escaped table
    assert XSS not in static._repr_html_() and "listed" in repr(static)


class Note(BaseModel):
    text: str


class Optionals(BaseModel):
    level: Literal["low", "high"] | None = None
    mode: Literal["a", "b"] = "b"
    note: Note | None = None
    count: int | None = None


def test_optional_fields_left_blank_keep_their_defaults(client: kitaru.KitaruClient) -> None:
    handle = run_wait(Optionals, name="optionals")
    panel = ExecutionPanel(handle.exec_id, client)
    (card,) = panel.cards
    form = card.form
    assert form is not None
    level = form.field(("level",)).input
    assert (level.value, level.label) == (None, "\u2014 none \u2014")  # preselected, not the first literal
    assert form.field(("mode",)).input.value == "b"
    assert form.value() == {"level": None, "mode": "b"}
    card.buttons[0].click()
    assert handle.get() == Optionals()


def test_overview_follows_flows_run_in_this_process(client: kitaru.KitaruClient) -> None:
    @kitaru.flow
    def quick(x: int) -> int:
        return x

    view = Overview(client)
    assert view.rows.children == ()
    handle = quick.run(1)
    assert [ex.exec_id for ex in view.executions] == [handle.exec_id]
    assert "kitaru-status-completed" in view.rows.children[0].children[1].value
    view.close()
    quick.run(2)
    assert len(view.executions) == 1  # a closed overview stops following


def _open_widgets() -> int:
    from ipywidgets.widgets.widget import _instances

    return len(_instances)


def test_closing_a_panel_closes_every_widget_in_it(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint(on_error="pause")
    def cw_fail() -> int:
        raise ValueError("x")

    @kitaru.checkpoint
    def cw_ok() -> int:
        return 1

    @kitaru.flow
    def cw_flow() -> int:
        return cw_ok() + (cw_fail() or 0)

    handle = cw_flow.run()
    before = _open_widgets()
    panel = ExecutionPanel(handle.exec_id, client)
    assert panel.cards and _open_widgets() > before + 10  # rows, cards, buttons, layouts
    panel.refresh()
    panel.toggle_rows()
    panel.close()
    assert _open_widgets() == before


def test_an_overview_refresh_replaces_its_rows_without_leaking_widgets(client: kitaru.KitaruClient) -> None:
    @kitaru.flow
    def ov_leak(x: int) -> int:
        return x

    for i in range(3):
        ov_leak.run(i)
    view = Overview(client, limit=3)
    after_first = _open_widgets()
    for _ in range(5):
        view.refresh()
    assert _open_widgets() == after_first
    view.show(view.executions[0].exec_id)
    view.close()


def test_big_executions_fold_their_rows(client: kitaru.KitaruClient) -> None:
    @kitaru.checkpoint
    def fold_step(i: int) -> int:
        if i == 3:
            raise ValueError("row 3 fails once")
        return i

    @kitaru.flow
    def fold_flow() -> int:
        total = 0
        for i in range(150):
            try:
                total += fold_step(i)
            except ValueError:
                pass
        return total

    handle = fold_flow.run()
    panel = ExecutionPanel(handle.exec_id, client)
    shown = panel.rows_box.children
    from kitaru_nb.widgets.render import COLLAPSED_ROWS

    assert len(shown) == COLLAPSED_ROWS
    html = panel.timeline_html()
    assert "row 3 fails once" in html  # the failure stays visible
    assert ">149<" in html  # and so do the latest rows
    assert panel.more.description == f"{150 - COLLAPSED_ROWS} more" and panel.more.layout.display == ""
    panel.more.click()
    assert len(panel.rows_box.children) == 150
    assert panel.more.description == "show fewer rows"
    panel.close()


def test_times_read_as_in_the_sidebar_relative_with_the_exact_time_on_hover() -> None:
    import time
    from datetime import UTC, datetime

    from kitaru_nb.widgets.render import relative, when_html

    now = time.time()
    at = datetime.fromtimestamp(now - 5 * 60, tz=UTC)
    assert relative(at, now) == "5 minutes ago"
    assert relative(datetime.fromtimestamp(now - 3, tz=UTC), now) == "just now"
    assert relative(datetime.fromtimestamp(now - 3 * 3600, tz=UTC), now) == "3 hours ago"
    html = when_html(at)
    assert "minutes ago" in html and at.astimezone().strftime("%Y-%m-%d %H:%M:%S") in html
