"""The read models of a session: what a citizen's page and a staff console show.

The /qa and /moderation sockets, the pages and the JSON API all read their snapshots here, so
a page rendered without the script, a socket's join and an API client see the same thing.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Row, Table, bindparam, exists, or_, select
from sqlalchemy.orm import selectinload

from qa_live.auth.models import Role, User
from qa_live.core.i18n import select_locale
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import access, counters, kept_votes, polls, realtime, review, serialize
from qa_live.live import services as live
from qa_live.live.media import payloads as media
from qa_live.live.models import HostPost, Question, QuestionStatus
from qa_live.live.poll_results import recent_results
from qa_live.live.socket_common import EventError
from qa_live.planning.models import Duty, LiveSession, SessionState
from qa_live.transport.packets import Plain, Prepared, PreparedList
from qa_live.votes.models import PollState


def get_live_session_or_error(slug: object) -> LiveSession:
    """A public session by slug, or an "unknown session" error."""
    head = session_head(slug)
    session = db.session.get(LiveSession, head.id)
    if session is None:
        raise EventError("not_found", _("There is no such session."))
    return session


_sessions: Table = LiveSession.__table__  # type: ignore[assignment]
_questions: Table = Question.__table__  # type: ignore[assignment]
# The statements of a join, built once: Core on the connection, no ORM layer, cached compiled.
_HEAD = select(_sessions.c.id, _sessions.c.state, _sessions.c.last_seq).where(
    _sessions.c.slug == bindparam("slug"))
# The head and whether the visitor asked anything here (any status): the index on
# (session_id, visitor_id) answers the second part.
_HEAD_AND_OWN = select(
    _sessions.c.id, _sessions.c.state, _sessions.c.last_seq,
    exists().where(_questions.c.session_id == _sessions.c.id,
                   _questions.c.visitor_id == bindparam("visitor")).label("own"),
).where(_sessions.c.slug == bindparam("slug"))
_is_public = or_(*(_questions.c.status == status for status in (QuestionStatus.APPROVED,
                                                                 QuestionStatus.ANSWERED)))
_VOTES = select(_questions.c.id, _questions.c.upvotes).where(
    _questions.c.session_id == bindparam("session_id"), _is_public)
_VOTES_AND_OWN = select(
    _questions.c.id, _questions.c.upvotes, _is_public.label("public"),
    (_questions.c.visitor_id == bindparam("visitor")).label("own"),
).where(_questions.c.session_id == bindparam("session_id"),
        or_(_is_public, _questions.c.visitor_id == bindparam("visitor")))


def session_head(slug: object, visitor_id: str | None = None) -> Row[Any, Any, Any]:
    """(id, state, last_seq) of a public session by slug, in one small query; or not found.

    With ``visitor_id``, the same query also tells whether that visitor asked anything in the
    session (``own``: a join then needs no other query to know whether to list their questions).
    Public: anything past draft (LiveSession.is_public).
    """
    if not isinstance(slug, str) or not 0 < len(slug) <= 64:
        raise EventError("not_found", _("There is no such session."))
    connection = db.session.connection()
    if visitor_id is None:
        head = connection.execute(_HEAD, {"slug": slug}).one_or_none()
    else:
        head = connection.execute(_HEAD_AND_OWN, {"slug": slug,
                                                  "visitor": visitor_id}).one_or_none()
    if head is None or head.state == SessionState.DRAFT:
        raise EventError("not_found", _("There is no such session."))
    return head


# The public part of a session's snapshot by (session id, sequence number, locale). Every public
# change writes a new sequence number, so an entry never goes stale; votes, which change without
# one, are laid over from the database on every use. Thousands of pages joining at the start of a
# session then cost two small queries each instead of rebuilding the stream.
# The cache lives on the app (realtime.AppState.public_parts: one per database).
PUBLIC_STATUSES = (QuestionStatus.APPROVED, QuestionStatus.ANSWERED)


def _public_part(session_id: int, seq: int) -> dict[str, Any]:
    kept = realtime.of_app()
    key = (session_id, seq, select_locale())  # what get_locale() parses, without parsing it
    with kept.public_parts_lock:
        part = kept.public_parts.get(key)
        if part is not None:
            kept.public_parts.move_to_end(key)
            return part
    # Read after the sequence number: what is read is at least as new as `seq`, and applying
    # an event twice changes nothing, so a page that replays from `seq` ends up exact.
    session = db.session.get(LiveSession, session_id)
    if session is None:
        raise EventError("not_found", _("There is no such session."))
    questions = db.session.scalars(
        select(Question)
        .where(Question.session_id == session_id, Question.status.in_(PUBLIC_STATUSES))
        .order_by(Question.published_at, Question.id)
    ).all()
    posts = db.session.scalars(
        select(HostPost).where(HostPost.session_id == session_id, HostPost.removed.is_(False))
        .order_by(HostPost.id)
    ).all()
    # Prepared: JSON only and never changed, so the packet class neither walks it looking for
    # bytes nor encodes it again for every page joining (qa_live/transport/packets.py).
    part = {
        "session": Prepared(serialize.session_info(session)),
        "questions": [Prepared(serialize.public_question(q)) for q in questions],
        # Lists: each encoded once as a whole too (PreparedList), spliced into every join's ack.
        "posts": PreparedList(Prepared(serialize.post(p)) for p in posts),
        "photos": PreparedList(Prepared(p) for p in media.public_photos(session_id)),
        "materials": PreparedList(Prepared(m) for m in media.public_materials(session_id)),
        # Definitions, and final results once closed; live results are laid over on use.
        "polls": PreparedList(Prepared(p) for p in polls.public_polls(session_id)),
    }
    with kept.public_parts_lock:
        kept.public_parts[key] = part
        while len(kept.public_parts) > realtime.PUBLIC_PARTS_KEPT:
            kept.public_parts.popitem(last=False)
    return part


def snapshot(session: LiveSession, visitor_id: str | None = None) -> dict[str, Any]:
    """Everything a citizen's page shows, as of the session's current sequence number."""
    seq = db.session.scalar(select(LiveSession.last_seq).where(LiveSession.id == session.id))
    return snapshot_at(session.id, seq or 0, visitor_id, counters.counts(session.id))


def snapshot_at(session_id: int, seq: int, visitor_id: str | None,
                counts: dict[str, Any], has_own: bool | None = None) -> dict[str, Any]:
    """The citizen's snapshot at a sequence number the caller has just read (the join's path).

    With ``has_own`` (the join read it with the head: session_head) no query is made here but
    the visitor's own questions when there are some: the questions with their vote counts come
    kept and encoded once (kept_votes.py). Without it, the counts and ``has_own`` are read.
    """
    part = _public_part(session_id, seq)
    questions: list[dict[str, Any]]
    if has_own is None:
        votes, has_own = upvotes_and_own(session_id, visitor_id)
        questions = []
        for q in part["questions"]:  # the kept dicts are shared: copy only what changes
            n = votes.get(q["id"], q["upvotes"])
            questions.append(q if n == q["upvotes"] else Plain(q, upvotes=n))
    else:
        questions = kept_votes.questions_with_votes(session_id, seq, part["questions"])
    data: dict[str, Any] = {
        "seq": seq,
        "session": part["session"],
        "questions": questions,
        "posts": part["posts"],
        "photos": part["photos"],
        "materials": part["materials"],
        "polls": _with_results(part),
        "counts": counts,
    }
    if visitor_id is not None:
        data["mine"] = my_questions_by_id(session_id, visitor_id) if has_own else []
    return data


def _with_results(part: dict[str, Any]) -> list[dict[str, Any]]:
    """The part's polls, the open ones shown live with their results of the last moment."""
    if not any(p["state"] == PollState.OPEN.value for p in part["polls"]):
        return part["polls"]
    found = recent_results(part["polls"])
    return [Plain(p, results=found[p["id"]]) if p["id"] in found else p for p in part["polls"]]


