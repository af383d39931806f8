"""Accounts service with fakes: members mirrored to directory groups, self-protection, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callproof.accounts.model import DEFAULT_MEMBER_GRACE_DAYS, DirectoryUser, MemberIn, MemberStatus, MePatch
from callproof.accounts.offboarding import Offboarding
from callproof.accounts.service import AccountService
from callproof.errors import Conflict, Forbidden, InvalidInput, NotFound
from callproof.tenancy import Caller, Role
from tests.dsar_fakes import FakeAudit
from tests.fakes import FakeDirectory, InMemoryMemberStore

ADMIN = Caller("org-a", "admin-1", frozenset({Role.ADMIN}))
REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
OTHER_ADMIN = Caller("org-b", "admin-9", frozenset({Role.ADMIN}))


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


NOW = datetime(2026, 11, 28, tzinfo=UTC)


class NoPhotos:
    def delete_all_versions(self, key: str) -> int:
        return 0


class AccountItems:
    """The accounts data-subject store as the sweep sees it: deletes the user and the member item."""

    name = "accounts"

    def __init__(self, members: InMemoryMemberStore, directory: FakeDirectory) -> None:
        self._members = members
        self._directory = directory

    def erase_member(self, org_id: str, user_id: str) -> int:
        member = self._members.members.pop((org_id, user_id), None)
        if member is not None and member.username:
            self._directory.delete_user(member.username)
        return int(member is not None)


@pytest.fixture
def members() -> InMemoryMemberStore:
    return InMemoryMemberStore()


@pytest.fixture
def service(directory: FakeDirectory, members: InMemoryMemberStore) -> AccountService:
    return AccountService(members, directory, clock=lambda: NOW)


class Offboard:
    """Removal, then (``purge``) the sweep after the grace period, on the service's stores."""

    def __init__(self, members: InMemoryMemberStore, directory: FakeDirectory) -> None:
        self.later = NOW

        def build(clock: datetime) -> Offboarding:
            return Offboarding(
                members=members,
                removed=members,
                directory=directory,
                photos=NoPhotos(),  # type: ignore[arg-type]  # removal only deletes photos
                immediate={},
                records={},
                account=AccountItems(members, directory),
                audit=FakeAudit(),
                clock=lambda: clock,
            )

        self._now = build(NOW)
        self._after = build(NOW + timedelta(days=DEFAULT_MEMBER_GRACE_DAYS + 1))

    def remove(self, caller: Caller, user_id: str) -> None:
        self._now.remove(caller, user_id)

    def remove_and_purge(self, caller: Caller, user_id: str) -> None:
        self._now.remove(caller, user_id)
        self._after.purge_due()


@pytest.fixture
def offboard(members: InMemoryMemberStore, directory: FakeDirectory) -> Offboard:
    return Offboard(members, directory)


def test_me_uses_the_token_roles_and_patch_keeps_unsent_fields(service: AccountService) -> None:
    me = service.me(REP, "Rep@Example.com")
    assert (me.email, me.full_name, me.roles, me.version) == ("rep@example.com", "", REP.roles, 0)
    service.update_me(REP, "rep@example.com", MePatch(full_name="Rep One", company="Acme"))
    after = service.update_me(REP, "rep@example.com", MePatch(company="Beta"))
    assert (after.full_name, after.company, after.version) == ("Rep One", "Beta", 2)


def test_members_are_managed_by_admins_only(
    service: AccountService, directory: FakeDirectory, offboard: Offboard
) -> None:
    request = MemberIn(email="bob@example.com", full_name="Bob", roles=[Role.REP])
    with pytest.raises(Forbidden):
        service.add_member(REP, request)
    bob = service.add_member(ADMIN, request)
    assert directory.groups[bob.username or ""] == {"rep"}
    with pytest.raises(Conflict):
        service.add_member(ADMIN, request)

    service.set_roles(ADMIN, bob.user_id, frozenset({Role.COMPLIANCE}))
    assert directory.groups[bob.username or ""] == {"compliance"}
    with pytest.raises(NotFound):
        service.set_roles(OTHER_ADMIN, bob.user_id, frozenset({Role.ADMIN}))
    with pytest.raises(NotFound):
        offboard.remove(OTHER_ADMIN, bob.user_id)

    offboard.remove(ADMIN, bob.user_id)
    assert bob.username in directory.disabled  # signs in no more; deleted after the grace period
    assert [m.status for m in service.list_members(ADMIN)] == [MemberStatus.REMOVED]
    offboard.remove_and_purge(ADMIN, bob.user_id)
    assert "bob@example.com" not in directory.users
    assert service.list_members(ADMIN) == []


def test_admin_keeps_own_admin_role(service: AccountService, offboard: Offboard) -> None:
    service.update_me(ADMIN, None, MePatch(full_name="Admin"))
    with pytest.raises(Conflict):
        service.set_roles(ADMIN, "admin-1", frozenset({Role.REP}))
    with pytest.raises(Conflict):
        offboard.remove(ADMIN, "admin-1")
    assert service.set_roles(ADMIN, "admin-1", frozenset({Role.ADMIN, Role.REP})).roles == {
        Role.ADMIN,
        Role.REP,
    }


