"""``@pause``: put a step's confirmation settings on its function; ``Step(executor=fn)`` picks them up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.workflow.types import HumanReview

__all__ = ["pause"]

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "_kitaru_human_review"
NAME_ATTRIBUTE = "_kitaru_step_name"


def pause(
    name: str | None = None,
    *,
    requires_confirmation: bool = False,
    confirmation_message: str | None = None,
    **review: Any,
) -> Callable[[F], F]:
    """Mark a step function: ``@pause(requires_confirmation=True, confirmation_message="Proceed?")``.

    ``Step(executor=fn)`` (or a plain ``fn`` in ``Workflow(steps=[...])``) then pauses before it
    runs; ``name`` becomes the step's default name.
    """
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise KitaruUsageError(f"@pause(name=...) must be a non-empty str, got {name!r}")
    try:
        settings = HumanReview(
            requires_confirmation=requires_confirmation, confirmation_message=confirmation_message, **review
        )
    except TypeError as exc:
        raise KitaruUsageError(f"@pause: {exc}") from None

    def mark(fn: F) -> F:
        if not callable(fn):
            raise KitaruUsageError(f"@pause decorates a step function, not {fn!r}")
        setattr(fn, ATTRIBUTE, settings)
        if name is not None:
            setattr(fn, NAME_ATTRIBUTE, name)
        return fn

    return mark
