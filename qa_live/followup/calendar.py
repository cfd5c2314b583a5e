"""The working-day calendar: Monday to Friday, except public holidays and make-up working days.

Public holidays (法定节假日) that fall on a weekday are days off; make-up working days (调休上班)
that fall on a weekend are working days. Everything else follows the week. The days come from
the State Council's yearly notices as the `chinese-calendar` package publishes them (the years
``published_years()`` names; a new release each November adds the next year), with the office's
own days (``CalendarDay``, the calendar page and ``flask followups calendar-load``) kept on top:
an office day always wins, for any year. Dates here are local dates (QA_LIVE_TIMEZONE,
Asia/Shanghai).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from chinese_calendar import constants as published
from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.core.timeutil import local_zone, utcnow
from qa_live.extensions import db
from qa_live.followup.models import CalendarDay, DayKind

#: How far add_working_days looks for exceptions per working day asked for (holidays are at
#: most nine days long, so three calendar days per working day plus a margin is plenty).
_WINDOW_PER_DAY = 3
_WINDOW_MARGIN = 21


class CalendarError(ValueError):
    """A calendar day or file that cannot be taken; the message is for people."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DayEntry:
    """One line of a calendar file, expanded to one day."""

    day: date
    kind: DayKind
    name: str


def local_today() -> date:
    """Today's date where the bureau is (Asia/Shanghai by default)."""
    return utcnow().astimezone(local_zone()).date()


#: Chinese names of the published holidays, by the package's English ones.
_CHINESE_NAMES = {holiday.value: holiday.chinese for holiday in published.Holiday}
#: The package's version, for pages and docs ("chinese-calendar 1.11.0").
SOURCE = f"chinese-calendar {chinese_calendar.__version__}"


def published_years() -> range:
    """The years whose holidays and make-up days the installed package publishes."""
    days = [*published.holidays, *published.workdays]
    return range(min(days).year, max(days).year + 1)


def published_days(start: date, end: date) -> dict[date, DayEntry]:
    """The published exceptions to the week from start to end (both included).

    Holidays on a weekday and make-up working days on a weekend; weekend days inside a holiday
    are not exceptions. Years the package does not cover give nothing (the plain week).
    """
    years = published_years()
    found: dict[date, DayEntry] = {}
    for table, kind in ((published.holidays, DayKind.HOLIDAY),
                        (published.workdays, DayKind.WORKDAY)):
        for day, name in table.items():
            if start <= day <= end and day.year in years and (
                    (day.weekday() < 5) == (kind == DayKind.HOLIDAY)):
                found[day] = DayEntry(day, kind, _CHINESE_NAMES.get(name, name))
    return found


def office_days_between(start: date, end: date) -> dict[date, DayKind]:
    """The office's own days from start to end (both included)."""
    rows = db.session.execute(
        select(CalendarDay.day, CalendarDay.kind)
        .where(CalendarDay.day >= start, CalendarDay.day <= end)
    ).all()
    return {row.day: row.kind for row in rows}


def exceptions_between(start: date, end: date) -> dict[date, DayKind]:
    """Every exception to the week from start to end: the published days, the office's on top."""
    days = {day: entry.kind for day, entry in published_days(start, end).items()}
    days.update(office_days_between(start, end))
    return days


def is_working_day(day: date, exceptions: dict[date, DayKind] | None = None) -> bool:
    """Tell whether staff work on this day: the week's rule unless the office says otherwise."""
    if exceptions is None:
        exceptions = exceptions_between(day, day)
    kind = exceptions.get(day)
    if kind is not None:
        return kind == DayKind.WORKDAY
    return day.weekday() < 5


def add_working_days(start: date, count: int) -> date:
    """The count-th working day after start (start itself never counts).

    add_working_days(a Friday, 5) is the next Friday in an ordinary week; days off in between
    push it later, make-up working days bring it nearer.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if count == 0:
        return start
    window = count * _WINDOW_PER_DAY + _WINDOW_MARGIN
    exceptions = exceptions_between(start, start + timedelta(days=window))
    day = start
    left = count
    while left:
        day += timedelta(days=1)
        if day > start + timedelta(days=window):  # an unusually long break: widen the window
            window *= 2
            exceptions = exceptions_between(start, start + timedelta(days=window))
        if is_working_day(day, exceptions):
            left -= 1
    return day


def days_of_year(year: int) -> list[CalendarDay]:
    """The office's exceptions in one year, in date order."""
    return list(db.session.scalars(
        select(CalendarDay)
        .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)
    ))


def set_day(day: date, kind: DayKind, name: str = "") -> CalendarDay:
    """Add an exception, or change the one kept for that day."""
    name = (name or "").strip()
    if len(name) > 40:
        raise CalendarError(_("The name may have at most 40 characters."), "name")
    row = db.session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, kind=kind, name=name)
        db.session.add(row)
    else:
        row.kind = kind
        row.name = name
    db.session.flush()
    return row


def remove_day(day: date) -> bool:
    """Drop an exception (the day follows the week again); say whether there was one."""
    row = db.session.get(CalendarDay, day)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True


_LINE = re.compile(
    r"^(?P<start>\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(?P<end>\d{4}-\d{2}-\d{2}))?"
    r"\s+(?P<kind>\w+)(?:\s+(?P<name>.*))?$"
)


def parse_calendar(lines: Iterable[str]) -> list[DayEntry]:
    """Read a calendar file: ``DATE[..DATE] holiday|workday NAME`` per line, # for comments.

    Raises CalendarError naming the first bad line; nothing is half-read.
    """
    entries: list[DayEntry] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.match(line)
        kinds = {k.value for k in DayKind}
        if match is None or match["kind"] not in kinds:
            raise CalendarError(_("Line %(n)d: expected DATE[..DATE] holiday|workday NAME.",
                                  n=number))
        try:
            start = date.fromisoformat(match["start"])
            end = date.fromisoformat(match["end"]) if match["end"] else start
        except ValueError as exc:
            raise CalendarError(_("Line %(n)d: not a real date.", n=number)) from exc
        if end < start or (end - start).days > 31:
            raise CalendarError(_("Line %(n)d: a range runs forwards, at most a month.",
                                  n=number))
        name = (match["name"] or "").strip()[:40]
        kind = DayKind(match["kind"])
        entries.extend(DayEntry(start + timedelta(days=n), kind, name)
                       for n in range((end - start).days + 1))
    return entries


def load_calendar(entries: Iterable[DayEntry], replace_years: bool = False) -> int:
    """Store parsed days (adding or overwriting); with replace_years, first clear their years.

    Returns how many days were stored.
    """
    entries = list(entries)
    if replace_years:
        for year in sorted({e.day.year for e in entries}):
            for row in days_of_year(year):
                db.session.delete(row)
        db.session.flush()
    for entry in entries:
        set_day(entry.day, entry.kind, entry.name)
    return len(entries)
