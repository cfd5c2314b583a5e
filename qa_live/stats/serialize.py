"""Figures as JSON for the statistics API: the same Summary the pages and downloads show.

Every rate goes out as its exact fraction with the printed percentage (one rounding rule,
stats.figures.Rate), so a program never rounds differently from the page.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from qa_live.live.models import RatingValue, RejectReason
from qa_live.stats.figures import (
    Counts,
    DepartmentFigures,
    MonthFigures,
    Rate,
    SessionFigures,
    Summary,
)
from qa_live.stats.queries import SessionReport


def rate_json(rate: Rate) -> dict[str, Any]:
    """{"numerator", "denominator", "percent": "99.3%" or "—", "value": float or null}."""
    return {"numerator": rate.numerator, "denominator": rate.denominator,
            "percent": rate.percent(), "value": rate.value}


def counts_json(c: Counts) -> dict[str, Any]:
    """The question, answer, follow-up and rating figures of a group."""
    return {
        "questions": {
            "asked": c.asked, "in_advance": c.asked_advance, "live": c.asked_live,
            "valid": c.valid, "rejected": c.rejected, "merged": c.merged, "pending": c.pending,
            "rejected_by_reason": {r.value: n for r, n in c.rejected_by_reason().items()},
            "answered": c.answered, "answered_live": c.answered_live,
            "answered_after_session": c.answered_later, "unanswered": c.unanswered,
            "answer_rate": rate_json(c.answer_rate),
            "live_answer_rate": rate_json(c.live_answer_rate),
            "second_replies": c.second_replies,
        },
        "follow_ups": follow_ups_json(c),
        "ratings": {
            "rated": c.ratings,
            **{v.value: n for v, n in c.rating_counts().items()},
            "shares": {v.value: rate_json(r) for v, r in c.rating_shares().items()},
        },
    }


def follow_ups_json(c: Counts) -> dict[str, Any]:
    """The follow-up (线下落实) figures of a group."""
    return {"opened": c.follow_ups_opened, "done": c.follow_ups_done,
            "impossible": c.follow_ups_impossible, "closed": c.follow_ups_closed,
            "open": c.follow_ups_open, "overdue": c.follow_ups_overdue,
            "close_rate": rate_json(c.close_rate),
            "impossible_share": rate_json(Rate(c.follow_ups_impossible, c.follow_ups_opened))}


def session_json(s: SessionFigures) -> dict[str, Any]:
    """One session's row of the session table."""
    return {"id": s.id, "title": s.title, "slug": s.slug, "state": s.state.value,
            "date": s.local_date.isoformat(), "held": s.held,
            "started_at": s.started_at.isoformat() if s.started_at else None,
            "ended_at": s.ended_at.isoformat() if s.ended_at else None,
            "department_ids": sorted(s.department_ids),
            "participant_visits": s.participant_visits, "unique_visitors": s.unique_visitors,
            "peak_online": s.peak_online, "participants_given": s.participants_given,
            **counts_json(s.counts)}


def department_json(d: DepartmentFigures) -> dict[str, Any]:
    """A department's share (id null: questions not assigned to a department)."""
    return {"id": d.id, "name": d.name, "sessions_online": d.sessions_online,
            "participant_visits": d.participant_visits, **counts_json(d.counts)}


def month_json(m: MonthFigures) -> dict[str, Any]:
    """One calendar month of the period."""
    return {"month": m.label, "sessions_held": m.sessions_held,
            "participant_visits": m.participant_visits, **counts_json(m.counts)}


def summary_json(summary: Summary, as_of: date) -> dict[str, Any]:
    """The period's figures: totals, and its sessions, departments and months."""
    return {
        "period": {"from": summary.start.isoformat(), "to": summary.end.isoformat(),
                   "department_id": summary.department_id},
        "as_of": as_of.isoformat(),
        "sessions": {"planned": summary.sessions_planned, "held": summary.sessions_held,
                     "live": summary.sessions_live, "upcoming": summary.sessions_upcoming,
                     "cancelled": summary.sessions_cancelled},
        "departments_online": summary.departments_online,
        "participant_visits": summary.participant_visits,
        "unique_visitors": summary.unique_visitors,
        "sessions_with_given_participants": summary.sessions_with_given_participants,
        "peak_online": summary.peak_online,
        "peak_session_id": summary.peak_session.id if summary.peak_session else None,
        "median_answer_seconds": summary.median_answer_seconds,
        "p90_answer_seconds": summary.p90_answer_seconds,
        **counts_json(summary.counts),
        "session_table": [session_json(s) for s in summary.sessions],
        "department_table": [department_json(d) for d in summary.departments],
        "month_table": [month_json(m) for m in summary.months],
    }


def session_report_json(report: SessionReport, as_of: date) -> dict[str, Any]:
    """One session's figures with its departments' shares and answer times."""
    return {"as_of": as_of.isoformat(), "session": session_json(report.session),
            "median_answer_seconds": report.median_answer_seconds,
            "p90_answer_seconds": report.p90_answer_seconds,
            "department_table": [department_json(d) for d in report.departments]}


#: The names used for reasons and ratings in the JSON, for the OpenAPI document.
REASONS = [r.value for r in RejectReason]
RATINGS = [v.value for v in RatingValue]
