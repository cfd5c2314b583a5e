"""The ballot rules every poll shares: its wording, its options, its state, one response per
visitor, and counting the results from the stored choices.

Public votes (services.py) and live polls (qa_live/live/polls.py) both go through these, so "a
choice of up to N options", "an option of this poll" and "closed" mean one thing everywhere.
Operations flush; callers commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from qa_live.core.figures import Rate
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.votes.models import (
    POLL_TRANSITIONS,
    Poll,
    PollChoice,
    PollOption,
    PollResponse,
    PollState,
)

#: How many options a poll offers.
OPTIONS = (2, 10)
#: A poll's question, stripped: this many characters.
QUESTION_LENGTH = (2, 200)
#: An option's label, stripped: this many characters.
LABEL_LENGTH = (1, 120)
#: A departments vote offers every department: at most this many.
DEPARTMENT_OPTIONS = (2, 60)
#: The most option ids one answer may carry (more is refused before any lookup).
MAX_CHOSEN = DEPARTMENT_OPTIONS[1]


class BallotError(ValueError):
    """A poll change or an answer that cannot be made: a code for programs, a message for people.

    Codes: ``invalid`` (bad input; ``field`` names it), ``not_found``, ``forbidden``,
    ``not_open`` (a draft), ``closed``, ``already_voted``, ``rate_limited``, ``bad_transition``.
    """

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def fields(self) -> dict[str, str]:
        """{field: message} when the error is about one field."""
        return {self.field: self.message} if self.field else {}


# Wording and options ------------------------------------------------------------------------------


def check_question(text: object, field_name: str = "question") -> str:
    """The poll's question, stripped, within QUESTION_LENGTH."""
    low, high = QUESTION_LENGTH
    if not isinstance(text, str) or not low <= len(text.strip()) <= high:
        raise BallotError("invalid", _("The question needs %(low)d to %(high)d characters.",
                                       low=low, high=high), field_name)
    return text.strip()


def check_labels(labels: object, field_name: str = "options",
                 length: tuple[int, int] = LABEL_LENGTH,
                 count: tuple[int, int] = OPTIONS) -> list[str]:
    """2–10 (or `count`) distinct option labels, each stripped, within `length` characters."""
    low, high = count
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise BallotError("invalid", _("The options must be a list of texts."), field_name)
    cleaned = [x.strip() for x in labels if x.strip()]
    if not low <= len(cleaned) <= high:
        raise BallotError("invalid", _("A poll offers %(low)d to %(high)d options "
                                       "(this one has %(n)d).", low=low, high=high,
                                       n=len(cleaned)), field_name)
    shortest, longest = length
    for label in cleaned:
        if not shortest <= len(label) <= longest:
            raise BallotError("invalid", _("Each option needs %(low)d to %(high)d characters.",
                                           low=shortest, high=longest), field_name)
    if len(set(cleaned)) != len(cleaned):
        raise BallotError("invalid", _("Two options have the same text."), field_name)
    return cleaned


def check_max_choices(value: object, options: int) -> int:
    """How many options one may choose: 1 (single choice) up to all of them."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= options:
        raise BallotError("invalid", _("Choose how many options one may pick: 1 to %(n)d.",
                                       n=options), "max_choices")
    return value


def new_options(poll: Poll, labels: Sequence[str],
                department_ids: Sequence[int | None] | None = None) -> None:
    """Give a new poll its options, in order."""
    ids = department_ids or [None] * len(labels)
    poll.options = [PollOption(position=i, label=label, department_id=dept)
                    for i, (label, dept) in enumerate(zip(labels, ids, strict=True))]


# State ----------------------------------------------------------------------------------------


def change_state(poll: Poll, new_state: PollState, now: datetime | None = None) -> Poll:
    """Move a poll to a new state: the one place that sets Poll.state."""
    now = now or utcnow()
    if poll.state == PollState.OPEN and new_state == PollState.OPEN:
        raise BallotError("bad_transition", _("This poll is open already."))
    if new_state not in POLL_TRANSITIONS[poll.state]:
        message = (_("This poll has closed.") if poll.state == PollState.CLOSED
                   else _("This poll cannot be closed before it opens."))
        raise BallotError("bad_transition", message)
    if new_state == PollState.OPEN:
        poll.opened_at = now
    if new_state == PollState.CLOSED:
        # A vote past its closing time closed then, not when someone pressed the button.
        poll.closed_at = min(now, poll.closes_at) if poll.closes_at else now
    poll.state = new_state
    db.session.flush()
    return poll


# Answering ------------------------------------------------------------------------------------


def parse_choices(value: object) -> list[int]:
    """The option ids of an answer: a list of distinct whole numbers (or one number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (not isinstance(value, list) or len(value) > MAX_CHOSEN
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**53
                       for v in value)):
        raise BallotError("invalid", _("Send the chosen options as a list of option ids."),
                          "option_ids")
    if len(set(value)) != len(value):
        raise BallotError("invalid", _("An option was chosen twice."), "option_ids")
    return value


