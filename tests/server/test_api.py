"""The REST API under /kitaru-nb/api/, against a real jupyter_server and a real journal file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kitaru_nb as kitaru
from kitaru_nb.server import journal_path

from .flows import XSS, make_all, make_pickled

REPO = Path(__file__).resolve().parents[2]
GOOD = {"approved": True, "reviewer": "ada"}


# -- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "parts"),
    [
        ("GET", ("executions",)),
        ("GET", ("executions", "0123456789abcdef0123456789abcdef")),
        ("POST", ("executions", "0123456789abcdef0123456789abcdef", "input")),
        ("GET", ("status",)),
    ],
)
async def test_requests_without_a_token_are_refused(jp_fetch, method, parts):
    kw = {"body": json.dumps({"wait": "approve", "value": GOOD})} if method == "POST" else {}
    resp = await jp_fetch(
        "kitaru-nb", "api", *parts, method=method, headers={"Authorization": ""}, raise_error=False, **kw
    )
    assert resp.code == 403


async def test_an_answer_without_a_token_records_nothing(jp_fetch, journal, tmp_path, api):
    ids = make_all(tmp_path)
    resp = await jp_fetch(
        "kitaru-nb",
        "api",
        "executions",
        ids["waiting"],
        "input",
        method="POST",
        body=json.dumps({"wait": "approve", "value": GOOD}),
        headers={"Authorization": ""},
        raise_error=False,
    )
    assert resp.code == 403
    code, detail = await api("GET", "executions", ids["waiting"])
    assert code == 200
    assert [w["name"] for w in detail["pending_waits"]] == ["approve"]


# -- reading ------------------------------------------------------------------------------


async def test_list_returns_the_journal_newest_first_with_filters_and_paging(journal, tmp_path, api):
    ids = make_all(tmp_path)
    code, data = await api("GET", "executions")
    assert code == 200
    assert data["total"] == 3
    assert [e["exec_id"] for e in data["executions"]] == [ids["waiting"], ids["failed"], ids["completed"]]
    assert [e["status"] for e in data["executions"]] == ["waiting", "failed", "completed"]
    assert {e["flow_name"] for e in data["executions"]} == {"summed", "broken", "review"}

    code, data = await api("GET", "executions", params={"status": "failed"})
    assert (code, data["total"], [e["exec_id"] for e in data["executions"]]) == (200, 1, [ids["failed"]])

    code, data = await api("GET", "executions", params={"flow": "review"})
    assert [e["exec_id"] for e in data["executions"]] == [ids["waiting"]]

    code, data = await api("GET", "executions", params={"limit": "1", "offset": "1"})
    assert (data["total"], data["limit"], data["offset"]) == (3, 1, 1)
    assert [e["exec_id"] for e in data["executions"]] == [ids["failed"]]


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"status": "exploded"}, "status"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"offset": "1.5"}, "offset"),
    ],
)
async def test_bad_list_queries_get_400_with_a_reason(journal, api, params, word):
    code, data = await api("GET", "executions", params=params)
    assert code == 400
    assert word in data["message"]


async def test_detail_has_checkpoints_attempts_failures_and_pending_waits(journal, tmp_path, api):
    ids = make_all(tmp_path)

    code, done = await api("GET", "executions", ids["completed"])
    assert code == 200
    assert done["status"] == "completed"
    assert [(c["name"], c["status"]) for c in done["checkpoints"]] == [("load", "completed"), ("total", "completed")]
    load = done["checkpoints"][0]
    assert [(a["number"], a["status"]) for a in load["attempts"]] == [(1, "failed"), (2, "completed")]
    first = load["attempts"][0]["failure"]
    assert first["exception_type"] == "ConnectionError"
    assert first["message"] == "flaky source, first attempt"
    assert "Traceback" in first["traceback"] and "ConnectionError" in first["traceback"]
    assert done["result_preview"] == "6"

    code, failed = await api("GET", "executions", ids["failed"])
    assert failed["status"] == "failed"
    assert failed["failure"]["origin"] == "user_code"
    assert failed["failure"]["exception_type"] == "ValueError"
    assert XSS in failed["failure"]["message"]
    assert "raise ValueError" in failed["failure"]["traceback"]
    assert failed["checkpoints"][0]["attempts"][0]["failure"]["message"] == f"bad row {XSS}"

    code, waiting = await api("GET", "executions", ids["waiting"])
    assert waiting["status"] == "waiting"
    (wait,) = waiting["pending_waits"]
    assert wait["name"] == "approve"
    assert wait["question"] == "Publish total 7?"
    assert wait["schema"]["required"] == ["approved", "reviewer"]
    assert wait["schema"]["properties"]["reviewer"]["minLength"] == 2


async def test_a_short_id_prefix_opens_the_execution(journal, tmp_path, api):
    ids = make_all(tmp_path)
    code, data = await api("GET", "executions", ids["failed"][:8])
    assert (code, data["exec_id"]) == (200, ids["failed"])


async def test_stored_pickles_are_never_loaded(journal, tmp_path, api):
    marker = tmp_path / "unpickled.txt"
    exec_id = make_pickled(marker)
    assert not marker.exists()
    code, data = await api("GET", "executions", exec_id)
    assert code == 200
    assert data["status"] == "completed"
    assert data["checkpoints"][0]["output_preview"]
    code, listing = await api("GET", "executions")
    assert code == 200 and listing["total"] == 1
    assert not marker.exists(), "the server unpickled a stored value"


async def test_without_a_journal_file_the_list_is_empty_and_no_file_is_made(journal, api):
    assert not journal.exists()
    code, data = await api("GET", "executions")
    assert (code, data["executions"], data["total"]) == (200, [], 0)
    code, data = await api("GET", "executions", "0123456789abcdef0123456789abcdef")
    assert code == 404
    code, status = await api("GET", "status")
    assert (code, status) == (200, {"journal": str(journal), "exists": False})
    assert not journal.exists()


# -- answering waits ----------------------------------------------------------------------


async def test_a_bad_answer_gets_400_with_per_field_errors_and_changes_nothing(journal, tmp_path, api):
    ids = make_all(tmp_path)
    _, before = await api("GET", "executions", ids["waiting"])

    code, data = await api(
        "POST", "executions", ids["waiting"], "input", body={"wait": "approve", "value": {"reviewer": "x"}}
    )
    assert code == 400
    by_loc = {tuple(e["loc"]): e for e in data["errors"]}
    assert set(by_loc) == {("approved",), ("reviewer",)}
    assert by_loc[("approved",)]["type"] == "missing"
    assert "2" in by_loc[("reviewer",)]["msg"]
    assert "approve" in data["message"] and "Nothing was recorded" in data["message"]

    _, after = await api("GET", "executions", ids["waiting"])
    assert after == before
    assert kitaru.KitaruClient(db=journal).executions.get(ids["waiting"]).status == "waiting"


async def test_a_good_answer_is_recorded_and_the_flow_resumes_with_it(journal, tmp_path, api):
    ids = make_all(tmp_path)
    code, data = await api("POST", "executions", ids["waiting"], "input", body={"wait": "approve", "value": GOOD})
    assert code == 200
    assert data["exec_id"] == ids["waiting"]
    assert data["pending_waits"] == []
    # the server records; the process that knows the flow resumes it with the recorded answer
    resumed = kitaru.KitaruClient(db=journal).executions.resume(ids["waiting"])
    assert (resumed.status, resumed.result) == ("completed", 7)

    code, again = await api("POST", "executions", ids["waiting"], "input", body={"wait": "approve", "value": GOOD})
    assert code == 409
    assert "not pending" in again["message"]


async def test_answers_from_another_process_are_validated_against_the_stored_schema(journal, api):
    """The usual case: a kernel ran the flow, so the server has only the stored JSON Schema."""
    script = (
        "import json, pathlib; from tests.server.flows import make_all; print(json.dumps(make_all(pathlib.Path('.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**os.environ, "KITARU_NB_DB": str(journal)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    ids = json.loads(out.stdout.strip().splitlines()[-1])

    code, data = await api(
        "POST", "executions", ids["waiting"], "input", body={"wait": "approve", "value": {"approved": "maybe"}}
    )
    assert code == 400
    assert {tuple(e["loc"]) for e in data["errors"]} == {("approved",), ("reviewer",)}
    _, detail = await api("GET", "executions", ids["waiting"])
    assert [w["name"] for w in detail["pending_waits"]] == ["approve"]

    code, data = await api("POST", "executions", ids["waiting"], "input", body={"wait": "approve", "value": GOOD})
    assert (code, data["pending_waits"]) == (200, [])


@pytest.mark.parametrize(
    ("raw", "word"),
    [
        (b"{not json", "JSON"),
        (b"\xff\xfe", "JSON"),
        (b"[1, 2]", "object"),
        (b'{"value": true}', "wait"),
        (b'{"wait": 3, "value": true}', "wait"),
        (b'{"wait": "approve"}', "value"),
        (b'{"wait": "approve", "value": true, "extra": 1}', "unexpected"),
    ],
)
async def test_malformed_bodies_get_400_with_a_reason(journal, tmp_path, api, raw, word):
    ids = make_all(tmp_path)
    code, data = await api("POST", "executions", ids["waiting"], "input", raw=raw)
    assert code == 400
    assert word in data["message"]
    _, detail = await api("GET", "executions", ids["waiting"])
    assert [w["name"] for w in detail["pending_waits"]] == ["approve"]


async def test_unknown_executions_and_waits_are_404(journal, tmp_path, api):
    ids = make_all(tmp_path)
    code, data = await api("GET", "executions", "ffffffffffffffffffffffffffffffff")
    assert code == 404 and "ffffffff" in data["message"]
    code, data = await api(
        "POST", "executions", "ffffffffffffffffffffffffffffffff", "input", body={"wait": "approve", "value": GOOD}
    )
    assert code == 404
    code, data = await api("POST", "executions", ids["waiting"], "input", body={"wait": "nope", "value": GOOD})
    assert code == 404 and "approve" in data["message"]
    code, data = await api("GET", "nothing-here")
    assert code == 404


# -- path tricks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_path",
    [
        "/kitaru-nb/api/executions/..",
        "/kitaru-nb/api/executions/..%2F..%2F..%2Fetc%2Fpasswd",
        "/kitaru-nb/api/executions/%2Fetc%2Fpasswd",
        "/kitaru-nb/api/executions/..%2Fkitaru.db",
        "/kitaru-nb/api/executions/NOT-HEX-0123456789",
        "/kitaru-nb/api/executions/ABCDEF0123456789",
        "/kitaru-nb/api/executions/0123",
        "/kitaru-nb/api/executions/" + "a" * 64,
        "/kitaru-nb/api/executions/%00",
        "/kitaru-nb/api/executions/../../../../etc/passwd",
        "/kitaru-nb/api/executions//etc/passwd",
        "/kitaru-nb/api/executions/..%2F..%2Fetc%2Fpasswd/input",
    ],
)
async def test_path_tricks_are_refused_and_read_no_file(
    journal, tmp_path, http_server_client, jp_auth_header, jp_base_url, raw_path
):
    make_all(tmp_path)
    method = "POST" if raw_path.endswith("/input") else "GET"
    body = json.dumps({"wait": "approve", "value": GOOD}) if method == "POST" else None
    url = jp_base_url.rstrip("/") + raw_path
    resp = await http_server_client.fetch(url, method=method, body=body, headers=jp_auth_header, raise_error=False)
    assert resp.code in (400, 404), (raw_path, resp.code)
    text = resp.body.decode(errors="replace")
    assert "root:" not in text and "SQLite format" not in text
    data = json.loads(text)
    assert data["message"]


def test_the_journal_path_comes_from_config_then_env_then_root_dir(tmp_path):
    root = tmp_path / "root"
    assert journal_path("", root, environ={}) == (root / "kitaru.db").resolve()
    assert journal_path("", root, environ={"KITARU_NB_DB": "/data/j.db"}) == Path("/data/j.db")
    assert journal_path("sub/x.db", root, environ={"KITARU_NB_DB": "/data/j.db"}) == (root / "sub/x.db").resolve()
    assert journal_path(str(tmp_path / "c.db"), root, environ={}) == (tmp_path / "c.db").resolve()
