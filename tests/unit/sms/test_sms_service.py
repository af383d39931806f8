"""The SMS service with fakes: inbound routing and storage, replies, the send gate, links and CSRF,
the typed-number opt-out's texted codes and their limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from callproof.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    NotTextable,
    SendRefused,
    TemporarilyUnavailable,
    TooManyRequests,
)
from callproof.integrations.twilio_webhook import FormParams, sign, signature_is_valid, twiml
from callproof.otp import CODE_TTL, CodeLocked, CodeUnavailable, OneTimeCodes, WrongCode
from callproof.phones import masked
from callproof.ratelimit import RateLimits
from callproof.sms import links
from callproof.sms.model import (
    ConsentStatus,
    InboundSms,
    Recipient,
    SendersIn,
    SendIn,
    SmsConsentSource,
    SmsSettingsIn,
)
from callproof.sms.service import SmsService
from callproof.sms.verification import PhoneVerification
from callproof.sms.web_consent import WebConsent
from callproof.tenancy import Caller, Role
from tests.fakes import (
    FakeContactLookup,
    FakeRecipients,
    FakeSmsGateway,
    FixedOrgSettings,
    InMemoryCodeStore,
    InMemoryRateCounter,
    InMemorySmsStore,
    InMemorySuppression,
)

ORG, OTHER = "org-a", "org-b"
TWILIO_NUMBER, SERVICE_SID = "+15005550006", "MG" + "a" * 32
ADA, ADA_ID = "+14155550100", "c-ada"
REP = Caller(ORG, "rep-1", frozenset({Role.REP}))
ADMIN = Caller(ORG, "admin-1", frozenset({Role.ADMIN}))
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
DAY = "2026-11-28"


class World:
    def __init__(self) -> None:
        self.store = InMemorySmsStore()
        self.contacts = FakeContactLookup({(ORG, ADA): frozenset({ADA_ID})})
        self.recipients = FakeRecipients()
        self.recipients.add(ORG, Recipient(ADA_ID, "customer", (ADA,)))
        self.gateway = FakeSmsGateway()
        self.now = NOW
        self.suppression = InMemorySuppression()
        ids = count(1)
        codes = count(482_913, 7_919)  # distinct 6-digit codes, read back from the texts
        self.verification = PhoneVerification(
            OneTimeCodes(
                InMemoryCodeStore(), lambda: b"o" * 32, clock=lambda: self.now,
                new_code=lambda: f"{next(codes) % 10**6:06d}",
            ),
            RateLimits(InMemoryRateCounter(), lambda: b"r" * 32, clock=lambda: self.now),
            self.store, lambda: self.gateway, self.suppression,
        )  # fmt: skip
        self.service = SmsService(
            self.store, self.contacts, self.recipients, FixedOrgSettings(), lambda: self.gateway,
            lambda: b"k" * 32, public_base_url="https://api.example.com/dev/", default_daily_cap=3,
            suppression=self.suppression, clock=lambda: self.now, new_id=lambda _: f"{next(ids):020d}",
        )  # fmt: skip
        self.pages = WebConsent(
            self.store, FixedOrgSettings(), lambda: b"k" * 32, verification=self.verification,
            clock=lambda: self.now, new_id=lambda _: f"{next(ids):020d}",
        )  # fmt: skip
        self.service.set_senders(
            ADMIN, SendersIn(phone_numbers=[TWILIO_NUMBER], messaging_service_sid=SERVICE_SID)
        )

    def inbound(
        self, body: str, sid: int = 1, sender: str = ADA, opt_out_type: str | None = None
    ) -> tuple[str | None, str]:
        reply = self.service.receive(
            InboundSms(f"SM{sid:032x}", sender, TWILIO_NUMBER, body, opt_out_type=opt_out_type)
        )
        return reply.message, reply.outcome


@pytest.fixture
def world() -> World:
    return World()


def test_ordinary_text_from_a_contact_lands_on_its_thread_once(world: World) -> None:
    for _ in range(3):  # Twilio retries
        world.inbound("See you at 3")
    thread = world.store.threads[(ORG, ADA_ID)]
    assert [(m.body, m.direction.value, m.message_sid) for m in thread] == [
        ("See you at 3", "inbound", f"SM{1:032x}")
    ]


def test_text_from_unknown_number_is_not_stored(world: World) -> None:
    assert world.inbound("who is this?", sender="+14155550199") == (None, "unknown_number")
    assert world.store.threads == {}
    assert world.store.seen == set()


def test_unknown_recipient_number_reaches_no_org(world: World) -> None:
    reply = world.service.receive(InboundSms("SM" + "1" * 32, ADA, "+15005550009", "STOP"))
    assert (reply.message, reply.outcome) == (None, "unknown_sender")
    assert world.store.ledger == {}


def test_messaging_service_sid_resolves_the_org(world: World) -> None:
    reply = world.service.receive(InboundSms("SM" + "2" * 32, ADA, "+15005550009", "STOP", SERVICE_SID))
    assert reply.outcome == "opt_out"
    assert world.service.status_of(ORG, ADA) is ConsentStatus.OPTED_OUT


def test_stop_writes_one_ledger_entry_and_replays_change_nothing(world: World) -> None:
    for _ in range(3):
        world.inbound("Stop!")
    (entry,) = world.store.ledger[(ORG, ADA)]
    assert (entry.status, entry.source, entry.keyword, entry.sender) == (
        ConsentStatus.OPTED_OUT, SmsConsentSource.KEYWORD, "STOP", TWILIO_NUMBER,
    )  # fmt: skip
    assert world.store.threads == {}  # keywords are ledger entries, not thread messages


def test_confirmations_only_when_the_org_enables_them(world: World) -> None:
    assert world.inbound("STOP", sid=1) == (None, "opt_out")
    world.service.set_settings(ADMIN, SmsSettingsIn(brand="Acme", confirmations=True))
    message, _ = world.inbound("UNSUBSCRIBE", sid=2)
    assert message is not None
    assert message.startswith("Acme:")
    assert "START" in message
    message, _ = world.inbound("start", sid=3)
    assert message is not None
    assert "subscribed again" in message
    assert world.inbound("start", sid=3) == (None, "duplicate")  # a replay sends no second confirmation


def test_help_reply_names_brand_support_stop_and_rates(world: World) -> None:
    world.service.set_settings(ADMIN, SmsSettingsIn(brand="Acme", support_contact="help@acme.test"))
    message, outcome = world.inbound("help")
    assert outcome == "help"
    assert message is not None
    for part in ("Acme", "help@acme.test", "STOP", "Msg & data rates may apply"):
        assert part in message
    assert world.inbound("INFO", sid=2, opt_out_type="HELP") == (None, "help")  # Twilio already replied
    assert world.store.ledger == {}


def test_twiml_is_empty_or_one_escaped_message() -> None:
    assert twiml(None) == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    assert "<Message>a &amp; b &lt;c&gt;</Message>" in twiml("a & b <c>")


def test_body_over_1600_characters_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.inbound("x" * 1601)
    assert world.store.seen == set()


# ------------------------------------------------------------------------------------ sending
def send(world: World, caller: Caller = REP, contact: str = ADA_ID, body: str = "Hello") -> str:
    return world.service.send(caller, SendIn(contact_id=contact, body=body)).message_id


def test_send_to_customer_goes_out_with_status_callback(world: World) -> None:
    message_id = send(world)
    (sent,) = world.gateway.sent
    assert sent["to"] == ADA
    assert sent["sender"] == SERVICE_SID  # the messaging service wins over numbers
    assert sent["status_callback"] == (
        f"https://api.example.com/dev/webhooks/twilio/sms/status/{ORG}/{ADA_ID}/{message_id}"
    )
    (stored,) = world.store.threads[(ORG, ADA_ID)]
    assert (stored.status, stored.sent_by, stored.message_sid) == ("queued", "rep-1", f"SM{1:032x}")


@pytest.mark.parametrize(
    ("recipient", "error", "code"),
    [
        (Recipient(ADA_ID, "prospect", (ADA,)), NotTextable, "not_a_customer"),
        (Recipient(ADA_ID, "customer", ()), NotTextable, "no_phone"),
        (Recipient(ADA_ID, "customer", (ADA,), restricted=True), SendRefused, "restricted"),
        (Recipient(ADA_ID, "customer", (ADA,), suppressed=True), SendRefused, "suppressed"),
    ],
)
def test_refusals_send_nothing(world: World, recipient: Recipient, error: type[Exception], code: str) -> None:
    world.recipients.add(ORG, recipient)
    with pytest.raises(error) as raised:
        send(world)
    assert raised.value.code == code  # type: ignore[attr-defined]
    assert world.gateway.sent == []
    assert world.store.counters[(ORG, DAY)] == 0


def test_opt_out_then_send_is_refused_and_opt_in_reopens(world: World) -> None:
    world.inbound("QUIT", sid=1)
    with pytest.raises(SendRefused) as raised:
        send(world)
    assert raised.value.code == "opted_out"
    world.inbound("YES", sid=2)
    send(world)
    assert len(world.gateway.sent) == 1


def test_unknown_and_other_org_contacts_are_404(world: World) -> None:
    world.recipients.add(OTHER, Recipient("c-other", "customer", ("+14155550101",)))
    for contact in ("nope", "c-other"):
        with pytest.raises(NotFound):
            send(world, contact=contact)


def test_daily_cap_counts_per_org_and_day(world: World) -> None:
    for _ in range(3):
        send(world)
    with pytest.raises(SendRefused) as raised:
        send(world)
    assert raised.value.code == "daily_cap_reached"
    world.now = NOW + timedelta(days=1)
    send(world)
    assert len(world.gateway.sent) == 4


def test_carrier_21610_records_an_opt_out_and_later_sends_are_refused_before_twilio(world: World) -> None:
    world.gateway.opted_out.add(ADA)
    with pytest.raises(SendRefused) as raised:
        send(world)
    assert raised.value.code == "opted_out"
    (entry,) = world.store.ledger[(ORG, ADA)]
    assert (entry.source, entry.keyword) == (SmsConsentSource.CARRIER, "21610")
    assert world.store.counters[(ORG, DAY)] == 0  # refused sends are not counted
    world.gateway.opted_out.clear()
    with pytest.raises(SendRefused):
        send(world)  # our ledger refuses now, without asking Twilio
    assert world.gateway.sent == []


def test_provider_outage_is_503_and_uncounted(world: World) -> None:
    world.gateway.fail_with = TemporarilyUnavailable("down")
    with pytest.raises(TemporarilyUnavailable):
        send(world)
    assert world.store.counters[(ORG, DAY)] == 0
    assert world.store.threads == {}


def test_delivery_callback_updates_status_and_21610_opts_out(world: World) -> None:
    message_id = send(world)
    sid = f"SM{1:032x}"
    assert world.service.delivery_status(ORG, ADA_ID, message_id, sid, "delivered", None, ADA)
    assert world.store.threads[(ORG, ADA_ID)][0].status == "delivered"
    assert not world.service.delivery_status(ORG, ADA_ID, message_id, "SM" + "f" * 32, "failed", None, ADA)
    assert world.service.delivery_status(ORG, ADA_ID, message_id, sid, "undelivered", 21610, ADA)
    assert world.service.status_of(ORG, ADA) is ConsentStatus.OPTED_OUT


def test_only_admins_configure_and_record_opt_ins(world: World) -> None:
    with pytest.raises(Forbidden):
        world.service.set_senders(REP, SendersIn(phone_numbers=[]))
    with pytest.raises(Forbidden):
        world.service.record_consent(REP, ADA, ConsentStatus.OPTED_IN)
    view = world.service.record_consent(REP, "(415) 555-0100", ConsentStatus.OPTED_OUT)
    assert (view.e164, view.status, view.history[0].actor) == (ADA, ConsentStatus.OPTED_OUT, "rep-1")


def test_a_number_belongs_to_one_org(world: World) -> None:
    other_admin = Caller(OTHER, "admin-b", frozenset({Role.ADMIN}))
    with pytest.raises(Conflict):
        world.service.set_senders(other_admin, SendersIn(phone_numbers=[TWILIO_NUMBER]))


# ------------------------------------------------------------- typed-number opt-out: texted codes
CLIENT = "203.0.113.9"
BOB = "+14155550123"
OTHER_NUMBER = "+15005550007"


def texts_to(world: World, number: str) -> list[dict[str, str | None]]:
    return [sent for sent in world.gateway.sent if sent["to"] == number]


def texted_code(world: World, number: str = ADA) -> str:
    found = re.search(r"\b(\d{6})\b", str(texts_to(world, number)[-1]["body"]))
    assert found is not None
    return found.group(1)


def not_this(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def other_org_with_a_number(world: World) -> None:
    admin = Caller(OTHER, "admin-b", frozenset({Role.ADMIN}))
    world.service.set_senders(admin, SendersIn(phone_numbers=[OTHER_NUMBER]))


def test_the_code_is_texted_from_the_org_sender_and_records_nothing(world: World) -> None:
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)
    (sent,) = world.gateway.sent
    assert (sent["to"], sent["sender"], sent["status_callback"]) == (ADA, SERVICE_SID, None)
    code = texted_code(world)
    assert sent["body"] == (
        f"CallProof: {code} is your code to stop our text messages. It expires in 10 minutes. "
        "If you did not ask for it, ignore this message."
    )
    assert world.store.ledger == {}
    assert world.service.status_of(ORG, ADA) is ConsentStatus.NONE

    other_org_with_a_number(world)  # no messaging service: the org's first number sends
    world.pages.send_opt_out_code(OTHER, BOB, CLIENT)
    assert [(s["to"], s["sender"]) for s in texts_to(world, BOB)] == [(BOB, OTHER_NUMBER)]


def test_an_org_without_a_sender_texts_nothing_and_no_code_is_accepted(world: World) -> None:
    world.pages.send_opt_out_code("org-without-sms", ADA, CLIENT)  # no error: the page is the same
    assert world.gateway.sent == []
    with pytest.raises(CodeUnavailable):
        world.pages.opt_out_with_code("org-without-sms", ADA, "123456")
    assert world.store.ledger == {}


@pytest.mark.parametrize("how", ["stop", "api", "erased", "carrier"])
def test_a_number_that_may_not_be_texted_gets_no_code(world: World, how: str) -> None:
    if how == "stop":
        world.inbound("STOP")
    elif how == "api":
        world.service.record_consent(REP, ADA, ConsentStatus.OPTED_OUT)
    elif how == "erased":
        world.suppression.suppress(ORG, frozenset(), frozenset({ADA}), frozenset())
    else:  # opted out at Twilio only: the send fails with 21610
        world.gateway.opted_out.add(ADA)
    ledger = dict(world.store.ledger)
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)  # silently: the page does not tell
    assert world.gateway.sent == []
    assert world.store.ledger == ledger


def test_an_erased_number_that_texted_start_again_can_get_a_code(world: World) -> None:
    world.suppression.suppress(ORG, frozenset(), frozenset({ADA}), frozenset())
    world.inbound("START")
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)
    assert len(texts_to(world, ADA)) == 1


def test_the_right_code_records_one_web_opt_out_and_cannot_be_replayed(world: World) -> None:
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)
    code = texted_code(world)
    spaced = f" {code[:3]} {code[3:]} "  # as people type it
    assert world.pages.opt_out_with_code(ORG, ADA, spaced) is ConsentStatus.OPTED_OUT
    (entry,) = world.store.ledger[(ORG, ADA)]
    assert (entry.status, entry.source, entry.at) == (ConsentStatus.OPTED_OUT, SmsConsentSource.WEB, NOW)
    with pytest.raises(CodeUnavailable) as raised:
        world.pages.opt_out_with_code(ORG, ADA, code)
    assert raised.value.field == "code"
    assert len(world.store.ledger[(ORG, ADA)]) == 1


def test_wrong_codes_cost_tries_then_lock_even_the_right_one(world: World) -> None:
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)
    code = texted_code(world)
    for left in (4, 3, 2, 1):
        with pytest.raises(WrongCode) as raised:
            world.pages.opt_out_with_code(ORG, ADA, not_this(code))
        assert (raised.value.field, f"({left} tries left)" in raised.value.message) == ("code", True)
    with pytest.raises(CodeLocked):
        world.pages.opt_out_with_code(ORG, ADA, not_this(code))
    with pytest.raises(CodeLocked):
        world.pages.opt_out_with_code(ORG, ADA, code)
    assert world.store.ledger == {}

    world.pages.send_opt_out_code(ORG, ADA, CLIENT)  # a new code starts over
    assert world.pages.opt_out_with_code(ORG, ADA, texted_code(world)) is ConsentStatus.OPTED_OUT


def test_malformed_codes_are_refused_without_costing_a_try(world: World) -> None:
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)
    for malformed in ("", "12345", "1234567", "abcdef", "12345x"):
        with pytest.raises(InvalidInput) as raised:
            world.pages.opt_out_with_code(ORG, ADA, malformed)
        assert not isinstance(raised.value, WrongCode)
    assert world.store.ledger == {}
    world.pages.opt_out_with_code(ORG, ADA, texted_code(world))
    assert world.service.status_of(ORG, ADA) is ConsentStatus.OPTED_OUT


def test_an_expired_or_replaced_code_is_refused(world: World) -> None:
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)
    first = texted_code(world)
    world.now = NOW + CODE_TTL
    with pytest.raises(CodeUnavailable):
        world.pages.opt_out_with_code(ORG, ADA, first)
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)
    second = texted_code(world)
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)
    assert texted_code(world) not in (first, second)
    with pytest.raises(WrongCode):
        world.pages.opt_out_with_code(ORG, ADA, second)  # only the newest code counts
    assert world.store.ledger == {}


def test_a_code_proves_only_its_number_at_its_org(world: World) -> None:
    other_org_with_a_number(world)
    world.pages.send_opt_out_code(ORG, ADA, CLIENT)
    code = texted_code(world)
    with pytest.raises(CodeUnavailable):
        world.pages.opt_out_with_code(ORG, BOB, code)  # another number
    with pytest.raises(CodeUnavailable):
        world.pages.opt_out_with_code(OTHER, ADA, code)  # another org
    assert world.store.ledger == {}
    world.pages.opt_out_with_code(ORG, ADA, code)
    assert list(world.store.ledger) == [(ORG, ADA)]


def test_five_codes_an_hour_per_client_across_orgs(world: World) -> None:
    other_org_with_a_number(world)
    numbers = [f"+1415555{n:04d}" for n in range(200, 206)]
    orgs = [ORG, OTHER, "org-without-sms"]  # an org without a sender counts too: the answers match
    for index, number in enumerate(numbers[:5]):
        world.pages.send_opt_out_code(orgs[index % 3], number, CLIENT)
    with pytest.raises(TooManyRequests):
        world.pages.send_opt_out_code(ORG, numbers[5], CLIENT)
    assert texts_to(world, numbers[5]) == []
    world.pages.send_opt_out_code(ORG, numbers[5], "198.51.100.1")  # another client
    assert len(texts_to(world, numbers[5])) == 1
    world.now = NOW + timedelta(hours=1)
    world.pages.send_opt_out_code(ORG, "+14155550299", CLIENT)  # a new hour, a new count
    assert len(texts_to(world, "+14155550299")) == 1


def test_three_codes_an_hour_per_number_across_orgs_and_clients(world: World) -> None:
    other_org_with_a_number(world)
    for index, org in enumerate([ORG, OTHER, "org-without-sms"]):
        world.pages.send_opt_out_code(org, ADA, f"198.51.100.{index}")
    with pytest.raises(TooManyRequests):
        world.pages.send_opt_out_code(ORG, ADA, "198.51.100.9")
    assert [s["sender"] for s in texts_to(world, ADA)] == [SERVICE_SID, OTHER_NUMBER]
    world.pages.send_opt_out_code(ORG, BOB, "198.51.100.9")  # other numbers are not held up
    world.now = NOW + timedelta(hours=1)
    world.pages.send_opt_out_code(ORG, ADA, "198.51.100.9")
    assert len(texts_to(world, ADA)) == 3


def verification(world: World, counter: InMemoryRateCounter | None = None) -> PhoneVerification:
    return PhoneVerification(
        OneTimeCodes(InMemoryCodeStore(), lambda: b"o" * 32, clock=lambda: world.now),
        RateLimits(counter or InMemoryRateCounter(), lambda: b"r" * 32, clock=lambda: world.now),
        world.store, lambda: world.gateway, world.suppression,
    )  # fmt: skip


def test_send_code_says_whether_a_code_went_out(world: World) -> None:
    """True once texted; False, silently, when nothing may be texted (the caller's page is the same)."""
    phones = verification(world)
    assert phones.send_code(ORG, "scope", ADA, CLIENT, "prove it") is True
    assert phones.send_code("org-without-sms", "scope", ADA, CLIENT, "prove it") is False
    world.service.record_consent(REP, BOB, ConsentStatus.OPTED_OUT)
    assert phones.send_code(ORG, "scope", BOB, CLIENT, "prove it") is False
    world.gateway.opted_out.add("+14155550124")  # Twilio's 21610
    assert phones.send_code(ORG, "scope", "+14155550124", CLIENT, "prove it") is False
    world.gateway.fail_with = InvalidInput("not a mobile number")  # a number Twilio cannot text
    assert phones.send_code(ORG, "scope", "+14155550125", CLIENT, "prove it") is False
    assert [sent["to"] for sent in world.gateway.sent] == [ADA]


def test_codes_are_counted_per_client_and_per_number_as_phone_codes(world: World) -> None:
    """The two counters send_code charges, whatever the org or the outcome: the privacy-request
    form and the opt-out form share them."""
    counter, expected = InMemoryRateCounter(), InMemoryRateCounter()
    verification(world, counter).send_code("org-without-sms", "scope", ADA, CLIENT, "prove it")
    limits = RateLimits(expected, lambda: b"r" * 32, clock=lambda: world.now)
    limits.charge("phone-code", 5, f"ip:{CLIENT}")
    limits.charge("phone-code", 3, f"phone:{ADA}")
    assert counter.counts == expected.counts


def test_without_phone_codes_configured_the_typed_form_is_refused(world: World) -> None:
    service = WebConsent(world.store, FixedOrgSettings(), lambda: b"k" * 32)
    with pytest.raises(SendRefused):
        service.send_opt_out_code(ORG, ADA, CLIENT)
    with pytest.raises(SendRefused):
        service.opt_out_with_code(ORG, ADA, "123456")
    assert (world.gateway.sent, world.store.ledger) == ([], {})


# -------------------------------------------------------------------------------- links, CSRF
KEY = b"k" * 32


def test_link_round_trip_and_refusals() -> None:
    token, expires = links.make_link_token(KEY, ORG, ADA, "opt-out", NOW)
    claims = links.read_link_token(KEY, token, "opt-out", NOW + timedelta(days=29))
    assert (claims.org_id, claims.e164, claims.expires_at) == (ORG, ADA, expires)
    refusals: list[Callable[[], object]] = [
        lambda: links.read_link_token(KEY, token, "opt-in", NOW),  # other page
        lambda: links.read_link_token(KEY, token, "opt-out", expires),  # expired
        lambda: links.read_link_token(b"x" * 32, token, "opt-out", NOW),  # other key
        lambda: links.read_link_token(KEY, token[:-2] + "AA", "opt-out", NOW),  # tampered
        lambda: links.read_link_token(KEY, "garbage", "opt-out", NOW),
    ]
    for refusal in refusals:
        with pytest.raises(links.InvalidToken):
            refusal()


def test_csrf_needs_matching_cookie_and_unexpired_field() -> None:
    nonce, field = links.new_csrf(KEY, NOW)
    links.check_csrf(KEY, nonce, field, NOW + timedelta(minutes=5))
    other_nonce, _ = links.new_csrf(KEY, NOW)
    for cookie, value, at in [
        (other_nonce, field, NOW), (None, field, NOW), (nonce, None, NOW), (nonce, field, NOW + timedelta(hours=3)),
    ]:  # fmt: skip
        with pytest.raises(links.InvalidToken):
            links.check_csrf(KEY, cookie, value, at)


def test_masked_number_shows_last_four_only() -> None:
    assert masked(ADA) == "\u2022\u2022\u2022\u2022 0100"


# ------------------------------------------------------------------------------- signatures
def test_twilio_published_signature_vector() -> None:
    """https://www.twilio.com/docs/usage/webhooks/webhooks-security (auth token 12345)."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = FormParams(
        [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675310"), ("Digits", "1234"),
         ("From", "+14158675310"), ("To", "+18005551212")]
    )  # fmt: skip
    assert sign("12345", url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert signature_is_valid("12345", url, params, "GvWf1cFY/Q7PnoempGyD5oXAezc=")
    assert not signature_is_valid("12346", url, params, "GvWf1cFY/Q7PnoempGyD5oXAezc=")
    assert not signature_is_valid("12345", url + "&x=1", params, "GvWf1cFY/Q7PnoempGyD5oXAezc=")


def test_blank_values_are_part_of_the_signature() -> None:
    with_blank = FormParams([("Body", "hi"), ("MediaUrl0", "")])
    without = FormParams([("Body", "hi")])
    assert sign("t", "https://x.test/h", with_blank) != sign("t", "https://x.test/h", without)
