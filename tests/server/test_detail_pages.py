"""GET executions/{id} on a big execution: a bounded default page, paging with after / before / limit,
and DELETE executions/{id} (auth, XSRF, 409 for open executions, 404 afterwards)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kitaru_nb as kitaru

from .flows import make_all

N = 1_000


def big_execution(n: int = N, *, fail_at: int | None = None) -> str:
    """A flow of ``n`` trivial checkpoints (the one at ``fail_at`` fails the execution)."""

    @kitaru.checkpoint
    def pg_step(i: int) -> int:
        if i == fail_at:
            raise ValueError(f"row {i} is bad")
        return i

    @kitaru.flow
    def pg_big() -> int:
        return sum(pg_step(i) for i in range(n))

    return pg_big.run().exec_id


def indexes(detail: dict[str, Any]) -> list[int]:
    return [r["index"] for r in detail["timeline"]]


async def test_the_default_detail_of_a_big_execution_is_the_last_rows_with_counts(journal, api) -> None:
    exec_id = big_execution()
    code, detail = await api("GET", "executions", exec_id)
    assert code == 200
    assert detail["status"] == "completed"
    assert detail["progress"] == {"done": N, "total": N}
    assert detail["partial"] is True
    assert indexes(detail) == list(range(N - 200, N))
    assert [c["index"] for c in detail["checkpoints"]] == list(range(N - 200, N))
    assert detail["checkpoints"][-1]["output_preview"] == str(N - 1)
    assert detail["page"] == {
        "total": N,
        "first_index": N - 200,
        "last_index": N - 1,
        "older": True,
        "newer": False,
        "limit": 200,
    }

    code, small = await api("GET", "executions", exec_id, params={"limit": "10"})
    assert code == 200 and indexes(small) == list(range(N - 10, N))


async def test_a_failed_row_far_back_is_in_the_default_page(journal, api) -> None:
    exec_id = big_execution(600, fail_at=5)
    code, detail = await api("GET", "executions", exec_id, params={"limit": "3"})
    assert code == 200 and detail["status"] == "failed"
    # the run stopped at 5: its rows are 0..5, the last three are 3, 4, 5 (5 failed)
    assert indexes(detail) == [3, 4, 5]
    assert detail["checkpoints"][-1]["status"] == "failed"
    assert detail["page"]["older"] is True


async def test_a_small_execution_is_whole(journal, tmp_path: Path, api) -> None:
    ids = make_all(tmp_path)
    code, detail = await api("GET", "executions", ids["completed"])
    assert code == 200
    assert detail["partial"] is False
    assert detail["page"] == {
        "total": 2,
        "first_index": 0,
        "last_index": 1,
        "older": False,
        "newer": False,
        "limit": 200,
    }
    # JupyterLab adds a cache-busting parameter to every GET; other parameters are ignored
    code, again = await api("GET", "executions", ids["completed"], params={"1796649852713": ""})
    assert code == 200 and again["page"] == detail["page"]


async def test_after_and_limit_page_through_every_row_exactly_once(journal, api) -> None:
    exec_id = big_execution()
    seen: list[int] = []
    after = -1
    while True:
        code, detail = await api("GET", "executions", exec_id, params={"after": str(after), "limit": "300"})
        assert code == 200, detail
        page = detail["page"]
        assert len(detail["timeline"]) <= 300
        assert page["total"] == N
        seen += indexes(detail)
        if not page["newer"]:
            break
        after = page["last_index"]
    assert seen == list(range(N))


async def test_before_pages_back_to_the_first_row(journal, api) -> None:
    """What the sidebar's "show older rows" does: the default page, then pages before its first row."""
    exec_id = big_execution()
    code, detail = await api("GET", "executions", exec_id)
    seen = indexes(detail)
    page = detail["page"]
    while page["older"]:
        code, older = await api("GET", "executions", exec_id, params={"before": str(page["first_index"])})
        assert code == 200, older
        assert len(older["timeline"]) <= 200
        seen = indexes(older) + seen
        page = older["page"]
    assert seen == list(range(N))


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"after": "x"}, "after"),
        ({"after": "-2"}, "after"),
        ({"after": "1.5"}, "after"),
        ({"before": "-1"}, "before"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"after": "3", "before": "9"}, "not both"),
    ],
)
async def test_bad_detail_queries_get_400_with_a_reason(journal, api, params, word) -> None:
    exec_id = big_execution(5)
    code, data = await api("GET", "executions", exec_id, params=params)
    assert code == 400, data
    assert word in data["message"]


