"""The execution panel: a live ipywidgets view of one execution, with its human decisions.

Data comes from ``KitaruClient`` only. Live updates come from the engine's listener
hook (see hub.py) and are throttled: a full refresh (which reads the execution) at most
every ``MIN_REFRESH`` seconds and never more often than ``REFRESH_COST_FACTOR`` times its
own cost; in between, the progress bar moves from the events alone. So a flow with
thousands of checkpoints sends a few dozen widget messages, not thousands.

The panel never continues an execution on its own schedule: clicks call client verbs, and
answers given elsewhere are carried out by the kernel watcher (``runtime/watcher.py``). A
panel of an unfinished execution only looks at the journal's change token when the kernel is
idle, to redraw what changed elsewhere.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as W

from kitaru_nb.errors import KitaruError, KitaruWaitValidationError
from kitaru_nb.models import Execution
from kitaru_nb.runtime import concurrent
from kitaru_nb.runtime.watcher import kernel_loop
from kitaru_nb.types import ExecutionStatus
from kitaru_nb.widgets import cards as C
from kitaru_nb.widgets import groups as G
from kitaru_nb.widgets import render as R
from kitaru_nb.widgets.form import SchemaForm, error_html
from kitaru_nb.widgets.hub import hub

MIN_REFRESH = 0.15
# a full refresh reads the whole execution; wait at least this many times its cost before the next
REFRESH_COST_FACTOR = 16
POLL_SECONDS = 0.5
_TERMINAL = (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
DISCONNECTED = "not connected to a kernel: re-run this cell, or kitaru.panel()"


class ExecutionPanel(W.VBox):  # type: ignore[misc]
    """Name, short id, status badge, progress, the timeline (checkpoints and waits), cards and output."""

    def __init__(self, exec_id: str | None, client: Any, *, poll: bool = True, auto: bool = False, **kwargs: Any):
        self.header = W.HTML(value="")
        self.header.add_class("kitaru-header")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="260px"))
        self.progress.add_class("kitaru-progress")
        self.live = W.Label(value="")
        self.live.add_class("kitaru-live")
        # shown by the front end's stylesheet only once the panel lost its kernel (a reopened notebook)
        self.disconnected = W.HTML(value=f"<span>{R.E(DISCONNECTED)}</span>", layout=W.Layout(display="none"))
        self.disconnected.add_class("kitaru-disconnected-line")
        self.result = W.HTML(value="")
        self.result.add_class("kitaru-result-box")
        self.notice = W.HTML(value="")
        self.notice.add_class("kitaru-notice")
        self.cards_box = W.VBox([])
        self.cards_box.add_class("kitaru-cards")
        self.table = W.HTML(value="")  # the timeline while the flow runs: one cheap HTML table
        self.table.add_class("kitaru-table-live")
        self.rows_box = W.VBox([])  # the timeline once it settled: rows with their buttons
        self.rows_box.add_class("kitaru-rows")
        timeline = W.VBox([self.table, self.rows_box])
        timeline.add_class("kitaru-table")
        self.more = W.Button(description="", layout=W.Layout(width="auto", display="none"))
        self.more.add_class("kitaru-more")
        self.more.on_click(lambda _b: self.toggle_rows())
        self.output = W.Output(layout=W.Layout(max_height="300px", overflow="auto"))
        self.output.add_class("kitaru-output")
        super().__init__(
            [
                self.header,
                W.HBox([self.progress, self.live]),
                self.disconnected,
                self.result,
                self.notice,
                self.cards_box,
                timeline,
                self.more,
                self.output,
            ],
            **kwargs,
        )
        self.add_class("kitaru-panel")
        self.layout.border = "1px solid var(--jp-border-color2, #ddd)"
        self.layout.padding = "6px 10px"
        self.client = client
        self.auto = auto
        self.exec_id: str | None = None
        self.execution: Execution | None = None
        self.cards: list[C.Card] = []
        self.expanded = False
        self._collapsed: set[str] = set()  # step-workflow groups the user folded (Group.uid)
        self.estimate: int | None = None
        self._estimated = False  # asked the journal once (None stays None: no completed run to go by)
        self._card_sig: Any = None
        self._rows_sig: Any = None
        self._card_gen = 0
        self._busy = False
        self._closed = False
        self._poll_enabled = poll
        self._poll_handle: Any = None
        self._seen_token: int | None = None
        self._ready_notice = False
        self._running = False
        self._next_refresh = 0.0
        self._next_light = 0.0
        self._live_done = 0
        self._live_index = 0
        self._live_name = ""
        self.refreshes = 0
        if exec_id is None:
            self.header.value = "<i>waiting for the next execution started in this kernel\u2026</i>"
            hub.follow(self)
        else:
            self.adopt(exec_id)

    # -- data -------------------------------------------------------------------------
    def adopt(self, exec_id: str) -> None:
        """Show execution ``exec_id`` (a follower panel adopts the first one that starts)."""
        self.exec_id = exec_id
        hub.add(self)
        self.refresh()

    def on_event(self, event: str, index: int, name: str) -> None:
        if self._closed:
            return
        if event == "drive_ended":
            self._running = False
            self.refresh()
            return
        self._running = True  # it runs in this process: live reads glance at its last rows only
        if event == "drive_started":
            if time.monotonic() >= self._next_refresh:
                self.refresh()
            return
        if event == "call_ended":
            self._live_done += 1
        else:
            self._live_name, self._live_index = name, index
        now = time.monotonic()
        if now >= self._next_refresh:
            self.refresh()
        elif now >= self._next_light:
            # between full refreshes (which read the journal), move the bar from the events alone
            self._next_light = now + MIN_REFRESH
            self.progress.max = max(self.progress.max, self._live_index + 1)
            self.progress.value = min(max(self.progress.value, self._live_done), self.progress.max - 1)
            self.live.value = f"running {self._live_name} (#{self._live_index})"

    def refresh(self) -> Execution | None:
        """Read the execution through the client and render it."""
        if self.exec_id is None or self._closed:
            return None
        t0 = time.monotonic()
        try:
            verbs = self.client.executions
            # folded (the default): the counts, the last rows and the rows not done, at a cost that does
            # not grow with the execution; unfolded: every row
            ex: Execution = (
                verbs.get(self.exec_id)
                if self.expanded and not self._running
                else verbs.glance(self.exec_id, last=R.COLLAPSED_ROWS)
            )
            if not self._estimated and R.status_text(ex.status) == ExecutionStatus.RUNNING:
                self._estimated = True
                self.estimate = self.client.executions.estimated_size(ex.flow_name)
        except KitaruError as exc:
            self.notice.value = error_html([str(exc)])
            return None
        self.render(ex)
        cost = time.monotonic() - t0
        self._next_refresh = time.monotonic() + max(MIN_REFRESH, REFRESH_COST_FACTOR * cost)
        self._next_light = time.monotonic() + MIN_REFRESH
        self.refreshes += 1
        return ex

    def render(self, ex: Execution) -> None:
        self.execution = ex
        status = ex.status
        done, _known = ex.progress
        self._live_done = done
        total, _guess = R.estimated_total(ex, self.estimate)
        self.header.value = (
            R.header_html(ex)
            + " "
            + R.owner_html(ex)
            + R.dashboard_html(concurrent.dashboard_link())
            + R.execution_extras_html(ex)
        )
        self.progress.max = max(total, 1)
        self.progress.value = min(done, max(total, 1))
        self.progress.bar_style = {
            ExecutionStatus.COMPLETED: "success",
            ExecutionStatus.FAILED: "danger",
            ExecutionStatus.WAITING: "warning",
        }.get(status, "info")
        self.live.value = R.progress_text(ex, self.estimate)
        self.result.value = R.result_html(ex)
        if self._ready_notice and status != ExecutionStatus.WAITING:
            self._ready_notice = False  # the kernel continued it: the hint about the missing flow is moot
            self.notice.value = ""
        self._render_rows(ex)
        sig = (
            status,
            tuple(w.name for w in ex.pending_waits),
            tuple((c.call_id, len(c.attempts)) for c in ex.pending_errors),
            ex.failure.message if ex.failure else None,
        )
        if sig != self._card_sig:
            self._card_sig = sig
            self._build_cards(ex)
        elif not self._busy:
            self._set_disabled(False)
        if status in _TERMINAL:
            self._stop_polling()
        else:
            self._ensure_polling()

    # -- the timeline -----------------------------------------------------------------
    def _render_rows(self, ex: Execution) -> None:
        all_rows = R.rows(ex)
        shown, hidden = R.visible_rows(all_rows, expanded=self.expanded)
        if ex.partial and ex.summary is not None:  # a glance: only the last rows (and the open ones) were read
            hidden = max(0, ex.summary["total"] - len(shown))
        folded = hidden > 0 or len(all_rows) > R.COLLAPSED_ROWS
        self.more.description = (
            f"{hidden} more" if hidden and not self.expanded else ("show fewer rows" if self.expanded else "")
        )
        self.more.layout.display = "" if folded else "none"
        if R.status_text(ex.status) == ExecutionStatus.RUNNING:
            # while it runs: one HTML table (cheap to send), no per-row buttons
            if self.rows_box.children:
                old = list(self.rows_box.children)
                self.rows_box.children = []
                for w in old:
                    C.close_tree(w)
                self._rows_sig = None
            self.table.value = R.table_html(shown, hidden, R.timeline_tree(ex, all_rows, shown))
            return
        sig: Any = (
            tuple((r.index, r.status, r.name, len(r.call.attempts) if r.call else 0, r.wait) for r in shown),
            hidden,
            self.expanded,
        )
        if sig == self._rows_sig:
            return
        self._rows_sig = sig
        self.table.value = (
            "" if shown else '<div class="kitaru-checkpoints" style="opacity:.7">no checkpoints yet</div>'
        )
        tree = R.timeline_tree(ex, all_rows, shown)
        widgets = [self._row_widget(r) for r in shown] if tree is None else self._tree_widgets(tree, grouped=False)
        old = list(self.rows_box.children)
        self.rows_box.children = widgets
        for w in old:
            C.close_tree(w)

    def _tree_widgets(self, items: list[Any], *, grouped: bool) -> list[Any]:
        """Rows, and a step-workflow construct's rows in a collapsible group under its summary line."""
        out: list[Any] = []
        for item in items:
            if isinstance(item, G.Group):
                out.append(self._group_widget(item))
            else:
                out.append(self._row_widget(item, grouped=grouped))
        return out

    def _group_widget(self, g: G.Group) -> W.VBox:
        closed = g.uid in self._collapsed
        toggle = W.Button(
            description=("\u25b8 " if closed else "\u25be ") + g.label,  # text, never HTML
            tooltip=f"{g.label} ({g.status})",
            layout=W.Layout(width="auto"),
            _dom_classes=("kitaru-panel-group-toggle", f"kitaru-panel-group-{g.status}"),
        )
        body = W.VBox(
            self._tree_widgets(g.items, grouped=True),
            layout=W.Layout(margin="0 0 0 14px", display="none" if closed else ""),
            _dom_classes=("kitaru-group-body",),
        )

        def flip(_b: Any) -> None:
            now_closed = g.uid not in self._collapsed
            if now_closed:
                self._collapsed.add(g.uid)
            else:
                self._collapsed.discard(g.uid)
            body.layout.display = "none" if now_closed else ""
            toggle.description = ("\u25b8 " if now_closed else "\u25be ") + g.label

        toggle.on_click(flip)
        box = W.VBox([toggle, body], _dom_classes=("kitaru-group", f"kitaru-group-{g.kind}"))
        box._kitaru_group = g
        return box

    def _row_widget(self, r: R.Row, *, grouped: bool = False) -> W.HBox:
        # classes go in with the state (one comm_open a widget, no class updates after it)
        shared = _shared()
        cells = W.HTML(
            value=f"<table style='border-collapse:collapse'>{R.row_html(r, grouped=grouped)}</table>",
            layout=shared["auto"],
            _dom_classes=("kitaru-row-cells",),
        )
        parts: list[Any] = [cells]
        if r.replayable:
            b = W.Button(
                description="Replay from here",
                layout=shared["auto"],
                style=shared["button"],
                _dom_classes=("kitaru-replay-from",),
            )
            b.on_click(lambda _b, row=r: self.show_replay(row))
            parts.append(b)
        return W.HBox(parts, layout=shared["row"], _dom_classes=("kitaru-row-box", f"kitaru-row-{r.status}"))

    def timeline_html(self) -> str:
        """The timeline as shown: the live table, or the rows of a settled execution (a group as its
        summary line, then its rows)."""

        def walk(children: Any) -> str:
            out = ""
            for ch in children:
                if getattr(ch, "_kitaru_group", None) is not None:
                    toggle, body = ch.children
                    out += f"<div class='kitaru-group-line'>{R.E(toggle.description)}</div>" + walk(body.children)
                elif getattr(ch, "children", None):
                    out += str(ch.children[0].value)
            return out

        return str(self.table.value) + walk(self.rows_box.children)

    def toggle_rows(self) -> None:
        self.expanded = not self.expanded
        self._rows_sig = None
        if self.execution is not None:
            if self.execution.partial and self.expanded:
                self.refresh()  # read every row now
            else:
                self._render_rows(self.execution)

    # -- cards and actions ------------------------------------------------------------
    def _build_cards(self, ex: Execution) -> None:
        self._card_gen += 1
        gen = self._card_gen

        def guard(fn: Callable[..., Any], *args: Any) -> Callable[..., Any]:
            return functools.partial(self._current_only, gen, fn, *args)

        cards: list[C.Card] = []
        status = ex.status
        waiting = status == ExecutionStatus.WAITING  # a cancelled execution keeps its open waits but takes no answers
        for call in ex.pending_errors if waiting else []:
            cards.append(
                C.error_pause_card(call, on_retry=guard(self.retry, call.name), on_skip=guard(self.skip, call.name))
            )
        for wait in ex.pending_waits if waiting else []:
            if C.is_confirmation(wait):
                cards.append(C.confirmation_card(wait, guard(self.answer, wait.name)))
            else:
                cards.append(C.wait_form_card(wait, guard(self.submit, wait.name)))
        if status == ExecutionStatus.FAILED:
            cards.append(C.failed_card(ex, on_retry=guard(self.retry)))
        self._set_cards(cards)

    def _set_cards(self, cards: list[C.Card]) -> None:
        old, self.cards = self.cards, cards
        self.cards_box.children = [c.widget for c in cards]
        self._set_disabled(self._busy)
        for card in old:
            card.close()

    def _current_only(self, gen: int, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a card's action only if the card is still the current one (no double submits)."""
        if gen != self._card_gen or self._busy:
            return None
        return fn(*args)

    def _unchanged_code_note(self, name: str | None) -> str:
        ex = self.execution
        if ex is None:
            return ""
        failed = [c for c in ex.checkpoints if c.failure is not None and (name is None or c.name == name)]
        if failed and failed[-1].code_changed is False:
            return (
                f"The code of checkpoint {failed[-1].name!r} is unchanged since it failed: Retry runs the same "
                "code again. To change it, re-run the cell that defines it first."
            )
        return ""

    def retry(self, checkpoint: str | None = None) -> None:
        """Retry the failed execution, or the checkpoint paused on error, with the current code."""
        note = self._unchanged_code_note(checkpoint)
        self.act("retrying", lambda: self._verbs().retry(self.exec_id, checkpoint=checkpoint))
        if note and not self.notice.value:
            self.notice.value = f"<div class='kitaru-unchanged' style='opacity:.8'>{R.E(note)}</div>"

    def skip(self, checkpoint: str | None = None) -> None:
        """Skip the checkpoint paused on error (it returns None) and continue."""
        self.act("skipping", lambda: self._verbs().skip(self.exec_id, checkpoint=checkpoint))

    def _verbs(self) -> Any:
        return self.client.executions

    def _set_disabled(self, disabled: bool) -> None:
        for c in self.cards:
            c.set_disabled(disabled)

    def act(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run a verb (which runs the flow's continuation) with buttons disabled and output captured."""
        if self._busy or self._closed:
            return None
        self._busy = True
        self._set_disabled(True)
        self.notice.value = f"<i>{R.E(what)}\u2026</i>"
        out = None
        try:
            with self.output:
                try:
                    out = fn()
                    self.notice.value = ""
                except KitaruError as exc:
                    self.notice.value = error_html([str(exc)])
        finally:
            self._busy = False
            self.refresh()
        return out

    @contextlib.contextmanager
    def capture_text(self) -> Iterator[None]:
        """Collect what runs print into the output area, outside a front-end request (the kernel
        watcher's ticks), where the Output widget's routing by request has nothing to route to."""
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                yield
        finally:
            if out.getvalue():
                self.output.append_stdout(out.getvalue())
            if err.getvalue():
                self.output.append_stderr(err.getvalue())

    def answer(self, wait: str, value: Any) -> None:
        self.act(
            f"answering {wait}",
            lambda: self._verbs().input(self.exec_id, wait=wait, value=value, answered_by="panel"),
        )

    def submit(self, wait: str, form: SchemaForm) -> bool:
        """Validate and record the form's value; inline errors (and nothing recorded) when invalid."""
        form.clear_errors()
        value, problems = form.read()
        if problems:
            form.show_errors(problems)
            self.notice.value = error_html(
                ["Not recorded: fix the fields marked below. The execution is still waiting."]
            )
            return False

        def send() -> None:
            try:
                self._verbs().input(self.exec_id, wait=wait, value=value, answered_by="panel")
            except KitaruWaitValidationError as exc:
                problems.extend(exc.errors)

        self.act(f"submitting {wait}", send)
        if problems:
            form.show_errors(problems)
            self.notice.value = error_html(
                ["Not recorded: fix the fields marked below. The execution is still waiting."]
            )
        return not problems

    # -- replay from a row --------------------------------------------------------------
    def show_replay(self, row: R.Row) -> None:
        """A card for "Replay from here": run that checkpoint again, or reuse it with a new output."""
        if self._busy or self.exec_id is None or row.call is None:
            return
        earlier = [c for c in (self.execution.checkpoints if self.execution else []) if c.name == row.name]
        k = 1 + sum(1 for c in earlier if c.index < row.index)
        from_ = f"{row.name}#{k}"
        card = C.replay_card(
            row.call,
            from_,
            on_replay=lambda output_text: self.replay(from_, output_text, card),
            on_cancel=lambda: self._drop_card(card),
        )
        self._set_cards([*self.cards, card])

    def _drop_card(self, card: C.Card) -> None:
        self._set_cards([c for c in self.cards if c is not card])

    def replay(self, from_: str, output_text: str | None, card: C.Card | None = None) -> Any:
        """Replay this execution from ``from_`` (``output_text``: JSON for that checkpoint's new output;
        it is then reused with that output and the replay runs from the next position). The new
        execution's live panel appears in this panel's output area."""
        from kitaru_nb.runtime.replay import run_replay

        kwargs: dict[str, Any] = {}
        if output_text is not None:
            name = from_.partition("#")[0]
            value, problems = C.parse_output(name, output_text)
            if problems:
                if card is not None and card.form_error is not None:
                    card.form_error.value = error_html(problems)
                return None
            kwargs = {"after": True, "output": value}
        if card is not None:
            self._drop_card(card)
        follower = ExecutionPanel(None, self.client)
        with self.output:
            from IPython.display import display

            display(follower)  # type: ignore[no-untyped-call]
        result = self.act(
            f"replaying from {from_}",
            lambda: run_replay(self.client.journal, str(self.exec_id), from_=from_, **kwargs),
        )
        if result is None and follower.exec_id is None:
            follower.close()
        return result

    # -- changes made elsewhere ---------------------------------------------------------
    def _ensure_polling(self) -> None:
        if not self._poll_enabled or self._poll_handle is not None or self._closed or self.exec_id is None:
            return
        loop = kernel_loop()
        if loop is None:
            return
        try:
            if threading.current_thread() is not threading.main_thread():
                loop.call_soon_threadsafe(self._ensure_polling, context=contextvars.Context())
                return
            # a fresh context: the callback must not carry the context of a flow running now
            self._poll_handle = loop.call_later(POLL_SECONDS, self._poll, context=contextvars.Context())
        except RuntimeError:  # loop closed (kernel shutting down)
            self._poll_handle = None

    @property
    def polling(self) -> bool:
        return self._poll_handle is not None and not self._closed

    def _stop_polling(self) -> None:
        if self._poll_handle is not None:
            self._poll_handle.cancel()
            self._poll_handle = None

    def _poll(self) -> None:
        self._poll_handle = None
        if self._closed or self.exec_id is None:
            return
        try:
            self.check_journal()
        except Exception as exc:  # never let a display break the kernel loop
            self.notice.value = error_html([f"panel refresh failed: {type(exc).__name__}: {exc}"])
        if self.execution is not None and R.status_text(self.execution.status) not in _TERMINAL:
            self._ensure_polling()

    def check_journal(self) -> None:
        """Redraw when the journal changed since the last look (an answer given elsewhere, say); when
        every answer is in but no kernel here defines the flow, say what to run."""
        if self._busy or self.exec_id is None:
            return
        token = self.client.journal.change_token()
        if token == self._seen_token:
            return
        self._seen_token = token
        ex = self.refresh()
        if ex is None or R.status_text(ex.status) != ExecutionStatus.WAITING or ex.pending_waits or ex.pending_errors:
            return
        if not self._verbs().defined_here(ex.exec_id):
            self._ready_notice = True
            self.notice.value = error_html(
                [
                    "Every answer and decision is in, but this kernel does not know the flow: "
                    f"{self._verbs().where_defined(ex.exec_id)}, and this kernel continues it when idle."
                ]
            )

    # -- display ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the panel and every widget in it (cards, rows, forms)."""
        if self._closed:
            return
        self._closed = True
        self._stop_polling()
        hub.remove(self)
        for card in self.cards:
            card.close()
        self.cards = []
        for child in list(self.children):
            C.close_tree(child)
        self.layout.close()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        if self.execution is not None:
            data["text/plain"] = R.text_summary(self.execution)
            data["text/html"] = R.static_html(self.execution)
        return data


_SHARED: dict[str, Any] = {}


def _shared() -> dict[str, Any]:
    """Layout and style models every row shares (a row costs three widget models, not eight)."""
    if not _SHARED or any(getattr(w, "comm", None) is None for w in _SHARED.values()):
        _SHARED.update(
            auto=W.Layout(width="auto"),
            row=W.Layout(align_items="center"),
            button=W.ButtonStyle(),
        )
        for w in _SHARED.values():
            w._kitaru_shared = True
    return _SHARED


def follow(client: Any = None) -> ExecutionPanel:
    """A panel that attaches to the next execution that runs in this kernel and shows it live.

    Runs started from a cell show their panel on their own; ``follow()`` is for runs started
    elsewhere in the kernel (a thread, a callback).
    """
    if client is None:
        from kitaru_nb.client import KitaruClient

        client = KitaruClient()
    return ExecutionPanel(None, client)
