"""``Loop(steps=..., end_condition=..., max_iterations=3)``: steps run again until a condition holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.workflow.constructs import Construct, log, prepare, reject_setting
from kitaru_nb.workflow.types import OnReject, StepOutput

__all__ = ["Loop"]


class Loop(Construct):
    """The steps run in order, again and again, at most ``max_iterations`` times (default 3).

    After each iteration ``end_condition(iteration_outputs)`` is asked; True ends the loop (an
    exception there counts as False, as in the mirrored API). The first step of an iteration gets
    the last content of the iteration before. Inner steps are journaled as ``NAME#2/step`` (the
    second iteration), so a pause in any iteration resumes there and earlier iterations are reused.
    """

    kind = "Loop"

    def __init__(
        self,
        steps: Any = None,
        name: str | None = None,
        description: str | None = None,
        max_iterations: int = 3,
        end_condition: Callable[[list[StepOutput]], bool] | None = None,
        forward_iteration_output: bool = False,
        requires_confirmation: bool = False,
        confirmation_message: str | None = None,
        on_reject: OnReject | str = OnReject.skip,
    ):
        self.name = name
        self._check_name()
        if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1:
            raise KitaruUsageError(f"Loop {name!r}: max_iterations must be an int >= 1, got {max_iterations!r}")
        if end_condition is not None and not callable(end_condition):
            raise KitaruUsageError(
                f"Loop {name!r}: end_condition must be a function taking the iteration's list of StepOutput and "
                f"returning True to stop, got {end_condition!r} (CEL expressions are not supported)"
            )
        self.steps = prepare(steps, f"Loop {name!r}")
        self.description = description
        self.max_iterations = max_iterations
        self.end_condition = end_condition
        self.forward_iteration_output = forward_iteration_output
        self.requires_confirmation = requires_confirmation
        self.confirmation_message = confirmation_message
        self.on_reject = reject_setting(on_reject, f"Loop {name!r}", (OnReject.skip, OnReject.cancel))

    def groups(self) -> list[list[Any]]:
        return [self.steps]

    def should_end(self, results: list[StepOutput]) -> bool:
        if self.end_condition is None:
            return False
        try:
            return bool(self.end_condition(results))
        except Exception as exc:
            log.warning("Loop %r: end_condition raised %r; the loop goes on", self.name, exc)
            return False
