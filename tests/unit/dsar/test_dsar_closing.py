"""A request that closes loses the person's identifiers (issue 16 point 1, ADR 0022): whatever closes
it (completed, cancelled, expired, answered), in the same write as its status; it keeps its ids, type,
dates, deadline, per-store counts, timeline and outcome. Idempotent: a replayed step changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from callproof.dsar.api import AnswerIn, PublicRequestIn, RequestOut
from callproof.dsar.deadline_check import deadline_states
from callproof.dsar.deadlines import Deadline, Jurisdiction
from callproof.dsar.model import (
    OPEN_STATUSES,
    DsarRequest,
    Identifiers,
    Proof,
    RequestType,
    Status,
    StoreProgress,
    Subject,
)
from callproof.dsar.workflow import RequestCancelled, TaskEvent
from tests.unit.dsar import test_dsar_service
from tests.unit.dsar.test_dsar_service import ADA, ADA_PHONE, NOW, STAFF, World, request_in

world = test_dsar_service.world  # the same fixture: the in-memory world of the DSAR services


def _stored(world: World, request_id: str) -> DsarRequest:
    request = world.requests.get("org-a", request_id)
    assert request is not None
    return request


def _assert_no_identifier(request: DsarRequest) -> None:
    assert request.status not in OPEN_STATUSES
    assert request.identifiers.email is None
    assert request.identifiers.phone is None
    assert request.details is None
    assert request.recipient_email is None
    assert request.verification is None
    assert request.subject is None or not (request.subject.emails or request.subject.phones)
    assert request.identifiers_removed_at is not None
    text = repr(request)
    assert ADA not in text
    assert ADA_PHONE not in text


def _open_request() -> DsarRequest:
    return DsarRequest(
        org_id="org-a",
        id="r1",
        type=RequestType.PORTABILITY,
        status=Status.IN_PROGRESS,
        deadline=Deadline(Jurisdiction.GDPR, date(2026, 11, 20)),
        identifiers=Identifiers(
            email=ADA, phone=ADA_PHONE, contact_id="c-1", proven=frozenset({Proof.EMAIL})
        ),
        created_at=NOW,
        created_by="staff-1",
        verification="passport of Ada Lovelace checked",
        details="my name is Ada Lovelace",
        recipient_email="dpo@other.example",
        subject=Subject(
            "org-a", frozenset({ADA}), frozenset({ADA_PHONE}), frozenset({"c-1"}), frozenset({"u-1"})
        ),
        stores={"call_logs": StoreProgress(rows=2)},
        export_key="exports/org-a/r1.zip",
    )


def test_closing_keeps_ids_and_counts_and_drops_what_names_the_person() -> None:
    request = _open_request()
    closed = request.with_status(Status.COMPLETED, NOW)
    _assert_no_identifier(closed)
    assert closed.identifiers == Identifiers(contact_id="c-1", proven=frozenset({Proof.EMAIL}))
    assert closed.subject == Subject("org-a", contact_ids=frozenset({"c-1"}), user_ids=frozenset({"u-1"}))
    assert (closed.id, closed.type, closed.deadline, closed.created_at) == (
        request.id,
        request.type,
        request.deadline,
        request.created_at,
    )
    assert closed.stores == request.stores
    assert closed.export_key == request.export_key
    assert closed.timeline[-1].event == "completed"
    assert closed.identifiers_removed_at == NOW


def test_closing_twice_changes_nothing_and_keeps_the_first_time() -> None:
    closed = _open_request().with_status(Status.CANCELLED, NOW)
    again = closed.closing(NOW + timedelta(days=1))
    assert again == closed


@pytest.mark.parametrize("status", sorted(OPEN_STATUSES))
def test_an_open_status_keeps_the_identifiers(status: Status) -> None:
    moved = _open_request().with_status(status, NOW)
    assert moved.identifiers.email == ADA
    assert moved.details is not None
    assert moved.identifiers_removed_at is None


def test_a_completed_export_keeps_its_counts_and_its_emailed_link_works(world: World) -> None:
    request = world.service.create(STAFF, request_in(RequestType.ACCESS))
    assert _stored(world, request.id).identifiers.email == ADA  # open: still there
    assert world.run(request.id) == "Finish"
    done = _stored(world, request.id)
    _assert_no_identifier(done)
    assert done.stores["call_logs"].rows == 2
    assert done.subject is not None
    assert done.subject.contact_ids
    assert world.public.public_download(world.link(ADA)).startswith("https://exports.example/")
    out = RequestOut.of(done, NOW.date()).model_dump(mode="json")
    assert out["subject"]["email"] is None
    assert out["subject"]["removed_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert out["verification"] is None


def test_a_replayed_finish_changes_nothing(world: World) -> None:
    request = world.service.create(STAFF, request_in(RequestType.ACCESS))
    world.run(request.id)
    done = _stored(world, request.id)
    world.clock[0] = NOW + timedelta(hours=1)
    event = TaskEvent.model_validate(
        {"step": "finish", "org_id": "org-a", "request_id": request.id, "attempt": done.attempt}
    )
    with pytest.raises(RequestCancelled):
        world.tasks.run(event)
    assert _stored(world, request.id) == done


def test_an_erasure_suppresses_from_the_identifiers_before_they_go(world: World) -> None:
    request = world.service.create(
        STAFF, request_in(RequestType.ERASURE, subject={"email": ADA, "phone": ADA_PHONE})
    )
    world.public.confirm(world.link(ADA))
    assert world.run(request.id) == "Finish"
    _assert_no_identifier(_stored(world, request.id))
    assert ("org-a", ADA) in world.suppression.entries
    assert ("org-a", ADA_PHONE) in world.suppression.entries
    notice = (ADA, "Your privacy request: erasure complete")
    assert notice in [(to, subject) for to, subject, _ in world.mailer.sent]  # told before the address went


def test_portability_loses_the_recipient_once_delivered(world: World) -> None:
    request = world.service.create(
        STAFF, request_in(RequestType.PORTABILITY, recipient_email="dpo@other.example")
    )
    world.run(request.id)
    assert "dpo@other.example" in [to for to, _, _ in world.mailer.sent]
    _assert_no_identifier(_stored(world, request.id))


def test_cancelled_answered_and_expired_requests_lose_them_too(world: World) -> None:
    cancelled = world.service.create(STAFF, request_in(RequestType.ERASURE))
    world.service.cancel(STAFF, cancelled.id, "withdrawn")
    _assert_no_identifier(_stored(world, cancelled.id))

    complaint = world.service.create(STAFF, request_in(RequestType.COMPLAINT, details="Ada was texted"))
    answer = AnswerIn(outcome="We fixed it.", steps="We looked.")
    world.service.answer(STAFF, complaint.id, answer)
    answered = _stored(world, complaint.id)
    _assert_no_identifier(answered)
    assert answered.answer is not None
    assert "We fixed it." in answered.answer

    body = PublicRequestIn.model_validate(
        {"org_id": "org-a", "type": "access", "email": ADA, "jurisdiction": "gdpr"}
    )
    pending = world.public.public_request(body, "198.51.100.7")
    later = datetime(2026, 12, 10, tzinfo=UTC)
    counts = deadline_states(world.requests, later)
    assert counts["expired"] == 1
    _assert_no_identifier(_stored(world, pending.id))


def test_a_save_of_an_open_request_keeps_them(world: World) -> None:
    request = world.service.create(STAFF, request_in(RequestType.CORRECTION))
    waiting = _stored(world, request.id)
    assert waiting.status is Status.AWAITING_CORRECTION
    assert waiting.identifiers.email == ADA
    assert waiting.verification is not None
    assert waiting.identifiers_removed_at is None
