"""Step functions and workflow definitions that a test and a fresh process (a subprocess) both import.

A step's behaviour is steered by a control file (``KITARU_WF_CONTROL``): "fail" makes the
controlled step raise, "ok" lets it succeed, so a retry in a new process can succeed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kitaru_nb.db.sqlite import SqliteDb
from kitaru_nb.workflow import OnError, Workflow
from kitaru_nb.workflow.step import Step
from kitaru_nb.workflow.types import StepInput, StepOutput

REPO = Path(__file__).resolve().parents[2]
CONTROL_ENV = "KITARU_WF_CONTROL"


class Report(BaseModel):
    title: str
    day: date
    scores: list[int]


def set_control(path: Path, mode: str) -> None:
    path.write_text(mode)


def fetch(step_input: StepInput) -> StepOutput:
    mode = Path(os.environ[CONTROL_ENV]).read_text().strip()
    if mode != "ok":
        raise ConnectionError(f"service unavailable ({mode})")
    return StepOutput(content=f"fetched {step_input.input}")


def finish(step_input: StepInput) -> dict[str, Any]:
    return {"previous": step_input.previous_step_content, "input": step_input.input}


def make_int(step_input: StepInput) -> int:
    return 41


def make_date(step_input: StepInput) -> StepOutput:
    return StepOutput(content=date(2024, 2, 29))


def make_report(step_input: StepInput) -> Report:
    return Report(title="q1", day=date(2024, 3, 31), scores=[3, 1, 4])


def describe_types(step_input: StepInput) -> dict[str, str]:
    """Which types the earlier steps' outputs have, as this step sees them."""
    outputs = step_input.previous_step_outputs or {}
    return {name: type(out.content).__name__ for name, out in outputs.items()}


def remote_workflow(db_file: Path | str, *, variant: str = "same") -> Workflow:
    """fetch (pauses on error) -> finish. ``variant="renamed"`` has other step names."""
    steps = [
        Step(name="fetch", executor=fetch, on_error=OnError.pause),
        Step(name="finish", executor=finish),
    ]
    if variant == "renamed":
        steps = [
            Step(name="download", executor=fetch, on_error=OnError.pause),
            Step(name="finish", executor=finish),
        ]
    return Workflow(name="remote", db=SqliteDb(db_file=db_file), steps=steps)


def typed_workflow(db_file: Path | str) -> Workflow:
    """Three typed outputs, then a gate that pauses on error, then a step that reports types."""
    return Workflow(
        name="typed",
        db=SqliteDb(db_file=db_file),
        steps=[
            Step(name="count", executor=make_int),
            Step(name="day", executor=make_date),
            Step(name="report", executor=make_report),
            Step(name="gate", executor=fetch, on_error=OnError.pause),
            Step(name="types", executor=describe_types),
        ],
    )


def run_script(code: str, control: Path, timeout: float = 60) -> dict[str, Any]:
    """Run ``code`` in a new Python process; it prints one JSON object as its last line."""
    env = dict(os.environ, PYTHONPATH=str(REPO), **{CONTROL_ENV: str(control)})
    env.pop("KITARU_NB_DB", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def crashy_workflow(db_file: Path | str, log: Path | str, ready: Path | str | None) -> Workflow:
    """prepare -> train (with ``ready`` given: signals, then sleeps until the process is killed) -> report.

    Each step appends its name to ``log`` when it runs."""

    def ran(name: str) -> None:
        with open(log, "a") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def prepare(step_input: StepInput) -> list[int]:
        ran("prepare")
        return [1, 2, 3]

    def train(step_input: StepInput) -> int:
        ran("train")
        if ready is not None:
            Path(ready).touch()
            import time

            time.sleep(120)  # killed here
        return sum(step_input.previous_step_content)

    def report(step_input: StepInput) -> str:
        ran("report")
        return f"total={step_input.previous_step_content}"

    return Workflow(
        name="crashy",
        db=SqliteDb(db_file=db_file),
        steps=[
            Step(name="prepare", executor=prepare),
            Step(name="train", executor=train),
            Step(name="report", executor=report),
        ],
    )


def gather(step_input: StepInput) -> str:
    return f"gathered {step_input.input}"


def news(step_input: StepInput) -> str:
    with open(Path(os.environ[CONTROL_ENV]).with_suffix(".log"), "a") as fh:
        fh.write("news\n")
    return "news ok"


def parallel_workflow(db_file: Path | str) -> Workflow:
    """gather -> Parallel(news, fetch (pauses on error)) -> finish."""
    from kitaru_nb.workflow.parallel import Parallel

    return Workflow(
        name="fanout",
        db=SqliteDb(db_file=db_file),
        steps=[
            Step(name="gather", executor=gather),
            Parallel(
                Step(name="news", executor=news),
                Step(name="fetch", executor=fetch, on_error=OnError.pause),
                name="research",
            ),
            Step(name="finish", executor=finish),
        ],
    )


def draft(step_input: StepInput) -> str:
    return f"draft of {step_input.input}"


def publish(step_input: StepInput) -> str:
    return f"published {step_input.previous_step_content}"


def archive(step_input: StepInput) -> str:
    return f"archived {step_input.previous_step_content}"


def gated_workflow(db_file: Path | str) -> Workflow:
    """draft -> Condition "gate" (asks first; reject: else branch) -> Steps "announce" (asks first)."""
    from kitaru_nb.workflow.condition import Condition
    from kitaru_nb.workflow.steps import Steps

    return Workflow(
        name="gated",
        db=SqliteDb(db_file=db_file),
        steps=[
            Step(name="draft", executor=draft),
            Condition(
                name="gate",
                steps=[Step(name="publish", executor=publish)],
                else_steps=[Step(name="archive", executor=archive)],
                requires_confirmation=True,
                confirmation_message="Publish the draft?",
            ),
            Steps(
                name="announce",
                steps=[Step(name="tell", executor=lambda si: f"told: {si.get_step_content('gate')}")],
                requires_confirmation=True,
            ),
        ],
    )
