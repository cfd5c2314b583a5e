"""Static files under fingerprinted names, compressed ahead of time and cached for a year.

Every file under ``static/`` is copied once to ``static/build/`` under a name carrying a hash of
its content (``css/app.css`` → ``css/app.3f2a1b9c0d4e.css``), with ``.br`` and ``.gz`` versions
beside it. ``url_for('static', filename='css/app.css')`` then gives the fingerprinted address,
which WhiteNoise serves with ``Cache-Control: public, max-age=31536000, immutable`` and the
compressed version the browser accepts; a changed file gets a new name, so a cached old one is
never wrong. nginx serves the same files (deploy/nginx.conf: ``gzip_static``, ``brotli_static``).

The build runs when the app starts (and in ``make assets``); a file already built is not built
again, and files are written under a temporary name and renamed, so several workers starting
at once are safe. A JavaScript module's ``import "./x.js"`` is rewritten to x's fingerprinted
name, and the module's own hash covers that, so a change in a dependency renames its importers.
Where ``static/build/`` cannot be written the pages use the plain names (Flask serves them,
revalidated on each use) and the log says why.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli
from flask import Flask, Response, current_app, send_from_directory
from whitenoise import WhiteNoise
from whitenoise.responders import Headers

HASH_LENGTH = 12
BUILD = "build"
IMMUTABLE = "public, max-age=31536000, immutable"
#: A fingerprinted name: ``<name>.<12 hex digits>.<extension>``.
FINGERPRINTED = re.compile(rf"\.[0-9a-f]{{{HASH_LENGTH}}}\.[A-Za-z0-9]+$")
#: Files worth compressing (text); images such as PNG are compressed already.
COMPRESSIBLE = {".css", ".js", ".svg", ".ico", ".json", ".txt", ".map"}
#: ``import ... from "./x.js"`` / ``import "./x.js"`` in our ES modules (relative paths only).
_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*)(["'])(\.{1,2}/[\w./-]+\.js)\2""")

# Per process: the manifest of a static folder, with the stat signature it was built for.
_manifests: dict[Path, tuple[tuple[tuple[str, int, int], ...], dict[str, str]]] = {}


def _sources(static: Path) -> list[Path]:
    """The files to fingerprint: everything under static/ but the build and dot files."""
    found = []
    for path in static.rglob("*"):
        relative = path.relative_to(static)
        if relative.parts[0] == BUILD or any(p.startswith(".") for p in relative.parts):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


def _signature(files: list[Path], static: Path) -> tuple[tuple[str, int, int], ...]:
    result = []
    for path in files:
        stat = path.stat()
        result.append((path.relative_to(static).as_posix(), stat.st_mtime_ns, stat.st_size))
    return tuple(result)


def fingerprinted(name: str, content: bytes) -> str:
    """``css/app.css`` → ``css/app.<hash>.css`` for this content."""
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    stem, dot, suffix = name.rpartition(".")
    if not dot or "/" in suffix:
        return f"{name}.{digest}"
    return f"{stem}.{digest}.{suffix}"


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def compressed_versions(data: bytes) -> dict[str, bytes]:
    """The brotli and gzip versions of a file, each kept only if it saves at least 5 %."""
    versions = {
        ".br": brotli.compress(data, quality=11),
        ".gz": _gzip(data),
    }
    return {suffix: packed for suffix, packed in versions.items()
            if len(packed) <= 0.95 * len(data)}


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    # mtime 0: the same content always gives the same bytes (as WhiteNoise's compressor does).
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as handle:
        handle.write(data)
    return buffer.getvalue()


def build(static: Path) -> dict[str, str]:
    """Fingerprint and compress every static file into static/build/; return the name map."""
    files = _sources(static)
    signature = _signature(files, static)
    known = _manifests.get(static)
    if known is not None and known[0] == signature:
        return known[1]
    names: dict[str, str] = {}
    sources = {path.relative_to(static).as_posix(): path for path in files}

    def built(name: str, visiting: tuple[str, ...] = ()) -> str:
        if name in names:
            return names[name]
        data = sources[name].read_bytes()
        if name.endswith(".js") and name not in visiting:
            data = _rewrite_imports(name, data, sources,
                                    lambda other: built(other, (*visiting, name)))
        target = fingerprinted(name, data)
        _store(static / BUILD / target, data)
        names[name] = target
        return target

    for name in sources:
        built(name)
    _manifests[static] = (signature, names)
    return names


def _rewrite_imports(name: str, data: bytes, sources: dict[str, Path],
                     resolve: Callable[[str], str]) -> bytes:
    """Point a module's relative imports at the fingerprinted names of what it imports."""
    text = data.decode("utf-8")
    folder = name.rpartition("/")[0]

    def replace(match: re.Match[str]) -> str:
        reference = match.group(3)
        other = os.path.normpath(os.path.join(folder, reference)).replace(os.sep, "/")
        if other not in sources:
            return match.group(0)
        target = resolve(other)
        relative = os.path.relpath(target, folder or ".").replace(os.sep, "/")
        if not relative.startswith("."):
            relative = "./" + relative
        return f"{match.group(1)}{match.group(2)}{relative}{match.group(2)}"

    return _IMPORT.sub(replace, text).encode("utf-8")


def _store(path: Path, data: bytes) -> None:
    """Write a fingerprinted file and its compressed versions, unless already there."""
    if path.is_file() and path.stat().st_size == len(data):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in COMPRESSIBLE:
        for suffix, packed in compressed_versions(data).items():
            _write_atomically(path.with_name(path.name + suffix), packed)
    _write_atomically(path, data)  # last: a file is served only once its versions exist


def _headers(headers: Headers, path: str, url: str) -> None:
    """Headers of a fingerprinted file: cached for a year, never revalidated; no sniffing."""
    headers["Cache-Control"] = IMMUTABLE
    headers["X-Content-Type-Options"] = "nosniff"


def init_app(app: Flask) -> None:
    """Build the fingerprinted files, point url_for('static') at them, serve them, and the icon.

    Call after every other WSGI middleware (Socket.IO) is in place: WhiteNoise answers its files
    before anything else runs.
    """
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    static = Path(app.static_folder or "static")
    try:
        names = build(static)
    except OSError as exc:
        app.logger.warning("static files are served under their plain names: %s", exc)
        return
    app.extensions["qa_live.assets"] = names

    @app.url_defaults
    def _fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static":
            filename = values.get("filename")
            if isinstance(filename, str):
                values["filename"] = names.get(filename, filename)

    app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
        app.wsgi_app, root=str(static / BUILD), prefix=app.static_url_path or "/static",
        max_age=None, allow_all_origins=False, add_headers_function=_headers,
    )


def _favicon() -> Response:
    """/favicon.ico, which browsers ask every site for."""
    response = send_from_directory(current_app.static_folder or "static", "favicon.ico",
                                   max_age=7 * 24 * 3600, mimetype="image/x-icon")
    return response


def main(argv: list[str]) -> int:
    """``python -m qa_live.core.assets [STATIC_DIR]``: build once (make assets, deployments)."""
    static = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "static"
    names = build(static)
    print(f"static files: {len(names)} fingerprinted into {static / BUILD}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
