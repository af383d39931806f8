"""The Google Contacts grant and import: a grant of its own, apart from the Gmail connection.

Asking: ``contacts.readonly`` alone; with incremental authorization (``include_granted_scopes``) only
when the user already has a Gmail grant, so Google keeps one grant for both. A Gmail grant never
implies contacts: the import reads only this grant's token, whatever scopes the Gmail token carries.

Importing (an import job, ``callproof.contacts.google_imports``, reads through this class page by
page): the user's connections (later imports only what changed, by sync token) go through the CSV
import's dedupe rules; which CRM contact each Google person landed in is recorded, so that when a
later sync reports the person deleted (``metadata.deleted``) that contact is marked
``removed_in_google`` with the time, and never deleted. Pure: everything comes in through ports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callproof.errors import Conflict, InvalidInput
from callproof.mail.model import CONTACTS_PURPOSE, GoogleConnected, GooglePerson, PeoplePage, iso_time
from callproof.mail.ports import ContactsGrantStore, PeopleApi, SyncTokenExpired
from callproof.oauth.model import CONTACTS_READONLY, GrantRevoked, OAuthState, OAuthToken, new_pkce
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.oauth.ports import OAuthClient, StateStore, TokenSealer

# Mark these contacts removed in Google at this ISO time; how many were newly marked.
MarkRemoved = Callable[[str, Sequence[str], str], int]


class ScopeMissing(Conflict):
    code = "google_scope_missing"


@dataclass(frozen=True, slots=True)
class ContactsGrantConfig:
    redirect_uri: str | None


class GoogleContacts:
    def __init__(
        self,
        grants: ContactsGrantStore,
        oauth: OAuthClient,
        states: StateStore,
        vault: TokenSealer,
        people: Callable[[str], PeopleApi],
        mark_removed: MarkRemoved,
        config: ContactsGrantConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._grants = grants
        self._oauth = oauth
        self._states = states
        self._vault = vault
        self._people = people
        self._mark_removed = mark_removed
        self._config = config
        self._clock = clock

    def _redirect(self) -> str:
        if not self._config.redirect_uri:
            raise Conflict("Google sign-in is not configured (no OAuth redirect URI)")
        return self._config.redirect_uri

    def authorize(self, caller: Caller, *, has_gmail: bool, login_hint: str | None) -> str:
        """Google's consent URL for ``contacts.readonly`` alone; incremental when a Gmail grant exists."""
        caller.require(Role.REP, Role.ADMIN)
        redirect = self._redirect()
        verifier, challenge = new_pkce()
        state = self._states.issue(OAuthState(caller.org_id, caller.user_id, verifier, CONTACTS_PURPOSE))
        return self._oauth.authorization_url(
            [CONTACTS_READONLY],
            state,
            challenge,
            redirect,
            login_hint=login_hint,
            include_granted_scopes=has_gmail,
        )

    def complete(self, issued: OAuthState, code: str) -> GoogleConnected:
        """The callback for a consumed contacts state: exchange, check the scope, store sealed."""
        token = self._oauth.exchange_code(code, issued.code_verifier, self._redirect())
        if CONTACTS_READONLY not in token.scopes:
            self._oauth.revoke(token)
            raise InvalidInput("the Google Contacts read-only permission was not granted", field="scope")
        sealed = self._vault.seal(token, issued.org_id, issued.user_id, CONTACTS_PURPOSE)
        self._grants.save(issued.org_id, issued.user_id, sealed, iso_time(self._clock()))
        return GoogleConnected("contacts", issued.user_id, "active")

    def _token(self, caller: Caller) -> OAuthToken:
        sealed = self._grants.token(caller.org_id, caller.user_id)
        if sealed is None:
            raise _scope_missing()
        token = self._vault.open(sealed, caller.org_id, caller.user_id, CONTACTS_PURPOSE)
        if token.expired(self._clock()):
            try:
                token = self._oauth.refresh(token)
            except GrantRevoked:
                self._grants.delete(caller.org_id, caller.user_id)
                raise Conflict(
                    "Google Contacts access was revoked: POST /v1/integrations/google/authorize?contacts=true"
                ) from None
            resealed = self._vault.seal(token, caller.org_id, caller.user_id, CONTACTS_PURPOSE)
            self._grants.save_token(caller.org_id, caller.user_id, resealed)
        return token

    # --- the import job's pages (``callproof.contacts.ports.PeopleSource``) -----------------------

    def check(self, caller: Caller) -> None:
        """409 ``google_scope_missing`` unless the caller holds the Google Contacts grant."""
        caller.require(Role.REP, Role.ADMIN)
        if self._grants.token(caller.org_id, caller.user_id) is None:
            raise _scope_missing()

    def sync_token(self, caller: Caller) -> str | None:
        return self._grants.sync_token(caller.org_id, caller.user_id)

    def page(self, caller: Caller, sync_token: str | None, page_token: str | None) -> PeoplePage:
        """One page of the caller's Google contacts (changes since ``sync_token``; None: everyone),
        each present person as a CSV import record. Google refusing the sync token as expired gives
        the first page of a full sync instead (``restarted``)."""
        api = self._people(self._token(caller).access_token)
        restarted = False
        try:
            people, next_page, next_sync = api.connections_page(sync_token, page_token)
        except SyncTokenExpired:
            restarted = True
            people, next_page, next_sync = api.connections_page(None, None)
        return PeoplePage(
            records=[(p.resource_name, person_record(p)) for p in people if not p.deleted],
            deleted=[p.resource_name for p in people if p.deleted and p.resource_name],
            next_page_token=next_page,
            next_sync_token=next_sync,
            restarted=restarted,
        )

    def record(self, caller: Caller, imported: Mapping[str, str], deleted: Sequence[str]) -> int:
        """Link each imported person (resourceName) to its CRM contact; mark the contacts of the
        deleted people ``removed_in_google``; how many were newly marked. Idempotent."""
        if imported:
            self._grants.link(caller.org_id, caller.user_id, imported)
        if not deleted:
            return 0
        linked = self._grants.linked(caller.org_id, caller.user_id, deleted)
        if not linked:
            return 0
        return self._mark_removed(caller.org_id, sorted(set(linked.values())), iso_time(self._clock()))

    def finish(self, caller: Caller, sync_token: str | None) -> None:
        """The next import reads only what changed after this one."""
        self._grants.save_sync_token(caller.org_id, caller.user_id, sync_token)

    def remove(self, caller: Caller) -> bool:
        """Revoke the grant at Google and delete it; False if there was none."""
        sealed = self._grants.token(caller.org_id, caller.user_id)
        if sealed is None:
            return False
        self._oauth.revoke(self._vault.open(sealed, caller.org_id, caller.user_id, CONTACTS_PURPOSE))
        return self._grants.delete(caller.org_id, caller.user_id)


def _scope_missing() -> ScopeMissing:
    return ScopeMissing("no Google Contacts permission: POST /v1/integrations/google/authorize?contacts=true")


def person_record(person: GooglePerson) -> dict[str, object]:
    """A Google person as the contact import reads a CSV row (ContactIn-shaped, a prospect unless
    the team says otherwise; a name is required, so the company or first email stands in)."""
    name = person.name or person.company or (person.emails[0] if person.emails else "")
    record: dict[str, object] = {"type": "prospect", "name": name}
    if person.company:
        record["company"] = person.company
    if person.emails:
        record["emails"] = list(person.emails)
    if person.phones:
        record["phones"] = list(person.phones)
    return record
