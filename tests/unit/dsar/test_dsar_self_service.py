"""A member's own requests (issue 15, point 3): export their account data at once, delete their
account once confirmed by email with their business records reassigned to an admin, and an org's
last admin refused."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from callproof.accounts.model import Member
from callproof.dsar.model import RequestType, Status, Subject
from callproof.dsar.self_service import LastAdmin, SelfService, successor
from callproof.errors import Conflict, NotFound
from callproof.tenancy import Caller, Role
from tests.unit.dsar import test_dsar_service
from tests.unit.dsar.test_dsar_service import World

world = test_dsar_service.world  # the same fixture: the in-memory world of the DSAR services
REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
BOSS = Caller("org-a", "admin-1", frozenset({Role.ADMIN}))
JOINED = datetime(2026, 1, 1, tzinfo=UTC)


class FakeRecords:
    """Business records per (org, owner): what ``reassign`` moved is counted, a replay moves none."""

    def __init__(self, name: str, owned: dict[tuple[str, str], int]) -> None:
        self.name = name
        self.owned = Counter(owned)

    def reassign(self, org_id: str, from_user: str, to_user: str) -> int:
        moved = self.owned.pop((org_id, from_user), 0)
        self.owned[(org_id, to_user)] += moved
        return moved


def member(user_id: str, *roles: Role, joined: datetime = JOINED, org: str = "org-a") -> Member:
    return Member(
        org, user_id, f"{user_id}@corp.example", user_id.title(), roles=frozenset(roles), created_at=joined
    )


@pytest.fixture
def own(world: World) -> SelfService:
    for person in (
        member("admin-1", Role.ADMIN),
        member("admin-2", Role.ADMIN, joined=datetime(2026, 6, 1, tzinfo=UTC)),
        member("rep-1", Role.REP),
        member("admin-x", Role.ADMIN, org="org-b"),
    ):
        world.members.put(None, person)
    world.tasks._erasure._members = world.members
    world.tasks._erasure._records = {
        "contacts": FakeRecords("contacts", {("org-a", "rep-1"): 3, ("org-b", "rep-1"): 5}),
        "call_logs": FakeRecords("call_logs", {("org-a", "rep-1"): 2}),
    }
    return SelfService(world.service._lifecycle, world.members)


def test_a_member_exports_their_own_account_at_once(world: World, own: SelfService) -> None:
    request = own.export(REP)
    assert (request.type, request.status) == (RequestType.ACCESS, Status.IN_PROGRESS)
    assert request.subject == Subject(org_id="org-a", user_ids=frozenset({"rep-1"}))  # their account only
    assert request.identifiers.email == "rep-1@corp.example"
    assert world.run(request.id) == "Finish"
    [(to, _, text)] = world.mailer.sent
    assert to == "rep-1@corp.example"
    assert "/privacy/download?token=" in text


def test_deleting_my_account_waits_for_the_email_then_reassigns_and_erases(
    world: World, own: SelfService
) -> None:
    pending = own.erase(REP)
    assert pending.status is Status.PENDING_CONFIRMATION
    assert world.workflows.started == {}  # nothing runs before the link
    world.public.confirm(world.link("rep-1@corp.example"))
    assert world.run(pending.id) == "Finish"
    contacts, calls = world.tasks._erasure._records.values()  # type: ignore[union-attr]
    assert contacts.owned[("org-a", "admin-1")] == 3  # the longest-standing admin
    assert calls.owned[("org-a", "admin-1")] == 2
    assert contacts.owned[("org-b", "rep-1")] == 5  # another org's records are untouched
    [entry] = [e for e in world.audit.entries_by_org["org-a"] if e[2] == "erasure.reassigned"]
    assert entry[4] == {"user": "rep-1", "to": "admin-1", "contacts": 3, "call_logs": 2}
    assert "Your privacy request: erasure complete" in [subject for _, subject, _ in world.mailer.sent]


def test_a_replayed_reassignment_moves_nothing_twice_and_audits_once(world: World, own: SelfService) -> None:
    pending = own.erase(REP)
    world.public.confirm(world.link("rep-1@corp.example"))
    request = world.requests.get("org-a", pending.id)
    assert request is not None
    world.tasks._erasure._reassign(request, request.subject)  # type: ignore[arg-type]
    assert world.run(pending.id) == "Finish"  # the suppress step reassigns again: nothing is left
    assert world.audit.actions("org-a").count("erasure.reassigned") == 1


def test_the_last_admin_cannot_delete_themself(world: World, own: SelfService) -> None:
    del world.members.members[("org-a", "admin-2")]
    with pytest.raises(LastAdmin, match="last admin"):
        own.erase(BOSS)
    assert world.requests.items == {}  # refused: nothing recorded, nothing sent
    assert world.mailer.sent == []


def test_an_admin_with_another_admin_may_leave_and_their_records_go_to_the_other(
    world: World, own: SelfService
) -> None:
    world.tasks._erasure._records["contacts"].owned[("org-a", "admin-1")] = 4  # type: ignore[index]
    pending = own.erase(BOSS)
    world.public.confirm(world.link("admin-1@corp.example"))
    assert world.run(pending.id) == "Finish"
    assert world.tasks._erasure._records["contacts"].owned[("org-a", "admin-2")] == 4  # type: ignore[index]


def test_an_erasure_with_no_admin_left_stops_for_staff(world: World, own: SelfService) -> None:
    pending = own.erase(REP)
    world.public.confirm(world.link("rep-1@corp.example"))
    for admin in ("admin-1", "admin-2"):  # both admins left meanwhile
        del world.members.members[("org-a", admin)]
    assert world.run(pending.id) == "Stopped"
    assert world.requests.get("org-a", pending.id).status is Status.NEEDS_ATTENTION  # type: ignore[union-attr]


def test_a_caller_without_an_account_in_the_org_is_refused(own: SelfService) -> None:
    with pytest.raises(NotFound):
        own.export(Caller("org-a", "ghost", frozenset({Role.REP})))
    with pytest.raises(NotFound):
        own.erase(Caller("org-c", "rep-1", frozenset({Role.REP})))


def test_the_successor_is_the_longest_standing_admin_who_stays() -> None:
    members = [
        member("b", Role.ADMIN, joined=datetime(2026, 3, 1, tzinfo=UTC)),
        member("a", Role.ADMIN, joined=datetime(2026, 3, 1, tzinfo=UTC)),
        member("old", Role.REP, joined=datetime(2020, 1, 1, tzinfo=UTC)),
        member("leaving", Role.ADMIN, joined=datetime(2025, 1, 1, tzinfo=UTC)),
    ]
    assert successor(members, ["leaving"]).user_id == "a"  # type: ignore[union-attr]
    assert successor(members, ["leaving", "a", "b"]) is None


def test_an_account_without_a_member_item_uses_its_token_email(world: World, own: SelfService) -> None:
    newcomer = Caller("org-a", "new-1", frozenset({Role.REP}))
    assert own.export(newcomer, "New@Corp.Example").identifiers.email == "new@corp.example"
    world.members.put(None, member("blank", Role.REP))
    world.members.members[("org-a", "blank")] = Member("org-a", "blank", "", "Blank")
    with pytest.raises(Conflict, match="no email address"):
        own.erase(Caller("org-a", "blank", frozenset({Role.REP})))
