"""Pub/Sub push tokens (``integrations.google_push``), against the local Google double's signer and
certificates (Google's wire format): only a valid token of our push account reaches the service."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from callproof.errors import DomainError, Forbidden, InvalidInput, Unauthenticated
from callproof.integrations.google_push import decode_notification, verify_push_token
from callproof_local.google_double import PUSH_SERVICE_ACCOUNT, GoogleDouble

AUDIENCE = "https://api.example/dev/webhooks/gmail/push"


@pytest.fixture(scope="module")
def google() -> Iterator[GoogleDouble]:
    double = GoogleDouble().start()
    yield double
    double.stop()


def verify(google: GoogleDouble, token: str | None, audience: str | None = AUDIENCE) -> dict[str, object]:
    header = None if token is None else f"Bearer {token}"
    return verify_push_token(header, audience, PUSH_SERVICE_ACCOUNT, f"{google.url}/oauth2/v1/certs")


def test_a_valid_token_of_our_push_account_passes(google: GoogleDouble) -> None:
    claims = verify(google, google.signer.sign(AUDIENCE))
    assert claims["email"] == PUSH_SERVICE_ACCOUNT
    assert claims["aud"] == AUDIENCE


@pytest.mark.parametrize(
    ("make", "refusal"),
    [
        (lambda g: None, Unauthenticated),
        (lambda g: "", Unauthenticated),
        (lambda g: "abc.def.ghi", Unauthenticated),
        (lambda g: g.signer.sign("https://elsewhere.example/push"), Unauthenticated),
        (lambda g: g.signer.sign(AUDIENCE, issuer="https://evil.example"), Unauthenticated),
        (lambda g: g.signer.sign(AUDIENCE, issuer="accounts.google.com.evil.example"), Unauthenticated),
        (lambda g: GoogleDouble().signer.sign(AUDIENCE), Unauthenticated),  # a key the certs do not list
        (lambda g: g.signer.sign(AUDIENCE, "attacker@evil.iam.gserviceaccount.com"), Forbidden),
        (lambda g: g.signer.sign(AUDIENCE, email_verified=False), Forbidden),
    ],
)
def test_anything_else_is_refused(google: GoogleDouble, make: object, refusal: type[DomainError]) -> None:
    with pytest.raises(refusal) as refused:
        verify(google, make(google))  # type: ignore[operator]
    assert type(refused.value) is refusal


def test_the_short_issuer_form_is_google_too(google: GoogleDouble) -> None:
    assert (
        verify(google, google.signer.sign(AUDIENCE, issuer="accounts.google.com"))["iss"]
        == "accounts.google.com"
    )


def test_a_scheme_other_than_bearer_is_refused(google: GoogleDouble) -> None:
    token = google.signer.sign(AUDIENCE)
    with pytest.raises(Unauthenticated):
        verify_push_token(f"Basic {token}", AUDIENCE, PUSH_SERVICE_ACCOUNT, f"{google.url}/oauth2/v1/certs")


def test_an_unconfigured_audience_refuses_every_push(google: GoogleDouble) -> None:
    with pytest.raises(Forbidden):
        verify(google, google.signer.sign(AUDIENCE), audience=None)


def data(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_notification_names_a_mailbox_and_a_history_id() -> None:
    found = decode_notification(data({"emailAddress": " Rep@Example.com ", "historyId": "42"}))
    assert (found.mailbox, found.history_id) == ("rep@example.com", 42)


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        {"historyId": 5},
        {"emailAddress": "no-at-sign", "historyId": 5},
        {"emailAddress": "a@b.example", "historyId": "x"},
        {"emailAddress": "a@b.example", "historyId": 0},
        {"emailAddress": "a@b.example", "historyId": True},
        {"emailAddress": "a@b.example", "historyId": 2**64},
        {"emailAddress": "a" * 320 + "@b.example", "historyId": 5},
    ],
)
def test_bad_notifications_are_refused(payload: object) -> None:
    with pytest.raises(InvalidInput):
        decode_notification(data(payload))


def test_data_that_is_not_base64_json_is_refused() -> None:
    for raw in ("%%%not-base64%%%", base64.b64encode(b"not json").decode()):
        with pytest.raises(InvalidInput):
            decode_notification(raw)
