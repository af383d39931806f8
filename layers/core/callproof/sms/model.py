"""SMS entities (ledger entries, thread messages, org SMS configuration) and the API's models."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, StringConstraints

from callproof.models import Model
from callproof.values import FREE_TEXT, JSON_SCALAR, SINGLE_LINE

MAX_BODY_CHARS = 1600  # Twilio's limit for one (concatenated) message
MAX_SENDER_NUMBERS = 10
DEFAULT_BRAND = "CallProof"


class ConsentStatus(StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    NONE = "none"  # no ledger entry: an existing customer may be texted; nobody opted out


class SmsConsentSource(StrEnum):
    KEYWORD = "keyword"
    WEB = "web"
    API = "api"
    CARRIER = "carrier"  # Twilio refused a send with error 21610


class MessageDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    """One append-only ledger record for (org, E.164 number)."""

    org_id: str
    e164: str
    status: ConsentStatus
    source: SmsConsentSource
    at: datetime
    entry_id: str
    keyword: str | None = None  # the keyword matched, or the carrier error code
    message_sid: str | None = None
    sender: str | None = None  # our number or messaging service the person wrote to
    actor: str | None = None  # the user who recorded it through the API


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    org_id: str
    contact_id: str
    message_id: str  # time-ordered: the thread sorts by it
    direction: MessageDirection
    body: str
    e164: str
    at: datetime
    message_sid: str | None = None
    sender: str | None = None
    status: str | None = None  # Twilio's delivery status for outbound messages
    error_code: int | None = None
    sent_by: str | None = None


@dataclass(frozen=True, slots=True)
class OrgSmsConfig:
    org_id: str
    phone_numbers: tuple[str, ...] = ()
    messaging_service_sid: str | None = None
    brand: str = DEFAULT_BRAND
    support_contact: str | None = None
    confirmations: bool = False  # send one confirmation on opt-out / opt-in
    daily_cap: int | None = None  # None: the deployment's default cap
    version: int = 0

    @property
    def senders(self) -> tuple[str, ...]:
        return self.phone_numbers + ((self.messaging_service_sid,) if self.messaging_service_sid else ())


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A Twilio inbound message webhook, after its signature was checked."""

    message_sid: str
    from_number: str  # E.164, normalized
    to: str
    body: str
    messaging_service_sid: str | None = None
    opt_out_type: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """TwiML reply: no message (empty <Response/>) or one message."""

    message: str | None = None
    outcome: str = "ignored"  # for metrics: opt_out, opt_in, help, stored, unknown_sender, duplicate, ...


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the send gate needs of a contact (restricted / suppressed are set by the DSAR issue)."""

    contact_id: str
    type: str
    e164s: tuple[str, ...]
    restricted: bool = False
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class SendResult:
    message_sid: str
    status: str


@dataclass(frozen=True, slots=True)
class ConsentView:
    e164: str
    status: ConsentStatus
    history: list[ConsentEntry] = field(default_factory=list)


# ------------------------------------------------------------------------------------ API models
E164Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64), SINGLE_LINE]
MessageBody = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS), FREE_TEXT]
Brand = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), SINGLE_LINE]
SupportContact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80), SINGLE_LINE]
ContactId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MessagingServiceSid = Annotated[str, StringConstraints(pattern=r"^MG[0-9a-fA-F]{32}$")]


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SendersIn(_Strict):
    """The org's Twilio numbers and / or Messaging Service; inbound messages to them belong to the org."""

    phone_numbers: list[E164Text] = Field(default_factory=list, max_length=MAX_SENDER_NUMBERS)
    messaging_service_sid: MessagingServiceSid | None = None


class SmsSettingsIn(_Strict):
    brand: Brand = DEFAULT_BRAND
    support_contact: SupportContact | None = None
    confirmations: Annotated[bool, JSON_SCALAR] = False
    daily_cap: Annotated[int, Field(ge=0, le=100_000), JSON_SCALAR] | None = None


class OrgSmsOut(Model):
    phone_numbers: list[str]
    messaging_service_sid: str | None
    brand: str
    support_contact: str | None
    confirmations: bool
    daily_cap: int

    @classmethod
    def of(cls, config: OrgSmsConfig, default_cap: int) -> Self:
        return cls(
            phone_numbers=list(config.phone_numbers),
            messaging_service_sid=config.messaging_service_sid,
            brand=config.brand,
            support_contact=config.support_contact,
            confirmations=config.confirmations,
            daily_cap=config.daily_cap if config.daily_cap is not None else default_cap,
        )


class SendIn(_Strict):
    contact_id: ContactId
    body: MessageBody
    phone: E164Text | None = None  # one of the contact's numbers; default: its first


class MessageOut(Model):
    id: str
    contact_id: str
    direction: MessageDirection
    body: str
    phone: str
    at: datetime
    message_sid: str | None
    status: str | None
    error_code: int | None
    sent_by: str | None

    @classmethod
    def of(cls, message: ThreadMessage) -> Self:
        return cls(
            id=message.message_id,
            contact_id=message.contact_id,
            direction=message.direction,
            body=message.body,
            phone=message.e164,
            at=message.at,
            message_sid=message.message_sid,
            status=message.status,
            error_code=message.error_code,
            sent_by=message.sent_by,
        )


class ThreadOut(Model):
    items: list[MessageOut]
    next_cursor: str | None


class ConsentEntryOut(Model):
    status: ConsentStatus
    source: SmsConsentSource
    at: datetime
    keyword: str | None
    message_sid: str | None
    sender: str | None
    actor: str | None

    @classmethod
    def of(cls, entry: ConsentEntry) -> Self:
        return cls(
            status=entry.status,
            source=entry.source,
            at=entry.at,
            keyword=entry.keyword,
            message_sid=entry.message_sid,
            sender=entry.sender,
            actor=entry.actor,
        )


class SmsConsentOut(Model):
    phone: str
    status: ConsentStatus
    history: list[ConsentEntryOut]


class SmsConsentLookupIn(_Strict):
    """A number whose consent to read: in the body, so that numbers never appear in URLs or logs."""

    phone: Annotated[E164Text, Field(description="E.164, or as typed in the org's default region")]


class SmsConsentIn(_Strict):
    """Record consent given or withdrawn by other means (phone call, email); admins only for opt-in."""

    phone: Annotated[E164Text, Field(description="E.164, or as typed in the org's default region")]
    status: Annotated[ConsentStatus, Field(description="opted_in or opted_out")]


class LinkIn(_Strict):
    phone: E164Text
    action: Annotated[str, StringConstraints(pattern=r"^(opt-in|opt-out)$")]


class LinkOut(Model):
    url: str
    expires_at: datetime
