"""``Steps(steps=[...])``: a named group of steps that run in order."""

from __future__ import annotations

from typing import Any

from kitaru_nb.workflow.constructs import Construct, prepare, reject_setting
from kitaru_nb.workflow.types import OnReject

__all__ = ["Steps"]


class Steps(Construct):
    """Steps run in order as one group (journaled as ``NAME/step``), each getting the previous
    one's content; the group's output lists them in ``steps``."""

    kind = "Steps"

    def __init__(
        self,
        name: str | None = None,
        description: str | None = None,
        steps: Any = None,
        requires_confirmation: bool = False,
        confirmation_message: str | None = None,
        on_reject: OnReject | str = OnReject.skip,
    ):
        self.name = name
        self._check_name()
        self.description = description
        self.steps = prepare(steps, f"Steps {name!r}")
        self.requires_confirmation = requires_confirmation
        self.confirmation_message = confirmation_message
        self.on_reject = reject_setting(on_reject, f"Steps {name!r}", (OnReject.skip, OnReject.cancel))

    def groups(self) -> list[list[Any]]:
        return [self.steps]
