"""HTTP security headers and the Content-Security-Policy (no inline scripts anywhere)."""

from __future__ import annotations

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


def init_app(app: Flask) -> None:
    """Send CSP, frame, referrer and content-type headers; HTTPS only when configured."""
    https = app.config["PREFERRED_URL_SCHEME"] == "https"
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at nginx (deploy/); the proxy redirects http → https
        strict_transport_security=https,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"},
    )
