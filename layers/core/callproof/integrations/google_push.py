"""Pub/Sub push authentication and payload: the OIDC bearer token Google attaches to each push.

The token is verified with google-auth (RS256 signature against Google's published certificates, or
the local double's; expiry; audience), then its issuer, ``email`` (the push subscription's service
account) and ``email_verified`` are checked. Anything else: ``Unauthenticated`` (401) for a missing or
invalid token, ``Forbidden`` (403) for a valid token of the wrong account.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
import requests
from google.auth.transport.requests import Request
from google.oauth2 import id_token

from callproof.errors import Forbidden, InvalidInput, Unauthenticated

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
_session = requests.Session()


def verify_push_token(
    authorization: str | None, audience: str | None, service_account: str, certs_url: str | None = None
) -> dict[str, Any]:
    if not audience:
        raise Forbidden("push endpoint not configured")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing bearer token")
    try:
        claims = id_token.verify_token(
            token.strip(),
            Request(session=_session),
            audience=audience,
            certs_url=certs_url or GOOGLE_CERTS_URL,
        )
    except (ValueError, google.auth.exceptions.GoogleAuthError):
        raise Unauthenticated("invalid push token") from None
    if claims.get("iss") not in ISSUERS:
        raise Unauthenticated("invalid push token issuer")
    if claims.get("email") != service_account or claims.get("email_verified") is not True:
        raise Forbidden("push token of another account")
    return dict(claims)


@dataclass(frozen=True, slots=True)
class GmailNotification:
    mailbox: str
    history_id: int


def decode_notification(data: str) -> GmailNotification:
    """``message.data``: base64 JSON ``{"emailAddress": ..., "historyId": ...}``."""
    try:
        payload = json.loads(base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_", validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("message.data is not base64 JSON", field="message.data") from None
    if not isinstance(payload, dict):
        raise InvalidInput("message.data is not a JSON object", field="message.data")
    mailbox, history = payload.get("emailAddress"), payload.get("historyId")
    if not isinstance(mailbox, str) or "@" not in mailbox or len(mailbox) > 320:
        raise InvalidInput("emailAddress missing", field="message.data.emailAddress")
    if isinstance(history, str) and history.isdigit():
        history = int(history)
    if not isinstance(history, int) or isinstance(history, bool) or not 0 < history < 2**64:
        raise InvalidInput("historyId missing", field="message.data.historyId")
    return GmailNotification(mailbox.strip().lower(), history)
