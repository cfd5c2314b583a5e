"""Where uploaded media live: a small storage interface, on disk by default or in S3.

MEDIA_STORAGE_URL chooses the backend (docs/deployment.md, "Media storage"):

* empty, or ``file:///srv/qa_live/media``: files under MEDIA_DIR (the instance folder's
  ``media/`` by default), written to a temporary name and renamed, so a reader never sees half
  a file;
* ``s3://bucket/prefix?endpoint=https://minio.example:9000&region=cn-north-1``: an
  S3-compatible object store through boto3 (``pip install -r requirements-s3.lock``);
  credentials come from boto3's usual places (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a
  profile), never from the URL.

Keys are made by the application (random, with the file's extension); what a file *is* comes
from the database record that names the key, never from the store or the upload.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import parse_qs, urlsplit

from flask import Flask, current_app

KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_./")


class Storage(Protocol):
    """What the media code needs from a store."""

    def put(self, key: str, data: IO[bytes], content_type: str) -> None:
        """Store the whole stream under the key (replacing nothing: keys are new)."""

    def open(self, key: str) -> IO[bytes] | None:
        """A readable stream of the file, or None when it is missing."""

    def delete(self, key: str) -> None:
        """Remove the file; a missing one is not an error."""


def check_key(key: str) -> str:
    """Refuse keys that could leave the store's folder (made by us, but checked anyway)."""
    if (not key or len(key) > 200 or not set(key) <= KEY_CHARS or key.startswith("/")
            or ".." in key.split("/")):
        raise ValueError(f"bad storage key: {key!r}")
    return key


class FileStorage:
    """Files in a folder on this machine (or a shared mount, for several hosts)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The file's path on disk."""
        return self.root / check_key(key)

    def put(self, key: str, data: IO[bytes], content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(data, out, 1024 * 1024)
            os.chmod(temp, 0o644)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> IO[bytes] | None:
        try:
            return self.path(key).open("rb")
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


class S3Storage:
    """Objects in an S3-compatible bucket (MinIO, Ceph, a cloud's object storage)."""

    def __init__(self, bucket: str, prefix: str = "", endpoint: str | None = None,
                 region: str | None = None) -> None:
        import boto3  # optional: requirements-s3.lock

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client: Any = boto3.client("s3", endpoint_url=endpoint, region_name=region)

    def _name(self, key: str) -> str:
        key = check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: IO[bytes], content_type: str) -> None:
        self.client.upload_fileobj(data, self.bucket, self._name(key),
                                   ExtraArgs={"ContentType": content_type})

    def open(self, key: str) -> IO[bytes] | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            return None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))


def storage_from_url(url: str, default_dir: str | Path) -> Storage:
    """Build the store MEDIA_STORAGE_URL names (empty: files under default_dir)."""
    if not url:
        return FileStorage(default_dir)
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileStorage(parts.path or default_dir)
    if parts.scheme == "s3":
        if not parts.netloc or "@" in parts.netloc:
            raise ValueError("MEDIA_STORAGE_URL: s3://bucket/prefix, credentials not in the URL")
        query = parse_qs(parts.query)
        endpoint = query.get("endpoint", [None])[0]
        region = query.get("region", [None])[0]
        return S3Storage(parts.netloc, parts.path, endpoint, region)
    raise ValueError(f"MEDIA_STORAGE_URL: unknown scheme {parts.scheme!r} (file or s3)")


def init_app(app: Flask) -> None:
    """Build the configured store once, at start (a wrong URL stops the start, loudly)."""
    app.extensions["qa_live.storage"] = storage_from_url(
        app.config.get("MEDIA_STORAGE_URL", ""), app.config["MEDIA_DIR"])


def storage() -> Storage:
    """The application's media store."""
    return current_app.extensions["qa_live.storage"]
