"""The execution panel: a live ipywidgets view of one execution, with its human decisions.

Data comes from ``KitaruClient`` only. Live updates come from the engine's listener
hook (see hub.py) and are throttled: a full refresh (which reads the execution) at most
every ``MIN_REFRESH`` seconds and never more often than ``REFRESH_COST_FACTOR`` times its
own cost; in between, the progress bar moves from the events alone. So a flow with
thousands of checkpoints sends a few dozen widget messages, not thousands.

A panel that shows an unfinished execution also checks the journal on the kernel's
event loop (callbacks there run only while no cell executes): an answer given elsewhere
- the JupyterLab sidebar, another process - resumes the flow here.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as W

from kitaru_nb.errors import KitaruError, KitaruWaitValidationError
from kitaru_nb.models import Execution
from kitaru_nb.widgets import cards as C
from kitaru_nb.widgets import render as R
from kitaru_nb.widgets.form import SchemaForm, error_html
from kitaru_nb.widgets.hub import hub, kernel_loop

MIN_REFRESH = 0.15
# a full refresh reads the whole execution; wait at least this many times its cost before the next
REFRESH_COST_FACTOR = 16
POLL_SECONDS = 0.5
_TERMINAL = ("completed", "failed", "cancelled")


class ExecutionPanel(W.VBox):  # type: ignore[misc]
    """Name, short id, status badge, progress, checkpoint rows, cards and an output area."""

    def __init__(self, exec_id: str | None, client: Any, *, poll: bool = True, **kwargs: Any):
        self.header = W.HTML(value="")
        self.header.add_class("kitaru-header")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="260px"))
        self.progress.add_class("kitaru-progress")
        self.live = W.Label(value="")
        self.live.add_class("kitaru-live")
        self.result = W.HTML(value="")
        self.result.add_class("kitaru-result-box")
        self.table = W.HTML(value="")
        self.table.add_class("kitaru-table")
        self.notice = W.HTML(value="")
        self.notice.add_class("kitaru-notice")
        self.cards_box = W.VBox([])
        self.cards_box.add_class("kitaru-cards")
        self.output = W.Output(layout=W.Layout(max_height="300px", overflow="auto"))
        self.output.add_class("kitaru-output")
        super().__init__(
            [
                self.header,
                W.HBox([self.progress, self.live]),
                self.result,
                self.notice,
                self.cards_box,
                self.table,
                self.output,
            ],
            **kwargs,
        )
        self.add_class("kitaru-panel")
        self.layout.border = "1px solid var(--jp-border-color2, #ddd)"
        self.layout.padding = "6px 10px"
        self.client = client
        self.exec_id: str | None = None
        self.execution: Execution | None = None
        self.cards: list[C.Card] = []
        self._card_sig: Any = None
        self._card_gen = 0
        self._busy = False
        self._closed = False
        self._poll_enabled = poll
        self._poll_handle: Any = None
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
            self.live.value = ""
            self.refresh()
            return
        if event == "call_ended":
            self._live_done = max(self._live_done, index + 1)
        else:
            self._live_name, self._live_index = name, index
        now = time.monotonic()
        if now >= self._next_refresh:
            self.refresh()
        elif now >= self._next_light:
            # between full refreshes (which read the journal), move the bar from the events alone
            self._next_light = now + MIN_REFRESH
            self.progress.max = max(self.progress.max, self._live_index + 1, self._live_done)
            self.progress.value = min(max(self.progress.value, self._live_done), self.progress.max)
            self.live.value = f"running {self._live_name} (#{self._live_index})"

    def refresh(self) -> Execution | None:
        """Read the execution through the client and render it."""
        if self.exec_id is None or self._closed:
            return None
        t0 = time.monotonic()
        try:
            ex: Execution = self.client.executions.get(self.exec_id)
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
        status = R.status_text(ex.status)
        done, total = R.progress(ex)
        self.header.value = R.header_html(ex)
        self.progress.max = max(total, 1)
        self.progress.value = min(done, max(total, 1))
        self.progress.bar_style = {"completed": "success", "failed": "danger", "waiting": "warning"}.get(status, "info")
        self.result.value = R.result_html(ex)
        self.table.value = R.checkpoints_html(ex)
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

    # -- cards and actions ------------------------------------------------------------
    def _build_cards(self, ex: Execution) -> None:
        self._card_gen += 1
        gen = self._card_gen

        def guard(fn: Callable[..., Any], *args: Any) -> Callable[..., Any]:
            return functools.partial(self._current_only, gen, fn, *args)

        cards: list[C.Card] = []
        status = R.status_text(ex.status)
        waiting = status == "waiting"  # a cancelled execution keeps its open waits but takes no answers
        for call in ex.pending_errors if waiting else []:
            cards.append(C.error_pause_card(call, on_retry=guard(self.retry), on_skip=guard(self.skip, call.name)))
        for wait in ex.pending_waits if waiting else []:
            if C.is_confirmation(wait):
                cards.append(C.confirmation_card(wait, guard(self.answer, wait.name)))
            else:
                cards.append(C.wait_form_card(wait, guard(self.submit, wait.name)))
        if status == "failed":
            cards.append(C.failed_card(ex, on_retry=guard(self.retry)))
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

    def retry(self) -> None:
        """Retry the failed execution, or the checkpoint paused on error, with the current code."""
        self.act("retrying", lambda: self._verbs().retry(self.exec_id))

    def skip(self, checkpoint: str | None = None) -> None:
        """Skip the checkpoint paused on error (it returns None) and continue."""
        self.act("skipping", lambda: self._verbs().skip(self.exec_id, checkpoint=checkpoint))

    def _verbs(self) -> Any:
        return self.client.executions

    def _set_disabled(self, disabled: bool) -> None:
        for c in self.cards:
            c.set_disabled(disabled)

    def act(self, what: str, fn: Callable[[], Any], *, capture: str = "widget", quiet: bool = False) -> Any:
        """Run a verb (which runs the flow's continuation) with buttons disabled and output captured.

        ``quiet``: no "working" notice and no refresh unless the verb did something (the idle check).
        """
        if self._busy or self._closed:
            return None
        self._busy = True
        self._set_disabled(True)
        if not quiet:
            self.notice.value = f"<i>{R.E(what)}\u2026</i>"
        out = None
        try:
            with self._capture(capture):
                try:
                    out = fn()
                    if not quiet:
                        self.notice.value = ""
                except KitaruError as exc:
                    self.notice.value = error_html([str(exc)])
        finally:
            self._busy = False
            if not quiet or out:
                self.refresh()
            else:
                self._set_disabled(False)
        return out

    @contextlib.contextmanager
    def _capture(self, how: str) -> Iterator[None]:
        if how == "widget":
            with self.output:
                yield
            return
        # outside a frontend request (the idle poll) the Output widget's message routing has no live
        # parent request: capture text and append it to the widget's state instead
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
        self.act(f"answering {wait}", lambda: self._verbs().input(self.exec_id, wait=wait, value=value))

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
                self._verbs().input(self.exec_id, wait=wait, value=value)
            except KitaruWaitValidationError as exc:
                problems.extend(exc.errors)

        self.act(f"submitting {wait}", send)
        if problems:
            form.show_errors(problems)
            self.notice.value = error_html(
                ["Not recorded: fix the fields marked below. The execution is still waiting."]
            )
        return not problems

    # -- answers given elsewhere --------------------------------------------------------
    def _ensure_polling(self) -> None:
        if not self._poll_enabled or self._poll_handle is not None or self._closed or self.exec_id is None:
            return
        if not hub.claim_poll(self.exec_id, self):
            return  # another panel of this execution polls; its resume updates this one too
        loop = kernel_loop()
        if loop is None:
            return
        try:
            if threading.current_thread() is not threading.main_thread():
                # a flow running in a thread of its own: schedule from the loop's thread
                loop.call_soon_threadsafe(self._ensure_polling)
                return
            self._poll_handle = loop.call_later(POLL_SECONDS, self._poll)
        except RuntimeError:  # loop closed (kernel shutting down)
            self._poll_handle = None

    @property
    def polling(self) -> bool:
        return self._poll_handle is not None and not self._closed

    def _stop_polling(self) -> None:
        if self._poll_handle is not None:
            self._poll_handle.cancel()
            self._poll_handle = None
        if self.exec_id is not None:
            hub.release_poll(self.exec_id, self)

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
        """Pick up changes made elsewhere; resume here when every wait got its answer and every
        checkpoint paused on error its decision."""
        if self._busy or self.exec_id is None:
            return
        statuses = self._verbs().statuses([self.exec_id])
        status = statuses.get(self.exec_id)
        current = self.execution
        if status == "waiting":
            waits = self._verbs().pending_waits(self.exec_id)
            paused = self._verbs().paused_checkpoints(self.exec_id)
            known = tuple(w.name for w in current.pending_waits) if current else ()
            known_paused = [c.name for c in current.pending_errors] if current else []
            # every answer and every retry/skip decision is in (given here or elsewhere): resume
            if not waits and not paused:
                resumed = self.act(
                    "resuming with the answer given elsewhere",
                    lambda: self._verbs()._resume_if_ready(self.exec_id),
                    capture="text",
                    quiet=True,
                )
                if resumed:
                    self.notice.value = ""
                elif self._verbs().statuses([self.exec_id]).get(self.exec_id) == "waiting":
                    self.notice.value = error_html(
                        [
                            "Every answer and decision is in, but this kernel does not know the flow: run the cell that "
                            "defines it and the panel resumes it."
                        ]
                    )
                    if current is not None and (current.pending_waits or current.pending_errors):
                        self.refresh()  # the answered wait's form (or the decided error card) goes away
                return
            if (
                tuple(w.name for w in waits) == known
                and paused == known_paused
                and current is not None
                and R.status_text(current.status) == status
            ):
                return
        elif current is not None and status == R.status_text(current.status) and status != "running":
            return
        for panel in hub.panels_for(self.exec_id) or [self]:
            panel.refresh()

    # -- display ------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        self._stop_polling()
        hub.remove(self)
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        if self.execution is not None:
            data["text/plain"] = R.text_summary(self.execution)
            data["text/html"] = R.static_html(self.execution)
        return data


def follow(client: Any = None) -> ExecutionPanel:
    """A panel that attaches to the next execution that runs in this kernel and shows it live.

    Display it, then run a flow in the same or a later cell.
    """
    if client is None:
        from kitaru_nb.client import KitaruClient

        client = KitaruClient()
    return ExecutionPanel(None, client)
