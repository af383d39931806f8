"""The org's product-update mail to its members (issue 16, point 3): the one marketing mail the product
sends. An admin posts it; it goes only to members whose current ``marketing_email`` consent is a grant
(``ConsentService.marketing_recipient``), each with their signed one-click unsubscribe link in the text
and in the RFC 8058 headers the ``MarketingMailer`` sets. Nobody is listed in the answer: counts only.
Without a public base URL no link can be made: 422 before anything is sent."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, StringConstraints

from callproof.models import Model
from callproof.tenancy import Caller, Role
from callproof.values import FREE_TEXT, SINGLE_LINE

if TYPE_CHECKING:
    from callproof.accounts.consent import ConsentService
    from callproof.accounts.ports import MarketingMailer, MemberStore

FOOTER = "\n\n--\nYou get this because you agreed to CallProof product news. Unsubscribe: {url}\n"


class AnnouncementIn(Model):
    model_config = ConfigDict(extra="forbid")

    subject: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE
    ]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), FREE_TEXT]


@dataclass(frozen=True, slots=True)
class Announcement:
    id: str
    sent: int  # members with current marketing_email consent, mailed
    skipped: int  # members without it, not mailed


class AnnouncementOut(Model):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sent: int
    skipped: int


class Announcements:
    def __init__(
        self,
        members: MemberStore,
        consent: ConsentService,
        mailer: MarketingMailer,
        new_id: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self._members = members
        self._consent = consent
        self._mailer = mailer
        self._new_id = new_id

    def send(self, caller: Caller, request: AnnouncementIn) -> Announcement:
        caller.require(Role.ADMIN)
        members = [m for m in self._members.list_org(caller.org_id) if m.removed_at is None]
        recipients = [
            recipient
            for member in members
            if (recipient := self._consent.marketing_recipient(caller.org_id, member.user_id, member.email))
        ]
        for recipient in recipients:
            text = request.text + FOOTER.format(url=recipient.unsubscribe_url)
            self._mailer.send_marketing(recipient, request.subject, text)
        return Announcement(self._new_id(), len(recipients), len(members) - len(recipients))
