"""The recording attached to a held session (for the transcript): an HLS or MP4 address, or an
uploaded MP4/M4A/MP3 file within RECORDING_MAX_BYTES. It reaches pages as a session fact.
"""

from __future__ import annotations

from typing import IO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live.media import files
from qa_live.live.media.images import MediaRefused, stream_size
from qa_live.live.media.models import MediaFile
from qa_live.live.media.photos import require_editor
from qa_live.live.session_facts import publish_session_facts
from qa_live.planning import streams
from qa_live.planning.models import LiveSession, SessionState

HELD = (SessionState.ENDED, SessionState.ARCHIVED)


def sniff_recording(head: bytes) -> str | None:
    """The content type of an MP4/M4A or MP3 file from its first bytes, or None."""
    if head[4:8] == b"ftyp":
        return "audio/mp4" if head[8:11] == b"M4A" else "video/mp4"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    return None


def _current_upload(session: LiveSession) -> MediaFile | None:
    return db.session.scalar(select(MediaFile).where(MediaFile.session_id == session.id,
                                                     MediaFile.variant == "recording"))


def _open(session: LiveSession, user: User) -> None:
    require_editor(user, session)
    if session.state not in HELD:
        raise MediaRefused(_("A recording is attached once the session has ended."),
                           code="conflict", field="session")


def set_recording(session: LiveSession, user: User, url: str = "",
                  upload: IO[bytes] | None = None) -> LiveSession:
    """Attach the recording (an address, or a file), replacing any earlier one."""
    _open(session, user)
    new_file = None
    if upload is not None:
        size = stream_size(upload)
        limit = current_app.config["RECORDING_MAX_BYTES"]
        if size == 0:
            raise MediaRefused(_("Choose a recording to upload."))
        if size > limit:
            raise MediaRefused(_("The recording is larger than %(mb)d MB.", mb=limit // 2**20),
                               code="too_large")
        content_type = sniff_recording(upload.read(16))
        upload.seek(0)
        if content_type is None:
            raise MediaRefused(_("This file is not an MP4, M4A or MP3 recording."))
        new_file = files.store(session.id, upload, content_type, size, "recording")
        url = ""
    else:
        try:
            url = streams.check_recording_url(url)
        except streams.StreamAddressError as exc:
            raise MediaRefused(str(exc), field="url") from exc
        if not url:
            raise MediaRefused(_("Give the recording's address or upload its file."),
                               field="url")
    old = _current_upload(session)
    if old is not None:
        files.discard_after_commit([old])
    if new_file is not None:
        db.session.add(new_file)
    session.recording_url = url
    db.session.flush()
    audit.record("recording_set", user=user, target_type="session", target_id=session.id,
                 session_id=session.id, detail={"url": url, "upload": new_file is not None})
    publish_session_facts(session.id, reason="recording")
    return session


def clear_recording(session: LiveSession, user: User) -> LiveSession:
    """Take the recording off the session's pages."""
    _open(session, user)
    old = _current_upload(session)
    if old is not None:
        files.discard_after_commit([old])
    session.recording_url = ""
    db.session.flush()
    audit.record("recording_clear", user=user, target_type="session", target_id=session.id,
                 session_id=session.id)
    publish_session_facts(session.id, reason="recording")
    return session
