"""Fixtures for driving the inspector in a real browser: Debian's Chromium (never a
downloaded one) under Playwright, against a real `scenestate serve` on a loopback
port with an embedded SQLite database in a temporary folder, and a studio with a key
made by `scenestate key`.

Where Chromium or Playwright is missing these tests are skipped, saying why; under
CI (CI=true) they fail instead, so a CI that lost its browser cannot pass green.
Screenshots go to $SCENESTATE_SCREENSHOTS when set (the README's docs/screenshots),
else to a temporary folder.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import SCENESTATE

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STUDIO = "acme"
WAIT = 60.0  # seconds any condition in these tests may take on a busy machine


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


def require_browser() -> None:
    """Skip without Chromium or Playwright, saying which; under CI, fail."""
    missing = _browser_missing()
    if missing is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests under CI need a browser: {missing}")
    pytest.skip(f"browser tests: {missing}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], what: str, within: float = WAIT) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@dataclass
class Server:
    """`scenestate serve` in its own process; `kill` and `start` again on the same port
    and data, as an operator's restart would."""

    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    key: str = ""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=20))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [str(SCENESTATE), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if ok and run.returncode != 0:
            raise AssertionError(f"scenestate {' '.join(args)}: {run.stdout}{run.stderr}")
        return run

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [str(SCENESTATE), "serve", "--port", str(self.port)],
                env=self.env,
                stdout=sink,
                stderr=sink,
            )
        wait_until(self._up, "scenestate serve to answer /healthz")

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"scenestate serve exited:\n{self.log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            return self.http.get(f"{self.url}/healthz").status_code == 200
        return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        answer = self.http.request(method, f"{self.url}{path}", headers=headers, **kwargs)
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def finished(self, scene: str, execution: str, branch: str = "main") -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            run: dict[str, Any] = self.api(
                "GET", f"/scenes/{scene}/executions/{execution}?branch={branch}"
            )
            return run if run["status"] != "running" else None

        found: dict[str, Any] = wait_until(done, f"execution {execution} to finish")
        return found


@dataclass
class OtherOrigin:
    """A page server on another port: `allowed` is on the API's CORS list, `refused`
    (the same server under another host name, so another origin) is not."""

    allowed: str
    refused: str


@pytest.fixture(scope="session")
def page_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtherOrigin]:
    folder = tmp_path_factory.mktemp("origin")
    (folder / "index.html").write_text("<!doctype html><title>another site</title><p>hello")
    handler = _quiet_handler(folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield OtherOrigin(f"http://localhost:{port}", f"http://127.0.0.1:{port}")
    server.shutdown()


def _quiet_handler(folder: Path) -> type[http.server.SimpleHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, page_origin: OtherOrigin) -> Iterator[Server]:
    require_browser()
    home = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    env.update(
        SCENESTATE_DATA_DIR=str(home / "data"),
        SCENESTATE_CORS_ORIGINS=page_origin.allowed,
        SCENESTATE_API_HEARTBEAT="1",
        COLUMNS="200",
        NO_COLOR="1",
    )
    running = Server(env, free_port(), home / "serve.log")
    running.cli("migrate")
    running.key = running.cli("key", "inspector", "--studio", STUDIO).stdout.strip()
    running.start()
    try:
        yield running
    finally:
        running.stop()
        running.http.close()


# Module scope: Playwright's sync API keeps an event loop running in this thread while
# it is open, and the tests after these call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT * 1000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield opened
    context.close()
    assert not errors, f"the page reported errors: {errors}"


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("SCENESTATE_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/studio")
    page.get_by_label("Studio API key").fill(server.key)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#studio-name").wait_for()
