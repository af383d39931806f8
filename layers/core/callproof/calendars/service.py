"""The calendar service: connect Google Calendar or Office 365, list calendars, create a CRM calendar,
select one calendar, and create / update events with CRM contacts as attendees.

The one rule that matters: events are written **only** to the calendar the user selected. A write
naming any other calendar is refused here (409 ``calendar_not_selected``), before a token is opened or
refreshed and before any request leaves for the provider.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from callproof.calendars.model import (
    Attendee,
    Calendar,
    Connection,
    ConnectionStatus,
    Event,
    EventDraft,
    Provider,
    Selection,
)
from callproof.errors import Conflict, InvalidInput, NotFound
from callproof.oauth.model import GrantRevoked, OAuthState, OAuthToken, new_pkce
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.calendars.ports import CalendarApi, ConnectionStore
    from callproof.oauth.ports import OAuthClient, StateStore, TokenSealer

GOOGLE_CALENDAR_SCOPES = (
    "https://www.googleapis.com/auth/calendar.app.created",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
)
MICROSOFT_CALENDAR_SCOPES = ("Calendars.ReadWrite", "offline_access")
SCOPES: Mapping[Provider, tuple[str, ...]] = {
    Provider.GOOGLE: GOOGLE_CALENDAR_SCOPES,
    Provider.MICROSOFT: MICROSOFT_CALENDAR_SCOPES,
}
MAX_ATTENDEES = 50


class NotConfigured(Conflict):
    code = "calendar_not_configured"


class NotConnected(Conflict):
    code = "calendar_not_connected"


class Disconnected(Conflict):
    """The provider refused the stored grant: the connection is marked disconnected."""

    code = "calendar_disconnected"


class NoCalendarSelected(Conflict):
    code = "no_calendar_selected"


class CalendarNotSelected(Conflict):
    """A write named a calendar other than the selected one; nothing was sent."""

    code = "calendar_not_selected"


def purpose(provider: Provider) -> str:
    """The OAuth state purpose and the token envelope's encryption-context purpose."""
    return f"calendar:{provider.value}"


def parse_provider(value: str) -> Provider:
    try:
        return Provider(value)
    except ValueError:
        raise NotFound("unknown calendar provider") from None