def check_answer(poll: Poll, option_ids: Sequence[int], now: datetime) -> None:
    """Refuse an answer the poll cannot take: not open, no choice, too many, unknown options."""
    if poll.state == PollState.DRAFT:
        raise BallotError("not_open", _("This poll is not open yet."))
    if not poll.is_open(now):
        raise BallotError("closed", _("This poll has closed; answers are no longer taken."))
    if not option_ids:
        raise BallotError("invalid", _("Choose an option."), "option_ids")
    if len(option_ids) > poll.max_choices:
        message = (_("Choose one option only.") if poll.max_choices == 1
                   else _("Choose at most %(n)d options.", n=poll.max_choices))
        raise BallotError("invalid", message, "option_ids")
    known = {option.id for option in poll.options}
    if not set(option_ids) <= known:
        raise BallotError("invalid", _("That option is not one of this poll's."), "option_ids")


def cast(poll: Poll, visitor_id: str, option_ids: Sequence[int], may_change: bool,
         now: datetime | None = None) -> str:
    """Store a visitor's answer; return "new", "changed" or "same".

    One response per visitor and poll (a unique key; a second tab racing the first loses).
    With ``may_change`` (live polls, while open) a second answer replaces the first; without
    it (public votes) a second answer is refused: ``already_voted``.
    """
    now = now or utcnow()
    check_answer(poll, option_ids, now)
    existing = db.session.scalar(select(PollResponse).where(
        PollResponse.poll_id == poll.id, PollResponse.visitor_id == visitor_id))
    outcome = "changed"
    if existing is None:
        try:
            with db.session.begin_nested():
                existing = PollResponse(poll_id=poll.id, visitor_id=visitor_id,
                                        created_at=now, updated_at=now)
                db.session.add(existing)
                db.session.flush()
            outcome = "new"
        except IntegrityError:
            existing = db.session.scalar(select(PollResponse).where(
                PollResponse.poll_id == poll.id, PollResponse.visitor_id == visitor_id))
            if existing is None:  # pragma: no cover - the row that won the race is there
                raise
    if outcome != "new":
        if not may_change:
            raise BallotError("already_voted", _("You have voted in this already: one vote "
                                                 "per person."))
        before = set(db.session.scalars(select(PollChoice.option_id).where(
            PollChoice.response_id == existing.id)))
        if before == set(option_ids):
            return "same"
        db.session.execute(delete(PollChoice).where(PollChoice.response_id == existing.id))
        existing.updated_at = now
    db.session.execute(insert(PollChoice), [
        {"response_id": existing.id, "option_id": option_id, "poll_id": poll.id}
        for option_id in option_ids])
    db.session.flush()
    return outcome


def choices_of(poll_ids: Iterable[int], visitor_id: str) -> dict[int, list[int]]:
    """The visitor's chosen option ids per poll (polls they did not answer are left out)."""
    ids = list(poll_ids)
    if not ids:
        return {}
    mine: dict[int, list[int]] = {}
    for poll_id, option_id in db.session.execute(
            select(PollChoice.poll_id, PollChoice.option_id)
            .join(PollResponse, PollResponse.id == PollChoice.response_id)
            .where(PollResponse.visitor_id == visitor_id, PollChoice.poll_id.in_(ids))
            .order_by(PollChoice.option_id)):
        mine.setdefault(poll_id, []).append(option_id)
    return mine


# Results --------------------------------------------------------------------------------------


@dataclass
class Results:
    """A poll's results: how many answered, and how many chose each option."""

    poll_id: int
    respondents: int = 0
    counts: dict[int, int] = field(default_factory=dict)

    def share(self, option_id: int) -> Rate:
        """The option's share of the respondents (they may choose several in a multiple choice)."""
        return Rate(self.counts.get(option_id, 0), self.respondents)


def results_of(poll_ids: Iterable[int]) -> dict[int, Results]:
    """The results of several polls, counted from the stored choices (two grouped queries)."""
    ids = list(poll_ids)
    found = {poll_id: Results(poll_id) for poll_id in ids}
    if not ids:
        return found
    for poll_id, n in db.session.execute(
            select(PollResponse.poll_id, func.count()).where(PollResponse.poll_id.in_(ids))
            .group_by(PollResponse.poll_id)):
        found[poll_id].respondents = n
    for poll_id, option_id, n in db.session.execute(
            select(PollChoice.poll_id, PollChoice.option_id, func.count())
            .where(PollChoice.poll_id.in_(ids))
            .group_by(PollChoice.poll_id, PollChoice.option_id)):
        found[poll_id].counts[option_id] = n
    return found


def results(poll: Poll) -> Results:
    """One poll's results."""
    return results_of([poll.id])[poll.id]


def ranked(poll: Poll, found: Results) -> list[tuple[PollOption, int]]:
    """The options with their counts, most chosen first (ties keep the poll's order)."""
    return sorted(((o, found.counts.get(o.id, 0)) for o in poll.options),
                  key=lambda pair: (-pair[1], pair[0].position))


def results_payload(poll: Poll, found: Results) -> dict[str, Any]:
    """The results as every surface sends them: counts and printed shares per option."""
    return payload_of(poll.id, [(o.id, o.label) for o in poll.options], found)


def payload_of(poll_id: int, options: Sequence[tuple[int, str]],
               found: Results) -> dict[str, Any]:
    """`results_payload` from the poll's id and its (option id, label) pairs."""
    return {
        "poll_id": poll_id,
        "respondents": found.respondents,
        "options": [{"id": id_, "label": label, "count": found.counts.get(id_, 0),
                     "share": found.share(id_).percent()} for id_, label in options],
    }
