"""Complaints (issue 15, point 4): free text, their own deadline, received -> investigating ->
answered, answered in writing once (whatever is retried), audited, naming the supervisory authority."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from callproof.dsar.api import AnswerIn, PublicRequestIn
from callproof.dsar.deadline_check import deadline_states
from callproof.dsar.deadlines import DeadlineState, Jurisdiction
from callproof.dsar.model import RequestType, Status
from callproof.errors import Conflict, Forbidden
from tests.unit.dsar import test_dsar_service
from tests.unit.dsar.test_dsar_service import ADA, ADMIN, STAFF, World, request_in

world = test_dsar_service.world  # the same fixture: the in-memory world of the DSAR services
WHAT = "You kept texting me after I replied STOP."
ANSWER = AnswerIn(outcome="We found a bug in our opt-out sync; it is fixed.", steps="We deleted the queue.")


def complaint(world: World, **overrides: object) -> str:
    return world.service.create(STAFF, request_in(RequestType.COMPLAINT, details=WHAT, **overrides)).id


def answers(world: World) -> list[tuple[str, str, str]]:
    return [sent for sent in world.mailer.sent if sent[1] == "Your complaint: our answer"]


def test_a_complaint_is_received_with_its_own_deadline_and_touches_no_data(world: World) -> None:
    request = world.requests.get("org-a", complaint(world))
    assert request is not None
    assert request.status is Status.RECEIVED
    assert request.deadline.due == date(2026, 12, 20)  # received 2026-11-20, 30 days
    assert request.subject is None  # no subject resolved: nothing of anyone's data is read
    assert world.workflows.started == {}
    assert "complaint.received" in world.audit.actions("org-a")


def test_the_deadline_is_configurable_and_tracked_by_the_daily_check(world: World) -> None:
    world.service._lifecycle.complaint_days = 10  # DSAR_COMPLAINT_DAYS=10
    request_id = complaint(world)
    request = world.requests.get("org-a", request_id)
    assert request is not None
    assert request.deadline.due == date(2026, 11, 30)
    deadline_states(world.requests, datetime(2026, 12, 1, tzinfo=UTC))
    assert world.requests.get("org-a", request_id).deadline_state is DeadlineState.OVERDUE  # type: ignore[union-attr]


def test_staff_investigate_then_answer_in_writing_once_audited(world: World) -> None:
    request_id = complaint(world)
    assert world.service.investigate(STAFF, request_id).status is Status.INVESTIGATING
    world.requests.fail_saves_after_claim = 1  # the save dies after the email went: the call is retried
    with pytest.raises(RuntimeError):
        world.service.answer(STAFF, request_id, ANSWER)
    answered = world.service.answer(STAFF, request_id, ANSWER)
    assert answered.status is Status.ANSWERED
    [(to, _, text)] = answers(world)
    assert to == ADA
    assert ANSWER.outcome in text
    assert ANSWER.steps in text
    assert "supervisory authority" in text
    assert answered.answer == text
    entry = next(e for e in world.audit.entries_by_org["org-a"] if e[2] == "complaint.answered")
    assert entry[4]["due"] == "2026-12-20"
    assert entry[4]["on_time"] == 1
    assert "opt-out" not in str(entry)  # digests, never the text
    with pytest.raises(Conflict):  # answered once
        world.service.answer(STAFF, request_id, ANSWER)
    assert len(answers(world)) == 1


def test_only_compliance_answers_and_only_complaints(world: World) -> None:
    request_id = complaint(world)
    with pytest.raises(Forbidden):
        world.service.answer(ADMIN, request_id, ANSWER)
    access = world.service.create(STAFF, request_in()).id
    with pytest.raises(Conflict):
        world.service.answer(STAFF, access, ANSWER)
    with pytest.raises(Conflict):
        world.service.investigate(STAFF, access)
    assert answers(world) == []


def test_a_public_complaint_waits_for_its_confirmation(world: World) -> None:
    body = PublicRequestIn.model_validate(
        {"org_id": "org-a", "type": "complaint", "email": ADA, "jurisdiction": "gdpr", "details": WHAT}
    )
    pending = world.public.public_request(body, "203.0.113.9")
    assert pending.status is Status.PENDING_CONFIRMATION
    assert pending.deadline.days == 30
    assert world.public.confirm(world.link(ADA)).status is Status.RECEIVED


def test_a_complaint_without_words_or_an_email_is_refused() -> None:
    with pytest.raises(ValidationError, match="complaint needs details"):
        request_in(RequestType.COMPLAINT)
    with pytest.raises(ValidationError, match="complaint needs the person's email"):
        request_in(RequestType.COMPLAINT, details=WHAT, subject={"phone": "+14155550100"})
    with pytest.raises(ValidationError):
        AnswerIn.model_validate({"outcome": "ok"})


def test_a_complaint_deadline_extends_once_within_twice_its_period(world: World) -> None:
    request = world.requests.get("org-a", complaint(world))
    assert request is not None
    assert request.deadline.jurisdiction is Jurisdiction.GDPR
    extended = request.deadline.extend(date(2026, 11, 28))
    assert extended.due == date(2027, 1, 19)
    with pytest.raises(Conflict):
        extended.extend(date(2026, 11, 29), date(2027, 1, 18))
