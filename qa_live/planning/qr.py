"""QR codes of session addresses, as SVG, so a phone can scan the page open."""

from __future__ import annotations

import io

import segno


def qr_svg(url: str) -> str:
    """Return an inline SVG QR code for the URL (no XML declaration, scalable)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", xmldecl=False, svgns=True, scale=4, border=2,
        svgclass="qr", lineclass=None, omitsize=True,
    )
    return buffer.getvalue().decode("utf-8")
