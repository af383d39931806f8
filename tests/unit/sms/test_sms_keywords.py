"""The SMS keyword list, one test per word, and the ledger's last-keyword-wins property."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callproof.sms.keywords import KEYWORDS, Keyword, KeywordKind, Replies, classify
from callproof.sms.model import ConsentStatus, InboundSms, OrgSmsConfig
from callproof.sms.service import SmsService
from tests.fakes import FakeContactLookup, FakeRecipients, FakeSmsGateway, FixedOrgSettings, InMemorySmsStore

OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "HALT", "REVOKE", "OPTOUT", "OPT OUT"]
OPT_IN = ["START", "YES", "UNSTOP"]
HELP = ["HELP", "INFO"]


def test_the_list_is_exactly_the_issue_list() -> None:
    assert set(KEYWORDS) == set(OPT_OUT + OPT_IN + HELP)


@pytest.mark.parametrize("word", OPT_OUT)
def test_opt_out_word(word: str) -> None:
    for body in (word, word.lower(), f"  {word.title()}  ", f"{word}.", f"{word}!!", f"{word} !"):
        keyword = classify(body)
        assert keyword is not None, body
        assert (keyword.kind, keyword.word) == (KeywordKind.OPT_OUT, word)


@pytest.mark.parametrize("word", OPT_IN)
def test_opt_in_word(word: str) -> None:
    for body in (word, word.lower(), f"\t{word.capitalize()}?\n"):
        keyword = classify(body)
        assert keyword is not None, body
        assert keyword.kind is KeywordKind.OPT_IN


@pytest.mark.parametrize("word", HELP)
def test_help_word(word: str) -> None:
    keyword = classify(word.lower() + "?")
    assert keyword is not None
    assert keyword.kind is KeywordKind.HELP


@pytest.mark.parametrize(
    "body",
    [
        "Stop calling me tomorrow",
        "please stop",
        "STOP IT",
        "stopp",
        "yes please",
        "help me",
        "",
        "!STOP",
        "OPT  OUTS",
    ],
)
def test_ordinary_messages_are_not_keywords(body: str) -> None:
    assert classify(body) is None


def test_opt_out_with_inner_whitespace_collapsed() -> None:
    keyword = classify("opt   out.")
    assert keyword is not None
    assert keyword.kind is KeywordKind.OPT_OUT


def test_opt_out_type_wins_over_the_body() -> None:
    keyword = classify("Yes", "STOP")
    assert keyword is not None
    assert keyword.kind is KeywordKind.OPT_OUT
    assert keyword.word == "OptOutType=STOP"
    keyword = classify("arrêtez", "START")  # a custom keyword configured in Twilio
    assert keyword is not None
    assert keyword.kind is KeywordKind.OPT_IN
    assert classify("STOP", "SOMETHING_ELSE") is not None  # unknown types fall back to the body


def test_a_keyword_padded_to_128_characters_is_still_read_and_longer_bodies_never_are() -> None:
    """Bodies over 128 characters are ordinary messages without being normalized (a cheap refusal)."""
    for padded in ("STOP" + " " * 124, "stop" + "!" * 124, " " * 62 + "Opt Out" + " " * 59):
        assert len(padded) == 128
        keyword = classify(padded)
        assert keyword is not None, padded
        assert keyword.kind is KeywordKind.OPT_OUT
    for too_long in ("STOP" + " " * 125, "stop" + "!" * 156):
        assert len(too_long) > 128
        assert classify(too_long) is None
    assert classify("HELP" + " " * 200, "STOP") == Keyword(KeywordKind.OPT_OUT, "OptOutType=STOP")


# ------------------------------------------------------------------------------------ replies
def test_replies_are_the_carrier_texts_word_for_word() -> None:
    """HELP names the brand, the support contact (when there is one), STOP and the rates notice."""
    acme = Replies(OrgSmsConfig("org-a", brand="Acme", support_contact="help@acme.test"))
    assert acme.help() == (
        "Acme: texts from your account team. Support: help@acme.test. "
        "Reply STOP to unsubscribe. Msg & data rates may apply."
    )
    assert (
        acme.opted_out()
        == "Acme: You are unsubscribed and will get no more messages. Reply START to resubscribe."
    )
    assert acme.opted_in() == (
        "Acme: You are subscribed again. Reply HELP for help, STOP to unsubscribe. Msg & data rates may apply."
    )


@pytest.mark.parametrize("support", [None, ""])
def test_help_without_a_support_contact_leaves_it_out(support: str | None) -> None:
    assert Replies(OrgSmsConfig("org-a", brand="Acme", support_contact=support)).help() == (
        "Acme: texts from your account team. Reply STOP to unsubscribe. Msg & data rates may apply."
    )


# ----------------------------------------------------------------------------- ledger property
ORG, TO, FROM = "org-a", "+15005550006", "+14155550100"
KEYWORD_BODY = st.sampled_from(OPT_OUT + OPT_IN).flatmap(
    lambda word: st.sampled_from([word, word.lower(), f" {word}. ", f"{word.title()}!"])
)
MESSAGE = st.one_of(
    KEYWORD_BODY.map(lambda body: ("new", body)),
    st.sampled_from(["HELP", "thanks!", "Stop calling me tomorrow"]).map(lambda body: ("new", body)),
    st.integers(min_value=0, max_value=50).map(lambda index: ("replay", index)),
)


def _service(store: InMemorySmsStore) -> SmsService:
    ids = count(1)
    return SmsService(
        store, FakeContactLookup(), FakeRecipients(), FixedOrgSettings(), FakeSmsGateway, lambda: b"k" * 32,
        public_base_url="https://api.example.com/dev", default_daily_cap=10,
        clock=lambda: datetime(2026, 11, 28, tzinfo=UTC), new_id=lambda _: f"{next(ids):020d}",
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(MESSAGE, min_size=1, max_size=30))
def test_any_interleaving_ends_in_the_status_of_the_last_keyword(messages: list[tuple[str, object]]) -> None:
    store = InMemorySmsStore()
    store.put_config(OrgSmsConfig(ORG), OrgSmsConfig(ORG, phone_numbers=(TO,), version=1))
    service = _service(store)
    sent: list[InboundSms] = []
    expected = ConsentStatus.NONE
    for kind, value in messages:
        if kind == "replay":  # Twilio retrying an earlier message: changes nothing
            if not sent:
                continue
            inbound = sent[int(value) % len(sent)]  # type: ignore[call-overload]
        else:
            inbound = InboundSms(f"SM{len(sent):032x}", FROM, TO, str(value))
            sent.append(inbound)
            keyword = classify(str(value))
            if keyword is not None and keyword.kind is KeywordKind.OPT_OUT:
                expected = ConsentStatus.OPTED_OUT
            elif keyword is not None and keyword.kind is KeywordKind.OPT_IN:
                expected = ConsentStatus.OPTED_IN
        service.receive(inbound)
    assert service.status_of(ORG, FROM) is expected
    keywords = [m for m in sent if (k := classify(m.body)) and k.kind is not KeywordKind.HELP]
    assert len(store.ledger.get((ORG, FROM), [])) == len(keywords)  # one entry per distinct message
