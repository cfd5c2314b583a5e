"""The real app in a subprocess (``wsgi.py``), and Debian's Chromium driven at it by Playwright.

Import what a test module needs; these are not in conftest.py on purpose, so only the tests
that want a real server and a browser pay for them::

    from tests.live_server import browser, demo_server  # noqa: F401 (pytest fixtures)

Fixtures:

* ``demo_server`` (module): ``wsgi.py`` under gevent on a fresh SQLite database with
  ``flask demo load`` applied; log in as ``office`` / ``DEMO_PASSWORD``.
* ``start_live_server`` (function): a function ``start(mode="gevent", demo=False, env=None)``
  returning a running :class:`LiveServer`; every server it started is stopped afterwards.
* ``browser`` (session): Chromium launched by Playwright (skipped, or failed in strict runs,
  when Chromium or Playwright is missing: see tests/services.py).

Helpers: :func:`new_phone_context` (360×640, touch, zh-CN) and :func:`new_desktop_context`
(1280×800) make a browser context whose pages are watched by a :class:`PageWatch` (JS dialogs,
console errors, uncaught exceptions); :func:`screenshot` saves ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests import services as outside

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

START_TIMEOUT = 20.0  # seconds until GET / must answer
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
CLI_TIMEOUT = 120.0  # seconds for one `flask ...` command

#: Settings a developer's shell may carry that would make the server differ from the test's.
_APP_SETTINGS = (
    "SOCKETIO_MESSAGE_QUEUE", "SOCKETIO_ALLOWED_ORIGINS", "PUBLIC_BASE_URL", "PROXY_FIX_COUNT",
    "PREFERRED_URL_SCHEME", "SESSION_COOKIE_SECURE", "RATELIMIT_STORAGE_URI", "ACCESS_LOG",
    "QA_LIVE_DEFAULT_LOCALE", "QA_LIVE_TIMEZONE", "EVENTLET_MAX_CONNECTIONS", "TEST_DATABASE_URL",
    "FLASK_DEBUG", "FLASK_RUN_PORT", "FLASK_RUN_HOST",
)

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {
    "viewport": {"width": 360, "height": 640},
    "screen": {"width": 360, "height": 640},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Mobile Safari/537.36"
    ),
}
DESKTOP = {
    "viewport": {"width": 1280, "height": 800},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


# The server ---------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(instance_dir: Path, mode: str = "gevent", port: int | None = None,
               extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for wsgi.py and `flask` on a private SQLite database in instance_dir."""
    env = {k: v for k, v in os.environ.items() if k not in _APP_SETTINGS}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port or free_port()),
        SOCKETIO_ASYNC_MODE=mode,
        QA_LIVE_INSTANCE_DIR=str(instance_dir),
        DATABASE_URL=f"sqlite:///{instance_dir / 'qa.sqlite3'}",
        SECRET_KEY=secrets.token_hex(32),
        FLASK_APP="qa_live",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def run_flask(env: dict[str, str], *args: str,
              timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run `python -m flask ARGS` in the project with env; fail the test with its output."""
    command = [sys.executable, "-m", "flask", *args]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`flask {' '.join(args)}` exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}",
            pytrace=False,
        )
    return result


class LiveServer:
    """A running ``wsgi.py``: its base URL, process, environment and instance folder."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], env: dict[str, str],
                 instance_dir: Path) -> None:
        self.url = url
        self.process = process
        self.env = env
        self.instance_dir = instance_dir

    def __repr__(self) -> str:
        return f"<LiveServer {self.url} {self.mode} pid={self.process.pid}>"

    @property
    def host(self) -> str:
        """The address it listens on (127.0.0.1)."""
        return self.env["HOST"]

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self.env["PORT"])

    @property
    def mode(self) -> str:
        """The SOCKETIO_ASYNC_MODE it was started with."""
        return self.env["SOCKETIO_ASYNC_MODE"]

    @property
    def ws_url(self) -> str:
        """The base URL with the ws:// scheme."""
        return "ws://" + self.url.removeprefix("http://")

    def flask(self, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run a `flask` CLI command against the same database and settings."""
        return run_flask(self.env, *args, timeout=timeout)

    def output(self) -> str:
        """What the server has written to stdout and stderr so far."""
        parts = []
        for name in ("stdout", "stderr"):
            path = self.instance_dir / f"server.{name}"
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- server {name} ---\n{text.rstrip()}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Terminate the server; kill it if it has not exited after STOP_TIMEOUT."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def start_server(instance_dir: Path, mode: str = "gevent", demo: bool = False,
                 env: dict[str, str] | None = None,
                 timeout: float = START_TIMEOUT) -> LiveServer:
    """Migrate a fresh database, load the demo if asked, start wsgi.py and wait for GET /."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    full_env = server_env(instance_dir, mode, extra=env)
    run_flask(full_env, "db", "upgrade")
    if demo:
        run_flask(full_env, "demo", "load")
    url = f"http://{full_env['HOST']}:{full_env['PORT']}"
    with (open(instance_dir / "server.stdout", "wb") as out,
          open(instance_dir / "server.stderr", "wb") as err):
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "wsgi.py")], cwd=ROOT, env=full_env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
        )
    server = LiveServer(url, process, full_env, instance_dir)
    deadline = time.monotonic() + timeout
    while not _answers(url + "/"):
        if process.poll() is not None:
            pytest.fail(f"wsgi.py ({mode}) exited with {process.returncode} before answering "
                        f"GET /\n{server.output()}", pytrace=False)
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"wsgi.py ({mode}) did not answer GET {url}/ within {timeout:.0f} s\n"
                        f"{server.output()}", pytrace=False)
        time.sleep(0.05)
    return server


