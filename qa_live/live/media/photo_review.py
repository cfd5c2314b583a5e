"""Photos in a reviewed session (审核): the upload waits, unpublished, for a reviewer.

In a session set to "reviewed", announced or live, a photo sent from the console, the studio
page or the API is checked and stored as usual, but its sizes are kept as *pending* files
attached to no photo: served only to the session's staff who may post or review (never
cached, never to citizens), and carried to the review queue (review.py) as a "photo" item
whose text is the caption. A reviewer approves it (the caption possibly changed): the files
become the photo's and it is published like any other. Sent back, nothing of it is public; its
author changes the caption and sends it again. Outside review (a session not reviewed, or
ended) photos.post_photo publishes directly.
"""

from __future__ import annotations

from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live import access, review
from qa_live.live.media import photos
from qa_live.live.media.images import MediaRefused
from qa_live.live.media.models import MediaFile, Photo
from qa_live.live.media.payloads import file_url
from qa_live.live.review_models import ReviewItem
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import LiveSession

#: The variant of a stored size waiting for review (MediaFile.variant); "image" once approved.
PENDING = "pending"


def send_photo(session: LiveSession, user: User, upload: IO[bytes],
               caption: str) -> Photo | ReviewItem:
    """Post a photo: published now, or, in a reviewed session, sent for review."""
    if not photos.needs_review(session):
        return photos.post_photo(session, user, upload, caption)
    try:
        return review.submit(session, user, "photo", {"upload": upload, "caption": caption})
    except QuestionRefused as exc:
        raise MediaRefused(str(exc), code=exc.code, field="session") from exc


def may_see_pending(user: Any, row: MediaFile) -> bool:
    """Who may load a pending size: the session's editors and reviewers, signed in."""
    session = db.session.get(LiveSession, row.session_id)
    if session is None or not getattr(user, "is_authenticated", False):
        return False
    return access.can_post_media(user, session) or access.can_review(user, session)


def _submit(user: User, session: LiveSession, data: dict[str, Any]) -> review.Submission:
    upload: IO[bytes] | None = data.get("upload")
    if upload is None or not callable(getattr(upload, "read", None)):
        raise QuestionRefused(_("A photo is sent for review by uploading it: the console's or "
                                "the studio page's photo form, or POST "
                                "/api/v1/staff/sessions/<id>/photos."), "invalid")
    caption = data.get("caption")
    caption = photos.check_post(session, user, caption if isinstance(caption, str) else "")
    rows = photos.renditions(session, upload, PENDING)
    db.session.add_all(rows)
    db.session.flush()
    jpeg = [r for r in rows if r.content_type == "image/jpeg"] or rows
    preview = min(jpeg, key=lambda r: r.width or 0)
    return review.Submission(body=caption, fields={
        "files": [r.id for r in rows], "preview": file_url(preview),
        "width": max(r.width or 0 for r in rows), "height": max(r.height or 0 for r in rows)})


def _clean(caption: object) -> str:
    if not isinstance(caption, str):
        raise QuestionRefused(_("A caption is text."), "invalid")
    return photos.check_caption(caption)


def _publish(item: ReviewItem, author: User) -> int:
    session = db.session.get(LiveSession, item.session_id)
    assert session is not None
    ids = [i for i in item.fields.get("files") or [] if isinstance(i, int)]
    rows = list(db.session.scalars(
        select(MediaFile).where(MediaFile.id.in_(ids), MediaFile.session_id == session.id,
                                MediaFile.photo_id.is_(None), MediaFile.variant == PENDING)))
    if not rows:
        raise QuestionRefused(_("The photo's files are gone."), "not_found")
    for row in rows:
        row.variant = "image"
    return photos.publish_photo(session, author, rows, item.body).id


review.register_kind(review.ReviewKind(
    name="photo", label=lambda: str(_l("Photo")), submit=_submit, clean=_clean,
    publish=_publish))
