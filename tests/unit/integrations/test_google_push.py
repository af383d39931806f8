"""Pub/Sub push tokens (``integrations.google_push``), against the local Google double's signer and
certificates (Google's wire format): only a valid token of our push account reaches the service."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator

import pytest

from callproof.errors import DomainError, Forbidden, InvalidInput, Unauthenticated
from callproof.integrations.google_push import GmailNotification, decode_notification, verify_push_token
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


NO_TOKEN = (Unauthenticated, "missing bearer token")
BAD_TOKEN = (Unauthenticated, "invalid push token")
BAD_ISSUER = (Unauthenticated, "invalid push token issuer")
OTHER_ACCOUNT = (Forbidden, "push token of another account")


@pytest.mark.parametrize(
    ("make", "refusal"),
    [
        (lambda g: None, NO_TOKEN),
        (lambda g: "", NO_TOKEN),
        (lambda g: "abc.def.ghi", BAD_TOKEN),
        (lambda g: g.signer.sign("https://elsewhere.example/push"), BAD_TOKEN),
        (lambda g: g.signer.sign(AUDIENCE, issuer="https://evil.example"), BAD_ISSUER),
        (lambda g: g.signer.sign(AUDIENCE, issuer="accounts.google.com.evil.example"), BAD_ISSUER),
        (lambda g: GoogleDouble().signer.sign(AUDIENCE), BAD_TOKEN),  # a key the certs do not list
        (lambda g: g.signer.sign(AUDIENCE, "attacker@evil.iam.gserviceaccount.com"), OTHER_ACCOUNT),
        (lambda g: g.signer.sign(AUDIENCE, email_verified=False), OTHER_ACCOUNT),
    ],
)
def test_anything_else_is_refused(
    google: GoogleDouble, make: object, refusal: tuple[type[DomainError], str]
) -> None:
    """401 for no or an invalid token, 403 for a valid token of another account; the answer's
    message says which check refused it (the error body names no field: the token is a header)."""
    with pytest.raises(DomainError) as refused:
        verify(google, make(google))  # type: ignore[operator]
    assert (type(refused.value), refused.value.message, refused.value.field) == (*refusal, None)


def test_the_short_issuer_form_is_google_too(google: GoogleDouble) -> None:
    assert (
        verify(google, google.signer.sign(AUDIENCE, issuer="accounts.google.com"))["iss"]
        == "accounts.google.com"
    )


def test_a_scheme_other_than_bearer_is_refused(google: GoogleDouble) -> None:
    token = google.signer.sign(AUDIENCE)
    with pytest.raises(Unauthenticated, match=r"^missing bearer token$"):
        verify_push_token(f"Basic {token}", AUDIENCE, PUSH_SERVICE_ACCOUNT, f"{google.url}/oauth2/v1/certs")


@pytest.mark.parametrize("header", ["Bearer  {token}", "bearer {token}", "Bearer {token} "])
def test_the_bearer_scheme_is_read_as_http_defines_it(google: GoogleDouble, header: str) -> None:
    """RFC 7235: the scheme is case-insensitive and one or more spaces separate it from the token."""
    authorization = header.format(token=google.signer.sign(AUDIENCE))
    claims = verify_push_token(authorization, AUDIENCE, PUSH_SERVICE_ACCOUNT, f"{google.url}/oauth2/v1/certs")
    assert claims["email"] == PUSH_SERVICE_ACCOUNT


def test_an_unconfigured_audience_refuses_every_push(google: GoogleDouble) -> None:
    for audience in (None, ""):
        with pytest.raises(Forbidden) as refused:
            verify(google, google.signer.sign(AUDIENCE), audience=audience)
        assert (refused.value.message, refused.value.field) == ("push endpoint not configured", None)


def data(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_notification_names_a_mailbox_and_a_history_id() -> None:
    found = decode_notification(data({"emailAddress": " Rep@Example.com ", "historyId": "42"}))
    assert (found.mailbox, found.history_id) == ("rep@example.com", 42)


@pytest.mark.parametrize("history", [1, 9_876_543, "18446744073709551615", 2**64 - 1])
def test_every_history_id_gmail_can_send_is_read(history: int | str) -> None:
    """Gmail's historyId is an unsigned 64-bit number (a string in the push): 1 to 2**64 - 1."""
    assert decode_notification(data({"emailAddress": "a@b.example", "historyId": history})).history_id == int(
        history
    )


def test_a_mailbox_of_up_to_320_characters_is_read() -> None:
    longest = "a" * 310 + "@b.example"
    assert len(longest) == 320
    assert decode_notification(data({"emailAddress": longest, "historyId": 5})).mailbox == longest


@pytest.mark.parametrize("encode", [base64.urlsafe_b64encode, base64.standard_b64encode])
def test_data_in_either_base64_alphabet_is_read(encode: Callable[[bytes], bytes]) -> None:
    """Pub/Sub sends the standard alphabet; the URL-safe one is read too. This payload encodes to
    text with ``+`` and ``/`` in the one, ``-`` and ``_`` in the other."""
    payload = json.dumps({"emailAddress": "ü@b.example", "historyId": 8_388_863, "x": "?>?>"}).encode()
    text = encode(payload).decode()
    assert set(text) & set("+/-_")
    for sent in (text, text.rstrip("=")):
        assert decode_notification(sent) == GmailNotification("ü@b.example", 8_388_863)


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


@pytest.mark.parametrize(
    ("payload", "answer"),
    [
        ([1, 2], ("message.data is not a JSON object", "message.data")),
        ({"historyId": 5}, ("emailAddress missing", "message.data.emailAddress")),
        (
            {"emailAddress": "a" * 311 + "@b.example", "historyId": 5},
            ("emailAddress missing", "message.data.emailAddress"),
        ),
        ({"emailAddress": "a@b.example"}, ("historyId missing", "message.data.historyId")),
        (
            {"emailAddress": "a@b.example", "historyId": 2**64},
            ("historyId missing", "message.data.historyId"),
        ),
    ],
)
def test_a_refused_notification_names_its_field(payload: object, answer: tuple[str, str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_notification(data(payload))
    assert (refused.value.message, refused.value.field) == answer


def test_data_that_is_not_base64_json_is_refused() -> None:
    for raw in ("%%%not-base64%%%", base64.b64encode(b"not json").decode(), "gA"):
        with pytest.raises(InvalidInput) as refused:
            decode_notification(raw)
        assert (refused.value.message, refused.value.field) == (
            "message.data is not base64 JSON",
            "message.data",
        )


def test_certificates_are_fetched_once_while_their_cache_headers_say_fresh() -> None:
    """Issue 17, point 6: Google's certificates come with Cache-Control max-age; pushes within it
    cost no certificate request. With max-age=0 every push fetches again (the headers rule, not a
    cache kept forever)."""
    fresh, stale = GoogleDouble().start(), GoogleDouble().start()
    stale.certs_max_age = 0
    try:
        for double in (fresh, stale):
            for _ in range(5):
                verify(double, double.signer.sign(AUDIENCE))
        assert (fresh.stats["certs"], stale.stats["certs"]) == (1, 5)
    finally:
        fresh.stop()
        stale.stop()
