"""Photo live operations: post a photo with a caption, change the caption, remove it.

Each checks the editor's right (access.can_post_media), writes its audit entry and publishes
a numbered public event (``photo`` / ``photo.removed``) that pages apply in order; consoles
hear the same. They flush; the caller commits with events.commit_and_send().
"""

from __future__ import annotations

from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import access, events, review, screen
from qa_live.live.media import files, images
from qa_live.live.media.images import MediaRefused
from qa_live.live.media.models import MediaFile, Photo
from qa_live.live.media.payloads import public_photo
from qa_live.live.services import QuestionRefused
from qa_live.live.socket_common import EventError, int_field
from qa_live.planning.models import LiveSession


def require_editor(user: User, session: LiveSession) -> None:
    """Refuse unless the user may post media in this session (access.can_post_media)."""
    if not access.can_post_media(user, session):
        raise MediaRefused(_("Only the session's editors (the host or the office) may post "
                             "photos and materials."), code="forbidden", field="session")


def photo_in(data: dict[str, Any], session: LiveSession) -> Photo:
    """The payload's photo, which must be in this session and not removed."""
    photo = db.session.get(Photo, int_field(data, "photo_id"))
    if photo is None or photo.session_id != session.id or photo.removed:
        raise EventError("not_found", _("There is no such photo in this session."))
    return photo


@screen.screen_kind("photo")
def _on_screen(session: LiveSession, ref: int) -> None:
    """The director may show a photo of the session's stream on the projector."""
    photo = db.session.get(Photo, ref)
    if photo is None or photo.session_id != session.id or photo.removed:
        raise QuestionRefused(_("There is no such photo in this session."), "not_found")


def check_caption(caption: str) -> str:
    """A caption, stripped; at most CAPTION_MAX_LENGTH characters."""
    caption = (caption or "").replace("\r\n", "\n").strip()
    limit = current_app.config["CAPTION_MAX_LENGTH"]
    if len(caption) > limit:
        raise MediaRefused(_("A caption may have at most %(n)d characters (this one has "
                             "%(len)d).", n=limit, len=len(caption)), field="caption")
    return caption


def _tell(photo: Photo, type_: str, data: dict) -> None:
    session = db.session.get(LiveSession, photo.session_id)
    if session is not None and session.is_public:
        events.publish_to(photo.session_id, type_, data)
    events.tell_staff(photo.session_id, type_, data)


def needs_review(session: LiveSession) -> bool:
    """A reviewed session, announced or live: a photo waits for a reviewer (photo_review.py)."""
    return session.reviewed and session.state in review.OPEN_STATES


def check_post(session: LiveSession, user: User, caption: str) -> str:
    """The editor's right and the session's state to post a photo; the caption, checked."""
    require_editor(user, session)
    if session.state not in access.MEDIA_STATES:
        raise MediaRefused(_("Photos can be posted once the session is announced, and until "
                             "it is archived."), code="conflict", field="session")
    return check_caption(caption)


def renditions(session: LiveSession, upload: IO[bytes], variant: str) -> list[MediaFile]:
    """Check the upload by content and store its sizes (rows of this variant, not attached)."""
    config = current_app.config
    made = images.prepare(upload, config["PHOTO_MAX_BYTES"], config["PHOTO_MAX_PIXELS"])
    return [files.store(session.id, r.data, r.content_type, len(r.data), variant,
                        r.width, r.height) for r in made]


def publish_photo(session: LiveSession, user: User, rows: list[MediaFile],
                  caption: str) -> Photo:
    """Put a photo made of stored sizes into the stream: its audit entry and its event."""
    photo = Photo(session_id=session.id, author_id=user.id, caption=caption,
                  width=max(r.width or 0 for r in rows),
                  height=max(r.height or 0 for r in rows), created_at=utcnow())
    photo.files = rows
    db.session.add(photo)
    db.session.flush()
    audit.record("photo_post", user=user, target_type="photo", target_id=photo.id,
                 session_id=session.id, detail={"caption": caption[:100],
                                                "sizes": len(rows)})
    _tell(photo, "photo", public_photo(photo))
    return photo


def post_photo(session: LiveSession, user: User, upload: IO[bytes], caption: str) -> Photo:
    """Check the upload by content, store its sizes and publish the photo in the stream.

    In a reviewed session (announced or live) nothing is published directly: refused with
    review_required before anything is stored (photo_review.send_photo sends it for review).
    """
    caption = check_post(session, user, caption)
    if needs_review(session):
        raise MediaRefused(_("This session is reviewed: send it for review. It is published "
                             "once a reviewer approves it."), code="review_required",
                           field="session")
    return publish_photo(session, user, renditions(session, upload, "image"), caption)


def edit_caption(photo: Photo, user: User, caption: str) -> Photo:
    """Change a photo's caption (pages update it in place)."""
    session = db.session.get(LiveSession, photo.session_id)
    assert session is not None
    require_editor(user, session)
    if photo.removed:
        raise MediaRefused(_("This photo was removed."), code="not_found", field="photo_id")
    caption = check_caption(caption)
    before = photo.caption
    photo.caption = caption
    photo.updated_at = utcnow()
    db.session.flush()
    audit.record("photo_caption", user=user, target_type="photo", target_id=photo.id,
                 session_id=photo.session_id,
                 detail={"before": before[:100], "after": caption[:100]})
    _tell(photo, "photo", public_photo(photo))
    return photo


def remove_photo(photo: Photo, user: User) -> Photo:
    """Take a photo out of the stream for everyone; its files are deleted from the store."""
    session = db.session.get(LiveSession, photo.session_id)
    assert session is not None
    require_editor(user, session)
    if photo.removed:
        raise MediaRefused(_("This photo was removed."), code="not_found", field="photo_id")
    photo.removed = True
    photo.updated_at = utcnow()
    rows, photo.files = list(photo.files), []
    files.discard_after_commit(rows)
    db.session.flush()
    audit.record("photo_remove", user=user, target_type="photo", target_id=photo.id,
                 session_id=photo.session_id, detail={"caption": photo.caption[:100]})
    _tell(photo, "photo.removed", {"id": photo.id})
    screen.withdraw(session, "photo", photo.id)
    return photo
