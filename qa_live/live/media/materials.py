"""A session's materials (相关内容): highlights, guest profiles, background notes, policy
documents. Added, changed, reordered and removed by the session's editors, before, during and
after the session; each change is audited and publishes a ``materials`` event with the whole
list (it is short), which pages apply by replacing theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.core.offload import run_blocking
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import events
from qa_live.live.media import files, images, pdfs
from qa_live.live.media.images import MediaRefused
from qa_live.live.media.models import Material, MaterialKind
from qa_live.live.media.payloads import public_materials
from qa_live.live.media.photos import require_editor
from qa_live.live.socket_common import EventError, int_field, str_field
from qa_live.planning.models import LiveSession, SessionState

TITLE_MAX = 120
SUBTITLE_MAX = 120
BODY_MAX = 10_000


@dataclass
class MaterialInput:
    """What an editor types for a material (files come beside it)."""

    kind: str
    title: str
    subtitle: str = ""
    body: str = ""


def kind_label(kind: str) -> str:
    """A group's translated name."""
    return {
        MaterialKind.HIGHLIGHT.value: _("Highlights"),
        MaterialKind.GUEST.value: _("Guests"),
        MaterialKind.BACKGROUND.value: _("Background"),
        MaterialKind.POLICY.value: _("Policy documents"),
    }.get(kind, kind)


def _checked(data: MaterialInput) -> tuple[MaterialKind, str, str, str]:
    if data.kind not in {k.value for k in MaterialKind}:
        raise MediaRefused(_("Unknown kind of material."), field="kind")
    title = (data.title or "").strip()
    if not 1 <= len(title) <= TITLE_MAX:
        raise MediaRefused(_("A title (or a guest's name) needs 1 to %(n)d characters.",
                             n=TITLE_MAX), field="title")
    subtitle = (data.subtitle or "").strip()
    if len(subtitle) > SUBTITLE_MAX:
        raise MediaRefused(_("A position may have at most %(n)d characters.", n=SUBTITLE_MAX),
                           field="subtitle")
    body = (data.body or "").replace("\r\n", "\n").strip()
    if len(body) > BODY_MAX:
        raise MediaRefused(_("The text may have at most %(n)d characters.", n=BODY_MAX),
                           field="body")
    return MaterialKind(data.kind), title, subtitle, body


def material_in(data: dict[str, Any], session: LiveSession) -> Material:
    """The payload's material, which must be in this session."""
    material = db.session.get(Material, int_field(data, "material_id"))
    if material is None or material.session_id != session.id:
        raise EventError("not_found", _("There is no such material in this session."))
    return material


def text_field(data: dict[str, Any], name: str, limit: int, default: str = "") -> str:
    """A text field of a JSON payload (absent: the default), capped at twice the limit."""
    if data.get(name) is None:
        return default
    # Twice the limit here; the operation gives the exact message at the exact limit.
    return str_field(data, name, limit * 2)


def material_input(data: dict[str, Any], kind: str = "") -> MaterialInput:
    """A material's texts from a JSON payload."""
    return MaterialInput(
        kind=kind or text_field(data, "kind", 20),
        title=text_field(data, "title", TITLE_MAX),
        subtitle=text_field(data, "subtitle", SUBTITLE_MAX),
        body=text_field(data, "body", BODY_MAX))


def _open_for_changes(session: LiveSession, user: User) -> None:
    require_editor(user, session)
    if session.state == SessionState.CANCELLED:
        raise MediaRefused(_("The session was cancelled."), code="conflict", field="session")


def publish_materials(session: LiveSession) -> None:
    """Tell pages and consoles the session's materials as they now are."""
    db.session.flush()
    data = {"materials": public_materials(session.id)}
    if session.is_public:
        events.publish_to(session.id, "materials", data)
    events.tell_staff(session.id, "materials", data)


