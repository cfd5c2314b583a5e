"""A real OpenID Connect provider on loopback for the sign-in tests, and a way through it.

``start_provider(...)`` runs tests/oidc/provider.mjs (panva's oidc-provider from npm, installed
into tests/oidc/node_modules by ``make test``) on Node.js with the clients and accounts given;
it signs its ID tokens with its own RSA key and publishes the key at its jwks_uri. A client's
``fault`` makes it misbehave for that client only ("expired", "foreign", "badsig": see
provider.mjs).

``ProviderBrowser`` is a citizen's browser at the provider without a real browser: it follows
the authorization request through the provider's own login and consent pages with ``requests``
and stops at the redirect back to the app, returning that callback address.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from tests import services as outside

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
START_TIMEOUT = 20.0

SECRET = "test-client-secret-0123456789abcdef"
PASSWORD = "correct-horse-42"

#: The citizens the test provider knows (login -> password and claims).
ACCOUNTS = {
    "zhangsan": {"password": PASSWORD, "claims": {
        "name": "张三丰", "phone_number": "+86 138-1234-5678", "phone_number_verified": True,
        "email": "zhang.sanfeng@example.cn", "email_verified": True}},
    "lisi": {"password": PASSWORD, "claims": {"name": "李四", "email": "lisi@example.cn"}},
}


@dataclass
class Provider:
    """A running provider: its issuer URL and process."""

    issuer: str
    process: subprocess.Popen[str]
    log: Path

    def stop(self) -> None:
        """Terminate it (kill it if it does not exit)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def clients(redirect_uri: str,
            faults: tuple[str, ...] = ("expired", "foreign", "badsig")) -> list[dict]:
    """The app's client "qa-live", plus one faulty client per fault ("qa-live-<fault>")."""
    made = [{"client_id": "qa-live", "client_secret": SECRET, "redirect_uris": [redirect_uri]}]
    made += [{"client_id": f"qa-live-{fault}", "client_secret": SECRET,
              "redirect_uris": [redirect_uri], "fault": fault} for fault in faults]
    return made


def start_provider(workdir: Path, client_list: list[dict],
                   accounts: dict[str, Any] | None = None) -> Provider:
    """Start tests/oidc/provider.mjs and wait for its issuer line (skip if Node is missing)."""
    node = outside.oidc_provider_node()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "provider.json"
    config.write_text(json.dumps({"port": 0, "clients": client_list,
                                  "accounts": accounts if accounts is not None else ACCOUNTS}))
    log = workdir / "provider.stderr"
    with open(log, "w") as err:
        process = subprocess.Popen([node, str(SCRIPT), str(config)], cwd=SCRIPT.parent,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=err, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    line = process.stdout.readline()  # one line once listening; "" if it died
    if not line or time.monotonic() > deadline:
        process.kill()
        raise AssertionError(f"the OIDC provider did not start:\n{log.read_text()}")
    provider = Provider(json.loads(line)["issuer"], process, log)
    _wait_discovery(provider, deadline)
    return provider


def _wait_discovery(provider: Provider, deadline: float) -> None:
    url = provider.issuer + "/.well-known/openid-configuration"
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            provider.stop()
            raise AssertionError(f"no discovery document at {url}")
        time.sleep(0.05)


@contextmanager
def running_provider(workdir: Path, client_list: list[dict]) -> Iterator[Provider]:
    """A started provider for the duration of a with-block."""
    provider = start_provider(workdir, client_list)
    try:
        yield provider
    finally:
        provider.stop()


class ProviderBrowser:
    """A citizen's visit to the provider: sign in, agree, and come back (the callback URL)."""

    def __init__(self, callback_prefix: str) -> None:
        self.callback_prefix = callback_prefix
        self.http = requests.Session()
        self.http.trust_env = False  # never through a proxy

    def _follow(self, response: requests.Response) -> requests.Response | str:
        """Follow redirects at the provider; return the app's callback URL when reached."""
        for _hop in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            target = urljoin(response.url, response.headers["Location"])
            if target.startswith(self.callback_prefix):
                return target
            response = self.http.get(target, allow_redirects=False, timeout=10)
        raise AssertionError("too many redirects at the provider")

    def open(self, authorization_url: str) -> requests.Response | str:
        """Open the authorization request: the login page (or the callback, if signed in)."""
        return self._follow(self.http.get(authorization_url, allow_redirects=False, timeout=10))

    def submit(self, page: requests.Response, action: str,
               data: dict[str, str] | None = None) -> requests.Response | str:
        """Post one of the provider page's forms (action: login or confirm)."""
        url = page.url.split("?")[0].rstrip("/") + f"/{action}"
        return self._follow(self.http.post(url, data=data or {}, allow_redirects=False,
                                           timeout=10))

    def cancel(self, page: requests.Response) -> requests.Response | str:
        """Press "Cancel" on the provider's page."""
        url = page.url.split("?")[0].rstrip("/") + "/abort"
        return self._follow(self.http.get(url, allow_redirects=False, timeout=10))

    def sign_in(self, authorization_url: str, login: str = "zhangsan",
                password: str = PASSWORD) -> str:
        """The whole visit: log in, allow what is asked, and return the callback URL."""
        page = self.open(authorization_url)
        if isinstance(page, str):
            return page
        assert page.status_code == 200 and 'name="login"' in page.text, page.text[:500]
        after = self.submit(page, "login", {"login": login, "password": password})
        if isinstance(after, str):
            return after
        assert after.status_code == 200 and 'id="allow"' in after.text, after.text[:500]
        done = self.submit(after, "confirm")
        assert isinstance(done, str), getattr(done, "text", "")[:500]
        return done
