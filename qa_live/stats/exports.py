"""Downloads: the session table, the question list and the period's summary as CSV or XLSX.

Every text cell is escaped so a spreadsheet never runs it as a formula, and phone numbers are
masked. The question list streams from the database in batches; it never loads all rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import case, select, type_coerce
from sqlalchemy.orm import aliased

from qa_live.core.timeutil import to_local
from qa_live.extensions import db
from qa_live.live import metrics
from qa_live.live.models import Question, QuestionSource, QuestionStatus, RejectReason, mask_phone
from qa_live.planning.models import Department, LiveSession
from qa_live.planning.services import state_label
from qa_live.stats.figures import Rate, Summary

#: Characters a spreadsheet reads as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2000

Cell = str | int | float | None


def escape_cell(value: Any) -> Cell:
    """A cell safe to open: numbers stay numbers; text starting like a formula gets a quote."""
    if value is None or isinstance(value, bool):
        return "" if value is None else int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Rate):
        value = value.percent()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def local_time(value: datetime | None) -> str:
    """A timestamp in the configured zone (Asia/Shanghai), to the second."""
    local = to_local(value)
    return local.strftime("%Y-%m-%d %H:%M:%S") if local else ""


# The tables -----------------------------------------------------------------------------------


def session_table(summary: Summary, names: dict[int, str]) -> tuple[list[str], list[list[Any]]]:
    """The session table: one row per session with its figures."""
    header = [_("Date"), _("Theme"), _("State"), _("Departments"), _("Participant-visits"),
              _("Unique visitors"), _("Peak online"), _("Questions asked"),
              _("In advance"), _("Live"), _("Valid questions"), _("Rejected"),
              _("Answered"), _("Answered live"), _("Answered after the session"),
              _("Unanswered"), _("Answer rate"), _("Second replies"), _("Follow-ups"),
              _("Follow-ups closed"), _("Follow-ups overdue"), _("Ratings")]
    rows = []
    for s in summary.sessions:
        c = s.counts
        rows.append([s.local_date.isoformat(), s.title, state_label(s.state),
                     "、".join(names.get(d, "") for d in s.department_ids),
                     s.participant_visits, s.unique_visitors, s.peak_online, c.asked,
                     c.asked_advance, c.asked_live, c.valid, c.rejected, c.answered,
                     c.answered_live, c.answered_later, c.unanswered, c.answer_rate,
                     c.second_replies, c.follow_ups_opened, c.follow_ups_closed,
                     c.follow_ups_overdue, c.ratings])
    return header, rows


def summary_table(summary: Summary) -> tuple[list[str], list[list[Any]]]:
    """The period's headline figures as (figure, value) rows."""
    c = summary.counts
    rows: list[list[Any]] = [
        [_("From"), summary.start.isoformat()],
        [_("To"), summary.end.isoformat()],
        [_("Sessions planned"), summary.sessions_planned],
        [_("Sessions held"), summary.sessions_held],
        [_("Sessions cancelled"), summary.sessions_cancelled],
        [_("Departments online"), summary.departments_online],
        [_("Participant-visits"), summary.participant_visits],
        [_("Unique visitors"), summary.unique_visitors],
        [_("Peak online"), summary.peak_online],
        [_("Questions asked"), c.asked],
        [_("In advance"), c.asked_advance],
        [_("Live"), c.asked_live],
        [_("Valid questions"), c.valid],
        [_("Rejected"), c.rejected],
        *[[_("Rejected: %(reason)s", reason=reason_label(r)), n]
          for r, n in c.rejected_by_reason().items()],
        [_("Merged duplicates"), c.merged],
        [_("Answered"), c.answered],
        [_("Answered live"), c.answered_live],
        [_("Answered after the session"), c.answered_later],
        [_("Unanswered"), c.unanswered],
        [_("Answer rate"), c.answer_rate],
        [_("Answer rate (exact)"), c.answer_rate.fraction()],
        [_("Median time to first answer (seconds)"), summary.median_answer_seconds],
        [_("90th percentile time to first answer (seconds)"), summary.p90_answer_seconds],
        [_("Second replies"), c.second_replies],
        [_("Follow-ups"), c.follow_ups_opened],
        [_("Follow-ups done"), c.follow_ups_done],
        [_("Follow-ups closed as impossible"), c.follow_ups_impossible],
        [_("Follow-ups overdue"), c.follow_ups_overdue],
        [_("Close rate"), c.close_rate],
        [_("Ratings"), c.ratings],
        *[[_("Share rated: %(value)s", value=rating_label(v)), share]
          for v, share in c.rating_shares().items()],
    ]
    return [_("Figure"), _("Value")], rows


