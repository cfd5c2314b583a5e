"""The console's media commands (a /moderation socket event and a POST
/api/v1/staff/sessions/<id>/actions/<name> each). Files come over HTTP instead (views.py and
the API's media routes): these change captions, materials' texts and order, and the recording's
address. Each operation writes its own audit entry.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from qa_live.auth.models import User
from qa_live.live.commands import command
from qa_live.live.media import materials, photos, recording
from qa_live.live.media.materials import material_in, material_input, text_field
from qa_live.live.media.photos import photo_in
from qa_live.planning.models import LiveSession


@command("photo_caption", audited_by_operation=True)
def photo_caption(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Change a photo's caption."""
    photo = photo_in(data, session)
    caption = text_field(data, "caption", current_app.config["CAPTION_MAX_LENGTH"])
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
        title=text_field(data, "title", materials.TITLE_MAX, current.title),
        subtitle=text_field(data, "subtitle", materials.SUBTITLE_MAX, current.subtitle),
        body=text_field(data, "body", materials.BODY_MAX, current.body))
    materials.update_material(item, user, changed)
    return {"material_id": item.id}


@command("material_move", audited_by_operation=True)
def material_move(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Move a material one place up or down in its group."""
    item = material_in(data, session)
    materials.move_material(item, user, text_field(data, "direction", 10))
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
    recording.set_recording(session, user, url=text_field(data, "url", 500))
    return {"recording": session.recording_url}


@command("recording_clear", audited_by_operation=True)
def recording_clear(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Take the recording off the session's pages."""
    recording.clear_recording(session, user)
    return {}
