"""Privacy requests by email (``functions/privacy_inbox``): SES receives mail for the privacy address,
stores it in S3 and hands us its receipt (verdicts, recipients); we read the stored message with the
standard library's ``email`` package and file the request through ``PublicRequests``, as the public
page does.

- The org is named by the recipient, ``privacy+<org slug>@<domain>``. Mail without a known slug is
  filed in each org holding the sender as a member or on a contact (``SenderOrgs``), up to
  ``MAX_SENDER_ORGS``; none holding it, it files nothing (ADR 0019).
- The sender's address (the From header, the one DMARC aligns) becomes the request's email; it is
  proven only by the confirmation link emailed to it, so nothing runs before the link is opened.
- The type is read from the subject, else the body: one type named, that type; none or several,
  needs_review for staff.
- Spoofing: SES's SPF, DKIM and DMARC verdicts are read. Any of them FAIL, or no PASS at all, and the
  request is held in needs_review: no confirmation link is sent and nothing runs. Spam or virus FAIL,
  auto-replies, bulk mail and mail from our own addresses are dropped (no request, no answer).
- A redelivered message (SES retries an asynchronous invocation) finds its request by the id derived
  from the SES message id and does nothing again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import ValidationError

from callproof.dsar.api import PublicRequestIn
from callproof.dsar.deadlines import Jurisdiction
from callproof.dsar.model import RequestType
from callproof.dsar.public import SLUG, PublicRequests
from callproof.errors import Conflict, TooManyRequests

if TYPE_CHECKING:
    from callproof.dsar.ports import InboundMessages, OrgDirectory, SenderOrgs

MAX_DETAILS = 2000  # what ``PublicRequestIn.details`` holds
# Mail naming no org is filed in each org holding the sender, up to this many; with more, each of
# those is held for staff instead (a mass mailing should not fan out unread).
MAX_SENDER_ORGS = 5
PASS, FAIL = "PASS", "FAIL"
# Words that name a request type (case-folded, whole words). "copy" and "export" are access;
# "transfer" is portability.
KEYWORDS: dict[str, tuple[str, ...]] = {
    RequestType.COMPLAINT.value: ("complaint", "complain", "complaining"),
    RequestType.ERASURE.value: ("delete", "deletion", "erase", "erasure", "forget", "forgotten", "remove"),
    RequestType.PORTABILITY.value: ("transfer", "portability", "port"),
    RequestType.CORRECTION.value: ("correct", "correction", "rectify", "rectification", "inaccurate"),
    RequestType.RESTRICTION.value: ("restrict", "restriction"),
    RequestType.ACCESS.value: ("access", "copy", "export", "sar", "dsar"),
}
_WORDS = {
    kind: re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b") for kind, words in KEYWORDS.items()
}


class Outcome(StrEnum):
    FILED = "filed"  # pending_confirmation: the confirmation link went to the sender
    HELD = "held"  # needs_review: staff read it first; nothing sent, nothing runs
    DUPLICATE = "duplicate"  # a redelivery of a message already handled
    DROPPED = "dropped"  # no request: unreadable, spam, a loop, no org, over the rate limit


_PRECEDENCE = (Outcome.FILED, Outcome.HELD, Outcome.DUPLICATE, Outcome.DROPPED)  # of several orgs' results


@dataclass(frozen=True, slots=True)
class Verdicts:
    spf: str
    dkim: str
    dmarc: str
    spam: str = PASS
    virus: str = PASS

    @property
    def authenticated(self) -> bool:
        """No check failed, and DMARC passed, or (the domain publishing no DMARC policy) SPF or DKIM did."""
        checks = (self.spf, self.dkim, self.dmarc)
        if FAIL in checks:
            return False
        return self.dmarc == PASS or PASS in (self.spf, self.dkim)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What SES tells us about a received message (its Lambda action's event)."""

    message_id: str
    received_at: datetime
    recipients: tuple[str, ...]
    verdicts: Verdicts


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    reason: str  # fixed words, never personal data: what the logs and metrics say
    org_id: str | None = None
    request_id: str | None = None


def requested_type(subject: str, body: str) -> RequestType | None:
    """The one type the subject names, else the one the body names; None when none or several."""
    for text in (subject, body[:MAX_DETAILS]):
        named = {kind for kind, words in _WORDS.items() if words.search(text.casefold())}
        if len(named) == 1:
            return RequestType(named.pop())
        if named:
            return None  # several: staff read it
    return None


