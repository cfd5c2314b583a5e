"""What follow-up statuses, lists and recorded changes are called, in the page's language."""

from __future__ import annotations

from flask_babel import gettext as _

from qa_live.followup.models import FollowUpStatus


def status_label(status: FollowUpStatus | str) -> str:
    """A follow-up status as staff read it."""
    return {
        FollowUpStatus.OPEN: _("Open"),
        FollowUpStatus.IN_PROGRESS: _("In progress"),
        FollowUpStatus.DONE: _("Done"),
        FollowUpStatus.IMPOSSIBLE: _("Cannot be done"),
    }.get(FollowUpStatus(status), str(status))


def view_labels() -> dict[str, str]:
    """The names of the lists (tabs)."""
    return {"open": _("Open"), "due_soon": _("Due soon"), "overdue": _("Overdue"),
            "done": _("Closed"), "all": _("All")}


def change_labels() -> dict[str, str]:
    """What each recorded change is called in the history."""
    return {
        "created": _("Created"), "department": _("Department"), "assignee": _("Assignee"),
        "due_date": _("Due date"), "notes": _("Notes"), "status": _("Status"),
        "reply": _("Second reply"), "outcome": _("Outcome"), "reason": _("Reason"),
        "phone_revealed": _("Phone number shown"), "notified": _("Citizen told"),
    }
