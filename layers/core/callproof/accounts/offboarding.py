"""Offboarding a member (issue 16, point 2; ADR 0023). Pure: every dependency is a port.

Removing a member (admin, ``DELETE /v1/org/members/{id}``):
1. marks the member item ``removed`` with ``purge_after`` (now + the org's grace period) and disables
   their Cognito user, so they can no longer sign in or refresh a token;
2. at once: their Gmail, Google Contacts and calendar grants are disconnected through the integrations'
   own paths (the Gmail watch stopped first, then the grant revoked at the provider and the sealed
   token deleted), every version of their photo is deleted, and their devices with their locations;
3. the contacts they own and the calls they logged go to the removing admin (the org's records);
4. one audit entry records it, with counts only.

Each part is idempotent and the member item is marked first, so a retried ``DELETE`` on a member
already removed finishes what a failed one left; the audit entry is appended once per removal.

During the grace period the member item stays (an access request for their email still finds their
account rows), and an admin may restore them: the Cognito user is enabled again and the item loses its
mark; what was deleted at removal (grants, photo, devices) stays deleted and the records stay with the
admin. After it, the daily sweep (``purge_due``) deletes the Cognito user and the account data (profile,
current consents and age record, any photo left), keeping the consent history pseudonymised as the
evidence of lawful processing (the ``accounts`` data-subject store decides what it keeps).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from callproof.accounts.model import DEFAULT_MEMBER_GRACE_DAYS, Member, MemberStatus, photo_key
from callproof.errors import Conflict, NotFound
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.accounts.ports import (
        AuditTrail,
        GracePeriods,
        IdentityDirectory,
        MemberData,
        MemberStore,
        OwnedRecords,
        PhotoStorage,
        RemovedMembers,
    )

SYSTEM = "system:member-sweep"


def _now() -> datetime:
    return datetime.now(UTC)


class NotRemoved(Conflict):
    code = "member_not_removed"


class GraceOver(Conflict):
    code = "grace_period_over"


class MemberRemoved(Conflict):
    code = "member_removed"


@dataclass(frozen=True, slots=True)
class Purged:
    members: int = 0
    skipped: int = 0  # restored (or changed) since the index was read


class Offboarding:
    def __init__(
        self,
        members: MemberStore,
        removed: RemovedMembers,
        directory: IdentityDirectory,
        photos: PhotoStorage,
        immediate: Mapping[str, MemberData],
        records: Mapping[str, OwnedRecords],
        account: MemberData | None,
        audit: AuditTrail,
        settings: GracePeriods | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._members = members
        self._removed = removed
        self._directory = directory
        self._photos = photos
        self._immediate = immediate
        self._records = records
        self._account = account
        self._audit = audit
        self._settings = settings
        self._clock = clock

    # --------------------------------------------------------------------------- removal
    def remove(self, caller: Caller, user_id: str) -> Member:
        """Remove (or finish removing) a member of the caller's org; answers the removed member.
        ``NotFound`` for another org's (or no) member; ``Conflict`` for the caller themselves."""
        caller.require(Role.ADMIN)
        member = self._member(caller, user_id)
        if user_id == caller.user_id:
            raise Conflict("an admin cannot remove themselves", field="user_id")
        if member.status is MemberStatus.ACTIVE:
            now = self._clock()
            removed = replace(
                member,
                removed_at=now,
                removed_by=caller.user_id,
                purge_after=now + timedelta(days=self._grace_days(caller.org_id)),
                version=member.version + 1,
            )
            self._members.put(member, removed)  # first: a retry finds the mark and finishes the rest
            member = removed
        if member.username:
            self._directory.disable_user(member.username)
        detail: dict[str, str | int] = {
            name: data.erase_member(caller.org_id, user_id) for name, data in self._immediate.items()
        }
        detail["photo"] = self._photos.delete_all_versions(photo_key(caller.org_id, user_id))
        heir = member.removed_by or caller.user_id
        for name, records in self._records.items():
            detail[f"{name}_reassigned"] = records.reassign(caller.org_id, user_id, heir)
        removed_at = member.removed_at.isoformat() if member.removed_at else ""
        detail |= {"user": user_id, "to": heir, "purge_after": _day(member.purge_after)}
        self._audit.append(
            caller.org_id,
            f"member:{user_id}:removed:{removed_at}",
            f"user:{caller.user_id}",
            "member.removed",
            user_id,
            detail,
        )
        return member

    def restore(self, caller: Caller, user_id: str) -> Member:
        """Undo a removal within the grace period: the member signs in again with their own password.
        ``NotRemoved`` (409) for an active member, ``GraceOver`` (409) once the period has ended."""
        caller.require(Role.ADMIN)
        member = self._member(caller, user_id)
        if member.status is MemberStatus.ACTIVE:
            raise NotRemoved("the member is not removed", field="user_id")
        if member.purge_after is not None and member.purge_after <= self._clock():
            raise GraceOver(
                "the grace period is over: the member's account is being deleted", field="user_id"
            )
        restored = replace(
            member, removed_at=None, removed_by=None, purge_after=None, version=member.version + 1
        )
        self._members.put(member, restored)
        if member.username:
            self._directory.reinstate(member.username)
        self._audit.append(
            caller.org_id,
            f"member:{user_id}:restored:{member.removed_at.isoformat() if member.removed_at else ''}",
            f"user:{caller.user_id}",
            "member.restored",
            user_id,
            {"user": user_id},
        )
        return restored

    # ------------------------------------------------------------------------------ sweep
    def purge_due(self) -> Purged:
        """The daily sweep: every member whose grace period has ended loses their Cognito user and
        account data (the ``account`` store: profile, current consents, photo; the consent history is
        kept pseudonymised). A member restored since the index was read is skipped. Idempotent: a
        member half purged is still listed (their item goes last) and is finished by the next run."""
        now = self._clock()
        purged = skipped = 0
        for org_id, user_id in list(self._removed.due_for_purge(now)):
            member = self._members.get(org_id, user_id)
            if member is None or member.purge_after is None or member.purge_after > now:
                skipped += 1
                continue
            detail: dict[str, str | int] = {"user": user_id}
            if self._account is not None:
                detail[self._account.name] = self._account.erase_member(org_id, user_id)
            self._audit.append(
                org_id,
                f"member:{user_id}:purged:{member.removed_at.isoformat() if member.removed_at else ''}",
                SYSTEM,
                "member.purged",
                user_id,
                detail,
            )
            purged += 1
        return Purged(purged, skipped)

    # ---------------------------------------------------------------------------- helpers
    def _grace_days(self, org_id: str) -> int:
        days = self._settings.member_grace_days(org_id) if self._settings is not None else None
        return days or DEFAULT_MEMBER_GRACE_DAYS

    def _member(self, caller: Caller, user_id: str) -> Member:
        member = self._members.get(caller.org_id, user_id)
        if member is None:
            raise NotFound("member not found", field="user_id")
        return member


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""
