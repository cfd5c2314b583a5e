"""Bad sign-in callbacks: each is refused with a clear page, and nothing is stored.

The provider is real (tests/oidc/provider.mjs); the faulty answers come from it too: a client
whose ID tokens arrive expired, name another audience or carry a broken signature, a citizen
who cancels on the provider's page. Other faults are what an attacker can do with the
callback: change its state, change the nonce the app asked for, replay a used code.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from qa_live import create_app
from qa_live.auth.citizen_models import CitizenIdentity
from qa_live.extensions import db
from tests.citizen_sign_in_helpers import (  # noqa: F401 - pytest fixtures
    CALLBACK,
    app,
    begin,
    come_back,
    cookie_visitor,
    oidc_client_id,
    provider,
    query,
    sign_in,
    sign_in_mode,
)
from tests.conftest import config_for
from tests.live_server import free_port
from tests.oidc_provider import SECRET, ProviderBrowser


def with_params(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = {**query(url), **changes}
    return urlunsplit(parts._replace(query=urlencode(params)))


def assert_refused(response, code: str, status: int = 400, back: str | None = None) -> str:
    """A clear page saying why, the code for the test, and a way back."""
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:300]
    assert f'data-code="{code}"' in body, body[:1500]
    assert response.headers["Cache-Control"] == "no-store"
    if back:
        assert f'href="{back}"' in body
    return body


def assert_nothing_stored(client) -> None:
    db.session.expire_all()
    assert db.session.scalar(select(func.count(CitizenIdentity.id))) == 0
    visitor = cookie_visitor(client)
    assert visitor is None or not visitor.signed_in


def test_a_callback_with_a_wrong_state_is_refused(app, client):
    callback = ProviderBrowser(CALLBACK).sign_in(begin(client, "/s/x"))
    forged = with_params(callback, state="x" * 32)
    assert_refused(come_back(client, forged), "bad_state")
    assert_nothing_stored(client)
    other_browser = app.test_client()  # the right state, in a browser that did not begin it
    assert_refused(come_back(other_browser, callback), "bad_state")
    assert_nothing_stored(other_browser)


def test_an_id_token_for_another_nonce_is_refused(app, client, caplog):
    asked = begin(client, "/s/x")
    # The request reaching the provider carries another nonce (a token minted for another
    # sign-in): the provider signs that nonce into the ID token; the app expects its own.
    callback = ProviderBrowser(CALLBACK).sign_in(with_params(asked, nonce="n" * 32))
    with caplog.at_level(logging.WARNING, logger="qa_live.auth.oidc"):
        assert_refused(come_back(client, callback), "token_invalid", back="/s/x")
    assert "nonce" in caplog.text
    assert_nothing_stored(client)


@pytest.mark.parametrize("oidc_client_id", ["qa-live-expired"])
def test_an_expired_id_token_is_refused(app, client):
    callback = ProviderBrowser(CALLBACK).sign_in(begin(client, "/s/x"))
    assert_refused(come_back(client, callback), "token_expired", back="/s/x")
    assert_nothing_stored(client)


@pytest.mark.parametrize("oidc_client_id", ["qa-live-foreign"])
def test_an_id_token_for_another_audience_is_refused(app, client, caplog):
    callback = ProviderBrowser(CALLBACK).sign_in(begin(client, "/s/x"))
    with caplog.at_level(logging.WARNING, logger="qa_live.auth.oidc"):
        assert_refused(come_back(client, callback), "token_invalid")
    assert "aud" in caplog.text
    assert_nothing_stored(client)


@pytest.mark.parametrize("oidc_client_id", ["qa-live-badsig"])
def test_an_id_token_whose_signature_does_not_verify_is_refused(app, client, caplog):
    callback = ProviderBrowser(CALLBACK).sign_in(begin(client, "/s/x"))
    with caplog.at_level(logging.WARNING, logger="qa_live.auth.oidc"):
        assert_refused(come_back(client, callback), "token_invalid")
    assert "signature" in caplog.text
    assert_nothing_stored(client)


def test_a_citizen_who_cancels_at_the_provider_comes_back_unsigned(app, client):
    browser = ProviderBrowser(CALLBACK)
    login_page = browser.open(begin(client, "/s/x#ask"))
    callback = browser.cancel(login_page)
    assert query(callback)["error"] == "access_denied"
    body = assert_refused(come_back(client, callback), "access_denied", back="/s/x#ask")
    assert "登录已取消" in body  # "The sign-in was cancelled", in the default Chinese
    assert_nothing_stored(client)
    # Any other error from the provider reads as one too.
    again = come_back(client, with_params(callback, error="server_error"))
    assert_refused(again, "provider_error")


def test_a_replayed_code_is_refused_by_the_app_and_by_the_provider(app, client):
    callback = ProviderBrowser(CALLBACK).sign_in(begin(client, "/s/x"))
    before = client.get_cookie("session").value  # the session holding the state, as sent
    assert come_back(client, callback).status_code == 302  # signed in
    identity = db.session.scalar(select(CitizenIdentity))
    signed_at = identity.last_signed_in_at
    # The same callback in the same browser: its state was used.
    assert_refused(come_back(client, callback), "bad_state")
    # An attacker holding a copy of the earlier session cookie and the callback address: the
    # app finds the state and sends the code, which the provider refuses (used once).
    thief = app.test_client()
    thief.set_cookie("session", before)
    assert_refused(come_back(thief, callback), "code_refused")
    visitor = cookie_visitor(thief)
    assert visitor is None or not visitor.signed_in
    db.session.expire_all()
    assert db.session.scalar(select(func.count(CitizenIdentity.id))) == 1
    assert db.session.scalar(select(CitizenIdentity.last_signed_in_at)) == signed_at


def test_a_callback_without_a_code_or_from_another_issuer_is_refused(app, client):
    callback = ProviderBrowser(CALLBACK).sign_in(begin(client, "/s/x"))
    params = query(callback)
    no_code = f"{CALLBACK}?{urlencode({'state': params['state']})}"
    assert_refused(come_back(client, no_code), "invalid")
    callback = ProviderBrowser(CALLBACK).sign_in(begin(client, "/s/x"))
    mixed_up = with_params(callback, iss="https://id.elsewhere.example")
    assert_refused(come_back(client, mixed_up), "issuer_mismatch")
    assert_nothing_stored(client)


def test_junk_callbacks_get_clear_pages(app, client):
    for junk in ("", "?state=", "?code=abc", "?state=" + "s" * 5000,
                 "?error=access_denied", "?error=" + "e" * 5000):
        assert_refused(client.get("/citizen/callback" + junk),
                       "access_denied" if junk == "?error=access_denied" else
                       "provider_error" if junk.startswith("?error") else "bad_state")
    # Bytes no text can hold are refused at the edge, for every route alike (core/textcheck.py).
    refused = client.get("/citizen/callback?state=%00%ff&code=1")
    assert refused.status_code == 400 and "无法保存的字符" in refused.get_data(as_text=True)
    assert_nothing_stored(client)


def test_a_sign_in_form_without_its_csrf_token_is_refused(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/citizen/sign-in", data={"next": "/"})
    assert response.status_code == 400
    assert client.post("/citizen/sign-out", data={"next": "/"}).status_code == 400


def test_an_unreachable_provider_is_a_clear_retryable_error(db_url):
    closed = f"http://127.0.0.1:{free_port()}"
    app = create_app(config_for(db_url, CITIZEN_SIGN_IN="offered", OIDC_ISSUER=closed,
                                OIDC_CLIENT_ID="qa-live", OIDC_CLIENT_SECRET=SECRET,
                                OIDC_TIMEOUT_S=2))
    with app.app_context():
        browser = app.test_client()
        response = browser.post("/citizen/sign-in", data={"next": "/s/x"})
        body = assert_refused(response, "provider_unavailable", 503)
        assert "稍后再试" in body and "匿名方式提问" in body  # try again, or ask anonymously
        session_cookie = browser.get_cookie("session")
        assert session_cookie is None or "_state_" not in session_cookie.value
        db.session.remove()
        db.engine.dispose()


def test_a_provider_naming_another_issuer_is_refused_before_anyone_leaves(db_url, provider):
    alias = provider.issuer.replace("127.0.0.1", "localhost")
    app = create_app(config_for(db_url, CITIZEN_SIGN_IN="offered", OIDC_ISSUER=alias,
                                OIDC_CLIENT_ID="qa-live", OIDC_CLIENT_SECRET=SECRET))
    with app.app_context():
        response = app.test_client().post("/citizen/sign-in", data={"next": "/"})
        assert_refused(response, "issuer_mismatch", 503)
        db.session.remove()
        db.engine.dispose()


def test_an_authorization_endpoint_on_another_origin_is_refused_before_anyone_leaves(app,
                                                                                     client):
    # The pages' Content-Security-Policy lets the sign-in form lead to the issuer's origin only:
    # a discovery document sending citizens elsewhere is a setup error, said before the redirect.
    begin(client, "/s/x")  # the real discovery document, now cached by the client
    metadata = app.extensions["qa_live.oidc"].server_metadata
    real = metadata["authorization_endpoint"]
    metadata["authorization_endpoint"] = "https://id.elsewhere.example/auth"
    try:
        response = client.post("/citizen/sign-in", data={"next": "/s/x"})
        assert_refused(response, "issuer_mismatch", 503)
    finally:
        metadata["authorization_endpoint"] = real
    assert_nothing_stored(client)


def test_the_pages_let_the_sign_in_form_lead_to_the_identity_service_only(app, provider,
                                                                            client):
    csp = client.get("/").headers["Content-Security-Policy"]
    form_action = next(part.strip() for part in csp.split(";")
                       if part.strip().startswith("form-action"))
    assert form_action.split() == ["form-action", "'self'", provider.issuer]
