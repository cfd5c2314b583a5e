"""Building a year of sessions from raw events, through the same services the app uses.

The statistics tests never insert totals: they plan sessions, take them live, open and close
visits, ask questions and moderate them, then read the figures back.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from qa_live.auth import services as auth_services
from qa_live.auth.models import Role, User
from qa_live.extensions import db
from qa_live.live import intake, moderation, visits
from qa_live.live.models import Question, QuestionSource
from qa_live.live.validation import QuestionInput
from qa_live.planning import services as planning
from qa_live.planning.models import Department, LiveSession, SessionState
from tests.visit_helpers import leave_visit, open_visit

BEIJING = ZoneInfo("Asia/Shanghai")
_ids = itertools.count(1)


def beijing(year: int, month: int, day: int, hour: int = 9, minute: int = 30) -> datetime:
    """A moment given in Beijing time, as the aware UTC datetime the services take."""
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING).astimezone(UTC)


def office_user(login: str = "stats-office") -> User:
    """The office account that plans and moderates in these stories."""
    user = auth_services.find_user_by_login(login)
    if user is None:
        user = auth_services.create_user(login, "局办公室", "correct-horse-42", [Role.OFFICE], [])
    return user


def plan(title: str, start: datetime, departments: list[Department], actor: User,
         hours: float = 2, precollect: bool = True) -> LiveSession:
    """Plan and announce a session a week ahead (questions in advance open from then)."""
    draft = planning.SessionDraft(
        title=title, description="", scheduled_start=start,
        scheduled_end=start + timedelta(hours=hours), department_ids=[d.id for d in departments],
        precollect_opens_at=start - timedelta(days=7) if precollect else None,
        precollect_closes_at=start if precollect else None,
    )
    session = planning.create_session(draft, actor)
    session.created_at = start - timedelta(days=8)  # planned in the story's time, not today's
    planning.announce_session(session, start - timedelta(days=7))
    return session


def go_live(session: LiveSession, at: datetime | None = None) -> None:
    """Start the session (announced → live)."""
    planning.change_state(session, SessionState.LIVE, at or session.scheduled_start)


def end(session: LiveSession, at: datetime | None = None) -> None:
    """End the session and close its open visits, as ending it in the console does."""
    moment = at or session.scheduled_end
    planning.change_state(session, SessionState.ENDED, moment)
    visits.close_all_visits(session, moment)


def ask(session: LiveSession, at: datetime, text: str = "出口信用保险有没有保费补贴？怎么申请？",
        visitor: str | None = None, source: QuestionSource = QuestionSource.LIVE,
        phone: str | None = None, nickname: str = "") -> Question:
    """A citizen's question, stored by submit_question (a fresh visitor unless one is named)."""
    question, _new = intake.submit_question(
        session, visitor or f"stats-visitor-{next(_ids)}",
        QuestionInput(text=text, nickname=nickname, phone=phone, client_id=str(uuid.uuid4())),
        source, at,
    )
    return question


def answer(question: Question, actor: User, at: datetime,
           body: str = "感谢关注，答复如下。") -> None:
    """Approve (if pending) and answer a question live."""
    moderation.answer(question, actor, body, at)


def visit(session: LiveSession, visitor: str, at: datetime, minutes: float = 10) -> None:
    """A visitor's page joins at `at` and leaves `minutes` later."""
    visit_id = open_visit(session, visitor, at)
    leave_visit(visit_id, at + timedelta(minutes=minutes))


def commit() -> None:
    """Commit what the services flushed."""
    db.session.commit()