class MailIntake:
    def __init__(
        self,
        public: PublicRequests,
        orgs: OrgDirectory,
        messages: InboundMessages,
        privacy_address: str,
        own_addresses: frozenset[str],
        holders: SenderOrgs | None = None,
    ) -> None:
        self._public = public
        self._orgs = orgs
        self._holders = holders
        self._messages = messages
        local, _, domain = privacy_address.lower().partition("@")
        self._tagged = re.compile(rf"^{re.escape(local)}\+([a-z0-9-]+)@{re.escape(domain)}$")
        self._own = frozenset(address.lower() for address in own_addresses | {privacy_address})

    def receive(self, receipt: Receipt) -> Result:
        if FAIL in (receipt.verdicts.spam, receipt.verdicts.virus):
            return Result(Outcome.DROPPED, "spam or virus")
        named = self._org(receipt.recipients)
        request_id = _request_id(receipt)
        if named is not None and self._public.existing(named, request_id) is not None:
            return Result(Outcome.DUPLICATE, "already received", named, request_id)
        if named is None and self._holders is None:
            return Result(Outcome.DROPPED, "no org slug in the recipient")
        raw = self._messages.read(receipt.message_id)
        if raw is None:
            return Result(Outcome.DROPPED, "message missing or too large", named)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        if not isinstance(message, EmailMessage):  # what policy.default always builds
            return Result(Outcome.DROPPED, "unreadable message", named)
        sender = _sender(message)
        if sender is None or sender in self._own or _automatic(message):
            return Result(Outcome.DROPPED, "no single sender, our own, or automatic", named)
        if named is not None:
            return self._file(named, receipt, message, sender, request_id)
        orgs = self._holders.orgs_holding(sender, MAX_SENDER_ORGS) if self._holders else frozenset()
        if not orgs:
            return Result(Outcome.DROPPED, "no org named, and none holds the sender")
        crowded = "more orgs than we file in hold the sender" if len(orgs) > MAX_SENDER_ORGS else None
        results = [
            self._file(org_id, receipt, message, sender, request_id, crowded)
            for org_id in sorted(orgs)[:MAX_SENDER_ORGS]
        ]
        return min(results, key=lambda result: _PRECEDENCE.index(result.outcome))

    def _file(
        self,
        org_id: str,
        receipt: Receipt,
        message: EmailMessage,
        sender: str,
        request_id: str,
        held: str | None = None,
    ) -> Result:
        if self._public.existing(org_id, request_id) is not None:
            return Result(Outcome.DUPLICATE, "already received", org_id, request_id)
        subject = str(message.get("subject", ""))
        body = _text(message)
        kind = requested_type(subject, body)
        details = f"{subject}\n\n{body}".strip()[:MAX_DETAILS] or None
        if not receipt.verdicts.authenticated:
            held = "mail failed its authentication checks (SPF, DKIM or DMARC)"
        elif kind is None:
            held = "the request type could not be read from the mail"
        elif kind is RequestType.PORTABILITY:
            held = "a transfer by mail: staff confirm the recipient"
        try:  # validated as the page's fields are (the address, the text)
            data = PublicRequestIn(
                org_id=org_id,
                type=kind if held is None and kind is not None else RequestType.ACCESS,
                email=sender,
                jurisdiction=Jurisdiction.GDPR,
                details=details,
            )
        except ValidationError:
            return Result(Outcome.DROPPED, "sender or text refused by validation", org_id)
        try:
            if held is not None:  # the type asked for, or access when none could be read (staff see the text)
                self._public.hold_for_review(
                    data.model_copy(update={"type": kind or data.type}), request_id, held
                )
                return Result(Outcome.HELD, held, org_id, request_id)
            self._public.public_request(data, f"mail:{sender}", request_id=request_id)
        except Conflict:
            return Result(Outcome.DUPLICATE, "already received", org_id, request_id)
        except TooManyRequests:
            return Result(Outcome.DROPPED, "over the hourly limit", org_id)
        return Result(Outcome.FILED, "confirmation sent", org_id, request_id)

    def _org(self, recipients: tuple[str, ...]) -> str | None:
        for recipient in recipients:
            found = self._tagged.match(recipient.strip().lower())
            if found and SLUG.match(found.group(1)):
                org_id = self._orgs.org_for_slug(found.group(1))
                if org_id is not None:
                    return org_id
        return None


def _request_id(receipt: Receipt) -> str:
    """Time-ordered like every request id (microseconds, 15 hex digits), then 8 hex digits of the SES
    message id: the same message always maps to the same request."""
    micros = int(receipt.received_at.timestamp() * 1_000_000)
    return f"{micros:015x}{hashlib.sha256(receipt.message_id.encode()).hexdigest()[:8]}"


def _sender(message: EmailMessage) -> str | None:
    """The From header's one address, lower-cased; None for none, several, or a malformed one."""
    header = message.get("from")
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    defects: tuple[object, ...] = getattr(header, "defects", ())
    if len(addresses) != 1 or defects:
        return None
    address = addresses[0].addr_spec.lower()
    return address if "@" in address and len(address) <= 254 else None


def _automatic(message: EmailMessage) -> bool:
    """Auto-replies, bounces and list mail (RFC 3834): never answered, so no mail loop."""
    auto = str(message.get("auto-submitted", "no")).strip().lower()
    precedence = str(message.get("precedence", "")).strip().lower()
    return auto != "no" or precedence in ("bulk", "list", "junk") or message.get("list-id") is not None


def _text(message: EmailMessage) -> str:
    """The plain-text body (the part the sender wrote); empty when the mail has none."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        return ""
    return content.strip() if isinstance(content, str) else ""
