"""Escaped HTML and text for the panel and for the static summary of saved notebooks.

Pure functions over the client's read models: no ipywidgets here, so a notebook
without widgets (or a kernel-less viewer) still gets a readable summary. Every
string that can come from user code goes through ``html.escape``.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from kitaru_nb.models import ArtifactRef, CheckpointAttempt, CheckpointCall, Execution, FailureInfo, WaitRecord
from kitaru_nb.types import ExecutionStatus
from kitaru_nb.widgets import groups as G

MAX_ROWS = 500
#: characters of a metadata line, of one metadata value and of an artifact's preview in a row
META_CHARS = 160
VALUE_CHARS = 40
PREVIEW_CHARS = 80
#: rows a big execution shows before "N more" (failures, pauses and the latest rows)
COLLAPSED_ROWS = 25

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
    return call.display_status


@dataclass(frozen=True, slots=True)
class Row:
    """One position of the timeline: a checkpoint call, or a wait / confirmation with its answer."""

    index: int
    kind: str  # checkpoint, wait, confirmation
    name: str
    status: str
    call: CheckpointCall | None = None
    wait: WaitRecord | None = None

    @property
    def notable(self) -> bool:
        if self.call is not None:
            return self.call.failure is not None or len(self.call.attempts) > 1 or self.call.paused
        return self.status in ("waiting", "failed")

    @property
    def replayable(self) -> bool:
        return self.call is not None and self.status in ("completed", "reused")


def rows(ex: Execution) -> list[Row]:
    out = [Row(c.index, "checkpoint", c.name, c.display_status, call=c) for c in ex.checkpoints]
    out += [Row(w.index, w.kind, w.name, w.status, wait=w) for w in ex.waits]
    out.sort(key=lambda r: r.index)
    return out


def visible_rows(all_rows: list[Row], *, expanded: bool) -> tuple[list[Row], int]:
    """Rows to show and how many are folded away: failures, pauses, open waits and the latest rows
    stay visible; "N more" (``expanded``) shows up to MAX_ROWS."""
    limit = MAX_ROWS if expanded else COLLAPSED_ROWS
    if len(all_rows) <= limit:
        return all_rows, 0
    notable = [r.index for r in all_rows if r.notable][: limit // 2]
    keep = set(notable)
    for r in reversed(all_rows):
        if len(keep) >= limit:
            break
        keep.add(r.index)
    shown = [r for r in all_rows if r.index in keep]
    return shown, len(all_rows) - len(shown)


def estimated_total(ex: Execution, estimate: int | None) -> tuple[int, bool]:
    """(total positions, whether it is an estimate) for the progress bar."""
    done, known = ex.progress
    status = status_text(ex.status)
    if status in (ExecutionStatus.COMPLETED, ExecutionStatus.CANCELLED, ExecutionStatus.FAILED):
        return max(known, 1), False
    total = max(known, estimate or 0)
    if status == ExecutionStatus.RUNNING:
        return max(total, done + 1), True
    return max(total, done + 1), False  # waiting: the open wait or paused checkpoint is not done


def fmt_rate(per_second: float) -> str:
    return f"{per_second:.1f}/s" if per_second < 100 else f"{per_second:.0f}/s"


def progress_text(ex: Execution, estimate: int | None, now: float | None = None) -> str:
    """tqdm-like: ``done/total`` (total marked as an estimate until known), elapsed, rate and ETA."""
    done, _known = ex.progress
    total, guess = estimated_total(ex, estimate)
    status = status_text(ex.status)
    now = time.time() if now is None else now
    end = ex.ended_at.timestamp() if ex.ended_at is not None else now
    elapsed = max(0.0, end - ex.started_at.timestamp())
    if guess and estimate is None:
        parts = [f"{done}/?"]  # no completed execution of this flow yet: the total is not known
    else:
        parts = [f"{done}/{total}{' (est.)' if guess else ''}"]
    parts.append(f"{fmt_duration(elapsed) or '0 s'} elapsed")
    if elapsed > 0 and done:
        rate = done / elapsed
        parts.append(fmt_rate(rate))
        if status == ExecutionStatus.RUNNING and estimate is not None and total > done:
            parts.append(f"ETA {fmt_duration((total - done) / rate)}")
    if status == ExecutionStatus.WAITING:
        parts.append("waits for " + ("a decision" if ex.waiting_for == "decision" else "input"))
    return " \u00b7 ".join(parts)


def relative(when: datetime, now: float | None = None) -> str:
    """How long ago, as JupyterLab words it in the sidebar ("just now", "5 minutes ago", ...)."""
    seconds = round(max(0.0, (time.time() if now is None else now) - when.timestamp()))
    for limit, size, unit in (
        (60, 1, "second"),
        (3600, 60, "minute"),
        (86400, 3600, "hour"),
        (2_592_000, 86400, "day"),
    ):
        if seconds < limit:
            n = int(seconds // size)
            if unit == "second" and n < 10:
                return "just now"
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return when.astimezone().strftime("%Y-%m-%d")


def when_html(when: datetime) -> str:
    """A time as the sidebar shows it: how long ago, the exact local time on hover."""
    exact = when.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"<span class='kitaru-when' title='{E(exact)}'>{E(relative(when))}</span>"


def header_html(ex: Execution) -> str:
    extra = ""
    if ex.original_exec_id:
        extra = f' <span style="opacity:.7">replay of {E(ex.original_exec_id[:8])}'
        extra += f" from {E(ex.replay_from)}</span>" if ex.replay_from else "</span>"
    done, known = ex.progress
    return (
        f'<b class="kitaru-flow-name">{E(ex.flow_name)}</b> '
        f'<code class="kitaru-short-id">{E(ex.short_id)}</code> {badge(ex.status)} '
        f'<span class="kitaru-progress-text" style="opacity:.8">{done}/{known} done</span>{extra}'
    )


def execution_extras_html(ex: Execution) -> str:
    """Under the header: why a waiting execution waits, and what the flow body logged ("" when neither)."""
    parts = []
    if status_text(ex.status) == ExecutionStatus.WAITING and ex.status_reason not in (None, "waiting"):
        parts.append(f"<div class='kitaru-status-reason' style='opacity:.8'>{E(ex.status_reason)}</div>")
    if ex.metadata:
        parts.append(
            f"<div class='kitaru-exec-metadata' style='font-size:11px;opacity:.85'>metadata: "
            f"{metadata_html(ex.metadata)}</div>"
        )
    return "".join(parts)


def owner_html(ex: Execution) -> str:
    o = ex.owner or {}
    if not o:
        return ""
    full = str(o.get("notebook") or f"process {o.get('pid')} on {o.get('host')}")
    where = full.replace("\\", "/").rsplit("/", 1)[-1]
    cell = f", cell In[{o['cell']}]" if o.get("cell") else ""
    return (
        f"<span class='kitaru-owner' title='{E(full)} (pid {E(str(o.get('pid')))})' "
        f"style='opacity:.6;font-size:11px'>runs in {E(where)}{E(cell)}</span>"
    )


def dashboard_html(link: str | None) -> str:
    """A link to the Dask dashboard of the cluster that runs this kernel's checkpoint bodies: only an
    http(s) address, escaped, opened in a new tab that cannot reach back into the notebook."""
    if not link or urlsplit(link).scheme.lower() not in ("http", "https"):
        return ""
    return (
        f" <a class='kitaru-dashboard' href=\"{E(link, quote=True)}\" target='_blank' rel='noopener noreferrer' "
        f"title='{E(link, quote=True)}' style='font-size:11px'>Dask dashboard</a>"
    )


def failure_html(f: FailureInfo, *, open_traceback: bool = False, same_as: int | None = None) -> str:
    kind = f"{E(f.exception_type)}: " if f.exception_type else ""
    out = f'<div class="kitaru-failure"><b>{kind}</b><span class="kitaru-failure-message">{E(f.message)}</span>'
    out += f' <span style="opacity:.6">({E(status_text(f.origin))})</span></div>'
    if same_as is not None:
        out += f"<div class='kitaru-same-traceback' style='opacity:.7'>same traceback as attempt {same_as}</div>"
    elif f.traceback:
        opened = " open" if open_traceback else ""
        out += (
            f"<details{opened}><summary>traceback</summary>"
            f'<pre class="kitaru-traceback" style="white-space:pre-wrap;font-size:11px;margin:0">'
            f"{E(f.traceback)}</pre></details>"
        )
    return out


def attempt_html(a: CheckpointAttempt, previous: CheckpointAttempt | None = None) -> str:
    line = (
        f"<div class='kitaru-attempt'>attempt {a.number}: {E(status_text(a.status))}"
        f" <span style='opacity:.7'>{E(fmt_duration(a.duration))}</span>"
        + (f" <span class='kitaru-worker' style='opacity:.7'>on {E(a.worker)}</span>" if a.worker else "")
        + "</div>"
    )
    if a.failure is not None:
        same = None
        if (
            previous is not None
            and previous.failure is not None
            and previous.failure.traceback
            and previous.failure.traceback == a.failure.traceback
        ):
            same = previous.number
        line += f"<div style='margin-left:1.5em'>{failure_html(a.failure, same_as=same)}</div>"
    return line


def history_html(c: CheckpointCall) -> str:
    parts = []
    prev: CheckpointAttempt | None = None
    for a in c.attempts:
        parts.append(attempt_html(a, prev))
        prev = a
    return (
        f"<details class='kitaru-history'><summary>attempt history ({len(c.attempts)})</summary>"
        f"{''.join(parts)}</details>"
    )


CELL = "padding:1px 8px;text-align:left"
_ICON_STATUS = {"paused": "waiting", "reused": "completed", "skipped": "cancelled", "answered": "completed"}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def fmt_value(value: Any) -> str:
    """A logged value as ``key=value`` shows it: strings bare, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def metadata_text(metadata: dict[str, Any], limit: int = META_CHARS) -> tuple[str, str]:
    """(the compact ``key=value, ...`` line, truncated; the whole of it, for the hover)."""
    full = ", ".join(f"{k}={fmt_value(v)}" for k, v in metadata.items())
    short = ", ".join(f"{k}={clip(fmt_value(v), VALUE_CHARS)}" for k, v in metadata.items())
    return clip(short, limit), full


