"""Serving stored media, and the studio page where editors post photos and keep materials.

/media/<key> serves a stored file with the Content-Type of our own record and cache headers
for ever (a key never changes what it holds). The studio page (/console/<slug>/studio) works
from a phone's browser as well as a desk: plain forms, no script needed; the console posts
photos to the same route with fetch and gets JSON back.
"""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from qa_live.auth.access import staff_required
from qa_live.core.errors import wants_json
from qa_live.core.storage import FileStorage, storage
from qa_live.core.timeutil import to_local
from qa_live.core.uploads import upload_limit
from qa_live.extensions import db
from qa_live.live import access, commands, events, review
from qa_live.live.media import materials, payloads, photo_review, photos, recording
from qa_live.live.media.images import MediaRefused
from qa_live.live.media.models import MaterialKind, MediaFile
from qa_live.live.review_models import ReviewItem
from qa_live.live.socket_common import EventError
from qa_live.planning import services as planning
from qa_live.planning.models import LiveSession, SessionState

bp = Blueprint("media", __name__)
YEAR = 365 * 24 * 3600


@bp.get("/media/<path:key>")
def media_file(key: str) -> ResponseReturnValue:
    """A stored file: our record's type, cached for ever, documents as downloads."""
    row = db.session.scalar(select(MediaFile).where(MediaFile.key == key[:200]))
    if row is None:
        abort(404)
    pending = row.variant == photo_review.PENDING  # a photo waiting for its reviewer
    if pending and not photo_review.may_see_pending(current_user, row):
        abort(404)
    store = storage()
    source: Any
    if isinstance(store, FileStorage):  # a path: sendfile, ranges, and nothing left open
        source = store.path(row.key)
        if not source.is_file():
            abort(404)
    else:
        source = store.open(row.key)
        if source is None:
            abort(404)
    download = row.variant == "pdf"
    response = send_file(source, mimetype=row.content_type, conditional=True,
                         etag=row.key, max_age=YEAR, as_attachment=download,
                         download_name=row.filename or row.key.rsplit("/", 1)[-1])
    response.headers["Cache-Control"] = ("private, no-store" if pending
                                         else f"public, max-age={YEAR}, immutable")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# The studio page ------------------------------------------------------------------------------


def get_studio_session_or_404(slug: str) -> LiveSession:
    """The session behind a studio address, if the current user is one of its editors."""
    session = db.session.scalar(select(LiveSession).where(LiveSession.slug == slug[:64]))
    if session is None:
        abort(404)
    if not access.can_post_media(current_user, session):
        abort(403)
    return session


def _file(name: str) -> IO[bytes] | None:
    """An uploaded file field, or None when none was chosen."""
    try:
        upload = request.files.get(name)
    except RequestEntityTooLarge as exc:
        raise MediaRefused(_("What you sent is too large."), field=name,
                           code="too_large") from exc
    if upload is None or not upload.filename:
        return None
    return upload.stream


def _field(name: str) -> str:
    return request.form.get(name, "")


STATUS = {"forbidden": 403, "not_found": 404, "too_large": 413, "conflict": 409}


def _done(session: LiveSession, message: str, **json: Any) -> ResponseReturnValue:
    events.commit_and_send()
    if wants_json():
        return jsonify(ok=True, message=message, **json)
    flash(message, "success")
    return redirect(request.form.get("next") or url_for("media.studio", slug=session.slug))


def _refused(session: LiveSession, exc: EventError) -> ResponseReturnValue:
    db.session.rollback()
    status = STATUS.get(exc.code, 400)
    if wants_json():
        return jsonify(ok=False, error=exc.code, message=exc.message, fields=exc.fields), status
    return render_studio(session, error=exc.message, status=status)


