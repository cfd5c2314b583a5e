"""Stored files and their rows: written before the commit, taken back if it never happens.

A file is put in the store while the operation works (its row needs the key), and its key is
noted on the database session. If the whole transaction rolls back, the noted files are removed
again, so a refused or failed upload leaves nothing behind. Files of rows removed are deleted
from the store only once the commit that removed the rows is done.
"""

from __future__ import annotations

import io
import secrets
from typing import IO

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from qa_live.core.storage import storage
from qa_live.extensions import db
from qa_live.live import events
from qa_live.live.media.models import MediaFile

WRITTEN = "qa_live.media_written"

EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg", "application/pdf": "pdf",
              "video/mp4": "mp4", "audio/mp4": "m4a", "audio/mpeg": "mp3"}


def new_key(session_id: int, content_type: str) -> str:
    """A fresh, unguessable key: s<session>/<random>.<ext>."""
    return f"s{session_id}/{secrets.token_hex(16)}.{EXTENSIONS[content_type]}"


def store(session_id: int, data: bytes | IO[bytes], content_type: str, size: int,
          variant: str, width: int | None = None, height: int | None = None,
          filename: str = "") -> MediaFile:
    """Put a file in the store and make its row (not yet attached to a photo or material)."""
    key = new_key(session_id, content_type)
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    storage().put(key, stream, content_type)
    db.session.info.setdefault(WRITTEN, []).append(key)
    return MediaFile(session_id=session_id, key=key, content_type=content_type, size=size,
                     width=width, height=height, variant=variant, filename=filename[:120])


def discard_after_commit(rows: list[MediaFile]) -> None:
    """Delete these rows now and their files from the store once the commit is done.

    Rows held in a photo's or material's collection are taken out of it first by the caller.
    """
    keys = [row.key for row in rows]
    for row in rows:
        if row.id is not None:
            db.session.delete(row)
    if keys:
        events.after_commit(lambda: delete_keys(keys))


def delete_keys(keys: list[str]) -> None:
    """Remove files from the store (missing ones are fine)."""
    store_ = storage()
    for key in keys:
        store_.delete(key)


@event.listens_for(Session, "after_commit")
def _keep_written(session: Session) -> None:
    session.info.pop(WRITTEN, None)


@event.listens_for(Session, "after_soft_rollback")
def _remove_written(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is not None:
        return
    keys = session.info.pop(WRITTEN, None)
    if keys:
        delete_keys(keys)