# -- DELETE ---------------------------------------------------------------------------------


async def cookie_session(jp_fetch: Callable[..., Any]) -> dict[str, str]:
    """What a browser holds after opening JupyterLab with the token: the login cookie and the
    ``_xsrf`` cookie, and no Authorization header."""
    resp = await jp_fetch("api", "me", method="GET", raise_error=False)
    assert resp.code == 200
    cookies: dict[str, str] = {}
    for header in resp.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    resp = await jp_fetch("lab", method="GET", raise_error=False, headers=_cookie_headers(cookies))
    for header in resp.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return cookies


def _cookie_headers(cookies: dict[str, str]) -> dict[str, str]:
    return {"Authorization": "", "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


async def test_delete_needs_the_token_or_the_cookie_with_its_xsrf_token(jp_fetch, journal, tmp_path, api) -> None:
    ids = make_all(tmp_path)
    target = ids["completed"]

    async def delete(headers: dict[str, str]) -> int:
        resp = await jp_fetch(
            "kitaru-nb", "api", "executions", target, method="DELETE", headers=headers, raise_error=False
        )
        return int(resp.code)

    assert await delete({"Authorization": ""}) == 403  # no token, no cookie
    cookies = await cookie_session(jp_fetch)
    assert "_xsrf" in cookies, cookies
    assert await delete(_cookie_headers(cookies)) == 403  # the login cookie alone: no XSRF token
    wrong = {**_cookie_headers(cookies), "X-XSRFToken": "2|00000000|" + "0" * 32 + "|1"}
    assert await delete(wrong) == 403
    code, _ = await api("GET", "executions", target)
    assert code == 200, "a refused DELETE deleted the execution"

    good = {**_cookie_headers(cookies), "X-XSRFToken": cookies["_xsrf"]}
    assert await delete(good) == 204
    code, _ = await api("GET", "executions", target)
    assert code == 404


async def test_delete_removes_a_finished_execution_and_refuses_open_ones(jp_fetch, journal, tmp_path, api) -> None:
    ids = make_all(tmp_path)

    async def delete(exec_id: str, **params: str) -> tuple[int, Any]:
        resp = await jp_fetch(
            "kitaru-nb", "api", "executions", exec_id, method="DELETE", params=params, raise_error=False
        )
        return resp.code, (json.loads(resp.body) if resp.body else None)

    code, body = await delete(ids["failed"])
    assert (code, body) == (204, None)
    code, data = await api("GET", "executions", ids["failed"])
    assert code == 404 and ids["failed"] in data["message"]
    code, listing = await api("GET", "executions")
    assert ids["failed"] not in [e["exec_id"] for e in listing["executions"]]
    client = kitaru.KitaruClient(db=journal)
    assert ids["failed"] not in [e.exec_id for e in client.executions.list()]
    code, data = await delete(ids["failed"])
    assert code == 404 and "no execution" in data["message"]

    # a waiting execution: 409 with the client's words, nothing deleted; force deletes it
    code, data = await delete(ids["waiting"])
    assert code == 409
    assert "waiting" in data["message"] and "force" in data["message"]
    assert client.executions.get(ids["waiting"]).status == "waiting"
    code, data = await delete(ids["waiting"], force="yes")
    assert code == 400 and "force must be true or false" in data["message"]
    code, _ = await delete(ids["waiting"], force="true")
    assert code == 204
    assert [e.exec_id for e in client.executions.list()] == [ids["completed"]]

    code, data = await delete("ffffffffffffffffffffffffffffffff")
    assert code == 404
    code, data = await delete("../etc")
    assert code in (400, 404)


async def test_delete_of_a_big_execution_leaves_nothing_of_it(journal, api, jp_fetch) -> None:
    exec_id = big_execution()
    client = kitaru.KitaruClient(db=journal)
    outputs = client.artifacts.list(exec_id)
    assert len(outputs) == N
    resp = await jp_fetch("kitaru-nb", "api", "executions", exec_id, method="DELETE", raise_error=False)
    assert resp.code == 204
    assert client.executions.list() == []
    with pytest.raises(kitaru.KitaruUsageError):
        client.executions.get(exec_id)
    for ref in (outputs[0], outputs[-1]):
        with pytest.raises(kitaru.KitaruError):
            client.artifacts.get(ref.artifact_id)
