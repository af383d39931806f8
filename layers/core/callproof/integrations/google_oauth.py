"""Google OAuth 2.0 for every Google integration (Gmail, Calendar, People): consent URL with PKCE,
single-use ``state`` bound to org + user, code exchange, refresh, revoke, and KMS envelope-encrypted
token storage.

Pieces (each usable alone):

- ``new_pkce()``: an RFC 7636 verifier and its S256 challenge.
- ``OAuthStateStore``: ``state`` values kept in DynamoDB under the org's partition; the ``state`` string
  itself names the org (``<org>.<nonce>``), so the public callback can find it without a scan, and
  ``consume`` deletes it conditionally: a state works once, only before it expires, and returns the user
  and PKCE verifier it was issued for.
- ``GoogleOAuthClient``: requests-oauthlib against Google's endpoints (or the local double's, set by
  the local stack): ``authorization_url``, ``exchange_code``, ``refresh`` (``GrantRevoked`` on
  ``invalid_grant``), ``revoke``.
- ``TokenVault``: tokens as AES-256-GCM ciphertext under a KMS data key generated with the encryption
  context ``{"org_id": ..., "user_id": ..., "purpose": ...}``; a token read with another org or user
  fails at KMS. Only the ciphertext and the encrypted data key are stored.

Nothing here logs a token, a code, a verifier or an address.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error
from requests_oauthlib import OAuth2Session

from callproof.errors import TemporarilyUnavailable
from callproof.oauth.model import GrantRevoked, OAuthFailed, OAuthState, OAuthToken, SealedToken
from callproof.store.dynamo import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"

STATE_TTL_SECONDS = 600
_STATE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.([A-Za-z0-9_-]{32,64})$")
_LOOPBACK = re.compile(r"^http://127\.0\.0\.1:\d+(/|$)")
HTTP_TIMEOUT = (3.05, 15)


# --- PKCE ------------------------------------------------------------------------------------------


# --- tokens ----------------------------------------------------------------------------------------


# --- the OAuth client ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OAuthEndpoints:
    auth_uri: str = GOOGLE_AUTH_URI
    token_uri: str = GOOGLE_TOKEN_URI
    revoke_uri: str = GOOGLE_REVOKE_URI

    @classmethod
    def at(cls, base_url: str | None) -> OAuthEndpoints:
        """Google's endpoints, or the local double's under ``base_url`` (the local stack sets it)."""
        if not base_url:
            return cls()
        base = base_url.rstrip("/")
        return cls(f"{base}/o/oauth2/v2/auth", f"{base}/token", f"{base}/revoke")


class GoogleOAuthClient:
    """Authorization-code flow with PKCE through requests-oauthlib."""

    def __init__(
        self,
        client_id: str | Callable[[], str],
        client_secret: Callable[[], str],
        endpoints: OAuthEndpoints | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._client_id_source = client_id
        self._client_secret = client_secret
        self.endpoints = endpoints or OAuthEndpoints()
        self._http = session or requests.Session()
        if _LOOPBACK.match(self.endpoints.token_uri):
            # oauthlib refuses plain HTTP; only the local double on loopback is ever plain HTTP.
            os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

    @property
    def _client_id(self) -> str:
        """Read when needed (a secret in Secrets Manager), so building the client costs nothing."""
        source = self._client_id_source
        return source if isinstance(source, str) else source()

    def _session(self, redirect_uri: str | None = None, scopes: Sequence[str] = ()) -> OAuth2Session:
        oauth = OAuth2Session(self._client_id, redirect_uri=redirect_uri, scope=list(scopes) or None)
        oauth.mount("https://", self._http.get_adapter("https://"))
        oauth.mount("http://", self._http.get_adapter("http://"))
        return oauth

    def authorization_url(
        self,
        scopes: Sequence[str],
        state: str,
        code_challenge: str,
        redirect_uri: str,
        *,
        include_granted_scopes: bool = True,
    ) -> str:
        """Google's consent URL: offline access (a refresh token), consent prompt, S256 PKCE."""
        url, _ = self._session(redirect_uri, scopes).authorization_url(
            self.endpoints.auth_uri,
            state=state,
            access_type="offline",
            prompt="consent",
            include_granted_scopes="true" if include_granted_scopes else "false",
            code_challenge=code_challenge,
            code_challenge_method="S256",
        )
        return str(url)

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> OAuthToken:
        try:
            token = self._session(redirect_uri).fetch_token(
                self.endpoints.token_uri,
                code=code,
                client_secret=self._client_secret(),
                code_verifier=code_verifier,
                include_client_id=True,
                timeout=HTTP_TIMEOUT,
            )
        except OAuth2Error:
            raise OAuthFailed("Google refused the authorization code; connect again", field="code") from None
        except (requests.ConnectionError, requests.Timeout):
            raise TemporarilyUnavailable("Google is unreachable; retry shortly") from None
        return OAuthToken.from_response(dict(token))

    def refresh(self, token: OAuthToken) -> OAuthToken:
        """A fresh access token; ``GrantRevoked`` when Google says the grant is gone."""
        if not token.refresh_token:
            raise GrantRevoked("no refresh token")
        try:
            answer = self._session().refresh_token(
                self.endpoints.token_uri,
                refresh_token=token.refresh_token,
                client_id=self._client_id,
                client_secret=self._client_secret(),
                timeout=HTTP_TIMEOUT,
            )
        except InvalidGrantError:
            raise GrantRevoked("invalid_grant") from None
        except OAuth2Error as error:
            raise TemporarilyUnavailable(f"token refresh failed ({error.error})") from None
        except (requests.ConnectionError, requests.Timeout):
            raise TemporarilyUnavailable("Google is unreachable; retry shortly") from None
        return OAuthToken.from_response(dict(answer), previous_refresh=token.refresh_token)

    def revoke(self, token: OAuthToken) -> bool:
        """Revoke the grant (the refresh token revokes the access tokens too); False if Google said no."""
        value = token.refresh_token or token.access_token
        try:
            response = self._http.post(
                self.endpoints.revoke_uri,
                data={"token": value},
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=HTTP_TIMEOUT,
            )
        except (requests.ConnectionError, requests.Timeout):
            return False
        # 400 invalid_token: already revoked or expired, which is the outcome we wanted.
        return response.status_code in (200, 400)


