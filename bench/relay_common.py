"""The bare python-socketio relay both reference servers run (imported after monkey-patching).

Namespace /qa: ``join`` {slug} puts the socket in room ``s:<slug>`` and acks ``{"ok": true}``
(like qa_live's join, without the database and the snapshot). ``POST /publish`` with a JSON body
``{"room", "event", "data"}``, or the socket event ``publish`` with the same object, broadcasts
``data`` as ``event`` to every socket in the room. ``GET /`` answers 200 (the harness waits on it).

Intake: ``ask`` on /qa (qa_live's payload, ``{"client_id", "text", ...}``) acks
``{"ok": true, "question": {"client_id", "text"}}`` and forwards the question as event
``question`` to the room ``staff:<slug>`` of namespace /moderation, which a staff socket enters
with ``join`` ``{"slug"}``. Nothing is validated or stored: it is the floor under qa_live's ask
(which validates, stores, commits and then tells the staff rooms and the asker's pages).
"""

from __future__ import annotations

import json
from typing import Any

import socketio


def build(async_mode: str) -> tuple[socketio.Server, Any]:
    """The Socket.IO server and the WSGI app that serves it plus /publish."""
    sio = socketio.Server(async_mode=async_mode, cors_allowed_origins="*",
                          ping_interval=25, ping_timeout=20)

    @sio.on("join", namespace="/qa")
    def join(sid: str, data: Any = None) -> dict[str, Any]:
        slug = data.get("slug") if isinstance(data, dict) else None
        if not isinstance(slug, str):
            return {"ok": False, "error": "invalid"}
        sio.enter_room(sid, f"s:{slug}", namespace="/qa")
        slugs[sid] = slug
        return {"ok": True, "mode": "relay"}

    slugs: dict[str, str] = {}  # sid -> the session it joined

    @sio.on("disconnect", namespace="/qa")
    def leave(sid: str, reason: Any = None) -> None:
        slugs.pop(sid, None)

    @sio.on("ask", namespace="/qa")
    def ask(sid: str, data: Any = None) -> dict[str, Any]:
        slug = slugs.get(sid)
        if slug is None or not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return {"ok": False, "error": "invalid"}
        question = {"client_id": data.get("client_id"), "text": data["text"]}
        sio.emit("question", question, room=f"staff:{slug}", namespace="/moderation")
        return {"ok": True, "question": question, "duplicate": False}

    @sio.on("join", namespace="/moderation")
    def staff_join(sid: str, data: Any = None) -> dict[str, Any]:
        slug = data.get("slug") if isinstance(data, dict) else None
        if not isinstance(slug, str):
            return {"ok": False, "error": "invalid"}
        sio.enter_room(sid, f"staff:{slug}", namespace="/moderation")
        return {"ok": True}

    @sio.on("publish", namespace="/qa")
    def publish_event(sid: str, data: Any = None) -> dict[str, Any]:
        sio.emit(data["event"], data["data"], room=data["room"], namespace="/qa")
        return {"ok": True}

    def http(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == "/publish":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length))
            sio.emit(body["event"], body["data"], room=body["room"], namespace="/qa")
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok":true}']
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"relay\n"]

    return sio, socketio.WSGIApp(sio, http)