def metadata_html(metadata: dict[str, Any], css: str = "kitaru-metadata") -> str:
    if not metadata:
        return ""
    short, full = metadata_text(metadata)
    return f"<span class='{css}' title='{E(full)}'>{E(short)}</span>"


def saved_artifacts(c: CheckpointCall) -> list[ArtifactRef]:
    """What the checkpoint saved with ``kitaru.save`` (its output, listed first, is not repeated)."""
    return [a for a in c.artifacts if a.save_type != "step_output"]


def artifact_html(a: ArtifactRef) -> str:
    kind = f" <i class='kitaru-artifact-type'>{E(a.kind)}</i>" if a.kind else ""
    preview = a.preview or ""
    shown = (
        f": <code class='kitaru-artifact-preview' title='{E(preview)}'>{E(clip(preview, PREVIEW_CHARS))}</code>"
        if preview
        else ""
    )
    tags = "".join(f" <span class='kitaru-tag'>#{E(t)}</span>" for t in a.tags)
    return f"<span class='kitaru-artifact'><b class='kitaru-artifact-name'>{E(a.name)}</b>{kind}{shown}{tags}</span>"


def call_extras_html(c: CheckpointCall) -> str:
    """What a checkpoint logged and saved, and where a cached output came from ("" when none)."""
    arts = c.artifacts
    if not c.metadata and not c.cached_from and (not arts or (len(arts) == 1 and arts[0].save_type == "step_output")):
        return ""  # the common row: nothing logged or saved
    saved = saved_artifacts(c)
    parts = []
    if c.cached_from:
        parts.append(
            f"<span class='kitaru-cached' title='{E(c.cached_from)}'>cached from <code>{E(c.cached_from[:8])}</code></span>"
        )
    if c.metadata:
        parts.append(metadata_html(c.metadata))
    if saved:
        parts.append("<span class='kitaru-artifacts'>saved " + "; ".join(artifact_html(a) for a in saved) + "</span>")
    return " \u00b7 ".join(parts)