def render_studio(session: LiveSession, error: str | None = None,
                  status: int = 200) -> ResponseReturnValue:
    """The studio page of a session."""
    return render_template(
        "media/studio.html", session=session, error=error,
        photos=payloads.public_photos(session.id),
        materials=payloads.public_materials(session.id),
        recording=payloads.recording(session),
        kinds=[k.value for k in MaterialKind], kind_label=materials.kind_label,
        can_post_photos=session.state in access.MEDIA_STATES,
        held=session.state in recording.HELD,
        state_label=planning.state_label,
    ), status


@bp.get("/console/<slug>/studio")
@staff_required
def studio(slug: str) -> ResponseReturnValue:
    """Post photos, keep the materials and attach the recording."""
    return render_studio(get_studio_session_or_404(slug))


@bp.post("/console/<slug>/studio/photos")
@upload_limit("PHOTO_MAX_BYTES")
@staff_required
def post_photo(slug: str) -> ResponseReturnValue:
    """Post a photo with its caption (the form, or the console's fetch: JSON back)."""
    session = get_studio_session_or_404(slug)
    try:
        upload = _file("photo")
        if upload is None:
            raise MediaRefused(_("Choose a photo to upload."), field="photo")
        sent = photo_review.send_photo(session, current_user, upload, _field("caption"))
    except EventError as exc:
        return _refused(session, exc)
    if isinstance(sent, ReviewItem):
        message = _("The photo waits for a reviewer: it is published once approved.")
        return _done(session, message, item=review.item_json(sent))
    return _done(session, _("The photo is published."), photo=payloads.public_photo(sent))


def _run_command(session: LiveSession, name: str, data: dict[str, Any],
                 message: str) -> ResponseReturnValue:
    try:
        result = commands.run(name, current_user, session, data)
    except EventError as exc:
        return _refused(session, exc)
    return _done(session, message, **result)


@bp.post("/console/<slug>/studio/photos/<int:photo_id>/caption")
@staff_required
def photo_caption(slug: str, photo_id: int) -> ResponseReturnValue:
    """Change a photo's caption."""
    session = get_studio_session_or_404(slug)
    return _run_command(session, "photo_caption",
                        {"photo_id": photo_id, "caption": _field("caption")},
                        _("The caption is saved."))


@bp.post("/console/<slug>/studio/photos/<int:photo_id>/remove")
@staff_required
def photo_remove(slug: str, photo_id: int) -> ResponseReturnValue:
    """Remove a photo for everyone."""
    session = get_studio_session_or_404(slug)
    return _run_command(session, "photo_remove", {"photo_id": photo_id},
                        _("The photo was removed."))


@bp.post("/console/<slug>/studio/materials")
@upload_limit("PHOTO_MAX_BYTES", "PDF_MAX_BYTES")
@staff_required
def material_add(slug: str) -> ResponseReturnValue:
    """Add a material, with its PDF (policy documents) or photo (guests)."""
    session = get_studio_session_or_404(slug)
    try:
        data = materials.MaterialInput(_field("kind"), _field("title"), _field("subtitle"),
                                       _field("body"))
        materials.add_material(session, current_user, data, _file("document"), _file("photo"))
    except EventError as exc:
        return _refused(session, exc)
    return _done(session, _("The material is added."))


@bp.post("/console/<slug>/studio/materials/<int:material_id>")
@upload_limit("PHOTO_MAX_BYTES", "PDF_MAX_BYTES")
@staff_required
def material_update(slug: str, material_id: int) -> ResponseReturnValue:
    """Change a material's texts, or replace its PDF or photo."""
    session = get_studio_session_or_404(slug)
    try:
        item = materials.material_in({"material_id": material_id}, session)
        data = materials.MaterialInput(item.kind.value, _field("title"), _field("subtitle"),
                                       _field("body"))
        materials.update_material(item, current_user, data, _file("document"), _file("photo"))
    except EventError as exc:
        return _refused(session, exc)
    return _done(session, _("The material is saved."))


@bp.post("/console/<slug>/studio/materials/<int:material_id>/move")
@staff_required
def material_move(slug: str, material_id: int) -> ResponseReturnValue:
    """Move a material up or down in its group."""
    session = get_studio_session_or_404(slug)
    return _run_command(session, "material_move",
                        {"material_id": material_id, "direction": _field("direction")},
                        _("The order is saved."))


