"""The studio's parts meeting each other (issue 15): the director puts a photo or a poll's
results on the projector, and a photo in a reviewed session waits for its reviewer.

Through the documented protocol: the /moderation and /qa sockets, the staff API and the pages.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qa_live import create_app
from qa_live.extensions import db
from qa_live.live import poll_results
from qa_live.live.media.models import MediaFile, Photo
from qa_live.live.review_models import ReviewItem
from qa_live.planning.models import LiveSession
from tests.conftest import PASSWORD, _isolate_requests, config_for
from tests.media_files import photo
from tests.studio_helpers import (  # noqa: F401 - studio is a fixture
    act,
    api_act,
    bearer,
    citizen,
    public,
    received,
    staff,
    studio,
)


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


def upload(app, session, login: str, caption: str = "嘉宾走进直播间"):
    return app.test_client().post(
        f"/api/v1/staff/sessions/{session.id}/photos", headers=bearer(login),
        data={"photo": (io.BytesIO(photo(1200, 800)), "photo.jpg"), "caption": caption},
        content_type="multipart/form-data")


def signed_in(app, login: str):
    http = app.test_client()
    http.post("/login", data={"login": login, "password": PASSWORD})
    return http


def _shown(app, session):
    """Which panel the projector view shows, as the server renders it (scripts off)."""
    page = app.test_client().get(f"/s/{session.slug}/screen").get_data(as_text=True)
    return re.search(r'id="screen-main" data-shown="(\w+)"', page).group(1), page


def _panel(page: str, panel_id: str) -> str:
    return re.search(rf'<section[^>]*id="{panel_id}"[^>]*>(.*?)</section>', page, re.S).group(1)


def _public_photos(app, session) -> list[dict]:
    return app.test_client().get(f"/api/v1/sessions/{session.slug}/media").get_json()["photos"]


# The director's photo and poll ------------------------------------------------------------------


def test_the_director_puts_a_photo_on_the_projector_and_its_removal_takes_it_off(app, studio):
    session = studio["open"]
    response = upload(app, session, "editor1", "王处长在直播间回答提问")
    assert response.status_code == 201, response.get_json()
    photo_id = response.get_json()["photo"]["id"]
    projector = citizen(app, session)
    projector.get_received("/qa")
    director = staff(app, "director1", session)
    ack = act(director, "screen", kind="photo", id=photo_id)
    assert ack == {"ok": True, "kind": "photo", "id": photo_id}, ack
    assert [e["data"] for e in public(projector, "screen")] == [{"kind": "photo", "id": photo_id}]
    shown, page = _shown(app, session)
    panel = _panel(page, "photo-panel")
    assert shown == "photo" and "王处长在直播间回答提问" in panel and "<img" in panel
    # Removed from the stream: off the projector too, in the same order for every page.
    assert api_act(app, session, "host1", "photo_remove", {"photo_id": photo_id}).status_code \
        == 200
    assert [e["type"] for e in public(projector)][-2:] == ["photo.removed", "screen"]
    assert _shown(app, session)[0] == "latest"
    assert act(director, "screen", kind="photo", id=photo_id)["error"] == "not_found"


def test_a_photo_or_poll_of_another_session_cannot_be_shown(app, studio):
    other = upload(app, studio["open"], "editor1").get_json()["photo"]["id"]
    host = staff(app, "host1", studio["open"])
    poll = act(host, "poll_open", question="另一场的投票", options=["是", "否"],
               multiple=False, results="live")
    assert poll["ok"], poll
    director = staff(app, "director1", studio["reviewed"])
    for data in ({"kind": "photo", "id": other}, {"kind": "poll", "id": poll["poll_id"]},
                 {"kind": "poll", "id": 999999}, {"kind": "photo", "id": 999999}):
        ack = act(director, "screen", **data)
        assert ack["ok"] is False and ack["error"] == "not_found" and ack["message"], (data, ack)
    for data in ({"kind": "poll"}, {"kind": "photo", "id": "1"}, {"kind": "video", "id": 1}):
        assert act(director, "screen", **data)["error"] == "invalid", data
    assert db.session.get(LiveSession, studio["reviewed"].id).screen_kind == "latest"


def test_a_polls_results_reach_the_projector_only_as_citizens_may_see_them(app, studio):
    session = studio["open"]
    host = staff(app, "host1", session)
    opened = act(host, "poll_open", question="您支持延长政策期限吗？", options=["支持", "反对"],
                 multiple=False, results="closed")
    assert opened["ok"], opened
    poll_id, (yes, _no) = opened["poll_id"], opened["option_ids"]
    phone = citizen(app, session)
    assert phone.emit("poll_answer", {"poll_id": poll_id, "option_ids": [yes]}, namespace="/qa",
                      callback=True)["ok"]
    poll_results.flush_poll_results()
    # Through the API, like a director's tablet without the socket.
    response = api_act(app, session, "director1", "screen", {"kind": "poll", "id": poll_id})
    assert response.status_code == 200, response.get_json()
    shown, page = _shown(app, session)
    panel = _panel(page, "poll-panel")
    assert shown == "poll" and "您支持延长政策期限吗？" in panel
    assert 'class="poll-count"' not in panel and "投票结束后公布结果" in panel
    assert act(host, "poll_close", poll_id=poll_id)["ok"]
    shown, page = _shown(app, session)
    panel = _panel(page, "poll-panel")
    assert shown == "poll" and re.search(r'class="poll-count">1<', panel)


def test_a_poll_with_live_results_shows_its_counts_while_open(app, studio):
    session = studio["open"]
    host = staff(app, "host1", session)
    opened = act(host, "poll_open", question="哪项措施最有用？", options=["减税", "补贴"],
                 multiple=False, results="live")
    phone = citizen(app, session)
    assert phone.emit("poll_answer", {"poll_id": opened["poll_id"],
                                      "option_ids": [opened["option_ids"][1]]},
                      namespace="/qa", callback=True)["ok"]
    poll_results.flush_poll_results()
    assert act(staff(app, "director1", session), "screen", kind="poll",
               id=opened["poll_id"])["ok"]
    panel = _panel(_shown(app, session)[1], "poll-panel")
    assert "补贴" in panel and re.search(r'class="poll-count">1<', panel)


# Photos under review --------------------------------------------------------------------------


def _pending_files():
    db.session.rollback()
    return list(db.session.scalars(select(MediaFile).where(MediaFile.variant == "pending")))


def test_a_photo_in_a_reviewed_session_waits_for_the_reviewer(app, studio):
    session = studio["reviewed"]
    phone = citizen(app, session)
    phone.get_received("/qa")
    reviewer = staff(app, "reviewer1", session)
    reviewer.get_received("/moderation")
    response = upload(app, session, "editor1", "签约仪式现场")
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["photo"] is None and body["review"]["kind"] == "photo"
    assert body["review"]["state"] == "pending" and body["review"]["body"] == "签约仪式现场"
    item_id = body["review"]["id"]
    # Nothing public: no photo row, no event, no photo on the page or in the API.
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0
    assert public(phone) == []
    assert _public_photos(app, session) == []
    assert "签约仪式现场" not in app.test_client().get(f"/s/{session.slug}").get_data(as_text=True)
    # The reviewer sees it in the queue, with a preview only staff of the session may load.
    queued = received(reviewer, "review")
    assert [i["id"] for i in queued] == [item_id]
    preview = queued[0]["fields"]["preview"]
    assert app.test_client().get(preview).status_code == 404
    assert signed_in(app, "ans_other").get(preview).status_code == 404
    seen = signed_in(app, "reviewer1").get(preview)
    assert seen.status_code == 200 and seen.headers["Content-Type"] == "image/jpeg"
    assert "no-store" in seen.headers["Cache-Control"]
    seen.close()
    # Approved: published now, in the stream of every page, its files public.
    ack = act(reviewer, "review_approve", item_id=item_id)
    assert ack["ok"] and ack["item"]["state"] == "approved", ack
    photos = _public_photos(app, session)
    assert [p["caption"] for p in photos] == ["签约仪式现场"]
    assert photos[0]["id"] == ack["item"]["target_id"]
    assert [e["type"] for e in public(phone)] == ["photo"]
    assert _pending_files() == []
    served = app.test_client().get(preview)
    assert served.status_code == 200 and "immutable" in served.headers["Cache-Control"]
    served.close()


def test_a_returned_photo_leaves_no_public_trace_and_comes_back_changed(app, studio):
    session = studio["reviewed"]
    phone = citizen(app, session)
    phone.get_received("/qa")
    item_id = upload(app, session, "editor1", "错误的说明").get_json()["review"]["id"]
    reviewer = staff(app, "reviewer1", session)
    ack = act(reviewer, "review_return", item_id=item_id, reason="说明写错了单位名称")
    assert ack["ok"] and ack["item"]["state"] == "returned", ack
    preview = ack["item"]["fields"]["preview"]
    assert app.test_client().get(preview).status_code == 404
    assert _public_photos(app, session) == [] and public(phone) == []
    editor = staff(app, "editor1", session)
    again = act(editor, "review_resubmit", item_id=item_id, body="x" * 5000)
    assert again["ok"] is False and again["error"] == "invalid", again
    again = act(editor, "review_resubmit", item_id=item_id, body="商务局与企业签约现场")
    assert again["ok"] and again["item"]["state"] == "pending", again
    assert act(reviewer, "review_approve", item_id=item_id)["ok"]
    assert [p["caption"] for p in _public_photos(app, session)] == ["商务局与企业签约现场"]


def test_a_photo_is_sent_for_review_only_with_its_upload(app, studio):
    session = studio["reviewed"]
    editor = staff(app, "editor1", session)
    ack = act(editor, "submit_review", kind="photo", body="说明", upload="photo.jpg")
    assert ack["ok"] is False and ack["error"] == "invalid" and ack["message"], ack
    # Someone who may not post photos stores nothing, reviewed or not.
    response = upload(app, session, "ans1")
    assert response.status_code == 403, response.get_json()
    assert db.session.scalar(select(func.count()).select_from(ReviewItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(MediaFile)) == 0


def test_the_studio_page_and_console_form_send_the_photo_for_review(app, studio):
    session = studio["reviewed"]
    http = signed_in(app, "editor1")
    page = http.get(f"/console/{session.slug}/studio").get_data(as_text=True)
    assert "照片送审" in page  # the button says what will happen
    assert "照片送审" not in http.get(f"/console/{studio['open'].slug}/studio").get_data(
        as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    data = {"photo": (io.BytesIO(photo(800, 600)), "p.jpg"), "caption": "现场照片"}
    if token:
        data["csrf_token"] = token.group(1)
    response = http.post(f"/console/{session.slug}/studio/photos", data=data,
                         headers={"Accept": "application/json"},
                         content_type="multipart/form-data")
    body = response.get_json()
    assert response.status_code == 200 and body["ok"] and body["item"]["kind"] == "photo", body
    assert body["message"] and "photo" not in body
    assert _public_photos(app, session) == []


def test_posting_directly_in_a_reviewed_session_is_refused_and_stores_nothing(app, studio,
                                                                              media_dir):
    from qa_live.auth.services import find_user_by_login
    from qa_live.live.media import photos
    from qa_live.live.media.images import MediaRefused

    with pytest.raises(MediaRefused) as refused:
        photos.post_photo(studio["reviewed"], find_user_by_login("editor1"),
                          io.BytesIO(photo(800, 600)), "直接发布")
    assert refused.value.code == "review_required"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MediaFile)) == 0
    assert not media_dir.exists() or not [p for p in media_dir.rglob("*") if p.is_file()]
