"""The OpenID Connect client for citizen sign-in, on Authlib's Flask integration.

The authorization code flow with PKCE (S256), a state and a nonce kept in the signed Flask
session, the provider found by discovery from OIDC_ISSUER (whose ``issuer`` must be exactly
that), and the ID token checked by Authlib against the provider's JWKS: signature, issuer,
audience (our client id), expiry (OIDC_LEEWAY_S of clock skew allowed) and nonce. The claims the
UserInfo endpoint adds are taken only when its ``sub`` is the ID token's. Every failure becomes
a :class:`SignInFailed` with a message for the citizen; nothing is stored before all of this
passed (citizen_views.py then links the identity, citizens.py).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import is_secure_transport
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, request, session
from flask_babel import gettext as _
from joserfc.errors import ExpiredTokenError, JoseError
from werkzeug.wrappers import Response

from qa_live.auth.citizens import MODES, OFF

log = logging.getLogger(__name__)

NAME = "citizen"  # Authlib's name for the client: its state keys are "_state_citizen_<state>"
_EXTENSION = "qa_live.oidc"
_STATE_PREFIX = f"_state_{NAME}_"
MAX_PENDING = 3  # sign-ins begun and not finished kept in the session cookie (it stays small)


class SignInFailed(Exception):
    """A sign-in that cannot go on: a code for tests and logs, a message for the citizen."""

    def __init__(self, code: str, message: str, status: int = 400,
                 next_url: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.next_url = next_url


def init_app(app: Flask) -> None:
    """Check the sign-in settings and register the client (when sign-in is on).

    A wrong setting stops the app at start-up, saying which: better than a citizen's error.
    """
    mode = app.config["CITIZEN_SIGN_IN"]
    if mode not in MODES:
        raise RuntimeError(f"CITIZEN_SIGN_IN must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == OFF:
        return
    missing = [name for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
               if not app.config.get(name)]
    if missing:
        raise RuntimeError(f"CITIZEN_SIGN_IN={mode} needs {', '.join(missing)} "
                           "(docs/deployment.md, 'Citizen sign-in')")
    issuer = app.config["OIDC_ISSUER"]
    if not is_secure_transport(issuer):
        raise RuntimeError(f"OIDC_ISSUER must be an https:// address (http only on loopback), "
                           f"not {issuer!r}")
    if "openid" not in app.config["OIDC_SCOPES"].split():
        raise RuntimeError("OIDC_SCOPES must include openid")
    oauth = OAuth(app)
    oauth.register(
        NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": app.config["OIDC_CLIENT_AUTH_METHOD"],
            "default_timeout": app.config["OIDC_TIMEOUT_S"],
        },
    )
    app.extensions[_EXTENSION] = oauth.create_client(NAME)


def _client() -> Any:
    return current_app.extensions[_EXTENSION]


def _unreachable(exc: Exception) -> SignInFailed:
    log.warning("citizen sign-in: the identity service cannot be reached: %s", exc)
    return SignInFailed("provider_unavailable",
                        _("The identity service cannot be reached right now. Please try again "
                          "in a moment, or ask without signing in."), 503)


def _metadata() -> dict[str, Any]:
    """The provider's discovery document (fetched once per process), its issuer checked."""
    try:
        metadata = _client().load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise _unreachable(exc) from exc
    if metadata.get("issuer") != current_app.config["OIDC_ISSUER"]:
        log.error("citizen sign-in: discovery names issuer %r, OIDC_ISSUER is %r",
                  metadata.get("issuer"), current_app.config["OIDC_ISSUER"])
        raise SignInFailed("issuer_mismatch", _("Signing in is not set up correctly. Please "
                                                "ask without signing in."), 503)
    # The pages' CSP lets forms lead to the issuer's origin only (core/security.py).
    if _origin(str(metadata.get("authorization_endpoint", ""))) != _origin(
            current_app.config["OIDC_ISSUER"]):
        log.error("citizen sign-in: the authorization endpoint %r is not on the issuer's "
                  "origin, which the pages' Content-Security-Policy allows",
                  metadata.get("authorization_endpoint"))
        raise SignInFailed("issuer_mismatch", _("Signing in is not set up correctly. Please "
                                                "ask without signing in."), 503)
    return metadata


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _scopes(contact_agreed: bool, metadata: dict[str, Any]) -> str:
    scopes = current_app.config["OIDC_SCOPES"].split()
    if contact_agreed:
        supported = metadata.get("scopes_supported")
        scopes += [s for s in current_app.config["OIDC_CONTACT_SCOPES"].split()
                   if s not in scopes and (supported is None or s in supported)]
    return " ".join(scopes)


def _forget_old_attempts() -> None:
    """Keep the newest few unfinished sign-ins (each tab may begin one); drop the others."""
    pending = sorted((key for key in session if key.startswith(_STATE_PREFIX)),
                     key=lambda key: session[key].get("exp", 0))
    for key in pending[:max(0, len(pending) - MAX_PENDING + 1)]:
        session.pop(key, None)


