"""Signed, expiring tokens for the public consent pages, and their CSRF tokens (stdlib HMAC only).

A link token names the org, the E.164 number and the action (``opt-in`` / ``opt-out``), and expires.
A CSRF token pairs a random nonce (also set as a cookie) with an expiry, signed: a form post is
accepted only when the cookie's nonce matches the signed field (double submit, signed so a cookie
planted by another site cannot mint a matching field).
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from callproof import signing
from callproof.errors import InvalidInput

LINK_TTL = timedelta(days=30)
CSRF_TTL = timedelta(hours=2)
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
    """(cookie nonce, signed form field)."""
    nonce = secrets.token_urlsafe(24)
    payload = _b64(
        json.dumps({"n": nonce, "exp": int((now + CSRF_TTL).timestamp())}, separators=(",", ":")).encode()
    )
    return nonce, f"{payload}.{_sign(key, _PURPOSE_CSRF, payload)}"


def check_csrf(key: bytes, cookie_nonce: str | None, field: str | None, now: datetime) -> None:
    """Raise ``InvalidToken`` unless ``field`` is ours, unexpired, and pairs with the cookie."""
    if not cookie_nonce or not field:
        raise InvalidToken("the form expired; reload the page and try again")
    data = _verify(key, _PURPOSE_CSRF, field)
    nonce, expires = data.get("n"), data.get("exp")
    if not isinstance(nonce, str) or not isinstance(expires, int):
        raise InvalidToken("the form expired; reload the page and try again")
    if not hmac.compare_digest(nonce.encode(), cookie_nonce.encode()) or now.timestamp() >= expires:
        raise InvalidToken("the form expired; reload the page and try again")
