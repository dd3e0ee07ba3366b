"""Definitions known to this process. A later definition with the same name replaces the older one
(the notebook rule: fix the cell, run it again)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru_nb.runtime.checkpoint import Checkpoint
    from kitaru_nb.runtime.flow import Flow

_lock = threading.Lock()
_flows: dict[str, Flow[Any, Any]] = {}
_checkpoints: dict[str, Checkpoint[Any, Any]] = {}
_checkpoints_by_name: dict[str, Checkpoint[Any, Any]] = {}


def register_flow(flow: Flow[Any, Any]) -> None:
    with _lock:
        _flows[flow.name] = flow


def get_flow(name: str) -> Flow[Any, Any] | None:
    return _flows.get(name)


def register_checkpoint(cp: Checkpoint[Any, Any]) -> None:
    with _lock:
        _checkpoints[cp.key] = cp
        _checkpoints_by_name[cp.name] = cp


def current_checkpoint(key: str) -> Checkpoint[Any, Any] | None:
    return _checkpoints.get(key)


def checkpoint_named(name: str) -> Checkpoint[Any, Any] | None:
    return _checkpoints_by_name.get(name)


def checkpoint_for_call(call: Any) -> Checkpoint[Any, Any] | None:
    """The checkpoint a recorded call (a CallRow) came from (a call named with ``id=`` records it)."""
    return _checkpoints_by_name.get(call.checkpoint_name or call.name)


# Faces other than plain flows (the step-workflow face) register how the engine finds the body
# of their executions and which names this process defines, so the runtime never imports them.
_faces: dict[str, tuple[Callable[[Any], Callable[..., Any]], Callable[[], list[str]]]] = {}


def register_face(kind: str, *, body: Callable[[Any], Callable[..., Any]], names: Callable[[], list[str]]) -> None:
    """``body(execution_row)`` gives the callable that continues an execution of ``kind``;
    ``names()`` the names of what this process defines."""
    with _lock:
        _faces[kind] = (body, names)


def face(kind: str) -> tuple[Callable[[Any], Callable[..., Any]], Callable[[], list[str]]] | None:
    return _faces.get(kind)


def defined_names() -> list[str]:
    """Names of every flow and workflow defined in this process."""
    names = list(_flows)
    for _body, listed in list(_faces.values()):
        names.extend(listed())
    return names
