"""OAuth pieces every provider integration shares, free of any HTTP library: tokens, PKCE, the
single-use authorization state and sealed (envelope-encrypted) tokens. The ports are in
``callproof.oauth.ports``; the requests-oauthlib clients, the state store and the KMS vault that
implement them are adapters (``callproof.integrations``, ``callproof.store``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from callproof.errors import InvalidInput

# Google scopes the services ask for (pure strings, so services need not import the client).
GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"
CONTACTS_READONLY = "https://www.googleapis.com/auth/contacts.readonly"
CALENDAR_READONLY = "https://www.googleapis.com/auth/calendar.readonly"


class GrantRevoked(Exception):
    """Google answered ``invalid_grant``: the user revoked access or the refresh token expired."""


class OAuthFailed(InvalidInput):
    """The authorization code (or state) was refused: the user must connect again."""

    code = "oauth_failed"


def new_pkce() -> tuple[str, str]:
    """(verifier, S256 challenge): 64 url-safe characters, as RFC 7636 section 4.1 allows (43-128)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


@dataclass(frozen=True, slots=True)
class OAuthToken:
    access_token: str
    refresh_token: str | None
    expires_at: float  # epoch seconds
    scopes: tuple[str, ...]

    def expired(self, now: float, margin: float = 60.0) -> bool:
        return now >= self.expires_at - margin

    def to_json(self) -> str:
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at,
                "scopes": list(self.scopes),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> OAuthToken:
        data = json.loads(text)
        return cls(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            expires_at=float(data["expires_at"]),
            scopes=tuple(data.get("scopes") or ()),
        )

    @classmethod
    def from_response(
        cls, token: dict[str, Any], previous_refresh: str | None = None, now: float | None = None
    ) -> OAuthToken:
        """Google's token response; a refresh answer usually omits the refresh token (keep the old)."""
        issued = time.time() if now is None else now
        expires_at = token.get("expires_at") or issued + float(token.get("expires_in") or 3600)
        scope = token.get("scope") or ()
        scopes = tuple(scope.split()) if isinstance(scope, str) else tuple(scope)
        return cls(
            access_token=str(token["access_token"]),
            refresh_token=token.get("refresh_token") or previous_refresh,
            expires_at=float(expires_at),
            scopes=scopes,
        )


@dataclass(frozen=True, slots=True)
class OAuthState:
    org_id: str
    user_id: str
    code_verifier: str
    purpose: str  # which integration asked ("gmail", "calendar", ...)
    redirect_after: str | None = None


@dataclass(frozen=True, slots=True)
class SealedToken:
    """What is stored: never the token itself."""

    ciphertext: bytes
    nonce: bytes
    encrypted_key: bytes

    def to_attributes(self) -> dict[str, bytes]:
        return {"token_ct": self.ciphertext, "token_nonce": self.nonce, "token_key": self.encrypted_key}

    @classmethod
    def from_attributes(cls, item: dict[str, Any]) -> SealedToken | None:
        if not item.get("token_ct"):
            return None
        return cls(bytes(item["token_ct"]), bytes(item["token_nonce"]), bytes(item["token_key"]))