def row_cells(r: Row, label: str | None = None) -> str:
    """The cells of one timeline row (icon, #, name, status, attempts, duration / answer); ``label``: the
    name to show (a step's own name inside its construct's group; the full name on hover)."""
    st = r.status
    if r.wait is not None and st in ("completed", "reused"):
        st = "answered"
    icon = CALL_ICONS.get("waiting" if st in ("paused", "waiting") else ("completed" if st == "answered" else st), "?")
    color = STATUS_COLORS.get(_ICON_STATUS.get(st, st), "")
    if r.call is not None:
        c = r.call
        changed = " <span title='code changed since'>(code changed)</span>" if c.code_changed else ""
        typ = c.checkpoint_type
        tag = f" <span class='kitaru-type'>{E(typ)}</span>" if typ and typ != "step" else ""
        name = f"<span title='{E(c.name)}'>{E(label)}</span>" if label is not None else E(c.name)
        what = f"{name}{tag}{changed}"
        detail = (
            f"<td style='{CELL};width:3em'>{len(c.attempts)}</td>"
            f"<td style='{CELL};width:5.5em'>{E(fmt_duration(c.duration))}</td>"
        )
    else:
        w = r.wait
        assert w is not None
        shown_name = f"<span title='{E(w.name)}'>{E(label)}</span>" if label is not None else E(w.name)
        what = f"<i>{'confirm' if r.kind == 'confirmation' else 'wait'}</i> {shown_name}"
        if st == "answered":
            by = f" in the {w.answered_by}" if w.answered_by in ("panel", "sidebar") else f" by {w.answered_by}"
            when = when_html(w.answered_at) if w.answered_at else ""
            answer = (
                f"<code class='kitaru-answer'>{E(w.answer_preview or '')}</code>"
                f" <span style='opacity:.7'>answered{E(by if w.answered_by else '')} {when}</span>"
            )
        else:
            answer = f"<span style='opacity:.7'>{E(w.question or '')}</span>"
        detail = f"<td style='{CELL}' colspan='2' class='kitaru-answer-cell'>{answer}</td>"
    return (
        f"<td style='{CELL};width:1.2em;color:{color}'>{icon}</td><td style='{CELL};width:2.5em'>{r.index}</td>"
        f"<td style='{CELL};width:13em'>{what}</td>"
        f"<td style='{CELL};width:6.5em' class='kitaru-row-status'>{E(st)}</td>{detail}"
    )