@bp.post("/console/<slug>/studio/materials/<int:material_id>/remove")
@staff_required
def material_remove(slug: str, material_id: int) -> ResponseReturnValue:
    """Remove a material for everyone."""
    session = get_studio_session_or_404(slug)
    return _run_command(session, "material_remove", {"material_id": material_id},
                        _("The material was removed."))


@bp.post("/console/<slug>/studio/recording")
@upload_limit("RECORDING_MAX_BYTES")
@staff_required
def recording_set(slug: str) -> ResponseReturnValue:
    """Attach the recording: an address, or an uploaded file; or take it off."""
    session = get_studio_session_or_404(slug)
    try:
        if request.form.get("clear"):
            recording.clear_recording(session, current_user)
        else:
            recording.set_recording(session, current_user, _field("url"), _file("recording"))
    except EventError as exc:
        return _refused(session, exc)
    return _done(session, _("The recording is saved."))


def media_strings() -> dict[str, Any]:
    """The texts static/js/media.js shows, for a page's config.t."""
    return {
        "photo": _("Photo from the session"),
        "download_pdf": _("Download the PDF"),
        "pdf_size": _("%(pages)d pages, %(kb)d KB"),
        "kinds": {kind.value: materials.kind_label(kind.value) for kind in MaterialKind},
    }


def player_config() -> dict[str, Any]:
    """What a page's script needs for media: the texts, and where hls.js is (loaded on need)."""
    return {"hls_src": url_for("static", filename="vendor/hls.light.min.js")}


# For templates: what the announcement, live, transcript and print pages show -----------------


@bp.app_template_global()
def photos_need_review(session: LiveSession) -> bool:
    """A reviewed session, announced or live: a photo sent waits for a reviewer."""
    return photos.needs_review(session)


@bp.app_template_global()
def session_photos(session: LiveSession) -> list[dict[str, Any]]:
    """A session's photos still shown, oldest first."""
    return payloads.public_photos(session.id)


@bp.app_template_global()
def session_materials(session: LiveSession) -> list[tuple[str, list[dict[str, Any]]]]:
    """A session's materials as (kind, items) groups in the pages' order."""
    return payloads.grouped(payloads.public_materials(session.id))


@bp.app_template_global()
def media_time(value: str | None) -> str:
    """A photo's time (ISO 8601 in a payload) as people read it: 14:05 in the local zone."""
    if not value:
        return ""
    local = to_local(datetime.fromisoformat(value))
    return local.strftime("%H:%M") if local else ""


@bp.app_template_filter("group_materials")
def group_materials(materials: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Materials from a snapshot as (kind, items) groups in the pages' order."""
    return payloads.grouped(list(materials))


@bp.app_template_global()
def material_kind_label(kind: str) -> str:
    """A group's translated name."""
    return materials.kind_label(kind)


@bp.app_template_global()
def studio_url(session: LiveSession) -> str | None:
    """The studio page's address, for those who may use it; else None."""
    if not current_user.is_authenticated or not access.can_post_media(current_user, session):
        return None
    return url_for("media.studio", slug=session.slug)


@bp.app_template_global()
def stream_player(session: LiveSession) -> dict[str, Any] | None:
    """The player a page shows: the live stream while announced or live, else the recording.

    Also allows the stream's origin in the page's Content-Security-Policy (media, fetches).
    """
    from qa_live.core.security import allow_media_from
    from qa_live.planning import streams

    if session.state in (SessionState.ANNOUNCED, SessionState.LIVE) and session.stream_url:
        allow_media_from(streams.origin(session.stream_url))
        return {"kind": "hls", "url": session.stream_url, "live": True}
    rec = payloads.recording(session) if session.state in recording.HELD else None
    if rec is None:
        return None
    if rec["url"].startswith(("http://", "https://")):
        allow_media_from(streams.origin(rec["url"]))
    return {**rec, "live": False}
