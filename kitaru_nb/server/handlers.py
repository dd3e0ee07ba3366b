"""Tornado handlers of the REST API, all under ``<base_url>/kitaru-nb/api/`` and all authenticated."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from kitaru_nb.server import service as api
from kitaru_nb.server.live import JournalWatcher
from kitaru_nb.server.service import ApiError, JournalService

PREFIX = ("kitaru-nb", "api")


class _Base(APIHandler):
    """JSON in, JSON out; an ``ApiError`` becomes its status with ``{"message", "errors"?}``."""

    service: JournalService

    def initialize(self, service: JournalService) -> None:
        self.service = service

    async def _respond(self, fn: Callable[[], dict[str, Any] | None]) -> None:
        """Run ``fn`` off the event loop; its dict is the JSON body, None a 204 without one."""
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        try:
            # SQLite work off the event loop: a busy journal must not stall the server
            payload = await asyncio.to_thread(fn)
        except ApiError as err:
            self.set_status(err.status)
            self.finish(json.dumps(err.payload()))
            return
        if payload is None:
            self.set_status(204)
            self.clear_header("Content-Type")
            self.finish()
            return
        self.finish(json.dumps(payload))


class StatusHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self._respond(self.service.status)


class ExecutionsHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        params: dict[str, str] = {
            k: self.get_query_argument(k)
            for k in ("status", "flow", "flow_contains", "limit", "offset")
            if k in self.request.query_arguments
        }
        await self._respond(lambda: api.search(self.service, params))


class ExecutionHandler(_Base):
    @tornado.web.authenticated
    async def get(self, exec_id: str) -> None:
        params = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        await self._respond(lambda: self.service.get(exec_id, params))

    @tornado.web.authenticated
    async def delete(self, exec_id: str) -> None:
        """204 when deleted; 409 for a running or waiting execution unless ``?force=true``. Like every
        verb that changes the journal, it needs the token or the login cookie with its XSRF token."""
        force = self.get_query_argument("force", None)
        await self._respond(lambda: self.service.delete(exec_id, force))


class InputHandler(_Base):
    @tornado.web.authenticated
    async def post(self, exec_id: str) -> None:
        body = self.request.body
        await self._respond(lambda: self.service.answer(exec_id, body))


class DecisionHandler(_Base):
    @tornado.web.authenticated
    async def post(self, exec_id: str) -> None:
        body = self.request.body
        await self._respond(lambda: self.service.decide(exec_id, body))


class CountsHandler(_Base):
    """How many executions wait for a human; also (re)starts the push loop if it is not running."""

    @tornado.web.authenticated
    async def get(self) -> None:
        watcher: JournalWatcher | None = self.settings.get("kitaru_nb_watcher")
        if watcher is not None:
            watcher.start()

        def counts() -> dict[str, Any]:
            out = api.counts(self.service)
            if watcher is not None:  # the token the pushes carry (the watcher's own connection)
                out["token"] = watcher.token()
            return out

        await self._respond(counts)


class ReplayHandler(_Base):
    @tornado.web.authenticated
    async def post(self, exec_id: str) -> None:
        body = self.request.body
        self.set_status(202)
        await self._respond(lambda: self.service.replay(exec_id, body))


class RetryHandler(_Base):
    @tornado.web.authenticated
    async def post(self, exec_id: str) -> None:
        body = self.request.body
        self.set_status(202)
        await self._respond(lambda: self.service.retry(exec_id, body))


class NotFoundHandler(_Base):
    """Anything else under the prefix: a JSON 404 (no route serves files)."""

    def _missing(self) -> dict[str, Any]:
        raise ApiError(404, f"no such kitaru-nb API route: {self.request.method} {self.request.path}")

    @tornado.web.authenticated
    async def get(self, _rest: str) -> None:
        await self._respond(self._missing)

    @tornado.web.authenticated
    async def post(self, _rest: str) -> None:
        await self._respond(self._missing)

    @tornado.web.authenticated
    async def delete(self, _rest: str) -> None:
        await self._respond(self._missing)


def setup_handlers(web_app: Any, service: JournalService) -> None:
    base = url_path_join(web_app.settings["base_url"], *PREFIX)
    kwargs = {"service": service}
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "status"), StatusHandler, kwargs),
            (url_path_join(base, "executions"), ExecutionsHandler, kwargs),
            (url_path_join(base, "executions", "([^/]+)"), ExecutionHandler, kwargs),
            (url_path_join(base, "executions", "([^/]+)", "input"), InputHandler, kwargs),
            (url_path_join(base, "executions", "([^/]+)", "decision"), DecisionHandler, kwargs),
            (url_path_join(base, "counts"), CountsHandler, kwargs),
            (url_path_join(base, "executions", "([^/]+)", "replay"), ReplayHandler, kwargs),
            (url_path_join(base, "executions", "([^/]+)", "retry"), RetryHandler, kwargs),
            (url_path_join(base, "(.*)"), NotFoundHandler, kwargs),
        ],
    )
