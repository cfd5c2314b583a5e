"""A session's live stream and recording addresses: the one rule for the form, the API and the
console. A live stream is HLS (an .m3u8 playlist) over http(s); a recording is HLS or MP4.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import gettext as _

URL_MAX = 500
#: Letters a pasted address may hold: no spaces, quotes, angle brackets or control characters.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
STREAM_SUFFIXES = (".m3u8",)
RECORDING_SUFFIXES = (".m3u8", ".mp4", ".m4a", ".mp3")


class StreamAddressError(ValueError):
    """An address that is not one the player can take; the message says why."""


def _check(url: str, suffixes: tuple[str, ...], wrong_kind: str) -> str:
    url = url.strip()
    if not url:
        return ""
    if len(url) > URL_MAX:
        raise StreamAddressError(_("The address may have at most %(n)d characters.", n=URL_MAX))
    if not _URL_CHARS.fullmatch(url):
        raise StreamAddressError(_("The address holds spaces or characters not allowed in one."))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StreamAddressError(_("The address must start with https:// (or http://)."))
    if parts.username or parts.password:
        raise StreamAddressError(_("Do not put a login or password in the address: every "
                                   "citizen's page would show it."))
    if not parts.path.lower().endswith(suffixes):
        raise StreamAddressError(wrong_kind)
    return url


def check_stream_url(url: str) -> str:
    """The live stream's address, cleaned, or StreamAddressError; empty means none."""
    return _check(url, STREAM_SUFFIXES,
                  _("A live stream address must be an HLS playlist ending in .m3u8."))


def check_recording_url(url: str) -> str:
    """The recording's address, cleaned, or StreamAddressError; empty means none."""
    return _check(url, RECORDING_SUFFIXES,
                  _("A recording must be an HLS playlist (.m3u8) or a file ending in .mp4, "
                    ".m4a or .mp3."))


def stream_kind(url: str) -> str:
    """'hls' for a playlist; 'video' or 'audio' for a file (what the page's player does)."""
    path = urlsplit(url).path.lower()
    if path.endswith(".m3u8"):
        return "hls"
    return "audio" if path.endswith((".m4a", ".mp3")) else "video"


def origin(url: str) -> str:
    """scheme://host[:port] of an address, for the pages' Content-Security-Policy."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
