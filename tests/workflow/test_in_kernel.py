"""In a real Jupyter kernel: a streamed run's prints land in the cell that streamed it, and a
paused run's pause shows as the run output's display."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .steps_lib import REPO

pytestmark = pytest.mark.notebook

CELLS = [
    f"import sys; sys.path.insert(0, {str(REPO)!r})",
    """
from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.run.workflow import StepPausedEvent
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step

def talk(step_input):
    print("step says hello")
    return "said"

def fails(step_input):
    raise RuntimeError("needs a human")

wf = Workflow(name="in_kernel", db=SqliteDb(db_file="k.db"),
              steps=[Step(name="talk", executor=talk), Step(name="fails", executor=fails, on_error=OnError.pause)])
""",
    """
import sys
for event in wf.run("x", stream=True, stream_events=True):
    sys.stdout.write(f"event: {type(event).__name__}\\n")  # one write: the worker thread prints too
""",
    """
run = wf.get_session().runs[-1]
print(run.status, run.steps_with_errors[0].error_message)
run
""",
]


def test_streamed_prints_reach_the_cell_and_the_paused_run_displays(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    streamed = "".join(o.get("text", "") for o in nb.cells[2].outputs if o.output_type == "stream")
    assert "step says hello" in streamed  # printed in the worker thread, shown in this cell
    events = re.findall(r"event: (\w+?Event)", streamed)
    assert events == [
        "WorkflowStartedEvent",
        "StepStartedEvent",
        "StepCompletedEvent",
        "StepOutputEvent",
        "StepStartedEvent",
        "StepErrorEvent",
        "StepPausedEvent",
    ]
    last = nb.cells[3].outputs
    assert "PAUSED needs a human" in "".join(o.get("text", "") for o in last if o.output_type == "stream")
    # the run output as the cell's last line shows its panel (with the static summary for saved notebooks)
    displayed = [o for o in last if o.output_type in ("execute_result", "display_data")]
    assert displayed and "text/plain" in displayed[0]["data"]
    assert "kitaru-status-waiting" in displayed[0]["data"]["text/html"]
