"""Ports of the OAuth flows that the Gmail and calendar services share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from callproof.oauth.model import OAuthState, OAuthToken, SealedToken


class OAuthClient(Protocol):
    """A provider's authorization-code flow (Google, Microsoft)."""

    def authorization_url(
        self, scopes: Sequence[str], state: str, code_challenge: str, redirect_uri: str
    ) -> str: ...

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> OAuthToken: ...

    def refresh(self, token: OAuthToken) -> OAuthToken: ...

    def revoke(self, token: OAuthToken) -> bool: ...


class StateStore(Protocol):
    def issue(self, state: OAuthState) -> str: ...

    def consume(self, value: str, purpose: str) -> OAuthState: ...


class TokenSealer(Protocol):
    def seal(self, token: OAuthToken, org_id: str, user_id: str, purpose: str) -> SealedToken: ...

    def open(self, sealed: SealedToken, org_id: str, user_id: str, purpose: str) -> OAuthToken: ...
