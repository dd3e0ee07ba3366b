"""A minimal Jupyter frontend for kernel-protocol tests: jupyter_client plays the browser.

It runs code in a real ipykernel, tracks every widget model (comm_open + state updates
sent by the kernel), and sends the comm messages a browser sends for a click or for
typing into a field. Nothing is rendered: these tests drive the kernel-side logic
through the real protocol.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel


class CellError(RuntimeError):
    pass


class FakeFrontend:
    def __init__(self, cwd: Path, kernel_name: str = "python3"):
        self.km, self.kc = start_new_kernel(kernel_name=kernel_name, cwd=str(cwd))
        self.models: dict[str, dict[str, Any]] = {}  # comm_id -> current state
        self.widget_messages = 0
        self.updates: list[tuple[str, dict[str, Any]]] = []  # every state update the kernel sent, in order
        self.output_requests: dict[str, set[str]] = {}  # Output model comm_id -> msg_ids it captured
        self.streams: list[tuple[str, str]] = []  # (parent msg_id, text)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    # -- sending ------------------------------------------------------------------------
    def send_comm(self, comm_id: str, data: dict[str, Any]) -> None:
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.kc.session.send(self.kc.shell_channel.socket, msg)

    def click(self, comm_id: str) -> None:
        self.send_comm(comm_id, {"method": "custom", "content": {"event": "click"}})

    def set_state(self, comm_id: str, **state: Any) -> None:
        self.models[comm_id].update(state)
        self.send_comm(comm_id, {"method": "update", "state": state, "buffer_paths": []})

    # -- reading ------------------------------------------------------------------------
    def _handle(self, msg: dict[str, Any], stdout: list[str], parent: str | None = None) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_open":
            self.models[content["comm_id"]] = dict(content["data"].get("state", {}))
            self.widget_messages += 1
        elif kind == "comm_msg":
            data = content.get("data", {})
            if data.get("method") == "update":
                state = data.get("state", {})
                self.models.setdefault(content["comm_id"], {}).update(state)
                self.updates.append((content["comm_id"], dict(state)))
                if state.get("msg_id"):
                    self.output_requests.setdefault(content["comm_id"], set()).add(state["msg_id"])
            self.widget_messages += 1
        elif kind == "stream":
            if parent is None or msg["parent_header"].get("msg_id") == parent:
                stdout.append(content["text"])
            self.streams.append((msg["parent_header"].get("msg_id", ""), content["text"]))
        elif kind == "error" and (parent is None or msg["parent_header"].get("msg_id") == parent):
            raise CellError("\n".join(content["traceback"]))

    def captured(self, output_id: str) -> str:
        """Text a frontend would show in an Output widget: streams routed to it by msg_id."""
        ids = self.output_requests.get(output_id, set())
        kernel_side = "".join(o.get("text", "") for o in self.models[output_id].get("outputs", []))
        return kernel_side + "".join(text for parent, text in self.streams if parent in ids)

    def run(
        self, code: str, timeout: float = 60, on_iopub: Callable[[FakeFrontend, dict[str, Any]], None] | None = None
    ) -> str:
        """Execute ``code`` and return its stdout; raise CellError if the cell raised."""
        msg_id = self.kc.execute(code)
        stdout: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            self._handle(msg, stdout, msg_id)
            if on_iopub is not None:
                on_iopub(self, msg)
            c = msg["content"]
            if (
                msg["msg_type"] == "status"
                and c["execution_state"] == "idle"
                and msg["parent_header"].get("msg_id") == msg_id
            ):
                return "".join(stdout)
        raise TimeoutError(f"cell did not finish in {timeout}s; stdout={''.join(stdout)}")

    def pump_until(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        """Process IOPub messages until ``predicate()`` holds."""
        deadline = time.monotonic() + timeout
        stdout: list[str] = []
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not reached; stdout=" + "".join(stdout))
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            self._handle(msg, stdout)

    # -- finding widgets ----------------------------------------------------------------
    def find_all(self, model_name: str, css: str | None = None, **match: Any) -> list[str]:
        out = []
        for cid, st in self.models.items():
            if st.get("_model_name") != model_name:
                continue
            if css is not None and css not in st.get("_dom_classes", []):
                continue
            if all(st.get(k) == v for k, v in match.items()):
                out.append(cid)
        return out

    def find(self, model_name: str, css: str | None = None, **match: Any) -> str:
        found = self.find_all(model_name, css, **match)
        assert found, f"no {model_name} {css or ''} {match} among {len(self.models)} widget models"
        return found[-1]

    def value(self, comm_id: str, key: str = "value") -> Any:
        return self.models[comm_id].get(key)

    def children(self, comm_id: str) -> list[str]:
        return [ref.removeprefix("IPY_MODEL_") for ref in self.models[comm_id].get("children", [])]

    def descendants(self, comm_id: str) -> list[str]:
        out = []
        for ch in self.children(comm_id):
            out.append(ch)
            if ch in self.models:
                out.extend(self.descendants(ch))
        return out

    def within(self, root: str, model_name: str, css: str | None = None, **match: Any) -> str:
        """The last widget of a kind under ``root`` (by children links)."""
        ids = set(self.descendants(root))
        found = [c for c in self.find_all(model_name, css, **match) if c in ids]
        assert found, f"no {model_name} {css or ''} {match} under {root}"
        return found[-1]