# ------------------------------------------- sign-in emails Cognito refuses (issue 13, point 4)
@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("ñ@example.com", "ASCII"),
        ("user@bücher.example", "xn--bcher-kva.example"),
        ("a" * 120 + "@example.com", "128"),
    ],
)
def test_addresses_cognito_cannot_sign_in_are_refused_before_the_directory(
    service: AccountService, directory: FakeDirectory, email: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason) as refused:
        service.add_member(ADMIN, MemberIn(email=email, full_name="X", roles=[Role.REP]))
    assert refused.value.field == "email"
    assert directory.calls == []
    assert service.list_members(ADMIN) == []


def test_an_address_the_directory_refuses_is_a_422_naming_email_and_stores_nothing(
    service: AccountService, directory: FakeDirectory
) -> None:
    directory.refuse.add("o'brien@example.com")
    with pytest.raises(InvalidInput) as refused:
        service.add_member(ADMIN, MemberIn(email="O'Brien@example.com", full_name="X", roles=[Role.REP]))
    assert refused.value.field == "email"
    assert service.list_members(ADMIN) == []


# --------------------------------------------------- another org's users stay invisible (point 8)
def _story(service: AccountService, offboard: Offboard, admin: Caller, email: str) -> list[object]:
    """Everything an admin can observe while adding, editing, removing and re-adding an address."""
    seen: list[object] = []
    added = service.add_member(admin, MemberIn(email=email, full_name="Bob", roles=[Role.REP]))
    seen.append((added.email == email, added.full_name, added.roles, len(added.user_id)))
    seen.append([(m.email == email, m.roles) for m in service.list_members(admin)])
    with pytest.raises(Conflict) as again:
        service.add_member(admin, MemberIn(email=email, full_name="Bob", roles=[Role.REP]))
    seen.append((again.value.message, again.value.field))
    seen.append(service.set_roles(admin, added.user_id, frozenset({Role.ADMIN})).roles)
    offboard.remove_and_purge(admin, added.user_id)  # past the grace period
    seen.append(service.list_members(admin))
    back = service.add_member(admin, MemberIn(email=email, full_name="Bob", roles=[Role.COMPLIANCE]))
    seen.append(back.user_id == added.user_id)  # a removed member's user is gone: a new id either way
    seen.append(
        (back.email == email, back.roles, [(m.email == email, m.roles) for m in service.list_members(admin)])
    )
    return seen


def test_an_address_of_another_org_answers_as_a_free_one_and_changes_nothing_there(
    service: AccountService, directory: FakeDirectory, offboard: Offboard
) -> None:
    """Before: 409 "a user with this email already exists" told org B's admin that org A uses it.
    Now org B's admin sees the same whether the address is org A's or free (org C's admin here)."""
    ada = service.add_member(ADMIN, MemberIn(email="ada@example.com", full_name="Ada", roles=[Role.REP]))
    users_before = dict(directory.users)

    probe = _story(service, offboard, OTHER_ADMIN, "ada@example.com")
    control = _story(
        service, offboard, Caller("org-c", "admin-7", frozenset({Role.ADMIN})), "free@example.com"
    )
    assert probe == control

    assert directory.users == users_before | {"free@example.com": directory.users["free@example.com"]}
    assert directory.groups[ada.username or ""] == {"rep"}  # org A's user untouched
    assert ada.username not in directory.disabled
    assert [m.user_id for m in service.list_members(ADMIN)] == [ada.user_id]
    assert all(m.username is None for m in service.list_members(OTHER_ADMIN))  # nobody signs in there


def test_a_removed_members_address_is_free_again_after_the_grace_period(
    service: AccountService, directory: FakeDirectory, offboard: Offboard
) -> None:
    bob = service.add_member(ADMIN, MemberIn(email="bob@example.com", full_name="Bob", roles=[Role.REP]))
    offboard.remove_and_purge(ADMIN, bob.user_id)
    assert "bob@example.com" not in directory.users
    elsewhere = service.add_member(
        OTHER_ADMIN, MemberIn(email="bob@example.com", full_name="Bob", roles=[Role.REP])
    )
    assert directory.users["bob@example.com"].org_id == "org-b"  # another org may invite the person now
    assert elsewhere.username == directory.users["bob@example.com"].username
    assert elsewhere.user_id != bob.user_id


def test_this_orgs_user_the_api_does_not_list_is_taken_in(
    service: AccountService, directory: FakeDirectory
) -> None:
    """A user of the org made outside the API (or left by a failed add), disabled here: enabled
    again, given the roles, with their own id; no second user is created."""
    directory.users["carol@example.com"] = DirectoryUser("sub-carol", "u-carol", "org-a")
    directory.disabled.add("u-carol")
    carol = service.add_member(
        ADMIN, MemberIn(email="carol@example.com", full_name="Carol", roles=[Role.REP])
    )
    assert (carol.user_id, carol.username) == ("sub-carol", "u-carol")
    assert "u-carol" not in directory.disabled
    assert directory.groups["u-carol"] == {"rep"}
    assert len(directory.users) == 1


def test_an_admin_cannot_add_their_own_address(service: AccountService, directory: FakeDirectory) -> None:
    directory.users["admin@example.com"] = DirectoryUser("admin-1", "u-admin", "org-a")
    with pytest.raises(Conflict) as refused:
        service.add_member(ADMIN, MemberIn(email="admin@example.com", full_name="Me", roles=[Role.REP]))
    assert refused.value.field == "email"
