"""The Google Contacts grant and the pages its import job reads, with fakes (issue 17, points 4 and 7;
issue 14, point 3): a grant of its own, ``login_hint`` on every consent URL, one People API page at a
time, people deleted in Google marking their CRM contacts. The job itself:
tests/unit/contacts/test_google_import_jobs.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from callproof.errors import Conflict, InvalidInput
from callproof.mail.google_contacts import ContactsGrantConfig, GoogleContacts
from callproof.mail.model import CONTACTS_PURPOSE, GmailConfig, GooglePerson
from callproof.mail.service import GmailService
from callproof.oauth.model import CONTACTS_READONLY, GMAIL_READONLY
from callproof.tenancy import Caller, Role
from tests.gmail_fakes import (
    FakeBlobs,
    FakeContactsGrants,
    FakeGmail,
    FakeIndex,
    FakeIntegrations,
    FakeMatcher,
    FakeOAuth,
    FakePeople,
    FakeStates,
    FakeVault,
)

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
EMAIL = "rep.one@callproof.test"


@dataclass
class World:
    service: GmailService
    oauth: FakeOAuth
    states: FakeStates
    grants: FakeContactsGrants
    integrations: FakeIntegrations
    people: FakePeople
    now: list[float]
    contacts: GoogleContacts
    marked: list[tuple[str, list[str], str]] = field(default_factory=list)

    def consent(self, contacts: bool, scopes: tuple[str, ...]) -> str:
        url = self.service.authorize(REP, contacts=contacts)
        self.oauth.scopes = scopes
        return self.service.callback(url.split("state=")[1].split("&")[0], "good-code").grant


@pytest.fixture
def world() -> World:
    now = [1000.0]
    oauth, states, grants, integrations, people = (
        FakeOAuth(),
        FakeStates(),
        FakeContactsGrants(),
        FakeIntegrations(),
        FakePeople(),
    )
    marked: list[tuple[str, list[str], str]] = []

    def mark_removed(org_id: str, contact_ids: list[str], at: str) -> int:
        marked.append((org_id, list(contact_ids), at))
        return len(contact_ids)

    vault = FakeVault()
    redirect = "https://api/oauth/google/callback"
    contacts = GoogleContacts(
        grants,
        oauth,
        states,
        vault,
        people=people.api,
        mark_removed=mark_removed,  # type: ignore[arg-type]
        config=ContactsGrantConfig(redirect),
        clock=lambda: now[0],
    )
    service = GmailService(
        integrations=integrations,  # type: ignore[arg-type]
        index=FakeIndex(),  # type: ignore[arg-type]
        blobs=FakeBlobs(),  # type: ignore[arg-type]
        contacts=FakeMatcher({}),  # type: ignore[arg-type]
        oauth=oauth,  # type: ignore[arg-type]
        states=states,  # type: ignore[arg-type]
        vault=vault,
        gmail=FakeGmail().api,
        config=GmailConfig("projects/p/topics/t", redirect, 30),
        clock=lambda: now[0],
        google_contacts=contacts,
        member_email=lambda org, user: EMAIL if (org, user) == ("org-a", "rep-1") else None,
    )
    return World(service, oauth, states, grants, integrations, people, now, contacts, marked)


def test_a_contacts_grant_without_gmail_asks_for_contacts_alone_and_reads_people(world: World) -> None:
    assert world.consent(True, (CONTACTS_READONLY,)) == "contacts"
    assert world.oauth.asked == [((CONTACTS_READONLY,), EMAIL, False)]  # no Gmail scope, not incremental
    assert world.integrations.get("org-a", "rep-1") is None  # no mailbox was connected or watched
    world.contacts.check(REP)  # the grant is there
    world.people.add(
        GooglePerson(
            "Ada L", ("ada@customer.example",), ("+1 415 555 0100",), "Acme", resource_name="people/c1"
        )
    )
    page = world.contacts.page(REP, None, None)
    assert (page.next_page_token, page.next_sync_token, page.restarted, page.deleted) == (
        None,
        "1",
        False,
        [],
    )
    assert page.records == [
        (
            "people/c1",
            {
                "type": "prospect",
                "name": "Ada L",
                "company": "Acme",
                "emails": ["ada@customer.example"],
                "phones": ["+1 415 555 0100"],
            },
        )
    ]


def test_people_are_read_one_page_at_a_time(world: World) -> None:
    world.consent(True, (CONTACTS_READONLY,))
    world.people.page_size = 2
    for n in range(5):
        world.people.add(GooglePerson(f"P{n}", (f"p{n}@x.example",), (), None, resource_name=f"people/c{n}"))
    first = world.contacts.page(REP, None, None)
    second = world.contacts.page(REP, None, first.next_page_token)
    last = world.contacts.page(REP, None, second.next_page_token)
    assert [len(p.records) for p in (first, second, last)] == [2, 2, 1]
    assert [p.next_sync_token for p in (first, second, last)] == [None, None, "5"]
    assert last.next_page_token is None
    assert world.people.calls == [(None, None), (None, "2"), (None, "4")]


def test_with_a_gmail_grant_the_contacts_consent_is_incremental(world: World) -> None:
    assert world.consent(False, (GMAIL_READONLY,)) == "gmail"
    assert world.consent(True, (GMAIL_READONLY, CONTACTS_READONLY)) == "contacts"
    assert world.oauth.asked == [((GMAIL_READONLY,), EMAIL, False), ((CONTACTS_READONLY,), EMAIL, True)]


def test_a_gmail_grant_never_implies_contacts(world: World) -> None:
    world.consent(False, (GMAIL_READONLY, CONTACTS_READONLY))  # even a Gmail token carrying the scope
    with pytest.raises(Conflict) as refused:
        world.contacts.check(REP)
    assert refused.value.code == "google_scope_missing"
    with pytest.raises(Conflict) as read:
        world.contacts.page(REP, None, None)
    assert read.value.code == "google_scope_missing"


def test_a_contacts_consent_without_the_scope_is_refused_revoked_and_stores_nothing(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.consent(True, ())
    assert world.oauth.revoked == ["refresh-1"]
    assert world.grants.grants == {}


def test_a_contacts_state_is_single_use_and_bound_to_its_purpose(world: World) -> None:
    url = world.service.authorize(REP, contacts=True)
    state = url.split("state=")[1].split("&")[0]
    assert world.states.states[state].purpose == CONTACTS_PURPOSE
    world.oauth.scopes = (CONTACTS_READONLY,)
    world.service.callback(state, "good-code")
    with pytest.raises(InvalidInput):
        world.service.callback(state, "good-code")  # replayed
    url = world.service.authorize(REP, contacts=True)
    with pytest.raises(InvalidInput):  # a Gmail-only completion does not take a contacts state
        world.service.complete(url.split("state=")[1].split("&")[0], "good-code")


def test_people_deleted_in_google_mark_their_linked_contacts_once(world: World) -> None:
    world.consent(True, (CONTACTS_READONLY,))
    world.people.add(GooglePerson("Ada L", ("ada@x.example",), (), None, resource_name="people/c1"))
    world.people.add(GooglePerson("Bob", ("bob@x.example",), (), None, resource_name="people/c2"))
    first = world.contacts.page(REP, None, None)
    assert world.contacts.record(REP, {"people/c1": "c-ada", "people/c2": "c-bob"}, first.deleted) == 0
    world.contacts.finish(REP, first.next_sync_token)
    assert world.contacts.sync_token(REP) == "2"
    world.now[0] = 1_800_000_000.0
    world.people.delete("people/c1")
    world.people.add(GooglePerson("", (), (), None, deleted=True, resource_name="people/c99"))  # never ours
    changes = world.contacts.page(REP, "2", None)
    assert (changes.records, changes.deleted) == ([], ["people/c1", "people/c99"])  # never imported
    assert world.contacts.record(REP, {}, changes.deleted) == 1
    assert world.marked == [("org-a", ["c-ada"], "2027-01-15T08:00:00+00:00")]


def test_an_expired_sync_token_gives_the_first_page_of_a_full_sync(world: World) -> None:
    world.consent(True, (CONTACTS_READONLY,))
    world.people.add(GooglePerson("Ada L", ("ada@x.example",), (), None, resource_name="people/c1"))
    world.people.expired_before = 100
    page = world.contacts.page(REP, "7", "3")
    assert page.restarted is True
    assert [name for name, _ in page.records] == ["people/c1"]
    assert world.people.calls == [("7", "3"), (None, None)]


def test_an_expired_token_is_refreshed_and_a_revoked_grant_is_dropped(world: World) -> None:
    world.consent(True, (CONTACTS_READONLY,))
    world.now[0] = 20_000.0  # past the fake token's expiry
    world.contacts.page(REP, None, None)
    assert world.oauth.refreshes == 1
    world.now[0] = 1e13
    world.oauth.grant_revoked = True
    with pytest.raises(Conflict):
        world.contacts.page(REP, None, None)
    assert world.grants.grants == {}


def test_removal_revokes_a_contacts_only_grant(world: World) -> None:
    world.consent(True, (CONTACTS_READONLY,))
    result = world.service.remove(REP, purge=False)
    assert (result.revoked, world.grants.grants, world.oauth.revoked) == (True, {}, ["refresh-1"])
