"""Cards for what waits on a human: an error pause, a failed execution, a confirmation, a form.

Each card is a small VBox with escaped text and buttons; the buttons call back into
the panel, which runs the client verb (and so the flow's continuation) in the kernel.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from kitaru_nb.models import CheckpointCall, Execution, FailureInfo, PendingWait
from kitaru_nb.widgets.form import SchemaForm
from kitaru_nb.widgets.render import failure_html

CONFIRMATION = "confirmation"

Action = Callable[[], Any]


def _card(kind: str, parts: list[Any], accent: str) -> W.VBox:
    box = W.VBox(parts)
    box.layout = W.Layout(border=f"1px solid {accent}", padding="6px 10px", margin="6px 0")
    box.add_class("kitaru-card")
    box.add_class(f"kitaru-card-{kind}")
    return box


def button(description: str, style: str, css: str) -> W.Button:
    b = W.Button(description=description, button_style=style)
    b.add_class(css)
    return b


def is_confirmation(wait: PendingWait) -> bool:
    return isinstance(wait.metadata, dict) and wait.metadata.get("kitaru_kind") == CONFIRMATION


class Card:
    """A card widget plus its buttons (so the panel can disable them while work runs)."""

    def __init__(
        self,
        widget: W.VBox,
        buttons: list[W.Button],
        form: SchemaForm | None = None,
        inputs: list[Any] | None = None,
        form_error: W.HTML | None = None,
    ):
        self.widget = widget
        self.buttons = buttons
        self.form = form
        self.inputs = inputs or []
        self.form_error = form_error

    def close(self) -> None:
        """Close the card's widgets (a replaced card must not take clicks)."""
        close_tree(self.widget)

    def set_disabled(self, disabled: bool) -> None:
        for b in [*self.buttons, *self.inputs]:
            b.disabled = disabled
        if self.form is not None:
            self.form.set_disabled(disabled)


def close_tree(widget: Any) -> None:
    """Close a widget and everything in it, its own layout and style models included (shared ones,
    used by every row, stay)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    for attr in ("layout", "style"):
        part = getattr(widget, attr, None)
        if part is not None and not getattr(part, "_kitaru_shared", False) and hasattr(part, "close"):
            part.close()
    widget.close()


def error_pause_card(call: CheckpointCall, on_retry: Action, on_skip: Action) -> Card:
    title = W.HTML(
        value=f"<b>Checkpoint <code>{html.escape(call.name)}</code> failed after {len(call.attempts)} "
        "attempt(s) and waits for a decision.</b> Fix its code (re-run the cell that defines it) and "
        "Retry, or Skip it (it returns None)."
    )
    detail = W.HTML(value=failure_html(call.failure) if call.failure else "")
    detail.add_class("kitaru-card-failure")
    retry = button("Retry", "warning", "kitaru-retry")
    skip = button("Skip", "", "kitaru-skip")
    retry.on_click(lambda _b: on_retry())
    skip.on_click(lambda _b: on_skip())
    return Card(_card("error", [title, detail, W.HBox([retry, skip])], "#bf8700"), [retry, skip])


def is_interrupt(f: FailureInfo | None) -> bool:
    return f is not None and (f.exception_type or "") in ("KeyboardInterrupt", "SystemExit")


def failed_card(ex: Execution, on_retry: Action) -> Card:
    if is_interrupt(ex.failure):
        text = (
            f"<b>{html.escape(ex.failure.message if ex.failure else 'interrupted')}.</b> Nothing needs fixing: "
            "Retry continues from there (completed checkpoints are reused)."
        )
    else:
        text = (
            "<b>The execution failed.</b> Fix the code (re-run the cell that defines it), then Retry: "
            "completed checkpoints are reused, the failed one runs again."
        )
    title = W.HTML(value=text)
    detail = W.HTML(value=failure_html(ex.failure) if ex.failure else "")
    detail.add_class("kitaru-card-failure")
    retry = button("Retry", "warning", "kitaru-retry")
    retry.on_click(lambda _b: on_retry())
    return Card(_card("failed", [title, detail, W.HBox([retry])], "#cf222e"), [retry])


def replay_card(call: CheckpointCall, from_: str, on_replay: Callable[[str | None], Any], on_cancel: Action) -> Card:
    """ "Replay from here": run the checkpoint again, or reuse it with a new output (JSON, checked
    against the checkpoint's return annotation like a wait form's answer)."""
    title = W.HTML(
        value=f"<b>Replay from checkpoint <code>{html.escape(call.name)}</code> (#{call.index})</b>: a new "
        "execution reuses everything before it."
    )
    mode = W.RadioButtons(
        options=[("run it again", "run"), ("reuse it with this output:", "override")],
        value="run",
        layout=W.Layout(width="auto"),
    )
    mode.add_class("kitaru-replay-mode")
    editor = W.Textarea(value=call.output_preview or "", placeholder="JSON", layout=W.Layout(width="95%"))
    editor.add_class("kitaru-replay-output")
    error = W.HTML(value="")
    error.add_class("kitaru-replay-error")
    go = button("Replay", "primary", "kitaru-replay-go")
    cancel = button("Cancel", "", "kitaru-replay-cancel")
    go.on_click(lambda _b: on_replay(editor.value if mode.value == "override" else None))
    cancel.on_click(lambda _b: on_cancel())
    box = _card("replay", [title, mode, editor, error, W.HBox([go, cancel])], "#1f6feb")
    return Card(box, [go, cancel], inputs=[mode, editor], form_error=error)


def parse_output(checkpoint_name: str, text: str) -> tuple[Any, list[str]]:
    """(value, problems): ``text`` read as JSON and validated by the checkpoint's return type when
    this kernel defines it and it is annotated."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, [f"not JSON: {exc}"]
    from kitaru_nb.runtime import registry

    cp = registry.checkpoint_named(checkpoint_name)
    if cp is None:
        return value, []
    try:
        import typing

        hints = typing.get_type_hints(cp.fn)
    except Exception:
        return value, []
    if "return" not in hints:
        return value, []
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(hints["return"]).validate_python(value), []
    except ValidationError as exc:
        return None, [f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors(include_url=False)]
    except Exception:
        return value, []


