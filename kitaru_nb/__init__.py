"""kitaru_nb: durable flows in the notebook kernel, journaled to SQLite, answered in the notebook.

``import kitaru_nb as kitaru`` runs code written for Kitaru's flow SDK.
"""

from __future__ import annotations

from typing import Any

from kitaru_nb.artifacts import load, log, save
from kitaru_nb.client import KitaruClient
from kitaru_nb.config import configure
from kitaru_nb.errors import (
    KitaruBackendError,
    KitaruContextError,
    KitaruDivergenceError,
    KitaruError,
    KitaruExecutionError,
    KitaruFeatureNotAvailableError,
    KitaruRuntimeError,
    KitaruStateError,
    KitaruTimeoutError,
    KitaruUsageError,
    KitaruUserCodeError,
    KitaruWaitValidationError,
)
from kitaru_nb.models import ArtifactRef, CheckpointAttempt, CheckpointCall, Execution, FailureInfo, PendingWait
from kitaru_nb.runtime.checkpoint import checkpoint
from kitaru_nb.runtime.flow import FlowHandle, flow
from kitaru_nb.types import AttemptStatus, CallStatus, ExecutionStatus, FailureOrigin, RetryPolicy
from kitaru_nb.wait import wait

__version__ = "0.1.0"

__all__ = [
    "ArtifactRef",
    "AttemptStatus",
    "CallStatus",
    "CheckpointAttempt",
    "CheckpointCall",
    "Execution",
    "ExecutionStatus",
    "FailureInfo",
    "FailureOrigin",
    "FlowHandle",
    "KitaruBackendError",
    "KitaruClient",
    "KitaruContextError",
    "KitaruDivergenceError",
    "KitaruError",
    "KitaruExecutionError",
    "KitaruFeatureNotAvailableError",
    "KitaruRuntimeError",
    "KitaruStateError",
    "KitaruTimeoutError",
    "KitaruUsageError",
    "KitaruUserCodeError",
    "KitaruWaitValidationError",
    "PendingWait",
    "RetryPolicy",
    "checkpoint",
    "configure",
    "flow",
    "load",
    "log",
    "panel",
    "save",
    "wait",
]


def panel(*, limit: int = 20, db: Any = None) -> Any:
    """Recent executions of the journal, each openable as its execution panel."""
    from kitaru_nb.widgets.overview import overview

    return overview(limit=limit, db=db)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "kitaru-nb"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "kitaru_nb"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from kitaru_nb.server import load

    load(server_app)


async def _start_jupyter_server_extension(server_app: Any) -> None:
    from kitaru_nb.server import start

    await start(server_app)
