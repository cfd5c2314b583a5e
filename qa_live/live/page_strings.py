"""Texts the citizen's live page script shows for its newer parts (kept apart from views.py).

Editing and withdrawing one's own question, the notice when it is answered, and the search.
"""

from __future__ import annotations

from flask_babel import gettext as _


def page_strings() -> dict[str, str]:
    """Every such text, translated for the page's language (placeholders kept)."""
    return {
        "change": _("Change"),
        "your_question": _("Your question"),
        "save_change": _("Save the change"),
        "withdraw": _("Withdraw"),
        "withdraw_confirm": _("Withdraw this question? Staff will no longer see it."),
        "withdraw_yes": _("Yes, withdraw it"),
        "changed": _("Your question was changed."),
        "withdrawn": _("Your question was withdrawn."),
        "answered_notice": _("Your question has been answered:"),
        "answered_title": _("Your question has been answered"),
        "show_answer": _("Read the answer"),
        "notify_me": _("Tell me when my question is answered"),
        "notify_on": _("You will be notified when your question is answered."),
        "notify_denied": _("Notifications are blocked for this site; the page still shows a "
                           "notice."),
        "filter_count": _("%(n)d of %(total)d questions shown"),
        "plain_mode": _("Live updates are not available on this connection. You can still ask "
                        "and vote; reload the page to see new answers."),
        "filter_none": _("No question matches. Try other words or show all questions."),
    }