def begin(redirect_uri: str, next_url: str, contact_agreed: bool) -> Response:
    """Send the citizen to the identity service's sign-in page (a redirect with state, nonce,
    PKCE); remember where to bring them back and whether they agreed to leave a contact."""
    metadata = _metadata()
    client = _client()
    try:
        authorization = client.create_authorization_url(
            redirect_uri, scope=_scopes(contact_agreed, metadata))
    except (requests.RequestException, RuntimeError) as exc:
        raise _unreachable(exc) from exc
    _forget_old_attempts()
    client.save_authorize_data(redirect_uri=redirect_uri, next=next_url,
                               contact=bool(contact_agreed), **authorization)
    response: Response = current_app.redirect(authorization["url"])
    response.headers["Cache-Control"] = "no-store"
    return response


def pending_attempt() -> dict[str, Any] | None:
    """What begin() remembered for the callback's state, if this browser began that sign-in."""
    state = request.args.get("state")
    if not state:
        return None
    return _client().framework.get_state_data(session, state)


def finish() -> dict[str, Any]:
    """Complete the sign-in on the callback: the checked claims (ID token, then UserInfo).

    Raises SignInFailed for a provider's error, an unknown or used state, a refused code (a
    replay), or an ID token that fails any check.
    """
    attempt = pending_attempt()
    next_url = attempt.get("next") if attempt else None
    error = request.args.get("error")
    if error:
        _client().framework.clear_state_data(session, request.args.get("state"))
        log.info("citizen sign-in: the identity service answered %s", error[:100])
        if error == "access_denied":
            raise SignInFailed("access_denied", _("The sign-in was cancelled. You can sign in "
                                                  "again, or ask without signing in."),
                               400, next_url)
        raise SignInFailed("provider_error", _("The identity service could not sign you in. "
                                               "Please try again later."), 400, next_url)
    if attempt is None:
        raise SignInFailed("bad_state", _("This sign-in link has expired or was already used. "
                                          "Please sign in again."))
    issuer = current_app.config["OIDC_ISSUER"]
    returned_issuer = request.args.get("iss")
    if returned_issuer is not None and returned_issuer != issuer:  # RFC 9207: a mix-up
        _client().framework.clear_state_data(session, request.args.get("state"))
        raise SignInFailed("issuer_mismatch", _("The sign-in answer came from another service. "
                                                "Please sign in again."), 400, next_url)
    if not request.args.get("code"):
        _client().framework.clear_state_data(session, request.args.get("state"))
        raise SignInFailed("invalid", _("The sign-in answer is incomplete. Please sign in "
                                        "again."), 400, next_url)
    claims = _exchange(issuer, next_url)
    return claims


def _exchange(issuer: str, next_url: str | None) -> dict[str, Any]:
    """The code for tokens, the ID token checked, then the UserInfo claims added."""
    client = _client()
    claims_options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": current_app.config["OIDC_CLIENT_ID"]},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }
    again = _("Please sign in again.")
    try:
        token = client.authorize_access_token(claims_options=claims_options,
                                              leeway=current_app.config["OIDC_LEEWAY_S"])
    except MismatchingStateError as exc:
        raise SignInFailed("bad_state", _("This sign-in link has expired or was already used. "
                                          "Please sign in again.")) from exc
    except OAuthError as exc:  # the token endpoint refused: a used or stolen code, a bad secret
        log.warning("citizen sign-in: the token endpoint refused the code: %s", exc.error)
        raise SignInFailed("code_refused", _("The identity service refused this sign-in (it may "
                                             "have been used already).") + " " + again,
                           400, next_url) from exc
    except ExpiredTokenError as exc:
        log.warning("citizen sign-in: the ID token has expired (clocks apart?)")
        raise SignInFailed("token_expired", _("The identity service's answer had expired.")
                           + " " + again, 400, next_url) from exc
    except JoseError as exc:  # signature, issuer, audience, nonce...
        log.warning("citizen sign-in: the ID token was refused: %s", exc)
        raise SignInFailed("token_invalid", _("The identity service's answer could not be "
                                              "trusted.") + " " + again, 400, next_url) from exc
    except (requests.RequestException, ValueError) as exc:
        raise _unreachable(exc) from exc
    id_claims = token.get("userinfo")
    if not id_claims:
        raise SignInFailed("token_invalid", _("The identity service's answer could not be "
                                              "trusted.") + " " + again, 400, next_url)
    claims = dict(id_claims)
    if _metadata().get("userinfo_endpoint"):
        try:
            extra = client.userinfo(token=token)
        except (requests.RequestException, ValueError, OAuthError) as exc:
            raise _unreachable(exc) from exc
        if extra.get("sub") != claims.get("sub"):
            raise SignInFailed("token_invalid", _("The identity service's answer could not be "
                                                  "trusted.") + " " + again, 400, next_url)
        for key, value in extra.items():
            claims.setdefault(key, value)
    return claims
