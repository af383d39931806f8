"""The calendar service with fakes: the selected-calendar rule (nothing leaves for another calendar),
Microsoft's rotating refresh tokens stored on every refresh, revoked grants, disconnect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

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
from callproof.calendars.service import (
    GOOGLE_CALENDAR_SCOPES,
    CalendarNotSelected,
    CalendarService,
    Disconnected,
    NoCalendarSelected,
    NotConfigured,
)
from callproof.errors import Forbidden, InvalidInput
from callproof.oauth.model import GrantRevoked, OAuthToken, SealedToken
from callproof.tenancy import Caller, Role
from tests.gmail_fakes import FakeStates, FakeVault

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
DRAFT = EventDraft("Demo", "2026-12-01T10:00:00+00:00", "2026-12-01T11:00:00+00:00")


class RotatingOAuth:
    """Every refresh answers a new refresh token (as Microsoft does); old ones stop working."""

    def __init__(self, expires_at: float = 0.0) -> None:
        self.expires_at = expires_at
        self.refreshes = 0
        self.valid = {"refresh-0"}
        self.requests = 0
        self.scopes: list[Sequence[str]] = []
        self.hints: list[str | None] = []
        self.revoked: list[str] = []

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
        self.scopes.append(scopes)
        self.hints.append(login_hint)
        return f"https://login.example/authorize?state={state}"

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> OAuthToken:
        self.requests += 1
        return OAuthToken("access-0", "refresh-0", self.expires_at, ())

    def refresh(self, token: OAuthToken) -> OAuthToken:
        self.requests += 1
        if token.refresh_token not in self.valid:
            raise GrantRevoked("invalid_grant")
        self.valid.discard(token.refresh_token)
        self.refreshes += 1
        new = f"refresh-{self.refreshes}"
        self.valid.add(new)
        return OAuthToken(f"access-{self.refreshes}", new, self.expires_at, ())

    def revoke(self, token: OAuthToken) -> bool:
        self.revoked.append(token.refresh_token or "")
        return True


@dataclass
class FakeConnections:
    rows: dict[tuple[str, str, Provider], tuple[Connection, SealedToken]] = field(default_factory=dict)
    selections: dict[tuple[str, str], Selection] = field(default_factory=dict)
    token_saves: int = 0

    def get(self, org_id: str, user_id: str, provider: Provider) -> Connection | None:
        row = self.rows.get((org_id, user_id, provider))
        return row[0] if row else None

    def connected(self, org_id: str, user_id: str) -> list[Connection]:
        return [c for (o, u, _), (c, _t) in self.rows.items() if (o, u) == (org_id, user_id)]

    def save(self, connection: Connection, token: SealedToken) -> None:
        self.rows[(connection.org_id, connection.user_id, connection.provider)] = (connection, token)

    def token(self, org_id: str, user_id: str, provider: Provider) -> SealedToken | None:
        row = self.rows.get((org_id, user_id, provider))
        return row[1] if row else None

    def save_token(self, org_id: str, user_id: str, provider: Provider, token: SealedToken) -> None:
        self.token_saves += 1
        connection, _ = self.rows[(org_id, user_id, provider)]
        self.rows[(org_id, user_id, provider)] = (connection, token)

    def set_status(self, org_id: str, user_id: str, provider: Provider, status: ConnectionStatus) -> None:
        connection, token = self.rows[(org_id, user_id, provider)]
        self.rows[(org_id, user_id, provider)] = (
            Connection(connection.org_id, connection.user_id, provider, status, connection.connected_at),
            token,
        )

    def delete(self, org_id: str, user_id: str, provider: Provider) -> None:
        self.rows.pop((org_id, user_id, provider), None)
        selected = self.selections.get((org_id, user_id))
        if selected and selected.provider is provider:
            del self.selections[(org_id, user_id)]

    def selection(self, org_id: str, user_id: str) -> Selection | None:
        return self.selections.get((org_id, user_id))

    def select(self, org_id: str, user_id: str, selection: Selection) -> None:
        self.selections[(org_id, user_id)] = selection


@dataclass
class FakeCalendarApi:
    calendars_: list[Calendar] = field(
        default_factory=lambda: [
            Calendar("primary", "Me", True, True),
            Calendar("holidays", "Holidays", False),
        ]
    )
    writes: list[tuple[str, str]] = field(default_factory=list)

    def calendars(self) -> list[Calendar]:
        return list(self.calendars_)

    def create_calendar(self, name: str, time_zone: str | None) -> Calendar:
        created = Calendar(f"crm-{len(self.calendars_)}", name, True)
        self.calendars_.append(created)
        return created

    def create_event(self, calendar_id: str, draft: EventDraft) -> Event:
        self.writes.append(("create", calendar_id))
        emails = tuple(a.email for a in draft.attendees or ())
        return Event("ev-1", calendar_id, Provider.MICROSOFT, draft.summary or "", "s", "e", emails)

    def update_event(self, calendar_id: str, event_id: str, draft: EventDraft) -> Event:
        self.writes.append(("update", calendar_id))
        return Event(event_id, calendar_id, Provider.MICROSOFT, draft.summary or "", "s", "e", ())


@dataclass
class World:
    service: CalendarService
    oauth: RotatingOAuth
    connections: FakeConnections
    api: FakeCalendarApi
    tokens_seen: list[str]


def world(
    expires_at: float = 1e12, redirect: str | None = "https://api.example/oauth/x/calendar/callback"
) -> World:
    oauth, connections, api, seen = RotatingOAuth(expires_at), FakeConnections(), FakeCalendarApi(), []

    def make_api(provider: Provider, token: str) -> FakeCalendarApi:
        seen.append(token)
        return api

    def attendees(org_id: str, ids: Sequence[str]) -> list[Attendee]:
        if "ghost" in ids:
            raise InvalidInput("unknown contact", field="attendee_contact_ids")
        return [Attendee(i, f"Contact {i}", f"{i}@example.com") for i in ids]

    service = CalendarService(
        connections,
        FakeStates(),
        FakeVault(),
        {Provider.GOOGLE: oauth, Provider.MICROSOFT: oauth},
        make_api,
        attendees,
        lambda provider: redirect,
        clock=lambda: 1_000_000.0,
        member_email=lambda org, user: f"{user}@{org}.callproof.test",
    )
    return World(service, oauth, connections, api, seen)


def connect(w: World, provider: Provider = Provider.MICROSOFT) -> None:
    url = w.service.authorize(REP, provider)
    state = url.split("state=")[1]
    w.service.complete(provider, state, "code")


def test_google_asks_for_the_app_created_and_calendar_list_scopes_only() -> None:
    w = world()
    w.service.authorize(REP, Provider.GOOGLE)
    assert tuple(w.oauth.scopes[0]) == GOOGLE_CALENDAR_SCOPES
    assert w.oauth.hints == [f"{REP.user_id}@{REP.org_id}.callproof.test"]  # the member's CallProof email


def test_not_configured_without_a_public_base() -> None:
    with pytest.raises(NotConfigured):
        world(redirect=None).service.authorize(REP, Provider.GOOGLE)


def test_event_in_the_selected_calendar_with_contacts_as_attendees() -> None:
    w = world()
    connect(w)
    w.service.select(REP, Provider.MICROSOFT, "primary")
    event = w.service.create_event(REP, None, DRAFT, ["c1", "c2"])
    assert event.calendar_id == "primary"
    assert event.attendees == ("c1@example.com", "c2@example.com")
    w.service.update_event(REP, "ev-1", "primary", EventDraft("Moved", None, None), None)
    assert w.api.writes == [("create", "primary"), ("update", "primary")]


@pytest.mark.parametrize("action", ["create", "update"])
def test_a_write_to_another_calendar_is_refused_before_any_request_leaves(action: str) -> None:
    w = world(expires_at=0.0)  # an expired token: even a refresh would be a request
    connect(w)
    w.service.select(REP, Provider.MICROSOFT, "primary")
    requests_before, apis_before = w.oauth.requests, len(w.tokens_seen)

    def write() -> None:
        if action == "create":
            w.service.create_event(REP, "holidays", DRAFT, ["c1"])
        else:
            w.service.update_event(REP, "ev-1", "someone-elses", DRAFT, None)

    with pytest.raises(CalendarNotSelected) as refused:
        write()
    assert refused.value.code == "calendar_not_selected"
    assert w.oauth.requests == requests_before  # no refresh
    assert len(w.tokens_seen) == apis_before  # no provider client built, so no call
    assert w.api.writes == []


def test_no_selection_no_write() -> None:
    w = world()
    connect(w)
    with pytest.raises(NoCalendarSelected):
        w.service.create_event(REP, None, DRAFT, [])
    assert w.api.writes == []


def test_selecting_a_read_only_or_unknown_calendar_is_refused() -> None:
    w = world()
    connect(w)
    with pytest.raises(InvalidInput):
        w.service.select(REP, Provider.MICROSOFT, "holidays")
    with pytest.raises(InvalidInput):
        w.service.select(REP, Provider.MICROSOFT, "nope")
    assert w.connections.selection("org-a", "rep-1") is None


def test_each_rotated_refresh_token_is_stored() -> None:
    w = world(expires_at=0.0)  # every use refreshes
    connect(w)
    for expected in (1, 2, 3):
        w.service.calendars(REP, Provider.MICROSOFT)
        stored = FakeVault().open(
            w.connections.rows[("org-a", "rep-1", Provider.MICROSOFT)][1],
            "org-a",
            "rep-1",
            "calendar:microsoft",
        )
        assert stored.refresh_token == f"refresh-{expected}"
    assert w.tokens_seen == ["access-1", "access-2", "access-3"]
    assert w.connections.token_saves == 3


def test_a_revoked_grant_marks_the_connection_disconnected() -> None:
    w = world(expires_at=0.0)
    connect(w)
    w.oauth.valid.clear()
    with pytest.raises(Disconnected):
        w.service.calendars(REP, Provider.MICROSOFT)
    assert w.connections.get("org-a", "rep-1", Provider.MICROSOFT).status is ConnectionStatus.DISCONNECTED  # type: ignore[union-attr]
    with pytest.raises(Disconnected):  # and it stays so, without asking the provider again
        w.service.calendars(REP, Provider.MICROSOFT)


def test_disconnect_revokes_and_deletes_tokens_and_selection() -> None:
    w = world()
    connect(w)
    w.service.select(REP, Provider.MICROSOFT, "primary")
    assert w.service.disconnect(REP, Provider.MICROSOFT) is True
    assert w.oauth.revoked == ["refresh-0"]
    assert w.connections.rows == {}
    assert w.connections.selections == {}


def test_unknown_attendee_contact_is_refused_before_the_write() -> None:
    w = world()
    connect(w)
    w.service.select(REP, Provider.MICROSOFT, "primary")
    with pytest.raises(InvalidInput):
        w.service.create_event(REP, None, DRAFT, ["ghost"])
    assert w.api.writes == []


def test_only_sales_roles_put_crm_contacts_on_an_event() -> None:
    """Who may change what (issue 13): an event is the user's own (their token, their selected
    calendar), but attendees are read from the org's contacts, which only reps and admins may read:
    another role may write events without attendees, and is refused (before any write) with them."""
    staff = Caller("org-a", "rep-1", frozenset({Role.COMPLIANCE}))
    w = world()
    connect(w)
    w.service.select(staff, Provider.MICROSOFT, "primary")
    assert w.service.create_event(staff, None, DRAFT, []).attendees == ()
    for write in (
        lambda: w.service.create_event(staff, None, DRAFT, ["c1"]),
        lambda: w.service.update_event(staff, "ev-1", None, DRAFT, ["c1"]),
    ):
        with pytest.raises(Forbidden):
            write()
    w.service.update_event(staff, "ev-1", None, DRAFT, None)  # attendees left as they are
    w.service.update_event(staff, "ev-1", None, DRAFT, [])  # or removed
    assert w.api.writes == [("create", "primary"), ("update", "primary"), ("update", "primary")]
