"""Shared by the citizen sign-in tests: an app signed in through the real test provider.

The provider (tests/oidc_provider.py) runs once per test module; the ``app`` fixture here
replaces conftest's with one whose CITIZEN_SIGN_IN and OIDC_* settings point at it. A test
picks the mode or the client with ``@pytest.mark.parametrize("sign_in_mode", ["required"])``.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from qa_live import create_app
from qa_live.core.visitor import COOKIE, Visitor, read_visitor
from qa_live.extensions import db
from tests.conftest import _isolate_requests, config_for
from tests.oidc_provider import SECRET, Provider, ProviderBrowser, clients, running_provider

CALLBACK = "http://localhost/citizen/callback"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """The test OIDC provider, with the app's client and the faulty ones."""
    with running_provider(tmp_path_factory.mktemp("oidc"), clients(CALLBACK)) as running:
        yield running


@pytest.fixture
def sign_in_mode() -> str:
    """CITIZEN_SIGN_IN for the test's app."""
    return "offered"


@pytest.fixture
def oidc_client_id() -> str:
    """OIDC_CLIENT_ID for the test's app ("qa-live-expired" etc. for a faulty client)."""
    return "qa-live"


@pytest.fixture
def app(db_url: str, provider: Provider, sign_in_mode: str,
        oidc_client_id: str) -> Iterator[Flask]:
    """The application with citizen sign-in through the test provider."""
    app = create_app(config_for(db_url, CITIZEN_SIGN_IN=sign_in_mode,
                                OIDC_ISSUER=provider.issuer, OIDC_CLIENT_ID=oidc_client_id,
                                OIDC_CLIENT_SECRET=SECRET))
    _isolate_requests(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def begin(client: FlaskClient, next_url: str = "/", contact: bool = False) -> str:
    """Press "sign in" on a page: the authorization request the app redirects to."""
    data = {"next": next_url}
    if contact:
        data["contact"] = "y"
    response = client.post("/citizen/sign-in", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def come_back(client: FlaskClient, callback_url: str):
    """The provider's redirect back to the app, followed by the citizen's browser."""
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: FlaskClient, login: str = "zhangsan", next_url: str = "/",
            contact: bool = False):
    """The whole sign-in from the app's button to its callback; the callback's response."""
    callback = ProviderBrowser(CALLBACK).sign_in(begin(client, next_url, contact), login)
    return come_back(client, callback)


def query(url: str) -> dict[str, str]:
    """A URL's query parameters (one value each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def cookie_visitor(client: FlaskClient) -> Visitor | None:
    """What the client's visitor cookie says (in the app context)."""
    cookie = client.get_cookie(COOKIE)
    return read_visitor(cookie.value if cookie else None)


def devices(app: Flask, count: int = 2) -> list[FlaskClient]:
    """Several browsers (phones, a desktop) of one or more citizens."""
    return [app.test_client() for _ in range(count)]