def leaf_name(r: Row) -> str:
    """A row's name inside its construct's group: the step's own name (``research/fetch`` -> ``fetch``)."""
    name = (
        r.name[len(G.CONFIRM_PREFIX) :] if r.kind == "confirmation" and r.name.startswith(G.CONFIRM_PREFIX) else r.name
    )
    return G.parse_path(name)[1]


def row_html(r: Row, *, grouped: bool = False) -> str:
    label = leaf_name(r) if grouped else None
    out = f"<tr class='kitaru-row kitaru-row-{E(r.status)}'>{row_cells(r, label)}</tr>"
    if r.call is not None:
        extras = call_extras_html(r.call)
        if extras:
            out += f"<tr class='kitaru-row-extra'><td></td><td></td><td colspan='4' style='{CELL};font-size:11px;opacity:.85'>{extras}</td></tr>"
        if r.call.failure is not None or len(r.call.attempts) > 1:
            out += f"<tr><td></td><td colspan='5' style='{CELL}'>{history_html(r.call)}</td></tr>"
    return out


HEAD = (
    f"<tr><th style='{CELL}'></th><th style='{CELL}'>#</th><th style='{CELL}'>checkpoint / wait</th>"
    f"<th style='{CELL}'>status</th><th style='{CELL}'>attempts</th><th style='{CELL}'>duration</th></tr>"
)
TABLE = "<table class='kitaru-checkpoints' style='border-collapse:collapse'>"
GROUP_INDENT = "14px"