# --- state: single use, bound to org + user --------------------------------------------------------


def state_key(org_id: str, nonce: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": f"OAUTHSTATE#{nonce}"}


class OAuthStateStore:
    """OAuth ``state`` values in a DynamoDB table with ``pk`` / ``sk`` keys (and TTL on ``expires_at``)."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        ttl_seconds: int = STATE_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(self, state: OAuthState) -> str:
        nonce = secrets.token_urlsafe(32)
        item = {
            **state_key(state.org_id, nonce),
            "entity": "oauth_state",
            "user_id": state.user_id,
            "code_verifier": state.code_verifier,
            "purpose": state.purpose,
            "redirect_after": state.redirect_after,
            "expires_at": int(self._clock()) + self._ttl,
        }
        self._client.put_item(TableName=self._table, Item=to_item(item))
        return f"{state.org_id}.{nonce}"

    def consume(self, value: str, purpose: str) -> OAuthState:
        """Delete and return the state (once); ``OAuthFailed`` if unknown, used, expired or for another
        purpose."""
        match = _STATE.match(value or "")
        if not match:
            raise OAuthFailed("invalid state", field="state")
        org_id, nonce = match.groups()
        try:
            response = self._client.delete_item(
                TableName=self._table,
                Key=to_item(state_key(org_id, nonce)),
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            raise OAuthFailed("unknown or already used state", field="state") from None
        item = from_item(response.get("Attributes") or {})
        if int(item.get("expires_at", 0)) < self._clock() or item.get("purpose") != purpose:
            raise OAuthFailed("expired state", field="state")
        return OAuthState(
            org_id=org_id,
            user_id=str(item["user_id"]),
            code_verifier=str(item["code_verifier"]),
            purpose=purpose,
            redirect_after=item.get("redirect_after"),
        )


# --- token storage: KMS envelope encryption --------------------------------------------------------


class TokenVault:
    """Seal / open OAuth tokens with a per-token KMS data key; context = org, user and purpose."""

    def __init__(self, kms: Callable[[], KMSClient], key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    @staticmethod
    def context(org_id: str, user_id: str, purpose: str) -> dict[str, str]:
        return {"org_id": org_id, "user_id": user_id, "purpose": purpose}

    def seal(self, token: OAuthToken, org_id: str, user_id: str, purpose: str) -> SealedToken:
        context = self.context(org_id, user_id, purpose)
        key = self._kms().generate_data_key(KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context)
        nonce = secrets.token_bytes(12)
        aad = json.dumps(context, sort_keys=True).encode()
        ciphertext = AESGCM(key["Plaintext"]).encrypt(nonce, token.to_json().encode(), aad)
        return SealedToken(ciphertext, nonce, key["CiphertextBlob"])

    def open(self, sealed: SealedToken, org_id: str, user_id: str, purpose: str) -> OAuthToken:
        context = self.context(org_id, user_id, purpose)
        key = self._kms().decrypt(CiphertextBlob=sealed.encrypted_key, EncryptionContext=context)
        aad = json.dumps(context, sort_keys=True).encode()
        plaintext = AESGCM(key["Plaintext"]).decrypt(sealed.nonce, sealed.ciphertext, aad)
        return OAuthToken.from_json(plaintext.decode())
