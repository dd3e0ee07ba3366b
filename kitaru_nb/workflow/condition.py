"""``Condition(evaluator=..., steps=..., else_steps=...)``: steps that run only when a test holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.workflow.constructs import Construct, fingerprint_of, log, prepare, reject_setting
from kitaru_nb.workflow.types import OnReject, StepInput

__all__ = ["Condition"]


class Condition(Construct):
    """``evaluator`` (a bool, or a function of the ``StepInput`` returning a bool) picks ``steps``
    (True) or ``else_steps`` (False; none: the condition is skipped). Its verdict is journaled (a
    checkpoint named after the condition), inner steps as ``NAME:if/step`` / ``NAME:else/step``.

    ``requires_confirmation=True`` asks a human instead: confirm runs ``steps``; reject follows
    ``on_reject`` (``"else"``, the default: ``else_steps``; ``"skip"``; ``"cancel"``).
    """

    kind = "Condition"

    def __init__(
        self,
        evaluator: bool | Callable[[StepInput], bool] = True,
        steps: Any = None,
        else_steps: Any = None,
        name: str | None = None,
        description: str | None = None,
        requires_confirmation: bool = False,
        confirmation_message: str | None = None,
        on_reject: OnReject | str = OnReject.else_branch,
    ):
        self.name = name
        self._check_name()
        if not isinstance(evaluator, bool) and not callable(evaluator):
            raise KitaruUsageError(
                f"Condition {name!r}: evaluator must be True/False or a function of the StepInput returning a "
                f"bool, got {evaluator!r} (CEL expressions are not supported)"
            )
        self.evaluator = evaluator
        self.steps = prepare(steps, f"Condition {name!r}")
        self.else_steps = prepare(else_steps, f"Condition {name!r} else_steps") if else_steps else []
        self.description = description
        self.requires_confirmation = requires_confirmation
        self.confirmation_message = confirmation_message
        self.on_reject = reject_setting(
            on_reject, f"Condition {name!r}", (OnReject.else_branch, OnReject.skip, OnReject.cancel)
        )
        self.fingerprint = fingerprint_of(evaluator)

    def groups(self) -> list[list[Any]]:
        return [self.steps, self.else_steps]

    def evaluate(self, step_input: StepInput) -> bool:
        if isinstance(self.evaluator, bool):
            return self.evaluator
        result = self.evaluator(step_input)
        if not isinstance(result, bool):
            log.warning("Condition %r: evaluator returned %r, not a bool; taken as False", self.name, result)
            return False
        return result
