"""CSRF protection of the public HTML forms (SMS consent pages, the privacy request page).

Double submit, signed: a form carries a field pairing a random nonce with an expiry, signed with the
page's link key under its own purpose; the nonce is also set as a SameSite=Strict, HttpOnly cookie. A
post is accepted only when the cookie's nonce matches the signed field (a cookie planted by another
site cannot mint a matching field), and when its Origin, if sent, is our own.
"""

from __future__ import annotations

import hmac
import secrets
import urllib.parse
from collections.abc import Mapping
from datetime import datetime, timedelta
from http.cookies import CookieError, SimpleCookie

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from callproof import signing
from callproof.errors import InvalidInput

TTL = timedelta(hours=2)
EXPIRED = "the form expired; reload the page and try again"


class FormExpired(InvalidInput):
    """The field is missing, forged, expired, or does not pair with the cookie."""

    code = "invalid_token"


def new_token(key: bytes, purpose: bytes, now: datetime) -> tuple[str, str]:
    """(cookie nonce, signed form field)."""
    nonce = secrets.token_urlsafe(24)
    return nonce, signing.sign(key, purpose, {"n": nonce, "exp": int((now + TTL).timestamp())})


def check(key: bytes, purpose: bytes, cookie_nonce: str | None, field: str | None, now: datetime) -> None:
    """Raise ``FormExpired`` unless ``field`` is ours, unexpired, and pairs with the cookie."""
    if not cookie_nonce or not field:
        raise FormExpired(EXPIRED)
    try:
        data = signing.verify(key, purpose, field)
    except signing.BadSignature:
        raise FormExpired("the link is not valid") from None
    nonce, expires = data.get("n"), data.get("exp")
    if not isinstance(nonce, str) or not isinstance(expires, int):
        raise FormExpired(EXPIRED)
    if not hmac.compare_digest(nonce.encode(), cookie_nonce.encode()) or now.timestamp() >= expires:
        raise FormExpired(EXPIRED)


def cookie(name: str, nonce: str, public_base_url: str | None) -> Cookie:
    """The nonce's cookie: Strict, HttpOnly, Secure whenever the pages are served over https."""
    secure = (public_base_url or "").startswith("https://")
    return Cookie(
        name, nonce, path="/", secure=secure, http_only=True, same_site=SameSite.STRICT_MODE,
        max_age=int(TTL.total_seconds()),
    )  # fmt: skip


def cookie_value(headers: Mapping[str, str], name: str) -> str | None:
    """The named cookie of a request (None when absent or the header does not parse)."""
    header = headers.get("cookie")
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def same_origin(headers: Mapping[str, str], public_base_url: str | None) -> bool:
    """Browsers send Origin on form posts; one from another site is refused (defence in depth)."""
    origin = headers.get("origin")
    if origin is None:
        return True
    base = urllib.parse.urlsplit(public_base_url or "")
    return origin == f"{base.scheme}://{base.netloc}"
