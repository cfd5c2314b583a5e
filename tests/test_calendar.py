"""The working-day calendar: Monday–Friday, public holidays off, make-up working days on."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.followup import calendar
from qa_live.followup import dates as followup_dates
from qa_live.followup.models import CalendarDay, DayKind
from qa_live.planning.models import SessionState


def working_days_between(start: date, end: date) -> int:
    """Working days after start up to and including end (0 when end is not after start)."""
    return sum(1 for n in range(1, (end - start).days + 1)
               if calendar.is_working_day(start + timedelta(days=n)))


ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def china_2026(app):
    """The shipped 2026 calendar, loaded as the office would."""
    lines = (ROOT / "data" / "calendar_2026.txt").read_text(encoding="utf-8").splitlines()
    calendar.load_calendar(calendar.parse_calendar(lines))
    db.session.commit()


def test_an_ordinary_week_counts_monday_to_friday(app):
    friday = date(2026, 3, 13)
    assert calendar.add_working_days(friday, 1) == date(2026, 3, 16)  # Monday
    assert calendar.add_working_days(friday, 5) == date(2026, 3, 20)  # next Friday
    assert calendar.add_working_days(date(2026, 3, 14), 1) == date(2026, 3, 16)  # from Saturday
    assert calendar.add_working_days(friday, 0) == friday
    assert calendar.is_working_day(date(2026, 3, 16))
    assert not calendar.is_working_day(date(2026, 3, 15))


def test_a_public_holiday_is_skipped_and_a_make_up_day_counts(app):
    calendar.set_day(date(2026, 3, 17), DayKind.HOLIDAY, "节日")
    calendar.set_day(date(2026, 3, 21), DayKind.WORKDAY, "调休")
    db.session.commit()
    assert not calendar.is_working_day(date(2026, 3, 17))
    assert calendar.is_working_day(date(2026, 3, 21))  # a Saturday worked
    # Mon 16, (Tue 17 off), Wed 18, Thu 19, Fri 20, Sat 21 (worked) → the fifth is Saturday.
    assert calendar.add_working_days(date(2026, 3, 13), 5) == date(2026, 3, 21)
    assert working_days_between(date(2026, 3, 13), date(2026, 3, 21)) == 5


def test_the_shipped_2026_file_holds_the_state_councils_days(app, china_2026):
    days = {row.day: row.kind for row in calendar.days_of_year(2026)}
    assert days[date(2026, 2, 16)] == DayKind.HOLIDAY  # 除夕
    assert days[date(2026, 2, 14)] == DayKind.WORKDAY
    assert days[date(2026, 2, 28)] == DayKind.WORKDAY
    assert days[date(2026, 10, 7)] == DayKind.HOLIDAY
    assert days[date(2026, 9, 20)] == DayKind.WORKDAY
    assert days[date(2026, 10, 10)] == DayKind.WORKDAY
    workdays = sorted(d for d, k in days.items() if k == DayKind.WORKDAY)
    assert workdays == [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                        date(2026, 9, 20), date(2026, 10, 10)]
    assert all(d.weekday() >= 5 for d in workdays)


def test_five_working_days_after_a_friday_session_before_national_day(app, china_2026):
    # Friday 25 September 2026 is 中秋节 itself; take the session on Wednesday 30 September.
    # Oct 1–7 are off, Saturday Oct 10 is worked: Oct 8, 9, 10, 12, 13.
    assert calendar.add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    # A Thursday session before 劳动节 (1–5 May off, Saturday 9 May worked): May 6, 7, 8, 9, 11.
    # A Friday session on 18 September: Sunday 20 worked, Mid-Autumn from Friday 25.
    assert calendar.add_working_days(date(2026, 9, 18), 5) == date(2026, 9, 24)
    assert calendar.add_working_days(date(2026, 9, 18), 6) == date(2026, 9, 28)
    assert calendar.add_working_days(date(2026, 4, 30), 5) == date(2026, 5, 11)
    # A Friday session on 13 February, before 春节 (Sat 14 worked, 15–23 off).
    assert calendar.add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)


def test_the_year_boundary_counts_into_the_new_year(app, china_2026):
    # Wednesday 31 December 2025: Jan 1–2 off, Sunday Jan 4 worked → Jan 4, 5, 6, 7, 8.
    assert calendar.add_working_days(date(2025, 12, 31), 5) == date(2026, 1, 8)
    # Without the 2027 list, the end of 2026 follows the plain week.
    assert calendar.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)


def test_a_follow_ups_default_due_date_is_five_working_days_after_the_session(
        app, china_2026, make_session):
    # A session on Friday 13 February 2026 at 09:30 Beijing time, the eve of the Spring Festival.
    start = datetime(2026, 2, 13, 9, 30, tzinfo=SHANGHAI)
    session = make_session(state=SessionState.DRAFT, start=start, precollect=False)
    assert followup_dates.session_day(session) == date(2026, 2, 13)
    assert followup_dates.default_due_date(session, today=date(2026, 2, 13)) == date(2026, 2, 27)
    # Made later, the default counts from that day instead, never in the past.
    assert followup_dates.default_due_date(session, today=date(2026, 3, 2)) == date(2026, 3, 9)


def test_a_session_ending_late_in_the_evening_is_dated_in_beijing(app, make_session):
    start = datetime(2026, 3, 13, 21, 0, tzinfo=SHANGHAI)  # 13:00 UTC; ends 23:00 Beijing
    session = make_session(start=start, precollect=False)
    assert followup_dates.session_day(session) == date(2026, 3, 13)


def test_a_calendar_file_with_a_bad_line_is_refused_whole(app):
    with pytest.raises(calendar.CalendarError, match="第 2 行"):
        calendar.parse_calendar(["2026-01-01 holiday 元旦", "2026-13-01 holiday x"])
    with pytest.raises(calendar.CalendarError, match="第 1 行"):
        calendar.parse_calendar(["2026-01-01 vacation"])
    with pytest.raises(calendar.CalendarError, match="第 1 行"):
        calendar.parse_calendar(["2026-01-05..2026-01-01 holiday backwards"])
    assert db.session.query(CalendarDay).count() == 0


def test_ranges_comments_and_replacing_a_year(app):
    entries = calendar.parse_calendar(["# a comment", "", "2026-10-01..2026-10-03 holiday 国庆节",
                                       "2026-10-10 workday 调休 # trailing"])
    assert [(e.day.day, e.kind) for e in entries] == [
        (1, DayKind.HOLIDAY), (2, DayKind.HOLIDAY), (3, DayKind.HOLIDAY), (10, DayKind.WORKDAY)]
    calendar.set_day(date(2026, 6, 1), DayKind.HOLIDAY, "old")
    calendar.load_calendar(entries, replace_years=True)
    db.session.commit()
    assert [d.day for d in calendar.days_of_year(2026)] == [
        date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3), date(2026, 10, 10)]


def test_calendar_load_command(app, runner, tmp_path):
    path = tmp_path / "cal.txt"
    path.write_text("2027-01-01 holiday 元旦\n", encoding="utf-8")
    result = runner.invoke(args=["followups", "calendar-load", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 calendar day(s) stored for 2027" in result.output
    shown = runner.invoke(args=["followups", "calendar-show", "2027"])
    assert "2027-01-01\tholiday\t元旦" in shown.output
    path.write_text("2027-01-01 nonsense\n", encoding="utf-8")
    bad = runner.invoke(args=["followups", "calendar-load", str(path)])
    assert bad.exit_code != 0 and "第 1 行" in bad.output


def test_the_office_keeps_the_calendar_on_a_page(app, client, auth, make_user):
    from qa_live.auth.models import Role

    office = make_user("office1", roles=[Role.OFFICE])
    answerer = make_user("ans9", roles=[Role.ANSWERER])
    auth.login(answerer)
    assert client.get("/follow-ups/calendar").status_code == 403
    auth.logout()
    auth.login(office)
    page = client.get("/follow-ups/calendar?year=2026")
    assert page.status_code == 200
    saved = client.post("/follow-ups/calendar", data={"day": "2026-06-22", "kind": "holiday",
                                                      "name": "补休"})
    assert saved.status_code == 302
    assert db.session.get(CalendarDay, date(2026, 6, 22)).kind == DayKind.HOLIDAY
    bad = client.post("/follow-ups/calendar", data={"day": "not-a-date", "kind": "holiday"})
    assert bad.status_code == 400 and b"has-error" in bad.data
    removed = client.post("/follow-ups/calendar/2026-06-22/remove")
    assert removed.status_code == 302
    db.session.expire_all()
    assert db.session.get(CalendarDay, date(2026, 6, 22)) is None


# The published calendar (chinese-calendar) under the office's own days -----------------------


def test_published_holidays_and_make_up_days_apply_without_loading_anything(app):
    # 2025: National Day and Mid-Autumn 1–8 October; Sunday 28 September and Saturday
    # 11 October worked instead (国办发明电〔2024〕12号).
    assert not calendar.is_working_day(date(2025, 10, 1))
    assert not calendar.is_working_day(date(2025, 10, 8))
    assert calendar.is_working_day(date(2025, 9, 28))
    assert calendar.is_working_day(date(2025, 10, 11))
    assert calendar.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    # Sunday 28, 29, 30, then 9, 10 and Saturday 11.
    assert working_days_between(date(2025, 9, 26), date(2025, 10, 12)) == 6
    published = calendar.published_days(date(2025, 1, 1), date(2025, 12, 31))
    assert published[date(2025, 1, 28)].name == "春节"
    assert published[date(2025, 10, 11)].kind == DayKind.WORKDAY


def test_the_offices_own_days_are_kept_on_top_of_the_published_ones(app):
    calendar.set_day(date(2025, 10, 8), DayKind.WORKDAY, "值班")
    calendar.set_day(date(2025, 9, 28), DayKind.HOLIDAY, "本局调整")
    db.session.commit()
    assert calendar.is_working_day(date(2025, 10, 8))
    assert not calendar.is_working_day(date(2025, 9, 28))
    calendar.remove_day(date(2025, 10, 8))
    db.session.commit()
    assert not calendar.is_working_day(date(2025, 10, 8))  # the published day again


def test_the_published_years_are_named_and_later_years_follow_the_week(app):
    years = calendar.published_years()
    assert 2004 in years and 2026 in years and 2027 not in years
    assert calendar.published_days(date(2027, 1, 1), date(2027, 12, 31)) == {}
    assert calendar.is_working_day(date(2027, 10, 1))  # a Friday; no notice published yet


def test_the_shipped_2026_file_says_what_the_package_says(app):
    lines = (ROOT / "data" / "calendar_2026.txt").read_text(encoding="utf-8").splitlines()
    shipped = {(e.day, e.kind) for e in calendar.parse_calendar(lines)
               if (e.day.weekday() < 5) == (e.kind == DayKind.HOLIDAY)}
    published = {(d, e.kind) for d, e in
                 calendar.published_days(date(2026, 1, 1), date(2026, 12, 31)).items()}
    assert shipped == published


def test_the_calendar_page_shows_both_and_warns_for_a_year_not_yet_published(client, auth,
                                                                               make_user):
    auth.login(make_user("office-cal", roles=[Role.OFFICE]))
    calendar.set_day(date(2025, 10, 8), DayKind.WORKDAY, "值班")
    db.session.commit()
    html = client.get("/follow-ups/calendar?year=2025").get_data(as_text=True)
    assert 'data-published-day="2025-10-01"' in html and "chinese-calendar" in html
    assert 'data-day="2025-10-08"' in html
    later = client.get("/follow-ups/calendar?year=2027").get_data(as_text=True)
    assert "2027" in later and 'data-published-day' not in later
