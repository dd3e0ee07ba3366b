"""``WorkflowSession``: the runs of a workflow in one session, read from the db."""

from __future__ import annotations

from dataclasses import dataclass, field

from kitaru_nb.run.workflow import WorkflowRunOutput


@dataclass
class WorkflowSession:
    """A workflow's runs in one session, oldest first (``runs[-1]`` is the latest)."""

    session_id: str
    workflow_name: str
    workflow_id: str | None = None
    runs: list[WorkflowRunOutput] = field(default_factory=list)

    def get_run(self, run_id: str) -> WorkflowRunOutput | None:
        return next((r for r in self.runs if r.run_id == run_id), None)
