"""The console's media commands (a /moderation socket event and a POST
/api/v1/staff/sessions/<id>/actions/<name> each). Files come over HTTP instead (views.py and
the API's media routes): these change captions, materials' texts and order, and the recording's
address. Each operation writes its own audit entry.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _

from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live.commands import command
from qa_live.live.media import materials, photos, recording
from qa_live.live.media.models import Material, Photo
from qa_live.live.socket_common import EventError, int_field, str_field
from qa_live.planning.models import LiveSession


def photo_in(data: dict[str, Any], session: LiveSession) -> Photo:
    """The payload's photo, which must be in this session and not removed."""
    photo = db.session.get(Photo, int_field(data, "photo_id"))
    if photo is None or photo.session_id != session.id or photo.removed:
        raise EventError("not_found", _("There is no such photo in this session."))
    return photo


def material_in(data: dict[str, Any], session: LiveSession) -> Material:
    """The payload's material, which must be in this session."""
    material = db.session.get(Material, int_field(data, "material_id"))
    if material is None or material.session_id != session.id:
        raise EventError("not_found", _("There is no such material in this session."))
    return material


def _text(data: dict[str, Any], name: str, limit: int, default: str = "") -> str:
    if data.get(name) is None:
        return default
    # Twice the limit here; the operation gives the exact message at the exact limit.
    return str_field(data, name, limit * 2)


def material_input(data: dict[str, Any], kind: str = "") -> materials.MaterialInput:
    """A material's texts from a JSON payload."""
    return materials.MaterialInput(
        kind=kind or _text(data, "kind", 20),
        title=_text(data, "title", materials.TITLE_MAX),
        subtitle=_text(data, "subtitle", materials.SUBTITLE_MAX),
        body=_text(data, "body", materials.BODY_MAX))


@command("photo_caption", audited_by_operation=True)
def photo_caption(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Change a photo's caption."""
    photo = photo_in(data, session)
    caption = _text(data, "caption", current_app.config["CAPTION_MAX_LENGTH"])
    photos.edit_caption(photo, user, caption)
    return {"photo_id": photo.id}


@command("photo_remove", audited_by_operation=True)
def photo_remove(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Remove a photo from the stream for everyone."""
    photo = photos.remove_photo(photo_in(data, session), user)
    return {"photo_id": photo.id}


@command("material_add", audited_by_operation=True)
def material_add(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Add a highlight, a background note or a guest (documents and photos: the upload route)."""
    item = materials.add_material(session, user, material_input(data))
    return {"material_id": item.id}


@command("material_update", audited_by_operation=True)
def material_update(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Change a material's title, position (a guest's), or text."""
    item = material_in(data, session)
    current = materials.MaterialInput(item.kind.value, item.title, item.subtitle, item.body)
    changed = materials.MaterialInput(
        kind=item.kind.value,
        title=_text(data, "title", materials.TITLE_MAX, current.title),
        subtitle=_text(data, "subtitle", materials.SUBTITLE_MAX, current.subtitle),
        body=_text(data, "body", materials.BODY_MAX, current.body))
    materials.update_material(item, user, changed)
    return {"material_id": item.id}


@command("material_move", audited_by_operation=True)
def material_move(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Move a material one place up or down in its group."""
    item = material_in(data, session)
    materials.move_material(item, user, _text(data, "direction", 10))
    return {"material_id": item.id}


@command("material_remove", audited_by_operation=True)
def material_remove(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Remove a material for everyone."""
    item = material_in(data, session)
    materials.remove_material(item, user)
    return {"material_id": data["material_id"]}


@command("recording_url", audited_by_operation=True)
def recording_url(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Attach the recording's address (HLS or MP4) after the session."""
    recording.set_recording(session, user, url=_text(data, "url", 500))
    return {"recording": session.recording_url}


@command("recording_clear", audited_by_operation=True)
def recording_clear(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Take the recording off the session's pages."""
    recording.clear_recording(session, user)
    return {}
