"""Signed tokens (``callproof.signing``): only our key, only the purpose they were made for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callproof import signing

KEY = b"k" * 32
PURPOSE = b"test-purpose\x00"


def test_a_token_round_trips_its_claims() -> None:
    token = signing.sign(KEY, PURPOSE, {"org": "org-a", "n": 3})
    assert signing.verify(KEY, PURPOSE, token) == {"org": "org-a", "n": 3}


@pytest.mark.parametrize(
    ("key", "purpose"), [(b"x" * 32, PURPOSE), (KEY, b"other-purpose\x00"), (b"", PURPOSE)]
)
def test_another_key_or_purpose_is_refused(key: bytes, purpose: bytes) -> None:
    token = signing.sign(KEY, PURPOSE, {"org": "org-a"})
    with pytest.raises(signing.BadSignature):
        signing.verify(key, purpose, token)


def test_changed_claims_are_refused() -> None:
    token = signing.sign(KEY, PURPOSE, {"org": "org-a"})
    _, _, mac = token.partition(".")
    forged = signing.b64(b'{"org":"org-b"}') + "." + mac
    with pytest.raises(signing.BadSignature, match="bad signature"):
        signing.verify(KEY, PURPOSE, forged)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.", ".abc", "x" * 1025 + ".y"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(signing.BadSignature):
        signing.verify(KEY, PURPOSE, token)


def test_a_signed_payload_that_is_not_an_object_is_refused() -> None:
    payload = signing.b64(b"[1, 2]")
    token = f"{payload}.{signing.signature(KEY, PURPOSE, payload)}"
    with pytest.raises(signing.BadSignature, match="malformed"):
        signing.verify(KEY, PURPOSE, token)


def test_a_signed_payload_that_is_not_json_is_refused() -> None:
    payload = signing.b64(b"not json")
    token = f"{payload}.{signing.signature(KEY, PURPOSE, payload)}"
    with pytest.raises(signing.BadSignature, match="malformed"):
        signing.verify(KEY, PURPOSE, token)


def test_a_token_just_under_the_length_limit_is_read() -> None:
    token = signing.sign(KEY, PURPOSE, {"pad": "x" * 700})
    assert len(token) <= 1024
    assert signing.verify(KEY, PURPOSE, token)["pad"] == "x" * 700


@given(st.text(max_size=60))
def test_no_text_verifies_without_the_key(text: str) -> None:
    with pytest.raises(signing.BadSignature):
        signing.verify(KEY, PURPOSE, text)


def test_non_ascii_tokens_and_cookies_are_refused_not_crashed() -> None:
    """``hmac.compare_digest`` raises TypeError on non-ASCII text: a link or cookie an attacker
    fills with it must read as invalid (4xx), never as a crash (5xx)."""
    from datetime import UTC, datetime

    from callproof.sms import links

    with pytest.raises(signing.BadSignature):
        signing.verify(KEY, PURPOSE, "0.\x80")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    _, field = links.new_csrf(KEY, now)
    with pytest.raises(links.InvalidToken):
        links.check_csrf(KEY, "caf\u00e9", field, now)
