"""The shapes sent to clients: what citizens may see, and what staff see besides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from qa_live.auth.models import User
from qa_live.live.media.payloads import recording
from qa_live.live.models import Answer, HostPost, Question, QuestionStatus
from qa_live.planning.models import PUBLIC_DUTIES, LiveSession


def iso(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 (UTC), or None."""
    return value.isoformat() if value else None


def public_answer(answer: Answer) -> dict[str, Any]:
    """An answer as every citizen sees it: the answering unit (and the guest who gave it, when a
    text editor typed it in their name), never the staff member who typed it."""
    return {
        "id": answer.id,
        "question_id": answer.question_id,
        "kind": answer.kind.value,
        "body": answer.body,
        "department": answer.department.name if answer.department else None,
        "guest": ({"name": answer.guest_name, "title": answer.guest_title}
                  if answer.guest_name else None),
        "created_at": iso(answer.created_at),
        "updated_at": iso(answer.updated_at),
    }


def public_question(question: Question) -> dict[str, Any]:
    """A published question as every citizen sees it (no contact details, no visitor id)."""
    return {
        "id": question.id,
        "text": question.text,
        "nickname": question.nickname or _("Citizen"),
        "source": question.source.value,
        "status": question.status.value,
        "department": question.department.name if question.department else None,
        "upvotes": question.upvotes,
        "pinned": question.pinned,
        "needs_follow_up": question.needs_follow_up,
        "created_at": iso(question.created_at),
        "published_at": iso(question.published_at),
        "answered_at": iso(question.answered_at),
        "answers": [public_answer(a) for a in question.answers],
    }


def is_public(question: Question) -> bool:
    """Citizens see approved and answered questions only."""
    return question.status in (QuestionStatus.APPROVED, QuestionStatus.ANSWERED)


def own_question(question: Question, status_label: str) -> dict[str, Any]:
    """A question as its asker sees it under "my questions", whatever its status."""
    data = public_question(question)
    data.update({
        "client_id": question.client_id,
        "original_text": question.original_text,
        "reject_reason": question.reject_reason.value if question.reject_reason else None,
        "status_label": status_label,
        "link": f"/q/{question.access_token}",
    })
    return data


def staff_question(question: Question, now: datetime) -> dict[str, Any]:
    """A question as the console shows it: everything but the full phone number."""
    data = public_question(question)
    claimed = question.claimed_by_id is not None and (
        question.claim_expires_at is not None and question.claim_expires_at > now
    )
    data.update({
        "session_id": question.session_id,
        "department_id": question.department_id,
        "original_text": question.original_text,
        "nickname": question.nickname,
        "phone_masked": question.masked_phone,
        "has_phone": bool(question.phone),
        "reject_reason": question.reject_reason.value if question.reject_reason else None,
        "merged_into_id": question.merged_into_id,
        "sensitive_hits": (text_hits := _words(question.sensitive_hits)),
        # Where the stored hits stand in the text and nickname as written (screening.py).
        "sensitive_spans": _spans(question.text, text_hits),
        "nickname_hits": (nickname_hits := _words(question.nickname_hits)),
        "nickname_spans": _spans(question.nickname, nickname_hits),
        "note": _note(question),
        "claimed_by": question.claimed_by_id if claimed else None,
        "claimed_by_name": _claimer_name(question) if claimed else None,
        "claim_expires_at": iso(question.claim_expires_at) if claimed else None,
        "takeovers": _takeovers(question),
        "rejected_at": iso(question.rejected_at),
    })
    for answer_data, answer in zip(data["answers"], question.answers, strict=True):
        answer_data["author_id"] = answer.author_id
        answer_data["author_name"] = _user_name(answer.author_id)  # who typed it
        answer_data["revisions"] = len(answer.revisions)
    return data


def _words(stored: str) -> list[str]:
    return [w for w in stored.split("\n") if w]


def _spans(text: str, words: list[str]) -> list[dict[str, Any]]:
    from qa_live.live.screening import locate

    return [hit.as_dict() for hit in locate(text, words)] if words and text else []


def _note(question: Question) -> dict[str, Any] | None:
    """The staff-only note (never in a public shape: public_question leaves it out)."""
    from qa_live.live.notes import note_json

    return note_json(question.note)


def _claimer_name(question: Question) -> str | None:
    return _user_name(question.claimed_by_id)


def _user_name(user_id: int | None) -> str | None:
    """A staff member's display name (from the session's identity map after the first)."""
    from qa_live.extensions import db

    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else None


def _takeovers(question: Question) -> list[dict[str, Any]]:
    """Who took the question over from whom (live/claims.py), oldest first; staff only."""
    return [{"from": row.from_user_id, "from_name": _user_name(row.from_user_id),
             "by": row.by_user_id, "by_name": _user_name(row.by_user_id),
             "at": iso(row.taken_at)} for row in question.takeovers]


def post(post_: HostPost) -> dict[str, Any]:
    """A host post (policy explanation or notice)."""
    return {
        "id": post_.id,
        "kind": post_.kind.value,
        "body": post_.body,
        "pinned": post_.pinned,
        "created_at": iso(post_.created_at),
        "updated_at": iso(post_.updated_at),
    }


def session_info(session: LiveSession) -> dict[str, Any]:
    """A session's public facts."""
    return {
        "id": session.id,
        "slug": session.slug,
        "title": session.title,
        "description": session.description,
        "state": session.state.value,
        "moderation_mode": session.moderation_mode.value,
        "reviewed": session.reviewed,
        "scheduled_start": iso(session.scheduled_start),
        "scheduled_end": iso(session.scheduled_end),
        "started_at": iso(session.started_at),
        "ended_at": iso(session.ended_at),
        # What the projector shows (qa_live/live/screen.py): {"kind", "id"}.
        "screen": {"kind": session.screen_kind, "id": session.screen_ref},
        "departments": [{"id": d.id, "name": d.name} for d in session.departments],
        "guests": [{"id": g.id, "name": g.name, "title": g.title} for g in session.guests],
        "on_duty": [
            {"name": row.user.display_name, "duty": row.duty.value} for row in session.staff
            if row.duty in PUBLIC_DUTIES
        ],
        # Video or audio live, and the recording once held (qa_live/live/media).
        "stream_url": session.stream_url or None,
        "recording": recording(session),
    }
