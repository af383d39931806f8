"""Profiles, org membership and roles, org settings. Pure: every dependency is a port."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from callproof.accounts.model import (
    DEFAULT_MEMBER_GRACE_DAYS,
    DirectoryUser,
    Member,
    MemberIn,
    MemberStatus,
    MePatch,
    OrgIdentity,
    OrgSettings,
    OrgSettingsIn,
)
from callproof.emails import InvalidEmail, sign_in_email
from callproof.errors import Conflict, InvalidInput, NotFound
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.accounts.ports import (
        IdentityDirectory,
        MemberStore,
        OrgIdentityStore,
        OrgSettingsStore,
        SmsConfigStore,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _new_user_id() -> str:
    """Shaped as Cognito's ``sub`` (a random UUID)."""
    return str(uuid.uuid4())


class AccountService:
    def __init__(
        self,
        members: MemberStore,
        directory: IdentityDirectory,
        clock: Callable[[], datetime] = _now,
        new_user_id: Callable[[], str] = _new_user_id,
    ) -> None:
        self._members = members
        self._directory = directory
        self._clock = clock
        self._new_user_id = new_user_id

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
        """Invite a person: the directory user (Cognito emails the invitation), its groups, the
        member item.

        One directory serves every org and an address signs in to one user, so an address that
        already signs in to another org cannot join this one; the answer must not say so (else any
        admin could learn who uses another org, ADR 0008). It is the same 201, with a member item
        nobody can sign in to and no directory call, as for a free address. Only this org's own
        users are told apart: a current member is a 409 (the admin can list them), and a user of
        this org the directory already has but this API does not list (made outside it, or left by
        a failed add) is taken in, enabled if it was disabled, and given the roles."""
        caller.require(Role.ADMIN)
        email = _sign_in_email(str(request.email))
        for member in self._members.list_org(caller.org_id):
            if member.email == email and member.status is MemberStatus.REMOVED:
                raise Conflict(
                    "a removed member of this org has this email: restore them within the grace "
                    "period (POST /v1/org/members/{user_id}/restore)",
                    field="email",
                )
            if member.email == email:
                raise Conflict("a member of this org already has this email", field="email")
        roles = frozenset(request.roles)
        user = self._directory.create_user(caller.org_id, email, request.full_name)
        if user is None:
            user = self._this_orgs_user(caller, email)
        if user is not None:
            self._directory.set_groups(user.username, add=roles, remove=frozenset())
        member = Member(
            org_id=caller.org_id,
            user_id=user.user_id if user else self._new_user_id(),
            email=email,
            full_name=request.full_name,
            company=request.company,
            roles=roles,
            username=user.username if user else None,
            created_at=self._clock(),
            version=1,
        )
        self._members.put(None, member)
        return member

    def _this_orgs_user(self, caller: Caller, email: str) -> DirectoryUser | None:
        """The directory's user with this email if it is one of this org's (enabled again), else
        None: another org's user, who must stay invisible here."""
        user = self._directory.find_user(email)
        if user is None or user.org_id != caller.org_id:
            return None
        if user.user_id == caller.user_id:
            raise Conflict("this is your own email: you are a member already", field="email")
        if not user.enabled:
            self._directory.reinstate(user.username)
        return user

    def set_roles(self, caller: Caller, user_id: str, roles: frozenset[Role]) -> Member:
        caller.require(Role.ADMIN)
        old = self._member(caller, user_id)
        if old.status is MemberStatus.REMOVED:
            raise Conflict("the member is removed: restore them first", field="user_id")
        if user_id == caller.user_id and Role.ADMIN not in roles:
            raise Conflict("an admin cannot remove their own admin role", field="roles")
        new = replace(old, roles=roles, version=old.version + 1)
        self._members.put(old, new)
        if old.username:
            self._directory.set_groups(old.username, add=roles - old.roles, remove=old.roles - roles)
        return new

    def _member(self, caller: Caller, user_id: str) -> Member:
        member = self._members.get(caller.org_id, user_id)
        if member is None:
            raise NotFound("member not found", field="user_id")
        return member


def _sign_in_email(raw: str) -> str:
    try:
        return sign_in_email(raw)
    except InvalidEmail as exc:
        raise InvalidInput(str(exc), field="email") from None


class OrgSettingsService:
    """One API over settings that live where their readers look: the contacts table's org settings
    item (phone region, retention periods), the SMS configuration item (confirmations, daily cap) and the
    org's public identity (slug, published name: claimed across orgs)."""

    def __init__(
        self, org_settings: OrgSettingsStore, sms_config: SmsConfigStore, identity: OrgIdentityStore
    ) -> None:
        self._org = org_settings
        self._sms = sms_config
        self._identity = identity

    def get(self, caller: Caller) -> OrgSettings:
        region, retention = self._org.get(caller.org_id)
        sms = self._sms.get_config(caller.org_id)
        identity = self._identity.get_identity(caller.org_id)
        return OrgSettings(
            region,
            retention.get("call_logs"),
            sms.confirmations,
            sms.daily_cap,
            identity.slug,
            identity.published_name,
            self._org.member_grace_days(caller.org_id) or DEFAULT_MEMBER_GRACE_DAYS,
            dict(retention),
        )

    def put(self, caller: Caller, request: OrgSettingsIn) -> OrgSettings:
        """The public identity is claimed first: a slug or name another org holds answers 409 and
        changes nothing."""
        caller.require(Role.ADMIN)
        identity = self._identity.get_identity(caller.org_id)
        wanted = OrgIdentity(request.slug, request.published_name, identity.version + 1)
        if (identity.slug, identity.published_name) != (wanted.slug, wanted.published_name):
            self._identity.put_identity(caller.org_id, identity, wanted)
        self._org.put(
            caller.org_id,
            request.default_phone_region,
            request.retention,
            request.member_grace_days,
        )
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
