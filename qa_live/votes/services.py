"""Public votes before sessions: the December vote on next year's departments, and a session's
theme voted from the department's candidates. They flush; callers commit.

The office opens and closes votes and acts on their results: drafting next year's sessions for
the departments voted to the top, or making the winning theme the session's title (through the
planning operations, which keep their own rules and audit). Citizens vote once each (the
signed visitor cookie; the per-address limit is the pages' and the API's, docs/security.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.audit import services as audit
from qa_live.auth.models import Role, User
from qa_live.core.timeutil import from_local, local_year, utcnow
from qa_live.extensions import db
from qa_live.planning import services as planning
from qa_live.planning.models import Department, LiveSession, SessionState
from qa_live.votes import ballots
from qa_live.votes.ballots import BallotError
from qa_live.votes.models import Poll, PollKind, PollState, ResultsShown

PUBLIC_KINDS = (PollKind.DEPARTMENTS, PollKind.THEME)
#: Sessions a theme vote may be held for: not yet live.
THEME_STATES = frozenset({SessionState.DRAFT, SessionState.ANNOUNCED})
#: Drafted sessions: the 15th of successive months, 10:00–11:30 local time.
DRAFT_DAY, DRAFT_START, DRAFT_MINUTES = 15, time(10, 0), 90


# Who may -----------------------------------------------------------------------------------------


def is_office(user: User | None) -> bool:
    """The office: opens, closes and acts on public votes."""
    return bool(user is not None and user.active and user.has_role(Role.OFFICE))


def may_propose_themes(user: User | None, session: LiveSession) -> bool:
    """The office, or staff of a department going online in the session."""
    if is_office(user):
        return True
    return bool(user is not None and user.active and user.has_role(Role.ANSWERER, Role.HOST)
                and {d.id for d in session.departments} & user.department_ids)


def _require_office(user: User | None) -> None:
    if not is_office(user):
        raise BallotError("forbidden", _("Only the office may do this."))


def _check_closes_at(closes_at: datetime | None, now: datetime,
                     latest: datetime | None = None) -> None:
    if closes_at is None:
        return
    if closes_at <= now:
        raise BallotError("invalid", _("The closing time must be in the future."), "closes_at")
    if latest is not None and closes_at > latest:
        raise BallotError("invalid", _("The vote must close before the session starts."),
                          "closes_at")


# Making votes ------------------------------------------------------------------------------------


def create_departments_vote(year: int, question: str, department_ids: Sequence[int],
                            max_choices: int, actor: User | None, description: str = "",
                            closes_at: datetime | None = None,
                            now: datetime | None = None) -> Poll:
    """Prepare the vote on which departments go online in `year` (a draft until opened).

    No departments named: every active department is a candidate.
    """
    _require_office(actor)
    now = now or utcnow()
    if isinstance(year, bool) or not isinstance(year, int) or not (
            local_year(now) <= year <= local_year(now) + 2):
        raise BallotError("invalid", _("Choose this year or one of the next two."), "year")
    query = select(Department).where(Department.active.is_(True)).order_by(Department.name)
    if department_ids:
        query = select(Department).where(Department.id.in_(set(department_ids))).order_by(
            Department.name)
    departments = list(db.session.scalars(query))
    if department_ids and len(departments) != len(set(department_ids)):
        raise BallotError("invalid", _("Unknown department."), "department_ids")
    labels = ballots.check_labels([d.name for d in departments], "department_ids",
                                  count=ballots.DEPARTMENT_OPTIONS)
    _check_closes_at(closes_at, now)
    poll = Poll(kind=PollKind.DEPARTMENTS, plan_year=year,
                question=ballots.check_question(question),
                description=_check_description(description), closes_at=closes_at,
                max_choices=ballots.check_max_choices(max_choices, len(labels)),
                results_shown=ResultsShown.CLOSED, created_at=now,
                created_by_id=actor.id if actor else None)
    ballots.new_options(poll, labels, [d.id for d in departments])
    db.session.add(poll)
    db.session.flush()
    audit.record("vote_create", user=actor, target_type="poll", target_id=poll.id,
                 detail={"kind": poll.kind.value, "year": year})
    return poll


def create_theme_vote(session: LiveSession, question: str, themes: object,
                      actor: User | None, description: str = "",
                      closes_at: datetime | None = None, now: datetime | None = None) -> Poll:
    """The department's candidate themes for a session, for citizens to vote (a draft).

    It closes at the session's start unless an earlier time is given.
    """
    if not may_propose_themes(actor, session):
        raise BallotError("forbidden", _("Only the office or the session's departments may "
                                         "propose its themes."))
    if session.state not in THEME_STATES:
        raise BallotError("invalid", _("Themes are voted only before the session goes live."))
    now = now or utcnow()
    labels = ballots.check_labels(themes, "themes", length=planning.TITLE_LENGTH)
    _check_closes_at(closes_at, now, session.scheduled_start)
    if session.scheduled_start <= now:
        raise BallotError("invalid", _("The session's start has passed."))
    poll = Poll(kind=PollKind.THEME, session_id=session.id,
                question=ballots.check_question(question),
                description=_check_description(description),
                closes_at=closes_at or session.scheduled_start, max_choices=1,
                results_shown=ResultsShown.CLOSED, created_at=now,
                created_by_id=actor.id if actor else None)
    ballots.new_options(poll, labels)
    db.session.add(poll)
    db.session.flush()
    audit.record("vote_create", user=actor, target_type="poll", target_id=poll.id,
                 session_id=session.id, detail={"kind": poll.kind.value})
    return poll


def _check_description(text: object) -> str:
    if not isinstance(text, str) or len(text) > 2000:
        raise BallotError("invalid", _("The explanation may have at most %(n)d characters.",
                                       n=2000), "description")
    return text.strip()


# Opening and closing -----------------------------------------------------------------------------


def open_vote(poll: Poll, actor: User | None, now: datetime | None = None) -> Poll:
    """Start taking votes (office)."""
    _require_office(actor)
    now = now or utcnow()
    if poll.closes_at is not None and poll.closes_at <= now:
        raise BallotError("invalid", _("Its closing time has passed; set a new one first."),
                          "closes_at")
    ballots.change_state(poll, PollState.OPEN, now)
    audit.record("vote_open", user=actor, target_type="poll", target_id=poll.id,
                 session_id=poll.session_id)
    return poll


def close_vote(poll: Poll, actor: User | None, now: datetime | None = None) -> Poll:
    """Stop taking votes (office); the results become public."""
    _require_office(actor)
    ballots.change_state(poll, PollState.CLOSED, now)
    audit.record("vote_close", user=actor, target_type="poll", target_id=poll.id,
                 session_id=poll.session_id)
    return poll


def cast_vote(poll: Poll, visitor_id: str, option_ids: Sequence[int],
              now: datetime | None = None) -> None:
    """A citizen's vote: once, while the vote is open; never changed afterwards."""
    if poll.kind not in PUBLIC_KINDS:
        raise BallotError("not_found", _("There is no such vote."))
    ballots.cast(poll, visitor_id, option_ids, may_change=False, now=now)


