"""HTTP security headers and the Content-Security-Policy (no inline scripts anywhere)."""

from __future__ import annotations

from flask import Flask, Response, g
from flask_talisman import Talisman

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    # hls.js plays through Media Source Extensions (blob: addresses); a session's stream host
    # is added to media-src and connect-src on the pages that show its player only.
    "media-src": "'self' blob:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

talisman = Talisman()


def allow_media_from(origin: str) -> None:
    """Let this response's page play media from (and fetch playlists of) another origin."""
    origins = g.setdefault("csp_media_origins", [])
    if origin not in origins:
        origins.append(origin)


def _add_media_origins(response: Response) -> Response:
    origins = g.get("csp_media_origins")
    policy = response.headers.get("Content-Security-Policy")
    if not origins or not policy:
        return response
    extra = " ".join(origins)
    parts = []
    for directive in policy.split(";"):
        name = directive.strip().split(" ", 1)[0]
        parts.append(f"{directive.strip()} {extra}" if name in ("media-src", "connect-src")
                     else directive.strip())
    response.headers["Content-Security-Policy"] = "; ".join(p for p in parts if p)
    return response


def init_app(app: Flask) -> None:
    """Send CSP, frame, referrer and content-type headers; HTTPS only when configured."""
    # Registered before Talisman's own hook, so it runs after it (Flask runs them in reverse)
    # and finds the policy Talisman wrote.
    app.after_request(_add_media_origins)
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
