"""Email rules: what we store (any valid address, lower-cased) and what may become a Cognito sign-in."""

from __future__ import annotations

import pytest

from callproof.emails import SIGN_IN_MAX_LENGTH, InvalidEmail, normalize_email, sign_in_email


def test_stored_addresses_are_lower_cased_and_may_be_internationalized() -> None:
    assert normalize_email(" Ada@Example.COM ") == "ada@example.com"
    assert normalize_email("ñ@example.com") == "ñ@example.com"
    assert normalize_email("user@bücher.example") == "user@bücher.example"


@pytest.mark.parametrize(
    "raw", ["", "no-at-sign", "a@b", "x@[192.0.2.1]", '"a b"@example.com', "a@" + "b" * 250]
)
def test_invalid_addresses_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "Bob@Example.com",
        "o'brien@example.com",  # RFC 5322 allows it; moto's user pool does not (mapped to 422 there)
        "first.last+crm@sub.example.co.uk",
        "user@xn--bcher-kva.example",  # an internationalized domain in its ASCII form
        "a" * (SIGN_IN_MAX_LENGTH - len("@example.com")) + "@example.com",
    ],
)
def test_sign_in_addresses_cognito_takes(raw: str) -> None:
    assert sign_in_email(raw) == raw.lower()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ñ@example.com", "must be ASCII"),
        ("user@bücher.example", "ASCII form: user@xn--bcher-kva.example"),
        ("a" * (SIGN_IN_MAX_LENGTH + 1 - len("@example.com")) + "@example.com", "at most 128"),
        ("not-mail", "@"),
    ],
)
def test_sign_in_addresses_cognito_refuses_are_refused_first(raw: str, reason: str) -> None:
    with pytest.raises(InvalidEmail, match=reason):
        sign_in_email(raw)
