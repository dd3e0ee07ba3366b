"""JupyterLab + Debian Chromium + Playwright helpers for the browser tests (from shared/recipes)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS_DIR = Path(os.environ.get("ARTIFACTS_DIR", "artifacts"))

# Flags for a sandboxed, offline, root-run CI machine. Playwright adds --headless
# itself (headless=True), and it manages --user-data-dir: passing that flag in
# ``args`` is rejected, use launch_persistent_context(user_data_dir) instead.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLabServer:
    """``jupyter lab`` in a subprocess, isolated from the user's config."""

    def __init__(self, root_dir: Path, extra_args: list[str] | None = None):
        self.root_dir = Path(root_dir)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen | None = None
        self.log_path = self.root_dir.parent / "jupyterlab.log"
        self.startup_s: float | None = None

    def start(self, timeout: float = 90) -> JupyterLabServer:
        state = self.root_dir.parent / "jupyter-state"
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(state / "config"),  # ignore ~/.jupyter
            JUPYTER_RUNTIME_DIR=str(state / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(state / "lab-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(state / "lab-workspaces"),  # no restored layout
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.news_url=None",  # no news feed fetch (offline CI)
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
            *self.extra_args,
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # CI containers often run as root
        # no "Would you like to get notified about official Jupyter news?" toast
        notif = state / "lab-settings" / "@jupyterlab" / "apputils-extension"
        notif.mkdir(parents=True, exist_ok=True)
        (notif / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        t0 = time.monotonic()
        self._log = open(self.log_path, "wb")
        # own process group, so the server *and its kernels* can be stopped together
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root_dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{self.log_path.read_text()}")
            try:
                self.api("GET", "/api/status")
                self.startup_s = time.monotonic() - t0
                return self
            except OSError:
                time.sleep(0.25)
        raise TimeoutError(f"jupyter lab not up after {timeout}s:\n{self.log_path.read_text()}")

    def api(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={self.token}"

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.api("POST", "/api/shutdown")  # also shuts kernels down
                self.proc.wait(timeout)
            except Exception:
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        try:  # stray kernels of *this* server
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()
        self.proc = None


# --------------------------------------------------------------------------- browser


@contextmanager
def launch_chromium(headless: bool = not os.environ.get("HEADED")):
    """Yield a fresh browser context on a throw-away profile dir."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM_PATH,
            headless=headless,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


def open_notebook(page: Page, server: JupyterLabServer, name: str) -> None:
    page.goto(server.url(f"/lab/tree/{name}"))
    # the notebook panel is there and its kernel is up (status bar / toolbar say Idle)
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)


def wait_kernel_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the visible notebook has a kernel *and* it is idle.

    Pitfall: right after load the toolbar indicator already says data-status="idle"
    while the kernel name still reads "No Kernel"; running cells at that moment pops
    a "Select Kernel" dialog. So check both.
    """
    page.wait_for_function(
        """() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            if (!panel) return false;
            const name = panel.querySelector('.jp-Toolbar-kernelName')?.textContent?.trim();
            const status = panel.querySelector('.jp-Notebook-ExecutionIndicator')
                ?.getAttribute('data-status');
            return !!name && name !== 'No Kernel' && status === 'idle';
        }""",
        timeout=timeout,
    )


def run_all_cells(page: Page) -> None:
    """Run > Run All Cells, through the menu, as a person would."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
