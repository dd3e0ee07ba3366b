"""Definitions known to this process. A later definition with the same name replaces the older one
(the notebook rule: fix the cell, run it again)."""

from __future__ import annotations

import threading
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
