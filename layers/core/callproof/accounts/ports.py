"""Ports of the accounts domain: members and the sign-in directory, org settings, consent and
policy versions, photos, age records and transactional mail."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from callproof.accounts.model import (
        AgeRecord,
        ConsentRecord,
        CurrentPolicy,
        DirectoryUser,
        GateView,
        MarketingRecipient,
        Member,
        OrgIdentity,
        PolicyVersion,
        Purpose,
    )
    from callproof.sms.model import OrgSmsConfig
    from callproof.tenancy import Role


class MemberStore(Protocol):
    """Org members (profiles and roles), keyed by org: another org's user is simply absent."""

    def get(self, org_id: str, user_id: str) -> Member | None: ...

    def list_org(self, org_id: str) -> list[Member]: ...

    def put(self, old: Member | None, new: Member) -> None:
        """Create (``old`` None: refuses an existing user) or replace at ``old.version``; else
        ``Conflict``. ``old.version == 0`` means a profile made from the token, not stored yet."""
        ...

    def delete(self, member: Member) -> None: ...


class IdentityDirectory(Protocol):
    """The sign-in directory (Cognito): users and the groups the authorizer turns into roles. One
    directory serves every org, and an email signs in to one user of it."""

    def create_user(self, org_id: str, email: str, full_name: str) -> DirectoryUser | None:
        """The new user, invited by email; None, creating nothing, if a user (of any org) already
        has this email. ``InvalidInput`` naming ``email`` if the directory refuses the address."""
        ...

    def find_user(self, email: str) -> DirectoryUser | None:
        """The user who signs in with this email, whatever their org, or None."""
        ...

    def reinstate(self, username: str) -> None:
        """Enable a disabled user again."""
        ...

    def set_groups(self, username: str, add: frozenset[Role], remove: frozenset[Role]) -> None: ...

    def delete_user(self, username: str) -> bool:
        """Disable, then delete the user (so no sign-in slips in between); False if already gone."""
        ...

    def disable_user(self, username: str) -> None:
        """The user can no longer sign in or refresh a token (a no-op when already gone)."""
        ...


class OrgSettingsStore(Protocol):
    """The org settings item the contacts and call-log functions read (``DynamoOrgSettings``)."""

    def get(self, org_id: str) -> tuple[str | None, dict[str, int]]:
        """(default phone region or None, the retention periods the org chose by store)."""
        ...

    def put(
        self, org_id: str, region: str | None, retention: Mapping[str, int], grace_days: int | None = None
    ) -> None: ...

    def member_grace_days(self, org_id: str) -> int | None:
        """How long a removed member stays restorable (days), None where the org set nothing."""
        ...


# ------------------------------------------------------------------ offboarding (ADR 0023)
class GracePeriods(Protocol):
    """The org setting offboarding reads (``OrgSettingsStore`` has it)."""

    def member_grace_days(self, org_id: str) -> int | None: ...


class RemovedMembers(Protocol):
    """Removed members by the day their grace period ends, across orgs (a sparse index, never a Scan)."""

    def due_for_purge(self, now: datetime) -> Iterator[tuple[str, str]]:
        """(org id, user id) of every removed member whose ``purge_after`` is not after ``now``."""
        ...


class MemberData(Protocol):
    """One kind of a member's data kept outside the member item (their integrations, devices, the
    account itself): the data-subject request stores, erased for one user. Idempotent: a rerun
    deletes only what is left."""

    @property
    def name(self) -> str: ...

    def erase_member(self, org_id: str, user_id: str) -> int:
        """Delete (or revoke, then delete) the user's data here; how many items or objects went."""
        ...


class OwnedRecords(Protocol):
    """Business records a member holds (contacts they own, calls they logged): the org's, not theirs.
    The same adapters as ``callproof.dsar.ports.BusinessRecords``."""

    @property
    def name(self) -> str: ...

    def reassign(self, org_id: str, from_user: str, to_user: str) -> int:
        """Give every record of ``from_user`` to ``to_user``; how many moved (idempotent)."""
        ...


class AuditTrail(Protocol):
    """The org's hash-chained audit trail (``callproof.dsar.audit.AuditLog.append``)."""

    def append(
        self,
        org_id: str,
        event_key: str,
        actor: str,
        action: str,
        request_id: str,
        detail: Mapping[str, str | int],
    ) -> bool:
        """Append one entry; False (nothing written) when ``event_key`` was appended before."""
        ...


class OrgIdentityStore(Protocol):
    """The org's slug and published name, each claimed across orgs so no two orgs share one."""

    def get_identity(self, org_id: str) -> OrgIdentity: ...

    def put_identity(self, org_id: str, old: OrgIdentity, new: OrgIdentity) -> None:
        """Claim ``new``'s slug and name and release ``old``'s, at once; ``Conflict`` (naming the
        field) when another org holds one, or when ``old`` is no longer current."""
        ...


class SmsConfigStore(Protocol):
    """The part of ``SmsStore`` org settings need (confirmations and daily cap live there)."""

    def get_config(self, org_id: str) -> OrgSmsConfig: ...

    def put_config(self, old: OrgSmsConfig, new: OrgSmsConfig) -> None: ...


class ConsentStore(Protocol):
    """Each user's consent ledger: append-only records plus the latest record per purpose."""

    def append(self, record: ConsentRecord) -> None:
        """Store the record (never overwriting one) and make it its purpose's current state."""
        ...

    def current(self, org_id: str, user_id: str) -> dict[Purpose, ConsentRecord]: ...

    def history(self, org_id: str, user_id: str) -> list[ConsentRecord]:
        """Oldest first."""
        ...

    def gate_view(self, org_id: str, user_id: str) -> GateView:
        """The accepted terms version and whether the account is inactive, in one read."""
        ...


class PolicyStore(Protocol):
    """Published policy versions (the service's own documents, not tenant data)."""

    def current(self, document: str) -> CurrentPolicy | None: ...

    def publish(self, previous: CurrentPolicy | None, version: PolicyVersion) -> None:
        """Append ``version`` and make it current, unless another publication won (``Conflict``)."""
        ...


class PhotoStorage(Protocol):
    """Account photos in the versioned data bucket."""

    def presign_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta
    ) -> tuple[str, dict[str, str]]: ...

    def exists(self, key: str) -> bool: ...

    def presign_get(self, key: str, expires_in: timedelta) -> str: ...

    def delete_all_versions(self, key: str) -> int: ...


class AgeStore(Protocol):
    """Each user's age record (with the guardian's consent), beside their consent state."""

    def get_age(self, org_id: str, user_id: str) -> AgeRecord | None: ...

    def put_age(self, org_id: str, user_id: str, record: AgeRecord) -> None: ...


class Mailer(Protocol):
    """Transactional email (SES)."""

    def send(self, to: str, subject: str, text: str) -> None: ...


class LocationEraser(Protocol):
    """Where the user's devices keep their last location (the call-log domain's device items)."""

    def erase_locations(self, org_id: str, user_id: str) -> int:
        """Remove the stored location of every device of the user; how many held one."""
        ...


class MarketingMailer(Protocol):
    """Marketing email (SES raw mail with RFC 8058 ``List-Unsubscribe`` and
    ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``): it sends only to a consenting recipient."""

    def send_marketing(self, recipient: MarketingRecipient, subject: str, text: str) -> None: ...
