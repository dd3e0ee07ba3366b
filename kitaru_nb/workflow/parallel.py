"""``Parallel(*steps, name=...)``: branches that run concurrently, each a journaled step."""

from __future__ import annotations

from typing import Any

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.workflow.constructs import Construct, prepare

__all__ = ["Parallel"]


class Parallel(Construct):
    """Steps that run at the same time, each with the input the ``Parallel`` got.

    ``Parallel(step_a, step_b, name="research")`` (or ``Parallel("research", step_a, step_b)``).
    Plain steps run on the engine's thread pool (``kitaru_nb.configure(max_workers=N)``); each is a
    checkpoint journaled as ``research/step_a``. A branch paused on error pauses the run once every
    branch has ended; a retry runs only that branch again. The output's ``content`` has one section
    per branch; ``get_step_content("research")`` gives ``{branch: content}``.
    """

    kind = "Parallel"

    def __init__(
        self,
        *args: Any,
        name: str | None = None,
        description: str | None = None,
        requires_confirmation: bool = False,
        human_review: Any = None,
    ):
        if requires_confirmation or getattr(human_review, "requires_confirmation", False):
            raise KitaruUsageError(
                "requires_confirmation is not supported on Parallel (as in the mirrored API): its branches run "
                "at the same time; ask on the steps before or inside it instead"
            )
        steps = list(args)
        if steps and isinstance(steps[0], str):
            name = name if name is not None else steps[0]
            steps = steps[1:]
        self.name = name if name is not None else "Parallel"
        self._check_name()
        self.description = description
        self.steps = prepare(steps, f"Parallel {self.name!r}")

    def groups(self) -> list[list[Any]]:
        return [self.steps]
