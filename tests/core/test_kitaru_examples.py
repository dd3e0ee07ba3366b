"""Kitaru's examples, written the Kitaru way, run under ``import kitaru_nb as kitaru``.

Each test follows one of Kitaru's documented examples (a first flow, artifacts across executions,
structured logging, replay with overrides read back through ``checkpoint.artifacts``, and wait and
resume driven through the client): same calls, same shapes of results.
"""

from __future__ import annotations

import re
import threading
import time
from contextlib import suppress
from typing import Any

import pytest

import kitaru_nb as kitaru
from kitaru_nb import checkpoint, flow
from kitaru_nb.client import ExecutionStatus, KitaruClient

# every test gets its own journal file, configured as the default
pytestmark = pytest.mark.usefixtures("db_path")


def test_a_first_flow_returns_its_result_from_wait() -> None:
    @checkpoint
    def ex_gather(topic: str) -> str:
        return f"Notes on {topic}: trends, open questions."

    @checkpoint
    def ex_summarize(notes: str) -> str:
        return f"Summary: {notes.split(':')[0].lower()}."

    @flow
    def ex_research(topic: str) -> str:
        return ex_summarize(ex_gather(topic))

    assert ex_research.run("solar").wait() == "Summary: notes on solar."


def test_artifacts_saved_in_one_execution_load_in_the_next() -> None:
    @checkpoint
    def ex_research_notes(topic: str) -> str:
        notes = f"Research notes about {topic}."
        kitaru.save("research_context", {"topic": topic, "notes": notes}, type="context", tags=["phase"])
        return notes

    @flow
    def ex_first_pass(topic: str) -> str:
        return ex_research_notes(topic)

    @checkpoint
    def ex_follow_up(prev_exec_id: str) -> str:
        previous = kitaru.load(prev_exec_id, "ex_research_notes")  # a checkpoint's output, by its name
        context = kitaru.load(prev_exec_id, "research_context")  # a saved artifact, by its name
        return f"{previous} [topic={context['topic']}]"

    @flow
    def ex_second_pass(prev_exec_id: str) -> str:
        return ex_follow_up(prev_exec_id)

    first = ex_first_pass.run("kitaru")
    assert first.wait() == "Research notes about kitaru."
    assert ex_second_pass.run(first.exec_id).wait() == "Research notes about kitaru. [topic=kitaru]"

    client = kitaru.KitaruClient()
    artifacts = client.artifacts.list(first.exec_id)
    assert [(a.name, a.kind, a.save_type) for a in artifacts] == [
        ("output", "output", "step_output"),
        ("research_context", "context", "manual"),
    ]
    context = next(a for a in artifacts if a.name == "research_context")
    assert context.load() == {"topic": "kitaru", "notes": "Research notes about kitaru."}
    assert context.tags == ["phase"] and context.producing_call == "ex_research_notes"
    assert client.artifacts.get(context.artifact_id).load() == context.load()
    assert client.artifacts.list(first.exec_id, kind="context", limit=1) == [context]
    cp = client.executions.get(first.exec_id).checkpoints[0]
    assert [a.name for a in cp.artifacts] == ["output", "research_context"]
    assert cp.artifacts[0].load() == "Research notes about kitaru."


def test_log_attaches_metadata_to_checkpoints_and_to_the_execution() -> None:
    @checkpoint(type="llm_call")
    def ex_write_draft(topic: str) -> str:
        kitaru.log(draft_cost={"usd": 0.001})
        kitaru.log(draft_cost={"tokens": 42}, model="demo-model", latency_ms=120)
        return f"Draft about {topic}."

    @checkpoint
    def ex_polish(draft: str) -> str:
        kitaru.log(quality_score=0.93)
        return draft.upper()

    @flow
    def ex_writer(topic: str) -> str:
        kitaru.log(topic=topic, stage="started")
        result = ex_polish(ex_write_draft(topic))
        kitaru.log(stage="completed", output_kind="text")
        return result

    handle = ex_writer.run("kitaru")
    assert handle.wait() == "DRAFT ABOUT KITARU."
    ex = kitaru.KitaruClient().executions.get(handle.exec_id)
    assert ex.metadata == {"topic": "kitaru", "stage": "completed", "output_kind": "text"}
    draft, polish = ex.checkpoints
    assert draft.metadata == {"draft_cost": {"usd": 0.001, "tokens": 42}, "model": "demo-model", "latency_ms": 120}
    assert draft.checkpoint_type == "llm_call" and polish.checkpoint_type is None
    assert polish.metadata == {"quality_score": 0.93}
    assert ex.to_dict()["checkpoints"][0]["metadata"]["model"] == "demo-model"


