"""Confirmation and download links: claims, 7-day expiry (410 Gone), purpose separation, tampering."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest

from callproof import signing
from callproof.dsar.links import (
    Confirmation,
    Download,
    InvalidLink,
    Link,
    confirmation_token,
    download_token,
    read_confirmation,
    read_download,
)
from callproof.errors import Gone, InvalidInput
from callproof.http import STATUS_BY_ERROR

SECRET = b"k" * 32
NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)


def test_confirmation_round_trip_and_seven_days() -> None:
    link = confirmation_token(SECRET, "org-a", "req-1", "nonce-1", NOW)
    assert link.expires_at == NOW + timedelta(days=7)
    assert read_confirmation(SECRET, link.token, NOW + timedelta(days=6, hours=23)) == Confirmation(
        "org-a", "req-1", "nonce-1"
    )


def test_download_round_trip_and_seven_days() -> None:
    link = download_token(SECRET, "org-a", "req-1", "exports/org-a/req-1.zip", NOW)
    assert link.expires_at == NOW + timedelta(days=7)
    assert read_download(SECRET, link.token, NOW) == Download("org-a", "req-1", "exports/org-a/req-1.zip")


@pytest.mark.parametrize("after", [timedelta(days=7), timedelta(days=30)])
def test_expired_links_are_gone(after: timedelta) -> None:
    confirm = confirmation_token(SECRET, "org-a", "req-1", "n", NOW).token
    download = download_token(SECRET, "org-a", "req-1", "k", NOW).token
    with pytest.raises(Gone):
        read_confirmation(SECRET, confirm, NOW + after)
    with pytest.raises(Gone):
        read_download(SECRET, download, NOW + after)


def test_gone_answers_410_and_a_bad_link_422() -> None:
    assert STATUS_BY_ERROR[Gone] == HTTPStatus.GONE
    assert issubclass(InvalidLink, InvalidInput)
    assert STATUS_BY_ERROR[InvalidInput] == HTTPStatus.UNPROCESSABLE_ENTITY


def test_a_token_of_one_purpose_never_opens_the_other() -> None:
    confirm = confirmation_token(SECRET, "org-a", "req-1", "n", NOW).token
    download = download_token(SECRET, "org-a", "req-1", "k", NOW).token
    with pytest.raises(InvalidLink):
        read_download(SECRET, confirm, NOW)
    with pytest.raises(InvalidLink):
        read_confirmation(SECRET, download, NOW)


def test_another_secret_is_refused() -> None:
    token = download_token(SECRET, "org-a", "req-1", "k", NOW).token
    with pytest.raises(InvalidLink):
        read_download(b"x" * 32, token, NOW)


def test_tampered_claims_are_refused_even_if_unexpired() -> None:
    token = download_token(SECRET, "org-a", "req-1", "exports/org-a/req-1.zip", NOW).token
    payload, _, mac = token.partition(".")
    claims = signing.verify(SECRET, b"dsar-download\x00", token)
    for change in ({"org": "org-b"}, {"key": "exports/org-b/x.zip"}, {"exp": claims["exp"] + 10**6}):
        forged = signing.b64(json.dumps({**claims, **change}, separators=(",", ":")).encode())
        with pytest.raises(InvalidLink):
            read_download(SECRET, f"{forged}.{mac}", NOW)
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    with pytest.raises(InvalidLink):
        read_download(SECRET, f"{payload}.{flipped}", NOW)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.", ".abc", "x" * 2000])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidLink):
        read_confirmation(SECRET, token, NOW)


@pytest.mark.parametrize(
    "claims",
    [
        {"org": "org-a", "req": "req-1", "exp": 2_000_000_000},  # no nonce
        {"org": "org-a", "req": 1, "nonce": "n", "exp": 2_000_000_000},  # not a string
        {"org": "org-a", "req": "req-1", "nonce": "n"},  # no expiry
        {"org": "org-a", "req": "req-1", "nonce": "n", "exp": "2000000000"},
        {"org": "org-a", "req": "req-1", "nonce": "n", "exp": True},
    ],
)
def test_authentic_but_incomplete_claims_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(InvalidLink):
        read_confirmation(SECRET, signing.sign(SECRET, b"dsar-confirm\x00", claims), NOW)


def _refusal(read: Callable[[], object]) -> tuple[str, str, str | None]:
    with pytest.raises((InvalidInput, Gone)) as refused:
        read()
    return refused.value.code, refused.value.message, refused.value.field


@pytest.mark.parametrize(
    ("mint", "read", "purpose"),
    [
        (confirmation_token, read_confirmation, b"dsar-confirm\x00"),
        (download_token, read_download, b"dsar-download\x00"),
    ],
)
def test_what_a_refused_link_tells_the_person(
    mint: Callable[..., Link], read: Callable[[bytes, str, datetime], object], purpose: bytes
) -> None:
    """The privacy pages show the refusal's message to the person, the API answers its code and
    field: an expired link says so (the request may still exist); any other bad link is just invalid."""
    token = mint(SECRET, "org-a", "req-1", "n", NOW).token
    invalid = ("invalid_token", "the link is not valid", "token")
    assert _refusal(lambda: read(b"x" * 32, token, NOW)) == invalid  # forged: another key
    incomplete = signing.sign(SECRET, purpose, {"org": "org-a", "exp": 2_000_000_000})
    assert _refusal(lambda: read(SECRET, incomplete, NOW)) == invalid  # authentic, claims missing
    expired = ("gone", "the link has expired", "token")
    assert _refusal(lambda: read(SECRET, token, NOW + timedelta(days=7))) == expired
    assert read(SECRET, token, NOW + timedelta(days=7) - timedelta(seconds=1)) is not None  # its last second
