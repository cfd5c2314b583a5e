"""Telling a citizen that the second reply to their question is out.

A citizen can be reached by the phone number they left with the question, or, when they signed
in through the identity service and agreed to it, by the contact (phone or e-mail) their
account gave (qa_live/auth/citizens.py): :func:`citizen_contact`.

There is no SMS gateway here: :func:`notify_citizen` is the one place a deployment replaces
(for instance by monkey-patching it from a site package, or editing this file) to send a text
message. The default sends nothing and returns False, so the follow-up stays on the "to notify"
list and staff call the citizen by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa_live.auth.citizens import contact_of_visitor, contacts_of_visitors

if TYPE_CHECKING:
    from qa_live.auth.citizen_models import CitizenIdentity
    from qa_live.followup.models import FollowUp
    from qa_live.live.models import Question


def citizen_contact(question: Question) -> CitizenIdentity | None:
    """The signed-in asker's identity when it holds a contact they agreed to leave."""
    return contact_of_visitor(question.visitor_id)


def citizen_contacts(questions: list[Question]) -> dict[str, CitizenIdentity]:
    """citizen_contact for many questions at once, by visitor id (the to-notify list)."""
    return contacts_of_visitors({q.visitor_id for q in questions})


def reachable(question: Question) -> bool:
    """Whether the asker can be told of a second reply: a phone number, or a signed-in contact."""
    return bool(question.phone) or citizen_contact(question) is not None


def notify_citizen(follow_up: FollowUp) -> bool:
    """Tell the citizen behind follow_up.question.phone (or citizen_contact) that a second
    reply was published.

    Return True only when the message certainly went out; the follow-up is then marked
    notified. It runs after the second reply is committed; keep it quick (queue the message),
    and never raise for a failed send: return False and staff will call instead.
    """
    return False
