"""The signed links of data-subject requests (``callproof.signing``: HMAC-SHA256 with a purpose prefix,
so a confirmation token never opens a download and the other way round), both valid 7 days:

- confirmation: claims ``{org, req, nonce, exp}``; the request stores the nonce and forgets it once
  used, which makes the link single-use (the caller's check: this module only proves authenticity);
- download: claims ``{org, req, key, exp}``, the export's S3 key.

A forged, truncated or other-purpose token raises ``InvalidLink`` (422); an expired one raises
``Gone`` (410): the request may still exist, the link does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from callproof import signing
from callproof.dsar.model import CONFIRMATION_DAYS, DOWNLOAD_DAYS
from callproof.errors import Gone, InvalidInput

CONFIRMATION_TTL = timedelta(days=CONFIRMATION_DAYS)
DOWNLOAD_TTL = timedelta(days=DOWNLOAD_DAYS)
_PURPOSE_CONFIRM = b"dsar-confirm\x00"
_PURPOSE_DOWNLOAD = b"dsar-download\x00"


class InvalidLink(InvalidInput):
    code = "invalid_token"


@dataclass(frozen=True, slots=True)
class Link:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Confirmation:
    org_id: str
    request_id: str
    nonce: str


@dataclass(frozen=True, slots=True)
class Download:
    org_id: str
    request_id: str
    key: str


def confirmation_token(secret: bytes, org_id: str, request_id: str, nonce: str, now: datetime) -> Link:
    return _mint(
        secret, _PURPOSE_CONFIRM, {"org": org_id, "req": request_id, "nonce": nonce}, now + CONFIRMATION_TTL
    )


def read_confirmation(secret: bytes, token: str, now: datetime) -> Confirmation:
    claims = _read(secret, _PURPOSE_CONFIRM, token, now, ("org", "req", "nonce"))
    return Confirmation(claims["org"], claims["req"], claims["nonce"])


def download_token(secret: bytes, org_id: str, request_id: str, key: str, now: datetime) -> Link:
    return _mint(
        secret, _PURPOSE_DOWNLOAD, {"org": org_id, "req": request_id, "key": key}, now + DOWNLOAD_TTL
    )


def read_download(secret: bytes, token: str, now: datetime) -> Download:
    claims = _read(secret, _PURPOSE_DOWNLOAD, token, now, ("org", "req", "key"))
    return Download(claims["org"], claims["req"], claims["key"])


def _mint(secret: bytes, purpose: bytes, claims: dict[str, str], expires_at: datetime) -> Link:
    return Link(signing.sign(secret, purpose, {**claims, "exp": int(expires_at.timestamp())}), expires_at)


def _read(secret: bytes, purpose: bytes, token: str, now: datetime, names: tuple[str, ...]) -> dict[str, str]:
    """The named string claims of an authentic token for ``purpose`` that has not expired."""
    try:
        claims = signing.verify(secret, purpose, token)
    except signing.BadSignature:
        raise InvalidLink("the link is not valid", field="token") from None
    values = {name: claims.get(name) for name in names}
    expires = claims.get("exp")
    if not all(isinstance(value, str) for value in values.values()) or type(expires) is not int:
        raise InvalidLink("the link is not valid", field="token")
    if now.timestamp() >= expires:
        raise Gone("the link has expired", field="token")
    return {name: str(value) for name, value in values.items()}
