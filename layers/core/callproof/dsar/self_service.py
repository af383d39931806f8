"""A member's own requests from the app (issue 15, point 3; ``POST /v1/me/export``, ``DELETE /v1/me``).

The member is proven by their sign-in token: the request is about their account (``Subject.user_ids``)
and nothing else, so no subject is resolved from identifiers. An export starts at once and its link
goes to the account's email; an erasure still waits for the link emailed to that address (the policy's
"we will send you an email in order to confirm the deletion"). The org's business records the member
holds (contacts they own, calls they logged) are not theirs to erase: the erasure workflow gives them
to an admin first (``successor``), so an org's last admin cannot delete themself (ADR 0018).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from callproof.dsar.deadlines import Deadline, Jurisdiction
from callproof.dsar.model import DsarRequest, Identifiers, Proof, RequestType, Status, Subject
from callproof.errors import Conflict, NotFound
from callproof.ids import time_ordered_id
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.accounts.model import Member
    from callproof.dsar.lifecycle import RequestLifecycle
    from callproof.dsar.ports import MemberAccounts

VERIFICATION = "the member's own account, proven by their sign-in token"
# The member's request is handled within the stricter deadline (GDPR's month, not the CCPA's 45 days).
JURISDICTION = Jurisdiction.GDPR


class LastAdmin(Conflict):
    code = "last_admin"


def successor(members: Iterable[Member], leaving: Iterable[str]) -> Member | None:
    """The admin who receives a leaving member's business records: the longest-standing admin who
    is not leaving nor removed (by when they joined, then by id, so every replay picks the same one)."""
    gone = set(leaving)
    admins = [m for m in members if Role.ADMIN in m.roles and m.user_id not in gone and m.removed_at is None]
    admins.sort(
        key=lambda m: (m.created_at is None, m.created_at.timestamp() if m.created_at else 0.0, m.user_id)
    )
    return admins[0] if admins else None


class SelfService:
    def __init__(self, lifecycle: RequestLifecycle, members: MemberAccounts) -> None:
        self._lifecycle = lifecycle
        self._requests = lifecycle.requests
        self._clock = lifecycle.clock
        self._members = members

    def export(self, caller: Caller, token_email: str | None = None) -> DsarRequest:
        """An access request for the caller's own account data; the link goes to their email."""
        request = self._own(caller, RequestType.ACCESS, self._email(caller, token_email))
        self._requests.create(request, None, None)
        self._lifecycle.log(
            request, caller.user_id, "request.created", {"type": request.type.value, "self": 1}
        )
        return self._lifecycle.proceed(request, caller.user_id)

    def erase(self, caller: Caller, token_email: str | None = None) -> DsarRequest:
        """An erasure of the caller's account, waiting for the link emailed to them. ``LastAdmin``
        (409) when no other admin would keep the org and the records the member holds (the token's
        roles are what is enforced, as everywhere; the other admins are the stored members)."""
        if (
            caller.has(Role.ADMIN)
            and successor(self._members.list_org(caller.org_id), [caller.user_id]) is None
        ):
            raise LastAdmin(
                "You are the last admin of this organisation: make another member an admin first, so "
                "that someone can manage it and keep its contacts and calls you hold."
            )
        email = self._email(caller, token_email)
        return self._lifecycle.record_pending(self._own(caller, RequestType.ERASURE, email), caller.user_id)

    def _own(self, caller: Caller, kind: RequestType, email: str) -> DsarRequest:
        now = self._clock()
        request = DsarRequest(
            org_id=caller.org_id,
            id=time_ordered_id(now),
            type=kind,
            status=Status.VERIFIED,
            deadline=Deadline(JURISDICTION, now.date()),
            identifiers=Identifiers(email=email, proven=frozenset({Proof.EMAIL})),
            created_at=now,
            created_by=caller.user_id,
            verification=VERIFICATION,
            subject=Subject(org_id=caller.org_id, user_ids=frozenset({caller.user_id})),
        )
        return request.with_status(Status.VERIFIED, now, "the member's own request")

    def _email(self, caller: Caller, token_email: str | None) -> str:
        """The account's address: the member's, or the sign-in token's for an account that has no
        member item yet (as ``GET /v1/me`` reads it). ``NotFound`` for neither."""
        member = self._members.get(caller.org_id, caller.user_id)
        if member is None and not token_email:
            raise NotFound("your account is not a member of this organisation")
        email = (member.email if member else "") or token_email
        if not email:
            raise Conflict("your account has no email address to send the link to", field="email")
        return email.lower()
