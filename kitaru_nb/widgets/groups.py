"""Step-workflow constructs as nested groups of the panel's timeline.

The step-workflow face journals a step inside a construct under a path (``kitaru_nb/workflow``
defines it; this module only reads it): ``research/fetch`` (Parallel or Steps ``research``, step
``fetch``), ``refine#2/work`` (Loop ``refine``, iteration 2), ``check:else/no`` (Condition ``check``,
else branch), ``route/deep`` (Router ``route`` chose ``deep``); constructs nest
(``refine#2/research/fetch``). A Router's choice and a Condition's verdict are checkpoints named after
the construct (``checkpoint_type`` ``router`` / ``condition``), and a confirmation is a wait named
``confirm:`` + the path of what it confirms. The run's ``meta["steps"]`` (the definition signature)
says which kind each construct is.

``parse_path`` reads one name; ``build`` turns a run's rows (in position order) into a tree of
``Group`` and rows, contiguous rows of one construct in one group. Pure functions over duck-typed rows
(``name``, ``kind``, ``status``, ``call``), no widgets: the static summary uses them too. The
sidebar has the same rules in ``labextension/src/groups.ts``; both are tested against
``labextension/test/construct_paths.json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

#: the prefix of a step-workflow confirmation's wait name (kitaru_nb/workflow/runner.py)
CONFIRM_PREFIX = "confirm:"
#: checkpoint types of the checkpoints that journal a Router's choice and a Condition's verdict
SELECTION_TYPES = ("router", "condition")
DONE = frozenset(("completed", "reused", "skipped"))


@dataclass(frozen=True, slots=True)
class Segment:
    """One construct a step ran in: its name, and the loop iteration or condition branch."""

    name: str
    iteration: int | None = None
    branch: str | None = None

    @property
    def text(self) -> str:
        """The segment as the path writes it."""
        if self.iteration is not None:
            return f"{self.name}#{self.iteration}"
        if self.branch is not None:
            return f"{self.name}:{self.branch}"
        return self.name


def parse_segment(text: str) -> Segment:
    base, sep, tail = text.rpartition("#")
    if sep and base and tail.isdigit():
        return Segment(base, iteration=int(tail))
    base, sep, tail = text.rpartition(":")
    if sep and base and tail in ("if", "else"):
        return Segment(base, branch=tail)
    return Segment(text)


def parse_path(name: str) -> tuple[tuple[Segment, ...], str]:
    """The constructs a step ran in (outermost first) and the step's own name.

    ``"refine#2/research/fetch"`` -> ``((Segment("refine", iteration=2), Segment("research")), "fetch")``;
    a plain name has no segments: ``"load"`` -> ``((), "load")``.
    """
    if "/" not in name:
        return (), name
    *parts, leaf = name.split("/")
    return tuple(parse_segment(p) for p in parts), leaf


def construct_kinds(signature: Any) -> dict[tuple[str, ...], str]:
    """Construct kinds by their path of names, from a run's ``meta["steps"]``:
    ``{("research",): "parallel", ("refine", "check"): "condition", ...}``."""
    out: dict[tuple[str, ...], str] = {}

    def walk(entries: Any, prefix: tuple[str, ...]) -> None:
        if not isinstance(entries, list):
            return
        for e in entries:
            if isinstance(e, list) and len(e) > 2 and isinstance(e[1], str):
                path = (*prefix, str(e[0]))
                out[path] = e[1].lower()
                out[(*path, "#size")] = str(len(e[2]) if isinstance(e[2], list) else 0)
                for g in e[2:]:
                    walk(g, path)

    walk(signature, ())
    return out


@dataclass(slots=True)
class Group:
    """Contiguous rows of one construct (or of one loop iteration), with nested groups."""

    key: str  # the path of the construct as written (``refine#2/research``; ``refine#2`` for an iteration)
    name: str  # the construct's name
    kind: str  # parallel, loop, iteration, condition, router, steps, group (kind not known)
    first_index: int
    size: int | None = None  # branches / steps the definition has
    iteration: int | None = None
    branch: str | None = None
    items: list[Any] = field(default_factory=list)  # rows and groups, in position order
    #: the status and the summary line, taken from all its rows when the tree was built
    state: str = ""
    label: str = ""

    @property
    def uid(self) -> str:
        """Tells apart two groups of the same construct path (a construct repeated after a break)."""
        return f"{self.key}@{self.first_index}"

    def rows(self) -> Iterator[Any]:
        for item in self.items:
            if isinstance(item, Group):
                yield from item.rows()
            else:
                yield item

    def finish(self) -> None:
        for item in self.items:
            if isinstance(item, Group):
                item.finish()
        self.state = self._status()
        self.label = self._summary()

    @property
    def status(self) -> str:
        return self.state or self._status()

    def _status(self) -> str:
        statuses = {r.status for r in self.rows()}
        for s in ("paused", "failed", "running", "waiting"):
            if s in statuses:
                return s
        return "completed" if statuses <= DONE else next(iter(sorted(statuses - DONE)), "completed")

    def _branches(self) -> list[Any]:
        """Direct items that are branches / steps (not the construct's own selection or confirmation)."""
        return [i for i in self.items if isinstance(i, Group) or not _is_own_row(i, self)]

    def _summary(self) -> str:
        """``research · parallel · 2/3 done``, ``refine · loop · iteration 2``, ``route · router → deep``."""
        parts = [self.name]
        if self.kind == "iteration":
            return f"iteration {self.iteration}"
        if self.kind == "loop":
            last = max((g.iteration or 0 for g in self.items if isinstance(g, Group)), default=0)
            parts += ["loop", f"iteration {last}"] if last else ["loop"]
        elif self.kind == "router":
            chosen = [i.name if isinstance(i, Group) else parse_path(_bare(i))[1] for i in self._branches()]
            sel = _selection(self)
            if chosen:
                parts.append("router \u2192 " + ", ".join(chosen))
            elif sel is not None and sel.status in DONE:
                parts.append("router \u2192 none")
            else:
                parts.append("router")
        elif self.kind == "condition":
            branch = self.branch
            sel = _selection(self)
            if branch is None and sel is not None and sel.call is not None:
                verdict = (sel.call.output_preview or "").strip().lower()
                branch = {"true": "if", "false": "else"}.get(verdict)
            parts.append(f"condition \u2192 {branch}" if branch else "condition")
        else:
            branches = self._branches()
            done = sum(1 for b in branches if b.status in DONE)
            total = max(self.size or 0, len(branches))
            if self.kind != "group":
                parts.append(self.kind)
            parts.append(f"{done}/{total} done")
        bad = [s for s in ("paused", "failed") if any(r.status == s for r in self.rows())]
        parts += [f"{sum(1 for r in self.rows() if r.status == s)} {s}" for s in bad]
        return " \u00b7 ".join(parts)


def _bare(row: Any) -> str:
    name: str = row.name
    if row.kind == "confirmation" and name.startswith(CONFIRM_PREFIX):
        return name[len(CONFIRM_PREFIX) :]
    return name


def _is_own_row(row: Any, group: Group) -> bool:
    """The construct's own rows: its selection checkpoint and its confirmation."""
    return _bare(row) == group.key


def _selection(group: Group) -> Any:
    for i in group.items:
        if not isinstance(i, Group) and i.call is not None and i.call.checkpoint_type in SELECTION_TYPES:
            return i
    return None


@dataclass(frozen=True, slots=True)
class _Level:
    key: str
    name: str
    kind: str
    size: int | None = None
    iteration: int | None = None
    branch: str | None = None


def _levels(segments: Sequence[Segment], kinds: dict[tuple[str, ...], str], last: str | None = None) -> list[_Level]:
    out: list[_Level] = []
    scope = ""
    names: tuple[str, ...] = ()
    for seg in segments:
        names = (*names, seg.name)
        key = scope + seg.name
        kind = (
            (last if last and len(names) == len(segments) else None)
            or kinds.get(names)
            or ("loop" if seg.iteration is not None else "condition" if seg.branch else "group")
        )
        size_text = kinds.get((*names, "#size"))
        size = int(size_text) if size_text and size_text.isdigit() else None
        out.append(_Level(key, seg.name, kind, size, branch=seg.branch))
        if seg.iteration is not None:
            out.append(_Level(key + f"#{seg.iteration}", seg.name, "iteration", iteration=seg.iteration))
        scope += seg.text + "/"
    return out


def needs_groups(rows: Sequence[Any]) -> bool:
    """Whether any row ran inside a construct (cheap: a look at each name)."""
    return any("/" in r.name or (r.call is not None and r.call.checkpoint_type in SELECTION_TYPES) for r in rows)


def build(rows: Sequence[Any], signature: Any = None) -> list[Any]:
    """Rows (in position order) as a tree: plain rows stay as they are, rows of a construct go into its
    ``Group`` (a Loop's into one group per iteration), a construct's selection checkpoint and
    confirmation into the construct's group."""
    kinds = construct_kinds(signature)
    chains: list[list[_Level]] = []
    for r in rows:
        segments, leaf = parse_path(_bare(r))
        chain = _levels(segments, kinds)
        if r.call is not None and r.call.checkpoint_type in SELECTION_TYPES and r.kind == "checkpoint":
            # a Router's choice / a Condition's verdict: the first row of its construct
            chain = _levels([*segments, Segment(leaf)], kinds, last=r.call.checkpoint_type)
        chains.append(chain)
    # a confirmation of a construct goes with the construct that follows it
    for i, r in enumerate(rows):
        if r.kind == "confirmation" and i + 1 < len(chains):
            scope = "".join(seg.text + "/" for seg in parse_path(_bare(r))[0])
            own = scope + parse_path(_bare(r))[1]
            nxt = chains[i + 1]
            depth = len(chains[i])
            if len(nxt) > depth and nxt[depth].key == own:
                chains[i] = nxt[: depth + 1]
    root: list[Any] = []
    stack: list[Group] = []
    for r, chain in zip(rows, chains, strict=True):
        common = 0
        while common < min(len(stack), len(chain)) and stack[common].key == chain[common].key:
            common += 1
        del stack[common:]
        for level in chain[common:]:
            g = Group(
                key=level.key,
                name=level.name,
                kind=level.kind,
                first_index=r.index,
                size=level.size,
                iteration=level.iteration,
            )
            (stack[-1].items if stack else root).append(g)
            stack.append(g)
        for g, level in zip(stack, chain, strict=False):
            if level.branch is not None and g.branch is None:
                g.branch = level.branch
        (stack[-1].items if stack else root).append(r)
    for item in root:
        if isinstance(item, Group):
            item.finish()
    return root


def keep_only(tree: list[Any], indexes: set[int]) -> list[Any]:
    """The tree with only the rows at ``indexes`` (the rows a folded timeline shows); groups left empty
    drop out, the others keep the summary of all their rows."""
    out: list[Any] = []
    for item in tree:
        if isinstance(item, Group):
            inner = keep_only(item.items, indexes)
            if inner:
                out.append(dataclasses.replace(item, items=inner))
        elif item.index in indexes:
            out.append(item)
    return out