def open_poll_results(session_id: int, seq: int) -> list[dict[str, Any]]:
    """The counts of the session's open polls shown live, for a page replaying from a seq.

    A replay brings the polls' events but not their counts (those travel as summaries); read
    from the kept public part, this costs nothing when no poll is open.
    """
    part = _public_part(session_id, seq)
    if not any(p["state"] == PollState.OPEN.value for p in part["polls"]):
        return []
    return list(recent_results(part["polls"]).values())


def my_questions(session: LiveSession, visitor_id: str) -> list[dict[str, Any]]:
    """The visitor's own questions with their status."""
    return [serialize.own_question(q, live.status_label(q))
            for q in live.questions_of_visitor(session, visitor_id)]


def my_questions_by_id(session_id: int, visitor_id: str) -> list[dict[str, Any]]:
    """`my_questions` by the session's id."""
    session = db.session.get(LiveSession, session_id)
    return my_questions(session, visitor_id) if session is not None else []


def upvotes_and_own(session_id: int, visitor_id: str | None) -> tuple[dict[int, int], bool]:
    """The published questions' votes, and whether the visitor asked anything, in one query."""
    connection = db.session.connection()
    if visitor_id is None:
        rows = connection.execute(_VOTES, {"session_id": session_id})
        return {id_: upvotes for id_, upvotes in rows}, False
    votes: dict[int, int] = {}
    has_own = False
    for id_, upvotes, public, own in connection.execute(
            _VOTES_AND_OWN, {"session_id": session_id, "visitor": visitor_id}):
        if public:
            votes[id_] = upvotes
        if own:
            has_own = True
    return votes, has_own


