"""The person is told (issue 15, point 5): after an erasure, a restriction and a correction, one email
each, with counts, reasons and field names but no data, even when the step behind it is replayed."""

from __future__ import annotations

import pytest

from callproof.contacts.model import ContactPatch
from callproof.dsar.model import Erased, RequestType, Status, Subject
from callproof.dsar.workflow import RequestCancelled
from tests.dsar_fakes import FakeStore, Killed
from tests.unit.dsar import test_dsar_service
from tests.unit.dsar.test_dsar_service import ADA, ADA_PHONE, STAFF, World, _event, request_in

world = test_dsar_service.world  # the same fixture: the in-memory world of the DSAR services


class KeepsLedger(FakeStore):
    """Erases its rows and keeps two records under a legal duty, as the accounts store does."""

    def erase(self, subject: Subject) -> Erased:
        erased = super().erase(subject)
        return Erased(deleted=erased.deleted, kept=2, kept_reasons=("consent ledger: legal obligation",))


def notices(world: World, subject_line: str) -> list[tuple[str, str, str]]:
    return [sent for sent in world.mailer.sent if sent[1] == subject_line]


def erase(world: World) -> str:
    request = world.service.create(STAFF, request_in(RequestType.ERASURE))
    world.public.confirm(world.link(ADA))
    return request.id


def test_the_erasure_notice_counts_per_store_and_names_each_exception(world: World) -> None:
    world.tasks._stores = {**world.tasks._stores, "accounts": KeepsLedger("accounts")}
    request_id = erase(world)
    assert world.run(request_id) == "Finish"
    [(to, _, text)] = notices(world, "Your privacy request: erasure complete")
    assert to == ADA
    assert "- call_logs: 2 record(s)" in text
    assert "- sms: 1 record(s)" in text
    assert "- accounts: 2 record(s), kept because: consent ledger: legal obligation" in text
    assert "suppression list" in text
    for data in (ADA, ADA_PHONE, "call 1"):  # counts, never data
        assert data not in text
    done = world.requests.get("org-a", request_id)
    assert done is not None
    assert done.identifiers.email is None  # the address goes after the notice
    assert done.stores["accounts"].kept_because == "consent ledger: legal obligation"


def test_a_replayed_finish_sends_the_erasure_notice_once(world: World) -> None:
    """The finish step sends, then dies before saving; the state machine's retry runs it again, and
    a late duplicate of the task finds the request finished."""
    request_id = erase(world)
    with pytest.raises(Killed):
        world.run(request_id, kill_at="Finish")
    attempt = world.requests.get("org-a", request_id).attempt  # type: ignore[union-attr]
    world.requests.fail_saves_after_claim = 1
    with pytest.raises(RuntimeError, match="died after sending"):
        world.tasks.run(_event("finish", attempt, request_id=request_id))
    assert world.tasks.run(_event("finish", attempt, request_id=request_id)) == {"status": "completed"}
    with pytest.raises(RequestCancelled):
        world.tasks.run(_event("finish", attempt, request_id=request_id))
    assert len(notices(world, "Your privacy request: erasure complete")) == 1
    assert world.requests.get("org-a", request_id).status is Status.COMPLETED  # type: ignore[union-attr]


def test_a_failed_erasure_notice_is_sent_by_the_retry(world: World) -> None:
    request_id = erase(world)
    world.mailer.fail_next = 1
    assert world.run(request_id) == "Finish"  # the step's Retry sends it
    assert len(notices(world, "Your privacy request: erasure complete")) == 1


def test_the_restriction_notice_says_what_changes_and_how_to_lift_it(world: World) -> None:
    world.service.create(STAFF, request_in(RequestType.RESTRICTION))
    [(to, _, text)] = notices(world, "Your privacy request: processing restricted")
    assert to == ADA
    for effect in ("no text messages", "no longer synced", "no longer matched", "To lift the restriction"):
        assert effect in text
    world.service.create(STAFF, request_in(RequestType.RESTRICTION, lift=True))
    assert len(notices(world, "Your privacy request: restriction lifted")) == 1


def test_a_restriction_whose_save_fails_after_the_email_sends_once_on_retry(world: World) -> None:
    request = world.service.create(STAFF, request_in(RequestType.RESTRICTION, start=False))
    world.requests.fail_saves_after_claim = 1
    with pytest.raises(RuntimeError):
        world.service.start(STAFF, request.id)
    assert world.service.start(STAFF, request.id).status is Status.COMPLETED
    assert len(notices(world, "Your privacy request: processing restricted")) == 1


def test_the_correction_notice_lists_the_fields_changed_once_per_correction(world: World) -> None:
    request = world.service.create(STAFF, request_in(RequestType.CORRECTION))
    ada = next(c for c in world.store.contacts.values() if ADA in c.emails)
    world.requests.fail_saves_after_claim = 1  # the request's save dies after the email went
    with pytest.raises(RuntimeError):
        world.service.correct(
            STAFF, request.id, ada.id, ContactPatch(name="Ada Lovelace", company="Analytical")
        )
    [(to, _, text)] = notices(world, "Your privacy request: data corrected")
    assert to == ADA
    assert "Fields changed: company, name." in text
    assert "Lovelace" not in text
    # A later correction of the same contact is a new version: it is told too.
    world.service.correct(STAFF, request.id, ada.id, ContactPatch(name="Ada King"))
    assert len(notices(world, "Your privacy request: data corrected")) == 2
