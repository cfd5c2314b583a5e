"""/api/v1 media: photos, materials and the recording of a session.

Files are multipart/form-data (the only write routes that take it); the rest of the media
changes are console commands (POST …/actions/photo_caption, material_update, …). The public
side reads them in the session's stream snapshot and here.
"""

from __future__ import annotations

from typing import IO

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from qa_live.api.common import bp, get_session_or_404, json_body, staff_user
from qa_live.core.uploads import upload_limit
from qa_live.live import events, review
from qa_live.live.media import materials, payloads, photo_review, recording
from qa_live.live.media.images import MediaRefused
from qa_live.live.review_models import ReviewItem
from qa_live.live.snapshots import get_live_session_or_error


def _file(name: str) -> IO[bytes] | None:
    try:
        upload = request.files.get(name)
    except RequestEntityTooLarge as exc:
        raise MediaRefused(_("What you sent is too large."), field=name,
                           code="too_large") from exc
    return upload.stream if upload is not None and upload.filename else None


def _form(name: str) -> str:
    value = request.form.get(name, "")
    return value if isinstance(value, str) else ""


@bp.get("/sessions/<slug>/media")
def public_media(slug: str) -> ResponseReturnValue:
    """A public session's photos (oldest first) and materials (grouped, in order)."""
    session = get_live_session_or_error(slug)
    return jsonify(photos=payloads.public_photos(session.id),
                   materials=payloads.public_materials(session.id),
                   recording=payloads.recording(session), stream_url=session.stream_url or None)


@bp.post("/staff/sessions/<int:session_id>/photos")
@upload_limit("PHOTO_MAX_BYTES")
def post_photo(session_id: int) -> ResponseReturnValue:
    """Post a photo (multipart: photo, caption) into the session's stream."""
    user = staff_user()
    session = get_session_or_404(session_id)
    upload = _file("photo")
    if upload is None:
        raise MediaRefused(_("Choose a photo to upload."), field="photo")
    sent = photo_review.send_photo(session, user, upload, _form("caption"))
    events.commit_and_send()
    if isinstance(sent, ReviewItem):  # a reviewed session: published once a reviewer approves
        return jsonify(photo=None, review=review.item_json(sent)), 202
    return jsonify(photo=payloads.public_photo(sent)), 201


@bp.post("/staff/sessions/<int:session_id>/materials")
@upload_limit("PHOTO_MAX_BYTES", "PDF_MAX_BYTES")
def add_material(session_id: int) -> ResponseReturnValue:
    """Add a material: JSON {kind, title, subtitle, body}, or multipart with document/photo."""
    user = staff_user()
    session = get_session_or_404(session_id)
    if request.is_json:
        data, document, photo = materials.material_input(json_body()), None, None
    else:
        data = materials.MaterialInput(_form("kind"), _form("title"), _form("subtitle"),
                                       _form("body"))
        document, photo = _file("document"), _file("photo")
    item = materials.add_material(session, user, data, document, photo)
    events.commit_and_send()
    return jsonify(material=payloads.public_material(item)), 201


@bp.post("/staff/sessions/<int:session_id>/recording")
@upload_limit("RECORDING_MAX_BYTES")
def set_recording(session_id: int) -> ResponseReturnValue:
    """Attach the recording after the session: JSON {url}, or multipart with the file."""
    user = staff_user()
    session = get_session_or_404(session_id)
    if request.is_json:
        url = json_body().get("url")
        if not isinstance(url, str):
            raise MediaRefused(_("Give the recording's address or upload its file."),
                               field="url")
        recording.set_recording(session, user, url=url)
    else:
        recording.set_recording(session, user, upload=_file("recording"))
    events.commit_and_send()
    return jsonify(recording=payloads.recording(session))