class CalendarService:
    def __init__(
        self,
        connections: ConnectionStore,
        states: StateStore,
        vault: TokenSealer,
        oauth: Mapping[Provider, OAuthClient],
        api: Callable[[Provider, str], CalendarApi],
        attendees: Callable[[str, Sequence[str]], list[Attendee]],
        redirect_uri: Callable[[Provider], str | None],
        clock: Callable[[], float] = time.time,
        *,
        member_email: Callable[[str, str], str | None] | None = None,
    ) -> None:
        self._connections = connections
        self._states = states
        self._vault = vault
        self._oauth = oauth
        self._api = api
        self._attendees = attendees
        self._redirect_uri = redirect_uri
        self._clock = clock
        self._member_email = member_email

    # --- connect / disconnect -------------------------------------------------------------------

    def _redirect(self, provider: Provider) -> str:
        uri = self._redirect_uri(provider)
        if not uri or provider not in self._oauth:
            raise NotConfigured(f"{provider.value} calendar is not configured on this deployment")
        return uri

    def authorize(self, caller: Caller, provider: Provider) -> str:
        redirect = self._redirect(provider)
        verifier, challenge = new_pkce()
        state = self._states.issue(OAuthState(caller.org_id, caller.user_id, verifier, purpose(provider)))
        hint = self._member_email(caller.org_id, caller.user_id) if self._member_email else None
        return self._oauth[provider].authorization_url(
            SCOPES[provider],
            state,
            challenge,
            redirect,
            login_hint=hint,  # the member's CallProof email
        )

    def cancel(self, provider: Provider, state: str) -> None:
        """The user declined: spend the state so it cannot be replayed."""
        with contextlib.suppress(InvalidInput):
            self._states.consume(state, purpose(provider))

    def complete(self, provider: Provider, state: str, code: str) -> Connection:
        redirect = self._redirect(provider)
        issued = self._states.consume(state, purpose(provider))
        token = self._oauth[provider].exchange_code(code, issued.code_verifier, redirect)
        connection = Connection(
            issued.org_id,
            issued.user_id,
            provider,
            ConnectionStatus.CONNECTED,
            dt.datetime.fromtimestamp(self._clock(), dt.UTC).isoformat(timespec="seconds"),
        )
        sealed = self._vault.seal(token, issued.org_id, issued.user_id, purpose(provider))
        self._connections.save(connection, sealed)
        return connection

    def status(self, caller: Caller) -> tuple[list[Connection], Selection | None]:
        return (
            self._connections.connected(caller.org_id, caller.user_id),
            self._connections.selection(caller.org_id, caller.user_id),
        )

    def disconnect(self, caller: Caller, provider: Provider) -> bool:
        """Revoke the grant at the provider (best effort) and delete the tokens; True if revoked."""
        if self._connections.get(caller.org_id, caller.user_id, provider) is None:
            raise NotConnected(f"{provider.value} calendar is not connected")
        sealed = self._connections.token(caller.org_id, caller.user_id, provider)
        revoked = False
        if sealed is not None and provider in self._oauth:
            token = self._vault.open(sealed, caller.org_id, caller.user_id, purpose(provider))
            revoked = self._oauth[provider].revoke(token)
        self._connections.delete(caller.org_id, caller.user_id, provider)
        return revoked

    # --- tokens -----------------------------------------------------------------------------------

    def _access_token(self, caller: Caller, provider: Provider) -> str:
        connection = self._connections.get(caller.org_id, caller.user_id, provider)
        if connection is None:
            raise NotConnected(f"{provider.value} calendar is not connected")
        if connection.status is not ConnectionStatus.CONNECTED:
            raise Disconnected(f"{provider.value} calendar access was revoked or expired; connect again")
        sealed = self._connections.token(caller.org_id, caller.user_id, provider)
        if sealed is None:
            raise NotConnected(f"{provider.value} calendar is not connected")
        token = self._vault.open(sealed, caller.org_id, caller.user_id, purpose(provider))
        if token.expired(self._clock()):
            token = self._refresh(caller, provider, token)
        return token.access_token

    def _refresh(self, caller: Caller, provider: Provider, token: OAuthToken) -> OAuthToken:
        try:
            fresh = self._oauth[provider].refresh(token)
        except GrantRevoked:
            self._connections.set_status(
                caller.org_id, caller.user_id, provider, ConnectionStatus.DISCONNECTED
            )
            raise Disconnected(
                f"{provider.value} calendar access was revoked or expired; connect again"
            ) from None
        # Microsoft answers every refresh with a new refresh token (the old one stops working soon):
        # the new token is stored every time, sealed like the first.
        sealed = self._vault.seal(fresh, caller.org_id, caller.user_id, purpose(provider))
        self._connections.save_token(caller.org_id, caller.user_id, provider, sealed)
        return fresh

    def _client(self, caller: Caller, provider: Provider) -> CalendarApi:
        return self._api(provider, self._access_token(caller, provider))

    # --- calendars --------------------------------------------------------------------------------

    def calendars(self, caller: Caller, provider: Provider) -> list[Calendar]:
        return self._client(caller, provider).calendars()

    def create_calendar(
        self, caller: Caller, provider: Provider, name: str, time_zone: str | None
    ) -> Calendar:
        return self._client(caller, provider).create_calendar(name, time_zone)

    def select(self, caller: Caller, provider: Provider, calendar_id: str) -> Selection:
        found = next((c for c in self.calendars(caller, provider) if c.id == calendar_id), None)
        if found is None:
            raise InvalidInput("no such calendar in this account", field="calendar_id")
        if not found.can_edit:
            raise InvalidInput("this calendar is read-only for CallProof", field="calendar_id")
        selection = Selection(provider, found.id, found.name)
        self._connections.select(caller.org_id, caller.user_id, selection)
        return selection

    # --- events: the selected calendar only ---------------------------------------------------------

    def _target(self, caller: Caller, calendar_id: str | None) -> Selection:
        """The selected calendar; refuses any other before anything is opened or sent."""
        selection = self._connections.selection(caller.org_id, caller.user_id)
        if selection is None:
            raise NoCalendarSelected("select a calendar first (PUT /v1/calendars/selection)")
        if calendar_id is not None and calendar_id != selection.calendar_id:
            raise CalendarNotSelected("events are written only to the selected calendar")
        return selection

    def _with_attendees(
        self, caller: Caller, draft: EventDraft, contact_ids: Sequence[str] | None
    ) -> EventDraft:
        """Attendees are the org's contacts: reading them needs the roles the contacts API needs."""
        if contact_ids is None:
            return draft
        unique = list(dict.fromkeys(contact_ids))
        if unique:
            caller.require(Role.REP, Role.ADMIN)
        if len(unique) > MAX_ATTENDEES:
            raise InvalidInput(f"at most {MAX_ATTENDEES} attendees", field="attendee_contact_ids")
        return replace(draft, attendees=tuple(self._attendees(caller.org_id, unique)))

    def create_event(
        self, caller: Caller, calendar_id: str | None, draft: EventDraft, contact_ids: Sequence[str]
    ) -> Event:
        target = self._target(caller, calendar_id)
        full = self._with_attendees(caller, draft, contact_ids)
        return self._client(caller, target.provider).create_event(target.calendar_id, full)

    def update_event(
        self,
        caller: Caller,
        event_id: str,
        calendar_id: str | None,
        draft: EventDraft,
        contact_ids: Sequence[str] | None,
    ) -> Event:
        target = self._target(caller, calendar_id)
        full = self._with_attendees(caller, draft, contact_ids)
        return self._client(caller, target.provider).update_event(target.calendar_id, event_id, full)

    def all_calendars(self, caller: Caller) -> list[tuple[Provider, Calendar]]:
        """Every connected provider's calendars (a disconnected provider answers 409, says which)."""
        found: list[tuple[Provider, Calendar]] = []
        for connection in self._connections.connected(caller.org_id, caller.user_id):
            found += [(connection.provider, c) for c in self.calendars(caller, connection.provider)]
        return found
