"""Google OAuth 2.0 for every Google integration (Gmail, Calendar, People): consent URL with PKCE,
code exchange, refresh, revoke.

``GoogleOAuthClient``: requests-oauthlib against Google's endpoints (or the local double's, set by the
local stack): ``authorization_url``, ``exchange_code``, ``refresh`` (``GrantRevoked`` on
``invalid_grant``), ``revoke``. The PKCE pair comes from ``callproof.oauth.model.new_pkce``; the
single-use ``state`` is kept by ``store/oauth_state_dynamo.py`` and tokens are sealed by
``store/token_vault_kms.py``.

Nothing here logs a token, a code, a verifier or an address.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error
from requests_oauthlib import OAuth2Session

from callproof.errors import TemporarilyUnavailable
from callproof.oauth.model import GrantRevoked, OAuthFailed, OAuthToken

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"

_LOOPBACK = re.compile(r"^http://127\.0\.0\.1:\d+(/|$)")
HTTP_TIMEOUT = (3.05, 15)


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
        login_hint: str | None = None,
        include_granted_scopes: bool = False,
    ) -> str:
        """Google's consent URL: offline access (a refresh token), consent prompt, S256 PKCE;
        ``login_hint`` steers the account chooser to the member's address; ``include_granted_scopes``
        asks for incremental authorization (the new token carries the earlier grants' scopes too)."""
        extra = {"login_hint": login_hint} if login_hint else {}
        url, _ = self._session(redirect_uri, scopes).authorization_url(
            self.endpoints.auth_uri,
            state=state,
            access_type="offline",
            prompt="consent",
            include_granted_scopes="true" if include_granted_scopes else "false",
            code_challenge=code_challenge,
            code_challenge_method="S256",
            **extra,
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
