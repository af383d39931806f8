"""Signed tokens (``callproof.signing``): only our key, only the purpose they were made for."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
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
    with pytest.raises(signing.BadSignature, match=r"^bad signature$"):
        signing.verify(KEY, PURPOSE, forged)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.", ".abc", "x" * 1025 + ".y", "x" * 1021 + ".yyy"])
def test_malformed_tokens_are_refused(token: str) -> None:
    """No payload, no MAC or over 1024 characters: refused as malformed, before any HMAC is computed."""
    with pytest.raises(signing.BadSignature, match=r"^malformed token$"):
        signing.verify(KEY, PURPOSE, token)


def test_a_signed_payload_that_is_not_an_object_is_refused() -> None:
    payload = signing.b64(b"[1, 2]")
    token = f"{payload}.{signing.signature(KEY, PURPOSE, payload)}"
    with pytest.raises(signing.BadSignature, match=r"^malformed token$"):
        signing.verify(KEY, PURPOSE, token)


def test_a_signed_payload_that_is_not_json_is_refused() -> None:
    payload = signing.b64(b"not json")
    token = f"{payload}.{signing.signature(KEY, PURPOSE, payload)}"
    with pytest.raises(signing.BadSignature, match=r"^malformed token$"):
        signing.verify(KEY, PURPOSE, token)


def test_a_token_just_under_the_length_limit_is_read() -> None:
    token = signing.sign(KEY, PURPOSE, {"pad": "x" * 700})
    assert len(token) <= 1024
    assert signing.verify(KEY, PURPOSE, token)["pad"] == "x" * 700


def test_the_length_limit_is_1024_characters_even_for_a_token_we_signed() -> None:
    at_limit = signing.sign(KEY, PURPOSE, {"pad": "x" * 725})
    assert len(at_limit) == 1024
    assert signing.verify(KEY, PURPOSE, at_limit)["pad"] == "x" * 725
    over = signing.sign(KEY, PURPOSE, {"pad": "x" * 726})
    assert len(over) > 1024
    with pytest.raises(signing.BadSignature, match=r"^malformed token$"):
        signing.verify(KEY, PURPOSE, over)


URL_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$")


@example({"n": "\u00ff\u00fe"})
@example({"a": "a?"})
@given(st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=20), st.integers()), max_size=4))
def test_tokens_are_unpadded_base64url_and_round_trip(claims: dict[str, object]) -> None:
    """A token goes into URLs and texts as it is: base64url without ``=`` padding, any claims."""
    token = signing.sign(KEY, PURPOSE, claims)
    assert URL_SAFE_TOKEN.match(token), token
    assert signing.verify(KEY, PURPOSE, token) == claims


@example(b"\x00\x00\x17")  # encodes as "AAAX"
@given(st.binary(max_size=40))
def test_b64_round_trips_without_padding(data: bytes) -> None:
    text = signing.b64(data)
    assert "=" not in text
    assert signing.unb64(text) == data


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
