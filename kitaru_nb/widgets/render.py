"""Escaped HTML and text for the panel and for the static summary of saved notebooks.

Pure functions over the client's read models: no ipywidgets here, so a notebook
without widgets (or a kernel-less viewer) still gets a readable summary. Every
string that can come from user code goes through ``html.escape``.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from kitaru_nb.models import CheckpointAttempt, CheckpointCall, Execution, FailureInfo

MAX_ROWS = 200

STATUS_COLORS = {
    "running": "#1f6feb",
    "waiting": "#bf8700",
    "completed": "#1a7f37",
    "failed": "#cf222e",
    "cancelled": "#6e7781",
}

CALL_ICONS = {
    "running": "\u25b6",  # play
    "completed": "\u2714",  # check
    "reused": "\u21bb",  # reuse arrow
    "skipped": "\u21b7",  # skip arrow
    "failed": "\u2716",  # cross
    "waiting": "\u2016",  # pause bars (renders in common fonts)
}

E = html.escape


def status_text(status: Any) -> str:
    return str(getattr(status, "value", status))


def badge(status: Any) -> str:
    """A coloured status pill; the visible text is the bare status (tests look for it)."""
    s = status_text(status)
    color = STATUS_COLORS.get(s, "#6e7781")
    return (
        f'<span class="kitaru-status kitaru-status-{E(s)}" style="display:inline-block;padding:0 8px;'
        f'border-radius:10px;color:#fff;background:{color};font-size:12px;line-height:18px">{E(s)}</span>'
    )


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} \u00b5s"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def call_status(call: CheckpointCall) -> str:
    s = status_text(call.status)
    return "paused" if call.paused else s


def progress(ex: Execution) -> tuple[int, int]:
    """(finished checkpoints, known checkpoints)."""
    done = sum(1 for c in ex.checkpoints if status_text(c.status) in ("completed", "reused", "skipped"))
    return done, len(ex.checkpoints)


def header_html(ex: Execution) -> str:
    done, total = progress(ex)
    extra = ""
    if ex.original_exec_id:
        extra = f' <span style="opacity:.7">replay of {E(ex.original_exec_id[:8])}'
        extra += f" from {E(ex.replay_from)}</span>" if ex.replay_from else "</span>"
    return (
        f'<b class="kitaru-flow-name">{E(ex.flow_name)}</b> '
        f'<code class="kitaru-short-id">{E(ex.short_id)}</code> {badge(ex.status)} '
        f'<span class="kitaru-progress-text" style="opacity:.8">{done}/{total} checkpoints</span>{extra}'
    )


def failure_html(f: FailureInfo, *, open_traceback: bool = False) -> str:
    kind = f"{E(f.exception_type)}: " if f.exception_type else ""
    out = f'<div class="kitaru-failure"><b>{kind}</b><span class="kitaru-failure-message">{E(f.message)}</span>'
    out += f' <span style="opacity:.6">({E(status_text(f.origin))})</span></div>'
    if f.traceback:
        opened = " open" if open_traceback else ""
        out += (
            f"<details{opened}><summary>traceback</summary>"
            f'<pre class="kitaru-traceback" style="white-space:pre-wrap;font-size:11px;margin:0">'
            f"{E(f.traceback)}</pre></details>"
        )
    return out


def attempt_html(a: CheckpointAttempt) -> str:
    line = (
        f"<div class='kitaru-attempt'>attempt {a.number}: {E(status_text(a.status))}"
        f" <span style='opacity:.7'>{E(fmt_duration(a.duration))}</span></div>"
    )
    if a.failure is not None:
        line += f"<div style='margin-left:1.5em'>{failure_html(a.failure)}</div>"
    return line


def _visible_calls(calls: list[CheckpointCall]) -> tuple[list[CheckpointCall], int]:
    if len(calls) <= MAX_ROWS:
        return calls, 0
    notable = [c for c in calls if c.failure is not None or len(c.attempts) > 1 or c.paused]
    notable_ids = {c.call_id for c in notable[: MAX_ROWS // 2]}
    room = MAX_ROWS - len(notable_ids)
    tail_ids = {c.call_id for c in calls[-room:]}
    keep = [c for c in calls if c.call_id in notable_ids or c.call_id in tail_ids]
    return keep, len(calls) - len(keep)


def checkpoints_html(ex: Execution) -> str:
    """One row per checkpoint (at most MAX_ROWS), each with its attempt history when it has one."""
    if not ex.checkpoints:
        return '<div class="kitaru-checkpoints" style="opacity:.7">no checkpoints yet</div>'
    calls, hidden = _visible_calls(ex.checkpoints)
    cell = "padding:1px 8px;text-align:left"
    rows = [
        f"<tr><th style='{cell}'></th><th style='{cell}'>#</th><th style='{cell}'>checkpoint</th>"
        f"<th style='{cell}'>status</th><th style='{cell}'>attempts</th><th style='{cell}'>duration</th></tr>"
    ]
    for c in calls:
        st = call_status(c)
        icon = CALL_ICONS.get("waiting" if c.paused else st, "?")
        color = STATUS_COLORS.get({"paused": "waiting", "reused": "completed", "skipped": "cancelled"}.get(st, st), "")
        changed = " <span title='code changed since'>(code changed)</span>" if c.code_changed else ""
        rows.append(
            f"<tr class='kitaru-row kitaru-row-{st}'><td style='{cell};color:{color}'>{icon}</td>"
            f"<td style='{cell}'>{c.index}</td><td style='{cell}'>{E(c.name)}{changed}</td>"
            f"<td style='{cell}' class='kitaru-row-status'>{E(st)}</td><td style='{cell}'>{len(c.attempts)}</td>"
            f"<td style='{cell}'>{E(fmt_duration(c.duration))}</td></tr>"
        )
        if c.failure is not None or len(c.attempts) > 1:
            history = "".join(attempt_html(a) for a in c.attempts)
            rows.append(
                f"<tr><td></td><td colspan='5' style='{cell}'><details class='kitaru-history'>"
                f"<summary>attempt history ({len(c.attempts)})</summary>{history}</details></td></tr>"
            )
    note = f"<div style='opacity:.7'>{hidden} earlier completed checkpoints not shown</div>" if hidden else ""
    return f"{note}<table class='kitaru-checkpoints' style='border-collapse:collapse'>{''.join(rows)}</table>"


def result_html(ex: Execution) -> str:
    s = status_text(ex.status)
    if s == "completed" and ex.result_preview is not None:
        return f"<div class='kitaru-result'>result: <code>{E(ex.result_preview)}</code></div>"
    if s == "failed" and ex.failure is not None:
        return f"<div class='kitaru-exec-failure'>{failure_html(ex.failure)}</div>"
    return ""


def pending_html(ex: Execution) -> str:
    items = []
    for c in ex.pending_errors:
        what = f"{c.failure.exception_type}: {c.failure.message}" if c.failure else "failed"
        items.append(f"<li>checkpoint <b>{E(c.name)}</b> paused on error ({E(what)}): Retry or Skip</li>")
    for w in ex.pending_waits:
        q = f": {E(w.question)}" if w.question else ""
        items.append(f"<li>waits for <b>{E(w.name)}</b>{q}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def static_html(ex: Execution) -> str:
    """The summary a saved notebook shows without a kernel (the state when it was displayed)."""
    taken = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return (
        "<div class='kitaru-static-summary' style='font-family:var(--jp-ui-font-family, sans-serif)'>"
        f"<div>{header_html(ex)}</div>{result_html(ex)}{pending_html(ex)}{checkpoints_html(ex)}"
        f"<div style='opacity:.6;font-size:11px'>as of {taken}; the journal has the current state</div></div>"
    )


def text_summary(ex: Execution) -> str:
    done, total = progress(ex)
    line = f"{ex.flow_name} {ex.short_id} {status_text(ex.status)} ({done}/{total} checkpoints)"
    if status_text(ex.status) == "failed" and ex.failure is not None:
        line += f": {ex.failure.exception_type or 'error'}: {ex.failure.message}"
    for w in ex.pending_waits:
        line += f"; waits for {w.name!r}"
    for c in ex.pending_errors:
        line += f"; checkpoint {c.name!r} paused on error"
    return line
