"""Gmail for the user: connect a mailbox (OAuth, then a watch, on the labels it syncs), its status,
import its Google contacts (through a grant of their own, ``callproof.mail.google_contacts``), and
remove the connection (optionally with the mail only that mailbox holds). The web mail client's reads
are ``callproof.mail.reading``, the labels ``callproof.mail.labels``.
Keeping the mailbox in sync is ``callproof.mail.sync``. Pure: every outside thing comes in through
``callproof.mail.ports``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callproof.errors import Conflict, DomainError, InvalidInput, NotFound
from callproof.mail.labels import MailboxLabels, purge_copies
from callproof.mail.model import (
    CONTACTS_PURPOSE,
    DEFAULT_LABELS,
    PURPOSE,
    GmailConfig,
    GoogleConnected,
    Integration,
    IntegrationStatus,
    iso_time,
)
from callproof.mail.reading import MailReader
from callproof.mail.tokens import MailboxTokens
from callproof.oauth.model import GMAIL_READONLY, GrantRevoked, OAuthState, new_pkce
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.mail.google_contacts import GoogleContacts
    from callproof.mail.ports import (
        ContactMatcher,
        GmailApi,
        IntegrationStore,
        MailBlobs,
        MailIndex,
    )
    from callproof.oauth.ports import OAuthClient, StateStore, TokenSealer


@dataclass(frozen=True, slots=True)
class RemovalResult:
    stopped: bool
    revoked: bool
    purged_emails: int
    purged_objects: int


class GmailService:
    def __init__(
        self,
        integrations: IntegrationStore,
        index: MailIndex,
        blobs: MailBlobs,
        contacts: ContactMatcher,
        oauth: OAuthClient,
        states: StateStore,
        vault: TokenSealer,
        gmail: Callable[[str], GmailApi],
        config: GmailConfig,
        clock: Callable[[], float] = time.time,
        *,
        google_contacts: GoogleContacts | None = None,
        member_email: Callable[[str, str], str | None] | None = None,
    ) -> None:
        self._integrations = integrations
        self._index = index
        self._blobs = blobs
        self._contacts = contacts
        self._oauth = oauth
        self._states = states
        self._vault = vault
        self._tokens = MailboxTokens(integrations, vault, oauth, clock)
        self._gmail = gmail
        self._config = config
        self._clock = clock
        self.reader = MailReader(index, blobs, contacts)  # the web mail client's reads
        self.labels = MailboxLabels(integrations, index, blobs, oauth, vault, gmail, config, clock)
        self._google_contacts = google_contacts
        self._member_email = member_email

    # --- connect --------------------------------------------------------------------------------

    def authorize(self, caller: Caller, contacts: bool = False) -> str:
        """Google's consent URL, steered (``login_hint``) to the member's CallProof email: Gmail
        read-only; or, with ``contacts``, the Google Contacts grant (``callproof.mail.google_contacts``:
        ``contacts.readonly`` alone, incremental when the user has a Gmail grant)."""
        caller.require(Role.REP, Role.ADMIN)
        if not self._config.redirect_uri:
            raise Conflict("Google sign-in is not configured (no OAuth redirect URI)")
        hint = self._member_email(caller.org_id, caller.user_id) if self._member_email else None
        if contacts:
            integration = self._integrations.get(caller.org_id, caller.user_id)
            has_gmail = integration is not None and integration.status is not IntegrationStatus.DISCONNECTED
            return self._contacts_grant().authorize(caller, has_gmail=has_gmail, login_hint=hint)
        verifier, challenge = new_pkce()
        state = self._states.issue(OAuthState(caller.org_id, caller.user_id, verifier, PURPOSE))
        return self._oauth.authorization_url(
            [GMAIL_READONLY], state, challenge, self._config.redirect_uri, login_hint=hint
        )

    def _contacts_grant(self) -> GoogleContacts:
        if self._google_contacts is None:
            raise Conflict("Google Contacts import is not configured")
        return self._google_contacts

    def callback(self, state: str, code: str) -> GoogleConnected:
        """Where Google sends the browser (one redirect URI for both grants): the state (single use)
        says whose and which grant; completes the Gmail connection or the Google Contacts grant."""
        if not self._config.redirect_uri:
            raise Conflict("Google sign-in is not configured (no OAuth redirect URI)")
        issued = self._states.consume(state, PURPOSE, CONTACTS_PURPOSE)
        if issued.purpose == CONTACTS_PURPOSE:
            return self._contacts_grant().complete(issued, code)
        integration = self._complete(issued, code)
        return GoogleConnected("gmail", integration.user_id, integration.status.value)

    def complete(self, state: str, code: str) -> Integration:
        """The Gmail OAuth callback: the state (single use) says whose; exchange, store sealed, watch."""
        if not self._config.redirect_uri:
            raise Conflict("Google sign-in is not configured (no OAuth redirect URI)")
        return self._complete(self._states.consume(state, PURPOSE), code)

    def _complete(self, issued: OAuthState, code: str) -> Integration:
        assert self._config.redirect_uri
        token = self._oauth.exchange_code(code, issued.code_verifier, self._config.redirect_uri)
        if GMAIL_READONLY not in token.scopes:
            self._oauth.revoke(token)
            raise InvalidInput("the Gmail read-only permission was not granted", field="scope")
        api = self._gmail(token.access_token)
        mailbox, _ = api.profile()
        previous = self._integrations.get(issued.org_id, issued.user_id)
        same = previous is not None and previous.mailbox == mailbox.lower()
        labels = previous.labels if previous is not None and same else DEFAULT_LABELS
        history_id, expiration = api.watch(self._config.topic, labels)
        if previous is not None and same:
            history_id = min(history_id, previous.history_id)  # re-consent (more scopes) keeps the cursor
        integration = Integration(
            org_id=issued.org_id,
            user_id=issued.user_id,
            mailbox=mailbox.lower(),
            status=IntegrationStatus.ACTIVE,
            history_id=history_id,
            watch_expiration=expiration,
            connected_at=iso_time(self._clock()),
            labels=labels,
        )
        try:
            self._integrations.connect(
                integration, self._vault.seal(token, issued.org_id, issued.user_id, PURPOSE)
            )
        except Conflict:
            api.stop()
            raise
        return integration

    def cancel(self, state: str) -> None:
        """The user declined at Google: the state is spent all the same."""
        with suppress(DomainError):
            self._states.consume(state, PURPOSE, CONTACTS_PURPOSE)

    def status(self, caller: Caller) -> Integration:
        integration = self._integrations.get(caller.org_id, caller.user_id)
        if integration is None:
            raise NotFound("no Google integration")
        if (
            integration.status is IntegrationStatus.ACTIVE
            and integration.watch_expiration < self._clock() * 1000
        ):
            return _replace_status(integration, IntegrationStatus.LAPSED, "watch expired")
        return integration

    # --- removal --------------------------------------------------------------------------------

    def remove(self, caller: Caller, purge: bool) -> RemovalResult:
        integration = self._integrations.get(caller.org_id, caller.user_id)
        contacts_removed = self._google_contacts.remove(caller) if self._google_contacts else False
        if integration is None:
            if contacts_removed:  # a Google Contacts grant without Gmail: revoked and deleted
                return RemovalResult(False, True, 0, 0)
            raise NotFound("no Google integration")
        stopped = revoked = False
        sealed = self._integrations.token(caller.org_id, caller.user_id)
        if sealed is not None:
            token = self._vault.open(sealed, caller.org_id, caller.user_id, PURPOSE)
            try:
                if token.expired(self._clock()):
                    token = self._oauth.refresh(token)
                self._gmail(token.access_token).stop()
                stopped = True
            except GrantRevoked:
                pass  # already revoked at Google: there is no watch left to stop
            except Exception:
                stopped = False
            revoked = self._oauth.revoke(token)
        self._integrations.delete(integration)
        purged_emails = purged_objects = 0
        if purge:
            purged_emails, purged_objects = purge_copies(
                self._index, self._blobs, caller.org_id, caller.user_id, lambda _: True
            )
        return RemovalResult(stopped, revoked, purged_emails, purged_objects)


def _replace_status(integration: Integration, status: IntegrationStatus, reason: str) -> Integration:
    from dataclasses import replace

    return replace(integration, status=status, status_reason=reason)
