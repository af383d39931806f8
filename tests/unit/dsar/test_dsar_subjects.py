"""Whom a request is about: only proven identifiers reach data, ambiguous subjects go to a person."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callproof.accounts.model import Member
from callproof.contacts.model import ContactIn, ContactType
from callproof.contacts.service import ContactService
from callproof.dsar.model import CandidateKind, Identifiers, Proof
from callproof.dsar.subjects import SubjectResolver
from callproof.tenancy import Caller, Role
from tests.fakes import FixedOrgSettings, InMemoryContactStore, InMemoryMemberStore

ADMIN = Caller("org-a", "admin-1", frozenset({Role.ADMIN, Role.REP}))
SWITCHBOARD = "+14155550150"


class Org:
    def __init__(self) -> None:
        self.store = InMemoryContactStore()
        self.contacts = ContactService(self.store, FixedOrgSettings("US"))
        self.members = InMemoryMemberStore()
        self.resolver = SubjectResolver(self.store, self.members)

    def contact(self, name: str, emails: list[str], phones: list[str]) -> str:
        created = self.contacts.create(
            ADMIN, ContactIn(name=name, type=ContactType.CUSTOMER, emails=emails, phones=phones)
        )
        return created.id

    def member(self, user_id: str, email: str) -> None:
        self.members.put(None, Member("org-a", user_id, email, user_id.title()))


def proven(**values: str) -> Identifiers:
    identifiers = Identifiers(**values)  # type: ignore[arg-type]
    return replace(identifiers, proven=identifiers.given)


@pytest.fixture
def org() -> Org:
    return Org()


def test_an_unproven_phone_reaches_nothing(org: Org) -> None:
    org.contact("Victim", ["victim@example.com"], ["+14155550100"])
    mallory = Identifiers(email="mallory@evil.example", phone="+14155550100", proven=frozenset({Proof.EMAIL}))
    resolution = org.resolver.resolve("org-a", mallory)
    assert resolution.subject is not None
    assert resolution.subject.emails == {"mallory@evil.example"}
    assert resolution.subject.phones == frozenset()
    assert resolution.subject.contact_ids == frozenset()


def test_a_proven_identifier_brings_its_contact_and_its_other_addresses(org: Org) -> None:
    ada = org.contact("Ada", ["ada@example.com", "ada@work.example"], ["+14155550100", "+14155550101"])
    org.contact("Bob", ["bob@example.com"], ["+14155550199"])
    resolution = org.resolver.resolve("org-a", proven(phone="+14155550101"))
    assert resolution.candidates == ()
    assert resolution.subject is not None
    assert resolution.subject.contact_ids == {ada}
    assert resolution.subject.emails == {"ada@example.com", "ada@work.example"}
    assert resolution.subject.phones == {"+14155550100", "+14155550101"}
    assert resolution.subject.user_ids == frozenset()


def test_a_switchboard_number_goes_to_review_with_every_contact(org: Org) -> None:
    ids = sorted(org.contact(name, [f"{name}@corp.example"], [SWITCHBOARD]) for name in ("a", "b", "c"))
    resolution = org.resolver.resolve("org-a", proven(email="a@corp.example", phone=SWITCHBOARD))
    assert resolution.subject is None
    assert [(c.kind, c.id) for c in resolution.candidates] == [(CandidateKind.CONTACT, i) for i in ids]
    via = {c.id: c.via for c in resolution.candidates}
    a = next(i for i in ids if "email" in via[i])
    assert via[a] == ("email", "phone")
    assert all(via[i] == ("phone",) for i in ids if i != a)


def test_expanding_to_a_number_shared_with_someone_else_goes_to_review(org: Org) -> None:
    eve = org.contact("Eve", ["eve@example.com"], [SWITCHBOARD])
    colleague = org.contact("Colleague", ["col@example.com"], [SWITCHBOARD])
    resolution = org.resolver.resolve("org-a", proven(email="eve@example.com"))
    assert resolution.subject is None
    via = {c.id: c.via for c in resolution.candidates}
    assert via == {eve: ("email",), colleague: (f"phone of contact {eve}",)}


def test_an_org_members_account_goes_to_review(org: Org) -> None:
    org.member("user-1", "Grace@CallProof.example")
    resolution = org.resolver.resolve("org-a", proven(email="grace@callproof.example"))
    assert resolution.subject is None
    assert [(c.kind, c.id, c.via) for c in resolution.candidates] == [
        (CandidateKind.USER, "user-1", ("email",))
    ]


def test_a_member_reached_through_a_contacts_other_email_goes_to_review(org: Org) -> None:
    grace = org.contact("Grace", ["grace@home.example", "grace@callproof.example"], [])
    org.member("user-1", "grace@callproof.example")
    resolution = org.resolver.resolve("org-a", proven(email="grace@home.example"))
    assert resolution.subject is None
    assert {(c.kind, c.id, c.via) for c in resolution.candidates} == {
        (CandidateKind.CONTACT, grace, ("email",)),
        (CandidateKind.USER, "user-1", (f"email of contact {grace}",)),
    }


def test_staff_choice_leaves_out_what_the_subject_shares_with_others(org: Org) -> None:
    a = org.contact("a", ["a@corp.example"], [SWITCHBOARD, "+14155550111"])
    org.contact("b", ["b@corp.example"], [SWITCHBOARD])
    org.member("user-1", "a@corp.example")
    subject = org.resolver.chosen("org-a", proven(email="a@corp.example", phone=SWITCHBOARD), [a], [])
    assert subject.contact_ids == {a}
    assert subject.phones == {"+14155550111"}  # the switchboard reaches b too
    assert subject.emails == frozenset()  # the member (not chosen) signs in with it
    with_user = org.resolver.chosen("org-a", proven(email="a@corp.example"), [a], ["user-1"])
    assert with_user.emails == {"a@corp.example"}
    assert with_user.user_ids == {"user-1"}


def test_a_staff_contact_id_is_proven_and_unknown_ids_reach_nothing(org: Org) -> None:
    ada = org.contact("Ada", ["ada@example.com"], [])
    found = org.resolver.resolve("org-a", proven(contact_id=ada)).subject
    assert found is not None
    assert found.contact_ids == {ada}
    assert found.emails == {"ada@example.com"}
    nobody = org.resolver.resolve("org-a", proven(contact_id="no-such-contact")).subject
    assert nobody is not None
    assert nobody.empty


@settings(max_examples=40, deadline=None)
@given(
    owners=st.lists(st.sets(st.integers(0, 3), min_size=1, max_size=3), min_size=1, max_size=4),
    phone_proven=st.booleans(),
)
def test_property_a_subject_never_reaches_a_contact_not_tied_to_a_proven_identifier(
    owners: list[set[int]], phone_proven: bool
) -> None:
    """Numbers 0-3 are each held by some of four contacts; the requester proves contact 0's email
    (and maybe number 0). Whatever the sharing, either the request goes to review, or the subject
    holds only contacts a proven identifier names and numbers no other contact holds."""
    org = Org()
    numbers = [f"+1415555{index:04d}" for index in range(110, 114)]
    holdings = {
        person: [numbers[n] for n, held in enumerate(owners) if person in held] for person in range(4)
    }
    ids = [org.contact(f"p{person}", [f"p{person}@example.com"], holdings[person]) for person in range(4)]
    identifiers = Identifiers(email="p0@example.com", phone=numbers[0])
    identifiers = replace(identifiers, proven=identifiers.given if phone_proven else frozenset({Proof.EMAIL}))
    resolution = org.resolver.resolve("org-a", identifiers)
    if resolution.subject is None:
        assert resolution.candidates
        assert ids[0] in {c.id for c in resolution.candidates}
        return
    subject = resolution.subject
    direct = {ids[p] for p in range(4) if phone_proven and numbers[0] in holdings[p]}
    assert subject.contact_ids <= {ids[0]} | direct
    outside = {number for p in range(4) if ids[p] not in subject.contact_ids for number in holdings[p]}
    assert not subject.phones & outside


def test_an_unproven_email_or_contact_id_reaches_nothing(org: Org) -> None:
    victim = org.contact("Victim", ["victim@example.com"], ["+14155550100"])
    mine = org.contact("Mallory", ["mallory@evil.example"], ["+14155550166"])
    claims = Identifiers(email="victim@example.com", phone="+14155550166", contact_id=victim)
    resolution = org.resolver.resolve("org-a", replace(claims, proven=frozenset({Proof.PHONE})))
    assert resolution.subject is not None
    assert resolution.subject.contact_ids == {mine}
    assert resolution.subject.emails == {"mallory@evil.example"}
    assert resolution.subject.phones == {"+14155550166"}
    # A proven email with an unproven contact id: the id names nobody.
    mallory = Identifiers(email="mallory@evil.example", contact_id=victim, proven=frozenset({Proof.EMAIL}))
    assert org.resolver.resolve("org-a", mallory).subject == resolution.subject


def test_the_subject_belongs_to_the_org_it_was_resolved_in(org: Org) -> None:
    ada = org.contact("Ada", ["ada@example.com"], [])
    resolved = org.resolver.resolve("org-a", proven(email="ada@example.com")).subject
    assert resolved is not None
    assert resolved.org_id == "org-a"
    assert org.resolver.chosen("org-a", proven(email="ada@example.com"), [ada], []).org_id == "org-a"


def test_two_contacts_sharing_an_identifier_go_to_review(org: Org) -> None:
    """Two are enough to be ambiguous, and an identifier that names one contact does not make the
    other identifier, which names two, any clearer."""
    ada = org.contact("Ada", ["family@example.com"], ["+14155550100"])
    bob = org.contact("Bob", ["family@example.com"], [])
    for identifiers in (
        proven(email="family@example.com"),
        proven(email="family@example.com", phone="+14155550100"),
    ):
        resolution = org.resolver.resolve("org-a", identifiers)
        assert resolution.subject is None
        assert {c.id for c in resolution.candidates} == {ada, bob}


def test_a_staff_contact_id_whose_number_is_shared_goes_to_review(org: Org) -> None:
    ada = org.contact("Ada", [], ["+14155550100"])
    flatmate = org.contact("Flatmate", [], ["+14155550100"])
    resolution = org.resolver.resolve("org-a", proven(contact_id=ada))
    assert resolution.subject is None
    assert {c.id: c.via for c in resolution.candidates} == {
        ada: ("contact_id",),
        flatmate: (f"phone of contact {ada}",),
    }


def test_another_email_of_the_contact_shared_with_someone_else_goes_to_review(org: Org) -> None:
    ada = org.contact("Ada", ["ada@example.com", "team@corp.example"], ["+14155550100"])
    colleague = org.contact("Colleague", ["team@corp.example"], [])
    resolution = org.resolver.resolve("org-a", proven(phone="+14155550100"))
    assert resolution.subject is None
    assert {c.id: c.via for c in resolution.candidates} == {
        ada: ("phone",),
        colleague: (f"email of contact {ada}",),
    }


def test_candidates_name_every_contact_an_address_came_from(org: Org) -> None:
    """Reached through an address two candidates hold: the label names both ids."""
    a = org.contact("a", ["desk@corp.example"], [SWITCHBOARD, "+14155550122"])
    b = org.contact("b", ["desk@corp.example"], [SWITCHBOARD, "+14155550122"])
    c = org.contact("c", [], ["+14155550122"])
    org.member("user-1", "desk@corp.example")
    resolution = org.resolver.resolve("org-a", proven(phone=SWITCHBOARD))
    assert resolution.subject is None
    both = ",".join(sorted((a, b)))
    assert {c.id: c.via for c in resolution.candidates} == {
        a: ("phone",),
        b: ("phone",),
        c: (f"phone of contact {both}",),
        "user-1": (f"email of contact {both}",),
    }


def test_without_a_member_directory_contacts_alone_decide(org: Org) -> None:
    """Where no accounts table is configured, the resolver runs without members."""
    ada = org.contact("Ada", ["ada@example.com"], ["+14155550100"])
    resolver = SubjectResolver(org.store, None)
    resolved = resolver.resolve("org-a", proven(email="ada@example.com")).subject
    assert resolved is not None
    assert resolved.contact_ids == {ada}
    chosen = resolver.chosen("org-a", proven(email="ada@example.com"), [ada], [])
    assert chosen.emails == {"ada@example.com"}
    assert chosen.phones == {"+14155550100"}


def test_staff_choice_keeps_the_proven_identifiers_that_no_contact_holds(org: Org) -> None:
    """The person's own address and number stay in the subject even when the chosen contact does
    not list them: their SMS ledger and mail are found by those."""
    a = org.contact("a", ["a@corp.example", "team@corp.example"], [SWITCHBOARD, "+14155550111"])
    org.contact("b", ["team@corp.example"], [SWITCHBOARD])
    identifiers = proven(email="a.private@example.com", phone="+14155550177")
    subject = org.resolver.chosen("org-a", identifiers, [a], [])
    assert subject.emails == {"a.private@example.com", "a@corp.example"}  # team@ reaches b too
    assert subject.phones == {"+14155550177", "+14155550111"}  # the switchboard reaches b too
