"""Pages rendered and compressed once per change, served to every new visitor (issue 17).

A page that is the same for everyone who arrives without a cookie (a session's live page or
transcript) is rendered once, cut into its constant parts and the few per-request *holes* (a
CSRF token, the ask form's client id), and compressed once: identity, gzip and brotli. Each
request then only fills the holes:

* **identity**: the parts joined with the fills;
* **gzip**: each constant part compressed after a full flush (zlib's ``Z_FULL_FLUSH``: what
  follows refers to nothing before it), so a fill goes in between as a *stored* deflate block
  and the trailer's CRC-32 is carried on over the fills and the parts after them;
* **brotli**: the part before the first hole compressed and flushed to a meta-block boundary,
  everything from the first hole on as *uncompressed* meta-blocks (RFC 7932 section 9.2), then
  the empty last meta-block. A page without holes is one ordinary brotli stream.

The caller (qa_live/public.py) decides what a page is keyed by and when it may be shared; this
module knows nothing of sessions. ``HOLE`` markers are random per process, so no text a citizen
types can make a hole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import struct
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import brotli
from flask import Flask, current_app, g
from flask_compress.flask_compress import _choose_algorithm
from flask_wtf.csrf import generate_csrf

from qa_live.core.compression import compress

_TOKEN = secrets.token_hex(12)
#: What a hole named ``name`` is rendered as while a shared page is rendered.
HOLE = f"qahole{_TOKEN}"
_HOLES = re.compile(rf"{HOLE}([a-z_]+){HOLE}")
EXTENSION = "qa_live.shared_pages"
#: How many shared pages an app keeps (each: a few compressed copies of one page).
KEPT = 64
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, no time, OS unknown
_BROTLI_LAST = b"\x03"  # ISLAST = 1, ISLASTEMPTY = 1


def hole(name: str) -> str:
    """The marker a hole named ``name`` (letters and underscores) is rendered as."""
    return f"{HOLE}{name}{HOLE}"


def rendering_shared() -> bool:
    """Whether this request is rendering a page to share (per-visitor bits become holes)."""
    return bool(g.get("shared_page_render"))


def client_id() -> str:
    """A new idempotency key for a no-script form; a hole when rendering a page to share."""
    return hole("client_id") if rendering_shared() else str(uuid.uuid4())


#: How each hole is filled for the request being answered.
FILLS: dict[str, Callable[[], str]] = {
    "csrf_token": generate_csrf,  # this visitor's own token (and its session cookie)
    "client_id": lambda: str(uuid.uuid4()),
}


def fills_for(page: SharedPage) -> dict[str, str]:
    """This request's values for the page's holes."""
    return {name: FILLS[name]() for name in page.names}


def _stored_block(data: bytes) -> bytes:
    """``data`` as deflate stored blocks (not final), for a byte-aligned deflate stream."""
    out = bytearray()
    for start in range(0, len(data), 0xFFFF):
        chunk = data[start:start + 0xFFFF]
        out += b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk
    return bytes(out)


def _brotli_raw(data: bytes) -> bytes:
    """``data`` as brotli uncompressed meta-blocks (not last): a 3-byte header each."""
    out = bytearray()
    for start in range(0, len(data), 1 << 16):
        chunk = data[start:start + (1 << 16)]
        # ISLAST 0, MNIBBLES 4 (coded 0), MLEN - 1 in 16 bits, ISUNCOMPRESSED 1, 4 zero bits.
        out += (((len(chunk) - 1) << 3) | (1 << 19)).to_bytes(3, "little") + chunk
    return bytes(out)


@dataclass(frozen=True, slots=True)
class SharedPage:
    """One rendered page: constant parts, the holes between them, their compressed forms."""

    parts: tuple[bytes, ...]
    holes: tuple[str, ...]
    gzip_parts: tuple[bytes, ...]
    crc_first: int  # CRC-32 of parts[0]
    brotli_head: bytes  # parts[0] compressed and flushed; the whole stream when no holes
    brotli_larger: bool  # holes early in the page leave brotli larger than gzip
    status: int
    etag: str
    made: float  # time.monotonic() when rendered
    names: frozenset[str] = frozenset()  # the holes' names, each once
    #: Origins its render allowed in the CSP (a stream's, a recording's): every response of it
    #: must allow them too (qa_live/core/security.py, allow_media_from).
    media_origins: tuple[str, ...] = ()

    @classmethod
    def build(cls, html: str, status: int = 200, gzip_level: int = 9,
              brotli_quality: int = 5) -> SharedPage:
        """Cut a page rendered with holes into its parts, and compress them."""
        pieces = _HOLES.split(html)
        parts = tuple(p.encode() for p in pieces[0::2])
        holes = tuple(pieces[1::2])
        deflate = zlib.compressobj(gzip_level, zlib.DEFLATED, -15)
        gzip_parts = [deflate.compress(p) + deflate.flush(zlib.Z_FULL_FLUSH) for p in parts[:-1]]
        gzip_parts.append(deflate.compress(parts[-1]) + deflate.flush(zlib.Z_FINISH))
        if holes:
            squeeze = brotli.Compressor(quality=brotli_quality)
            head = squeeze.process(parts[0]) + squeeze.flush()
        else:
            head = brotli.compress(parts[0], quality=brotli_quality)
        digest = hashlib.blake2b(b"\x00".join(parts), digest_size=12).hexdigest()
        brotli_size = len(head) + sum(len(p) + 3 for p in parts[1:])
        gzip_size = sum(len(p) for p in gzip_parts) + 5 * len(holes)
        return cls(parts, holes, tuple(gzip_parts), zlib.crc32(parts[0]), head,
                   brotli_size > gzip_size, status, f"s-{digest}", time.monotonic(),
                   frozenset(holes))

    def encoding_for(self, accept_encoding: str) -> str | None:
        """What this page is sent in: Flask-Compress's choice for the request (brotli, gzip or
        none), except gzip instead of brotli when this page's brotli form is the larger."""
        chosen = _choose_algorithm(compress.enabled_algorithms, accept_encoding)
        if chosen == "br" and self.brotli_larger and _choose_algorithm(
                ("gzip",), accept_encoding) == "gzip":
            return "gzip"
        return chosen if chosen in ("br", "gzip") else None

    def body(self, fills: Mapping[str, str], encoding: str | None) -> bytes:
        """The page with its holes filled, in ``encoding`` (None, "gzip" or "br")."""
        filled = [fills[name].encode() for name in self.holes]
        if encoding == "gzip":
            out = [_GZIP_HEADER, self.gzip_parts[0]]
            crc, size = self.crc_first, len(self.parts[0])
            for fill, part, packed in zip(filled, self.parts[1:], self.gzip_parts[1:],
                                          strict=True):
                out += [_stored_block(fill), packed]
                crc = zlib.crc32(part, zlib.crc32(fill, crc))
                size += len(fill) + len(part)
            out.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
            return b"".join(out)
        if encoding == "br":
            if not self.holes:
                return self.brotli_head
            rest = [piece for fill, part in zip(filled, self.parts[1:], strict=True)
                    for piece in (fill, part)]
            return self.brotli_head + _brotli_raw(b"".join(rest)) + _BROTLI_LAST
        out = [self.parts[0]]
        for fill, part in zip(filled, self.parts[1:], strict=True):
            out += [fill, part]
        return b"".join(out)