def _attach_files(material: Material, session: LiveSession, document: IO[bytes] | None,
                  photo: IO[bytes] | None) -> None:
    config = current_app.config
    if document is not None:
        if material.kind != MaterialKind.POLICY:
            raise MediaRefused(_("Only policy documents carry a PDF."), field="document")
        pages = run_blocking(pdfs.check_pdf, document, config["PDF_MAX_BYTES"])
        size = images.stream_size(document)
        old = [f for f in material.files if f.variant == "pdf"]
        row = files.store(session.id, document, "application/pdf", size, "pdf",
                          filename=f"{material.title}.pdf")
        material.files = [f for f in material.files if f.variant != "pdf"] + [row]
        material.pages = pages
        files.discard_after_commit(old)
    if photo is not None:
        if material.kind != MaterialKind.GUEST:
            raise MediaRefused(_("Only guest profiles carry a photo."), field="photo")
        # A portrait in a list: the two smaller widths are enough.
        made = images.prepare(photo, config["PHOTO_MAX_BYTES"], config["PHOTO_MAX_PIXELS"],
                              widths=images.WIDTHS[:2])
        old = [f for f in material.files if f.variant == "image"]
        rows = [files.store(session.id, r.data, r.content_type, len(r.data), "image",
                            r.width, r.height) for r in made]
        material.files = [f for f in material.files if f.variant != "image"] + rows
        files.discard_after_commit(old)


def add_material(session: LiveSession, user: User, data: MaterialInput,
                 document: IO[bytes] | None = None,
                 photo: IO[bytes] | None = None) -> Material:
    """Add a material at the end of its group."""
    _open_for_changes(session, user)
    kind, title, subtitle, body = _checked(data)
    if kind == MaterialKind.POLICY and document is None:
        raise MediaRefused(_("A policy document needs its PDF."), field="document")
    last = db.session.scalar(select(func.max(Material.position)).where(
        Material.session_id == session.id, Material.kind == kind))
    material = Material(session_id=session.id, kind=kind, title=title, subtitle=subtitle,
                        body=body, position=(last or 0) + 1, author_id=user.id,
                        created_at=utcnow(), files=[])
    _attach_files(material, session, document, photo)
    db.session.add(material)
    db.session.flush()
    audit.record("material_add", user=user, target_type="material", target_id=material.id,
                 session_id=session.id, detail={"kind": kind.value, "title": title})
    publish_materials(session)
    return material


def update_material(material: Material, user: User, data: MaterialInput,
                    document: IO[bytes] | None = None,
                    photo: IO[bytes] | None = None) -> Material:
    """Change a material's texts, and replace its PDF or photo when new ones are given."""
    session = db.session.get(LiveSession, material.session_id)
    assert session is not None
    _open_for_changes(session, user)
    data.kind = material.kind.value  # a material stays in its group
    _kind, title, subtitle, body = _checked(data)
    material.title, material.subtitle, material.body = title, subtitle, body
    _attach_files(material, session, document, photo)
    material.updated_at = utcnow()
    db.session.flush()
    audit.record("material_update", user=user, target_type="material", target_id=material.id,
                 session_id=session.id, detail={"kind": material.kind.value, "title": title,
                                                "document": document is not None,
                                                "photo": photo is not None})
    publish_materials(session)
    return material


def move_material(material: Material, user: User, direction: str) -> Material:
    """Move a material one place up or down within its group."""
    session = db.session.get(LiveSession, material.session_id)
    assert session is not None
    _open_for_changes(session, user)
    if direction not in ("up", "down"):
        raise MediaRefused(_("Move up or down."), field="direction")
    group = list(db.session.scalars(select(Material).where(
        Material.session_id == session.id, Material.kind == material.kind)
        .order_by(Material.position, Material.id)))
    at = group.index(material)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(group):
        group[at], group[to] = group[to], group[at]
        for position, item in enumerate(group, start=1):
            item.position = position
    db.session.flush()
    audit.record("material_move", user=user, target_type="material", target_id=material.id,
                 session_id=session.id, detail={"direction": direction})
    publish_materials(session)
    return material


def remove_material(material: Material, user: User) -> None:
    """Remove a material for everyone; its files are deleted from the store."""
    session = db.session.get(LiveSession, material.session_id)
    assert session is not None
    _open_for_changes(session, user)
    rows, material.files = list(material.files), []
    files.discard_after_commit(rows)
    audit.record("material_remove", user=user, target_type="material", target_id=material.id,
                 session_id=session.id, detail={"kind": material.kind.value,
                                                "title": material.title})
    db.session.delete(material)
    publish_materials(session)
