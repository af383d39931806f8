"""Profiles, org membership and roles, org settings. Pure: every dependency is a port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from callproof.accounts.model import Member, MemberIn, MePatch, OrgSettings, OrgSettingsIn
from callproof.accounts.ports import IdentityDirectory, MemberStore, OrgSettingsStore, SmsConfigStore
from callproof.errors import Conflict, NotFound
from callproof.tenancy import Caller, Role


def _now() -> datetime:
    return datetime.now(UTC)


class AccountService:
    def __init__(
        self,
        members: MemberStore,
        directory: IdentityDirectory,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._members = members
        self._directory = directory
        self._clock = clock

    # ------------------------------------------------------------------------------------ me
    def me(self, caller: Caller, token_email: str | None) -> Member:
        """The caller's profile; a user created outside this API gets one made from the token."""
        stored = self._members.get(caller.org_id, caller.user_id)
        if stored is not None:
            return replace(stored, roles=caller.roles)  # the token's groups are what is enforced
        return Member(
            org_id=caller.org_id,
            user_id=caller.user_id,
            email=(token_email or "").lower(),
            full_name="",
            roles=caller.roles,
            version=0,
        )

    def update_me(self, caller: Caller, token_email: str | None, patch: MePatch) -> Member:
        old = self.me(caller, token_email)
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        new = replace(old, **changes, version=old.version + 1, created_at=old.created_at or self._clock())
        self._members.put(old, new)
        return new

    # ------------------------------------------------------------------------------- members
    def list_members(self, caller: Caller) -> list[Member]:
        caller.require(Role.ADMIN)
        return self._members.list_org(caller.org_id)

    def add_member(self, caller: Caller, request: MemberIn) -> Member:
        """Create the Cognito user (it emails the invitation), put it in its groups, then store it."""
        caller.require(Role.ADMIN)
        email = str(request.email).lower()
        roles = frozenset(request.roles)
        user_id, username = self._directory.create_user(caller.org_id, email, request.full_name)
        self._directory.set_groups(username, add=roles, remove=frozenset())
        member = Member(
            org_id=caller.org_id,
            user_id=user_id,
            email=email,
            full_name=request.full_name,
            company=request.company,
            roles=roles,
            username=username,
            created_at=self._clock(),
            version=1,
        )
        self._members.put(None, member)
        return member

    def set_roles(self, caller: Caller, user_id: str, roles: frozenset[Role]) -> Member:
        caller.require(Role.ADMIN)
        old = self._member(caller, user_id)
        if user_id == caller.user_id and Role.ADMIN not in roles:
            raise Conflict("an admin cannot remove their own admin role", field="roles")
        new = replace(old, roles=roles, version=old.version + 1)
        self._members.put(old, new)
        if old.username:
            self._directory.set_groups(old.username, add=roles - old.roles, remove=old.roles - roles)
        return new

    def remove_member(self, caller: Caller, user_id: str) -> None:
        caller.require(Role.ADMIN)
        member = self._member(caller, user_id)
        if user_id == caller.user_id:
            raise Conflict("an admin cannot remove themselves", field="user_id")
        if member.username:
            self._directory.set_groups(member.username, add=frozenset(), remove=member.roles)
            self._directory.disable_user(member.username)
        self._members.delete(member)

    def _member(self, caller: Caller, user_id: str) -> Member:
        member = self._members.get(caller.org_id, user_id)
        if member is None:
            raise NotFound("member not found", field="user_id")
        return member


class OrgSettingsService:
    """One API over settings that live where their readers look: the contacts table's org settings
    item (phone region, call retention) and the SMS configuration item (confirmations, daily cap)."""

    def __init__(self, org_settings: OrgSettingsStore, sms_config: SmsConfigStore) -> None:
        self._org = org_settings
        self._sms = sms_config

    def get(self, caller: Caller) -> OrgSettings:
        region, months = self._org.get(caller.org_id)
        sms = self._sms.get_config(caller.org_id)
        return OrgSettings(region, months, sms.confirmations, sms.daily_cap)

    def put(self, caller: Caller, request: OrgSettingsIn) -> OrgSettings:
        caller.require(Role.ADMIN)
        self._org.put(caller.org_id, request.default_phone_region, request.call_retention_months)
        old = self._sms.get_config(caller.org_id)
        if (old.confirmations, old.daily_cap) != (request.sms_confirmations, request.daily_sms_cap):
            new = replace(
                old,
                confirmations=request.sms_confirmations,
                daily_cap=request.daily_sms_cap,
                version=old.version + 1,
            )
            self._sms.put_config(old, new)
        return self.get(caller)
