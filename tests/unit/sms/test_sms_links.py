"""Consent-page link tokens and CSRF tokens (``callproof.sms.links``): what they carry, when they expire,
and the refusal each page shows (the pages print the message as it is)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callproof import signing
from callproof.sms import links

KEY = b"k" * 32
ORG, ADA = "org-a", "+14155550100"
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
SECOND = timedelta(seconds=1)
NOT_VALID = "the link is not valid"
FORM_EXPIRED = "the form expired; reload the page and try again"


def refusal(read: object, *args: object) -> str:
    with pytest.raises(links.InvalidToken) as refused:
        read(*args)  # type: ignore[operator]
    assert refused.value.code == "invalid_token"
    return refused.value.message


# ------------------------------------------------------------------------------------ links
@pytest.mark.parametrize("action", ["opt-out", "opt-in"])
def test_a_link_names_its_org_number_and_action_for_30_days(action: str) -> None:
    token, expires = links.make_link_token(KEY, ORG, ADA, action, NOW)
    assert expires == NOW + timedelta(days=30)
    claims = links.read_link_token(KEY, token, action, expires - SECOND)
    assert claims == links.LinkClaims(ORG, ADA, action, expires)


def test_a_link_expires_at_its_expiry_to_the_second() -> None:
    token, expires = links.make_link_token(KEY, ORG, ADA, "opt-out", NOW)
    links.read_link_token(KEY, token, "opt-out", expires - SECOND)
    for at in (expires, expires + SECOND):
        assert refusal(links.read_link_token, KEY, token, "opt-out", at) == (
            "the link has expired; ask for a new one"
        )


def test_a_link_for_the_other_page_is_refused() -> None:
    token, _ = links.make_link_token(KEY, ORG, ADA, "opt-in", NOW)
    assert refusal(links.read_link_token, KEY, token, "opt-out", NOW) == "the link is for another page"


@pytest.mark.parametrize("key", [b"x" * 32, KEY])
def test_a_forged_or_foreign_link_is_not_valid(key: bytes) -> None:
    token, _ = links.make_link_token(KEY, ORG, ADA, "opt-out", NOW)
    forged = token if key != KEY else signing.b64(b'{"o":"org-b"}') + token[token.index(".") :]
    assert refusal(links.read_link_token, key, forged, "opt-out", NOW) == NOT_VALID
    csrf_field = links.new_csrf(KEY, NOW)[1]  # a CSRF token is not a link, though signed with the key
    assert refusal(links.read_link_token, KEY, csrf_field, "opt-out", NOW) == NOT_VALID


@pytest.mark.parametrize(
    "claims",
    [
        {"n": ADA, "a": "opt-out", "exp": 1_900_000_000},  # no org
        {"o": 7, "n": ADA, "a": "opt-out", "exp": 1_900_000_000},
        {"o": ORG, "a": "opt-out", "exp": 1_900_000_000},  # no number
        {"o": ORG, "n": 14155550100, "a": "opt-out", "exp": 1_900_000_000},
        {"o": ORG, "n": ADA, "a": "opt-out"},  # no expiry
        {"o": ORG, "n": ADA, "a": "opt-out", "exp": "1900000000"},
    ],
)
def test_a_signed_link_without_its_claims_is_not_valid(claims: dict[str, object]) -> None:
    """Signed with the link key and purpose (as another version might mint it), yet not a whole link."""
    token = signing.sign(KEY, links._PURPOSE_LINK, claims)
    assert refusal(links.read_link_token, KEY, token, "opt-out", NOW) == NOT_VALID


# ------------------------------------------------------------------------------------- CSRF
def test_csrf_is_valid_until_two_hours_to_the_second() -> None:
    nonce, field = links.new_csrf(KEY, NOW)
    links.check_csrf(KEY, nonce, field, NOW + links.CSRF_TTL - SECOND)
    assert timedelta(hours=2) == links.CSRF_TTL
    for at in (NOW + links.CSRF_TTL, NOW + links.CSRF_TTL + SECOND):
        assert refusal(links.check_csrf, KEY, nonce, field, at) == FORM_EXPIRED


def test_csrf_refusals_all_ask_for_a_reload() -> None:
    nonce, field = links.new_csrf(KEY, NOW)
    other_nonce, other_field = links.new_csrf(KEY, NOW)
    link, _ = links.make_link_token(KEY, ORG, ADA, "opt-out", NOW)
    for cookie, value in [
        (None, field), ("", field), (nonce, None), (nonce, ""),  # a missing half
        (other_nonce, field), (nonce, other_field),  # halves of two different forms
    ]:  # fmt: skip
        assert refusal(links.check_csrf, KEY, cookie, value, NOW) == FORM_EXPIRED
    for not_csrf in (link, "garbage", links.new_csrf(b"x" * 32, NOW)[1]):  # refused too (another wording)
        refusal(links.check_csrf, KEY, nonce, not_csrf, NOW)


@pytest.mark.parametrize(
    "claims",
    [{"exp": 1_900_000_000}, {"n": 5, "exp": 1_900_000_000}, {"n": "abc"}, {"n": "abc", "exp": "1900000000"}],
)
def test_a_signed_csrf_field_without_its_claims_is_refused_not_crashed(claims: dict[str, object]) -> None:
    field = signing.sign(KEY, links._PURPOSE_CSRF, claims)
    assert refusal(links.check_csrf, KEY, "abc", field, NOW) == FORM_EXPIRED
