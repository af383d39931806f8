"""A connected mailbox's Google access token, for the services that call Google on its behalf."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from callproof.errors import Conflict
from callproof.mail.model import PURPOSE, Integration, IntegrationStatus
from callproof.oauth.model import GrantRevoked, OAuthToken

if TYPE_CHECKING:
    from callproof.mail.ports import IntegrationStore
    from callproof.oauth.ports import OAuthClient, TokenSealer


class MailboxTokens:
    def __init__(
        self,
        integrations: IntegrationStore,
        vault: TokenSealer,
        oauth: OAuthClient,
        clock: Callable[[], float],
    ) -> None:
        self._integrations = integrations
        self._vault = vault
        self._oauth = oauth
        self._clock = clock

    def access_token(self, integration: Integration) -> OAuthToken:
        """The stored token, opened; refreshed (and sealed and stored again) when it expired.
        ``GrantRevoked`` when none is stored or Google refuses the refresh."""
        sealed = self._integrations.token(integration.org_id, integration.user_id)
        if sealed is None:
            raise GrantRevoked("no token")
        token = self._vault.open(sealed, integration.org_id, integration.user_id, PURPOSE)
        if token.expired(self._clock()):
            token = self._oauth.refresh(token)
            self._integrations.save_token(
                integration.org_id,
                integration.user_id,
                self._vault.seal(token, integration.org_id, integration.user_id, PURPOSE),
            )
        return token

    def usable(self, integration: Integration) -> OAuthToken:
        """``access_token`` for a user's request: a refused grant marks the integration disconnected
        and answers 409 (the user must connect again)."""
        if integration.status is IntegrationStatus.DISCONNECTED:
            raise Conflict("Google access was revoked; connect again")
        try:
            return self.access_token(integration)
        except GrantRevoked:
            self._integrations.set_status(
                integration.org_id,
                integration.user_id,
                IntegrationStatus.DISCONNECTED,
                "Google access was revoked",
            )
            raise Conflict("Google access was revoked; connect again") from None
