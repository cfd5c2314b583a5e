"""Photo live, materials, the stream address and the recording: operations, API and sockets.

Every upload is checked by content; every refusal says why and stores nothing (no row, no file).
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from qa_live import create_app
from qa_live.audit.models import AuditEntry
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.core.storage import FileStorage, storage_from_url
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live.media.models import Material, MediaFile, Photo
from qa_live.live.models import SessionEvent
from qa_live.planning.models import SessionState
from tests.conftest import PASSWORD, _isolate_requests, config_for
from tests.media_files import pdf, photo, png_bomb


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def app(db_url: str, media_dir: Path):
    """The application with its media store in a folder of this test's own."""
    app = create_app(config_for(db_url, MEDIA_DIR=str(media_dir)))
    _isolate_requests(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def people(make_user, make_department):
    dept = make_department("外贸处")
    return {
        "dept": dept,
        "host": make_user("host1", roles=[Role.HOST]),
        "office": make_user("office1", roles=[Role.OFFICE]),
        "answerer": make_user("ans1", roles=[Role.ANSWERER], departments=[dept]),
    }


@pytest.fixture
def live(make_session, people):
    return make_session(title="在线访谈：稳外贸", state=SessionState.LIVE,
                        departments=[people["dept"]], hosts=[people["host"]],
                        start=utcnow() - timedelta(minutes=10))


def bearer(user) -> dict[str, str]:
    _row, secret = tokens.create_token(user, "media test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def upload(client, session, headers, data: bytes, caption: str = "嘉宾走进直播间",
           name: str = "photo.jpg"):
    return client.post(f"/api/v1/staff/sessions/{session.id}/photos", headers=headers,
                       data={"photo": (io.BytesIO(data), name), "caption": caption},
                       content_type="multipart/form-data")


def fetch(client, url: str):
    """GET a served file and close the response (the file behind it) at once."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def stored_files(media_dir: Path) -> list[Path]:
    return [p for p in media_dir.rglob("*") if p.is_file()] if media_dir.exists() else []


def nothing_stored(media_dir: Path) -> bool:
    db.session.rollback()
    return (not stored_files(media_dir)
            and db.session.scalar(select(func.count()).select_from(MediaFile)) == 0
            and db.session.scalar(select(func.count()).select_from(Photo)) == 0)


def citizen(app, session):
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    ack = sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    assert ack["ok"], ack
    sock.get_received("/qa")
    return sock, ack


# Photo live ---------------------------------------------------------------------------------


def test_a_host_posts_a_photo_and_every_citizen_gets_it_numbered(app, client, live, people,
                                                                 media_dir):
    sock, ack = citizen(app, live)
    seq = ack["snapshot"]["seq"]
    response = upload(client, live, bearer(people["host"]), photo(2400, 1600))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()["photo"]
    assert body["caption"] == "嘉宾走进直播间"
    assert [(s["width"], s["type"]) for s in body["sizes"]] == [
        (480, "image/jpeg"), (480, "image/webp"), (960, "image/jpeg"), (960, "image/webp"),
        (1920, "image/jpeg"), (1920, "image/webp")]
    assert body["src"].endswith(".jpg") and "480w" in body["srcset_webp"]

    events = [m["args"][0] for m in sock.get_received("/qa") if m["name"] == "event"]
    assert [(e["seq"], e["type"], e["data"]["id"]) for e in events] == [
        (seq + 1, "photo", body["id"])]
    # A page joining later has it in its snapshot; one that missed it replays it.
    _sock, later = citizen(app, live)
    assert [p["id"] for p in later["snapshot"]["photos"]] == [body["id"]]
    assert len(stored_files(media_dir)) == 6
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "photo_post"))
    assert entry.user_id == people["host"].id and entry.session_id == live.id


def test_served_sizes_keep_the_phone_budget_and_come_with_our_own_type(app, client, live,
                                                                       people):
    body = upload(client, live, bearer(people["host"]), photo(3000, 2000)).get_json()["photo"]
    for size in body["sizes"]:
        served = fetch(client, size["url"])
        assert served.status_code == 200
        assert served.mimetype == size["type"]
        assert "immutable" in served.headers["Cache-Control"]
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert len(served.data) == size["bytes"]
        assert Image.open(io.BytesIO(served.data)).format == {
            "image/webp": "WEBP", "image/jpeg": "JPEG"}[size["type"]]
    small = [s for s in body["sizes"] if s["width"] == 480]
    assert all(s["bytes"] <= 60_000 for s in small), small


def test_exif_and_location_are_stripped_and_the_orientation_applied(app, client, live, people):
    # Stored 1200 × 800 with "rotate 90° clockwise" (orientation 6) and a GPS position.
    raw = photo(1200, 800, orientation=6, gps=True)
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)
    body = upload(client, live, bearer(people["host"]), raw).get_json()["photo"]
    assert (body["width"], body["height"]) == (800, 1200)  # upright: portrait
    for size in body["sizes"]:
        image = Image.open(io.BytesIO(fetch(client, size["url"]).data))
        assert not image.getexif(), size
        assert "exif" not in image.info and "xmp" not in image.info
        # The red block stored top-left is top-right once turned upright.
        rgb = image.convert("RGB")
        red, _g, _b = rgb.getpixel((rgb.width - 5, 5))
        assert red > 200


@pytest.mark.parametrize("make_bad, message", [
    (lambda: b"%PDF-1.4 not an image at all", "not a photo"),
    (lambda: b"GIF89a" + b"\x00" * 40, "could not be read"),
    (lambda: photo(600, 400)[:2000], "could not be read"),  # truncated JPEG
    (lambda: png_bomb(), "too many pixels"),  # past Pillow's own MAX_IMAGE_PIXELS
    (lambda: png_bomb(10_000, 8_000), "10000 × 8000 pixels"),  # past PHOTO_MAX_PIXELS
    (lambda: b"", "Choose a photo"),
])
def test_a_bad_upload_is_refused_clearly_and_nothing_is_stored(app, client, live, people,
                                                               media_dir, make_bad, message):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    response = upload(client, live, bearer(people["host"]), make_bad(), name="photo.jpg")
    assert response.status_code in (400, 413), response.get_json()
    assert message in response.get_json()["message"]
    assert nothing_stored(media_dir)
    assert db.session.scalar(select(func.count()).select_from(SessionEvent).where(
        SessionEvent.type == "photo")) == 0


def test_an_upload_over_the_byte_limit_is_refused_before_it_is_read(app, client, live, people,
                                                                  media_dir):
    app.config["PHOTO_MAX_BYTES"] = 50_000
    response = upload(client, live, bearer(people["host"]), photo(600, 400) + b"\0" * 400_000)
    assert response.status_code == 413
    assert nothing_stored(media_dir)


def test_a_photo_within_the_request_limit_but_over_the_photo_limit_is_refused(
        app, client, live, people, media_dir):
    app.config["PHOTO_MAX_BYTES"] = 20_000
    response = upload(client, live, bearer(people["host"]), photo(1600, 1200))
    assert response.status_code == 413, response.status_code
    assert nothing_stored(media_dir)


def test_a_caption_too_long_is_refused(app, client, live, people, media_dir):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    response = upload(client, live, bearer(people["host"]), photo(600, 400), caption="长" * 501)
    assert response.status_code == 400
    assert response.get_json()["fields"]["caption"].startswith("A caption may have at most 500")
    assert nothing_stored(media_dir)


def test_someone_without_the_role_cannot_post(app, client, live, people, media_dir):
    response = upload(client, live, bearer(people["answerer"]), photo(600, 400))
    assert response.status_code == 403
    assert nothing_stored(media_dir)
    anonymous = upload(client, live, {}, photo(600, 400))
    assert anonymous.status_code == 401
    assert nothing_stored(media_dir)


def test_a_cancelled_session_takes_no_photos(app, client, make_session, people, media_dir):
    session = make_session(state=SessionState.CANCELLED, departments=[people["dept"]])
    response = upload(client, session, bearer(people["office"]), photo(600, 400))
    assert response.status_code == 409
    assert nothing_stored(media_dir)


def test_caption_edit_and_removal_reach_pages_and_are_audited(app, client, live, people,
                                                              media_dir):
    headers = bearer(people["host"])
    body = upload(client, live, headers, photo(1000, 700)).get_json()["photo"]
    sock, _ack = citizen(app, live)
    response = client.post(f"/api/v1/staff/sessions/{live.id}/actions/photo_caption",
                           headers=headers, json={"photo_id": body["id"], "caption": "新说明"})
    assert response.status_code == 200, response.get_json()
    response = client.post(f"/api/v1/staff/sessions/{live.id}/actions/photo_remove",
                           headers=headers, json={"photo_id": body["id"]})
    assert response.status_code == 200, response.get_json()
    events = [m["args"][0] for m in sock.get_received("/qa") if m["name"] == "event"]
    assert [(e["type"], e["data"].get("caption")) for e in events] == [
        ("photo", "新说明"), ("photo.removed", None)]
    assert fetch(client, body["sizes"][0]["url"]).status_code == 404
    assert stored_files(media_dir) == []
    actions = list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("photo_%")).order_by(AuditEntry.id)))
    assert actions == ["photo_post", "photo_caption", "photo_remove"]
    _sock, later = citizen(app, live)
    assert later["snapshot"]["photos"] == []


def test_the_console_hears_photos_and_can_edit_captions_over_the_socket(app, live, people):
    http = app.test_client()
    http.post("/login", data={"login": "host1", "password": PASSWORD})
    console = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    assert console.emit("join", {"session_id": live.id}, namespace="/moderation",
                        callback=True)["ok"]
    console.get_received("/moderation")
    response = http.post(f"/console/{live.slug}/studio/photos",
                         data={"photo": (io.BytesIO(photo(800, 600)), "p.png"),
                               "caption": "现场"},
                         headers={"Accept": "application/json"},
                         content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    photo_id = response.get_json()["photo"]["id"]
    heard = [m["args"][0] for m in console.get_received("/moderation") if m["name"] == "photo"]
    assert [p["id"] for p in heard] == [photo_id]
    ack = console.emit("photo_caption", {"photo_id": photo_id, "caption": "x" * 501},
                       namespace="/moderation", callback=True)
    assert ack["ok"] is False and ack["error"] == "invalid"
    ack = console.emit("photo_caption", {"photo_id": photo_id, "caption": "改后"},
                       namespace="/moderation", callback=True)
    assert ack["ok"], ack
    assert db.session.get(Photo, photo_id).caption == "改后"


def test_the_studio_page_posts_from_a_plain_form_and_shows_errors(app, client, auth, live,
                                                                  people, media_dir):
    auth.login(people["host"])
    page = client.get(f"/console/{live.slug}/studio")
    assert page.status_code == 200
    bad = client.post(f"/console/{live.slug}/studio/photos",
                      data={"photo": (io.BytesIO(b"hello"), "x.jpg"), "caption": ""},
                      content_type="multipart/form-data")
    assert bad.status_code == 400
    assert 'id="studio-error"' in bad.get_data(as_text=True)
    assert nothing_stored(media_dir)
    good = client.post(f"/console/{live.slug}/studio/photos",
                       data={"photo": (io.BytesIO(photo(800, 600)), "x.jpg"), "caption": "好"},
                       content_type="multipart/form-data")
    assert good.status_code == 302
    auth.logout()
    auth.login(people["answerer"])
    assert client.get(f"/console/{live.slug}/studio").status_code == 403


# Materials ----------------------------------------------------------------------------------


def test_materials_are_added_ordered_grouped_and_published(app, client, live, people,
                                                            media_dir):
    headers = bearer(people["office"])
    sock, _ack = citizen(app, live)
    url = f"/api/v1/staff/sessions/{live.id}/materials"
    note = client.post(url, headers=headers, json={"kind": "background", "title": "背景",
                                                   "body": "第一段\n第二段"})
    assert note.status_code == 201, note.get_json()
    doc = client.post(url, headers=headers, content_type="multipart/form-data",
                      data={"kind": "policy", "title": "稳外贸若干措施",
                            "document": (io.BytesIO(pdf(3)), "measures.pdf")})
    assert doc.status_code == 201, doc.get_json()
    assert doc.get_json()["material"]["document"]["pages"] == 3
    guest = client.post(url, headers=headers, content_type="multipart/form-data",
                        data={"kind": "guest", "title": "王处长", "subtitle": "外贸处处长",
                              "photo": (io.BytesIO(photo(900, 1200)), "wang.jpg")})
    assert guest.status_code == 201, guest.get_json()
    second = client.post(url, headers=headers, json={"kind": "guest", "title": "李科长"})
    events = [m["args"][0] for m in sock.get_received("/qa") if m["name"] == "event"]
    assert [e["type"] for e in events] == ["materials"] * 4
    latest = events[-1]["data"]["materials"]
    # Grouped: highlights, guests, background, policy; in order within a group.
    assert [(m["kind"], m["title"]) for m in latest] == [
        ("guest", "王处长"), ("guest", "李科长"), ("background", "背景"),
        ("policy", "稳外贸若干措施")]
    response = client.post(f"/api/v1/staff/sessions/{live.id}/actions/material_move",
                           headers=headers, json={"material_id": second.get_json()["material"]
                                                  ["id"], "direction": "up"})
    assert response.status_code == 200, response.get_json()
    media = client.get(f"/api/v1/sessions/{live.slug}/media").get_json()
    assert [m["title"] for m in media["materials"]][:2] == ["李科长", "王处长"]
    served = fetch(client, doc.get_json()["material"]["document"]["url"])
    assert served.mimetype == "application/pdf"
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.data == pdf(3)


@pytest.mark.parametrize("data, field", [
    ({"kind": "policy", "title": "假文件", "document": (io.BytesIO(b"<html>not a pdf</html>"),
                                                      "policy.pdf")}, "document"),
    ({"kind": "policy", "title": "坏文件", "document": (io.BytesIO(b"%PDF-1.4\n garbage"),
                                                      "policy.pdf")}, "document"),
    ({"kind": "policy", "title": "没有文件"}, "document"),
    ({"kind": "guest", "title": "", "body": ""}, "title"),
    ({"kind": "poster", "title": "未知"}, "kind"),
    ({"kind": "guest", "title": "王", "photo": (io.BytesIO(png_bomb()), "w.png")}, "photo"),
])
def test_bad_materials_are_refused_and_nothing_is_stored(app, client, live, people, media_dir,
                                                          data, field):
    response = client.post(f"/api/v1/staff/sessions/{live.id}/materials",
                           headers=bearer(people["office"]), data=data,
                           content_type="multipart/form-data")
    assert response.status_code in (400, 413), response.get_json()
    assert field in response.get_json()["fields"], response.get_json()
    assert not stored_files(media_dir)
    assert db.session.scalar(select(func.count()).select_from(Material)) == 0


def test_a_pdf_over_the_limit_is_refused(app, client, live, people, media_dir):
    app.config["PDF_MAX_BYTES"] = 1000
    response = client.post(f"/api/v1/staff/sessions/{live.id}/materials",
                           headers=bearer(people["office"]), content_type="multipart/form-data",
                           data={"kind": "policy", "title": "大文件",
                                 "document": (io.BytesIO(pdf(40)), "big.pdf")})
    assert response.status_code == 413
    assert not stored_files(media_dir)


@pytest.mark.parametrize("state", [SessionState.ANNOUNCED, SessionState.LIVE,
                                   SessionState.ENDED])
def test_materials_show_before_during_and_after(app, client, make_session, people, state):
    start = utcnow() - timedelta(hours=3) if state == SessionState.ENDED else None
    session = make_session(state=state, departments=[people["dept"]], start=start)
    headers = bearer(people["office"])
    added = client.post(f"/api/v1/staff/sessions/{session.id}/materials", headers=headers,
                        json={"kind": "highlight", "title": "看点一", "body": "出口退税提速"})
    assert added.status_code == 201, added.get_json()
    page = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "看点一" in page and "出口退税提速" in page
    if state == SessionState.ENDED:
        printed = client.get(f"/s/{session.slug}/print").get_data(as_text=True)
        assert "出口退税提速" in printed


# The stream address and the recording --------------------------------------------------------


@pytest.mark.parametrize("url", [
    "rtmp://live.example.cn/app/stream.m3u8", "javascript:alert(1)//x.m3u8",
    "https://live.example.cn/stream.mp4", "https://user:secret@live.example.cn/a.m3u8",
    "https://live.example.cn/a b.m3u8", "ftp://live.example.cn/a.m3u8", "https:///a.m3u8",
])
def test_a_stream_address_that_is_not_http_hls_is_refused(app, client, people, make_session,
                                                          url):
    session = make_session(state=SessionState.ANNOUNCED, departments=[people["dept"]])
    response = client.patch(f"/api/v1/staff/sessions/{session.id}",
                            headers=bearer(people["office"]),
                            json={"title": session.title, "department_ids": [people["dept"].id],
                                  "scheduled_start": session.scheduled_start.isoformat(),
                                  "scheduled_end": session.scheduled_end.isoformat(),
                                  "stream_url": url})
    assert response.status_code == 400, response.get_json()
    assert "stream_url" in response.get_json()["fields"]
    db.session.rollback()
    assert db.session.get(type(session), session.id).stream_url == ""


def test_a_stream_address_reaches_the_live_page_and_its_player(app, client, people,
                                                                make_session):
    session = make_session(state=SessionState.ANNOUNCED, departments=[people["dept"]])
    stream = "https://live.example.cn/hls/interview.m3u8"
    sock, _ack = citizen(app, session)
    response = client.patch(f"/api/v1/staff/sessions/{session.id}",
                            headers=bearer(people["office"]),
                            json={"title": session.title, "department_ids": [people["dept"].id],
                                  "scheduled_start": session.scheduled_start.isoformat(),
                                  "scheduled_end": session.scheduled_end.isoformat(),
                                  "stream_url": stream})
    assert response.status_code == 200, response.get_json()
    told = [m["args"][0] for m in sock.get_received("/qa") if m["name"] == "event"]
    assert told[-1]["type"] == "session" and told[-1]["data"]["stream_url"] == stream
    screen = client.get(f"/s/{session.slug}/screen")
    assert f'data-src="{stream}"' in screen.get_data(as_text=True)
    policy = screen.headers["Content-Security-Policy"]
    assert "media-src 'self' blob: https://live.example.cn" in policy
    assert "https://live.example.cn" in policy.split("connect-src")[1].split(";")[0]


def test_a_recording_is_attached_afterwards_for_the_transcript(app, client, people,
                                                                make_session, media_dir):
    session = make_session(state=SessionState.ENDED, departments=[people["dept"]],
                           start=utcnow() - timedelta(hours=3))
    headers = bearer(people["host"])
    url = f"/api/v1/staff/sessions/{session.id}/recording"
    refused = client.post(url, headers=headers, json={"url": "https://v.example.cn/a.avi"})
    assert refused.status_code == 400
    fake = client.post(url, headers=headers, content_type="multipart/form-data",
                       data={"recording": (io.BytesIO(b"not a video at all"), "r.mp4")})
    assert fake.status_code == 400
    assert not stored_files(media_dir)
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 1000
    done = client.post(url, headers=headers, content_type="multipart/form-data",
                       data={"recording": (io.BytesIO(mp4), "r.mp4")})
    assert done.status_code == 200, done.get_json()
    rec = done.get_json()["recording"]
    assert rec["kind"] == "video" and rec["type"] == "video/mp4"
    page = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert f'data-src="{rec["url"]}"' in page
    served = fetch(client, rec["url"])
    assert served.mimetype == "video/mp4" and served.data == mp4
    by_url = client.post(url, headers=headers,
                         json={"url": "https://v.example.cn/record/full.m3u8"})
    assert by_url.status_code == 200
    assert not stored_files(media_dir)  # the uploaded file made way for the address


def test_a_recording_waits_for_the_end(app, client, live, people):
    response = client.post(f"/api/v1/staff/sessions/{live.id}/recording",
                           headers=bearer(people["host"]),
                           json={"url": "https://v.example.cn/a.mp4"})
    assert response.status_code == 409


def test_the_live_page_renders_photos_small_first_and_lazy(app, client, live, people):
    upload(client, live, bearer(people["host"]), photo(2000, 1500), caption="现场图片说明")
    page = client.get(f"/s/{live.slug}").get_data(as_text=True)
    item = page[page.index('id="photo-list"'):]
    assert "现场图片说明" in item
    assert 'loading="lazy"' in item and 'type="image/webp"' in item
    assert re.search(r'srcset="/media/\S+\.webp 480w, /media/\S+\.webp 960w, '
                     r'/media/\S+\.webp 1920w"', item)
    assert 'sizes="(max-width: 640px) 240px, 600px"' in item


def test_the_office_form_refuses_a_stream_address_that_is_not_hls(app, client, auth,
                                                                 make_session, people):
    session = make_session(state=SessionState.ANNOUNCED, departments=[people["dept"]])
    auth.login(people["office"])
    form = {"title": session.title, "scheduled_start": "2031-05-20T09:30",
            "scheduled_end": "2031-05-20T11:30", "departments": [people["dept"].id],
            "moderation_mode": "pre", "stream_url": "https://v.example.cn/live.flv"}
    response = client.post(f"/office/sessions/{session.id}/edit", data=form)
    assert response.status_code == 400
    assert "m3u8" in response.get_data(as_text=True)
    form["stream_url"] = "https://v.example.cn/live/index.m3u8"
    assert client.post(f"/office/sessions/{session.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(session), session.id).stream_url == form["stream_url"]


def test_the_store_keeps_keys_inside_its_folder(tmp_path):
    store = FileStorage(tmp_path)
    for key in ("../etc/passwd", "/abs", "a/../../b", "A/Upper.jpg", "", "a b.jpg"):
        with pytest.raises(ValueError):
            store.path(key)
    store.put("s1/abc.jpg", io.BytesIO(b"data"), "image/jpeg")
    assert (tmp_path / "s1" / "abc.jpg").read_bytes() == b"data"
    with store.open("s1/abc.jpg") as stream:
        assert stream.read() == b"data"
    store.delete("s1/abc.jpg")
    assert store.open("s1/abc.jpg") is None
    store.delete("s1/abc.jpg")  # twice is fine


def test_the_storage_setting_is_checked_at_start(tmp_path):
    assert isinstance(storage_from_url("", tmp_path), FileStorage)
    assert storage_from_url(f"file://{tmp_path}/x", tmp_path).root == tmp_path / "x"
    for url in ("ftp://host/media", "s3://key:secret@bucket/prefix", "s3:///prefix"):
        with pytest.raises(ValueError):
            storage_from_url(url, tmp_path)