def question_header() -> list[str]:
    """Columns of the question list."""
    return [_("Session date"), _("Theme"), _("Department"), _("Asked"), _("Asked at"),
            _("Answered at"), _("Status"), _("Reason"), _("Nickname"), _("Phone"),
            _("Question")]


def question_rows(session_ids: Sequence[int], department_id: int | None,
                  at: datetime | None = None) -> Iterator[list[Any]]:
    """The questions of the sessions, in time order, streamed in batches.

    As of a moment (``at``): the questions asked by then, each in the status it had then.
    """
    if not session_ids:
        return
    dept = aliased(Department)
    status_column: Any = Question.status
    answered_column: Any = metrics.first_answer_at()
    reason_column: Any = Question.reject_reason
    if at is not None:  # the status it had then, read as the column's own enum
        status_column = type_coerce(case(
            (metrics.is_rejected(at), QuestionStatus.REJECTED.name),
            (metrics.is_answered(at), QuestionStatus.ANSWERED.name),
            (metrics.is_pending(at), QuestionStatus.PENDING.name),
            else_=QuestionStatus.APPROVED.name), Question.__table__.c.status.type)
        answered_column = case((metrics.is_answered(at), answered_column), else_=None)
        reason_column = type_coerce(case((metrics.is_rejected(at), Question.reject_reason),
                                         else_=None), Question.__table__.c.reject_reason.type)
    query = (select(LiveSession.scheduled_start, LiveSession.title, dept.name,
                    Question.source, Question.created_at, answered_column,
                    status_column, reason_column, Question.nickname,
                    Question.phone, Question.text)
             .join(LiveSession, LiveSession.id == Question.session_id)
             .outerjoin(dept, dept.id == Question.department_id)
             .where(Question.session_id.in_(session_ids), *metrics.asked_by(at))
             .order_by(LiveSession.scheduled_start, Question.created_at, Question.id)
             .execution_options(yield_per=BATCH))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    statuses = status_labels()
    for (start, title, dept_name, source, asked, answered, status, reason, nickname, phone,
         text) in db.session.execute(query):
        local = to_local(start)
        yield [local.date().isoformat() if local else "", title, dept_name or "",
               _("in advance") if source == QuestionSource.ADVANCE else _("live"),
               local_time(asked), local_time(answered) if answered else "",
               statuses[QuestionStatus(status)],
               reason_label(RejectReason(reason)) if reason else "", nickname,
               mask_phone(phone), text]


def status_labels() -> dict[QuestionStatus, str]:
    """Question statuses as staff read them."""
    return {QuestionStatus.PENDING: _("pending"), QuestionStatus.APPROVED: _("published"),
            QuestionStatus.ANSWERED: _("answered"), QuestionStatus.REJECTED: _("rejected")}


def reason_label(reason: RejectReason) -> str:
    """A rejection reason as staff read it."""
    return {RejectReason.SPAM: _("spam"), RejectReason.OFF_TOPIC: _("off topic"),
            RejectReason.ABUSIVE: _("abusive"), RejectReason.DUPLICATE: _("duplicate"),
            RejectReason.PERSONAL_INFO: _("personal information")}[reason]


def rating_label(value: Any) -> str:
    """A satisfaction rating as staff read it."""
    return {"satisfied": _("satisfied"), "basic": _("basically satisfied"),
            "unsatisfied": _("unsatisfied")}[str(value)]


# Writers --------------------------------------------------------------------------------------


def csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV text in chunks, with a BOM so spreadsheet programs read it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([escape_cell(v) for v in header])
    for n, row in enumerate(rows, 1):
        writer.writerow([escape_cell(v) for v in row])
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(title: str, header: list[str], rows: Iterable[list[Any]]) -> bytes:
    """An XLSX workbook with one sheet (openpyxl's write-only mode: rows go straight out)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([_text_cell(sheet, v) for v in header])
    for row in rows:
        sheet.append([_text_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text_cell(sheet: Any, value: Any) -> Any:
    safe = escape_cell(value)
    if not isinstance(safe, str):
        return safe
    cell = WriteOnlyCell(sheet, value=safe)
    cell.data_type = "s"  # never a formula, whatever the text
    return cell