@contextmanager
def running_server(instance_dir: Path, mode: str = "gevent", demo: bool = False,
                   env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A started server for the duration of a with-block."""
    server = start_server(instance_dir, mode, demo, env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """A function start(mode="gevent", demo=False, env=None) -> LiveServer; all are stopped."""
    started: list[LiveServer] = []

    def start(mode: str = "gevent", demo: bool = False,
              env: dict[str, str] | None = None) -> LiveServer:
        server = start_server(tmp_path / f"server{len(started)}-{mode}", mode, demo, env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """wsgi.py under gevent with the demo data loaded, shared by one test module."""
    with running_server(tmp_path_factory.mktemp("demo_server"), "gevent", demo=True) as server:
        yield server


# The browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright for the whole run (never `playwright install`)."""
    executable = outside.chromium_path()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


class PageWatch:
    """Everything the pages of one context said that a test did not ask for.

    A JS dialog (alert, confirm, prompt, beforeunload) is dismissed and recorded so the page
    does not hang; :meth:`assert_clean` (also run when the context is closed by the fixtures)
    fails the test for it, and for console errors and uncaught exceptions.
    """

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.ignored: list[str] = []  # console errors deliberately not counted
        self._pages: set[int] = set()

    def attach(self, page: Page) -> Page:
        """Watch a page (safe to call twice)."""
        if id(page) in self._pages:
            return page
        self._pages.add(id(page))
        page.on("dialog", self._on_dialog)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        return page

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "") if message.location else ""
        if urlsplit(where).path == "/favicon.ico":
            # Chromium asks every site for one and logs the 404; the app has no icon (yet).
            self.ignored.append(f"{where}: {message.text}")
            return
        self.console_errors.append(f"{where}: {message.text}")

    def expect_console_error(self, pattern: str) -> str:
        """Take the one console error matching a regex (e.g. a 400 the test provoked)."""
        matching = [e for e in self.console_errors if re.search(pattern, e)]
        assert len(matching) == 1, (
            f"expected one console error matching {pattern!r}, got: {self.console_errors}")
        self.console_errors.remove(matching[0])
        return matching[0]

    @property
    def errors(self) -> list[str]:
        """Console errors and uncaught page exceptions, in that order."""
        return [*self.console_errors, *self.page_errors]

    def assert_clean(self) -> None:
        """Fail unless no dialog opened and no error was logged or thrown."""
        problems = [f"dialog {d}" for d in self.dialogs] + self.errors
        assert not problems, "the browser reported:\n" + "\n".join(problems)


def new_context(browser: Browser, base_url: str | None = None, *, phone: bool = False,
                **options: Any) -> tuple[BrowserContext, PageWatch]:
    """A browser context (phone- or desktop-sized) whose pages a new PageWatch follows."""
    settings = {**(PHONE if phone else DESKTOP), **options}
    if base_url:
        settings["base_url"] = base_url
    context = browser.new_context(**settings)
    context.set_default_timeout(10_000)
    watch = PageWatch()
    context.on("page", watch.attach)
    return context, watch


def new_phone_context(browser: Browser, base_url: str | None = None,
                      **options: Any) -> tuple[BrowserContext, PageWatch]:
    """A 360×640 touch phone speaking zh-CN in Beijing time."""
    return new_context(browser, base_url, phone=True, **options)


def new_desktop_context(browser: Browser, base_url: str | None = None,
                        **options: Any) -> tuple[BrowserContext, PageWatch]:
    """A 1280×800 desktop browser speaking zh-CN in Beijing time."""
    return new_context(browser, base_url, phone=False, **options)


@contextmanager
def browsing(browser: Browser, base_url: str | None = None, *, phone: bool = False,
             **options: Any) -> Iterator[tuple[Page, PageWatch]]:
    """A watched page in a new context; on a clean exit the watch must have seen nothing."""
    context, watch = new_context(browser, base_url, phone=phone, **options)
    try:
        page = watch.attach(context.new_page())
        yield page, watch
        watch.assert_clean()
    finally:
        context.close()


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "screenshot"


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save test-artifacts/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_safe_name(name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
