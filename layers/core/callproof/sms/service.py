"""SMS use cases: inbound messages and keywords, the consent ledger, the outbound gate, consent links
(the public consent pages those links open are ``callproof.sms.web_consent``).

Pure: every dependency is a port (``callproof.sms.ports``); ``callproof.wiring`` plugs in DynamoDB and Twilio.
The current consent status of a number is always derived from its ledger (the newest entry wins).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from callproof.errors import Forbidden, InvalidInput, NotFound, NotTextable, SendRefused
from callproof.ids import time_ordered_id, utc_now
from callproof.sms import links
from callproof.sms.keywords import KeywordKind, Replies, classify
from callproof.sms.model import (
    MAX_BODY_CHARS,
    ConsentEntry,
    ConsentStatus,
    ConsentView,
    InboundSms,
    MessageDirection,
    OrgSmsConfig,
    Recipient,
    Reply,
    SendersIn,
    SendIn,
    SmsConsentSource,
    SmsSettingsIn,
    ThreadMessage,
)
from callproof.sms.numbers import inbound_number, typed_number
from callproof.sms.ports import (
    ContactLookup,
    RecipientOptedOut,
    RecipientReader,
    SmsGateway,
    SmsStore,
    SuppressionList,
    ThreadPage,
)
from callproof.sms.verification import opted_out
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.contacts.ports import OrgSettingsReader

CARRIER_OPT_OUT_CODE = 21610  # Twilio: "Attempt to send to unsubscribed recipient"
HISTORY_LIMIT = 100
READ_ROLES = (Role.REP, Role.ADMIN, Role.COMPLIANCE)
SEND_ROLES = (Role.REP, Role.ADMIN)
STATUS_PATH = "/webhooks/twilio/sms/status"

Clock = Callable[[], datetime]
IdFactory = Callable[[datetime], str]


class SmsService:
    def __init__(
        self,
        store: SmsStore,
        contacts: ContactLookup,
        recipients: RecipientReader,
        orgs: OrgSettingsReader,
        gateway: Callable[[], SmsGateway],
        link_key: Callable[[], bytes],
        *,
        public_base_url: str | None,
        default_daily_cap: int,
        suppression: SuppressionList | None = None,
        clock: Clock = utc_now,
        new_id: IdFactory = time_ordered_id,
    ) -> None:
        self._store = store
        self._contacts = contacts
        self._recipients = recipients
        self._orgs = orgs
        self._gateway = gateway
        self._link_key = link_key
        self._base_url = public_base_url.rstrip("/") if public_base_url else None
        self._default_cap = default_daily_cap
        self._suppression = suppression
        self._clock = clock
        self._new_id = new_id

    # ------------------------------------------------------------------------------- inbound
    def receive(self, inbound: InboundSms) -> Reply:
        """Handle one (signature-checked) inbound message; a replayed MessageSid changes nothing."""
        if len(inbound.body) > MAX_BODY_CHARS:
            raise InvalidInput(f"Body is over {MAX_BODY_CHARS} characters", field="Body")
        senders = [inbound.to] + ([inbound.messaging_service_sid] if inbound.messaging_service_sid else [])
        org_id = self._store.org_for_senders(senders)
        if org_id is None:
            return Reply(None, "unknown_sender")
        now = self._clock()
        keyword = classify(inbound.body, inbound.opt_out_type)
        if keyword is not None and keyword.kind in (KeywordKind.OPT_OUT, KeywordKind.OPT_IN):
            status = (
                ConsentStatus.OPTED_OUT if keyword.kind is KeywordKind.OPT_OUT else ConsentStatus.OPTED_IN
            )
            entry = ConsentEntry(
                org_id=org_id,
                e164=inbound.from_number,
                status=status,
                source=SmsConsentSource.KEYWORD,
                at=now,
                entry_id=self._new_id(now),
                keyword=keyword.word,
                message_sid=inbound.message_sid,
                sender=inbound.messaging_service_sid or inbound.to,
            )
            if not self._store.record_inbound(org_id, inbound.message_sid, entry, []):
                return Reply(None, "duplicate")
            config = self._store.get_config(org_id)
            replies = Replies(config)
            outcome = keyword.kind.value
            if not config.confirmations:
                return Reply(None, outcome)
            return Reply(
                replies.opted_out() if status is ConsentStatus.OPTED_OUT else replies.opted_in(), outcome
            )
        if keyword is not None:  # HELP / INFO
            if not self._store.record_inbound(org_id, inbound.message_sid, None, []):
                return Reply(None, "duplicate")
            if inbound.opt_out_type:  # Twilio Advanced Opt-Out already answered it
                return Reply(None, "help")
            return Reply(Replies(self._store.get_config(org_id)).help(), "help")
        contact_ids = self._contacts.lookup_by_phones(org_id, [inbound.from_number]).get(inbound.from_number)
        if not contact_ids:
            return Reply(None, "unknown_number")  # the body of a stranger's text is not kept
        messages = [
            ThreadMessage(
                org_id=org_id,
                contact_id=contact_id,
                message_id=self._new_id(now),
                direction=MessageDirection.INBOUND,
                body=inbound.body,
                e164=inbound.from_number,
                at=now,
                message_sid=inbound.message_sid,
                sender=inbound.messaging_service_sid or inbound.to,
            )
            for contact_id in sorted(contact_ids)
        ]
        if not self._store.record_inbound(org_id, inbound.message_sid, None, messages):
            return Reply(None, "duplicate")
        return Reply(None, "stored")

    def delivery_status(
        self,
        org_id: str,
        contact_id: str,
        message_id: str,
        message_sid: str,
        status: str,
        error_code: int | None,
        to: str | None,
    ) -> bool:
        """A (signature-checked) status callback; 21610 also records a carrier opt-out."""
        found = self._store.update_delivery(org_id, contact_id, message_id, message_sid, status, error_code)
        if found and error_code == CARRIER_OPT_OUT_CODE and to:
            self._carrier_opt_out(org_id, inbound_number(to, "To"), message_sid)
        return found

    # ------------------------------------------------------------------------------ outbound
    def send(self, caller: Caller, request: SendIn) -> ThreadMessage:
        """Text a customer, unless any consent rule refuses (then nothing is sent or counted)."""
        caller.require(*SEND_ROLES)
        recipient = self._recipient(caller.org_id, request.contact_id)
        if recipient.type != "customer":
            raise NotTextable("not_a_customer", "SMS goes to customers only", field="contact_id")
        if not recipient.e164s:
            raise NotTextable("no_phone", "the contact has no phone number", field="contact_id")
        to = recipient.e164s[0]
        if request.phone is not None:
            to = self.number(caller.org_id, request.phone, "phone")
            if to not in recipient.e164s:
                raise InvalidInput("not one of the contact's numbers", field="phone")
        if recipient.restricted:
            raise SendRefused("restricted", "processing of this contact's data is restricted")
        if recipient.suppressed:
            raise SendRefused("suppressed", "this contact is suppressed")
        if opted_out(self._store, self._suppression, caller.org_id, to):
            # An erased number gets the opt-out's refusal too: the answer does not reveal an erasure.
            raise SendRefused("opted_out", "the number opted out of SMS")
        config = self._store.get_config(caller.org_id)
        sender = config.messaging_service_sid or (config.phone_numbers[0] if config.phone_numbers else None)
        if sender is None:
            raise SendRefused("sms_not_configured", "the org has registered no Twilio number or service")
        now = self._clock()
        day = now.astimezone(UTC).date().isoformat()
        cap = config.daily_cap if config.daily_cap is not None else self._default_cap
        if not self._store.reserve_send(caller.org_id, day, cap):
            raise SendRefused("daily_cap_reached", f"the org's daily cap of {cap} messages is reached")
        message_id = self._new_id(now)
        callback = (
            f"{self._base_url}{STATUS_PATH}/{caller.org_id}/{recipient.contact_id}/{message_id}"
            if self._base_url
            else None
        )
        try:
            result = self._gateway().send(to, request.body, sender, callback)
        except RecipientOptedOut:
            self._store.release_send(caller.org_id, day)
            self._carrier_opt_out(caller.org_id, to, None)
            raise SendRefused("opted_out", "the carrier reports that the number opted out") from None
        except Exception:
            self._store.release_send(caller.org_id, day)
            raise
        message = ThreadMessage(
            org_id=caller.org_id,
            contact_id=recipient.contact_id,
            message_id=message_id,
            direction=MessageDirection.OUTBOUND,
            body=request.body,
            e164=to,
            at=now,
            message_sid=result.message_sid,
            sender=sender,
            status=result.status,
            sent_by=caller.user_id,
        )
        self._store.add_message(message)
        return message

    def _carrier_opt_out(self, org_id: str, e164: str, message_sid: str | None) -> None:
        now = self._clock()
        self._store.append_consent(
            ConsentEntry(
                org_id=org_id,
                e164=e164,
                status=ConsentStatus.OPTED_OUT,
                source=SmsConsentSource.CARRIER,
                at=now,
                entry_id=self._new_id(now),
                keyword=str(CARRIER_OPT_OUT_CODE),
                message_sid=message_sid,
            )
        )

    # ------------------------------------------------------------------------------- reading
    def _recipient(self, org_id: str, contact_id: str) -> Recipient:
        recipient = self._recipients.recipient(org_id, contact_id)
        if recipient is None:
            raise NotFound("contact not found")
        return recipient

    def number(self, org_id: str, raw: str, field: str) -> str:
        return typed_number(raw, self._orgs.default_phone_region(org_id), field)

    def status_of(self, org_id: str, e164: str) -> ConsentStatus:
        newest = self._store.consent_history(org_id, e164, 1)
        return newest[0].status if newest else ConsentStatus.NONE

    def consent(self, caller: Caller, raw_number: str) -> ConsentView:
        caller.require(*READ_ROLES)
        e164 = self.number(caller.org_id, raw_number, "phone")
        history = self._store.consent_history(caller.org_id, e164, HISTORY_LIMIT)
        return ConsentView(e164, history[0].status if history else ConsentStatus.NONE, history)

    def record_consent(self, caller: Caller, raw_number: str, status: ConsentStatus) -> ConsentView:
        """Consent given or withdrawn by other means; only admins may record an opt-in."""
        caller.require(*SEND_ROLES)
        if status is ConsentStatus.NONE:
            raise InvalidInput("status must be opted_in or opted_out", field="status")
        if status is ConsentStatus.OPTED_IN and not caller.has(Role.ADMIN):
            raise Forbidden("only an admin may record an opt-in")
        e164 = self.number(caller.org_id, raw_number, "phone")
        now = self._clock()
        self._store.append_consent(
            ConsentEntry(
                org_id=caller.org_id,
                e164=e164,
                status=status,
                source=SmsConsentSource.API,
                at=now,
                entry_id=self._new_id(now),
                actor=caller.user_id,
            )
        )
        return self.consent(caller, e164)

    def thread(self, caller: Caller, contact_id: str, limit: int, cursor: str | None) -> ThreadPage:
        caller.require(*READ_ROLES)
        self._recipient(caller.org_id, contact_id)  # 404 for unknown and other orgs' contacts
        return self._store.thread_page(caller.org_id, contact_id, limit, cursor)

    # ------------------------------------------------------------------------- configuration
    def config(self, caller: Caller) -> OrgSmsConfig:
        caller.require(Role.REP, Role.ADMIN)
        return self._store.get_config(caller.org_id)

    def set_senders(self, caller: Caller, request: SendersIn) -> OrgSmsConfig:
        caller.require(Role.ADMIN)
        numbers = tuple(
            dict.fromkeys(
                self.number(caller.org_id, raw, f"phone_numbers[{index}]")
                for index, raw in enumerate(request.phone_numbers)
            )
        )
        old = self._store.get_config(caller.org_id)
        new = replace(
            old,
            phone_numbers=numbers,
            messaging_service_sid=request.messaging_service_sid,
            version=old.version + 1,
        )
        self._store.put_config(old, new)
        return new

    def set_settings(self, caller: Caller, request: SmsSettingsIn) -> OrgSmsConfig:
        caller.require(Role.ADMIN)
        old = self._store.get_config(caller.org_id)
        new = replace(
            old,
            brand=request.brand,
            support_contact=request.support_contact,
            confirmations=request.confirmations,
            daily_cap=request.daily_cap,
            version=old.version + 1,
        )
        self._store.put_config(old, new)
        return new

    @property
    def default_daily_cap(self) -> int:
        return self._default_cap

    # ------------------------------------------------------------------------ consent links
    def make_link(self, caller: Caller, raw_number: str, action: str) -> tuple[str, datetime]:
        caller.require(*SEND_ROLES)
        if self._base_url is None:
            raise SendRefused("sms_not_configured", "the deployment has no public base URL")
        e164 = self.number(caller.org_id, raw_number, "phone")
        token, expires = links.make_link_token(self._link_key(), caller.org_id, e164, action, self._clock())
        return f"{self._base_url}/sms/{action}?token={token}", expires