class SharedPages:
    """An app's shared pages by key, kept ``max_age`` seconds at most, the newest KEPT."""

    def __init__(self) -> None:
        self.pages: OrderedDict[Hashable, SharedPage] = OrderedDict()
        self.lock = threading.Lock()
        self.building = threading.Lock()  # one render at a time: a crowd waits for the first
        self.renders = 0  # how many pages were rendered to share (for tests and /metrics)

    def get(self, key: Hashable, max_age: float) -> SharedPage | None:
        with self.lock:
            page = self.pages.get(key)
            if page is None:
                return None
            if time.monotonic() - page.made >= max_age:
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return page

    def get_or_build(self, key: Hashable, max_age: float,
                     render: Callable[[], tuple[str, int]]) -> SharedPage:
        """The kept page for ``key``, or the one ``render`` makes (with holes) and kept."""
        page = self.get(key, max_age)
        if page is not None:
            return page
        with self.building:
            page = self.get(key, max_age)  # made while this request waited
            if page is not None:
                return page
            g.shared_page_render = True
            g.csrf_token = hole("csrf_token")  # what Flask-WTF's generate_csrf() returns
            try:
                html, status = render()
            finally:
                g.shared_page_render = False
                g.pop("csrf_token", None)  # this request's own token is made for its fill
            config = current_app.config
            page = dataclasses.replace(
                SharedPage.build(html, status, gzip_level=config["COMPRESS_LEVEL"],
                                 brotli_quality=config["COMPRESS_BR_LEVEL"]),
                media_origins=tuple(g.get("csp_media_origins", ())))
            self.renders += 1
            with self.lock:
                self.pages[key] = page
                while len(self.pages) > KEPT:
                    self.pages.popitem(last=False)
            return page


def of_app(app: Flask | None = None) -> SharedPages:
    """The app's shared pages, made on first use."""
    extensions = (app or current_app).extensions
    kept = extensions.get(EXTENSION)
    if kept is None:
        kept = extensions.setdefault(EXTENSION, SharedPages())
    return kept
