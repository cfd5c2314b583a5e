"""The rows of an import file as read, the refusals, and the file's text (docs/imports.md).

Shared by the checker (checker.py), the reader (reader.py) and the importer (store.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from qa_live.core.timeutil import to_local
from qa_live.live.models import QuestionSource, RejectReason

FORMAT = "qa_live-import/1"
#: The encodings a file may be read in; anything else is refused (GBK files: see decode()).
ENCODINGS = ("utf-8", "gb18030")
STATUSES = ("pending", "published", "answered", "rejected")
FOLLOW_UP_STATUSES = ("open", "in_progress", "done", "impossible")
TOTALS = ("sessions", "held", "cancelled", "departments_online", "participant_visits",
          "questions", "valid", "answered", "answer_rate")
ID_MAX = 64



@dataclass
class Refusal:
    """One row the file cannot have, and why."""

    row: str
    reason: str

    def __str__(self) -> str:
        return f"{self.row}: {self.reason}"


@dataclass
class AnswerRow:
    """An answer of an imported question (live, or a second reply)."""

    id: str
    at: datetime
    kind: str
    body: str
    department_id: int | None


@dataclass
class FollowUpRow:
    """An imported question's follow-up (线下落实)."""

    opened_at: datetime
    due: date
    status: str
    department_id: int | None
    closed_at: datetime | None
    reason: str
    outcome: str


@dataclass
class QuestionRow:
    """An imported question with its answers and follow-up."""

    id: str
    asked_at: datetime
    source: QuestionSource
    text: str
    nickname: str
    department_id: int | None
    status: str
    reject_reason: RejectReason | None
    published_at: datetime | None
    rejected_at: datetime | None
    answers: list[AnswerRow] = field(default_factory=list)
    follow_up: FollowUpRow | None = None


@dataclass
class VisitRow:
    """One participant-visit (人次) of an imported session."""

    visitor: str
    start: datetime
    end: datetime | None


@dataclass
class SessionRow:
    """An imported session with everything recorded of it."""

    id: str
    title: str
    description: str
    start: datetime
    end: datetime
    cancelled: bool
    cancel_reason: str
    planned_at: datetime
    department_ids: list[int]
    questions: list[QuestionRow] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    given_visits: int | None = None  # stated 人次 when only totals are known
    given_unique: int | None = None
    peak_online: int = 0
    departments_known: bool = True  # all its departments were found (else one refusal says so)


@dataclass
class ImportFile:
    """A file read and checked: its sessions, its stated totals, and every refusal."""

    sessions: list[SessionRow] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    note: str = ""
    totals: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No row refused."""
        return not self.refusals


def decode(raw: bytes, encoding: str | None = None) -> str:
    """The file's text: UTF-8 (a byte-order mark is fine), or the encoding named.

    A file that is not UTF-8 but reads as GB18030/GBK (older Chinese Windows systems) is refused
    with what to do, never guessed: mis-read Chinese would be stored as nonsense.
    """
    if encoding is not None:
        if encoding.lower().replace("_", "-") not in {"utf-8", "utf8", "gbk", "gb2312", "gb18030"}:
            raise ValueError(_("Unknown encoding %(name)s: use utf-8 or gb18030.", name=encoding))
        name = "utf-8-sig" if encoding.lower() in {"utf-8", "utf8"} else "gb18030"
        try:
            return raw.decode(name)
        except UnicodeDecodeError as exc:
            raise ValueError(_("The file is not %(name)s: byte %(at)d cannot be read.",
                               name=encoding, at=exc.start)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = exc.start
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        raise ValueError(_("The file is not UTF-8 text (byte %(at)d cannot be read) and not "
                           "GBK either.", at=at)) from None
    raise ValueError(_("The file is not UTF-8 (byte %(at)d cannot be read); it reads as GBK/"
                       "GB18030, as older Chinese systems write. Convert it (iconv -f GB18030 "
                       "-t UTF-8) or import it with --encoding gb18030.", at=at))


def local_date(moment: datetime) -> date:
    """The local (Asia/Shanghai) date of a moment."""
    local = to_local(moment)
    assert local is not None
    return local.date()