# The staff console --------------------------------------------------------------------------


def console_snapshot(session: LiveSession, user: User) -> dict[str, Any]:
    """Every question the user may see in the session, with posts and counters."""
    now = utcnow()
    query = select(Question).where(Question.session_id == session.id)
    departments = access.staff_departments(user, session)
    if departments is not None:
        real = [d for d in departments if d]
        query = query.where(Question.department_id.in_(real) | Question.department_id.is_(None))
    questions = db.session.scalars(query.order_by(Question.created_at, Question.id)
                                   .options(selectinload(Question.note),
                                            selectinload(Question.takeovers))).all()
    posts = db.session.scalars(
        select(HostPost).where(HostPost.session_id == session.id, HostPost.removed.is_(False))
        .order_by(HostPost.id)
    ).all()
    return {
        "session": serialize.session_info(session),
        "questions": [serialize.staff_question(q, now) for q in questions],
        "posts": [serialize.post(p) for p in posts],
        "photos": media.public_photos(session.id),
        "materials": media.public_materials(session.id),
        "polls": polls.staff_polls(session.id),
        "counts": counters.counts(session.id, staff=True),
        # Answers and posts of a reviewed session waiting for a reviewer, or sent back.
        "review_items": review.open_items(session),
    }


def console_rights(user: User, session: LiveSession) -> dict[str, Any]:
    """What the console offers the user in this session (the server checks each act again)."""
    return {
        "can_moderate": access.can_moderate(user, session),
        "can_answer": access.sees_all(user) or user.has_role(Role.ANSWERER)
        or access.works_as(user, session, Duty.EDITOR),
        "can_type_for_guests": access.can_type_for_guests(user, session),
        # A text editor (not an answerer, host or office) answers only in a guest's name.
        "guest_required": access.works_as(user, session, Duty.EDITOR)
        and not (access.sees_all(user) or user.has_role(Role.ANSWERER)),
        "can_review": access.can_review(user, session),
        "can_direct": access.can_direct(user, session),
        "duties": sorted({row.duty.value for row in session.staff if row.user_id == user.id}),
    }
