"""Ports of the OAuth flows that the Gmail and calendar services share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from callproof.oauth.model import OAuthState, OAuthToken, SealedToken


class OAuthClient(Protocol):
    """A provider's authorization-code flow (Google, Microsoft)."""

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
        """The consent URL. ``login_hint``: the account to steer the consent screen to (the member's
        CallProof email); ``include_granted_scopes``: incremental authorization, the new grant adds to
        the user's earlier grants (Google; other providers ignore it)."""
        ...

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> OAuthToken: ...

    def refresh(self, token: OAuthToken) -> OAuthToken: ...

    def revoke(self, token: OAuthToken) -> bool: ...


class StateStore(Protocol):
    def issue(self, state: OAuthState) -> str: ...

    def consume(self, value: str, *purposes: str) -> OAuthState:
        """Spend the state (once) if it was issued for one of ``purposes``; ``OAuthFailed`` otherwise."""
        ...


class TokenSealer(Protocol):
    def seal(self, token: OAuthToken, org_id: str, user_id: str, purpose: str) -> SealedToken: ...

    def open(self, sealed: SealedToken, org_id: str, user_id: str, purpose: str) -> OAuthToken: ...