def test_replay_with_an_override_is_read_back_through_checkpoint_artifacts() -> None:
    @checkpoint
    def research(topic: str) -> str:
        return f"notes about {topic}"

    @checkpoint
    def write_draft(research_notes: str) -> str:
        return f"Draft from {research_notes}"

    @checkpoint
    def publish(draft: str) -> str:
        return f"PUBLISHED: {draft}"

    @flow
    def ex_content_pipeline(topic: str) -> str:
        return publish(write_draft(research(topic)))

    source = ex_content_pipeline.run("kitaru")
    assert source.wait() == "PUBLISHED: Draft from notes about kitaru"
    client = kitaru.KitaruClient()
    replayed = client.executions.replay(
        source.exec_id, from_="write_draft", overrides={"checkpoint.research": "edited notes for kitaru"}
    )
    deadline = time.time() + 30
    while time.time() <= deadline:
        execution = client.executions.get(replayed.exec_id)
        if execution.status in {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}:
            break
        time.sleep(0.05)
    assert execution.status == ExecutionStatus.COMPLETED
    publish_cp = next(cp for cp in execution.checkpoints if cp.name == "publish")
    assert str(publish_cp.artifacts[0].load()) == "PUBLISHED: Draft from edited notes for kitaru"


def test_wait_and_resume_through_the_client() -> None:
    @checkpoint
    def ex_draft_note(topic: str) -> str:
        return f"Draft about {topic}."

    @checkpoint
    def ex_publish_note(draft: str) -> str:
        return f"PUBLISHED: {draft}"

    @flow
    def ex_wait_for_approval(topic: str) -> str:
        draft = ex_draft_note(topic)
        approved = kitaru.wait(
            schema=bool,
            name="approve_release",
            question=f"Approve publishing release notes for {topic}?",
            metadata={"topic": topic},
        )
        if not approved:
            return f"REJECTED: {topic}"
        return ex_publish_note(draft)

    topic = f"kitaru-{time.time_ns()}"
    state: dict[str, Any] = {"handle": None, "error": None}

    def runner() -> None:
        try:
            state["handle"] = ex_wait_for_approval.start(topic, cache=False)
        except Exception as exc:  # surfaced below
            state["error"] = exc

    starter = threading.Thread(target=runner, daemon=True)
    starter.start()
    client = KitaruClient()
    found = None
    deadline = time.time() + 30
    while found is None and time.time() < deadline:
        assert state["error"] is None
        for execution in client.executions.list(flow="ex_wait_for_approval", limit=20):
            pending = client.executions.get(execution.exec_id).pending_wait
            if pending is not None and pending.metadata.get("topic") == topic:
                found = (execution.exec_id, pending.wait_id)
        time.sleep(0.05)
    assert found is not None
    exec_id, wait_id = found
    waiting = client.executions.get(exec_id)
    assert (
        waiting.status_reason
        == f"waiting for input on wait 'approve_release': Approve publishing release notes for {topic}?"
    )
    after_input = client.executions.input(exec_id, wait=wait_id, value=True)
    with suppress(kitaru.KitaruStateError):
        client.executions.resume(exec_id)
    starter.join(timeout=30)
    assert not starter.is_alive() and state["error"] is None
    assert state["handle"].wait() == f"PUBLISHED: Draft about {topic}."
    assert after_input.status.value == "completed"
    assert after_input.flow_id == "ex_wait_for_approval" and after_input.pending_wait is None


# -- what the examples rely on, and what bad input gets --------------------------------


def test_save_load_and_log_refuse_to_run_where_kitaru_refuses(client: KitaruClient) -> None:
    with pytest.raises(kitaru.KitaruContextError, match=r"^kitaru\.save\(\) can only be called inside a @checkpoint\."):
        kitaru.save("x", 1)
    with pytest.raises(kitaru.KitaruContextError, match=r"^kitaru\.load\(\) can only be called inside a @checkpoint\."):
        kitaru.load("e", "x")
    with pytest.raises(
        kitaru.KitaruContextError, match=r"^kitaru\.log\(\) can only be called inside a @kitaru\.flow\."
    ):
        kitaru.log(a=1)

    @flow
    def ex_save_in_body() -> None:
        kitaru.save("x", 1)

    with pytest.raises(kitaru.KitaruUserCodeError, match=r"can only be called inside a @checkpoint"):
        ex_save_in_body.run().wait()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: kitaru.save("x", 1, type="weird"),
            r"^Unsupported Kitaru artifact type 'weird'\. Expected one of: "
            r"blob, context, input, output, prompt, response\.",
        ),
        (lambda: kitaru.save("", 1), r"name must be a non-empty str"),
        (lambda: kitaru.save("x", 1, tags="a"), r"tags=\.\.\.\) takes a list of str"),
        (lambda: kitaru.save("x", threading.Lock()), r"the value cannot be journaled"),
        (lambda: kitaru.log(when=object()), r"kitaru\.log\(\) takes JSON values"),
        (lambda: kitaru.log(x=float("nan")), r"kitaru\.log\(\) takes JSON values"),
    ],
)
def test_bad_input_to_save_and_log_fails_the_checkpoint_with_a_clear_error(
    client: KitaruClient, call: Any, message: str
) -> None:
    @checkpoint
    def ex_bad() -> None:
        call()

    @flow
    def ex_bad_flow() -> None:
        ex_bad()

    handle = ex_bad_flow.run()
    with pytest.raises(kitaru.KitaruUserCodeError):
        handle.wait()
    failure = client.executions.get(handle.exec_id).checkpoints[0].failure
    assert failure is not None and failure.exception_type == "kitaru_nb.errors.KitaruUsageError"
    assert re.search(message, failure.message), failure.message
    assert client.artifacts.list(handle.exec_id) == []