def group_summary_html(g: G.Group) -> str:
    """A group's summary line: its status icon and ``research · parallel · 2/3 done`` (escaped)."""
    st = g.status
    icon = CALL_ICONS.get("waiting" if st in ("paused", "waiting") else st, "?")
    color = STATUS_COLORS.get(_ICON_STATUS.get(st, st), "")
    return (
        f"<span style='color:{color}'>{icon}</span> "
        f"<span class='kitaru-group-summary' data-kind='{E(g.kind)}'>{E(g.label)}</span>"
    )


def _tree_html(items: list[Any], grouped: bool) -> str:
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            out.append(TABLE + "".join(run) + "</table>")
            run.clear()

    for item in items:
        if isinstance(item, G.Group):
            flush()
            out.append(
                f"<details open class='kitaru-group kitaru-group-{E(item.kind)}' data-status='{E(item.status)}' "
                f"style='margin-left:{GROUP_INDENT if grouped else '0'}'>"
                f"<summary>{group_summary_html(item)}</summary>{_tree_html(item.items, True)}</details>"
            )
        else:
            run.append(row_html(item, grouped=grouped))
    flush()
    return "".join(out)


def timeline_tree(ex: Execution, all_rows: list[Row], shown: list[Row]) -> list[Any] | None:
    """The shown rows grouped by step-workflow construct; None when nothing ran inside a construct (a
    flow, a workflow of plain steps): those keep the flat table, at no cost per row."""
    if ex.kind != "workflow" or not G.needs_groups(all_rows):
        return None
    tree = G.build(all_rows, ex.meta.get("steps"))
    if len(shown) == len(all_rows):
        return tree
    return G.keep_only(tree, {r.index for r in shown})


def table_html(shown: list[Row], hidden: int, tree: list[Any] | None = None) -> str:
    if not shown:
        return '<div class="kitaru-checkpoints" style="opacity:.7">no checkpoints yet</div>'
    note = (
        f"<div class='kitaru-folded' style='opacity:.7'>{hidden} more rows folded (completed checkpoints)</div>"
        if hidden
        else ""
    )
    if tree is not None:
        return (
            f"<div class='kitaru-checkpoints kitaru-grouped'>{TABLE}{HEAD}</table>{_tree_html(tree, False)}</div>{note}"
        )
    body = "".join(row_html(r) for r in shown)
    return f"{TABLE}{HEAD}{body}</table>{note}"


def checkpoints_html(ex: Execution, *, expanded: bool = False) -> str:
    """The timeline: one row per checkpoint and per wait (grouped by construct for step workflows),
    folded for big executions."""
    all_rows = rows(ex)
    shown, hidden = visible_rows(all_rows, expanded=expanded)
    return table_html(shown, hidden, timeline_tree(ex, all_rows, shown))


def result_html(ex: Execution) -> str:
    s = status_text(ex.status)
    if s == ExecutionStatus.COMPLETED and ex.result_preview is not None:
        return f"<div class='kitaru-result'>result: <code>{E(ex.result_preview)}</code></div>"
    if s == ExecutionStatus.FAILED and ex.failure is not None:
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
        f"<div>{header_html(ex)}</div>{execution_extras_html(ex)}{result_html(ex)}{pending_html(ex)}{checkpoints_html(ex)}"
        f"<div style='opacity:.6;font-size:11px'>as of {taken}; the journal has the current state</div></div>"
    )


def text_summary(ex: Execution) -> str:
    done, total = ex.progress
    line = f"{ex.flow_name} {ex.short_id} {status_text(ex.status)} ({done}/{total} done)"
    if status_text(ex.status) == ExecutionStatus.FAILED and ex.failure is not None:
        line += f": {ex.failure.exception_type or 'error'}: {ex.failure.message}"
    for w in ex.pending_waits:
        line += f"; waits for {w.name!r}"
    for c in ex.pending_errors:
        line += f"; checkpoint {c.name!r} paused on error"
    return line
