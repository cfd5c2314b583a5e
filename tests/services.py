"""Find the outside services a test needs, or skip it (fail it in strict runs) saying why.

``scripts/test.sh`` starts throw-away PostgreSQL and Redis servers and exports their URLs; it also
points at Debian's Chromium and nginx.  A test (or fixture) calls, e.g., ``postgres_url()``: it
returns the URL once a real connection worked, else skips the test with the reason, or fails it
when ``QA_LIVE_REQUIRE_SERVICES=1`` (``make test STRICT=1``, ``.ci/run``).

Environment variables read:

* ``QA_LIVE_TEST_POSTGRES_URL``: ``postgresql+psycopg://postgres@127.0.0.1:PORT/qa_live_test``
* ``QA_LIVE_TEST_REDIS_URL``: ``redis://127.0.0.1:PORT/0``
* ``QA_LIVE_CHROMIUM``: the Chromium binary (default ``/usr/bin/chromium``)
* ``QA_LIVE_NGINX``: the nginx binary (default: ``nginx`` on PATH, then ``/usr/sbin/nginx``)
* ``QA_LIVE_NODE``: the Node.js binary for the test OIDC provider (default: ``node`` on PATH);
  the sign-in tests (tests/test_*citizen_sign_in*.py) skip as "OIDC provider unavailable"
  without it, with a Node.js older than oidc-provider needs, or before tests/oidc's npm ci
* ``QA_LIVE_REQUIRE_SERVICES``: ``1`` turns every skip here into a failure

Each check runs once per test session: its outcome (the value, or why it is unavailable) is kept
in module globals, so a missing server costs one connection attempt, not one per test.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable

import pytest

_STARTED_BY = "scripts/test.sh (make test) starts it"

_ok: dict[str, str] = {}  # service -> value, for checks that passed
_why: dict[str, str] = {}  # service -> reason, for checks that failed


def strict() -> bool:
    """Say whether missing services fail tests (QA_LIVE_REQUIRE_SERVICES=1) instead of skipping."""
    return os.environ.get("QA_LIVE_REQUIRE_SERVICES") == "1"


def need(service: str, available: bool, why: str) -> None:
    """Skip the current test (fail it in strict runs) unless ``available``; ``why`` says why not."""
    if available:
        return
    if strict():
        pytest.fail(f"{service} required (QA_LIVE_REQUIRE_SERVICES=1) but unavailable: {why}")
    pytest.skip(f"{service} unavailable: {why}")


def _checked(service: str, check: Callable[[], str]) -> str:
    """Return ``check()``'s value, run once per session; skip or fail with its error."""
    if service not in _ok and service not in _why:
        try:
            _ok[service] = check()
        except Exception as exc:  # any failure means "unavailable"
            _why[service] = _describe(exc)
    if service in _ok:
        return _ok[service]
    need(service, False, _why[service])
    raise AssertionError("unreachable")  # pragma: no cover - need() raised


def _describe(exc: BaseException) -> str:
    """Give a one-line reason for ``exc``."""
    if isinstance(exc, _Unavailable):
        return str(exc)
    text = " ".join(str(exc).split()) or "(no message)"
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}"


class _Unavailable(Exception):
    """A service check failed for a reason already worded for the skip message."""


def _env_url(var: str) -> str:
    url = os.environ.get(var, "").strip()
    if not url:
        raise _Unavailable(f"{var} is not set ({_STARTED_BY})")
    return url


def _check_postgres() -> str:
    import psycopg

    url = _env_url("QA_LIVE_TEST_POSTGRES_URL")
    plain = re.sub(r"^(postgres(?:ql)?)\+[a-z0-9_]+://", r"\1://", url)
    with psycopg.connect(plain, connect_timeout=3) as conn:
        conn.execute("SELECT 1").fetchone()
    return url


def _check_redis() -> str:
    import redis

    url = _env_url("QA_LIVE_TEST_REDIS_URL")
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        if not client.ping():
            raise _Unavailable(f"no PONG from {url}")
    finally:
        client.close()
    return url


def _executable(path: str, var: str) -> str:
    if not os.path.isfile(path):
        raise _Unavailable(f"{path} does not exist (set {var}, or apt-get install it)")
    if not os.access(path, os.X_OK):
        raise _Unavailable(f"{path} is not executable")
    return path


def _check_chromium() -> str:
    path = os.environ.get("QA_LIVE_CHROMIUM") or "/usr/bin/chromium"
    _executable(path, "QA_LIVE_CHROMIUM")
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError as exc:
        raise _Unavailable(f"cannot import playwright ({exc}); pip install playwright") from exc
    return path


def _check_nginx() -> str:
    path = os.environ.get("QA_LIVE_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    return _executable(path, "QA_LIVE_NGINX")


# What tests/oidc/package.json's "engines" allows (oidc-provider 9): 20.19+, 22.12+, 23 and later.
_NODE_FOR_OIDC = {20: 19, 22: 12}
_NODE_FOR_OIDC_TEXT = "^20.19, ^22.12 or 23+"


def _node_fits_oidc_provider(version: str) -> bool:
    """Say whether a ``node --version`` answer (v20.19.2) can run oidc-provider."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.\d+.*", version.strip())
    if match is None:
        return False
    major, minor = int(match.group(1)), int(match.group(2))
    return major >= 23 or (major in _NODE_FOR_OIDC and minor >= _NODE_FOR_OIDC[major])


def _check_oidc_provider() -> str:
    node = os.environ.get("QA_LIVE_NODE") or shutil.which("node") or "/usr/bin/node"
    _executable(node, "QA_LIVE_NODE")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20,
                             check=True).stdout.strip()
    if not _node_fits_oidc_provider(version):
        raise _Unavailable(f"Node.js {version} at {node} is too old for oidc-provider "
                           f"(needs {_NODE_FOR_OIDC_TEXT}; set QA_LIVE_NODE)")
    root = os.path.dirname(os.path.abspath(__file__))
    package = os.path.join(root, "oidc", "node_modules", "oidc-provider", "package.json")
    if not os.path.isfile(package):
        raise _Unavailable("tests/oidc/node_modules is not installed (scripts/test.sh runs "
                           "npm ci --prefix tests/oidc)")
    return node


def oidc_provider_node() -> str:
    """Return Node.js once tests/oidc's provider (oidc-provider from npm) is installed."""
    return _checked("OIDC provider", _check_oidc_provider)


def postgres_url() -> str:
    """Return QA_LIVE_TEST_POSTGRES_URL (SQLAlchemy form) once a real connection to it worked."""
    return _checked("PostgreSQL", _check_postgres)


def redis_url() -> str:
    """Return QA_LIVE_TEST_REDIS_URL once the Redis server there answered PING."""
    return _checked("Redis", _check_redis)


def chromium_path() -> str:
    """Return the Chromium binary for Playwright (QA_LIVE_CHROMIUM or /usr/bin/chromium)."""
    return _checked("Chromium", _check_chromium)


def nginx_path() -> str:
    """Return the nginx binary (QA_LIVE_NGINX, else nginx on PATH, else /usr/sbin/nginx)."""
    return _checked("nginx", _check_nginx)
