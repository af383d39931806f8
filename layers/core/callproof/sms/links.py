"""Signed, expiring tokens for the public consent pages, and their CSRF tokens (stdlib HMAC only).

A link token names the org, the E.164 number and the action (``opt-in`` / ``opt-out``), and expires.
Their CSRF tokens are ``callproof.csrf``'s under this page's purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from callproof import csrf, signing
from callproof.errors import InvalidInput

LINK_TTL = timedelta(days=30)
CSRF_TTL = csrf.TTL
_PURPOSE_LINK = b"sms-consent-link\x00"
_PURPOSE_CSRF = b"sms-consent-csrf\x00"


class InvalidToken(InvalidInput):
    code = "invalid_token"


@dataclass(frozen=True, slots=True)
class LinkClaims:
    org_id: str
    e164: str
    action: str
    expires_at: datetime


_b64 = signing.b64
_sign = signing.signature


def _verify(key: bytes, purpose: bytes, token: str) -> dict[str, object]:
    try:
        return signing.verify(key, purpose, token)
    except signing.BadSignature:
        raise InvalidToken("the link is not valid") from None


def make_link_token(key: bytes, org_id: str, e164: str, action: str, now: datetime) -> tuple[str, datetime]:
    expires = now + LINK_TTL
    payload = _b64(
        json.dumps(
            {"o": org_id, "n": e164, "a": action, "exp": int(expires.timestamp())}, separators=(",", ":")
        ).encode()
    )
    return f"{payload}.{_sign(key, _PURPOSE_LINK, payload)}", expires


def read_link_token(key: bytes, token: str, action: str, now: datetime) -> LinkClaims:
    """The token's claims; refuses a forged, expired or other-action token."""
    data = _verify(key, _PURPOSE_LINK, token)
    org_id, e164, token_action, expires = data.get("o"), data.get("n"), data.get("a"), data.get("exp")
    if not (isinstance(org_id, str) and isinstance(e164, str) and isinstance(expires, int)):
        raise InvalidToken("the link is not valid")
    if token_action != action:
        raise InvalidToken("the link is for another page")
    expires_at = datetime.fromtimestamp(expires, tz=now.tzinfo)
    if now >= expires_at:
        raise InvalidToken("the link has expired; ask for a new one")
    return LinkClaims(org_id, e164, action, expires_at)


def new_csrf(key: bytes, now: datetime) -> tuple[str, str]:
    """(cookie nonce, signed form field): ``callproof.csrf`` under the consent pages' purpose."""
    return csrf.new_token(key, _PURPOSE_CSRF, now)


def check_csrf(key: bytes, cookie_nonce: str | None, field: str | None, now: datetime) -> None:
    """Raise ``InvalidToken`` unless ``field`` is ours, unexpired, and pairs with the cookie."""
    try:
        csrf.check(key, _PURPOSE_CSRF, cookie_nonce, field, now)
    except csrf.FormExpired as exc:
        raise InvalidToken(exc.message) from None