# Acting on the results ---------------------------------------------------------------------------


def _require_closed(poll: Poll, now: datetime) -> None:
    if not poll.is_closed(now):
        raise BallotError("not_closed", _("Close the vote first: its results are not final."))
    if poll.applied_at is not None:
        raise BallotError("applied", _("This result has been acted on already."))


def draft_plan(poll: Poll, top: int, actor: User | None,
               now: datetime | None = None) -> list[LiveSession]:
    """Draft next year's sessions for the `top` departments by votes (office).

    One draft session per department that got a vote, most votes first, on the 15th of
    successive months from January; the office then edits and announces them as usual.
    """
    _require_office(actor)
    now = now or utcnow()
    if poll.kind != PollKind.DEPARTMENTS:
        raise BallotError("invalid", _("Only a departments vote drafts a plan."))
    _require_closed(poll, now)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 12:
        raise BallotError("invalid", _("Draft 1 to 12 sessions."), "top")
    found = ballots.results(poll)
    chosen = [(option, n) for option, n in ballots.ranked(poll, found)
              if n > 0 and option.department_id is not None][:top]
    if not chosen:
        raise BallotError("invalid", _("No department got a vote."))
    year = poll.plan_year or local_year(now) + 1
    sessions = []
    for month, (option, _n) in enumerate(chosen, start=1):
        start = from_local(datetime.combine(datetime(year, month, DRAFT_DAY).date(),
                                            DRAFT_START))
        draft = planning.SessionDraft(
            title=_("%(department)s online Q&A session", department=option.label)[:120],
            description="", scheduled_start=start,
            scheduled_end=start + timedelta(minutes=DRAFT_MINUTES),
            department_ids=[option.department_id])  # type: ignore[list-item]
        sessions.append(planning.create_session(draft, actor))
    poll.applied_at = now
    db.session.flush()
    audit.record("vote_draft_plan", user=actor, target_type="poll", target_id=poll.id,
                 detail={"sessions": [s.id for s in sessions]})
    return sessions


