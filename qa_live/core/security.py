"""HTTP security headers and the Content-Security-Policy (no inline scripts anywhere)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask_talisman import Talisman

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

talisman = Talisman()


def identity_service_origin(app: Flask) -> str | None:
    """The citizen sign-in's identity service (its issuer's origin), when sign-in is on."""
    issuer = app.config.get("OIDC_ISSUER") or ""
    if app.config.get("CITIZEN_SIGN_IN", "off") == "off" or not issuer:
        return None
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def init_app(app: Flask) -> None:
    """Send CSP, frame, referrer and content-type headers; HTTPS only when configured.

    With citizen sign-in on, forms may also lead to the identity service: the sign-in form
    posts here and is redirected there (a redirect a form's CSP governs too).
    """
    https = app.config["PREFERRED_URL_SCHEME"] == "https"
    policy = dict(CSP)
    if origin := identity_service_origin(app):
        policy["form-action"] = f"'self' {origin}"
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at nginx (deploy/); the proxy redirects http → https
        strict_transport_security=https,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        content_security_policy=policy,
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"},
    )
