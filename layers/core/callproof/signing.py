"""Signed, expiring tokens (stdlib HMAC-SHA256) shared by every public link: SMS consent pages, CSRF
fields, marketing-email unsubscribe. A token is ``<base64url JSON claims>.<base64url HMAC>``; the HMAC
covers a purpose prefix, so a token minted for one purpose never verifies for another."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


class BadSignature(ValueError):
    """Forged, truncated or not ours: callers turn this into their own domain error."""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature(key: bytes, purpose: bytes, payload: str) -> str:
    return b64(hmac.new(key, purpose + payload.encode(), hashlib.sha256).digest())


def sign(key: bytes, purpose: bytes, claims: dict[str, object]) -> str:
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{payload}.{signature(key, purpose, payload)}"


def verify(key: bytes, purpose: bytes, token: str) -> dict[str, object]:
    """The claims of a token we signed for ``purpose``; ``BadSignature`` otherwise (expiry is the
    caller's check: claims differ per purpose)."""
    payload, _, mac = token.partition(".")
    if not payload or not mac or len(token) > 1024 or not token.isascii():
        raise BadSignature("malformed token")  # (compare_digest refuses non-ASCII text with a TypeError)
    if not hmac.compare_digest(signature(key, purpose, payload), mac):
        raise BadSignature("bad signature")
    try:
        data = json.loads(unb64(payload))
    except ValueError:
        raise BadSignature("malformed token") from None
    if not isinstance(data, dict):
        raise BadSignature("malformed token")
    return data
