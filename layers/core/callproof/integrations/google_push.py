"""Pub/Sub push authentication and payload: the OIDC bearer token Google attaches to each push.

The token is verified with google-auth (RS256 signature against Google's published certificates, or
the local double's; expiry; audience), then its issuer, ``email`` (the push subscription's service
account) and ``email_verified`` are checked. Anything else: ``Unauthenticated`` (401) for a missing or
invalid token, ``Forbidden`` (403) for a valid token of the wrong account.

The certificates are fetched through an HTTP cache (cachecontrol, the cached transport google-auth's
documentation recommends): Google serves them with ``Cache-Control: public, max-age=...``, so while
they are fresh a push costs no certificate request; once stale they are fetched again, and a key
rotation reaches us within that max-age, as Google intends. The cache lives as long as the Lambda
environment (in memory, a few kilobytes).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import google.auth.exceptions
import requests
from cachecontrol import CacheControl
from google.auth.transport.requests import Request
from google.oauth2 import id_token

from callproof.errors import Forbidden, InvalidInput, Unauthenticated

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})


@cache
def certificate_transport() -> Request:
    """google-auth's transport over a caching session: one per Lambda environment, built on first use."""
    return Request(session=CacheControl(requests.Session()))


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
            certificate_transport(),
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
