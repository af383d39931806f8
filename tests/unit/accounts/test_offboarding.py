"""Offboarding with fakes (issue 16, point 2; ADR 0023): what a removal does at once, retries that
finish a half-done removal, restore within the grace period, the sweep after it, and bad input."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from callproof.accounts.model import DEFAULT_MEMBER_GRACE_DAYS, MemberIn, MemberStatus, photo_key
from callproof.accounts.offboarding import GraceOver, NotRemoved, Offboarding
from callproof.accounts.service import AccountService
from callproof.dsar.self_service import successor
from callproof.errors import Conflict, Forbidden, NotFound
from callproof.tenancy import Caller, Role
from tests.dsar_fakes import FakeAudit
from tests.fakes import FakeDirectory, InMemoryMemberStore

ADMIN = Caller("org-a", "admin-1", frozenset({Role.ADMIN}))
REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
OTHER_ADMIN = Caller("org-b", "admin-9", frozenset({Role.ADMIN}))
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeMemberData:
    """A data-subject store erased per user: counts what it still holds per (org, user)."""

    name: str
    held: dict[tuple[str, str], int] = field(default_factory=dict)
    fail_next: bool = False

    def erase_member(self, org_id: str, user_id: str) -> int:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("provider down")
        return self.held.pop((org_id, user_id), 0)


@dataclass
class FakeRecords:
    name: str
    owners: dict[str, str] = field(default_factory=dict)  # record id -> owner user id

    def reassign(self, org_id: str, from_user: str, to_user: str) -> int:
        moved = [rid for rid, owner in self.owners.items() if owner == from_user]
        for rid in moved:
            self.owners[rid] = to_user
        return len(moved)


@dataclass
class FakeAccountData(FakeMemberData):
    """The accounts store: its erasure deletes the member item too (with the Cognito user)."""

    members: InMemoryMemberStore = field(default_factory=InMemoryMemberStore)

    def erase_member(self, org_id: str, user_id: str) -> int:
        self.members.members.pop((org_id, user_id), None)
        return super().erase_member(org_id, user_id)


class FakePhotos:
    def __init__(self) -> None:
        self.versions: dict[str, int] = {}

    def delete_all_versions(self, key: str) -> int:
        return self.versions.pop(key, 0)


class FakeGrace:
    def __init__(self, days: dict[str, int] | None = None) -> None:
        self.days = days or {}

    def member_grace_days(self, org_id: str) -> int | None:
        return self.days.get(org_id)


@dataclass
class World:
    members: InMemoryMemberStore
    directory: FakeDirectory
    accounts: AccountService
    offboarding: Offboarding
    grants: FakeMemberData
    devices: FakeMemberData
    account: FakeMemberData
    contacts: FakeRecords
    photos: FakePhotos
    audit: FakeAudit
    clock: Clock
    grace: FakeGrace

    def add(self, email: str, roles: list[Role] | None = None) -> str:
        member = self.accounts.add_member(
            ADMIN, MemberIn(email=email, full_name="Bob", roles=roles or [Role.REP])
        )
        return member.user_id


@pytest.fixture
def world() -> World:
    members, directory, clock, grace = InMemoryMemberStore(), FakeDirectory(), Clock(), FakeGrace()
    grants, devices = FakeMemberData("integrations"), FakeMemberData("devices")
    account = FakeAccountData("accounts", members=members)
    contacts, photos, audit = FakeRecords("contacts"), FakePhotos(), FakeAudit()
    offboarding = Offboarding(
        members=members,
        removed=members,
        directory=directory,
        photos=photos,  # type: ignore[arg-type]  # the removal only deletes photos
        immediate={"integrations": grants, "devices": devices},
        records={"contacts": contacts},
        account=account,
        audit=audit,
        settings=grace,
        clock=clock,
    )
    accounts = AccountService(members, directory, clock=clock)
    return World(
        members,
        directory,
        accounts,
        offboarding,
        grants,
        devices,
        account,
        contacts,
        photos,
        audit,
        clock,
        grace,
    )


def _holdings(world: World, user_id: str) -> None:
    world.grants.held[("org-a", user_id)] = 3
    world.devices.held[("org-a", user_id)] = 2
    world.account.held[("org-a", user_id)] = 4
    world.photos.versions[photo_key("org-a", user_id)] = 2
    world.contacts.owners |= {"c1": user_id, "c2": user_id, "c3": "someone-else"}


def test_removal_does_the_immediate_parts_and_keeps_the_account_for_the_grace_period(world: World) -> None:
    bob = world.add("bob@example.com")
    _holdings(world, bob)
    username = world.members.members[("org-a", bob)].username or ""

    removed = world.offboarding.remove(ADMIN, bob)

    assert removed.status is MemberStatus.REMOVED
    assert removed.removed_by == "admin-1"
    assert removed.purge_after == T0 + timedelta(days=DEFAULT_MEMBER_GRACE_DAYS)
    assert world.grants.held == {}
    assert world.devices.held == {}
    assert world.photos.versions == {}  # every photo version
    assert world.contacts.owners == {"c1": "admin-1", "c2": "admin-1", "c3": "someone-else"}
    assert username in world.directory.disabled  # cannot sign in ...
    assert "bob@example.com" in world.directory.users  # ... but the user stays for the grace period
    assert world.account.held == {("org-a", bob): 4}  # profile and consents stay (access requests)
    assert [m.status for m in world.accounts.list_members(ADMIN)] == [MemberStatus.REMOVED]
    ((key, actor, action, subject, detail),) = world.audit.entries_by_org["org-a"]
    assert (actor, action, subject) == ("user:admin-1", "member.removed", bob)
    assert detail == {
        "integrations": 3,
        "devices": 2,
        "photo": 2,
        "contacts_reassigned": 2,
        "user": bob,
        "to": "admin-1",
        "purge_after": "2026-12-28",
    }
    assert "bob" not in str(detail).replace(bob, "")  # ids and counts only, no email or name


def test_the_orgs_grace_period_sets_purge_after(world: World) -> None:
    world.grace.days["org-a"] = 7
    bob = world.add("bob@example.com")
    assert world.offboarding.remove(ADMIN, bob).purge_after == T0 + timedelta(days=7)


def test_a_retry_finishes_a_half_done_removal_and_audits_once(world: World) -> None:
    bob = world.add("bob@example.com")
    _holdings(world, bob)
    world.devices.fail_next = True
    with pytest.raises(RuntimeError):
        world.offboarding.remove(ADMIN, bob)
    assert world.members.members[("org-a", bob)].status is MemberStatus.REMOVED  # marked first
    assert world.devices.held  # not reached

    world.clock.now = T0 + timedelta(minutes=5)
    again = world.offboarding.remove(ADMIN, bob)
    assert again.purge_after == T0 + timedelta(days=DEFAULT_MEMBER_GRACE_DAYS)  # the first removal's
    assert world.devices.held == {}
    assert world.photos.versions == {}
    world.offboarding.remove(ADMIN, bob)  # and once more: nothing left, no second audit entry
    assert world.audit.actions("org-a") == ["member.removed"]


def test_bad_removals_change_nothing(world: World) -> None:
    bob = world.add("bob@example.com")
    _holdings(world, bob)
    with pytest.raises(Forbidden):
        world.offboarding.remove(REP, bob)
    with pytest.raises(NotFound):
        world.offboarding.remove(OTHER_ADMIN, bob)  # another org's member: 404
    with pytest.raises(NotFound):
        world.offboarding.remove(ADMIN, "nobody")
    world.members.put(None, world.accounts.me(ADMIN, "admin@example.com"))
    with pytest.raises(Conflict):
        world.offboarding.remove(ADMIN, "admin-1")  # yourself
    assert world.members.members[("org-a", bob)].status is MemberStatus.ACTIVE
    assert world.grants.held
    assert world.devices.held
    assert world.photos.versions
    assert world.directory.disabled == set()
    assert world.audit.entries_by_org == {}


def test_restore_within_the_grace_period(world: World) -> None:
    bob = world.add("bob@example.com")
    username = world.members.members[("org-a", bob)].username or ""
    with pytest.raises(NotRemoved):
        world.offboarding.restore(ADMIN, bob)  # an active member
    world.offboarding.remove(ADMIN, bob)
    with pytest.raises(Conflict):
        world.accounts.set_roles(ADMIN, bob, frozenset({Role.ADMIN}))  # removed: restore first
    with pytest.raises(Conflict) as again:
        world.accounts.add_member(ADMIN, MemberIn(email="bob@example.com", full_name="B", roles=[Role.REP]))
    assert "restore" in again.value.message
    with pytest.raises(NotFound):
        world.offboarding.restore(OTHER_ADMIN, bob)

    world.clock.now = T0 + timedelta(days=29)
    restored = world.offboarding.restore(ADMIN, bob)
    assert (restored.status, restored.purge_after, restored.removed_by) == (MemberStatus.ACTIVE, None, None)
    assert username not in world.directory.disabled
    assert world.audit.actions("org-a") == ["member.removed", "member.restored"]
    assert list(world.members.due_for_purge(T0 + timedelta(days=365))) == []  # never purged now
    assert world.offboarding.purge_due().members == 0


def test_restore_after_the_grace_period_is_refused(world: World) -> None:
    bob = world.add("bob@example.com")
    world.offboarding.remove(ADMIN, bob)
    world.clock.now = T0 + timedelta(days=DEFAULT_MEMBER_GRACE_DAYS)
    with pytest.raises(GraceOver):
        world.offboarding.restore(ADMIN, bob)
    assert world.members.members[("org-a", bob)].status is MemberStatus.REMOVED


def test_the_sweep_purges_only_members_past_their_grace_period(world: World) -> None:
    bob, carol = world.add("bob@example.com"), world.add("carol@example.com")
    _holdings(world, bob)
    _holdings(world, carol)
    world.offboarding.remove(ADMIN, bob)
    world.clock.now = T0 + timedelta(days=10)
    world.offboarding.remove(ADMIN, carol)

    world.clock.now = T0 + timedelta(days=DEFAULT_MEMBER_GRACE_DAYS) - timedelta(seconds=1)
    assert world.offboarding.purge_due().members == 0
    assert set(world.account.held) == {("org-a", bob), ("org-a", carol)}

    world.clock.now = T0 + timedelta(days=DEFAULT_MEMBER_GRACE_DAYS)
    assert world.offboarding.purge_due().members == 1
    assert set(world.account.held) == {("org-a", carol)}
    assert ("org-a", bob) not in world.members.members  # the account store deleted the item

    world.clock.now = T0 + timedelta(days=DEFAULT_MEMBER_GRACE_DAYS + 10)
    assert world.offboarding.purge_due().members == 1  # carol; bob is not listed again
    assert world.account.held == {}


def test_the_sweep_erases_the_account_and_audits(world: World) -> None:
    bob = world.add("bob@example.com")
    _holdings(world, bob)
    world.offboarding.remove(ADMIN, bob)
    world.clock.now = T0 + timedelta(days=DEFAULT_MEMBER_GRACE_DAYS, hours=1)
    assert world.offboarding.purge_due().members == 1
    assert world.account.held == {}
    assert world.audit.actions("org-a") == ["member.removed", "member.purged"]
    _key, actor, _action, _subject, detail = world.audit.entries_by_org["org-a"][-1]
    assert (actor, detail) == ("system:member-sweep", {"user": bob, "accounts": 4})


def test_a_removed_admin_never_receives_an_erased_members_records(world: World) -> None:
    ann = world.add("ann@example.com", [Role.ADMIN])
    world.offboarding.remove(ADMIN, ann)
    members = world.members.list_org("org-a")
    assert successor(members, ["someone"]) is None  # ann is removed; admin-1 has no item here
