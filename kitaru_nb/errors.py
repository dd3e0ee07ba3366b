"""The kitaru_nb error hierarchy.

::

    KitaruError(Exception)
    ├─ KitaruFeatureNotAvailableError(KitaruError, NotImplementedError)
    │                                                   an option of Kitaru's SDK kitaru_nb does not offer
    ├─ KitaruUsageError(KitaruError, ValueError)       bad arguments / API misuse
    │   └─ KitaruWaitValidationError                    wait input fails its schema (.errors)
    ├─ KitaruContextError(KitaruError, RuntimeError)   API used in the wrong scope
    ├─ KitaruStateError(KitaruError, RuntimeError)     the execution's state forbids it
    │   └─ KitaruTimeoutError(KitaruStateError, TimeoutError)
    └─ KitaruRuntimeError(KitaruError, RuntimeError)
        ├─ KitaruBackendError                           the journal can't be used
        └─ KitaruExecutionError(message, *, exec_id, status, failure_origin)
            ├─ KitaruUserCodeError
            └─ KitaruDivergenceError

Every message says what went wrong and what to do about it.
"""

from __future__ import annotations

from typing import Any

from kitaru_nb.types import ExecutionStatus, FailureOrigin


class KitaruError(Exception):
    """Base class of every error kitaru_nb raises.

    Errors pickle with their fields (``exec_id``, ``errors``, ...), so one raised in a worker
    process arrives whole: the default pickling calls ``cls(*args)``, which loses keyword-only
    fields and fails for the classes that require them.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[KitaruError], args: tuple[Any, ...], state: dict[str, Any]) -> KitaruError:
    """``cls(*args, **fields)`` with the keyword-only fields its ``__init__`` takes, then the rest
    of the state (notes, ...)."""
    import inspect

    params = inspect.signature(cls.__init__).parameters.values()
    kwargs = {p.name: state[p.name] for p in params if p.kind is p.KEYWORD_ONLY and p.name in state}
    err = cls(*args, **kwargs)
    err.__dict__.update(state)
    return err


class KitaruUsageError(KitaruError, ValueError):
    """Bad arguments or API misuse."""


class KitaruWaitValidationError(KitaruUsageError):
    """A wait answer does not match the wait's schema.

    ``errors`` lists every problem as dicts with ``loc`` (tuple of path parts),
    ``msg`` and ``type``, in pydantic's order.
    """

    def __init__(self, message: str, *, exec_id: str, wait: str, errors: list[dict[str, Any]]):
        super().__init__(message)
        self.exec_id = exec_id
        self.wait = wait
        self.errors = errors


class KitaruContextError(KitaruError, RuntimeError):
    """An API was used in the wrong scope (e.g. a checkpoint outside a flow)."""


class KitaruStateError(KitaruError, RuntimeError):
    """The execution's state forbids the operation."""


class KitaruTimeoutError(KitaruStateError, TimeoutError):
    """Waiting for an execution took longer than the timeout."""


class KitaruFeatureNotAvailableError(KitaruError, NotImplementedError):
    """An option of Kitaru's SDK that kitaru_nb does not offer (a remote stack, a container image)."""


class KitaruRuntimeError(KitaruError, RuntimeError):
    """Something failed while running or storing an execution."""


class KitaruBackendError(KitaruRuntimeError):
    """The journal cannot be used: locked, corrupt, not a journal, or a newer schema."""


class KitaruExecutionError(KitaruRuntimeError):
    """An execution ended in failure."""

    def __init__(
        self,
        message: str,
        *,
        exec_id: str,
        status: ExecutionStatus,
        failure_origin: FailureOrigin,
    ):
        super().__init__(message)
        self.exec_id = exec_id
        self.status = status
        self.failure_origin = failure_origin


class KitaruUserCodeError(KitaruExecutionError):
    """The flow or one of its checkpoints raised."""


class KitaruDivergenceError(KitaruExecutionError):
    """The code no longer makes the calls the journal recorded."""
