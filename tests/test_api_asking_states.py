"""Asking through the API answers with the code that says why a session takes no question."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from qa_live.core.timeutil import utcnow
from qa_live.planning.models import SessionState


def ask(client, slug):
    return client.post(f"/api/v1/sessions/{slug}/questions",
                       json={"text": "以旧换新补贴什么时候发放？", "client_id": str(uuid.uuid4())})


@pytest.mark.parametrize("state", [SessionState.ENDED, SessionState.CANCELLED])
def test_a_session_that_is_over_answers_not_live(client, make_session, state):
    session = make_session(state=state, start=utcnow() - timedelta(hours=3), hours=1)
    response = ask(client, session.slug)
    assert response.status_code == 409
    assert response.get_json()["error"] == "not_live"


def test_an_announced_session_whose_collection_closed_answers_precollect_closed(
        client, make_session):
    session = make_session(state=SessionState.ANNOUNCED, precollect=False)
    response = ask(client, session.slug)
    assert response.status_code == 409
    assert response.get_json()["error"] == "precollect_closed"