def test_load_names_what_is_there_when_nothing_matches_and_refuses_ambiguity(client: KitaruClient) -> None:
    @checkpoint
    def ex_twice(n: int) -> int:
        kitaru.save("shared", n)
        return n

    @flow
    def ex_twice_flow() -> int:
        return ex_twice(1) + ex_twice(2)

    source = ex_twice_flow.run()
    assert source.wait() == 3
    seen: dict[str, str] = {}

    @checkpoint
    def ex_reader(exec_id: str, name: str) -> Any:
        try:
            return kitaru.load(exec_id, name)
        except kitaru.KitaruRuntimeError as exc:
            seen[name] = str(exc)
            return None

    @flow
    def ex_reader_flow(exec_id: str) -> None:
        ex_reader(exec_id, "missing")
        ex_reader(exec_id, "shared")
        ex_reader(exec_id, "ex_twice")

    ex_reader_flow.run(source.exec_id).wait()
    assert seen["missing"].startswith(f"No artifact named 'missing' was found in execution {source.exec_id}.")
    assert "Saved artifacts: ['shared']; checkpoint outputs: ['ex_twice']" in seen["missing"]
    assert seen["shared"].startswith(f"Multiple artifacts named 'shared' were found in execution {source.exec_id}.")
    assert "Please disambiguate by choosing a unique artifact name." in seen["shared"]
    assert "ex_twice" in seen  # two calls of the checkpoint: its name is ambiguous too


def test_a_retried_attempt_replaces_what_the_failed_attempt_saved(client: KitaruClient) -> None:
    tries = {"n": 0}

    @checkpoint(retries=1)
    def ex_flaky() -> str:
        tries["n"] += 1
        kitaru.save("log", f"attempt {tries['n']}", type="blob")
        if tries["n"] == 1:
            raise ConnectionError("first try fails")
        return "ok"

    @flow
    def ex_flaky_flow() -> str:
        return ex_flaky()

    handle = ex_flaky_flow.run()
    assert handle.wait() == "ok"
    saved = client.artifacts.list(handle.exec_id, name="log")
    assert len(saved) == 1 and saved[0].load() == "attempt 2"


def test_replayed_executions_keep_the_artifacts_of_reused_checkpoints(client: KitaruClient) -> None:
    @checkpoint
    def ex_base() -> int:
        kitaru.save("basis", {"v": 1}, type="input")
        return 1

    @checkpoint
    def ex_next(x: int) -> int:
        return x + 1

    @flow
    def ex_replayed() -> int:
        return ex_next(ex_base())

    first = ex_replayed.run()
    assert first.wait() == 2
    again = ex_replayed.replay(first.exec_id, from_="ex_next")
    assert again.wait() == 2
    names = [(a.producing_call, a.name) for a in client.artifacts.list(again.exec_id)]
    assert names == [("ex_base", "output"), ("ex_base", "basis"), ("ex_next", "output")]
    assert client.artifacts.list(again.exec_id, name="basis")[0].load() == {"v": 1}

    @checkpoint
    def ex_load_basis(exec_id: str) -> Any:
        return kitaru.load(exec_id, "basis")

    @flow
    def ex_loader(exec_id: str) -> Any:
        return ex_load_basis(exec_id)

    assert ex_loader.run(again.exec_id[:10]).wait() == {"v": 1}  # an id prefix is enough


def test_artifact_ids_that_do_not_exist_get_a_clear_error(client: KitaruClient) -> None:
    with pytest.raises(kitaru.KitaruUsageError, match=r"no artifact 'nope' in the journal .*artifacts\.list"):
        client.artifacts.get("nope")
    with pytest.raises(kitaru.KitaruUsageError, match=r"no artifact 'abc:output'"):
        client.artifacts.get("abc:output")
    with pytest.raises(kitaru.KitaruUsageError, match=r"`limit` must be >= 1"):
        client.artifacts.list("whatever", limit=0)


def test_status_reason_says_why_for_failed_and_paused_executions(client: KitaruClient) -> None:
    @checkpoint(on_error="pause")
    def ex_pauses() -> None:
        raise ValueError("bad row 7")

    @flow
    def ex_pausing() -> None:
        ex_pauses()

    @checkpoint
    def ex_fails() -> None:
        raise KeyError("k")

    @flow
    def ex_failing() -> None:
        ex_fails()

    paused = client.executions.get(ex_pausing.run().exec_id)
    assert paused.status_reason == "checkpoint 'ex_pauses' failed and waits for a retry or skip decision"
    failed_handle = ex_failing.run()
    failed = client.executions.get(failed_handle.exec_id)
    assert failed.status_reason == "failed (user_code): KeyError: 'k'"
    assert failed.to_dict()["status_reason"] == failed.status_reason
