"""Google Contacts imports as jobs, with fakes (issue 14, point 3): one People API page per checkpoint,
resume after a crash mid-page with nothing created twice, an expired sync token, people deleted in
Google, the lease rules, and one running Google import per user."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from callproof.contacts.google_imports import GoogleImportJobs
from callproof.contacts.importer import ContactImporter
from callproof.contacts.job_runs import RunOutcome, errors_key
from callproof.contacts.jobs import ImportJobs
from callproof.contacts.model import ImportSource, ImportStatus
from callproof.contacts.service import ContactService
from callproof.errors import Conflict, Forbidden, NotFound
from callproof.mail.google_contacts import ContactsGrantConfig, GoogleContacts
from callproof.mail.model import CONTACTS_PURPOSE, GooglePerson
from callproof.oauth.model import CONTACTS_READONLY, OAuthState
from callproof.tenancy import Caller, Role
from tests.fakes import (
    FakeImportQueue,
    FixedOrgSettings,
    InMemoryContactStore,
    InMemoryImportFiles,
    InMemoryImportJobStore,
)
from tests.gmail_fakes import FakeContactsGrants, FakeOAuth, FakePeople, FakeStates, FakeVault

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
OTHER_REP = Caller("org-a", "rep-2", frozenset({Role.REP}))
OTHER_ORG = Caller("org-b", "rep-9", frozenset({Role.REP, Role.ADMIN}))
NOW = datetime(2026, 12, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    imports: GoogleImportJobs
    jobs: InMemoryImportJobStore
    files: InMemoryImportFiles
    queue: FakeImportQueue
    clock: Clock
    people: FakePeople
    grants: FakeContactsGrants
    store: InMemoryContactStore
    marked: dict[str, str] = field(default_factory=dict)  # contact id -> when marked removed in Google

    def drain(self, seconds: float = 1000.0) -> list[RunOutcome]:
        """Run queued messages until none is left, as the queue and worker would."""
        outcomes = []
        while self.queue.sent:
            org_id, import_id, token = self.queue.sent.pop(0)
            assert self.queue.sources.pop(0) is ImportSource.GOOGLE
            outcomes.append(self.imports.run(org_id, import_id, token, lambda: seconds).outcome)
        return outcomes

    def add(self, n: int, start: int = 0) -> None:
        for i in range(start, start + n):
            self.people.add(
                GooglePerson(f"Person {i}", (f"p{i}@example.com",), (), None, resource_name=f"people/c{i}")
            )

    def job(self, import_id: str, caller: Caller = REP):  # type: ignore[no-untyped-def]
        return self.imports.get(caller, import_id)[0]


@pytest.fixture
def world(store: InMemoryContactStore, orgs: FixedOrgSettings, service: ContactService) -> World:
    grants, people, vault, oauth = FakeContactsGrants(), FakePeople(page_size=3), FakeVault(), FakeOAuth()
    marked: dict[str, str] = {}

    def mark_removed(org_id: str, contact_ids: list[str], at: str) -> int:
        new = [c for c in contact_ids if c not in marked]
        marked.update(dict.fromkeys(new, at))
        return len(new)

    google = GoogleContacts(
        grants,
        oauth,
        FakeStates(),
        vault,
        people=people.api,
        mark_removed=mark_removed,  # type: ignore[arg-type]
        config=ContactsGrantConfig("https://api/oauth/google/callback"),
        clock=lambda: 1000.0,
    )
    oauth.scopes = (CONTACTS_READONLY,)
    google.complete(OAuthState("org-a", "rep-1", "verifier", CONTACTS_PURPOSE), "good-code")
    jobs, files, queue, clock = InMemoryImportJobStore(), InMemoryImportFiles(), FakeImportQueue(), Clock()
    importer = ContactImporter(store, orgs, service)
    imports = GoogleImportJobs(jobs, files, queue, lambda: importer, google, clock=clock)
    return World(imports, jobs, files, queue, clock, people, grants, store, marked)


def test_the_post_queues_one_job_that_imports_page_by_page(world: World) -> None:
    world.add(7)
    job, new = world.imports.start(REP)
    assert new is True
    assert (job.source, job.status, job.full_sync) == (ImportSource.GOOGLE, ImportStatus.RUNNING, True)
    assert world.queue.sent == [("org-a", job.id, job.lease_token)]
    assert world.drain() == [RunOutcome.DONE]
    done = world.job(job.id)
    assert (done.status, done.rows_done, done.counts["created"], done.errors) == (ImportStatus.DONE, 7, 7, 0)
    assert len(world.store.contacts) == 7
    # Three pages of three, one People API call each; the sync token saved once the last was done.
    assert world.people.calls == [(None, None), (None, "3"), (None, "6")]
    assert world.grants.sync_token("org-a", "rep-1") == "7"
    assert len(world.grants.links) == 7


def test_every_page_is_a_checkpoint_and_the_sync_token_waits_for_the_last(world: World) -> None:
    world.add(7)
    job, _ = world.imports.start(REP)
    left = iter([100.0, 100.0, 100.0, 1.0])  # the claim, two pages, then out of time
    org_id, import_id, token = world.queue.sent.pop(0)
    world.queue.sources.pop(0)
    assert world.imports.run(org_id, import_id, token, lambda: next(left)).outcome is RunOutcome.CONTINUED
    halfway = world.job(job.id)
    assert (halfway.page_token, halfway.rows_done, halfway.pages_done) == ("6", 6, False)
    assert world.grants.sync_token("org-a", "rep-1") is None  # not before the last page
    assert world.drain() == [RunOutcome.DONE]
    assert world.people.calls == [(None, None), (None, "3"), (None, "6")]  # no page read twice
    assert world.grants.sync_token("org-a", "rep-1") == "7"


def test_a_crash_mid_page_resumes_from_the_last_stored_page_and_creates_nothing_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add(8)
    job, _ = world.imports.start(REP)
    org_id, import_id, token = world.queue.sent.pop(0)
    world.queue.sources.pop(0)
    original = InMemoryImportJobStore.save
    saves = {"n": 0}

    def crash_on_the_second_page(self, job, held):  # type: ignore[no-untyped-def]
        saves["n"] += 1
        if saves["n"] >= 3:  # the claim, the first page; the second page's progress never lands
            raise RuntimeError("worker killed")
        return original(self, job, held)

    monkeypatch.setattr(InMemoryImportJobStore, "save", crash_on_the_second_page)
    with pytest.raises(RuntimeError):
        world.imports.run(org_id, import_id, token, lambda: 100.0)
    monkeypatch.setattr(InMemoryImportJobStore, "save", original)
    assert len(world.store.contacts) == 6  # the second page's contacts were stored, its checkpoint not
    assert (world.job(job.id).rows_done, world.job(job.id).page_token) == (3, "3")
    # A hard crash does not release the lease: the redelivery waits for it to expire.
    assert world.imports.run(org_id, import_id, token, lambda: 100.0).outcome is RunOutcome.SKIPPED
    world.clock.now += timedelta(seconds=200)
    assert world.imports.run(org_id, import_id, token, lambda: 100.0).outcome is RunOutcome.DONE
    done = world.job(job.id)
    assert len(world.store.contacts) == 8  # nothing created twice
    assert done.counts == {"created": 5, "updated": 0, "duplicate": 3, "rejected": 0, "suppressed": 0}
    assert done.rows_done == 8  # the first application of the second page was never counted
    assert world.people.calls == [(None, None), (None, "3"), (None, "3"), (None, "6")]
    assert len(world.grants.links) == 8


def test_an_exception_releases_the_lease_for_the_redelivery(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add(2)
    world.imports.start(REP)
    org_id, import_id, token = world.queue.sent.pop(0)
    world.queue.sources.pop(0)

    def throttled(*args: object) -> None:
        raise RuntimeError("Google answered 503 after every retry")

    monkeypatch.setattr(world.people, "connections_page", throttled)
    with pytest.raises(RuntimeError):
        world.imports.run(org_id, import_id, token, lambda: 100.0)
    monkeypatch.undo()
    job = world.job(import_id)
    assert job.lease_until is not None
    assert job.lease_until <= world.clock.now  # released: the redelivery takes over at once
    assert world.imports.run(org_id, import_id, token, lambda: 100.0).outcome is RunOutcome.DONE
    assert len(world.store.contacts) == 2


def test_a_grant_removed_meanwhile_fails_the_job_with_a_message(world: World) -> None:
    world.add(2)
    job, _ = world.imports.start(REP)
    world.grants.grants.clear()  # the user disconnected Google Contacts before the worker ran
    assert world.drain() == [RunOutcome.FAILED]
    failed = world.job(job.id)
    assert failed.status is ImportStatus.FAILED
    assert failed.message is not None
    assert "authorize?contacts=true" in failed.message
    assert world.store.contacts == {}


def test_a_post_losing_a_race_answers_the_winners_job(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.add(1)
    create_current = InMemoryImportJobStore.create_current
    winner: dict[str, str] = {}

    def another_post_first(self, job, replaces):  # type: ignore[no-untyped-def]
        if not winner:  # a concurrent POST creates its job between our read and our write
            monkeypatch.setattr(InMemoryImportJobStore, "create_current", create_current)
            won, _ = world.imports.start(REP)
            winner["id"] = won.id
        return create_current(self, job, replaces)

    monkeypatch.setattr(InMemoryImportJobStore, "create_current", another_post_first)
    answered, new = world.imports.start(REP)
    assert (answered.id, new) == (winner["id"], False)
    assert len(world.jobs.jobs) == 1


def test_only_one_run_holds_a_job(world: World) -> None:
    world.add(7)
    world.imports.start(REP)
    org_id, import_id, token = world.queue.sent.pop(0)
    world.queue.sources.pop(0)
    left = iter([100.0, 100.0, 1.0])
    assert world.imports.run(org_id, import_id, token, lambda: next(left)).outcome is RunOutcome.CONTINUED
    # A duplicate of the first message while the run's lease holds: dropped.
    assert world.imports.run(org_id, import_id, token, lambda: 100.0).outcome is RunOutcome.SKIPPED
    continuation = world.queue.sent[0][2]
    assert world.drain() == [RunOutcome.DONE]
    assert world.imports.run(org_id, import_id, continuation, lambda: 100.0).outcome is RunOutcome.SKIPPED
    assert len(world.store.contacts) == 7


def test_a_csv_worker_never_runs_a_google_job(world: World) -> None:
    world.add(1)
    job, _ = world.imports.start(REP)
    csv = ImportJobs(world.jobs, world.files, world.queue, world.imports._importer())
    assert csv.run("org-a", job.id, job.lease_token or "", lambda: 100.0).outcome is RunOutcome.SKIPPED
    with pytest.raises(Conflict):
        csv.start(REP, job.id)
    assert world.job(job.id).status is ImportStatus.RUNNING


def test_an_expired_sync_token_restarts_as_a_full_sync(world: World) -> None:
    world.add(2)
    world.imports.start(REP)
    world.drain()
    world.add(1, start=2)
    world.people.expired_before = 100  # Google expired the stored token
    job, _ = world.imports.start(REP)
    assert (job.sync_from, job.full_sync) == ("2", False)
    assert world.drain() == [RunOutcome.DONE]
    done = world.job(job.id)
    assert (done.full_sync, done.sync_from) == (True, None)
    assert done.counts["created"] == 1
    assert done.counts["duplicate"] == 2  # everyone read again; nobody created twice
    assert world.people.calls[-2:] == [("2", None), (None, None)]
    assert world.grants.sync_token("org-a", "rep-1") == "3"


def test_later_imports_read_only_changes_and_deleted_people_mark_their_contacts(world: World) -> None:
    world.add(3)
    first, _ = world.imports.start(REP)
    world.drain()
    ada = world.grants.links[("org-a", "rep-1", "people/c0")]
    world.people.delete("people/c0")
    world.people.add(GooglePerson("", (), (), None, deleted=True, resource_name="people/c99"))  # not ours
    second, _ = world.imports.start(REP)
    assert world.drain() == [RunOutcome.DONE]
    done = world.job(second.id)
    assert (done.full_sync, done.removed_in_google, done.rows_done) == (False, 1, 0)
    assert list(world.marked) == [ada]
    assert ("org-a", ada) in world.store.contacts  # marked, never deleted
    assert world.people.calls[-1] == ("3", None)


def test_rejected_people_go_to_the_errors_file(world: World) -> None:
    world.people.add(GooglePerson("", (), (), None, resource_name="people/c1"))  # no name, no email
    world.add(1, start=2)
    job, _ = world.imports.start(REP)
    world.drain()
    done, url = world.imports.get(REP, job.id)
    assert (done.errors, done.counts["rejected"], done.counts["created"]) == (1, 1, 1)
    assert url == f"https://downloads.example/{errors_key('org-a', job.id)}"
    lines = world.files.objects[errors_key("org-a", job.id)].decode().splitlines()
    assert lines[0] == "line,status,field,reason"
    assert lines[1].startswith("1,rejected,name,")


def test_a_second_post_while_running_answers_the_running_job(world: World) -> None:
    world.add(4)
    job, new = world.imports.start(REP)
    again, new_again = world.imports.start(REP)
    assert (again.id, new, new_again) == (job.id, True, False)
    assert len(world.jobs.jobs) == 1
    # No run has taken it yet (the first send may have failed): queued again with the same token, and
    # the lease lets one of the two messages run it.
    assert world.queue.sent == [("org-a", job.id, job.lease_token)] * 2
    assert world.drain() == [RunOutcome.DONE, RunOutcome.SKIPPED]


def test_a_running_job_no_run_holds_is_queued_again_and_a_done_one_is_replaced(world: World) -> None:
    world.add(4)
    job, _ = world.imports.start(REP)
    org_id, import_id, token = world.queue.sent.pop(0)
    world.queue.sources.pop(0)
    left = iter([100.0, 1.0])
    assert world.imports.run(org_id, import_id, token, lambda: next(left)).outcome is RunOutcome.CONTINUED
    world.queue.sent.clear()  # the continuation was lost (dead-lettered after its receives)
    world.queue.sources.clear()
    held, _ = world.imports.start(REP)  # its lease still holds: nothing sent
    assert (held.id, world.queue.sent) == (job.id, [])
    world.clock.now += timedelta(minutes=10)
    idle, new = world.imports.start(REP)  # no run holds it any more: queued again, still one job
    assert (idle.id, new, len(world.queue.sent)) == (job.id, False, 1)
    assert world.drain() == [RunOutcome.DONE]
    latest, new = world.imports.start(REP)  # the last one is done: a new job
    assert (latest.id != job.id, new) == (True, True)


def test_the_grant_is_checked_before_anything_is_queued(world: World) -> None:
    with pytest.raises(Conflict) as refused:
        world.imports.start(OTHER_REP)  # no Google Contacts grant
    assert refused.value.code == "google_scope_missing"
    assert world.queue.sent == []
    assert world.jobs.jobs == {}


def test_another_org_never_sees_the_job_and_viewers_cannot_start(world: World) -> None:
    world.add(1)
    job, _ = world.imports.start(REP)
    with pytest.raises(NotFound):
        world.imports.get(OTHER_ORG, job.id)
    with pytest.raises(Forbidden):
        world.imports.start(Caller("org-a", "rep-1", frozenset({Role.COMPLIANCE})))
