"""HTTP security headers and the Content-Security-Policy (no inline scripts anywhere)."""

from __future__ import annotations

from urllib.parse import urlsplit

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
    # Registered before Talisman's own hook, so it runs after it (Flask runs them in reverse)
    # and finds the policy Talisman wrote.
    app.after_request(_add_media_origins)
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
