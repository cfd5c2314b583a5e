"""What pages, events and the API carry about photos, materials and the recording.

`public_photo` and `public_materials` are also what the director's projector choice shows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from qa_live.extensions import db
from qa_live.live.media.models import Material, MaterialKind, MediaFile, Photo
from qa_live.planning import streams
from qa_live.planning.models import LiveSession


def iso(value: Any) -> str | None:
    """An aware datetime as ISO 8601, or None."""
    return value.isoformat() if value else None


#: Where stored files are served (views.media_file); a plain path, so payloads can be built
#: outside a request too (signals, the CLI).
MEDIA_PATH = "/media/"


def file_url(row: MediaFile) -> str:
    """Where a stored file is served (immutable: a key never changes what it holds)."""
    return MEDIA_PATH + row.key


def _sizes(files: list[MediaFile]) -> list[dict[str, Any]]:
    return [{"url": file_url(f), "width": f.width, "height": f.height, "type": f.content_type,
             "bytes": f.size} for f in files if f.variant == "image"]


def srcset(sizes: list[dict[str, Any]], content_type: str) -> str:
    """An <img>/<source> srcset of one format: "url 480w, url 960w"."""
    return ", ".join(f"{s['url']} {s['width']}w" for s in sizes if s["type"] == content_type)


def _picture(files: list[MediaFile]) -> dict[str, Any] | None:
    sizes = _sizes(files)
    if not sizes:
        return None
    jpeg = [s for s in sizes if s["type"] == "image/jpeg"]
    smallest = min(jpeg or sizes, key=lambda s: s["width"])
    largest = max(sizes, key=lambda s: s["width"])
    return {
        "src": smallest["url"],  # a browser without srcset loads the small JPEG
        "full": max(jpeg or sizes, key=lambda s: s["width"])["url"],
        "width": largest["width"], "height": largest["height"],
        "srcset_webp": srcset(sizes, "image/webp"),
        "srcset_jpeg": srcset(sizes, "image/jpeg"),
        "sizes": sizes,
    }


def public_photo(photo: Photo) -> dict[str, Any]:
    """A photo as every citizen sees it: caption, time and its sizes (no author)."""
    return {
        "id": photo.id,
        "caption": photo.caption,
        "created_at": iso(photo.created_at),
        "updated_at": iso(photo.updated_at),
        **(_picture(photo.files) or {}),
    }


def photos_of(session_id: int) -> list[Photo]:
    """A session's photos still shown, oldest first."""
    return list(db.session.scalars(
        select(Photo).where(Photo.session_id == session_id, Photo.removed.is_(False))
        .order_by(Photo.id)))


def public_photos(session_id: int) -> list[dict[str, Any]]:
    """Every shown photo of a session, oldest first."""
    return [public_photo(p) for p in photos_of(session_id)]


def materials_of(session_id: int) -> list[Material]:
    """A session's materials by group, then in their order."""
    order = {kind: i for i, kind in enumerate(MaterialKind)}
    rows = db.session.scalars(select(Material).where(Material.session_id == session_id)
                              .order_by(Material.position, Material.id))
    return sorted(rows, key=lambda m: order[m.kind])


def public_material(material: Material) -> dict[str, Any]:
    """One material as pages show it."""
    pdf = next((f for f in material.files if f.variant == "pdf"), None)
    return {
        "id": material.id,
        "kind": material.kind.value,
        "position": material.position,
        "title": material.title,
        "subtitle": material.subtitle,
        "body": material.body,
        "document": ({"url": file_url(pdf), "bytes": pdf.size, "pages": material.pages}
                     if pdf else None),
        "photo": _picture(material.files),
        "updated_at": iso(material.updated_at or material.created_at),
    }


def public_materials(session_id: int) -> list[dict[str, Any]]:
    """A session's materials, grouped by kind (highlights, guests, background, policy)."""
    return [public_material(m) for m in materials_of(session_id)]


def grouped(materials: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The materials as (kind, items) in the pages' order, empty groups left out."""
    return [(kind.value, items) for kind in MaterialKind
            if (items := [m for m in materials if m["kind"] == kind.value])]


def recording(session: LiveSession) -> dict[str, Any] | None:
    """The recording attached after the session: an address, or the uploaded file."""
    upload = db.session.scalar(select(MediaFile).where(MediaFile.session_id == session.id,
                                                       MediaFile.variant == "recording"))
    if upload is not None:
        kind = "audio" if upload.content_type.startswith("audio/") else "video"
        return {"kind": kind, "url": file_url(upload), "type": upload.content_type,
                "bytes": upload.size}
    if session.recording_url:
        return {"kind": streams.stream_kind(session.recording_url),
                "url": session.recording_url, "type": None, "bytes": None}
    return None
