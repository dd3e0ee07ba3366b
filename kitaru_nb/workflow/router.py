"""``Router(selector=..., choices=[...])``: a function picks which steps run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kitaru_nb.errors import KitaruUsageError
from kitaru_nb.workflow.constructs import Construct, fingerprint_of, prepare, reject_setting
from kitaru_nb.workflow.types import OnReject, StepInput

__all__ = ["Router"]


class Router(Construct):
    """``selector(step_input)`` returns the step(s) to run: a ``Step`` of ``choices``, its name, or a
    list of them (run in that order, each getting the previous one's content). The choice is
    journaled (a checkpoint named after the router, its output the chosen names), so a continue
    after a restart takes the same route; the chosen steps are journaled as ``NAME/step``.
    """

    kind = "Router"

    def __init__(
        self,
        selector: Callable[[StepInput], Any] | None = None,
        choices: Any = None,
        name: str | None = None,
        description: str | None = None,
        requires_confirmation: bool = False,
        confirmation_message: str | None = None,
        on_reject: OnReject | str = OnReject.skip,
    ):
        self.name = name
        self._check_name()
        if selector is None or not callable(selector):
            raise KitaruUsageError(
                f"Router {name!r}: selector must be a function of the StepInput returning the step(s) to run, "
                f"got {selector!r}"
            )
        self.selector = selector
        self.choices = prepare(choices, f"Router {name!r} choices")
        self.description = description
        self.requires_confirmation = requires_confirmation
        self.confirmation_message = confirmation_message
        self.on_reject = reject_setting(on_reject, f"Router {name!r}", (OnReject.skip, OnReject.cancel))
        self.fingerprint = fingerprint_of(selector)

    @property
    def steps(self) -> list[Any]:
        return self.choices

    def groups(self) -> list[list[Any]]:
        return [self.choices]

    def select(self, step_input: StepInput) -> list[str]:
        """The names of the chosen steps (what the journal keeps)."""
        picked = self.selector(step_input)
        if picked is None:
            return []
        items = picked if isinstance(picked, (list, tuple)) else [picked]
        known = [s.name for s in self.choices]
        names: list[str] = []
        for item in items:
            name = item if isinstance(item, str) else getattr(item, "name", None)
            if not isinstance(name, str) or name not in known:
                raise KitaruUsageError(
                    f"Router {self.name!r}: the selector returned {item!r}, which is not one of its choices "
                    f"{known}; return one of those steps (or its name)"
                )
            names.append(name)
        return names