def confirmation_card(wait: PendingWait, on_answer: Callable[[bool], Any]) -> Card:
    meta = wait.metadata
    step = str(meta.get("step", wait.name))
    message = meta.get("message") or wait.question or f"Run step {step}?"
    title = W.HTML(value=f"<b>Confirm step <code>{html.escape(step)}</code></b>")
    text = W.Label(value=str(message))
    text.add_class("kitaru-confirm-message")
    confirm = button("Confirm", "success", "kitaru-confirm")
    reject = button("Reject", "danger", "kitaru-reject")
    confirm.on_click(lambda _b: on_answer(True))
    reject.on_click(lambda _b: on_answer(False))
    return Card(_card("confirmation", [title, text, W.HBox([confirm, reject])], "#1f6feb"), [confirm, reject])


def wait_form_card(wait: PendingWait, on_submit: Callable[[SchemaForm], Any]) -> Card:
    title = W.HTML(value=f"<b>Input needed: <code>{html.escape(wait.name)}</code></b>")
    parts: list[Any] = [title]
    if wait.question:
        q = W.Label(value=wait.question)
        q.add_class("kitaru-question")
        parts.append(q)
    form = SchemaForm(declared_schema(wait.schema))
    submit = button("Submit", "primary", "kitaru-submit")
    submit.on_click(lambda _b: on_submit(form))
    parts += [form.widget, submit]
    card = _card("wait", parts, "#1f6feb")
    card.add_class(f"kitaru-wait-{form_slug(wait.name)}")
    return Card(card, [submit], form)


def declared_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The live adapter's schema when this process ran the wait, else the stored one.

    Both list the fields in declaration order (the journal stores the schema unsorted).
    """
    try:
        from kitaru_nb.wait import _adapters

        adapter = _adapters.get(json.dumps(schema))
        if adapter is not None:
            live: dict[str, Any] = adapter.json_schema()
            return live
    except Exception:
        pass
    return schema


def form_slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name)