def apply_theme(poll: Poll, actor: User | None, option_id: int | None = None,
                now: datetime | None = None) -> LiveSession:
    """Make the winning theme (or, after a tie, the chosen one of the tied) the title (office)."""
    _require_office(actor)
    now = now or utcnow()
    if poll.kind != PollKind.THEME or poll.session_id is None:
        raise BallotError("invalid", _("Only a theme vote sets a session's title."))
    _require_closed(poll, now)
    ranking = ballots.ranked(poll, ballots.results(poll))
    best = ranking[0][1]
    if best == 0:
        raise BallotError("invalid", _("No theme got a vote."))
    leaders = [option for option, n in ranking if n == best]
    if option_id is None:
        if len(leaders) > 1:
            raise BallotError("invalid", _("Themes tied for the most votes: choose one of them."),
                              "option_id")
        winner = leaders[0]
    else:
        winner = next((o for o in leaders if o.id == option_id), None)  # type: ignore[assignment]
        if winner is None:
            raise BallotError("invalid", _("Choose one of the themes with the most votes."),
                              "option_id")
    session = db.session.get(LiveSession, poll.session_id)
    assert session is not None  # the foreign key cascades
    planning.update_session(session, _same_draft(session, winner.label), actor=actor)
    poll.applied_at = now
    db.session.flush()
    audit.record("vote_apply_theme", user=actor, target_type="poll", target_id=poll.id,
                 session_id=session.id, detail={"title": session.title})
    return session


def _same_draft(session: LiveSession, title: str) -> planning.SessionDraft:
    """The session as it is, with a new title (planning checks and records the change)."""
    return planning.SessionDraft(
        title=title, description=session.description,
        scheduled_start=session.scheduled_start, scheduled_end=session.scheduled_end,
        department_ids=[d.id for d in session.departments],
        host_ids=[u.id for u in session.hosts], answerer_ids=[u.id for u in session.answerers],
        guests=[(g.name, g.title) for g in session.guests],
        moderation_mode=session.moderation_mode,
        precollect_opens_at=session.precollect_opens_at,
        precollect_closes_at=session.precollect_closes_at, slug=session.slug)


# Reading -----------------------------------------------------------------------------------------


def public_vote(poll_id: int) -> Poll | None:
    """A vote citizens may see: opened (or closed), not a live poll, of a public session."""
    poll = db.session.get(Poll, poll_id)
    if poll is None or poll.kind not in PUBLIC_KINDS or poll.state == PollState.DRAFT:
        return None
    if poll.session_id is not None:
        session = db.session.get(LiveSession, poll.session_id)
        if session is None or not session.is_public:
            return None
    return poll


def public_votes(year: int | None = None) -> list[Poll]:
    """Opened and closed public votes, newest first (of a plan year, or of a session's year)."""
    query = (select(Poll).where(Poll.kind.in_(PUBLIC_KINDS), Poll.state != PollState.DRAFT)
             .order_by(Poll.opened_at.desc(), Poll.id.desc()))
    polls = [p for p in db.session.scalars(query) if public_vote(p.id) is not None]
    if year is None:
        return polls
    return [p for p in polls if _year_of(p) == year]


def staff_votes() -> list[Poll]:
    """Every public vote, drafts included, newest first (the office's list)."""
    return list(db.session.scalars(
        select(Poll).where(Poll.kind.in_(PUBLIC_KINDS)).order_by(Poll.id.desc())))


def theme_vote_of(session: LiveSession) -> Poll | None:
    """The latest opened theme vote of a session, if any."""
    return db.session.scalar(
        select(Poll).where(Poll.kind == PollKind.THEME, Poll.session_id == session.id,
                           Poll.state != PollState.DRAFT).order_by(Poll.id.desc()).limit(1))


def _year_of(poll: Poll) -> int | None:
    if poll.plan_year is not None:
        return poll.plan_year
    session = db.session.get(LiveSession, poll.session_id) if poll.session_id else None
    return session.plan_year if session else None
