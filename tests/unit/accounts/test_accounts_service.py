"""Accounts service with fakes: members mirrored to directory groups, self-protection, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callproof.accounts.model import MemberIn, MePatch
from callproof.accounts.service import AccountService
from callproof.errors import Conflict, Forbidden, NotFound
from callproof.tenancy import Caller, Role
from tests.fakes import FakeDirectory, InMemoryMemberStore

ADMIN = Caller("org-a", "admin-1", frozenset({Role.ADMIN}))
REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
OTHER_ADMIN = Caller("org-b", "admin-9", frozenset({Role.ADMIN}))


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def service(directory: FakeDirectory) -> AccountService:
    return AccountService(InMemoryMemberStore(), directory, clock=lambda: datetime(2026, 11, 28, tzinfo=UTC))


def test_me_uses_the_token_roles_and_patch_keeps_unsent_fields(service: AccountService) -> None:
    me = service.me(REP, "Rep@Example.com")
    assert (me.email, me.full_name, me.roles, me.version) == ("rep@example.com", "", REP.roles, 0)
    service.update_me(REP, "rep@example.com", MePatch(full_name="Rep One", company="Acme"))
    after = service.update_me(REP, "rep@example.com", MePatch(company="Beta"))
    assert (after.full_name, after.company, after.version) == ("Rep One", "Beta", 2)


def test_members_are_managed_by_admins_only(service: AccountService, directory: FakeDirectory) -> None:
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
        service.remove_member(OTHER_ADMIN, bob.user_id)

    service.remove_member(ADMIN, bob.user_id)
    assert directory.groups[bob.username or ""] == set()
    assert bob.username in directory.disabled
    assert service.list_members(ADMIN) == []


def test_admin_keeps_own_admin_role(service: AccountService) -> None:
    service.update_me(ADMIN, None, MePatch(full_name="Admin"))
    with pytest.raises(Conflict):
        service.set_roles(ADMIN, "admin-1", frozenset({Role.REP}))
    with pytest.raises(Conflict):
        service.remove_member(ADMIN, "admin-1")
    assert service.set_roles(ADMIN, "admin-1", frozenset({Role.ADMIN, Role.REP})).roles == {
        Role.ADMIN,
        Role.REP,
    }
